// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * XML in the layout of rscada/libmbus (mbus_frame_data_xml() and
 * mbus_frame_data_xml_normalized()), so consumers of libmbus's XML can
 * switch. Names of products, quantities, units and media are libmbus's;
 * values follow EN 13757-3 where libmbus differs (see
 * tests/unit/test-corpus.c).
 */
#include <string.h>

#include "nmbus-internal.h"

/* Bytes XML text takes as they are; the others go through xml_byte(). */
static const uint8_t xml_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static inline bool xml_plain_byte(uint8_t c)
{
	return xml_plain[c];
}

static void xml_byte(struct nmbus_out *o, uint8_t c)
{
	switch (c) {
	case '&':
		nmbus_out_lit(o, "&amp;");
		break;
	case '<':
		nmbus_out_lit(o, "&lt;");
		break;
	case '>':
		nmbus_out_lit(o, "&gt;");
		break;
	case '"':
		nmbus_out_lit(o, "&quot;");
		break;
	default:
		nmbus_out_char(o, xml_plain_byte(c) ? (char)c : ' ');
	}
}

/* Runs of plain bytes are copied in one piece. */
static void xml_text(struct nmbus_out *o, const uint8_t *p, size_t n,
		     bool reversed)
{
	size_t i = 0, j;

	if (reversed) {
		while (n)
			xml_byte(o, p[--n]);
		return;
	}
	while (i < n) {
		for (j = i; j < n && xml_plain_byte(p[j]); j++)
			;
		nmbus_out_mem(o, p + i, j - i);
		if (j == n)
			break;
		xml_byte(o, p[j]);
		i = j + 1;
	}
}

/*
 * The library's own strings (names from its tables): printable text, so
 * only the four markup characters need looking for, which strcspn() does
 * many bytes at a time.
 */
static void xml_str(struct nmbus_out *o, const char *s)
{
	for (;;) {
		size_t j = strcspn(s, "&<>\"");

		nmbus_out_mem(o, s, j);
		if (!s[j])
			return;
		xml_byte(o, (uint8_t)s[j]);
		s += j + 1;
	}
}

/* @tag must be a string literal: the whole markup is one copy. */
#define xml_open(o, tag) nmbus_out_lit(o, "        <" tag ">")
#define xml_close(o, tag) nmbus_out_lit(o, "</" tag ">\n")

#define xml_elem(o, tag, s) do {					\
	xml_open(o, tag);						\
	xml_str(o, s);							\
	xml_close(o, tag);						\
} while (0)

/* An element whose text is already escaped (the tables' XML names). */
#define xml_elem_raw(o, tag, s) do {					\
	xml_open(o, tag);						\
	nmbus_out_str(o, s);						\
	xml_close(o, tag);						\
} while (0)

#define xml_uint(o, tag, v) do {					\
	xml_open(o, tag);						\
	nmbus_out_uint(o, v);						\
	xml_close(o, tag);						\
} while (0)

#define xml_hex2(o, tag, v) do {					\
	uint8_t b_ = (v);						\
									\
	xml_open(o, tag);						\
	nmbus_out_hex(o, &b_, 1, false);				\
	xml_close(o, tag);						\
} while (0)

/* libmbus prints the BCD ID as a hex number: no leading zeros. */
static void xml_id(struct nmbus_out *o, uint32_t id)
{
	static const char hex[] = "0123456789ABCDEF";
	bool lead = true;

	xml_open(o, "Id");
	for (int s = 28; s >= 0; s -= 4) {
		unsigned int d = (id >> s) & 15;

		if (d || !lead || !s) {
			nmbus_out_char(o, hex[d]);
			lead = false;
		}
	}
	xml_close(o, "Id");
}

static const char *const fixed_media[16] = {
	"Other", "Oil", "Electricity", "Gas", "Heat", "Steam", "Hot Water",
	"Water", "H.C.A.", "Reserved", "Gas Mode 2", "Heat Mode 2",
	"Hot Water Mode 2", "Water Mode 2", "H.C.A. Mode 2", "Reserved",
};

static void xml_header(struct nmbus_out *o, const struct nmbus_frame *f)
{
	const struct nmbus_header *h = &f->header;
	const char *name = nmbus_libmbus_product_name(h);
	const char *medium = nmbus_medium(h->medium)->xml;
	char mfr[4];

	nmbus_out_str(o, "    <SlaveInformation>\n");
	xml_id(o, h->id);
	if (f->data_type == NMBUS_DATA_FIXED) {
		xml_elem_raw(o, "Medium", fixed_media[h->medium & 15]);
		xml_uint(o, "AccessNumber", h->access);
		xml_hex2(o, "Status", h->status);
		nmbus_out_str(o, "    </SlaveInformation>\n\n");
		return;
	}
	xml_elem(o, "Manufacturer",
		 nmbus_manufacturer_str(h->manufacturer, mfr));
	xml_uint(o, "Version", h->version);
	xml_elem(o, "ProductName", name ? name : "");
	if (medium) {
		xml_elem_raw(o, "Medium", medium);
	} else {
		xml_open(o, "Medium");
		nmbus_out_str(o, "Unknown medium (0x");
		nmbus_out_hex(o, &h->medium, 1, false);
		nmbus_out_char(o, ')');
		xml_close(o, "Medium");
	}
	xml_uint(o, "AccessNumber", h->access);
	xml_hex2(o, "Status", h->status);
	xml_open(o, "Signature");
	nmbus_out_hex(o, (const uint8_t[]){ h->signature >> 8, h->signature },
		      2, false);
	xml_close(o, "Signature");
	nmbus_out_str(o, "    </SlaveInformation>\n\n");
}

/* Unit texts of libmbus for the fixed data structure. */
static const char *const fixed_unit_text[64] = {
	"h,m,s", "D,M,Y", "Wh", "10 Wh", "100 Wh", "kWh", "10 kWh", "100 kWh",
	"MWh", "10 MWh", "100 MWh", "kJ", "10 kJ", "100 kJ", "MJ", "10 MJ",
	"100 MJ", "GJ", "10 GJ", "100 GJ", "W", "10 W", "100 W", "kW",
	"10 kW", "100 kW", "MW", "10 MW", "100 MW", "kJ/h", "10 kJ/h",
	"100 kJ/h", "MJ/h", "10 MJ/h", "100 MJ/h", "GJ/h", "10 GJ/h",
	"100 GJ/h", "ml", "10 ml", "100 ml", "l", "10 l", "100 l", "m^3",
	"10 m^3", "100 m^3", "ml/h", "10 ml/h", "100 ml/h", "l/h", "10 l/h",
	"100 l/h", "m^3/h", "10 m^3/h", "100 m^3/h", "1e-3 \u00b0C",
	"units for HCA", "reserved", "reserved", "reserved", "reserved",
	"reserved but historic", "without units",
};

/* libmbus's date strings: invalid times print as all zero fields. */
static void xml_datetime(struct nmbus_out *o, const struct nmbus_value *v,
			 bool zulu)
{
	struct nmbus_value z = *v;

	if (v->tm.invalid)
		z.tm = (struct nmbus_datetime){ .year = 1900, .month = 1 };
	nmbus_write_datetime(o, &z);
	if (zulu && z.type == NMBUS_VALUE_DATETIME)
		nmbus_out_char(o, 'Z');
}

/*
 * Power-of-ten prefixes of libmbus's plain unit texts ("Energy (10 Wh)"),
 * index exponent + 6; NULL: written as "1e<exp> ".
 */
static const char *const xml_prefixes[16] = {
	[0] = "my", [3] = "m", [6] = "", [7] = "10 ", [8] = "100 ",
	[9] = "k", [10] = "10 k", [11] = "100 k", [12] = "M", [15] = "G",
};

static void xml_prefix(struct nmbus_out *o, int e)
{
	if (e >= -6 && e <= 9 && xml_prefixes[e + 6]) {
		nmbus_out_str(o, xml_prefixes[e + 6]);
		return;
	}
	nmbus_out_str(o, "1e");
	nmbus_out_int(o, e);
	nmbus_out_char(o, ' ');
}

/*
 * Unit texts of libmbus's plain XML (mbus_vib_unit_lookup()), escaped for
 * XML: a range of codes, the text before the power-of-ten prefix, the
 * unit after it, the exponent of the first code. @unit NULL: @head
 * alone; "\x01": a duration (seconds, minutes, hours, days by the low two
 * bits); "\x02": reserved ("Reserved (0x<the VIFE byte>)"). Sorted by
 * code, ranges disjoint (plain_find()).
 */
struct plain_unit {
	uint8_t first, last;
	const char *head;
	const char *unit;
	int8_t exp;
};

#define DURATION "\x01"

static const struct plain_unit plain_primary[] = {
	{ 0x00, 0x07, "Energy (", "Wh)", -3 },
	{ 0x08, 0x0f, "Energy (", "J)", 0 },
	{ 0x10, 0x17, "Volume (", " m^3)", -6 },
	{ 0x18, 0x1f, "Mass (", "kg)", -3 },
	{ 0x20, 0x23, "On time ", DURATION, 0 },
	{ 0x24, 0x27, "Operating time ", DURATION, 0 },
	{ 0x28, 0x2f, "Power (", "W)", -3 },
	{ 0x30, 0x37, "Power (", "J/h)", 0 },
	{ 0x38, 0x3f, "Volume flow (", " m^3/h)", -6 },
	{ 0x40, 0x47, "Volume flow (", " m^3/min)", -7 },
	{ 0x48, 0x4f, "Volume flow (", " m^3/s)", -9 },
	{ 0x50, 0x57, "Mass flow (", " kg/h)", -3 },
	{ 0x58, 0x5b, "Flow temperature (", "deg C)", -3 },
	{ 0x5c, 0x5f, "Return temperature (", "deg C)", -3 },
	{ 0x60, 0x63, "Temperature Difference (", " deg C)", -3 },
	{ 0x64, 0x67, "External temperature (", " deg C)", -3 },
	{ 0x68, 0x6b, "Pressure (", " bar)", -3 },
	{ 0x6c, 0x6c, "Time Point (date)", NULL, 0 },
	{ 0x6d, 0x6d, "Time Point (time &amp; date)", NULL, 0 },
	{ 0x6e, 0x6e, "Units for H.C.A.", NULL, 0 },
	{ 0x6f, 0x6f, "Reserved", NULL, 0 },
	{ 0x70, 0x73, "Averaging Duration ", DURATION, 0 },
	{ 0x74, 0x77, "Actuality Duration ", DURATION, 0 },
	{ 0x78, 0x78, "Fabrication number", NULL, 0 },
	{ 0x79, 0x79, "Unknown (VIF=0x79)", NULL, 0 },
	{ 0x7a, 0x7a, "Bus Address", NULL, 0 },
	{ 0x7b, 0x7b, "Unknown (VIF=0x7B)", NULL, 0 },	/* FB, no VIFE */
	{ 0x7d, 0x7d, "Unknown (VIF=0x7D)", NULL, 0 },	/* FD, no VIFE */
	{ 0x7e, 0x7e, "Unknown (VIF=0x7E)", NULL, 0 },	/* any VIF */
	{ 0x7f, 0x7f, "Manufacturer specific", NULL, 0 },
};

static const struct plain_unit plain_fd[] = {
	{ 0x00, 0x03, "Credit of ",
	  " of the nominal local legal currency units", -3 },
	{ 0x04, 0x07, "Debit of ",
	  " of the nominal local legal currency units", -3 },
	{ 0x09, 0x09, "Medium (as in fixed header)", NULL, 0 },
	{ 0x0a, 0x0a, "Manufacturer (as in fixed header)", NULL, 0 },
	{ 0x1a, 0x1a, "Digital output (binary)", NULL, 0 },
	{ 0x1b, 0x1b, "Digital input (binary)", NULL, 0 },
	{ 0x1d, 0x1d, "response delay time", NULL, 0 },
	{ 0x24, 0x24, "Storage interval second(s)", NULL, 0 },
	{ 0x25, 0x25, "Storage interval minute(s)", NULL, 0 },
	{ 0x26, 0x26, "Storage interval hour(s)", NULL, 0 },
	{ 0x27, 0x27, "Storage interval day(s)", NULL, 0 },
	{ 0x28, 0x28, "Storage interval month(s)", NULL, 0 },
	{ 0x29, 0x29, "Storage interval year(s)", NULL, 0 },
	{ 0x2c, 0x2c, "Duration since last readout second(s)", NULL, 0 },
	{ 0x2d, 0x2d, "Duration since last readout minute(s)", NULL, 0 },
	{ 0x2e, 0x2e, "Duration since last readout hour(s)", NULL, 0 },
	{ 0x2f, 0x2f, "Duration since last readout day(s)", NULL, 0 },
	{ 0x30, 0x30, "Start (date/time) of tariff", NULL, 0 },
	{ 0x31, 0x31, "Duration of tariff minute(s)", NULL, 0 },
	{ 0x32, 0x32, "Duration of tariff hour(s)", NULL, 0 },
	{ 0x33, 0x33, "Duration of tariff day(s)", NULL, 0 },
	{ 0x34, 0x34, "Period of tariff second(s)", NULL, 0 },
	{ 0x35, 0x35, "Period of tariff minute(s)", NULL, 0 },
	{ 0x36, 0x36, "Period of tariff hour(s)", NULL, 0 },
	{ 0x37, 0x37, "Period of tariff day(s)", NULL, 0 },
	{ 0x38, 0x38, "Period of tariff months(s)", NULL, 0 },
	{ 0x39, 0x39, "Period of tariff year(s)", NULL, 0 },
	{ 0x3a, 0x3a, "dimensionless / no VIF", NULL, 0 },
	{ 0x40, 0x4f, "", " V", -9 },
	{ 0x50, 0x5f, "", " A", -12 },
	{ 0x68, 0x68, "Duration since last cumulation hour(s)", NULL, 0 },
	{ 0x69, 0x69, "Duration since last cumulation day(s)", NULL, 0 },
	{ 0x6a, 0x6a, "Duration since last cumulation month(s)", NULL, 0 },
	{ 0x6b, 0x6b, "Duration since last cumulation year(s)", NULL, 0 },
	{ 0x6c, 0x6c, "Operating time battery hour(s)", NULL, 0 },
	{ 0x6d, 0x6d, "Operating time battery day(s)", NULL, 0 },
	{ 0x6e, 0x6e, "Operating time battery month(s)", NULL, 0 },
	{ 0x6f, 0x6f, "Operating time battery year(s)", NULL, 0 },
	{ 0x71, 0x7f, "Reserved VIF extension", NULL, 0 },
};

/* RESERVED: "Reserved (0x<the VIFE byte, lower case>)". */
#define RESERVED "\x02"

static const struct plain_unit plain_fb[] = {
	{ 0x00, 0x00, "Energy (0.1 MWh)", NULL, 0 },
	{ 0x01, 0x01, "Energy (MWh)", NULL, 0 },
	{ 0x02, 0x07, "", RESERVED, 0 },
	{ 0x08, 0x08, "Energy (0.1 GJ)", NULL, 0 },
	{ 0x09, 0x09, "Energy (GJ)", NULL, 0 },
	{ 0x0a, 0x0f, "", RESERVED, 0 },
	{ 0x10, 0x11, "Volume (", "m3)", 2 },
	{ 0x12, 0x17, "", RESERVED, 0 },
	{ 0x18, 0x19, "Mass (", "t)", 2 },
	{ 0x1a, 0x20, "", RESERVED, 0 },
	{ 0x21, 0x21, "Volume (0.1 feet^3)", NULL, 0 },
	{ 0x22, 0x22, "Volume (0.1 american gallon)", NULL, 0 },
	{ 0x23, 0x23, "Volume (american gallon)", NULL, 0 },
	{ 0x24, 0x24, "Volume flow (0.001 american gallon/min)", NULL, 0 },
	{ 0x25, 0x25, "Volume flow (american gallon/min)", NULL, 0 },
	{ 0x26, 0x26, "Volume flow (american gallon/h)", NULL, 0 },
	{ 0x27, 0x27, "", RESERVED, 0 },
	{ 0x28, 0x28, "Power (0.1 MW)", NULL, 0 },
	{ 0x29, 0x29, "Power (MW)", NULL, 0 },
	{ 0x2a, 0x2f, "", RESERVED, 0 },
	{ 0x30, 0x30, "Power (0.1 GJ/h)", NULL, 0 },
	{ 0x31, 0x31, "Power (GJ/h)", NULL, 0 },
	{ 0x32, 0x4f, "", RESERVED, 0 },
	{ 0x52, 0x57, "", RESERVED, 0 },
	{ 0x58, 0x5b, "Flow Temperature (", " degree F)", -3 },
	{ 0x5c, 0x5f, "Return Temperature (", " degree F)", -3 },
	{ 0x60, 0x63, "Temperature Difference (", " degree F)", -3 },
	{ 0x64, 0x67, "External Temperature (", " degree F)", -3 },
	{ 0x68, 0x6f, "", RESERVED, 0 },
	{ 0x70, 0x73, "Cold / Warm Temperature Limit (", " degree F)", -3 },
	{ 0x74, 0x77, "Cold / Warm Temperature Limit (", " degree C)", -3 },
	{ 0x78, 0x7f, "cumul. count max power (", " W)", -3 },
};

static const char *const plain_durations[4] = {
	"(seconds)", "(minutes)", "(hours)", "(days)",
};

static void xml_hex_lower(struct nmbus_out *o, uint8_t b)
{
	static const char hex[] = "0123456789abcdef";

	nmbus_out_char(o, hex[b >> 4]);
	nmbus_out_char(o, hex[b & 15]);
}

/* Binary search: every table is sorted by code, its ranges disjoint. */
static const struct plain_unit *plain_find(const struct plain_unit *t,
					   size_t n, uint8_t code)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (code < t[mid].first)
			hi = mid;
		else if (code > t[mid].last)
			lo = mid + 1;
		else
			return &t[mid];
	}
	return NULL;
}

static void xml_plain_unit(struct nmbus_out *o, const struct nmbus_frame *f,
			   const struct nmbus_record *r,
			   const struct vif_info *vi)
{
	const struct plain_unit *u = NULL;
	uint8_t code;

	if (r->plain_len) {
		/* FCh with a 70h..77h VIFE: "<prefix> <text>" */
		if ((r->vif & 0x80) && r->n_vife &&
		    (r->vife[0] & 0x78) == 0x70) {
			xml_prefix(o, (r->vife[0] & 7) - 6);
			nmbus_out_char(o, ' ');
		}
		xml_text(o, f->buf + r->plain_offset, r->plain_len,
			 !f->msb_first);
		return;
	}
	if (r->vif == 0xfd && r->n_vife) {
		code = r->vife[0] & 0x7f;
		u = plain_find(plain_fd, ARRAY_SIZE(plain_fd), code);
	} else if (r->vif == 0xfb && r->n_vife) {
		code = r->vife[0] & 0x7f;
		u = plain_find(plain_fb, ARRAY_SIZE(plain_fb), code);
		if (!u) {
			nmbus_out_lit(o, "Unrecognized VIF 0xFB extension: 0x");
			xml_hex_lower(o, r->vife[0]);
			return;
		}
	} else {
		code = r->vif & 0x7f;
		u = plain_find(plain_primary, ARRAY_SIZE(plain_primary), code);
	}
	if (!u) {
		nmbus_out_mem(o, vi->xq, vi->xqlen);
		return;
	}
	nmbus_out_str(o, u->head);
	if (!u->unit)
		return;
	if (u->unit[0] == RESERVED[0]) {
		nmbus_out_lit(o, "Reserved (0x");
		xml_hex_lower(o, r->vife[0]);
		nmbus_out_char(o, ')');
		return;
	}
	if (u->unit[0] == DURATION[0]) {
		nmbus_out_str(o, plain_durations[code & 3]);
		return;
	}
	xml_prefix(o, u->exp + (code - u->first));
	nmbus_out_str(o, u->unit);
}

/*
 * A value in a non-metric unit (VIFE 3Dh) has none of libmbus's texts,
 * which would name the VIF's metric unit: "Energy (Btu)", "Volume (1e-2
 * American gallon)", or the quantity and "(non-metric unit)".
 */
static void xml_non_metric_unit(struct nmbus_out *o,
				const struct vif_info *vi,
				const struct nmbus_value *v)
{
	/* The tables' texts are escaped already. */
	nmbus_out_mem(o, vi->xq, vi->xqlen);
	if (v->unit == NMBUS_UNIT_NONE) {
		nmbus_out_lit(o, " (non-metric unit)");
		return;
	}
	nmbus_out_lit(o, " (");
	xml_prefix(o, v->exponent);
	nmbus_out_str(o, nmbus_units[v->unit].xml);
	nmbus_out_char(o, ')');
}

static void xml_plain_number(struct nmbus_out *o, const struct nmbus_frame *f,
			     const struct nmbus_record *r,
			     const struct nmbus_value *v)
{
	if ((r->dif & 0x0f) == 0x05) {
		const uint8_t *d = f->buf + r->data_offset;
		uint32_t u = d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;

		if (f->msb_first)
			u = __builtin_bswap32(u);
		float x;

		memcpy(&x, &u, sizeof(x));
		nmbus_out_fixed6(o, x);
		return;
	}
	nmbus_out_int(o, v->raw);
}

/* The text of <Value>. */
static void xml_value(struct nmbus_out *o, const struct nmbus_frame *f,
		      const struct nmbus_record *r, const struct nmbus_value *v,
		      bool normalized)
{
	switch (v->type) {
	case NMBUS_VALUE_NUMBER:
		if (normalized)
			nmbus_out_fixed6(o, v->number *
					 nmbus_units[v->unit].xml_factor);
		else
			xml_plain_number(o, f, r, v);
		break;
	case NMBUS_VALUE_DATE:
	case NMBUS_VALUE_DATETIME:
	case NMBUS_VALUE_TIME:
		xml_datetime(o, v, normalized);
		break;
	case NMBUS_VALUE_TEXT:
		xml_text(o, v->bytes, v->len,
			 !(v->flags & NMBUS_VF_TEXT_IN_ORDER));
		break;
	case NMBUS_VALUE_INVALID:
		/* BCD with digits A..F: the digits, most significant first. */
		for (size_t i = v->len; i-- > 0;)
			nmbus_out_hex(o, &v->bytes[i], 1, false);
		break;
	case NMBUS_VALUE_BINARY:
		/* DIF 0Fh blocks in wire order, like the shipped corpus. */
		for (size_t i = 0; i < v->len; i++) {
			uint8_t b = r->kind == NMBUS_RECORD_DATA ?
				    v->bytes[v->len - 1 - i] : v->bytes[i];

			if (i)
				nmbus_out_char(o, ' ');
			nmbus_out_hex(o, &b, 1, false);
		}
		break;
	default:
		break;
	}
}

/* The Function of a variable-data record, then what follows it. */
static void xml_function(struct nmbus_out *o, const struct nmbus_record *r)
{
	if (r->kind == NMBUS_RECORD_MORE_FOLLOW) {
		nmbus_out_lit(o, "More records follow");
		return;
	}
	if (r->kind == NMBUS_RECORD_MANUFACTURER) {
		nmbus_out_lit(o, "Manufacturer specific");
		return;
	}
	switch (r->function & 3) {
	case 0:
		nmbus_out_lit(o, "Instantaneous value");
		break;
	case 1:
		nmbus_out_lit(o, "Maximum value");
		break;
	case 2:
		nmbus_out_lit(o, "Minimum value");
		break;
	default:
		nmbus_out_lit(o, "Value during error state");
	}
}

/* A record of the fixed data structure: libmbus prints both modes alike. */
static void xml_fixed_record(struct nmbus_out *o, const struct nmbus_record *r,
			     const struct nmbus_value *v)
{
	if (r->storage)
		nmbus_out_lit(o, "Stored value");
	else
		nmbus_out_lit(o, "Actual value");
	nmbus_out_lit(o, "</Function>\n        <Unit>");
	nmbus_out_str(o, fixed_unit_text[r->vif & 0x3f]);
	nmbus_out_lit(o, "</Unit>\n        <Value>");
	if (v->type == NMBUS_VALUE_NUMBER)
		nmbus_out_int(o, v->raw);
	else
		nmbus_out_hex(o, v->bytes, v->len, false);
	nmbus_out_lit(o, "</Value>\n    </DataRecord>\n\n");
}

/*
 * Each piece of markup between two values is written as one literal
 * ("</Function>\n        <StorageNumber>"): the writer's cost is in the
 * number of writes, not in their length.
 */
static void xml_record(struct nmbus_out *o, const struct nmbus_frame *f,
		       const struct nmbus_record *r, unsigned int idx,
		       bool normalized)
{
	struct nmbus_value v;
	const struct vif_info *vi;
	unsigned int k;
	bool mfr = r->kind == NMBUS_RECORD_MANUFACTURER ||
		   r->kind == NMBUS_RECORD_MORE_FOLLOW;

	nmbus_record_get_value(f, r, &v);
	nmbus_out_lit(o, "    <DataRecord id=\"");
	nmbus_out_uint(o, idx);
	nmbus_out_lit(o, "\">\n        <Function>");
	if (r->kind == NMBUS_RECORD_FIXED) {
		xml_fixed_record(o, r, &v);
		return;
	}
	xml_function(o, r);
	if (normalized || !mfr) {
		nmbus_out_lit(o, "</Function>\n        <StorageNumber>");
		nmbus_out_uint(o, r->storage);
		if (r->has_dife) {
			nmbus_out_lit(o, "</StorageNumber>\n        <Tariff>");
			nmbus_out_uint(o, r->tariff);
			nmbus_out_lit(o, "</Tariff>\n        <Device>");
			nmbus_out_uint(o, r->subunit);
			nmbus_out_lit(o, "</Device>\n");
		} else {
			nmbus_out_lit(o, "</StorageNumber>\n");
		}
	} else {
		nmbus_out_lit(o, "</Function>\n");
	}
	if (normalized && mfr) {
		nmbus_out_lit(o, "        <Unit></Unit>\n"
			      "        <Quantity></Quantity>\n        <Value>");
	} else if (normalized && r->plain_len) {
		nmbus_out_lit(o, "        <Unit>-</Unit>\n        <Quantity>");
		xml_text(o, f->buf + r->plain_offset, r->plain_len,
			 !f->msb_first);
		nmbus_out_lit(o, "</Quantity>\n        <Value>");
	} else if (normalized) {
		vi = nmbus_record_vif_info(r, &k);
		nmbus_out_lit(o, "        <Unit>");
		/*
		 * libmbus: dates have unit "-", reserved codes "Reserved"; a
		 * non-metric value has its own unit, never the VIF's.
		 */
		if (v.flags & NMBUS_VF_NON_METRIC)
			nmbus_out_str(o, v.unit == NMBUS_UNIT_NONE ?
				      "non-metric unit" :
				      nmbus_units[v.unit].xml);
		else if (vi->kind == VK_DATE)
			nmbus_out_char(o, '-');
		else if (vi->xq[0] == 'R' && !strcmp(vi->xq, "Reserved"))
			nmbus_out_lit(o, "Reserved");
		else
			nmbus_out_str(o, nmbus_units[vi->unit].xml);
		nmbus_out_lit(o, "</Unit>\n        <Quantity>");
		nmbus_out_mem(o, vi->xq, vi->xqlen);
		nmbus_out_lit(o, "</Quantity>\n        <Value>");
	} else if (!mfr) {
		vi = nmbus_record_vif_info(r, &k);
		nmbus_out_lit(o, "        <Unit>");
		if (v.flags & NMBUS_VF_NON_METRIC)
			xml_non_metric_unit(o, vi, &v);
		else
			xml_plain_unit(o, f, r, vi);
		nmbus_out_lit(o, "</Unit>\n        <Value>");
	} else {
		nmbus_out_lit(o, "        <Value>");
	}
	xml_value(o, f, r, &v, normalized);
	nmbus_out_lit(o, "</Value>\n    </DataRecord>\n\n");
}

void nmbus_write_xml(struct nmbus_out *o, const struct nmbus_frame *f,
		     bool normalized)
{
	nmbus_out_str(o, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
		      "<MBusData>\n\n");
	if (f->data_type == NMBUS_DATA_VARIABLE ||
	    f->data_type == NMBUS_DATA_FIXED) {
		xml_header(o, f);
		for (unsigned int i = 0; i < f->n_records; i++)
			xml_record(o, f, &f->records[i], i, normalized);
	} else if (f->data_type == NMBUS_DATA_ERROR &&
		   f->data_end > f->data_offset) {
		nmbus_out_str(o, "    <SlaveInformation>\n");
		xml_uint(o, "Error", f->buf[f->data_offset]);
		nmbus_out_str(o, "    </SlaveInformation>\n\n");
	}
	nmbus_out_str(o, "</MBusData>\n");
}
