// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the n_mbus kselftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ksft-common.h"

bool ksft_mbus_loaded(void)
{
	return access("/sys/module/" MBUS_KO_NAME, F_OK) == 0;
}

int ksft_mbus_load(void)
{
	struct utsname u;
	char path[256];
	int fd, ret;

	if (ksft_mbus_loaded())
		return 0;
	if (uname(&u))
		return -errno;
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s.ko",
		 u.release, MBUS_KO_NAME);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret == -EEXIST ? 0 : ret;
}

int ksft_mbus_unload(void)
{
	if (syscall(SYS_delete_module, MBUS_KO_NAME, O_NONBLOCK))
		return -errno;
	return 0;
}

int ksft_mbus_refcnt(void)
{
	FILE *f = fopen("/sys/module/" MBUS_KO_NAME "/refcnt", "r");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

int ksft_pty_open(int *master, int *slave)
{
	struct termios t;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (grantpt(m) || unlockpt(m))
		goto err;
	s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto err;
	if (!tcgetattr(s, &t)) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
err:
	s = -errno;
	close(m);
	return s;
}

int ksft_mbus_attach(int fd)
{
	int ldisc = N_MBUS;
	__u32 index;

	if (ioctl(fd, TIOCSETD, &ldisc))
		return -errno;
	if (ioctl(fd, MBUS_IOC_GET_INDEX, &index))
		return -errno;
	return (int)index;
}

int ksft_mbus_detach(int fd)
{
	int ldisc = N_TTY;

	return ioctl(fd, TIOCSETD, &ldisc) ? -errno : 0;
}

bool ksft_mbus_node_exists(int index)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/mbus%d", index);
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

bool ksft_mbus_wait_node(int index, bool present, int ms)
{
	const struct timespec step = { 0, 1000000 };

	for (; ms > 0; ms--) {
		if (ksft_mbus_node_exists(index) == present)
			return true;
		nanosleep(&step, NULL);
	}
	return ksft_mbus_node_exists(index) == present;
}

int ksft_mbus_open(int index, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/mbus%d", index);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int ksft_mbus_sysfs(int index, const char *attr, char *buf, int size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/mbus/mbus%d/%s", index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}
