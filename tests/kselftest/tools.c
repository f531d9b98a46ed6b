// SPDX-License-Identifier: GPL-2.0
/*
 * The scan and read tools on a simulated bus: mbus-sim plays five meters
 * on a pty (two with the same identification number and manufacturer,
 * hex manufacturer and version bytes, a CMi1020 with a two-telegram
 * readout), N_MBUS is attached to its slave side, and mbus-scan,
 * mbus-read and mbus-send (static binaries in /tools) must find exactly
 * those meters and read their values.
 *
 * Everything runs at 9600 Bd: every silent secondary probe costs a
 * response window (330 bit times + 50 ms). tests/kselftest/search.c
 * covers the secondary search on the buses of issue 13.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define OUT_MAX		65536

/* The meters, and their secondary addresses IIIIIIIIMMMMVVDD. */
static const char *const sim_args[] = {
	"--meter", "heat,id=12345678,addr=1,man=C514,version=01,baud=9600",
	"--meter", "water,id=12345678,addr=2,man=C514,version=01,baud=9600",
	"--meter", "heat,id=87654321,addr=3,man=A5B6,version=A7,baud=9600",
	"--meter", "water,id=42,addr=4,man=SIM,version=01,baud=9600",
	"--meter", "cmi1020,id=55555555,addr=5,baud=9600",
	NULL
};

static const char *const sim_secondary[] = {
	"1234567814C50104",
	"1234567814C50107",
	"87654321B6A5A704",
	"00000042", /* + SIM 01 07, completed in setup */
	"55555555", /* + ELV 02 00 */
};

#define NMETERS	(sizeof(sim_secondary) / sizeof(sim_secondary[0]))

FIXTURE(bus) {
	pid_t sim;
	int tty;
	int index;
	char dev[16];
	char pty[64];
	char secondary[NMETERS][17];
	char out[OUT_MAX];
};

FIXTURE_SETUP(bus)
{
	char pty[64];
	int mfr;

	ASSERT_EQ(0, ksft_mbus_load());
	self->sim = ksft_sim_start(pty, sizeof(pty), sim_args);
	snprintf(self->pty, sizeof(self->pty), "%s", pty);
	ASSERT_LT(0, self->sim) TH_LOG("cannot start " KSFT_TOOLS "mbus-sim");
	self->tty = ksft_mbus_attach_tty(pty, &self->index);
	ASSERT_LE(0, self->tty) TH_LOG("%s: %s", pty, strerror(-self->tty));
	ASSERT_TRUE(ksft_mbus_wait_node(self->index, true, 2000));
	snprintf(self->dev, sizeof(self->dev), "mbus%d", self->index);
	for (size_t i = 0; i < NMETERS; i++)
		snprintf(self->secondary[i], sizeof(self->secondary[i]), "%s",
			 sim_secondary[i]);
	/* 'S' 'I' 'M' and 'E' 'L' 'V' as 15-bit codes, sent LSB first. */
	mfr = ((('S' - 64) << 10) | (('I' - 64) << 5) | ('M' - 64));
	snprintf(self->secondary[3] + 8, 9, "%02X%02X0107", mfr & 0xff,
		 mfr >> 8);
	mfr = ((('E' - 64) << 10) | (('L' - 64) << 5) | ('V' - 64));
	snprintf(self->secondary[4] + 8, 9, "%02X%02X0200", mfr & 0xff,
		 mfr >> 8);
}

FIXTURE_TEARDOWN(bus)
{
	if (self->tty >= 0) {
		ksft_mbus_detach(self->tty);
		close(self->tty);
	}
	ksft_sim_stop(self->sim);
}

/* Run a tool with its NULL-terminated arguments; standard output only. */
#define run(out, size, ...) ksft_tool_run(out, size, NULL, 0, __VA_ARGS__)

/* Show what a tool printed, as TAP comments. */
static void show(const char *what, const char *out, long long us)
{
	const char *p = out, *nl;

	printf("# %s (%.1f s):\n", what, us / 1e6);
	for (; *p && (nl = strchr(p, '\n')); p = nl + 1)
		printf("#   %.*s\n", (int)(nl - p), p);
	fflush(stdout);
}

static unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of @out names one of the meters, each meter exactly once. */
static bool lists_exactly(struct __test_metadata *_metadata,
			  FIXTURE_DATA(bus) *self, const char *fmt)
{
	char key[64];
	bool ok = true;

	for (size_t i = 0; i < NMETERS; i++) {
		const char *hit;

		snprintf(key, sizeof(key), fmt, self->secondary[i]);
		hit = strstr(self->out, key);
		if (!hit || strstr(hit + 1, key)) {
			TH_LOG("%s found %s times", self->secondary[i],
			       hit ? "several" : "no");
			ok = false;
		}
	}
	if (count_lines(self->out) != NMETERS) {
		TH_LOG("%u lines, %zu meters", count_lines(self->out),
		       NMETERS);
		ok = false;
	}
	if (!ok)
		TH_LOG("output:\n%s", self->out);
	return ok;
}

TEST_F_TIMEOUT(bus, secondary_search_finds_every_meter_with_equal_ids, 300)
{
	long long t0 = ksft_now_us();

	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--baud", "9600", "--secondary", "--json", self->dev,
			 NULL));
	show("mbus-scan --secondary --json", self->out, ksft_now_us() - t0);
	EXPECT_TRUE(lists_exactly(_metadata, self, "\"secondary\":\"%s\""));
	EXPECT_NE(NULL, strstr(self->out, "\"id\":\"00000042\","
				 "\"manufacturer\":\"SIM\",\"version\":1,"
				 "\"medium\":\"water\",\"medium_code\":7,"
				 "\"primary\":4,"));
	EXPECT_NE(NULL, strstr(self->out, "\"baud\":9600"));
}

TEST_F_TIMEOUT(bus, secondary_search_with_a_mask_finds_the_matching_meters,
	       120)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--baud", "9600", "--secondary=8FFFFFFFFFFFFFFF",
			 self->dev, NULL));
	EXPECT_EQ(1, count_lines(self->out)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "  3 87654321B6A5A704 ")) TH_LOG(
		"%s", self->out);
}

TEST_F_TIMEOUT(bus, primary_scan_finds_every_meter, 120)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--baud", "9600", "--range", "0-7", "--json",
			 self->dev, NULL));
	EXPECT_TRUE(lists_exactly(_metadata, self, "\"secondary\":\"%s\""));
	for (int a = 1; a <= 5; a++) {
		char key[32];

		snprintf(key, sizeof(key), "\"primary\":%d,", a);
		EXPECT_NE(NULL, strstr(self->out, key)) TH_LOG("%s", key);
	}
}

TEST_F_TIMEOUT(bus, primary_scan_text_has_one_line_per_meter, 120)
{
	long long t0 = ksft_now_us();

	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--baud=9600", "--range=1-5", self->dev, NULL));
	show("mbus-scan --range=1-5", self->out, ksft_now_us() - t0);
	EXPECT_TRUE(lists_exactly(_metadata, self, " %s "));
	EXPECT_NE(NULL, strstr(self->out, "  1 1234567814C50104 ")) TH_LOG(
		"%s", self->out);
}

TEST_F_TIMEOUT(bus, scan_at_all_bauds_finds_the_meters_at_their_rate, 120)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--all-bauds", "--ud2", "--range=1-5", "--json",
			 self->dev, NULL));
	EXPECT_TRUE(lists_exactly(_metadata, self, "\"secondary\":\"%s\""));
	EXPECT_EQ(NULL, strstr(self->out, "\"baud\":2400"));
	/* The port is back at 2400 Bd, where the meters do not hear. */
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "mbus-send",
			 "--retries=0", self->dev, "10 40 02 42 16", NULL));
	EXPECT_STREQ("TIMEOUT\n", self->out);
}

TEST_F_TIMEOUT(bus, auto_scan_finds_every_meter, 300)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-scan",
			 "--baud", "9600", "--auto", "--json", self->dev,
			 NULL));
	EXPECT_TRUE(lists_exactly(_metadata, self, "\"secondary\":\"%s\""));
}

TEST_F_TIMEOUT(bus, read_by_primary_address_gives_the_values, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-read",
			 "--baud", "9600", self->dev, "1", NULL));
	EXPECT_EQ(1, count_lines(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"id\":\"12345678\""));
	EXPECT_NE(NULL, strstr(self->out, "\"medium\":\"heat")) TH_LOG(
		"%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "456.789")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":false"));
}

TEST_F_TIMEOUT(bus, read_by_secondary_address_selects_the_meter, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-read", "--nke",
			 "--baud", "9600", self->dev, "1234567814C50107",
			 NULL));
	EXPECT_EQ(1, count_lines(self->out));
	EXPECT_NE(NULL, strstr(self->out, "\"medium_code\":7")) TH_LOG(
		"%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "123.456")) TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(bus, read_follows_a_multi_telegram_readout, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-read", "--nke",
			 "--baud", "9600", self->dev, "5", NULL));
	EXPECT_EQ(2, count_lines(self->out)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":true"));
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":false"));
}

TEST_F_TIMEOUT(bus, read_by_wildcard_address_follows_the_telegrams, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-read",
			 "--baud", "9600", self->dev, "55555555FFFFFFFF",
			 NULL));
	EXPECT_EQ(2, count_lines(self->out)) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":true"));
	EXPECT_NE(NULL, strstr(self->out, "\"more_records_follow\":false"));
}

TEST_F_TIMEOUT(bus, read_by_an_ambiguous_mask_fails, 120)
{
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "mbus-read",
			 "--baud", "9600", self->dev, "12345678FFFFFFFF",
			 NULL));
	EXPECT_STREQ("", self->out);
}

TEST_F_TIMEOUT(bus, read_of_an_absent_meter_fails, 60)
{
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "mbus-read",
			 "--baud", "9600", "--retries", "0", self->dev, "9",
			 NULL));
	EXPECT_STREQ("", self->out);
}

TEST_F_TIMEOUT(bus, read_formats_xml, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-read",
			 "--baud", "9600", "--format=xml", self->dev, "3",
			 NULL));
	EXPECT_NE(NULL, strstr(self->out, "<MBusData>")) TH_LOG("%s",
								 self->out);
	EXPECT_NE(NULL, strstr(self->out, "87654321"));
}

TEST_F_TIMEOUT(bus, send_prints_the_status_and_the_reply, 60)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-send",
			 "--baud", "9600", self->dev, "10 40 02 42 16", NULL));
	EXPECT_STREQ("ACK E5\n", self->out);
	EXPECT_EQ(1, run(self->out, sizeof(self->out), "mbus-send",
			 "--retries=0", self->dev, "104009", "4916", NULL));
	EXPECT_STREQ("TIMEOUT\n", self->out);
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "mbus-send",
			 "--no-reply", self->dev, "10 40 FF 3F 16", NULL));
	EXPECT_STREQ("NONE\n", self->out);
}

TEST_F_TIMEOUT(bus, device_can_be_named_by_number_path_or_tty, 60)
{
	char num[16], path[32];

	snprintf(num, sizeof(num), "%d", self->index);
	snprintf(path, sizeof(path), "/dev/mbus%d", self->index);
	EXPECT_EQ(0, run(self->out, sizeof(self->out), "mbus-send",
			 "--baud", "9600", num, "10 40 02 42 16", NULL));
	EXPECT_STREQ("ACK E5\n", self->out);
	EXPECT_EQ(0, run(self->out, sizeof(self->out), "mbus-send",
			 path, "10 40 02 42 16", NULL));
	EXPECT_STREQ("ACK E5\n", self->out);
	EXPECT_EQ(0, run(self->out, sizeof(self->out), "mbus-send",
			 self->pty, "10 40 02 42 16", NULL));
	EXPECT_STREQ("ACK E5\n", self->out);
}

TEST_HARNESS_MAIN
