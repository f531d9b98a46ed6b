/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the n_mbus kselftests: module loading, a pty pair as
 * a fake bus, attaching N_MBUS.
 */
#ifndef _MBUS_KSFT_COMMON_H
#define _MBUS_KSFT_COMMON_H

#include <stdbool.h>
#include <linux/mbus.h>

#define MBUS_KO_NAME	"n_mbus"

/* Load n_mbus from /lib/modules/$(uname -r)/extra unless it is loaded. */
int ksft_mbus_load(void);
/* Unload it (O_NONBLOCK delete_module); returns 0 or -errno. */
int ksft_mbus_unload(void);
bool ksft_mbus_loaded(void);
/* The module's reference count from sysfs, or -1. */
int ksft_mbus_refcnt(void);

/* Open a pty pair; the slave is raw. Returns 0 or -errno. */
int ksft_pty_open(int *master, int *slave);
/* TIOCSETD N_MBUS on @fd and MBUS_IOC_GET_INDEX; returns N or -errno. */
int ksft_mbus_attach(int fd);
/* TIOCSETD N_TTY; returns 0 or -errno. */
int ksft_mbus_detach(int fd);
/* Whether /dev/mbusN exists (as a character device). */
bool ksft_mbus_node_exists(int index);
/* Wait up to @ms for /dev/mbusN to appear (true) or vanish (false). */
bool ksft_mbus_wait_node(int index, bool present, int ms);
/* Open /dev/mbusN with @flags; returns the fd or -errno. */
int ksft_mbus_open(int index, int flags);
/* Read a sysfs attribute of mbusN into @buf; returns 0 or -errno. */
int ksft_mbus_sysfs(int index, const char *attr, char *buf, int size);

#endif
