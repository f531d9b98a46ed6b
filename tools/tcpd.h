/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-tcpd: a transparent M-Bus/TCP server in front of /dev/mbusN. Each
 * client's byte stream is cut into frames by the delimiter the kernel
 * uses (driver/mbus_frame.c), each frame runs as one exchange
 * (nmbus_dev_xfer(), MBUS_IOC_XFER) and the reply goes back to the
 * client. mbus-tcpd.c parses the options and opens the port; the server
 * itself is here, so that the unit tests run it on a simulated bus
 * (nmbus_dev_new_ops()).
 */
#ifndef TCPD_H
#define TCPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define TCPD_DEFAULT_PORT	10001
#define TCPD_ALLOW_MAX		32
#define TCPD_CLIENTS_MAX	64

/* A network of --allow: @prefix leading bits of @addr (IPv4: 4 bytes). */
struct tcpd_net {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix;
};

enum tcpd_mode {
	TCPD_TRANSPARENT,
	TCPD_READONLY,
};

struct tcpd_conf {
	struct sockaddr_storage listen;
	socklen_t listen_len;
	struct tcpd_net allow[TCPD_ALLOW_MAX];
	unsigned int n_allow;		/* 0: loopback only */
	unsigned int max_clients;	/* 1..TCPD_CLIENTS_MAX */
	unsigned int idle_timeout_s;	/* 0: never */
	unsigned int frame_timeout_ms;	/* a frame's first to last byte */
	enum tcpd_mode mode;
	FILE *log;			/* messages, or NULL */
	const char *prog;		/* their prefix */
};

/* Counters since the start; printed on exit. */
struct tcpd_stats {
	unsigned long accepted;		/* connections served */
	unsigned long denied;		/* source not in the allow-list */
	unsigned long too_many;		/* closed: max-clients reached */
	unsigned long idle_closed;	/* closed: idle timeout */
	unsigned long exchanges;	/* frames run on the bus */
	unsigned long replies;		/* frames or E5 sent back */
	unsigned long garbled;		/* garbled windows sent back */
	unsigned long timeouts;		/* no answer: nothing sent back */
	unsigned long refused;		/* readonly: not run, no answer */
	unsigned long not_requests;	/* E5 or a slave's frame: dropped */
	unsigned long partial;		/* half frames dropped (timeout) */
	unsigned long noise_bytes;	/* bytes skipped outside frames */
	unsigned long errors;		/* exchanges failing with errno */
};

/* Set the defaults: 127.0.0.1:10001, loopback only, 8 clients, ... */
void tcpd_conf_init(struct tcpd_conf *c);

/*
 * Parse ADDR:PORT ("127.0.0.1:10001", "0.0.0.0:10001", "[::]:10001",
 * ":10001" for every address); numeric addresses only. 0 or -1.
 */
int tcpd_parse_listen(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len);

/* Parse a CIDR network ("192.0.2.0/24", "::1/128", "10.1.2.3"). 0 or -1. */
int tcpd_parse_net(const char *s, struct tcpd_net *net);

/*
 * Whether a connection from @sa may be served: in one of the networks of
 * @c, or, with none given, from a loopback address. An IPv4 client of an
 * IPv6 socket (::ffff:a.b.c.d) is matched as IPv4.
 */
bool tcpd_allowed(const struct tcpd_conf *c, const struct sockaddr *sa);

/* What a frame from a client is, for the bus and for readonly mode. */
enum tcpd_class {
	TCPD_READ,	/* REQ_UD1/REQ_UD2, a secondary selection */
	TCPD_WRITE,	/* changes a meter: SND_UD, SND_NKE, ... */
	TCPD_NOT_REQUEST, /* E5 or a slave's frame: never sent */
};

/*
 * Classify the valid frame @f (mbus_frame_check()) and say in *@flags
 * how to run it: NMBUS_XFER_NO_REPLY for a broadcast to 255.
 */
enum tcpd_class tcpd_classify(const uint8_t *f, size_t len,
			      unsigned int *flags);

/* Bind and listen as @c says; the socket, or -1 with errno. */
int tcpd_listen(const struct tcpd_conf *c);

struct nmbus_dev;
struct tcpd;

/* A server on the listening socket @lfd (taken over) and the port @dev. */
struct tcpd *tcpd_new(const struct tcpd_conf *c, struct nmbus_dev *dev,
		      int lfd);

/*
 * Serve until @stop_fd becomes readable (SIGTERM through a signalfd, a
 * pipe in the tests; -1: never) or the port is gone. An exchange in
 * flight is always completed and its reply written. Returns 0, or -1
 * with errno (ENODEV: the port went away).
 */
int tcpd_run(struct tcpd *t, int stop_fd);

const struct tcpd_stats *tcpd_get_stats(const struct tcpd *t);
/* The connections open now. */
unsigned int tcpd_clients(const struct tcpd *t);

/* Close every connection and the listener; free @t. */
void tcpd_free(struct tcpd *t);

#endif
