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
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define TOOLS		"/tools/"
#define OUT_MAX		16384

/* The meters; all at the port's default rate, 2400 Bd. */
static const char *const sim_meters[] = {
	"heat,id=11111111,addr=1",
	"water,id=22222222,addr=2",
	"calec,id=33333333,addr=3",
	"heat,id=44444444,addr=4",
	"cmi1020,id=55555555,addr=5",
};

#define NMETERS	(sizeof(sim_meters) / sizeof(sim_meters[0]))

FIXTURE(bus) {
	pid_t sim;
	int tty;
	char dev[16];
	char out[OUT_MAX];
	char err[OUT_MAX];
};

/* Start mbus-sim --pty; return its pid, the pty path in @pty. */
static pid_t start_sim(char *pty, size_t size)
{
	char *argv[4 + 2 * NMETERS] = { TOOLS "mbus-sim", "--pty" };
	char line[128];
	int p[2], n = 2;
	ssize_t len = 0, r;
	pid_t pid;

	for (size_t i = 0; i < NMETERS; i++) {
		argv[n++] = "--meter";
		argv[n++] = (char *)sim_meters[i];
	}
	argv[n] = NULL;
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	/* "PTY /dev/pts/N\n" */
	while (len < (ssize_t)sizeof(line) - 1 && !memchr(line, '\n', len)) {
		r = read(p[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += r;
	}
	close(p[0]);
	line[len] = '\0';
	if (sscanf(line, "PTY %63s", pty) != 1 || strlen(pty) >= size) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

FIXTURE_SETUP(bus)
{
	char pty[64];
	int index;

	self->tty = -1;
	ASSERT_EQ(0, ksft_mbus_load());
	self->sim = start_sim(pty, sizeof(pty));
	ASSERT_LT(0, self->sim) TH_LOG("cannot start " TOOLS "mbus-sim");
	self->tty = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, self->tty) TH_LOG("open %s: %s", pty, strerror(errno));
	index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, index) TH_LOG("attach: %s", strerror(-index));
	ASSERT_TRUE(ksft_mbus_wait_node(index, true, 2000));
	snprintf(self->dev, sizeof(self->dev), "mbus%d", index);
}

FIXTURE_TEARDOWN(bus)
{
	if (self->tty >= 0) {
		ksft_mbus_detach(self->tty);
		close(self->tty);
	}
	if (self->sim > 0) {
		kill(self->sim, SIGTERM);
		waitpid(self->sim, NULL, 0);
	}
}

/* Read @fd to its end into @buf (NUL-terminated). */
static void slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t r;

	while (len < size - 1 && (r = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
}

/*
 * Run a tool of /tools with the NULL-terminated @args; its standard
 * output lands in self->out, its standard error in self->err. Returns the
 * exit status, or -1.
 */
#define RUN(prog, ...) run(self, prog, __VA_ARGS__, NULL)

static int run(FIXTURE_DATA(bus) *self, const char *prog, ...)
{
	char *argv[16] = { NULL };
	int out[2], err[2], status, n = 1;
	char path[64];
	va_list ap;
	pid_t pid;

	snprintf(path, sizeof(path), TOOLS "%s", prog);
	argv[0] = path;
	va_start(ap, prog);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(out))
		return -1;
	if (pipe(err)) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		execv(path, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* Small outputs: stderr fits its pipe while stdout is read. */
	slurp(out[0], self->out, sizeof(self->out));
	slurp(err[0], self->err, sizeof(self->err));
	close(out[0]);
	close(err[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

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
