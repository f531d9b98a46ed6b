// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline (EN 13757-2)
 *
 * Attach it to the tty of an M-Bus level converter and /dev/mbusN appears:
 *
 *	ldattach 29 /dev/ttyUSB0	(or mbus-attach /dev/ttyUSB0)
 *
 * The line is set to 8E1 at 2400 Bd. MBUS_IOC_GET_INDEX on the tty returns
 * N. Detaching, hanging up or switching the ldisc removes /dev/mbusN; files
 * still open on it then fail with -ENODEV.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/slab.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/tty_ldisc.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mbus.h"

static int ldisc = N_MBUS;
module_param(ldisc, int, 0444);
MODULE_PARM_DESC(ldisc, "line discipline number (default 29, N_DEVELOPMENT)");

unsigned int mbus_hold_max_ms = MBUS_HOLD_DEFAULT_MS;
module_param_named(bus_hold_max_ms, mbus_hold_max_ms, uint, 0644);
MODULE_PARM_DESC(bus_hold_max_ms,
		 "longest one write() or ioctl holds the bus, ms (1000..600000, default 60000)");

static dev_t mbus_devt;
static struct cdev mbus_cdev;

/* Maps minor numbers to ports; a port is in it from attach to detach. */
static DEFINE_IDR(mbus_idr);
/*
 * Protects mbus_idr, mbus_ports_gen and taking a reference on a port found
 * in mbus_idr.
 */
static DEFINE_MUTEX(mbus_idr_lock);
/* Bumped whenever a port enters or leaves mbus_idr; never 0. */
static unsigned int mbus_ports_gen = 1;

/* The idr changed: netlink dumps running across it are marked. */
static void mbus_ports_changed(void)
{
	lockdep_assert_held(&mbus_idr_lock);
	if (!++mbus_ports_gen)
		mbus_ports_gen = 1;
}

/**
 * mbus_ports_generation() - a number that changes when ports come and go
 *
 * Return: the number, never 0 (for netlink_callback.seq).
 */
unsigned int mbus_ports_generation(void)
{
	unsigned int gen;

	mutex_lock(&mbus_idr_lock);
	gen = mbus_ports_gen;
	mutex_unlock(&mbus_idr_lock);
	return gen;
}

static ssize_t tty_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	struct mbus_port *port = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", port->tty_name);
}
static DEVICE_ATTR_RO(tty);

static ssize_t baud_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct mbus_port *port = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(port->baud));
}
static DEVICE_ATTR_RO(baud);

static struct attribute *mbus_attrs[] = {
	&dev_attr_tty.attr,
	&dev_attr_baud.attr,
	NULL,
};

static const struct attribute_group mbus_group = {
	.attrs = mbus_attrs,
};

/* statistics/<counter>: one read-only file per field of struct mbus_stats. */
struct mbus_stat_attr {
	struct device_attribute dattr;
	size_t offset;
};

static ssize_t mbus_stat_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	const struct mbus_stat_attr *sa =
		container_of(attr, struct mbus_stat_attr, dattr);
	struct mbus_port *port = dev_get_drvdata(dev);
	u64 v;

	spin_lock(&port->lock);
	v = *(u64 *)((u8 *)&port->stats + sa->offset);
	spin_unlock(&port->lock);
	return sysfs_emit(buf, "%llu\n", v);
}

#define MBUS_STAT(field) {						\
	.dattr.attr = { .name = #field, .mode = 0444 },			\
	.dattr.show = mbus_stat_show,					\
	.offset = offsetof(struct mbus_stats, field),			\
}

static struct mbus_stat_attr mbus_stat_attrs[] = {
	MBUS_STAT(tx_frames),
	MBUS_STAT(rx_frames),
	MBUS_STAT(rx_acks),
	MBUS_STAT(timeouts),
	MBUS_STAT(retries),
	MBUS_STAT(checksum_errors),
	MBUS_STAT(length_errors),
	MBUS_STAT(parity_errors),
	MBUS_STAT(framing_errors),
	MBUS_STAT(overruns),
	MBUS_STAT(breaks),
	MBUS_STAT(garbled),
	MBUS_STAT(echo_dropped),
	MBUS_STAT(noise_bytes),
	MBUS_STAT(tx_bytes),
	MBUS_STAT(rx_bytes),
	MBUS_STAT(char_timeouts),
	MBUS_STAT(rx_dropped),
	MBUS_STAT(events_dropped),
};

/* Filled from mbus_stat_attrs at module init. */
static struct attribute *mbus_stat_attr_list[ARRAY_SIZE(mbus_stat_attrs) + 1];

static const struct attribute_group mbus_stat_group = {
	.name = "statistics",
	.attrs = mbus_stat_attr_list,
};

static const struct attribute_group *mbus_groups[] = {
	&mbus_group,
	&mbus_stat_group,
	NULL,
};

static struct class mbus_class = {
	.name = "mbus",
	.dev_groups = mbus_groups,
};

/* ---- port lifetime --------------------------------------------------- */

static void mbus_port_release(struct kref *kref)
{
	struct mbus_port *port = container_of(kref, struct mbus_port, kref);

	put_net(port->net);
	kfree(port->rxq);
	kfree(port);
}

void mbus_port_put(struct mbus_port *port)
{
	kref_put(&port->kref, mbus_port_release);
}

/* Look a live port up by minor and take a reference on it. */
struct mbus_port *mbus_port_get(unsigned int minor)
{
	struct mbus_port *port;

	mutex_lock(&mbus_idr_lock);
	port = idr_find(&mbus_idr, minor);
	if (port)
		kref_get(&port->kref);
	mutex_unlock(&mbus_idr_lock);
	return port;
}

/**
 * mbus_port_get_next() - the live port with the lowest minor >= *@minor
 * @minor: where to start; set to the minor of the port found
 *
 * For walking every port (the netlink dump).
 *
 * Return: the port with a reference taken (drop it with mbus_port_put()),
 * or NULL past the last.
 */
struct mbus_port *mbus_port_get_next(unsigned int *minor)
{
	struct mbus_port *port;
	int id = *minor;

	mutex_lock(&mbus_idr_lock);
	/* Skips the NULL of a port still being attached. */
	port = idr_get_next(&mbus_idr, &id);
	if (port) {
		kref_get(&port->kref);
		*minor = id;
	}
	mutex_unlock(&mbus_idr_lock);
	return port;
}

bool mbus_port_dead(struct mbus_port *port)
{
	bool dead;

	spin_lock(&port->lock);
	dead = port->dead;
	spin_unlock(&port->lock);
	return dead;
}

/*
 * Set the line up for M-Bus: 8E1, parity checked, no flow control.
 * BRKINT makes UART drivers flag a break (TTY_BREAK) instead of passing
 * a plain NUL; the signal it stands for is N_TTY's business, not ours.
 */
static void mbus_setup_line(struct tty_struct *tty, u32 baud)
{
	struct ktermios t = tty->termios;

	t.c_iflag = INPCK | BRKINT;
	t.c_oflag = 0;
	t.c_lflag = 0;
	t.c_cflag = CS8 | PARENB | CREAD | CLOCAL;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tty_termios_encode_baud_rate(&t, baud, baud);
	tty_set_termios(tty, &t);
}

static struct mbus_port *mbus_port_alloc(struct tty_struct *tty)
{
	struct mbus_port *port;

	port = kzalloc(sizeof(*port), GFP_KERNEL_ACCOUNT);
	if (!port)
		return NULL;
	port->rxq = kzalloc(sizeof(*port->rxq), GFP_KERNEL_ACCOUNT);
	if (!port->rxq) {
		kfree(port);
		return NULL;
	}
	kref_init(&port->kref);
	spin_lock_init(&port->lock);
	init_waitqueue_head(&port->wait);
	mutex_init(&port->bus_lock);
	init_waitqueue_head(&port->tx_wait);
	INIT_LIST_HEAD(&port->files);
	mbus_parser_init(&port->parser);
	mbus_bus_reset(&port->bus);
	port->last_rx = ktime_get();
	port->tty = tty;
	port->baud = MBUS_DEFAULT_BAUD;
	mbus_default_params(&port->defaults);
	mbus_nl_port_init(port);
	strscpy(port->tty_name, tty_name(tty), sizeof(port->tty_name));
	/* The ldisc open runs in the attaching process (TIOCSETD). */
	port->net = get_net(current->nsproxy->net_ns);
	return port;
}

/* Stop all activity: called on hangup and close, may run twice. */
static void mbus_port_kill(struct mbus_port *port)
{
	spin_lock(&port->lock);
	/* Waiters' conditions read both without the lock. */
	WRITE_ONCE(port->dead, true);
	WRITE_ONCE(port->win.seq, port->win.seq + 1);
	spin_unlock(&port->lock);
	wake_up_all(&port->wait);
	wake_up_all(&port->tx_wait);
}

/**
 * mbus_line_set_baud() - switch the line to another bus speed
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @baud: one of the eight M-Bus rates
 *
 * Return: 0, or -EIO if the tty did not take the rate.
 */
int mbus_line_set_baud(struct mbus_port *port, u32 baud)
{
	lockdep_assert_held(&port->bus_lock);
	/* Slaves that switched rate are strangers again. */
	mbus_bus_reset(&port->bus);
	mbus_setup_line(port->tty, baud);
	return READ_ONCE(port->baud) == baud ? 0 : -EIO;
}

/* ---- line discipline ------------------------------------------------- */

/*
 * A bus master serves every program on the machine that may open
 * /dev/mbusN, and takes one of the 256 numbers: as n_gsm does (since
 * CVE-2023-6546), attaching is for administrators.
 */
static bool mbus_may_attach(void)
{
	return capable(CAP_NET_ADMIN) || capable(CAP_SYS_ADMIN);
}

/*
 * A pty master is no serial line: tty_set_termios() warns (WARN_ON) when
 * asked to set one, and its slave is where a simulator or a converter
 * daemon sits.
 */
static bool mbus_tty_is_pty_master(const struct tty_struct *tty)
{
	return tty->driver->type == TTY_DRIVER_TYPE_PTY &&
	       tty->driver->subtype == PTY_TYPE_MASTER;
}

/*
 * Called by the tty core with the tty locked when N_MBUS is set (TIOCSETD).
 * May sleep. No receive_buf can run before it returns.
 */
static int mbus_ldisc_open(struct tty_struct *tty)
{
	struct mbus_port *port;
	int index, err;

	if (!mbus_may_attach())
		return -EPERM;
	if (!tty->ops->write || mbus_tty_is_pty_master(tty))
		return -EOPNOTSUPP;

	port = mbus_port_alloc(tty);
	if (!port)
		return -ENOMEM;

	mutex_lock(&mbus_idr_lock);
	index = idr_alloc(&mbus_idr, NULL, 0, MBUS_MINORS, GFP_KERNEL);
	mutex_unlock(&mbus_idr_lock);
	if (index < 0) {
		err = index == -ENOSPC ? -EBUSY : index;
		goto err_free;
	}
	port->index = index;

	port->dev = device_create(&mbus_class, tty->dev,
				  MKDEV(MAJOR(mbus_devt), index), port,
				  "mbus%d", index);
	if (IS_ERR(port->dev)) {
		err = PTR_ERR(port->dev);
		goto err_idr;
	}

	tty->disc_data = port;
	tty->receive_room = 65536;
	mbus_setup_line(tty, MBUS_DEFAULT_BAUD);
	/*
	 * set_termios cannot run yet (the tty core holds the ldisc for the
	 * switch), but sysfs may read @baud already.
	 */
	spin_lock(&port->lock);
	WRITE_ONCE(port->baud, tty_get_baud_rate(tty));
	spin_unlock(&port->lock);

	mutex_lock(&mbus_idr_lock);
	idr_replace(&mbus_idr, port, index);
	mbus_ports_changed();
	mutex_unlock(&mbus_idr_lock);
	mbus_nl_port_new(port);
	return 0;

err_idr:
	mutex_lock(&mbus_idr_lock);
	idr_remove(&mbus_idr, index);
	mutex_unlock(&mbus_idr_lock);
err_free:
	mbus_port_put(port);
	return err;
}

/*
 * Called when the ldisc is detached: TIOCSETD to another ldisc, hangup,
 * final close of the tty. May sleep; no receive_buf is in flight and none
 * will start.
 */
static void mbus_ldisc_close(struct tty_struct *tty)
{
	struct mbus_port *port = tty->disc_data;

	mbus_port_kill(port);
	device_destroy(&mbus_class, MKDEV(MAJOR(mbus_devt), port->index));
	/*
	 * Only now may the number go to another tty: freed before the
	 * device is gone, a concurrent attach would create a second mbusN.
	 * Opens that find the port meanwhile see it dead (-ENODEV).
	 */
	mutex_lock(&mbus_idr_lock);
	idr_remove(&mbus_idr, port->index);
	mbus_ports_changed();
	mutex_unlock(&mbus_idr_lock);

	/* Wait for the bus user in flight; it sees @dead and leaves. */
	mutex_lock(&port->bus_lock);
	spin_lock(&port->lock);
	port->tty = NULL;
	spin_unlock(&port->lock);
	mutex_unlock(&port->bus_lock);

	/* Sends what the events work had left, then PORT_DEL; stops it. */
	mbus_nl_port_del(port);

	tty->disc_data = NULL;
	mbus_port_put(port);
}

/*
 * Called on hangup (USB unplug, carrier loss) before close. Wakes every
 * waiter so nothing sleeps on a line that is gone.
 */
static void mbus_ldisc_hangup(struct tty_struct *tty)
{
	mbus_port_kill(tty->disc_data);
}

/*
 * ioctl on the tty itself. Runs in process context with the ldisc
 * referenced. Anything not ours goes to the generic tty mode ioctls.
 */
static int mbus_ldisc_ioctl(struct tty_struct *tty, unsigned int cmd,
			    unsigned long arg)
{
	struct mbus_port *port = tty->disc_data;
	u32 index;

	switch (cmd) {
	case MBUS_IOC_GET_INDEX:
		index = port->index;
		return put_user(index, (u32 __user *)arg);
	default:
		return n_tty_ioctl_helper(tty, cmd, arg);
	}
}

/*
 * The UART has room again. May be called in interrupt context: only wake
 * the exchange that waits for room.
 */
static void mbus_ldisc_write_wakeup(struct tty_struct *tty)
{
	struct mbus_port *port = tty->disc_data;

	clear_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
	wake_up(&port->tx_wait);
}

/*
 * The termios changed: ours (a baud change) or someone's stty. Called in
 * process context with the termios lock held; keeps @baud true.
 */
static void mbus_ldisc_set_termios(struct tty_struct *tty,
				   const struct ktermios *old)
{
	u32 baud = tty_termios_baud_rate(&tty->termios);
	struct mbus_port *port = tty->disc_data;

	spin_lock(&port->lock);
	/*
	 * May run inside our own MBUS_IOC_SET_BAUD, which holds bus_lock:
	 * only flag the bus state for reset.
	 */
	if (port->baud != baud)
		WRITE_ONCE(port->bus_stale, true);
	WRITE_ONCE(port->baud, baud);
	spin_unlock(&port->lock);
}

static struct tty_ldisc_ops mbus_ldisc = {
	.owner = THIS_MODULE,
	.name = KBUILD_MODNAME,
	.open = mbus_ldisc_open,
	.close = mbus_ldisc_close,
	.hangup = mbus_ldisc_hangup,
	.ioctl = mbus_ldisc_ioctl,
	.set_termios = mbus_ldisc_set_termios,
	.receive_buf = mbus_ldisc_receive_buf,
	.write_wakeup = mbus_ldisc_write_wakeup,
};

/* ---- module ---------------------------------------------------------- */

static int __init mbus_init(void)
{
	unsigned int i;
	int err;

	/* tty_register_ldisc() would even replace N_TTY: refuse that. */
	if (ldisc <= N_TTY || ldisc >= NR_LDISCS) {
		pr_err("ldisc=%d: must be 1..%d and not in use\n", ldisc,
		       NR_LDISCS - 1);
		return -EINVAL;
	}

	for (i = 0; i < ARRAY_SIZE(mbus_stat_attrs); i++)
		mbus_stat_attr_list[i] = &mbus_stat_attrs[i].dattr.attr;

	err = alloc_chrdev_region(&mbus_devt, 0, MBUS_MINORS, "mbus");
	if (err)
		return err;

	cdev_init(&mbus_cdev, &mbus_fops);
	mbus_cdev.owner = THIS_MODULE;
	err = cdev_add(&mbus_cdev, mbus_devt, MBUS_MINORS);
	if (err)
		goto err_region;

	err = class_register(&mbus_class);
	if (err)
		goto err_cdev;

	/* The family exists before any port can send an event. */
	err = mbus_nl_init();
	if (err)
		goto err_class;

	mbus_ldisc.num = ldisc;
	err = tty_register_ldisc(&mbus_ldisc);
	if (err) {
		pr_err("cannot register line discipline %d: %d\n", ldisc, err);
		goto err_nl;
	}
	return 0;

err_nl:
	mbus_nl_exit();
err_class:
	class_unregister(&mbus_class);
err_cdev:
	cdev_del(&mbus_cdev);
err_region:
	unregister_chrdev_region(mbus_devt, MBUS_MINORS);
	return err;
}

static void __exit mbus_exit(void)
{
	/* No port is left (each held the module): no event can come. */
	tty_unregister_ldisc(&mbus_ldisc);
	mbus_nl_exit();
	class_unregister(&mbus_class);
	cdev_del(&mbus_cdev);
	unregister_chrdev_region(mbus_devt, MBUS_MINORS);
	idr_destroy(&mbus_idr);
}

module_init(mbus_init);
module_exit(mbus_exit);

MODULE_DESCRIPTION("M-Bus (EN 13757-2) master line discipline");
MODULE_LICENSE("GPL");
MODULE_ALIAS_LDISC(N_MBUS);
