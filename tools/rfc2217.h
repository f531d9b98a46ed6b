/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Telnet (RFC 854) framing and the COM-PORT-OPTION of RFC 2217, as far
 * as an M-Bus relay needs them: escaping data (IAC doubled), splitting a
 * received stream into data and commands, and building the com port
 * subnegotiations. Pure functions on buffers: no sockets, no state but
 * the receive parser's.
 */
#ifndef RFC2217_H
#define RFC2217_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Telnet commands (RFC 854). */
#define TN_SE		240
#define TN_NOP		241
#define TN_BRK		243
#define TN_SB		250
#define TN_WILL		251
#define TN_WONT		252
#define TN_DO		253
#define TN_DONT		254
#define TN_IAC		255

/* Telnet options. */
#define TN_OPT_BINARY	0
#define TN_OPT_SGA	3
#define TN_OPT_COMPORT	44

/* COM-PORT-OPTION commands, client to server; the server answers +100. */
#define CPO_SIGNATURE		0
#define CPO_SET_BAUDRATE	1
#define CPO_SET_DATASIZE	2
#define CPO_SET_PARITY		3
#define CPO_SET_STOPSIZE	4
#define CPO_SET_CONTROL		5
#define CPO_NOTIFY_LINESTATE	6
#define CPO_NOTIFY_MODEMSTATE	7
#define CPO_FLOWCONTROL_SUSPEND	8
#define CPO_FLOWCONTROL_RESUME	9
#define CPO_SET_LINESTATE_MASK	10
#define CPO_SET_MODEMSTATE_MASK	11
#define CPO_PURGE_DATA		12
#define CPO_SERVER		100

/* Values of SET-PARITY, SET-STOPSIZE, SET-CONTROL, PURGE-DATA. */
#define CPO_PARITY_EVEN		3
#define CPO_STOPSIZE_1		1
#define CPO_CONTROL_NO_FLOW	1
#define CPO_CONTROL_BREAK_ON	5
#define CPO_CONTROL_BREAK_OFF	6
#define CPO_PURGE_BOTH		3

/* NOTIFY-LINESTATE bits. */
#define CPO_LINE_OVERRUN	0x02
#define CPO_LINE_PARITY		0x04
#define CPO_LINE_FRAMING	0x08
#define CPO_LINE_BREAK		0x10

/* Longest subnegotiation kept; longer ones are cut (and flagged). */
#define TN_SB_MAX		64

/* What the receive parser found besides data. */
enum tn_event_type {
	TN_EV_OPTION,	/* WILL, WONT, DO or DONT (@verb) @option */
	TN_EV_SB,	/* a subnegotiation: @option, then @len bytes @data */
	TN_EV_COMMAND,	/* another command byte (@verb: NOP, BRK, ...) */
};

struct tn_event {
	enum tn_event_type type;
	uint8_t verb;
	uint8_t option;
	bool truncated;			/* TN_EV_SB longer than TN_SB_MAX */
	size_t len;
	const uint8_t *data;
};

typedef void (*tn_event_fn)(void *arg, const struct tn_event *ev);

/* Receive parser: zero it (or tn_rx_init()) before the first byte. */
struct tn_rx {
	int state;
	uint8_t verb;
	uint8_t sb[TN_SB_MAX + 1];	/* option, then the data */
	size_t sb_len;
	bool sb_truncated;
};

void tn_rx_init(struct tn_rx *rx);

/*
 * Feed @n received bytes. Data bytes (IAC IAC as one FF) go to @out, which
 * must hold @n bytes; every command calls @fn. A command split across
 * calls is kept in @rx. Returns the number of data bytes written.
 */
size_t tn_rx_feed(struct tn_rx *rx, const uint8_t *in, size_t n, uint8_t *out,
		  tn_event_fn fn, void *arg);

/* Copy @n data bytes to @out (room for 2 * @n) with IAC doubled; length. */
size_t tn_escape(const uint8_t *in, size_t n, uint8_t *out);

/* IAC @verb @option into @out (3 bytes); returns 3. */
size_t tn_option(uint8_t *out, uint8_t verb, uint8_t option);

/*
 * A COM-PORT-OPTION subnegotiation: IAC SB 44 @cmd @val (escaped) IAC SE
 * into @out, which needs 6 + 2 * @len bytes. Returns its length.
 */
size_t cpo_command(uint8_t *out, uint8_t cmd, const uint8_t *val, size_t len);

/* SET-BAUDRATE @baud (4 bytes, network order). */
size_t cpo_set_baud(uint8_t *out, uint32_t baud);

/* A 1-byte command (SET-DATASIZE, SET-PARITY, SET-CONTROL, ...). */
size_t cpo_set_u8(uint8_t *out, uint8_t cmd, uint8_t value);

/*
 * The server's answer to a com port command, from a TN_EV_SB event of
 * option 44: true and its command (without the +100) in *@cmd, the value
 * in *@value (a 4-byte value for SET-BAUDRATE, else the first byte).
 */
bool cpo_parse_reply(const struct tn_event *ev, uint8_t *cmd,
		     uint32_t *value);

#endif
