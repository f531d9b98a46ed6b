// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: exchanges on the bus (EN 13757-2 timing)
 *
 * An exchange sends the optional wake-up preamble and the request held in
 * port->tx_buf, waits until the UART has sent the last stop bit and then
 * watches the response window: 330 bit times + 50 ms for the reply to
 * start, then the inter-character timeout once bytes come. The caller
 * holds port->bus_lock for the whole exchange.
 */
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/tty.h>

#include "compat.h"
#include "mbus.h"

/* Characters a UART's transmit FIFO holds (16550A: 16). */
#define MBUS_FIFO_CHARS		16

/* Silence after the request before a repeat: at least 33 bit times. */
#define MBUS_RETRY_PAUSE_BITS	33

/* Longest the line takes to say nothing: EN 13757-2's response bound. */
#define MBUS_RESPONSE_BITS	330
#define MBUS_RESPONSE_EXTRA_US	50000

u32 mbus_bit_ns(u32 baud)
{
	return NSEC_PER_SEC / (baud ? baud : MBUS_DEFAULT_BAUD);
}

void mbus_default_params(struct mbus_params *p)
{
	memset(p, 0, sizeof(*p));
	p->retries = MBUS_DEFAULT_RETRIES;
}

static u64 mbus_response_ns(const struct mbus_params *p, u32 baud)
{
	if (p->response_timeout_us)
		return (u64)p->response_timeout_us * NSEC_PER_USEC;
	return (u64)MBUS_RESPONSE_BITS * mbus_bit_ns(baud) +
	       MBUS_RESPONSE_EXTRA_US * NSEC_PER_USEC;
}

static u64 mbus_char_timeout_ns(const struct mbus_params *p, u32 baud)
{
	if (p->char_timeout_us)
		return (u64)p->char_timeout_us * NSEC_PER_USEC;
	return (u64)MBUS_CHAR_TIMEOUT_CHARS * MBUS_BITS_PER_CHAR *
	       mbus_bit_ns(baud) + MBUS_CHAR_TIMEOUT_EXTRA_US * NSEC_PER_USEC;
}

/**
 * mbus_hold_begin() - the bus was just taken: start the holder's bound
 * @port: the port; the caller holds @port->bus_lock
 *
 * No holder keeps the bus longer than the bus_hold_max_ms module
 * parameter (default 60 s): every wait below ends at that point, so that
 * one file's parameters cannot keep the bus from everyone else (six
 * attempts of 8192 wake-up bytes at 300 Bd would be over half an hour).
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

/*
 * Sleep @ns: -EINTR if a signal came, -ENODEV if the port died meanwhile
 * (close waits for the bus and must not wait out a long pause),
 * -ETIMEDOUT if the holder's bound ends first.
 */
static int mbus_sleep_ns(struct mbus_port *port, u64 ns)
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

/* Open the window before sending: a fast slave (or a pty) may beat us. */
static void mbus_win_begin(struct mbus_port *port, const struct mbus_params *p,
			   bool reply)
{
	struct mbus_window *w = &port->win;

	lockdep_assert_held(&port->bus_lock);
	spin_lock(&port->lock);
	/* Whatever was half received before belongs to nobody now. */
	mbus_rx_flush(port);
	memcpy(w->req, port->tx_buf, port->tx_len);
	w->req_len = port->tx_len;
	w->status = 0;
	w->info = 0;
	w->len = 0;
	w->raw_len = 0;
	w->echo_pos = 0;
	w->echo_pre = 0;
	w->echo_len = 0;
	if (p->flags & MBUS_PARAM_ECHO_CANCEL) {
		w->echo_pre = p->wakeup_bytes;
		w->echo_len = p->wakeup_bytes + w->req_len;
	}
	w->open = true;
	/* No reply awaited: frames on the line go to the readers. */
	if (!reply)
		w->status = MBUS_STATUS_NONE;
	WRITE_ONCE(w->seq, w->seq + 1);
	spin_unlock(&port->lock);
}

/* Close the window and decide what the bus said (if @reply was awaited). */
static void mbus_win_end(struct mbus_port *port, bool reply,
			 struct mbus_result *res)
{
	struct mbus_window *w = &port->win;

	lockdep_assert_held(&port->bus_lock);
	spin_lock(&port->lock);
	if (reply && !w->status) {
		/* A frame may hide behind a stalled candidate. */
		mbus_rx_flush(port);
	}
	if (!reply) {
		w->status = MBUS_STATUS_NONE;
	} else if (!w->status && w->raw_len) {
		w->status = MBUS_STATUS_GARBLED;
		port->stats.garbled++;
		mbus_nl_notify(port, MBUS_CMD_GARBLED, w->raw, w->raw_len, 0);
	} else if (!w->status) {
		w->status = MBUS_STATUS_TIMEOUT;
		port->stats.timeouts++;
		mbus_nl_notify(port, MBUS_CMD_TIMEOUT, NULL, 0, 0);
	}
	w->open = false;
	/* The echo of a request nobody answers may still be on its way. */
	if (reply)
		w->echo_len = 0;
	res->status = w->status;
	res->info = w->info;
	if (w->status == MBUS_STATUS_FRAME || w->status == MBUS_STATUS_ACK) {
		res->data = w->buf;
		res->len = w->len;
	} else {
		res->data = w->raw;
		res->len = w->status == MBUS_STATUS_NONE ? 0 : w->raw_len;
	}
	spin_unlock(&port->lock);
}

static bool mbus_win_changed(struct mbus_port *port, unsigned int seq)
{
	return READ_ONCE(port->win.seq) != seq || READ_ONCE(port->dead);
}

/*
 * Watch the response window until a reply is complete, the line stays
 * silent past @deadline, or bytes stop coming for the inter-character
 * timeout. Returns -EINTR on a signal, -ENODEV if the port died.
 */
static int mbus_win_wait(struct mbus_port *port, const struct mbus_params *p,
			 ktime_t deadline)
{
	u32 baud = READ_ONCE(port->baud);
	u64 char_ns = mbus_char_timeout_ns(p, baud);
	ktime_t limit, end, now;
	unsigned int seq;
	bool got, done;
	int ret;

	lockdep_assert_held(&port->bus_lock);
	/* Noise that never stops cannot hold the bus for ever. */
	limit = ktime_add_ns(deadline, (u64)MBUS_FRAME_MAX *
			     MBUS_BITS_PER_CHAR * mbus_bit_ns(baud) + char_ns);
	if (ktime_after(limit, port->hold_end))
		limit = port->hold_end;
	for (;;) {
		spin_lock(&port->lock);
		done = port->win.status || port->dead;
		seq = port->win.seq;
		/*
		 * A frame under way may run past the deadline, until the
		 * line is quiet for the inter-character timeout. Noise the
		 * delimiter dropped does not end the wait for the reply.
		 */
		end = deadline;
		got = mbus_parser_pending(&port->parser);
		if (got || port->win.raw_len) {
			ktime_t quiet = ktime_add_ns(port->last_rx, char_ns);

			if (got || ktime_after(quiet, end))
				end = quiet;
		}
		spin_unlock(&port->lock);

		if (done)
			break;
		if (ktime_after(end, limit))
			end = limit;
		now = ktime_get();
		if (!ktime_before(now, end))
			break;
		end = ktime_sub(end, now);
		ret = wait_event_interruptible_hrtimeout(port->wait,
							 mbus_win_changed(port, seq),
							 end);
		if (ret == -ERESTARTSYS)
			return -EINTR;
	}
	return mbus_port_dead(port) ? -ENODEV : 0;
}

/*
 * Before a request goes out: wait out the window of a request sent with
 * no reply awaited (its late reply or echo is nobody's answer; it goes to
 * the readers), and a frame still coming in then.
 */
static int mbus_wait_quiet(struct mbus_port *port, const struct mbus_params *p)
{
	u32 baud = READ_ONCE(port->baud);
	u64 char_ns = mbus_char_timeout_ns(p, baud);
	ktime_t end, limit, now;
	bool busy;
	int err;

	lockdep_assert_held(&port->bus_lock);
	limit = ktime_add_ns(port->quiet_until, (u64)MBUS_FRAME_MAX *
			     MBUS_BITS_PER_CHAR * mbus_bit_ns(baud) + char_ns);
	for (;;) {
		now = ktime_get();
		end = port->quiet_until;
		if (!ktime_before(now, limit))
			return 0;
		spin_lock(&port->lock);
		busy = mbus_parser_pending(&port->parser) &&
		       ktime_before(now, ktime_add_ns(port->last_rx, char_ns));
		if (busy && ktime_after(ktime_add_ns(port->last_rx, char_ns), end))
			end = ktime_add_ns(port->last_rx, char_ns);
		spin_unlock(&port->lock);
		if (!ktime_before(now, end))
			return 0;
		err = mbus_sleep_ns(port, ktime_to_ns(ktime_sub(end, now)));
		if (err)
			return err;
	}
}

/**
 * mbus_exchange() - send port->tx_buf once and watch for the reply
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @p: the parameters of the file the exchange is for
 * @reply: whether a reply is expected (false: return once sent)
 * @res: the outcome; @res->data stays valid until bus_lock is released
 *
 * Return: 0 when the exchange is complete, whatever the bus answered;
 * -EINTR (a signal: the request was sent whole or not at all), -ENODEV,
 * -EIO (the tty would not take the bytes).
 */
int mbus_exchange(struct mbus_port *port, const struct mbus_params *p,
		  bool reply, struct mbus_result *res)
{
	ktime_t deadline;
	int err;

	lockdep_assert_held(&port->bus_lock);
	err = mbus_wait_quiet(port, p);
	if (err)
		return err;
	mbus_bus_check_stale(port);
	mbus_win_begin(port, p, reply);
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
	res->sent = !err || err == -EINTR;
	if (err)
		goto out;
	deadline = ktime_add_ns(ktime_get(),
				mbus_response_ns(p, READ_ONCE(port->baud)));
	if (reply)
		err = mbus_win_wait(port, p, deadline);
	else
		/* A reply may come all the same: nobody else's to take. */
		port->quiet_until = deadline;
out:
	/* What is left of a preamble or a request must not reach the bus. */
	if (!res->sent && !READ_ONCE(port->dead))
		tty_driver_flush_buffer(port->tty);
	mbus_win_end(port, reply && !err, res);
	if (res->sent) {
		mbus_bus_observe(port, res->status);
		spin_lock(&port->lock);
		port->stats.tx_frames++;
		spin_unlock(&port->lock);
	}
	return err;
}

/**
 * mbus_transact() - an exchange with the repeats EN 13757-2 allows
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @p: the parameters of the file (retries, timing, wake-up, echo)
 * @reply: whether a reply is expected
 * @res: the outcome of the last attempt and the number of attempts
 *
 * A timeout or a garbled window is repeated up to @p->retries times after
 * a pause of 33 bit times.
 *
 * Return: as mbus_exchange().
 */
int mbus_transact(struct mbus_port *port, const struct mbus_params *p,
		  bool reply, struct mbus_result *res)
{
	unsigned int i;
	int err;

	lockdep_assert_held(&port->bus_lock);
	for (i = 0; ; i++) {
		res->attempts = i + 1;
		res->sent = false;
		err = mbus_exchange(port, p, reply, res);
		if (err || !reply || i >= p->retries ||
		    (res->status != MBUS_STATUS_TIMEOUT &&
		     res->status != MBUS_STATUS_GARBLED))
			return err;
		spin_lock(&port->lock);
		port->stats.retries++;
		spin_unlock(&port->lock);
		err = mbus_sleep_ns(port, (u64)MBUS_RETRY_PAUSE_BITS *
				    mbus_bit_ns(READ_ONCE(port->baud)));
		/* The holder's bound ends the repeats, not the exchange. */
		if (err == -ETIMEDOUT)
			return 0;
		if (err)
			return err;
	}
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
