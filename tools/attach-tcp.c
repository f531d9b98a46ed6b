// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-attach --tcp: relay between the master side of a pty, whose slave
 * N_MBUS is attached to, and an M-Bus converter on the network.
 *
 * What a pty can carry (tests/kselftest/ptyrelay.c checks it): bytes, and
 * the slave's speed through the master's tcgetattr(); in packet mode a
 * termios change is announced (TIOCPKT_IOCTL) while EXTPROC is set, which
 * N_MBUS clears on its first speed change, so the speed is also compared
 * before every request is forwarded. No parity, no framing errors, no
 * breaks: MBUS_IOC_SEND_BREAK fails with EOPNOTSUPP on a pty and nothing
 * reaches the master.
 *
 * While the converter is unreachable the slave is stopped (TCOOFF): the
 * pty takes no bytes and N_MBUS fails each exchange with EIO after a
 * second, rather than reporting meters that stay silent. Requests cannot
 * be queued for later: their replies would land in a later exchange's
 * window.
 *
 * The response window on a pty opens when the pty took the request (no
 * transmitter to drain), so the port's default timeouts are raised by the
 * time the converter takes to send a request and by the network's
 * latency, through the netlink family (MBUS_CMD_SET_PORT), raw, to stay
 * libc-only: files opened from then on start with them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/mbus.h>

#include "attach-tcp.h"
#include "ktypes.h"
#include "rfc2217.h"

/* Reconnecting: first pause, longest pause, and how long a connection
 * must last before the pause starts small again. */
#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		30000
#define BACKOFF_RESET_MS	5000

/* Time allowed for connect() and for the RFC 2217 negotiation. */
#define CONNECT_TIMEOUT_MS	5000
#define NEGOTIATE_TIMEOUT_MS	5000
/* How long a request waits for the converter to confirm a new speed. */
#define BAUD_ACK_TIMEOUT_MS	1000
/* The first attempt, before /dev/mbusN is printed. */
#define FIRST_ATTEMPT_MS	3000

/* Latency assumed until one was measured; the converter's own share. */
#define LATENCY_DEFAULT_MS	50
#define LATENCY_CONVERTER_MS	20
#define LATENCY_MAX_MS		5000

/*
 * The response timeout covers sending a request of this many bytes: the
 * secondary selection (17 bytes), the longest request of scans and reads.
 */
#define TX_ALLOWANCE_CHARS	17

/* EN 13757-2 bounds, as N_MBUS's defaults (driver/mbus_xfer.c, mbus.h). */
#define RESPONSE_BITS		330
#define RESPONSE_EXTRA_US	50000
#define CHAR_TIMEOUT_CHARS	3
#define CHAR_TIMEOUT_EXTRA_US	50000
#define BITS_PER_CHAR		11

/* NOTIFY-LINESTATE bits worth telling, and how often at most. */
#define LINESTATE_MASK	(CPO_LINE_OVERRUN | CPO_LINE_PARITY | \
			 CPO_LINE_FRAMING | CPO_LINE_BREAK)
#define LINESTATE_LOG_MS	10000

enum relay_state {
	ST_IDLE,	/* waiting before the next attempt */
	ST_CONNECTING,	/* connect() under way */
	ST_NEGOTIATE,	/* RFC 2217: waiting for DO COM-PORT-OPTION and
			 * the speed's confirmation */
	ST_UP,		/* relaying */
};

struct tcp_relay {
	const struct tcp_conf *conf;
	int master;		/* pty master, packet mode, non-blocking */
	int slave;		/* pty slave, N_MBUS attached */
	int index;		/* N of /dev/mbusN, -1: no netlink */
	int sig;		/* signalfd: SIGTERM, SIGINT, SIGHUP */
	int sock;		/* -1 unless CONNECTING, NEGOTIATE or UP */

	/* connection */
	enum relay_state state;
	long long deadline;	/* ms: retry, connect or negotiation timeout */
	long long t_start;	/* ms: connect() or WILL COM-PORT-OPTION */
	long long up_since;	/* ms, 0 if never up since the last loss */
	int backoff_ms;
	unsigned int attempt;	/* picks the address of several */
	bool stopped;		/* slave stopped with TCOOFF */
	bool told_down;		/* the loss was logged */
	unsigned long dropped;	/* N_MBUS bytes dropped while down */

	/* telnet and RFC 2217 */
	struct tn_rx rx;
	bool comport;		/* the server agreed to COM-PORT-OPTION */
	bool baud_acked;	/* the last SET-BAUDRATE was confirmed */
	uint8_t will[32];	/* options we offered (bitmap) */
	uint8_t do_[32];	/* options we asked for (bitmap) */
	uint8_t refused[32];	/* options we refused once (bitmap) */
	long long linestate_logged;

	/* line speed and timing */
	uint32_t baud;		/* the pty's speed: what N_MBUS uses */
	uint32_t conv_baud;	/* what the converter was told, 0: nothing */
	int rtt_ms;		/* longest round trip measured, -1: none */
	int applied_ms;		/* latency in the port's defaults, -1: none */
	uint32_t applied_baud;	/* speed the defaults were computed for */
	bool nl_warned;
};

/* ---- small helpers ------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3)))
static void relay_log(const struct tcp_relay *r, const char *fmt, ...)
{
	const struct tcp_conf *c = r->conf;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, strchr(c->host, ':') ? "%s: [%s]:%u: %s\n" :
		"%s: %s:%u: %s\n", c->prog, c->host, c->port, msg);
}

static bool bit_test(const uint8_t *map, uint8_t n)
{
	return map[n / 8] & (1u << (n % 8));
}

static void bit_set(uint8_t *map, uint8_t n, bool on)
{
	if (on)
		map[n / 8] |= 1u << (n % 8);
	else
		map[n / 8] &= ~(1u << (n % 8));
}

static uint32_t speed_to_baud(speed_t s)
{
	static const struct { speed_t s; uint32_t baud; } map[] = {
		{ B300, 300 }, { B600, 600 }, { B1200, 1200 },
		{ B2400, 2400 }, { B4800, 4800 }, { B9600, 9600 },
		{ B19200, 19200 }, { B38400, 38400 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].s == s)
			return map[i].baud;
	return 0;
}

/* The speed N_MBUS set on the pty, 0 if not one of the eight. */
static uint32_t pty_baud(const struct tcp_relay *r)
{
	struct termios t;

	if (tcgetattr(r->master, &t))
		return 0;
	return speed_to_baud(cfgetospeed(&t));
}

/* ---- parsing ------------------------------------------------------------ */

int tcp_parse_target(struct tcp_conf *c, const char *arg, char *err,
		     size_t err_size)
{
	const char *colon, *host = arg;
	size_t hlen;
	unsigned long port;
	char *end;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			goto bad;
		host = arg + 1;
		hlen = close - host;
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || strchr(arg, ':') != colon)
			goto bad;
		hlen = colon - arg;
	}
	if (!hlen || hlen >= sizeof(c->host))
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || !port || port > 65535)
		goto bad;
	memcpy(c->host, host, hlen);
	c->host[hlen] = '\0';
	c->port = port;
	return 0;
bad:
	snprintf(err, err_size,
		 "'%s' is not HOST:PORT (a port 1-65535; IPv6 as [ADDR]:PORT)",
		 arg);
	return -1;
}

int tcp_parse_latency(const char *s, int *ms)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v > LATENCY_MAX_MS)
		return -1;
	*ms = v;
	return 0;
}

/* ---- the pty ------------------------------------------------------------ */

int tcp_pty_open(const char *prog, char *path, size_t size)
{
	int m;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) || unlockpt(m) ||
	    ptsname_r(m, path, size)) {
		fprintf(stderr, "%s: cannot make a pty: %s\n", prog,
			strerror(errno));
		if (m >= 0)
			close(m);
		return -1;
	}
	return m;
}

/* Stop (TCOOFF) or restart (TCOON) N_MBUS's output into the pty. */
static void relay_flow(struct tcp_relay *r, bool stop)
{
	if (r->stopped == stop)
		return;
	if (tcflow(r->slave, stop ? TCOOFF : TCOON))
		relay_log(r, "cannot %s the port: %s", stop ? "stop" : "start",
			  strerror(errno));
	else
		r->stopped = stop;
}

/* ---- netlink: the port's default timeouts ------------------------------- */

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[64];
};

static void nl_put(struct nl_req *q, uint16_t type, const void *data,
		   uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)q +
					     NLMSG_ALIGN(q->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/*
 * Send @q and read the answer into @buf. Returns its length, or -errno
 * (the kernel's error of an NLMSG_ERROR).
 */
static int nl_talk(int fd, struct nl_req *q, char *buf, size_t size)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	ssize_t n;

	if (sendto(fd, q, q->nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	n = recv(fd, buf, size, 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(nh, (size_t)n))
		return -EPROTO;
	if (nh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(nh);

		return e->error;
	}
	return n;
}

static void nl_init(struct nl_req *q, uint16_t family, uint8_t cmd,
		    uint8_t version)
{
	memset(q, 0, sizeof(*q));
	q->nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	q->nh.nlmsg_type = family;
	q->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	q->nh.nlmsg_seq = 1;
	q->gh.cmd = cmd;
	q->gh.version = version;
}

/* The id of the generic netlink family "mbus"; 0 or -errno. */
static int nl_family(int fd, uint16_t *id)
{
	char buf[4096];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct nl_req q;
	struct nlattr *a;
	int n, left;

	nl_init(&q, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	q.nh.nlmsg_flags = NLM_F_REQUEST;
	nl_put(&q, CTRL_ATTR_FAMILY_NAME, MBUS_GENL_NAME,
	       sizeof(MBUS_GENL_NAME));
	n = nl_talk(fd, &q, buf, sizeof(buf));
	if (n < 0)
		return n;
	a = (struct nlattr *)((char *)NLMSG_DATA(nh) + GENL_HDRLEN);
	left = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left) {
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID &&
		    a->nla_len >= NLA_HDRLEN + 2) {
			memcpy(id, (char *)a + NLA_HDRLEN, 2);
			return 0;
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return -ENOENT;
}

/* MBUS_CMD_SET_PORT with both timeouts; 0 or -errno. */
static int nl_set_timeouts(int index, uint32_t resp_us, uint32_t char_us)
{
	char buf[4096];
	struct nl_req q;
	uint32_t idx = index;
	uint16_t family;
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	err = nl_family(fd, &family);
	if (!err) {
		nl_init(&q, family, MBUS_CMD_SET_PORT, MBUS_GENL_VERSION);
		nl_put(&q, MBUS_ATTR_INDEX, &idx, 4);
		nl_put(&q, MBUS_ATTR_RESPONSE_TIMEOUT_US, &resp_us, 4);
		nl_put(&q, MBUS_ATTR_CHAR_TIMEOUT_US, &char_us, 4);
		err = nl_talk(fd, &q, buf, sizeof(buf));
		err = err > 0 ? -EPROTO : err;
	}
	close(fd);
	return err;
}

/* The latency to add: configured, measured, or assumed. */
static int relay_latency(const struct tcp_relay *r)
{
	int ms;

	if (r->conf->latency_ms >= 0)
		return r->conf->latency_ms;
	if (r->rtt_ms < 0)
		return LATENCY_DEFAULT_MS;
	ms = 2 * r->rtt_ms + LATENCY_CONVERTER_MS;
	return ms > LATENCY_MAX_MS ? LATENCY_MAX_MS : ms;
}

static uint32_t clamp_us(uint64_t us)
{
	return us > MBUS_TIMEOUT_US_MAX ? MBUS_TIMEOUT_US_MAX : (uint32_t)us;
}

/*
 * Set the port's default timeouts for the current speed and latency,
 * unless they already are.
 */
static void relay_apply_timeouts(struct tcp_relay *r)
{
	uint32_t baud = r->baud ? r->baud : 2400, resp, chr;
	int ms = relay_latency(r), err;
	uint64_t bit_us1000 = 1000000000ull / baud;	/* ns per bit */

	if (r->index < 0 || (ms == r->applied_ms && baud == r->applied_baud))
		return;
	resp = clamp_us(((RESPONSE_BITS + TX_ALLOWANCE_CHARS * BITS_PER_CHAR) *
			 bit_us1000) / 1000 + RESPONSE_EXTRA_US +
			(uint64_t)ms * 1000);
	chr = clamp_us((CHAR_TIMEOUT_CHARS * BITS_PER_CHAR * bit_us1000) /
		       1000 + CHAR_TIMEOUT_EXTRA_US + (uint64_t)ms * 1000);
	err = nl_set_timeouts(r->index, resp, chr);
	if (err) {
		if (!r->nl_warned)
			relay_log(r, "cannot set the default timeouts of mbus%d (%s%s): they stay at the EN 13757-2 values, too short through a network",
				  r->index, strerror(-err),
				  err == -EPERM ? ", needs CAP_NET_ADMIN" : "");
		r->nl_warned = true;
		return;
	}
	relay_log(r, "mbus%d at %u Bd: response timeout %u ms, inter-character timeout %u ms (latency %d ms%s)",
		  r->index, baud, resp / 1000, chr / 1000, ms,
		  r->conf->latency_ms >= 0 ? ", configured" :
		  r->rtt_ms < 0 ? ", assumed until measured" : ", measured");
	r->applied_ms = ms;
	r->applied_baud = baud;
}

/* ---- sending to the converter ------------------------------------------- */

static void relay_down(struct tcp_relay *r, const char *why);

static int sock_send(struct tcp_relay *r, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(r->sock, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char why[128];

			snprintf(why, sizeof(why), "send: %s",
				 errno == EAGAIN ? "the converter takes nothing" :
				 strerror(errno));
			relay_down(r, why);
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int tn_send_option(struct tcp_relay *r, uint8_t verb, uint8_t opt)
{
	uint8_t b[3];

	if (verb == TN_WILL || verb == TN_WONT)
		bit_set(r->will, opt, verb == TN_WILL);
	else
		bit_set(r->do_, opt, verb == TN_DO);
	return sock_send(r, b, tn_option(b, verb, opt));
}

static int cpo_send_baud(struct tcp_relay *r)
{
	uint8_t b[16];

	r->baud_acked = false;
	r->conv_baud = r->baud ? r->baud : 2400;
	return sock_send(r, b, cpo_set_baud(b, r->conv_baud));
}

/* 8E1, the speed, no flow control, the line errors reported, purged. */
static int cpo_send_setup(struct tcp_relay *r)
{
	static const uint8_t cmds[][2] = {
		{ CPO_SET_DATASIZE, 8 },
		{ CPO_SET_PARITY, CPO_PARITY_EVEN },
		{ CPO_SET_STOPSIZE, CPO_STOPSIZE_1 },
		{ CPO_SET_CONTROL, CPO_CONTROL_NO_FLOW },
		{ CPO_SET_LINESTATE_MASK, LINESTATE_MASK },
		{ CPO_SET_MODEMSTATE_MASK, 0 },
		{ CPO_PURGE_DATA, CPO_PURGE_BOTH },
	};
	uint8_t b[16];
	size_t i;

	if (cpo_send_baud(r))
		return -1;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (sock_send(r, b, cpo_set_u8(b, cmds[i][0], cmds[i][1])))
			return -1;
	return 0;
}

/* Bytes N_MBUS sent: to the converter, or dropped while it is away. */
static void relay_to_net(struct tcp_relay *r, const uint8_t *data, size_t n)
{
	uint8_t esc[2 * 4096];

	if (r->state != ST_UP) {
		r->dropped += n;
		return;
	}
	if (r->conf->rfc2217)
		sock_send(r, esc, tn_escape(data, n, esc));
	else
		sock_send(r, data, n);
}

/* ---- receiving from the converter --------------------------------------- */

/* Bytes from the converter to N_MBUS; what the pty cannot take is lost. */
static void relay_to_pty(struct tcp_relay *r, const uint8_t *data, size_t n)
{
	struct pollfd p = { .fd = r->master, .events = POLLOUT };
	ssize_t w;

	if (r->state != ST_UP)
		return;
	while (n) {
		w = write(r->master, data, n);
		if (w < 0 && errno == EAGAIN && poll(&p, 1, 200) > 0)
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			relay_log(r, "the pty took no more: %zu bytes lost", n);
			return;
		}
		data += w;
		n -= w;
	}
}

static void relay_up(struct tcp_relay *r);

static void tn_on_option(struct tcp_relay *r, uint8_t verb, uint8_t opt)
{
	bool wanted = opt == TN_OPT_BINARY || opt == TN_OPT_SGA ||
		      (opt == TN_OPT_COMPORT && (verb == TN_DO ||
						 verb == TN_DONT));

	switch (verb) {
	case TN_DO:
		if (wanted && !bit_test(r->will, opt))
			tn_send_option(r, TN_WILL, opt);
		else if (!wanted && !bit_test(r->refused, opt)) {
			bit_set(r->refused, opt, true);
			tn_send_option(r, TN_WONT, opt);
		}
		if (opt == TN_OPT_COMPORT && !r->comport &&
		    r->state == ST_NEGOTIATE) {
			/*
			 * No latency sample here: ser2net opens the serial
			 * port before it answers, which is no network time.
			 */
			r->comport = true;
			cpo_send_setup(r);
		}
		break;
	case TN_DONT:
		if (bit_test(r->will, opt))
			tn_send_option(r, TN_WONT, opt);
		if (opt == TN_OPT_COMPORT)
			relay_down(r, "the server refuses RFC 2217 (DONT COM-PORT-OPTION): is it a raw TCP port?");
		break;
	case TN_WILL:
		if (wanted && !bit_test(r->do_, opt))
			tn_send_option(r, TN_DO, opt);
		else if (!wanted && !bit_test(r->refused, opt)) {
			bit_set(r->refused, opt, true);
			tn_send_option(r, TN_DONT, opt);
		}
		break;
	case TN_WONT:
		if (bit_test(r->do_, opt))
			tn_send_option(r, TN_DONT, opt);
		break;
	}
}

static void cpo_on_linestate(struct tcp_relay *r, uint32_t bits)
{
	long long now = now_ms();

	if (!(bits & LINESTATE_MASK) ||
	    (r->linestate_logged && now - r->linestate_logged <
	     LINESTATE_LOG_MS))
		return;
	r->linestate_logged = now;
	relay_log(r, "the converter reports%s%s%s%s on its line (not passed on: a pty carries no line errors)",
		  bits & CPO_LINE_BREAK ? " a break" : "",
		  bits & CPO_LINE_PARITY ? " a parity error" : "",
		  bits & CPO_LINE_FRAMING ? " a framing error" : "",
		  bits & CPO_LINE_OVERRUN ? " an overrun" : "");
}

static void tn_on_event(void *arg, const struct tn_event *ev)
{
	struct tcp_relay *r = arg;
	uint32_t value;
	uint8_t cmd;

	if (r->sock < 0)
		return;		/* the connection died inside this batch */
	if (ev->type == TN_EV_OPTION) {
		tn_on_option(r, ev->verb, ev->option);
		return;
	}
	if (ev->type == TN_EV_COMMAND) {
		if (ev->verb == TN_BRK)
			cpo_on_linestate(r, CPO_LINE_BREAK);
		return;
	}
	if (!cpo_parse_reply(ev, &cmd, &value))
		return;
	if (cmd == CPO_SET_BAUDRATE) {
		if (value != r->conv_baud)
			relay_log(r, "the converter runs at %u Bd, not the %u Bd asked for",
				  value, r->conv_baud);
		r->baud_acked = true;
		if (r->state == ST_NEGOTIATE)
			relay_up(r);
	} else if (cmd == CPO_NOTIFY_LINESTATE) {
		cpo_on_linestate(r, value);
	}
}

static void relay_from_net(struct tcp_relay *r)
{
	uint8_t buf[4096], data[4096];
	ssize_t n;
	size_t len;

	n = recv(r->sock, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s",
			 n ? strerror(errno) : "closed by the converter");
		relay_down(r, why);
		return;
	}
	if (!r->conf->rfc2217) {
		relay_to_pty(r, buf, n);
		return;
	}
	len = tn_rx_feed(&r->rx, buf, n, data, tn_on_event, r);
	if (len && r->sock >= 0)
		relay_to_pty(r, data, len);
}

/* ---- the speed ---------------------------------------------------------- */

/* Wait for the converter to confirm SET-BAUDRATE, relaying meanwhile. */
static void relay_wait_baud_ack(struct tcp_relay *r)
{
	long long end = now_ms() + BAUD_ACK_TIMEOUT_MS, left;
	struct pollfd p;

	while (r->state == ST_UP && !r->baud_acked) {
		left = end - now_ms();
		if (left <= 0) {
			relay_log(r, "no answer to SET-BAUDRATE %u within %d ms",
				  r->conv_baud, BAUD_ACK_TIMEOUT_MS);
			return;
		}
		p.fd = r->sock;
		p.events = POLLIN;
		if (poll(&p, 1, left) > 0)
			relay_from_net(r);
	}
}

/* Follow N_MBUS's speed: the port's timeouts and the converter's rate. */
static void relay_check_baud(struct tcp_relay *r)
{
	uint32_t baud = pty_baud(r);

	if (baud && baud != r->baud) {
		relay_log(r, "N_MBUS switched from %u to %u Bd", r->baud, baud);
		r->baud = baud;
		relay_apply_timeouts(r);
		if (r->state == ST_UP && !r->conf->rfc2217)
			relay_log(r, "raw TCP cannot change the converter's speed: set it to %u Bd there, or use --rfc2217",
				  baud);
	}
	/* Not up: the negotiation sends the speed. */
	if (r->state == ST_UP && r->conf->rfc2217 && r->conv_baud != r->baud &&
	    !cpo_send_baud(r))
		relay_wait_baud_ack(r);
}

/* ---- from N_MBUS --------------------------------------------------------- */

static void relay_from_pty(struct tcp_relay *r)
{
	uint8_t buf[4097];
	ssize_t n;

	n = read(r->master, buf, sizeof(buf));
	if (n <= 0)
		return;		/* EAGAIN; EIO cannot happen: we hold the slave */
	if (buf[0] != TIOCPKT_DATA) {
		/* A status packet: a termios change (EXTPROC), STOP, ... */
		if (buf[0] & TIOCPKT_IOCTL)
			relay_check_baud(r);
		return;
	}
	/* A new speed must reach the converter before this request does. */
	relay_check_baud(r);
	relay_to_net(r, buf + 1, n - 1);
}

/* ---- the connection ----------------------------------------------------- */

static void relay_schedule(struct tcp_relay *r)
{
	long long now = now_ms();

	if (r->up_since && now - r->up_since >= BACKOFF_RESET_MS)
		r->backoff_ms = BACKOFF_MIN_MS;
	r->deadline = now + r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			r->backoff_ms * 2;
	r->up_since = 0;
	r->state = ST_IDLE;
}

static void relay_down(struct tcp_relay *r, const char *why)
{
	bool was_up = r->state == ST_UP;

	if (r->sock >= 0)
		close(r->sock);
	r->sock = -1;
	relay_flow(r, true);
	relay_schedule(r);
	if (was_up || !r->told_down)
		relay_log(r, "%s %s: exchanges on mbus%d fail with EIO until it is back; next attempt in %d ms",
			  was_up ? "connection lost:" : "cannot connect:", why,
			  r->index, (int)(r->deadline - now_ms()));
	r->told_down = true;
}

static void relay_up(struct tcp_relay *r)
{
	r->state = ST_UP;
	r->up_since = now_ms();
	r->told_down = false;
	if (r->dropped)
		relay_log(r, "%lu bytes N_MBUS sent while the converter was away were dropped",
			  r->dropped);
	r->dropped = 0;
	relay_log(r, "connected%s (round trip %d ms)",
		  r->conf->rfc2217 ? ", RFC 2217, 8E1" : ", raw TCP",
		  r->rtt_ms);
	relay_apply_timeouts(r);
	relay_flow(r, false);
}

static void sock_options(int fd)
{
	int one = 1, idle = 10, intvl = 5, cnt = 3;
	unsigned int user_timeout = 15000;

	/* Small requests go out at once; a dead peer is found in ~25 s. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
		   sizeof(user_timeout));
}

static void relay_connect(struct tcp_relay *r)
{
	struct sockaddr_storage ss;
	char err[160];
	socklen_t len;

	if (tcp_resolve(r->conf->host, r->conf->port, r->attempt++, &ss, &len,
			err, sizeof(err))) {
		relay_down(r, err);
		return;
	}
	r->sock = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			 SOCK_CLOEXEC, 0);
	if (r->sock < 0) {
		relay_down(r, strerror(errno));
		return;
	}
	r->t_start = now_ms();
	r->deadline = r->t_start + CONNECT_TIMEOUT_MS;
	r->state = ST_CONNECTING;
	if (connect(r->sock, (struct sockaddr *)&ss, len) &&
	    errno != EINPROGRESS)
		relay_down(r, strerror(errno));
}

/* The first RFC 2217 words: com port control, binary, no go-ahead. */
static void relay_negotiate(struct tcp_relay *r)
{
	static const uint8_t opts[][2] = {
		{ TN_WILL, TN_OPT_COMPORT },
		{ TN_WILL, TN_OPT_BINARY }, { TN_DO, TN_OPT_BINARY },
		{ TN_WILL, TN_OPT_SGA }, { TN_DO, TN_OPT_SGA },
	};
	size_t i;

	tn_rx_init(&r->rx);
	memset(r->will, 0, sizeof(r->will));
	memset(r->do_, 0, sizeof(r->do_));
	memset(r->refused, 0, sizeof(r->refused));
	r->comport = false;
	r->baud_acked = false;
	r->state = ST_NEGOTIATE;
	r->t_start = now_ms();
	r->deadline = r->t_start + NEGOTIATE_TIMEOUT_MS;
	for (i = 0; i < ARRAY_SIZE(opts); i++)
		if (tn_send_option(r, opts[i][0], opts[i][1]))
			return;
}

static void relay_connected(struct tcp_relay *r)
{
	int err = 0, rtt;
	socklen_t len = sizeof(err);

	if (getsockopt(r->sock, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		relay_down(r, strerror(err ? err : errno));
		return;
	}
	rtt = now_ms() - r->t_start;
	if (rtt > r->rtt_ms)
		r->rtt_ms = rtt;
	sock_options(r->sock);
	if (r->conf->rfc2217)
		relay_negotiate(r);
	else
		relay_up(r);
}

static void relay_timeout(struct tcp_relay *r)
{
	switch (r->state) {
	case ST_IDLE:
		relay_connect(r);
		break;
	case ST_CONNECTING:
		relay_down(r, "no answer to connect");
		break;
	case ST_NEGOTIATE:
		if (r->comport) {
			relay_log(r, "no answer to SET-BAUDRATE: going on at %u Bd",
				  r->conv_baud);
			relay_up(r);
		} else {
			relay_down(r, "no answer to WILL COM-PORT-OPTION: is it an RFC 2217 server?");
		}
		break;
	case ST_UP:
		break;
	}
}

/* ---- the loop ----------------------------------------------------------- */

/*
 * One round: wait up to @max_ms for the pty, the socket, a signal or the
 * state's deadline and handle what came. Returns 1 on a signal, else 0.
 */
static int relay_step(struct tcp_relay *r, int max_ms)
{
	struct pollfd p[3] = {
		{ .fd = r->sig, .events = POLLIN },
		{ .fd = r->master, .events = POLLIN },
		{ .fd = r->sock, .events = 0 },
	};
	long long left;
	int n;

	if (r->state == ST_CONNECTING)
		p[2].events = POLLOUT;
	else if (r->state != ST_IDLE)
		p[2].events = POLLIN;
	left = r->state == ST_UP ? max_ms : r->deadline - now_ms();
	if (left > max_ms)
		left = max_ms;
	n = poll(p, r->sock >= 0 ? 3 : 2, left < 0 ? 0 : left);
	if (n < 0)
		return 0;
	if (p[0].revents)
		return 1;
	if (p[1].revents & POLLIN)
		relay_from_pty(r);
	if (r->sock >= 0 && p[2].revents) {
		if (r->state == ST_CONNECTING)
			relay_connected(r);
		else
			relay_from_net(r);
	}
	if (r->state != ST_UP && now_ms() >= r->deadline)
		relay_timeout(r);
	return 0;
}

struct tcp_relay *tcp_relay_start(const struct tcp_conf *c, int master,
				  int slave, int index)
{
	struct tcp_relay *r;
	struct termios t;
	sigset_t set;
	long long end;
	int one = 1;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->conf = c;
	r->master = master;
	r->slave = slave;
	r->index = index;
	r->sock = -1;
	r->rtt_ms = -1;
	r->applied_ms = -1;
	r->backoff_ms = BACKOFF_MIN_MS;
	r->told_down = false;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	r->sig = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	/* Nothing goes out before the converter is there. */
	relay_flow(r, true);
	if (r->sig < 0 || !r->stopped ||
	    ioctl(master, TIOCPKT, &one) ||
	    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) ||
	    tcgetattr(slave, &t)) {
		fprintf(stderr, "%s: cannot set the pty up: %s\n", c->prog,
			strerror(errno));
		goto err;
	}
	/* Announces N_MBUS's next termios change (then N_MBUS clears it). */
	t.c_lflag |= EXTPROC;
	tcsetattr(slave, TCSANOW, &t);
	r->baud = pty_baud(r) ? pty_baud(r) : 2400;

	relay_connect(r);
	end = now_ms() + FIRST_ATTEMPT_MS;
	while (r->state != ST_UP && r->state != ST_IDLE && now_ms() < end)
		if (relay_step(r, end - now_ms()))
			break;
	if (r->state != ST_UP && !r->told_down)
		relay_log(r, "not reached yet: exchanges on mbus%d fail with EIO until it is; trying on",
			  index);
	r->told_down = true;
	relay_apply_timeouts(r);
	return r;
err:
	if (r->sig >= 0)
		close(r->sig);
	free(r);
	return NULL;
}

int tcp_relay_run(struct tcp_relay *r)
{
	long long check = now_ms() + 1000;
	int ldisc = N_TTY, status = 0;
	__u32 n;

	for (;;) {
		if (relay_step(r, 1000)) {
			/* A signal: detach, as the serial mbus-attach does. */
			if (ioctl(r->slave, TIOCSETD, &ldisc)) {
				fprintf(stderr, "%s: cannot detach: %s\n",
					r->conf->prog, strerror(errno));
				status = 1;
			}
			break;
		}
		if (now_ms() >= check) {
			check = now_ms() + 1000;
			/* Someone else switched the pty's line discipline. */
			if (r->index >= 0 &&
			    ioctl(r->slave, MBUS_IOC_GET_INDEX, &n))
				break;
		}
	}
	if (r->sock >= 0)
		close(r->sock);
	close(r->sig);
	close(r->master);
	close(r->slave);
	free(r);
	return status;
}
