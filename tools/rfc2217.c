// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Telnet framing and the RFC 2217 COM-PORT-OPTION for mbus-attach --tcp
 * --rfc2217: see rfc2217.h.
 */
#include <string.h>

#include "rfc2217.h"

/* Receive parser states. */
enum {
	TN_DATA,	/* plain data */
	TN_GOT_IAC,	/* IAC seen */
	TN_GOT_VERB,	/* IAC WILL/WONT/DO/DONT seen: the option follows */
	TN_SB_OPT,	/* IAC SB seen: the option follows */
	TN_SB_DATA,	/* inside a subnegotiation */
	TN_SB_IAC,	/* IAC inside a subnegotiation */
};

void tn_rx_init(struct tn_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->state = TN_DATA;
}

static void tn_sb_put(struct tn_rx *rx, uint8_t c)
{
	if (rx->sb_len < sizeof(rx->sb))
		rx->sb[rx->sb_len++] = c;
	else
		rx->sb_truncated = true;
}

static void tn_sb_end(struct tn_rx *rx, tn_event_fn fn, void *arg)
{
	struct tn_event ev = {
		.type = TN_EV_SB,
		.option = rx->sb[0],
		.truncated = rx->sb_truncated,
		.len = rx->sb_len - 1,
		.data = rx->sb + 1,
	};

	fn(arg, &ev);
}

static void tn_after_iac(struct tn_rx *rx, uint8_t c, tn_event_fn fn,
			 void *arg)
{
	struct tn_event ev = { .type = TN_EV_COMMAND, .verb = c };

	switch (c) {
	case TN_WILL:
	case TN_WONT:
	case TN_DO:
	case TN_DONT:
		rx->verb = c;
		rx->state = TN_GOT_VERB;
		return;
	case TN_SB:
		rx->sb_len = 0;
		rx->sb_truncated = false;
		rx->state = TN_SB_OPT;
		return;
	default:
		/* NOP, BRK, GA, a stray SE: tell, and go on with data. */
		rx->state = TN_DATA;
		fn(arg, &ev);
	}
}

size_t tn_rx_feed(struct tn_rx *rx, const uint8_t *in, size_t n, uint8_t *out,
		  tn_event_fn fn, void *arg)
{
	struct tn_event ev = { .type = TN_EV_OPTION };
	size_t i, len = 0;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = in[i];
		switch (rx->state) {
		case TN_DATA:
			if (c == TN_IAC)
				rx->state = TN_GOT_IAC;
			else
				out[len++] = c;
			break;
		case TN_GOT_IAC:
			if (c == TN_IAC) {
				out[len++] = c;
				rx->state = TN_DATA;
			} else {
				tn_after_iac(rx, c, fn, arg);
			}
			break;
		case TN_GOT_VERB:
			ev.verb = rx->verb;
			ev.option = c;
			rx->state = TN_DATA;
			fn(arg, &ev);
			break;
		case TN_SB_OPT:
			tn_sb_put(rx, c);
			rx->state = TN_SB_DATA;
			break;
		case TN_SB_DATA:
			if (c == TN_IAC)
				rx->state = TN_SB_IAC;
			else
				tn_sb_put(rx, c);
			break;
		case TN_SB_IAC:
			if (c == TN_SE) {
				rx->state = TN_DATA;
				tn_sb_end(rx, fn, arg);
			} else {
				/* IAC IAC is a data FF; anything else is kept. */
				tn_sb_put(rx, c);
				rx->state = TN_SB_DATA;
			}
			break;
		}
	}
	return len;
}

size_t tn_escape(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		out[len++] = in[i];
		if (in[i] == TN_IAC)
			out[len++] = TN_IAC;
	}
	return len;
}

size_t tn_option(uint8_t *out, uint8_t verb, uint8_t option)
{
	out[0] = TN_IAC;
	out[1] = verb;
	out[2] = option;
	return 3;
}

size_t cpo_command(uint8_t *out, uint8_t cmd, const uint8_t *val, size_t len)
{
	size_t n = 0;

	out[n++] = TN_IAC;
	out[n++] = TN_SB;
	out[n++] = TN_OPT_COMPORT;
	n += tn_escape(&cmd, 1, out + n);
	n += tn_escape(val, len, out + n);
	out[n++] = TN_IAC;
	out[n++] = TN_SE;
	return n;
}

size_t cpo_set_baud(uint8_t *out, uint32_t baud)
{
	const uint8_t v[4] = {
		baud >> 24, baud >> 16, baud >> 8, baud
	};

	return cpo_command(out, CPO_SET_BAUDRATE, v, sizeof(v));
}

size_t cpo_set_u8(uint8_t *out, uint8_t cmd, uint8_t value)
{
	return cpo_command(out, cmd, &value, 1);
}

bool cpo_parse_reply(const struct tn_event *ev, uint8_t *cmd,
		     uint32_t *value)
{
	const uint8_t *d = ev->data;

	if (ev->type != TN_EV_SB || ev->option != TN_OPT_COMPORT ||
	    ev->len < 2 || d[0] < CPO_SERVER)
		return false;
	*cmd = d[0] - CPO_SERVER;
	if (*cmd == CPO_SET_BAUDRATE) {
		if (ev->len < 5)
			return false;
		*value = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 |
			 (uint32_t)d[3] << 8 | d[4];
	} else {
		*value = d[1];
	}
	return true;
}
