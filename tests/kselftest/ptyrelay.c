// SPDX-License-Identifier: GPL-2.0
/*
 * What a pty can carry between N_MBUS and a relay on its master side
 * (mbus-attach --tcp). These are the facts the relay is built on; if a
 * kernel changes one of them, this test says which.
 *
 *  - bytes pass unchanged both ways (0xff included);
 *  - the pty clears PARENB and forces CS8: the master cannot learn the
 *    parity from termios, only the rate;
 *  - in packet mode (TIOCPKT) a termios change of the slave is announced
 *    as TIOCPKT_IOCTL only while EXTPROC is set, and N_MBUS's own line
 *    setup clears EXTPROC: the first MBUS_IOC_SET_BAUD is announced, the
 *    later ones are not, but tcgetattr() on the master always shows the
 *    rate in use;
 *  - the response window opens as soon as the pty took the request (a
 *    pty has no transmitter to drain): the time the converter needs to
 *    send it is not in the window;
 *  - MBUS_IOC_SEND_BREAK fails with EOPNOTSUPP (a pty has no break_ctl)
 *    and the master sees nothing;
 *  - TCOOFF on the slave stops N_MBUS's output: an exchange fails with
 *    EIO after about a second, the master sees TIOCPKT_STOP, and TCOON
 *    brings the port back;
 *  - a writer on the master that fills the pty's 64 KiB buffer sleeps
 *    until the line discipline wakes it (N_TTY does it from read()):
 *    N_MBUS must, or a relay that writes faster than one buffer stalls
 *    for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

FIXTURE(ptyrelay) {
	int master;
	int slave;
	int index;
	int fd;
};

FIXTURE_SETUP(ptyrelay)
{
	int one = 1;

	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
	self->index = ksft_mbus_attach(self->slave);
	ASSERT_LE(0, self->index);
	self->fd = ksft_mbus_open(self->index, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->master, TIOCPKT, &one));
}

FIXTURE_TEARDOWN(ptyrelay)
{
	close(self->fd);
	close(self->slave);
	close(self->master);
}

/*
 * Read what the master has within @ms. Returns the number of bytes; the
 * status byte of the last packet goes to *@pkt (-1 if none came).
 */
static int pkt_read(int master, unsigned char *buf, int size, int ms,
		    int *pkt)
{
	struct pollfd p = { .fd = master, .events = POLLIN };
	int n;

	*pkt = -1;
	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = read(master, buf, size);
	if (n <= 0)
		return n;
	*pkt = buf[0];
	return n;
}

/* Drain pending status packets (the attach changed the termios). */
static void pkt_drain(int master)
{
	unsigned char buf[64];
	int pkt;

	while (pkt_read(master, buf, sizeof(buf), 50, &pkt) > 0)
		;
}

static speed_t master_speed(int master)
{
	struct termios t;

	if (tcgetattr(master, &t))
		return (speed_t)-1;
	return cfgetospeed(&t);
}

static int set_extproc(int slave)
{
	struct termios t;

	if (tcgetattr(slave, &t))
		return -1;
	t.c_lflag |= EXTPROC;
	return tcsetattr(slave, TCSANOW, &t);
}

TEST_F(ptyrelay, bytes_pass_both_ways_unchanged)
{
	static const unsigned char req[] = { 0x10, 0x7b, 0xff, 0x7a, 0x16 };
	unsigned char rx[MBUS_FRAME_MAX], buf[64];
	unsigned int status;
	int len = sizeof(rx), pkt, n;
	struct mbus_params p = { .retries = 0, .response_timeout_us = 100000 };

	pkt_drain(self->master);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	/* No reply: only the request on the master matters here. */
	ASSERT_EQ(0, ksft_xfer(self->fd, req, 5, rx, &len, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	n = pkt_read(self->master, buf, sizeof(buf), 500, &pkt);
	ASSERT_EQ(6, n);
	EXPECT_EQ(TIOCPKT_DATA, pkt);
	EXPECT_EQ(0, memcmp(buf + 1, req, 5));
}

TEST_F(ptyrelay, the_response_window_opens_when_the_pty_took_the_request)
{
	unsigned char req[MBUS_FRAME_MAX], data[100] = { 0 };
	unsigned char rx[MBUS_FRAME_MAX];
	struct mbus_params p = { .retries = 0, .response_timeout_us = 100000 };
	unsigned int status;
	int len = sizeof(rx), n;
	long long t0, took;

	/* 109 bytes take 500 ms at 2400 Bd on a UART. */
	n = ksft_long_frame(req, 0x53, 1, 0x51, data, sizeof(data));
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	t0 = ksft_now_us();
	ASSERT_EQ(0, ksft_xfer(self->fd, req, n, rx, &len, 0, &status, NULL));
	took = ksft_now_us() - t0;
	TH_LOG("a %d-byte request and a 100 ms window took %lld us", n, took);
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	EXPECT_LE(100000, took);
	EXPECT_GT(400000, took);
}

TEST_F(ptyrelay, the_pty_shows_cs8_without_parity_and_the_rate)
{
	struct termios t;

	ASSERT_EQ(0, tcgetattr(self->master, &t));
	EXPECT_EQ(CS8, t.c_cflag & CSIZE);
	EXPECT_EQ(0, t.c_cflag & PARENB);
	EXPECT_EQ(B2400, cfgetospeed(&t));
}

TEST_F(ptyrelay, set_baud_is_announced_once_then_only_visible_in_termios)
{
	unsigned char buf[64];
	__u32 baud = 9600;
	int pkt, n;

	pkt_drain(self->master);
	/* Without EXTPROC a rate change says nothing to the master. */
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	EXPECT_EQ(0, pkt_read(self->master, buf, sizeof(buf), 200, &pkt));
	EXPECT_EQ(B9600, master_speed(self->master));

	ASSERT_EQ(0, set_extproc(self->slave));
	n = pkt_read(self->master, buf, sizeof(buf), 200, &pkt);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(pkt & TIOCPKT_IOCTL);
	pkt_drain(self->master);

	baud = 300;
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	n = pkt_read(self->master, buf, sizeof(buf), 200, &pkt);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(pkt & TIOCPKT_IOCTL);
	EXPECT_EQ(B300, master_speed(self->master));

	/* N_MBUS set c_lflag to 0: the next change goes unannounced. */
	baud = 2400;
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_BAUD, &baud));
	n = pkt_read(self->master, buf, sizeof(buf), 200, &pkt);
	TH_LOG("second change with EXTPROC cleared: %d bytes, status %d",
	       n, pkt);
	EXPECT_EQ(0, n);
	EXPECT_EQ(B2400, master_speed(self->master));
}

TEST_F(ptyrelay, send_break_is_refused_and_the_master_sees_nothing)
{
	unsigned char buf[64];
	__u32 ms = 50;
	int pkt;

	pkt_drain(self->master);
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_SEND_BREAK, &ms));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* tcsendbreak() on the tty succeeds and does nothing either. */
	EXPECT_EQ(0, tcsendbreak(self->slave, 0));
	EXPECT_EQ(0, pkt_read(self->master, buf, sizeof(buf), 200, &pkt));
}

TEST_F(ptyrelay, a_stopped_pty_fails_exchanges_with_eio)
{
	static const unsigned char req[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
	unsigned char rx[MBUS_FRAME_MAX], buf[64];
	struct mbus_params p = { .retries = 0, .response_timeout_us = 100000 };
	struct mbus_xfer x = {
		.tx_buf = (unsigned long)req, .rx_buf = (unsigned long)rx,
		.tx_len = sizeof(req), .rx_len = sizeof(rx),
	};
	long long t0, took;
	unsigned int status;
	int len = sizeof(rx), pkt, n;

	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_SET_PARAMS, &p));
	pkt_drain(self->master);
	ASSERT_EQ(0, tcflow(self->slave, TCOOFF));
	n = pkt_read(self->master, buf, sizeof(buf), 200, &pkt);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(pkt & TIOCPKT_STOP);

	t0 = ksft_now_us();
	EXPECT_EQ(-1, ioctl(self->fd, MBUS_IOC_XFER, &x));
	EXPECT_EQ(EIO, errno);
	took = ksft_now_us() - t0;
	TH_LOG("an exchange on a stopped pty failed after %lld us", took);
	EXPECT_LE(900000, took);
	EXPECT_GT(3000000, took);
	/*
	 * None of the request reaches the master: the driver flushed what
	 * the stopped tty held, which packet mode may announce (one status
	 * byte, TIOCPKT_FLUSHWRITE) but never as data.
	 */
	n = pkt_read(self->master, buf, sizeof(buf), 100, &pkt);
	EXPECT_GE(1, n);
	if (n == 1)
		EXPECT_TRUE(pkt & TIOCPKT_FLUSHWRITE) TH_LOG("packet %#x", pkt);

	ASSERT_EQ(0, tcflow(self->slave, TCOON));
	n = pkt_read(self->master, buf, sizeof(buf), 200, &pkt);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(pkt & TIOCPKT_START);
	ASSERT_EQ(0, ksft_xfer(self->fd, req, 5, rx, &len, 0, &status, NULL));
	EXPECT_EQ(MBUS_STATUS_TIMEOUT, status);
	n = pkt_read(self->master, buf, sizeof(buf), 500, &pkt);
	EXPECT_EQ(6, n);
	EXPECT_EQ(TIOCPKT_DATA, pkt);
}

/* 256 KiB of short frames in one write(): four times what a pty buffers. */
TEST_F_TIMEOUT(ptyrelay, a_writer_on_the_master_is_never_left_asleep, 120)
{
	const int frames = 256 * 1024 / 5;
	long long end = ksft_now_us() + 20000000LL * ksft_time_scale();
	struct mbus_stats st0, st;
	unsigned char *buf;
	int i, status = -1;
	pid_t pid;

	buf = malloc(5 * frames);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < frames; i++)
		ksft_short_frame(buf + 5 * i, 0x08, i % 250 + 1);
	ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(ksft_write_all(self->master, buf, 5 * frames) ? 1 : 0);
	do {
		usleep(20000);
		ASSERT_EQ(0, ioctl(self->fd, MBUS_IOC_GET_STATS, &st));
		if (waitpid(pid, &status, WNOHANG) == pid)
			pid = 0;
	} while (st.rx_bytes - st0.rx_bytes < 5ULL * frames &&
		 ksft_now_us() < end);
	if (pid) {
		/* Give the writer the time to return once all came. */
		usleep(200000);
		if (waitpid(pid, &status, WNOHANG) != pid) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			TH_LOG("the writer still slept after %llu of %d bytes",
			       (unsigned long long)(st.rx_bytes - st0.rx_bytes),
			       5 * frames);
		}
	}
	free(buf);
	EXPECT_EQ(5ULL * frames, st.rx_bytes - st0.rx_bytes);
	EXPECT_EQ((__u64)frames, st.rx_frames - st0.rx_frames);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
