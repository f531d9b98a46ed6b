// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the libnmbus decoder: frames, headers, DIF/DIFE, VIF/VIFE
 * and every data field type of EN 13757-3.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#include "mbus_frame.h"
#include "test-decode-util.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

/* ---- frames ---- */

TEST(ack_is_a_frame_without_data)
{
	const uint8_t e5 = 0xe5;
	struct nmbus_frame f;

	ASSERT_EQ(0, nmbus_decode(&f, &e5, 1, NULL, 0));
	EXPECT_EQ(NMBUS_FRAME_ACK, f.type);
	EXPECT_EQ(NMBUS_DATA_NONE, f.data_type);
}

TEST(short_frame_gives_c_and_a)
{
	const uint8_t req[] = { 0x10, 0x5b, 0x01, 0x5c, 0x16 };
	struct nmbus_frame f;

	ASSERT_EQ(0, nmbus_decode(&f, req, sizeof(req), NULL, 0));
	EXPECT_EQ(NMBUS_FRAME_SHORT, f.type);
	EXPECT_EQ(0x5b, f.c);
	EXPECT_EQ(1, f.a);
}

TEST(control_frame_gives_ci)
{
	uint8_t buf[16];
	size_t n = mkframe(buf, 0x53, 0xfe, 0xbd, NULL, 0);
	struct nmbus_frame f;

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_FRAME_CONTROL, f.type);
	EXPECT_EQ(0xbd, f.ci);
	EXPECT_STREQ("control", nmbus_frame_type_name(f.type));
}

TEST(empty_input_is_an_error)
{
	struct nmbus_frame f;

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, (const uint8_t *)"", 0, NULL, 0));
	EXPECT_EQ(NMBUS_E_EMPTY, f.error.code);
}

TEST(bad_start_byte_is_reported_at_offset_0)
{
	const uint8_t junk[] = { 0x42, 0x00 };
	struct nmbus_frame f;

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, junk, sizeof(junk), NULL, 0));
	EXPECT_EQ(NMBUS_E_START, f.error.code);
	EXPECT_EQ(0, f.error.offset);
}

TEST(checksum_error_points_at_the_checksum)
{
	struct decoded d;

	decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0x00, 0x00));
	ASSERT_EQ(0, d.rc);
	d.buf[d.len - 2] ^= 1;
	EXPECT_EQ(-EBADMSG, nmbus_decode(&d.f, d.buf, d.len, d.rec, 8));
	EXPECT_EQ(NMBUS_E_CHECKSUM, d.f.error.code);
	EXPECT_EQ(d.len - 2, d.f.error.offset);
}

/*
 * Every L field from 3 to 255, with pseudo-random user data (CI 51h:
 * records only, so any data decodes or fails in the record walk, never
 * in the checksum): the good checksum is accepted, every wrong one
 * rejected. Each frame sits in a heap block of exactly its size, so
 * ASan sees any read outside it.
 */
TEST(checksum_of_every_length)
{
	uint32_t seed = 12345;

	for (unsigned int l = 3; l <= 255; l++) {
		uint8_t ud[255], *buf;
		struct nmbus_frame f;
		size_t len;

		for (unsigned int i = 0; i < l - 3; i++) {
			seed = seed * 1103515245 + 12345;
			ud[i] = seed >> 16;
		}
		buf = malloc(l + 6);
		ASSERT_NE(NULL, buf);
		len = mkframe(buf, 0x53, 0xfe, 0x51, ud, l - 3);
		ASSERT_EQ(l + 6, len);
		nmbus_decode(&f, buf, len, NULL, 0);
		EXPECT_NE(NMBUS_E_CHECKSUM, f.error.code) {
			TH_LOG("L=%u: good checksum refused", l);
		}
		for (unsigned int k = 1; k < 256; k += 37) {
			buf[len - 2] += k;
			nmbus_decode(&f, buf, len, NULL, 0);
			EXPECT_EQ(NMBUS_E_CHECKSUM, f.error.code) {
				TH_LOG("L=%u: checksum off by %u accepted", l, k);
			}
			buf[len - 2] -= k;
		}
		free(buf);
	}
}

/*
 * nmbus_decode() checks a complete long frame itself, with a checksum 16
 * bytes a step, and leaves everything else to mbus_frame_check(): the two
 * must agree on every frame, valid or damaged anywhere.
 */
TEST(long_frame_fast_path_agrees_with_mbus_frame_check)
{
	uint32_t seed = 4711;
	unsigned int disagree = 0;

	for (unsigned int l = 3; l <= 255; l++) {
		uint8_t ud[255], buf[262] = { 0 };
		size_t len;

		for (unsigned int i = 0; i < l - 3; i++) {
			seed = seed * 1103515245 + 12345;
			ud[i] = seed >> 16;
		}
		len = mkframe(buf, 0x08, 0xfe, 0x51, ud, l - 3);
		for (unsigned int k = 0; k < 40; k++) {
			enum mbus_frame_type type;
			struct nmbus_frame f;
			size_t n = len, pos;
			uint8_t old;
			bool valid, link_ok;

			seed = seed * 1103515245 + 12345;
			pos = (seed >> 8) % (len + 1);
			old = buf[pos];
			if (k == 1)
				n = len - 1;		/* truncated */
			else if (k == 2)
				n = len + 1;		/* one byte too many */
			else if (k > 2)
				buf[pos] += 1 + (seed >> 20) % 255;
			valid = mbus_frame_check(buf, n, &type) == MBUS_EV_FRAME;
			nmbus_decode(&f, buf, n, NULL, 0);
			link_ok = f.error.code == NMBUS_OK ||
				  f.error.code > NMBUS_E_STOP;
			if (valid != link_ok ||
			    (valid && (type == MBUS_FRAME_TYPE_LONG) !=
				      (f.type == NMBUS_FRAME_LONG)))
				disagree++;
			buf[pos] = old;
		}
	}
	EXPECT_EQ(0u, disagree);
}

TEST(missing_stop_byte_is_reported)
{
	struct decoded d;

	decode_records(&d, REC(0x01, 0x13, 0x05));
	d.buf[d.len - 1] = 0x17;
	EXPECT_EQ(-EBADMSG, nmbus_decode(&d.f, d.buf, d.len, d.rec, 8));
	EXPECT_EQ(NMBUS_E_STOP, d.f.error.code);
	EXPECT_EQ(d.len - 1, d.f.error.offset);
}

TEST(truncated_frame_is_reported_at_its_end)
{
	struct decoded d;

	decode_records(&d, REC(0x01, 0x13, 0x05));
	EXPECT_EQ(-EBADMSG, nmbus_decode(&d.f, d.buf, d.len - 3, d.rec, 8));
	EXPECT_EQ(NMBUS_E_TRUNCATED, d.f.error.code);
	EXPECT_EQ(d.len - 3, d.f.error.offset);
}

TEST(differing_l_fields_are_a_length_error)
{
	const uint8_t bad[] = { 0x68, 0x03, 0x04, 0x68, 0x08, 0x01, 0x72,
				0x7b, 0x16 };
	struct nmbus_frame f;

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, bad, sizeof(bad), NULL, 0));
	EXPECT_EQ(NMBUS_E_LENGTH, f.error.code);
	EXPECT_EQ(2, f.error.offset);
}

TEST(bytes_after_the_stop_byte_are_rejected)
{
	struct decoded d;

	decode_records(&d, REC(0x01, 0x13, 0x05));
	d.buf[d.len] = 0x00;
	EXPECT_EQ(-EBADMSG, nmbus_decode(&d.f, d.buf, d.len + 1, d.rec, 8));
	EXPECT_EQ(NMBUS_E_LENGTH, d.f.error.code);
}

/* ---- headers ---- */

TEST(long_header_fields)
{
	struct decoded d;
	char mfr[4];

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0x00, 0x00)));
	EXPECT_EQ(NMBUS_FRAME_LONG, d.f.type);
	EXPECT_EQ(0x72, d.f.ci);
	EXPECT_EQ(NMBUS_DATA_VARIABLE, d.f.data_type);
	EXPECT_EQ(0x11490378u, d.f.header.id);
	EXPECT_STREQ("ACW", nmbus_manufacturer_str(d.f.header.manufacturer, mfr));
	EXPECT_EQ(14, d.f.header.version);
	EXPECT_EQ(0x16, d.f.header.medium);
	EXPECT_EQ(10, d.f.header.access);
	EXPECT_EQ(1u, d.f.n_records);
}

TEST(long_header_gives_the_secondary_address_in_wire_order)
{
	static const uint8_t want[NMBUS_SECADDR_LEN] = {
		0x78, 0x03, 0x49, 0x11, 0x77, 0x04, 0x0e, 0x16,
	};
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 0x31, 0xd4, 0x00, 0x00)));
	EXPECT_TRUE(nmbus_header_get_secaddr(&d.f.header, sec));
	EXPECT_EQ(0, memcmp(want, sec, sizeof(want)));
}

TEST(short_header_of_ci_7a)
{
	const uint8_t ud[] = { 0x2a, 0x04, 0x34, 0x12, 0x01, 0xfd, 0x08, 0x07 };
	static const uint8_t zero[NMBUS_SECADDR_LEN];
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct nmbus_record rec[4];
	struct nmbus_frame f;
	uint8_t buf[32];
	size_t n = mkframe(buf, 0x08, 0x01, 0x7a, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 4));
	EXPECT_FALSE(f.header.has_address);
	EXPECT_EQ(0x2a, f.header.access);
	EXPECT_EQ(0x04, f.header.status);
	EXPECT_EQ(0x1234, f.header.signature);
	EXPECT_EQ(1u, f.n_records);
	EXPECT_FALSE(nmbus_header_get_secaddr(&f.header, sec));
	EXPECT_EQ(0, memcmp(zero, sec, sizeof(zero)));
}

TEST(too_short_header_is_an_error)
{
	const uint8_t ud[] = { 0x78, 0x56, 0x34, 0x12, 0x24, 0x40 };
	struct nmbus_frame f;
	uint8_t buf[32];
	size_t n = mkframe(buf, 0x08, 0x02, 0x72, ud, sizeof(ud));

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_E_HEADER, f.error.code);
}

TEST(fixed_data_structure_has_two_counters)
{
	/* sen_pollusonic_2: heat, status 00 (BCD, actual), kWh and l. */
	const uint8_t ud[] = { 0x93, 0x92, 0x91, 0x90, 0x10, 0x00, 0x05, 0x69,
			       0x31, 0x65, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00 };
	struct nmbus_record rec[2];
	struct nmbus_value v;
	struct nmbus_frame f;
	uint8_t buf[40];
	size_t n = mkframe(buf, 0x08, 0x01, 0x73, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 2));
	EXPECT_EQ(NMBUS_DATA_FIXED, f.data_type);
	EXPECT_EQ(0x90919293u, f.header.id);
	EXPECT_EQ(4, f.header.medium);
	ASSERT_EQ(2u, f.n_records);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_EQ(NMBUS_UNIT_WH, v.unit);
	EXPECT_EQ(6531, v.raw);
	EXPECT_EQ(3, v.exponent);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[1], &v));
	EXPECT_EQ(NMBUS_UNIT_M3, v.unit);
	EXPECT_EQ(69, v.raw);
	EXPECT_EQ(-3, v.exponent);
}

TEST(fixed_unit_3e_is_counter_1_unit_historic)
{
	const uint8_t ud[] = { 0x78, 0x56, 0x34, 0x12, 0x0a, 0x00, 0xe9, 0x7e,
			       0x01, 0x00, 0x00, 0x00, 0x35, 0x01, 0x00, 0x00 };
	struct nmbus_record rec[2];
	struct nmbus_value v;
	struct nmbus_frame f;
	uint8_t buf[40];
	size_t n = mkframe(buf, 0x08, 0x05, 0x73, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 2));
	EXPECT_EQ(1u, rec[1].storage);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[1], &v));
	EXPECT_EQ(NMBUS_UNIT_M3, v.unit);
	EXPECT_EQ(135, v.raw);
}

TEST(fixed_data_structure_needs_room_for_two_records)
{
	const uint8_t ud[16] = { 0x78, 0x56, 0x34, 0x12, 0x0a, 0x80, 0x29, 0x29 };
	struct nmbus_record rec[1];
	struct nmbus_frame f;
	uint8_t buf[40];
	size_t n = mkframe(buf, 0x08, 0x05, 0x73, ud, sizeof(ud));

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, buf, n, rec, 1));
	EXPECT_EQ(NMBUS_E_RECORDS, f.error.code);
	EXPECT_EQ(1u, f.n_records);
	EXPECT_EQ(0x04, rec[0].dif);	/* status bit 7: binary counters */
	EXPECT_EQ(0, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(0x12345678u, f.header.id);
}

TEST(application_error_frame_gives_its_code)
{
	const uint8_t ud[] = { 0x08 };
	struct nmbus_frame f;
	uint8_t buf[16];
	size_t n = mkframe(buf, 0x08, 0x01, 0x70, ud, 1);

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_E_APPLICATION, f.error.code);
	EXPECT_EQ(NMBUS_DATA_ERROR, f.data_type);
	EXPECT_EQ(8, f.buf[f.data_offset]);
}

TEST(unknown_ci_is_reported_at_the_ci)
{
	const uint8_t ud[] = { 0x01, 0x02 };
	struct nmbus_frame f;
	uint8_t buf[16];
	size_t n = mkframe(buf, 0x53, 0xfe, 0x99, ud, 2);

	EXPECT_EQ(-EBADMSG, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_E_CI, f.error.code);
	EXPECT_EQ(6, f.error.offset);
}

TEST(ci_76_is_msb_first)
{
	const uint8_t ud[] = { 0x11, 0x49, 0x03, 0x78, 0x04, 0x77, 0x0e, 0x16,
			       0x0a, 0x00, 0x00, 0x00,
			       0x04, 0x13, 0x00, 0x00, 0xd4, 0x31,
			       0x04, 0x6d, 0x11, 0x65, 0x2f, 0x1a };
	struct nmbus_record rec[4];
	struct nmbus_value v;
	struct nmbus_frame f;
	char mfr[4];
	uint8_t buf[64];
	size_t n = mkframe(buf, 0x08, 0x01, 0x76, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 4));
	EXPECT_TRUE(f.msb_first);
	EXPECT_EQ(0x11490378u, f.header.id);
	EXPECT_STREQ("ACW", nmbus_manufacturer_str(f.header.manufacturer, mfr));
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_EQ(54321, v.raw);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[1], &v));
	EXPECT_EQ(2011, v.tm.year);
	EXPECT_EQ(26, v.tm.minute);
}

/*
 * A CI 76h variable-length field of the BCD range that is not a number
 * (too long for one) comes back as the bytes of the frame: the decoder's
 * reversed copy lives only for the call.
 */
TEST(ci_76_long_bcd_field_points_into_the_frame)
{
	const uint8_t ud[] = { 0x11, 0x49, 0x03, 0x78, 0x04, 0x77, 0x0e, 0x16,
			       0x0a, 0x00, 0x00, 0x00,
			       0x0d, 0x13, 0xca, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	struct nmbus_record rec[2];
	struct nmbus_value v;
	struct nmbus_frame f;
	uint8_t buf[64];
	size_t n = mkframe(buf, 0x08, 0x01, 0x76, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 2));
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_EQ(NMBUS_VALUE_BINARY, v.type);
	ASSERT_EQ(10, v.len);
	EXPECT_TRUE(v.bytes >= buf && v.bytes + v.len <= buf + n);
	EXPECT_EQ(1, v.bytes[0]);
	EXPECT_EQ(10, v.bytes[9]);
}

TEST(snd_ud_records_without_header)
{
	/* SND_UD to 254, CI 51h: 01 7A 08 sets primary address 8 */
	const uint8_t ud[] = { 0x01, 0x7a, 0x08 };
	struct nmbus_record rec[2];
	struct nmbus_value v;
	struct nmbus_frame f;
	uint8_t buf[16];
	size_t n = mkframe(buf, 0x53, 0xfe, 0x51, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, rec, 2));
	EXPECT_EQ(NMBUS_DATA_VARIABLE, f.data_type);
	ASSERT_EQ(1u, f.n_records);
	ASSERT_EQ(0, nmbus_record_get_value(&f, &rec[0], &v));
	EXPECT_STREQ("bus address", v.quantity);
	EXPECT_EQ(8, v.raw);
	EXPECT_STREQ("data send", nmbus_ci_name(0x51));
}

TEST(selection_gives_the_secondary_address)
{
	const uint8_t ud[] = { 0x78, 0x56, 0x34, 0x12, 0xb4, 0x05, 0xc0, 0x04 };
	struct nmbus_frame f;
	uint8_t buf[24];
	size_t n = mkframe(buf, 0x53, 0xfd, 0x52, ud, sizeof(ud));

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_TRUE(f.header.has_address);
	EXPECT_EQ(0x12345678u, f.header.id);
	EXPECT_EQ(0x05b4, f.header.manufacturer);
	EXPECT_EQ(0xc0, f.header.version);
}

TEST(baud_rate_switch_is_valid_but_not_decoded)
{
	struct nmbus_frame f;
	uint8_t buf[16];
	size_t n = mkframe(buf, 0x53, 0x01, 0xbd, NULL, 0);

	ASSERT_EQ(0, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_FRAME_CONTROL, f.type);
	EXPECT_STREQ("set baud rate 9600", nmbus_ci_name(f.ci));
	n = mkframe(buf, 0x53, 0x01, 0x50, (const uint8_t[]){ 0x10 }, 1);
	ASSERT_EQ(0, nmbus_decode(&f, buf, n, NULL, 0));
	EXPECT_EQ(NMBUS_DATA_OTHER, f.data_type);
	EXPECT_STREQ("unknown", nmbus_ci_name(0x99));
}

/* ---- DIF and DIFE ---- */

TEST(function_field_of_the_dif)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x13, 1, 0x11, 0x13, 2,
					    0x21, 0x13, 3, 0x31, 0x13, 4)));
	ASSERT_EQ(4u, d.f.n_records);
	EXPECT_EQ(NMBUS_FUNC_INSTANT, d.rec[0].function);
	EXPECT_EQ(NMBUS_FUNC_MAXIMUM, d.rec[1].function);
	EXPECT_EQ(NMBUS_FUNC_MINIMUM, d.rec[2].function);
	EXPECT_EQ(NMBUS_FUNC_ERROR, d.rec[3].function);
	EXPECT_STREQ("error", nmbus_function_name(d.rec[3].function));
}

TEST(storage_tariff_subunit_from_dife_chain)
{
	struct decoded d;

	/* DIF C1: storage bit 1; DIFEs F5 (s=5 t=3 u=1), 4A (s=A t=0 u=1). */
	ASSERT_EQ(0, decode_records(&d, REC(0xc1, 0xf5, 0x4a, 0x13, 0x07)));
	ASSERT_EQ(1u, d.f.n_records);
	EXPECT_EQ(1 | 5 << 1 | 0xa << 5, d.rec[0].storage);
	EXPECT_EQ(3u, d.rec[0].tariff);
	EXPECT_EQ(3u, d.rec[0].subunit);
	EXPECT_EQ(2, d.rec[0].n_dife);
	EXPECT_TRUE(d.rec[0].has_dife);
}

/* Every single DIFE after DIFs with and without the storage bit. */
TEST(every_single_dife)
{
	struct decoded d;

	for (unsigned int dif = 0x81; dif <= 0xf1; dif += 0x30) {
		for (unsigned int e = 0; e < 0x80; e++) {
			uint8_t rec[] = { dif, e, 0x13, 0x07 };

			ASSERT_EQ(0, decode_records(&d, rec, sizeof(rec)));
			ASSERT_EQ(1u, d.f.n_records);
			EXPECT_EQ((dif >> 6 & 1) | (e & 0x0f) << 1,
				  d.rec[0].storage);
			EXPECT_EQ(e >> 4 & 3, d.rec[0].tariff);
			EXPECT_EQ(e >> 6 & 1, d.rec[0].subunit);
			EXPECT_EQ(1, d.rec[0].n_dife);
			EXPECT_TRUE(d.rec[0].has_dife);
			EXPECT_EQ(0, d.rec[0].plain_offset);
			EXPECT_EQ(dif >> 4 & 3, d.rec[0].function);
			EXPECT_EQ(dif, d.rec[0].dif);
			EXPECT_EQ(0x13, d.rec[0].vif);
			EXPECT_EQ(1, d.rec[0].data_len);
		}
	}
}

TEST(ten_difes_are_allowed_and_storage_has_41_bits)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0xc1, 0x8f, 0x8f, 0x8f, 0x8f,
					    0x8f, 0x8f, 0x8f, 0x8f, 0x8f,
					    0x0f, 0x13, 0x01)));
	EXPECT_EQ(10, d.rec[0].n_dife);
	EXPECT_EQ((1ULL << 41) - 1, d.rec[0].storage);
}

TEST(eleven_difes_are_an_error_with_position)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x01, 0x13, 0x02, 0x81, 0x80,
					     0x80, 0x80, 0x80, 0x80, 0x80,
					     0x80, 0x80, 0x80, 0x80, 0x00,
					     0x13, 0x01)));
	EXPECT_EQ(NMBUS_E_DIFE_COUNT, d.f.error.code);
	EXPECT_EQ(7 + 12 + 3 + 1 + 10, d.f.error.offset);
	EXPECT_EQ(1, d.f.error.record);
	EXPECT_EQ(1u, d.f.n_records);	/* the valid record stays */
}

TEST(end_inside_dife_chain)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x84, 0x90)));
	EXPECT_EQ(NMBUS_E_DIF, d.f.error.code);
	EXPECT_EQ(d.f.data_end, d.f.error.offset);
}

TEST(idle_fillers_are_skipped)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x2f, 0x2f, 0x01, 0x13, 0x05,
					    0x2f)));
	EXPECT_EQ(1u, d.f.n_records);
	EXPECT_EQ(7 + 12 + 2, d.rec[0].offset);
}

TEST(manufacturer_data_after_dif_0f)
{
	struct decoded d;
	const uint8_t *p;
	size_t n;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x13, 0x05, 0x0f, 0xaa,
					    0xbb, 0xcc)));
	ASSERT_EQ(2u, d.f.n_records);
	EXPECT_EQ(NMBUS_RECORD_MANUFACTURER, d.rec[1].kind);
	EXPECT_FALSE(d.f.more_records_follow);
	p = nmbus_frame_get_mfr_data(&d.f, &n);
	ASSERT_EQ(3u, n);
	EXPECT_EQ(0xaa, p[0]);
	EXPECT_EQ(0xcc, p[2]);
}

TEST(dif_1f_means_more_records_follow)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x13, 0x05, 0x1f)));
	EXPECT_TRUE(d.f.more_records_follow);
	EXPECT_EQ(NMBUS_RECORD_MORE_FOLLOW, d.rec[1].kind);
	EXPECT_EQ(0, d.rec[1].data_len);
}

TEST(global_readout_dif_7f_has_no_data)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x7f, 0x01, 0x13, 0x05)));
	ASSERT_EQ(2u, d.f.n_records);
	EXPECT_EQ(NMBUS_RECORD_READOUT, d.rec[0].kind);
}

TEST(reserved_special_dif_is_an_error)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x3f, 0x13)));
	EXPECT_EQ(NMBUS_E_DIF_RESERVED, d.f.error.code);
	EXPECT_EQ(7 + 12, d.f.error.offset);
}

TEST(record_array_too_small_keeps_what_fits)
{
	struct decoded d;

	d.len = mkrsp(d.buf, REC(0x01, 0x13, 1, 0x01, 0x13, 2, 0x01, 0x13, 3));
	EXPECT_EQ(-EBADMSG, nmbus_decode(&d.f, d.buf, d.len, d.rec, 2));
	EXPECT_EQ(NMBUS_E_RECORDS, d.f.error.code);
	EXPECT_EQ(2u, d.f.n_records);
	EXPECT_EQ(2, d.f.error.record);
}

TEST(no_record_array_decodes_header_only)
{
	struct decoded d;

	d.len = mkrsp(d.buf, REC(0x01, 0x13, 1));
	EXPECT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, NULL, 0));
	EXPECT_EQ(0u, d.f.n_records);
	EXPECT_EQ(0x11490378u, d.f.header.id);
}

/* ---- VIF and VIFE ---- */

TEST(vife_chain_is_kept)
{
	struct decoded d;

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x83, 0x3b, 0x10, 0, 0, 0)));
	EXPECT_EQ(0x83, d.rec[0].vif);
	EXPECT_EQ(1, d.rec[0].n_vife);
	EXPECT_EQ(0x3b, d.rec[0].vife[0]);
}

TEST(eleven_vifes_are_an_error)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x01, 0xfd, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0x00, 0x01)));
	EXPECT_EQ(NMBUS_E_VIFE_COUNT, d.f.error.code);
	EXPECT_EQ(7 + 12 + 12, d.f.error.offset);
}

TEST(end_inside_vif_chain)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x01, 0x93)));
	EXPECT_EQ(NMBUS_E_VIF, d.f.error.code);
}

TEST(plain_text_vif_then_vifes)
{
	struct decoded d;
	struct nmbus_value v;

	/* 02 FC 06 "ihPsoC" 74: CosPhi, 10^-2, as the CMi1020 sends. */
	ASSERT_EQ(0, decode_records(&d, REC(0x02, 0xfc, 0x06, 'i', 'h', 'P',
					    's', 'o', 'C', 0x74, 0x5f, 0x00)));
	EXPECT_EQ(6, d.rec[0].plain_len);
	EXPECT_EQ(1, d.rec[0].n_vife);
	ASSERT_EQ(0, record_value(&d, 0, &v));
	EXPECT_EQ(95, v.raw);
	EXPECT_EQ(-2, v.exponent);
}

TEST(plain_text_vif_longer_than_frame)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x02, 0x7c, 0x09, 'a', 'b')));
	EXPECT_EQ(NMBUS_E_PLAIN_VIF, d.f.error.code);
	EXPECT_EQ(7 + 12 + 2, d.f.error.offset);
}

TEST(multiplicative_and_1000_vifes_scale)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x83, 0x73, 5,
					    0x01, 0x83, 0x7d, 5)));
	ASSERT_EQ(0, record_value(&d, 0, &v));
	EXPECT_EQ(-3, v.exponent);
	ASSERT_EQ(0, record_value(&d, 1, &v));
	EXPECT_EQ(3, v.exponent);
	EXPECT_EQ(5000.0, v.number);
}

TEST(additive_vife_adds_its_constant)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x83, 0x7b, 5)));
	ASSERT_EQ(0, record_value(&d, 0, &v));
	EXPECT_EQ(5.0 + 1.0, v.number);
}

TEST(direction_vifes_set_flags)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x83, 0x3b, 1,
					    0x01, 0x83, 0x3c, 1)));
	record_value(&d, 0, &v);
	EXPECT_TRUE(v.flags & NMBUS_VF_FORWARD);
	EXPECT_STREQ("forward flow", v.vife_text);
	record_value(&d, 1, &v);
	EXPECT_TRUE(v.flags & NMBUS_VF_BACKWARD);
}

TEST(error_code_vife)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x93, 0x15, 1)));
	record_value(&d, 0, &v);
	EXPECT_TRUE(v.flags & NMBUS_VF_ERROR_CODE);
	EXPECT_EQ(0x15, v.error_code);
}

TEST(per_unit_vife_is_described)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0x93, 0x22, 1)));
	record_value(&d, 0, &v);
	EXPECT_STREQ("per hour", v.vife_text);
}

TEST(fd_extension_voltage_and_current)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x02, 0xfd, 0x48, 0xe6, 0x08,
					    0x02, 0xfd, 0x59, 0x10, 0x27)));
	record_value(&d, 0, &v);
	EXPECT_STREQ("voltage", v.quantity);
	EXPECT_EQ(NMBUS_UNIT_V, v.unit);
	EXPECT_EQ(-1, v.exponent);
	EXPECT_EQ(2278, v.raw);
	record_value(&d, 1, &v);
	EXPECT_STREQ("current", v.quantity);
	EXPECT_EQ(NMBUS_UNIT_A, v.unit);
	EXPECT_EQ(-3, v.exponent);
}

TEST(fb_extension_mwh_and_gj)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0xfb, 0x01, 7,
					    0x01, 0xfb, 0x09, 7)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_UNIT_WH, v.unit);
	EXPECT_EQ(6, v.exponent);
	record_value(&d, 1, &v);
	EXPECT_EQ(NMBUS_UNIT_J, v.unit);
	EXPECT_EQ(9, v.exponent);
}

TEST(manufacturer_vif_keeps_its_vifes_opaque)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x01, 0xff, 0xf3, 0x00, 7)));
	record_value(&d, 0, &v);
	EXPECT_STREQ("manufacturer specific", v.quantity);
	EXPECT_EQ(0, v.exponent);	/* F3 is not a scale factor here */
}

TEST(fb_without_vife_is_reserved)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x0c, 0x7b, 0x02, 0x03, 0, 0)));
	record_value(&d, 0, &v);
	EXPECT_TRUE(v.flags & NMBUS_VF_UNKNOWN_VIF);
	EXPECT_EQ(302, v.raw);
}

/* ---- data field types ---- */

TEST(signed_integers_of_every_size)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(
		0x01, 0x13, 0xff,
		0x02, 0x13, 0x00, 0x80,
		0x03, 0x13, 0xfe, 0xff, 0xff,
		0x04, 0x13, 0x78, 0x56, 0x34, 0x12,
		0x06, 0x13, 0x01, 0, 0, 0, 0, 0x80,
		0x07, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)));
	ASSERT_EQ(6u, d.f.n_records);
	record_value(&d, 0, &v);
	EXPECT_EQ(-1, v.raw);
	record_value(&d, 1, &v);
	EXPECT_EQ(-32768, v.raw);
	record_value(&d, 2, &v);
	EXPECT_EQ(-2, v.raw);
	record_value(&d, 3, &v);
	EXPECT_EQ(0x12345678, v.raw);
	EXPECT_EQ(NMBUS_VALUE_NUMBER, v.type);
	record_value(&d, 4, &v);
	EXPECT_EQ(-(1LL << 47) + 1, v.raw);
	record_value(&d, 5, &v);
	EXPECT_EQ(INT64_MAX, v.raw);
}

TEST(bcd_of_every_size)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(
		0x09, 0x13, 0x42,
		0x0a, 0x13, 0x34, 0x12,
		0x0b, 0x13, 0x56, 0x34, 0x12,
		0x0c, 0x13, 0x78, 0x56, 0x34, 0x12,
		0x0e, 0x13, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12)));
	record_value(&d, 0, &v);
	EXPECT_EQ(42, v.raw);
	record_value(&d, 1, &v);
	EXPECT_EQ(1234, v.raw);
	record_value(&d, 2, &v);
	EXPECT_EQ(123456, v.raw);
	record_value(&d, 3, &v);
	EXPECT_EQ(12345678, v.raw);
	EXPECT_EQ(-3, v.exponent);
	EXPECT_TRUE(fabs(v.number - 12345.678) < 1e-9);
	record_value(&d, 4, &v);
	EXPECT_EQ(123456789012LL, v.raw);
}

TEST(bcd_with_f_nibble_is_negative)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x0a, 0x13, 0x23, 0xf1)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_NUMBER, v.type);
	EXPECT_EQ(-123, v.raw);
	EXPECT_TRUE(v.flags & NMBUS_VF_NEGATIVE_BCD);
}

TEST(bcd_with_hex_digits_is_an_error_marker)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x0c, 0x13, 0xdd, 0xdd, 0xeb,
					    0xbd)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_INVALID, v.type);
	EXPECT_EQ(4u, v.len);
}

TEST(real_32_bit)
{
	struct decoded d;
	struct nmbus_value v;

	/* 1.5f = 0x3fc00000, VIF 5B flow temperature in 1 °C */
	ASSERT_EQ(0, decode_records(&d, REC(0x05, 0x5b, 0, 0, 0xc0, 0x3f)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_NUMBER, v.type);
	EXPECT_EQ(1.5, v.number);
	EXPECT_EQ(NMBUS_UNIT_CELSIUS, v.unit);
}

TEST(no_data_and_selection_dif)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x00, 0x13, 0x08, 0x13)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_NONE, v.type);
	record_value(&d, 1, &v);
	EXPECT_EQ(NMBUS_VALUE_NONE, v.type);
}

TEST(lvar_ascii_is_reversed_on_the_wire)
{
	struct decoded d;
	struct nmbus_value v;
	char text[16];

	ASSERT_EQ(0, decode_records(&d, REC(0x0d, 0xfd, 0x0e, 0x05,
					    '3', '.', '2', '.', '1')));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_TEXT, v.type);
	EXPECT_EQ(5, nmbus_value_copy_text(&v, text, sizeof(text)));
	EXPECT_STREQ("1.2.3", text);
	EXPECT_STREQ("firmware version", v.quantity);
	EXPECT_EQ(5, nmbus_value_copy_text(&v, text, 3));
	EXPECT_STREQ("1.", text);
}

TEST(lvar_bcd_positive_and_negative)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x0d, 0x13, 0xc2, 0x34, 0x12,
					    0x0d, 0x13, 0xd2, 0x34, 0x12)));
	record_value(&d, 0, &v);
	EXPECT_EQ(1234, v.raw);
	record_value(&d, 1, &v);
	EXPECT_EQ(-1234, v.raw);
}

TEST(lvar_binary_lengths)
{
	struct decoded d;
	struct nmbus_value v;
	uint8_t rec[64] = { 0x0d, 0x13, 0xe3, 1, 2, 3, 0x0d, 0x13, 0xf0 };

	ASSERT_EQ(0, decode_records(&d, rec, 9 + 16));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_BINARY, v.type);
	EXPECT_EQ(3u, v.len);
	record_value(&d, 1, &v);
	EXPECT_EQ(16u, v.len);
}

TEST(lvar_reserved_value_is_an_error)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x0d, 0x13, 0xf7, 0x00)));
	EXPECT_EQ(NMBUS_E_LVAR, d.f.error.code);
	EXPECT_EQ(7 + 12 + 2, d.f.error.offset);
}

TEST(data_longer_than_frame)
{
	struct decoded d;

	EXPECT_EQ(-EBADMSG, decode_records(&d, REC(0x04, 0x13, 0x01, 0x02)));
	EXPECT_EQ(NMBUS_E_DATA, d.f.error.code);
	EXPECT_EQ(d.f.data_end, d.f.error.offset);
	EXPECT_EQ(0u, d.f.n_records);
}

/* ---- dates and times ---- */

TEST(date_type_g)
{
	struct decoded d;
	struct nmbus_value v;

	/* 31.12.2010: day 31, month 12, year 10 */
	ASSERT_EQ(0, decode_records(&d, REC(0x02, 0x6c, 0x5f, 0x1c)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_DATE, v.type);
	EXPECT_EQ(2010, v.tm.year);
	EXPECT_EQ(12, v.tm.month);
	EXPECT_EQ(31, v.tm.day);
}

TEST(date_type_g_any_year_127)
{
	struct decoded d;
	struct nmbus_value v;

	/* CALEC ST II next due day: 30.06., year 127 ("AnyYear") */
	ASSERT_EQ(0, decode_records(&d, REC(0x02, 0x6c, 0xfe, 0xf6)));
	record_value(&d, 0, &v);
	EXPECT_EQ(-1, v.tm.year);
	EXPECT_EQ(6, v.tm.month);
	EXPECT_EQ(30, v.tm.day);
}

TEST(datetime_type_f)
{
	struct decoded d;
	struct nmbus_value v;

	/* kamstrup: 04 6D 1A 2F 65 11 = 2011-01-05 15:26 */
	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x6d, 0x1a, 0x2f, 0x65, 0x11)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_DATETIME, v.type);
	EXPECT_EQ(2011, v.tm.year);
	EXPECT_EQ(1, v.tm.month);
	EXPECT_EQ(5, v.tm.day);
	EXPECT_EQ(15, v.tm.hour);
	EXPECT_EQ(26, v.tm.minute);
	EXPECT_FALSE(v.tm.invalid);
}

TEST(datetime_type_f_invalid_and_summer_bits)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x6d, 0x9a, 0xaf, 0x65, 0x11)));
	record_value(&d, 0, &v);
	EXPECT_TRUE(v.tm.invalid);
	EXPECT_TRUE(v.tm.summer);
	/* hundred-year bits 01: 1900 + 100 + 11 */
	EXPECT_EQ(2011, v.tm.year);
}

TEST(datetime_type_f_before_2000)
{
	struct decoded d;
	struct nmbus_value v;

	/* amt_calec_mb: 10 09 05 C5 = 1996-05-05 09:16 */
	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x6d, 0x10, 0x09, 0x05, 0xc5)));
	record_value(&d, 0, &v);
	EXPECT_EQ(1996, v.tm.year);
}

TEST(datetime_type_i)
{
	struct decoded d;
	struct nmbus_value v;

	/* 2012-03-04 05:06:07 */
	ASSERT_EQ(0, decode_records(&d, REC(0x06, 0x6d, 0x07, 0x06, 0x05,
					    0x84, 0x13, 0x00)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_DATETIME, v.type);
	EXPECT_EQ(2012, v.tm.year);
	EXPECT_EQ(3, v.tm.month);
	EXPECT_EQ(4, v.tm.day);
	EXPECT_EQ(5, v.tm.hour);
	EXPECT_EQ(6, v.tm.minute);
	EXPECT_EQ(7, v.tm.second);
}

TEST(time_type_j)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x03, 0x6d, 0x3b, 0x1e, 0x17)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_TIME, v.type);
	EXPECT_EQ(23, v.tm.hour);
	EXPECT_EQ(30, v.tm.minute);
	EXPECT_EQ(59, v.tm.second);
}

TEST(date_of_vife_makes_a_time_stamp)
{
	struct decoded d;
	struct nmbus_value v;

	/* landis+gyr: 94 10 DA 6F: date/time of end of last max. flow temp. */
	ASSERT_EQ(0, decode_records(&d, REC(0x94, 0x10, 0xda, 0x6f, 0x32,
					    0x14, 0x7a, 0x18)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_DATETIME, v.type);
	EXPECT_EQ(NMBUS_UNIT_NONE, v.unit);
	EXPECT_EQ(2011, v.tm.year);
	EXPECT_EQ(8, v.tm.month);
	EXPECT_EQ(26, v.tm.day);
}

TEST(date_of_battery_change_fd70)
{
	struct decoded d;
	struct nmbus_value v;

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0xfd, 0x70, 0x1a, 0x2f,
					    0x65, 0x11)));
	record_value(&d, 0, &v);
	EXPECT_EQ(NMBUS_VALUE_DATETIME, v.type);
}

/* ---- misc ---- */

TEST(parse_hex_accepts_spaces_and_rejects_junk)
{
	uint8_t out[4];
	size_t pos;

	EXPECT_EQ(3, nmbus_parse_hex("68 0a\tFF", 8, out, sizeof(out), &pos));
	EXPECT_EQ(0x0a, out[1]);
	EXPECT_EQ(-EINVAL, nmbus_parse_hex("68 0x", 5, out, sizeof(out), &pos));
	EXPECT_EQ(4u, pos);
	EXPECT_EQ(-EINVAL, nmbus_parse_hex("6", 1, out, sizeof(out), &pos));
	EXPECT_EQ(-EMSGSIZE, nmbus_parse_hex("0102030405", 10, out, 4, &pos));
}

TEST(every_error_code_has_a_text)
{
	for (int i = 0; i < NMBUS_E_COUNT; i++) {
		EXPECT_NE(NULL, nmbus_strerror(i));
		EXPECT_NE(0, strcmp(nmbus_strerror(i), "unknown error"));
	}
	EXPECT_STREQ("unknown error", nmbus_strerror(NMBUS_E_COUNT));
}

TEST_HARNESS_MAIN
