// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the libnmbus output: the JSON of ARCHITECTURE.md, the
 * libmbus XML layouts, the text format, buffer and stream sinks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#include "test-decode-util.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/*
 * ARCHITECTURE.md's example, with the "obis" key the generic mapping adds
 * to a cold-water volume (keys may be added; none may change).
 */
static const char arch_json[] =
	"{\"frame\":{\"type\":\"long\",\"c\":8,\"a\":1,\"ci\":114,"
	"\"ci_name\":\"variable data response\"},"
	"\"header\":{\"id\":\"11490378\",\"manufacturer\":\"ACW\","
	"\"version\":14,\"medium\":\"cold water\",\"medium_code\":22,"
	"\"access\":10,\"status\":0,\"signature\":0},"
	"\"records\":[{\"storage\":0,\"tariff\":0,\"subunit\":0,"
	"\"function\":\"instantaneous\",\"quantity\":\"volume\","
	"\"unit\":\"m3\",\"value\":54.321,\"dif\":\"04\",\"vif\":\"13\","
	"\"obis\":\"8-0:1.0.0\"}],"
	"\"more_records_follow\":false}";

TEST(json_is_the_architecture_example)
{
	struct decoded d;
	char out[1024];

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0, 0)));
	EXPECT_EQ((ssize_t)strlen(arch_json),
		  nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out, sizeof(out)));
	EXPECT_STREQ(arch_json, out);
}

TEST(json_truncates_like_snprintf)
{
	struct decoded d;
	char out[16];
	ssize_t n;

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0, 0)));
	n = nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out, sizeof(out));
	EXPECT_EQ((ssize_t)strlen(arch_json), n);
	EXPECT_EQ(15u, strlen(out));
	EXPECT_EQ(0, strncmp(arch_json, out, 15));
	EXPECT_EQ(n, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, NULL, 0));
	EXPECT_EQ(-EINVAL, nmbus_frame_format(NULL, NMBUS_FORMAT_JSON, out, 16));
	EXPECT_EQ(-EINVAL, nmbus_frame_format(&d.f, 42, out, 16));
}

TEST(print_to_a_stream_matches_the_buffer)
{
	struct decoded d;
	char out[1024], *mem = NULL;
	size_t memlen = 0;
	FILE *fp = open_memstream(&mem, &memlen);
	ssize_t n;

	ASSERT_NE(NULL, fp);
	/* Enough records that the stream path flushes several chunks. */
	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 1, 0, 0, 0,
		0x04, 0x13, 2, 0, 0, 0, 0x04, 0x13, 3, 0, 0, 0,
		0x04, 0x13, 4, 0, 0, 0, 0x04, 0x13, 5, 0, 0, 0,
		0x04, 0x13, 6, 0, 0, 0, 0x04, 0x13, 7, 0, 0, 0,
		0x04, 0x13, 8, 0, 0, 0, 0x04, 0x13, 9, 0, 0, 0)));
	n = nmbus_frame_print(&d.f, NMBUS_FORMAT_XML_NORMALIZED, fp);
	fclose(fp);
	EXPECT_EQ((ssize_t)memlen, n);
	EXPECT_LT(1024, n);
	EXPECT_EQ(n, nmbus_frame_format(&d.f, NMBUS_FORMAT_XML_NORMALIZED,
					out, sizeof(out)));
	EXPECT_EQ(0, strncmp(mem, out, sizeof(out) - 1));
	free(mem);
}

static void json_of(struct decoded *d, char *out, size_t size)
{
	nmbus_frame_format(&d->f, NMBUS_FORMAT_JSON, out, size);
}

/*
 * A CI 76h (MSB first) response: ACW header, then a variable-length
 * ASCII text, a variable-length BCD, a plain-text unit, a 64-bit integer
 * and a type I date and time, every multi-byte field most significant
 * byte (or first character) first.
 */
static size_t mk_msb_first(uint8_t *buf)
{
	static const uint8_t ud[] = {
		0x11, 0x49, 0x03, 0x78, 0x04, 0x77, 0x0e, 0x16,
		0x0a, 0x00, 0x00, 0x00,
		0x0d, 0xfd, 0x0e, 0x03, 'A', '1', 'z',	/* firmware "A1z" */
		0x0d, 0x13, 0xc3, 0x12, 0x34, 0x56,	/* 123.456 m3 */
		0x02, 0x7c, 0x03, 'k', 'W', 'h', 0x12, 0x34, /* 4660 kWh */
		0x07, 0x13, 0, 0, 0, 0, 0, 0x01, 0, 0,	/* 65.536 m3 */
		0x06, 0x6d, 0x00, 0x1b, 0x4e, 0x0f, 0x1e, 0x2d, /* type I */
	};

	return mkframe(buf, 0x08, 0x01, 0x76, ud, sizeof(ud));
}

TEST(msb_first_frame_values)
{
	struct nmbus_record rec[8];
	struct nmbus_frame f;
	struct nmbus_value v;
	uint8_t buf[128];
	char text[8];
	size_t n = mk_msb_first(buf);

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 8));
	ASSERT_EQ(5u, f.n_records);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_EQ(NMBUS_VALUE_TEXT, v.type);
	EXPECT_TRUE(v.flags & NMBUS_VF_TEXT_IN_ORDER);
	EXPECT_EQ(3, nmbus_value_copy_text(&v, text, sizeof(text)));
	EXPECT_STREQ("A1z", text);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[1], &v));
	EXPECT_EQ(NMBUS_VALUE_NUMBER, v.type);
	EXPECT_EQ(123456, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[2], &v));
	EXPECT_EQ(4660, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[3], &v));
	EXPECT_EQ(65536, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[4], &v));
	EXPECT_EQ(NMBUS_VALUE_DATETIME, v.type);
	EXPECT_EQ(2010, v.tm.year);	/* 2010-11-14 15:30:45 */
	EXPECT_EQ(11, v.tm.month);
	EXPECT_EQ(14, v.tm.day);
	EXPECT_EQ(15, v.tm.hour);
	EXPECT_EQ(30, v.tm.minute);
	EXPECT_EQ(45, v.tm.second);
}

TEST(msb_first_frame_json_text_and_xml)
{
	struct nmbus_record rec[8];
	struct nmbus_frame f;
	uint8_t buf[128];
	char out[4096];
	size_t n = mk_msb_first(buf);

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 8));
	nmbus_frame_format(&f, NMBUS_FORMAT_JSON, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"A1z\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":123.456,"));
	EXPECT_NE(NULL, strstr(out, "\"unit\":\"kWh\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":65.536,"));
	nmbus_frame_format(&f, NMBUS_FORMAT_TEXT, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "A1z"));
	EXPECT_NE(NULL, strstr(out, "4660 kWh"));
	nmbus_frame_format(&f, NMBUS_FORMAT_XML, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "<Value>A1z</Value>")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "<Unit>kWh</Unit>"));
}

TEST(json_numbers_are_exact_decimals)
{
	struct decoded d;
	char out[2048];

	/* 100 * 10^-2, -5 * 10^-3, 7 * 10^2 W, 1 * 10^-12 A */
	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x59, 100, 0x01, 0x13, 0xfb,
					    0x01, 0x2d, 7, 0x01, 0xfd, 0x50, 1)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"value\":1,"));
	EXPECT_NE(NULL, strstr(out, "\"value\":-0.005,"));
	EXPECT_NE(NULL, strstr(out, "\"value\":700,"));
	EXPECT_NE(NULL, strstr(out, "\"value\":0.000000000001,"));
}

TEST(json_real_prints_shortest_float)
{
	struct decoded d;
	char out[2048];

	/* 0.1f = 0x3dcccccd at VIF 5B (1 °C) */
	ASSERT_EQ(0, decode_records(&d, REC(0x05, 0x5b, 0xcd, 0xcc, 0xcc, 0x3d)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"value\":0.1,"));
}

TEST(json_reals_read_back_as_the_same_float)
{
	uint32_t seed = 12345;
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		struct decoded d;
		char out[1024], *p;
		uint32_t u;
		float f;

		seed = seed * 1103515245u + 12345u;
		u = seed ^ (seed << 13);
		memcpy(&f, &u, sizeof(f));
		if (!isfinite(f))
			continue;
		/* VIF 5B: flow temperature, 10^0 */
		decode_records(&d, REC(0x05, 0x5b, u, u >> 8, u >> 16, u >> 24));
		nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out, sizeof(out));
		p = strstr(out, "\"value\":");
		if (!p || strtof(p + 8, NULL) != f) {
			if (bad++ < 5)
				TH_LOG("%a printed as %.40s", f, p ? p : out);
		}
	}
	EXPECT_EQ(0, bad);
}

TEST(json_text_dates_binary_and_invalid_bcd)
{
	struct decoded d;
	char out[2048];

	ASSERT_EQ(0, decode_records(&d, REC(
		0x0d, 0xfd, 0x0e, 0x03, 'c', '"', 'a',
		0x02, 0x6c, 0x5f, 0x1c,
		0x04, 0x6d, 0x1a, 0x2f, 0x65, 0x11,
		0x0d, 0xfd, 0x11, 0xe2, 0xab, 0xcd,
		0x0a, 0x13, 0xaa, 0x01,
		0x02, 0x6c, 0xfe, 0xf6)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"a\\\"c\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"2010-12-31\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"2011-01-05T15:26:00\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"ABCD\",\"value_type\":\"binary\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":null,\"value_error\":\"invalid BCD\""));
	EXPECT_NE(NULL, strstr(out, "\"value\":\"--06-30\""));
}

TEST(json_reports_errors_and_partial_records)
{
	struct decoded d;
	char out[2048];

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x01, 0x13, 5, 0x04, 0x13, 1)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"records\":[{\"storage\":0"));
	EXPECT_NE(NULL, strstr(out, "\"error\":{\"message\":\"premature end of "
				    "data in data field\",\"offset\":25,"
				    "\"record\":1}"));
}

TEST(json_ack_and_short_frames)
{
	const uint8_t e5 = 0xe5, req[] = { 0x10, 0x7b, 0x05, 0x80, 0x16 };
	struct nmbus_frame f;
	char out[256];

	ASSERT_EQ(0, nmbus_decode(&f, &e5, 1, NULL, 0));
	nmbus_frame_format(&f, NMBUS_FORMAT_JSON, out, sizeof(out));
	EXPECT_STREQ("{\"frame\":{\"type\":\"ack\"}}", out);
	ASSERT_EQ(0, nmbus_decode(&f, req, sizeof(req), NULL, 0));
	nmbus_frame_format(&f, NMBUS_FORMAT_JSON, out, sizeof(out));
	EXPECT_STREQ("{\"frame\":{\"type\":\"short\",\"c\":123,\"a\":5}}", out);
}

TEST(json_manufacturer_block_and_more_records)
{
	struct decoded d;
	char out[1024];

	ASSERT_EQ(0, decode_records(&d, REC(0x1f, 0x01, 0x02)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "{\"kind\":\"manufacturer specific\","
				    "\"dif\":\"1F\",\"data\":\"0102\"}"));
	EXPECT_NE(NULL, strstr(out, "\"more_records_follow\":true}"));
}

TEST(json_direction_obis_and_vife)
{
	struct decoded d;
	char out[1024];

	ASSERT_EQ(0, decode_records(&d, REC(0x84, 0x10, 0x83, 0x3b, 1, 0, 0, 0)));
	json_of(&d, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "\"tariff\":1"));
	EXPECT_NE(NULL, strstr(out, "\"dife\":\"10\",\"vif\":\"83\","
				    "\"vife\":\"3B\",\"vife_text\":"
				    "\"forward flow\",\"direction\":\"forward\""));
}

TEST(xml_normalized_layout)
{
	struct decoded d;
	char out[2048];
	static const char want[] =
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
		"<MBusData>\n\n"
		"    <SlaveInformation>\n"
		"        <Id>11490378</Id>\n"
		"        <Manufacturer>ACW</Manufacturer>\n"
		"        <Version>14</Version>\n"
		"        <ProductName>Itron BM +m</ProductName>\n"
		"        <Medium>Cold water</Medium>\n"
		"        <AccessNumber>10</AccessNumber>\n"
		"        <Status>00</Status>\n"
		"        <Signature>0000</Signature>\n"
		"    </SlaveInformation>\n\n"
		"    <DataRecord id=\"0\">\n"
		"        <Function>Instantaneous value</Function>\n"
		"        <StorageNumber>0</StorageNumber>\n"
		"        <Tariff>1</Tariff>\n"
		"        <Device>0</Device>\n"
		"        <Unit>m^3</Unit>\n"
		"        <Quantity>Volume</Quantity>\n"
		"        <Value>54.321000</Value>\n"
		"    </DataRecord>\n\n"
		"</MBusData>\n";

	ASSERT_EQ(0, decode_records(&d, REC(0x84, 0x10, 0x13, 0x31, 0xd4, 0, 0)));
	nmbus_frame_format(&d.f, NMBUS_FORMAT_XML_NORMALIZED, out, sizeof(out));
	EXPECT_STREQ(want, out);
}

TEST(xml_plain_unit_text)
{
	struct decoded d;
	char out[2048];

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x04, 1, 0, 0, 0)));
	nmbus_frame_format(&d.f, NMBUS_FORMAT_XML, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "<Unit>Energy (10 Wh)</Unit>"));
	EXPECT_NE(NULL, strstr(out, "<Value>1</Value>"));
}

TEST(text_format_one_line_per_record)
{
	struct decoded d;
	char out[2048];

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0, 0)));
	nmbus_frame_format(&d.f, NMBUS_FORMAT_TEXT, out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "id 11490378 ACW v14 (cold water)"));
	EXPECT_NE(NULL, strstr(out, "  #0 storage 0 tariff 0 subunit 0 "
				    "instantaneous volume = 54.321 m3 "
				    "(OBIS 8-0:1.0.0)\n"));
}

/*
 * A CALEC ST II (AMT, version C0h, heat outlet) telegram around @rec;
 * decoded into @d.
 */
static int decode_calec(struct decoded *d, const uint8_t *rec, size_t n)
{
	uint8_t ud[200] = { 0x78, 0x56, 0x34, 0x12, 0xb4, 0x05, 0xc0, 0x04,
			    0x01, 0x00, 0x00, 0x00 };

	memcpy(ud + 12, rec, n);
	d->len = mkframe(d->buf, 0x08, 0x01, 0x72, ud, 12 + n);
	return nmbus_decode(&d->f, d->buf, d->len, d->rec, NMBUS_MAX_RECORDS);
}

/* No output format names a metric unit: Wh, kWh, J, m3 or litres. */
static bool names_metric_unit(const char *s)
{
	return strstr(s, "Wh") || strstr(s, "J") || strstr(s, "m3") ||
	       strstr(s, "m^3");
}

/*
 * CALEC ST II tables 35 and 36 (seed 000): energy in kBtu/MBtu and volume
 * in US gallons carry VIFE 3Dh. 80 3D is 0.001 kBtu (1 Btu), 86 3D 1
 * MBtu, 91 3D 0.01 USGAL.
 */
TEST(calec_non_metric_units_in_every_format)
{
	static const uint8_t rec[] = {
		0x04, 0x80, 0x3d, 0xd2, 0x04, 0x00, 0x00,	/* 1234 Btu */
		0x04, 0x91, 0x3d, 0xd2, 0x04, 0x00, 0x00,	/* 12.34 gal */
		0x04, 0x86, 0x3d, 0x02, 0x00, 0x00, 0x00,	/* 2 MBtu */
		0x04, 0xab, 0x3d, 0x05, 0x00, 0x00, 0x00,	/* power: ? */
	};
	static const enum nmbus_format formats[] = {
		NMBUS_FORMAT_JSON, NMBUS_FORMAT_TEXT, NMBUS_FORMAT_XML,
		NMBUS_FORMAT_XML_NORMALIZED,
	};
	struct nmbus_value v;
	struct decoded d;
	char out[8192];

	ASSERT_EQ(0, decode_calec(&d, rec, sizeof(rec)));
	ASSERT_EQ(4u, d.f.n_records);
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[0], &v));
	EXPECT_EQ(NMBUS_UNIT_BTU, v.unit);
	EXPECT_EQ(1234.0, v.number);
	EXPECT_TRUE(v.flags & NMBUS_VF_NON_METRIC);
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[1], &v));
	EXPECT_EQ(NMBUS_UNIT_US_GAL, v.unit);
	EXPECT_EQ(-2, v.exponent);
	EXPECT_EQ(1234, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[2], &v));
	EXPECT_EQ(NMBUS_UNIT_BTU, v.unit);
	EXPECT_EQ(2e6, v.number);
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[3], &v));
	EXPECT_EQ(NMBUS_UNIT_NONE, v.unit);

	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"unit\":\"Btu\",\"value\":1234,"));
	EXPECT_NE(NULL, strstr(out, "\"unit\":\"US gal\",\"value\":12.34,"));
	EXPECT_NE(NULL, strstr(out, "\"unit\":\"Btu\",\"value\":2000000,"));
	EXPECT_NE(NULL, strstr(out, "\"quantity\":\"power\",\"unit\":\"\","));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_TEXT, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "= 1234 Btu\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "= 12.34 US gal\n"));
	EXPECT_NE(NULL, strstr(out, "= 5\n"));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_XML, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "<Unit>Energy (Btu)</Unit>"));
	EXPECT_NE(NULL, strstr(out, "<Unit>Volume (1e-2 American gallon)"));
	EXPECT_NE(NULL, strstr(out, "<Unit>Energy (MBtu)</Unit>"));
	EXPECT_NE(NULL, strstr(out, "<Unit>Power (non-metric unit)</Unit>"));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_XML_NORMALIZED, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "<Unit>Btu</Unit>"));
	EXPECT_NE(NULL, strstr(out, "<Value>12.340000</Value>"));
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		ASSERT_LT(0, nmbus_frame_format(&d.f, formats[i], out,
						sizeof(out)));
		EXPECT_FALSE(names_metric_unit(out)) TH_LOG("%s", out);
	}
}

/*
 * The CALEC ST II service telegram (seed 000, table 15) numbers its mean
 * values 1..8 (storage column "0 0 1" .. "0 0 8") and holds no due-day
 * date; a due-day telegram (table 12) holds its date, 42 6C, in the same
 * storage as its values.
 */
TEST(calec_service_telegram_storage_numbers_are_indices)
{
	static const uint8_t service[] = {
		0x45, 0xfd, 0x3a, 0, 0, 0x80, 0x3f,	/* mean th, stor. 1 */
		0x85, 0x01, 0xfd, 0x3a, 0, 0, 0x80, 0x3f,	/* 2 */
		0x85, 0x04, 0xfd, 0x3a, 0, 0, 0x80, 0x3f,	/* 8 */
		0x74, 0x6d, 0x00, 0x0c, 0x21, 0x35,	/* time, storage 1 */
	};
	static const uint8_t due_day[] = {
		0x42, 0xec, 0x7e, 0x1f, 0xfc,	/* next due day, AnyYear */
		0x42, 0x6c, 0x1f, 0x3c,		/* due day 1: 31.12. */
		0x44, 0x06, 0x10, 0x27, 0, 0,	/* energy on it */
	};
	struct decoded d;
	char out[4096];

	ASSERT_EQ(0, decode_calec(&d, service, sizeof(service)));
	ASSERT_EQ(4u, d.f.n_records);
	EXPECT_EQ(8u, d.rec[2].storage);
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_STREQ("index",
			     nmbus_frame_storage_name(&d.f, &d.rec[i]));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_EQ(NULL, strstr(out, "due day")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"storage_name\":\"index\""));

	ASSERT_EQ(0, decode_calec(&d, due_day, sizeof(due_day)));
	ASSERT_EQ(3u, d.f.n_records);
	for (unsigned int i = 0; i < 3; i++)
		EXPECT_STREQ("due day",
			     nmbus_frame_storage_name(&d.f, &d.rec[i]));
}

/*
 * The CALEC ST II freeze command (seed 000, table 26): C0 0F FE 0B, VIFE
 * 0Bh from the master is the action "freeze", not an error code.
 */
TEST(master_freeze_command_decodes_as_freeze)
{
	static const uint8_t cmd[] = {
		0x68, 0x07, 0x07, 0x68, 0x53, 0x01, 0x51,
		0xc0, 0x0f, 0xfe, 0x0b, 0x7d, 0x16,
	};
	struct nmbus_record rec[4];
	struct nmbus_value v;
	struct nmbus_frame f;
	char out[2048];

	ASSERT_EQ(0, nmbus_decode(&f, cmd, sizeof(cmd), rec, 4));
	ASSERT_EQ(1u, f.n_records);
	EXPECT_EQ(31u, rec[0].storage);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_TRUE(v.flags & NMBUS_VF_ACTION);
	EXPECT_FALSE(v.flags & NMBUS_VF_ERROR_CODE);
	EXPECT_EQ(0x0b, v.action);
	EXPECT_STREQ("freeze data", v.vife_text);
	ASSERT_LT(0, nmbus_frame_format(&f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"vife_text\":\"freeze data\","
				    "\"action\":11")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "error"));
	ASSERT_LT(0, nmbus_frame_format(&f, NMBUS_FORMAT_TEXT, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "[freeze data]")) TH_LOG("%s", out);

	/* From a slave (RSP_UD), 0Bh stays an error code. */
	static const uint8_t rsp[] = {
		0x84, 0x06, 0xfe, 0x0b, 0x10, 0x27, 0x00, 0x00,
	};
	struct decoded d;

	ASSERT_EQ(0, decode_calec(&d, rsp, sizeof(rsp)));
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[0], &v));
	EXPECT_TRUE(v.flags & NMBUS_VF_ERROR_CODE);
	EXPECT_STREQ("error code", v.vife_text);
}

TEST_HARNESS_MAIN
