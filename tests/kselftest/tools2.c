// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration tools on a simulated bus: mbus-sim plays five meters
 * on a pty at 2400 Bd, N_MBUS is attached to its slave side, and
 * mbus-set-address, mbus-set-baud and mbus-cmd (static binaries in
 * /tools) must change what the meters say they can change, and mbus-read
 * and mbus-scan must then find them as changed.
 *
 * On a pty the simulator reads the line rate from the master's termios,
 * so it follows the port when mbus-set-baud switches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define OUT_MAX		65536	/* mbus-read --history: 16 telegrams */

/* The meters; all at the port's default rate, 2400 Bd. */
static const char *const sim_args[] = {
	"--meter", "heat,id=11111111,addr=1",
	"--meter", "water,id=22222222,addr=2",
	"--meter", "calec,id=33333333,addr=3",
	"--meter", "heat,id=44444444,addr=4",
	"--meter", "cmi1020,id=55555555,addr=5",
	NULL
};

FIXTURE(bus) {
	pid_t sim;
	int tty;
	char dev[16];
	char out[OUT_MAX];
	char err[OUT_MAX];
};

FIXTURE_SETUP(bus)
{
	char pty[64];
	int index;

	self->tty = -1;
	ASSERT_EQ(0, ksft_mbus_load());
	self->sim = ksft_sim_start(pty, sizeof(pty), sim_args);
	ASSERT_LT(0, self->sim) TH_LOG("cannot start " KSFT_TOOLS "mbus-sim");
	self->tty = ksft_mbus_attach_tty(pty, &index);
	ASSERT_LE(0, self->tty) TH_LOG("%s: %s", pty, strerror(-self->tty));
	ASSERT_TRUE(ksft_mbus_wait_node(index, true, 2000));
	snprintf(self->dev, sizeof(self->dev), "mbus%d", index);
}

FIXTURE_TEARDOWN(bus)
{
	if (self->tty >= 0) {
		ksft_mbus_detach(self->tty);
		close(self->tty);
	}
	ksft_sim_stop(self->sim);
}

/*
 * Run a tool of /tools with the arguments given; its standard output lands
 * in self->out, its standard error in self->err. Returns the exit status,
 * or -1.
 */
#define RUN(prog, ...)							\
	ksft_tool_run(self->out, sizeof(self->out), self->err,		\
		      sizeof(self->err), prog, __VA_ARGS__, NULL)

#define HAS(buf, s)	(strstr((buf), (s)) != NULL)

TEST_F_TIMEOUT(bus, set_primary_address_moves_the_meter, 120)
{
	ASSERT_EQ(0, RUN("mbus-set-address", self->dev, "1", "7"))
		TH_LOG("%s%s", self->out, self->err);
	EXPECT_TRUE(HAS(self->out, " 1 -> 7: ok")) TH_LOG("%s", self->out);

	EXPECT_EQ(0, RUN("mbus-read", self->dev, "7")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"id\":\"11111111\"")) TH_LOG(
		"%s", self->out);
	EXPECT_EQ(1, RUN("mbus-read", "--retries=0", self->dev, "1"));
	EXPECT_STREQ("", self->out);
}

TEST_F_TIMEOUT(bus, set_primary_address_by_secondary_address, 120)
{
	ASSERT_EQ(0, RUN("mbus-set-address", "--json", self->dev,
			 "44444444FFFFFFFF", "40"))
		TH_LOG("%s%s", self->out, self->err);
	EXPECT_TRUE(HAS(self->out, "\"new\":\"40\",\"ok\":true}")) TH_LOG(
		"%s", self->out);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "40")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"id\":\"44444444\""));
}

TEST_F_TIMEOUT(bus, set_secondary_address_is_found_by_a_secondary_search, 120)
{
	ASSERT_EQ(0, RUN("mbus-set-address", "--json", self->dev, "2",
			 "66666666"))
		TH_LOG("%s%s", self->out, self->err);
	EXPECT_TRUE(HAS(self->out, "\"new\":\"66666666")) TH_LOG("%s",
								  self->out);
	EXPECT_TRUE(HAS(self->out, "\"ok\":true")) TH_LOG("%s", self->out);

	ASSERT_EQ(0, RUN("mbus-scan", "--secondary=66666666FFFFFFFF",
			 self->dev));
	EXPECT_TRUE(HAS(self->out, "  2 66666666")) TH_LOG("%s", self->out);
	ASSERT_EQ(0, RUN("mbus-scan", "--secondary=22222222FFFFFFFF",
			 self->dev));
	EXPECT_STREQ("", self->out);
}

TEST_F_TIMEOUT(bus, set_secondary_address_by_a_wildcard_address, 120)
{
	ASSERT_EQ(0, RUN("mbus-set-address", self->dev, "11111111FFFFFFFF",
			 "77777777FFFFFFFF"))
		TH_LOG("%s%s", self->out, self->err);
	EXPECT_TRUE(HAS(self->out, " -> 77777777")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "1"));
	EXPECT_TRUE(HAS(self->out, "\"id\":\"77777777\"")) TH_LOG(
		"%s", self->out);
}

TEST_F_TIMEOUT(bus, set_secondary_address_keeps_the_manufacturer, 120)
{
	/* SND_UD 0C 79 changes only the identification number. */
	EXPECT_EQ(1, RUN("mbus-set-address", self->dev, "2",
			 "6666666612340107"));
	EXPECT_TRUE(HAS(self->err, "only the identification number")) TH_LOG(
		"%s", self->err);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "2"));
	EXPECT_TRUE(HAS(self->out, "\"id\":\"22222222\""));
}

TEST_F_TIMEOUT(bus, set_baud_switches_meter_and_port, 120)
{
	ASSERT_EQ(0, RUN("mbus-set-baud", "--json", self->dev, "4", "9600"))
		TH_LOG("%s%s", self->out, self->err);
	EXPECT_TRUE(HAS(self->out, "\"old_baud\":2400,\"baud\":9600,"
				   "\"ok\":true")) TH_LOG("%s", self->out);
	/* The port stays at 9600 Bd: a plain read reaches the meter. */
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "4")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"id\":\"44444444\""));
	EXPECT_EQ(0, RUN("mbus-read", "--baud=9600", self->dev, "4"));
}

TEST_F_TIMEOUT(bus, set_baud_restores_the_port_when_the_meter_stays, 120)
{
	/* The CMi1020 acknowledges 19200 Bd but keeps its rate. */
	EXPECT_EQ(1, RUN("mbus-set-baud", "--retries=0", self->dev, "5",
			 "19200"));
	EXPECT_TRUE(HAS(self->out, "FAILED")) TH_LOG("%s", self->out);
	EXPECT_TRUE(HAS(self->err, "back at 2400 Bd")) TH_LOG("%s", self->err);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "5")) TH_LOG("%s", self->err);
}

TEST_F_TIMEOUT(bus, set_baud_to_a_rate_the_meter_lacks_fails, 120)
{
	/* The CALEC ST II speaks 300, 2400 and 9600 Bd only. */
	EXPECT_EQ(1, RUN("mbus-set-baud", "--retries=0", self->dev, "3",
			 "4800"));
	EXPECT_TRUE(HAS(self->err, "no answer")) TH_LOG("%s", self->err);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
}

TEST_F_TIMEOUT(bus, cmd_set_datetime_is_acknowledged, 60)
{
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "3", "set-datetime",
			 "2025-06-01T12:30")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "set-datetime: ok")) TH_LOG("%s",
							      self->out);
	EXPECT_EQ(0, RUN("mbus-cmd", "--json", self->dev, "1",
			 "set-datetime"));
	EXPECT_TRUE(HAS(self->out, "\"command\":\"set-datetime\",\"ok\":true"))
		TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(bus, cmd_freeze_and_reset_are_acknowledged, 60)
{
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "3", "freeze"))
		TH_LOG("%s", self->err);
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "3", "reset"))
		TH_LOG("%s", self->err);
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "5", "reset", "B0"))
		TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "reset: ok")) TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(bus, cmd_select_telegram_is_acknowledged, 60)
{
	static const char *const sel[][2] = {
		{ "standard", NULL }, { "service", NULL }, { "freeze", NULL },
		{ "due-day", "3" }, { "logger", "500" },
	};

	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "3",
				 "select-telegram", sel[i][0], sel[i][1]))
			TH_LOG("%s: %s", sel[i][0], self->err);
	}
	/* The selection applies to the next readout. */
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
}

TEST_F_TIMEOUT(bus, cmd_elvaco_commands_are_acknowledged, 60)
{
	EXPECT_EQ(0, RUN("mbus-cmd", "--json", self->dev, "5", "elvaco",
			 "04")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"ok\":true")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "55555555FFFFFFFF", "elvaco",
			 "0x21", "01 02")) TH_LOG("%s", self->err);
	/* A command byte the CMi1020 does not know is not acknowledged. */
	EXPECT_EQ(1, RUN("mbus-cmd", "--retries=0", self->dev, "5", "elvaco",
			 "7F"));
	EXPECT_TRUE(HAS(self->out, "elvaco: FAILED")) TH_LOG("%s", self->out);
	/* Nor is one sent to a meter that is no Elvaco. */
	EXPECT_EQ(1, RUN("mbus-cmd", "--retries=0", self->dev, "1", "elvaco",
			 "04"));
}

/* Lines of @buf that contain @s. */
static int count_lines(const char *buf, const char *s)
{
	size_t n = strlen(s);
	int lines = 0;

	while (*buf) {
		const char *end = strchrnul(buf, '\n');

		for (const char *p = buf; p + n <= end; p++) {
			if (!memcmp(p, s, n)) {
				lines++;
				break;
			}
		}
		buf = *end ? end + 1 : end;
	}
	return lines;
}

TEST_F_TIMEOUT(bus, cmd_broadcast_reaches_every_meter_unacknowledged, 60)
{
	/* Address 255: sent once, no meter answers (EN 13757-2). */
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "255", "set-datetime",
			 "2025-06-01T12:30")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "255 set-datetime: sent to every meter"))
		TH_LOG("%s", self->out);
	/* Every CALEC takes a broadcast telegram selection. */
	EXPECT_EQ(0, RUN("mbus-cmd", "--json", self->dev, "255",
			 "select-telegram", "due-day", "2"))
		TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"ok\":true,\"broadcast\":true"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"storage\":2,")) TH_LOG("%s", self->out);
	EXPECT_TRUE(HAS(self->out, "\"storage_name\":\"due day\""));
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "255", "select-telegram",
			 "standard"));
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
	EXPECT_FALSE(HAS(self->out, "due day")) TH_LOG("%s", self->out);
	/* The secondary selection is not involved; 256 is no address. */
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "256", "freeze"));
}

TEST_F_TIMEOUT(bus, cmd_elvaco_disconnector_switches_the_cmi1020, 60)
{
	/* 01 FD 1A 80: EEPROM setting off (seed 004, 6.7.8). */
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "5", "elvaco", "disconnector",
			 "off")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "elvaco: ok")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "5")) TH_LOG("%s", self->err);
	/* Status 96h: off (10), push-buttons enabled, actual state off. */
	EXPECT_TRUE(HAS(self->out, "\"quantity\":\"digital output\","
				   "\"unit\":\"\",\"value\":150,"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "5", "elvaco", "disconnector",
			 "0x40"));
	EXPECT_EQ(0, RUN("mbus-read", self->dev, "5"));
	EXPECT_TRUE(HAS(self->out, "\"value\":85,")) TH_LOG("%s", self->out);
	/* A heat meter has no disconnector: not acknowledged. */
	EXPECT_EQ(1, RUN("mbus-cmd", "--retries=0", self->dev, "1", "elvaco",
			 "disconnector", "on"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "5", "elvaco", "disconnector",
			 "half"));
}

/*
 * The CMi1020's telegram of the simulator decodes with the OBIS codes of
 * its manual's table 6, in the IEC 62056-61 form, by medium 00h.
 */
TEST_F_TIMEOUT(bus, read_cmi1020_prints_obis_codes, 60)
{
	ASSERT_EQ(0, RUN("mbus-read", self->dev, "5")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"medium_code\":0,")) TH_LOG("%s",
								 self->out);
	EXPECT_TRUE(HAS(self->out, "\"device_name\":\"Elvaco CMi1020\""));
	EXPECT_TRUE(HAS(self->out, "\"obis\":\"1-0:1.8.0\""));
	EXPECT_TRUE(HAS(self->out, "\"obis\":\"1-0:3.8.0\""));
	EXPECT_TRUE(HAS(self->out, "\"obis\":\"1-0:52.7.0\""));
	EXPECT_TRUE(HAS(self->out, "\"obis\":\"0-0:97.97.0\""));
	ASSERT_EQ(0, RUN("mbus-read", "--format=text", self->dev, "5"));
	EXPECT_TRUE(HAS(self->out, "(OBIS 1-0:1.8.0)")) TH_LOG("%s", self->out);
}

TEST_F_TIMEOUT(bus, read_history_walks_the_calec_and_selects_standard, 120)
{
	char want[64];

	ASSERT_EQ(0, RUN("mbus-read", "--history", self->dev, "3"))
		TH_LOG("%s%s", self->out, self->err);
	/* Standard telegram, 12 due days, loggers 1..3 (4 is empty). */
	EXPECT_EQ(16, count_lines(self->out, "\"frame\":"))
		TH_LOG("%s", self->out);
	EXPECT_EQ(12, count_lines(self->out, "\"storage_name\":\"due day\""));
	EXPECT_EQ(3, count_lines(self->out, "\"storage_name\":\"logger\""));
	for (int day = 1; day <= 12; day++) {
		snprintf(want, sizeof(want), "{\"storage\":%d,", day);
		EXPECT_TRUE(HAS(self->out, want)) TH_LOG("due day %d", day);
	}
	EXPECT_TRUE(HAS(self->out, "{\"storage\":102,"));
	EXPECT_FALSE(HAS(self->out, "{\"storage\":103,"));
	/* The meter is back at its standard telegram. */
	ASSERT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
	EXPECT_EQ(1, count_lines(self->out, "\"frame\":"));
	EXPECT_TRUE(HAS(self->out, "\"storage_name\":\"current\""));
	EXPECT_FALSE(HAS(self->out, "due day"));

	/* After a freeze, its values. */
	ASSERT_EQ(0, RUN("mbus-cmd", self->dev, "3", "freeze"));
	ASSERT_EQ(0, RUN("mbus-read", "--history=freeze", self->dev, "3"))
		TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "\"storage_name\":\"freeze\""))
		TH_LOG("%s", self->out);
	/* Only a CALEC ST II has this history. */
	EXPECT_EQ(1, RUN("mbus-read", "--history", self->dev, "1"));
	EXPECT_TRUE(HAS(self->err, "no CALEC ST II")) TH_LOG("%s", self->err);
	EXPECT_EQ(2, RUN("mbus-read", "--history=all-of-it", self->dev, "3"));
}

/* CALEC ST II service telegram (table 15): storage 1..8 are indices. */
TEST_F_TIMEOUT(bus, read_calec_service_telegram_names_indices, 60)
{
	ASSERT_EQ(0, RUN("mbus-cmd", self->dev, "3", "select-telegram",
			 "service")) TH_LOG("%s", self->err);
	ASSERT_EQ(0, RUN("mbus-read", self->dev, "3")) TH_LOG("%s", self->err);
	EXPECT_TRUE(HAS(self->out, "{\"storage\":8,")) TH_LOG("%s", self->out);
	EXPECT_TRUE(HAS(self->out, "\"storage_name\":\"index\""));
	EXPECT_FALSE(HAS(self->out, "due day"));
	EXPECT_EQ(0, RUN("mbus-cmd", self->dev, "3", "select-telegram",
			 "standard"));
}

TEST_F_TIMEOUT(bus, tools_fail_on_an_absent_meter, 60)
{
	EXPECT_EQ(1, RUN("mbus-set-address", "--retries=0", self->dev, "9",
			 "10"));
	EXPECT_TRUE(HAS(self->err, "no answer")) TH_LOG("%s", self->err);
	EXPECT_EQ(1, RUN("mbus-set-baud", "--retries=0", self->dev, "9",
			 "9600"));
	EXPECT_TRUE(HAS(self->err, "no answer")) TH_LOG("%s", self->err);
	EXPECT_EQ(1, RUN("mbus-cmd", "--retries=0", self->dev, "9",
			 "freeze"));
	EXPECT_TRUE(HAS(self->err, "no answer")) TH_LOG("%s", self->err);
	EXPECT_EQ(1, RUN("mbus-cmd", self->dev, "99999999FFFFFFFF",
			 "freeze"));
	EXPECT_TRUE(HAS(self->err, "no meter matches")) TH_LOG("%s",
							       self->err);
}

TEST_F_TIMEOUT(bus, bad_usage_exits_2, 60)
{
	EXPECT_EQ(2, RUN("mbus-set-address", self->dev, "1"));
	EXPECT_EQ(2, RUN("mbus-set-address", self->dev, "1", "251"));
	EXPECT_EQ(2, RUN("mbus-set-address", self->dev, "1", "1234567A"));
	EXPECT_EQ(2, RUN("mbus-set-baud", self->dev, "1", "1234"));
	EXPECT_EQ(2, RUN("mbus-set-baud", "--bogus", self->dev, "1", "9600"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "1", "bogus"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "1", "select-telegram",
			 "due-day", "13"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "1", "set-datetime",
			 "2025-02-30"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "1", "elvaco", "100"));
	EXPECT_EQ(2, RUN("mbus-cmd", self->dev, "251", "freeze"));
	EXPECT_TRUE(HAS(self->err, "--help")) TH_LOG("%s", self->err);
}

TEST_F(bus, help_and_version_exit_0)
{
	static const char *const tools[] = {
		"mbus-set-address", "mbus-set-baud", "mbus-cmd",
	};

	for (size_t i = 0; i < 3; i++) {
		EXPECT_EQ(0, RUN(tools[i], "--help"));
		EXPECT_TRUE(HAS(self->out, "Usage:")) TH_LOG("%s", tools[i]);
		EXPECT_EQ(0, RUN(tools[i], "-v"));
		EXPECT_TRUE(HAS(self->out, "n_mbus")) TH_LOG("%s", tools[i]);
	}
}

/*
 * A DEVICE path with a quote, a backslash, a control character and a byte
 * that is no UTF-8 (a symlink to /dev/mbusN) comes out of --json escaped
 * by libnmbus's writer, the rest of the line as before.
 */
TEST_F_TIMEOUT(bus, json_escapes_a_hostile_device_path, 120)
{
	static const char link[] = "/tmp/we\"ird\\\x01\xff";
	static const char esc[] = "/tmp/we\\\"ird\\\\\\u0001\\u00FF";
	char target[32], want[256];

	snprintf(target, sizeof(target), "/dev/%s", self->dev);
	unlink(link);
	ASSERT_EQ(0, symlink(target, link));

	EXPECT_EQ(0, RUN("mbus-cmd", "--json", link, "3", "freeze"))
		TH_LOG("%s", self->err);
	snprintf(want, sizeof(want), "{\"device\":\"%s\",\"address\":\"3\","
		 "\"command\":\"freeze\",\"ok\":true}\n", esc);
	EXPECT_STREQ(want, self->out);

	EXPECT_EQ(0, RUN("mbus-set-baud", "--json", link, "4", "2400"))
		TH_LOG("%s", self->err);
	snprintf(want, sizeof(want), "{\"device\":\"%s\",\"address\":\"4\","
		 "\"old_baud\":2400,\"baud\":2400,\"ok\":true}\n", esc);
	EXPECT_STREQ(want, self->out);

	EXPECT_EQ(0, RUN("mbus-set-address", "--json", link, "1", "9"))
		TH_LOG("%s", self->err);
	snprintf(want, sizeof(want), "{\"device\":\"%s\",\"address\":\"1\","
		 "\"new\":\"9\",\"ok\":true}\n", esc);
	EXPECT_STREQ(want, self->out);
	unlink(link);
}

TEST_HARNESS_MAIN
