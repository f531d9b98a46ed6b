// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * M-Bus (EN 13757-2) frame delimiter and validator
 *
 * Recognises the single character E5, the short frame (10 C A CS 16) and
 * the control and long frames (68 L L 68 C A CI ... CS 16). Byte 0 of the
 * buffer is always the candidate start of a frame; when a candidate fails,
 * only its first byte is dropped and the rest is examined again, so a
 * valid frame that follows garbage is still found.
 *
 * Pure code shared by the kernel and user space: no locks, no allocation.
 */
#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

#include "mbus_frame.h"

void mbus_parser_init(struct mbus_parser *p)
{
	p->start = 0;
	p->len = 0;
	p->consume = 0;
	p->brk = MBUS_PARSER_NONE;
	p->err = MBUS_PARSER_NONE;
	p->sum[0] = 0;
}

/*
 * The first byte at or after @from (and @p->start) whose flag @is_err or
 * is a break (!@is_err) picks, or MBUS_PARSER_NONE. Searching only from
 * where the last search ended keeps every byte searched once.
 */
static u16 mbus_parser_find(const struct mbus_parser *p, unsigned int from,
			    bool is_err)
{
	unsigned int i, end = p->start + p->len;

	if (from < p->start)
		from = p->start;
	for (i = from; i < end; i++)
		if (is_err ? p->flag[i] != MBUS_RX_NORMAL :
			     p->flag[i] == MBUS_RX_BREAK)
			return i;
	return MBUS_PARSER_NONE;
}

static void mbus_parser_drop(struct mbus_parser *p, unsigned int n)
{
	if (n >= p->len) {
		mbus_parser_init(p);
		return;
	}
	p->start += n;
	p->len -= n;
	if (p->brk < p->start)
		p->brk = mbus_parser_find(p, p->brk + 1, false);
	if (p->err < p->start)
		p->err = mbus_parser_find(p, p->err + 1, true);
}

/* Move the unconsumed bytes to the front of @buf. */
static void mbus_parser_compact(struct mbus_parser *p)
{
	unsigned int i, off = p->start;

	memmove(p->buf, p->buf + off, p->len);
	memmove(p->flag, p->flag + off, p->len);
	p->sum[0] = 0;
	for (i = 0; i < p->len; i++)
		p->sum[i + 1] = p->sum[i] + p->buf[i];
	if (p->brk != MBUS_PARSER_NONE)
		p->brk -= off;
	if (p->err != MBUS_PARSER_NONE)
		p->err -= off;
	p->start = 0;
}

bool mbus_parser_push(struct mbus_parser *p, u8 byte, u8 flag)
{
	unsigned int pos;

	if (p->consume) {
		mbus_parser_drop(p, p->consume);
		p->consume = 0;
	}
	if (p->len >= MBUS_FRAME_MAX)
		return false;
	if (p->start + p->len >= MBUS_PARSER_BUF)
		mbus_parser_compact(p);
	pos = p->start + p->len;
	p->buf[pos] = byte;
	p->flag[pos] = flag;
	p->sum[pos + 1] = p->sum[pos] + byte;
	if (flag == MBUS_RX_BREAK && p->brk == MBUS_PARSER_NONE)
		p->brk = pos;
	if (flag != MBUS_RX_NORMAL && p->err == MBUS_PARSER_NONE)
		p->err = pos;
	p->len++;
	return true;
}

/*
 * Word-at-a-time checksum: a long frame has up to 255 bytes, and adding
 * them one by one was most of the cost of validating it.
 *
 * A word is seen as 16-bit lanes, each an even byte (low half) and an odd
 * byte (high half). Two sums run over the words: @all of the whole words
 * and @even of their even bytes (w & MBUS_SUM_MASK; a lane gains at most
 * 255 a word, so up to MBUS_SUM_WORDS words it cannot overflow). all - even
 * is the sum of the odd bytes: its lanes hold their odd-byte sum modulo 256
 * in the high half, and in the low half the carries out of the lane below
 * (fewer than 128). So even + ((all - even) >> 8) has in each lane the sum
 * of its even and odd bytes, modulo 256 in the low half, and the low halves
 * of the lanes add up, modulo 256, to the sum of all the bytes - whatever
 * the size or byte order of a word.
 */
#define MBUS_SUM_MASK	(~0UL / 0xffff * 0xff)	/* 0x00ff00ff... */
#define MBUS_SUM_WORDS	128u

static inline void mbus_sum_word(const u8 *buf, unsigned long *all,
				 unsigned long *even)
{
	unsigned long w;

	memcpy(&w, buf, sizeof(w));	/* may be unaligned */
	*all += w;
	*even += w & MBUS_SUM_MASK;
}

u8 mbus_frame_checksum(const u8 *buf, unsigned int len)
{
	const unsigned int wsize = sizeof(unsigned long);
	unsigned long all, even;
	unsigned int i, n;
	u8 sum = 0;

	while (len >= wsize) {
		n = len / wsize;
		if (n > MBUS_SUM_WORDS)
			n = MBUS_SUM_WORDS;
		len -= n * wsize;
		all = 0;
		even = 0;
		/* Two words a round: half the loop overhead. */
		for (; n >= 2; n -= 2) {
			mbus_sum_word(buf, &all, &even);
			mbus_sum_word(buf + wsize, &all, &even);
			buf += 2 * wsize;
		}
		if (n) {
			mbus_sum_word(buf, &all, &even);
			buf += wsize;
		}
		even += (all - even) >> 8;
		for (i = 0; i < sizeof(even) * 8; i += 16)
			sum += (u8)(even >> i);
	}
	while (len--)
		sum += *buf++;
	return sum;
}

/* Sum of @buf[@a..@b): from the prefix sums @sum if given (O(1)). */
static u8 mbus_judge_sum(const u8 *buf, const u8 *sum, unsigned int a,
			 unsigned int b)
{
	if (sum)
		return (u8)(sum[b] - sum[a]);
	return mbus_frame_checksum(buf + a, b - a);
}

/*
 * Judge the candidate at the start of @buf. Return MBUS_EV_FRAME with
 * *@flen set when a complete valid frame is there, MBUS_EV_NEED_MORE when
 * the bytes so far are a valid beginning, else the fault. Error flags are
 * not looked at here. @sum, if not NULL, are prefix sums aligned with
 * @buf (sum[j] - sum[i] is the sum of buf[i..j)).
 */
static enum mbus_rx_event_type mbus_frame_judge(const u8 *buf,
						const u8 *sum,
						unsigned int len,
						unsigned int *flen,
						enum mbus_frame_type *type)
{
	unsigned int l, total;

	*type = MBUS_FRAME_NONE;
	if (!len)
		return MBUS_EV_NEED_MORE;

	switch (buf[0]) {
	case MBUS_FRAME_ACK:
		*flen = MBUS_ACK_LEN;
		*type = MBUS_FRAME_TYPE_ACK;
		return MBUS_EV_FRAME;
	case MBUS_FRAME_SHORT_START:
		if (len < MBUS_SHORT_LEN)
			return MBUS_EV_NEED_MORE;
		if (mbus_judge_sum(buf, sum, 1, 3) != buf[3])
			return MBUS_EV_BAD_CHECKSUM;
		if (buf[4] != MBUS_FRAME_STOP)
			return MBUS_EV_BAD_STOP;
		*flen = MBUS_SHORT_LEN;
		*type = MBUS_FRAME_TYPE_SHORT;
		return MBUS_EV_FRAME;
	case MBUS_FRAME_LONG_START:
		break;
	default:
		return MBUS_EV_NOISE;
	}

	/* 68 L L 68: check each header byte as soon as it is there. */
	if (len < 2)
		return MBUS_EV_NEED_MORE;
	l = buf[1];
	if (l < MBUS_LONG_L_MIN)
		return MBUS_EV_BAD_LENGTH;
	if (len < 3)
		return MBUS_EV_NEED_MORE;
	if (buf[2] != l)
		return MBUS_EV_BAD_LENGTH;
	if (len < 4)
		return MBUS_EV_NEED_MORE;
	if (buf[3] != MBUS_FRAME_LONG_START)
		return MBUS_EV_BAD_LENGTH;

	total = l + MBUS_LONG_OVERHEAD;
	if (len < total)
		return MBUS_EV_NEED_MORE;
	if (mbus_judge_sum(buf, sum, MBUS_LONG_HDR_LEN,
			   MBUS_LONG_HDR_LEN + l) != buf[MBUS_LONG_HDR_LEN + l])
		return MBUS_EV_BAD_CHECKSUM;
	if (buf[total - 1] != MBUS_FRAME_STOP)
		return MBUS_EV_BAD_STOP;
	*flen = total;
	*type = l == MBUS_LONG_L_MIN ? MBUS_FRAME_TYPE_CONTROL :
				       MBUS_FRAME_TYPE_LONG;
	return MBUS_EV_FRAME;
}

/* Whether one of the first @n candidate bytes had a UART error. */
static bool mbus_parser_tainted(const struct mbus_parser *p, unsigned int n)
{
	return p->err != MBUS_PARSER_NONE && p->err < p->start + n;
}

/* First break among the candidate bytes (relative to it), or @p->len. */
static unsigned int mbus_parser_find_break(const struct mbus_parser *p)
{
	return p->brk == MBUS_PARSER_NONE ? p->len : p->brk - p->start;
}

static enum mbus_rx_event_type mbus_parser_emit(struct mbus_rx_event *ev,
						enum mbus_rx_event_type type,
						unsigned int len)
{
	ev->type = type;
	ev->len = len;
	return type;
}

enum mbus_rx_event_type mbus_parser_step(struct mbus_parser *p, bool flush,
					 struct mbus_rx_event *ev)
{
	enum mbus_rx_event_type res;
	unsigned int flen = 0, brk;

	if (p->consume) {
		mbus_parser_drop(p, p->consume);
		p->consume = 0;
	}
	ev->data = NULL;
	ev->frame_type = MBUS_FRAME_NONE;

	if (!p->len)
		return mbus_parser_emit(ev, MBUS_EV_NEED_MORE, 0);

	/* A break ends whatever came before it. */
	if (p->flag[p->start] == MBUS_RX_BREAK) {
		mbus_parser_drop(p, 1);
		return mbus_parser_emit(ev, MBUS_EV_BREAK, 1);
	}
	brk = mbus_parser_find_break(p);

	res = mbus_frame_judge(p->buf + p->start, p->sum + p->start, brk,
			       &flen, &ev->frame_type);
	if (res == MBUS_EV_NEED_MORE) {
		if (!flush && brk == p->len)
			return mbus_parser_emit(ev, MBUS_EV_NEED_MORE, 0);
		/* The line went quiet or broke: the candidate is dead. */
		res = MBUS_EV_STALLED;
	}
	if (res != MBUS_EV_FRAME) {
		if (res != MBUS_EV_NOISE && p->flag[p->start] != MBUS_RX_NORMAL)
			res = MBUS_EV_TAINTED;
		mbus_parser_drop(p, 1);
		return mbus_parser_emit(ev, res, 1);
	}
	if (mbus_parser_tainted(p, flen)) {
		mbus_parser_drop(p, 1);
		return mbus_parser_emit(ev, MBUS_EV_TAINTED, 1);
	}
	p->consume = flen;
	ev->data = p->buf + p->start;
	return mbus_parser_emit(ev, MBUS_EV_FRAME, flen);
}

enum mbus_rx_event_type mbus_frame_check(const u8 *buf, unsigned int len,
					 enum mbus_frame_type *type)
{
	enum mbus_frame_type t;
	enum mbus_rx_event_type res;
	unsigned int flen = 0;

	res = mbus_frame_judge(buf, NULL, len, &flen, &t);
	if (res == MBUS_EV_FRAME && flen != len)
		res = MBUS_EV_BAD_LENGTH;
	if (type)
		*type = res == MBUS_EV_FRAME ? t : MBUS_FRAME_NONE;
	return res;
}
