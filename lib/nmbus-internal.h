/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnmbus internals: EN 13757-3 tables and the output sink.
 * Not installed; nothing here is exported.
 */
#ifndef NMBUS_INTERNAL_H
#define NMBUS_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ktypes.h"
#include "nmbus.h"

/*
 * Length in bytes of the data field a DIF gives (EN 13757-3 table 4, "Data
 * field" code in the low nibble), indexed by the whole DIF:
 * NMBUS_DL_VAR for a variable length (code Dh: an LVAR byte follows the
 * VIB), NMBUS_DL_SPECIAL for the special functions (code Fh). Both are
 * larger than any data left, so that a bounds check catches them. The one
 * copy: the record walk (decode.c) and the record builder (build.c) read it.
 */
#define NMBUS_DL_VAR		0xfe
#define NMBUS_DL_SPECIAL	0xff

extern const uint8_t nmbus_dif_len[256];

/* How the data of a VIF is to be read. */
enum vif_kind {
	VK_NUMBER = 0,	/* a number in the row's unit, scaled by 10^exp */
	VK_DATE,	/* time point: G (2 bytes), F (4), I (6), J (3) */
	VK_ID,		/* an identifier: number, BCD or text as coded */
	VK_RESERVED,	/* reserved code */
	VK_EXT_FB,	/* VIF FBh: first VIFE indexes the FB table */
	VK_EXT_FD,	/* VIF FDh: first VIFE indexes the FD table */
	VK_PLAIN,	/* VIF 7Ch/FCh: plain-text unit */
	VK_ANY,		/* VIF 7Eh/FEh: any VIF (readout selection) */
	VK_MFR,		/* VIF 7Fh/FFh: manufacturer specific */
};

/*
 * One row of a VIF table: @q is the quantity as the JSON prints it, @xq
 * the name rscada/libmbus uses in normalized XML (stored escaped for XML,
 * as the XML writer copies it), @unit the EN 13757-3 unit, @exp the power
 * of ten, @kind how to read the data.
 */
struct vif_info {
	const char *q;
	const char *xq;
	uint8_t unit;
	int8_t exp;
	uint8_t kind;
	uint8_t qlen;	/* strlen(q), for the writers */
	uint8_t xqlen;	/* strlen(xq) */
};

extern const struct vif_info nmbus_vif_primary[128];
extern const struct vif_info nmbus_vif_fd[128];
extern const struct vif_info nmbus_vif_fb[128];
extern const struct vif_info nmbus_fixed_units[64];

/*
 * Unit spellings: JSON/EN, libmbus normalized (escaped for XML), factor to
 * libmbus's unit.
 */
struct unit_info {
	const char *name;
	const char *xml;
	double xml_factor;
	uint8_t len;	/* strlen(name) */
};

extern const struct unit_info nmbus_units[NMBUS_UNIT_COUNT];

/* Combinable (orthogonal) VIFE descriptions, indexed by code & 7Fh. */
extern const char *const nmbus_vife_text[128];
extern const char *const nmbus_vife_action_text[32];

/* Medium names: EN 13757-3 (JSON) and libmbus XML (escaped for XML). */
struct medium_info {
	const char *name;
	const char *xml;
};

const struct medium_info *nmbus_medium(uint8_t code);

/*
 * Output sink: a caller buffer, or a stream through a stack chunk. The
 * inline fast paths copy into @buf while it has room; the slow path
 * flushes to @fp or, for a plain buffer, counts what no longer fits.
 */
struct nmbus_out {
	char *buf;
	size_t size;	/* capacity of @buf */
	size_t pos;	/* bytes held in @buf (<= size) */
	size_t done;	/* bytes flushed to @fp or dropped */
	FILE *fp;	/* if set, @buf is flushed to it when full */
	int err;
};

void nmbus_out_flush(struct nmbus_out *o);
void nmbus_out_slow(struct nmbus_out *o, const void *p, size_t n);

static inline void nmbus_out_mem(struct nmbus_out *o, const void *p, size_t n)
{
	if (__builtin_expect(n <= o->size - o->pos, 1)) {
		memcpy(o->buf + o->pos, p, n);
		o->pos += n;
		return;
	}
	nmbus_out_slow(o, p, n);
}

/* A string literal: its length is known at compile time. */
#define nmbus_out_lit(o, s) nmbus_out_mem(o, s, sizeof(s) - 1)

static inline void nmbus_out_char(struct nmbus_out *o, char c)
{
	if (__builtin_expect(o->pos < o->size, 1)) {
		o->buf[o->pos++] = c;
		return;
	}
	nmbus_out_slow(o, &c, 1);
}

static inline void nmbus_out_str(struct nmbus_out *o, const char *s)
{
	nmbus_out_mem(o, s, strlen(s));
}

static inline size_t nmbus_out_total(const struct nmbus_out *o)
{
	return o->done + o->pos;
}

void nmbus_out_uint(struct nmbus_out *o, uint64_t v);
void nmbus_out_int(struct nmbus_out *o, int64_t v);
void nmbus_out_hex(struct nmbus_out *o, const uint8_t *p, size_t n,
		   bool spaces);
void nmbus_out_zpad(struct nmbus_out *o, unsigned int v, unsigned int width);
void nmbus_out_decimal(struct nmbus_out *o, int64_t raw, int exp);
void nmbus_out_double(struct nmbus_out *o, double v, int digits);
void nmbus_out_fixed6(struct nmbus_out *o, double v);

/* Per-format writers (output.c, xml.c). */
void nmbus_write_json(struct nmbus_out *o, const struct nmbus_frame *f);
void nmbus_write_text(struct nmbus_out *o, const struct nmbus_frame *f);
void nmbus_write_xml(struct nmbus_out *o, const struct nmbus_frame *f,
		     bool normalized);
void nmbus_write_datetime(struct nmbus_out *o, const struct nmbus_value *v);

/* nmbus_record_get_value() that also gives the VIF table row used. */
const struct vif_info *nmbus_value_decode(const struct nmbus_frame *f,
					  const struct nmbus_record *r,
					  struct nmbus_value *v);

/* Device checks behind nmbus_record_obis() and the storage names. */
bool nmbus_is_cmi1020(const struct nmbus_header *h);
bool nmbus_is_calec(const struct nmbus_header *h);

/* The CMi1020's OBIS table (seed 004, table 6); NULL if no row matches. */
const char *nmbus_cmi1020_obis(const struct nmbus_frame *f,
			       const struct nmbus_record *r);

/* Whether nmbus_record_obis() can give a code for a record of @f. */
bool nmbus_frame_may_have_obis(const struct nmbus_frame *f);

/*
 * <ProductName> of the XML formats: rscada/libmbus's product list and
 * rules, which differ from nmbus_device_name()'s seed names (a CALEC ST II
 * is "Aquametro CALEC ST"). NULL if libmbus knows no name.
 */
const char *nmbus_libmbus_product_name(const struct nmbus_header *h);

/* Resolve the table row of a record's VIF (never NULL). */
const struct vif_info *nmbus_record_vif_info(const struct nmbus_record *r,
					     unsigned int *first_orth);

/* Manufacturer code as three letters, e.g. for device matching. */
#define NMBUS_MFR(a, b, c) \
	((uint16_t)((((a) - 64) << 10) | (((b) - 64) << 5) | ((c) - 64)))

#endif /* NMBUS_INTERNAL_H */
