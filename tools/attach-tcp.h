/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-attach --tcp: N_MBUS on a pty whose master side is relayed to an
 * M-Bus converter on the network (raw TCP or RFC 2217). mbus-attach.c
 * attaches the line discipline to the pty's slave as it does to a serial
 * port; everything network is here.
 */
#ifndef ATTACH_TCP_H
#define ATTACH_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tcp_conf {
	char host[256];
	uint16_t port;
	bool rfc2217;
	int latency_ms;		/* --latency-ms, or -1: measure it */
	const char *prog;	/* for messages */
};

/*
 * Parse HOST:PORT ("converter:4001", "192.0.2.7:4001", "[::1]:4001")
 * into @c. Returns 0, or -1 with a message in @err.
 */
int tcp_parse_target(struct tcp_conf *c, const char *arg, char *err,
		     size_t err_size);

/* Parse --latency-ms (0..5000); returns 0 or -1. */
int tcp_parse_latency(const char *s, int *ms);

/*
 * Resolve HOST (attach-resolve.c); of several addresses the @pick-th
 * (modulo their number). Returns 0, or -1 with a message in @err.
 */
int tcp_resolve(const char *host, uint16_t port, unsigned int pick,
		struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t err_size);

/*
 * Open a pty pair: the master (returned, or -1 with a message printed)
 * and the slave's path in @path, for attach().
 */
int tcp_pty_open(const char *prog, char *path, size_t size);

struct tcp_relay;

/*
 * After N_MBUS was attached to the slave (@slave: its fd; @index: the N
 * of /dev/mbusN, or -1 to leave the port's defaults alone): stop the
 * port's output until the converter is reached, make one attempt to
 * reach it (a few seconds at most) and set the port's default timeouts
 * for the network's latency. A converter that cannot be reached is not an
 * error: the relay keeps trying. Returns NULL (message printed) only when
 * the pty cannot be set up.
 */
struct tcp_relay *tcp_relay_start(const struct tcp_conf *c, int master,
				  int slave, int index);

/*
 * Relay until SIGTERM, SIGINT or SIGHUP (blocked by the caller or not:
 * they are taken through a signalfd), or until N_MBUS is no longer
 * attached to the slave. Then detach N_MBUS (after a signal) and free
 * everything. Returns the exit status.
 */
int tcp_relay_run(struct tcp_relay *r);

#endif
