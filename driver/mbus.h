/* SPDX-License-Identifier: GPL-2.0 */
/*
 * M-Bus master line discipline: private declarations
 */
#ifndef _MBUS_H
#define _MBUS_H

#include <linux/device.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/tty.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <uapi/linux/mbus.h>

#include "mbus_frame.h"

#define MBUS_MINORS		256
#define MBUS_DEFAULT_BAUD	2400
#define MBUS_DEFAULT_RETRIES	2
/*
 * Frames kept for read(), per port and shared by its files: 56 slots of
 * struct mbus_rx_slot fill one 16 KiB allocation.
 */
#define MBUS_RXQ_LEN		56

#define MBUS_NL_RING_LEN	32	/* netlink events queued per port */

/* Bounds of the bus_hold_max_ms module parameter (default 60 s). */
#define MBUS_HOLD_DEFAULT_MS	60000
#define MBUS_HOLD_MIN_MS	1000
#define MBUS_HOLD_MAX_MS	600000

/* A byte on the wire: start bit, 8 data bits, parity, stop bit. */
#define MBUS_BITS_PER_CHAR	11

/*
 * Default inter-character timeout: three character times plus 50 ms, so
 * that USB-serial converters delivering bytes in 16 ms bursts never split
 * a frame.
 */
#define MBUS_CHAR_TIMEOUT_CHARS	3
#define MBUS_CHAR_TIMEOUT_EXTRA_US 50000

/* Who a frame kept for read() is for. */
enum mbus_rx_to {
	MBUS_RX_TO_ALL,		/* every file open when it came */
	MBUS_RX_TO_OWNER,	/* the file whose write() it answers */
	MBUS_RX_TO_NOBODY,	/* that file was closed */
};

/**
 * struct mbus_rx_slot - a frame kept for read()
 * @owner: the file it is for (%MBUS_RX_TO_OWNER); compared, never
 *	dereferenced.
 * @unread: files that have still to read it; the ones left when the slot
 *	is reused are counted in rx_dropped.
 * @to: &enum mbus_rx_to.
 * @len: bytes in @data.
 * @data: the frame.
 */
struct mbus_rx_slot {
	const struct mbus_file *owner;
	unsigned int unread;
	u8 to;
	u16 len;
	u8 data[MBUS_FRAME_MAX];
};

/*
 * The frames for read() of every file of a port, under mbus_port.lock.
 * Frame number @head goes to slot @head % MBUS_RXQ_LEN; each file reads
 * on from its own mbus_file.rx_next, so a frame is stored once however
 * many files are open (the receive path costs the same for 1 and 5000).
 */
struct mbus_rxq {
	u64 head;
	struct mbus_rx_slot slot[MBUS_RXQ_LEN];
};

/**
 * struct mbus_file - one open file of /dev/mbusN
 * @port: the port, referenced for as long as the file is open.
 * @node: in &mbus_port.files, under &mbus_port.lock.
 * @params: link-layer parameters of this file, under &mbus_port.lock.
 * @addr: the slave this file is bound to, under &mbus_port.lock.
 * @rx_next: number of the next frame of &mbus_port.rxq this file looks
 *	at, under &mbus_port.lock.
 * @read_lock: one read() at a time per file, so a frame is handed out
 *	once and only taken off the queue after it reached user space.
 *	Never held while sleeping for a frame.
 */
struct mbus_file {
	struct mbus_port *port;
	struct list_head node;
	struct mutex read_lock;		/* see @read_lock above */
	struct mbus_params params;
	struct mbus_addr addr;
	u64 rx_next;
};

/**
 * struct mbus_window - the exchange in progress on the bus
 *
 * Every member is under &mbus_port.lock, and only mbus_xfer.c writes
 * them. The &mbus_port.bus_lock holder opens the window and closes it; in
 * between the receive path offers it what comes in (mbus_win_echo(),
 * mbus_win_byte(), mbus_win_offer(), mbus_win_noise(), mbus_win_break(),
 * mbus_win_received()). From the close until the holder opens the next
 * one nothing writes @status, @info, @len, @buf, @raw_len or @raw, so it
 * may read them without the spinlock (&mbus_result.data).
 *
 * @open: bytes received now belong to the exchange.
 * @status: MBUS_STATUS_* once decided, 0 while undecided.
 * @info: MBUS_XFER_INFO_* seen while undecided.
 * @seq: bumped on every change a waiter may care about; wait conditions
 *	read it with READ_ONCE().
 * @req_len: bytes in @req.
 * @req: the request of the exchange, copied from &mbus_port.tx_buf when
 *	the window opens: the receive path compares echoes and replies with
 *	it (an echo may still come after the window closed, while the next
 *	holder already writes its request into tx_buf).
 * @len: length of the reply in @buf (FRAME, ACK).
 * @buf: the reply.
 * @raw_len: bytes received in the window, echo left out.
 * @raw: those bytes, returned for a garbled window.
 * @echo_pre: wake-up bytes (0x55) expected back from an echoing converter.
 * @echo_len: wake-up bytes plus request bytes expected back; 0 = no echo
 *	cancellation (or it gave up on a byte that did not match).
 * @echo_pos: echo bytes seen so far.
 */
struct mbus_window {
	bool open;
	u8 status;
	u32 info;
	unsigned int seq;
	u16 req_len;
	u8 req[MBUS_FRAME_MAX];
	u16 len;
	u8 buf[MBUS_FRAME_MAX];
	u16 raw_len;
	u8 raw[MBUS_FRAME_MAX];
	unsigned int echo_pre;
	unsigned int echo_len;
	unsigned int echo_pos;
};

/**
 * struct mbus_bus - addressing state of the bus, shared by every program
 * @selected: @sel is the slave the bus has selected (an exact secondary
 *	address that acknowledged its selection).
 * @sel: that secondary address, in wire order.
 * @fcb: the FCB each primary address expects next (1 after SND_NKE);
 *	slot 253 is the slave selected by secondary address.
 */
struct mbus_bus {
	bool selected;
	u8 sel[8];
	u8 fcb[256];
};

/**
 * struct mbus_nl_event - a netlink event waiting to be sent
 * @cmd: MBUS_CMD_ of the event.
 * @len: bytes in @data (frames, garbled windows).
 * @line_err: MBUS_LINE_ERR_ bits (LINE_ERR).
 * @ts: CLOCK_REALTIME when it happened, ns.
 * @data: the frame or the bytes.
 */
struct mbus_nl_event {
	u8 cmd;
	u16 len;
	u32 line_err;
	u64 ts;
	u8 data[MBUS_FRAME_MAX];
};

/*
 * Events of one port on their way to the "events" multicast group: filled
 * under mbus_port.lock (never allocating), emptied by mbus_port.nl_work.
 */
struct mbus_nl_ring {
	unsigned int head;
	unsigned int count;
	struct mbus_nl_event ev[MBUS_NL_RING_LEN];
};

/**
 * struct mbus_port - one tty with N_MBUS attached, seen as /dev/mbusN
 *
 * The port is created by the ldisc open and lives until the last reference
 * is dropped: the ldisc holds one from open to close, every open file of
 * /dev/mbusN holds one. After close (detach, hangup, ldisc switch) @dead
 * is set and @tty is NULL: the port still exists for the open files, which
 * then get -ENODEV.
 *
 * Two locks. @lock, a spinlock, guards what the receive path touches and
 * everything small that others read or change; @bus_lock, a mutex, gives
 * the bus to one user at a time and guards the request and the addressing
 * state. Members set before the port is visible and never changed after
 * (@index, @dev, @tty_name, @net) need neither.
 */
struct mbus_port {
	/* identity */
	/** @kref: references: the ldisc's and one per open file. */
	struct kref kref;
	/** @index: the N of /dev/mbusN, its minor number. */
	int index;
	/** @dev: the device of /dev/mbusN (class "mbus"). */
	struct device *dev;
	/** @tty_name: name of the tty, for sysfs and netlink. */
	char tty_name[64];
	/**
	 * @net: the network namespace of the process that attached the
	 * line, referenced for the life of the port: generic netlink shows
	 * the port, and sends its events, only there (mbus_netlink.c).
	 */
	struct net *net;

	/**
	 * @lock: protects @tty, @dead, @baud, the receive state (@parser,
	 * @rx_more, @last_rx, @win, @files, @nfiles, @rxq and each file's
	 * rx_next, params and addr), @stats, @defaults and @nl_ring.
	 * Taken in process context only (receive_buf runs from the tty's
	 * flip work; write_wakeup, the one op that may run in interrupt
	 * context, never takes it), so plain spin_lock(). Never held while
	 * sleeping or copying to or from user space. Helpers that rely on
	 * it assert it with lockdep_assert_held().
	 */
	spinlock_t lock;
	/**
	 * @tty: the tty; NULL after close. Cleared under both @lock and
	 * @bus_lock, so holding either is enough to read it.
	 */
	struct tty_struct *tty;
	/**
	 * @dead: set by hangup or close, under @lock with WRITE_ONCE();
	 * the conditions of wait_event() read it with READ_ONCE().
	 */
	bool dead;
	/** @wait: readers and exchanges wait here for frames and @dead. */
	wait_queue_head_t wait;

	/**
	 * @bus_lock: one user of the bus at a time: an exchange (write,
	 * XFER), a baud change or a break. Held while sleeping for the
	 * reply. Protects @tx_buf, @tx_len, @bus, @hold_end and
	 * @quiet_until. Close takes it after setting @dead, to wait for the
	 * user in flight, so a holder that saw !@dead may use @tty until it
	 * unlocks.
	 */
	struct mutex bus_lock;
	/**
	 * @tx_buf: the request, under @bus_lock; the receive path never
	 * reads it (it compares with the window's copy, &mbus_window.req).
	 */
	u8 tx_buf[MBUS_FRAME_MAX];
	/** @tx_len: bytes in @tx_buf, under @bus_lock. */
	u16 tx_len;
	/** @bus: the addressing state of the bus, under @bus_lock. */
	struct mbus_bus bus;
	/**
	 * @hold_end: the end of the holder's bound (mbus_hold_begin()),
	 * under @bus_lock.
	 */
	ktime_t hold_end;
	/**
	 * @quiet_until: no request before (the window of a request sent
	 * without awaiting a reply), under @bus_lock.
	 */
	ktime_t quiet_until;
	/**
	 * @bus_stale: set_termios changed the rate: reset @bus at the next
	 * exchange. Set by set_termios (under @lock, which may run inside
	 * a @bus_lock holder), tested and cleared by the @bus_lock holder;
	 * both with READ_ONCE() and WRITE_ONCE().
	 */
	bool bus_stale;
	/** @tx_wait: the @bus_lock holder waits here for room in the tty. */
	wait_queue_head_t tx_wait;

	/* receive state, under @lock */
	/** @parser: the frame delimiter. */
	struct mbus_parser parser;
	/** @rx_more: more bytes follow in this burst. */
	bool rx_more;
	/** @last_rx: when the last burst came. */
	ktime_t last_rx;
	/** @files: the open files (&mbus_file.node). */
	struct list_head files;
	/** @nfiles: their number. */
	unsigned int nfiles;
	/** @rxq: the frames kept for read(). */
	struct mbus_rxq *rxq;
	/** @win: the exchange in progress. */
	struct mbus_window win;

	/**
	 * @baud: the line's rate, kept true by set_termios. Written under
	 * @lock with WRITE_ONCE(); read under @lock or with READ_ONCE().
	 */
	u32 baud;

	/** @stats: the counters, under @lock. */
	struct mbus_stats stats;

	/** @defaults: parameters newly opened files start with, under @lock. */
	struct mbus_params defaults;

	/**
	 * @nl_ring: netlink events (mbus_netlink.c) waiting for @nl_work,
	 * under @lock.
	 */
	struct mbus_nl_ring nl_ring;
	/**
	 * @nl_work: sends @nl_ring; the ldisc close cancels it before the
	 * port can go.
	 */
	struct work_struct nl_work;
};

/* An exchange's outcome. */
struct mbus_result {
	bool sent;		/* the request went out whole */
	u8 status;
	u32 info;
	u16 len;
	const u8 *data;		/* win.buf or win.raw, valid under bus_lock */
	unsigned int attempts;
};

/* What the window of an exchange makes of a frame the receive path got. */
enum mbus_win_verdict {
	MBUS_WIN_REPLY,		/* the reply: it decided the window */
	MBUS_WIN_NOISE,		/* a lone E5 that is no acknowledgment */
	MBUS_WIN_ECHO,		/* the converter's echo of the request */
	MBUS_WIN_OTHER,		/* not for the window: for the readers */
};

/* mbus_addr.c */
int mbus_addr_check(const struct mbus_addr *a);
void mbus_bus_reset(struct mbus_bus *bus);
void mbus_bus_check_stale(struct mbus_port *port);
void mbus_bus_observe(struct mbus_port *port, u8 status);
bool mbus_bus_selected(struct mbus_port *port, const u8 *sec);
void mbus_build_select(struct mbus_port *port, const u8 *sec);
void mbus_bus_address(struct mbus_port *port, u32 flags, u8 a);

/* mbus_cdev.c */
bool mbus_baud_valid(u32 baud);
void mbus_default_params(struct mbus_params *p);
int mbus_params_check(const struct mbus_params *p);

/* mbus_main.c */
extern unsigned int mbus_hold_max_ms;
bool mbus_port_dead(struct mbus_port *port);
void mbus_port_put(struct mbus_port *port);
struct mbus_port *mbus_port_get(unsigned int minor);
struct mbus_port *mbus_port_get_next(unsigned int *minor);
unsigned int mbus_ports_generation(void);
int mbus_line_set_baud(struct mbus_port *port, u32 baud);
extern const struct file_operations mbus_fops;

/* mbus_netlink.c */
int mbus_nl_init(void);
void mbus_nl_exit(void);
void mbus_nl_port_init(struct mbus_port *port);
void mbus_nl_port_new(struct mbus_port *port);
void mbus_nl_port_del(struct mbus_port *port);
void mbus_nl_notify(struct mbus_port *port, u8 cmd, const u8 *data,
		    unsigned int len, u32 line_err);

/* mbus_rx.c */
void mbus_rx_flush(struct mbus_port *port);
void mbus_rxq_put(struct mbus_port *port, const struct mbus_file *owner,
		  const u8 *frame, unsigned int len);
void mbus_rxq_file_open(struct mbus_port *port, struct mbus_file *mf);
void mbus_rxq_file_release(struct mbus_port *port, struct mbus_file *mf);
int mbus_rxq_peek(struct mbus_file *mf, u8 *buf, size_t size, u64 *seq);
bool mbus_rxq_pending(struct mbus_file *mf);
void mbus_rxq_pop(struct mbus_file *mf, u64 seq);

/* mbus_tx.c */
u32 mbus_bit_ns(u32 baud);
void mbus_hold_begin(struct mbus_port *port);
int mbus_sleep_ns(struct mbus_port *port, u64 ns);
int mbus_tx_send(struct mbus_port *port, const struct mbus_params *p,
		 bool *sent);
int mbus_send_break(struct mbus_port *port, u32 ms);

/* mbus_xfer.c */
int mbus_xfer_run(struct mbus_port *port, const struct mbus_params *p,
		  const struct mbus_addr *addr, u32 flags,
		  struct mbus_result *res);
int mbus_xfer_once(struct mbus_port *port, const struct mbus_params *p,
		   bool reply, struct mbus_result *res);
enum mbus_win_verdict mbus_win_offer(struct mbus_port *port,
				     const struct mbus_rx_event *ev);
bool mbus_win_echo(struct mbus_port *port, u8 c);
void mbus_win_byte(struct mbus_port *port, u8 c, bool line_err);
void mbus_win_received(struct mbus_port *port);
void mbus_win_noise(struct mbus_port *port);
void mbus_win_break(struct mbus_port *port);

#endif /* _MBUS_H */
