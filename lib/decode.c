// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Frame and data-record decoder (EN 13757-2 frames, EN 13757-3 records)
 *
 * nmbus_decode() validates a frame with the link-layer checker shared
 * with the kernel (driver/mbus_frame.c), reads the data header and walks
 * the DIF/DIFE/VIF/VIFE chains, noting where each record's parts are.
 * It is the hot path: no allocation, one table lookup per DIF, one pass
 * over the bytes. Values are interpreted on demand (value.c).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mbus_frame.h"
#include "nmbus-internal.h"

/* How the application data after a CI field is laid out. */
enum ci_layout {
	CIL_UNKNOWN = 0,	/* not assigned: an error */
	CIL_LONG,		/* 12-byte header, then records */
	CIL_SHORT,		/* 4-byte header, then records */
	CIL_SELECT,		/* 8-byte secondary address, then records */
	CIL_RECORDS,		/* records without header */
	CIL_FIXED,		/* fixed data structure */
	CIL_ERROR,		/* application error code */
	CIL_OTHER,		/* valid, not decoded further */
};

struct ci_info {
	uint8_t layout;
	bool msb_first;
	const char *name;
};

/* CI fields (EN 13757-3:2013 table 2, wired subset), index the CI. */
static const struct ci_info ci_table[256] = {
	[0x50] = { CIL_OTHER, false, "application reset" },
	[0x51] = { CIL_RECORDS, false, "data send" },
	[0x52] = { CIL_SELECT, false, "selection of slaves" },
	[0x54] = { CIL_OTHER, false, "request of selected application" },
	[0x55] = { CIL_RECORDS, true, "data send (MSB first)" },
	[0x56] = { CIL_SELECT, true, "selection of slaves (MSB first)" },
	[0x70] = { CIL_ERROR, false, "application error" },
	[0x71] = { CIL_OTHER, false, "alarm" },
	[0x72] = { CIL_LONG, false, "variable data response" },
	[0x73] = { CIL_FIXED, false, "fixed data response" },
	[0x76] = { CIL_LONG, true, "variable data response (MSB first)" },
	[0x77] = { CIL_FIXED, true, "fixed data response (MSB first)" },
	[0x78] = { CIL_RECORDS, false, "variable data response, no header" },
	[0x7a] = { CIL_SHORT, false, "variable data response, short header" },
	[0xb1] = { CIL_OTHER, false, "request readout of RAM" },
	[0xb2] = { CIL_OTHER, false, "send user data to RAM" },
	[0xb3] = { CIL_OTHER, false, "initialize test calibration mode" },
	[0xb4] = { CIL_OTHER, false, "EEPROM read" },
	[0xb6] = { CIL_OTHER, false, "start software test" },
	[0xb8] = { CIL_OTHER, false, "set baud rate 300" },
	[0xb9] = { CIL_OTHER, false, "set baud rate 600" },
	[0xba] = { CIL_OTHER, false, "set baud rate 1200" },
	[0xbb] = { CIL_OTHER, false, "set baud rate 2400" },
	[0xbc] = { CIL_OTHER, false, "set baud rate 4800" },
	[0xbd] = { CIL_OTHER, false, "set baud rate 9600" },
	[0xbe] = { CIL_OTHER, false, "set baud rate 19200" },
	[0xbf] = { CIL_OTHER, false, "set baud rate 38400" },
};

NMBUS_API const char *nmbus_ci_name(uint8_t ci)
{
	return ci_table[ci].name ? ci_table[ci].name : "unknown";
}

#define LONG_HDR_LEN	12	/* ID, manufacturer, version, medium, ... */
#define SHORT_HDR_LEN	4	/* access, status, signature */
#define SELECT_LEN	8	/* ID, manufacturer, version, medium */
#define FIXED_LEN	16	/* ID, access, status, 2 units, 2 counters */

#define DIF_EXT		0x80
#define DIF_FILLER	0x2f
#define DIF_MFR		0x0f
#define DIF_MORE	0x1f
#define DIF_READOUT	0x7f

/*
 * The first 16 bytes of a record as its DIF alone sets them: storage bit,
 * kind, DIF and function field, the rest zero. While struct nmbus_record
 * starts with these fields in this order (HEAD_LAYOUT, a constant the
 * compiler folds), the record walk starts a record with one 16-byte copy
 * of its DIF's entry (a vector type makes it one load and one store) and
 * clears the other 32 bytes; a struct laid out otherwise takes the field
 * by field path, slower but correct. Nothing here fixes the public layout.
 */
typedef uint8_t record_head __attribute__((vector_size(16)));

struct record_head_fields {
	uint64_t storage;
	uint8_t kind;
	uint8_t dif;
	uint8_t function;
	uint8_t zero[5];
};

#define SAME_FIELD(a, b)	\
	(offsetof(struct nmbus_record, a) == \
	 offsetof(struct record_head_fields, b) && \
	 sizeof(((struct nmbus_record *)0)->a) == \
	 sizeof(((struct record_head_fields *)0)->b))

#define HEAD_LAYOUT	\
	(sizeof(struct record_head_fields) == sizeof(record_head) && \
	 SAME_FIELD(storage, storage) && SAME_FIELD(kind, kind) && \
	 SAME_FIELD(dif, dif) && SAME_FIELD(function, function) && \
	 offsetof(struct nmbus_record, offset) == sizeof(record_head) && \
	 sizeof(struct nmbus_record) == 3 * sizeof(record_head))

#define HEAD(d)		{ .f = { .storage = ((d) >> 6) & 1, \
			  .kind = NMBUS_RECORD_DATA, .dif = (d), \
			  .function = ((d) >> 4) & 3 } }
#define HEAD4(d)	HEAD(d), HEAD((d) + 1), HEAD((d) + 2), HEAD((d) + 3)
#define HEAD16(d)	HEAD4(d), HEAD4((d) + 4), HEAD4((d) + 8), \
			HEAD4((d) + 12)
#define HEAD64(d)	HEAD16(d), HEAD16((d) + 16), HEAD16((d) + 32), \
			HEAD16((d) + 48)

static const union {
	struct record_head_fields f;
	record_head v;
} dif_head[256] = {
	HEAD64(0x00), HEAD64(0x40), HEAD64(0x80), HEAD64(0xc0),
};

/* A 16-byte store to any address, allowed to alias the record. */
typedef uint8_t record_chunk __attribute__((vector_size(16), aligned(1),
					    may_alias));

/* Start record @r for DIF @dif: see dif_head. */
static inline void record_start(struct nmbus_record *r, uint8_t dif)
{
	if (HEAD_LAYOUT) {
		record_chunk *c = (record_chunk *)r;

		c[0] = dif_head[dif].v;
		c[1] = (record_chunk){ 0 };
		c[2] = (record_chunk){ 0 };
	} else {
		memset(r, 0, sizeof(*r));
		r->storage = dif_head[dif].f.storage;
		r->kind = dif_head[dif].f.kind;
		r->dif = dif;
		r->function = dif_head[dif].f.function;
	}
}

static const char *const error_text[NMBUS_E_COUNT] = {
	[NMBUS_OK] = "success",
	[NMBUS_E_EMPTY] = "empty frame",
	[NMBUS_E_START] = "not a frame start byte",
	[NMBUS_E_TRUNCATED] = "frame truncated",
	[NMBUS_E_LENGTH] = "bad length field or extra bytes",
	[NMBUS_E_CHECKSUM] = "checksum mismatch",
	[NMBUS_E_STOP] = "missing stop byte",
	[NMBUS_E_CI] = "unsupported CI field",
	[NMBUS_E_HEADER] = "data header too short",
	[NMBUS_E_DIF] = "premature end of data in DIF/DIFE",
	[NMBUS_E_DIFE_COUNT] = "too many DIFEs",
	[NMBUS_E_DIF_RESERVED] = "reserved special DIF",
	[NMBUS_E_VIF] = "premature end of data in VIF/VIFE",
	[NMBUS_E_VIFE_COUNT] = "too many VIFEs",
	[NMBUS_E_PLAIN_VIF] = "plain-text VIF longer than the frame",
	[NMBUS_E_DATA] = "premature end of data in data field",
	[NMBUS_E_LVAR] = "reserved LVAR value",
	[NMBUS_E_RECORDS] = "more records than the caller's array holds",
	[NMBUS_E_INVAL] = "invalid argument",
	[NMBUS_E_APPLICATION] = "slave reported an application error",
};

NMBUS_API const char *nmbus_strerror(enum nmbus_errcode code)
{
	if ((unsigned int)code >= NMBUS_E_COUNT)
		return "unknown error";
	return error_text[code];
}

NMBUS_API const struct nmbus_error *
nmbus_frame_get_error(const struct nmbus_frame *frame)
{
	return &frame->error;
}

static const char *const frame_type_names[] = {
	[NMBUS_FRAME_NONE] = "none",
	[NMBUS_FRAME_ACK] = "ack",
	[NMBUS_FRAME_SHORT] = "short",
	[NMBUS_FRAME_CONTROL] = "control",
	[NMBUS_FRAME_LONG] = "long",
};

NMBUS_API const char *nmbus_frame_type_name(enum nmbus_frame_type type)
{
	if ((unsigned int)type >= ARRAY_SIZE(frame_type_names))
		return "none";
	return frame_type_names[type];
}

static int fail(struct nmbus_frame *f, enum nmbus_errcode code,
		unsigned int offset, int record)
{
	f->error.code = code;
	f->error.offset = offset;
	f->error.record = record;
	return -EBADMSG;
}

/* Map the link-layer verdict to an error code and the offending byte. */
static int link_error(struct nmbus_frame *f, enum mbus_rx_event_type ev,
		      const uint8_t *buf, size_t len)
{
	switch (ev) {
	case MBUS_EV_NEED_MORE:
		return fail(f, NMBUS_E_TRUNCATED, len, -1);
	case MBUS_EV_BAD_CHECKSUM:
		return fail(f, NMBUS_E_CHECKSUM,
			    buf[0] == 0x10 ? 3 : (unsigned int)buf[1] + 4, -1);
	case MBUS_EV_BAD_STOP:
		return fail(f, NMBUS_E_STOP,
			    buf[0] == 0x10 ? 4 : (unsigned int)buf[1] + 5, -1);
	case MBUS_EV_BAD_LENGTH:
		if (buf[0] == 0x68 && len >= 4 && buf[1] >= MBUS_LONG_L_MIN &&
		    buf[2] == buf[1] && buf[3] == 0x68)
			return fail(f, NMBUS_E_LENGTH, buf[1] + 6, -1);
		if (len >= 2 && buf[1] < MBUS_LONG_L_MIN)
			return fail(f, NMBUS_E_LENGTH, 1, -1);
		if (len >= 3 && buf[2] != buf[1])
			return fail(f, NMBUS_E_LENGTH, 2, -1);
		return fail(f, NMBUS_E_LENGTH, 3, -1);
	default:
		return fail(f, NMBUS_E_START, 0, -1);
	}
}

#ifdef __SSE2__
/*
 * The checksum of the @len bytes at @p (mod 256), 16 bytes a step:
 * PSADBW adds each half of a vector into a 16-bit lane. The last
 * @len % 16 bytes come from a load of the final 16 bytes with the ones
 * already counted masked off, so no byte before @p or after @p + @len is
 * read. Every x86-64 has SSE2.
 */
static uint8_t long_checksum(const uint8_t *p, unsigned int len)
{
	static const uint8_t tail_mask[32] = {
		[16] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	const __m128i zero = _mm_setzero_si128();
	const unsigned int rem = len % 16;
	const uint8_t *end = p + len - rem;
	__m128i acc = zero, v;

	if (len < 16)
		return mbus_frame_checksum(p, len);
	if (len & 16) {
		v = _mm_loadu_si128((const __m128i *)p);
		acc = _mm_sad_epu8(v, zero);
		p += 16;
	}
	for (; p < end; p += 32) {	/* two vectors a round */
		v = _mm_loadu_si128((const __m128i *)p);
		acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
		v = _mm_loadu_si128((const __m128i *)(p + 16));
		acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
	}
	if (rem) {
		v = _mm_loadu_si128((const __m128i *)(end + rem - 16));
		v = _mm_and_si128(v, _mm_loadu_si128((const __m128i *)
						     (tail_mask + rem)));
		acc = _mm_add_epi64(acc, _mm_sad_epu8(v, zero));
	}
	return _mm_cvtsi128_si32(acc) + _mm_extract_epi16(acc, 4);
}
#else
static inline uint8_t long_checksum(const uint8_t *p, unsigned int len)
{
	return mbus_frame_checksum(p, len);
}
#endif

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void read_long_header(struct nmbus_header *h,
				    const uint8_t *p, bool msb_first)
{
	if (msb_first) {
		h->id = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
		h->manufacturer = p[4] << 8 | p[5];
		h->signature = p[10] << 8 | p[11];
	} else {
		h->id = get_le32(p);
		h->manufacturer = p[4] | p[5] << 8;
		h->signature = p[10] | p[11] << 8;
	}
	h->version = p[6];
	h->medium = p[7];
	h->access = p[8];
	h->status = p[9];
	h->has_address = true;
}

static int decode_fixed(struct nmbus_frame *f, unsigned int p)
{
	const uint8_t *b = f->buf;
	struct nmbus_header *h = &f->header;

	if (f->data_end - p < FIXED_LEN)
		return fail(f, NMBUS_E_HEADER, f->data_end, -1);
	h->id = get_le32(b + p);
	h->access = b[p + 4];
	h->status = b[p + 5];
	h->medium = (b[p + 6] & 0xc0) >> 6 | (b[p + 7] & 0xc0) >> 4;
	h->has_address = true;
	f->data_offset = p + 8;
	if (!f->max_records)
		return 0;
	for (unsigned int i = 0; i < 2; i++) {
		struct nmbus_record *r = &f->records[i];

		memset(r, 0, sizeof(*r));
		r->kind = NMBUS_RECORD_FIXED;
		/* Status bit 7 set: counters are binary, else BCD. */
		r->dif = h->status & 0x80 ? 0x04 : 0x0c;
		r->vif = b[p + 6 + i] & 0x3f;
		/* Unit 3Eh: counter 2 has counter 1's unit, historic value. */
		if (i == 1 && r->vif == 0x3e) {
			r->vif = b[p + 6] & 0x3f;
			r->storage = 1;
		}
		r->offset = p + 6 + i;
		r->vif_offset = p + 6 + i;
		r->data_offset = p + 8 + 4 * i;
		r->data_len = 4;
		/* Status bit 6: stored (historic) rather than actual values. */
		r->storage |= h->status & 0x40 ? 1 : 0;
		f->n_records++;
		if (i == 0 && f->max_records < 2)
			return fail(f, NMBUS_E_RECORDS, p + 7, 1);
	}
	return 0;
}

/* Length of a variable-length data field from its LVAR byte, or -1. */
static int lvar_len(uint8_t lvar)
{
	if (lvar <= 0xbf)
		return lvar;		/* ASCII */
	if (lvar <= 0xcf)
		return lvar - 0xc0;	/* positive BCD */
	if (lvar <= 0xdf)
		return lvar - 0xd0;	/* negative BCD */
	if (lvar <= 0xef)
		return lvar - 0xe0;	/* binary */
	if (lvar <= 0xf4)
		return 4 * (lvar - 0xec); /* binary, 16..32 bytes */
	if (lvar == 0xf5)
		return 48;
	if (lvar == 0xf6)
		return 64;
	return -1;
}

/* DIF 0Fh, 1Fh (manufacturer data to the end) and 7Fh; 0 or -1. */
static int special_record(struct nmbus_frame *f, struct nmbus_record *r,
			  unsigned int p, unsigned int idx)
{
	uint8_t dif = f->buf[p];

	memset(r, 0, sizeof(*r));
	r->offset = p;
	r->dif = dif;
	r->data_offset = p + 1;
	if (dif == DIF_MFR || dif == DIF_MORE) {
		r->kind = dif == DIF_MFR ? NMBUS_RECORD_MANUFACTURER :
			  NMBUS_RECORD_MORE_FOLLOW;
		r->data_len = f->data_end - (p + 1);
		f->more_records_follow = dif == DIF_MORE;
		return 0;
	}
	if (dif == DIF_READOUT) {
		r->kind = NMBUS_RECORD_READOUT;
		return 0;
	}
	return fail(f, NMBUS_E_DIF_RESERVED, p, idx);
}

/*
 * Fold the @n DIFEs at @d (storage, tariff and subunit bits, LSB first)
 * into record @r, whose DIF gave storage bit 0. They are taken from the
 * last one down so that every shift is by a constant.
 */
static inline void fold_difes(struct nmbus_record *r, const uint8_t *d,
			      unsigned int n)
{
	uint64_t storage = 0;
	uint32_t tariff = 0;
	unsigned int subunit = 0;

	for (unsigned int i = n; i-- > 0;) {
		storage = storage << 4 | (d[i] & 0x0f);
		tariff = tariff << 2 | ((d[i] >> 4) & 3);
		subunit = subunit << 1 | ((d[i] >> 6) & 1);
	}
	r->has_dife = true;
	r->n_dife = n;
	r->storage |= storage << 1;
	r->tariff = tariff;
	r->subunit = subunit;
}

/*
 * Tariff and subunit of a record with a single DIFE, indexed by the DIFE.
 * While the record holds tariff, subunit and plain_offset in this order
 * (DIFE_LAYOUT), one 8-byte copy sets the three (plain_offset still 0);
 * otherwise they are set one by one.
 */
struct dife_fields {
	uint32_t tariff;
	uint16_t subunit;
	uint16_t plain_offset;
};

#define SAME_DIFE_FIELD(a)	\
	(offsetof(struct nmbus_record, a) - \
	 offsetof(struct nmbus_record, tariff) == \
	 offsetof(struct dife_fields, a) && \
	 sizeof(((struct nmbus_record *)0)->a) == \
	 sizeof(((struct dife_fields *)0)->a))

#define DIFE_LAYOUT	\
	(SAME_DIFE_FIELD(tariff) && SAME_DIFE_FIELD(subunit) && \
	 SAME_DIFE_FIELD(plain_offset) && sizeof(struct dife_fields) == 8)

#define DIFE(d)		{ .tariff = ((d) >> 4) & 3, .subunit = ((d) >> 6) & 1 }
#define DIFE4(d)	DIFE(d), DIFE((d) + 1), DIFE((d) + 2), DIFE((d) + 3)
#define DIFE16(d)	DIFE4(d), DIFE4((d) + 4), DIFE4((d) + 8), \
			DIFE4((d) + 12)
#define DIFE64(d)	DIFE16(d), DIFE16((d) + 16), DIFE16((d) + 32), \
			DIFE16((d) + 48)

static const struct dife_fields dife_one[128] = { DIFE64(0), DIFE64(0x40) };

/* Record @r has the one DIFE @d (extension bit clear). */
static inline void one_dife(struct nmbus_record *r, uint8_t d)
{
	r->n_dife = 1;
	r->has_dife = true;
	r->storage |= (d & 0x0f) << 1;
	if (DIFE_LAYOUT) {
		memcpy(&r->tariff, &dife_one[d], sizeof(dife_one[0]));
	} else {
		r->tariff = dife_one[d].tariff;
		r->subunit = dife_one[d].subunit;
	}
}

/*
 * A DIFE chain of any length at @q: return the offset after it, or 0 on
 * error. (The record walk takes one or two DIFEs itself.)
 */
static __attribute__((noinline)) unsigned int
read_difes(struct nmbus_frame *f, struct nmbus_record *r, unsigned int q)
{
	const unsigned int end = f->data_end, start = q;

	do {
		if (q >= end) {
			fail(f, NMBUS_E_DIF, end, r - f->records);
			return 0;
		}
		if (q - start == NMBUS_MAX_DIFE) {
			fail(f, NMBUS_E_DIFE_COUNT, q, r - f->records);
			return 0;
		}
	} while (f->buf[q++] & DIF_EXT);
	fold_difes(r, f->buf + start, q - start);
	return q;
}

/*
 * The general path for the VIF, its VIFEs or plain-text unit, the LVAR
 * byte and the data field of record @r, the VIF at @q; @dlen is the
 * length the DIF gives. Return the offset after the record, or 0 on error.
 */
static inline unsigned int
read_vif_data(struct nmbus_frame *f, struct nmbus_record *r, unsigned int q,
	      unsigned int dlen)
{
	const uint8_t *b = f->buf;
	const unsigned int end = f->data_end;
	unsigned int n;
	uint8_t d;

	if (q >= end)
		goto truncated;
	r->vif_offset = q;
	r->vif = d = b[q++];
	if ((d & 0x7f) == 0x7c) {
		if (q >= end)
			goto truncated;
		n = b[q++];
		if (n > end - q) {
			fail(f, NMBUS_E_PLAIN_VIF, q - 1, r - f->records);
			return 0;
		}
		r->plain_offset = q;
		r->plain_len = n;
		q += n;
	}
	for (n = 0; d & 0x80; n++) {
		if (q >= end)
			goto truncated;
		if (n == NMBUS_MAX_VIFE) {
			fail(f, NMBUS_E_VIFE_COUNT, q, r - f->records);
			return 0;
		}
		d = r->vife[n] = b[q++];
	}
	r->n_vife = n;

	if (dlen == NMBUS_DL_VAR) {
		int l;

		if (q >= end) {
			fail(f, NMBUS_E_DATA, end, r - f->records);
			return 0;
		}
		r->lvar = b[q];
		l = lvar_len(b[q]);
		if (l < 0) {
			fail(f, NMBUS_E_LVAR, q, r - f->records);
			return 0;
		}
		dlen = l;
		q++;
	}
	if (dlen > end - q) {
		fail(f, NMBUS_E_DATA, end, r - f->records);
		return 0;
	}
	r->data_offset = q;
	r->data_len = dlen;
	return q + dlen;

truncated:
	fail(f, NMBUS_E_VIF, end, r - f->records);
	return 0;
}

/*
 * Walk the records: the hot loop of the decoder. A record starts as three
 * 16-byte stores (record_start()), then only its other non-zero fields
 * are stored. DIFEs, VIFEs, plain-text VIFs, variable lengths and errors
 * leave the straight path for the helpers above.
 */
static int decode_records(struct nmbus_frame *f, size_t p)
{
	const uint8_t *b = f->buf;
	const size_t end = f->data_end;
	struct nmbus_record *const first = f->records;
	struct nmbus_record *r = first, *const stop = first + f->max_records;
	int rc = -EBADMSG;

	while (p < end) {
		const uint8_t dif = b[p];
		size_t q = p + 1, dlen = nmbus_dif_len[dif];
		uint8_t vif;

		if (__builtin_expect(dlen == NMBUS_DL_SPECIAL, 0)) {
			if (dif == DIF_FILLER) {
				p++;
				continue;
			}
			if (r == stop) {
				fail(f, NMBUS_E_RECORDS, p, r - first);
				goto out;
			}
			if (special_record(f, r, p, r - first))
				goto out;
			r++;
			if (dif != DIF_READOUT)
				break;
			p++;
			continue;
		}
		if (__builtin_expect(r == stop, 0)) {
			fail(f, NMBUS_E_RECORDS, p, r - first);
			goto out;
		}

		record_start(r, dif);
		r->offset = p;
		if (dif & DIF_EXT) {
			/* One or two DIFEs: nearly all that occur. */
			if (__builtin_expect(q < end && !(b[q] & DIF_EXT), 1)) {
				one_dife(r, b[q]);
				q += 1;
			} else if (q + 1 < end && !(b[q + 1] & DIF_EXT)) {
				fold_difes(r, b + q, 2);
				q += 2;
			} else {
				q = read_difes(f, r, q);
				if (!q)
					goto out;
			}
		}

		/*
		 * Straight path: a VIF below 7Ch (no VIFE, no plain text) and
		 * a fixed-size field inside the data (NMBUS_DL_VAR never
		 * is). Bytes q and q + 1 are there even at the end of the
		 * data: the checksum and the stop byte follow it.
		 */
		vif = b[q];
		if (__builtin_expect(q + dlen < end && vif < 0x7c, 1)) {
			r->vif_offset = q;
			r->vif = vif;
			r->data_offset = q + 1;
			r->data_len = dlen;
			p = q + 1 + dlen;
		} else if (q + 1 + dlen < end && vif >= 0x80 && vif != 0xfc &&
			   b[q + 1] < 0x80) {
			/* The same with one VIFE (the VIF not plain text). */
			r->vif_offset = q;
			r->vif = vif;
			r->vife[0] = b[q + 1];
			r->n_vife = 1;
			r->data_offset = q + 2;
			r->data_len = dlen;
			p = q + 2 + dlen;
		} else {
			p = read_vif_data(f, r, q, dlen);
			if (!p)
				goto out;
		}
		r++;
	}
	rc = 0;
out:
	f->n_records = r - first;
	return rc;
}

NMBUS_API int nmbus_decode(struct nmbus_frame *f, const uint8_t *buf,
			   size_t len, struct nmbus_record *records,
			   unsigned int max_records)
{
	const struct ci_info *ci;
	enum mbus_frame_type type;
	enum mbus_rx_event_type ev;
	unsigned int p;

	if (!f)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	f->error.record = -1;
	f->buf = buf;
	f->records = records;
	f->max_records = records ? max_records : 0;
	if (!buf && len) {
		fail(f, NMBUS_E_INVAL, 0, -1);
		return -EINVAL;
	}
	if (!len)
		return fail(f, NMBUS_E_EMPTY, 0, -1);
	if (len > NMBUS_FRAME_MAX)
		len = NMBUS_FRAME_MAX + 1;	/* mbus_frame_check says LENGTH */
	f->len = len;

	/*
	 * A valid long frame is the usual input: check it here, with the
	 * same tests as mbus_frame_check() and the same verdict (test-decode:
	 * long_frame_fast_path_agrees_with_mbus_frame_check). Anything else
	 * goes to the shared checker, which also says what is wrong.
	 *
	 * Why not always the shared checker: the kernel's checksum may use
	 * no SIMD, long_checksum() does, and inline here it is what keeps
	 * decoding 10x cheaper than libmbus's (issue 17). Through
	 * mbus_frame_check() alone it is 919 instructions per frame instead
	 * of 792 (8.7x; 826 even with this checksum inside the shared
	 * file), by tests/bench/decode.sh.
	 */
	if (len >= MBUS_LONG_OVERHEAD + MBUS_LONG_L_MIN &&
	    buf[0] == MBUS_FRAME_LONG_START &&
	    buf[1] == len - MBUS_LONG_OVERHEAD && buf[2] == buf[1] &&
	    buf[3] == MBUS_FRAME_LONG_START &&
	    buf[len - 1] == MBUS_FRAME_STOP &&
	    long_checksum(buf + MBUS_LONG_HDR_LEN, buf[1]) ==
	    buf[len - 2]) {
		type = buf[1] == MBUS_LONG_L_MIN ? MBUS_FRAME_TYPE_CONTROL :
						   MBUS_FRAME_TYPE_LONG;
	} else {
		ev = mbus_frame_check(buf, len, &type);
		if (ev != MBUS_EV_FRAME)
			return link_error(f, ev, buf, len);
	}

	switch (type) {
	case MBUS_FRAME_TYPE_ACK:
		f->type = NMBUS_FRAME_ACK;
		return 0;
	case MBUS_FRAME_TYPE_SHORT:
		f->type = NMBUS_FRAME_SHORT;
		f->c = buf[1];
		f->a = buf[2];
		return 0;
	default:
		break;
	}
	f->type = type == MBUS_FRAME_TYPE_CONTROL ? NMBUS_FRAME_CONTROL :
						    NMBUS_FRAME_LONG;
	f->c = buf[4];
	f->a = buf[5];
	f->ci = buf[6];
	p = 7;
	f->data_offset = p;
	f->data_end = len - 2;
	ci = &ci_table[f->ci];
	f->msb_first = ci->msb_first;
	if (f->type == NMBUS_FRAME_CONTROL) {
		if (ci->layout != CIL_ERROR)
			return 0;
		f->data_type = NMBUS_DATA_ERROR;
		return fail(f, NMBUS_E_APPLICATION, p, -1);
	}

	switch (ci->layout) {
	case CIL_LONG:
		if (f->data_end - p < LONG_HDR_LEN)
			return fail(f, NMBUS_E_HEADER, f->data_end, -1);
		read_long_header(&f->header, buf + p, f->msb_first);
		p += LONG_HDR_LEN;
		break;
	case CIL_SHORT:
		if (f->data_end - p < SHORT_HDR_LEN)
			return fail(f, NMBUS_E_HEADER, f->data_end, -1);
		f->header.access = buf[p];
		f->header.status = buf[p + 1];
		f->header.signature = buf[p + 2] | buf[p + 3] << 8;
		p += SHORT_HDR_LEN;
		break;
	case CIL_SELECT:
		if (f->data_end - p < SELECT_LEN)
			return fail(f, NMBUS_E_HEADER, f->data_end, -1);
		read_long_header(&f->header, buf + p, f->msb_first);
		f->header.access = 0;
		f->header.status = 0;
		f->header.signature = 0;
		p += SELECT_LEN;
		break;
	case CIL_RECORDS:
		break;
	case CIL_FIXED:
		f->data_type = NMBUS_DATA_FIXED;
		return decode_fixed(f, p);
	case CIL_ERROR:
		f->data_type = NMBUS_DATA_ERROR;
		return fail(f, NMBUS_E_APPLICATION, p, -1);
	case CIL_OTHER:
		f->data_type = NMBUS_DATA_OTHER;
		return 0;
	default:
		f->data_type = NMBUS_DATA_OTHER;
		return fail(f, NMBUS_E_CI, 6, -1);
	}
	f->data_type = NMBUS_DATA_VARIABLE;
	f->data_offset = p;
	if (!f->max_records)
		return 0;
	return decode_records(f, p);
}

NMBUS_API const uint8_t *nmbus_frame_get_mfr_data(const struct nmbus_frame *f,
						  size_t *len)
{
	for (unsigned int i = 0; i < f->n_records; i++) {
		const struct nmbus_record *r = &f->records[i];

		if (r->kind == NMBUS_RECORD_MANUFACTURER ||
		    r->kind == NMBUS_RECORD_MORE_FOLLOW) {
			*len = r->data_len;
			return f->buf + r->data_offset;
		}
	}
	*len = 0;
	return NULL;
}

NMBUS_API ssize_t nmbus_parse_hex(const char *text, size_t len, uint8_t *out,
				  size_t size, size_t *err_pos)
{
	size_t n = 0, i;
	int hi = -1;

	for (i = 0; i < len; i++) {
		char c = text[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			goto bad;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= size) {
			if (err_pos)
				*err_pos = i;
			return -EMSGSIZE;
		}
		out[n++] = hi << 4 | v;
		hi = -1;
	}
	if (hi < 0)
		return n;
bad:
	if (err_pos)
		*err_pos = i;
	return -EINVAL;
}
