// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Record values: data field types of EN 13757-3 (integers, BCD, real,
 * variable length, dates and times of types F, G, I and J) interpreted
 * through the VIF tables and the combinable VIFEs.
 */
#include <errno.h>
#include <string.h>

#include "nmbus-internal.h"

/* C field bit 6 (PRM): the frame goes from the master to a slave. */
#define C_PRM 0x40

/* 10^-24 .. 10^24: exact for the exponents EN 13757-3 produces. */
static const double pow10_tab[49] = {
	1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15,
	1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5,
	1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
	1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	1e20, 1e21, 1e22, 1e23, 1e24,
};

static double pow10i(int e)
{
	if (e < -24)
		e = -24;
	if (e > 24)
		e = 24;
	return pow10_tab[e + 24];
}

static const struct vif_info vif_unknown = {
	"reserved", "Reserved", NMBUS_UNIT_NONE, 0, VK_RESERVED, 8, 8
};

static const struct vif_info vif_mfr_block = {
	"manufacturer specific", "", NMBUS_UNIT_NONE, 0, VK_MFR, 21, 0
};

const struct vif_info *nmbus_record_vif_info(const struct nmbus_record *r,
					     unsigned int *first_orth)
{
	unsigned int k = 0;
	const struct vif_info *vi;

	if (r->kind == NMBUS_RECORD_FIXED) {
		*first_orth = r->n_vife;
		return &nmbus_fixed_units[r->vif & 0x3f];
	}
	if (r->kind != NMBUS_RECORD_DATA) {
		*first_orth = r->n_vife;
		return &vif_unknown;
	}
	vi = &nmbus_vif_primary[r->vif & 0x7f];
	if (vi->kind == VK_EXT_FB || vi->kind == VK_EXT_FD) {
		if (!r->n_vife) {
			*first_orth = 0;
			return &vif_unknown;
		}
		vi = vi->kind == VK_EXT_FB ? &nmbus_vif_fb[r->vife[0] & 0x7f] :
					     &nmbus_vif_fd[r->vife[0] & 0x7f];
		k = 1;
	} else if (vi->kind == VK_MFR) {
		k = r->n_vife;	/* its VIFEs are the manufacturer's too */
	}
	*first_orth = k;
	return vi;
}

/* Combinable VIFEs that say the data is a date/time "of" something. */
static bool vife_is_date(uint8_t c)
{
	switch (c) {
	case 0x39:
	case 0x42: case 0x43: case 0x46: case 0x47:
	case 0x4a: case 0x4b: case 0x4e: case 0x4f:
	case 0x6a: case 0x6b: case 0x6e: case 0x6f:
		return true;
	default:
		return false;
	}
}

static int64_t get_int(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i-- > 0;)
		v = v << 8 | p[i];
	if (n && n < 8 && (p[n - 1] & 0x80))
		v |= ~0ULL << (8 * n);	/* sign extension */
	return (int64_t)v;
}

static int64_t get_uint(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = n; i-- > 0;)
		v = v << 8 | p[i];
	return (int64_t)v;	/* 64-bit fields keep their top bit as sign */
}

/*
 * BCD, LSB first. A top nibble of Fh makes the value negative (EN
 * 13757-3 annex B); any other non-decimal nibble is an error marker.
 */
static bool get_bcd(const uint8_t *p, unsigned int n, int64_t *out,
		    bool *negative)
{
	int64_t v = 0;

	*negative = false;
	for (unsigned int i = n; i-- > 0;) {
		unsigned int hi = p[i] >> 4, lo = p[i] & 0x0f;

		if (i == n - 1 && hi == 0x0f) {
			*negative = true;
			hi = 0;
		}
		if (hi > 9 || lo > 9)
			return false;
		v = v * 100 + hi * 10 + lo;
	}
	*out = *negative ? -v : v;
	return true;
}

static float get_real(const uint8_t *p)
{
	uint32_t u = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Two-digit years: 0..80 are 2000.., 81..99 are 1900..; 127 is "any". */
static int16_t full_year(unsigned int y, int century)
{
	if (y == 127)
		return -1;
	if (century >= 0)
		return 1900 + 100 * century + y;
	return y <= 80 ? 2000 + y : 1900 + y;
}

static void decode_time(struct nmbus_value *v, const uint8_t *d,
			unsigned int n, bool date_only)
{
	struct nmbus_datetime *t = &v->tm;
	unsigned int y;

	memset(t, 0, sizeof(*t));
	switch (n) {
	case 2:		/* type G */
		y = (d[0] & 0xe0) >> 5 | (d[1] & 0xf0) >> 1;
		t->day = d[0] & 0x1f;
		t->month = d[1] & 0x0f;
		t->year = full_year(y, -1);
		v->type = NMBUS_VALUE_DATE;
		return;
	case 3:		/* type J */
		t->second = d[0] & 0x3f;
		t->minute = d[1] & 0x3f;
		t->hour = d[2] & 0x1f;
		v->type = NMBUS_VALUE_TIME;
		return;
	case 4: {	/* type F */
		int century = (d[1] & 0x60) >> 5;

		y = (d[2] & 0xe0) >> 5 | (d[3] & 0xf0) >> 1;
		if (century == 0 && y <= 80)
			century = 1;	/* meters predating the century bits */
		t->minute = d[0] & 0x3f;
		t->invalid = d[0] & 0x80;
		t->hour = d[1] & 0x1f;
		t->summer = d[1] & 0x80;
		t->day = d[2] & 0x1f;
		t->month = d[3] & 0x0f;
		t->year = full_year(y, century);
		break;
	}
	case 6:		/* type I */
		y = (d[3] & 0xe0) >> 5 | (d[4] & 0xf0) >> 1;
		t->second = d[0] & 0x3f;
		t->summer = d[0] & 0x40;
		t->minute = d[1] & 0x3f;
		t->invalid = d[1] & 0x80;
		t->hour = d[2] & 0x1f;
		t->day = d[3] & 0x1f;
		t->month = d[4] & 0x0f;
		t->year = full_year(y, -1);
		break;
	}
	v->type = date_only ? NMBUS_VALUE_DATE : NMBUS_VALUE_DATETIME;
}

/* "X per hour" (VIFE 22h): the unit of the rate. */
static const struct {
	enum nmbus_unit from, to;
	const char *quantity;
} per_hour_units[] = {
	{ NMBUS_UNIT_WH, NMBUS_UNIT_W, "power" },
	{ NMBUS_UNIT_J, NMBUS_UNIT_J_H, "power" },
	{ NMBUS_UNIT_M3, NMBUS_UNIT_M3_H, "volume flow" },
	{ NMBUS_UNIT_KG, NMBUS_UNIT_KG_H, "mass flow" },
	{ NMBUS_UNIT_VARH, NMBUS_UNIT_VAR, "reactive power" },
	{ NMBUS_UNIT_US_GAL, NMBUS_UNIT_US_GAL_H, "volume flow" },
};

static void apply_per_hour(struct nmbus_value *v)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(per_hour_units); i++) {
		if (v->unit == per_hour_units[i].from) {
			v->unit = per_hour_units[i].to;
			v->quantity = per_hour_units[i].quantity;
			return;
		}
	}
}

/*
 * VIFE 3Dh, the standard's "reserved for non-metric unit systems", as the
 * CALEC ST II uses it (seed 000, tables 35 and 36): energy VIF E000 0nnn
 * in 10^nnn Btu (80 3D is 0.001 kBtu, 86 3D 1 MBtu), volume E001 0nnn in
 * 10^(nnn-3) US gallons (90 3D is 0.001 USGAL). Both are the metric
 * exponent + 3. Any other quantity has no unit we know: none is printed
 * rather than the metric one.
 */
static void apply_non_metric(struct nmbus_value *v)
{
	v->flags |= NMBUS_VF_NON_METRIC;
	switch (v->unit) {
	case NMBUS_UNIT_WH:
		v->unit = NMBUS_UNIT_BTU;
		v->exponent += 3;
		break;
	case NMBUS_UNIT_M3:
		v->unit = NMBUS_UNIT_US_GAL;
		v->exponent += 3;
		break;
	default:
		v->unit = NMBUS_UNIT_NONE;
		break;
	}
}

/*
 * @master: the frame comes from the master (PRM set), whose VIFEs 00h..1Fh
 * are actions, not error codes.
 */
static void apply_vifes(const struct nmbus_record *r, unsigned int k,
			bool master, struct nmbus_value *v, double *offset,
			bool *is_date)
{
	bool non_metric = false, hourly = false;

	for (unsigned int i = k; i < r->n_vife; i++) {
		uint8_t c = r->vife[i] & 0x7f;

		if (!v->vife_text)
			v->vife_text = master && c < 0x20 ?
				       nmbus_vife_action_text[c] :
				       nmbus_vife_text[c];
		if (c < 0x20 && master) {
			v->flags |= NMBUS_VF_ACTION;
			v->action = c;
		} else if (c < 0x20) {
			v->flags |= NMBUS_VF_ERROR_CODE;
			v->error_code = c;
		} else if (c == 0x22) {
			hourly = true;
		} else if (c >= 0x70 && c <= 0x77) {
			v->exponent += (c & 7) - 6;
		} else if (c >= 0x78 && c <= 0x7b) {
			*offset = pow10i((c & 3) - 3);
		} else if (c == 0x7d) {
			v->exponent += 3;
		} else if (c == 0x3b) {
			v->flags |= NMBUS_VF_FORWARD;
		} else if (c == 0x3c) {
			v->flags |= NMBUS_VF_BACKWARD;
		} else if (c == 0x3d) {
			non_metric = true;
		} else if (vife_is_date(c)) {
			*is_date = true;
		} else if (c == 0x7c || c == 0x7f) {
			/* The rest belongs to another table or the maker. */
			v->flags |= NMBUS_VF_MFR_VIFE;
			break;
		}
	}
	if (non_metric)
		apply_non_metric(v);
	if (hourly)
		apply_per_hour(v);
}

static void set_number(struct nmbus_value *v, int64_t raw, double offset)
{
	v->type = NMBUS_VALUE_NUMBER;
	v->raw = raw;
	v->number = (double)raw * pow10i(v->exponent) + offset;
}

const struct vif_info *nmbus_value_decode(const struct nmbus_frame *f,
					  const struct nmbus_record *r,
					  struct nmbus_value *v)
{
	const struct vif_info *vi;
	const uint8_t *d, *wire;
	unsigned int k, n;
	uint8_t rev[16];
	double offset = 0.0;
	bool is_date = false, neg;
	int64_t raw;

	memset(v, 0, sizeof(*v));
	d = wire = f->buf + r->data_offset;
	n = r->data_len;
	if (r->kind == NMBUS_RECORD_MANUFACTURER ||
	    r->kind == NMBUS_RECORD_MORE_FOLLOW) {
		v->quantity = "manufacturer specific";
		v->type = n ? NMBUS_VALUE_BINARY : NMBUS_VALUE_NONE;
		v->bytes = d;
		v->len = n;
		return &vif_mfr_block;
	}

	/*
	 * CI 76h: multi-byte fields arrive MSB first; numbers, dates and
	 * BCD of up to 16 bytes decode from a reversed copy. Text arrives
	 * in reading order (it is reversed in the usual LSB-first frames)
	 * and binary is kept as on the wire.
	 */
	if (f->msb_first && n <= sizeof(rev) &&
	    ((r->dif & 0x0f) != 0x0d || (r->lvar >= 0xc0 && r->lvar <= 0xdf))) {
		for (unsigned int i = 0; i < n; i++)
			rev[i] = wire[n - 1 - i];
		d = rev;
	}

	vi = nmbus_record_vif_info(r, &k);
	v->quantity = vi->q;
	v->unit = vi->unit;
	v->exponent = vi->exp;
	if (vi->kind == VK_RESERVED)
		v->flags |= NMBUS_VF_UNKNOWN_VIF;
	apply_vifes(r, k, f->c & C_PRM, v, &offset, &is_date);
	if (vi->kind == VK_DATE)
		is_date = true;

	switch (r->dif & 0x0f) {
	case 0x0:
	case 0x8:
		v->type = NMBUS_VALUE_NONE;
		break;
	case 0x1:
	case 0x2:
	case 0x3:
	case 0x4:
	case 0x6:
	case 0x7:
		if (is_date && (n == 2 || n == 3 || n == 4 || n == 6)) {
			decode_time(v, d, n, (r->vif & 0x7f) == 0x6c);
			v->unit = NMBUS_UNIT_NONE;	/* a time stamp */
			v->bytes = wire;
			v->len = n;
			break;
		}
		/*
		 * Identification, flags and digital I/O are unsigned bit
		 * fields (type D): the CMi1020's Uint8 disconnector status,
		 * Uint24 error flags (its manual, table 5).
		 */
		set_number(v, vi->kind == VK_ID ? get_uint(d, n) :
			      get_int(d, n), offset);
		break;
	case 0x5:
		v->type = NMBUS_VALUE_NUMBER;
		v->number = (double)get_real(d) * pow10i(v->exponent) + offset;
		break;
	case 0x9:
	case 0xa:
	case 0xb:
	case 0xc:
	case 0xe:
		if (!get_bcd(d, n, &raw, &neg)) {
			v->type = NMBUS_VALUE_INVALID;
			v->bytes = wire;
			v->len = n;
			break;
		}
		if (neg)
			v->flags |= NMBUS_VF_NEGATIVE_BCD;
		set_number(v, raw, offset);
		break;
	case 0xd:
		/* Never @rev: it dies with this call. */
		v->bytes = wire;
		v->len = n;
		if (r->lvar <= 0xbf) {
			v->type = NMBUS_VALUE_TEXT;
			if (f->msb_first)
				v->flags |= NMBUS_VF_TEXT_IN_ORDER;
		} else if (r->lvar <= 0xdf && n <= 9) {
			if (!get_bcd(d, n, &raw, &neg)) {
				v->type = NMBUS_VALUE_INVALID;
				break;
			}
			if (r->lvar >= 0xd0)
				raw = -raw;
			set_number(v, raw, offset);
		} else {
			v->type = NMBUS_VALUE_BINARY;
		}
		break;
	}
	return vi;
}

NMBUS_API int nmbus_record_get_value(const struct nmbus_frame *f,
				     const struct nmbus_record *r,
				     struct nmbus_value *v)
{
	if (!f || !r || !v)
		return -EINVAL;
	nmbus_value_decode(f, r, v);
	return 0;
}

NMBUS_API ssize_t nmbus_value_copy_text(const struct nmbus_value *v,
					char *buf, size_t size)
{
	size_t i;

	if (!v || v->type != NMBUS_VALUE_TEXT || (!buf && size))
		return -EINVAL;
	for (i = 0; size && i < v->len && i < size - 1; i++)
		buf[i] = v->flags & NMBUS_VF_TEXT_IN_ORDER ? v->bytes[i] :
			 v->bytes[v->len - 1 - i];
	if (size)
		buf[i] = '\0';
	return v->len;
}
