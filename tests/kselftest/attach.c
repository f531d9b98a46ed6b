// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching N_MBUS to a tty creates /dev/mbusN; detaching, hangup and an
 * ldisc switch remove it; open files then fail cleanly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

FIXTURE(pty) {
	int master;
	int slave;
};

FIXTURE_SETUP(pty)
{
	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->slave));
}

FIXTURE_TEARDOWN(pty)
{
	if (self->slave >= 0)
		close(self->slave);
	if (self->master >= 0)
		close(self->master);
}

TEST_F(pty, attach_creates_a_char_device_and_get_index_returns_its_number)
{
	int index = ksft_mbus_attach(self->slave);

	ASSERT_LE(0, index);
	EXPECT_TRUE(ksft_mbus_node_exists(index));
}

TEST_F(pty, sysfs_names_the_tty_and_the_baud_rate)
{
	int index = ksft_mbus_attach(self->slave);
	char buf[64], want[32];
	int n = -1;

	ASSERT_LE(0, index);
	ASSERT_EQ(0, ioctl(self->master, TIOCGPTN, &n));
	/* The kernel names the slave of /dev/pts/N "ptsN". */
	snprintf(want, sizeof(want), "pts%d", n);
	ASSERT_EQ(0, ksft_mbus_sysfs(index, "tty", buf, sizeof(buf)));
	EXPECT_STREQ(want, buf);
	ASSERT_EQ(0, ksft_mbus_sysfs(index, "baud", buf, sizeof(buf)));
	EXPECT_STREQ("2400", buf);
}

/* A pty forces CS8 and drops PARENB itself; the UART test checks parity. */
TEST_F(pty, attach_sets_8_bits_2400_baud_and_parity_checking)
{
	struct termios t;

	ASSERT_LE(0, ksft_mbus_attach(self->slave));
	ASSERT_EQ(0, tcgetattr(self->slave, &t));
	EXPECT_EQ(CS8, t.c_cflag & CSIZE);
	EXPECT_FALSE(t.c_cflag & CSTOPB);
	EXPECT_FALSE(t.c_cflag & CRTSCTS);
	EXPECT_TRUE(t.c_cflag & CREAD);
	EXPECT_TRUE(t.c_cflag & CLOCAL);
	EXPECT_TRUE(t.c_iflag & INPCK);
	EXPECT_FALSE(t.c_iflag & (IGNPAR | IXON | IXOFF | ISTRIP));
	EXPECT_EQ(B2400, cfgetospeed(&t));
}

TEST_F(pty, get_baud_on_the_device_reports_2400)
{
	int index = ksft_mbus_attach(self->slave);
	__u32 baud = 0;
	int fd;

	ASSERT_LE(0, index);
	fd = ksft_mbus_open(index, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(2400, baud);
	close(fd);
}

TEST_F(pty, detach_removes_the_device)
{
	int index = ksft_mbus_attach(self->slave);

	ASSERT_LE(0, index);
	ASSERT_EQ(0, ksft_mbus_detach(self->slave));
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
}

TEST_F(pty, hangup_of_the_line_removes_the_device)
{
	int index = ksft_mbus_attach(self->slave);

	ASSERT_LE(0, index);
	/* Closing the master hangs the slave up, as a USB unplug would. */
	close(self->master);
	self->master = -1;
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
}

TEST_F(pty, vhangup_removes_the_device)
{
	int index = ksft_mbus_attach(self->slave);

	ASSERT_LE(0, index);
	ASSERT_EQ(0, ioctl(self->slave, TIOCVHANGUP));
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
}

TEST_F(pty, final_close_of_the_tty_removes_the_device)
{
	int index = ksft_mbus_attach(self->slave);

	ASSERT_LE(0, index);
	/* A pty pair is released when both ends are closed. */
	close(self->slave);
	self->slave = -1;
	EXPECT_TRUE(ksft_mbus_node_exists(index));
	close(self->master);
	self->master = -1;
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
}

TEST_F(pty, open_file_gets_enodev_after_detach)
{
	int index = ksft_mbus_attach(self->slave);
	__u32 baud;
	int fd;

	ASSERT_LE(0, index);
	fd = ksft_mbus_open(index, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksft_mbus_detach(self->slave));
	EXPECT_EQ(-1, ioctl(fd, MBUS_IOC_GET_BAUD, &baud));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, close(fd));
}

TEST_F(pty, open_file_keeps_the_module_and_release_lets_it_go)
{
	int index = ksft_mbus_attach(self->slave);
	int fd, attached;

	ASSERT_LE(0, index);
	attached = ksft_mbus_refcnt();
	EXPECT_LE(1, attached);
	fd = ksft_mbus_open(index, O_RDWR);
	ASSERT_LE(0, fd);
	/* Two references per open file: its cdev's and its fops' owner. */
	EXPECT_EQ(attached + 2, ksft_mbus_refcnt());
	ASSERT_EQ(0, ksft_mbus_detach(self->slave));
	EXPECT_EQ(2, ksft_mbus_refcnt());
	close(fd);
	EXPECT_EQ(0, ksft_mbus_refcnt());
}

TEST_F(pty, two_ttys_get_two_devices)
{
	int m2, s2, a, b;

	ASSERT_EQ(0, ksft_pty_open(&m2, &s2));
	a = ksft_mbus_attach(self->slave);
	b = ksft_mbus_attach(s2);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_NE(a, b);
	EXPECT_TRUE(ksft_mbus_node_exists(a));
	EXPECT_TRUE(ksft_mbus_node_exists(b));
	close(s2);
	close(m2);
	EXPECT_TRUE(ksft_mbus_wait_node(b, false, 1000));
	EXPECT_TRUE(ksft_mbus_node_exists(a));
}

TEST_F(pty, get_index_on_a_tty_without_n_mbus_fails)
{
	__u32 index;

	EXPECT_EQ(-1, ioctl(self->slave, MBUS_IOC_GET_INDEX, &index));
}

TEST_F(pty, tty_mode_ioctls_still_work_while_attached)
{
	struct termios t;
	struct winsize ws;

	ASSERT_LE(0, ksft_mbus_attach(self->slave));
	EXPECT_EQ(0, tcgetattr(self->slave, &t));
	EXPECT_EQ(0, tcsetattr(self->slave, TCSANOW, &t));
	EXPECT_EQ(0, tcflush(self->slave, TCIOFLUSH));
	EXPECT_EQ(0, ioctl(self->slave, TIOCGWINSZ, &ws));
}

FIXTURE(uart) {
	int fd;
};

/* ttyS2: a 16550 emulated by QEMU (ttyS0 is the console, ttyS1 the TAP). */
FIXTURE_SETUP(uart)
{
	ASSERT_EQ(0, ksft_mbus_load());
	self->fd = open("/dev/ttyS2", O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (self->fd < 0)
		SKIP(return, "no /dev/ttyS2 (%s): not running in the QEMU lane",
		     strerror(errno));
}

FIXTURE_TEARDOWN(uart)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(uart, attach_sets_8e1_2400_with_parity_checking)
{
	struct termios t;
	int index = ksft_mbus_attach(self->fd);

	ASSERT_LE(0, index);
	ASSERT_EQ(0, tcgetattr(self->fd, &t));
	EXPECT_EQ(CS8, t.c_cflag & CSIZE);
	EXPECT_TRUE(t.c_cflag & PARENB);
	EXPECT_FALSE(t.c_cflag & PARODD);
	EXPECT_FALSE(t.c_cflag & CSTOPB);
	EXPECT_FALSE(t.c_cflag & CRTSCTS);
	EXPECT_TRUE(t.c_cflag & CREAD);
	EXPECT_TRUE(t.c_cflag & CLOCAL);
	EXPECT_TRUE(t.c_iflag & INPCK);
	/* Without BRKINT the 8250 passes a break as a plain NUL. */
	EXPECT_TRUE(t.c_iflag & BRKINT);
	EXPECT_FALSE(t.c_iflag & (IGNPAR | IGNBRK | IXON | IXOFF | ISTRIP));
	EXPECT_EQ(B2400, cfgetospeed(&t));
	EXPECT_EQ(B2400, cfgetispeed(&t));
	ASSERT_EQ(0, ksft_mbus_detach(self->fd));
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
}

TEST_F(uart, sysfs_names_the_serial_port)
{
	int index = ksft_mbus_attach(self->fd);
	char buf[64], child[64];

	ASSERT_LE(0, index);
	ASSERT_EQ(0, ksft_mbus_sysfs(index, "tty", buf, sizeof(buf)));
	EXPECT_STREQ("ttyS2", buf);
	/* The parent is the tty's device, so udev can name it by path. */
	snprintf(child, sizeof(child), "/sys/class/tty/ttyS2/mbus%d", index);
	EXPECT_EQ(0, access(child, F_OK));
	ASSERT_EQ(0, ksft_mbus_detach(self->fd));
}

#define SLAB_MAX 512

struct slab_snap {
	int n;
	int shrunk;
	char name[SLAB_MAX][64];
	long active[SLAB_MAX];
};

/*
 * Give back what the allocator holds on to without a leak: writing 1 to a
 * cache's shrink file runs kmem_cache_shrink(), which empties the per-CPU
 * partial slabs and, on a KASAN kernel, the quarantine of freed objects
 * (they count as active until then, by hundreds at a time).
 */
static int slab_shrink_all(void)
{
	char path[300];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");
	int fd, shrunk = 0;

	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) == 1)
			shrunk++;
		close(fd);
	}
	closedir(dir);
	return shrunk;
}

/*
 * Objects in use per slab cache, from /proc/slabinfo, after a shrink;
 * s->shrunk says how many caches took it (0 without /sys/kernel/slab).
 */
static int slab_snapshot(struct slab_snap *s)
{
	char line[512];
	FILE *f;

	s->shrunk = slab_shrink_all();
	f = fopen("/proc/slabinfo", "r");
	s->n = 0;
	if (!f)
		return -1;
	while (s->n < SLAB_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", s->name[s->n],
			   &s->active[s->n]) == 2)
			s->n++;
	fclose(f);
	return 0;
}

static long slab_find(const struct slab_snap *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->active[i];
	return -1;
}

/*
 * The cache that grew most in both of two rounds (its smaller growth).
 * A leak grows its cache by one object per attach in every round; SLUB's
 * own bookkeeping (whole slabs of up to 512 objects, per-CPU partial
 * lists, RCU-deferred frees) does not keep growing round after round.
 * vmap_area is left out: every detach reopens N_TTY, whose vzalloc'ed
 * state vfree() gives back lazily.
 */
static long slab_steady_growth(const struct slab_snap *s0,
			       const struct slab_snap *s1,
			       const struct slab_snap *s2, const char **which)
{
	long worst = 0, a, b, c, g;
	int i;

	for (i = 0; i < s2->n; i++) {
		if (!strcmp(s2->name[i], "vmap_area"))
			continue;
		a = slab_find(s0, s2->name[i]);
		b = slab_find(s1, s2->name[i]);
		c = s2->active[i];
		if (a < 0 || b < 0)
			continue;
		g = b - a < c - b ? b - a : c - b;
		if (g > worst) {
			worst = g;
			*which = s2->name[i];
		}
	}
	return worst;
}

static void attach_detach(struct __test_metadata *_metadata, int fd, int n,
			  int *first)
{
	int i, index;

	for (i = 0; i < n; i++) {
		index = ksft_mbus_attach(fd);
		ASSERT_LE(0, index);
		if (*first < 0)
			*first = index;
		/* The number is freed on detach and given out again. */
		ASSERT_EQ(*first, index);
		ASSERT_EQ(0, ksft_mbus_detach(fd));
	}
}

/* Two rounds of 1000: a leak of one object per attach grows both. */
/* Slow on the debug kernel: up to 5 minutes. */
TEST_F_TIMEOUT(pty, attach_detach_2000_times_leaks_nothing, 300)
{
	static struct slab_snap s0, s1, s2;
	const char *which = "none";
	int first = -1;
	long growth;

	/* Warm the caches up first. */
	attach_detach(_metadata, self->slave, 50, &first);
	ASSERT_EQ(0, slab_snapshot(&s0));
	attach_detach(_metadata, self->slave, 1000, &first);
	ASSERT_EQ(0, slab_snapshot(&s1));
	attach_detach(_metadata, self->slave, 1000, &first);
	ASSERT_EQ(0, slab_snapshot(&s2));
	growth = slab_steady_growth(&s0, &s1, &s2, &which);
	TH_LOG("largest growth in both rounds of 1000 attaches: %ld objects (%s), %d caches shrunk first",
	       growth, which, s2.shrunk);
	EXPECT_GT(500, growth);
	EXPECT_FALSE(ksft_mbus_node_exists(first));
	/* Only this test's own references are gone: none left. */
	EXPECT_EQ(0, ksft_mbus_refcnt());
}

TEST_HARNESS_MAIN
