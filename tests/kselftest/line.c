// SPDX-License-Identifier: GPL-2.0
/*
 * N_MBUS on a line with the behaviour of a UART: the test-only tty driver
 * mbus_tline (tests/tline/) gives /dev/ttyTL0 characters flagged with
 * parity, framing and overrun errors, received breaks, a transmitter that
 * takes a character time per character, breaks sent, and an echo. The
 * test plays the bus on the far end, /dev/tline0: it scripts the reply
 * before the request goes out, timed from the request's last stop bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"
#include "../tline/tline.h"

#define TLINE_KO	"mbus_tline"

static int tline_load(void)
{
	struct utsname u;
	char path[256];
	int fd, ret;

	if (access("/sys/module/" TLINE_KO, F_OK) == 0)
		return 0;
	if (uname(&u))
		return -errno;
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s.ko",
		 u.release, TLINE_KO);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret == -EEXIST ? 0 : ret;
}

FIXTURE(line) {
	int ctl;
	int tty;
	int fd;
	int index;
};

FIXTURE_SETUP(line)
{
	int err;

	self->ctl = -1;
	self->tty = -1;
	self->fd = -1;
	ASSERT_EQ(0, ksft_mbus_load());
	err = tline_load();
	if (err == -ENOENT)
		SKIP(return, "mbus_tline.ko is not in the guest (make modules)");
	ASSERT_EQ(0, err);
	self->ctl = open("/dev/tline0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	ASSERT_EQ(0, ioctl(self->ctl, TLINE_IOC_RESET));
	self->tty = open("/dev/ttyTL0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, self->tty);
	self->index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(line)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->tty >= 0)
		close(self->tty);
	if (self->ctl >= 0)
		close(self->ctl);
}

/* A SKIP in the setup does not stop the test body: every test asks. */
#define SKIP_IF_NO_LINE() do {						\
		if (self->fd < 0)					\
			return;						\
	} while (0)

/* The heat meter's reply: a long frame with nothing in it that resyncs. */
static int rsp_ud(unsigned char *buf)
{
	static const unsigned char data[] = {
		0x78, 0x56, 0x34, 0x12, 0x2e, 0x4d, 0x01, 0x04,
		0x2a, 0x00, 0x00, 0x00, 0x0c, 0x06, 0x27, 0x04,
		0x85, 0x02, 0x0c, 0x14, 0x37, 0x65, 0x25, 0x01,
	};

	return ksft_long_frame(buf, 0x08, 1, 0x72, data, sizeof(data));
}

/*
 * Script @len characters of @buf as the reply: the first @gap_us after the
 * request's last stop bit, the others back to back. Character @at (if
 * not negative) comes with @flag; an overrun loses it instead and adds
 * the UART's overrun marker in its place.
 */
static int script_reply(int ctl, const unsigned char *buf, int len,
			unsigned int gap_us, int at, unsigned char flag)
{
	struct tline_rx ops[MBUS_FRAME_MAX + 1];
	int i, n = 0;

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < len; i++) {
		ops[n].ch = buf[i];
		if (i == at) {
			ops[n].flag = flag;
			if (flag == TLINE_OVERRUN)
				ops[n].ch = 0;
		}
		n++;
	}
	ops[0].anchor = TLINE_RX_AFTER_TX;
	ops[0].gap_us = gap_us;
	if (write(ctl, ops, n * sizeof(ops[0])) != (ssize_t)(n * sizeof(ops[0])))
		return -errno;
	return 0;
}

static int set_retries(int fd, unsigned int retries, unsigned int flags)
{
	struct mbus_params p;

	if (ioctl(fd, MBUS_IOC_GET_PARAMS, &p))
		return -errno;
	p.retries = retries;
	p.flags = flags;
	return ioctl(fd, MBUS_IOC_SET_PARAMS, &p) ? -errno : 0;
}

static unsigned int req_ud2(int fd, unsigned char *rx, int *len)
{
	unsigned char req[8];
	unsigned int status = ~0U;

	*len = MBUS_FRAME_MAX;
	ksft_short_frame(req, 0x5b, 1);
	if (ksft_xfer(fd, req, 5, rx, len, 0, &status, NULL))
		return ~0U;
	return status;
}

/* Wait until the script is played and the transmitter idle. */
static bool line_idle(int ctl, int ms)
{
	struct tline_info info;

	for (; ms > 0; ms -= 10) {
		if (ioctl(ctl, TLINE_IOC_GET_INFO, &info))
			return false;
		if (!info.rx_pending && !info.tx_pending)
			return true;
		usleep(10000);
	}
	return false;
}

/* Time of the last event of @type waiting on the far end, 0 if none. */
static long long last_event_us(int ctl, unsigned char type, int *count)
{
	struct tline_event ev[64];
	long long t = 0;
	ssize_t n;
	int i;

	*count = 0;
	while ((n = read(ctl, ev, sizeof(ev))) > 0) {
		for (i = 0; i < n / (int)sizeof(ev[0]); i++) {
			if (ev[i].type != type)
				continue;
			t = ev[i].time_ns / 1000;
			(*count)++;
		}
	}
	return t;
}

static bool frame_waiting(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* One flagged character inside a reply: GARBLED, LINE_ERR, counted. */
static void bad_char_fails_the_window(struct __test_metadata *_metadata,
				      FIXTURE_DATA(line) *self,
				      unsigned char flag)
{
	unsigned char reply[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	struct mbus_stats st;
	int n, len;

	ASSERT_EQ(0, set_retries(self->fd, 0, 0));
	n = rsp_ud(reply);
	ASSERT_EQ(0, script_reply(self->ctl, reply, n, 3000, 12, flag));
	EXPECT_EQ(MBUS_STATUS_GARBLED, req_ud2(self->fd, rx, &len));
	EXPECT_TRUE(ksft_xfer_info & MBUS_XFER_INFO_LINE_ERR);
	TH_LOG("status info %#x, %d raw bytes", ksft_xfer_info, len);
	ASSERT_TRUE(line_idle(self->ctl, 2000));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(0, st.rx_frames);
	EXPECT_EQ(1, st.garbled);
	EXPECT_EQ(flag == TLINE_PARITY, st.parity_errors);
	EXPECT_EQ(flag == TLINE_FRAME, st.framing_errors);
	EXPECT_EQ(flag == TLINE_OVERRUN, st.overruns);
	EXPECT_FALSE(frame_waiting(self->fd, 200));

	/* The line is fine again: the same reply unflagged is a frame. */
	ASSERT_EQ(0, script_reply(self->ctl, reply, n, 3000, -1, 0));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, rx, &len));
	EXPECT_EQ(n, len);
	EXPECT_EQ(0, memcmp(rx, reply, n));
}

TEST_F(line, a_parity_error_inside_a_reply_fails_the_window)
{
	SKIP_IF_NO_LINE();
	bad_char_fails_the_window(_metadata, self, TLINE_PARITY);
}

TEST_F(line, a_framing_error_inside_a_reply_fails_the_window)
{
	SKIP_IF_NO_LINE();
	bad_char_fails_the_window(_metadata, self, TLINE_FRAME);
}

TEST_F(line, an_overrun_inside_a_reply_fails_the_window)
{
	SKIP_IF_NO_LINE();
	bad_char_fails_the_window(_metadata, self, TLINE_OVERRUN);
}

TEST_F(line, a_break_during_a_reply_ends_the_window_with_break)
{
	unsigned char reply[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	struct mbus_stats st;
	long long t0, took;
	int n, len;

	SKIP_IF_NO_LINE();
	ASSERT_EQ(0, set_retries(self->fd, 2, 0));
	n = rsp_ud(reply);
	/* Ten characters of the reply, then the line drops. */
	ASSERT_EQ(0, script_reply(self->ctl, reply, 11, 3000, 10,
				  TLINE_BREAK));
	t0 = ksft_now_us();
	EXPECT_EQ(MBUS_STATUS_BREAK, req_ud2(self->fd, rx, &len));
	took = ksft_now_us() - t0;
	TH_LOG("BREAK after %lld us", took);
	/* At once: not after a character timeout, and never repeated. */
	EXPECT_GT(100000 + ksft_slack_us(100000), took);
	ASSERT_TRUE(line_idle(self->ctl, 2000));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(1, st.breaks);
	EXPECT_EQ(0, st.rx_frames);
	EXPECT_EQ(0, st.retries);
	EXPECT_EQ(1, st.tx_frames);
	EXPECT_FALSE(frame_waiting(self->fd, 100));
	(void)n;
}

/*
 * A short circuit: a break every few milliseconds for a second and a
 * half. Exchanges end with BREAK at once, every break is counted, a
 * reader blocked meanwhile is not stuck: the frame after the short
 * circuit reaches it, and the next exchange is answered.
 */
TEST_F(line, a_short_circuit_keeps_counting_and_no_reader_is_stuck)
{
	enum { BREAKS = 150 };
	unsigned char reply[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	struct tline_rx ops[BREAKS];
	struct mbus_stats st;
	int i, n, len, rfd, status, xfers = 0, slow = 0;
	long long t0, took;
	pid_t reader;

	SKIP_IF_NO_LINE();
	ASSERT_EQ(0, set_retries(self->fd, 0, 0));
	n = rsp_ud(reply);
	rfd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, rfd);
	reader = fork();
	ASSERT_LE(0, reader);
	if (reader == 0) {
		unsigned char buf[MBUS_FRAME_MAX];
		ssize_t got;

		alarm(20);
		got = read(rfd, buf, sizeof(buf));
		_exit(got == n && !memcmp(buf, reply, n) ? 0 : 1);
	}

	memset(ops, 0, sizeof(ops));
	for (i = 0; i < BREAKS; i++) {
		ops[i].flag = TLINE_BREAK;
		ops[i].gap_us = 5000;
	}
	ASSERT_EQ(sizeof(ops), (size_t)write(self->ctl, ops, sizeof(ops)));
	for (i = 0; i < 200; i++) {
		struct tline_info info;

		ASSERT_EQ(0, ioctl(self->ctl, TLINE_IOC_GET_INFO, &info));
		if (!info.rx_pending)
			break;
		t0 = ksft_now_us();
		status = req_ud2(self->fd, rx, &len);
		took = ksft_now_us() - t0;
		xfers++;
		if (took > 100000 + ksft_slack_us(200000))
			slow++;
		if (status != MBUS_STATUS_BREAK && info.rx_pending > 2)
			TH_LOG("exchange %d during the short circuit: status %u",
			       xfers, status);
	}
	TH_LOG("%d exchanges during the short circuit, %d slow", xfers, slow);
	EXPECT_LT(2, xfers);
	EXPECT_EQ(0, slow);
	ASSERT_TRUE(line_idle(self->ctl, 5000));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(BREAKS, st.breaks);

	/* Outside any exchange: the frame goes to the readers. */
	struct tline_rx *fr = calloc(n, sizeof(*fr));

	ASSERT_NE(NULL, fr);
	for (i = 0; i < n; i++)
		fr[i].ch = reply[i];
	fr[0].gap_us = 20000;
	ASSERT_EQ((ssize_t)(n * sizeof(*fr)),
		  write(self->ctl, fr, n * sizeof(*fr)));
	free(fr);
	ASSERT_EQ(reader, waitpid(reader, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(rfd);

	ASSERT_EQ(0, script_reply(self->ctl, reply, n, 3000, -1, 0));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, rx, &len));
}

/* The echo the line really sends, at the time each character leaves. */
TEST_F(line, echo_cancellation_drops_the_echo_of_a_real_echoing_line)
{
	unsigned char reply[MBUS_FRAME_MAX], rx[MBUS_FRAME_MAX];
	struct mbus_stats st;
	int n, len, echoes;
	int on = 1;

	SKIP_IF_NO_LINE();
	ASSERT_EQ(0, ioctl(self->ctl, TLINE_IOC_SET_ECHO, &on));
	ASSERT_EQ(0, set_retries(self->fd, 0, MBUS_PARAM_ECHO_CANCEL));
	n = rsp_ud(reply);
	ASSERT_EQ(0, script_reply(self->ctl, reply, n, 2000, -1, 0));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, rx, &len));
	EXPECT_EQ(n, len);
	EXPECT_EQ(0, memcmp(rx, reply, n));
	EXPECT_TRUE(ksft_xfer_info & MBUS_XFER_INFO_ECHO);
	ASSERT_TRUE(line_idle(self->ctl, 2000));
	last_event_us(self->ctl, TLINE_EV_ECHO, &echoes);
	EXPECT_EQ(5, echoes);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
	EXPECT_EQ(5, st.echo_dropped);
	EXPECT_EQ(1, st.rx_frames);
	EXPECT_EQ(0, st.noise_bytes);

	/* Without the flag the echo is a replica of the request: dropped. */
	ASSERT_EQ(0, set_retries(self->fd, 0, 0));
	ASSERT_EQ(0, script_reply(self->ctl, reply, n, 2000, -1, 0));
	EXPECT_EQ(MBUS_STATUS_FRAME, req_ud2(self->fd, rx, &len));
	EXPECT_EQ(n, len);
	EXPECT_TRUE(ksft_xfer_info & MBUS_XFER_INFO_ECHO);
	EXPECT_FALSE(frame_waiting(self->fd, 100));
}

/*
 * The response window runs from the request's real last stop bit. At
 * 300 Bd the 5-character request takes 183 ms and the window is 330 bit
 * times + 50 ms = 1150 ms: an acknowledgment 1050 ms after the stop bit
 * is in it (a window counted from the write() would be over), one 1250 ms
 * after it is not, and the exchange ends 1150 ms after the stop bit.
 */
TEST_F(line, the_response_window_runs_from_the_last_stop_bit)
{
	const long long char_us = 11 * 1000000LL / 300, win_us = 1150000;
	unsigned char req[8], rx[MBUS_FRAME_MAX], e5 = 0xe5;
	unsigned int status;
	long long t0, t1, tx_end, first_tx;
	struct tline_event ev[16];
	__u32 baud = 300;
	int len, count;
	ssize_t n;

	SKIP_IF_NO_LINE();
	ASSERT_EQ(0, set_retries(self->fd, 0, 0));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	ksft_short_frame(req, 0x40, 1);

	ASSERT_EQ(0, script_reply(self->ctl, &e5, 1,
				  win_us - 100000 - char_us, -1, 0));
	len = sizeof(rx);
	t0 = ksft_now_us();
	ASSERT_EQ(0, ksft_xfer(self->fd, req, 5, rx, &len, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_ACK, status);

	/* The transmitter took a character time per character. */
	first_tx = 0;
	tx_end = 0;
	count = 0;
	while ((n = read(self->ctl, ev, sizeof(ev))) > 0) {
		for (int i = 0; i < n / (int)sizeof(ev[0]); i++) {
			if (ev[i].type != TLINE_EV_TX)
				continue;
			if (!count++)
				first_tx = ev[i].time_ns / 1000;
			tx_end = ev[i].time_ns / 1000;
		}
	}
	EXPECT_EQ(5, count);
	EXPECT_LE(4 * char_us - 1000, tx_end - first_tx);
	EXPECT_LE(5 * char_us - 1000, tx_end - t0);

	ASSERT_EQ(0, script_reply(self->ctl, &e5, 1,
				  win_us + 100000 - char_us, -1, 0));
	len = sizeof(rx);
	t0 = ksft_now_us();
	ASSERT_EQ(0, ksft_xfer(self->fd, req, 5, rx, &len, 0, &status, NULL));
	t1 = ksft_now_us();
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	tx_end = last_event_us(self->ctl, TLINE_EV_TX, &count);
	EXPECT_EQ(5, count);
	TH_LOG("request sent %lld us after the call; TIMEOUT %lld us after its last stop bit",
	       tx_end - t0, t1 - tx_end);
	EXPECT_LE(win_us, t1 - tx_end);
	EXPECT_GT(win_us + ksft_slack_us(90000), t1 - tx_end);
	ASSERT_TRUE(line_idle(self->ctl, 3000));
}

TEST_F(line, send_break_holds_the_line_in_break_for_the_time_asked)
{
	struct tline_event ev[16];
	long long on = 0, off = 0;
	__u32 ms = 50;
	ssize_t n;
	int i;

	SKIP_IF_NO_LINE();
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	while ((n = read(self->ctl, ev, sizeof(ev))) > 0) {
		for (i = 0; i < n / (int)sizeof(ev[0]); i++) {
			if (ev[i].type == TLINE_EV_BREAK_ON)
				on = ev[i].time_ns / 1000;
			if (ev[i].type == TLINE_EV_BREAK_OFF)
				off = ev[i].time_ns / 1000;
		}
	}
	ASSERT_NE(0, on);
	ASSERT_NE(0, off);
	TH_LOG("the line was in break for %lld us", off - on);
	EXPECT_LE(50000, off - on);
	EXPECT_GT(50000 + ksft_slack_us(250000), off - on);
}

TEST_HARNESS_MAIN
