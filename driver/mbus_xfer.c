// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: the exchange (EN 13757-2 timing)
 *
 * One MBUS_IOC_XFER from the top down. mbus_xfer_run() addresses the
 * request in port->tx_buf (selecting a secondary address first when the
 * bus has another selection), mbus_xfer_attempts() repeats it as
 * EN 13757-2 allows, mbus_xfer_once() sends it once (write() makes just
 * that one attempt) and watches its response window: 330 bit times +
 * 50 ms for the reply to start, then the inter-character timeout once
 * bytes come. The window's functions follow; the receive path offers the
 * window what it gets (mbus_win_offer(), mbus_win_noise(),
 * mbus_win_break()). The caller holds port->bus_lock for the whole
 * exchange; the transmitter is mbus_tx.c, the addressing state of the bus
 * mbus_addr.c.
 */
#include <linux/hrtimer.h>
#include <linux/string.h>

#include "compat.h"
#include "mbus.h"

/* Silence after the request before a repeat: at least 33 bit times. */
#define MBUS_RETRY_PAUSE_BITS	33

/* Longest the line takes to say nothing: EN 13757-2's response bound. */
#define MBUS_RESPONSE_BITS	330
#define MBUS_RESPONSE_EXTRA_US	50000

/* Defined below, where the exchange reaches them. */
static int mbus_xfer_select(struct mbus_port *port,
			    const struct mbus_params *p, const u8 *sec,
			    struct mbus_result *res);
static int mbus_xfer_attempts(struct mbus_port *port,
			      const struct mbus_params *p, bool reply,
			      struct mbus_result *res);
static int mbus_wait_quiet(struct mbus_port *port,
			   const struct mbus_params *p);
static void mbus_win_begin(struct mbus_port *port,
			   const struct mbus_params *p, bool reply);
static int mbus_win_wait(struct mbus_port *port, const struct mbus_params *p,
			 ktime_t deadline);
static void mbus_win_end(struct mbus_port *port, bool reply,
			 struct mbus_result *res);
static u64 mbus_response_ns(const struct mbus_params *p, u32 baud);

/**
 * mbus_xfer_run() - an MBUS_IOC_XFER exchange
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @p: the file's parameters
 * @addr: the file's address (bound when MBUS_XFER_ADDRESSED is asked for)
 * @flags: the MBUS_XFER_ flags
 * @res: the outcome
 *
 * With MBUS_XFER_ADDRESSED writes the A field: the primary address, or 253
 * after selecting the secondary address when the bus has another
 * selection. With MBUS_XFER_FCB sets FCV and the FCB the addressed slave
 * expects. Fixes the checksum and runs the exchange. A selection the bus
 * does not acknowledge ends it: @res then holds the selection's outcome,
 * MBUS_XFER_INFO_NOT_SENT is set and the request is not sent.
 *
 * Return: as mbus_xfer_once(); -EINVAL for an E5 to be addressed.
 */
int mbus_xfer_run(struct mbus_port *port, const struct mbus_params *p,
		  const struct mbus_addr *addr, u32 flags,
		  struct mbus_result *res)
{
	bool reply = !(flags & MBUS_XFER_NO_REPLY);
	u8 a = addr->primary;
	int err;

	lockdep_assert_held(&port->bus_lock);
	mbus_bus_check_stale(port);
	if (!(flags & (MBUS_XFER_ADDRESSED | MBUS_XFER_FCB)))
		return mbus_xfer_attempts(port, p, reply, res);
	if (port->tx_buf[0] == MBUS_FRAME_ACK)
		return -EINVAL;
	if ((flags & MBUS_XFER_ADDRESSED) &&
	    addr->type == MBUS_ADDR_SECONDARY) {
		err = mbus_xfer_select(port, p, addr->secondary, res);
		if (err == -EAGAIN) {
			/*
			 * Not acknowledged: the request stays unsent. A
			 * frame is no answer to a selection either.
			 */
			if (res->status == MBUS_STATUS_FRAME)
				res->status = MBUS_STATUS_GARBLED;
			res->info |= MBUS_XFER_INFO_NOT_SENT;
			return 0;
		}
		if (err)
			return err;
		a = MBUS_ADDR_NETWORK;
	}
	mbus_bus_address(port, flags, a);
	return mbus_xfer_attempts(port, p, reply, res);
}

/*
 * Select @sec unless it is what the bus has selected already: 0 once it
 * is, -EAGAIN if the selection was not acknowledged (@res says how it
 * ended), else as mbus_xfer_once(). The request in port->tx_buf is kept.
 */
static int mbus_xfer_select(struct mbus_port *port,
			    const struct mbus_params *p, const u8 *sec,
			    struct mbus_result *res)
{
	u8 saved[MBUS_FRAME_MAX];
	unsigned int len = port->tx_len;
	int err;

	lockdep_assert_held(&port->bus_lock);
	if (mbus_bus_selected(port, sec))
		return 0;
	memcpy(saved, port->tx_buf, len);
	mbus_build_select(port, sec);
	err = mbus_xfer_attempts(port, p, true, res);
	memcpy(port->tx_buf, saved, len);
	port->tx_len = len;
	if (err)
		return err;
	return res->status == MBUS_STATUS_ACK ? 0 : -EAGAIN;
}

/*
 * The request with the repeats EN 13757-2 allows: a timeout or a garbled
 * window is repeated up to @p->retries times after a pause of 33 bit
 * times. @res holds the outcome of the last attempt and the number of
 * attempts. Returns as mbus_xfer_once().
 */
static int mbus_xfer_attempts(struct mbus_port *port,
			      const struct mbus_params *p, bool reply,
			      struct mbus_result *res)
{
	unsigned int i;
	int err;

	lockdep_assert_held(&port->bus_lock);
	for (i = 0; ; i++) {
		res->attempts = i + 1;
		res->sent = false;
		err = mbus_xfer_once(port, p, reply, res);
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
 * mbus_xfer_once() - send port->tx_buf once and watch for the reply
 * @port: the port; the caller holds @port->bus_lock and saw it alive
 * @p: the parameters of the file the exchange is for
 * @reply: whether a reply is expected (false: return once sent)
 * @res: the outcome; @res->data stays valid until bus_lock is released
 *
 * Return: 0 when the exchange is complete, whatever the bus answered;
 * -EINTR (a signal: the request was sent whole or not at all), -ENODEV,
 * -EIO (the tty would not take the bytes), -ETIMEDOUT (the holder's bound
 * ran out before the request was on the line).
 */
int mbus_xfer_once(struct mbus_port *port, const struct mbus_params *p,
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
	err = mbus_tx_send(port, p, &res->sent);
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
	mbus_win_end(port, reply && !err, res);
	if (res->sent) {
		mbus_bus_observe(port, res->status);
		spin_lock(&port->lock);
		port->stats.tx_frames++;
		spin_unlock(&port->lock);
	}
	return err;
}

/* ---- the response window ---------------------------------------------- */

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

/* ---- what the receive path offers the window --------------------------- */

/* Whether the window is open and its reply still undecided. */
static bool mbus_win_waiting(const struct mbus_window *w)
{
	return w->open && !w->status;
}

/* A frame identical to the request just sent can only be its echo. */
static bool mbus_win_is_replica(const struct mbus_window *w,
				const struct mbus_rx_event *ev)
{
	return ev->len == w->req_len && !memcmp(ev->data, w->req, ev->len);
}

/*
 * A slave answers with its own address: a request to primary address
 * 0-250 cannot be answered by a frame carrying another one. Requests to
 * 253 (selected slave) and 254 (everybody) may be.
 */
static bool mbus_win_from_addressee(const struct mbus_window *w,
				    const struct mbus_rx_event *ev)
{
	const u8 *req = w->req;
	unsigned int a_req, a_rsp;

	if (ev->frame_type == MBUS_FRAME_TYPE_ACK ||
	    w->req_len < MBUS_SHORT_LEN)
		return true;
	a_req = req[req[0] == MBUS_FRAME_LONG_START ? 5 : 2];
	a_rsp = ev->data[ev->frame_type == MBUS_FRAME_TYPE_SHORT ? 2 : 5];
	return a_req > MBUS_ADDR_PRIMARY_MAX || a_req == a_rsp;
}

/**
 * mbus_win_offer() - a frame was received: is it the window's reply?
 * @port: the port; the caller holds @port->lock
 * @ev: the frame (an %MBUS_EV_FRAME of the delimiter)
 *
 * A lone E5 is one byte that line noise makes every 256th time: it
 * counts as an acknowledgment only as the one byte of the window, at the
 * end of its burst; never after other bytes (an E5 in the data of a
 * garbled reply), never with more bytes right behind it (a collision),
 * never outside an exchange. A frame identical to the request is the
 * converter's echo. A frame from another slave than the one a primary
 * address asked for is a late answer, not this reply. The reply decides
 * the window; noise, an echo and another slave's frame while the window
 * waits set its MBUS_XFER_INFO_ bits. The caller counts the frame.
 *
 * Return: %MBUS_WIN_REPLY, %MBUS_WIN_NOISE (a lone E5 that is no
 * acknowledgment), %MBUS_WIN_ECHO, or %MBUS_WIN_OTHER (a frame for the
 * readers).
 */
enum mbus_win_verdict mbus_win_offer(struct mbus_port *port,
				     const struct mbus_rx_event *ev)
{
	struct mbus_window *w = &port->win;
	bool ack = ev->frame_type == MBUS_FRAME_TYPE_ACK;

	lockdep_assert_held(&port->lock);
	if (!mbus_win_waiting(w))
		return ack ? MBUS_WIN_NOISE : MBUS_WIN_OTHER;
	if (ack && (port->rx_more || w->raw_len != 1)) {
		w->info |= MBUS_XFER_INFO_NOISE;
		return MBUS_WIN_NOISE;
	}
	if (mbus_win_is_replica(w, ev)) {
		w->info |= MBUS_XFER_INFO_ECHO;
		w->raw_len -= min_t(u16, w->raw_len, ev->len);
		return MBUS_WIN_ECHO;
	}
	if (!mbus_win_from_addressee(w, ev)) {
		/* A late answer of another slave: not this reply. */
		w->info |= MBUS_XFER_INFO_NOISE;
		return MBUS_WIN_OTHER;
	}
	memcpy(w->buf, ev->data, ev->len);
	w->len = ev->len;
	w->status = ack ? MBUS_STATUS_ACK : MBUS_STATUS_FRAME;
	WRITE_ONCE(w->seq, w->seq + 1);
	return MBUS_WIN_REPLY;
}

/**
 * mbus_win_echo() - drop a byte that an echoing converter sends back
 * @port: the port; the caller holds @port->lock
 * @c: the byte received, without a line error
 *
 * The window's request (after its wake-up preamble of 55h bytes) is
 * what an echoing line returns first; mbus_win_begin() set how much of
 * it to expect. A byte that differs ends the cancelling: the line does
 * not echo after all, and the byte and the rest are the reply's.
 *
 * Return: true if @c was the next byte of the echo (counted, dropped).
 */
bool mbus_win_echo(struct mbus_port *port, u8 c)
{
	struct mbus_window *w = &port->win;
	u8 want;

	lockdep_assert_held(&port->lock);
	if (w->echo_pos >= w->echo_len)
		return false;
	if (w->echo_pos < w->echo_pre)
		want = 0x55;
	else
		want = w->req[w->echo_pos - w->echo_pre];
	if (c != want) {
		w->echo_len = 0;
		return false;
	}
	w->echo_pos++;
	w->info |= MBUS_XFER_INFO_ECHO;
	port->stats.echo_dropped++;
	return true;
}

/**
 * mbus_win_byte() - a byte received while a window may be open
 * @port: the port; the caller holds @port->lock
 * @c: the byte, after echo cancellation
 * @line_err: it came with a parity or framing error or an overrun
 *
 * An open window that has no status yet keeps the byte in its raw
 * capture (the first MBUS_FRAME_MAX bytes, for MBUS_IOC_XFER's raw
 * reply) and notes MBUS_XFER_INFO_LINE_ERR for a line error.
 */
void mbus_win_byte(struct mbus_port *port, u8 c, bool line_err)
{
	struct mbus_window *w = &port->win;

	lockdep_assert_held(&port->lock);
	if (!w->open || w->status)
		return;
	if (line_err)
		w->info |= MBUS_XFER_INFO_LINE_ERR;
	if (w->raw_len < MBUS_FRAME_MAX)
		w->raw[w->raw_len++] = c;
}

/**
 * mbus_win_received() - the receive path took a burst of bytes
 * @port: the port; the caller holds @port->lock
 *
 * An open window's waiter looks again: its inter-character timeout
 * starts over from the last byte.
 */
void mbus_win_received(struct mbus_port *port)
{
	lockdep_assert_held(&port->lock);
	if (port->win.open)
		WRITE_ONCE(port->win.seq, port->win.seq + 1);
}

/**
 * mbus_win_noise() - bytes that make no frame were received
 * @port: the port; the caller holds @port->lock
 *
 * A window waiting for its reply notes MBUS_XFER_INFO_NOISE.
 */
void mbus_win_noise(struct mbus_port *port)
{
	lockdep_assert_held(&port->lock);
	if (mbus_win_waiting(&port->win))
		port->win.info |= MBUS_XFER_INFO_NOISE;
}

/**
 * mbus_win_break() - a break was received
 * @port: the port; the caller holds @port->lock
 *
 * A window waiting for its reply ends with MBUS_STATUS_BREAK.
 */
void mbus_win_break(struct mbus_port *port)
{
	struct mbus_window *w = &port->win;

	lockdep_assert_held(&port->lock);
	if (mbus_win_waiting(w)) {
		w->status = MBUS_STATUS_BREAK;
		WRITE_ONCE(w->seq, w->seq + 1);
	}
}
