// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: the transmitter
 *
 * mbus_tx_send() sends the optional wake-up preamble and the request held
 * in port->tx_buf and waits until the UART has sent the last stop bit;
 * mbus_send_break() holds the line in space. Both run for the holder of
 * port->bus_lock, whose every wait ends at its bound (mbus_hold_begin()).
 * The exchange around them, with its response window, is mbus_xfer.c.
 */
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/tty.h>

#include "compat.h"
#include "mbus.h"

/* Characters a UART's transmit FIFO holds (16550A: 16). */
#define MBUS_FIFO_CHARS		16

/**
 * mbus_bit_ns() - the length of one bit on the line
 * @baud: the line's rate; 0 counts as the default 2400 Bd
 *
 * Return: the bit time in ns.
 */
u32 mbus_bit_ns(u32 baud)
{
	return NSEC_PER_SEC / (baud ? baud : MBUS_DEFAULT_BAUD);
}

/**
 * mbus_hold_begin() - the bus was just taken: start the holder's bound
 * @port: the port; the caller holds @port->bus_lock
 *
 * No holder keeps the bus longer than the bus_hold_max_ms module
 * parameter (default 60 s): every wait of the holder, here and in
 * mbus_xfer.c, ends at that point, so that one file's parameters cannot
 * keep the bus from everyone else (six attempts of 8192 wake-up bytes at
 * 300 Bd would be over half an hour).
 */
void mbus_hold_begin(struct mbus_port *port)
{
	u32 ms = clamp_val(READ_ONCE(mbus_hold_max_ms), MBUS_HOLD_MIN_MS,
			   MBUS_HOLD_MAX_MS);

	lockdep_assert_held(&port->bus_lock);
	port->hold_end = ktime_add_ms(ktime_get(), ms);
}

/* What is left of the holder's bound, in ns; 0 once it is used up. */
static u64 mbus_hold_left_ns(struct mbus_port *port)
{
	s64 left = ktime_to_ns(ktime_sub(port->hold_end, ktime_get()));

	lockdep_assert_held(&port->bus_lock);
	return left > 0 ? left : 0;
}

/**
 * mbus_sleep_ns() - sleep on the bus, within the holder's bound
 * @port: the port; the caller holds @port->bus_lock
 * @ns: how long
 *
 * Close wakes the sleeper: it waits for the bus and must not wait out a
 * long pause.
 *
 * Return: 0 after @ns; -EINTR if a signal came, -ENODEV if the port died
 * meanwhile, -ETIMEDOUT if the holder's bound ends first.
 */
int mbus_sleep_ns(struct mbus_port *port, u64 ns)
{
	u64 left = mbus_hold_left_ns(port);
	bool cut = ns >= left;
	int ret;

	if (cut)
		ns = left;
	ret = wait_event_interruptible_hrtimeout(port->wait,
						 READ_ONCE(port->dead),
						 ns_to_ktime(ns));
	if (ret == -ERESTARTSYS)
		return -EINTR;
	if (READ_ONCE(port->dead))
		return -ENODEV;
	return cut ? -ETIMEDOUT : 0;
}

/*
 * Wait for @port->tx_wait (write_wakeup, close) at most @ns and the
 * holder's bound: 0 if @cond may have changed, -EINTR, -ENODEV,
 * -ETIMEDOUT (bound used up) or -EAGAIN (@ns passed).
 */
static int mbus_tx_wait(struct mbus_port *port, u64 ns,
			bool (*cond)(struct mbus_port *port))
{
	u64 left = mbus_hold_left_ns(port);
	long ret;

	if (!left)
		return -ETIMEDOUT;
	ret = wait_event_interruptible_timeout(port->tx_wait,
					       cond(port) ||
					       READ_ONCE(port->dead),
					       nsecs_to_jiffies(min(ns, left)) + 1);
	if (ret < 0)
		return -EINTR;
	if (READ_ONCE(port->dead))
		return -ENODEV;
	return ret ? 0 : -EAGAIN;
}

static bool mbus_tx_room(struct mbus_port *port)
{
	return tty_write_room(port->tty) > 0;
}

static bool mbus_tx_empty(struct mbus_port *port)
{
	return !tty_chars_in_buffer(port->tty);
}

/*
 * Queue @len bytes for the UART, waiting for room as needed: -EIO if the
 * tty takes nothing for a second; -EINTR, -ENODEV, -ETIMEDOUT as
 * mbus_tx_wait().
 */
static int mbus_tx_write(struct mbus_port *port, const u8 *buf, size_t len)
{
	struct tty_struct *tty = port->tty;
	int n, err;

	while (len) {
		if (READ_ONCE(port->dead))
			return -ENODEV;
		if (signal_pending(current))
			return -EINTR;
		set_bit(TTY_DO_WRITE_WAKEUP, &tty->flags);
		n = tty->ops->write(tty, buf, len);
		if (n < 0)
			return n;
		spin_lock(&port->lock);
		port->stats.tx_bytes += n;
		spin_unlock(&port->lock);
		buf += n;
		len -= n;
		if (!len)
			break;
		if (n)
			continue;
		err = mbus_tx_wait(port, NSEC_PER_SEC, mbus_tx_room);
		if (err == -EAGAIN && !mbus_tx_room(port))
			return -EIO;
		if (err && err != -EAGAIN)
			return err;
	}
	return 0;
}

/*
 * Wait until the UART has sent everything, last stop bit included. The
 * tty's buffer (up to 4 KiB: 150 s at 300 Bd) drains in our own wait, so
 * that close, a signal or the holder's bound end it; only the UART's FIFO
 * is left to tty_wait_until_sent(). Returns 0, -EINTR, -ENODEV, -ETIMEDOUT
 * or -EIO (the tty stopped sending).
 */
static int mbus_tx_drain(struct mbus_port *port, size_t bytes)
{
	u64 char_ns = (u64)MBUS_BITS_PER_CHAR *
		      mbus_bit_ns(READ_ONCE(port->baud));
	u64 budget = 2 * bytes * char_ns + 200 * NSEC_PER_MSEC;
	ktime_t end = ktime_add_ns(ktime_get(), budget);
	int err;

	while (!mbus_tx_empty(port)) {
		if (!ktime_before(ktime_get(), end))
			return -EIO;
		/* write_wakeup comes with room, not when empty: poll too. */
		err = mbus_tx_wait(port, 10 * NSEC_PER_MSEC, mbus_tx_empty);
		if (err && err != -EAGAIN)
			return err;
	}
	tty_wait_until_sent(port->tty, nsecs_to_jiffies(2 * MBUS_FIFO_CHARS *
							char_ns) + HZ / 5);
	if (signal_pending(current))
		return -EINTR;
	return READ_ONCE(port->dead) ? -ENODEV : 0;
}

static int mbus_tx_wakeup(struct mbus_port *port, const struct mbus_params *p)
{
	static const u8 chunk[64] = {
		[0 ... 63] = 0x55,
	};
	unsigned int left = p->wakeup_bytes, n;
	int err;

	while (left) {
		n = min_t(unsigned int, left, sizeof(chunk));
		err = mbus_tx_write(port, chunk, n);
		if (err)
			return err;
		left -= n;
	}
	err = mbus_tx_drain(port, p->wakeup_bytes);
	if (err)
		return err;
	if (!p->wakeup_delay_us)
		return 0;
	return mbus_sleep_ns(port, (u64)p->wakeup_delay_us * NSEC_PER_USEC);
}

/*
 * Tell netlink monitors about the request before it goes out: a fast
 * slave's reply may reach the receive path before mbus_tx_write() returns,
 * and the monitor must see the request first.
 */
static void mbus_tx_notify(struct mbus_port *port)
{
	spin_lock(&port->lock);
	mbus_nl_notify(port, MBUS_CMD_FRAME_TX, port->tx_buf, port->tx_len, 0);
	spin_unlock(&port->lock);
}

/**
 * mbus_tx_send() - send the wake-up preamble and the request
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @p: the parameters of the file the request is for (wake-up bytes and
 *	delay)
 * @sent: set to whether the request was queued whole: it then goes out
 *	even if the wait for the UART was cut short
 *
 * Sends @p->wakeup_bytes of 0x55, waits until they are on the line and
 * sleeps @p->wakeup_delay_us; tells netlink monitors about the request in
 * @port->tx_buf, queues it and waits until the UART sent its last stop
 * bit. What is left of a preamble or a request that was not queued whole
 * is flushed: it must not reach the bus.
 *
 * Return: 0 once the request is on the line; -EINTR (a signal), -ENODEV,
 * -ETIMEDOUT (the holder's bound), -EIO (the tty would not take or send
 * the bytes).
 */
int mbus_tx_send(struct mbus_port *port, const struct mbus_params *p,
		 bool *sent)
{
	int err;

	lockdep_assert_held(&port->bus_lock);
	*sent = false;
	if (p->wakeup_bytes) {
		err = mbus_tx_wakeup(port, p);
		if (err)
			goto out;
	}
	mbus_tx_notify(port);
	err = mbus_tx_write(port, port->tx_buf, port->tx_len);
	if (err)
		goto out;
	err = mbus_tx_drain(port, port->tx_len);
	/* Queued whole: it goes out even if we stop waiting for it. */
	*sent = !err || err == -EINTR;
out:
	/* What is left of a preamble or a request must not reach the bus. */
	if (!*sent && !READ_ONCE(port->dead))
		tty_driver_flush_buffer(port->tty);
	return err;
}

/**
 * mbus_send_break() - hold the line in space (a collision signal)
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @ms: duration
 *
 * Return: 0, -EOPNOTSUPP if the tty cannot send a break (a pty), -EINTR.
 */
int mbus_send_break(struct mbus_port *port, u32 ms)
{
	struct tty_struct *tty = port->tty;
	int err;

	lockdep_assert_held(&port->bus_lock);
	if (!tty->ops->break_ctl)
		return -EOPNOTSUPP;
	tty_wait_until_sent(tty, HZ);
	err = tty->ops->break_ctl(tty, -1);
	if (err)
		return err;
	err = mbus_sleep_ns(port, (u64)ms * NSEC_PER_MSEC);
	tty->ops->break_ctl(tty, 0);
	return err;
}
