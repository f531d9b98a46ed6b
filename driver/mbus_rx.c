// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: the receive path
 *
 * Bytes from the tty go through echo cancellation into the frame
 * delimiter (mbus_frame.c). Every frame is offered to the window of the
 * exchange in progress (mbus_win_offer(), mbus_xfer.c); a frame that is
 * not the window's reply, echo or noise is queued for read() on every
 * open file. Nothing here sleeps or allocates.
 */
#include <linux/string.h>
#include <linux/tty.h>

#include "compat.h"
#include "mbus.h"

/* Number of the oldest frame still in the ring. */
static u64 mbus_rxq_tail(const struct mbus_rxq *q)
{
	return q->head > MBUS_RXQ_LEN ? q->head - MBUS_RXQ_LEN : 0;
}

/**
 * mbus_rxq_put() - keep a frame for read()
 * @port: the port; the caller holds @port->lock
 * @owner: the file whose write() the frame answers, or NULL for a frame
 *	for every open file
 * @frame: the frame
 * @len: its length
 *
 * Stored once whatever the number of files. The slot it takes may hold
 * the oldest frame still unread by some files: each of them counts one in
 * rx_dropped.
 */
void mbus_rxq_put(struct mbus_port *port, const struct mbus_file *owner,
		  const u8 *frame, unsigned int len)
{
	struct mbus_rxq *q = port->rxq;
	struct mbus_rx_slot *slot = &q->slot[q->head % MBUS_RXQ_LEN];

	lockdep_assert_held(&port->lock);
	if (!owner && !port->nfiles)
		return;
	port->stats.rx_dropped += slot->unread;
	slot->owner = owner;
	slot->to = owner ? MBUS_RX_TO_OWNER : MBUS_RX_TO_ALL;
	slot->unread = owner ? 1 : port->nfiles;
	slot->len = len;
	memcpy(slot->data, frame, len);
	q->head++;
}

/* Whether the slot is one @mf reads. */
static bool mbus_rxq_for(const struct mbus_rx_slot *slot,
			 const struct mbus_file *mf)
{
	return slot->to == MBUS_RX_TO_ALL ||
	       (slot->to == MBUS_RX_TO_OWNER && slot->owner == mf);
}

/*
 * The next frame @mf reads, moving mf->rx_next past frames that are not
 * for it; NULL if there is none.
 */
static struct mbus_rx_slot *mbus_rxq_next(struct mbus_port *port,
					  struct mbus_file *mf)
{
	struct mbus_rxq *q = port->rxq;
	struct mbus_rx_slot *slot;

	lockdep_assert_held(&port->lock);
	/* Frames that went meanwhile were counted when their slot was reused. */
	if (mf->rx_next < mbus_rxq_tail(q))
		mf->rx_next = mbus_rxq_tail(q);
	for (; mf->rx_next < q->head; mf->rx_next++) {
		slot = &q->slot[mf->rx_next % MBUS_RXQ_LEN];
		if (mbus_rxq_for(slot, mf))
			return slot;
	}
	return NULL;
}

/**
 * mbus_rxq_file_open() - a new file reads the frames that come from now on
 * @port: the port; the caller holds @port->lock
 * @mf: the file, being added to @port->files
 */
void mbus_rxq_file_open(struct mbus_port *port, struct mbus_file *mf)
{
	lockdep_assert_held(&port->lock);
	mf->rx_next = port->rxq->head;
	port->nfiles++;
}

/**
 * mbus_rxq_file_release() - a file closes: it reads nothing more
 * @port: the port; the caller holds @port->lock
 * @mf: the file, being removed from @port->files
 */
void mbus_rxq_file_release(struct mbus_port *port, struct mbus_file *mf)
{
	struct mbus_rx_slot *slot;

	lockdep_assert_held(&port->lock);
	while ((slot = mbus_rxq_next(port, mf))) {
		slot->unread--;
		if (slot->to == MBUS_RX_TO_OWNER)
			slot->to = MBUS_RX_TO_NOBODY;
		mf->rx_next++;
	}
	port->nfiles--;
}

/**
 * mbus_rxq_peek() - copy the next frame for @mf, leaving it queued
 * @mf: the file; the caller holds its read_lock
 * @buf: where the frame goes
 * @size: room in @buf
 * @seq: set to the frame's number, for mbus_rxq_pop()
 *
 * Return: the frame's length; -EAGAIN if there is none, -ENODEV if there
 * is none and the port is gone, -EMSGSIZE if it does not fit.
 */
int mbus_rxq_peek(struct mbus_file *mf, u8 *buf, size_t size, u64 *seq)
{
	struct mbus_port *port = mf->port;
	struct mbus_rx_slot *slot;
	int len;

	lockdep_assert_held(&mf->read_lock);
	spin_lock(&port->lock);
	slot = mbus_rxq_next(port, mf);
	if (!slot) {
		len = port->dead ? -ENODEV : -EAGAIN;
	} else if (slot->len > size) {
		len = -EMSGSIZE;
	} else {
		len = slot->len;
		memcpy(buf, slot->data, len);
		*seq = mf->rx_next;
	}
	spin_unlock(&port->lock);
	return len;
}

/**
 * mbus_rxq_pop() - the frame peeked as @seq reached user space
 * @mf: the file; the caller holds its read_lock
 * @seq: from mbus_rxq_peek()
 */
void mbus_rxq_pop(struct mbus_file *mf, u64 seq)
{
	struct mbus_port *port = mf->port;
	struct mbus_rxq *q = port->rxq;

	lockdep_assert_held(&mf->read_lock);
	spin_lock(&port->lock);
	if (seq >= mbus_rxq_tail(q))
		q->slot[seq % MBUS_RXQ_LEN].unread--;
	else
		/* Reused while it was copied out, and counted: it was read. */
		port->stats.rx_dropped--;
	mf->rx_next = seq + 1;
	spin_unlock(&port->lock);
}

/* Whether a frame waits for read() on @mf. */
bool mbus_rxq_pending(struct mbus_file *mf)
{
	struct mbus_port *port = mf->port;
	bool ret;

	spin_lock(&port->lock);
	ret = mbus_rxq_next(port, mf);
	spin_unlock(&port->lock);
	return ret;
}

static void mbus_rx_broadcast(struct mbus_port *port, const u8 *frame,
			      unsigned int len)
{
	lockdep_assert_held(&port->lock);
	/* Frames on the bus that no exchange waited for: every open file. */
	mbus_rxq_put(port, NULL, frame, len);
}

static void mbus_rx_frame(struct mbus_port *port, const struct mbus_rx_event *ev)
{
	enum mbus_win_verdict verdict;

	lockdep_assert_held(&port->lock);
	verdict = mbus_win_offer(port, ev);
	switch (verdict) {
	case MBUS_WIN_NOISE:
		/* A lone E5 that is no acknowledgment. */
		port->stats.noise_bytes++;
		return;
	case MBUS_WIN_ECHO:
		/* The converter echoed the request: not an answer. */
		port->stats.echo_dropped += ev->len;
		return;
	case MBUS_WIN_REPLY:
	case MBUS_WIN_OTHER:
		break;
	}
	/* The reply or a frame for the readers: a frame received. */
	if (ev->frame_type == MBUS_FRAME_TYPE_ACK)
		port->stats.rx_acks++;
	else
		port->stats.rx_frames++;
	mbus_nl_notify(port, MBUS_CMD_FRAME_RX, ev->data, ev->len, 0);
	if (verdict == MBUS_WIN_OTHER)
		mbus_rx_broadcast(port, ev->data, ev->len);
}

/* Count what the delimiter found and hand it on. */
static void mbus_rx_dispatch(struct mbus_port *port,
			     const struct mbus_rx_event *ev)
{
	struct mbus_stats *st = &port->stats;

	lockdep_assert_held(&port->lock);
	if (ev->type != MBUS_EV_FRAME && ev->type != MBUS_EV_BREAK)
		mbus_win_noise(port);

	switch (ev->type) {
	case MBUS_EV_FRAME:
		mbus_rx_frame(port, ev);
		break;
	case MBUS_EV_NOISE:
	case MBUS_EV_TAINTED:
		st->noise_bytes += ev->len;
		break;
	case MBUS_EV_BAD_CHECKSUM:
		st->checksum_errors++;
		st->noise_bytes += ev->len;
		break;
	case MBUS_EV_BAD_LENGTH:
	case MBUS_EV_BAD_STOP:
		st->length_errors++;
		st->noise_bytes += ev->len;
		break;
	case MBUS_EV_STALLED:
		st->noise_bytes += ev->len;
		break;
	case MBUS_EV_BREAK:
		st->breaks++;
		mbus_nl_notify(port, MBUS_CMD_BREAK, NULL, 0, 0);
		mbus_win_break(port);
		break;
	case MBUS_EV_NEED_MORE:
		break;
	}
}

static void mbus_rx_steps(struct mbus_port *port, bool flush)
{
	struct mbus_rx_event ev;

	lockdep_assert_held(&port->lock);
	while (mbus_parser_step(&port->parser, flush, &ev) != MBUS_EV_NEED_MORE)
		mbus_rx_dispatch(port, &ev);
}

/*
 * The line went quiet: drop a partial frame (looking behind its start
 * byte for a complete one first).
 */
void mbus_rx_flush(struct mbus_port *port)
{
	lockdep_assert_held(&port->lock);
	if (!mbus_parser_pending(&port->parser))
		return;
	port->stats.char_timeouts++;
	mbus_rx_steps(port, true);
}

/* The MBUS_LINE_ERR_ bit of a TTY_* flag, 0 for none. */
static u32 mbus_rx_line_err(u8 tflag)
{
	switch (tflag) {
	case TTY_NORMAL:
	case TTY_BREAK:
		return 0;
	case TTY_PARITY:
		return MBUS_LINE_ERR_PARITY;
	case TTY_OVERRUN:
		return MBUS_LINE_ERR_OVERRUN;
	default:
		return MBUS_LINE_ERR_FRAMING;
	}
}

/* Map a TTY_* flag to the delimiter's and count line errors. */
static u8 mbus_rx_classify(struct mbus_port *port, u8 tflag)
{
	lockdep_assert_held(&port->lock);
	switch (tflag) {
	case TTY_NORMAL:
		return MBUS_RX_NORMAL;
	case TTY_PARITY:
		port->stats.parity_errors++;
		return MBUS_RX_PARITY;
	case TTY_FRAME:
		port->stats.framing_errors++;
		return MBUS_RX_FRAMING;
	case TTY_OVERRUN:
		port->stats.overruns++;
		return MBUS_RX_OVERRUN;
	case TTY_BREAK:
		return MBUS_RX_BREAK;
	default:
		/* A flag this code does not know: count it as the closest. */
		port->stats.framing_errors++;
		return MBUS_RX_FRAMING;
	}
}

static void mbus_rx_byte(struct mbus_port *port, u8 c, u8 tflag)
{
	u8 flag = mbus_rx_classify(port, tflag);

	lockdep_assert_held(&port->lock);
	if (flag == MBUS_RX_NORMAL && mbus_win_echo(port, c))
		return;
	mbus_win_byte(port, c, flag != MBUS_RX_NORMAL && flag != MBUS_RX_BREAK);
	/*
	 * The delimiter takes a byte whenever it was stepped to the end, as
	 * it is after every byte: a refusal would be a bug of mbus_frame.c.
	 * Were it to happen, the byte is lost and counted as noise.
	 */
	if (!mbus_parser_push(&port->parser, c, flag)) {
		port->stats.noise_bytes++;
		mbus_win_noise(port);
	}
	mbus_rx_steps(port, false);
}

/*
 * receive_buf: called from the tty buffer work (process context) with
 * the ldisc referenced; never concurrently with itself, open or close.
 * Must not sleep: it only takes the port's spinlock.
 */
void mbus_receive(struct tty_struct *tty, const u8 *cp, const u8 *fp,
		  size_t count)
{
	struct mbus_port *port = tty->disc_data;
	ktime_t now = ktime_get();
	u32 char_ns, line_err = 0;
	size_t i;

	spin_lock(&port->lock);
	/*
	 * Outside an exchange nobody watches the inter-character timeout:
	 * apply it when the next bytes come, so a stalled partial frame
	 * cannot swallow them.
	 */
	char_ns = MBUS_CHAR_TIMEOUT_CHARS * MBUS_BITS_PER_CHAR *
		  mbus_bit_ns(port->baud);
	if (!port->win.open &&
	    ktime_to_ns(ktime_sub(now, port->last_rx)) >
	    char_ns + MBUS_CHAR_TIMEOUT_EXTRA_US * NSEC_PER_USEC)
		mbus_rx_flush(port);

	port->stats.rx_bytes += count;
	for (i = 0; i < count; i++) {
		port->rx_more = i + 1 < count;
		mbus_rx_byte(port, cp[i], fp ? fp[i] : TTY_NORMAL);
		if (fp)
			line_err |= mbus_rx_line_err(fp[i]);
	}
	/* One event per burst: a noisy line must not flood the ring. */
	if (line_err)
		mbus_nl_notify(port, MBUS_CMD_LINE_ERR, NULL, 0, line_err);
	port->last_rx = now;
	mbus_win_received(port);
	spin_unlock(&port->lock);

	wake_up_interruptible(&port->wait);
	/*
	 * A writer on a pty master sleeps once the slave's buffer is full,
	 * and only the slave's line discipline can wake it: N_TTY does it
	 * when read() empties its buffer. Every byte is consumed here, so
	 * wake it here, or a relay (mbus-attach --tcp) that ever writes
	 * faster than the buffer drains sleeps for good.
	 */
	if (tty->driver->type == TTY_DRIVER_TYPE_PTY && tty->link)
		tty_wakeup(tty->link);
}
