/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * M-Bus (EN 13757-2) frame delimiter and validator
 *
 * Pure code: no locks, no allocation, no tty. The kernel line discipline
 * feeds it the received bytes with their error flags; the very same source
 * builds in user space for libnmbus, the unit tests and the fuzzer.
 */
#ifndef _MBUS_FRAME_H
#define _MBUS_FRAME_H

#include <linux/types.h>
#ifndef __KERNEL__
#include "ktypes.h"	/* u8, u16, bool for user space (lib/ktypes.h) */
#endif

/* The kernel has a <linux/mbus.h> of its own (Marvell MBus). */
#ifdef __KERNEL__
#include <uapi/linux/mbus.h>
#else
#include <linux/mbus.h>
#endif

/* Lengths of the fixed-size frames and of a long frame's envelope. */
#define MBUS_ACK_LEN		1
#define MBUS_SHORT_LEN		5	/* 10 C A CS 16 */
#define MBUS_LONG_HDR_LEN	4	/* 68 L L 68 */
#define MBUS_LONG_OVERHEAD	6	/* header + CS + 16 */
#define MBUS_LONG_L_MIN		3	/* C A CI */

/* What the UART said about a received byte (TTY_* mapped by the caller). */
enum mbus_rx_flag {
	MBUS_RX_NORMAL = 0,
	MBUS_RX_PARITY,
	MBUS_RX_FRAMING,
	MBUS_RX_OVERRUN,
	MBUS_RX_BREAK,
};

/* Frame kinds, from the first byte and the L field. */
enum mbus_frame_type {
	MBUS_FRAME_NONE = 0,
	MBUS_FRAME_TYPE_ACK,		/* E5 */
	MBUS_FRAME_TYPE_SHORT,		/* 10 C A CS 16 */
	MBUS_FRAME_TYPE_CONTROL,	/* 68 03 03 68 C A CI CS 16 */
	MBUS_FRAME_TYPE_LONG,		/* 68 L L 68 C A CI data CS 16, L > 3 */
};

/* What one parser step produced. */
enum mbus_rx_event_type {
	MBUS_EV_NEED_MORE = 0,	/* nothing more until more bytes arrive */
	MBUS_EV_FRAME,		/* a valid frame (or E5) in ev->data */
	MBUS_EV_NOISE,		/* a byte that starts no frame was dropped */
	MBUS_EV_BAD_CHECKSUM,	/* candidate frame dropped: checksum */
	MBUS_EV_BAD_LENGTH,	/* candidate dropped: L fields, 2nd start */
	MBUS_EV_BAD_STOP,	/* candidate dropped: no stop byte */
	MBUS_EV_TAINTED,	/* candidate dropped: a byte had a UART error */
	MBUS_EV_STALLED,	/* flush: a partial frame was dropped */
	MBUS_EV_BREAK,		/* a break was received */
};

/**
 * struct mbus_rx_event - one result of mbus_parser_step()
 * @type: what happened.
 * @frame_type: for %MBUS_EV_FRAME, the kind of frame.
 * @len: for %MBUS_EV_FRAME the frame length; for the dropping events the
 *	number of bytes dropped (1 for a rejected candidate: the bytes after
 *	its start byte are examined again, so a valid frame hidden behind
 *	garbage is not lost).
 * @data: for %MBUS_EV_FRAME the frame; valid until the next call on the
 *	parser.
 */
struct mbus_rx_event {
	enum mbus_rx_event_type type;
	enum mbus_frame_type frame_type;
	u16 len;
	const u8 *data;
};

/* Room of the parser: twice a frame, so that compacting is rare. */
#define MBUS_PARSER_BUF		(2 * MBUS_FRAME_MAX)
#define MBUS_PARSER_NONE	0xffff	/* no such byte in @buf */

/**
 * struct mbus_parser - receive state of the frame delimiter
 * @buf: bytes received; @buf[@start] is a frame candidate, the @len bytes
 *	from there are not yet consumed.
 * @flag: the &enum mbus_rx_flag of each byte in @buf.
 * @sum: prefix sums modulo 256: @sum[i] is the sum of @buf[0..i), so any
 *	checksum is @sum[b] - @sum[a], whatever the length.
 * @start: index of the candidate in @buf.
 * @len: number of bytes from @start.
 * @consume: bytes to drop from @buf at the next step (the frame last
 *	returned).
 * @brk: index of the first break at or after @start, or
 *	%MBUS_PARSER_NONE.
 * @err: index of the first byte with an error flag (break included) at
 *	or after @start, or %MBUS_PARSER_NONE.
 *
 * Every step costs the same whatever the bytes: no byte is moved, summed
 * or searched more than a fixed number of times between arriving and
 * leaving (bytes move only when @buf is compacted, once per
 * %MBUS_FRAME_MAX bytes at most).
 */
struct mbus_parser {
	u8 buf[MBUS_PARSER_BUF];
	u8 flag[MBUS_PARSER_BUF];
	u8 sum[MBUS_PARSER_BUF + 1];
	u16 start;
	u16 len;
	u16 consume;
	u16 brk;
	u16 err;
};

void mbus_parser_init(struct mbus_parser *p);

/**
 * mbus_parser_push() - append one received byte
 * @p: the parser
 * @byte: the byte
 * @flag: its &enum mbus_rx_flag
 *
 * Return: true if the byte was stored; false if the caller must first run
 * mbus_parser_step() until it returns %MBUS_EV_NEED_MORE (the buffer holds
 * a complete candidate). A break is stored like a byte and reported by
 * the step that reaches it.
 */
bool mbus_parser_push(struct mbus_parser *p, u8 byte, u8 flag);

/**
 * mbus_parser_step() - examine the buffered bytes
 * @p: the parser
 * @flush: the line went quiet (inter-character timeout): treat an
 *	incomplete candidate as dead instead of waiting for more bytes.
 * @ev: the result
 *
 * Call repeatedly until it returns %MBUS_EV_NEED_MORE. Each call consumes
 * at least one byte unless it returns %MBUS_EV_NEED_MORE.
 *
 * Return: @ev->type.
 */
enum mbus_rx_event_type mbus_parser_step(struct mbus_parser *p, bool flush,
					 struct mbus_rx_event *ev);

/* Bytes buffered that are not yet a complete frame. */
static inline unsigned int mbus_parser_pending(const struct mbus_parser *p)
{
	return p->len - p->consume;
}

/**
 * mbus_frame_checksum() - arithmetic sum modulo 256
 * @buf: the bytes
 * @len: their number
 *
 * Return: the EN 13757-2 checksum of @buf.
 */
u8 mbus_frame_checksum(const u8 *buf, unsigned int len);

/**
 * mbus_frame_check() - validate a buffer holding exactly one frame
 * @buf: the bytes
 * @len: their number
 * @type: if not NULL, set to the frame's kind
 *
 * Return: %MBUS_EV_FRAME if @buf is exactly one valid frame (ACK, short,
 * control or long), else the &enum mbus_rx_event_type naming the first
 * fault (%MBUS_EV_NEED_MORE if @buf is a valid but incomplete beginning,
 * %MBUS_EV_BAD_LENGTH also for bytes past the end of the frame).
 */
enum mbus_rx_event_type mbus_frame_check(const u8 *buf, unsigned int len,
					 enum mbus_frame_type *type);

#endif /* _MBUS_FRAME_H */
