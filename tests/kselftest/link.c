// SPDX-License-Identifier: GPL-2.0
/*
 * The EN 13757-2 link layer of N_MBUS on a pty pair: the test plays the
 * master on /dev/mbusN and a scripted slave on the pty master.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"
#include "mbus_frame.h"

static const unsigned char snd_nke[] = { 0x10, 0x40, 0x01, 0x41, 0x16 };
static const unsigned char req_ud2[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };

/* ---- scripted slaves -------------------------------------------------- */

static void slave_ack(int fd, const unsigned char *req, int len, void *arg)
{
	ksft_write_all(fd, "\xe5", 1);
}

/* RSP_UD from the address the request was sent to, naming it in its data. */
static int rsp_ud(unsigned char *buf, unsigned char a)
{
	unsigned char data[16] = { 0x78, 0x56, 0x34, 0x12, 0x24, 0x40, 0x01,
				   0x07, 0x55, 0x00, 0x00, 0x00, 0x01, 0xfd,
				   0x00, 0x00 };

	data[15] = a;
	return ksft_long_frame(buf, 0x08, a, 0x72, data, sizeof(data));
}

static void slave_rsp(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];
	unsigned char a = len == 5 ? req[2] : req[5];

	ksft_write_all(fd, buf, rsp_ud(buf, a));
}

static void slave_control(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[16];

	ksft_write_all(fd, buf, ksft_long_frame(buf, 0x08, req[2], 0x72, NULL, 0));
}

static void slave_short(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[8];

	ksft_write_all(fd, buf, ksft_short_frame(buf, 0x08, req[2]));
}

static const unsigned char garbage[] = { 0x68, 0x07, 0x09, 0x68, 0x11, 0x22 };

static void slave_garble(int fd, const unsigned char *req, int len, void *arg)
{
	ksft_write_all(fd, garbage, sizeof(garbage));
}

static void slave_ack_and_more(int fd, const unsigned char *req, int len,
			       void *arg)
{
	ksft_write_all(fd, "\xe5\x3c\x01", 3);
}

/* An echoing converter: the request comes back, then (maybe) the reply. */
static void slave_echo(int fd, const unsigned char *req, int len, void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX] = { 0 };
	int pre = arg ? *(int *)arg : 0;

	memset(buf, 0x55, pre);
	if (pre)
		ksft_write_all(fd, buf, pre);
	ksft_write_all(fd, req, len);
	if (arg)
		ksft_write_all(fd, buf, rsp_ud(buf, req[2]));
}

/* ---- fixture ---------------------------------------------------------- */

FIXTURE(bus) {
	int master;
	int slave;
	int index;
	int fd;
	pid_t sim;
};

FIXTURE_SETUP(bus)
{
	self->sim = 0;
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bus)
{
	ksft_slave_stop(self->sim);
	if (self->fd >= 0)
		close(self->fd);
	if (self->slave >= 0)
		close(self->slave);
	if (self->master >= 0)
		close(self->master);
}

static struct mbus_stats stats(int fd)
{
	struct mbus_stats st;

	memset(&st, 0xff, sizeof(st));
	if (ioctl(fd, MBUS_IOC_GET_STATS, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static int set_params(int fd, unsigned int retries, unsigned int resp_us,
		      unsigned int flags, unsigned int wakeup,
		      unsigned int wakeup_us)
{
	struct mbus_params p = {
		.response_timeout_us = resp_us,
		.retries = retries,
		.flags = flags,
		.wakeup_bytes = wakeup,
		.wakeup_delay_us = wakeup_us,
	};

	return ioctl(fd, MBUS_IOC_SET_PARAMS, &p);
}

/* Nothing arrives on @fd within @ms. */
static bool quiet(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 0;
}

/* ---- exchanges --------------------------------------------------------- */

TEST_F(bus, ack_reply_completes_the_exchange_with_status_ack)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	int n = sizeof(rx);

	self->sim = ksft_slave_fork(self->master, slave_ack, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, snd_nke, 5, rx, &n, 0, &status,
			       &attempts));
	EXPECT_EQ(MBUS_STATUS_ACK, status);
	EXPECT_EQ(1, attempts);
	EXPECT_EQ(1, n);
	EXPECT_EQ(0xe5, rx[0]);
	EXPECT_EQ(1, stats(self->fd).rx_acks);
	EXPECT_EQ(1, stats(self->fd).tx_frames);
}

TEST_F(bus, long_reply_is_returned_byte_for_byte)
{
	unsigned char rx[MBUS_FRAME_MAX], want[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx), wn = rsp_ud(want, 1);

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_FRAME, status);
	ASSERT_EQ(wn, n);
	EXPECT_EQ(0, memcmp(want, rx, n));
	/* A clean answer: nothing else on the line. */
	EXPECT_EQ(0, ksft_xfer_info);
}

TEST_F(bus, control_and_short_frame_replies_are_frames)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx);

	self->sim = ksft_slave_fork(self->master, slave_control, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_FRAME, status);
	EXPECT_EQ(9, n);
	ksft_slave_stop(self->sim);

	self->sim = ksft_slave_fork(self->master, slave_short, NULL);
	n = sizeof(rx);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_FRAME, status);
	EXPECT_EQ(5, n);
	EXPECT_EQ(0x10, rx[0]);
}

TEST_F(bus, silent_slave_times_out_after_every_retry)
{
	unsigned char rx[MBUS_FRAME_MAX], req[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	int i, n = sizeof(rx);

	ASSERT_EQ(0, set_params(self->fd, 2, 20000, 0, 0, 0));
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status,
			       &attempts));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	EXPECT_EQ(3, attempts);
	EXPECT_EQ(0, n);
	EXPECT_EQ(3, stats(self->fd).timeouts);
	EXPECT_EQ(2, stats(self->fd).retries);
	/* The request went out three times, whole. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(5, ksft_read_frame(self->master, req, 200));
		EXPECT_EQ(0, memcmp(req, req_ud2, 5));
	}
}

/*
 * One exchange with two retries to a silent slave: the gaps between the
 * three requests as the far end stamps them, or -1 on a failure.
 */
static int repeat_gaps(FIXTURE_DATA(bus) *self, long long gap[2])
{
	unsigned char req[MBUS_FRAME_MAX];
	long long t[3];
	int i, status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		unsigned char rx[MBUS_FRAME_MAX];
		int n = sizeof(rx);

		_exit(ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, NULL, NULL) ?
		      1 : 0);
	}
	for (i = 0; i < 3; i++) {
		if (ksft_read_frame(self->master, req, 2000) != 5)
			break;
		t[i] = ksft_now_us();
	}
	waitpid(pid, &status, 0);
	if (i < 3 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	gap[0] = t[1] - t[0];
	gap[1] = t[2] - t[1];
	return 0;
}

/*
 * The slave side stamps each request it sees; nobody answers. Between
 * requests: 330 bit times + 50 ms of silence, then at least 33 bit times.
 *
 * The stamps are taken by a reader in the guest: when the host is busy
 * the guest itself may not run, and a late stamp of one request makes
 * the next gap look short (7.5 ms seen). The exchange is measured up to
 * five times and must once show both gaps within 2 ms below and 40 ms
 * above the bound: a driver without the pause (13.75 ms short) never
 * does, a late stamp does not happen every time.
 */
TEST_F(bus, repeats_keep_the_window_and_a_33_bit_pause_on_the_wire)
{
	struct sched_param sp = { .sched_priority = 50 };
	const long long want = 187500 + 33 * 1000000LL / 2400;
	long long gap[2];
	bool good = false;
	int round;

	ASSERT_EQ(0, set_params(self->fd, 2, 0, 0, 0, 0));
	/* The stamps are taken by this reader: let it wake at once. */
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		TH_LOG("no SCHED_FIFO (%s): stamps may be late", strerror(errno));
	for (round = 0; round < 5 && !good; round++) {
		ASSERT_EQ(0, repeat_gaps(self, gap));
		TH_LOG("round %d: repeats came %lld and %lld us after the previous request (bound %lld)",
		       round, gap[0], gap[1], want);
		good = gap[0] >= want - 2000 && gap[0] < want + 40000 &&
		       gap[1] >= want - 2000 && gap[1] < want + 40000;
	}
	EXPECT_TRUE(good);
}

TEST_F(bus, garbled_reply_returns_the_raw_bytes)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	int n = sizeof(rx);

	ASSERT_EQ(0, set_params(self->fd, 0, 0, 0, 0, 0));
	self->sim = ksft_slave_fork(self->master, slave_garble, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status,
			       &attempts));
	EXPECT_EQ(MBUS_STATUS_GARBLED, status);
	EXPECT_EQ(1, attempts);
	ASSERT_EQ(sizeof(garbage), n);
	EXPECT_EQ(0, memcmp(garbage, rx, n));
	EXPECT_EQ(1, stats(self->fd).garbled);
	EXPECT_EQ(MBUS_XFER_INFO_NOISE, ksft_xfer_info);
}

/* Noise at once, the real reply 100 ms later: still inside the window. */
static void slave_noise_then_rsp(int fd, const unsigned char *req, int len,
				 void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];

	ksft_write_all(fd, "\x00", 1);
	usleep(100000);
	ksft_write_all(fd, buf, rsp_ud(buf, req[2]));
}

TEST_F(bus, a_noise_byte_does_not_end_the_window_before_the_reply)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status, attempts;
	int n = sizeof(rx);

	ASSERT_EQ(0, set_params(self->fd, 2, 0, 0, 0, 0));
	self->sim = ksft_slave_fork(self->master, slave_noise_then_rsp, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status,
			       &attempts));
	EXPECT_EQ(MBUS_STATUS_FRAME, status);
	EXPECT_EQ(1, attempts);
	EXPECT_EQ(25, n);
	EXPECT_EQ(MBUS_XFER_INFO_NOISE, ksft_xfer_info);
}

/* Another slave's telegram (address 9) answers a request to address 1. */
static void slave_wrong_address(int fd, const unsigned char *req, int len,
				void *arg)
{
	unsigned char buf[MBUS_FRAME_MAX];

	ksft_write_all(fd, buf, rsp_ud(buf, 9));
}

TEST_F(bus, a_frame_from_another_address_is_not_the_reply)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx);

	ASSERT_EQ(0, set_params(self->fd, 0, 0, 0, 0, 0));
	self->sim = ksft_slave_fork(self->master, slave_wrong_address, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_GARBLED, status);
	EXPECT_EQ(MBUS_XFER_INFO_NOISE, ksft_xfer_info);
	/* It is on the bus all the same: readers see it. */
	EXPECT_EQ(25, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(9, rx[5]);
}

TEST_F(bus, e5_followed_at_once_by_more_bytes_is_not_an_ack)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx);

	ASSERT_EQ(0, set_params(self->fd, 0, 0, 0, 0, 0));
	self->sim = ksft_slave_fork(self->master, slave_ack_and_more, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, snd_nke, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_GARBLED, status);
	EXPECT_EQ(3, n);
	EXPECT_EQ(0, stats(self->fd).rx_acks);
	EXPECT_EQ(MBUS_XFER_INFO_NOISE, ksft_xfer_info);
}

TEST_F(bus, no_reply_flag_returns_once_sent)
{
	unsigned char req[8];
	unsigned int status, attempts;
	long long t0 = ksft_now_us();

	ASSERT_EQ(0, ksft_xfer(self->fd, snd_nke, 5, NULL, NULL,
			       MBUS_XFER_NO_REPLY, &status, &attempts));
	EXPECT_GT(100000, ksft_now_us() - t0);
	EXPECT_EQ(MBUS_STATUS_NONE, status);
	EXPECT_EQ(1, attempts);
	EXPECT_EQ(5, ksft_read_frame(self->master, req, 200));
}

TEST_F(bus, reply_larger_than_the_buffer_gives_emsgsize_and_its_size)
{
	unsigned char rx[8];
	struct mbus_xfer x = {
		.tx_buf = (unsigned long)req_ud2, .tx_len = 5,
		.rx_buf = (unsigned long)rx, .rx_len = sizeof(rx),
	};

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_XFER, &x));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(MBUS_STATUS_FRAME, x.status);
	EXPECT_EQ(25, x.rx_len);
}

/* ---- what goes on the wire --------------------------------------------- */

TEST_F(bus, invalid_frames_are_rejected_and_nothing_is_sent)
{
	static const unsigned char bad[][8] = {
		{ 0x10, 0x5b, 0x01, 0x5d, 0x16 },	/* checksum */
		{ 0x10, 0x5b, 0x01, 0x5c, 0x17 },	/* stop byte */
		{ 0x68, 0x03, 0x04, 0x68, 0x53, 0xfe, 0x51, 0xa2 }, /* L */
		{ 0x10, 0x5b, 0x01, 0x5c },		/* truncated */
		{ 0x42 },				/* noise */
	};
	static const int len[] = { 5, 5, 8, 4, 1 };
	unsigned char two[10], big[MBUS_FRAME_MAX + 1];
	unsigned int i;

	for (i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
		EXPECT_EQ(-1, write(self->fd, bad[i], len[i]));
		EXPECT_EQ(EINVAL, errno);
	}
	memcpy(two, req_ud2, 5);
	memcpy(two + 5, req_ud2, 5);
	EXPECT_EQ(-1, write(self->fd, two, 10));
	EXPECT_EQ(EINVAL, errno);
	memset(big, 0, sizeof(big));
	EXPECT_EQ(-1, write(self->fd, big, sizeof(big)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(self->fd, big, 0));
	EXPECT_TRUE(quiet(self->master, 100));
	EXPECT_EQ(0, stats(self->fd).tx_bytes);
}

TEST_F(bus, write_sends_the_frame_and_read_returns_the_reply)
{
	unsigned char rx[MBUS_FRAME_MAX], want[MBUS_FRAME_MAX];
	int wn = rsp_ud(want, 1);

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	ASSERT_EQ(5, write(self->fd, req_ud2, 5));
	ASSERT_EQ(wn, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(0, memcmp(want, rx, wn));
}

TEST_F(bus, wakeup_preamble_and_delay_are_on_the_wire)
{
	unsigned char c, frame[8];
	long long t_start = 0, t_frame = 0;
	int n55 = 0, got = 0, status, p[2];
	pid_t pid;

	ASSERT_EQ(0, set_params(self->fd, 0, 0, 0, 20, 100000));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	if (!pid) {
		long long t0 = ksft_now_us();

		if (write(p[1], &t0, sizeof(t0)) != sizeof(t0))
			_exit(2);
		_exit(ksft_xfer(self->fd, req_ud2, 5, NULL, NULL,
				MBUS_XFER_NO_REPLY, NULL, NULL) ? 1 : 0);
	}
	ASSERT_EQ(sizeof(t_start), read(p[0], &t_start, sizeof(t_start)));
	while (got < 5) {
		struct pollfd pfd = { .fd = self->master, .events = POLLIN };

		ASSERT_EQ(1, poll(&pfd, 1, 2000));
		ASSERT_EQ(1, read(self->master, &c, 1));
		if (!got && c == 0x55) {
			n55++;
			continue;
		}
		if (!got)
			t_frame = ksft_now_us();
		frame[got++] = c;
	}
	waitpid(pid, &status, 0);
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(20, n55);
	EXPECT_EQ(0, memcmp(frame, req_ud2, 5));
	/* On a pty the preamble takes no time: the request waits 100 ms. */
	TH_LOG("request seen %lld us after the exchange began", t_frame - t_start);
	EXPECT_LE(100000, t_frame - t_start);
	EXPECT_GT(100000 + ksft_slack_us(50000), t_frame - t_start);
	EXPECT_EQ(25, stats(self->fd).tx_bytes);
}

/* ---- echo --------------------------------------------------------------- */

TEST_F(bus, echo_cancellation_drops_the_echoed_preamble_and_request)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	int pre = 4, n = sizeof(rx);
	struct mbus_stats st;

	ASSERT_EQ(0, set_params(self->fd, 0, 0, MBUS_PARAM_ECHO_CANCEL, pre,
				0));
	self->sim = ksft_slave_fork(self->master, slave_echo, &pre);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_FRAME, status);
	EXPECT_EQ(25, n);
	EXPECT_EQ(MBUS_XFER_INFO_ECHO, ksft_xfer_info);
	st = stats(self->fd);
	EXPECT_EQ(pre + 5, st.echo_dropped);
	EXPECT_EQ(0, st.noise_bytes);
	EXPECT_EQ(0, st.garbled);
}

TEST_F(bus, an_echoed_request_is_never_taken_for_a_reply)
{
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int status;
	int n = sizeof(rx);
	struct mbus_stats st;

	/* No echo cancellation asked for, and no slave answers. */
	ASSERT_EQ(0, set_params(self->fd, 0, 20000, 0, 0, 0));
	self->sim = ksft_slave_fork(self->master, slave_echo, NULL);
	ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	EXPECT_EQ(MBUS_XFER_INFO_ECHO, ksft_xfer_info);
	st = stats(self->fd);
	EXPECT_EQ(5, st.echo_dropped);
	EXPECT_EQ(0, st.garbled);
	EXPECT_EQ(0, st.rx_frames);
}

/* ---- receiving outside exchanges --------------------------------------- */

TEST_F(bus, unsolicited_frames_reach_every_open_file)
{
	unsigned char frame[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	int fd2 = ksft_mbus_open(self->index, O_RDWR);
	int n = rsp_ud(frame, 7);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	EXPECT_EQ(n, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(0, memcmp(frame, rx, n));
	EXPECT_EQ(n, read(fd2, rx, sizeof(rx)));
	EXPECT_EQ(0, memcmp(frame, rx, n));
	close(fd2);
}

TEST_F(bus, nonblocking_read_of_an_empty_queue_gives_eagain)
{
	unsigned char rx[MBUS_FRAME_MAX];
	int fd = ksft_mbus_open(self->index, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, rx, sizeof(rx)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(bus, poll_says_readable_when_a_frame_is_queued)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	unsigned char frame[16];
	int n = ksft_long_frame(frame, 0x08, 5, 0x72, NULL, 0);

	EXPECT_EQ(0, poll(&pfd, 1, 50));
	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	EXPECT_TRUE(pfd.revents & POLLIN);
}

TEST_F(bus, a_buffer_too_small_for_the_frame_gives_emsgsize_and_keeps_it)
{
	unsigned char frame[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	int n = rsp_ud(frame, 3);

	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	EXPECT_EQ(-1, read(self->fd, rx, 10));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(n, read(self->fd, rx, sizeof(rx)));
}

TEST_F(bus, a_bad_read_buffer_loses_no_frame)
{
	unsigned char frame[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	int n = rsp_ud(frame, 4);
	void *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	EXPECT_EQ(-1, read(self->fd, bad, sizeof(rx)));
	EXPECT_EQ(EFAULT, errno);
	munmap(bad, 4096);
	EXPECT_EQ(n, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(0, memcmp(frame, rx, n));
}

TEST_F(bus, a_full_queue_drops_the_oldest_frames_and_counts_them)
{
	unsigned char frame[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	int i, n;

	/* The queue keeps MBUS_RXQ_LEN (56) frames: two more than that. */
	for (i = 1; i <= 58; i++) {
		n = rsp_ud(frame, i);
		ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	}
	for (i = 0; i < 400 && stats(self->fd).rx_frames < 58; i++)
		usleep(5000);
	EXPECT_EQ(2, stats(self->fd).rx_dropped);
	/* Frames 3 to 58 are left, oldest first. */
	for (i = 3; i <= 58; i++) {
		ASSERT_EQ(n, read(self->fd, rx, sizeof(rx)));
		EXPECT_EQ(i, rx[5]);
	}
}

TEST_F(bus, a_stray_e5_outside_an_exchange_is_noise)
{
	int fd = ksft_mbus_open(self->index, O_RDWR | O_NONBLOCK);
	unsigned char rx[8];

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksft_write_all(self->master, "\xe5", 1));
	usleep(100000);
	EXPECT_EQ(-1, read(fd, rx, sizeof(rx)));
	EXPECT_EQ(0, stats(fd).rx_acks);
	EXPECT_EQ(1, stats(fd).noise_bytes);
	close(fd);
}

TEST_F(bus, valid_frame_after_garbage_is_delivered_and_garbage_counted)
{
	static const unsigned char junk[] = {
		0x68, 0x05, 0x05, 0x68, 0x08, 0x01, 0x72, 0x00, 0x00, 0x7c, 0x16,
		0x10, 0x5b, 0x01, 0x5d, 0x16,
		0x68, 0x04, 0x05, 0x68,
		0x10, 0x5b, 0x01, 0x5c, 0x17,
		0x00, 0xff, 0x42,
	};
	unsigned char frame[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	int n = rsp_ud(frame, 9);
	struct mbus_stats st;

	ASSERT_EQ(0, ksft_write_all(self->master, junk, sizeof(junk)));
	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	ASSERT_EQ(n, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(0, memcmp(frame, rx, n));
	st = stats(self->fd);
	EXPECT_EQ(1, st.rx_frames);
	EXPECT_LE(2, st.checksum_errors);
	EXPECT_LE(2, st.length_errors);
	EXPECT_EQ(sizeof(junk), st.noise_bytes);
}

TEST_F(bus, a_stalled_partial_frame_is_dropped_after_the_character_timeout)
{
	static const unsigned char part[] = { 0x68, 0x10, 0x10, 0x68, 0x08 };
	unsigned char frame[8], rx[MBUS_FRAME_MAX];
	int n = ksft_short_frame(frame, 0x08, 2);
	long long t0;

	ASSERT_EQ(0, ksft_write_all(self->master, part, sizeof(part)));
	usleep(200000);
	t0 = ksft_now_us();
	ASSERT_EQ(0, ksft_write_all(self->master, frame, n));
	ASSERT_EQ(n, read(self->fd, rx, sizeof(rx)));
	/* Delivered at once, not after the long candidate failed. */
	EXPECT_GT(100000, ksft_now_us() - t0);
	EXPECT_EQ(1, stats(self->fd).char_timeouts);
}

/* Random noise from a fixed seed, 1 MiB, and the frames it happens to hold. */
TEST_F(bus, a_mebibyte_of_noise_yields_only_the_frames_it_really_holds)
{
	enum { SIZE = 1 << 20 };
	static unsigned char noise[SIZE];
	unsigned char rx[MBUS_FRAME_MAX];
	struct mbus_parser p;
	struct mbus_rx_event ev;
	unsigned int seed = 0x4d425553, i;
	int fd, expect = 0, got = 0;
	struct mbus_stats st;

	for (i = 0; i < SIZE; i++) {
		seed = seed * 1103515245 + 12345;
		noise[i] = seed >> 16;
	}
	/* What a correct delimiter finds in it (lone E5s are not frames). */
	mbus_parser_init(&p);
	for (i = 0; i < SIZE; i++) {
		mbus_parser_push(&p, noise[i], MBUS_RX_NORMAL);
		while (mbus_parser_step(&p, false, &ev) != MBUS_EV_NEED_MORE)
			if (ev.type == MBUS_EV_FRAME &&
			    ev.frame_type != MBUS_FRAME_TYPE_ACK)
				expect++;
	}
	fd = ksft_mbus_open(self->index, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	/*
	 * In chunks the pty buffer takes whole: a pty master writer is only
	 * woken by N_TTY's unthrottling, which N_MBUS (like any ldisc that
	 * never throttles) does not do.
	 */
	for (i = 0; i < SIZE; i += 4096) {
		int w;

		ASSERT_EQ(0, ksft_write_all(self->master, noise + i, 4096));
		for (w = 0; w < 1000 && stats(fd).rx_bytes < i + 4096; w++)
			usleep(1000);
		while (read(fd, rx, sizeof(rx)) > 0)
			got++;
	}
	st = stats(fd);
	TH_LOG("noise: %llu bytes received, %llu counted as noise, %d frames by chance (%d expected), %llu checksum, %llu length errors",
	       st.rx_bytes, st.noise_bytes, got, expect, st.checksum_errors,
	       st.length_errors);
	EXPECT_EQ(SIZE, st.rx_bytes);
	EXPECT_EQ(0, st.rx_acks);
	EXPECT_EQ(expect, got);
	EXPECT_GT(st.noise_bytes, SIZE - 300);
	close(fd);
}

/* ---- line settings ------------------------------------------------------ */

TEST_F(bus, baud_rate_is_set_and_read_back)
{
	struct termios t;
	char buf[32];
	__u32 baud = 9600;

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	baud = 0;
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(9600, baud);
	ASSERT_EQ(0, ksft_mbus_sysfs(self->index, "baud", buf, sizeof(buf)));
	EXPECT_STREQ("9600", buf);
	ASSERT_EQ(0, tcgetattr(self->slave, &t));
	EXPECT_EQ(B9600, cfgetospeed(&t));
}

TEST_F(bus, only_the_eight_standard_rates_are_accepted)
{
	static const __u32 bad[] = { 0, 1, 110, 1234, 57600, 115200, ~0U };
	static const __u32 good[] = { 300, 600, 1200, 2400, 4800, 9600,
				      19200, 38400 };
	unsigned int i;
	__u32 b;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = bad[i];
		EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_BAUD, &b));
		EXPECT_EQ(EINVAL, errno);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = good[i];
		EXPECT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &b));
		b = 0;
		EXPECT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_BAUD, &b));
		EXPECT_EQ(good[i], b);
	}
}

TEST_F(bus, sending_a_break_on_a_pty_is_not_supported)
{
	__u32 ms = 50;

	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ms = 0;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	EXPECT_EQ(EINVAL, errno);
}

/* The silent window lasts 330 bit times + 50 ms, measured per baud rate. */
TEST_F(bus, response_window_is_honoured_at_300_2400_and_9600_baud)
{
	static const __u32 rates[] = { 300, 2400, 9600 };
	unsigned char rx[MBUS_FRAME_MAX];
	unsigned int i, status;
	long long t0, took, want;
	int n;

	ASSERT_EQ(0, set_params(self->fd, 0, 0, 0, 0, 0));
	for (i = 0; i < 3; i++) {
		__u32 b = rates[i];

		ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &b));
		n = sizeof(rx);
		t0 = ksft_now_us();
		ASSERT_EQ(0, ksft_xfer(self->fd, req_ud2, 5, rx, &n, 0,
				       &status, NULL));
		took = ksft_now_us() - t0;
		want = 330LL * 1000000 / b + 50000;
		TH_LOG("%u Bd: silent window %lld us, bound %lld us", b, took,
		       want);
		EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
		EXPECT_LE(want - 1000, took);
		EXPECT_GT(want + ksft_slack_us(40000), took);
	}
}

/* ---- parameters and hostile arguments ------------------------------------ */

TEST_F(bus, parameters_are_per_open_file_with_defaults)
{
	struct mbus_params p, q;
	int fd2 = ksft_mbus_open(self->index, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &p));
	EXPECT_EQ(2, p.retries);
	EXPECT_EQ(0, p.response_timeout_us);
	EXPECT_EQ(0, p.flags);
	ASSERT_EQ(0, set_params(self->fd, 1, 300000, MBUS_PARAM_ECHO_CANCEL,
				20, 400000));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &p));
	EXPECT_EQ(1, p.retries);
	EXPECT_EQ(300000, p.response_timeout_us);
	EXPECT_EQ(20, p.wakeup_bytes);
	EXPECT_EQ(400000, p.wakeup_delay_us);
	EXPECT_EQ(MBUS_PARAM_ECHO_CANCEL, p.flags);
	ASSERT_EQ(0, ioctl(fd2, MBUS_IOC_GET_PARAMS, &q));
	EXPECT_EQ(2, q.retries);
	EXPECT_EQ(0, q.wakeup_bytes);
	close(fd2);
}

TEST_F(bus, hostile_parameters_are_rejected)
{
	struct mbus_params p;

	memset(&p, 0, sizeof(p));
	p.reserved[2] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	EXPECT_EQ(EINVAL, errno);
	memset(&p, 0, sizeof(p));
	p.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	memset(&p, 0, sizeof(p));
	p.flags = 0x80;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	memset(&p, 0, sizeof(p));
	p.retries = MBUS_RETRIES_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	memset(&p, 0, sizeof(p));
	p.wakeup_bytes = MBUS_WAKEUP_BYTES_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	memset(&p, 0, sizeof(p));
	p.response_timeout_us = MBUS_TIMEOUT_US_MAX + 1;
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SET_PARAMS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* The file still has its defaults. */
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_PARAMS, &p));
	EXPECT_EQ(2, p.retries);
}

TEST_F(bus, hostile_transfers_are_rejected)
{
	unsigned char rx[MBUS_FRAME_MAX];
	struct mbus_xfer x;

#define XFER_FAILS(err) do {						\
		EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_XFER, &x));	\
		EXPECT_EQ(err, errno);					\
	} while (0)
#define XFER_INIT() do {						\
		memset(&x, 0, sizeof(x));				\
		x.tx_buf = (unsigned long)req_ud2;			\
		x.tx_len = 5;						\
		x.rx_buf = (unsigned long)rx;				\
		x.rx_len = sizeof(rx);					\
	} while (0)

	XFER_INIT(); x.reserved[0] = 1; XFER_FAILS(EINVAL);
	XFER_INIT(); x.flags = 0x100; XFER_FAILS(EINVAL);
	XFER_INIT(); x.tx_len = 0; XFER_FAILS(EINVAL);
	XFER_INIT(); x.tx_len = MBUS_FRAME_MAX + 1; XFER_FAILS(EINVAL);
	XFER_INIT(); x.tx_len = 4; XFER_FAILS(EINVAL);
	XFER_INIT(); x.rx_len = 0; XFER_FAILS(EINVAL);
	XFER_INIT(); x.tx_buf = 16; XFER_FAILS(EFAULT);
	XFER_INIT(); x.tx_buf = ~0ULL; XFER_FAILS(EFAULT);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_XFER, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(MBUS_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* None of it reached the wire. */
	EXPECT_TRUE(quiet(self->master, 100));
}

/* ---- lifetime ----------------------------------------------------------- */

/* Run @fn in a child, hang the line up after @ms, return its exit code. */
static int blocked_then_hung_up(int *master, int ms, int (*fn)(int), int fd,
				long long *took)
{
	long long t0;
	int status;
	pid_t pid = fork();

	if (!pid) {
		/* Only the parent may hold the pty master: it hangs up. */
		close(*master);
		_exit(fn(fd));
	}
	usleep(ms * 1000);
	t0 = ksft_now_us();
	close(*master);
	*master = -1;
	waitpid(pid, &status, 0);
	*took = ksft_now_us() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static int blocked_read(int fd)
{
	unsigned char rx[MBUS_FRAME_MAX];

	return read(fd, rx, sizeof(rx)) == -1 && errno == ENODEV ? 0 : 1;
}

static int blocked_xfer(int fd)
{
	unsigned char rx[MBUS_FRAME_MAX];
	int n = sizeof(rx);

	if (set_params(fd, 0, 5000000, 0, 0, 0))
		return 2;
	return ksft_xfer(fd, req_ud2, 5, rx, &n, 0, NULL, NULL) == -ENODEV ?
	       0 : 1;
}

TEST_F(bus, hangup_wakes_a_blocked_reader_with_enodev)
{
	long long took;

	EXPECT_EQ(0, blocked_then_hung_up(&self->master, 200, blocked_read,
					  self->fd, &took));
	EXPECT_GT(500000, took);
}

TEST_F(bus, hangup_wakes_a_waiting_exchange_with_enodev)
{
	long long took;

	EXPECT_EQ(0, blocked_then_hung_up(&self->master, 200, blocked_xfer,
					  self->fd, &took));
	TH_LOG("exchange returned %lld us after the hangup", took);
	EXPECT_GT(500000, took);
}

static int blocked_wakeup(int fd)
{
	unsigned char rx[MBUS_FRAME_MAX];
	int n = sizeof(rx);

	/* One wake-up byte, then a 5 s pause before the request. */
	if (set_params(fd, 0, 0, 0, 1, 5000000))
		return 2;
	return ksft_xfer(fd, req_ud2, 5, rx, &n, 0, NULL, NULL) == -ENODEV ?
	       0 : 1;
}

/* Run @fn in a child, detach N_MBUS after 200 ms; its exit code. */
static int blocked_then_detached(int slave, int (*fn)(int), int fd,
				 long long *took)
{
	long long t0;
	int status;
	pid_t pid = fork();

	if (!pid)
		_exit(fn(fd));
	usleep(200000);
	t0 = ksft_now_us();
	if (ksft_mbus_detach(slave))
		return 254;
	waitpid(pid, &status, 0);
	*took = ksft_now_us() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

TEST_F(bus, a_detach_cuts_a_long_wakeup_pause_short)
{
	long long took;

	EXPECT_EQ(0, blocked_then_detached(self->slave, blocked_wakeup,
					   self->fd, &took));
	TH_LOG("detach took %lld us with a 5 s pause under way", took);
	EXPECT_GT(500000, took);
}

TEST_F(bus, an_ldisc_switch_wakes_a_waiting_exchange_with_enodev)
{
	long long took;

	EXPECT_EQ(0, blocked_then_detached(self->slave, blocked_xfer,
					   self->fd, &took));
	TH_LOG("exchange returned %lld us after the switch", took);
	EXPECT_GT(500000, took);
}

TEST_F(bus, detach_with_open_files_leaves_them_failing_cleanly)
{
	unsigned char rx[MBUS_FRAME_MAX];
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	__u32 baud;

	ASSERT_EQ(0, ksft_mbus_detach(self->slave));
	EXPECT_EQ(-1, read(self->fd, rx, sizeof(rx)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(self->fd, req_ud2, 5));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & (POLLHUP | POLLERR));
	/* Reattaching gives a new, working port. */
	self->index = ksft_mbus_attach(self->slave);
	EXPECT_LE(0, self->index);
}

/* ---- sharing ------------------------------------------------------------ */

/* Each of 8 processes polls its own address; every reply must be its own. */
TEST_F(bus, eight_processes_share_one_bus_without_cross_talk)
{
	enum { PROCS = 8, ROUNDS = 40 };
	pid_t pids[PROCS];
	int i, status, bad = 0;

	self->sim = ksft_slave_fork(self->master, slave_rsp, NULL);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (!pids[i]) {
			unsigned char req[8], rx[MBUS_FRAME_MAX];
			unsigned int st;
			int r, n, fd, wrong = 0;

			fd = ksft_mbus_open(self->index, O_RDWR);
			if (fd < 0)
				_exit(100);
			for (r = 0; r < ROUNDS; r++) {
				ksft_short_frame(req, 0x5b, i + 1);
				n = sizeof(rx);
				if (ksft_xfer(fd, req, 5, rx, &n, 0, &st, NULL) ||
				    st != MBUS_STATUS_FRAME || n != 25 ||
				    rx[5] != i + 1 || rx[22] != i + 1)
					wrong++;
			}
			_exit(wrong);
		}
	}
	for (i = 0; i < PROCS; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(PROCS * ROUNDS, stats(self->fd).rx_frames);
}

TEST_F(bus, sysfs_statistics_match_the_ioctl)
{
	char buf[32];
	struct mbus_stats st;

	ASSERT_EQ(0, ksft_write_all(self->master, "\x01\x02\x03", 3));
	usleep(50000);
	st = stats(self->fd);
	ASSERT_EQ(0, ksft_mbus_sysfs(self->index, "statistics/rx_bytes", buf,
				     sizeof(buf)));
	EXPECT_EQ(st.rx_bytes, strtoull(buf, NULL, 10));
	ASSERT_EQ(0, ksft_mbus_sysfs(self->index, "statistics/noise_bytes",
				     buf, sizeof(buf)));
	EXPECT_EQ(3, strtoull(buf, NULL, 10));
}

TEST_HARNESS_MAIN
