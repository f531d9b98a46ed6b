// SPDX-License-Identifier: GPL-2.0
/*
 * libmbus-compat against libmbus itself: each case runs one of the seven
 * front-ends (mbus-serial-scan, ...-scan-secondary, ...-request-data,
 * ...-request-data-multi-reply, ...-select-secondary,
 * ...-switch-baudrate, ...-set-address; links to /tools/libmbus-compat
 * made here) on N_MBUS attached to a pty whose far end is mbus-sim with
 * six meters, and compares standard output, standard error and exit
 * status byte for byte with what rscada/libmbus's own tool printed on
 * the same simulated bus (compat-data.h, recorded once: CI cannot build
 * libmbus). DEVICE is the pty (the tty N_MBUS is attached to) in every
 * other case, /dev/mbusN in the others. Timestamps of live reads and the
 * simulated meters' clock cannot match the recording: each must be the
 * time of the run, then both are compared as "*".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define OUT_MAX		65536
#define LINK_DIR	"/tmp/libmbus-compat"
#define ARGS_MAX	10

static const char *const compat_names[] = {
	"mbus-serial-scan", "mbus-serial-scan-secondary",
	"mbus-serial-request-data", "mbus-serial-request-data-multi-reply",
	"mbus-serial-select-secondary", "mbus-serial-switch-baudrate",
	"mbus-serial-set-address",
};

FIXTURE(compat) {
	pid_t sim;
	int tty;
	int index;
	char pty[64];
	char dev[32];
	char out[OUT_MAX];
	char err[OUT_MAX];
};

FIXTURE_VARIANT(compat) {
	const char *const *argv;	/* libmbus's command, DEV for the port */
	bool tty;			/* DEV is the pty, not /dev/mbusN */
	int rc;
	const char *out;
	const char *err;
};

#include "compat-data.h"

/* The seven names, as links to the one program (argv[0] picks the tool). */
static bool make_links(void)
{
	char path[128];

	if (mkdir(LINK_DIR, 0755) && errno != EEXIST)
		return false;
	for (size_t i = 0; i < sizeof(compat_names) / sizeof(compat_names[0]);
	     i++) {
		snprintf(path, sizeof(path), LINK_DIR "/%s", compat_names[i]);
		if (symlink(KSFT_TOOLS "libmbus-compat", path) &&
		    errno != EEXIST)
			return false;
	}
	return true;
}

FIXTURE_SETUP(compat)
{
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_TRUE(make_links()) TH_LOG(LINK_DIR ": %s", strerror(errno));
	self->sim = ksft_sim_start(self->pty, sizeof(self->pty),
				   compat_sim_args);
	ASSERT_LT(0, self->sim) TH_LOG("cannot start " KSFT_TOOLS "mbus-sim");
	self->tty = ksft_mbus_attach_tty(self->pty, &self->index);
	ASSERT_LE(0, self->tty) TH_LOG("%s: %s", self->pty,
				       strerror(-self->tty));
	ASSERT_TRUE(ksft_mbus_wait_node(self->index, true, 2000));
	snprintf(self->dev, sizeof(self->dev), "/dev/mbus%d", self->index);
}

FIXTURE_TEARDOWN(compat)
{
	if (self->tty >= 0) {
		ksft_mbus_detach(self->tty);
		close(self->tty);
	}
	ksft_sim_stop(self->sim);
}

/*
 * Every <Timestamp> of @s must be a UTC time from @t0 to @t1 (seconds,
 * inclusive); each is replaced by "*" in place. False if one is not.
 */
static bool stamps_are_now(struct __test_metadata *_metadata, char *s,
			   time_t t0, time_t t1)
{
	static const char tag[] = "<Timestamp>";
	char *p = s;

	while ((p = strstr(p, tag))) {
		struct tm tm = { 0 };
		char *v = p + sizeof(tag) - 1, *end;
		time_t t;

		end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!end || strncmp(end, "</Timestamp>", 12)) {
			TH_LOG("bad timestamp: %.40s", v);
			return false;
		}
		t = timegm(&tm);
		if (t < t0 || t > t1) {
			TH_LOG("timestamp %.20s is not the time of the run", v);
			return false;
		}
		*v = '*';
		memmove(v + 1, end, strlen(end) + 1);
		p = v + 1;
	}
	return true;
}

/*
 * The simulated meters' clock is the time of day: the value of every
 * "Time Point (time & date)" record must be a minute of the run (from
 * @t0 to @t1, to the minute) and is replaced by "*" in place.
 */
static bool clocks_are_now(struct __test_metadata *_metadata, char *s,
			   time_t t0, time_t t1)
{
	static const char tag[] = "<Unit>Time Point (time &amp; date)</Unit>\n"
				  "        <Value>";
	char *p = s;

	while ((p = strstr(p, tag))) {
		struct tm tm = { 0 };
		char *v = p + sizeof(tag) - 1, *end;
		time_t t;

		end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
		if (!end || strncmp(end, "</Value>", 8)) {
			TH_LOG("bad meter time: %.40s", v);
			return false;
		}
		t = timegm(&tm);
		if (t < t0 - 60 || t > t1 + 60) {
			TH_LOG("meter time %.19s is not the time of the run", v);
			return false;
		}
		*v = '*';
		memmove(v + 1, end, strlen(end) + 1);
		p = v + 1;
	}
	return true;
}

/* The first line where @a and @b differ, for the log. */
static void log_difference(struct __test_metadata *_metadata,
			   const char *what, const char *a, const char *b)
{
	int line = 1;

	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	TH_LOG("%s differs at line %d:\n  libmbus:     %.*s\n  n_mbus:      %.*s",
	       what, line, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

TEST_F_TIMEOUT(compat, prints_what_libmbus_prints, 300)
{
	const char *argv[ARGS_MAX + 1] = { NULL };
	char prog[128];
	time_t t0, t1;
	int rc, n = 0;

	snprintf(prog, sizeof(prog), LINK_DIR "/%s", variant->argv[0]);
	for (n = 1; variant->argv[n] && n < ARGS_MAX; n++)
		argv[n] = strcmp(variant->argv[n], "DEV") ? variant->argv[n] :
			  variant->tty ? self->pty : self->dev;
	ASSERT_EQ(NULL, variant->argv[n]);
	t0 = time(NULL);
	rc = ksft_tool_run(self->out, sizeof(self->out), self->err,
			   sizeof(self->err), prog, argv[1], argv[2], argv[3],
			   argv[4], argv[5], argv[6], argv[7], argv[8],
			   argv[9], NULL);
	t1 = time(NULL);
	printf("# %s on %s: exit %d, %.0f s\n", variant->argv[0],
	       variant->tty ? "the tty" : "/dev/mbusN", rc, difftime(t1, t0));
	EXPECT_EQ(variant->rc, rc);
	EXPECT_TRUE(stamps_are_now(_metadata, self->out, t0, t1));
	EXPECT_TRUE(clocks_are_now(_metadata, self->out, t0, t1));
	EXPECT_EQ(0, strcmp(variant->out, self->out)) {
		log_difference(_metadata, "standard output", variant->out,
			       self->out);
	}
	EXPECT_EQ(0, strcmp(variant->err, self->err)) {
		log_difference(_metadata, "standard error", variant->err,
			       self->err);
	}
}

TEST_HARNESS_MAIN
