// SPDX-License-Identifier: GPL-2.0
/*
 * The tools on a misbehaving bus: mbus-sim (on a pty in the guest) needs
 * a wake-up preamble, spoils replies, stays silent, echoes the master or
 * sends noise first. Reads must get through where the line allows it and
 * fail with a clear message where it does not, losing nothing.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mbus.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define TOOLS KSFT_TOOLS

struct bus {
	pid_t sim;
	int tty;
	int index;
	char dev[16];
};

/* Start mbus-sim --pty with @args (NULL-terminated) and attach N_MBUS. */
static int bus_up(struct bus *b, ...)
{
	const char *args[16];
	char pty[64];
	int n = 0;
	va_list ap;

	va_start(ap, b);
	while (n < 15 && (args[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	if (ksft_mbus_load())
		return -1;
	b->sim = ksft_sim_start(pty, sizeof(pty), args);
	if (b->sim < 0)
		return -1;
	b->tty = ksft_mbus_attach_tty(pty, &b->index);
	if (b->tty < 0)
		return -1;
	snprintf(b->dev, sizeof(b->dev), "mbus%d", b->index);
	return 0;
}

static void bus_down(struct bus *b)
{
	if (b->tty >= 0)
		close(b->tty);
	ksft_sim_stop(b->sim);
}

/* Run a shell command, stdout and stderr into @out; its exit status. */
#define run(out, size, fmt, ...) \
	ksft_run_capture(out, size, fmt " 2>&1", __VA_ARGS__)

static unsigned long long stat_of(struct bus *b, const char *name)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "statistics/%s", name);
	if (ksft_mbus_sysfs(b->index, path, buf, sizeof(buf)))
		return ~0ULL;
	return strtoull(buf, NULL, 10);
}

static char out[16384];

/* The port's baud rate, from a file of its own (-1 on error). */
static long port_baud(struct bus *b)
{
	char path[32];
	__u32 baud;
	int fd, rc;

	snprintf(path, sizeof(path), "/dev/%s", b->dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = ioctl(fd, MBUS_IOC_GET_BAUD, &baud);
	close(fd);
	return rc ? -1 : (long)baud;
}

TEST(the_calmex_profile_wakes_the_meter_and_reads_it)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "calmex,id=30303030,addr=6", NULL));
	/* Without the profile: wrong rate, no preamble, no answer. */
	EXPECT_EQ(1, run(out, sizeof(out), TOOLS "mbus-read -R 0 %s 6", b.dev));
	EXPECT_NE(NULL, strstr(out, "no answer")) TH_LOG("%s", out);
	EXPECT_EQ(0, run(out, sizeof(out),
			 TOOLS "mbus-read --profile calmex2 --format=text %s 6",
			 b.dev)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "id 30303030 PMX"));
	/* The profile's 300 Bd was for this read only. */
	EXPECT_EQ(2400, port_baud(&b));
	EXPECT_EQ(0, run(out, sizeof(out),
			 TOOLS "mbus-read -k -p calmex2 -f text %s 6", b.dev))
		TH_LOG("%s", out);
	EXPECT_EQ(300, port_baud(&b));
	/* Restored also when the read fails: no meter at 9. */
	EXPECT_EQ(1, run(out, sizeof(out),
			 TOOLS "mbus-read -R 0 -b 9600 %s 9", b.dev));
	EXPECT_EQ(300, port_baud(&b));
	bus_down(&b);
}

TEST(a_spoiled_reply_is_repeated_and_nothing_is_lost)
{
	struct bus b = { .tty = -1 };

	/* Every second reply has a bad checksum. */
	ASSERT_EQ(0, bus_up(&b, "--meter", "heat,id=11111111,addr=1",
			    "--fault", "checksum/2", NULL));
	EXPECT_EQ(0, run(out, sizeof(out), TOOLS "mbus-read %s 1", b.dev));
	EXPECT_EQ(0, run(out, sizeof(out), TOOLS "mbus-read %s 1", b.dev))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"id\":\"11111111\""));
	/* One window garbled, repeated once; the delimiter may reject more
	 * than one candidate inside the spoiled frame.
	 */
	EXPECT_EQ(1, stat_of(&b, "garbled"));
	EXPECT_EQ(1, stat_of(&b, "retries"));
	EXPECT_LE(1, stat_of(&b, "checksum_errors"));
	bus_down(&b);
}

TEST(a_silent_meter_gives_a_clear_error)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "heat,id=11111111,addr=1",
			    "--fault", "silence", NULL));
	EXPECT_EQ(1, run(out, sizeof(out), TOOLS "mbus-read %s 1", b.dev));
	EXPECT_NE(NULL, strstr(out, "no answer")) TH_LOG("%s", out);
	EXPECT_EQ(3, stat_of(&b, "timeouts"));
	bus_down(&b);
}

TEST(an_echoing_converter_does_not_disturb_a_read)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "water,id=22222222,addr=2", "--echo",
			    NULL));
	EXPECT_EQ(0, run(out, sizeof(out), TOOLS "mbus-read %s 2", b.dev))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"id\":\"22222222\""));
	EXPECT_LE(5, stat_of(&b, "echo_dropped"));
	EXPECT_EQ(0, stat_of(&b, "garbled"));
	bus_down(&b);
}

TEST(noise_before_the_reply_does_not_lose_it)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "heat,id=33333333,addr=3", "--noise",
			    "3", NULL));
	EXPECT_EQ(0, run(out, sizeof(out), TOOLS "mbus-read %s 3", b.dev))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"id\":\"33333333\""));
	EXPECT_LE(3, stat_of(&b, "noise_bytes"));
	bus_down(&b);
}

TEST(a_late_reply_is_not_taken_for_the_next_one)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "heat,id=44444444,addr=4", "--fault",
			    "late", NULL));
	EXPECT_EQ(1, run(out, sizeof(out), TOOLS "mbus-read -R 0 %s 4", b.dev));
	EXPECT_NE(NULL, strstr(out, "no answer")) TH_LOG("%s", out);
	bus_down(&b);
}

/*
 * EN 13757-2 gives a meter 330 bit times + 50 ms to start its reply,
 * 1.15 s at 300 Bd. The CALMEX II's "Wait First Timeout" of 800 ms (seed
 * 001) is its D2000 driver's pause before reading, no shorter window: a
 * reply that starts after 1 s must be taken at the first attempt.
 */
TEST(the_calmex_profile_waits_the_standard_window_at_300_baud)
{
	struct bus b = { .tty = -1 };

	ASSERT_EQ(0, bus_up(&b, "--meter", "calmex,id=30303030,addr=6",
			    "--delay", "1000", NULL));
	EXPECT_EQ(0, run(out, sizeof(out),
			 TOOLS "mbus-read -R 0 -p calmex2 -f text %s 6", b.dev))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "id 30303030 PMX")) TH_LOG("%s", out);
	EXPECT_EQ(0, stat_of(&b, "timeouts"));
	bus_down(&b);
}

TEST_HARNESS_MAIN
