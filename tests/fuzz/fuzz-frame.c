// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libFuzzer target for the EN 13757-2 frame delimiter (driver/mbus_frame.c).
 *
 * The input is a string of (byte, control) pairs. Control bits:
 *   0-2  UART flag: 0-3 normal, 4 parity, 5 framing, 6 overrun, 7 break
 *   5    replace the byte by the sum of the previous (byte) bytes pushed,
 *        so that checksums, and thus valid frames, are easy to reach
 *   6    step the parser after this byte
 *   7    flush (line went quiet) after this byte
 * Without bit 6 the bytes pile up until the parser refuses one.
 *
 * Every event is checked against a reference judge written independently
 * of the parser, the byte accounting is checked at every step, and the
 * whole input is replayed one byte at a time with the same flush points:
 * both runs must give the same events. Any violation aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbus_frame.h"

#define MAX_PAIRS	(1 << 16)

#define CTL_FLAG	0x07
#define CTL_SUM		0x20
#define CTL_STEP	0x40
#define CTL_FLUSH	0x80

struct ev {
	u8 type;
	u8 ftype;
	u16 len;
};

struct shadow {
	u8 b[MAX_PAIRS];
	u8 f[MAX_PAIRS];
	size_t pushed;		/* bytes accepted by the parser */
	size_t consumed;	/* bytes accounted for by events */
	struct ev ev[MAX_PAIRS];
	size_t nev;
	size_t last_break;	/* offset of the last break pushed */
	size_t breaks;		/* number of breaks pushed */
	size_t replay;		/* replay mode: index of the next event */
	bool replaying;
};

static struct shadow sh;
static struct mbus_parser parser;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz-frame: %s:%d: %s (byte %zu)\n", \
			__FILE__, __LINE__, #cond, sh.consumed); \
		abort(); \
	} \
} while (0)

static bool is_start(u8 b)
{
	return b == MBUS_FRAME_ACK || b == MBUS_FRAME_SHORT_START ||
	       b == MBUS_FRAME_LONG_START;
}

/*
 * Length of the complete valid frame at @b (with @n bytes there), else 0.
 * Written from EN 13757-2, not from the parser.
 */
static size_t ref_frame(const u8 *b, size_t n)
{
	size_t l, i;
	u8 cs = 0;

	if (n >= 1 && b[0] == 0xe5)
		return 1;
	if (n >= 5 && b[0] == 0x10 && (u8)(b[1] + b[2]) == b[3] &&
	    b[4] == 0x16)
		return 5;
	if (n < 4 || b[0] != 0x68 || b[3] != 0x68 || b[1] != b[2] || b[1] < 3)
		return 0;
	l = b[1];
	if (n < l + 6)
		return 0;
	for (i = 4; i < 4 + l; i++)
		cs += b[i];
	return cs == b[4 + l] && b[5 + l] == 0x16 ? l + 6 : 0;
}

/* Could the @n bytes at @b still become a valid frame? */
static bool ref_incomplete(const u8 *b, size_t n)
{
	if (!n)
		return true;
	if (b[0] == 0x10)
		return n < 5;
	if (b[0] != 0x68)
		return false;
	if (n >= 2 && b[1] < 3)
		return false;
	if (n >= 3 && b[2] != b[1])
		return false;
	if (n >= 4 && b[3] != 0x68)
		return false;
	return n < 4 || n < (size_t)b[1] + 6;
}

static bool clean(size_t off, size_t n)
{
	size_t i;

	for (i = off; i < off + n; i++)
		if (sh.f[i] != MBUS_RX_NORMAL)
			return false;
	return true;
}

/* Is there a break among the pushed bytes from @off on? */
static bool break_from(size_t off)
{
	return sh.breaks && sh.last_break >= off;
}

static void check_event(const struct mbus_rx_event *ev, bool flush,
			unsigned int before, unsigned int after)
{
	size_t off = sh.consumed, avail = sh.pushed - off, n;
	enum mbus_frame_type t;

	CHECK(ev->type != MBUS_EV_NEED_MORE && ev->type <= MBUS_EV_BREAK);
	CHECK(ev->len >= 1 && ev->len <= avail);
	CHECK(before - after == ev->len);

	n = ref_frame(sh.b + off, avail);
	if (sh.f[off] == MBUS_RX_BREAK) {
		CHECK(ev->type == MBUS_EV_BREAK);
	} else if (sh.f[off] != MBUS_RX_NORMAL && is_start(sh.b[off])) {
		/* A candidate that starts with a bad byte is tainted. */
		CHECK(ev->type == MBUS_EV_TAINTED);
	} else if (n && clean(off, n)) {
		/* A valid, clean, complete frame must be delivered. */
		CHECK(ev->type == MBUS_EV_FRAME);
		CHECK(ev->len == n);
	}

	switch (ev->type) {
	case MBUS_EV_FRAME:
		CHECK(ev->data != NULL);
		CHECK(n == ev->len && clean(off, n));
		CHECK(!memcmp(ev->data, sh.b + off, n));
		CHECK(mbus_frame_check(ev->data, ev->len, &t) ==
		      MBUS_EV_FRAME);
		CHECK(t == ev->frame_type);
		CHECK(t == MBUS_FRAME_TYPE_ACK ? n == 1 :
		      t == MBUS_FRAME_TYPE_SHORT ? n == 5 :
		      t == MBUS_FRAME_TYPE_CONTROL ? n == 9 :
		      t == MBUS_FRAME_TYPE_LONG && n > 9);
		break;
	case MBUS_EV_BREAK:
		CHECK(ev->len == 1 && sh.f[off] == MBUS_RX_BREAK);
		break;
	case MBUS_EV_NOISE:
		CHECK(!is_start(sh.b[off]));
		break;
	case MBUS_EV_TAINTED:
		CHECK(sh.f[off] != MBUS_RX_NORMAL || (n && !clean(off, n)));
		break;
	case MBUS_EV_STALLED:
		/* Only a flush or a break ends a candidate early. */
		CHECK(flush || break_from(off));
		CHECK(sh.b[off] == 0x10 || sh.b[off] == 0x68);
		break;
	default:	/* BAD_CHECKSUM, BAD_LENGTH, BAD_STOP */
		CHECK(sh.b[off] == 0x10 || sh.b[off] == 0x68);
		break;
	}
	if (ev->type != MBUS_EV_FRAME) {
		/* The contract: a rejected candidate drops its start byte. */
		CHECK(ev->len == 1);
		CHECK(ev->data == NULL);
	}

	if (sh.replaying) {
		const struct ev *e = &sh.ev[sh.replay++];

		CHECK(sh.replay <= sh.nev);
		CHECK(e->type == ev->type && e->len == ev->len);
		CHECK(ev->type != MBUS_EV_FRAME || e->ftype == ev->frame_type);
	} else {
		CHECK(sh.nev < MAX_PAIRS);
		sh.ev[sh.nev].type = ev->type;
		sh.ev[sh.nev].ftype = ev->frame_type;
		sh.ev[sh.nev].len = ev->len;
		sh.nev++;
	}
	sh.consumed += ev->len;
}

static void steps(bool flush)
{
	struct mbus_rx_event ev;
	unsigned int before, after, guard = 0;

	for (;;) {
		before = mbus_parser_pending(&parser);
		CHECK(before == sh.pushed - sh.consumed);
		CHECK(mbus_parser_step(&parser, flush, &ev) == ev.type);
		after = mbus_parser_pending(&parser);
		if (ev.type == MBUS_EV_NEED_MORE) {
			size_t off = sh.consumed;

			CHECK(after == before);
			if (flush)
				CHECK(after == 0);
			/* Waiting is right only for a live, unbroken candidate. */
			CHECK(!break_from(off));
			CHECK(ref_incomplete(sh.b + off, after));
			return;
		}
		check_event(&ev, flush, before, after);
		CHECK(++guard <= MBUS_FRAME_MAX + 1);
	}
}

static void push(u8 byte, u8 flag)
{
	struct mbus_parser copy;
	struct mbus_rx_event ev;
	unsigned int pending = mbus_parser_pending(&parser);

	if (!mbus_parser_push(&parser, byte, flag)) {
		/* Refused only with a full buffer holding a whole candidate. */
		CHECK(pending == MBUS_FRAME_MAX);
		copy = parser;
		CHECK(mbus_parser_step(&copy, false, &ev) != MBUS_EV_NEED_MORE);
		steps(false);
		CHECK(mbus_parser_push(&parser, byte, flag));
	}
	CHECK(sh.pushed < MAX_PAIRS);
	sh.b[sh.pushed] = byte;
	sh.f[sh.pushed] = flag;
	if (flag == MBUS_RX_BREAK) {
		sh.last_break = sh.pushed;
		sh.breaks++;
	}
	sh.pushed++;
	CHECK(mbus_parser_pending(&parser) == sh.pushed - sh.consumed);
}

static u8 flag_of(u8 ctl)
{
	static const u8 map[8] = {
		MBUS_RX_NORMAL, MBUS_RX_NORMAL, MBUS_RX_NORMAL, MBUS_RX_NORMAL,
		MBUS_RX_PARITY, MBUS_RX_FRAMING, MBUS_RX_OVERRUN, MBUS_RX_BREAK,
	};

	return map[ctl & CTL_FLAG];
}

static void run(const uint8_t *data, size_t pairs, bool replay)
{
	size_t i, j;

	mbus_parser_init(&parser);
	sh.pushed = 0;
	sh.consumed = 0;
	sh.breaks = 0;
	sh.replay = 0;
	sh.replaying = replay;
	if (!replay)
		sh.nev = 0;

	for (i = 0; i < pairs; i++) {
		u8 byte = data[2 * i], ctl = data[2 * i + 1];

		if (ctl & CTL_SUM) {
			u8 sum = 0;

			for (j = 0; j < byte && j < sh.pushed; j++)
				sum += sh.b[sh.pushed - 1 - j];
			byte = sum;
		}
		push(byte, flag_of(ctl));
		if (replay || (ctl & CTL_STEP))
			steps(false);
		if (ctl & CTL_FLUSH)
			steps(true);
	}
	steps(true);
	CHECK(sh.consumed == sh.pushed);
	CHECK(mbus_parser_pending(&parser) == 0);
	if (replay)
		CHECK(sh.replay == sh.nev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pairs = size / 2;

	if (pairs > MAX_PAIRS / 2)
		pairs = MAX_PAIRS / 2;
	run(data, pairs, false);
	/* Byte by byte, same flush points: the very same events. */
	run(data, pairs, true);

	/* mbus_frame_check() on the raw input agrees with the reference. */
	if (size <= MBUS_FRAME_MAX + 8) {
		enum mbus_frame_type t;
		enum mbus_rx_event_type r = mbus_frame_check(data, size, &t);
		size_t n = ref_frame(data, size);

		CHECK((r == MBUS_EV_FRAME) == (n && n == size));
		CHECK(r == MBUS_EV_FRAME || t == MBUS_FRAME_NONE);
		if (n && n < size)
			CHECK(r == MBUS_EV_BAD_LENGTH);
		CHECK((r == MBUS_EV_NEED_MORE) == ref_incomplete(data, size));
	}
	return 0;
}
