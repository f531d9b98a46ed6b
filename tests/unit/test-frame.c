// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Unit tests of the EN 13757-2 frame delimiter (driver/mbus_frame.c).
 *
 * Every test builds a stream of bytes with their UART flags, feeds it to the
 * parser through run_push()/run_steps() and looks at the recorded events.
 * The runner itself checks the invariants that hold for any input (byte
 * accounting, frames valid and untainted, push refused only when allowed)
 * and counts violations; each test asserts that there were none.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbus_frame.h"

/* The 6.1 harness and its TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#define ACK	MBUS_FRAME_ACK
#define SHORT	MBUS_FRAME_SHORT_START
#define LONG	MBUS_FRAME_LONG_START
#define STOP	MBUS_FRAME_STOP

/* ---- pseudo-random numbers (splitmix64), seeded per test ---- */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed;
}

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static bool is_start(u8 b)
{
	return b == ACK || b == SHORT || b == LONG;
}

/* A byte that cannot start a frame. */
static u8 clean_byte(void)
{
	u8 b;

	do {
		b = (u8)rnd();
	} while (is_start(b));
	return b;
}

/* ---- frame builders ---- */

static size_t mk_ack(u8 *f)
{
	f[0] = ACK;
	return MBUS_ACK_LEN;
}

static size_t mk_short(u8 *f, u8 c, u8 a)
{
	f[0] = SHORT;
	f[1] = c;
	f[2] = a;
	f[3] = (u8)(c + a);
	f[4] = STOP;
	return MBUS_SHORT_LEN;
}

/* Fix the checksum of a long frame after its body was changed. */
static void fix_long(u8 *f)
{
	unsigned int l = f[1];

	f[MBUS_LONG_HDR_LEN + l] = mbus_frame_checksum(f + MBUS_LONG_HDR_LEN, l);
}

/*
 * Control (l == 3) or long frame. With @clean, no byte after the first
 * can start a frame (C = 08, A != C, CI = 72, data clean), so the bytes of
 * a rejected copy never form a frame of their own.
 */
static size_t mk_long(u8 *f, unsigned int l, bool clean)
{
	unsigned int i;

	f[0] = LONG;
	f[1] = (u8)l;
	f[2] = (u8)l;
	f[3] = LONG;
	f[4] = 0x08;
	do {
		f[5] = clean ? clean_byte() : (u8)rnd();
	} while (f[5] == f[4]);
	f[6] = 0x72;
	for (i = 7; i < MBUS_LONG_HDR_LEN + l; i++)
		f[i] = clean ? clean_byte() : (u8)rnd();
	f[l + 5] = STOP;
	fix_long(f);
	if (clean && is_start(f[l + 4])) {
		/* Nudge the last data byte until the checksum is clean too. */
		while (is_start(f[l + 4])) {
			do {
				f[l + 3]++;
			} while (is_start(f[l + 3]));
			fix_long(f);
		}
	}
	return l + MBUS_LONG_OVERHEAD;
}

/* Kinds of frames most tests run over. */
enum kind { K_ACK, K_SHORT, K_CONTROL, K_LONG4, K_LONG100, K_LONG255, K_NR };

static size_t mk_kind(u8 *f, enum kind k)
{
	switch (k) {
	case K_ACK:
		return mk_ack(f);
	case K_SHORT:
		return mk_short(f, 0x5b, 0x01);
	case K_CONTROL:
		return mk_long(f, 3, true);
	case K_LONG4:
		return mk_long(f, 4, true);
	case K_LONG100:
		return mk_long(f, 100, true);
	default:
		return mk_long(f, 255, true);
	}
}

static int type_of_kind(enum kind k)
{
	switch (k) {
	case K_ACK:
		return MBUS_FRAME_TYPE_ACK;
	case K_SHORT:
		return MBUS_FRAME_TYPE_SHORT;
	case K_CONTROL:
		return MBUS_FRAME_TYPE_CONTROL;
	default:
		return MBUS_FRAME_TYPE_LONG;
	}
}

/* Any valid frame, random kind and contents. */
static size_t mk_random(u8 *f)
{
	switch (rnd_below(4)) {
	case 0:
		return mk_ack(f);
	case 1:
		return mk_short(f, (u8)rnd(), (u8)rnd());
	case 2:
		return mk_long(f, 3, false);
	default:
		return mk_long(f, 3 + rnd_below(253), false);
	}
}

/* ---- streams: bytes, flags, and where the valid frames were put ---- */

struct inserted {
	size_t off;
	unsigned int len;
	int type;
};

struct stream {
	u8 *b;
	u8 *f;
	size_t len, cap;
	struct inserted *fr;
	size_t nfr, capfr;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		abort();
	}
	return p;
}

static void st_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
}

static void st_free(struct stream *s)
{
	free(s->b);
	free(s->f);
	free(s->fr);
	st_init(s);
}

static void st_put(struct stream *s, u8 b, u8 flag)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->b = xrealloc(s->b, s->cap);
		s->f = xrealloc(s->f, s->cap);
	}
	s->b[s->len] = b;
	s->f[s->len] = flag;
	s->len++;
}

static void st_bytes(struct stream *s, const u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		st_put(s, b[i], MBUS_RX_NORMAL);
}

static void st_break(struct stream *s, u8 value)
{
	st_put(s, value, MBUS_RX_BREAK);
}

/* Append a valid frame the parser must deliver; return its offset. */
static size_t st_frame(struct stream *s, const u8 *f, size_t n)
{
	enum mbus_frame_type t;
	size_t off = s->len;

	if (mbus_frame_check(f, n, &t) != MBUS_EV_FRAME) {
		fprintf(stderr, "%s: test bug, invalid frame\n", __func__);
		abort();
	}
	if (s->nfr == s->capfr) {
		s->capfr = s->capfr ? 2 * s->capfr : 64;
		s->fr = xrealloc(s->fr, s->capfr * sizeof(*s->fr));
	}
	s->fr[s->nfr].off = off;
	s->fr[s->nfr].len = n;
	s->fr[s->nfr].type = t;
	s->nfr++;
	st_bytes(s, f, n);
	return off;
}

static void st_noise(struct stream *s, size_t n, bool clean)
{
	while (n--)
		st_put(s, clean ? clean_byte() : (u8)rnd(), MBUS_RX_NORMAL);
}

/* ---- the runner: feeds a stream, records events, checks invariants ---- */

struct rec {
	int type;
	int ftype;
	unsigned int len;
	size_t off;		/* stream offset of the first byte consumed */
};

struct run {
	struct mbus_parser p;
	const struct stream *s;
	size_t pushed, consumed;
	struct rec *ev;
	size_t nev, cap;
	unsigned long count[MBUS_EV_BREAK + 1];
	unsigned long refused;
	unsigned long violations;
	char why[256];
};

#define violation(r, ...) do { \
	if (!(r)->violations++) \
		snprintf((r)->why, sizeof((r)->why), __VA_ARGS__); \
} while (0)

static void run_init(struct run *r, const struct stream *s)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	mbus_parser_init(&r->p);
}

static void run_free(struct run *r)
{
	free(r->ev);
	r->ev = NULL;
}

static void run_record(struct run *r, const struct mbus_rx_event *ev)
{
	struct rec *e;

	if (r->nev == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->ev = xrealloc(r->ev, r->cap * sizeof(*r->ev));
	}
	e = &r->ev[r->nev++];
	e->type = ev->type;
	e->ftype = ev->frame_type;
	e->len = ev->len;
	e->off = r->consumed;
}

/* Check one event against the stream and account for its bytes. */
static void run_check(struct run *r, const struct mbus_rx_event *ev,
		      unsigned int before, unsigned int after)
{
	const struct stream *s = r->s;
	size_t off = r->consumed, i;
	enum mbus_frame_type t;

	if (ev->type > MBUS_EV_BREAK) {
		violation(r, "unknown event %d at %zu", ev->type, off);
		return;
	}
	r->count[ev->type]++;
	if (ev->len < 1 || before - after != ev->len) {
		violation(r, "event %d at %zu: len %u, pending %u -> %u",
			  ev->type, off, ev->len, before, after);
		return;
	}
	if (off + ev->len > r->pushed) {
		violation(r, "event %d at %zu consumes unpushed bytes",
			  ev->type, off);
		return;
	}
	run_record(r, ev);
	r->consumed += ev->len;

	switch (ev->type) {
	case MBUS_EV_FRAME:
		if (!ev->data || memcmp(ev->data, s->b + off, ev->len)) {
			violation(r, "frame at %zu: data is not the stream", off);
			break;
		}
		if (mbus_frame_check(ev->data, ev->len, &t) != MBUS_EV_FRAME ||
		    t != ev->frame_type || t == MBUS_FRAME_NONE)
			violation(r, "frame at %zu len %u fails the check",
				  off, ev->len);
		for (i = off; i < off + ev->len; i++)
			if (s->f[i] != MBUS_RX_NORMAL)
				violation(r, "frame at %zu has flag %u at %zu",
					  off, s->f[i], i);
		break;
	case MBUS_EV_BREAK:
		if (ev->len != 1 || s->f[off] != MBUS_RX_BREAK)
			violation(r, "break event at %zu is no break", off);
		break;
	case MBUS_EV_NOISE:
		if (is_start(s->b[off]) && s->f[off] != MBUS_RX_BREAK)
			violation(r, "start byte %02x at %zu called noise",
				  s->b[off], off);
		/* fall through */
	default:
		if (ev->len != 1)
			violation(r, "drop event %d at %zu drops %u bytes",
				  ev->type, off, ev->len);
		if (s->f[off] == MBUS_RX_BREAK)
			violation(r, "break at %zu reported as %d",
				  off, ev->type);
		if (ev->data)
			violation(r, "drop event %d at %zu has data",
				  ev->type, off);
		break;
	}
}

/* Step until NEED_MORE, recording and checking every event. */
static void run_steps(struct run *r, bool flush)
{
	struct mbus_rx_event ev;
	unsigned int before, after, guard = 0;

	for (;;) {
		before = mbus_parser_pending(&r->p);
		memset(&ev, 0xa5, sizeof(ev));
		if (mbus_parser_step(&r->p, flush, &ev) != ev.type) {
			violation(r, "step returned something else than ev->type");
			return;
		}
		after = mbus_parser_pending(&r->p);
		if (ev.type == MBUS_EV_NEED_MORE) {
			if (after != before)
				violation(r, "NEED_MORE changed pending %u -> %u",
					  before, after);
			if (flush && after)
				violation(r, "flush left %u bytes", after);
			if (r->pushed - r->consumed != after)
				violation(r, "pending %u, unconsumed %zu", after,
					  r->pushed - r->consumed);
			return;
		}
		run_check(r, &ev, before, after);
		if (++guard > MBUS_FRAME_MAX + 2) {
			violation(r, "step does not converge");
			return;
		}
	}
}

/* Push the next @n bytes of the stream, stepping when push refuses. */
static void run_push(struct run *r, size_t n)
{
	const struct stream *s = r->s;
	struct mbus_rx_event ev;
	struct mbus_parser copy;

	while (n-- && r->pushed < s->len) {
		unsigned int pending = mbus_parser_pending(&r->p);

		if (mbus_parser_push(&r->p, s->b[r->pushed],
				     s->f[r->pushed])) {
			if (mbus_parser_pending(&r->p) != pending + 1)
				violation(r, "push did not store the byte");
			r->pushed++;
			continue;
		}
		r->refused++;
		if (pending != MBUS_FRAME_MAX)
			violation(r, "push refused with %u pending", pending);
		/* The buffer must hold a complete candidate. */
		copy = r->p;
		if (mbus_parser_step(&copy, false, &ev) == MBUS_EV_NEED_MORE)
			violation(r, "push refused but step wants more");
		run_steps(r, false);
		if (!mbus_parser_push(&r->p, s->b[r->pushed],
				      s->f[r->pushed])) {
			violation(r, "push refused after stepping");
			return;
		}
		r->pushed++;
	}
}

/* Feed a whole stream in chunks of @chunk bytes (0: random sizes). */
static void run_stream(struct run *r, const struct stream *s, size_t chunk,
		       bool flush_end)
{
	run_init(r, s);
	while (r->pushed < s->len) {
		run_push(r, chunk ? chunk : 1 + rnd_below(600));
		run_steps(r, false);
	}
	if (flush_end)
		run_steps(r, true);
}

#define ASSERT_RUN_OK(r) \
	ASSERT_EQ(0UL, (r)->violations) TH_LOG("%s", (r)->why)

/* The event that consumed stream offset @off, or NULL. */
static const struct rec *rec_at(const struct run *r, size_t off)
{
	size_t lo = 0, hi = r->nev;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->ev[mid].off + r->ev[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->nev && r->ev[lo].off <= off)
		return &r->ev[lo];
	return NULL;
}

static bool delivered(const struct run *r, size_t off, unsigned int len)
{
	const struct rec *e = rec_at(r, off);

	return e && e->off == off && e->type == MBUS_EV_FRAME &&
	       e->len == len;
}

/* Inserted frames that were not delivered exactly. */
static size_t lost_frames(const struct run *r)
{
	size_t i, lost = 0;

	for (i = 0; i < r->s->nfr; i++)
		if (!delivered(r, r->s->fr[i].off, r->s->fr[i].len) ||
		    rec_at(r, r->s->fr[i].off)->ftype != r->s->fr[i].type)
			lost++;
	return lost;
}

/* Delivered frames of type @type (-1: any) that were not inserted. */
static size_t false_frames(const struct run *r, int type)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < r->nev; i++) {
		const struct rec *e = &r->ev[i];

		if (e->type != MBUS_EV_FRAME)
			continue;
		while (j < r->s->nfr && r->s->fr[j].off < e->off)
			j++;
		if (j < r->s->nfr && r->s->fr[j].off == e->off &&
		    r->s->fr[j].len == e->len)
			continue;
		if (type < 0 || e->ftype == type)
			n++;
	}
	return n;
}

/* E5 bytes of the stream inside false frames other than ACKs. */
static size_t e5_in_false_frames(const struct run *r)
{
	size_t i, j, k = 0, n = 0;

	for (i = 0; i < r->nev; i++) {
		const struct rec *e = &r->ev[i];

		if (e->type != MBUS_EV_FRAME || e->ftype == MBUS_FRAME_TYPE_ACK)
			continue;
		while (k < r->s->nfr && r->s->fr[k].off < e->off)
			k++;
		if (k < r->s->nfr && r->s->fr[k].off == e->off)
			continue;
		for (j = e->off; j < e->off + e->len; j++)
			n += r->s->b[j] == ACK;
	}
	return n;
}

/* ==== every frame type is delivered ==== */

TEST(ack_is_delivered_as_a_one_byte_frame)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];

	st_init(&s);
	st_frame(&s, f, mk_ack(f));
	run_stream(&r, &s, 1, false);
	ASSERT_RUN_OK(&r);
	ASSERT_EQ(1UL, r.nev);
	EXPECT_EQ(MBUS_EV_FRAME, r.ev[0].type);
	EXPECT_EQ(MBUS_FRAME_TYPE_ACK, r.ev[0].ftype);
	EXPECT_EQ(1U, r.ev[0].len);
	EXPECT_EQ(0U, mbus_parser_pending(&r.p));
	run_free(&r);
	st_free(&s);
}

TEST(short_frame_is_delivered)
{
	static const u8 snd_nke[] = { 0x10, 0x40, 0x01, 0x41, 0x16 };
	struct mbus_parser p;
	struct mbus_rx_event ev;
	unsigned int i;

	mbus_parser_init(&p);
	for (i = 0; i < sizeof(snd_nke); i++) {
		ASSERT_TRUE(mbus_parser_push(&p, snd_nke[i], MBUS_RX_NORMAL));
		if (i + 1 < sizeof(snd_nke)) {
			ASSERT_EQ(MBUS_EV_NEED_MORE,
				  (int)mbus_parser_step(&p, false, &ev));
		}
	}
	ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(MBUS_FRAME_TYPE_SHORT, (int)ev.frame_type);
	ASSERT_EQ(5, (int)ev.len);
	EXPECT_EQ(0, memcmp(snd_nke, ev.data, 5));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(0U, mbus_parser_pending(&p));
}

TEST(control_frame_is_delivered)
{
	/* SND_UD with CI 51 and no data: the smallest 68h frame. */
	static const u8 ctl[] = { 0x68, 0x03, 0x03, 0x68, 0x53, 0xfe, 0x51,
				  0xa2, 0x16 };
	struct mbus_parser p;
	struct mbus_rx_event ev;
	unsigned int i;

	mbus_parser_init(&p);
	for (i = 0; i < sizeof(ctl); i++)
		ASSERT_TRUE(mbus_parser_push(&p, ctl[i], MBUS_RX_NORMAL));
	ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(MBUS_FRAME_TYPE_CONTROL, (int)ev.frame_type);
	ASSERT_EQ(9, (int)ev.len);
	EXPECT_EQ(0, memcmp(ctl, ev.data, 9));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, false, &ev));
}

TEST(long_frames_of_every_length_are_delivered)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	unsigned int l;

	rng_seed(1);
	/* Each length alone, then all of them back to back. */
	for (l = MBUS_LONG_L_MIN; l <= 255; l++) {
		st_init(&s);
		st_frame(&s, f, mk_long(f, l, false));
		run_stream(&r, &s, 1, false);
		ASSERT_RUN_OK(&r);
		ASSERT_EQ(1UL, r.nev);
		EXPECT_EQ(l + 6, r.ev[0].len);
		EXPECT_EQ(l == 3 ? MBUS_FRAME_TYPE_CONTROL :
				   MBUS_FRAME_TYPE_LONG, r.ev[0].ftype);
		run_free(&r);
		st_free(&s);
	}
	st_init(&s);
	for (l = MBUS_LONG_L_MIN; l <= 255; l++)
		st_frame(&s, f, mk_long(f, l, false));
	run_stream(&r, &s, 1, false);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(253UL, r.nev);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0UL, false_frames(&r, -1));
	run_free(&r);
	st_free(&s);
}

TEST(largest_frame_fills_the_whole_buffer)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;
	u8 f[MBUS_FRAME_MAX];
	unsigned int i;

	rng_seed(2);
	ASSERT_EQ(261U, (unsigned int)mk_long(f, 255, false));
	mbus_parser_init(&p);
	for (i = 0; i < 261; i++)
		ASSERT_TRUE(mbus_parser_push(&p, f[i], MBUS_RX_NORMAL));
	/* Full: the next byte waits until the frame is taken. */
	EXPECT_FALSE(mbus_parser_push(&p, ACK, MBUS_RX_NORMAL));
	ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(261, (int)ev.len);
	EXPECT_EQ(MBUS_FRAME_TYPE_LONG, (int)ev.frame_type);
	EXPECT_EQ(0, memcmp(f, ev.data, 261));
	EXPECT_TRUE(mbus_parser_push(&p, ACK, MBUS_RX_NORMAL));
	ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(MBUS_FRAME_TYPE_ACK, (int)ev.frame_type);
}

TEST(incomplete_frame_is_held_until_its_last_byte)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;
	u8 f[MBUS_FRAME_MAX];
	size_t n, i;
	int k;

	rng_seed(3);
	for (k = K_SHORT; k < K_NR; k++) {
		n = mk_kind(f, k);
		mbus_parser_init(&p);
		for (i = 0; i < n; i++) {
			ASSERT_TRUE(mbus_parser_push(&p, f[i], MBUS_RX_NORMAL));
			if (i + 1 == n)
				break;
			ASSERT_EQ(MBUS_EV_NEED_MORE,
				  (int)mbus_parser_step(&p, false, &ev));
			ASSERT_EQ(i + 1, (size_t)mbus_parser_pending(&p));
		}
		ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
		EXPECT_EQ(n, (size_t)ev.len);
		EXPECT_EQ(type_of_kind(k), (int)ev.frame_type);
		EXPECT_EQ(0U, mbus_parser_pending(&p));
	}
}

TEST(frames_back_to_back_are_all_delivered)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	int i;

	rng_seed(4);
	st_init(&s);
	for (i = 0; i < 3000; i++)
		st_frame(&s, f, mk_random(f));
	run_stream(&r, &s, 1, false);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(3000UL, r.nev);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0U, mbus_parser_pending(&r.p));
	run_free(&r);
	st_free(&s);
}

TEST(frame_data_is_valid_until_the_next_call)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;
	u8 f[MBUS_FRAME_MAX], copy[MBUS_FRAME_MAX];
	size_t n, i;

	rng_seed(5);
	n = mk_long(f, 50, false);
	mbus_parser_init(&p);
	for (i = 0; i < n; i++)
		ASSERT_TRUE(mbus_parser_push(&p, f[i], MBUS_RX_NORMAL));
	ASSERT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
	memcpy(copy, ev.data, ev.len);
	EXPECT_EQ(0, memcmp(f, copy, n));
	/* The frame is gone from the pending count at once... */
	EXPECT_EQ(0U, mbus_parser_pending(&p));
	/* ...and a push after it keeps only the new byte. */
	ASSERT_TRUE(mbus_parser_push(&p, SHORT, MBUS_RX_NORMAL));
	EXPECT_EQ(1U, mbus_parser_pending(&p));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, false, &ev));
}

TEST(init_discards_everything_buffered)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;

	mbus_parser_init(&p);
	ASSERT_TRUE(mbus_parser_push(&p, LONG, MBUS_RX_NORMAL));
	ASSERT_TRUE(mbus_parser_push(&p, 0x20, MBUS_RX_NORMAL));
	mbus_parser_init(&p);
	EXPECT_EQ(0U, mbus_parser_pending(&p));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, true, &ev));
	ASSERT_TRUE(mbus_parser_push(&p, ACK, MBUS_RX_NORMAL));
	EXPECT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, false, &ev));
}

/* ==== faults ==== */

enum fault { F_CHECKSUM, F_STOP, F_L_UNEQUAL, F_L_SMALL, F_START2 };

/* Apply @fault to frame @f; return the expected event or -1. */
static int apply_fault(u8 *f, size_t n, enum fault fault, u8 arg)
{
	bool is_long = f[0] == LONG;

	switch (fault) {
	case F_CHECKSUM:
		if (f[0] == ACK)
			return -1;
		f[n - 2] = (u8)(f[n - 2] + 1 + arg % 255);
		return MBUS_EV_BAD_CHECKSUM;
	case F_STOP:
		if (f[0] == ACK)
			return -1;
		f[n - 1] = arg == STOP ? 0x17 : arg;
		return MBUS_EV_BAD_STOP;
	case F_L_UNEQUAL:
		if (!is_long)
			return -1;
		f[2] = (u8)(f[1] + 1 + arg % 255);
		return MBUS_EV_BAD_LENGTH;
	case F_L_SMALL:
		if (!is_long)
			return -1;
		f[1] = f[2] = arg % 3;
		return MBUS_EV_BAD_LENGTH;
	case F_START2:
		if (!is_long)
			return -1;
		f[3] = arg == LONG ? 0x69 : arg;
		return MBUS_EV_BAD_LENGTH;
	}
	return -1;
}

/*
 * good frame, faulty frame of kind @k, good frame: the faulty one is
 * reported as @fault at its first byte and nothing else is lost.
 */
static void fault_case(struct __test_metadata *_metadata, enum kind k,
		       enum fault fault)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX], good[MBUS_FRAME_MAX];
	const struct rec *e;
	size_t n, off;
	unsigned int arg;
	int expect;

	for (arg = 0; arg < 256; arg += 5) {
		n = mk_kind(f, k);
		/* Keep faulty bytes clean so they start nothing themselves. */
		if (fault == F_STOP || fault == F_START2 || fault == F_L_UNEQUAL)
			if (is_start((u8)arg) || (fault == F_L_UNEQUAL &&
			    is_start((u8)(f[1] + 1 + arg % 255))))
				continue;
		expect = apply_fault(f, n, fault, (u8)arg);
		if (expect < 0)
			return;
		if (fault == F_CHECKSUM && is_start(f[n - 2]))
			continue;
		ASSERT_EQ(expect, (int)mbus_frame_check(f, n, NULL));
		st_init(&s);
		st_frame(&s, good, mk_short(good, 0x7b, 0x05));
		off = s.len;
		st_bytes(&s, f, n);
		st_frame(&s, good, mk_long(good, 20, true));
		st_frame(&s, good, mk_ack(good));
		run_stream(&r, &s, 1, true);
		ASSERT_RUN_OK(&r);
		e = rec_at(&r, off);
		ASSERT_TRUE(e != NULL);
		EXPECT_EQ(expect, e->type) TH_LOG("kind %d fault %d arg %u",
						  k, fault, arg);
		EXPECT_EQ(off, e->off);
		EXPECT_EQ(1U, e->len);
		EXPECT_EQ(0UL, lost_frames(&r));
		EXPECT_EQ(0UL, false_frames(&r, -1));
		EXPECT_EQ(s.len, r.consumed);
		run_free(&r);
		st_free(&s);
	}
}

static void fault_all_kinds(struct __test_metadata *_metadata,
			    enum fault fault)
{
	int k;

	rng_seed(10 + fault);
	for (k = K_SHORT; k < K_NR; k++)
		fault_case(_metadata, k, fault);
}

TEST(frame_with_bad_checksum_is_dropped)
{
	fault_all_kinds(_metadata, F_CHECKSUM);
}

TEST(frame_without_stop_byte_is_dropped)
{
	fault_all_kinds(_metadata, F_STOP);
}

TEST(long_frame_with_unequal_l_fields_is_dropped)
{
	fault_all_kinds(_metadata, F_L_UNEQUAL);
}

TEST(long_frame_with_l_below_three_is_dropped)
{
	fault_all_kinds(_metadata, F_L_SMALL);
}

TEST(long_frame_with_wrong_second_start_byte_is_dropped)
{
	fault_all_kinds(_metadata, F_START2);
}

TEST(header_faults_are_reported_before_the_body_arrives)
{
	static const u8 cases[][4] = {
		{ 0x68, 0x00 }, { 0x68, 0x01 }, { 0x68, 0x02 },
		{ 0x68, 0x05, 0x06 }, { 0x68, 0xff, 0xfe },
		{ 0x68, 0x05, 0x05, 0x69 }, { 0x68, 0x03, 0x03, 0x10 },
	};
	static const unsigned int len[] = { 2, 2, 2, 3, 3, 4, 4 };
	struct mbus_parser p;
	struct mbus_rx_event ev;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(len); i++) {
		mbus_parser_init(&p);
		for (j = 0; j < len[i]; j++)
			ASSERT_TRUE(mbus_parser_push(&p, cases[i][j],
						     MBUS_RX_NORMAL));
		EXPECT_EQ(MBUS_EV_BAD_LENGTH,
			  (int)mbus_parser_step(&p, false, &ev))
			TH_LOG("case %u", i);
		EXPECT_EQ(1, (int)ev.len);
		EXPECT_EQ(len[i] - 1, mbus_parser_pending(&p));
	}
}

TEST(short_frame_after_a_bad_header_is_delivered)
{
	/* 68 10 ...: L = 10h is fine, but the next 10h is no L copy. */
	static const u8 in[] = { 0x68, 0x10, 0x40, 0x01, 0x41, 0x16 };
	struct stream s;
	struct run r;

	st_init(&s);
	st_bytes(&s, in, 1);
	st_frame(&s, in + 1, 5);
	run_stream(&r, &s, 1, false);
	ASSERT_RUN_OK(&r);
	ASSERT_EQ(2UL, r.nev);
	EXPECT_EQ(MBUS_EV_BAD_LENGTH, r.ev[0].type);
	EXPECT_EQ(0UL, lost_frames(&r));
	run_free(&r);
	st_free(&s);
}

/* ==== UART error flags ==== */

TEST(error_flag_on_any_byte_taints_exactly_that_frame)
{
	static const u8 flags[] = { MBUS_RX_PARITY, MBUS_RX_FRAMING,
				    MBUS_RX_OVERRUN };
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX], good[MBUS_FRAME_MAX];
	const struct rec *e;
	size_t n, pos, off, fl, i;
	int k;

	rng_seed(20);
	for (k = 0; k < K_NR; k++) {
		n = mk_kind(f, k);
		for (pos = 0; pos < n; pos++) {
			for (fl = 0; fl < sizeof(flags); fl++) {
				st_init(&s);
				st_frame(&s, good, mk_short(good, 0x7b, 0x05));
				off = s.len;
				for (i = 0; i < n; i++)
					st_put(&s, f[i], i == pos ?
					       flags[fl] : MBUS_RX_NORMAL);
				st_frame(&s, good, mk_long(good, 9, true));
				run_stream(&r, &s, 1, false);
				ASSERT_RUN_OK(&r);
				e = rec_at(&r, off);
				ASSERT_TRUE(e != NULL);
				EXPECT_EQ(MBUS_EV_TAINTED, e->type)
					TH_LOG("kind %d pos %zu", k, pos);
				EXPECT_EQ(0UL, lost_frames(&r));
				EXPECT_EQ(0UL, false_frames(&r, -1));
				EXPECT_EQ(2UL, r.count[MBUS_EV_FRAME]);
				EXPECT_EQ(s.len, r.consumed);
				run_free(&r);
				st_free(&s);
			}
		}
	}
}

TEST(faulty_candidate_with_a_bad_start_byte_is_reported_tainted)
{
	static const u8 flags[] = { MBUS_RX_PARITY, MBUS_RX_FRAMING,
				    MBUS_RX_OVERRUN };
	u8 f[MBUS_FRAME_MAX];
	struct mbus_parser p;
	struct mbus_rx_event ev;
	size_t n, i, fl;
	int k, flush;

	rng_seed(22);
	/* The UART error explains the fault better than the fault does. */
	for (k = K_SHORT; k < K_NR; k++) {
		for (fl = 0; fl < sizeof(flags); fl++) {
			for (flush = 0; flush < 2; flush++) {
				n = mk_kind(f, k);
				if (!flush)
					f[n - 2]++;	/* bad checksum */
				mbus_parser_init(&p);
				for (i = 0; i < n - flush; i++)
					ASSERT_TRUE(mbus_parser_push(&p, f[i],
						i ? MBUS_RX_NORMAL : flags[fl]));
				EXPECT_EQ(MBUS_EV_TAINTED,
					  (int)mbus_parser_step(&p, flush, &ev))
					TH_LOG("kind %d flush %d", k, flush);
				EXPECT_EQ(1, (int)ev.len);
			}
		}
	}
}

TEST(error_flag_on_a_noise_byte_loses_no_frame)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	int i;

	rng_seed(21);
	st_init(&s);
	for (i = 0; i < 500; i++) {
		st_put(&s, clean_byte(), MBUS_RX_PARITY + rnd_below(3));
		st_frame(&s, f, mk_random(f));
	}
	run_stream(&r, &s, 1, true);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0UL, false_frames(&r, -1));
	run_free(&r);
	st_free(&s);
}

/* ==== break ==== */

TEST(break_alone_is_reported_at_once)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;

	mbus_parser_init(&p);
	ASSERT_TRUE(mbus_parser_push(&p, 0x00, MBUS_RX_BREAK));
	EXPECT_EQ(MBUS_EV_BREAK, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(1, (int)ev.len);
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, false, &ev));
}

TEST(break_between_frames_keeps_both_frames)
{
	static const u8 values[] = { 0x00, ACK, SHORT, LONG, STOP };
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t v;
	int a, b;

	rng_seed(30);
	for (a = 0; a < K_NR; a++) {
		for (b = 0; b < K_NR; b++) {
			for (v = 0; v < sizeof(values); v++) {
				st_init(&s);
				st_frame(&s, f, mk_kind(f, a));
				st_break(&s, values[v]);
				st_frame(&s, f, mk_kind(f, b));
				run_stream(&r, &s, 1, false);
				ASSERT_RUN_OK(&r);
				ASSERT_EQ(3UL, r.nev);
				EXPECT_EQ(MBUS_EV_FRAME, r.ev[0].type);
				EXPECT_EQ(MBUS_EV_BREAK, r.ev[1].type);
				EXPECT_EQ(MBUS_EV_FRAME, r.ev[2].type);
				EXPECT_EQ(0UL, lost_frames(&r));
				run_free(&r);
				st_free(&s);
			}
		}
	}
}

TEST(break_inside_a_frame_kills_it_without_flush)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX], good[MBUS_FRAME_MAX];
	const struct rec *e;
	size_t n, k, off;
	int kind;

	rng_seed(31);
	for (kind = K_SHORT; kind < K_NR; kind++) {
		n = mk_kind(f, kind);
		for (k = 1; k < n; k++) {
			st_init(&s);
			st_frame(&s, good, mk_ack(good));
			off = s.len;
			st_bytes(&s, f, k);
			st_break(&s, 0x00);
			st_bytes(&s, f + k, n - k);
			st_frame(&s, good, mk_short(good, 0x7b, 0x05));
			/* No flush: the break alone ends the candidate. */
			run_stream(&r, &s, 1, false);
			ASSERT_RUN_OK(&r);
			e = rec_at(&r, off);
			ASSERT_TRUE(e != NULL);
			EXPECT_EQ(MBUS_EV_STALLED, e->type)
				TH_LOG("kind %d break after %zu", kind, k);
			EXPECT_EQ(1UL, r.count[MBUS_EV_BREAK]);
			e = rec_at(&r, off + k);
			ASSERT_TRUE(e != NULL);
			EXPECT_EQ(MBUS_EV_BREAK, e->type);
			EXPECT_EQ(0UL, lost_frames(&r));
			EXPECT_EQ(0UL, false_frames(&r, -1));
			EXPECT_EQ(s.len, r.consumed);
			run_free(&r);
			st_free(&s);
		}
	}
}

TEST(break_flag_on_an_ack_byte_is_a_break_not_an_ack)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;

	mbus_parser_init(&p);
	ASSERT_TRUE(mbus_parser_push(&p, ACK, MBUS_RX_BREAK));
	EXPECT_EQ(MBUS_EV_BREAK, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, false, &ev));
}

/* ==== flush ==== */

TEST(flush_of_every_partial_frame_reports_it_stalled)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX], good[MBUS_FRAME_MAX];
	size_t n, k;
	int kind;

	rng_seed(40);
	for (kind = K_SHORT; kind < K_NR; kind++) {
		n = mk_kind(f, kind);
		for (k = 1; k < n; k++) {
			st_init(&s);
			st_bytes(&s, f, k);
			st_frame(&s, good, mk_long(good, 7, true));
			run_init(&r, &s);
			run_push(&r, k);
			run_steps(&r, false);
			ASSERT_EQ(0UL, r.nev);
			ASSERT_EQ(k, (size_t)mbus_parser_pending(&r.p));
			run_steps(&r, true);
			ASSERT_RUN_OK(&r);
			ASSERT_TRUE(r.nev >= 1);
			EXPECT_EQ(MBUS_EV_STALLED, r.ev[0].type)
				TH_LOG("kind %d, %zu bytes", kind, k);
			EXPECT_EQ(0UL, r.count[MBUS_EV_FRAME]);
			EXPECT_EQ(k, r.consumed);
			EXPECT_EQ(0U, mbus_parser_pending(&r.p));
			/* The parser is ready for the next frame. */
			run_push(&r, s.len);
			run_steps(&r, false);
			ASSERT_RUN_OK(&r);
			EXPECT_EQ(0UL, lost_frames(&r));
			EXPECT_EQ(0UL, false_frames(&r, -1));
			run_free(&r);
			st_free(&s);
		}
	}
}

TEST(flush_with_nothing_pending_reports_nothing)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;

	mbus_parser_init(&p);
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, true, &ev));
	ASSERT_TRUE(mbus_parser_push(&p, ACK, MBUS_RX_NORMAL));
	EXPECT_EQ(MBUS_EV_FRAME, (int)mbus_parser_step(&p, true, &ev));
	EXPECT_EQ(MBUS_EV_NEED_MORE, (int)mbus_parser_step(&p, true, &ev));
}

TEST(flush_delivers_complete_frames_before_dropping_the_rest)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];

	rng_seed(41);
	st_init(&s);
	st_frame(&s, f, mk_long(f, 40, true));
	st_frame(&s, f, mk_short(f, 0x5b, 0xfd));
	mk_long(f, 40, true);
	st_bytes(&s, f, 30);
	run_init(&r, &s);
	run_push(&r, s.len);
	run_steps(&r, true);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0UL, false_frames(&r, -1));
	ASSERT_TRUE(r.nev > 2);
	EXPECT_EQ(MBUS_EV_STALLED, r.ev[2].type);
	run_free(&r);
	st_free(&s);
}

TEST(short_frame_hidden_in_a_stalled_long_candidate_is_found_after_flush)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	static const u8 hdr[] = { 0x68, 0x40, 0x40, 0x68 };

	st_init(&s);
	st_bytes(&s, hdr, sizeof(hdr));
	st_frame(&s, f, mk_short(f, 0x5b, 0x01));
	st_frame(&s, f, mk_ack(f));
	run_init(&r, &s);
	run_push(&r, s.len);
	run_steps(&r, false);
	/* Still waiting for the 70 bytes the header announced. */
	EXPECT_EQ(0UL, r.nev);
	EXPECT_EQ(s.len, (size_t)mbus_parser_pending(&r.p));
	run_steps(&r, true);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(MBUS_EV_STALLED, r.ev[0].type);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0UL, false_frames(&r, -1));
	EXPECT_EQ(s.len, r.consumed);
	run_free(&r);
	st_free(&s);
}

TEST(frame_hidden_in_a_long_candidate_with_bad_checksum_is_found)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX], cand[MBUS_FRAME_MAX];
	size_t n;

	rng_seed(42);
	/* The candidate's body holds a whole short frame. */
	n = mk_long(cand, 12, true);
	mk_short(cand + 5, 0x7b, 0x05);
	cand[n - 2] = (u8)(mbus_frame_checksum(cand + 4, 12) + 1);
	while (is_start(cand[n - 2]))
		cand[n - 2]++;
	ASSERT_EQ(MBUS_EV_BAD_CHECKSUM, (int)mbus_frame_check(cand, n, NULL));
	st_init(&s);
	st_bytes(&s, cand, 5);
	st_frame(&s, cand + 5, 5);
	st_bytes(&s, cand + 10, n - 10);
	st_frame(&s, f, mk_ack(f));
	run_stream(&r, &s, 1, false);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(MBUS_EV_BAD_CHECKSUM, r.ev[0].type);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_EQ(0UL, false_frames(&r, -1));
	run_free(&r);
	st_free(&s);
}

/* ==== start bytes inside frames ==== */

TEST(stray_e5_inside_a_long_frame_is_not_an_ack)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t n, i;
	int chunk;

	for (chunk = 1; chunk <= 300; chunk += 299) {
		st_init(&s);
		/* L = E5 as well: 68 E5 E5 68 ... all data E5. */
		n = mk_long(f, 0xe5, false);
		for (i = 4; i < n - 2; i++)
			f[i] = ACK;
		fix_long(f);
		st_frame(&s, f, n);
		/* E5 as C, A, CI and checksum of a control frame. */
		f[0] = LONG;
		f[1] = f[2] = 3;
		f[3] = LONG;
		f[4] = f[5] = f[6] = ACK;
		f[8] = STOP;
		fix_long(f);
		f[4] = (u8)(f[4] - f[7] + ACK);
		fix_long(f);
		ASSERT_EQ(ACK, f[7]);
		st_frame(&s, f, 9);
		/* ...and in a short frame. */
		st_frame(&s, f, mk_short(f, 0x00, ACK));
		run_stream(&r, &s, chunk, false);
		ASSERT_RUN_OK(&r);
		EXPECT_EQ(3UL, r.nev);
		EXPECT_EQ(0UL, lost_frames(&r));
		EXPECT_EQ(0UL, false_frames(&r, -1));
		run_free(&r);
		st_free(&s);
	}
}

TEST(frames_inside_a_long_frame_are_not_delivered)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t n, i;

	rng_seed(50);
	st_init(&s);
	/* The data of a long frame is a string of short frames. */
	n = mk_long(f, 253, false);
	for (i = 4; i + 5 <= n - 2; i += 5)
		mk_short(f + i, (u8)i, (u8)(i * 3));
	fix_long(f);
	st_frame(&s, f, n);
	run_stream(&r, &s, 1, true);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(1UL, r.nev);
	EXPECT_EQ(0UL, lost_frames(&r));
	run_free(&r);
	st_free(&s);
}

/* ==== resynchronisation ==== */

TEST(valid_frame_after_garbage_is_delivered)
{
	static const u8 garbage[][6] = {
		{ 0x68 }, { 0x68, 0x68 }, { 0x68, 0x68, 0x68 },
		{ 0x68, 0xff, 0xff, 0x68 }, { 0x68, 0x03, 0x03, 0x68 },
		{ 0x10 }, { 0x10, 0x10 }, { 0x10, 0x10, 0x10, 0x10 },
		{ 0x68, 0x02 }, { 0x68, 0x05, 0x06 }, { 0x16, 0x16 },
		{ 0x00 }, { 0xff, 0x68, 0x10, 0x68 },
	};
	static const unsigned int glen[] = { 1, 2, 3, 4, 4, 1, 2, 4, 2, 3, 2,
					     1, 4 };
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t g;
	int k, more;

	rng_seed(60);
	for (g = 0; g < ARRAY_SIZE(glen); g++) {
		for (k = 0; k < K_NR; k++) {
			/* Alone with a flush; or followed by more traffic. */
			for (more = 0; more < 2; more++) {
				st_init(&s);
				st_bytes(&s, garbage[g], glen[g]);
				st_frame(&s, f, mk_kind(f, k));
				while (more && s.len < 600)
					st_frame(&s, f, mk_kind(f, K_SHORT));
				run_stream(&r, &s, 1, !more);
				ASSERT_RUN_OK(&r);
				EXPECT_EQ(0UL, lost_frames(&r))
					TH_LOG("garbage %zu kind %d", g, k);
				EXPECT_EQ(0UL, false_frames(&r, -1));
				run_free(&r);
				st_free(&s);
			}
		}
	}
}

TEST(random_garbage_between_frames_never_loses_a_frame)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t i, e5 = 0, start, nonack;

	rng_seed(61);
	st_init(&s);
	for (i = 0; i < 5000; i++) {
		start = s.len;
		st_noise(&s, rnd_below(300), false);
		while (start < s.len)
			e5 += s.b[start++] == ACK;
		st_frame(&s, f, mk_random(f));
	}
	run_stream(&r, &s, 0, true);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(0UL, lost_frames(&r));
	/*
	 * Every E5 of the garbage is an ACK. Anything else made up must be
	 * a frame of the garbage by chance: about 2^-24 per byte for a
	 * short frame (the seed used here has one: 10 BA B9 73 16).
	 */
	nonack = false_frames(&r, -1) - false_frames(&r, MBUS_FRAME_TYPE_ACK);
	TH_LOG("%zu bytes, %zu frames: %zu false non-ACK", s.len, s.nfr,
	       nonack);
	EXPECT_LE(nonack, 2UL);
	EXPECT_EQ(e5 - e5_in_false_frames(&r),
		  false_frames(&r, MBUS_FRAME_TYPE_ACK));
	EXPECT_EQ(s.len, r.consumed);
	run_free(&r);
	st_free(&s);
}

/*
 * Property test over random noise. Per noise byte, a false short frame
 * needs 10h, a matching checksum and 16h: 2^-24; a false long frame needs
 * 68h L L 68h, checksum and stop: about 2^-40. Every E5 is an ACK.
 */
#define NOISE_BYTES (4UL << 20)

TEST(random_noise_yields_almost_no_false_frames)
{
	struct stream s;
	struct run r;
	size_t i, e5 = 0, shorts, longs;

	rng_seed(62);
	st_init(&s);
	st_noise(&s, NOISE_BYTES, false);
	for (i = 0; i < s.len; i++)
		e5 += s.b[i] == ACK;
	run_stream(&r, &s, 0, true);
	ASSERT_RUN_OK(&r);
	shorts = false_frames(&r, MBUS_FRAME_TYPE_SHORT);
	longs = false_frames(&r, MBUS_FRAME_TYPE_LONG) +
		false_frames(&r, MBUS_FRAME_TYPE_CONTROL);
	TH_LOG("%lu noise bytes: %zu false short, %zu false long/control, %zu ACK (of %zu E5)",
	       NOISE_BYTES, shorts, longs,
	       false_frames(&r, MBUS_FRAME_TYPE_ACK), e5);
	/* Expected 0.25 short and 4e-6 long frames in 4 MiB. */
	EXPECT_LE(shorts, 3UL);
	EXPECT_EQ(0UL, longs);
	EXPECT_EQ(e5 - e5_in_false_frames(&r),
		  false_frames(&r, MBUS_FRAME_TYPE_ACK));
	EXPECT_EQ(s.len, r.consumed);
	run_free(&r);
	st_free(&s);
}

TEST(noise_without_start_bytes_yields_no_frame_at_all)
{
	struct stream s;
	struct run r;

	rng_seed(63);
	st_init(&s);
	st_noise(&s, NOISE_BYTES, true);
	run_stream(&r, &s, 0, false);
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(0UL, r.count[MBUS_EV_FRAME]);
	EXPECT_EQ(NOISE_BYTES, r.count[MBUS_EV_NOISE]);
	/* Nothing waits: noise is dropped as it comes. */
	EXPECT_EQ(0U, mbus_parser_pending(&r.p));
	run_free(&r);
	st_free(&s);
}

TEST(frames_in_a_mebibyte_of_noise_are_all_found)
{
	struct stream s;
	struct run r;
	u8 f[MBUS_FRAME_MAX];
	size_t e5 = 0, start, nonack;

	rng_seed(64);
	st_init(&s);
	while (s.len < (1UL << 20)) {
		start = s.len;
		st_noise(&s, rnd_below(1000), false);
		while (start < s.len)
			e5 += s.b[start++] == ACK;
		st_frame(&s, f, mk_random(f));
	}
	run_stream(&r, &s, 0, true);
	ASSERT_RUN_OK(&r);
	nonack = false_frames(&r, -1) -
		 false_frames(&r, MBUS_FRAME_TYPE_ACK);
	TH_LOG("%zu bytes, %zu frames: %zu lost, %zu false non-ACK",
	       s.len, s.nfr, lost_frames(&r), nonack);
	EXPECT_EQ(0UL, lost_frames(&r));
	EXPECT_LE(nonack, 1UL);
	EXPECT_EQ(s.len, r.consumed);
	run_free(&r);
	st_free(&s);
}

/* ==== accounting, push contract, chunking ==== */

/* Frames, garbage, error flags and breaks, all mixed. */
static void mixed_stream(struct stream *s, size_t bytes)
{
	u8 f[MBUS_FRAME_MAX];
	size_t n, i;

	while (s->len < bytes) {
		switch (rnd_below(6)) {
		case 0:
			st_noise(s, rnd_below(40), false);
			break;
		case 1:
			st_break(s, (u8)rnd());
			break;
		case 2:
			n = mk_random(f);
			for (i = 0; i < n; i++)
				st_put(s, f[i], rnd_below(8) ? MBUS_RX_NORMAL :
				       1 + rnd_below(4));
			break;
		case 3:
			n = mk_random(f);
			st_bytes(s, f, 1 + rnd_below(n));
			break;
		default:
			st_frame(s, f, mk_random(f));
			break;
		}
	}
}

TEST(every_pushed_byte_is_consumed_exactly_once)
{
	struct stream s;
	struct run r;
	size_t i, sum = 0;

	rng_seed(70);
	st_init(&s);
	mixed_stream(&s, 1UL << 19);
	run_init(&r, &s);
	while (r.pushed < s.len) {
		run_push(&r, 1 + rnd_below(300));
		run_steps(&r, rnd_below(10) == 0);
	}
	run_steps(&r, true);
	ASSERT_RUN_OK(&r);
	for (i = 0; i < r.nev; i++) {
		/* Events tile the stream: each starts where the last ended. */
		ASSERT_EQ(sum, r.ev[i].off);
		sum += r.ev[i].len;
	}
	EXPECT_EQ(s.len, sum);
	EXPECT_EQ(s.len, r.consumed);
	EXPECT_EQ(0U, mbus_parser_pending(&r.p));
	run_free(&r);
	st_free(&s);
}

TEST(push_refuses_only_a_full_buffer)
{
	struct mbus_parser p;
	struct mbus_rx_event ev;
	unsigned int i;

	mbus_parser_init(&p);
	/* Unstepped noise fills the buffer like anything else. */
	for (i = 0; i < MBUS_FRAME_MAX; i++)
		ASSERT_TRUE(mbus_parser_push(&p, 0x00, MBUS_RX_NORMAL));
	EXPECT_FALSE(mbus_parser_push(&p, 0x00, MBUS_RX_NORMAL));
	EXPECT_EQ((unsigned int)MBUS_FRAME_MAX, mbus_parser_pending(&p));
	ASSERT_EQ(MBUS_EV_NOISE, (int)mbus_parser_step(&p, false, &ev));
	EXPECT_TRUE(mbus_parser_push(&p, 0x00, MBUS_RX_NORMAL));
	while (mbus_parser_step(&p, false, &ev) != MBUS_EV_NEED_MORE)
		;
	EXPECT_EQ(0U, mbus_parser_pending(&p));
}

TEST(push_after_stepping_to_need_more_is_never_refused)
{
	struct stream s;
	struct run r;

	rng_seed(71);
	st_init(&s);
	mixed_stream(&s, 1UL << 18);
	run_init(&r, &s);
	while (r.pushed < s.len) {
		run_push(&r, 1);
		run_steps(&r, rnd_below(50) == 0);
	}
	ASSERT_RUN_OK(&r);
	EXPECT_EQ(0UL, r.refused);
	run_free(&r);
	st_free(&s);
}

TEST(push_is_refused_only_with_a_complete_candidate_buffered)
{
	struct stream s;
	struct run r;

	rng_seed(73);
	st_init(&s);
	mixed_stream(&s, 1UL << 18);
	/* run_push() checks each refusal against the contract. */
	run_stream(&r, &s, 5000, true);
	ASSERT_RUN_OK(&r);
	EXPECT_LT(0UL, r.refused);
	EXPECT_EQ(s.len, r.consumed);
	run_free(&r);
	st_free(&s);
}

static bool same_rec(const struct rec *a, const struct rec *b)
{
	return a->type == b->type && a->ftype == b->ftype &&
	       a->len == b->len && a->off == b->off;
}

TEST(chunked_delivery_gives_the_same_events_as_byte_by_byte)
{
	static const size_t chunks[] = { 2, 3, 5, 7, 64, 260, 261, 262, 1000,
					 100000, 0 };
	struct stream s;
	struct run one, r;
	size_t c, i;

	rng_seed(72);
	st_init(&s);
	mixed_stream(&s, 1UL << 18);
	run_stream(&one, &s, 1, true);
	ASSERT_RUN_OK(&one);
	EXPECT_EQ(0UL, lost_frames(&one));
	for (c = 0; c < ARRAY_SIZE(chunks); c++) {
		run_stream(&r, &s, chunks[c], true);
		ASSERT_RUN_OK(&r);
		ASSERT_EQ(one.nev, r.nev) TH_LOG("chunk %zu", chunks[c]);
		for (i = 0; i < r.nev; i++)
			if (!same_rec(&one.ev[i], &r.ev[i]))
				break;
		EXPECT_EQ(r.nev, i) TH_LOG("chunk %zu: event %zu differs",
					   chunks[c], i);
		run_free(&r);
	}
	run_free(&one);
	st_free(&s);
}

/* ==== mbus_frame_check() and mbus_frame_checksum() ==== */

TEST(frame_check_accepts_exact_frames_of_every_type)
{
	u8 f[MBUS_FRAME_MAX];
	enum mbus_frame_type t;
	size_t n;
	unsigned int l;
	int k;

	rng_seed(80);
	for (k = 0; k < K_NR; k++) {
		n = mk_kind(f, k);
		t = MBUS_FRAME_NONE;
		EXPECT_EQ(MBUS_EV_FRAME, (int)mbus_frame_check(f, n, &t));
		EXPECT_EQ(type_of_kind(k), (int)t);
		EXPECT_EQ(MBUS_EV_FRAME, (int)mbus_frame_check(f, n, NULL));
	}
	for (l = 3; l <= 255; l++) {
		n = mk_long(f, l, false);
		EXPECT_EQ(MBUS_EV_FRAME, (int)mbus_frame_check(f, n, &t));
		EXPECT_EQ(l == 3 ? MBUS_FRAME_TYPE_CONTROL :
			  MBUS_FRAME_TYPE_LONG, (int)t);
	}
}

TEST(frame_check_rejects_trailing_bytes)
{
	u8 f[MBUS_FRAME_MAX + 8];
	enum mbus_frame_type t;
	size_t n, extra;
	int k;

	rng_seed(81);
	for (k = 0; k < K_NR; k++) {
		n = mk_kind(f, k);
		for (extra = 1; extra <= 7; extra++) {
			f[n + extra - 1] = extra & 1 ? STOP : ACK;
			t = MBUS_FRAME_TYPE_LONG;
			EXPECT_EQ(MBUS_EV_BAD_LENGTH,
				  (int)mbus_frame_check(f, n + extra, &t));
			EXPECT_EQ(MBUS_FRAME_NONE, (int)t);
		}
	}
}

TEST(frame_check_wants_more_for_every_truncation)
{
	u8 f[MBUS_FRAME_MAX];
	enum mbus_frame_type t;
	size_t n, k;
	int kind;

	rng_seed(82);
	for (kind = 0; kind < K_NR; kind++) {
		n = mk_kind(f, kind);
		for (k = 0; k < n; k++) {
			t = MBUS_FRAME_TYPE_LONG;
			EXPECT_EQ(MBUS_EV_NEED_MORE,
				  (int)mbus_frame_check(f, k, &t))
				TH_LOG("kind %d, %zu bytes", kind, k);
			EXPECT_EQ(MBUS_FRAME_NONE, (int)t);
		}
	}
}

TEST(frame_check_names_the_fault)
{
	static const u8 bad[][9] = {
		{ 0x10, 0x40, 0x01, 0x42, 0x16 },		/* checksum */
		{ 0x10, 0x40, 0x01, 0x41, 0x17 },		/* stop */
		{ 0x10, 0x40, 0x01, 0x42, 0x17 },		/* both */
		{ 0x68, 0x02, 0x02, 0x68 },			/* L < 3 */
		{ 0x68, 0x03, 0x04, 0x68 },			/* L != L */
		{ 0x68, 0x03, 0x03, 0x67 },			/* 2nd start */
		{ 0x68, 0x03, 0x03, 0x68, 0x53, 0xfe, 0x51, 0xa3, 0x16 },
		{ 0x68, 0x03, 0x03, 0x68, 0x53, 0xfe, 0x51, 0xa2, 0x00 },
		{ 0x16 },					/* noise */
		{ 0x00 },
	};
	static const unsigned int len[] = { 5, 5, 5, 4, 4, 4, 9, 9, 1, 1 };
	static const int expect[] = {
		MBUS_EV_BAD_CHECKSUM, MBUS_EV_BAD_STOP, MBUS_EV_BAD_CHECKSUM,
		MBUS_EV_BAD_LENGTH, MBUS_EV_BAD_LENGTH, MBUS_EV_BAD_LENGTH,
		MBUS_EV_BAD_CHECKSUM, MBUS_EV_BAD_STOP, MBUS_EV_NOISE,
		MBUS_EV_NOISE,
	};
	enum mbus_frame_type t;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(len); i++) {
		t = MBUS_FRAME_TYPE_SHORT;
		EXPECT_EQ(expect[i], (int)mbus_frame_check(bad[i], len[i], &t))
			TH_LOG("case %u", i);
		EXPECT_EQ(MBUS_FRAME_NONE, (int)t);
	}
}

TEST(frame_checksum_is_the_sum_modulo_256)
{
	static const u8 wrap[] = { 0xff, 0x02 };
	static const u8 req_ud2[] = { 0x7b, 0x05 };
	u8 buf[1000];
	unsigned int i, j, sum;

	EXPECT_EQ(0, mbus_frame_checksum(NULL, 0));
	EXPECT_EQ(0x01, mbus_frame_checksum(wrap, 2));
	EXPECT_EQ(0x80, mbus_frame_checksum(req_ud2, 2));
	rng_seed(83);
	for (i = 0; i < 200; i++) {
		unsigned int n = rnd_below(sizeof(buf) + 1);

		sum = 0;
		for (j = 0; j < n; j++) {
			buf[j] = (u8)rnd();
			sum += buf[j];
		}
		EXPECT_EQ(sum % 256, mbus_frame_checksum(buf, n));
	}
}

/* ---- cost per byte: the receive path runs it with a spinlock held ---- */

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Best of five runs over @n bytes, ns per byte; counts the frames seen. */
static double ns_per_byte(const unsigned char *b, size_t n, long *frames)
{
	static struct mbus_parser p;
	struct mbus_rx_event ev;
	double best = 1e18, t0, d;
	size_t i;
	int r;

	for (r = 0; r < 5; r++) {
		mbus_parser_init(&p);
		*frames = 0;
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			while (!mbus_parser_push(&p, b[i], MBUS_RX_NORMAL))
				while (mbus_parser_step(&p, false, &ev) !=
				       MBUS_EV_NEED_MORE)
					*frames += ev.type == MBUS_EV_FRAME;
			while (mbus_parser_step(&p, false, &ev) !=
			       MBUS_EV_NEED_MORE)
				*frames += ev.type == MBUS_EV_FRAME;
		}
		d = (now_ns() - t0) / n;
		if (d < best)
			best = d;
	}
	return best;
}

/*
 * Hostile bytes: every position the start of a long frame whose header is
 * valid (68 68 68 68 ..., or 68 FF FF 68 ...), so that every byte that
 * comes completes a candidate that then fails. The old delimiter paid a
 * checksum over the whole candidate, a search for breaks and a memmove of
 * the buffer for each: 150-260 ns against 13 for random bytes. Now every
 * step is O(1) amortized; the figures are printed, and the check only
 * catches an O(frame length) step (a factor of ten and more).
 */
TEST(hostile_bytes_cost_about_what_random_bytes_cost)
{
	static const unsigned char pat[][4] = {
		{ LONG, LONG, LONG, LONG },
		{ LONG, 0xff, 0xff, LONG },
		{ LONG, 0x03, 0x03, LONG },
	};
	const size_t n = 1 << 19;
	unsigned char *b = malloc(n);
	double random_ns, worst = 0, ns;
	long frames;
	size_t i, k;

	ASSERT_NE(NULL, b);
	rng_seed(19);
	for (i = 0; i < n; i++)
		b[i] = rnd();
	random_ns = ns_per_byte(b, n, &frames);
	TH_LOG("random bytes: %.1f ns/byte (%ld frames)", random_ns, frames);
	for (k = 0; k < sizeof(pat) / sizeof(pat[0]); k++) {
		for (i = 0; i < n; i++)
			b[i] = pat[k][i % 4];
		ns = ns_per_byte(b, n, &frames);
		TH_LOG("%02x %02x %02x %02x ...: %.1f ns/byte (%ld frames)",
		       pat[k][0], pat[k][1], pat[k][2], pat[k][3], ns, frames);
		if (ns > worst)
			worst = ns;
	}
	free(b);
	EXPECT_GT(5 * random_ns + 20, worst);
}

TEST_HARNESS_MAIN
