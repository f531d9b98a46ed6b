// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the libnmbus scans (lib/scan.c) on a simulated bus
 *
 * The scans run on an nmbus_dev_ops transport: a small model of a wired
 * M-Bus with N meters that answers as the kernel would report it. A
 * selection (CI 52 to 253) selects the meters whose address matches
 * (nmbus_secaddr_match()), SND_NKE deselects, REQ_UD2 to 253 is answered
 * by the selected meters; one answer is a FRAME or an ACK, none a TIMEOUT,
 * several a GARBLED window, except that identical E5s sent at exactly the
 * same time may look like one ACK (the "zero skew" buses below).
 *
 * Besides pass/fail, the figures of the search are printed: meters found,
 * exchanges per meter and bus time at 2400 Bd (EN 13757-2 timing: 11 bits
 * per character, silence costs 330 bit times + 50 ms).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "nmbus.h"
#include <nmbus.h>

#define BUS_METERS_MAX	512
#define BAUD		2400.0

struct meter {
	uint8_t sec[8];		/* wire order */
	uint8_t primary;
	bool selected;
	bool found;
};

struct bus {
	struct meter m[BUS_METERS_MAX];
	unsigned int n;
	bool zero_skew;		/* identical replies merge into one */
	unsigned int retries;	/* as set through set_params */
	unsigned long xfers;
	double seconds;		/* bus time */
	uint64_t rng;
};

static uint32_t bus_rand(struct bus *b)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return (uint32_t)(b->rng >> 11);
}

static uint32_t rand_bcd_id(struct bus *b)
{
	uint32_t v = bus_rand(b) % 100000000, id = 0;

	for (int i = 0; i < 8; i++, v /= 10)
		id |= (v % 10) << (4 * i);
	return id;
}

/* Any byte but the wildcard FF. */
static uint8_t rand_byte(struct bus *b)
{
	return (uint8_t)(bus_rand(b) % 0xff);
}

static struct meter *bus_add(struct bus *b, uint32_t id, uint16_t mfr,
			     uint8_t version, uint8_t medium)
{
	struct meter *m = &b->m[b->n++];

	m->sec[0] = id & 0xff;
	m->sec[1] = (id >> 8) & 0xff;
	m->sec[2] = (id >> 16) & 0xff;
	m->sec[3] = id >> 24;
	m->sec[4] = mfr & 0xff;
	m->sec[5] = mfr >> 8;
	m->sec[6] = version;
	m->sec[7] = medium;
	m->primary = 0;
	return m;
}

static bool bus_has(const struct bus *b, const uint8_t *sec)
{
	for (unsigned int i = 0; i < b->n; i++)
		if (!memcmp(b->m[i].sec, sec, 8))
			return true;
	return false;
}

/*
 * @n random meters: random BCD IDs, one in eight equal to an earlier ID
 * (with another manufacturer, version or medium), half with random 16-bit
 * manufacturer codes (hex bytes such as C5 or A0, not only letters).
 */
static void bus_random(struct bus *b, unsigned int n, uint64_t seed)
{
	memset(b, 0, sizeof(*b));
	b->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	while (b->n < n) {
		uint32_t id = rand_bcd_id(b);
		uint16_t mfr = (uint16_t)nmbus_manufacturer_code("ACW");
		uint8_t version = 1, medium = 7;
		uint8_t sec[8];
		struct meter *m;

		if (b->n && bus_rand(b) % 8 == 0) {
			const uint8_t *o = b->m[bus_rand(b) % b->n].sec;

			id = o[0] | o[1] << 8 | o[2] << 16 | (uint32_t)o[3] << 24;
		}
		if (bus_rand(b) % 2)
			mfr = (uint16_t)(rand_byte(b) | rand_byte(b) << 8);
		if (bus_rand(b) % 2)
			version = rand_byte(b);
		if (bus_rand(b) % 4 == 0)
			medium = rand_byte(b);
		m = bus_add(b, id, mfr, version, medium);
		memcpy(sec, m->sec, 8);
		b->n--;
		if (!bus_has(b, sec))
			b->n++;	/* keep it: no two identical addresses */
	}
	for (unsigned int i = 0; i < b->n; i++)
		b->m[i].primary = (uint8_t)(i < 250 ? i + 1 : 0);
}

static double chars(size_t n)
{
	return n * 11 / BAUD;
}

/* The RSP_UD of meter @m, from its address. */
static int meter_rsp(const struct meter *m, uint8_t *buf, size_t size)
{
	struct nmbus_rsp_header h = {
		.manufacturer = (uint16_t)(m->sec[4] | m->sec[5] << 8),
		.version = m->sec[6],
		.medium = m->sec[7],
	};
	uint32_t id = 0;

	for (int i = 3; i >= 0; i--)
		id = id * 100 + (m->sec[i] >> 4) * 10 + (m->sec[i] & 0xf);
	h.id = id;
	return nmbus_build_rsp_ud(buf, size, NMBUS_C_RSP_UD, m->primary, &h,
				  NULL, 0, false);
}

/* Which meters a request to @a reaches. */
static bool meter_addressed(const struct meter *m, uint8_t a)
{
	return a == m->primary || a == 254 || a == 255 ||
	       (a == 253 && m->selected);
}

static int bus_xfer(void *ctx, const uint8_t *tx, size_t tx_len,
		    unsigned int flags, uint8_t *rx, size_t *rx_len)
{
	struct bus *b = ctx;
	uint8_t reply[NMBUS_FRAME_MAX], first[NMBUS_FRAME_MAX];
	size_t first_len = 0;
	unsigned int answers = 0;
	bool differ = false, is_long = tx[0] == 0x68;
	uint8_t c = is_long ? tx[4] : tx[1], a = is_long ? tx[5] : tx[2];
	int len;

	b->xfers++;
	b->seconds += chars(tx_len);
	for (unsigned int i = 0; i < b->n; i++) {
		struct meter *m = &b->m[i];

		if (is_long && tx[6] == NMBUS_CI_SELECT && a == 253) {
			m->selected = nmbus_secaddr_match(tx + 7, 8, m->sec);
			if (!m->selected)
				continue;
			reply[0] = 0xe5;
			len = 1;
		} else if (!meter_addressed(m, a)) {
			continue;
		} else if ((c & 0x4f) == NMBUS_C_SND_NKE) {
			m->selected = false;
			reply[0] = 0xe5;
			len = 1;
		} else if ((c & 0x4f) == NMBUS_C_REQ_UD2) {
			len = meter_rsp(m, reply, sizeof(reply));
		} else {
			continue;
		}
		if (flags & NMBUS_XFER_NO_REPLY || a == 255)
			continue;
		if (answers++ == 0) {
			memcpy(first, reply, (size_t)len);
			first_len = (size_t)len;
		} else if ((size_t)len != first_len ||
			   memcmp(first, reply, first_len)) {
			differ = true;
		}
	}
	if (flags & NMBUS_XFER_NO_REPLY) {
		*rx_len = 0;
		return NMBUS_STATUS_NONE;
	}
	if (!answers) {
		/* Every attempt waits the full window. */
		b->seconds += (b->retries + 1) * (330 / BAUD + 0.050) +
			      b->retries * chars(tx_len);
		*rx_len = 0;
		return NMBUS_STATUS_TIMEOUT;
	}
	b->seconds += 11 / BAUD + chars(first_len);
	if (answers > 1 && (differ || !b->zero_skew)) {
		*rx_len = first_len < *rx_len ? first_len : *rx_len;
		memset(rx, 0x00, *rx_len);
		return NMBUS_STATUS_GARBLED;
	}
	memcpy(rx, first, first_len);
	*rx_len = first_len;
	return first_len == 1 ? NMBUS_STATUS_ACK : NMBUS_STATUS_FRAME;
}

static int bus_set_params(void *ctx, const struct nmbus_dev_params *p)
{
	((struct bus *)ctx)->retries = p->retries;
	return 0;
}

static const struct nmbus_dev_ops bus_ops = {
	.xfer = bus_xfer,
	.set_params = bus_set_params,
};

/* Mark the meter a result names; count unknown and repeated results. */
struct tally {
	struct bus *bus;
	unsigned int found, unknown, repeated, collisions;
};

static int tally_cb(const struct nmbus_scan_result *res, void *arg)
{
	struct tally *t = arg;

	if (res->status == NMBUS_STATUS_GARBLED) {
		t->collisions++;
		return 0;
	}
	for (unsigned int i = 0; i < t->bus->n; i++) {
		struct meter *m = &t->bus->m[i];

		if (memcmp(m->sec, res->secaddr, 8))
			continue;
		if (m->found)
			t->repeated++;
		m->found = true;
		t->found++;
		return 0;
	}
	t->unknown++;
	return 0;
}

static struct bus *bus_new(void)
{
	struct bus *b = calloc(1, sizeof(*b));

	return b;
}

/* Run a full secondary search; the scan's counters in @scan. */
static int search(struct bus *b, struct tally *t, struct nmbus_scan *scan)
{
	struct nmbus_dev *dev = nmbus_dev_new_ops(&bus_ops, b);
	int ret;

	memset(t, 0, sizeof(*t));
	t->bus = b;
	memset(scan, 0, sizeof(*scan));
	scan->read_retries = 2;
	scan->cb = tally_cb;
	scan->arg = t;
	if (!dev)
		return -1;
	ret = nmbus_scan_secondary(dev, NULL, scan);
	nmbus_dev_close(dev);
	return ret;
}

static unsigned int equal_ids(const struct bus *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->n; i++)
		for (unsigned int j = 0; j < i; j++)
			if (!memcmp(b->m[i].sec, b->m[j].sec, 4)) {
				n++;
				break;
			}
	return n;
}

static void search_figures(struct __test_metadata *_metadata,
			   unsigned int n, bool equal, uint64_t seed)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();
	int ret;

	ASSERT_NE(NULL, b);
	bus_random(b, n, seed);
	if (!equal) {
		/* Distinct random IDs: redraw every repeated one. */
		for (unsigned int i = 0; i < b->n; i++) {
			uint32_t id = rand_bcd_id(b);

			b->m[i].sec[0] = id & 0xff;
			b->m[i].sec[1] = (id >> 8) & 0xff;
			b->m[i].sec[2] = (id >> 16) & 0xff;
			b->m[i].sec[3] = id >> 24;
		}
	}
	ret = search(b, &t, &scan);
	EXPECT_EQ((int)n, ret);
	EXPECT_EQ(n, t.found);
	EXPECT_EQ(0, t.unknown);
	EXPECT_EQ(0, t.repeated);
	EXPECT_EQ(0, t.collisions);
	EXPECT_EQ(b->xfers, scan.xfers);
	printf("# secondary search, %3u meters (%u equal IDs): found %u, "
	       "%lu exchanges = %.2f per meter, bus time %.1f s at 2400 Bd\n",
	       n, equal_ids(b), t.found, scan.xfers,
	       (double)scan.xfers / n, b->seconds);
	fflush(stdout);
	if (!equal && n > 1)
		EXPECT_GE(6.0, (double)scan.xfers / n);
	free(b);
}

TEST(search_finds_one_meter_in_three_exchanges)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();

	ASSERT_NE(NULL, b);
	bus_add(b, 0x13653120, 0x14c5, 0x00, 0x04);
	EXPECT_EQ(1, search(b, &t, &scan));
	EXPECT_EQ(1, t.found);
	/* Select all, read, deselect. */
	EXPECT_EQ(3, scan.xfers);
	free(b);
}

TEST(search_of_an_empty_bus_costs_two_exchanges)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();

	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, search(b, &t, &scan));
	EXPECT_EQ(2, scan.xfers);
	free(b);
}

TEST(search_tells_apart_meters_with_equal_ids_by_hex_manufacturer)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();

	ASSERT_NE(NULL, b);
	bus_add(b, 0x12345678, 0x14c5, 0x00, 0x04);
	bus_add(b, 0x12345678, 0xa0c5, 0x00, 0x04);
	bus_add(b, 0x12345678, 0xa0c5, 0x0e, 0x04);	/* version differs */
	bus_add(b, 0x12345678, 0xa0c5, 0x0e, 0x16);	/* medium differs */
	bus_add(b, 0x87654321, 0xa0c5, 0x0e, 0x16);
	EXPECT_EQ(5, search(b, &t, &scan));
	EXPECT_EQ(5, t.found);
	EXPECT_EQ(0, t.collisions);
	EXPECT_EQ(0, t.repeated);
	free(b);
}

TEST(search_with_simultaneous_acks_still_separates_meters)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();

	ASSERT_NE(NULL, b);
	bus_random(b, 30, 7);
	b->zero_skew = true;
	EXPECT_EQ(30, search(b, &t, &scan));
	EXPECT_EQ(30, t.found);
	EXPECT_EQ(0, t.unknown);
	EXPECT_EQ(0, t.repeated);
	free(b);
}

TEST(search_with_a_mask_finds_only_matching_meters)
{
	uint8_t mask[8];
	struct nmbus_scan scan = { .read_retries = 2 };
	struct tally t = { 0 };
	struct bus *b = bus_new();
	struct nmbus_dev *dev;

	ASSERT_NE(NULL, b);
	bus_add(b, 0x12345678, 0x14c5, 0x00, 0x04);
	bus_add(b, 0x12345679, 0x14c5, 0x00, 0x04);
	bus_add(b, 0x22345678, 0x14c5, 0x00, 0x04);
	ASSERT_EQ(0, nmbus_secaddr_parse("1FFFFFFFFFFFFFFF", mask));
	dev = nmbus_dev_new_ops(&bus_ops, b);
	ASSERT_NE(NULL, dev);
	t.bus = b;
	scan.cb = tally_cb;
	scan.arg = &t;
	EXPECT_EQ(2, nmbus_scan_secondary(dev, mask, &scan));
	EXPECT_TRUE(b->m[0].found);
	EXPECT_TRUE(b->m[1].found);
	EXPECT_FALSE(b->m[2].found);
	nmbus_dev_close(dev);
	free(b);
}

TEST(identical_addresses_are_reported_as_a_collision)
{
	struct nmbus_scan scan;
	struct tally t;
	struct bus *b = bus_new();

	ASSERT_NE(NULL, b);
	bus_add(b, 0x11111111, 0x14c5, 0x00, 0x04);
	bus_add(b, 0x11111111, 0x14c5, 0x00, 0x04);
	bus_add(b, 0x22222222, 0x14c5, 0x00, 0x04);
	EXPECT_EQ(1, search(b, &t, &scan));
	EXPECT_EQ(1, t.collisions);
	EXPECT_TRUE(b->m[2].found);
	free(b);
}

static int stop_cb(const struct nmbus_scan_result *res, void *arg)
{
	(void)res;
	(void)arg;
	return 1;
}

TEST(callback_can_stop_a_search)
{
	struct nmbus_scan scan = { 0 };
	struct bus *b = bus_new();
	struct nmbus_dev *dev;

	ASSERT_NE(NULL, b);
	bus_random(b, 10, 3);
	dev = nmbus_dev_new_ops(&bus_ops, b);
	ASSERT_NE(NULL, dev);
	scan.cb = stop_cb;
	errno = 0;
	EXPECT_EQ(-1, nmbus_scan_secondary(dev, NULL, &scan));
	EXPECT_EQ(ECANCELED, errno);
	EXPECT_EQ(1, scan.found);
	nmbus_dev_close(dev);
	free(b);
}

TEST(primary_scan_finds_meters_and_same_address_collisions)
{
	struct nmbus_scan scan = { .retries = 0, .read_retries = 2 };
	struct tally t = { 0 };
	struct bus *b = bus_new();
	struct nmbus_dev *dev;

	ASSERT_NE(NULL, b);
	bus_add(b, 0x11111111, 0x14c5, 0x00, 0x04)->primary = 1;
	bus_add(b, 0x22222222, 0x14c5, 0x00, 0x04)->primary = 5;
	bus_add(b, 0x33333333, 0x14c5, 0x00, 0x04)->primary = 9;
	bus_add(b, 0x44444444, 0x14c5, 0x00, 0x04)->primary = 9;
	dev = nmbus_dev_new_ops(&bus_ops, b);
	ASSERT_NE(NULL, dev);
	t.bus = b;
	scan.cb = tally_cb;
	scan.arg = &t;
	EXPECT_EQ(2, nmbus_scan_primary(dev, 0, 250, &scan));
	EXPECT_TRUE(b->m[0].found);
	EXPECT_TRUE(b->m[1].found);
	EXPECT_EQ(1, t.collisions);
	/* 251 probes, 2 reads. */
	EXPECT_EQ(253, scan.xfers);
	printf("# primary scan 0..250, 4 meters: %lu exchanges, bus time "
	       "%.1f s at 2400 Bd\n", scan.xfers, b->seconds);
	fflush(stdout);
	/* The probe retries are set while scanning, restored after. */
	EXPECT_EQ(2, b->retries);
	nmbus_dev_close(dev);
	free(b);
}

TEST(primary_scan_with_req_ud2_reads_in_one_exchange)
{
	struct nmbus_scan scan = { .flags = NMBUS_SCAN_UD2 };
	struct tally t = { 0 };
	struct bus *b = bus_new();
	struct nmbus_dev *dev;

	ASSERT_NE(NULL, b);
	bus_add(b, 0x11111111, 0x14c5, 0x00, 0x04)->primary = 7;
	dev = nmbus_dev_new_ops(&bus_ops, b);
	ASSERT_NE(NULL, dev);
	t.bus = b;
	scan.cb = tally_cb;
	scan.arg = &t;
	EXPECT_EQ(1, nmbus_scan_primary(dev, 5, 9, &scan));
	EXPECT_EQ(5, scan.xfers);
	EXPECT_TRUE(b->m[0].found);
	nmbus_dev_close(dev);
	free(b);
}

/* A meter that sends @total telegrams, all but the last ending in 1F. */
struct telegrams {
	unsigned int total, sent;
	unsigned int flags_seen;
};

static int tg_xfer(void *ctx, const uint8_t *tx, size_t tx_len,
		   unsigned int flags, uint8_t *rx, size_t *rx_len)
{
	struct telegrams *t = ctx;
	struct nmbus_rsp_header h = { .id = 12345678, .manufacturer = 0x14c5,
				      .medium = 4, .access = (uint8_t)t->sent };
	struct nmbus_build_record rec = { .drh = "\x04\x13",
					  .type = NMBUS_BUILD_INT,
					  .i = t->sent };
	int len;

	(void)tx_len;
	if (tx[0] != 0x10 || (tx[1] & 0x4f) != NMBUS_C_REQ_UD2)
		return -EINVAL;
	t->flags_seen |= flags;
	t->sent++;
	len = nmbus_build_rsp_ud(rx, *rx_len, NMBUS_C_RSP_UD, 1, &h, &rec, 1,
				 t->sent < t->total);
	if (len < 0)
		return len;
	*rx_len = (size_t)len;
	return NMBUS_STATUS_FRAME;
}

static const struct nmbus_dev_ops tg_ops = { .xfer = tg_xfer };

static int count_cb(const uint8_t *buf, size_t len, unsigned int index,
		    void *arg)
{
	unsigned int *n = arg;

	(void)buf;
	(void)len;
	return index == (*n)++ ? 0 : -1;
}

TEST(readout_follows_more_records_follow_to_the_last_telegram)
{
	struct telegrams t = { .total = 3 };
	struct nmbus_dev *dev = nmbus_dev_new_ops(&tg_ops, &t);
	unsigned int n = 0;

	ASSERT_NE(NULL, dev);
	EXPECT_EQ(3, nmbus_read_telegrams(dev, 16, count_cb, &n));
	EXPECT_EQ(3, n);
	EXPECT_EQ(3, t.sent);
	EXPECT_EQ(NMBUS_XFER_ADDRESSED | NMBUS_XFER_FCB, t.flags_seen);
	nmbus_dev_close(dev);
}

TEST(readout_stops_at_the_bound)
{
	struct telegrams t = { .total = 100 };
	struct nmbus_dev *dev = nmbus_dev_new_ops(&tg_ops, &t);
	unsigned int n = 0;

	ASSERT_NE(NULL, dev);
	EXPECT_EQ(4, nmbus_read_telegrams(dev, 4, count_cb, &n));
	EXPECT_EQ(4, t.sent);
	nmbus_dev_close(dev);
}

TEST(readout_of_a_silent_meter_times_out)
{
	struct bus *b = bus_new();
	struct nmbus_dev *dev;

	ASSERT_NE(NULL, b);
	dev = nmbus_dev_new_ops(&bus_ops, b);
	ASSERT_NE(NULL, dev);
	errno = 0;
	EXPECT_EQ(-1, nmbus_read_telegrams(dev, 4, NULL, NULL));
	EXPECT_EQ(ETIMEDOUT, errno);
	nmbus_dev_close(dev);
	free(b);
}

TEST(search_figures_1_meter)
{
	search_figures(_metadata, 1, false, 1);
}

TEST(search_figures_10_random_meters)
{
	search_figures(_metadata, 10, false, 2);
}

TEST(search_figures_50_random_meters)
{
	search_figures(_metadata, 50, false, 3);
}

TEST(search_figures_250_random_meters)
{
	search_figures(_metadata, 250, false, 4);
}

TEST(search_figures_10_meters_with_equal_ids)
{
	search_figures(_metadata, 10, true, 5);
}

TEST(search_figures_50_meters_with_equal_ids)
{
	search_figures(_metadata, 50, true, 6);
}

TEST(search_figures_250_meters_with_equal_ids)
{
	search_figures(_metadata, 250, true, 8);
}

TEST_HARNESS_MAIN
