/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the decoder unit tests: build long frames around user data
 * and decode them.
 */
#ifndef TEST_DECODE_UTIL_H
#define TEST_DECODE_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <nmbus.h>

/* ID 11490378, ACW, version 14, cold water, access 10, status 0. */
static const uint8_t hdr_acw[12] = {
	0x78, 0x03, 0x49, 0x11, 0x77, 0x04, 0x0e, 0x16, 0x0a, 0x00, 0x00, 0x00,
};

/* 68 L L 68 C A CI data CS 16 around @ud (@n bytes); returns frame length. */
static inline size_t mkframe(uint8_t *out, uint8_t c, uint8_t a, uint8_t ci,
			     const uint8_t *ud, size_t n)
{
	uint8_t cs = c + a + ci;

	out[0] = 0x68;
	out[1] = out[2] = (uint8_t)(n + 3);
	out[3] = 0x68;
	out[4] = c;
	out[5] = a;
	out[6] = ci;
	for (size_t i = 0; i < n; i++) {
		out[7 + i] = ud[i];
		cs += ud[i];
	}
	out[7 + n] = cs;
	out[8 + n] = 0x16;
	return n + 9;
}

/* RSP_UD with CI 72h, the ACW header and @rec (@n bytes) of records. */
static inline size_t mkrsp(uint8_t *out, const uint8_t *rec, size_t n)
{
	uint8_t ud[256];

	memcpy(ud, hdr_acw, sizeof(hdr_acw));
	memcpy(ud + sizeof(hdr_acw), rec, n);
	return mkframe(out, 0x08, 0x01, 0x72, ud, sizeof(hdr_acw) + n);
}

/* Decoded frame and its storage, kept together for the tests. */
struct decoded {
	uint8_t buf[NMBUS_FRAME_MAX + 8];
	size_t len;
	struct nmbus_frame f;
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	int rc;
};

static inline int decode_records(struct decoded *d, const uint8_t *rec,
				 size_t n)
{
	d->len = mkrsp(d->buf, rec, n);
	d->rc = nmbus_decode(&d->f, d->buf, d->len, d->rec, NMBUS_MAX_RECORDS);
	return d->rc;
}

static inline int record_value(struct decoded *d, unsigned int i,
			       struct nmbus_value *v)
{
	return nmbus_record_get_value(&d->f, &d->rec[i], v);
}

#define REC(...) ((const uint8_t[]){ __VA_ARGS__ }), \
		 sizeof((const uint8_t[]){ __VA_ARGS__ })

#endif /* TEST_DECODE_UTIL_H */
