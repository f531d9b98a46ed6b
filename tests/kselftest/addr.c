// SPDX-License-Identifier: GPL-2.0
/*
 * Addressing state kept by N_MBUS: primary and secondary binding, the
 * selection cache, FCB per slave, and sharing one bus between processes.
 * A small bus of scripted slaves answers on the pty master and reports
 * every request it sees (C and A fields) through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"
#include "mbus_frame.h"

struct slave {
	unsigned char primary;
	unsigned char sec[8];	/* ID BCD LSB first, manufacturer LE, ver, medium */
	int selected;
	int last_fcb;		/* -1: none seen since reset */
	int telegram;		/* telegrams sent */
	int deaf;		/* requests to ignore */
};

#define NSLAVES 4
static struct slave bus[NSLAVES] = {
	{ .primary = 5, .sec = { 0x78, 0x56, 0x34, 0x12, 0xc5, 0x14, 0x01, 0x04 } },
	{ .primary = 6, .sec = { 0x21, 0x43, 0x65, 0x87, 0xe4, 0x3c, 0x07, 0x07 } },
	/* Same ID as slave 0, other manufacturer (hex bytes). */
	{ .primary = 7, .sec = { 0x78, 0x56, 0x34, 0x12, 0xab, 0xcd, 0x02, 0x16 } },
	{ .primary = 8, .sec = { 0x99, 0x99, 0x99, 0x99, 0x2c, 0x2d, 0x01, 0x02 } },
};

static int report_fd = -1;

static int mask_matches(const unsigned char *mask, const unsigned char *sec)
{
	int i;

	for (i = 0; i < 4; i++) {
		if ((mask[i] & 0x0f) != 0x0f && (mask[i] & 0x0f) != (sec[i] & 0x0f))
			return 0;
		if ((mask[i] & 0xf0) != 0xf0 && (mask[i] & 0xf0) != (sec[i] & 0xf0))
			return 0;
	}
	if (!(mask[4] == 0xff && mask[5] == 0xff) &&
	    (mask[4] != sec[4] || mask[5] != sec[5]))
		return 0;
	if (mask[6] != 0xff && mask[6] != sec[6])
		return 0;
	return mask[7] == 0xff || mask[7] == sec[7];
}

static void reply_ud(int fd, struct slave *s)
{
	unsigned char data[12], frame[MBUS_FRAME_MAX];

	memcpy(data, s->sec, 8);
	data[8] = s->telegram;
	data[9] = s->primary;
	data[10] = 0;
	data[11] = 0;
	ksft_write_all(fd, frame,
		       ksft_long_frame(frame, 0x08, s->primary, 0x72, data, 12));
}

static int addressed(struct slave *s, unsigned char a)
{
	return a == s->primary || a == 254 || (a == 253 && s->selected);
}

static void bus_request(int fd, const unsigned char *req, int len, void *arg)
{
	int lng = req[0] == 0x68;
	unsigned char c = req[lng ? 4 : 1], a = req[lng ? 5 : 2];
	int i, hits = 0, last = -1;
	char line[16];

	snprintf(line, sizeof(line), "%02x %02x\n", c, a);
	if (write(report_fd, line, strlen(line)) < 0)
		_exit(3);

	if ((c & 0x4f) == 0x40) {			/* SND_NKE */
		for (i = 0; i < NSLAVES; i++) {
			if (a == 253) {
				if (bus[i].selected)
					bus[i].last_fcb = -1;
				bus[i].selected = 0;
			} else if (a == 255 || a == 254 || a == bus[i].primary) {
				bus[i].last_fcb = -1;
				if (a != bus[i].primary)
					bus[i].selected = 0;
				hits++;
			}
		}
		if (a != 255 && (hits || a == 253))
			ksft_write_all(fd, "\xe5", 1);
		return;
	}
	if (lng && a == 253 && req[6] == 0x52) {	/* selection */
		for (i = 0; i < NSLAVES; i++) {
			bus[i].selected = len == 17 &&
					  mask_matches(req + 7, bus[i].sec);
			if (bus[i].selected) {
				bus[i].last_fcb = -1;
				hits++;
			}
		}
		if (hits == 1)
			ksft_write_all(fd, "\xe5", 1);
		else if (hits > 1)	/* acknowledgments on top of each other */
			ksft_write_all(fd, "\xe5\xe5", 2);
		return;
	}
	if ((c & 0x4f) != 0x4b)				/* only REQ_UD2 */
		return;
	for (i = 0; i < NSLAVES; i++) {
		struct slave *s = &bus[i];
		int fcb = !!(c & 0x20);

		if (!addressed(s, a))
			continue;
		if (s->deaf) {
			s->deaf--;
			continue;
		}
		/* Same FCB with FCV set: the last telegram again. */
		if (!(c & 0x10) || s->last_fcb != fcb || !s->telegram)
			s->telegram++;
		if (c & 0x10)
			s->last_fcb = fcb;
		last = i;
		hits++;
	}
	if (hits == 1)
		reply_ud(fd, &bus[last]);
	else if (hits > 1)
		ksft_write_all(fd, "\x68\x2f\x01\x68\x08", 5);
}

FIXTURE(addr) {
	int master, slave, index, fd;
	int report;		/* read end of the slaves' report pipe */
	pid_t sim;
};

FIXTURE_SETUP(addr)
{
	int p[2];

	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	report_fd = p[1];
	self->report = p[0];
	self->sim = ksft_slave_fork(self->master, bus_request, NULL);
	close(p[1]);
}

FIXTURE_TEARDOWN(addr)
{
	ksft_slave_stop(self->sim);
	close(self->report);
	close(self->fd);
	close(self->slave);
	close(self->master);
}

/* The requests the slaves saw so far, as "C A" pairs separated by ','. */
static void wire(int report, char *out, size_t size)
{
	struct pollfd pfd = { .fd = report, .events = POLLIN };
	char buf[4096];
	size_t o = 0;
	ssize_t n;
	char *p;

	usleep(20000);
	while (poll(&pfd, 1, 0) == 1 && (n = read(report, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (p = buf; *p && o + 1 < size; p++)
			out[o++] = *p == '\n' ? ',' : *p;
	}
	out[o] = '\0';
}

static int bind_primary(int fd, unsigned char a)
{
	struct mbus_addr ad = { .type = MBUS_ADDR_PRIMARY, .primary = a };

	return ioctl(fd, MBUS_IOC_SET_ADDR, &ad);
}

static int bind_secondary(int fd, const unsigned char *sec)
{
	struct mbus_addr ad = { .type = MBUS_ADDR_SECONDARY };

	memcpy(ad.secondary, sec, 8);
	return ioctl(fd, MBUS_IOC_SET_ADDR, &ad);
}

/* An addressed REQ_UD2; returns the status, the telegram number in *tg. */
static int req_ud2(int fd, unsigned int flags, int *tg, int *from)
{
	unsigned char req[8], rx[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx);

	ksft_short_frame(req, 0x5b, 0);
	if (ksft_xfer(fd, req, 5, rx, &n, MBUS_XFER_ADDRESSED | flags,
		      &status, NULL))
		return -1;
	if (status == MBUS_STATUS_FRAME && n == 21) {
		if (tg)
			*tg = rx[15];
		if (from)
			*from = rx[16];
	}
	return status;
}

static int raw_nke(int fd, unsigned char a)
{
	unsigned char req[8];
	unsigned int status;
	unsigned char rx[8];
	int n = sizeof(rx);

	ksft_short_frame(req, 0x40, a);
	return ksft_xfer(fd, req, 5, rx, &n, a == 255 ? MBUS_XFER_NO_REPLY : 0,
			 &status, NULL) ? -1 : (int)status;
}

TEST_F(addr, the_binding_is_read_back_and_bad_addresses_are_rejected)
{
	struct mbus_addr a, b;

	memset(&a, 0, sizeof(a));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_ADDR, &a));
	EXPECT_EQ(MBUS_ADDR_NONE, a.type);
	ASSERT_EQ(0, bind_secondary(self->fd, bus[1].sec));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_ADDR, &b));
	EXPECT_EQ(MBUS_ADDR_SECONDARY, b.type);
	EXPECT_EQ(0, memcmp(b.secondary, bus[1].sec, 8));

	memset(&a, 0, sizeof(a));
	a.type = 3;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, &a));
	EXPECT_EQ(EINVAL, errno);
	a.type = MBUS_ADDR_PRIMARY;
	a.primary = 251;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, &a));
	a.primary = 253;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, &a));
	a.primary = 1;
	a.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, &a));
	memset(&a, 0, sizeof(a));
	a.type = MBUS_ADDR_SECONDARY;
	a.secondary[0] = 0x1a;		/* not a BCD digit, not a wildcard */
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_ADDR, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* The valid binding survived. */
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_ADDR, &b));
	EXPECT_EQ(MBUS_ADDR_SECONDARY, b.type);
}

TEST_F(addr, an_addressed_exchange_needs_a_binding)
{
	unsigned char req[8], rx[MBUS_FRAME_MAX];
	int n = sizeof(rx);

	ksft_short_frame(req, 0x5b, 5);
	EXPECT_EQ(-EINVAL, ksft_xfer(self->fd, req, 5, rx, &n,
				     MBUS_XFER_ADDRESSED, NULL, NULL));
}

/* MBUS_XFER_FCB alone manages the FCB of the address in the frame. */
TEST_F(addr, fcb_management_works_on_the_frames_own_address_too)
{
	unsigned char req[8], rx[MBUS_FRAME_MAX];
	unsigned int status;
	char w[256];
	int i, n;

	for (i = 0; i < 2; i++) {
		ksft_short_frame(req, 0x5b, 7);
		n = sizeof(rx);
		ASSERT_EQ(0, ksft_xfer(self->fd, req, 5, rx, &n, MBUS_XFER_FCB,
				       &status, NULL));
		EXPECT_EQ(MBUS_STATUS_FRAME, status);
	}
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("7b 07,5b 07,", w);
}

TEST_F(addr, a_speed_change_by_stty_forgets_the_selection)
{
	struct termios t;
	char w[256];

	ASSERT_EQ(0, bind_secondary(self->fd, bus[3].sec));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	ASSERT_EQ(0, tcgetattr(self->slave, &t));
	cfsetspeed(&t, B9600);
	ASSERT_EQ(0, tcsetattr(self->slave, TCSANOW, &t));
	cfsetspeed(&t, B2400);
	ASSERT_EQ(0, tcsetattr(self->slave, TCSANOW, &t));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,5b fd,73 fd,5b fd,", w);
}

TEST_F(addr, the_kernel_writes_the_primary_address_and_the_checksum)
{
	char w[256];
	int from = -1;

	ASSERT_EQ(0, bind_primary(self->fd, 6));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, &from));
	EXPECT_EQ(6, from);
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("5b 06,", w);
}

TEST_F(addr, a_secondary_binding_selects_once_then_reuses_the_selection)
{
	char w[256];
	int i, from;

	ASSERT_EQ(0, bind_secondary(self->fd, bus[1].sec));
	for (i = 0; i < 3; i++) {
		from = -1;
		EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, &from));
		EXPECT_EQ(6, from);
	}
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,5b fd,5b fd,5b fd,", w);
}

TEST_F(addr, another_files_selection_forces_a_reselect)
{
	int fd2 = ksft_mbus_open(self->index, O_RDWR);
	char w[256];
	int from;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bind_secondary(self->fd, bus[0].sec));
	ASSERT_EQ(0, bind_secondary(fd2, bus[2].sec));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, &from));
	EXPECT_EQ(5, from);
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(fd2, 0, NULL, &from));
	EXPECT_EQ(7, from);
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(fd2, 0, NULL, &from));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, &from));
	EXPECT_EQ(5, from);
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,5b fd,73 fd,5b fd,5b fd,73 fd,5b fd,", w);
	close(fd2);
}

TEST_F(addr, a_raw_selection_or_nke_makes_the_kernel_select_again)
{
	unsigned char sel[32], rx[8];
	char w[256];
	int n;

	ASSERT_EQ(0, bind_secondary(self->fd, bus[0].sec));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	/* Someone selects slave 1 by hand. */
	n = ksft_long_frame(sel, 0x53, 253, 0x52, bus[1].sec, 8);
	ASSERT_EQ(n, write(self->fd, sel, n));
	ASSERT_EQ(1, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	EXPECT_EQ(MBUS_STATUS_ACK, raw_nke(self->fd, 253));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,5b fd,53 fd,73 fd,5b fd,40 fd,73 fd,5b fd,", w);
}

TEST_F(addr, a_baud_change_forgets_the_selection)
{
	__u32 baud = 2400;
	char w[256];

	ASSERT_EQ(0, bind_secondary(self->fd, bus[3].sec));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,5b fd,73 fd,5b fd,", w);
}

TEST_F(addr, a_wildcard_matching_two_slaves_gives_garbled_and_sends_nothing)
{
	unsigned char mask[8] = { 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff,
				  0xff };
	char w[256];

	ASSERT_EQ(0, bind_secondary(self->fd, mask));
	EXPECT_EQ(MBUS_STATUS_GARBLED, req_ud2(self->fd, 0, NULL, NULL));
	EXPECT_TRUE(ksft_xfer_info & MBUS_XFER_INFO_NOT_SENT);
	wire(self->report, w, sizeof(w));
	/* Three selection attempts (retries), no request. */
	EXPECT_STREQ("73 fd,73 fd,73 fd,", w);
}

TEST_F(addr, a_selection_nobody_answers_times_out_and_sends_nothing)
{
	unsigned char nobody[8] = { 0x11, 0x11, 0x11, 0x11, 0xff, 0xff, 0xff,
				    0xff };
	struct mbus_params p = { .retries = 0, .response_timeout_us = 20000 };
	char w[256];

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	ASSERT_EQ(0, bind_secondary(self->fd, nobody));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, req_ud2(self->fd, 0, NULL, NULL));
	EXPECT_EQ(MBUS_XFER_INFO_NOT_SENT, ksft_xfer_info);
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,", w);
}

TEST_F(addr, the_fcb_starts_at_one_toggles_per_reply_and_resets_on_nke)
{
	char w[256];
	int i, tg[5];

	ASSERT_EQ(0, bind_primary(self->fd, 5));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(MBUS_STATUS_FRAME,
			  req_ud2(self->fd, MBUS_XFER_FCB, &tg[i], NULL));
	EXPECT_EQ(MBUS_STATUS_ACK, raw_nke(self->fd, 5));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, MBUS_XFER_FCB, &tg[4],
					     NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("7b 05,5b 05,7b 05,5b 05,40 05,7b 05,", w);
	/* Every toggled FCB fetched the next telegram. */
	EXPECT_EQ(1, tg[0]);
	EXPECT_EQ(2, tg[1]);
	EXPECT_EQ(3, tg[2]);
	EXPECT_EQ(4, tg[3]);
}

TEST_F(addr, a_repeat_keeps_the_fcb_and_fcbs_are_per_slave)
{
	char w[256];
	int tg1 = 0, tg2 = 0;

	ASSERT_EQ(0, bind_primary(self->fd, 6));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, MBUS_XFER_FCB, &tg1,
					     NULL));
	/* Nobody at 40: the request is repeated twice with the same FCB. */
	ASSERT_EQ(0, bind_primary(self->fd, 40));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, req_ud2(self->fd, MBUS_XFER_FCB, NULL,
					       NULL));
	ASSERT_EQ(0, bind_primary(self->fd, 6));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, MBUS_XFER_FCB, &tg2,
					     NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("7b 06,7b 28,7b 28,7b 28,5b 06,", w);
	EXPECT_EQ(tg1 + 1, tg2);
}

TEST_F(addr, a_multi_telegram_readout_of_a_selected_slave_uses_its_own_fcb)
{
	char w[256];
	int i, tg[3];

	ASSERT_EQ(0, bind_secondary(self->fd, bus[2].sec));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(MBUS_STATUS_FRAME,
			  req_ud2(self->fd, MBUS_XFER_FCB, &tg[i], NULL));
	wire(self->report, w, sizeof(w));
	EXPECT_STREQ("73 fd,7b fd,5b fd,7b fd,", w);
	EXPECT_EQ(tg[0] + 1, tg[1]);
	EXPECT_EQ(tg[1] + 1, tg[2]);
}

/* 8 processes x 200 addressed exchanges, each to its own slave. */
TEST_F(addr, eight_processes_x_200_exchanges_get_their_own_replies)
{
	enum { PROCS = 8, ROUNDS = 200 };
	static const unsigned char addrs[PROCS] = { 5, 6, 7, 8, 5, 6, 7, 8 };
	pid_t pids[PROCS];
	int i, status, bad = 0;

	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (!pids[i]) {
			int fd = ksft_mbus_open(self->index, O_RDWR);
			int r, from, wrong = 0;

			close(self->master);
			if (fd < 0 || bind_primary(fd, addrs[i]))
				_exit(100);
			for (r = 0; r < ROUNDS; r++) {
				from = -1;
				if (req_ud2(fd, 0, NULL, &from) !=
				    MBUS_STATUS_FRAME || from != addrs[i])
					wrong++;
			}
			_exit(wrong > 99 ? 99 : wrong);
		}
	}
	for (i = 0; i < PROCS; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("process %d: %d wrong replies", i,
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
}

/* A process killed in the middle of an exchange leaves the bus usable. */
TEST_F(addr, a_process_killed_mid_exchange_leaves_the_bus_usable)
{
	struct mbus_params p = { .response_timeout_us = 2000000 };
	int status, from = -1;
	pid_t pid = fork();

	if (!pid) {
		int fd = ksft_mbus_open(self->index, O_RDWR);

		close(self->master);
		ioctl(fd, MBUS_IOC_SET_PARAMS, &p);
		bind_primary(fd, 77);	/* nobody: waits 2 s per attempt */
		req_ud2(fd, 0, NULL, NULL);
		_exit(1);
	}
	usleep(300000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(0, bind_primary(self->fd, 8));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, 0, NULL, &from));
	EXPECT_EQ(8, from);
}

TEST_HARNESS_MAIN
