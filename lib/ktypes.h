/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Kernel idioms for user space: the short integer type names for the code
 * in driver/ that is also built there (the frame delimiter), and the one
 * ARRAY_SIZE() of libnmbus and the tools.
 */
#ifndef NMBUS_KTYPES_H
#define NMBUS_KTYPES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;

/* Elements of an array (not a pointer). kselftest_harness.h has its own. */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#endif
