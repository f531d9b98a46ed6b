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

#include <sys/types.h>

/* Build a short frame 10 C A CS 16 into @buf; returns 5. */
int ksft_short_frame(unsigned char *buf, unsigned char c, unsigned char a);
/* Build a long frame 68 L L 68 C A CI data CS 16; returns its length. */
int ksft_long_frame(unsigned char *buf, unsigned char c, unsigned char a,
		    unsigned char ci, const unsigned char *data, int n);

/*
 * Read one complete frame (E5, short, control or long) from @fd, skipping
 * anything else, within @timeout_ms (-1: no limit). Returns its length,
 * 0 on timeout, -errno on error or end of file.
 */
int ksft_read_frame(int fd, unsigned char *buf, int timeout_ms);

/* Write all of @buf to @fd; returns 0 or -errno. */
int ksft_write_all(int fd, const void *buf, size_t len);

/*
 * A scripted slave in a child process on the master side of the pty:
 * for every request frame it calls @fn, which answers on @fd. The child
 * ends when the line hangs up or it is stopped.
 */
typedef void (*ksft_slave_fn)(int fd, const unsigned char *req, int len,
			      void *arg);
pid_t ksft_slave_fork(int fd, ksft_slave_fn fn, void *arg);
void ksft_slave_stop(pid_t pid);

/* MBUS_IOC_XFER with the common arguments; returns 0 or -errno. */
int ksft_xfer(int fd, const void *req, int len, void *rx, int *rx_len,
	      unsigned int flags, unsigned int *status, unsigned int *attempts);
/* The info bits of the last ksft_xfer() of this process. */
extern unsigned int ksft_xfer_info;

/* Monotonic time in microseconds. */
long long ksft_now_us(void);
