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

static const char arch_json[] =
	"{\"frame\":{\"type\":\"long\",\"c\":8,\"a\":1,\"ci\":114,"
	"\"ci_name\":\"variable data response\"},"
	"\"header\":{\"id\":\"11490378\",\"manufacturer\":\"ACW\","
	"\"version\":14,\"medium\":\"cold water\",\"medium_code\":22,"
	"\"access\":10,\"status\":0,\"signature\":0},"
	"\"records\":[{\"storage\":0,\"tariff\":0,\"subunit\":0,"
	"\"function\":\"instantaneous\",\"quantity\":\"volume\","
	"\"unit\":\"m3\",\"value\":54.321,\"dif\":\"04\",\"vif\":\"13\"}],"
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
	EXPECT_EQ(-1, nmbus_frame_format(NULL, NMBUS_FORMAT_JSON, out, 16));
	EXPECT_EQ(-1, nmbus_frame_format(&d.f, 42, out, 16));
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

	EXPECT_EQ(-1, decode_records(&d, REC(0x01, 0x13, 5, 0x04, 0x13, 1)));
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
				    "instantaneous volume = 54.321 m3\n"));
}

TEST_HARNESS_MAIN
