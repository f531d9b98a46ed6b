// SPDX-License-Identifier: GPL-2.0
/*
 * n_mbus loads and registers the N_MBUS line discipline.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "ksft-common.h"

TEST(module_loads)
{
	ASSERT_EQ(0, ksft_mbus_load());
	EXPECT_TRUE(ksft_mbus_loaded());
}

TEST(ldisc_is_listed_in_proc_tty_ldiscs)
{
	char name[64], line[128];
	bool found = false;
	FILE *f;
	int num;

	ASSERT_EQ(0, ksft_mbus_load());
	f = fopen("/proc/tty/ldiscs", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %d", name, &num) == 2 &&
		    !strcmp(name, MBUS_KO_NAME)) {
			found = true;
			EXPECT_EQ(N_MBUS, num);
		}
	}
	fclose(f);
	EXPECT_TRUE(found);
}

TEST(mbus_class_is_registered)
{
	ASSERT_EQ(0, ksft_mbus_load());
	EXPECT_EQ(0, access("/sys/class/mbus", F_OK));
}

TEST(nothing_holds_the_module_when_idle)
{
	ASSERT_EQ(0, ksft_mbus_load());
	EXPECT_EQ(0, ksft_mbus_refcnt());
}

TEST_HARNESS_MAIN
