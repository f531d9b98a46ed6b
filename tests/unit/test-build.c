// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the libnmbus frame builder (lib/build.c)
 *
 * Expected frames come from the seed documents: the CALEC ST II manual
 * (seed 000), the gateway guide (seed 002), the Elvaco CMi1020 manual
 * (seed 004) and a real Elvaco CMa10 telegram of the libmbus corpus.
 * Templates are written as C A CI data; the envelope (68 L L 68 .. CS 16)
 * is added by expect_long(). Every frame must also pass mbus_frame_check().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

#include <nmbus.h>
#include <nmbus-devices.h>
#include "mbus_frame.h"

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...)	sizeof((const uint8_t[]){ __VA_ARGS__ })

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && i < 80; i++)
		out += sprintf(out, "%02X ", p[i]);
	*out = '\0';
}

/* @got (@len bytes, the builder's return) must be exactly @want. */
static void expect_frame(struct __test_metadata *_metadata,
			 const uint8_t *got, int len, const uint8_t *want,
			 size_t want_len)
{
	char a[256], b[256];

	ASSERT_EQ((int)want_len, len);
	if (memcmp(got, want, want_len)) {
		hex(a, got, want_len);
		hex(b, want, want_len);
		TH_LOG("got  %s", a);
		TH_LOG("want %s", b);
	}
	EXPECT_EQ(0, memcmp(got, want, want_len));
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(got, len, NULL));
}

/* @got must be 68 L L 68 @tmpl CS 16 with L = sizeof @tmpl. */
static void expect_long(struct __test_metadata *_metadata, const uint8_t *got,
			int len, const uint8_t *tmpl, size_t tlen)
{
	uint8_t want[MBUS_FRAME_MAX];
	uint8_t sum = 0;

	ASSERT_LE(tlen, 255);
	want[0] = want[3] = 0x68;
	want[1] = want[2] = tlen;
	memcpy(want + 4, tmpl, tlen);
	for (size_t i = 0; i < tlen; i++)
		sum += tmpl[i];
	want[4 + tlen] = sum;
	want[5 + tlen] = 0x16;
	expect_frame(_metadata, got, len, want, tlen + 6);
}

#define EXPECT_FRAME(got, len, ...) \
	expect_frame(_metadata, got, len, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))
#define EXPECT_LONG(got, len, ...) \
	expect_long(_metadata, got, len, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

TEST(ack_is_one_byte_e5)
{
	uint8_t buf[4];

	EXPECT_FRAME(buf, nmbus_build_ack(buf, sizeof(buf)), 0xe5);
	EXPECT_EQ(-ENOSPC, nmbus_build_ack(buf, 0));
}

TEST(snd_nke_matches_cmi1020_manual)
{
	uint8_t buf[8];

	EXPECT_FRAME(buf, nmbus_build_snd_nke(buf, sizeof(buf), 0x01),
		     0x10, 0x40, 0x01, 0x41, 0x16);
	EXPECT_FRAME(buf, nmbus_build_snd_nke(buf, sizeof(buf), 0xfd),
		     0x10, 0x40, 0xfd, 0x3d, 0x16);
	EXPECT_EQ(-ENOSPC, nmbus_build_snd_nke(buf, 4, 1));
}

TEST(req_ud2_carries_fcb_and_fcv)
{
	uint8_t buf[8];

	EXPECT_FRAME(buf, nmbus_build_req_ud2(buf, sizeof(buf), 5, 0),
		     0x10, 0x4b, 0x05, 0x50, 0x16);
	EXPECT_FRAME(buf, nmbus_build_req_ud2(buf, sizeof(buf), 5,
					      NMBUS_C_FCV),
		     0x10, 0x5b, 0x05, 0x60, 0x16);
	EXPECT_FRAME(buf, nmbus_build_req_ud2(buf, sizeof(buf), 5,
					      NMBUS_C_FCB),
		     0x10, 0x6b, 0x05, 0x70, 0x16);
	EXPECT_FRAME(buf, nmbus_build_req_ud2(buf, sizeof(buf), 0xfe,
					      NMBUS_C_FCV | NMBUS_C_FCB),
		     0x10, 0x7b, 0xfe, 0x79, 0x16);
	EXPECT_EQ(-EINVAL, nmbus_build_req_ud2(buf, sizeof(buf), 5, 0x01));
}

TEST(req_ud1_is_5a)
{
	uint8_t buf[8];

	EXPECT_FRAME(buf, nmbus_build_req_ud1(buf, sizeof(buf), 1,
					      NMBUS_C_FCV),
		     0x10, 0x5a, 0x01, 0x5b, 0x16);
}

TEST(select_matches_calec_table_8)
{
	uint8_t buf[MBUS_FRAME_MAX], mask[8];

	/* "0xfffff344": every CALEC ST II whose address ends in 344 */
	ASSERT_EQ(0, nmbus_secaddr_parse("FFFFF344B405C004", mask));
	EXPECT_LONG(buf, nmbus_build_select(buf, sizeof(buf), NMBUS_C_FCV,
					    mask, 8),
		    0x53, 0xfd, 0x52, 0x44, 0xf3, 0xff, 0xff, 0xb4, 0x05,
		    0xc0, 0x04);
	EXPECT_EQ(0x0b, buf[1]);
}

TEST(select_accepts_cmi1020_short_masks_but_5)
{
	static const uint8_t mask[8] = {
		0x78, 0x56, 0x34, 0x12, 0x96, 0x15, 0x01, 0x02,
	};
	uint8_t buf[MBUS_FRAME_MAX];

	for (size_t len = 0; len <= 8; len++) {
		int ret = nmbus_build_select(buf, sizeof(buf), NMBUS_C_FCV,
					     mask, len);

		if (len == 5) {
			EXPECT_EQ(-EINVAL, ret);
			continue;
		}
		ASSERT_EQ((int)(9 + len), ret);
		EXPECT_EQ(3 + len, buf[1]);
		EXPECT_EQ(0x52, buf[6]);
		EXPECT_EQ(0, memcmp(buf + 7, mask, len));
		EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, ret, NULL));
	}
	EXPECT_EQ(-EINVAL, nmbus_build_select(buf, sizeof(buf), 0, mask, 9));
	EXPECT_EQ(-EINVAL, nmbus_build_select(buf, sizeof(buf), 0, NULL, 4));
}

TEST(app_reset_with_and_without_subcode)
{
	uint8_t buf[16];

	/* CALEC ST II table 32 and CMi1020 6.7.4 */
	EXPECT_LONG(buf, nmbus_build_app_reset(buf, sizeof(buf), 3,
					       NMBUS_C_FCV, -1),
		    0x53, 0x03, 0x50);
	EXPECT_LONG(buf, nmbus_build_app_reset(buf, sizeof(buf), 3,
					       NMBUS_C_FCV, 0xb0),
		    0x53, 0x03, 0x50, 0xb0);
	EXPECT_LONG(buf, nmbus_build_app_reset(buf, sizeof(buf), 3,
					       NMBUS_C_FCV | NMBUS_C_FCB, 0x05),
		    0x73, 0x03, 0x50, 0x05);
	EXPECT_EQ(-EINVAL, nmbus_build_app_reset(buf, sizeof(buf), 3, 0, 256));
	EXPECT_EQ(-ENOSPC, nmbus_build_app_reset(buf, 9, 3, 0, 0xb0));
}

TEST(baud_codes_b8_to_bf)
{
	static const unsigned int bauds[] = {
		300, 600, 1200, 2400, 4800, 9600, 19200, 38400,
	};
	uint8_t buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(bauds); i++) {
		EXPECT_EQ((int)(0xb8 + i), nmbus_baud_to_ci(bauds[i]));
		EXPECT_EQ(bauds[i], nmbus_ci_to_baud(0xb8 + i));
	}
	EXPECT_EQ(-EINVAL, nmbus_baud_to_ci(115200));
	EXPECT_EQ(0u, nmbus_ci_to_baud(0x51));
	/* CALEC ST II table 16: 0xbd = 9600 Bd */
	EXPECT_LONG(buf, nmbus_build_set_baud(buf, sizeof(buf), 7,
					      NMBUS_C_FCV, 9600),
		    0x53, 0x07, 0xbd);
	EXPECT_LONG(buf, nmbus_build_set_baud(buf, sizeof(buf), 7,
					      NMBUS_C_FCV, 300),
		    0x53, 0x07, 0xb8);
	EXPECT_EQ(-EINVAL, nmbus_build_set_baud(buf, sizeof(buf), 7, 0, 1));
}

TEST(set_primary_address_01_7a)
{
	uint8_t buf[16];

	/* CALEC ST II table 17, CMi1020 6.7.5: L = 06 */
	EXPECT_LONG(buf, nmbus_build_set_primary(buf, sizeof(buf), 0,
						 NMBUS_C_FCV, 0x05),
		    0x53, 0x00, 0x51, 0x01, 0x7a, 0x05);
	EXPECT_EQ(6, buf[1]);
	EXPECT_EQ(-EINVAL, nmbus_build_set_primary(buf, sizeof(buf), 0, 0,
						   251));
}

TEST(set_secondary_address_0c_79)
{
	uint8_t buf[16];

	/* CALEC ST II table 18, CMi1020 6.7.6: L = 09 */
	EXPECT_LONG(buf, nmbus_build_set_secondary(buf, sizeof(buf), 1,
						   NMBUS_C_FCV, 12345678),
		    0x53, 0x01, 0x51, 0x0c, 0x79, 0x78, 0x56, 0x34, 0x12);
	EXPECT_EQ(-EINVAL, nmbus_build_set_secondary(buf, sizeof(buf), 1, 0,
						     100000000));
}

TEST(set_datetime_is_type_f)
{
	struct tm tm = {
		.tm_year = 126, .tm_mon = 10, .tm_mday = 22,
		.tm_hour = 4, .tm_min = 30, .tm_isdst = 0,
	};
	uint8_t buf[16];

	/* CALEC ST II table 21: 04 6D + type F; 2026-11-22 04:30 */
	EXPECT_LONG(buf, nmbus_build_set_datetime(buf, sizeof(buf), 0xff,
						  NMBUS_C_FCV, &tm),
		    0x53, 0xff, 0x51, 0x04, 0x6d, 0x1e, 0x24, 0x56, 0x3b);
	tm.tm_isdst = 1;
	tm.tm_year = 99;	/* 1999: hundred-year bits 0 */
	EXPECT_LONG(buf, nmbus_build_set_datetime(buf, sizeof(buf), 0xff,
						  NMBUS_C_FCV, &tm),
		    0x53, 0xff, 0x51, 0x04, 0x6d, 0x1e, 0x84, 0x76, 0xcb);
	tm.tm_mon = 12;
	EXPECT_EQ(-EINVAL, nmbus_build_set_datetime(buf, sizeof(buf), 0, 0,
						    &tm));
}

TEST(freeze_matches_calec_table_26)
{
	uint8_t buf[16];

	EXPECT_LONG(buf, nmbus_build_freeze(buf, sizeof(buf), 4, NMBUS_C_FCV,
					    31),
		    0x53, 0x04, 0x51, 0xc0, 0x0f, 0xfe, 0x0b);
	EXPECT_EQ(7, buf[1]);
	EXPECT_LONG(buf, nmbus_build_freeze(buf, sizeof(buf), 4, NMBUS_C_FCV,
					    0),
		    0x53, 0x04, 0x51, 0x00, 0xfe, 0x0b);
}

/* CALEC ST II table 20: DIF/DIFE and VIF selecting each telegram. */
static const struct {
	enum nmbus_calec_telegram telegram;
	unsigned int index;
	uint8_t len;
	uint8_t dib_vif[5];
} calec_table_20[] = {
	{ NMBUS_CALEC_STANDARD, 0, 2, { 0x08, 0x7e } },
	{ NMBUS_CALEC_SERVICE, 0, 2, { 0x08, 0x7f } },
	{ NMBUS_CALEC_FREEZE, 0, 3, { 0xc8, 0x0f, 0x7e } },
	{ NMBUS_CALEC_DUE_DAY, 1, 2, { 0x48, 0x7e } },
	{ NMBUS_CALEC_DUE_DAY, 2, 3, { 0x88, 0x01, 0x7e } },
	{ NMBUS_CALEC_DUE_DAY, 3, 3, { 0xc8, 0x01, 0x7e } },
	{ NMBUS_CALEC_DUE_DAY, 12, 3, { 0x88, 0x06, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 1, 4, { 0x88, 0x82, 0x03, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 2, 4, { 0xc8, 0x82, 0x03, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 100, 4, { 0xc8, 0x83, 0x06, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 101, 4, { 0x88, 0x84, 0x06, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 200, 4, { 0xc8, 0x85, 0x09, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 401, 4, { 0x88, 0x8a, 0x0f, 0x7e } },
	{ NMBUS_CALEC_LOGGER, 500, 5, { 0xc8, 0x8b, 0x82, 0x01, 0x7e } },
};

TEST(calec_response_telegram_selection_matches_table_20)
{
	uint8_t buf[32], want[16] = { 0x53, 0x02, 0x51 };

	for (size_t i = 0; i < ARRAY_SIZE(calec_table_20); i++) {
		int ret = nmbus_build_calec_telegram(buf, sizeof(buf), 2,
						     NMBUS_C_FCV,
						     calec_table_20[i].telegram,
						     calec_table_20[i].index);

		memcpy(want + 3, calec_table_20[i].dib_vif,
		       calec_table_20[i].len);
		expect_long(_metadata, buf, ret, want,
			    3 + calec_table_20[i].len);
	}
	EXPECT_EQ(-EINVAL, nmbus_build_calec_telegram(buf, sizeof(buf), 2, 0,
						      NMBUS_CALEC_DUE_DAY, 13));
	EXPECT_EQ(-EINVAL, nmbus_build_calec_telegram(buf, sizeof(buf), 2, 0,
						      NMBUS_CALEC_LOGGER, 501));
}

TEST(dib_encodes_storage_tariff_subunit_like_calec_tables)
{
	static const struct {
		unsigned int coding, function;
		uint64_t storage;
		uint32_t tariff, subunit;
		uint8_t len, dib[4];
	} t[] = {
		{ 4, 0, 0, 1, 0, 2, { 0x84, 0x10 } },
		{ 4, 0, 0, 2, 0, 2, { 0x84, 0x20 } },
		{ 4, 0, 0, 0, 1, 2, { 0x84, 0x40 } },
		{ 4, 0, 0, 0, 2, 3, { 0x84, 0x80, 0x40 } },
		{ 2, 0, 1, 0, 0, 1, { 0x42 } },
		{ 4, 0, 2, 0, 0, 2, { 0x84, 0x01 } },
		{ 4, 0, 3, 1, 0, 2, { 0xc4, 0x11 } },
		{ 4, 0, 12, 2, 0, 2, { 0x84, 0x26 } },
		{ 4, 0, 100, 1, 0, 3, { 0x84, 0x92, 0x03 } },
		{ 4, 0, 100, 0, 2, 3, { 0x84, 0x82, 0x43 } },
		{ 4, 0, 599, 0, 2, 4, { 0xc4, 0x8b, 0xc2, 0x01 } },
		{ 5, 1, 100, 0, 0, 3, { 0x95, 0x82, 0x03 } },
		{ 4, 3, 100, 0, 1, 3, { 0xb4, 0xc2, 0x03 } },
	};
	uint8_t buf[11];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int ret = nmbus_encode_dib(buf, sizeof(buf), t[i].coding,
					   t[i].function, t[i].storage,
					   t[i].tariff, t[i].subunit);

		ASSERT_EQ(t[i].len, ret);
		EXPECT_EQ(0, memcmp(buf, t[i].dib, t[i].len));
	}
	EXPECT_EQ(-EINVAL, nmbus_encode_dib(buf, sizeof(buf), 16, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, nmbus_encode_dib(buf, sizeof(buf), 4, 4, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, nmbus_encode_dib(buf, 1, 4, 0, 2, 0, 0));
}

TEST(elvaco_commands_match_cmi1020_manual)
{
	static const uint8_t p1[] = "88888888";
	uint8_t buf[64], key[16];

	/* 6.7.13 clear communication error flags: L = 05 */
	EXPECT_LONG(buf, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
						NMBUS_C_FCV, 0x04, NULL, 0),
		    0x53, 0x09, 0x51, 0x0f, 0x04);
	EXPECT_EQ(5, buf[1]);
	/* 6.7.11 set meter rate 2: L = 06 */
	EXPECT_LONG(buf, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
						NMBUS_C_FCV, 0x03,
						BYTES(0x02), 1),
		    0x53, 0x09, 0x51, 0x0f, 0x03, 0x02);
	/* 6.7.9 set P1 password: L = 0D */
	ASSERT_EQ(19, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
					     NMBUS_C_FCV, 0x01, p1, 8));
	EXPECT_EQ(0x0d, buf[1]);
	/* 6.7.10 set P2 key: L = 15 */
	memset(key, 0x99, sizeof(key));
	ASSERT_EQ(27, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
					     NMBUS_C_FCV, 0x02, key, 16));
	EXPECT_EQ(0x15, buf[1]);
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, 27, NULL));
}

TEST(elvaco_commands_refuse_what_no_frame_can_carry)
{
	uint8_t big[251] = { 0 }, buf[300];

	EXPECT_EQ(-EINVAL, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9, 0x01,
						  0x04, NULL, 0));
	EXPECT_EQ(-EINVAL, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
						  NMBUS_C_FCV, 0x03, NULL, 1));
	EXPECT_EQ(-EMSGSIZE, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9,
						    NMBUS_C_FCV, 0x03, big,
						    sizeof(big)));
	/* 250 bytes of parameters: L = FF, the largest long frame */
	ASSERT_EQ(261, nmbus_build_elvaco_cmd(buf, sizeof(buf), 9, NMBUS_C_FCV,
					      0x03, big, sizeof(big) - 1));
	EXPECT_EQ(0xff, buf[1]);
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, 261, NULL));
	EXPECT_EQ(-ENOSPC, nmbus_build_elvaco_cmd(buf, 20, 9, NMBUS_C_FCV,
						  0x03, big, 16));
}

/*
 * The Elvaco CMa10 telegram of the libmbus corpus
 * (test-frames/ELV-Elvaco-CMa10.hex), rebuilt record by record.
 */
static const uint8_t cma10_frame[] = {
	0x68, 0x53, 0x53, 0x68, 0x08, 0x05, 0x72, 0x34, 0x08, 0x00, 0x54,
	0x96, 0x15, 0x32, 0x00, 0xf2, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x1b,
	0x00, 0x02, 0xfc, 0x03, 0x48, 0x52, 0x25, 0x74, 0xd4, 0x11, 0x22,
	0xfc, 0x03, 0x48, 0x52, 0x25, 0x74, 0xc8, 0x11, 0x12, 0xfc, 0x03,
	0x48, 0x52, 0x25, 0x74, 0xb4, 0x16, 0x02, 0x65, 0xd0, 0x08, 0x22,
	0x65, 0x70, 0x08, 0x12, 0x65, 0x23, 0x09, 0x01, 0x72, 0x18, 0x42,
	0x65, 0xe4, 0x08, 0x82, 0x01, 0x65, 0xdd, 0x08, 0x0c, 0x78, 0x34,
	0x08, 0x00, 0x54, 0x03, 0xfd, 0x0f, 0x00, 0x00, 0x04, 0x1f, 0x5d,
	0x16,
};

#define REC_INT(h, v) { .drh = h, .type = NMBUS_BUILD_INT, .i = (v) }

TEST(rsp_ud_rebuilds_a_real_elvaco_telegram)
{
	static const struct nmbus_rsp_header hdr = {
		.id = 54000834, .manufacturer = 0x1596, .version = 0x32,
		.medium = 0x00, .access = 0xf2,
	};
	static const struct nmbus_build_record recs[] = {
		REC_INT("\x01\xfd\x1b", 0),
		REC_INT("\x02\xfc\x03HR%\x74", 0x11d4),
		REC_INT("\x22\xfc\x03HR%\x74", 0x11c8),
		REC_INT("\x12\xfc\x03HR%\x74", 0x16b4),
		REC_INT("\x02\x65", 0x08d0),
		REC_INT("\x22\x65", 0x0870),
		REC_INT("\x12\x65", 0x0923),
		REC_INT("\x01\x72", 0x18),
		REC_INT("\x42\x65", 0x08e4),
		REC_INT("\x82\x01\x65", 0x08dd),
		REC_INT("\x0c\x78", 54000834),
		REC_INT("\x03\xfd\x0f", 0x040000),
	};
	uint8_t buf[MBUS_FRAME_MAX];
	int ret;

	ret = nmbus_build_rsp_ud(buf, sizeof(buf), NMBUS_C_RSP_UD, 5, &hdr,
				 recs, ARRAY_SIZE(recs), true);
	expect_frame(_metadata, buf, ret, cma10_frame, sizeof(cma10_frame));
	/* every size short of the frame is refused */
	for (size_t size = 0; size < sizeof(cma10_frame); size++)
		EXPECT_EQ(-ENOSPC, nmbus_build_rsp_ud(buf, size, NMBUS_C_RSP_UD,
						      5, &hdr, recs,
						      ARRAY_SIZE(recs), true));
}

TEST(records_encode_real_bcd_dates_text_and_bytes)
{
	struct nmbus_build_record recs[] = {
		{ .drh = "\x05\x5b", .type = NMBUS_BUILD_REAL, .r = 1.5 },
		REC_INT("\x0c\x13", 12345678),
		REC_INT("\x0a\x13", -123),
		{ .drh = "\x42\x6c", .type = NMBUS_BUILD_DATE,
		  .tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 31 } },
		{ .drh = "\x0d\xfd\x11", .type = NMBUS_BUILD_TEXT,
		  .text = "ABC" },
		{ .drh = "\x0d\xfd\x0f", .type = NMBUS_BUILD_BYTES,
		  .bytes = { BYTES(1, 2), 2 } },
		{ .drh = "\x08\x7e", .type = NMBUS_BUILD_NONE },
		{ .drh = "\x0f", .type = NMBUS_BUILD_BYTES,
		  .bytes = { BYTES(0xaa, 0xbb), 2 } },
	};
	static const uint8_t want[] = {
		0x05, 0x5b, 0x00, 0x00, 0xc0, 0x3f,
		0x0c, 0x13, 0x78, 0x56, 0x34, 0x12,
		0x0a, 0x13, 0x23, 0xf1,
		0x42, 0x6c, 0x5f, 0x3c,
		0x0d, 0xfd, 0x11, 0x03, 'C', 'B', 'A',
		0x0d, 0xfd, 0x0f, 0x02, 0x01, 0x02,
		0x08, 0x7e,
		0x0f, 0xaa, 0xbb,
	};
	uint8_t buf[64];
	int ret;

	ret = nmbus_encode_records(buf, sizeof(buf), recs, ARRAY_SIZE(recs));
	ASSERT_EQ((int)sizeof(want), ret);
	EXPECT_EQ(0, memcmp(buf, want, sizeof(want)));
}

TEST(records_refuse_values_that_do_not_fit)
{
	static const struct nmbus_build_record bad[] = {
		REC_INT("\x01\x13", 256),		/* 8 bit */
		REC_INT("\x01\x13", -129),
		REC_INT("\x09\x13", 100),		/* 2 BCD digits */
		REC_INT("\x05\x13", 1),			/* int in a real */
		{ .drh = "\x04\x13", .type = NMBUS_BUILD_REAL, .r = 1 },
		{ .drh = "\x04\x13", .type = NMBUS_BUILD_NONE },
		{ .drh = "\x03\x6d", .type = NMBUS_BUILD_DATE,
		  .tm = { .tm_mday = 1 } },
		{ .drh = "\x0d\x13", .type = NMBUS_BUILD_TEXT, .text = NULL },
		/* 11 DIFEs */
		REC_INT("\x84\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00\x13",
			0),
	};
	uint8_t buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = nmbus_encode_records(buf, sizeof(buf), &bad[i], 1);

		if (ret != -EINVAL)
			TH_LOG("record %zu: %d", i, ret);
		EXPECT_EQ(-EINVAL, ret);
	}
}

TEST(manufacturer_data_must_be_last)
{
	static const struct nmbus_build_record recs[] = {
		{ .drh = "\x0f", .type = NMBUS_BUILD_NONE },
		REC_INT("\x01\x13", 1),
	};
	uint8_t buf[64];

	EXPECT_EQ(-EINVAL, nmbus_encode_records(buf, sizeof(buf), recs, 2));
	EXPECT_EQ(1, nmbus_encode_records(buf, sizeof(buf), recs, 1));
}

TEST(snd_ud_with_records_round_trips)
{
	static const struct nmbus_build_record recs[] = {
		/* CALEC ST II table 23: alarm hours, DIF b4 40 VIF 22 */
		REC_INT("\xb4\x40\x22", 1234),
	};
	uint8_t buf[32];

	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    recs, 1),
		    0x53, 0x01, 0x51, 0xb4, 0x40, 0x22, 0xd2, 0x04, 0x00, 0x00);
	EXPECT_EQ(0x0a, buf[1]);
}

/* The other CALEC ST II parameter telegrams (its tables 22 - 31). */
TEST(calec_parameter_telegrams)
{
	static const struct nmbus_build_record error_hours = {
		.drh = "\x34\x22", .type = NMBUS_BUILD_INT, .i = 100,
	};
	static const struct nmbus_build_record due_day = {
		.drh = "\x42\xec\x7e", .type = NMBUS_BUILD_DATE,
		.tm = { .tm_year = -1, .tm_mon = 11, .tm_mday = 31 },
	};
	static const struct nmbus_build_record text = {
		.drh = "\x0d\xfd\x11", .type = NMBUS_BUILD_TEXT, .text = "AB",
	};
	static const struct nmbus_build_record pulse = {
		.drh = "\x05\x93\x28", .type = NMBUS_BUILD_REAL, .r = 10.0,
	};
	static const struct nmbus_build_record side = {
		.drh = "\x01\xfd\x09", .type = NMBUS_BUILD_INT, .i = 0x0c,
	};
	uint8_t buf[32];

	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    &error_hours, 1),
		    0x53, 0x01, 0x51, 0x34, 0x22, 0x64, 0x00, 0x00, 0x00);
	/* due day: year ignored, sent as 127 "every year" */
	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    &due_day, 1),
		    0x53, 0x01, 0x51, 0x42, 0xec, 0x7e, 0xff, 0xfc);
	/* the manual's L = 0a does not add up: C A CI + 1 + 2 + 2 = 8 */
	EXPECT_EQ(0x08, buf[1]);
	/* customer text: LVAR, then the characters last first */
	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    &text, 1),
		    0x53, 0x01, 0x51, 0x0d, 0xfd, 0x11, 0x02, 'B', 'A');
	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    &pulse, 1),
		    0x53, 0x01, 0x51, 0x05, 0x93, 0x28, 0x00, 0x00, 0x20, 0x41);
	EXPECT_EQ(0x0a, buf[1]);
	/* mounting side (the manual's L = 03 is a misprint: 07) */
	EXPECT_LONG(buf, nmbus_build_snd_ud(buf, sizeof(buf), 1, NMBUS_C_FCV,
					    &side, 1),
		    0x53, 0x01, 0x51, 0x01, 0xfd, 0x09, 0x0c);
}

TEST(long_frame_limits)
{
	uint8_t data[253] = { 0 }, buf[MBUS_FRAME_MAX];

	EXPECT_EQ(MBUS_FRAME_MAX, nmbus_build_long(buf, sizeof(buf), 0x53, 1,
						   0x51, data, 252));
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, MBUS_FRAME_MAX, NULL));
	EXPECT_EQ(-EMSGSIZE, nmbus_build_long(buf, sizeof(buf), 0x53, 1, 0x51,
					      data, 253));
	EXPECT_EQ(-ENOSPC, nmbus_build_long(buf, MBUS_FRAME_MAX - 1, 0x53, 1,
					    0x51, data, 252));
}

TEST(secondary_address_string_is_libmbus_form)
{
	/* seed 002: EFE 13653120, version 0, heat: "20316513C5140004" */
	static const uint8_t wire[8] = {
		0x20, 0x31, 0x65, 0x13, 0xc5, 0x14, 0x00, 0x04,
	};
	uint8_t addr[8];
	char str[17];

	/* ID as printed, then the manufacturer bytes as sent */
	ASSERT_EQ(0, nmbus_secaddr_parse("13653120C5140004", addr));
	EXPECT_EQ(0, memcmp(addr, wire, 8));
	ASSERT_EQ(16, nmbus_secaddr_format(addr, str, sizeof(str)));
	EXPECT_STREQ("13653120C5140004", str);
	/* KAM (2C2Dh) as libmbus prints it */
	ASSERT_EQ(0, nmbus_secaddr_parse("123456782D2C0107", addr));
	EXPECT_EQ(0, memcmp(addr, BYTES(0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c,
					0x01, 0x07), 8));
	EXPECT_EQ(nmbus_manufacturer_code("KAM"), addr[4] | addr[5] << 8);
	ASSERT_EQ(0, nmbus_secaddr_parse("13653120ffffffff", addr));
	EXPECT_EQ(0, memcmp(addr, BYTES(0x20, 0x31, 0x65, 0x13, 0xff, 0xff,
					0xff, 0xff), 8));
	/* The wire-order form of seed 002 ("as bytes"). */
	ASSERT_EQ(0, nmbus_secaddr_parse("bytes:20316513C5140004", addr));
	ASSERT_EQ(16, nmbus_secaddr_format(addr, str, sizeof(str)));
	EXPECT_STREQ("13653120C5140004", str);
	ASSERT_EQ(0, nmbus_secaddr_parse("bytes:20316513FFFFFFFF", addr));
	ASSERT_EQ(16, nmbus_secaddr_format(addr, str, sizeof(str)));
	EXPECT_STREQ("13653120FFFFFFFF", str);
	ASSERT_EQ(0, nmbus_secaddr_parse("bytes:2F3F65FFFFFFFFFF", addr));
	ASSERT_EQ(16, nmbus_secaddr_format(addr, str, sizeof(str)));
	EXPECT_STREQ("FF653F2FFFFFFFFF", str);
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("bytes:2A316513C5140004", addr));
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("bytes:20316513C514000", addr));
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("byte:20316513C5140004", addr));
	EXPECT_TRUE(nmbus_secaddr_is_str("bytes:20316513C5140004"));
	EXPECT_TRUE(nmbus_secaddr_is_str("13653120C5140004"));
	EXPECT_FALSE(nmbus_secaddr_is_str("bytes:2031"));
	EXPECT_FALSE(nmbus_secaddr_is_str("250"));
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("1A653120C5140004", addr));
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("13653120C514000", addr));
	EXPECT_EQ(-EINVAL, nmbus_secaddr_parse("13653120C514000G", addr));
	EXPECT_EQ(-ENOSPC, nmbus_secaddr_format(addr, str, 16));
}

TEST(secondary_match_treats_wildcards_per_field)
{
	uint8_t slave[8], mask[8];

	ASSERT_EQ(0, nmbus_secaddr_parse("12345678B4A5C3D2", slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("FFFFFFFFFFFFFFFF", mask));
	EXPECT_TRUE(nmbus_secaddr_match(mask, 8, slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("1F3F5F7FB4A5FFFF", mask));
	EXPECT_TRUE(nmbus_secaddr_match(mask, 8, slave));
	/* hex manufacturer bytes are compared whole, not per nibble */
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678B4AFC3D2", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	EXPECT_TRUE(nmbus_secaddr_match_lenient(mask, 8, slave));
	/* the manufacturer is a wildcard only as a whole */
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678B4FFC3D2", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	EXPECT_TRUE(nmbus_secaddr_match_lenient(mask, 8, slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678FFA5C3D2", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678FFFFC3D2", mask));
	EXPECT_TRUE(nmbus_secaddr_match(mask, 8, slave));
	/* version and medium nibbles: only lenient meters take F */
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678B4A5CFF2", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	EXPECT_TRUE(nmbus_secaddr_match_lenient(mask, 8, slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678B4A5C3D3", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	EXPECT_FALSE(nmbus_secaddr_match_lenient(mask, 8, slave));
	EXPECT_TRUE(nmbus_secaddr_match(mask, 7, slave));
	ASSERT_EQ(0, nmbus_secaddr_parse("12345670B4A5C3D2", mask));
	EXPECT_FALSE(nmbus_secaddr_match(mask, 8, slave));
	EXPECT_TRUE(nmbus_secaddr_match(mask, 0, slave));
}

TEST(enhanced_selection_carries_the_fabrication_number)
{
	uint8_t buf[MBUS_FRAME_MAX], mask[8];
	static const uint8_t fab[4] = { 0x21, 0x43, 0xff, 0xff };

	ASSERT_EQ(0, nmbus_secaddr_parse("123456782D2C0107", mask));
	EXPECT_LONG(buf, nmbus_build_select_fab(buf, sizeof(buf), NMBUS_C_FCV,
						mask, fab),
		    0x53, 0xfd, 0x52, 0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c,
		    0x01, 0x07, 0x0c, 0x78, 0x21, 0x43, 0xff, 0xff);
	EXPECT_EQ(-EINVAL, nmbus_build_select_fab(buf, sizeof(buf), 0, NULL,
						  fab));
}

TEST(bcd_encoding)
{
	uint8_t b[8];

	EXPECT_EQ(4, nmbus_bcd_encode(b, 8, 12345678));
	EXPECT_EQ(0, memcmp(b, BYTES(0x78, 0x56, 0x34, 0x12), 4));
	EXPECT_EQ(2, nmbus_bcd_encode(b, 4, -999));
	EXPECT_EQ(0, memcmp(b, BYTES(0x99, 0xf9), 2));
	EXPECT_EQ(-EINVAL, nmbus_bcd_encode(b, 4, -1000));
	EXPECT_EQ(-EINVAL, nmbus_bcd_encode(b, 3, 1));
}

TEST_HARNESS_MAIN
