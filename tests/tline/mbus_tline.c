// SPDX-License-Identifier: GPL-2.0
/*
 * mbus_tline: a test-only tty driver with the behaviour of a UART
 *
 * A pty cannot carry what the n_mbus receive path must handle on a real
 * line: characters flagged TTY_PARITY, TTY_FRAME, TTY_OVERRUN or
 * TTY_BREAK, a transmitter that takes a character time per character
 * (chars_in_buffer() and the end of the last stop bit), breaks, and a
 * converter that echoes. Each line of this driver is a tty, /dev/ttyTLN,
 * and a far end, /dev/tlineN, where a kselftest plays the bus through the
 * interface of tests/tline/tline.h: it scripts what the receiver gets and
 * when, and reads what the tty sent and when.
 *
 * Built per kernel for the QEMU test guests only (tests/tests.mk); never
 * installed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/kfifo.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/tty_flip.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "tline.h"

#define TLINE_TX_FIFO	512	/* the transmit buffer, characters */
#define TLINE_RX_OPS	1024	/* scripted characters waiting */
#define TLINE_EVENTS	1024	/* events waiting for read() */

static unsigned int lines = 2;
module_param(lines, uint, 0444);
MODULE_PARM_DESC(lines, "number of lines (default 2)");

struct tline {
	struct tty_port port;
	struct miscdevice misc;
	char misc_name[16];

	/*
	 * Protects everything below. Taken by the tty operations, the far
	 * end's file operations and both timers (softirq): always with
	 * irqsave, never around a call into the tty layer that could come
	 * back (tty_port_tty_wakeup() is called after it is dropped).
	 */
	spinlock_t lock;
	u32 baud;
	u32 char_bits;
	u64 char_ns;
	bool echo;
	bool breaking;

	/* transmitter */
	DECLARE_KFIFO(tx_fifo, u8, TLINE_TX_FIFO);
	bool tx_busy;			/* a character is on the wire */
	u8 tx_ch;
	struct hrtimer tx_timer;	/* expires at its last stop bit */
	u64 tx_ends;			/* times the transmitter went idle */
	ktime_t tx_end;			/* the last of those */
	u64 tx_bytes;

	/* receiver: the script */
	struct tline_rx rx[TLINE_RX_OPS];
	unsigned int rx_head;
	unsigned int rx_count;
	ktime_t rx_base;		/* the previous character's end */
	u64 rx_armed;			/* tx_ends when the head became head */
	struct hrtimer rx_timer;
	u64 rx_bytes;

	/* events for the far end */
	struct tline_event ev[TLINE_EVENTS];
	unsigned int ev_head;
	unsigned int ev_count;
	u32 ev_lost;
	wait_queue_head_t ev_wait;
};

static struct tty_driver *tline_driver;
static struct tline *tline_lines;

static void tline_event(struct tline *l, u8 type, u8 ch, u8 flag, ktime_t t)
{
	struct tline_event *ev;

	lockdep_assert_held(&l->lock);
	if (l->ev_count == TLINE_EVENTS) {
		l->ev_head = (l->ev_head + 1) % TLINE_EVENTS;
		l->ev_count--;
		l->ev_lost++;
	}
	ev = &l->ev[(l->ev_head + l->ev_count) % TLINE_EVENTS];
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = ktime_to_ns(t);
	ev->type = type;
	ev->ch = ch;
	ev->flag = flag;
	l->ev_count++;
	wake_up_interruptible(&l->ev_wait);
}

/* The character format of @t: start bit, data bits, parity, stop bits. */
static void tline_set_format(struct tline *l, const struct ktermios *t,
			     u32 baud)
{
	static const u32 data_bits[] = { 5, 6, 7, 8 };

	lockdep_assert_held(&l->lock);
	if (baud)
		l->baud = baud;
	l->char_bits = 1 + data_bits[(t->c_cflag & CSIZE) >> 4] +
		       !!(t->c_cflag & PARENB) + (t->c_cflag & CSTOPB ? 2 : 1);
	l->char_ns = div_u64((u64)l->char_bits * NSEC_PER_SEC, l->baud);
}

/* ---- receiver ---------------------------------------------------------- */

/*
 * When the head of the script is received; false while it waits for the
 * transmitter to go idle.
 */
static bool tline_rx_due(struct tline *l, ktime_t *due)
{
	const struct tline_rx *op = &l->rx[l->rx_head];
	ktime_t base = l->rx_base;

	lockdep_assert_held(&l->lock);
	if (op->anchor == TLINE_RX_AFTER_TX) {
		if (l->tx_ends == l->rx_armed || l->tx_busy)
			return false;
		base = l->tx_end;
	}
	*due = ktime_add_ns(base, (u64)op->gap_us * NSEC_PER_USEC + l->char_ns);
	return true;
}

static void tline_rx_schedule(struct tline *l)
{
	ktime_t due;

	lockdep_assert_held(&l->lock);
	if (l->rx_count && tline_rx_due(l, &due))
		hrtimer_start(&l->rx_timer, due, HRTIMER_MODE_ABS_SOFT);
}

static enum hrtimer_restart tline_rx_timer(struct hrtimer *timer)
{
	struct tline *l = container_of(timer, struct tline, rx_timer);
	const struct tline_rx *op;
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	bool pushed = false;
	unsigned long flags;
	ktime_t due;

	spin_lock_irqsave(&l->lock, flags);
	while (l->rx_count && tline_rx_due(l, &due)) {
		if (ktime_after(due, ktime_get())) {
			hrtimer_set_expires(timer, due);
			ret = HRTIMER_RESTART;
			break;
		}
		op = &l->rx[l->rx_head];
		tty_insert_flip_char(&l->port, op->ch, op->flag);
		pushed = true;
		l->rx_bytes++;
		tline_event(l, TLINE_EV_RX, op->ch, op->flag, due);
		l->rx_head = (l->rx_head + 1) % TLINE_RX_OPS;
		l->rx_count--;
		l->rx_base = due;
		l->rx_armed = l->tx_ends;
	}
	if (pushed)
		tty_flip_buffer_push(&l->port);
	spin_unlock_irqrestore(&l->lock, flags);
	return ret;
}

/* ---- transmitter ------------------------------------------------------- */

/* Put the next character on the wire; false if there is none. */
static bool tline_tx_next(struct tline *l, ktime_t start)
{
	lockdep_assert_held(&l->lock);
	if (l->breaking || !kfifo_get(&l->tx_fifo, &l->tx_ch))
		return false;
	l->tx_busy = true;
	hrtimer_set_expires(&l->tx_timer, ktime_add_ns(start, l->char_ns));
	return true;
}

static enum hrtimer_restart tline_tx_timer(struct hrtimer *timer)
{
	struct tline *l = container_of(timer, struct tline, tx_timer);
	enum hrtimer_restart ret = HRTIMER_RESTART;
	ktime_t end = hrtimer_get_expires(timer);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	if (!l->tx_busy) {
		/* Shut down or flushed while the character was on its way. */
		spin_unlock_irqrestore(&l->lock, flags);
		return HRTIMER_NORESTART;
	}
	l->tx_bytes++;
	tline_event(l, TLINE_EV_TX, l->tx_ch, TTY_NORMAL, end);
	if (l->echo) {
		tty_insert_flip_char(&l->port, l->tx_ch, TTY_NORMAL);
		tty_flip_buffer_push(&l->port);
		l->rx_bytes++;
		tline_event(l, TLINE_EV_ECHO, l->tx_ch, TTY_NORMAL, end);
	}
	l->tx_busy = false;
	if (!tline_tx_next(l, end)) {
		l->tx_end = end;
		l->tx_ends++;
		ret = HRTIMER_NORESTART;
		tline_rx_schedule(l);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	tty_port_tty_wakeup(&l->port);
	return ret;
}

/* Start the transmitter if it is idle and has something to send. */
static void tline_tx_kick(struct tline *l)
{
	lockdep_assert_held(&l->lock);
	if (!l->tx_busy && tline_tx_next(l, ktime_get()))
		hrtimer_start(&l->tx_timer, hrtimer_get_expires(&l->tx_timer),
			      HRTIMER_MODE_ABS_SOFT);
}

/* ---- tty operations ---------------------------------------------------- */

static struct tline *tline_of(struct tty_struct *tty)
{
	return &tline_lines[tty->index];
}

static int tline_install(struct tty_driver *driver, struct tty_struct *tty)
{
	return tty_port_install(&tline_lines[tty->index].port, driver, tty);
}

static int tline_open(struct tty_struct *tty, struct file *filp)
{
	return tty_port_open(tty->port, tty, filp);
}

static void tline_close(struct tty_struct *tty, struct file *filp)
{
	tty_port_close(tty->port, tty, filp);
}

static void tline_hangup(struct tty_struct *tty)
{
	tty_port_hangup(tty->port);
}

/* Any context the tty core calls write() from; never sleeps. */
static int tline_queue(struct tty_struct *tty, const u8 *buf, size_t count)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&l->lock, flags);
	n = kfifo_in(&l->tx_fifo, buf, count);
	tline_tx_kick(l);
	spin_unlock_irqrestore(&l->lock, flags);
	return n;
}

#ifdef TLINE_WRITE_SSIZE
static ssize_t tline_write(struct tty_struct *tty, const u8 *buf, size_t count)
#else
static int tline_write(struct tty_struct *tty, const u8 *buf, int count)
#endif
{
	return tline_queue(tty, buf, count);
}

static unsigned int tline_write_room(struct tty_struct *tty)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&l->lock, flags);
	n = kfifo_avail(&l->tx_fifo);
	spin_unlock_irqrestore(&l->lock, flags);
	return n;
}

/* Characters not sent yet, the one on the wire included. */
static unsigned int tline_chars_in_buffer(struct tty_struct *tty)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;
	unsigned int n;

	spin_lock_irqsave(&l->lock, flags);
	n = kfifo_len(&l->tx_fifo) + l->tx_busy;
	spin_unlock_irqrestore(&l->lock, flags);
	return n;
}

static void tline_flush_buffer(struct tty_struct *tty)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	kfifo_reset_out(&l->tx_fifo);
	spin_unlock_irqrestore(&l->lock, flags);
	tty_port_tty_wakeup(&l->port);
}

static int tline_break_ctl(struct tty_struct *tty, int state)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	if (state && !l->breaking) {
		l->breaking = true;
		tline_event(l, TLINE_EV_BREAK_ON, 0, TTY_BREAK, ktime_get());
	} else if (!state && l->breaking) {
		l->breaking = false;
		tline_event(l, TLINE_EV_BREAK_OFF, 0, TTY_BREAK, ktime_get());
		tline_tx_kick(l);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return 0;
}

static void tline_set_termios(struct tty_struct *tty,
			      const struct ktermios *old)
{
	struct tline *l = tline_of(tty);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	tline_set_format(l, &tty->termios, tty_get_baud_rate(tty));
	spin_unlock_irqrestore(&l->lock, flags);
}

static const struct tty_operations tline_ops = {
	.install = tline_install,
	.open = tline_open,
	.close = tline_close,
	.hangup = tline_hangup,
	.write = tline_write,
	.write_room = tline_write_room,
	.chars_in_buffer = tline_chars_in_buffer,
	.flush_buffer = tline_flush_buffer,
	.break_ctl = tline_break_ctl,
	.set_termios = tline_set_termios,
};

static int tline_activate(struct tty_port *port, struct tty_struct *tty)
{
	struct tline *l = container_of(port, struct tline, port);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	tline_set_format(l, &tty->termios, tty_get_baud_rate(tty));
	spin_unlock_irqrestore(&l->lock, flags);
	return 0;
}

/* The last close or a hangup: the transmitter stops, its buffer goes. */
static void tline_shutdown(struct tty_port *port)
{
	struct tline *l = container_of(port, struct tline, port);
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	kfifo_reset(&l->tx_fifo);
	l->tx_busy = false;
	l->breaking = false;
	spin_unlock_irqrestore(&l->lock, flags);
	hrtimer_cancel(&l->tx_timer);
}

static const struct tty_port_operations tline_port_ops = {
	.activate = tline_activate,
	.shutdown = tline_shutdown,
};

/* ---- the far end, /dev/tlineN ------------------------------------------ */

static struct tline *tline_of_file(struct file *file)
{
	return container_of(file->private_data, struct tline, misc);
}

static ssize_t tline_far_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct tline *l = tline_of_file(file);
	struct tline_event evs[16];
	unsigned long flags;
	unsigned int n = 0;
	int err;

	if (count < sizeof(evs[0]))
		return -EINVAL;
	for (;;) {
		spin_lock_irqsave(&l->lock, flags);
		while (l->ev_count && n < ARRAY_SIZE(evs) &&
		       (n + 1) * sizeof(evs[0]) <= count) {
			evs[n++] = l->ev[l->ev_head];
			l->ev_head = (l->ev_head + 1) % TLINE_EVENTS;
			l->ev_count--;
		}
		spin_unlock_irqrestore(&l->lock, flags);
		if (n)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(l->ev_wait,
					       READ_ONCE(l->ev_count));
		if (err)
			return err;
	}
	if (copy_to_user(buf, evs, n * sizeof(evs[0])))
		return -EFAULT;
	return n * sizeof(evs[0]);
}

static int tline_rx_check(const struct tline_rx *op)
{
	if (op->reserved || op->anchor > TLINE_RX_AFTER_TX)
		return -EINVAL;
	return op->flag <= TLINE_OVERRUN ? 0 : -EINVAL;
}

/* A whole script or nothing: -ENOSPC if it does not fit. */
static ssize_t tline_far_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct tline *l = tline_of_file(file);
	unsigned int i, n = count / sizeof(struct tline_rx);
	struct tline_rx *ops;
	unsigned long flags;
	ssize_t ret = count;

	if (!n || count % sizeof(struct tline_rx) || n > TLINE_RX_OPS)
		return -EINVAL;
	ops = memdup_user(buf, count);
	if (IS_ERR(ops))
		return PTR_ERR(ops);
	for (i = 0; i < n; i++) {
		if (tline_rx_check(&ops[i])) {
			kfree(ops);
			return -EINVAL;
		}
	}
	spin_lock_irqsave(&l->lock, flags);
	if (l->rx_count + n > TLINE_RX_OPS) {
		ret = -ENOSPC;
	} else {
		if (!l->rx_count) {
			l->rx_base = ktime_get();
			l->rx_armed = l->tx_ends;
		}
		for (i = 0; i < n; i++)
			l->rx[(l->rx_head + l->rx_count + i) % TLINE_RX_OPS] =
				ops[i];
		l->rx_count += n;
		tline_rx_schedule(l);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	kfree(ops);
	return ret;
}

static __poll_t tline_far_poll(struct file *file, poll_table *wait)
{
	struct tline *l = tline_of_file(file);

	poll_wait(file, &l->ev_wait, wait);
	return READ_ONCE(l->ev_count) ? EPOLLIN | EPOLLRDNORM : 0;
}

static void tline_reset(struct tline *l)
{
	unsigned long flags;

	hrtimer_cancel(&l->rx_timer);
	spin_lock_irqsave(&l->lock, flags);
	l->rx_count = 0;
	l->ev_count = 0;
	l->ev_lost = 0;
	l->echo = false;
	l->tx_bytes = 0;
	l->rx_bytes = 0;
	spin_unlock_irqrestore(&l->lock, flags);
}

static long tline_far_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct tline *l = tline_of_file(file);
	struct tline_info info;
	unsigned long flags;
	int on;

	switch (cmd) {
	case TLINE_IOC_SET_ECHO:
		if (get_user(on, (int __user *)arg))
			return -EFAULT;
		spin_lock_irqsave(&l->lock, flags);
		l->echo = on;
		spin_unlock_irqrestore(&l->lock, flags);
		return 0;
	case TLINE_IOC_RESET:
		tline_reset(l);
		return 0;
	case TLINE_IOC_GET_INFO:
		memset(&info, 0, sizeof(info));
		spin_lock_irqsave(&l->lock, flags);
		info.baud = l->baud;
		info.char_bits = l->char_bits;
		info.tx_pending = kfifo_len(&l->tx_fifo) + l->tx_busy;
		info.rx_pending = l->rx_count;
		info.events_lost = l->ev_lost;
		info.breaking = l->breaking;
		info.echo = l->echo;
		info.tx_bytes = l->tx_bytes;
		info.rx_bytes = l->rx_bytes;
		spin_unlock_irqrestore(&l->lock, flags);
		/*
		 * Nothing left to receive: wait for the tty's buffer work,
		 * so that every character received has been through the
		 * line discipline when the caller reads its counters.
		 */
		if (!info.rx_pending)
			flush_work(&l->port.buf.work);
		return copy_to_user((void __user *)arg, &info, sizeof(info)) ?
		       -EFAULT : 0;
	}
	return -ENOTTY;
}

static const struct file_operations tline_far_fops = {
	.owner = THIS_MODULE,
	.read = tline_far_read,
	.write = tline_far_write,
	.poll = tline_far_poll,
	.unlocked_ioctl = tline_far_ioctl,
	.llseek = noop_llseek,
};

/* ---- module ------------------------------------------------------------ */

static void tline_line_init(struct tline *l, unsigned int i)
{
	tty_port_init(&l->port);
	l->port.ops = &tline_port_ops;
	spin_lock_init(&l->lock);
	INIT_KFIFO(l->tx_fifo);
	init_waitqueue_head(&l->ev_wait);
	hrtimer_init(&l->tx_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	l->tx_timer.function = tline_tx_timer;
	hrtimer_init(&l->rx_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	l->rx_timer.function = tline_rx_timer;
	l->baud = 2400;
	l->char_bits = 11;
	l->char_ns = div_u64(11ULL * NSEC_PER_SEC, 2400);
	snprintf(l->misc_name, sizeof(l->misc_name), "tline%u", i);
	l->misc.minor = MISC_DYNAMIC_MINOR;
	l->misc.name = l->misc_name;
	l->misc.fops = &tline_far_fops;
}

static void tline_line_destroy(struct tline *l, unsigned int i)
{
	misc_deregister(&l->misc);
	tty_unregister_device(tline_driver, i);
	hrtimer_cancel(&l->rx_timer);
	hrtimer_cancel(&l->tx_timer);
	tty_port_destroy(&l->port);
}

static int __init tline_init(void)
{
	struct device *dev;
	unsigned int i;
	int err;

	BUILD_BUG_ON(TLINE_NORMAL != TTY_NORMAL || TLINE_BREAK != TTY_BREAK ||
		     TLINE_FRAME != TTY_FRAME || TLINE_PARITY != TTY_PARITY ||
		     TLINE_OVERRUN != TTY_OVERRUN);
	if (!lines || lines > 16)
		return -EINVAL;
	tline_lines = kcalloc(lines, sizeof(*tline_lines), GFP_KERNEL);
	if (!tline_lines)
		return -ENOMEM;
	tline_driver = tty_alloc_driver(lines, TTY_DRIVER_REAL_RAW |
					TTY_DRIVER_DYNAMIC_DEV);
	if (IS_ERR(tline_driver)) {
		err = PTR_ERR(tline_driver);
		goto err_free;
	}
	tline_driver->driver_name = KBUILD_MODNAME;
	tline_driver->name = "ttyTL";
	tline_driver->type = TTY_DRIVER_TYPE_SERIAL;
	tline_driver->subtype = SERIAL_TYPE_NORMAL;
	tline_driver->init_termios = tty_std_termios;
	tline_driver->init_termios.c_cflag = B2400 | CS8 | CREAD | HUPCL |
					     CLOCAL;
	tline_driver->init_termios.c_ispeed = 2400;
	tline_driver->init_termios.c_ospeed = 2400;
	tty_set_operations(tline_driver, &tline_ops);
	err = tty_register_driver(tline_driver);
	if (err)
		goto err_driver;

	for (i = 0; i < lines; i++) {
		struct tline *l = &tline_lines[i];

		tline_line_init(l, i);
		dev = tty_port_register_device(&l->port, tline_driver, i, NULL);
		if (IS_ERR(dev)) {
			err = PTR_ERR(dev);
			tty_port_destroy(&l->port);
			goto err_lines;
		}
		err = misc_register(&l->misc);
		if (err) {
			tty_unregister_device(tline_driver, i);
			tty_port_destroy(&l->port);
			goto err_lines;
		}
	}
	return 0;

err_lines:
	while (i--)
		tline_line_destroy(&tline_lines[i], i);
	tty_unregister_driver(tline_driver);
err_driver:
	tty_driver_kref_put(tline_driver);
err_free:
	kfree(tline_lines);
	return err;
}

static void __exit tline_exit(void)
{
	unsigned int i;

	for (i = 0; i < lines; i++)
		tline_line_destroy(&tline_lines[i], i);
	tty_unregister_driver(tline_driver);
	tty_driver_kref_put(tline_driver);
	kfree(tline_lines);
}

module_init(tline_init);
module_exit(tline_exit);

MODULE_DESCRIPTION("n_mbus test-only tty driver with UART behaviour");
MODULE_LICENSE("GPL");
