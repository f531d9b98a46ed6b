// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of mbus-tcpd's server (tools/tcpd.c) on the host: the
 * parsing of --listen and --allow, the allow-list, the readonly
 * classification, and the whole poll() loop in a thread on a simulated
 * bus (nmbus_dev_new_ops()) with clients on real loopback TCP sockets:
 * replies, timeouts, garbled windows, broadcasts, frames split and glued,
 * garbage, half frames, a slowloris, one client too many, a source not
 * allowed, idle clients, readonly mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <nmbus.h>
#include "../../tools/tcpd.h"

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the simulated bus -------------------------------------------- */

/*
 * REQ_UD2 to 1..49 gets a long frame naming the address; 50 is silent,
 * 51 collides (garbled bytes); SND_NKE and SND_UD get E5. Touched by the
 * server's thread only; the test reads it after joining.
 */
struct bus {
	unsigned int xfers;
	unsigned int no_reply;		/* exchanges with NO_REPLY */
	unsigned int writes;		/* SND_UD and SND_NKE seen */
	int delay_ms;			/* each exchange's time on the bus */
};

static size_t rsp_ud(uint8_t *rx, uint8_t a)
{
	static const uint8_t data[] = { 0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c,
					0x01, 0x07, 0x01, 0x00, 0x00, 0x00 };
	size_t n = 0, l = 3 + sizeof(data);
	uint8_t cs;

	rx[n++] = 0x68;
	rx[n++] = (uint8_t)l;
	rx[n++] = (uint8_t)l;
	rx[n++] = 0x68;
	rx[n++] = 0x08;
	rx[n++] = a;
	rx[n++] = 0x72;
	memcpy(rx + n, data, sizeof(data));
	n += sizeof(data);
	cs = 0;
	for (size_t i = 4; i < n; i++)
		cs += rx[i];
	rx[n++] = cs;
	rx[n++] = 0x16;
	return n;
}

static int bus_xfer(void *ctx, const uint8_t *tx, size_t tx_len,
		    unsigned int flags, uint8_t *rx, size_t *rx_len)
{
	struct bus *b = ctx;
	uint8_t c = tx[0] == 0x10 ? tx[1] : tx[4];
	uint8_t a = tx[0] == 0x10 ? tx[2] : tx[5];

	(void)tx_len;
	b->xfers++;
	if (__atomic_load_n(&b->delay_ms, __ATOMIC_RELAXED))
		sleep_ms(__atomic_load_n(&b->delay_ms, __ATOMIC_RELAXED));
	if ((c & 0x0f) == 0x0 || (c & 0x0f) == 0x3)
		b->writes++;
	if (flags & NMBUS_XFER_NO_REPLY) {
		b->no_reply++;
		*rx_len = 0;
		return NMBUS_STATUS_NONE;
	}
	if (a == 50) {
		*rx_len = 0;
		return NMBUS_STATUS_TIMEOUT;
	}
	if (a == 51) {
		memcpy(rx, BYTES(0x68, 0x1f, 0x13), 3);
		*rx_len = 3;
		return NMBUS_STATUS_GARBLED;
	}
	if ((c & 0x0f) == 0xb) {
		*rx_len = rsp_ud(rx, a);
		return NMBUS_STATUS_FRAME;
	}
	rx[0] = 0xe5;
	*rx_len = 1;
	return NMBUS_STATUS_ACK;
}

static const struct nmbus_dev_ops bus_ops = { .xfer = bus_xfer };

/* ---- frames built by hand ----------------------------------------- */

static size_t short_frame(uint8_t *f, uint8_t c, uint8_t a)
{
	f[0] = 0x10;
	f[1] = c;
	f[2] = a;
	f[3] = (uint8_t)(c + a);
	f[4] = 0x16;
	return 5;
}

static size_t long_frame(uint8_t *f, uint8_t c, uint8_t a, uint8_t ci,
			 const uint8_t *data, size_t n)
{
	uint8_t cs = (uint8_t)(c + a + ci);

	f[0] = 0x68;
	f[1] = f[2] = (uint8_t)(n + 3);
	f[3] = 0x68;
	f[4] = c;
	f[5] = a;
	f[6] = ci;
	if (n)
		memcpy(f + 7, data, n);
	for (size_t i = 0; i < n; i++)
		cs += data[i];
	f[7 + n] = cs;
	f[8 + n] = 0x16;
	return n + 9;
}

static const uint8_t sel_data[8] = { 0x78, 0x56, 0x34, 0x12,
				     0xff, 0xff, 0xff, 0xff };

/* ---- pure parts ----------------------------------------------------- */

TEST(listen_addresses_are_parsed)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	ASSERT_EQ(0, tcpd_parse_listen("127.0.0.1:10001", &ss, &len));
	EXPECT_EQ(AF_INET, s4->sin_family);
	EXPECT_EQ(10001, ntohs(s4->sin_port));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), s4->sin_addr.s_addr);
	ASSERT_EQ(0, tcpd_parse_listen(":4001", &ss, &len));
	EXPECT_EQ(htonl(INADDR_ANY), s4->sin_addr.s_addr);
	EXPECT_EQ(4001, ntohs(s4->sin_port));
	ASSERT_EQ(0, tcpd_parse_listen("[::1]:502", &ss, &len));
	EXPECT_EQ(AF_INET6, s6->sin6_family);
	EXPECT_EQ(502, ntohs(s6->sin6_port));
	EXPECT_EQ(sizeof(*s6), len);
	ASSERT_EQ(0, tcpd_parse_listen("[::]:0", &ss, &len));

	EXPECT_EQ(-1, tcpd_parse_listen("127.0.0.1", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("::1:502", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("[::1]502", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("[127.0.0.1]:502", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("127.0.0.1:65536", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("127.0.0.1:", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("127.0.0.1:-1", &ss, &len));
	EXPECT_EQ(-1, tcpd_parse_listen("localhost:10001", &ss, &len));
}

static struct sockaddr_storage v4(const char *s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	s4->sin_family = AF_INET;
	inet_pton(AF_INET, s, &s4->sin_addr);
	return ss;
}

static struct sockaddr_storage v6(const char *s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, s, &s6->sin6_addr);
	return ss;
}

#define ALLOWED(c, ss) ({ struct sockaddr_storage _s = (ss); \
	tcpd_allowed((c), (struct sockaddr *)&_s); })

TEST(networks_are_parsed_and_matched)
{
	struct tcpd_conf c;
	struct tcpd_net n;

	tcpd_conf_init(&c);
	ASSERT_EQ(0, tcpd_parse_net("192.0.2.0/24", &c.allow[c.n_allow++]));
	ASSERT_EQ(0, tcpd_parse_net("10.0.0.0/7", &c.allow[c.n_allow++]));
	ASSERT_EQ(0, tcpd_parse_net("198.51.100.7", &c.allow[c.n_allow++]));
	ASSERT_EQ(0, tcpd_parse_net("2001:db8::/32", &c.allow[c.n_allow++]));
	EXPECT_EQ(32, c.allow[2].prefix);

	EXPECT_TRUE(ALLOWED(&c, v4("192.0.2.77")));
	EXPECT_FALSE(ALLOWED(&c, v4("192.0.3.1")));
	EXPECT_TRUE(ALLOWED(&c, v4("11.255.0.1")));
	EXPECT_FALSE(ALLOWED(&c, v4("12.0.0.1")));
	EXPECT_TRUE(ALLOWED(&c, v4("198.51.100.7")));
	EXPECT_FALSE(ALLOWED(&c, v4("198.51.100.8")));
	EXPECT_TRUE(ALLOWED(&c, v6("2001:db8:1::5")));
	EXPECT_FALSE(ALLOWED(&c, v6("2001:db9::5")));
	/* An IPv4 client of an IPv6 socket is matched as IPv4. */
	EXPECT_TRUE(ALLOWED(&c, v6("::ffff:192.0.2.1")));
	EXPECT_FALSE(ALLOWED(&c, v6("::ffff:192.0.3.1")));
	/* Given networks replace the default: no loopback. */
	EXPECT_FALSE(ALLOWED(&c, v4("127.0.0.1")));

	ASSERT_EQ(0, tcpd_parse_net("0.0.0.0/0", &n));
	c.allow[0] = n;
	c.n_allow = 1;
	EXPECT_TRUE(ALLOWED(&c, v4("203.0.113.9")));
	EXPECT_FALSE(ALLOWED(&c, v6("2001:db8::1")));

	EXPECT_EQ(-1, tcpd_parse_net("192.0.2.0/33", &n));
	EXPECT_EQ(-1, tcpd_parse_net("192.0.2.0/", &n));
	EXPECT_EQ(-1, tcpd_parse_net("192.0.2.0/x", &n));
	EXPECT_EQ(-1, tcpd_parse_net("192.0.2/24", &n));
	EXPECT_EQ(-1, tcpd_parse_net("::1/129", &n));
	EXPECT_EQ(-1, tcpd_parse_net("/8", &n));
	EXPECT_EQ(-1, tcpd_parse_net("example.net", &n));
}

TEST(the_default_allows_loopback_only)
{
	struct tcpd_conf c;

	tcpd_conf_init(&c);
	EXPECT_TRUE(ALLOWED(&c, v4("127.0.0.1")));
	EXPECT_TRUE(ALLOWED(&c, v4("127.3.2.1")));
	EXPECT_TRUE(ALLOWED(&c, v6("::1")));
	EXPECT_TRUE(ALLOWED(&c, v6("::ffff:127.0.0.1")));
	EXPECT_FALSE(ALLOWED(&c, v4("192.168.1.2")));
	EXPECT_FALSE(ALLOWED(&c, v6("::2")));
	EXPECT_FALSE(ALLOWED(&c, v6("fe80::1")));
}

TEST(readonly_lets_only_reads_and_selections_through)
{
	uint8_t f[64];
	unsigned int flags;
	size_t n;

	n = short_frame(f, 0x7b, 5);
	EXPECT_EQ(TCPD_READ, tcpd_classify(f, n, &flags));
	EXPECT_EQ(0, flags);
	n = short_frame(f, 0x5a, 5);
	EXPECT_EQ(TCPD_READ, tcpd_classify(f, n, &flags));
	n = short_frame(f, 0x5b, 254);
	EXPECT_EQ(TCPD_READ, tcpd_classify(f, n, &flags));
	EXPECT_EQ(0, flags);
	n = long_frame(f, 0x53, 253, 0x52, sel_data, 8);
	EXPECT_EQ(TCPD_READ, tcpd_classify(f, n, &flags));
	n = long_frame(f, 0x73, 253, 0x56, sel_data, 8);
	EXPECT_EQ(TCPD_READ, tcpd_classify(f, n, &flags));

	n = short_frame(f, 0x40, 5);			/* SND_NKE */
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	n = short_frame(f, 0x40, 255);
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	EXPECT_EQ(NMBUS_XFER_NO_REPLY, flags);
	n = long_frame(f, 0x53, 5, 0x51, BYTES(0x01, 0x7a, 0x07), 3);
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	n = long_frame(f, 0x53, 5, 0x50, NULL, 0);	/* application reset */
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	n = long_frame(f, 0x53, 5, 0xbb, NULL, 0);	/* baud switch */
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	n = long_frame(f, 0x53, 253, 0x51, sel_data, 8); /* not a selection */
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));
	n = long_frame(f, 0x53, 7, 0x52, sel_data, 8);	/* not to 253 */
	EXPECT_EQ(TCPD_WRITE, tcpd_classify(f, n, &flags));

	EXPECT_EQ(TCPD_NOT_REQUEST, tcpd_classify(BYTES(0xe5), 1, &flags));
	n = rsp_ud(f, 5);				/* a slave's RSP_UD */
	EXPECT_EQ(TCPD_NOT_REQUEST, tcpd_classify(f, n, &flags));
	n = short_frame(f, 0x0b, 5);			/* no PRM bit */
	EXPECT_EQ(TCPD_NOT_REQUEST, tcpd_classify(f, n, &flags));
}

/* ---- the server in a thread ----------------------------------------- */

FIXTURE(srv) {
	struct bus bus;
	struct tcpd_conf conf;
	struct nmbus_dev *dev;
	struct tcpd *t;
	pthread_t thread;
	bool running;
	int stop[2];
	int ret;
	uint16_t port;
	const char *src;		/* clients' address, NULL: any */
	struct tcpd_stats stats;	/* after server_stop() */
};

FIXTURE_VARIANT(srv) {
	enum tcpd_mode mode;
};

/* Every test on a server of each mode; a test of a limit restarts it. */
FIXTURE_VARIANT_ADD(srv, transparent) {
	.mode = TCPD_TRANSPARENT,
};
FIXTURE_VARIANT_ADD(srv, readonly) {
	.mode = TCPD_READONLY,
};

static void *server_main(void *arg)
{
	FIXTURE_DATA(srv) *self = arg;

	self->ret = tcpd_run(self->t, self->stop[0]);
	return NULL;
}

/* Listen on a free loopback port and serve from a thread. */
static void server_start(struct __test_metadata *_metadata,
			 FIXTURE_DATA(srv) *self, enum tcpd_mode mode,
			 unsigned int max_clients, unsigned int idle_s,
			 const char *allow)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int lfd;

	tcpd_conf_init(&self->conf);
	ASSERT_EQ(0, tcpd_parse_listen("127.0.0.1:0", &self->conf.listen,
				       &self->conf.listen_len));
	self->conf.mode = mode;
	self->conf.max_clients = max_clients;
	self->conf.idle_timeout_s = idle_s;
	self->conf.frame_timeout_ms = 300;
	self->src = allow ? "127.0.0.2" : NULL;
	if (allow)
		ASSERT_EQ(0, tcpd_parse_net(allow,
					    &self->conf.allow[self->conf.n_allow++]));
	lfd = tcpd_listen(&self->conf);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&a, &len));
	self->port = ntohs(a.sin_port);
	self->t = tcpd_new(&self->conf, self->dev, lfd);
	ASSERT_NE(NULL, self->t);
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, server_main, self));
	self->running = true;
}

FIXTURE_SETUP(srv)
{
	memset(&self->bus, 0, sizeof(self->bus));
	ASSERT_EQ(0, nmbus_dev_new_ops(&bus_ops, &self->bus, &self->dev));
	ASSERT_EQ(0, pipe(self->stop));
	server_start(_metadata, self, variant->mode, 8, 0, NULL);
}

static void server_stop(FIXTURE_DATA(srv) *self)
{
	if (!self->running)
		return;
	if (write(self->stop[1], "x", 1) != 1)
		abort();
	pthread_join(self->thread, NULL);
	self->running = false;
	self->stats = *tcpd_get_stats(self->t);
}

/* The same bus, a server with other limits. */
static void server_restart(struct __test_metadata *_metadata,
			   FIXTURE_DATA(srv) *self, enum tcpd_mode mode,
			   unsigned int max_clients, unsigned int idle_s,
			   const char *allow)
{
	char x;

	server_stop(self);
	tcpd_free(self->t);
	self->t = NULL;
	ASSERT_EQ(1, read(self->stop[0], &x, 1));
	server_start(_metadata, self, mode, max_clients, idle_s, allow);
}

FIXTURE_TEARDOWN(srv)
{
	server_stop(self);
	tcpd_free(self->t);
	nmbus_dev_close(self->dev);
	close(self->stop[0]);
	close(self->stop[1]);
}

/* A client from @src (NULL: the kernel's choice). */
static int client_from(FIXTURE_DATA(srv) *self, const char *src)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			goto fail;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(self->port);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int client(FIXTURE_DATA(srv) *self)
{
	return client_from(self, self->src);
}

static int send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * Read what arrives within @ms, until @want bytes (0: all until the
 * time is up); the count, or -1 at end of file with nothing read.
 */
static int recv_within(int fd, uint8_t *buf, size_t size, size_t want,
		       int ms)
{
	long long end = now_ms() + ms;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while ((!want || got < want) && got < size && now_ms() < end) {
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recv(fd, buf + got, size - got, 0);
		if (n <= 0)
			return got ? (int)got : -1;
		got += (size_t)n;
	}
	return (int)got;
}

/* The reply to REQ_UD2 to @a: a long frame of 21 bytes naming @a. */
#define RSP_LEN	21
static bool is_rsp_ud(const uint8_t *f, int n, uint8_t a)
{
	return n >= RSP_LEN && f[0] == 0x68 && f[4] == 0x08 && f[5] == a &&
	       f[RSP_LEN - 1] == 0x16;
}

static int req_ud2(int fd, uint8_t a)
{
	uint8_t f[5];

	short_frame(f, 0x7b, a);
	return send_all(fd, f, sizeof(f));
}

TEST_F(srv, a_request_gets_its_reply)
{
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, req_ud2(fd, 5));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_EQ(RSP_LEN, n);
	EXPECT_TRUE(is_rsp_ud(rx, n, 5));
	close(fd);
	server_stop(self);
	EXPECT_EQ(0, self->ret);
	EXPECT_EQ(1, self->bus.xfers);
	EXPECT_EQ(1, self->stats.replies);
	EXPECT_EQ(1, self->stats.accepted);
}

TEST_F(srv, frames_in_one_write_get_one_reply_each_in_order)
{
	uint8_t tx[15], rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	short_frame(tx, 0x7b, 1);
	short_frame(tx + 5, 0x5b, 2);
	short_frame(tx + 10, 0x7b, 3);
	ASSERT_EQ(0, send_all(fd, tx, sizeof(tx)));
	n = recv_within(fd, rx, sizeof(rx), 3 * RSP_LEN, 2000);
	ASSERT_EQ(3 * RSP_LEN, n);
	EXPECT_TRUE(is_rsp_ud(rx, n, 1));
	EXPECT_TRUE(is_rsp_ud(rx + RSP_LEN, n - RSP_LEN, 2));
	EXPECT_TRUE(is_rsp_ud(rx + 2 * RSP_LEN, n - 2 * RSP_LEN, 3));
	close(fd);
}

TEST_F(srv, a_frame_split_across_writes_is_put_together)
{
	uint8_t tx[32], rx[512];
	int fd = client(self), n;
	size_t len;

	ASSERT_LE(0, fd);
	len = long_frame(tx, 0x73, 253, 0x52, sel_data, 8);
	for (size_t i = 0; i < len; i++) {
		ASSERT_EQ(0, send_all(fd, tx + i, 1));
		sleep_ms(2);
	}
	n = recv_within(fd, rx, sizeof(rx), 1, 2000);
	EXPECT_EQ(1, n);
	EXPECT_EQ(0xe5, rx[0]);
	close(fd);
}

TEST_F(srv, garbage_before_a_frame_is_skipped)
{
	static const uint8_t junk[] = { 0x00, 0xff, 0x16, 0x10, 0x10, 0x77,
					0x68, 0x05, 0x06, 0x68, 0x42 };
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_all(fd, junk, sizeof(junk)));
	ASSERT_EQ(0, req_ud2(fd, 7));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_EQ(RSP_LEN, n);
	EXPECT_TRUE(is_rsp_ud(rx, n, 7));
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->bus.xfers);
	EXPECT_LE(sizeof(junk), self->stats.noise_bytes);
}

TEST_F(srv, a_half_frame_is_dropped_after_the_frame_timeout)
{
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_all(fd, BYTES(0x68, 0x20, 0x20, 0x68, 0x53), 5));
	/* Nothing comes back, and the bus is not used. */
	EXPECT_EQ(0, recv_within(fd, rx, sizeof(rx), 0, 500));
	ASSERT_EQ(0, req_ud2(fd, 9));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_EQ(RSP_LEN, n);
	EXPECT_TRUE(is_rsp_ud(rx, n, 9));
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->bus.xfers);
	EXPECT_EQ(1, self->stats.partial);
}

TEST_F(srv, a_half_frame_at_the_end_of_a_connection_is_dropped)
{
	int fd = client(self);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_all(fd, BYTES(0x10, 0x7b), 2));
	sleep_ms(50);
	close(fd);
	sleep_ms(100);
	server_stop(self);
	EXPECT_EQ(0, self->bus.xfers);
	EXPECT_EQ(1, self->stats.partial);
}

TEST_F(srv, a_meter_that_does_not_answer_gets_nothing_back)
{
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, req_ud2(fd, 50));
	EXPECT_EQ(0, recv_within(fd, rx, sizeof(rx), 0, 300));
	ASSERT_EQ(0, req_ud2(fd, 4));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_EQ(RSP_LEN, n);
	EXPECT_TRUE(is_rsp_ud(rx, n, 4));
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->stats.timeouts);
}

TEST_F(srv, a_garbled_window_comes_back_raw)
{
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, req_ud2(fd, 51));
	n = recv_within(fd, rx, sizeof(rx), 0, 300);
	ASSERT_EQ(3, n);
	EXPECT_EQ(0, memcmp(rx, BYTES(0x68, 0x1f, 0x13), 3));
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->stats.garbled);
}

TEST_F(srv, a_broadcast_runs_without_waiting_for_a_reply)
{
	uint8_t tx[5], rx[512];
	int fd = client(self);

	ASSERT_LE(0, fd);
	short_frame(tx, 0x40, 255);
	ASSERT_EQ(0, send_all(fd, tx, sizeof(tx)));
	EXPECT_EQ(0, recv_within(fd, rx, sizeof(rx), 0, 300));
	close(fd);
	server_stop(self);
	if (variant->mode == TCPD_READONLY) {
		EXPECT_EQ(0, self->bus.xfers);
		EXPECT_EQ(1, self->stats.refused);
	} else {
		EXPECT_EQ(1, self->bus.no_reply);
	}
}

TEST_F(srv, readonly_answers_nothing_to_a_write)
{
	uint8_t tx[64], rx[512];
	int fd = client(self), n;
	size_t len;

	ASSERT_LE(0, fd);
	len = long_frame(tx, 0x53, 5, 0x51, BYTES(0x01, 0x7a, 0x07), 3);
	len += short_frame(tx + len, 0x40, 5);
	len += long_frame(tx + len, 0x53, 253, 0x52, sel_data, 8);
	ASSERT_EQ(0, send_all(fd, tx, len));
	ASSERT_EQ(0, req_ud2(fd, 6));
	n = recv_within(fd, rx, sizeof(rx), 0, 400);
	close(fd);
	server_stop(self);
	if (variant->mode == TCPD_READONLY) {
		/* The selection's E5 and the reply, nothing for the rest. */
		ASSERT_EQ(1 + RSP_LEN, n);
		EXPECT_EQ(0xe5, rx[0]);
		EXPECT_TRUE(is_rsp_ud(rx + 1, n - 1, 6));
		EXPECT_EQ(2, self->bus.xfers);
		EXPECT_EQ(0, self->bus.writes - 1);	/* the selection */
		EXPECT_EQ(2, self->stats.refused);
	} else {
		ASSERT_EQ(3 + RSP_LEN, n);
		EXPECT_EQ(4, self->bus.xfers);
		EXPECT_EQ(0, self->stats.refused);
	}
}

TEST_F(srv, frames_that_are_no_requests_are_dropped)
{
	uint8_t tx[64], rx[512];
	int fd = client(self), n;
	size_t len;

	ASSERT_LE(0, fd);
	tx[0] = 0xe5;
	len = 1 + rsp_ud(tx + 1, 3);
	len += short_frame(tx + len, 0x7b, 3);
	ASSERT_EQ(0, send_all(fd, tx, len));
	n = recv_within(fd, rx, sizeof(rx), 0, 300);
	EXPECT_EQ(RSP_LEN, n);
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->bus.xfers);
	EXPECT_EQ(2, self->stats.not_requests);
}

/*
 * A client trickling a frame byte by byte, and one that sent half a
 * frame and stopped, hold up nobody: the others' exchanges run.
 */
TEST_F(srv, a_slowloris_does_not_hold_up_the_others)
{
	uint8_t tx[5], rx[512];
	int slow, stuck, fd, n;
	long long t0;

	slow = client(self);
	stuck = client(self);
	fd = client(self);
	ASSERT_LE(0, slow);
	ASSERT_LE(0, stuck);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, send_all(stuck, BYTES(0x68, 0xff, 0xff, 0x68), 4));
	short_frame(tx, 0x7b, 8);
	ASSERT_EQ(0, send_all(slow, tx, 1));
	for (int i = 0; i < 5; i++) {
		t0 = now_ms();
		ASSERT_EQ(0, req_ud2(fd, (uint8_t)(10 + i)));
		n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
		EXPECT_EQ(RSP_LEN, n);
		EXPECT_TRUE(is_rsp_ud(rx, n, (uint8_t)(10 + i)));
		EXPECT_GT(1000, now_ms() - t0);
		if (i < 4)
			ASSERT_EQ(0, send_all(slow, tx + 1 + i, 1));
		sleep_ms(10);
	}
	/* The slow frame completed within its timeout and was answered. */
	n = recv_within(slow, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_TRUE(is_rsp_ud(rx, n, 8));
	/* The stuck one's frame timeout expires. */
	sleep_ms(500);
	close(slow);
	close(stuck);
	close(fd);
	server_stop(self);
	EXPECT_EQ(6, self->bus.xfers);
	EXPECT_LE(1, self->stats.partial);
}

/* Several clients at once: each gets its own meter's reply. */
TEST_F(srv, concurrent_clients_get_their_own_replies)
{
	int fd[2] = { client(self), client(self) };
	uint8_t rx[2][512];
	int n[2];

	ASSERT_LE(0, fd[0]);
	ASSERT_LE(0, fd[1]);
	for (int round = 0; round < 20; round++) {
		ASSERT_EQ(0, req_ud2(fd[0], 21));
		ASSERT_EQ(0, req_ud2(fd[1], 22));
		n[0] = recv_within(fd[0], rx[0], sizeof(rx[0]), RSP_LEN, 2000);
		n[1] = recv_within(fd[1], rx[1], sizeof(rx[1]), RSP_LEN, 2000);
		ASSERT_TRUE(is_rsp_ud(rx[0], n[0], 21));
		ASSERT_TRUE(is_rsp_ud(rx[1], n[1], 22));
	}
	close(fd[0]);
	close(fd[1]);
}

TEST_F(srv, one_client_too_many_is_closed_at_once)
{
	int fd[3];
	uint8_t rx[512];
	int n;

	server_restart(_metadata, self, variant->mode, 2, 0, NULL);
	fd[0] = client(self);
	fd[1] = client(self);
	ASSERT_LE(0, fd[0]);
	ASSERT_LE(0, fd[1]);
	/* Both are served before the third comes. */
	ASSERT_EQ(0, req_ud2(fd[1], 2));
	ASSERT_EQ(RSP_LEN, recv_within(fd[1], rx, sizeof(rx), RSP_LEN, 2000));
	fd[2] = client(self);
	ASSERT_LE(0, fd[2]);
	EXPECT_EQ(-1, recv_within(fd[2], rx, sizeof(rx), 0, 1000));
	ASSERT_EQ(0, req_ud2(fd[0], 1));
	n = recv_within(fd[0], rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_TRUE(is_rsp_ud(rx, n, 1));
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	server_stop(self);
	EXPECT_EQ(1, self->stats.too_many);
	EXPECT_EQ(2, self->stats.accepted);
}

TEST_F(srv, a_source_outside_the_allow_list_is_closed_at_once)
{
	uint8_t rx[512];
	int fd, n;

	server_restart(_metadata, self, variant->mode, 8, 0, "127.0.0.2/32");
	fd = client_from(self, "127.0.0.1");
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, recv_within(fd, rx, sizeof(rx), 0, 1000));
	close(fd);
	fd = client_from(self, "127.0.0.2");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, req_ud2(fd, 3));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_TRUE(is_rsp_ud(rx, n, 3));
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->stats.denied);
	EXPECT_EQ(1, self->stats.accepted);
}

TEST_F(srv, an_idle_client_is_closed)
{
	uint8_t rx[512];
	long long t0;
	int fd;

	server_restart(_metadata, self, variant->mode, 8, 1, NULL);
	t0 = now_ms();
	fd = client(self);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, recv_within(fd, rx, sizeof(rx), 0, 3000));
	EXPECT_LE(900, now_ms() - t0);
	EXPECT_GT(2500, now_ms() - t0);
	close(fd);
	server_stop(self);
	EXPECT_EQ(1, self->stats.idle_closed);
}

/* A client gone before its reply was written holds up nobody. */
TEST_F(srv, a_client_gone_before_its_reply_costs_nothing)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint8_t rx[512];
	int gone, fd, n;

	__atomic_store_n(&self->bus.delay_ms, 100, __ATOMIC_RELAXED);
	gone = client(self);
	ASSERT_LE(0, gone);
	ASSERT_EQ(0, req_ud2(gone, 13));
	sleep_ms(30);
	/* A reset, not a FIN: the reply's write fails. */
	ASSERT_EQ(0, setsockopt(gone, SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)));
	close(gone);
	fd = client(self);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, req_ud2(fd, 14));
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 2000);
	EXPECT_TRUE(is_rsp_ud(rx, n, 14));
	close(fd);
	sleep_ms(50);
	server_stop(self);
	EXPECT_EQ(2, self->bus.xfers);
	EXPECT_EQ(2, self->stats.accepted);
	EXPECT_EQ(0, tcpd_clients(self->t));
}

/* Stopped during an exchange: that exchange's reply is still written. */
TEST_F(srv, a_stop_waits_for_the_exchange_in_flight)
{
	uint8_t rx[512];
	int fd = client(self), n;

	ASSERT_LE(0, fd);
	__atomic_store_n(&self->bus.delay_ms, 300, __ATOMIC_RELAXED);
	ASSERT_EQ(0, req_ud2(fd, 12));
	sleep_ms(100);
	server_stop(self);
	n = recv_within(fd, rx, sizeof(rx), RSP_LEN, 1000);
	EXPECT_TRUE(is_rsp_ud(rx, n, 12));
	close(fd);
	EXPECT_EQ(0, self->ret);
}

TEST_HARNESS_MAIN
