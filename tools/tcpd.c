// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-tcpd: the server. One thread, one poll() loop, non-blocking
 * sockets; each client has a frame delimiter of its own (the kernel's,
 * driver/mbus_frame.c) and bounded buffers, so a slow or hostile client
 * costs the others nothing but its share of the bus.
 *
 * One exchange at a time: a client's frame runs as one nmbus_dev_xfer()
 * (MBUS_IOC_XFER), which blocks the loop for the response window and
 * its retries, exactly as the bus itself is busy for that time. Clients
 * with a frame waiting take turns. A client's next frame is not run
 * before its last reply has been written: one that does not read stops
 * only itself, and its idle timeout ends it.
 *
 * The kernel serialises these exchanges with those of every other open
 * file of the port (a local poller such as mbus-gatewayd), and it sees
 * the selections they contain, so the poller's next addressed exchange
 * selects its own meter again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nmbus.h>

#include "mbus_frame.h"
#include "tcpd.h"

/* Bytes read from a client at a time; all are parsed before the next. */
#define CLIENT_IN_SIZE		512

/* Control field: primary station bit, function codes (EN 13757-2). */
#define C_PRM			0x40
#define C_FUNC(c)		((c) & 0x0f)
#define FUNC_SND_NKE		0x0
#define FUNC_SND_UD		0x3
#define FUNC_REQ_SKE		0x9
#define FUNC_REQ_UD1		0xa
#define FUNC_REQ_UD2		0xb
#define ADDR_SELECT		253
#define ADDR_BROADCAST		255
#define CI_SELECT		0x52	/* selection, mode 1 */
#define CI_SELECT_MODE2		0x56	/* selection, mode 2 */

struct client {
	int fd;
	char name[64];			/* ADDR:PORT, for messages */
	struct mbus_parser parser;
	/* received, not yet given to the parser */
	uint8_t in[CLIENT_IN_SIZE];
	size_t in_len, in_pos;
	/* the frame waiting for its exchange */
	uint8_t req[MBUS_FRAME_MAX];
	size_t req_len;
	bool pending;
	/* the reply not yet written */
	uint8_t out[MBUS_FRAME_MAX];
	size_t out_len, out_pos;
	long long last_ms;		/* last byte read or written */
	long long part_ms;		/* first byte of a half frame, or 0 */
	bool eof;			/* the client closed its side */
	bool dead;			/* a write failed */
	bool refusal_logged;
	unsigned long exchanges;
};

struct tcpd {
	struct tcpd_conf conf;
	struct nmbus_dev *dev;
	int lfd;
	struct client *clients[TCPD_CLIENTS_MAX];
	unsigned int n;
	unsigned int turn;		/* round robin of the exchanges */
	bool gone;			/* the port went away */
	struct tcpd_stats stats;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logmsg(const struct tcpd *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logmsg(const struct tcpd *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->conf.log)
		return;
	fprintf(t->conf.log, "%s: ", t->conf.prog ? t->conf.prog : "mbus-tcpd");
	va_start(ap, fmt);
	vfprintf(t->conf.log, fmt, ap);
	va_end(ap);
	fputc('\n', t->conf.log);
	fflush(t->conf.log);
}

void tcpd_conf_init(struct tcpd_conf *c)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&c->listen;

	memset(c, 0, sizeof(*c));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(TCPD_DEFAULT_PORT);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->listen_len = sizeof(*s4);
	c->max_clients = 8;
	c->idle_timeout_s = 300;
	c->frame_timeout_ms = 1000;
	c->mode = TCPD_TRANSPARENT;
}

/* ---- parsing ------------------------------------------------------ */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int tcpd_parse_listen(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *end, *port_s;
	bool bracket = *s == '[';
	uint16_t port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (bracket) {
		end = strchr(++s, ']');
		if (!end || end[1] != ':')
			return -1;
		port_s = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end)
			return -1;
		port_s = end + 1;
	}
	n = (size_t)(end - s);
	if (n >= sizeof(host) || parse_port(port_s, &port))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (!bracket && strchr(host, ':'))
		return -1;		/* an IPv6 address needs [] */
	if (!bracket && !n)
		strcpy(host, "0.0.0.0");	/* ":PORT" */
	if (!bracket && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (bracket && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int tcpd_parse_net(const char *s, struct tcpd_net *net)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	char *end;

	memset(net, 0, sizeof(*net));
	if (!n || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	bits = net->family == AF_INET ? 32 : 128;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		net->prefix = (unsigned int)strtoul(slash + 1, &end, 10);
		if (errno || *end || net->prefix > bits)
			return -1;
	} else {
		net->prefix = (unsigned int)bits;
	}
	return 0;
}

/* The leading @bits of @a and @b are equal. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b,
			 unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	if (memcmp(a, b, whole))
		return false;
	return !rest || !((a[whole] ^ b[whole]) & mask);
}

static bool net_match(const struct tcpd_net *net, int family,
		      const uint8_t *addr)
{
	return net->family == family && prefix_equal(net->addr, addr,
						     net->prefix);
}

bool tcpd_allowed(const struct tcpd_conf *c, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const struct tcpd_net loopback[] = {
		{ .family = AF_INET, .addr = { 127 }, .prefix = 8 },
		{ .family = AF_INET6, .addr = { [15] = 1 }, .prefix = 128 },
	};
	const struct tcpd_net *nets = c->n_allow ? c->allow : loopback;
	unsigned int n = c->n_allow ? c->n_allow : 2;
	const uint8_t *addr;
	int family = sa->sa_family;

	if (family == AF_INET) {
		addr = (const uint8_t *)
		       &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (!memcmp(addr, mapped, sizeof(mapped))) {
			family = AF_INET;
			addr += sizeof(mapped);
		}
	} else {
		return false;
	}
	for (unsigned int i = 0; i < n; i++)
		if (net_match(&nets[i], family, addr))
			return true;
	return false;
}

enum tcpd_class tcpd_classify(const uint8_t *f, size_t len,
			      unsigned int *flags)
{
	uint8_t c, a, ci = 0;
	bool long_frame = f[0] == 0x68;

	*flags = 0;
	if (len == MBUS_SHORT_LEN && f[0] == 0x10) {
		c = f[1];
		a = f[2];
	} else if (long_frame && len >= MBUS_LONG_OVERHEAD + MBUS_LONG_L_MIN) {
		c = f[4];
		a = f[5];
		ci = f[6];
	} else {
		return TCPD_NOT_REQUEST;	/* E5 */
	}
	if (!(c & C_PRM))
		return TCPD_NOT_REQUEST;	/* a slave's RSP_UD */
	if (a == ADDR_BROADCAST)
		*flags = NMBUS_XFER_NO_REPLY;
	switch (C_FUNC(c)) {
	case FUNC_REQ_UD1:
	case FUNC_REQ_UD2:
	case FUNC_REQ_SKE:
		return long_frame ? TCPD_WRITE : TCPD_READ;
	case FUNC_SND_UD:
		/* A selection changes no meter and is needed to read one. */
		if (long_frame && a == ADDR_SELECT &&
		    (ci == CI_SELECT || ci == CI_SELECT_MODE2))
			return TCPD_READ;
		return TCPD_WRITE;
	default:
		return TCPD_WRITE;		/* SND_NKE and the rest */
	}
}

/* ---- connections -------------------------------------------------- */

static void addr_name(const struct sockaddr_storage *ss, char *buf,
		      size_t size)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, host,
			  sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s6->sin6_port));
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	}
}

int tcpd_listen(const struct tcpd_conf *c)
{
	int fd, one = 1, zero = 0;

	fd = socket(c->listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]:PORT serves IPv4 clients too (matched as IPv4). */
	if (c->listen.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&c->listen, c->listen_len) ||
	    listen(fd, 16)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct tcpd *tcpd_new(const struct tcpd_conf *c, struct nmbus_dev *dev,
		      int lfd)
{
	struct tcpd *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->conf = *c;
	if (!t->conf.max_clients || t->conf.max_clients > TCPD_CLIENTS_MAX)
		t->conf.max_clients = TCPD_CLIENTS_MAX;
	t->dev = dev;
	t->lfd = lfd;
	return t;
}

static void client_close(struct tcpd *t, unsigned int i, const char *why)
{
	struct client *cl = t->clients[i];

	logmsg(t, "%s: %s after %lu exchanges", cl->name, why, cl->exchanges);
	close(cl->fd);
	free(cl);
	t->clients[i] = t->clients[--t->n];
	t->clients[t->n] = NULL;
}

static void accept_all(struct tcpd *t, long long now)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct client *cl;
	char name[64];
	int fd, one = 1;

	while ((fd = accept4(t->lfd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		addr_name(&ss, name, sizeof(name));
		len = sizeof(ss);
		if (!tcpd_allowed(&t->conf, (struct sockaddr *)&ss)) {
			t->stats.denied++;
			logmsg(t, "%s: not in the allow-list, closed", name);
			close(fd);
			continue;
		}
		cl = t->n < t->conf.max_clients ? calloc(1, sizeof(*cl)) : NULL;
		if (!cl) {
			t->stats.too_many++;
			logmsg(t, "%s: %u clients already, closed", name, t->n);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cl->fd = fd;
		memcpy(cl->name, name, sizeof(name));
		mbus_parser_init(&cl->parser);
		cl->last_ms = now;
		t->clients[t->n++] = cl;
		t->stats.accepted++;
		logmsg(t, "%s: connected", name);
	}
}

/*
 * Feed the client's received bytes to its delimiter until a frame is
 * found (then @cl->pending) or they are used up. @flush: the frame
 * timeout expired, the half frame is dead.
 */
static void client_parse(struct tcpd *t, struct client *cl, bool flush,
			 long long now)
{
	struct mbus_rx_event ev;
	unsigned int stalled = 0;
	bool force = false;

	while (!cl->pending) {
		switch (mbus_parser_step(&cl->parser, flush || force, &ev)) {
		case MBUS_EV_FRAME:
			memcpy(cl->req, ev.data, ev.len);
			cl->req_len = ev.len;
			cl->pending = true;
			break;
		case MBUS_EV_NEED_MORE:
			if (cl->in_pos == cl->in_len)
				goto out;
			force = !mbus_parser_push(&cl->parser,
						  cl->in[cl->in_pos],
						  MBUS_RX_NORMAL);
			if (!force)
				cl->in_pos++;
			break;
		case MBUS_EV_STALLED:
			/* Its bytes are examined again: one count for all. */
			stalled += ev.len;
			break;
		default:
			t->stats.noise_bytes += ev.len;
			break;
		}
	}
out:
	if (stalled) {
		t->stats.partial++;
		logmsg(t, "%s: half frame dropped (%u bytes)", cl->name,
		       stalled);
	}
	if (!cl->pending && mbus_parser_pending(&cl->parser)) {
		if (!cl->part_ms)
			cl->part_ms = now;
	} else {
		cl->part_ms = 0;
	}
}

/* Read what the client sent; false if it must be closed. */
static bool client_read(struct tcpd *t, struct client *cl, long long now)
{
	ssize_t n = read(cl->fd, cl->in, sizeof(cl->in));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!n) {
		cl->eof = true;
		return true;
	}
	cl->in_len = (size_t)n;
	cl->in_pos = 0;
	cl->last_ms = now;
	client_parse(t, cl, false, now);
	return true;
}

/* Write what is left of the reply; false if the client must be closed. */
static bool client_write(struct client *cl, long long now)
{
	while (cl->out_pos < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_pos,
				 cl->out_len - cl->out_pos, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		cl->out_pos += (size_t)n;
		cl->last_ms = now;
	}
	cl->out_len = cl->out_pos = 0;
	return true;
}

static void refuse(struct tcpd *t, struct client *cl)
{
	t->stats.refused++;
	if (cl->refusal_logged)
		return;
	cl->refusal_logged = true;
	logmsg(t, "%s: readonly: refused C=%02X%s", cl->name,
	       cl->req[0] == 0x10 ? cl->req[1] : cl->req[4],
	       " (further refusals to this client counted, not logged)");
}

/* Run the client's frame on the bus and queue the reply. */
static void client_exchange(struct tcpd *t, struct client *cl)
{
	uint8_t rx[MBUS_FRAME_MAX];
	size_t rx_len = 0;
	unsigned int flags;
	enum tcpd_class cls;
	int st;

	cl->pending = false;
	cls = tcpd_classify(cl->req, cl->req_len, &flags);
	if (cls == TCPD_NOT_REQUEST) {
		t->stats.not_requests++;
		return;
	}
	if (cls == TCPD_WRITE && t->conf.mode == TCPD_READONLY) {
		refuse(t, cl);
		return;
	}
	st = nmbus_dev_xfer(t->dev, cl->req, cl->req_len, flags, rx,
			    sizeof(rx), &rx_len);
	t->stats.exchanges++;
	cl->exchanges++;
	if (st < 0) {
		t->stats.errors++;
		t->gone = st == -ENODEV;
		logmsg(t, "%s: exchange failed: %s", cl->name, strerror(-st));
		return;
	}
	if (st == NMBUS_STATUS_TIMEOUT)
		t->stats.timeouts++;
	if (st == NMBUS_STATUS_GARBLED && rx_len)
		t->stats.garbled++;
	else if (st == NMBUS_STATUS_FRAME || st == NMBUS_STATUS_ACK)
		t->stats.replies++;
	else
		return;			/* timeout, break, broadcast: nothing */
	memcpy(cl->out, rx, rx_len);
	cl->out_len = rx_len;
	cl->out_pos = 0;
}

/* Whether the client has a frame that may run now. */
static bool client_ready(const struct client *cl)
{
	return cl->pending && !cl->out_len;
}

/* One exchange, of the next client in turn with a frame waiting. */
static void exchange_one(struct tcpd *t, long long now)
{
	for (unsigned int k = 0; k < t->n; k++) {
		unsigned int i = (t->turn + k) % t->n;
		struct client *cl = t->clients[i];

		if (!client_ready(cl))
			continue;
		t->turn = i + 1;
		client_exchange(t, cl);
		now = now_ms();
		if (!client_write(cl, now))
			cl->dead = true;
		if (!cl->out_len)
			client_parse(t, cl, false, now);
		return;
	}
}

/* poll() timeout: the nearest frame or idle deadline, 0 for work. */
static int next_timeout(const struct tcpd *t, long long now)
{
	long long next = -1, d;

	for (unsigned int i = 0; i < t->n; i++) {
		const struct client *cl = t->clients[i];

		if (client_ready(cl))
			return 0;
		if (cl->part_ms) {
			d = cl->part_ms + t->conf.frame_timeout_ms;
			next = next < 0 || d < next ? d : next;
		}
		if (t->conf.idle_timeout_s) {
			d = cl->last_ms + t->conf.idle_timeout_s * 1000LL;
			next = next < 0 || d < next ? d : next;
		}
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* Timers and the end of a client; false if it must be closed (@why). */
static bool client_check(struct tcpd *t, struct client *cl, long long now,
			 const char **why)
{
	if (cl->dead) {
		*why = "connection lost";
		return false;
	}
	if (cl->part_ms && now - cl->part_ms >= t->conf.frame_timeout_ms)
		client_parse(t, cl, true, now);
	if (t->conf.idle_timeout_s &&
	    now - cl->last_ms >= t->conf.idle_timeout_s * 1000LL) {
		t->stats.idle_closed++;
		*why = "idle, closed";
		return false;
	}
	if (cl->eof && !cl->pending && !cl->out_len) {
		if (mbus_parser_pending(&cl->parser)) {
			t->stats.partial++;
			logmsg(t, "%s: half frame dropped (%u bytes)",
			       cl->name, mbus_parser_pending(&cl->parser));
		}
		*why = "closed";
		return false;
	}
	return true;
}

/* The client's poll events: read only when its bytes are all parsed. */
static short client_events(const struct client *cl)
{
	short ev = 0;

	if (!cl->eof && !cl->pending && !cl->out_len &&
	    cl->in_pos == cl->in_len)
		ev |= POLLIN;
	if (cl->out_len)
		ev |= POLLOUT;
	return ev;
}

static void serve_clients(struct tcpd *t, const struct pollfd *pfd,
			  long long now)
{
	for (unsigned int i = t->n; i-- > 0;) {
		struct client *cl = t->clients[i];
		short rev = pfd[i].fd == cl->fd ? pfd[i].revents : 0;
		const char *why = NULL;
		bool ok = true;

		/* An error or hangup shows in the write that fails. */
		if (cl->out_len && (rev & (POLLOUT | POLLERR | POLLHUP)))
			ok = client_write(cl, now);
		if (ok && !cl->out_len && cl->in_pos == cl->in_len &&
		    !cl->pending && (rev & (POLLIN | POLLHUP | POLLERR)))
			ok = client_read(t, cl, now);
		if (ok && !cl->out_len && !cl->pending)
			client_parse(t, cl, false, now);
		if (!ok)
			why = "connection lost";
		else
			ok = client_check(t, cl, now, &why);
		if (!ok)
			client_close(t, i, why);
	}
}

int tcpd_run(struct tcpd *t, int stop_fd)
{
	struct pollfd pfd[TCPD_CLIENTS_MAX + 2];
	long long now;
	unsigned int i;

	while (!t->gone) {
		now = now_ms();
		for (i = 0; i < t->n; i++) {
			pfd[i].fd = t->clients[i]->fd;
			pfd[i].events = client_events(t->clients[i]);
			pfd[i].revents = 0;
		}
		pfd[i].fd = t->lfd;
		pfd[i].events = POLLIN;
		pfd[i + 1].fd = stop_fd;
		pfd[i + 1].events = POLLIN;
		pfd[i].revents = pfd[i + 1].revents = 0;
		if (poll(pfd, t->n + 2, next_timeout(t, now)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[i + 1].revents) {
			/* Replies not yet written get one more chance. */
			for (i = 0; i < t->n; i++)
				client_write(t->clients[i], now);
			return 0;
		}
		now = now_ms();
		serve_clients(t, pfd, now);
		if (pfd[i].revents & POLLIN)
			accept_all(t, now);
		exchange_one(t, now);
	}
	errno = ENODEV;
	return -1;
}

const struct tcpd_stats *tcpd_get_stats(const struct tcpd *t)
{
	return &t->stats;
}

unsigned int tcpd_clients(const struct tcpd *t)
{
	return t->n;
}

void tcpd_free(struct tcpd *t)
{
	if (!t)
		return;
	while (t->n)
		client_close(t, t->n - 1, "server stopped");
	if (t->lfd >= 0)
		close(t->lfd);
	free(t);
}
