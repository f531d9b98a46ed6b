// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the EN 13757-3 tables in libnmbus (VIF, FB/FD extensions,
 * combinable VIFEs, units, media, manufacturer codes) and of the device
 * knowledge (CALEC ST II, CMi1020 OBIS, profiles, libmbus product names).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <nmbus.h>
#include "nmbus-internal.h"

#include "test-decode-util.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/*
 * The XML names are stored escaped and copied as they are: no markup
 * character but an entity's '&', no control character.
 */
static bool xml_escaped(const char *s)
{
	static const char *const ent[] = { "&amp;", "&lt;", "&gt;", "&quot;" };

	for (; *s; s++) {
		unsigned char c = *s;
		bool ok = false;

		if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
			return false;
		if (c != '&')
			continue;
		for (unsigned int i = 0; i < 4; i++)
			ok |= !strncmp(s, ent[i], strlen(ent[i]));
		if (!ok)
			return false;
	}
	return true;
}

static int check_table(struct __test_metadata *_metadata,
		       const struct vif_info *t, unsigned int n,
		       const char *name)
{
	int bad = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!t[i].q || !t[i].xq || t[i].unit >= NMBUS_UNIT_COUNT ||
		    t[i].exp < -12 || t[i].exp > 11) {
			TH_LOG("%s row %02X is incomplete", name, i);
			bad++;
		} else if (t[i].xqlen != strlen(t[i].xq) ||
			   !xml_escaped(t[i].xq)) {
			TH_LOG("%s row %02X: XML name '%s' not escaped or its length wrong",
			       name, i, t[i].xq);
			bad++;
		}
	}
	return bad;
}

TEST(every_vif_table_row_is_filled)
{
	EXPECT_EQ(0, check_table(_metadata, nmbus_vif_primary, 128, "VIF"));
	EXPECT_EQ(0, check_table(_metadata, nmbus_vif_fd, 128, "FD"));
	EXPECT_EQ(0, check_table(_metadata, nmbus_vif_fb, 128, "FB"));
	EXPECT_EQ(0, check_table(_metadata, nmbus_fixed_units, 64, "fixed"));
}

TEST(primary_vif_ranges_and_powers_of_ten)
{
	static const struct {
		uint8_t vif;
		const char *q;
		enum nmbus_unit unit;
		int exp;
	} rows[] = {
		{ 0x00, "energy", NMBUS_UNIT_WH, -3 },
		{ 0x07, "energy", NMBUS_UNIT_WH, 4 },
		{ 0x0e, "energy", NMBUS_UNIT_J, 6 },
		{ 0x13, "volume", NMBUS_UNIT_M3, -3 },
		{ 0x1b, "mass", NMBUS_UNIT_KG, 0 },
		{ 0x20, "on time", NMBUS_UNIT_S, 0 },
		{ 0x22, "on time", NMBUS_UNIT_H, 0 },
		{ 0x27, "operating time", NMBUS_UNIT_D, 0 },
		{ 0x2e, "power", NMBUS_UNIT_W, 3 },
		{ 0x33, "power", NMBUS_UNIT_J_H, 3 },
		{ 0x3b, "volume flow", NMBUS_UNIT_M3_H, -3 },
		{ 0x43, "volume flow", NMBUS_UNIT_M3_MIN, -4 },
		{ 0x4f, "volume flow", NMBUS_UNIT_M3_S, -2 },
		{ 0x53, "mass flow", NMBUS_UNIT_KG_H, 0 },
		{ 0x59, "flow temperature", NMBUS_UNIT_CELSIUS, -2 },
		{ 0x5f, "return temperature", NMBUS_UNIT_CELSIUS, 0 },
		{ 0x61, "temperature difference", NMBUS_UNIT_K, -2 },
		{ 0x66, "external temperature", NMBUS_UNIT_CELSIUS, -1 },
		{ 0x6b, "pressure", NMBUS_UNIT_BAR, 0 },
		{ 0x6e, "hca", NMBUS_UNIT_HCA, 0 },
		{ 0x71, "averaging duration", NMBUS_UNIT_MIN, 0 },
		{ 0x77, "actuality duration", NMBUS_UNIT_D, 0 },
		{ 0x78, "fabrication number", NMBUS_UNIT_NONE, 0 },
		{ 0x7a, "bus address", NMBUS_UNIT_NONE, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct vif_info *v = &nmbus_vif_primary[rows[i].vif];

		EXPECT_STREQ(rows[i].q, v->q);
		EXPECT_EQ(rows[i].unit, v->unit);
		EXPECT_EQ(rows[i].exp, v->exp);
	}
	EXPECT_EQ(VK_DATE, nmbus_vif_primary[0x6c].kind);
	EXPECT_EQ(VK_DATE, nmbus_vif_primary[0x6d].kind);
	EXPECT_EQ(VK_EXT_FB, nmbus_vif_primary[0x7b].kind);
	EXPECT_EQ(VK_PLAIN, nmbus_vif_primary[0x7c].kind);
	EXPECT_EQ(VK_EXT_FD, nmbus_vif_primary[0x7d].kind);
	EXPECT_EQ(VK_ANY, nmbus_vif_primary[0x7e].kind);
	EXPECT_EQ(VK_MFR, nmbus_vif_primary[0x7f].kind);
	EXPECT_EQ(VK_RESERVED, nmbus_vif_primary[0x6f].kind);
}

TEST(fd_extension_rows)
{
	EXPECT_STREQ("credit", nmbus_vif_fd[0x03].q);
	EXPECT_EQ(0, nmbus_vif_fd[0x03].exp);
	EXPECT_STREQ("debit", nmbus_vif_fd[0x04].q);
	EXPECT_STREQ("access number", nmbus_vif_fd[0x08].q);
	EXPECT_STREQ("manufacturer", nmbus_vif_fd[0x0a].q);
	EXPECT_STREQ("firmware version", nmbus_vif_fd[0x0e].q);
	EXPECT_STREQ("error flags", nmbus_vif_fd[0x17].q);
	EXPECT_STREQ("digital input", nmbus_vif_fd[0x1b].q);
	EXPECT_EQ(NMBUS_UNIT_BAUD, nmbus_vif_fd[0x1c].unit);
	EXPECT_EQ(NMBUS_UNIT_MONTH, nmbus_vif_fd[0x28].unit);
	EXPECT_EQ(NMBUS_UNIT_D, nmbus_vif_fd[0x2f].unit);
	EXPECT_EQ(VK_DATE, nmbus_vif_fd[0x30].kind);
	EXPECT_EQ(NMBUS_UNIT_MIN, nmbus_vif_fd[0x31].unit);
	EXPECT_EQ(NMBUS_UNIT_YEAR, nmbus_vif_fd[0x39].unit);
	EXPECT_EQ(-9, nmbus_vif_fd[0x40].exp);
	EXPECT_EQ(6, nmbus_vif_fd[0x4f].exp);
	EXPECT_EQ(-12, nmbus_vif_fd[0x50].exp);
	EXPECT_EQ(3, nmbus_vif_fd[0x5f].exp);
	EXPECT_STREQ("reset counter", nmbus_vif_fd[0x60].q);
	EXPECT_EQ(NMBUS_UNIT_YEAR, nmbus_vif_fd[0x6f].unit);
	EXPECT_EQ(VK_DATE, nmbus_vif_fd[0x70].kind);
	EXPECT_STREQ("number of times the meter was stopped",
		     nmbus_vif_fd[0x75].q);
	EXPECT_EQ(VK_RESERVED, nmbus_vif_fd[0x7f].kind);
}

TEST(fb_extension_rows)
{
	EXPECT_EQ(NMBUS_UNIT_WH, nmbus_vif_fb[0x00].unit);
	EXPECT_EQ(5, nmbus_vif_fb[0x00].exp);
	EXPECT_EQ(NMBUS_UNIT_VARH, nmbus_vif_fb[0x02].unit);
	EXPECT_EQ(NMBUS_UNIT_J, nmbus_vif_fb[0x08].unit);
	EXPECT_EQ(8, nmbus_vif_fb[0x08].exp);
	EXPECT_EQ(2, nmbus_vif_fb[0x10].exp);
	EXPECT_EQ(NMBUS_UNIT_KG, nmbus_vif_fb[0x19].unit);
	EXPECT_EQ(6, nmbus_vif_fb[0x19].exp);
	EXPECT_EQ(NMBUS_UNIT_W, nmbus_vif_fb[0x29].unit);
	EXPECT_EQ(NMBUS_UNIT_HZ, nmbus_vif_fb[0x2d].unit);
	EXPECT_EQ(NMBUS_UNIT_J_H, nmbus_vif_fb[0x31].unit);
	EXPECT_EQ(NMBUS_UNIT_FAHRENHEIT, nmbus_vif_fb[0x5b].unit);
	EXPECT_EQ(NMBUS_UNIT_CELSIUS, nmbus_vif_fb[0x77].unit);
	EXPECT_EQ(4, nmbus_vif_fb[0x7f].exp);
	EXPECT_EQ(VK_RESERVED, nmbus_vif_fb[0x40].kind);
}

TEST(every_combinable_vife_is_described)
{
	for (int i = 0; i < 128; i++)
		EXPECT_NE(NULL, nmbus_vife_text[i]);
	EXPECT_STREQ("forward flow", nmbus_vife_text[0x3b]);
	EXPECT_STREQ("backward flow", nmbus_vife_text[0x3c]);
	EXPECT_STREQ("per hour", nmbus_vife_text[0x22]);
}

TEST(every_unit_has_names)
{
	for (int i = 0; i < NMBUS_UNIT_COUNT; i++) {
		EXPECT_NE(NULL, nmbus_units[i].name);
		EXPECT_NE(NULL, nmbus_units[i].xml);
		EXPECT_NE(0.0, nmbus_units[i].xml_factor);
	}
	EXPECT_STREQ("m3", nmbus_unit_name(NMBUS_UNIT_M3));
	EXPECT_STREQ("\u00b0C", nmbus_unit_name(NMBUS_UNIT_CELSIUS));
	EXPECT_STREQ("", nmbus_unit_name(NMBUS_UNIT_COUNT));
}

TEST(medium_names)
{
	EXPECT_STREQ("cold water", nmbus_medium_name(0x16));
	EXPECT_STREQ("electricity", nmbus_medium_name(0x02));
	EXPECT_STREQ("heat (outlet)", nmbus_medium_name(0x04));
	EXPECT_STREQ("heat cost allocator", nmbus_medium_name(0x08));
	EXPECT_STREQ("radio converter (meter side)", nmbus_medium_name(0x37));
	EXPECT_STREQ("reserved", nmbus_medium_name(0x3f));
	EXPECT_STREQ("reserved", nmbus_medium_name(0xff));
	for (int i = 0; i < 256; i++)
		EXPECT_NE(NULL, nmbus_medium_name(i));
}

TEST(xml_unit_and_medium_names_are_stored_escaped)
{
	for (unsigned int i = 0; i < NMBUS_UNIT_COUNT; i++) {
		const char *x = nmbus_units[i].xml;

		EXPECT_TRUE(!x || xml_escaped(x)) {
			TH_LOG("unit %u: %s", i, x);
		}
	}
	for (unsigned int i = 0; i < 256; i++) {
		const char *x = nmbus_medium(i)->xml;

		EXPECT_TRUE(!x || xml_escaped(x)) {
			TH_LOG("medium %u: %s", i, x);
		}
	}
	EXPECT_STREQ("Hot water (&gt;90\u00b0C)", nmbus_medium(0x15)->xml);
}

TEST(manufacturer_codes_round_trip)
{
	char s[4];

	EXPECT_EQ(0x05b4, nmbus_manufacturer_code("AMT"));
	EXPECT_EQ(0x05b4, nmbus_manufacturer_code("amt"));
	EXPECT_STREQ("AMT", nmbus_manufacturer_str(0x05b4, s));
	EXPECT_STREQ("KAM", nmbus_manufacturer_str(0x2c2d, s));
	EXPECT_EQ(-EINVAL, nmbus_manufacturer_code("AM"));
	EXPECT_EQ(-EINVAL, nmbus_manufacturer_code("AMTX"));
	EXPECT_EQ(-EINVAL, nmbus_manufacturer_code("A1T"));
	EXPECT_EQ(-EINVAL, nmbus_manufacturer_code(NULL));
	EXPECT_STREQ("@@@", nmbus_manufacturer_str(0, s));
	for (int a = 'A'; a <= 'Z'; a++)
		for (int b = 'A'; b <= 'Z'; b++)
			for (int c = 'A'; c <= 'Z'; c++) {
				char in[4] = { a, b, c, 0 };
				int code = nmbus_manufacturer_code(in);

				ASSERT_EQ(NMBUS_MFR(a, b, c), code);
				ASSERT_STREQ(in, nmbus_manufacturer_str(code, s));
			}
}

TEST(function_names)
{
	EXPECT_STREQ("instantaneous", nmbus_function_name(NMBUS_FUNC_INSTANT));
	EXPECT_STREQ("maximum", nmbus_function_name(NMBUS_FUNC_MAXIMUM));
	EXPECT_STREQ("minimum", nmbus_function_name(NMBUS_FUNC_MINIMUM));
	EXPECT_STREQ("error", nmbus_function_name(NMBUS_FUNC_ERROR));
	EXPECT_STREQ("unknown", nmbus_function_name(4));
}

/* ---- device knowledge ---- */

TEST(calec_st2_versions_are_named)
{
	static const char *const names[10] = {
		"CALEC ST II Standard", "CALEC ST II Mass", "CALEC ST II Flow",
		"CALEC ST II Solar", "CALEC ST II BDE", "AMTRON X-50",
		"CALEC ST II AMBILL", "CALEC ST II TGR", "CALEC ST II BDV",
		"CALEC ST II DTF",
	};
	struct nmbus_header h = {
		.manufacturer = NMBUS_MFR('A', 'M', 'T'), .has_address = true,
		.medium = 0x04,
	};

	for (int i = 0; i < 10; i++) {
		h.version = 0xc0 + i;
		EXPECT_STREQ(names[i], nmbus_device_name(&h));
	}
	h.version = 0xca;
	EXPECT_EQ(NULL, nmbus_device_name(&h));
	h.version = 0xb0;	/* the older CALEC MB in the corpus */
	EXPECT_EQ(NULL, nmbus_device_name(&h));
	EXPECT_STREQ("Aquametro CALEC MB", nmbus_libmbus_product_name(&h));
}

/* Rows of libmbus's product list that the corpus frames do not reach. */
TEST(libmbus_product_names_by_version_range_medium_and_id)
{
	static const struct {
		const char *mfr;
		uint8_t version, medium;
		uint32_t id;
		const char *name;	/* NULL: libmbus has no name */
	} rows[] = {
		{ "AMT", 0xc0, 0x04, 0x12345678, "Aquametro CALEC ST" },
		{ "AMT", 0xff, 0x04, 0x12345678, "Aquametro CALEC ST" },
		{ "AMT", 0xbf, 0x04, 0x12345678, "Aquametro CALEC MB" },
		{ "AMT", 0x80, 0x04, 0x12345678, "Aquametro CALEC MB" },
		{ "AMT", 0x7f, 0x07, 0x12345678, "Aquametro SAPHIR" },
		{ "AMT", 0x40, 0x07, 0x12345678, "Aquametro SAPHIR" },
		{ "AMT", 0x3f, 0x04, 0x12345678, "Aquametro AMTRON" },
		{ "AMT", 0x00, 0x04, 0x12345678, "Aquametro AMTRON" },
		{ "ELV", 0x14, 0x07, 0x12345678, "Elvaco CMa10" },
		{ "ELV", 0x1d, 0x1b, 0x12345678, "Elvaco CMa10" },
		{ "ELV", 0x1e, 0x1b, 0x12345678, NULL },
		{ "ELV", 0x3b, 0x1b, 0x12345678, "Elvaco CMa11" },
		{ "ELV", 0x3c, 0x1b, 0x12345678, NULL },
		{ "ELV", 0x01, 0x02, 0x12345678, NULL },	/* CMi1020 */
		{ "GAV", 0x2d, 0x02, 0x12345678, "Carlo Gavazzi EM24" },
		{ "GAV", 0x30, 0x02, 0x12345678, "Carlo Gavazzi EM24" },
		{ "GAV", 0x30, 0x07, 0x12345678, NULL },
		{ "GAV", 0x3a, 0x02, 0x12345678, "Carlo Gavazzi EM21" },
		{ "GAV", 0x40, 0x02, 0x12345678, "Carlo Gavazzi EM33" },
		{ "BEC", 0x00, 0x02, 0x12345678, "Berg DCMi" },
		{ "BEC", 0x00, 0x0f, 0x12345678, NULL },
		{ "BEC", 0x07, 0x02, 0x12345678, "Berg BLMi" },
		{ "BEC", 0x71, 0x0f, 0x12345678, "Berg BMB-10S0" },
		{ "BEC", 0x71, 0x02, 0x12345678, NULL },
		{ "EFE", 0x00, 0x04, 0x12345678,
		  "Engelmann / Elster SensoStar 2" },
		{ "JAN", 0x09, 0x02, 0x12345678, "Janitza UMG 96S" },
		{ "JAN", 0x09, 0x07, 0x12345678, NULL },
		{ "SBC", 0x00, 0x02, 0x10000001, "Saia-Burgess ALE3" },
		{ "SBC", 0x00, 0x02, 0x11999999, "Saia-Burgess AWD3" },
		{ "SBC", 0x00, 0x02, 0x12000000, NULL },
		{ "SEO", 0x01, 0x1b, 0x30000001, "Sensoco PT100" },
		{ "SEO", 0x30, 0x1b, 0x31000001, NULL },
		{ "GTE", 0x01, 0x1b, 0x61234567, "Sensoco THU" },
		{ "GTE", 0x01, 0x02, 0x80000000,
		  "Sensoco PulseCounter for E-Meter" },
		{ "SPX", 0x34, 0x04, 0x12345678, "Sensus PolluTherm" },
		{ "HYD", 0x2f, 0x04, 0x12345678, "Hydrometer Sharky 775" },
		{ "TCH", 0x40, 0x04, 0x12345678, "Techem ultra S3" },
		{ "KAM", 0x02, 0x04, 0x12345678, NULL },
	};
	struct nmbus_header h = { .has_address = true };

	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *want = rows[i].name ? rows[i].name : "(none)";
		const char *got;

		h.manufacturer = nmbus_manufacturer_code(rows[i].mfr);
		h.version = rows[i].version;
		h.medium = rows[i].medium;
		h.id = rows[i].id;
		got = nmbus_libmbus_product_name(&h);
		if (!got)
			got = "(none)";
		if (strcmp(want, got))
			TH_LOG("%s version %02X medium %02X id %08X",
			       rows[i].mfr, h.version, h.medium, h.id);
		EXPECT_STREQ(want, got);
	}
	/* A short header (CI 7Ah) names no product. */
	h.manufacturer = NMBUS_MFR('K', 'A', 'M');
	h.version = 0x01;
	EXPECT_STREQ("Kamstrup 382 (6850-005)", nmbus_libmbus_product_name(&h));
	h.has_address = false;
	EXPECT_EQ(NULL, nmbus_libmbus_product_name(&h));
}

TEST(seed_names_for_the_api_libmbus_names_for_its_xml)
{
	static const uint8_t ud[] = {
		0x78, 0x56, 0x34, 0x12, 0xb4, 0x05, 0xc5, 0x04, 0x01, 0, 0, 0,
		0x04, 0x06, 0x10, 0x27, 0x00, 0x00,
	};
	struct nmbus_header h = {
		.manufacturer = NMBUS_MFR('E', 'L', 'V'), .version = 0x16,
		.medium = 0x00, .has_address = true,
	};
	static const char calec_st[] =
		"<ProductName>Aquametro CALEC ST</ProductName>";
	struct decoded d;
	char out[4096];

	/* Version 16h is a CMa10 to libmbus; no CMi1020 generation. */
	EXPECT_EQ(NULL, nmbus_device_name(&h));
	EXPECT_STREQ("Elvaco CMa10", nmbus_libmbus_product_name(&h));
	/* CMi1020: generation 01-09, medium 00h (or 02h); libmbus: none. */
	h.version = 0x01;
	EXPECT_STREQ("Elvaco CMi1020", nmbus_device_name(&h));
	EXPECT_EQ(NULL, nmbus_libmbus_product_name(&h));
	h.version = 0x09;
	h.medium = 0x02;
	EXPECT_STREQ("Elvaco CMi1020", nmbus_device_name(&h));

	/* AMTRON X-50 (CALEC ST II version C5h). */
	d.len = mkframe(d.buf, 0x08, 0x01, 0x72, ud, sizeof(ud));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 8));
	EXPECT_STREQ("AMTRON X-50", nmbus_device_name(&d.f.header));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"device_name\":\"AMTRON X-50\""));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_XML, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, calec_st));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_XML_NORMALIZED,
					out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, calec_st));

	/* Outside the seeds the API names nothing; libmbus may. */
	h.manufacturer = NMBUS_MFR('L', 'U', 'G');
	h.version = 0x07;
	EXPECT_EQ(NULL, nmbus_device_name(&h));
	EXPECT_STREQ("Landis & Gyr Ultraheat T230",
		     nmbus_libmbus_product_name(&h));
}

TEST(calec_st2_storage_numbers)
{
	struct nmbus_header h = {
		.manufacturer = NMBUS_MFR('A', 'M', 'T'), .version = 0xc0,
		.has_address = true,
	};

	EXPECT_STREQ("current", nmbus_record_storage_name(&h, 0));
	EXPECT_STREQ("due day", nmbus_record_storage_name(&h, 1));
	EXPECT_STREQ("due day", nmbus_record_storage_name(&h, 12));
	EXPECT_EQ(NULL, nmbus_record_storage_name(&h, 13));
	EXPECT_STREQ("freeze", nmbus_record_storage_name(&h, 31));
	EXPECT_STREQ("logger", nmbus_record_storage_name(&h, 100));
	EXPECT_STREQ("logger", nmbus_record_storage_name(&h, 599));
	EXPECT_EQ(NULL, nmbus_record_storage_name(&h, 600));
	h.manufacturer = NMBUS_MFR('K', 'A', 'M');
	EXPECT_EQ(NULL, nmbus_record_storage_name(&h, 1));
}

TEST(calec_due_day_telegram_storage_from_difes)
{
	/* Due day 12: DIF 84 with DIFE 06 = storage 12 (seed 000 3.2.2). */
	struct decoded d;
	struct nmbus_value v;
	uint8_t ud[64] = { 0x78, 0x56, 0x34, 0x12, 0xb4, 0x05, 0xc0, 0x04,
			   0x01, 0x00, 0x00, 0x00,
			   0x84, 0x06, 0x06, 0x10, 0x27, 0x00, 0x00,
			   0x82, 0x06, 0x6c, 0xfe, 0xf6 };

	d.len = mkframe(d.buf, 0x08, 0x01, 0x72, ud, 24);
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 8));
	ASSERT_EQ(2u, d.f.n_records);
	EXPECT_EQ(12u, d.rec[0].storage);
	EXPECT_STREQ("due day", nmbus_record_storage_name(&d.f.header,
							  d.rec[0].storage));
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[1], &v));
	EXPECT_EQ(-1, v.tm.year);	/* AnyYear */
}

/*
 * The header of a CMi1020's RSP_UD as its manual writes it (seed 004,
 * 6.7.2.2): CI 72, ID, "0x9615 Manufacturer id ELV", generation 01..09,
 * "0x00 Device type / medium = electricity", access, status 00,
 * signature 0000.
 */
#define CMI1020_HDR 0x78, 0x56, 0x34, 0x12, 0x96, 0x15, 0x01, 0x00, 0x07, \
		    0x00, 0x00, 0x00

/* One record of table 5 or 6 and what the library must make of it. */
struct cmi_row {
	const char *rec;	/* DIF .. data, as the table spells it */
	size_t len;
	const char *obis;	/* NULL: the table gives it none */
	enum nmbus_unit unit;
	const char *quantity;	/* NULL: not checked (plain-text VIF) */
};

#define R(bytes, obis, unit, q) \
	{ bytes, sizeof(bytes) - 1, obis, NMBUS_UNIT_##unit, q }
#define E(dib, obis) R(dib "\x83\x3b" "\1\0\0\0", obis, WH, "energy")

static const struct cmi_row cmi_table5[] = {
	R("\x01\xfd\x1a" "\x55", NULL, NONE, "digital output"),
	R("\x01\xfd\x1b" "\x00", NULL, NONE, "digital input"),
	R("\x83\x40\xfd\x17" "\0\0\0", NULL, NONE, "error flags"),
	R("\x0d\xfd\x0f" "\x05" "0.2.1", NULL, NONE, "software version"),
	R("\x8c\x40\x78" "\x40\x30\x20\x10", NULL, NONE, "fabrication number"),
};

/* Every row of table 6 (row 58, 0.0, is the header's ID: no record). */
static const struct cmi_row cmi_table6[] = {
	R("\x04\x83\x3b" "\1\0\0\0", "1-0:1.8.0", WH, "energy"),
	E("\x84\x10", "1-0:1.8.1"),
	E("\x84\x20", "1-0:1.8.2"),
	E("\x84\x30", "1-0:1.8.3"),
	E("\x84\x80\x10", "1-0:1.8.4"),
	E("\x84\x90\x10", "1-0:1.8.5"),
	E("\x84\xa0\x10", "1-0:1.8.6"),
	R("\x04\x84\x3c" "\1\0\0\0", "1-0:2.8.0", WH, "energy"),
	R("\x84\x10\x84\x3c" "\1\0\0\0", "1-0:2.8.1", WH, "energy"),
	R("\x84\x20\x84\x3c" "\1\0\0\0", "1-0:2.8.2", WH, "energy"),
	R("\x84\x30\x84\x3c" "\1\0\0\0", "1-0:2.8.3", WH, "energy"),
	R("\x84\x80\x10\x84\x3c" "\1\0\0\0", "1-0:2.8.4", WH, "energy"),
	R("\x84\x90\x10\x84\x3c" "\1\0\0\0", "1-0:2.8.5", WH, "energy"),
	R("\x84\xa0\x10\x84\x3c" "\1\0\0\0", "1-0:2.8.6", WH, "energy"),
	R("\x04\xfb\x82\xf3\x3b" "\1\0\0\0", "1-0:3.8.0", VARH,
	  "reactive energy"),
	R("\x84\x10\xfb\x82\xf4\x3b" "\1\0\0\0", "1-0:3.8.1", VARH,
	  "reactive energy"),
	R("\x84\x20\xfb\x82\xf5\x3b" "\1\0\0\0", "1-0:3.8.2", VARH,
	  "reactive energy"),
	R("\x84\x30\xfb\x82\xf6\x3b" "\1\0\0\0", "1-0:3.8.3", VARH,
	  "reactive energy"),
	R("\x84\x80\x10\xfb\x82\xf3\x3b" "\1\0\0\0", "1-0:3.8.4", VARH,
	  "reactive energy"),
	R("\x84\x90\x10\xfb\x82\xf3\x3b" "\1\0\0\0", "1-0:3.8.5", VARH,
	  "reactive energy"),
	R("\x84\xa0\x10\xfb\x82\xf3\x3b" "\1\0\0\0", "1-0:3.8.6", VARH,
	  "reactive energy"),
	R("\x04\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.0", VARH,
	  "reactive energy"),
	R("\x84\x10\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.1", VARH,
	  "reactive energy"),
	R("\x84\x20\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.2", VARH,
	  "reactive energy"),
	R("\x84\x30\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.3", VARH,
	  "reactive energy"),
	R("\x84\x80\x10\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.4", VARH,
	  "reactive energy"),
	R("\x84\x90\x10\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.5", VARH,
	  "reactive energy"),
	R("\x84\xa0\x10\xfb\x82\xf3\x3c" "\1\0\0\0", "1-0:4.8.6", VARH,
	  "reactive energy"),
	R("\x04\x05" "\1\0\0\0", "1-0:15.8.0", WH, "energy"),
	R("\x03\x2c" "\1\0\0", "1-0:16.7.0", W, "power"),
	R("\x83\x40\x2c" "\1\0\0", "1-0:36.7.0", W, "power"),
	R("\x83\x80\x40\x2c" "\1\0\0", "1-0:56.7.0", W, "power"),
	R("\x83\xc0\x40\x2c" "\1\0\0", "1-0:76.7.0", W, "power"),
	R("\x03\xfb\x82\xa2\x74" "\1\0\0", "1-0:131.7.0", VAR,
	  "reactive power"),
	R("\x83\x40\xfb\x82\xa2\x74" "\1\0\0", "1-0:151.7.0", VAR,
	  "reactive power"),
	R("\x83\x80\x40\xfb\x82\xa2\x74" "\1\0\0", "1-0:171.7.0", VAR,
	  "reactive power"),
	R("\x83\xc0\x40\xfb\x82\xa2\x74" "\1\0\0", "1-0:191.7.0", VAR,
	  "reactive power"),
	R("\x02\xfc\x06" "ihPsoC" "\x74" "\1\0", "1-0:13.7.0", NONE, NULL),
	R("\x82\x40\xfc\x06" "ihPsoC" "\x74" "\1\0", "1-0:33.7.0", NONE, NULL),
	R("\x82\x80\x40\xfc\x06" "ihPsoC" "\x74" "\1\0", "1-0:53.7.0", NONE,
	  NULL),
	R("\x82\xc0\x40\xfc\x06" "ihPsoC" "\x74" "\1\0", "1-0:73.7.0", NONE,
	  NULL),
	R("\x83\x40\xfd\x47" "\1\0\0", "1-0:32.7.0", V, "voltage"),
	R("\x83\x80\x40\xfd\x48" "\1\0\0", "1-0:52.7.0", V, "voltage"),
	R("\x83\xc0\x40\xfd\x49" "\1\0\0", "1-0:72.7.0", V, "voltage"),
	R("\x83\x40\xfd\x59" "\1\0\0", "1-0:31.7.0", A, "current"),
	R("\x83\x80\x40\xfd\x5a" "\1\0\0", "1-0:51.7.0", A, "current"),
	R("\x83\xc0\x40\xfd\x5c" "\1\0\0", "1-0:71.7.0", A, "current"),
	/* DIF 02 (16 bits) though the table says Uint24 */
	R("\x02\xfd\x75" "\1\0", "0-0:96.7.0", NONE,
	  "number of times the meter was stopped"),
	R("\x82\x40\xfd\x75" "\1\0", "0-0:96.7.1", NONE,
	  "number of times the meter was stopped"),
	R("\x82\x80\x40\xfd\x75" "\1\0", "0-0:96.7.2", NONE,
	  "number of times the meter was stopped"),
	R("\x82\xc0\x40\xfd\x75" "\1\0", "0-0:96.7.3", NONE,
	  "number of times the meter was stopped"),
	R("\x03\xfc\x02" "zH" "\x74" "\1\0\0", "1-0:14.7.0", NONE, NULL),
	R("\x02\x7c\x02" "CS" "\1\0", "0-0:96.5.0", NONE, NULL),
	R("\x02\xfd\x17" "\1\0", "0-0:97.97.0", NONE, "error flags"),
	R("\x02\x7c\x02" "CT" "\1\0", "1-0:82.8.1", NONE, NULL),
	R("\x02\x7c\x02" "CM" "\1\0", "1-0:82.8.2", NONE, NULL),
	R("\x0c\x78" "\x78\x56\x34\x12", "0-0:96.1.0", NONE,
	  "fabrication number"),
	R("\x0d\xfd\x0a" "\x08" "54321ZGL", "0-0:96.1.1", NONE, "manufacturer"),
	R("\x0d\xfd\x0e" "\x05" "32.1V", "1-0:0.2.0", NONE, "firmware version"),
	R("\x0d\xfd\x0b" "\x04" "1.2P", "1-0:0.2.1", NONE,
	  "parameter set identification"),
	R("\x84\x80\x40\x05" "\1\0\0\0", "1-0:128.8.0", WH, "energy"),
	/*
	 * Rows 62 and 63 end in "FB82(F3-F6)": an extension bit on the last
	 * VIFE, which would swallow the data. The module must send 73..76.
	 */
	R("\x04\xfb\x82\x73" "\1\0\0\0", "1-0:130.8.0", VARH,
	  "reactive energy"),
	R("\x84\x40\xfb\x82\x74" "\1\0\0\0", "1-0:131.8.0", VARH,
	  "reactive energy"),
	R("\x84\x40\xfb\x82\xf5\x3b" "\1\0\0\0", "1-0:132.8.0", VARH,
	  "reactive energy"),
	R("\x84\x40\xfb\x82\xf6\x3c" "\1\0\0\0", "1-0:133.8.0", VARH,
	  "reactive energy"),
	R("\x84\x40\x06" "\1\0\0\0", "1-0:16.8.0", WH, "energy"),
	R("\x04\xfc\x04" "hAVk" "\x76" "\1\0\0\0", "1-0:9.8.0", NONE, NULL),
};

/*
 * Decode @row in a CMi1020 telegram of @medium; 0 if it came out as the
 * table says.
 */
static int check_cmi_row_medium(struct __test_metadata *_metadata,
				const struct cmi_row *row, uint8_t medium)
{
	uint8_t ud[64] = { CMI1020_HDR };
	struct nmbus_value v;
	struct decoded d;
	const char *obis;

	ud[7] = medium;
	memcpy(ud + 12, row->rec, row->len);
	d.len = mkframe(d.buf, 0x08, 0x05, 0x72, ud, 12 + row->len);
	if (nmbus_decode(&d.f, d.buf, d.len, d.rec, 4) ||
	    d.f.n_records != 1) {
		TH_LOG("%s: does not decode to one record",
		       row->obis ? row->obis : "table 5");
		return 1;
	}
	obis = nmbus_record_obis(&d.f, &d.rec[0]);
	nmbus_record_get_value(&d.f, &d.rec[0], &v);
	if ((obis == NULL) != (row->obis == NULL) ||
	    (obis && strcmp(obis, row->obis)) || v.unit != row->unit ||
	    (row->quantity && strcmp(v.quantity, row->quantity))) {
		TH_LOG("want %s %s '%s', got %s %s '%s'",
		       row->obis ? row->obis : "(none)",
		       nmbus_unit_name(row->unit),
		       row->quantity ? row->quantity : "",
		       obis ? obis : "(none)",
		       nmbus_unit_name(v.unit), v.quantity);
		return 1;
	}
	return 0;
}

/* As the module sends it: medium 00h. */
static int check_cmi_row(struct __test_metadata *_metadata,
			 const struct cmi_row *row)
{
	return check_cmi_row_medium(_metadata, row, 0x00);
}

TEST(cmi1020_is_known_by_the_header_its_manual_shows)
{
	static const uint8_t ud[] = {
		CMI1020_HDR,
		0x04, 0x83, 0x3b, 1, 0, 0, 0,			/* 1.8.0 */
	};
	struct decoded d;
	char out[2048];

	d.len = mkframe(d.buf, 0x08, 0x05, 0x72, ud, sizeof(ud));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	EXPECT_EQ(0x00, d.f.header.medium);
	EXPECT_STREQ("Elvaco CMi1020", nmbus_device_name(&d.f.header));
	EXPECT_STREQ("1-0:1.8.0", nmbus_record_obis(&d.f, &d.rec[0]));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"obis\":\"1-0:1.8.0\""))
		TH_LOG("%s", out);
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_TEXT, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "(OBIS 1-0:1.8.0)")) TH_LOG("%s", out);

	/* Medium 02h, the standard's electricity, is one too. */
	d.buf[7 + 7] = 0x02;
	d.buf[d.len - 2] += 0x02;
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	EXPECT_STREQ("1-0:1.8.0", nmbus_record_obis(&d.f, &d.rec[0]));
	/*
	 * Generation 0Ah is outside "01-09": no CMi1020, but an electricity
	 * meter, whose forward energy the generic mapping codes the same.
	 */
	d.buf[7 + 6] = 0x0a;
	d.buf[d.len - 2] += 0x0a - 0x01;
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	EXPECT_EQ(NULL, nmbus_device_name(&d.f.header));
	EXPECT_STREQ("1-0:1.8.0", nmbus_record_obis(&d.f, &d.rec[0]));
	/* A CMa10 (ELV, room sensor 1Bh) gets no OBIS codes. */
	d.buf[7 + 6] = 0x01;
	d.buf[7 + 7] = 0x1b;
	d.buf[d.len - 2] += 0x01 - 0x0a + 0x1b - 0x02;
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	EXPECT_EQ(NULL, nmbus_record_obis(&d.f, &d.rec[0]));
}

TEST(cmi1020_table5_static_data_has_no_obis_codes)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmi_table5); i++) {
		EXPECT_EQ(0, check_cmi_row(_metadata, &cmi_table5[i]))
			TH_LOG("table 5 row %zu", i);
	}
}

TEST(cmi1020_table6_every_row_gets_its_obis_code_and_unit)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmi_table6); i++) {
		/* rows 0..57, then 59..67: row 58 is the header's */
		EXPECT_EQ(0, check_cmi_row(_metadata, &cmi_table6[i]))
			TH_LOG("table 6 row %zu", i < 58 ? i : i + 1);
	}
	EXPECT_EQ(67u, ARRAY_SIZE(cmi_table6));
}

/*
 * With medium 02h the frame is an electricity meter's, but the device's
 * table still decides: 15.8.0 for energy without a direction, 36.7.0 for
 * subunit 1's power, where the generic mapping would give nothing.
 */
TEST(cmi1020_table_overrides_the_generic_mapping)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmi_table5); i++) {
		EXPECT_EQ(0, check_cmi_row_medium(_metadata, &cmi_table5[i],
						  0x02))
			TH_LOG("table 5 row %zu", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmi_table6); i++) {
		EXPECT_EQ(0, check_cmi_row_medium(_metadata, &cmi_table6[i],
						  0x02))
			TH_LOG("table 6 row %zu", i < 58 ? i : i + 1);
	}
}

/* Table 5 types its status and flags Uint8, Uint24: bit fields. */
TEST(cmi1020_status_bytes_are_unsigned)
{
	static const uint8_t ud[] = {
		CMI1020_HDR,
		0x01, 0xfd, 0x1a, 0x96,			/* disconnector off */
		0x83, 0x40, 0xfd, 0x17, 0x01, 0x00, 0x80,	/* bits 23, 0 */
	};
	struct nmbus_value v;
	struct decoded d;

	d.len = mkframe(d.buf, 0x08, 0x05, 0x72, ud, sizeof(ud));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[0], &v));
	EXPECT_EQ(0x96, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[1], &v));
	EXPECT_EQ(0x800001, v.raw);
}

TEST(cmi1020_reactive_power_is_var_not_varh)
{
	/* 131.7 FB 82 A2 74: 1234 x 10^(3-2) var (kvarh/h, 10^-2). */
	static const uint8_t ud[] = {
		CMI1020_HDR,
		0x03, 0xfb, 0x82, 0xa2, 0x74, 0xd2, 0x04, 0x00,
	};
	struct nmbus_value v;
	struct decoded d;
	char out[2048];

	d.len = mkframe(d.buf, 0x08, 0x05, 0x72, ud, sizeof(ud));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	ASSERT_EQ(0, nmbus_record_get_value(&d.f, &d.rec[0], &v));
	EXPECT_EQ(NMBUS_UNIT_VAR, v.unit);
	EXPECT_EQ(1, v.exponent);
	EXPECT_EQ(12340.0, v.number);
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"quantity\":\"reactive power\","
				    "\"unit\":\"var\"")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"obis\":\"1-0:131.7.0\""));
}

TEST(calmex2_profile_needs_wakeup_at_300_baud)
{
	const struct nmbus_profile *p = nmbus_profile_find("CALMEX2");

	ASSERT_NE(NULL, p);
	EXPECT_EQ(300u, p->baud);
	EXPECT_EQ(20, p->wakeup_bytes);
	EXPECT_EQ(400, p->wakeup_delay_ms);
	/*
	 * Its 800 ms "Wait First Timeout" is a pause before reading, not
	 * the window: 0 keeps EN 13757-2's (1.15 s at 300 Bd).
	 */
	EXPECT_EQ(0u, p->timeout_ms);
	EXPECT_EQ(NULL, nmbus_profile_find("nosuch"));
	EXPECT_EQ(NULL, nmbus_profile_find(NULL));
	for (unsigned int i = 0; nmbus_profile_get(i); i++)
		EXPECT_EQ(nmbus_profile_get(i),
			  nmbus_profile_find(nmbus_profile_get(i)->name));
}

TEST_HARNESS_MAIN
