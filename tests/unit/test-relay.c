// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the relay of mbus-attach --tcp (tools/attach-tcp.c) on
 * the host: the relay runs in a child on the master side of a pty pair,
 * the test plays N_MBUS on the slave side (N_TTY, raw: the relay only
 * sees bytes and termios) and the converter on a loopback listener.
 * Raw TCP and RFC 2217: bytes both ways, IAC escaping, the negotiation
 * of 8E1 and the speed, a speed change reaching the converter before the
 * next request, an outage stopping the port and a reconnect restarting
 * it, a server that refuses RFC 2217.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "../../tools/attach-tcp.h"
#include "../../tools/rfc2217.h"

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A listener on 127.0.0.1, any free port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* What the converter received on one connection so far. */
struct stream {
	uint8_t buf[4096];
	size_t len;
};

/* Read into @s until @pat is in it or @ms passed; its offset or -1. */
static long wait_for(int fd, struct stream *s, const uint8_t *pat,
		     size_t plen, int ms)
{
	long long end = now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t *hit;
	ssize_t n;

	for (;;) {
		hit = memmem(s->buf, s->len, pat, plen);
		if (hit)
			return hit - s->buf;
		if (now_ms() >= end || s->len == sizeof(s->buf))
			return -1;
		if (poll(&p, 1, end - now_ms()) <= 0)
			continue;
		n = read(fd, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n <= 0)
			return -1;
		s->len += n;
	}
}

/* Write to the slave once the relay lets the port send (TCOON). */
static int slave_send(int slave, const void *buf, size_t len, int ms)
{
	long long end = now_ms() + ms;
	const struct timespec step = { 0, 10 * 1000000 };
	ssize_t n;

	while (now_ms() < end) {
		n = write(slave, buf, len);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 || errno != EAGAIN)
			return -1;
		nanosleep(&step, NULL);
	}
	return -1;
}

/* Read exactly @len bytes from the slave within @ms. */
static int slave_recv(int slave, uint8_t *buf, size_t len, int ms)
{
	long long end = now_ms() + ms;
	struct pollfd p = { .fd = slave, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len && now_ms() < end) {
		if (poll(&p, 1, end - now_ms()) <= 0)
			continue;
		n = read(slave, buf + got, len - got);
		if (n > 0)
			got += n;
	}
	return got;
}

static int set_speed(int slave, speed_t s, bool extproc)
{
	struct termios t;

	if (tcgetattr(slave, &t))
		return -1;
	cfsetspeed(&t, s);
	if (extproc)
		t.c_lflag |= EXTPROC;
	else
		t.c_lflag &= ~EXTPROC;
	return tcsetattr(slave, TCSANOW, &t);
}

FIXTURE(relay) {
	int lfd;
	int slave;
	pid_t pid;
	char log[64];
};

FIXTURE_VARIANT(relay) {
	bool rfc2217;
};

FIXTURE_VARIANT_ADD(relay, raw) { .rfc2217 = false };
FIXTURE_VARIANT_ADD(relay, rfc2217) { .rfc2217 = true };

FIXTURE_SETUP(relay)
{
	struct tcp_conf c = { .latency_ms = -1, .prog = "relay" };
	struct termios t;
	int master, logfd;
	char pty[64];

	self->pid = -1;
	self->lfd = listen_any(&c.port);
	ASSERT_LE(0, self->lfd);
	strcpy(c.host, "127.0.0.1");
	c.rfc2217 = variant->rfc2217;
	master = tcp_pty_open("relay", pty, sizeof(pty));
	ASSERT_LE(0, master);
	self->slave = open(pty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->slave);
	ASSERT_EQ(0, tcgetattr(self->slave, &t));
	cfmakeraw(&t);
	cfsetspeed(&t, B2400);
	ASSERT_EQ(0, tcsetattr(self->slave, TCSANOW, &t));
	strcpy(self->log, "/tmp/test-relay.XXXXXX");
	logfd = mkstemp(self->log);
	ASSERT_LE(0, logfd);

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		struct tcp_relay *r;

		dup2(logfd, 2);
		r = tcp_relay_start(&c, master, self->slave, -1);
		_exit(r ? tcp_relay_run(r) : 1);
	}
	close(logfd);
	close(master);
}

FIXTURE_TEARDOWN(relay)
{
	char line[256];
	int status = -1;
	FILE *f;

	if (self->pid > 0) {
		kill(self->pid, SIGTERM);
		waitpid(self->pid, &status, 0);
		/*
		 * SIGTERM ends the relay cleanly (and sanitizers found
		 * nothing). A skipped variant stops it at once, before it
		 * may have set up its signal handling: nothing to assert.
		 */
		if (!_metadata->skip)
			EXPECT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0);
	}
	f = fopen(self->log, "r");
	while (f && !_metadata->passed && fgets(line, sizeof(line), f))
		TH_LOG("relay said: %s", strtok(line, "\n"));
	if (f)
		fclose(f);
	unlink(self->log);
	close(self->slave);
	close(self->lfd);
}

static bool log_has(const char *path, const char *what)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

/* The server's half of the RFC 2217 start: agree, answer the speed. */
static int converter_agree(int fd, struct stream *s, uint32_t baud)
{
	static const uint8_t agree[] = {
		0xff, 0xfd, 0x2c, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00,
		0xff, 0xfb, 0x03,
	};
	uint8_t b[16];
	size_t n;

	if (wait_for(fd, s, BYTES(0xff, 0xfb, 0x2c), 3, 3000) < 0)
		return -1;
	if (write(fd, agree, sizeof(agree)) != sizeof(agree))
		return -1;
	n = cpo_set_baud(b, baud);
	if (wait_for(fd, s, b, n, 3000) < 0)
		return -1;
	b[3] += CPO_SERVER;
	return write(fd, b, n) == (ssize_t)n ? 0 : -1;
}

static int converter_start(int lfd, struct stream *s, bool rfc2217)
{
	int fd = accept_within(lfd, 3000);

	s->len = 0;
	if (fd >= 0 && rfc2217 && converter_agree(fd, s, 2400)) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_F(relay, bytes_pass_both_ways_unchanged)
{
	static const uint8_t req[] = { 0x10, 0x5b, 0xfe, 0x59, 0x16 };
	static const uint8_t rsp[] = { 0x10, 0x08, 0xff, 0x07, 0x16 };
	uint8_t rx[8], wire[16];
	struct stream s;
	size_t n;
	int fd;

	fd = converter_start(self->lfd, &s, variant->rfc2217);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, slave_send(self->slave, req, sizeof(req), 3000));
	EXPECT_LE(0, wait_for(fd, &s, req, sizeof(req), 2000));

	/* The reply holds an FF: doubled on the wire with RFC 2217. */
	n = variant->rfc2217 ? tn_escape(rsp, sizeof(rsp), wire) : sizeof(rsp);
	if (!variant->rfc2217)
		memcpy(wire, rsp, n);
	ASSERT_EQ((ssize_t)n, write(fd, wire, n));
	EXPECT_EQ((int)sizeof(rsp), slave_recv(self->slave, rx, sizeof(rsp),
						2000));
	EXPECT_EQ(0, memcmp(rx, rsp, sizeof(rsp)));
	close(fd);
}

TEST_F(relay, an_ff_from_n_mbus_is_doubled_only_for_rfc_2217)
{
	static const uint8_t req[] = { 0x10, 0x7b, 0xff, 0x7a, 0x16 };
	static const uint8_t esc[] = { 0x10, 0x7b, 0xff, 0xff, 0x7a, 0x16 };
	struct stream s;
	int fd;

	fd = converter_start(self->lfd, &s, variant->rfc2217);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, slave_send(self->slave, req, sizeof(req), 3000));
	if (variant->rfc2217) {
		EXPECT_LE(0, wait_for(fd, &s, esc, sizeof(esc), 2000));
	} else {
		EXPECT_LE(0, wait_for(fd, &s, req, sizeof(req), 2000));
	}
	close(fd);
}

TEST_F(relay, an_outage_stops_the_port_and_a_reconnect_restarts_it)
{
	const struct timespec step = { 0, 20 * 1000000 };
	static const uint8_t req[] = { 0x10, 0x40, 0xfd, 0x3d, 0x16 };
	struct stream s;
	long long t0;
	int fd, i, err = 0;

	fd = converter_start(self->lfd, &s, variant->rfc2217);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, slave_send(self->slave, "x", 1, 3000));
	ASSERT_LE(0, wait_for(fd, &s, (const uint8_t *)"x", 1, 2000));
	close(fd);

	/* The relay sees the close and stops the port: writes fail. */
	for (i = 0; i < 100; i++) {
		if (write(self->slave, "y", 1) < 0) {
			err = errno;
			break;
		}
		nanosleep(&step, NULL);
	}
	EXPECT_EQ(EAGAIN, err);

	t0 = now_ms();
	fd = converter_start(self->lfd, &s, variant->rfc2217);
	ASSERT_LE(0, fd);
	TH_LOG("reconnected after %lld ms", now_ms() - t0);
	ASSERT_EQ(0, slave_send(self->slave, req, sizeof(req), 3000));
	ASSERT_LE(0, wait_for(fd, &s, req, sizeof(req), 2000));
	/* Nothing N_MBUS sent during the outage came after the reconnect. */
	EXPECT_EQ(NULL, memchr(s.buf, 'y', s.len));
	EXPECT_TRUE(log_has(self->log, "connection lost"));
	close(fd);
}

TEST_F(relay, rfc_2217_sets_8e1_the_speed_and_no_flow_control)
{
	const uint8_t *const want[] = {
		BYTES(0xff, 0xfa, 0x2c, 0x02, 0x08, 0xff, 0xf0),
		BYTES(0xff, 0xfa, 0x2c, 0x03, 0x03, 0xff, 0xf0),
		BYTES(0xff, 0xfa, 0x2c, 0x04, 0x01, 0xff, 0xf0),
		BYTES(0xff, 0xfa, 0x2c, 0x05, 0x01, 0xff, 0xf0),
	};
	struct stream s;
	int fd, i;

	if (!variant->rfc2217)
		SKIP(return, "raw TCP negotiates nothing");
	fd = converter_start(self->lfd, &s, true);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++)
		EXPECT_LE(0, wait_for(fd, &s, want[i], 7, 2000));
	EXPECT_LE(0, wait_for(fd, &s, BYTES(0xff, 0xfb, 0x00), 3, 100));
	EXPECT_LE(0, wait_for(fd, &s, BYTES(0xff, 0xfd, 0x00), 3, 100));
	close(fd);
}

TEST_F(relay, a_new_speed_reaches_the_converter_before_the_next_request)
{
	static const uint8_t req[] = { 0x10, 0x5b, 0x05, 0x60, 0x16 };
	uint8_t b[16];
	struct stream s;
	long at_baud, at_req;
	size_t n;
	int fd;

	if (!variant->rfc2217)
		SKIP(return, "raw TCP cannot change the converter's speed");
	fd = converter_start(self->lfd, &s, true);
	ASSERT_LE(0, fd);
	/* Switch as MBUS_IOC_SET_BAUD does (EXTPROC set by the relay). */
	ASSERT_EQ(0, set_speed(self->slave, B9600, true));
	ASSERT_EQ(0, slave_send(self->slave, req, sizeof(req), 1000));
	n = cpo_set_baud(b, 9600);
	at_baud = wait_for(fd, &s, b, n, 2000);
	EXPECT_LE(0, at_baud);
	/* The request waits for the converter's answer. */
	EXPECT_GT(0, wait_for(fd, &s, req, sizeof(req), 300));
	b[3] += CPO_SERVER;
	ASSERT_EQ((ssize_t)n, write(fd, b, n));
	at_req = wait_for(fd, &s, req, sizeof(req), 2000);
	EXPECT_LT(at_baud, at_req);

	/*
	 * N_MBUS clears EXTPROC on its line setup: the change after that is
	 * not announced, and still precedes the next request.
	 */
	ASSERT_EQ(0, set_speed(self->slave, B4800, false));
	ASSERT_EQ(0, set_speed(self->slave, B1200, false));
	s.len = 0;
	ASSERT_EQ(0, slave_send(self->slave, req, sizeof(req), 1000));
	n = cpo_set_baud(b, 1200);
	at_baud = wait_for(fd, &s, b, n, 2000);
	EXPECT_LE(0, at_baud);
	b[3] += CPO_SERVER;
	ASSERT_EQ((ssize_t)n, write(fd, b, n));
	at_req = wait_for(fd, &s, req, sizeof(req), 2000);
	EXPECT_LT(at_baud, at_req);
	close(fd);
}

TEST_F(relay, a_server_refusing_rfc_2217_is_left_and_tried_again)
{
	struct stream s = { .len = 0 };
	int fd;

	if (!variant->rfc2217)
		SKIP(return, "raw TCP negotiates nothing");
	fd = accept_within(self->lfd, 3000);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, wait_for(fd, &s, BYTES(0xff, 0xfb, 0x2c), 3, 3000));
	ASSERT_EQ(3, write(fd, BYTES(0xff, 0xfe, 0x2c), 3));
	/* The relay hangs up ... */
	EXPECT_GT(0, wait_for(fd, &s, BYTES(0x00, 0x01, 0x02), 3, 1000));
	close(fd);
	/* ... and comes back. */
	fd = accept_within(self->lfd, 3000);
	EXPECT_LE(0, fd);
	EXPECT_TRUE(log_has(self->log, "refuses RFC 2217"));
	if (fd >= 0)
		close(fd);
}

TEST(targets_are_host_colon_port)
{
	struct tcp_conf c;
	char err[160];
	int ms;

	EXPECT_EQ(0, tcp_parse_target(&c, "converter.lan:4001", err,
				      sizeof(err)));
	EXPECT_STREQ("converter.lan", c.host);
	EXPECT_EQ(4001, c.port);
	EXPECT_EQ(0, tcp_parse_target(&c, "[::1]:10001", err, sizeof(err)));
	EXPECT_STREQ("::1", c.host);
	EXPECT_EQ(10001, c.port);
	EXPECT_EQ(-1, tcp_parse_target(&c, "::1:4001", err, sizeof(err)));
	EXPECT_EQ(-1, tcp_parse_target(&c, "host", err, sizeof(err)));
	EXPECT_EQ(-1, tcp_parse_target(&c, "host:0", err, sizeof(err)));
	EXPECT_EQ(-1, tcp_parse_target(&c, "host:65536", err, sizeof(err)));
	EXPECT_EQ(-1, tcp_parse_target(&c, ":4001", err, sizeof(err)));
	EXPECT_EQ(-1, tcp_parse_target(&c, "[::1]4001", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "HOST:PORT"));
	EXPECT_EQ(0, tcp_parse_latency("0", &ms));
	EXPECT_EQ(0, tcp_parse_latency("5000", &ms));
	EXPECT_EQ(5000, ms);
	EXPECT_EQ(-1, tcp_parse_latency("5001", &ms));
	EXPECT_EQ(-1, tcp_parse_latency("-1", &ms));
	EXPECT_EQ(-1, tcp_parse_latency("10ms", &ms));
}

TEST_HARNESS_MAIN
