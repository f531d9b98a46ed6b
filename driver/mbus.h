/* SPDX-License-Identifier: GPL-2.0 */
/*
 * M-Bus master line discipline: private declarations
 */
#ifndef _MBUS_H
#define _MBUS_H

#include <linux/device.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/tty.h>
#include <linux/wait.h>
#include <uapi/linux/mbus.h>

#include "mbus_frame.h"

#define MBUS_MINORS		256
#define MBUS_DEFAULT_BAUD	2400

/**
 * struct mbus_port - one tty with N_MBUS attached, seen as /dev/mbusN
 *
 * The port is created by the ldisc open and lives until the last reference
 * is dropped: the ldisc holds one from open to close, every open file of
 * /dev/mbusN holds one. After close (detach, hangup, ldisc switch) @dead
 * is set and @tty is NULL: the port still exists for the open files, which
 * then get -ENODEV.
 */
struct mbus_port {
	/* identity */
	struct kref kref;
	int index;
	struct device *dev;
	char tty_name[64];

	/* lifetime */
	spinlock_t lock;		/* protects @tty and @dead; taken in
					 * receive_buf, so irqsave from
					 * process context
					 */
	struct tty_struct *tty;
	bool dead;
	wait_queue_head_t wait;		/* readers, transactions, close */

	/* line */
	u32 baud;

	/* statistics, updated under @lock */
	struct mbus_stats stats;
};

/* Per open file of /dev/mbusN. */
struct mbus_file {
	struct mbus_port *port;
	struct mbus_params params;
	struct mbus_addr addr;
};

#endif /* _MBUS_H */
