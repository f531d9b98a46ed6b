// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-sim line: pty, tty or telnet connection (see sim-line.h)
 *
 * A pty carries no parity, framing errors or breaks, and some kernels
 * refuse PARENB on it: the pty is set up 8E1 if possible, else 8N1.
 * The TCP peer is QEMU's telnet chardev: negotiations are discarded, FF is
 * doubled both ways, IAC BRK is a break. Hosts must be numeric (or
 * localhost): the static build must not depend on NSS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ktypes.h"
#include "sim-line.h"

#define TELNET_IAC		0xff
#define TELNET_SE		0xf0
#define TELNET_BRK		0xf3
#define TELNET_SB		0xfa
#define TELNET_WILL		0xfb	/* WILL, WONT, DO, DONT: 3 bytes */

#define NSEC_PER_SEC		1000000000LL

static const struct {
	speed_t speed;
	unsigned int baud;
} speeds[] = {
	{ B300, 300 }, { B600, 600 }, { B1200, 1200 }, { B2400, 2400 },
	{ B4800, 4800 }, { B9600, 9600 }, { B19200, 19200 },
	{ B38400, 38400 },
};

#define NSPEEDS		(ARRAY_SIZE(speeds))

static speed_t baud_to_speed(unsigned int baud)
{
	for (size_t i = 0; i < NSPEEDS; i++)
		if (speeds[i].baud == baud)
			return speeds[i].speed;
	return B0;
}

bool sim_baud_valid(unsigned int baud)
{
	return baud_to_speed(baud) != B0;
}

static int set_raw(int fd, unsigned int baud, bool parity)
{
	struct termios tio;

	if (tcgetattr(fd, &tio))
		return -errno;
	cfmakeraw(&tio);
	tio.c_cflag |= (parity ? PARENB : 0) | CLOCAL | CREAD;
	tio.c_cflag &= ~(PARODD | CSTOPB | CRTSCTS);
	tio.c_iflag |= parity ? INPCK : 0;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	cfsetspeed(&tio, baud_to_speed(baud));
	return tcsetattr(fd, TCSANOW, &tio) ? -errno : 0;
}

static void line_init(struct sim_line *l, enum sim_line_kind kind,
		      unsigned int baud)
{
	l->kind = kind;
	l->fd = -1;
	l->baud = baud;
	l->parity = true;
	l->tn = TN_DATA;
}

/* Raw 8E1; 8N1 where the tty refuses parity (a pty on some kernels). */
static int line_set_raw(struct sim_line *l)
{
	int ret = set_raw(l->fd, l->baud, l->parity);

	if (ret == -EINVAL && l->parity) {
		l->parity = false;
		ret = set_raw(l->fd, l->baud, false);
	}
	return ret;
}

int sim_line_open_pty(struct sim_line *l, unsigned int baud, char *name,
		      size_t size)
{
	const char *slave;
	line_init(l, SIM_LINE_PTY, baud);
	l->fd = posix_openpt(O_RDWR | O_NOCTTY);
	if (l->fd < 0 || grantpt(l->fd) || unlockpt(l->fd))
		return -errno;
	slave = ptsname(l->fd);
	if (!slave || strlen(slave) >= size)
		return -ENAMETOOLONG;
	strcpy(name, slave);
	/* the master's termios are the slave's */
	return line_set_raw(l);
}

int sim_line_open_tty(struct sim_line *l, const char *path,
		      unsigned int baud)
{
	line_init(l, SIM_LINE_TTY, baud);
	l->fd = open(path, O_RDWR | O_NOCTTY);
	if (l->fd < 0)
		return -errno;
	return line_set_raw(l);
}

/* HOST:PORT, HOST numeric IPv4, [IPv6] or localhost. */
static int parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(spec, ':');
	char host[64], *end;
	unsigned long port;
	size_t hlen;

	if (!colon || (hlen = colon - spec) >= sizeof(host))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || !colon[1] || *end || !port || port > 65535)
		return -EINVAL;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof(*ss));
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) == 1 ?
		       0 : -EINVAL;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -EINVAL;
}

int sim_line_open_tcp(struct sim_line *l, const char *spec,
		      unsigned int baud)
{
	struct sockaddr_storage ss;
	int ret;

	line_init(l, SIM_LINE_TCP, baud);
	ret = parse_addr(spec, &ss);
	if (ret)
		return ret;
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&ss, sizeof(ss)))
		return -errno;
	return 0;
}

unsigned int sim_line_baud(struct sim_line *l)
{
	struct termios tio;
	speed_t sp;

	if (l->kind != SIM_LINE_PTY || tcgetattr(l->fd, &tio))
		return l->baud;
	sp = cfgetospeed(&tio);
	for (size_t i = 0; i < NSPEEDS; i++)
		if (speeds[i].speed == sp)
			return speeds[i].baud;
	return l->baud;
}

int sim_line_set_baud(struct sim_line *l, unsigned int baud)
{
	l->baud = baud;
	if (l->kind != SIM_LINE_TTY)
		return 0;
	tcdrain(l->fd);
	return line_set_raw(l);
}

size_t sim_line_decode(struct sim_line *l, uint8_t *p, size_t n, bool *brk)
{
	size_t out = 0;

	if (l->kind != SIM_LINE_TCP)
		return n;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		switch (l->tn) {
		case TN_DATA:
			if (b == TELNET_IAC)
				l->tn = TN_IAC;
			else
				p[out++] = b;
			break;
		case TN_IAC:
			l->tn = TN_DATA;
			if (b == TELNET_IAC)
				p[out++] = b;
			else if (b >= TELNET_WILL)
				l->tn = TN_OPTION;
			else if (b == TELNET_SB)
				l->tn = TN_SB;
			else if (b == TELNET_BRK)
				*brk = true;
			break;
		case TN_OPTION:
			l->tn = TN_DATA;
			break;
		case TN_SB:
			if (b == TELNET_IAC)
				l->tn = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			l->tn = b == TELNET_SE ? TN_DATA : TN_SB;
			break;
		}
	}
	return out;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= w;
	}
	return true;
}

bool sim_line_write(struct sim_line *l, const uint8_t *p, size_t n)
{
	static const uint8_t esc[2] = { TELNET_IAC, TELNET_IAC };

	if (l->kind != SIM_LINE_TCP)
		return write_all(l->fd, p, n);
	for (size_t i = 0; i < n; i++) {
		bool ok = p[i] == TELNET_IAC ? write_all(l->fd, esc, 2) :
			  write_all(l->fd, &p[i], 1);

		if (!ok)
			return false;
	}
	return true;
}

static bool stopped(const struct sim_line *l)
{
	return l->stop && *l->stop;
}

static void sleep_until(const struct sim_line *l, const struct timespec *ts)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts, NULL) ==
	       EINTR && !stopped(l))
		;
}

bool sim_line_send_paced(struct sim_line *l, const uint8_t *p, size_t n,
			 unsigned int baud)
{
	long long char_ns = SIM_LINE_BITS_PER_CHAR * NSEC_PER_SEC / baud;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (size_t i = 0; i < n && !stopped(l); i++) {
		sleep_until(l, &next);
		if (!sim_line_write(l, &p[i], 1))
			return false;
		next.tv_nsec += char_ns;
		next.tv_sec += next.tv_nsec / NSEC_PER_SEC;
		next.tv_nsec %= NSEC_PER_SEC;
	}
	sleep_until(l, &next);		/* the last character's stop bit */
	return true;
}

int sim_line_break(struct sim_line *l)
{
	static const uint8_t brk[] = { TELNET_IAC, TELNET_BRK };

	switch (l->kind) {
	case SIM_LINE_TCP:
		return write_all(l->fd, brk, sizeof(brk)) ? 0 : -EIO;
	case SIM_LINE_TTY:
		return tcsendbreak(l->fd, 0) ? -errno : 0;
	default:
		return -EOPNOTSUPP;	/* a pty has no break */
	}
}
