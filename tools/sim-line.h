/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-sim line: the byte pipe between the simulated meters and the
 * master: a pty pair, a tty, or a TCP connection to a QEMU telnet chardev.
 * Knows baud rates and 8E1 character timing, not M-Bus.
 */
#ifndef SIM_LINE_H
#define SIM_LINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_LINE_BITS_PER_CHAR	11	/* start, 8 data, parity, stop */

enum sim_line_kind { SIM_LINE_PTY, SIM_LINE_TTY, SIM_LINE_TCP };

/* Telnet receive states (RFC 854), only to discard what is not data. */
enum sim_telnet_state { TN_DATA, TN_IAC, TN_OPTION, TN_SB, TN_SB_IAC };

struct sim_line {
	enum sim_line_kind kind;
	int fd;
	unsigned int baud;		/* when the fd cannot tell */
	bool parity;			/* false: the tty refused PARENB */
	enum sim_telnet_state tn;
	const volatile sig_atomic_t *stop;	/* abandon a paced send */
};

/* Whether @baud is one of 300 .. 38400. */
bool sim_baud_valid(unsigned int baud);

/*
 * Open the line, raw 8E1 at @baud. sim_line_open_pty() stores the slave's
 * path in @name. Return 0, or a negative errno (-EINVAL: bad @spec).
 */
int sim_line_open_pty(struct sim_line *l, unsigned int baud, char *name,
		      size_t size);
int sim_line_open_tty(struct sim_line *l, const char *path,
		      unsigned int baud);
int sim_line_open_tcp(struct sim_line *l, const char *spec,
		      unsigned int baud);

/* The bus baud rate: a pty tells (the master sets it on the slave). */
unsigned int sim_line_baud(struct sim_line *l);

/* After a baud switch: a tty follows; a telnet peer is assumed to. */
int sim_line_set_baud(struct sim_line *l, unsigned int baud);

/*
 * Strip the telnet protocol from @n received bytes, in place; returns the
 * number of data bytes. *@brk is set if the peer sent a break.
 */
size_t sim_line_decode(struct sim_line *l, uint8_t *p, size_t n, bool *brk);

/* Write data bytes at once (telnet: FF doubled). */
bool sim_line_write(struct sim_line *l, const uint8_t *p, size_t n);

/* Write @n bytes paced at @baud, 11 bits per character, no gaps. */
bool sim_line_send_paced(struct sim_line *l, const uint8_t *p, size_t n,
			 unsigned int baud);

/* A break: telnet IAC BRK, tcsendbreak() on a tty; -EOPNOTSUPP on a pty. */
int sim_line_break(struct sim_line *l);

#endif /* SIM_LINE_H */
