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

#define OUT_MAX		16384

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

TEST_HARNESS_MAIN
