/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel's short integer type names for the code in driver/ that is
 * also built in user space (the frame delimiter).
 */
#ifndef NMBUS_KTYPES_H
#define NMBUS_KTYPES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;

#endif
