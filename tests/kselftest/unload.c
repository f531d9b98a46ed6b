// SPDX-License-Identifier: GPL-2.0
/*
 * n_mbus unloads once nothing is attached, and not before.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

TEST(module_cannot_unload_while_attached)
{
	int m, s;

	ASSERT_EQ(0, ksft_mbus_load());
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	ASSERT_LE(0, ksft_mbus_attach(s));
	EXPECT_EQ(-EWOULDBLOCK, ksft_mbus_unload());
	EXPECT_TRUE(ksft_mbus_loaded());
	close(s);
	close(m);
}

TEST(module_unloads_after_detach)
{
	ASSERT_EQ(0, ksft_mbus_load());
	EXPECT_EQ(0, ksft_mbus_refcnt());
	EXPECT_EQ(0, ksft_mbus_unload());
	EXPECT_FALSE(ksft_mbus_loaded());
	EXPECT_NE(0, access("/sys/class/mbus", F_OK));
}

/* ldisc=0 would replace N_TTY: the module refuses to load. */
TEST(module_refuses_to_take_n_tty)
{
	struct utsname u;
	char path[256];
	int fd, ret;

	if (ksft_mbus_loaded())
		ASSERT_EQ(0, ksft_mbus_unload());
	ASSERT_EQ(0, uname(&u));
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s.ko", u.release,
		 MBUS_KO_NAME);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ret = syscall(SYS_finit_module, fd, "ldisc=0", 0);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	EXPECT_FALSE(ksft_mbus_loaded());
}

TEST(module_loads_again_after_unload)
{
	ASSERT_EQ(0, ksft_mbus_load());
	EXPECT_TRUE(ksft_mbus_loaded());
	EXPECT_EQ(0, ksft_mbus_unload());
}

/* MODULE_ALIAS_LDISC: the kernel asks modprobe for tty-ldisc-29. */
TEST(tiocsetd_autoloads_the_module)
{
	int m, s, index;

	if (ksft_mbus_loaded())
		ASSERT_EQ(0, ksft_mbus_unload());
	if (access("/sbin/modprobe", X_OK))
		SKIP(return, "no /sbin/modprobe in this system");
	ASSERT_EQ(0, ksft_pty_open(&m, &s));
	index = ksft_mbus_attach(s);
	EXPECT_LE(0, index);
	EXPECT_TRUE(ksft_mbus_loaded());
	close(s);
	close(m);
	EXPECT_TRUE(ksft_mbus_wait_node(index, false, 1000));
	EXPECT_EQ(0, ksft_mbus_unload());
}

TEST_HARNESS_MAIN
