// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: addressing state of the bus
 *
 * Which slave is selected by secondary address and which FCB each slave
 * expects next are properties of the bus, shared by every program using
 * it. The kernel sees every request that goes out, so it keeps them here:
 * every exchange is observed (mbus_bus_observe()), and addressed
 * exchanges (MBUS_XFER_ADDRESSED, MBUS_XFER_FCB, run by mbus_xfer.c) use
 * the state to select a slave only when needed (mbus_bus_selected(),
 * mbus_build_select()) and to set the A field and the FCB/FCV bits
 * (mbus_bus_address()).
 */
#include <linux/string.h>

#include "compat.h"
#include "mbus.h"

/* Control field (EN 13757-2): function code and the FCB/FCV bits. */
#define MBUS_C_FCB		0x20
#define MBUS_C_FCV		0x10
#define MBUS_C_FN_MASK		0x4f
#define MBUS_C_SND_NKE		0x40
#define MBUS_C_SND_UD		0x43
#define MBUS_C_REQ_UD1		0x4a
#define MBUS_C_REQ_UD2		0x4b

#define MBUS_CI_SELECT		0x52
#define MBUS_SELECT_DATA	8	/* ID (4), manufacturer (2), version, medium */

/* Offsets of C, A and CI in short and long frames. */
#define MBUS_SHORT_C		1
#define MBUS_SHORT_A		2
#define MBUS_LONG_C		4
#define MBUS_LONG_A		5
#define MBUS_LONG_CI		6

static bool mbus_frame_is_long(const u8 *buf)
{
	return buf[0] == MBUS_FRAME_LONG_START;
}

static u8 *mbus_frame_c(u8 *buf)
{
	return &buf[mbus_frame_is_long(buf) ? MBUS_LONG_C : MBUS_SHORT_C];
}

static u8 *mbus_frame_a(u8 *buf)
{
	return &buf[mbus_frame_is_long(buf) ? MBUS_LONG_A : MBUS_SHORT_A];
}

/* Recompute the checksum of a short or long frame after an edit. */
static void mbus_frame_fix_checksum(u8 *buf, unsigned int len)
{
	if (mbus_frame_is_long(buf))
		buf[len - 2] = mbus_frame_checksum(buf + MBUS_LONG_HDR_LEN,
						   len - MBUS_LONG_OVERHEAD);
	else
		buf[3] = mbus_frame_checksum(buf + 1, 2);
}

/* Functions whose FCB the slave checks when FCV is set. */
static bool mbus_fn_has_fcb(u8 c)
{
	u8 fn = c & MBUS_C_FN_MASK;

	return fn == MBUS_C_SND_UD || fn == MBUS_C_REQ_UD1 ||
	       fn == MBUS_C_REQ_UD2;
}

static bool mbus_bcd_wildcard(u8 b)
{
	return (b & 0x0f) == 0x0f || (b & 0xf0) == 0xf0;
}

/* A secondary address that can match one slave only. */
static bool mbus_secondary_exact(const u8 *sec)
{
	int i;

	for (i = 0; i < 4; i++)
		if (mbus_bcd_wildcard(sec[i]))
			return false;
	return !(sec[4] == 0xff && sec[5] == 0xff) && sec[6] != 0xff &&
	       sec[7] != 0xff;
}

static bool mbus_bcd_valid(u8 b)
{
	u8 lo = b & 0x0f, hi = b >> 4;

	return (lo <= 9 || lo == 0x0f) && (hi <= 9 || hi == 0x0f);
}

/**
 * mbus_addr_check() - validate an address from MBUS_IOC_SET_ADDR
 * @a: the address
 *
 * Return: 0 or -EINVAL (unknown type, primary address out of range, ID
 * digits other than 0-9 and the wildcard F, non-zero unused fields).
 */
int mbus_addr_check(const struct mbus_addr *a)
{
	int i;

	if (memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	switch (a->type) {
	case MBUS_ADDR_NONE:
		return a->primary || memchr_inv(a->secondary, 0,
						sizeof(a->secondary)) ?
		       -EINVAL : 0;
	case MBUS_ADDR_PRIMARY:
		if (a->primary > MBUS_ADDR_PRIMARY_MAX &&
		    a->primary != MBUS_ADDR_TEST &&
		    a->primary != MBUS_ADDR_BROADCAST)
			return -EINVAL;
		return memchr_inv(a->secondary, 0, sizeof(a->secondary)) ?
		       -EINVAL : 0;
	case MBUS_ADDR_SECONDARY:
		if (a->primary)
			return -EINVAL;
		for (i = 0; i < 4; i++)
			if (!mbus_bcd_valid(a->secondary[i]))
				return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Forget every slave's FCB: the next request to each uses FCB=1. */
static void mbus_bus_reset_fcb(struct mbus_bus *bus)
{
	memset(bus->fcb, 1, sizeof(bus->fcb));
}

/**
 * mbus_bus_reset() - the state after attach, a baud change or a break
 * @bus: the bus state
 */
void mbus_bus_reset(struct mbus_bus *bus)
{
	bus->selected = false;
	mbus_bus_reset_fcb(bus);
}

/**
 * mbus_bus_check_stale() - forget the bus state if the rate changed
 * @port: the port; the caller holds @port->bus_lock
 *
 * A speed change by someone else (stty on the tty) makes every slave a
 * stranger again, as our own MBUS_IOC_SET_BAUD does.
 */
void mbus_bus_check_stale(struct mbus_port *port)
{
	lockdep_assert_held(&port->bus_lock);
	if (READ_ONCE(port->bus_stale)) {
		WRITE_ONCE(port->bus_stale, false);
		mbus_bus_reset(&port->bus);
	}
}

static void mbus_bus_observe_nke(struct mbus_bus *bus, u8 a)
{
	if (a == MBUS_ADDR_BROADCAST || a == MBUS_ADDR_TEST) {
		mbus_bus_reset(bus);
	} else if (a == MBUS_ADDR_NETWORK) {
		/* Deselects: the selected slave forgets its FCB too. */
		bus->selected = false;
		bus->fcb[MBUS_ADDR_NETWORK] = 1;
	} else {
		bus->fcb[a] = 1;
	}
}

static void mbus_bus_observe_select(struct mbus_bus *bus, const u8 *buf,
				    unsigned int len, u8 status)
{
	const u8 *sec = buf + MBUS_LONG_CI + 1;
	bool full = len == MBUS_LONG_OVERHEAD + 3 + MBUS_SELECT_DATA;

	bus->fcb[MBUS_ADDR_NETWORK] = 1;
	if (status == MBUS_STATUS_ACK && full && mbus_secondary_exact(sec)) {
		memcpy(bus->sel, sec, MBUS_SELECT_DATA);
		bus->selected = true;
	} else {
		/* Nobody, somebody unknown, or several: nothing to reuse. */
		bus->selected = false;
	}
}

/**
 * mbus_bus_observe() - learn from a request that went out on the bus
 * @port: the port; the caller holds @port->bus_lock
 * @status: what the bus answered (MBUS_STATUS_NONE: not waited for)
 *
 * Whoever sent it (an addressed exchange, a raw XFER, write()), SND_NKE
 * resets FCBs and selection, a selection (SND_UD CI 52 to 253) replaces
 * the cached one (kept only when an exact address was acknowledged), and a
 * good reply to a request with FCV set moves that slave's FCB on.
 */
void mbus_bus_observe(struct mbus_port *port, u8 status)
{
	struct mbus_bus *bus = &port->bus;
	u8 *buf = port->tx_buf;
	u8 c, a;

	lockdep_assert_held(&port->bus_lock);
	if (port->tx_len < MBUS_SHORT_LEN)
		return;
	c = *mbus_frame_c(buf);
	a = *mbus_frame_a(buf);

	if ((c & MBUS_C_FN_MASK) == MBUS_C_SND_NKE) {
		mbus_bus_observe_nke(bus, a);
		return;
	}
	if (mbus_frame_is_long(buf) && a == MBUS_ADDR_NETWORK &&
	    (c & MBUS_C_FN_MASK) == MBUS_C_SND_UD &&
	    buf[MBUS_LONG_CI] == MBUS_CI_SELECT) {
		mbus_bus_observe_select(bus, buf, port->tx_len, status);
		return;
	}
	if ((c & MBUS_C_FCV) && mbus_fn_has_fcb(c) &&
	    (status == MBUS_STATUS_FRAME || status == MBUS_STATUS_ACK))
		bus->fcb[a] = !(c & MBUS_C_FCB);
}

/**
 * mbus_bus_selected() - whether the bus has @sec selected already
 * @port: the port; the caller holds @port->bus_lock
 * @sec: a secondary address, in wire order
 *
 * Return: true if the last selection was of exactly @sec, was
 * acknowledged and nothing deselected it since.
 */
bool mbus_bus_selected(struct mbus_port *port, const u8 *sec)
{
	struct mbus_bus *bus = &port->bus;

	lockdep_assert_held(&port->bus_lock);
	return bus->selected && !memcmp(bus->sel, sec, MBUS_SELECT_DATA);
}

/**
 * mbus_build_select() - make the selection of @sec the request
 * @port: the port; the caller holds @port->bus_lock
 * @sec: a secondary address, in wire order
 *
 * Writes SND_UD with CI 52h to address 253 and the 8 address bytes into
 * @port->tx_buf, in place of the request there.
 */
void mbus_build_select(struct mbus_port *port, const u8 *sec)
{
	u8 *buf = port->tx_buf;
	unsigned int l = 3 + MBUS_SELECT_DATA;

	lockdep_assert_held(&port->bus_lock);
	buf[0] = MBUS_FRAME_LONG_START;
	buf[1] = l;
	buf[2] = l;
	buf[3] = MBUS_FRAME_LONG_START;
	buf[MBUS_LONG_C] = MBUS_C_SND_UD | MBUS_C_FCB | MBUS_C_FCV;
	buf[MBUS_LONG_A] = MBUS_ADDR_NETWORK;
	buf[MBUS_LONG_CI] = MBUS_CI_SELECT;
	memcpy(buf + MBUS_LONG_CI + 1, sec, MBUS_SELECT_DATA);
	buf[MBUS_LONG_HDR_LEN + l] = 0;
	buf[MBUS_LONG_HDR_LEN + l + 1] = MBUS_FRAME_STOP;
	port->tx_len = l + MBUS_LONG_OVERHEAD;
	mbus_frame_fix_checksum(buf, port->tx_len);
}

/**
 * mbus_bus_address() - address the request to a slave
 * @port: the port; the caller holds @port->bus_lock
 * @flags: MBUS_XFER_ADDRESSED: write @a into the A field; MBUS_XFER_FCB:
 *	if the function is SND_UD, REQ_UD1 or REQ_UD2, set FCV and the FCB
 *	the addressee expects
 * @a: the address for MBUS_XFER_ADDRESSED
 *
 * Edits the request in @port->tx_buf (a short, control or long frame, not
 * an E5) and recomputes its checksum.
 */
void mbus_bus_address(struct mbus_port *port, u32 flags, u8 a)
{
	u8 *buf = port->tx_buf;
	u8 *c = mbus_frame_c(buf);

	lockdep_assert_held(&port->bus_lock);
	if (flags & MBUS_XFER_ADDRESSED)
		*mbus_frame_a(buf) = a;
	a = *mbus_frame_a(buf);
	if ((flags & MBUS_XFER_FCB) && mbus_fn_has_fcb(*c)) {
		*c &= ~MBUS_C_FCB;
		*c |= MBUS_C_FCV | (port->bus.fcb[a] ? MBUS_C_FCB : 0);
	}
	mbus_frame_fix_checksum(buf, port->tx_len);
}
