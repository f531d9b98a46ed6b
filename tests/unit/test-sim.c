// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the mbus-sim core (tools/sim-core.c): addressing,
 * secondary selection with wildcards, collisions, FCB and multi-telegram
 * readouts, baud switch and wake-up, the enhanced selection; libnmbus's
 * secondary search over the core, strict and lenient; and one end-to-end
 * run of the mbus-sim program on a pty.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "../../tools/sim-core.h"
#include "../../tools/sim-line.h"

#include <nmbus-devices.h>

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })

static struct sim_bus bus;
static struct sim_reply reply;

static struct sim_meter *add(const char *profile, uint32_t id, uint8_t addr)
{
	struct sim_meter *m = sim_bus_add(&bus, sim_profile_find(profile));

	m->id = id;
	m->addr = addr;
	return m;
}

static void setup(unsigned int max_skew)
{
	sim_bus_init(&bus, 2400, 42);
	bus.max_skew = max_skew;
	bus.now = 1763785800;		/* fixed clock: equal telegrams */
}

/* Send a frame the builder made (@len its length or error). */
static size_t request(int len, uint8_t *frame)
{
	if (len <= 0)
		return 0;
	sim_bus_request(&bus, frame, len, 0, 0, &reply);
	return reply.len;
}

static uint8_t f[MBUS_FRAME_MAX];

#define SND_NKE(a)	request(nmbus_build_snd_nke(f, sizeof(f), a), f)
#define REQ_UD2(a, fl)	request(nmbus_build_req_ud2(f, sizeof(f), a, fl), f)
#define FCB		(NMBUS_C_FCV | NMBUS_C_FCB)
#define NOFCB		NMBUS_C_FCV

static size_t select_str(const char *mask)
{
	uint8_t m[8];

	if (nmbus_secaddr_parse(mask, m))
		return 0;
	return request(nmbus_build_select(f, sizeof(f), NOFCB, m, 8), f);
}

static bool reply_is_ack(void)
{
	return reply.len == 1 && reply.data[0] == 0xe5;
}

static bool reply_is_frame(void)
{
	return mbus_frame_check(reply.data, reply.len, NULL) == MBUS_EV_FRAME;
}

/* ID (BCD) of a RSP_UD in the reply. */
static uint32_t reply_id(void)
{
	uint32_t id = 0;

	for (int i = 10; i >= 7; i--)
		id = id * 100 + (reply.data[i] >> 4) * 10 + (reply.data[i] & 15);
	return id;
}

/* The DIF before the checksum: 1F = more telegrams follow. */
static uint8_t reply_last_dif(void)
{
	return reply.data[reply.len - 3];
}

TEST(primary_address_reaches_one_meter)
{
	setup(4);
	add("heat", 11111111, 5);
	add("water", 22222222, 6);
	EXPECT_EQ(1, SND_NKE(5));
	EXPECT_TRUE(reply_is_ack());
	EXPECT_EQ(1u, reply.responders);
	EXPECT_EQ(0, SND_NKE(7));
	ASSERT_LT(20, REQ_UD2(6, FCB));
	EXPECT_TRUE(reply_is_frame());
	EXPECT_EQ(22222222u, reply_id());
	EXPECT_EQ(6, reply.data[5]);		/* A field */
}

TEST(address_254_answers_from_all_and_255_from_none)
{
	setup(4);
	add("heat", 11111111, 5);
	ASSERT_LT(20, REQ_UD2(254, FCB));
	EXPECT_EQ(11111111u, reply_id());
	EXPECT_EQ(0, SND_NKE(255));
	add("water", 22222222, 6);
	ASSERT_LT(0, REQ_UD2(254, FCB));
	EXPECT_EQ(2u, reply.responders);
	EXPECT_FALSE(reply_is_frame());
}

TEST(selection_with_id_wildcards)
{
	setup(4);
	add("heat", 12345678, 0);
	add("heat", 12345679, 0);
	EXPECT_EQ(1, select_str("12345678FFFFFFFF"));
	EXPECT_TRUE(reply_is_ack());
	ASSERT_LT(20, REQ_UD2(253, FCB));
	EXPECT_EQ(12345678u, reply_id());
	/* a mismatching selection deselects */
	EXPECT_EQ(0, select_str("99999999FFFFFFFF"));
	EXPECT_EQ(0, REQ_UD2(253, FCB));
	/* both match: both answer, the ACKs collide */
	EXPECT_LT(0, select_str("1234567FFFFFFFFF"));
	EXPECT_EQ(2u, reply.responders);
	EXPECT_FALSE(reply_is_ack());
	/* SND_NKE deselects */
	EXPECT_EQ(1, select_str("12345679FFFFFFFF"));
	EXPECT_LT(0, SND_NKE(253));
	EXPECT_EQ(0, REQ_UD2(253, FCB));
}

TEST(selection_compares_hex_manufacturer_version_medium)
{
	struct sim_meter *m;

	setup(4);
	m = add("water", 10000001, 0);
	m->manufacturer = 0xa5b4;
	m->version = 0xc3;
	m->medium = 0x1d;
	/* the manufacturer in wire order: B4 A5 */
	EXPECT_EQ(1, select_str("FFFFFFFFB4A5C31D"));
	EXPECT_EQ(1, select_str("FFFFFFFFFFFFFFFF"));
	EXPECT_EQ(0, select_str("FFFFFFFFB4A5C21D"));
	EXPECT_EQ(0, select_str("FFFFFFFFB4A4FFFF"));
	EXPECT_EQ(0, select_str("FFFFFFFFFFFFFF1C"));
	/* a standard meter: the manufacturer only as a whole, no nibbles */
	EXPECT_EQ(0, select_str("FFFFFFFFB4FFFFFF"));
	EXPECT_EQ(0, select_str("FFFFFFFFFFA5FFFF"));
	EXPECT_EQ(0, select_str("FFFFFFFFB4A5CFFF"));
	/* a lenient one takes F nibbles everywhere */
	m->lenient = true;
	EXPECT_EQ(1, select_str("FFFFFFFFB4FFFFFF"));
	EXPECT_EQ(1, select_str("FFFFFFFFBFAFCF1F"));
	EXPECT_EQ(0, select_str("FFFFFFFFB5FFFFFF"));
}

TEST(enhanced_selection_by_fabrication_number)
{
	static const uint8_t fab1[4] = { 0x01, 0x00, 0x00, 0x00 };
	static const uint8_t fab2[4] = { 0x02, 0x00, 0x00, 0x00 };
	static const uint8_t any[4] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t low[4] = { 0xf2, 0xff, 0xff, 0xff };
	uint8_t m[8];

	setup(4);
	add("heat", 12345678, 0)->fabrication = 1;
	add("heat", 12345678, 0)->fabrication = 2;
	ASSERT_EQ(0, nmbus_secaddr_parse("12345678FFFFFFFF", m));
	EXPECT_LT(0, request(nmbus_build_select_fab(f, sizeof(f), NOFCB, m,
						    fab1), f));
	EXPECT_TRUE(reply_is_ack());
	ASSERT_LT(20, REQ_UD2(253, FCB));
	EXPECT_EQ(1u, reply.responders);
	EXPECT_LT(0, request(nmbus_build_select_fab(f, sizeof(f), NOFCB, m,
						    fab2), f));
	EXPECT_TRUE(reply_is_ack());
	EXPECT_LT(0, request(nmbus_build_select_fab(f, sizeof(f), NOFCB, m,
						    low), f));
	EXPECT_TRUE(reply_is_ack());
	EXPECT_LT(0, request(nmbus_build_select_fab(f, sizeof(f), NOFCB, m,
						    any), f));
	EXPECT_EQ(2u, reply.responders);
}

TEST(short_selection_masks_of_cmi1020)
{
	static const uint8_t mask[8] = { 0x78, 0x56, 0x34, 0x12, 0x96, 0x15 };

	setup(4);
	add("cmi1020", 12345678, 0);
	for (size_t len = 0; len <= 6; len++) {
		size_t n = request(nmbus_build_select(f, sizeof(f), NOFCB,
						      mask, len), f);

		EXPECT_EQ(len == 5 ? 0 : 1, n);
	}
}

TEST(equal_ids_collide)
{
	setup(4);
	add("heat", 55555555, 0);
	add("heat", 55555555, 0);
	EXPECT_LT(0, select_str("55555555FFFFFFFF"));
	EXPECT_EQ(2u, reply.responders);
	EXPECT_EQ(0, strncmp("collision of 2 meters", reply.note, 21));
	ASSERT_LT(0, REQ_UD2(253, FCB));
	EXPECT_FALSE(reply_is_frame());
}

/*
 * libnmbus's secondary search over the simulator in process: what the
 * kernel would report for each reply (silence, E5, a frame, a collision).
 */
static int sim_xfer(void *ctx, const uint8_t *tx, size_t tx_len,
		    unsigned int flags, uint8_t *rx, size_t *rx_len)
{
	(void)ctx;
	(void)flags;
	sim_bus_request(&bus, tx, tx_len, 0, 0, &reply);
	*rx_len = reply.len < *rx_len ? reply.len : *rx_len;
	memcpy(rx, reply.data, *rx_len);
	if (!reply.len)
		return NMBUS_STATUS_TIMEOUT;
	if (reply.responders > 1)
		return NMBUS_STATUS_GARBLED;
	return reply_is_ack() ? NMBUS_STATUS_ACK : NMBUS_STATUS_FRAME;
}

static const struct nmbus_dev_ops sim_ops = { .xfer = sim_xfer };

static int count_found(const struct nmbus_scan_result *res, void *arg)
{
	(void)res;
	++*(unsigned int *)arg;
	return 0;
}

TEST(secondary_search_over_the_simulator_strict_and_lenient)
{
	for (int lenient = 0; lenient < 2; lenient++) {
		unsigned int seen = 0;
		struct nmbus_scan scan = { .read_retries = 2,
					   .cb = count_found, .arg = &seen };
		struct nmbus_dev *dev;
		struct sim_meter *m;

		setup(4);
		bus.lenient = lenient;
		m = add("heat", 12345678, 0);
		m->manufacturer = nmbus_manufacturer_code("KAM");
		m = add("heat", 12345678, 0);
		m->manufacturer = nmbus_manufacturer_code("SEN");
		m = add("water", 22222222, 0);
		m->manufacturer = nmbus_manufacturer_code("ZRM");
		m->fabrication = 1;
		m = add("water", 22222222, 0);
		m->manufacturer = nmbus_manufacturer_code("ZRM");
		m->fabrication = 2;
		m = add("heat", 87654321, 0);
		m->manufacturer = 0x8001;	/* no letter code */
		m = add("heat", 87654321, 0);
		m->manufacturer = 0x8002;
		m->version = bus.meters[4].version;
		m->medium = bus.meters[4].medium;
		add("calec", 11111111, 0);
		if (!lenient)
			scan.group_limit = 200;
		ASSERT_EQ(0, nmbus_dev_new_ops(&sim_ops, NULL, &dev));
		/* strict: the two unknown makers are reported, not lost */
		EXPECT_EQ(lenient ? 7 : 5, nmbus_scan_secondary(dev, NULL,
								&scan));
		EXPECT_EQ(lenient ? 0u : 1u, scan.collisions);
		EXPECT_EQ(lenient ? 7u : 6u, seen);
		EXPECT_EQ(lenient, scan.lenient > 0);
		nmbus_dev_close(dev);
	}
}

TEST(collision_marks_the_parity_errors_a_uart_would_see)
{
	static const uint8_t a[] = { 0x68, 0x03 };
	static const uint8_t b[] = { 0x68, 0x01 };
	const uint8_t *streams[] = { a, b };
	size_t lens[] = { 2, 2 };
	unsigned int skew[] = { 0, 0 };
	uint8_t out[4];
	bool perr[4];

	/* 03 AND 01 = 01: its parity bit is 0 AND 1 = 0, but 01 needs 1 */
	ASSERT_EQ(2u, sim_collide_parity(streams, lens, skew, 2, out, perr,
					 sizeof(out)));
	EXPECT_EQ(0x68, out[0]);
	EXPECT_FALSE(perr[0]);
	EXPECT_EQ(0x01, out[1]);
	EXPECT_TRUE(perr[1]);
}

TEST(collision_is_a_wired_and_of_the_bit_streams)
{
	static const uint8_t e5[] = { 0xe5 };
	const uint8_t *streams[] = { e5, e5 };
	size_t lens[] = { 1, 1 };
	unsigned int skew[] = { 0, 1 };
	uint8_t out[8];

	/* E5 and E5 one bit later: the UART decodes C0 */
	ASSERT_EQ(1u, sim_collide(streams, lens, skew, 2, out, sizeof(out)));
	EXPECT_EQ(0xc0, out[0]);
	/* exactly together they look like one */
	skew[1] = 0;
	ASSERT_EQ(1u, sim_collide(streams, lens, skew, 2, out, sizeof(out)));
	EXPECT_EQ(0xe5, out[0]);
	setup(0);
	add("heat", 1, 0);
	add("heat", 2, 0);
	EXPECT_EQ(1, select_str("FFFFFFFFFFFFFFFF"));
	EXPECT_TRUE(reply_is_ack());
}

TEST(fcb_repeats_or_advances_multi_telegram_readout)
{
	uint8_t first[MBUS_FRAME_MAX];
	size_t n;

	setup(4);
	add("cmi1020", 12345678, 3)->telegrams = 3;
	EXPECT_EQ(1, SND_NKE(3));
	n = REQ_UD2(3, FCB);
	ASSERT_LT(20, n);
	EXPECT_TRUE(reply_is_frame());
	EXPECT_EQ(0x1f, reply_last_dif());
	memcpy(first, reply.data, n);
	/* same FCB: the very same telegram, access number included */
	ASSERT_EQ(n, REQ_UD2(3, FCB));
	EXPECT_EQ(0, memcmp(first, reply.data, n));
	/* toggled: the next ones; the last ends with 0F */
	ASSERT_LT(20, REQ_UD2(3, NOFCB));
	EXPECT_EQ(0x1f, reply_last_dif());
	EXPECT_NE(first[15], reply.data[15]);
	ASSERT_LT(20, REQ_UD2(3, FCB));
	EXPECT_EQ(0x0f, reply_last_dif());
	/* and then the readout starts again */
	ASSERT_LT(20, REQ_UD2(3, NOFCB));
	EXPECT_EQ(0x1f, reply_last_dif());
	/* SND_NKE resets: the first telegram again, even with FCB = 0 */
	REQ_UD2(3, FCB);
	EXPECT_EQ(1, SND_NKE(3));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	EXPECT_EQ(0, memcmp(first + 19, reply.data + 19, 20));
}

TEST(calec_ignores_the_fcb)
{
	uint8_t acc;

	setup(4);
	add("calec", 12345678, 1);
	ASSERT_LT(20, REQ_UD2(1, FCB));
	acc = reply.data[15];
	ASSERT_LT(20, REQ_UD2(1, FCB));
	EXPECT_EQ((uint8_t)(acc + 1), reply.data[15]);
	EXPECT_NE(0x1f, reply_last_dif());
}

TEST(calec_versions_send_their_records)
{
	struct sim_meter *m;
	size_t c0, c4;

	setup(4);
	m = add("calec", 12345678, 1);
	c0 = REQ_UD2(1, FCB);
	m->version = 0xc4;
	c4 = REQ_UD2(1, FCB);
	EXPECT_TRUE(reply_is_frame());
	EXPECT_NE(c0, c4);
	EXPECT_EQ(0xc4, reply.data[13]);
	EXPECT_EQ(0xb4, reply.data[11]);	/* AMT = 05B4, LSB first */
	EXPECT_EQ(0x05, reply.data[12]);
}

TEST(baud_switch_acks_at_old_rate_then_switches)
{
	setup(4);
	add("heat", 1, 9);
	ASSERT_EQ(1, request(nmbus_build_set_baud(f, sizeof(f), 9, NOFCB,
						  9600), f));
	EXPECT_TRUE(reply_is_ack());
	EXPECT_EQ(9600u, reply.new_baud);
	EXPECT_EQ(0, REQ_UD2(9, FCB));		/* line still at 2400 */
	bus.baud = 9600;
	EXPECT_LT(20, REQ_UD2(9, FCB));
	bus.mismatch = SIM_MISMATCH_GARBAGE;
	bus.baud = 2400;
	EXPECT_LT(0, REQ_UD2(9, FCB));
	EXPECT_FALSE(reply_is_frame());
}

TEST(baud_codes_per_profile)
{
	setup(4);
	add("calec", 1, 1);
	add("cmi1020", 2, 2);
	/* CALEC ST II: 300, 2400, 9600 only */
	EXPECT_EQ(0, request(nmbus_build_set_baud(f, sizeof(f), 1, NOFCB,
						  600), f));
	/* CMi1020: BE/BF acknowledged without a change */
	EXPECT_EQ(1, request(nmbus_build_set_baud(f, sizeof(f), 2, NOFCB,
						  19200), f));
	EXPECT_EQ(0u, reply.new_baud);
	EXPECT_EQ(2400u, bus.meters[1].baud);
}

TEST(calmex_needs_wake_up_and_pause)
{
	int len;

	setup(4);
	bus.baud = 300;
	add("calmex", 12345678, 78);
	len = nmbus_build_req_ud2(f, sizeof(f), 78, FCB);
	sim_bus_request(&bus, f, len, 0, 0, &reply);
	EXPECT_EQ(0u, reply.len);
	sim_bus_request(&bus, f, len, 20, 400000, &reply);
	EXPECT_TRUE(reply_is_frame());
	sim_bus_request(&bus, f, len, 19, 400000, &reply);
	EXPECT_EQ(0u, reply.len);
	sim_bus_request(&bus, f, len, 20, 10000, &reply);
	EXPECT_EQ(0u, reply.len);
	bus.baud = 2400;
	sim_bus_request(&bus, f, len, 20, 400000, &reply);
	EXPECT_EQ(0u, reply.len);
}

TEST(byte_stream_rx_times_the_wake_up)
{
	uint64_t t = 1000000;
	bool done = false;
	int len, i;

	setup(4);
	bus.baud = 300;
	add("calmex", 12345678, 78);
	len = nmbus_build_snd_nke(f, sizeof(f), 78);
	for (i = 0; i < 20; i++, t += 36667)
		EXPECT_FALSE(sim_bus_rx(&bus, 0x55, t, &reply));
	t += 400000;
	for (i = 0; i < len; i++)
		done = sim_bus_rx(&bus, f[i], t, &reply);
	ASSERT_TRUE(done);
	EXPECT_TRUE(reply_is_ack());
	/* no preamble this time */
	for (i = 0; i < len; i++)
		done = sim_bus_rx(&bus, f[i], t, &reply);
	ASSERT_TRUE(done);
	EXPECT_EQ(0u, reply.len);
}

TEST(set_primary_address_moves_the_meter)
{
	setup(4);
	add("water", 1, 0);
	EXPECT_EQ(1, request(nmbus_build_set_primary(f, sizeof(f), 0, NOFCB,
						     42), f));
	EXPECT_EQ(0, REQ_UD2(0, FCB));
	ASSERT_LT(20, REQ_UD2(42, FCB));
	EXPECT_EQ(42, reply.data[5]);
	EXPECT_EQ(1, request(nmbus_build_set_secondary(f, sizeof(f), 42, NOFCB,
						       87654321), f));
	EXPECT_EQ(1, select_str("87654321FFFFFFFF"));
}

TEST(readout_selection_and_application_reset)
{
	size_t standard;

	setup(4);
	add("calec", 1, 1);
	standard = REQ_UD2(1, FCB);
	EXPECT_EQ(1, request(nmbus_build_calec_telegram(f, sizeof(f), 1, NOFCB,
							NMBUS_CALEC_LOGGER, 7),
			     f));
	ASSERT_LT(0, REQ_UD2(1, FCB));
	EXPECT_EQ(21u, reply.len);		/* the empty telegram */
	EXPECT_EQ(1, request(nmbus_build_app_reset(f, sizeof(f), 1, NOFCB, -1),
			     f));
	EXPECT_EQ(standard, REQ_UD2(1, FCB));
	EXPECT_EQ(1, request(nmbus_build_freeze(f, sizeof(f), 1, NOFCB, 31),
			     f));
	EXPECT_EQ(1, request(nmbus_build_set_datetime(f, sizeof(f), 1, NOFCB,
						      &(struct tm){
							.tm_year = 126,
							.tm_mday = 1 }), f));
}

TEST(elvaco_commands_only_on_the_cmi1020)
{
	setup(4);
	add("cmi1020", 1, 1);
	add("heat", 2, 2);
	EXPECT_EQ(1, request(nmbus_build_elvaco_cmd(f, sizeof(f), 1, NOFCB, 4,
						    NULL, 0), f));
	EXPECT_EQ(0, request(nmbus_build_elvaco_cmd(f, sizeof(f), 2, NOFCB, 4,
						    NULL, 0), f));
	EXPECT_EQ(0, request(nmbus_build_elvaco_cmd(f, sizeof(f), 1, NOFCB,
						    0x77, NULL, 0), f));
}

/* Decode the reply into @f; the number of records, or -1. */
static int reply_records(struct nmbus_frame *fr, struct nmbus_record *rec,
			 unsigned int max)
{
	if (nmbus_decode(fr, reply.data, reply.len, rec, max))
		return -1;
	return (int)fr->n_records;
}

/* Whether every record of @fr has storage @storage. */
static bool all_in_storage(const struct nmbus_frame *fr, uint64_t storage)
{
	for (unsigned int i = 0; i < fr->n_records; i++)
		if (fr->records[i].storage != storage)
			return false;
	return fr->n_records > 0;
}

#define SELECT(t, n) request(nmbus_build_calec_telegram(f, sizeof(f), 3, \
					NOFCB, NMBUS_CALEC_##t, n), f)

/*
 * The CALEC ST II's telegram selection (seed 000, table 20) reaches its
 * 12 due-day telegrams (table 12), the loggers that hold data (table 13,
 * storage 100..) and the empty telegram (table 14) after them.
 */
TEST(calec_serves_due_day_and_logger_telegrams)
{
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	struct nmbus_frame fr;
	struct nmbus_value v;
	struct sim_meter *m;

	setup(4);
	m = add("calec", 33333333, 3);
	for (unsigned int ver = 0xc0; ver <= 0xc9; ver++) {
		m->version = ver;
		for (unsigned int day = 1; day <= 12; day++) {
			ASSERT_EQ(1, SELECT(DUE_DAY, day));
			ASSERT_LT(20, REQ_UD2(3, FCB));
			ASSERT_LT(2, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
			EXPECT_TRUE(all_in_storage(&fr, day)) TH_LOG("%u", day);
			EXPECT_STREQ("due day",
				     nmbus_frame_storage_name(&fr, &rec[3]));
			/* 42 6C: the due day, a year earlier per due day */
			ASSERT_EQ(0x6c, rec[1].vif);
			nmbus_record_get_value(&fr, &rec[1], &v);
			EXPECT_EQ(2025 - (int)day + 1, v.tm.year);
		}
		for (unsigned int n = 1; n <= 3; n++) {
			ASSERT_EQ(1, SELECT(LOGGER, n));
			ASSERT_LT(20, REQ_UD2(3, FCB));
			ASSERT_LT(2, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
			EXPECT_TRUE(all_in_storage(&fr, 99 + n));
			EXPECT_STREQ("logger",
				     nmbus_frame_storage_name(&fr, &rec[0]));
		}
		/* Logger 4 holds nothing: the empty telegram. */
		ASSERT_EQ(1, SELECT(LOGGER, 4));
		ASSERT_LT(20, REQ_UD2(3, FCB));
		EXPECT_EQ(0, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	}
	/* Frozen values only after a freeze. */
	ASSERT_EQ(1, SELECT(FREEZE, 0));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	EXPECT_EQ(0, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	ASSERT_EQ(1, request(nmbus_build_freeze(f, sizeof(f), 3, NOFCB, 31),
			     f));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	ASSERT_LT(2, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	EXPECT_TRUE(all_in_storage(&fr, 31));
	/* And back to the standard telegram. */
	ASSERT_EQ(1, SELECT(STANDARD, 0));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	ASSERT_LT(2, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	EXPECT_EQ(0u, rec[0].storage);
}

/*
 * The service telegram (seed 000, table 15, VIF 7F selection) numbers its
 * values with storage 1..8: indices, not due days.
 */
TEST(calec_service_telegram_numbers_its_values)
{
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	struct nmbus_frame fr;
	unsigned int indexed = 0;

	setup(4);
	add("calec", 33333333, 3);
	ASSERT_EQ(1, SELECT(SERVICE, 0));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	ASSERT_LT(10, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	for (unsigned int i = 0; i < fr.n_records; i++) {
		const char *name = nmbus_frame_storage_name(&fr, &rec[i]);

		if (!rec[i].storage)
			continue;
		EXPECT_GE(8u, rec[i].storage);
		EXPECT_STREQ("index", name);
		indexed++;
	}
	EXPECT_EQ(13u, indexed);	/* 8 values, 5 event times */
	ASSERT_EQ(1, SELECT(STANDARD, 0));
	ASSERT_LT(20, REQ_UD2(3, FCB));
	ASSERT_LT(2, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	EXPECT_TRUE(all_in_storage(&fr, 0));
}

/* CMi1020 disconnector control (seed 004, 6.7.8): 01 FD 1A and a byte. */
TEST(cmi1020_disconnector_control)
{
	static const uint8_t off[] = { 0x01, 0xfd, 0x1a, 0x80 };
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	struct nmbus_frame fr;
	struct nmbus_value v;

	setup(4);
	add("cmi1020", 1, 1);
	add("heat", 2, 2);
	ASSERT_LT(20, REQ_UD2(1, NOFCB));
	ASSERT_LT(0, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	nmbus_record_get_value(&fr, &rec[0], &v);
	EXPECT_EQ(0x55, v.raw);		/* on, both push-buttons enabled */
	EXPECT_EQ(1, request(nmbus_build_long(f, sizeof(f), NMBUS_C_SND_UD |
					      NOFCB, 1, NMBUS_CI_DATA_SEND,
					      off, sizeof(off)), f));
	EXPECT_TRUE(reply_is_ack());
	SND_NKE(1);
	ASSERT_LT(20, REQ_UD2(1, NOFCB));
	ASSERT_LT(0, reply_records(&fr, rec, NMBUS_MAX_RECORDS));
	nmbus_record_get_value(&fr, &rec[0], &v);
	EXPECT_EQ(0x96, v.raw);		/* EEPROM off, actual off */
	/* A heat meter has no disconnector: no ACK. */
	EXPECT_EQ(0, request(nmbus_build_long(f, sizeof(f), NMBUS_C_SND_UD |
					      NOFCB, 2, NMBUS_CI_DATA_SEND,
					      off, sizeof(off)), f));
}

TEST(every_profile_builds_valid_telegrams)
{
	setup(4);
	for (size_t i = 0; i < sim_nprofiles; i++) {
		struct sim_meter *m = sim_bus_add(&bus, sim_profiles[i]);

		m->addr = 1;
		m->wakeup = 0;
		bus.baud = m->baud;
		for (unsigned int v = 0; v < 10; v++) {
			m->version = sim_profiles[i]->vbase ?
				     sim_profiles[i]->vbase + v : m->version;
			ASSERT_LT(20, REQ_UD2(1, v % 2 ? FCB : NOFCB));
			EXPECT_TRUE(reply_is_frame());
		}
		bus.nmeters = 0;
	}
}

/* The library's decoder reads every telegram of every profile. */
TEST(every_profile_telegram_decodes)
{
	struct nmbus_record recs[SIM_ROWS_MAX + 1];
	struct nmbus_frame frame;

	setup(4);
	for (size_t i = 0; i < sim_nprofiles; i++) {
		const struct sim_profile *p = sim_profiles[i];
		unsigned int nver = p->vbase ? 10 : 1;

		for (unsigned int v = 0; v < nver; v++) {
			struct sim_meter *m = sim_bus_add(&bus, p);

			m->id = 1234560 + v;
			m->addr = 1;
			m->wakeup = 0;
			m->version = p->version + v;
			m->telegrams = 3;
			bus.baud = m->baud;
			ASSERT_EQ(1, SND_NKE(1));
			for (unsigned int t = 0; t < 6; t++) {
				ASSERT_LT(20, REQ_UD2(1, t % 2 ? NOFCB : FCB));
				ASSERT_EQ(0, nmbus_decode(&frame, reply.data,
							  reply.len, recs,
							  ARRAY_SIZE(recs)));
				/* the decoder keeps the ID as BCD */
				EXPECT_EQ(0x01234560u + v, frame.header.id);
				EXPECT_EQ(m->version, frame.header.version);
				EXPECT_LT(0u, frame.n_records);
				EXPECT_EQ(reply_last_dif() == 0x1f,
					  frame.more_records_follow);
			}
			bus.nmeters = 0;
		}
	}
}

TEST(random_requests_do_not_upset_the_meters)
{
	uint8_t data[252];
	int len;

	setup(4);
	for (size_t i = 0; i < sim_nprofiles; i++) {
		struct sim_meter *m = sim_bus_add(&bus, sim_profiles[i]);

		m->addr = 1 + i;
		m->wakeup = 0;
		m->baud = 2400;
	}
	for (unsigned int i = 0; i < 20000; i++) {
		size_t n = sim_random(&bus) % sizeof(data);
		uint8_t ci = i % 2 ? 0x51 : sim_random(&bus);

		for (size_t j = 0; j < n; j++)
			data[j] = sim_random(&bus);
		len = nmbus_build_long(f, sizeof(f), 0x53 | (i & 0x20),
				       sim_random(&bus) % 8, ci, data, n);
		ASSERT_LT(0, len);
		sim_bus_request(&bus, f, len, 0, 0, &reply);
		ASSERT_GE(sizeof(reply.data), reply.len);
		if (i % 4 == 0)
			REQ_UD2(sim_random(&bus) % 8, i & 0x20 ? FCB : NOFCB);
		/* and raw bytes */
		sim_bus_rx(&bus, sim_random(&bus), i, &reply);
	}
	for (unsigned int i = 0; i < bus.nmeters; i++)
		EXPECT_GE(MBUS_ADDR_PRIMARY_MAX, bus.meters[i].addr);
}

TEST(telnet_decoding_keeps_only_data)
{
	struct sim_line l = { .kind = SIM_LINE_TCP };
	uint8_t in[] = {
		0xff, 0xfb, 0x01,			/* IAC WILL ECHO */
		0x10, 0xff, 0xff, 0x5b,			/* data, FF doubled */
		0xff, 0xfa, 0x18, 0x00, 0xff, 0xf0,	/* IAC SB .. IAC SE */
		0xff, 0xf3,				/* IAC BRK */
		0x16, 0xff,				/* IAC split ... */
	};
	uint8_t more[] = { 0xff, 0xe5 };		/* ... across reads */
	bool brk = false;

	ASSERT_EQ(4u, sim_line_decode(&l, in, sizeof(in), &brk));
	EXPECT_EQ(0, memcmp(in, BYTES(0x10, 0xff, 0x5b, 0x16), 4));
	EXPECT_TRUE(brk);
	ASSERT_EQ(2u, sim_line_decode(&l, more, sizeof(more), &brk));
	EXPECT_EQ(0xff, more[0]);
	EXPECT_EQ(0xe5, more[1]);
	/* a pty or tty passes everything */
	l.kind = SIM_LINE_PTY;
	EXPECT_EQ(sizeof(in), sim_line_decode(&l, in, sizeof(in), &brk));
}

/* ---- mbus-sim on a pty, end to end ------------------------------------ */

struct sim_proc {
	pid_t pid;
	int out;
	char pty[64];
};

static bool sim_path(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = '\0';
	/* <O>/tests/unit/test-sim -> <O>/tools/mbus-sim */
	snprintf(path, size, "%s/../../tools/mbus-sim", dirname(self));
	return access(path, X_OK) == 0;
}

static int sim_spawn(struct sim_proc *s, char *const argv[])
{
	int p[2];

	if (pipe(p))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	return p[0];
}

static bool sim_start(struct sim_proc *s, char *const argv[])
{
	int out = sim_spawn(s, argv);
	FILE *f;

	if (out < 0)
		return false;
	f = fdopen(out, "r");
	if (!f || !fgets(s->pty, sizeof(s->pty), f) ||
	    strncmp(s->pty, "PTY ", 4))
		return false;
	memmove(s->pty, s->pty + 4, strlen(s->pty + 4) + 1);
	s->pty[strcspn(s->pty, "\n")] = '\0';
	return true;
}

/* Read until a whole frame (or an E5) arrived, or 2 s passed. */
static ssize_t read_frame(int fd, uint8_t *buf, size_t size)
{
	size_t len = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (len < size && poll(&pfd, 1, 2000) == 1) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n <= 0)
			break;
		len += n;
		if (mbus_frame_check(buf, len, NULL) == MBUS_EV_FRAME)
			break;
	}
	return len;
}

TEST(mbus_sim_serves_a_pty)
{
	char path[PATH_MAX];
	char *argv[] = { path, "--pty", "--meter", "heat,id=11223344,addr=1",
			 "--delay", "1", NULL };
	struct sim_proc s;
	struct termios tio;
	struct pollfd pfd;
	uint8_t buf[MBUS_FRAME_MAX];
	int fd, status, len;
	ssize_t n;

	if (!sim_path(path, sizeof(path)))
		SKIP(return, "mbus-sim not built");
	ASSERT_TRUE(sim_start(&s, argv));
	fd = open(s.pty, O_RDWR | O_NOCTTY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, tcgetattr(fd, &tio));
	cfmakeraw(&tio);		/* no PARENB: a pty may refuse it */
	cfsetspeed(&tio, B2400);
	ASSERT_EQ(0, tcsetattr(fd, TCSANOW, &tio));

	len = nmbus_build_req_ud2(buf, sizeof(buf), 1, FCB);
	ASSERT_EQ(len, write(fd, buf, len));
	n = read_frame(fd, buf, sizeof(buf));
	ASSERT_LT(20, n);
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, n, NULL));
	EXPECT_EQ(0x44, buf[7]);
	EXPECT_EQ(0x11, buf[10]);

	/* at another baud rate the meter does not hear */
	cfsetspeed(&tio, B9600);
	ASSERT_EQ(0, tcsetattr(fd, TCSANOW, &tio));
	len = nmbus_build_snd_nke(buf, sizeof(buf), 1);
	ASSERT_EQ(len, write(fd, buf, len));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&pfd, 1, 300));

	/* hanging up ends the simulator */
	close(fd);
	ASSERT_EQ(s.pid, waitpid(s.pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Read @n data bytes from a telnet peer, undoing FF doubling. */
static ssize_t telnet_read(int fd, uint8_t *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	bool iac = false;
	uint8_t b;

	while (len < n && poll(&pfd, 1, 2000) == 1 && read(fd, &b, 1) == 1) {
		if (iac || b != 0xff)
			buf[len++] = b;
		iac = !iac && b == 0xff;
	}
	return len;
}

TEST(mbus_sim_speaks_telnet)
{
	static const uint8_t nego[] = {
		0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03,		/* WILL */
		0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0,		/* SB .. SE */
	};
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	char path[PATH_MAX], spec[32];
	char *argv[] = { path, "--connect", spec, "--meter",
			 "heat,id=11223344,addr=1", "--delay", "1",
			 "--fault", "break/2", NULL };
	struct sim_proc s;
	struct pollfd pfd;
	uint8_t buf[2 * MBUS_FRAME_MAX], mask[8], esc[32];
	int ls, fd, status, len, n = 0;

	if (!sim_path(path, sizeof(path)))
		SKIP(return, "mbus-sim not built");
	ls = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, ls);
	ASSERT_EQ(0, bind(ls, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(ls, 1));
	ASSERT_EQ(0, getsockname(ls, (struct sockaddr *)&sin, &slen));
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", ntohs(sin.sin_port));
	ASSERT_LE(0, sim_spawn(&s, argv));
	pfd = (struct pollfd){ .fd = ls, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	fd = accept(ls, NULL, NULL);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(nego), write(fd, nego, sizeof(nego)));

	/* a selection full of FF wildcards, sent doubled as QEMU does */
	ASSERT_EQ(0, nmbus_secaddr_parse("11223344FFFFFFFF", mask));
	len = nmbus_build_select(buf, sizeof(buf), NOFCB, mask, 8);
	for (int i = 0; i < len; i++) {
		esc[n++] = buf[i];
		if (buf[i] == 0xff)
			esc[n++] = 0xff;
	}
	ASSERT_EQ(n, write(fd, esc, n));
	ASSERT_EQ(1, telnet_read(fd, buf, 1));
	EXPECT_EQ(0xe5, buf[0]);

	/* the second reply is replaced by a break: IAC BRK */
	len = nmbus_build_req_ud2(buf, sizeof(buf), 253, FCB);
	ASSERT_EQ(len, write(fd, buf, len));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 2000));
	ASSERT_EQ(2, read(fd, buf, 2));
	EXPECT_EQ(0xff, buf[0]);
	EXPECT_EQ(0xf3, buf[1]);

	/* the third is a telegram again */
	len = nmbus_build_req_ud2(buf, sizeof(buf), 253, NOFCB);
	ASSERT_EQ(len, write(fd, buf, len));
	ASSERT_EQ(4, telnet_read(fd, buf, 4));
	ASSERT_EQ(0x68, buf[0]);
	ASSERT_EQ(buf[1] + 2, telnet_read(fd, buf + 4, buf[1] + 2));
	EXPECT_EQ(MBUS_EV_FRAME, mbus_frame_check(buf, buf[1] + 6, NULL));

	/* EOF ends the simulator */
	close(fd);
	close(ls);
	ASSERT_EQ(s.pid, waitpid(s.pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
