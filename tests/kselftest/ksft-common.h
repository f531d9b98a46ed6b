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

#include <stddef.h>
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

/*
 * Start `mbusctl monitor [@port]` (@port NULL: every port) with its
 * standard output in @out and its standard error in @out.err, in a new
 * network namespace if @new_netns, and wait until it says it has joined
 * the event group. Returns its pid, or -1 (it did not say so in 10 s,
 * scaled).
 */
pid_t ksft_monitor_start(const char *mbusctl, const char *port,
			 const char *out, bool new_netns);
/* SIGTERM it and reap it. */
void ksft_monitor_stop(pid_t pid);

/* Monotonic time in microseconds. */
long long ksft_now_us(void);

/*
 * The slack @us a timing bound allows beyond the ideal, scaled for a slow
 * kernel: nmbus_time_scale=N on the kernel command line (the debug lane's
 * KASAN + lockdep kernel) makes it N times as large; 1 otherwise.
 */
long long ksft_slack_us(long long us);

/* N of nmbus_time_scale=N (1 without): how many times slower the kernel is. */
unsigned int ksft_time_scale(void);

/* Where the guest holds mbus-sim and the tools (static binaries). */
#define KSFT_TOOLS	"/tools/"

/**
 * ksft_sim_start() - start mbus-sim --pty
 * @pty: buffer for the path of the pty's slave side, "/dev/pts/N"
 * @size: size of @pty
 * @args: further arguments (meters, faults), NULL-terminated
 *
 * Reads the simulator's first line, "PTY /dev/pts/N"; the simulator goes
 * on playing its meters on the master side until ksft_sim_stop().
 *
 * Return: the simulator's pid, or -1 (a simulator that did start but
 * printed no usable PTY line is stopped again).
 */
pid_t ksft_sim_start(char *pty, size_t size, const char *const args[]);

/**
 * ksft_sim_stop() - stop a simulator: SIGTERM, and wait for it
 * @pid: from ksft_sim_start(); nothing happens unless it is positive
 */
void ksft_sim_stop(pid_t pid);

/**
 * ksft_mbus_attach_tty() - open a tty and attach N_MBUS to it
 * @path: the tty, e.g. the pty from ksft_sim_start()
 * @index: where the port's index N (of /dev/mbusN) goes
 *
 * Return: the tty's file descriptor, or -errno (nothing left open).
 */
int ksft_mbus_attach_tty(const char *path, int *index);

/**
 * ksft_tool_run() - run a program and capture its output
 * @out: buffer for its standard output, NUL-terminated
 * @out_size: size of @out
 * @err: buffer for its standard error, NUL-terminated, or NULL to leave
 *	 standard error alone (the test's own)
 * @err_size: size of @err
 * @prog: a program in KSFT_TOOLS, or a path if it contains a '/'
 * @...: its arguments, NULL-terminated
 *
 * No shell is involved. Output beyond a full buffer is not read: the
 * program then dies of SIGPIPE if it writes on.
 *
 * Return: its exit status, or -1 if it could not be started or was killed
 * by a signal (127: it could not be executed).
 */
int ksft_tool_run(char *out, size_t out_size, char *err, size_t err_size,
		  const char *prog, ...) __attribute__((sentinel));

/**
 * ksft_run_capture() - run a shell command and capture its output
 * @out: buffer for its standard output, NUL-terminated; add "2>&1" to
 *	 the command for its standard error too
 * @size: size of @out
 * @fmt: printf format of the command for /bin/sh -c (popen())
 * @...: arguments for @fmt
 *
 * Return: the command's exit status, or -1 if it is too long, could not be
 * started or was killed by a signal.
 */
int ksft_run_capture(char *out, size_t size, const char *fmt, ...);

#endif
