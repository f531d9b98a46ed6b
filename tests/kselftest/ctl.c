// SPDX-License-Identifier: GPL-2.0
/*
 * mbusctl, the generic netlink front, against the real module: list, set,
 * show and monitor a port whose far end is a scripted slave on a pty.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define MBUSCTL "/tools/mbusctl"

static void slave_ack(int fd, const unsigned char *req, int len, void *arg)
{
	ksft_write_all(fd, "\xe5", 1);
}

FIXTURE(ctl) {
	int master, slave, index, fd;
	pid_t sim;
};

FIXTURE_SETUP(ctl)
{
	self->fd = -1;
	self->sim = 0;
	if (access(MBUSCTL, X_OK))
		SKIP(return, "%s not in this system", MBUSCTL);
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(ctl)
{
	if (self->fd < 0)
		return;
	ksft_slave_stop(self->sim);
	close(self->fd);
	close(self->slave);
	close(self->master);
}

/* Run a shell command; its standard output into @out. */
TEST_F(ctl, list_names_the_port_its_tty_and_baud)
{
	char out[4096], want[64];
	int n;

	if (self->fd < 0)
		return;
	ASSERT_EQ(0, ioctl(self->master, TIOCGPTN, &n));
	snprintf(want, sizeof(want), "mbus%d\tpts%d\t2400\n", self->index, n);
	ASSERT_EQ(0, ksft_run_capture(out, sizeof(out), MBUSCTL " list"));
	EXPECT_NE(NULL, strstr(out, want));
}

TEST_F(ctl, set_changes_the_baud_and_show_reports_it)
{
	char out[8192];
	__u32 baud = 0;

	if (self->fd < 0)
		return;
	ASSERT_EQ(0, ksft_run_capture(out, sizeof(out),
				      MBUSCTL " set mbus%d baud 9600",
				      self->index));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(9600, baud);
	ASSERT_EQ(0, ksft_run_capture(out, sizeof(out),
				      MBUSCTL " --json show -s mbus%d",
				      self->index));
	EXPECT_NE(NULL, strstr(out, "\"baud\": 9600"));
	EXPECT_NE(NULL, strstr(out, "\"rx_frames\": "));
	EXPECT_EQ(1, ksft_run_capture(out, sizeof(out),
				      MBUSCTL " set mbus%d baud 1234 2>&1",
				      self->index));
}

TEST_F(ctl, monitor_prints_the_frames_of_an_exchange)
{
	unsigned char rx[8];
	char out[8192], dev[16];
	unsigned int status;
	int n = sizeof(rx);
	pid_t mon;
	FILE *f;
	size_t len;

	if (self->fd < 0)
		return;
	self->sim = ksft_slave_fork(self->master, slave_ack, NULL);
	snprintf(dev, sizeof(dev), "mbus%d", self->index);
	mon = ksft_monitor_start(MBUSCTL, dev, "/tmp/monitor.txt", false);
	ASSERT_LT(0, mon) TH_LOG("the monitor did not start");
	ASSERT_EQ(0, ksft_xfer(self->fd, "\x10\x40\x01\x41\x16", 5, rx, &n, 0,
			       &status, NULL));
	EXPECT_EQ(MBUS_STATUS_ACK, status);
	usleep(300000 * ksft_time_scale());
	ksft_monitor_stop(mon);
	f = fopen("/tmp/monitor.txt", "r");
	ASSERT_NE(NULL, f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = '\0';
	fclose(f);
	TH_LOG("monitor saw:\n%s", out);
	EXPECT_NE(NULL, strstr(out, " tx 10 40 01 41 16"));
	EXPECT_NE(NULL, strstr(out, " rx e5"));
	EXPECT_LT(strstr(out, " tx 10 40"), strstr(out, " rx e5"));
}

TEST_HARNESS_MAIN
