// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnmbus: M-Bus frame builder
 *
 * Builds every master request the supported meters use (EN 13757-2 frames
 * carrying EN 13757-3 application data) and, for simulators and tests, the
 * slave's replies. Pure functions: the caller owns the buffer, nothing is
 * allocated, nothing is remembered.
 */
#include <errno.h>
#include <string.h>

#include "mbus_frame.h"
#include "nmbus-internal.h"

/* DIF: data field (low nibble), function, storage LSB, extension. */
#define DIF_CODING_MASK		0x0f
#define DIF_FUNCTION_SHIFT	4
#define DIF_STORAGE_LSB		0x40
#define DIF_EXT			0x80
/* DIFE: storage nibble, tariff (2 bits), subunit (1 bit), extension. */
#define DIFE_TARIFF_SHIFT	4
#define DIFE_SUBUNIT_SHIFT	6
#define DIFE_MAX		10
/* VIF and VIFE. */
#define VIF_EXT			0x80
#define VIF_PLAIN_TEXT		0x7c	/* with or without extension bit */
#define VIFE_MAX		10

#define VIF_ANY			0x7e
#define VIF_MANUFACTURER	0x7f
#define VIF_ANY_EXT		0xfe
#define VIFE_FREEZE		0x0b
#define VIF_DATE_TIME		0x6d
#define VIF_FAB_NO		0x79	/* enhanced identification */
#define VIF_BUS_ADDRESS		0x7a

#define DATA_LVAR_TEXT_MAX	0xbf	/* LVAR 00..BF: ISO 8859-1 text */
#define LONG_DATA_MAX		252	/* L = C + A + CI + data <= 255 */

/* Data field codes (EN 13757-3 table "Data field"). */
enum {
	DF_NONE = 0x0, DF_INT8, DF_INT16, DF_INT24, DF_INT32, DF_REAL,
	DF_INT48, DF_INT64, DF_SELECT, DF_BCD2, DF_BCD4, DF_BCD6, DF_BCD8,
	DF_VARIABLE, DF_BCD12, DF_SPECIAL,
};

static bool df_is_bcd(unsigned int df)
{
	return (df >= DF_BCD2 && df <= DF_BCD8) || df == DF_BCD12;
}

/* Baud rates selected by CI B8..BF (EN 13757-3). */
static const unsigned int ci_baud[] = {
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400,
};

/*
 * An output cursor: writes past the end are counted but not stored, so a
 * builder checks for overflow once, at the end.
 */
struct out {
	uint8_t *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, uint8_t byte)
{
	if (o->len < o->size)
		o->buf[o->len] = byte;
	o->len++;
}

static void put_bytes(struct out *o, const uint8_t *p, size_t n)
{
	while (n--)
		put(o, *p++);
}

static void put_le(struct out *o, uint64_t v, unsigned int n)
{
	while (n--) {
		put(o, v & 0xff);
		v >>= 8;
	}
}

static int out_result(const struct out *o)
{
	return o->len > o->size ? -ENOSPC : (int)o->len;
}

static bool flags_valid(unsigned int flags)
{
	return !(flags & ~(unsigned int)(NMBUS_C_FCB | NMBUS_C_FCV));
}

/* ---- link layer ------------------------------------------------------ */

int nmbus_build_ack(uint8_t *buf, size_t size)
{
	if (size < MBUS_ACK_LEN)
		return -ENOSPC;
	buf[0] = MBUS_FRAME_ACK;
	return MBUS_ACK_LEN;
}

int nmbus_build_short(uint8_t *buf, size_t size, uint8_t c, uint8_t a)
{
	if (size < MBUS_SHORT_LEN)
		return -ENOSPC;
	buf[0] = MBUS_FRAME_SHORT_START;
	buf[1] = c;
	buf[2] = a;
	buf[3] = mbus_frame_checksum(buf + 1, 2);
	buf[4] = MBUS_FRAME_STOP;
	return MBUS_SHORT_LEN;
}

/*
 * Close a long frame whose user data (C A CI ...) has been written at
 * offset MBUS_LONG_HDR_LEN: fill in the header, checksum and stop byte.
 */
static int long_finish(struct out *o)
{
	size_t l = o->len - MBUS_LONG_HDR_LEN;

	if (l > 255)
		return -EMSGSIZE;
	put(o, 0);
	put(o, MBUS_FRAME_STOP);
	if (o->len > o->size)
		return -ENOSPC;
	o->buf[0] = MBUS_FRAME_LONG_START;
	o->buf[1] = l;
	o->buf[2] = l;
	o->buf[3] = MBUS_FRAME_LONG_START;
	o->buf[o->len - 2] = mbus_frame_checksum(o->buf + MBUS_LONG_HDR_LEN, l);
	return o->len;
}

static void long_start(struct out *o, uint8_t *buf, size_t size, uint8_t c,
		       uint8_t a, uint8_t ci)
{
	o->buf = buf;
	o->size = size;
	o->len = MBUS_LONG_HDR_LEN;
	put(o, c);
	put(o, a);
	put(o, ci);
}

int nmbus_build_long(uint8_t *buf, size_t size, uint8_t c, uint8_t a,
		     uint8_t ci, const uint8_t *data, size_t len)
{
	struct out o;

	if (len > LONG_DATA_MAX)
		return -EMSGSIZE;
	long_start(&o, buf, size, c, a, ci);
	put_bytes(&o, data, len);
	return long_finish(&o);
}

/* ---- data records ------------------------------------------------------ */

/*
 * Length of the data record header at @drh (DIF .. last VIFE), found from
 * the extension bits; 0 if it is malformed or longer than NMBUS_DRH_MAX.
 */
static size_t drh_length(const uint8_t *drh)
{
	size_t i = 0, n;
	bool more;

	if ((drh[0] & DIF_CODING_MASK) == DF_SPECIAL)
		return 1;
	for (n = 0; drh[i] & DIF_EXT; n++, i++)
		if (n == DIFE_MAX)
			return 0;
	i++;				/* the VIF */
	more = drh[i] & VIF_EXT;
	if ((drh[i] & ~VIF_EXT) == VIF_PLAIN_TEXT) {
		i += 1 + drh[i + 1];	/* its last character */
		if (i >= NMBUS_DRH_MAX)
			return 0;
	}
	for (n = 0; more; n++) {
		if (n == VIFE_MAX || ++i >= NMBUS_DRH_MAX)
			return 0;
		more = drh[i] & VIF_EXT;
	}
	return i + 1;
}

int nmbus_bcd_encode(uint8_t *buf, unsigned int ndigits, int64_t value)
{
	bool neg = value < 0;
	uint64_t v = neg ? -(uint64_t)value : (uint64_t)value;
	unsigned int i, digits = neg ? ndigits - 1 : ndigits;

	if (ndigits < 2 || ndigits > 16 || ndigits % 2)
		return -EINVAL;
	memset(buf, 0, ndigits / 2);
	for (i = 0; i < digits; i++, v /= 10)
		buf[i / 2] |= (v % 10) << (i % 2 * 4);
	if (v)
		return -EINVAL;
	if (neg)
		buf[ndigits / 2 - 1] |= 0xf0;
	return ndigits / 2;
}

static bool int_fits(int64_t v, unsigned int nbytes)
{
	if (nbytes >= 8)
		return true;
	return v >= -(INT64_C(1) << (8 * nbytes - 1)) &&
	       v < (INT64_C(1) << (8 * nbytes));
}

static int encode_int(struct out *o, unsigned int df, int64_t v)
{
	unsigned int n = nmbus_dif_len[df];
	uint8_t bcd[8];
	int ret;

	if (df_is_bcd(df)) {
		ret = nmbus_bcd_encode(bcd, 2 * n, v);
		if (ret < 0)
			return ret;
		put_bytes(o, bcd, ret);
		return 0;
	}
	/* DF_NONE and DF_SELECT carry no data, DF_VARIABLE no integer. */
	if (!n || n >= NMBUS_DL_VAR || df == DF_REAL || !int_fits(v, n))
		return -EINVAL;
	put_le(o, (uint64_t)v, n);
	return 0;
}

static int encode_real(struct out *o, unsigned int df, double r)
{
	float f = r;
	uint32_t bits;

	if (df != DF_REAL)
		return -EINVAL;
	memcpy(&bits, &f, sizeof(bits));
	put_le(o, bits, 4);
	return 0;
}

/*
 * Date type G (2 bytes): day | year<2:0> << 5, month | year<6:3> << 4.
 * Date and time type F (4 bytes): minute, hour | hundred-year << 5 |
 * summer << 7, then the type G bytes. Years count from 1900.
 */
static int encode_date(struct out *o, unsigned int df, const struct tm *tm)
{
	unsigned int year = tm->tm_year < 0 ? 127 : tm->tm_year % 100;
	unsigned int century = tm->tm_year < 0 ? 0 : tm->tm_year / 100;

	if (tm->tm_mday < 1 || tm->tm_mday > 31 || tm->tm_mon < 0 ||
	    tm->tm_mon > 11 || century > 3)
		return -EINVAL;
	if (df == DF_INT32) {
		if (tm->tm_min < 0 || tm->tm_min > 59 || tm->tm_hour < 0 ||
		    tm->tm_hour > 23)
			return -EINVAL;
		put(o, tm->tm_min);
		put(o, tm->tm_hour | century << 5 | (tm->tm_isdst > 0) << 7);
	} else if (df != DF_INT16) {
		return -EINVAL;
	}
	put(o, tm->tm_mday | (year & 0x07) << 5);
	put(o, (tm->tm_mon + 1) | (year & 0x78) << 1);
	return 0;
}

static int encode_variable(struct out *o, const struct nmbus_build_record *r)
{
	size_t n;

	if (r->type == NMBUS_BUILD_TEXT) {
		if (!r->text)
			return -EINVAL;
		n = strlen(r->text);
		if (n > DATA_LVAR_TEXT_MAX)
			return -EINVAL;
		put(o, n);
		while (n--)
			put(o, r->text[n]);
		return 0;
	}
	if (r->type != NMBUS_BUILD_BYTES || r->bytes.len > DATA_LVAR_TEXT_MAX ||
	    (r->bytes.len && !r->bytes.data))
		return -EINVAL;
	put(o, r->bytes.len);
	put_bytes(o, r->bytes.data, r->bytes.len);
	return 0;
}

/* Manufacturer data: DIF 0F or 1F, then the bytes up to the end. */
static int encode_special(struct out *o, const struct nmbus_build_record *r)
{
	put(o, r->drh[0]);
	if (r->type == NMBUS_BUILD_NONE)
		return 0;
	if (r->type != NMBUS_BUILD_BYTES || (r->bytes.len && !r->bytes.data))
		return -EINVAL;
	put_bytes(o, r->bytes.data, r->bytes.len);
	return 0;
}

static int encode_record(struct out *o, const struct nmbus_build_record *r)
{
	unsigned int df = r->drh[0] & DIF_CODING_MASK;
	size_t hlen;

	if (df == DF_SPECIAL)
		return encode_special(o, r);
	hlen = drh_length(r->drh);
	if (!hlen)
		return -EINVAL;
	put_bytes(o, r->drh, hlen);

	switch (r->type) {
	case NMBUS_BUILD_NONE:
		return df == DF_NONE || df == DF_SELECT ? 0 : -EINVAL;
	case NMBUS_BUILD_INT:
		return encode_int(o, df, r->i);
	case NMBUS_BUILD_REAL:
		return encode_real(o, df, r->r);
	case NMBUS_BUILD_DATE:
		return encode_date(o, df, &r->tm);
	case NMBUS_BUILD_TEXT:
	case NMBUS_BUILD_BYTES:
		return df == DF_VARIABLE ? encode_variable(o, r) : -EINVAL;
	}
	return -EINVAL;
}

static int encode_records(struct out *o, const struct nmbus_build_record *recs,
			  size_t nrecs)
{
	size_t i;
	int ret;

	if (nrecs && !recs)
		return -EINVAL;
	for (i = 0; i < nrecs; i++) {
		/* manufacturer data run to the end of the telegram */
		if ((recs[i].drh[0] & DIF_CODING_MASK) == DF_SPECIAL &&
		    i + 1 != nrecs)
			return -EINVAL;
		ret = encode_record(o, &recs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int nmbus_encode_records(uint8_t *buf, size_t size,
			 const struct nmbus_build_record *recs, size_t nrecs)
{
	struct out o = { .buf = buf, .size = size };
	int ret = encode_records(&o, recs, nrecs);

	return ret ? ret : out_result(&o);
}

int nmbus_encode_dib(uint8_t *buf, size_t size, unsigned int coding,
		     unsigned int function, uint64_t storage, uint32_t tariff,
		     uint32_t subunit)
{
	struct out o = { .buf = buf, .size = size };
	uint8_t dif;

	if (coding > DF_SPECIAL || function > 3 || storage >> 41 ||
	    tariff >> 20 || subunit >> 10)
		return -EINVAL;
	dif = coding | function << DIF_FUNCTION_SHIFT |
	      (storage & 1 ? DIF_STORAGE_LSB : 0);
	storage >>= 1;
	if (storage || tariff || subunit)
		dif |= DIF_EXT;
	put(&o, dif);
	while (storage || tariff || subunit) {
		uint8_t dife = (storage & 0x0f) |
			       (tariff & 0x03) << DIFE_TARIFF_SHIFT |
			       (subunit & 0x01) << DIFE_SUBUNIT_SHIFT;

		storage >>= 4;
		tariff >>= 2;
		subunit >>= 1;
		if (storage || tariff || subunit)
			dife |= DIF_EXT;
		put(&o, dife);
	}
	return out_result(&o);
}

/* ---- master requests --------------------------------------------------- */

int nmbus_build_snd_nke(uint8_t *buf, size_t size, uint8_t addr)
{
	return nmbus_build_short(buf, size, NMBUS_C_SND_NKE, addr);
}

static int build_req(uint8_t *buf, size_t size, uint8_t c, uint8_t addr,
		     unsigned int flags)
{
	if (!flags_valid(flags))
		return -EINVAL;
	return nmbus_build_short(buf, size, c | flags, addr);
}

int nmbus_build_req_ud1(uint8_t *buf, size_t size, uint8_t addr,
			unsigned int flags)
{
	return build_req(buf, size, NMBUS_C_REQ_UD1, addr, flags);
}

int nmbus_build_req_ud2(uint8_t *buf, size_t size, uint8_t addr,
			unsigned int flags)
{
	return build_req(buf, size, NMBUS_C_REQ_UD2, addr, flags);
}

/* A SND_UD with CI @ci and @len bytes of data. */
static int build_snd_ud(uint8_t *buf, size_t size, uint8_t addr,
			unsigned int flags, uint8_t ci, const uint8_t *data,
			size_t len)
{
	if (!flags_valid(flags))
		return -EINVAL;
	return nmbus_build_long(buf, size, NMBUS_C_SND_UD | flags, addr, ci,
				data, len);
}

int nmbus_build_snd_ud(uint8_t *buf, size_t size, uint8_t addr,
		       unsigned int flags, const struct nmbus_build_record *recs,
		       size_t nrecs)
{
	struct out o;
	int ret;

	if (!flags_valid(flags))
		return -EINVAL;
	long_start(&o, buf, size, NMBUS_C_SND_UD | flags, addr,
		   NMBUS_CI_DATA_SEND);
	ret = encode_records(&o, recs, nrecs);
	return ret ? ret : long_finish(&o);
}

int nmbus_build_select(uint8_t *buf, size_t size, unsigned int flags,
		       const uint8_t *mask, size_t len)
{
	if (len > NMBUS_SECADDR_LEN || len == 5 || (len && !mask))
		return -EINVAL;
	return build_snd_ud(buf, size, MBUS_ADDR_NETWORK, flags,
			    NMBUS_CI_SELECT, mask, len);
}

int nmbus_build_select_fab(uint8_t *buf, size_t size, unsigned int flags,
			   const uint8_t mask[NMBUS_SECADDR_LEN],
			   const uint8_t fab[4])
{
	uint8_t data[NMBUS_SECADDR_LEN + 6];

	if (!mask || !fab)
		return -EINVAL;
	memcpy(data, mask, NMBUS_SECADDR_LEN);
	data[8] = 0x0c;			/* 8 digit BCD, instantaneous */
	data[9] = 0x78;			/* fabrication number */
	memcpy(data + 10, fab, 4);
	return build_snd_ud(buf, size, MBUS_ADDR_NETWORK, flags,
			    NMBUS_CI_SELECT, data, sizeof(data));
}

int nmbus_build_app_reset(uint8_t *buf, size_t size, uint8_t addr,
			  unsigned int flags, int subcode)
{
	uint8_t sub = subcode;

	if (subcode < -1 || subcode > 0xff)
		return -EINVAL;
	return build_snd_ud(buf, size, addr, flags, NMBUS_CI_APP_RESET, &sub,
			    subcode >= 0);
}

int nmbus_baud_to_ci(unsigned int baud)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ci_baud); i++)
		if (ci_baud[i] == baud)
			return NMBUS_CI_BAUD_300 + i;
	return -EINVAL;
}

unsigned int nmbus_ci_to_baud(uint8_t ci)
{
	if (ci < NMBUS_CI_BAUD_300 || ci > NMBUS_CI_BAUD_38400)
		return 0;
	return ci_baud[ci - NMBUS_CI_BAUD_300];
}

int nmbus_build_set_baud(uint8_t *buf, size_t size, uint8_t addr,
			 unsigned int flags, unsigned int baud)
{
	int ci = nmbus_baud_to_ci(baud);

	if (ci < 0)
		return ci;
	return build_snd_ud(buf, size, addr, flags, ci, NULL, 0);
}

int nmbus_build_set_primary(uint8_t *buf, size_t size, uint8_t addr,
			    unsigned int flags, uint8_t new_addr)
{
	const uint8_t data[] = { DF_INT8, VIF_BUS_ADDRESS, new_addr };

	if (new_addr > MBUS_ADDR_PRIMARY_MAX)
		return -EINVAL;
	return build_snd_ud(buf, size, addr, flags, NMBUS_CI_DATA_SEND, data,
			    sizeof(data));
}

int nmbus_build_set_secondary(uint8_t *buf, size_t size, uint8_t addr,
			      unsigned int flags, uint32_t id)
{
	uint8_t data[6] = { DF_BCD8, VIF_FAB_NO };

	if (nmbus_bcd_encode(data + 2, 8, id) < 0)
		return -EINVAL;
	return build_snd_ud(buf, size, addr, flags, NMBUS_CI_DATA_SEND, data,
			    sizeof(data));
}

int nmbus_build_set_datetime(uint8_t *buf, size_t size, uint8_t addr,
			     unsigned int flags, const struct tm *tm)
{
	struct nmbus_build_record rec = {
		.drh = { DF_INT32, VIF_DATE_TIME },
		.type = NMBUS_BUILD_DATE,
	};

	if (!tm || tm->tm_year < 0)
		return -EINVAL;
	rec.tm = *tm;
	return nmbus_build_snd_ud(buf, size, addr, flags, &rec, 1);
}

/* A record with no value: DIB (@coding, @storage), then @vib. */
static int build_dib_vib(uint8_t *buf, size_t size, uint8_t addr,
			 unsigned int flags, unsigned int coding,
			 uint64_t storage, const uint8_t *vib, size_t vib_len)
{
	uint8_t data[DIFE_MAX + 1 + 2];
	int n;

	n = nmbus_encode_dib(data, sizeof(data) - vib_len, coding, 0, storage,
			     0, 0);
	if (n < 0)
		return n == -ENOSPC ? -EINVAL : n;
	memcpy(data + n, vib, vib_len);
	return build_snd_ud(buf, size, addr, flags, NMBUS_CI_DATA_SEND, data,
			    n + vib_len);
}

int nmbus_build_freeze(uint8_t *buf, size_t size, uint8_t addr,
		       unsigned int flags, uint32_t storage)
{
	static const uint8_t vib[] = { VIF_ANY_EXT, VIFE_FREEZE };

	return build_dib_vib(buf, size, addr, flags, DF_NONE, storage, vib,
			     sizeof(vib));
}

int nmbus_build_readout_select(uint8_t *buf, size_t size, uint8_t addr,
			       unsigned int flags, uint32_t storage,
			       uint8_t vif)
{
	if (vif != VIF_ANY && vif != VIF_MANUFACTURER)
		return -EINVAL;
	return build_dib_vib(buf, size, addr, flags, DF_SELECT, storage, &vif,
			     1);
}

/* ---- slave side ----------------------------------------------------- */

int nmbus_build_rsp_ud(uint8_t *buf, size_t size, uint8_t c, uint8_t addr,
		       const struct nmbus_rsp_header *hdr,
		       const struct nmbus_build_record *recs, size_t nrecs,
		       bool more)
{
	uint8_t id[4];
	struct out o;
	int ret;

	if (!hdr || nmbus_bcd_encode(id, 8, hdr->id) < 0)
		return -EINVAL;
	if (more && nrecs &&
	    (recs[nrecs - 1].drh[0] & DIF_CODING_MASK) == DF_SPECIAL)
		return -EINVAL;
	long_start(&o, buf, size, c, addr, NMBUS_CI_RSP_VAR);
	put_bytes(&o, id, sizeof(id));
	put_le(&o, hdr->manufacturer, 2);
	put(&o, hdr->version);
	put(&o, hdr->medium);
	put(&o, hdr->access);
	put(&o, hdr->status);
	put_le(&o, hdr->signature, 2);
	ret = encode_records(&o, recs, nrecs);
	if (ret)
		return ret;
	if (more)
		put(&o, NMBUS_DIF_MORE_FOLLOW);
	return long_finish(&o);
}

/* ---- identification ----------------------------------------------------- */

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int nmbus_secaddr_parse(const char *str, uint8_t addr[NMBUS_SECADDR_LEN])
{
	size_t plen = sizeof(NMBUS_SECADDR_BYTES) - 1;
	int d[NMBUS_SECADDR_STRLEN];
	bool wire = false;
	int i;

	if (str && !strncmp(str, NMBUS_SECADDR_BYTES, plen)) {
		str += plen;
		wire = true;
	}
	if (!str || strlen(str) != NMBUS_SECADDR_STRLEN)
		return -EINVAL;
	for (i = 0; i < NMBUS_SECADDR_STRLEN; i++) {
		d[i] = hex_digit(str[i]);
		if (d[i] < 0 || (i < 8 && d[i] > 9 && d[i] != 0xf))
			return -EINVAL;
	}
	/*
	 * ID: printed most significant digit first, sent LSB first; in the
	 * "bytes:" form each byte as sent.
	 */
	for (i = 0; i < 4; i++)
		addr[i] = wire ? d[2 * i] << 4 | d[2 * i + 1] :
				 d[6 - 2 * i] << 4 | d[7 - 2 * i];
	/* manufacturer, version, medium: the bytes as sent (libmbus's form) */
	for (i = 4; i < NMBUS_SECADDR_LEN; i++)
		addr[i] = d[2 * i] << 4 | d[2 * i + 1];
	return 0;
}

bool nmbus_secaddr_is_str(const char *str)
{
	size_t plen = sizeof(NMBUS_SECADDR_BYTES) - 1;

	if (!strncmp(str, NMBUS_SECADDR_BYTES, plen))
		str += plen;
	return strlen(str) == NMBUS_SECADDR_STRLEN;
}

int nmbus_secaddr_format(const uint8_t addr[NMBUS_SECADDR_LEN], char *str,
			 size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	static const int order[NMBUS_SECADDR_LEN] = { 3, 2, 1, 0, 4, 5, 6, 7 };
	int i;

	if (size < NMBUS_SECADDR_STRLEN + 1)
		return -ENOSPC;
	for (i = 0; i < NMBUS_SECADDR_LEN; i++) {
		str[2 * i] = hex[addr[order[i]] >> 4];
		str[2 * i + 1] = hex[addr[order[i]] & 0x0f];
	}
	str[NMBUS_SECADDR_STRLEN] = '\0';
	return NMBUS_SECADDR_STRLEN;
}

bool nmbus_header_get_secaddr(const struct nmbus_header *h,
			      uint8_t addr[NMBUS_SECADDR_LEN])
{
	for (int i = 0; i < 4; i++)
		addr[i] = (uint8_t)(h->id >> (8 * i));
	addr[4] = (uint8_t)h->manufacturer;
	addr[5] = (uint8_t)(h->manufacturer >> 8);
	addr[6] = h->version;
	addr[7] = h->medium;
	return h->has_address;
}

static bool nibble_match(uint8_t mask, uint8_t value)
{
	return mask == 0x0f || mask == value;
}

static bool bcd_match(uint8_t mask, uint8_t value)
{
	return nibble_match(mask & 0x0f, value & 0x0f) &&
	       nibble_match(mask >> 4, value >> 4);
}

/*
 * EN 13757-3: the manufacturer is a wildcard only as a whole (FFFFh),
 * version and medium only as FFh. A short mask without the second
 * manufacturer byte cannot be matched (nmbus_build_select() refuses it).
 */
bool nmbus_secaddr_match(const uint8_t *mask, size_t len,
			 const uint8_t addr[NMBUS_SECADDR_LEN])
{
	size_t i;

	if (len > NMBUS_SECADDR_LEN || len == 5 || (len && !mask))
		return false;
	for (i = 0; i < len && i < 4; i++)
		if (!bcd_match(mask[i], addr[i]))
			return false;
	if (len >= 6 && !(mask[4] == 0xff && mask[5] == 0xff) &&
	    (mask[4] != addr[4] || mask[5] != addr[5]))
		return false;
	for (i = 6; i < len; i++)
		if (mask[i] != 0xff && mask[i] != addr[i])
			return false;
	return true;
}

bool nmbus_secaddr_match_lenient(const uint8_t *mask, size_t len,
				 const uint8_t addr[NMBUS_SECADDR_LEN])
{
	size_t i;

	if (len > NMBUS_SECADDR_LEN || len == 5 || (len && !mask))
		return false;
	for (i = 0; i < len; i++)
		if (!bcd_match(mask[i], addr[i]))
			return false;
	return true;
}
