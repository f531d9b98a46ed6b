// SPDX-License-Identifier: GPL-2.0
/*
 * packaging/60-n-mbus.rules under a real systemd-udevd: /dev/mbusN gets
 * mode 0660 and group dialout and /dev/mbus/by-tty/<tty>; a port on a PCI
 * card (QEMU's pci-serial, which tests/qemu/run-ksft adds) also gets
 * /dev/mbus/by-path/pci-<slot>, a pty (no parent device) and an on-board
 * UART (ttyS2) do not; detaching removes the links.
 *
 * udevd runs during this test only: the first test starts it unless one
 * runs already, the last one stops it again if this test started it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

#define BY_TTY		"/dev/mbus/by-tty"
#define BY_PATH		"/dev/mbus/by-path"
/* Left behind while a udevd this test started runs. */
#define STARTED_MARK	"/run/n_mbus-ksft-udevd"
#define WAIT_MS		5000

static const char *const udevd_paths[] = {
	"/lib/systemd/systemd-udevd",
	"/usr/lib/systemd/systemd-udevd",
	NULL,
};

static const char *const rule_paths[] = {
	"/etc/udev/rules.d/60-n-mbus.rules",
	"/lib/udev/rules.d/60-n-mbus.rules",
	"/usr/lib/udev/rules.d/60-n-mbus.rules",
	NULL,
};

/* The first of @paths that access() allows for @mode, or NULL. */
static const char *first_present(const char *const *paths, int mode)
{
	for (; *paths; paths++)
		if (access(*paths, mode) == 0)
			return *paths;
	return NULL;
}

/*
 * Run @argv with stdout (and stderr if @quiet) on /dev/null; its exit
 * status, or -1.
 */
static int run(const char *const argv[], bool quiet)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		if (fd >= 0 && quiet)
			dup2(fd, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool udevd_running(void)
{
	const char *const ping[] = { "udevadm", "control", "--ping",
				     "--timeout=5", NULL };

	return run(ping, true) == 0;
}

static void settle(void)
{
	const char *const argv[] = { "udevadm", "settle", "--timeout=10",
				     NULL };

	run(argv, false);
}

static void sleep_ms(int ms)
{
	const struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start udevd unless one runs; 0 or -1. */
static int udevd_start(void)
{
	const char *udevd = first_present(udevd_paths, X_OK);
	const char *const argv[] = { udevd, "--daemon", NULL };
	int i, fd, ret;

	if (udevd_running())
		return 0;
	if (!udevd)
		return -1;
	/* Its log to the kernel's, not into the TAP on stdout. */
	setenv("SYSTEMD_LOG_TARGET", "kmsg", 1);
	ret = run(argv, false);
	unsetenv("SYSTEMD_LOG_TARGET");
	if (ret)
		return -1;
	fd = open(STARTED_MARK, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 100; i++) {
		if (udevd_running())
			return 0;
		sleep_ms(100);
	}
	return -1;
}

/* The gid of dialout from /etc/group, or -1. */
static int dialout_gid(void)
{
	FILE *f = fopen("/etc/group", "r");
	char line[512];
	int gid = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "dialout:%*[^:]:%d:", &gid) == 1)
			break;
	fclose(f);
	return gid;
}

/* Whether @path is there (as a link or anything else). */
static bool present(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * Settle udev until @path is there (@want) or gone, within WAIT_MS: the
 * uevent can still be on its way to udevd when the first settle returns.
 */
static bool wait_path(const char *path, bool want)
{
	long long end = ksft_now_us() + WAIT_MS * 1000LL;

	do {
		settle();
		if (present(path) == want)
			return true;
		sleep_ms(50);
	} while (ksft_now_us() < end);
	return present(path) == want;
}

/* How many links in @dir point to mbus@index; the name of one in @name. */
static int links_to(const char *dir, int index, char *name, size_t size)
{
	char want[32], path[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	const char *base;
	int n = 0;
	ssize_t len;
	DIR *d;

	snprintf(want, sizeof(want), "mbus%d", index);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		base = strrchr(target, '/');
		if (strcmp(base ? base + 1 : target, want))
			continue;
		if (name && !n)
			snprintf(name, size, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Copy @src into @dst of @size bytes; 0, or -1 if it does not fit. */
static int copy_name(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/*
 * The device that holds @tty's port, above the serial-base devices 6.5
 * put between a UART and its tty: whether it is on the bus @subsys ("pci",
 * "pnp"), with its name (0000:00:04.0) in @name if @name is not NULL.
 */
static bool tty_parent_on(const char *tty, const char *subsys, char *name,
			  size_t size)
{
	char dev[PATH_MAX], path[PATH_MAX + 16], real[PATH_MAX];
	char *base;

	snprintf(path, sizeof(path), "/sys/class/tty/%s/device", tty);
	if (!realpath(path, dev))
		return false;
	for (;;) {
		snprintf(path, sizeof(path), "%s/subsystem", dev);
		if (!realpath(path, real))
			return false;
		base = strrchr(real, '/') + 1;
		if (strcmp(base, "serial-base"))
			break;
		base = strrchr(dev, '/');
		if (!base || base == dev)
			return false;
		*base = '\0';
	}
	if (strcmp(base, subsys))
		return false;
	return !name || !copy_name(name, size, strrchr(dev, '/') + 1);
}

/*
 * The first ttyS on a PCI card: its name in @tty and the PCI function
 * (0000:00:04.0) in @slot. 0 or -ENOENT.
 */
static int pci_uart(char *tty, size_t tty_size, char *slot, size_t slot_size)
{
	struct dirent *e;
	int ret = -ENOENT;
	DIR *d;

	d = opendir("/sys/class/tty");
	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "ttyS", 4) ||
		    !tty_parent_on(e->d_name, "pci", slot, slot_size) ||
		    copy_name(tty, tty_size, e->d_name))
			continue;
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

/*
 * /dev/mbus@index after udev: a character device, mode 0660, group
 * dialout; /dev/mbus/by-tty/@tty is a link to it, ../../mbusN as udev
 * writes links.
 */
static void check_node(struct __test_metadata *_metadata, int index,
		       const char *tty)
{
	char node[32], link[PATH_MAX], target[PATH_MAX], want[32];
	struct stat st, lst;
	int gid = dialout_gid();
	ssize_t len;

	ASSERT_LE(0, gid) TH_LOG("no dialout group in /etc/group");
	snprintf(node, sizeof(node), "/dev/mbus%d", index);
	snprintf(link, sizeof(link), BY_TTY "/%s", tty);
	ASSERT_TRUE(wait_path(link, true))
		TH_LOG("%s did not appear", link);
	/* The link is made last; settle once more for good measure. */
	settle();
	ASSERT_EQ(0, stat(node, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777)
		TH_LOG("%s has mode %04o", node, st.st_mode & 07777);
	EXPECT_EQ(gid, (int)st.st_gid)
		TH_LOG("%s has gid %d, dialout is %d", node, (int)st.st_gid,
		       gid);
	len = readlink(link, target, sizeof(target) - 1);
	ASSERT_LT(0, len);
	target[len] = '\0';
	snprintf(want, sizeof(want), "../../mbus%d", index);
	EXPECT_STREQ(want, target);
	ASSERT_EQ(0, stat(link, &lst));
	EXPECT_EQ(st.st_rdev, lst.st_rdev);
}

/* After detach: the node and every link to it are gone. */
static void check_gone(struct __test_metadata *_metadata, int index,
		       const char *tty)
{
	char node[32], link[PATH_MAX];

	snprintf(node, sizeof(node), "/dev/mbus%d", index);
	snprintf(link, sizeof(link), BY_TTY "/%s", tty);
	EXPECT_TRUE(wait_path(link, false))
		TH_LOG("%s still there after detach", link);
	EXPECT_FALSE(present(node));
	EXPECT_EQ(0, links_to(BY_TTY, index, NULL, 0));
	EXPECT_EQ(0, links_to(BY_PATH, index, NULL, 0));
}

FIXTURE(udev) {
	int master;		/* the pty's master, or -1 */
	int tty;		/* the tty N_MBUS is attached to, or -1 */
	bool ready;		/* udevd runs, the module is loaded */
};

FIXTURE_SETUP(udev)
{
	self->master = -1;
	self->tty = -1;
	self->ready = false;
	if (!first_present(udevd_paths, X_OK))
		SKIP(return, "no systemd-udevd (run-ksft copies the host's)");
	if (!first_present(rule_paths, R_OK))
		SKIP(return, "60-n-mbus.rules is not installed");
	ASSERT_EQ(0, udevd_start()) TH_LOG("systemd-udevd did not start");
	ASSERT_EQ(0, ksft_mbus_load());
	self->ready = true;
}

/* A SKIP in the setup does not stop the test body: every test asks. */
#define SKIP_IF_NOT_READY() do {					\
		if (!self->ready)					\
			return;						\
	} while (0)

FIXTURE_TEARDOWN(udev)
{
	if (self->tty >= 0)
		close(self->tty);
	if (self->master >= 0)
		close(self->master);
}

TEST_F(udev, pty_gets_mode_group_and_by_tty_link_but_no_by_path_link)
{
	char tty[32];
	int index, n = -1;

	SKIP_IF_NOT_READY();
	ASSERT_EQ(0, ksft_pty_open(&self->master, &self->tty));
	ASSERT_EQ(0, ioctl(self->master, TIOCGPTN, &n));
	snprintf(tty, sizeof(tty), "pts%d", n);
	index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, index);
	check_node(_metadata, index, tty);
	EXPECT_EQ(0, links_to(BY_PATH, index, NULL, 0))
		TH_LOG("a pty has no parent device, so no by-path link");

	ASSERT_EQ(0, ksft_mbus_detach(self->tty));
	check_gone(_metadata, index, tty);
}

TEST_F(udev, onboard_uart_gets_by_tty_link_but_no_by_path_link)
{
	int index;

	SKIP_IF_NOT_READY();
	if (!tty_parent_on("ttyS2", "pnp", NULL, 0) &&
	    !tty_parent_on("ttyS2", "platform", NULL, 0))
		SKIP(return, "ttyS2 is not an on-board UART here");
	self->tty = open("/dev/ttyS2", O_RDWR | O_NOCTTY | O_NONBLOCK);
	ASSERT_LE(0, self->tty);
	index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, index);
	check_node(_metadata, index, "ttyS2");
	EXPECT_EQ(0, links_to(BY_PATH, index, NULL, 0))
		TH_LOG("on-board 8250 ports share one path: no by-path link");

	ASSERT_EQ(0, ksft_mbus_detach(self->tty));
	check_gone(_metadata, index, "ttyS2");
}

TEST_F(udev, pci_uart_gets_by_tty_and_by_path_links)
{
	char tty[32], slot[64], want[80], name[NAME_MAX + 1] = "";
	char link[PATH_MAX], target[PATH_MAX], dev[PATH_MAX];
	struct stat st, lst;
	ssize_t len;
	int index;

	SKIP_IF_NOT_READY();
	if (pci_uart(tty, sizeof(tty), slot, sizeof(slot)))
		SKIP(return, "no serial port on a PCI card (run-ksft adds QEMU's pci-serial)");
	snprintf(dev, sizeof(dev), "/dev/%s", tty);
	self->tty = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK);
	ASSERT_LE(0, self->tty);
	index = ksft_mbus_attach(self->tty);
	ASSERT_LE(0, index);
	check_node(_metadata, index, tty);

	/* path_id names a PCI function pci-<domain:bus:slot.fn>. */
	snprintf(want, sizeof(want), "pci-%s", slot);
	snprintf(link, sizeof(link), BY_PATH "/%s", want);
	EXPECT_TRUE(wait_path(link, true))
		TH_LOG("%s did not appear", link);
	EXPECT_EQ(1, links_to(BY_PATH, index, name, sizeof(name)));
	EXPECT_STREQ(want, name);
	len = readlink(link, target, sizeof(target) - 1);
	ASSERT_LT(0, len);
	target[len] = '\0';
	snprintf(dev, sizeof(dev), "../../mbus%d", index);
	EXPECT_STREQ(dev, target);
	snprintf(dev, sizeof(dev), "/dev/mbus%d", index);
	ASSERT_EQ(0, stat(dev, &st));
	ASSERT_EQ(0, stat(link, &lst));
	EXPECT_EQ(st.st_rdev, lst.st_rdev);

	ASSERT_EQ(0, ksft_mbus_detach(self->tty));
	check_gone(_metadata, index, tty);
	EXPECT_FALSE(present(link));
}

/* Last: stop the udevd this test started, so that no other test has one. */
TEST_F(udev, udevd_started_here_stops)
{
	const char *const argv[] = { "udevadm", "control", "--exit", NULL };

	SKIP_IF_NOT_READY();
	if (!present(STARTED_MARK))
		SKIP(return, "udevd ran before this test: left running");
	EXPECT_EQ(0, run(argv, false));
	EXPECT_FALSE(udevd_running());
	unlink(STARTED_MARK);
}

TEST_HARNESS_MAIN
