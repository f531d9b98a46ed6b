// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces: a port belongs to the namespace of the process that
 * attached it. A child made with unshare(CLONE_NEWNET), as `unshare -n`
 * does, must see with mbusctl its own port and not the initial
 * namespace's, the initial namespace not the child's, and a monitor only
 * the events of the ports of its namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

FIXTURE(netns) {
	int master, slave, index, fd;
	pid_t sim;
};

FIXTURE_SETUP(netns)
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
	self->sim = ksft_slave_fork(self->master, slave_ack, NULL);
}

FIXTURE_TEARDOWN(netns)
{
	if (self->fd < 0)
		return;
	ksft_slave_stop(self->sim);
	close(self->fd);
	close(self->slave);
	close(self->master);
}

/* Whether `mbusctl list` in this process's namespace names mbusN. */
static int listed(int index)
{
	char out[4096], want[32];

	if (ksft_run_capture(out, sizeof(out), MBUSCTL " list") != 0)
		return -1;
	snprintf(want, sizeof(want), "mbus%d\t", index);
	return strstr(out, want) != NULL;
}

/* Child failures, one bit each, as its exit status. */
#define NS_NO_UNSHARE	0x01
#define NS_SEES_HOST	0x02
#define NS_NO_OWN	0x04
#define NS_SHOW_HOST	0x08
#define NS_ATTACH	0x10

TEST_F(netns, a_port_is_seen_only_in_the_namespace_that_attached_it)
{
	int go[2], ready[2], status, own = -1;
	char c = 0, out[4096];
	pid_t pid;

	if (self->fd < 0)
		return;
	ASSERT_EQ(1, listed(self->index));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int m, s, bad = 0, idx;

		if (unshare(CLONE_NEWNET))
			_exit(NS_NO_UNSHARE);
		if (listed(self->index) != 0)
			bad |= NS_SEES_HOST;
		if (ksft_run_capture(out, sizeof(out),
				     MBUSCTL " show mbus%d 2>&1",
				     self->index) == 0)
			bad |= NS_SHOW_HOST;
		if (ksft_pty_open(&m, &s))
			_exit(bad | NS_ATTACH);
		idx = ksft_mbus_attach(s);
		if (idx < 0)
			_exit(bad | NS_ATTACH);
		if (listed(idx) != 1)
			bad |= NS_NO_OWN;
		c = idx;
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			bad |= NS_ATTACH;
		close(s);
		close(m);
		_exit(bad);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	own = c;
	TH_LOG("the new namespace attached mbus%d", own);
	/* The child's port exists, but not here. */
	EXPECT_TRUE(ksft_mbus_node_exists(own));
	EXPECT_EQ(0, listed(own));
	EXPECT_EQ(1, listed(self->index));
	EXPECT_NE(0, ksft_run_capture(out, sizeof(out),
				      MBUSCTL " show mbus%d 2>&1", own));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	if (WEXITSTATUS(status))
		TH_LOG("child failures %#x", WEXITSTATUS(status));
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* A monitor in a new namespace sees nothing of the initial one's port. */
TEST_F(netns, a_monitor_sees_only_the_events_of_its_namespace)
{
	unsigned char rx[8];
	unsigned int status;
	int n = sizeof(rx), here, there;
	char out[8192];
	pid_t mon[2];
	size_t len;
	FILE *f;
	int i;

	if (self->fd < 0)
		return;
	for (i = 0; i < 2; i++) {
		mon[i] = ksft_monitor_start(MBUSCTL, NULL, i ? "/tmp/mon-ns.txt"
						   : "/tmp/mon-init.txt", i);
		ASSERT_LT(0, mon[i]) TH_LOG("monitor %d did not start", i);
	}
	ASSERT_EQ(0, ksft_xfer(self->fd, "\x10\x40\x01\x41\x16", 5, rx, &n, 0,
			       &status, NULL));
	EXPECT_EQ(MBUS_STATUS_ACK, status);
	/* Events go out after the exchange; give the monitors time to print. */
	usleep(300000 * ksft_time_scale());
	for (i = 0; i < 2; i++)
		ksft_monitor_stop(mon[i]);
	f = fopen("/tmp/mon-init.txt", "r");
	ASSERT_NE(NULL, f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = '\0';
	fclose(f);
	here = strstr(out, " tx 10 40 01 41 16") != NULL;
	f = fopen("/tmp/mon-ns.txt", "r");
	ASSERT_NE(NULL, f);
	len = fread(out, 1, sizeof(out) - 1, f);
	out[len] = '\0';
	fclose(f);
	there = strlen(out) > 0;
	TH_LOG("the new namespace's monitor saw: '%s'", out);
	EXPECT_TRUE(here);
	EXPECT_FALSE(there);
}

TEST_HARNESS_MAIN
