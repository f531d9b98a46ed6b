// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Output of decoded frames: the sink (caller buffer or stdio stream
 * through a stack chunk), small number formatters, JSON and text.
 *
 * JSON keys are the contract of ARCHITECTURE.md: frame{type,c,a,ci},
 * header{id,manufacturer,version,medium,medium_code,access,status,
 * signature}, records[{storage,tariff,subunit,function,quantity,unit,
 * value,dif,vif,...}], more_records_follow. Keys are only ever added.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmbus-internal.h"

void nmbus_out_flush(struct nmbus_out *o)
{
	if (!o->fp || !o->pos)
		return;
	if (fwrite(o->buf, 1, o->pos, o->fp) != o->pos && !o->err)
		o->err = errno ? errno : EIO;
	o->done += o->pos;
	o->pos = 0;
}

void nmbus_out_slow(struct nmbus_out *o, const void *p, size_t n)
{
	size_t room = o->size - o->pos;

	if (o->fp) {
		nmbus_out_flush(o);
		if (n <= o->size) {
			memcpy(o->buf, p, n);
			o->pos = n;
		} else {
			if (fwrite(p, 1, n, o->fp) != n && !o->err)
				o->err = errno ? errno : EIO;
			o->done += n;
		}
		return;
	}
	/* Caller buffer full: keep what fits, count the rest. */
	if (room) {
		memcpy(o->buf + o->pos, p, room);
		o->pos += room;
	}
	o->done += n - room;
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324"
	"25262728293031323334353637383940414243444546474849"
	"50515253545556575859606162636465666768697071727374"
	"75767778798081828384858687888990919293949596979899";

/* Decimal digits of @v, written backwards from @end (two at a time). */
static void put_digits(char *end, uint64_t v)
{
	while (v >= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(end - 2, digit_pairs + 2 * v, 2);
	else
		end[-1] = '0' + v;
}

void nmbus_out_uint(struct nmbus_out *o, uint64_t v)
{
	char tmp[20];
	unsigned int n = 1;

	if (v < 10) {
		nmbus_out_char(o, '0' + v);
		return;
	}
	for (uint64_t t = v; t >= 10 && n < 20; t /= 10)
		n++;
	if (o->size - o->pos >= n) {
		/* Room enough: the digits go straight into the buffer. */
		put_digits(o->buf + o->pos + n, v);
		o->pos += n;
		return;
	}
	put_digits(tmp + n, v);
	nmbus_out_mem(o, tmp, n);
}

void nmbus_out_int(struct nmbus_out *o, int64_t v)
{
	if (v < 0) {
		nmbus_out_char(o, '-');
		nmbus_out_uint(o, -(uint64_t)v);
		return;
	}
	nmbus_out_uint(o, v);
}

void nmbus_out_zpad(struct nmbus_out *o, unsigned int v, unsigned int width)
{
	char tmp[10];
	unsigned int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while ((v || sizeof(tmp) - i < width) && i);
	nmbus_out_mem(o, tmp + i, sizeof(tmp) - i);
}

static const char hexdig[] = "0123456789ABCDEF";

void nmbus_out_hex(struct nmbus_out *o, const uint8_t *p, size_t n,
		   bool spaces)
{
	char tmp[96];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k > sizeof(tmp) - 3) {
			nmbus_out_mem(o, tmp, k);
			k = 0;
		}
		if (spaces && i)
			tmp[k++] = ' ';
		tmp[k++] = hexdig[p[i] >> 4];
		tmp[k++] = hexdig[p[i] & 15];
	}
	nmbus_out_mem(o, tmp, k);
}

/* raw * 10^exp as an exact decimal, without trailing zeros. */
void nmbus_out_decimal(struct nmbus_out *o, int64_t raw, int exp)
{
	char tmp[64], res[72];
	uint64_t u = raw < 0 ? -(uint64_t)raw : (uint64_t)raw;
	int n = 0, i, point, k = 0;

	if (exp >= 0 || !u) {
		if (raw < 0)
			nmbus_out_char(o, '-');
		nmbus_out_uint(o, u);
		for (i = 0; u && i < exp && i < 40; i++)
			nmbus_out_char(o, '0');
		return;
	}
	do {			/* digits, least significant first */
		tmp[n++] = '0' + u % 10;
		u /= 10;
	} while (u);
	point = -exp;
	if (point > 40)
		point = 40;
	while (n <= point)	/* leading zeros: 0.00ddd */
		tmp[n++] = '0';
	i = 0;			/* strip trailing zeros of the fraction */
	while (i < point && tmp[i] == '0')
		i++;
	if (raw < 0)
		res[k++] = '-';
	for (int j = n - 1; j >= point; j--)
		res[k++] = tmp[j];
	if (i < point) {
		res[k++] = '.';
		for (int j = point - 1; j >= i; j--)
			res[k++] = tmp[j];
	}
	nmbus_out_mem(o, res, k);
}

/*
 * Shortest of %.{digits}g .. %.17g that reads back as the same value
 * (digits 7 for values from a 32-bit real: compared as floats).
 */
void nmbus_out_double(struct nmbus_out *o, double v, int digits)
{
	char tmp[40];
	int n = 0;

	if (!isfinite(v)) {
		nmbus_out_str(o, "null");
		return;
	}
	for (int p = digits; p <= 17; p++) {
		double back;

		n = snprintf(tmp, sizeof(tmp), "%.*g", p, v);
		back = strtod(tmp, NULL);
		if (digits <= 7 ? (float)back == (float)v : back == v)
			break;
	}
	nmbus_out_mem(o, tmp, n);
}

/*
 * The next decimal digit of the binary fraction @f / 2^@k (0 < @k <= 108,
 * @f < 2^@k, four 32-bit limbs, least significant first): f = 10 f, the
 * digit is what rose above bit @k, which is then cleared.
 */
static unsigned int frac_next(uint32_t f[4], unsigned int k, unsigned int mul)
{
	unsigned int w = k / 32, b = k % 32, d;
	uint64_t c = 0, t;

	for (int i = 0; i < 4; i++) {
		c += (uint64_t)f[i] * mul;
		f[i] = (uint32_t)c;
		c >>= 32;
	}
	t = f[w] | (w < 3 ? (uint64_t)f[w + 1] << 32 : 0);
	d = (t >> b) & 15;
	f[w] &= (1u << b) - 1;
	for (unsigned int i = w + 1; i < 4; i++)
		f[i] = 0;
	return d;
}

static bool frac_zero(const uint32_t f[4])
{
	return !(f[0] | f[1] | f[2] | f[3]);
}

/*
 * printf("%f"), as libmbus prints normalized values: the exact binary
 * value rounded to six decimals, ties to even (glibc in the default
 * rounding mode), without printf's cost. Infinities, NaNs and magnitudes
 * of 2^64 and more go to snprintf().
 */
void nmbus_out_fixed6(struct nmbus_out *o, double v)
{
	char tmp[330];
	uint64_t bits, m, ip = 0;
	uint32_t f[4] = { 0 };
	unsigned int frac = 0, k;
	int e, n;

	memcpy(&bits, &v, sizeof(bits));
	e = (bits >> 52) & 0x7ff;
	m = bits & ((1ULL << 52) - 1);
	if (e == 0x7ff || e > 1075 + 11) {
		n = snprintf(tmp, sizeof(tmp), "%f", v);
		nmbus_out_mem(o, tmp, n < (int)sizeof(tmp) ? n :
			      (int)sizeof(tmp) - 1);
		return;
	}
	if (e)
		m |= 1ULL << 52;
	else
		e = 1;
	e -= 1075;		/* |v| = m * 2^e */
	if (e >= 0) {
		ip = m << e;
	} else if (-e <= 108) {	/* below: |v| < 2^-55, prints as 0 */
		k = -e;
		if (k < 64) {
			ip = m >> k;
			m &= (1ULL << k) - 1;
		}
		if (k <= 43) {	/* m * 10^6 fits in 64 bits */
			uint64_t x = m * 1000000, half = 1ULL << (k - 1);
			uint64_t rest = x & ((1ULL << k) - 1);

			frac = x >> k;
			if (rest > half || (rest == half && (frac & 1)))
				frac++;
		} else if (k <= 59) {	/* 10 m fits in 64 bits */
			uint64_t mask = (1ULL << k) - 1;

			for (int i = 0; i < 6; i++) {
				m *= 10;
				frac = frac * 10 + (m >> k);
				m &= mask;
			}
			m <<= 1;
			if ((m >> k) && ((m & mask) || (frac & 1)))
				frac++;
		} else {
			f[0] = (uint32_t)m;
			f[1] = (uint32_t)(m >> 32);
			for (int i = 0; i < 6; i++)
				frac = frac * 10 + frac_next(f, k, 10);
			/* The rest against one half, ties to an even digit. */
			if (frac_next(f, k, 2) && (!frac_zero(f) || (frac & 1)))
				frac++;
		}
		if (frac == 1000000) {
			frac = 0;
			ip++;
		}
	}
	n = 0;
	if (bits >> 63)
		tmp[n++] = '-';
	nmbus_out_mem(o, tmp, n);
	nmbus_out_uint(o, ip);
	tmp[0] = '.';
	for (int i = 6; i > 0; i--, frac /= 10)
		tmp[i] = '0' + frac % 10;
	nmbus_out_mem(o, tmp, 7);
}

/*
 * The one JSON string escaper of n_mbus (nmbus_json_string_format() and
 * _print() export it to the tools): quote and backslash get a backslash,
 * every other byte outside printable ASCII (below 0x20, DEL and all of
 * 0x80..0xff) is written as \u00XX, the Latin-1 code point of the byte.
 * So the output is ASCII, valid JSON whatever the input, and a consumer
 * gets the exact bytes back by encoding the decoded string as Latin-1.
 */
static void json_str_bytes(struct nmbus_out *o, const uint8_t *p, size_t n,
			   bool reversed)
{
	nmbus_out_char(o, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = reversed ? p[n - 1 - i] : p[i];

		if (c == '"' || c == '\\') {
			nmbus_out_char(o, '\\');
			nmbus_out_char(o, c);
		} else if (c < 0x20 || c >= 0x7f) {
			/* Not ASCII: escape as a Latin-1 code point. */
			nmbus_out_str(o, "\\u00");
			nmbus_out_char(o, hexdig[c >> 4]);
			nmbus_out_char(o, hexdig[c & 15]);
		} else {
			nmbus_out_char(o, c);
		}
	}
	nmbus_out_char(o, '"');
}

NMBUS_API ssize_t nmbus_json_string_format(const char *str, size_t len,
					   char *buf, size_t size)
{
	char dummy[1];
	struct nmbus_out o = {
		.buf = size ? buf : dummy, .size = size ? size - 1 : 0
	};

	if ((!str && len) || (!buf && size)) {
		return -EINVAL;
	}
	json_str_bytes(&o, (const uint8_t *)str, len, false);
	if (size)
		buf[o.pos] = '\0';
	return nmbus_out_total(&o);
}

NMBUS_API ssize_t nmbus_json_string_print(const char *str, size_t len,
					  FILE *fp)
{
	char chunk[256];
	struct nmbus_out o = { .buf = chunk, .size = sizeof(chunk), .fp = fp };

	if ((!str && len) || !fp) {
		return -EINVAL;
	}
	json_str_bytes(&o, (const uint8_t *)str, len, false);
	nmbus_out_flush(&o);
	if (o.err)
		return -o.err;
	return nmbus_out_total(&o);
}

/* ,"key": and friends; @key must be a string literal. */
#define json_key(o, key) nmbus_out_lit(o, ",\"" key "\":")

#define json_kuint(o, key, v) do {					\
	json_key(o, key);						\
	nmbus_out_uint(o, v);						\
} while (0)

#define json_kstr(o, key, s) do {					\
	nmbus_out_lit(o, ",\"" key "\":\"");				\
	nmbus_out_str(o, s);						\
	nmbus_out_char(o, '"');						\
} while (0)

#define json_khex(o, key, p, n) do {					\
	nmbus_out_lit(o, ",\"" key "\":\"");				\
	nmbus_out_hex(o, p, n, false);					\
	nmbus_out_char(o, '"');						\
} while (0)

/* ISO 8601; an unspecified year ("every year", 127) gives --MM-DD. */
void nmbus_write_datetime(struct nmbus_out *o, const struct nmbus_value *v)
{
	const struct nmbus_datetime *t = &v->tm;

	if (v->type != NMBUS_VALUE_TIME) {
		if (t->year < 0)
			nmbus_out_char(o, '-');
		else
			nmbus_out_zpad(o, t->year, 4);
		nmbus_out_char(o, '-');
		nmbus_out_zpad(o, t->month, 2);
		nmbus_out_char(o, '-');
		nmbus_out_zpad(o, t->day, 2);
		if (v->type == NMBUS_VALUE_DATE)
			return;
		nmbus_out_char(o, 'T');
	}
	nmbus_out_zpad(o, t->hour, 2);
	nmbus_out_char(o, ':');
	nmbus_out_zpad(o, t->minute, 2);
	nmbus_out_char(o, ':');
	nmbus_out_zpad(o, t->second, 2);
}

static bool has_offset(const struct nmbus_record *r)
{
	for (unsigned int i = 0; i < r->n_vife; i++) {
		uint8_t c = r->vife[i] & 0x7f;

		if (c >= 0x78 && c <= 0x7b)
			return true;
	}
	return false;
}

/* Exact powers of ten for the float formatter, 10^0 .. 10^22. */
static const double exact_pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * A 32-bit real times 10^@exp, with the fewest significant digits (7, 8
 * or 9) that read back as the same float; no printf on the usual range.
 */
static void out_float(struct nmbus_out *o, float f, int exp)
{
	double x = fabs((double)f), back = 0;
	int64_t m = 0;
	int e = 0, s = 0;

	if (!isfinite(f)) {
		nmbus_out_lit(o, "null");
		return;
	}
	if (x == 0) {
		nmbus_out_char(o, '0');
		return;
	}
	if (x >= 1e15 || x < 1e-7) {	/* rare: leave it to printf */
		nmbus_out_double(o, (double)f * pow(10, exp), 9);
		return;
	}
	while (e < 15 && x >= exact_pow10[e + 1])
		e++;
	while (e > -8 && (e >= 0 ? x < exact_pow10[e] : x * exact_pow10[-e] < 1))
		e--;
	for (int p = 7; p <= 9; p++) {
		s = e - p + 1;
		if (s >= 0) {
			m = llround(x / exact_pow10[s]);
			back = (double)m * exact_pow10[s];
		} else {
			m = llround(x * exact_pow10[-s]);
			back = (double)m / exact_pow10[-s];
		}
		if ((float)back == (float)x)
			break;
	}
	nmbus_out_decimal(o, f < 0 ? -m : m, s + exp);
}

static float record_real(const struct nmbus_frame *f,
			 const struct nmbus_record *r)
{
	const uint8_t *d = f->buf + r->data_offset;
	uint32_t u = d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
	float x;

	if (f->msb_first)
		u = __builtin_bswap32(u);
	memcpy(&x, &u, sizeof(x));
	return x;
}

/* Integers and BCD print exactly; reals shortest; offsets as doubles. */
static void write_number(struct nmbus_out *o, const struct nmbus_frame *f,
			 const struct nmbus_record *r,
			 const struct nmbus_value *v)
{
	if (r->n_vife && has_offset(r))
		nmbus_out_double(o, v->number, 15);
	else if ((r->dif & 0x0f) == 0x05)
		out_float(o, record_real(f, r), v->exponent);
	else
		nmbus_out_decimal(o, v->raw, v->exponent);
}

static void json_value(struct nmbus_out *o, const struct nmbus_frame *f,
		       const struct nmbus_record *r,
		       const struct nmbus_value *v)
{
	json_key(o, "value");
	switch (v->type) {
	case NMBUS_VALUE_NUMBER:
		write_number(o, f, r, v);
		break;
	case NMBUS_VALUE_DATE:
	case NMBUS_VALUE_DATETIME:
	case NMBUS_VALUE_TIME:
		nmbus_out_char(o, '"');
		nmbus_write_datetime(o, v);
		nmbus_out_char(o, '"');
		if (v->tm.invalid)
			nmbus_out_str(o, ",\"time_invalid\":true");
		if (v->tm.summer)
			nmbus_out_str(o, ",\"summer_time\":true");
		break;
	case NMBUS_VALUE_TEXT:
		json_str_bytes(o, v->bytes, v->len,
			       !(v->flags & NMBUS_VF_TEXT_IN_ORDER));
		break;
	case NMBUS_VALUE_BINARY:
		nmbus_out_char(o, '"');
		nmbus_out_hex(o, v->bytes, v->len, false);
		nmbus_out_str(o, "\",\"value_type\":\"binary\"");
		break;
	case NMBUS_VALUE_INVALID:
		nmbus_out_str(o, "null,\"value_error\":\"invalid BCD\"");
		json_khex(o, "raw", v->bytes, v->len);
		break;
	default:
		nmbus_out_str(o, "null");
		break;
	}
}

/* ,"key":"XY" for one byte; @key must be a string literal. */
#define json_kbyte(o, key, b) do {					\
	nmbus_out_lit(o, ",\"" key "\":\"");				\
	json_byte(o, b);						\
} while (0)

static inline void json_byte(struct nmbus_out *o, uint8_t b)
{
	const char t[3] = { hexdig[b >> 4], hexdig[b & 15], '"' };

	nmbus_out_mem(o, t, 3);
}

static inline void out_small(struct nmbus_out *o, uint64_t v)
{
	if (v < 10)
		nmbus_out_char(o, '0' + v);
	else
		nmbus_out_uint(o, v);
}

/* ,"function":"..." with the lengths known at compile time. */
#define FN(s) { ",\"function\":\"" s "\"", sizeof(",\"function\":\"" s "\"") - 1 }
static const struct {
	const char *s;
	uint8_t len;
} json_functions[4] = {
	FN("instantaneous"), FN("maximum"), FN("minimum"), FN("error"),
};

struct json_ctx {
	bool obis;	/* its records may have OBIS codes */
	bool storage;	/* the device names its storage numbers */
};

static void json_record(struct nmbus_out *o, const struct nmbus_frame *f,
			const struct nmbus_record *r,
			const struct json_ctx *ctx)
{
	const struct vif_info *vi;
	struct nmbus_value v;
	const char *s;

	vi = nmbus_value_decode(f, r, &v);
	if (r->kind == NMBUS_RECORD_MANUFACTURER ||
	    r->kind == NMBUS_RECORD_MORE_FOLLOW ||
	    r->kind == NMBUS_RECORD_READOUT) {
		if (r->kind == NMBUS_RECORD_READOUT)
			nmbus_out_lit(o, "{\"kind\":\"global readout\"");
		else
			nmbus_out_lit(o, "{\"kind\":\"manufacturer specific\"");
		json_kbyte(o, "dif", r->dif);
		json_khex(o, "data", f->buf + r->data_offset, r->data_len);
		nmbus_out_char(o, '}');
		return;
	}
	nmbus_out_lit(o, "{\"storage\":");
	out_small(o, r->storage);
	json_key(o, "tariff");
	out_small(o, r->tariff);
	json_key(o, "subunit");
	out_small(o, r->subunit);
	nmbus_out_mem(o, json_functions[r->function & 3].s,
		      json_functions[r->function & 3].len);
	if (r->plain_len) {
		nmbus_out_lit(o, ",\"quantity\":\"plain text unit\",\"unit\":");
		json_str_bytes(o, f->buf + r->plain_offset, r->plain_len,
			       !f->msb_first);
	} else {
		nmbus_out_lit(o, ",\"quantity\":\"");
		if (v.quantity == vi->q)
			nmbus_out_mem(o, vi->q, vi->qlen);
		else	/* "power" for an energy per hour */
			nmbus_out_str(o, v.quantity);
		nmbus_out_lit(o, "\",\"unit\":\"");
		nmbus_out_mem(o, nmbus_units[v.unit].name,
			      nmbus_units[v.unit].len);
		nmbus_out_char(o, '"');
	}
	json_value(o, f, r, &v);
	json_kbyte(o, "dif", r->dif);
	if (r->kind == NMBUS_RECORD_FIXED) {
		json_kbyte(o, "unit_code", r->vif);
		nmbus_out_char(o, '}');
		return;
	}
	if (r->n_dife)
		json_khex(o, "dife", f->buf + r->offset + 1, r->n_dife);
	json_kbyte(o, "vif", r->vif);
	if (r->n_vife) {
		json_khex(o, "vife", r->vife, r->n_vife);
		if (v.vife_text)
			json_kstr(o, "vife_text", v.vife_text);
		if (v.flags & NMBUS_VF_ERROR_CODE)
			json_kuint(o, "error_code", v.error_code);
		if (v.flags & NMBUS_VF_ACTION)
			json_kuint(o, "action", v.action);
		if (v.flags & NMBUS_VF_NON_METRIC)
			json_kstr(o, "unit_system", "non-metric");
		if (v.flags & (NMBUS_VF_FORWARD | NMBUS_VF_BACKWARD))
			json_kstr(o, "direction",
				  v.flags & NMBUS_VF_FORWARD ? "forward" :
							       "backward");
	}
	if (ctx->obis) {
		s = nmbus_record_obis(f, r);
		if (s)
			json_kstr(o, "obis", s);
	}
	if (ctx->storage) {
		s = nmbus_frame_storage_name(f, r);
		if (s)
			json_kstr(o, "storage_name", s);
	}
	nmbus_out_char(o, '}');
}

static void json_header(struct nmbus_out *o, const struct nmbus_frame *f)
{
	const struct nmbus_header *h = &f->header;
	char mfr[4];
	uint8_t id[4] = { h->id >> 24, h->id >> 16, h->id >> 8, h->id };
	const char *name;

	nmbus_out_str(o, ",\"header\":{");
	if (h->has_address) {
		nmbus_out_str(o, "\"id\":\"");
		nmbus_out_hex(o, id, 4, false);
		nmbus_out_char(o, '"');
		if (f->data_type != NMBUS_DATA_FIXED) {
			/* letters 27..31 are [ \\ ] ^ _: escaped */
			json_key(o, "manufacturer");
			json_str_bytes(o, (const uint8_t *)
				       nmbus_manufacturer_str(h->manufacturer,
							      mfr), 3, false);
			json_kuint(o, "version", h->version);
		}
		json_kstr(o, "medium", nmbus_medium_name(h->medium));
		json_kuint(o, "medium_code", h->medium);
		nmbus_out_char(o, ',');
	}
	nmbus_out_str(o, "\"access\":");
	nmbus_out_uint(o, h->access);
	json_kuint(o, "status", h->status);
	if (f->data_type != NMBUS_DATA_FIXED)
		json_kuint(o, "signature", h->signature);
	name = nmbus_device_name(h);
	if (name)
		json_kstr(o, "device_name", name);
	nmbus_out_char(o, '}');
}

static const char *const app_errors[] = {
	"unspecified error", "unimplemented CI-field", "buffer too long",
	"too many records", "premature end of record", "more than 10 DIFEs",
	"more than 10 VIFEs", "reserved", "application busy",
	"too many readouts",
};

void nmbus_write_json(struct nmbus_out *o, const struct nmbus_frame *f)
{
	nmbus_out_str(o, "{\"frame\":{\"type\":\"");
	nmbus_out_str(o, nmbus_frame_type_name(f->type));
	nmbus_out_char(o, '"');
	if (f->type >= NMBUS_FRAME_SHORT) {
		json_kuint(o, "c", f->c);
		json_kuint(o, "a", f->a);
	}
	if (f->type >= NMBUS_FRAME_CONTROL) {
		json_kuint(o, "ci", f->ci);
		json_kstr(o, "ci_name", nmbus_ci_name(f->ci));
	}
	nmbus_out_char(o, '}');

	if (f->data_type == NMBUS_DATA_ERROR) {
		uint8_t e = f->data_end > f->data_offset ?
			    f->buf[f->data_offset] : 0;

		json_key(o, "application_error");
		nmbus_out_str(o, "{\"code\":");
		nmbus_out_uint(o, e);
		json_kstr(o, "message", e < ARRAY_SIZE(app_errors) ?
			  app_errors[e] : "reserved");
		nmbus_out_char(o, '}');
	}
	if (f->data_type == NMBUS_DATA_VARIABLE ||
	    f->data_type == NMBUS_DATA_FIXED) {
		if (f->data_offset > 7)	/* the CI has a data header */
			json_header(o, f);
		nmbus_out_str(o, ",\"records\":[");
		struct json_ctx ctx = {
			.obis = nmbus_frame_may_have_obis(f),
			.storage = nmbus_is_calec(&f->header),
		};

		for (unsigned int i = 0; i < f->n_records; i++) {
			if (i)
				nmbus_out_char(o, ',');
			json_record(o, f, &f->records[i], &ctx);
		}
		nmbus_out_char(o, ']');
		json_key(o, "more_records_follow");
		nmbus_out_str(o, f->more_records_follow ? "true" : "false");
	}
	if (f->error.code != NMBUS_OK) {
		json_key(o, "error");
		nmbus_out_str(o, "{\"message\":\"");
		nmbus_out_str(o, nmbus_strerror(f->error.code));
		nmbus_out_char(o, '"');
		json_kuint(o, "offset", f->error.offset);
		if (f->error.record >= 0)
			json_kuint(o, "record", f->error.record);
		nmbus_out_char(o, '}');
	}
	nmbus_out_char(o, '}');
}

/* Human-readable: a summary line, then one line per record. */
/* @n characters at @p for people, in reading order; '?' for non-ASCII. */
static void text_chars(struct nmbus_out *o, const uint8_t *p, size_t n,
		       bool reversed)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = reversed ? p[n - 1 - i] : p[i];

		nmbus_out_char(o, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}

void nmbus_write_text(struct nmbus_out *o, const struct nmbus_frame *f)
{
	const struct nmbus_header *h = &f->header;
	char mfr[4];

	nmbus_out_str(o, nmbus_frame_type_name(f->type));
	nmbus_out_str(o, " frame");
	if (f->type >= NMBUS_FRAME_SHORT) {
		nmbus_out_str(o, " C=");
		nmbus_out_hex(o, &f->c, 1, false);
		nmbus_out_str(o, " A=");
		nmbus_out_uint(o, f->a);
	}
	if (f->type >= NMBUS_FRAME_CONTROL) {
		nmbus_out_str(o, " CI=");
		nmbus_out_hex(o, &f->ci, 1, false);
	}
	if (h->has_address) {
		uint8_t id[4] = { h->id >> 24, h->id >> 16, h->id >> 8, h->id };
		const char *name = nmbus_device_name(h);

		nmbus_out_str(o, " id ");
		nmbus_out_hex(o, id, 4, false);
		nmbus_out_char(o, ' ');
		nmbus_out_str(o, nmbus_manufacturer_str(h->manufacturer, mfr));
		nmbus_out_str(o, " v");
		nmbus_out_uint(o, h->version);
		nmbus_out_str(o, " (");
		nmbus_out_str(o, nmbus_medium_name(h->medium));
		nmbus_out_char(o, ')');
		if (name) {
			nmbus_out_str(o, " ");
			nmbus_out_str(o, name);
		}
	}
	if ((f->data_type == NMBUS_DATA_VARIABLE ||
	     f->data_type == NMBUS_DATA_FIXED) && f->data_offset > 7 &&
	    f->ci != 0x52 && f->ci != 0x56) {
		nmbus_out_str(o, " access ");
		nmbus_out_uint(o, h->access);
		nmbus_out_str(o, " status ");
		nmbus_out_hex(o, &h->status, 1, false);
	}
	nmbus_out_char(o, '\n');

	for (unsigned int i = 0; i < f->n_records; i++) {
		const struct nmbus_record *r = &f->records[i];
		struct nmbus_value v;
		const char *obis;

		nmbus_record_get_value(f, r, &v);
		nmbus_out_str(o, "  #");
		nmbus_out_uint(o, i);
		if (r->kind == NMBUS_RECORD_MANUFACTURER ||
		    r->kind == NMBUS_RECORD_MORE_FOLLOW) {
			nmbus_out_str(o, " manufacturer data: ");
			nmbus_out_hex(o, v.bytes, v.len, true);
			nmbus_out_char(o, '\n');
			continue;
		}
		nmbus_out_str(o, " storage ");
		nmbus_out_uint(o, r->storage);
		nmbus_out_str(o, " tariff ");
		nmbus_out_uint(o, r->tariff);
		nmbus_out_str(o, " subunit ");
		nmbus_out_uint(o, r->subunit);
		nmbus_out_char(o, ' ');
		nmbus_out_str(o, nmbus_function_name(r->function));
		nmbus_out_char(o, ' ');
		nmbus_out_str(o, r->plain_len ? "plain text unit" : v.quantity);
		if (v.vife_text) {
			nmbus_out_str(o, " [");
			nmbus_out_str(o, v.vife_text);
			nmbus_out_char(o, ']');
		}
		nmbus_out_str(o, " = ");
		switch (v.type) {
		case NMBUS_VALUE_NUMBER:
			write_number(o, f, r, &v);
			break;
		case NMBUS_VALUE_DATE:
		case NMBUS_VALUE_DATETIME:
		case NMBUS_VALUE_TIME:
			nmbus_write_datetime(o, &v);
			break;
		case NMBUS_VALUE_TEXT:
			text_chars(o, v.bytes, v.len,
				   !(v.flags & NMBUS_VF_TEXT_IN_ORDER));
			break;
		case NMBUS_VALUE_BINARY:
		case NMBUS_VALUE_INVALID:
			nmbus_out_hex(o, v.bytes, v.len, true);
			if (v.type == NMBUS_VALUE_INVALID)
				nmbus_out_str(o, " (invalid BCD)");
			break;
		default:
			nmbus_out_str(o, "-");
			break;
		}
		if (r->plain_len) {
			nmbus_out_char(o, ' ');
			text_chars(o, f->buf + r->plain_offset, r->plain_len,
				   !f->msb_first);
		} else if (v.unit != NMBUS_UNIT_NONE) {
			nmbus_out_char(o, ' ');
			nmbus_out_str(o, nmbus_units[v.unit].name);
		}
		obis = nmbus_record_obis(f, r);
		if (obis) {
			nmbus_out_str(o, " (OBIS ");
			nmbus_out_str(o, obis);
			nmbus_out_char(o, ')');
		}
		nmbus_out_char(o, '\n');
	}
	if (f->more_records_follow)
		nmbus_out_str(o, "  more records follow\n");
	if (f->data_type == NMBUS_DATA_ERROR) {
		uint8_t e = f->data_end > f->data_offset ?
			    f->buf[f->data_offset] : 0;

		nmbus_out_str(o, "  application error ");
		nmbus_out_uint(o, e);
		nmbus_out_str(o, ": ");
		nmbus_out_str(o, e < ARRAY_SIZE(app_errors) ? app_errors[e] :
			      "reserved");
		nmbus_out_char(o, '\n');
	}
	if (f->error.code != NMBUS_OK) {
		nmbus_out_str(o, "  error at byte ");
		nmbus_out_uint(o, f->error.offset);
		nmbus_out_str(o, ": ");
		nmbus_out_str(o, nmbus_strerror(f->error.code));
		nmbus_out_char(o, '\n');
	}
}

static void write_format(struct nmbus_out *o, const struct nmbus_frame *f,
			 enum nmbus_format format)
{
	switch (format) {
	case NMBUS_FORMAT_JSON:
		nmbus_write_json(o, f);
		break;
	case NMBUS_FORMAT_XML:
	case NMBUS_FORMAT_XML_NORMALIZED:
		nmbus_write_xml(o, f, format == NMBUS_FORMAT_XML_NORMALIZED);
		break;
	case NMBUS_FORMAT_TEXT:
		nmbus_write_text(o, f);
		break;
	}
}

static bool format_ok(const struct nmbus_frame *f, enum nmbus_format format)
{
	return f && (unsigned int)format <= NMBUS_FORMAT_TEXT;
}

NMBUS_API ssize_t nmbus_frame_format(const struct nmbus_frame *f,
				     enum nmbus_format format,
				     char *buf, size_t size)
{
	char dummy[1];
	struct nmbus_out o = {
		.buf = size ? buf : dummy, .size = size ? size - 1 : 0
	};

	if (!format_ok(f, format) || (!buf && size)) {
		return -EINVAL;
	}
	write_format(&o, f, format);
	if (size)
		buf[o.pos] = '\0';
	return nmbus_out_total(&o);
}

NMBUS_API ssize_t nmbus_frame_print(const struct nmbus_frame *f,
				    enum nmbus_format format, FILE *fp)
{
	char chunk[1024];
	struct nmbus_out o = { .buf = chunk, .size = sizeof(chunk), .fp = fp };

	if (!format_ok(f, format) || !fp) {
		return -EINVAL;
	}
	write_format(&o, f, format);
	nmbus_out_flush(&o);
	if (o.err)
		return -o.err;
	return nmbus_out_total(&o);
}
