/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * M-Bus (EN 13757-2) master line discipline: user-space ABI
 *
 * Attach the N_MBUS line discipline to the tty of an M-Bus level converter
 * (TIOCSETD, or ldattach 29 /dev/ttyUSB0) and a character device /dev/mbusN
 * appears. MBUS_IOC_GET_INDEX on the tty returns N. The ioctls below are
 * issued on /dev/mbusN.
 *
 * Every structure has fixed-size members, explicit padding and the same
 * layout on 32- and 64-bit; user pointers are carried as __u64. Reserved
 * members must be zero on input (-EINVAL otherwise) and are zero on output.
 */
#ifndef _UAPI_LINUX_MBUS_H
#define _UAPI_LINUX_MBUS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The line discipline number: N_DEVELOPMENT while out of tree. */
#define N_MBUS			29

/* Largest frame: 68 L L 68, 255 bytes of C A CI data, CS 16. */
#define MBUS_FRAME_MAX		261

/* Link-layer framing bytes (EN 13757-2). */
#define MBUS_FRAME_ACK		0xe5
#define MBUS_FRAME_SHORT_START	0x10
#define MBUS_FRAME_LONG_START	0x68
#define MBUS_FRAME_STOP		0x16

/* Special primary addresses. */
#define MBUS_ADDR_PRIMARY_MAX	250
#define MBUS_ADDR_NETWORK	253	/* secondary addressing */
#define MBUS_ADDR_TEST		254	/* broadcast, every slave replies */
#define MBUS_ADDR_BROADCAST	255	/* broadcast, no reply */

/**
 * struct mbus_params - per open file link-layer parameters
 * @response_timeout_us: time the slave may take to start its reply after the
 *	last stop bit of the request; 0 selects the EN 13757-2 bound,
 *	330 bit times + 50 ms at the current baud rate.
 * @char_timeout_us: longest silence inside a reply before the frame is
 *	dropped as stalled; 0 selects a default that tolerates USB-serial
 *	converters delivering bytes in bursts.
 * @wakeup_delay_us: pause between the wake-up preamble and the request.
 * @wakeup_bytes: number of 0x55 bytes sent before each request; 0 = none.
 *	At most %MBUS_WAKEUP_BYTES_MAX.
 * @retries: repeats of a request that got no valid reply (EN 13757-2
 *	allows at most 2; at most %MBUS_RETRIES_MAX).
 * @reserved0: must be zero.
 * @flags: %MBUS_PARAM_ECHO_CANCEL and future flags; unknown bits: -EINVAL.
 * @reserved: must be zero.
 */
struct mbus_params {
	__u32 response_timeout_us;
	__u32 char_timeout_us;
	__u32 wakeup_delay_us;
	__u16 wakeup_bytes;
	__u8 retries;
	__u8 reserved0;
	__u32 flags;
	__u32 reserved[3];
};

/* The converter echoes what the master sends: drop those bytes. */
#define MBUS_PARAM_ECHO_CANCEL	0x00000001
#define MBUS_PARAM_FLAGS_ALL	(MBUS_PARAM_ECHO_CANCEL)

#define MBUS_WAKEUP_BYTES_MAX	8192
#define MBUS_RETRIES_MAX	5
#define MBUS_TIMEOUT_US_MAX	10000000	/* 10 s */

/* struct mbus_addr.type */
#define MBUS_ADDR_NONE		0
#define MBUS_ADDR_PRIMARY	1
#define MBUS_ADDR_SECONDARY	2

/**
 * struct mbus_addr - the slave an open file talks to
 * @type: %MBUS_ADDR_NONE, %MBUS_ADDR_PRIMARY or %MBUS_ADDR_SECONDARY.
 * @primary: primary address 0..250, 254 or 255 (type PRIMARY).
 * @reserved: must be zero.
 * @secondary: secondary address in wire order (type SECONDARY): the
 *	identification number as 4 BCD bytes LSB first (nibble 0xf is a
 *	wildcard), the manufacturer code little-endian (0xffff: any),
 *	version (0xff: any) and medium (0xff: any).
 */
struct mbus_addr {
	__u8 type;
	__u8 primary;
	__u8 reserved[6];
	__u8 secondary[8];
};

/* struct mbus_xfer.flags */
#define MBUS_XFER_ADDRESSED	0x00000001	/* address to the bound slave */
#define MBUS_XFER_FCB		0x00000002	/* manage FCB/FCV for that slave */
#define MBUS_XFER_NO_REPLY	0x00000004	/* return once sent */
#define MBUS_XFER_FLAGS_ALL	(MBUS_XFER_ADDRESSED | MBUS_XFER_FCB | \
				 MBUS_XFER_NO_REPLY)

/* struct mbus_xfer.status */
#define MBUS_STATUS_NONE	0	/* sent, no reply expected */
#define MBUS_STATUS_FRAME	1	/* a valid short, control or long frame */
#define MBUS_STATUS_ACK		2	/* the single character E5 */
#define MBUS_STATUS_TIMEOUT	3	/* silence for every attempt */
#define MBUS_STATUS_GARBLED	4	/* bytes but no valid frame */
#define MBUS_STATUS_BREAK	5	/* break or short circuit on the line */

/**
 * struct mbus_xfer - one request/response exchange
 * @tx_buf: user pointer to the request frame.
 * @rx_buf: user pointer to the reply buffer (MBUS_FRAME_MAX is enough).
 * @tx_len: length of the request, 1..%MBUS_FRAME_MAX.
 * @rx_len: in: size of @rx_buf; out: bytes stored (the frame, or the raw
 *	bytes of a garbled window).
 * @flags: %MBUS_XFER_ADDRESSED, %MBUS_XFER_FCB, %MBUS_XFER_NO_REPLY.
 * @status: out: one of the MBUS_STATUS_ values.
 * @attempts: out: how many times the request was sent.
 * @info: out: what else the line showed during the last attempt's window,
 *	MBUS_XFER_INFO_ bits; tells a collision (line errors, noise) from
 *	a clean answer or silence.
 * @reserved: must be zero.
 */
struct mbus_xfer {
	__u64 tx_buf;
	__u64 rx_buf;
	__u32 tx_len;
	__u32 rx_len;
	__u32 flags;
	__u32 status;
	__u32 attempts;
	__u32 info;
	__u32 reserved[2];
};

/* struct mbus_xfer.info */
#define MBUS_XFER_INFO_ECHO	0x00000001	/* echo bytes were dropped */
#define MBUS_XFER_INFO_NOISE	0x00000002	/* bytes that were no frame */
#define MBUS_XFER_INFO_LINE_ERR	0x00000004	/* parity, framing, overrun */
#define MBUS_XFER_INFO_NOT_SENT	0x00000008	/* the secondary selection
						 * failed (status says how):
						 * the request was not sent
						 */

/**
 * struct mbus_stats - port counters since attach
 * @tx_frames: frames sent.
 * @rx_frames: valid frames received (short, control, long).
 * @rx_acks: single-character acknowledgements received.
 * @timeouts: response windows that stayed silent.
 * @retries: requests repeated.
 * @checksum_errors: frames dropped for a wrong checksum.
 * @length_errors: frames dropped for unequal or short L fields or a
 *	missing stop byte.
 * @parity_errors: bytes received with a parity error.
 * @framing_errors: bytes received with a framing error.
 * @overruns: receive overruns reported by the UART.
 * @breaks: breaks received.
 * @garbled: response windows with bytes but no valid frame.
 * @echo_dropped: echoed bytes removed by echo cancellation.
 * @noise_bytes: bytes that belonged to no frame.
 * @tx_bytes: bytes sent, including wake-up preambles.
 * @rx_bytes: bytes received.
 * @char_timeouts: partial frames dropped after an inter-character timeout.
 * @rx_dropped: frames an open file did not read in time (its queue was
 *	full), counted once per file.
 * @events_dropped: netlink events lost because the port's event ring was
 *	full (or no memory was left to send them); counted only while
 *	someone listens to the "events" group.
 * @reserved: zero; room for counters to come.
 */
struct mbus_stats {
	__u64 tx_frames;
	__u64 rx_frames;
	__u64 rx_acks;
	__u64 timeouts;
	__u64 retries;
	__u64 checksum_errors;
	__u64 length_errors;
	__u64 parity_errors;
	__u64 framing_errors;
	__u64 overruns;
	__u64 breaks;
	__u64 garbled;
	__u64 echo_dropped;
	__u64 noise_bytes;
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 char_timeouts;
	__u64 rx_dropped;
	__u64 events_dropped;
	__u64 reserved[5];
};

/*
 * 0xbe: free in the kernel's Documentation/userspace-api/ioctl/ioctl-number.rst
 * (0xba, used before, is liveupdate's since 6.19; 0xb8 is mshv's).
 */
#define MBUS_IOC_MAGIC		0xbe

/* On the tty N_MBUS is attached to: the N of /dev/mbusN. */
#define MBUS_IOC_GET_INDEX	_IOR(MBUS_IOC_MAGIC, 0x00, __u32)

/* On /dev/mbusN. */
#define MBUS_IOC_GET_BAUD	_IOR(MBUS_IOC_MAGIC, 0x01, __u32)
#define MBUS_IOC_SET_BAUD	_IOW(MBUS_IOC_MAGIC, 0x02, __u32)
#define MBUS_IOC_GET_PARAMS	_IOR(MBUS_IOC_MAGIC, 0x03, struct mbus_params)
#define MBUS_IOC_SET_PARAMS	_IOW(MBUS_IOC_MAGIC, 0x04, struct mbus_params)
#define MBUS_IOC_GET_ADDR	_IOR(MBUS_IOC_MAGIC, 0x05, struct mbus_addr)
#define MBUS_IOC_SET_ADDR	_IOW(MBUS_IOC_MAGIC, 0x06, struct mbus_addr)
#define MBUS_IOC_XFER		_IOWR(MBUS_IOC_MAGIC, 0x07, struct mbus_xfer)
#define MBUS_IOC_GET_STATS	_IOR(MBUS_IOC_MAGIC, 0x08, struct mbus_stats)
#define MBUS_IOC_SEND_BREAK	_IOW(MBUS_IOC_MAGIC, 0x09, __u32)

/* Longest break MBUS_IOC_SEND_BREAK holds the line for, in ms. */
#define MBUS_BREAK_MS_MAX	10000

/*
 * Generic netlink family "mbus" (version MBUS_GENL_VERSION), described by
 * Documentation/netlink/specs/mbus.yaml. A port belongs to the network
 * namespace of the process that attached the line: requests see, and
 * monitors hear, only the ports of their own namespace.
 *
 * MBUS_CMD_GET_PORT: with MBUS_ATTR_INDEX or MBUS_ATTR_DEV_NAME (both: they
 *	must agree), that port; as a dump (NLM_F_DUMP), every port. A reply
 *	carries INDEX, DEV_NAME, TTY_NAME, BAUD, the
 *	port defaults (RESPONSE_TIMEOUT_US, CHAR_TIMEOUT_US, RETRIES,
 *	WAKEUP_BYTES, WAKEUP_DELAY_US, FLAGS) and STATS.
 * MBUS_CMD_SET_PORT: needs CAP_NET_ADMIN. INDEX or DEV_NAME names the port;
 *	BAUD switches the line (as MBUS_IOC_SET_BAUD, but never waiting for
 *	the bus: -EBUSY while it is in use);
 *	the parameter attributes change the defaults that files opened from
 *	then on start with (MBUS_IOC_GET_PARAMS), validated as
 *	MBUS_IOC_SET_PARAMS validates. Nothing changes unless all is valid.
 *
 * Events, multicast to the group MBUS_GENL_MCGRP_EVENTS, each with
 * MBUS_ATTR_INDEX and MBUS_ATTR_TIMESTAMP_NS (CLOCK_REALTIME):
 *	PORT_NEW, PORT_DEL	N_MBUS attached / detached (also DEV_NAME,
 *				TTY_NAME);
 *	FRAME_TX		a request going out (FRAME);
 *	FRAME_RX		a valid frame or E5 received (FRAME);
 *	TIMEOUT			a response window stayed silent;
 *	GARBLED			a response window with bytes but no frame
 *				(FRAME: those bytes);
 *	BREAK			a break (or short circuit) was received;
 *	LINE_ERR		bytes with parity, framing or overrun errors
 *				(LINE_ERR: MBUS_LINE_ERR_ bits).
 * Events are queued without blocking the receive path; when they come
 * faster than they are sent, the excess is dropped and counted in
 * struct mbus_stats.events_dropped.
 *
 * Requests are validated strictly: unknown attributes, wrong lengths and
 * values out of range fail with -EINVAL or -ERANGE; a port that does not
 * exist with -ENODEV.
 */
#define MBUS_GENL_NAME		"mbus"
#define MBUS_GENL_VERSION	1
#define MBUS_GENL_MCGRP_EVENTS	"events"

enum mbus_cmd {
	MBUS_CMD_UNSPEC,
	MBUS_CMD_GET_PORT,
	MBUS_CMD_SET_PORT,
	MBUS_CMD_PORT_NEW,
	MBUS_CMD_PORT_DEL,
	MBUS_CMD_FRAME_TX,
	MBUS_CMD_FRAME_RX,
	MBUS_CMD_TIMEOUT,
	MBUS_CMD_GARBLED,
	MBUS_CMD_BREAK,
	MBUS_CMD_LINE_ERR,

	__MBUS_CMD_MAX,
	MBUS_CMD_MAX = __MBUS_CMD_MAX - 1
};

enum mbus_attr {
	MBUS_ATTR_UNSPEC,
	MBUS_ATTR_PAD,
	MBUS_ATTR_INDEX,		/* u32: the N of /dev/mbusN */
	MBUS_ATTR_DEV_NAME,		/* string: "mbusN" */
	MBUS_ATTR_TTY_NAME,		/* string: "ttyUSB0" */
	MBUS_ATTR_BAUD,			/* u32 */
	MBUS_ATTR_RESPONSE_TIMEOUT_US,	/* u32, as struct mbus_params */
	MBUS_ATTR_CHAR_TIMEOUT_US,	/* u32 */
	MBUS_ATTR_RETRIES,		/* u8 */
	MBUS_ATTR_WAKEUP_BYTES,		/* u16 */
	MBUS_ATTR_WAKEUP_DELAY_US,	/* u32 */
	MBUS_ATTR_FLAGS,		/* u32: MBUS_PARAM_ flags */
	MBUS_ATTR_STATS,		/* nested: MBUS_STATS_ attributes */
	MBUS_ATTR_FRAME,		/* binary: frame bytes */
	MBUS_ATTR_TIMESTAMP_NS,		/* u64: CLOCK_REALTIME */
	MBUS_ATTR_LINE_ERR,		/* u32: MBUS_LINE_ERR_ bits */

	__MBUS_ATTR_MAX,
	MBUS_ATTR_MAX = __MBUS_ATTR_MAX - 1
};

/*
 * Inside MBUS_ATTR_STATS: one u64 per counter of struct mbus_stats, in the
 * order of the struct (MBUS_STATS_TX_FRAMES + i is its i-th counter).
 */
enum mbus_stats_attr {
	MBUS_STATS_UNSPEC,
	MBUS_STATS_PAD,
	MBUS_STATS_TX_FRAMES,
	MBUS_STATS_RX_FRAMES,
	MBUS_STATS_RX_ACKS,
	MBUS_STATS_TIMEOUTS,
	MBUS_STATS_RETRIES,
	MBUS_STATS_CHECKSUM_ERRORS,
	MBUS_STATS_LENGTH_ERRORS,
	MBUS_STATS_PARITY_ERRORS,
	MBUS_STATS_FRAMING_ERRORS,
	MBUS_STATS_OVERRUNS,
	MBUS_STATS_BREAKS,
	MBUS_STATS_GARBLED,
	MBUS_STATS_ECHO_DROPPED,
	MBUS_STATS_NOISE_BYTES,
	MBUS_STATS_TX_BYTES,
	MBUS_STATS_RX_BYTES,
	MBUS_STATS_CHAR_TIMEOUTS,
	MBUS_STATS_RX_DROPPED,
	MBUS_STATS_EVENTS_DROPPED,

	__MBUS_STATS_MAX,
	MBUS_STATS_MAX = __MBUS_STATS_MAX - 1
};

/* MBUS_ATTR_LINE_ERR */
#define MBUS_LINE_ERR_PARITY	0x00000001
#define MBUS_LINE_ERR_FRAMING	0x00000002
#define MBUS_LINE_ERR_OVERRUN	0x00000004

#endif /* _UAPI_LINUX_MBUS_H */
