/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mbus_tline: the interface of the test-only tty driver of n_mbus
 * (tests/tline/mbus_tline.c), shared by the module and the kselftests.
 *
 * Line N is a pair: the tty /dev/ttyTLN, where N_MBUS is attached, and
 * the far end /dev/tlineN, where a test plays the bus:
 *
 * - write() takes struct tline_rx records, a script of what the tty's
 *   receiver gets: each record is one character (or a break) with its
 *   TTY_* flag, received at a chosen time;
 * - read() gives struct tline_event records: each byte the tty sent, at
 *   the time its last stop bit left, its breaks, and each scripted
 *   character at the time it was received;
 * - ioctl() configures the line (echo) and resets it.
 */
#ifndef _TLINE_H
#define _TLINE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Receive a character after the previous one (or after the write). */
#define TLINE_RX_AFTER_PREV	0
/*
 * Receive it after the tty's transmitter next goes idle: the time runs
 * from the last stop bit of the tty's next transmission (one that ends
 * after this record became the next to receive).
 */
#define TLINE_RX_AFTER_TX	1

/* struct tline_rx.flag: the TTY_* flags of a UART driver, same values. */
#define TLINE_NORMAL		0
#define TLINE_BREAK		1
#define TLINE_FRAME		2
#define TLINE_PARITY		3
#define TLINE_OVERRUN		4

/**
 * struct tline_rx - one character for the tty's receiver
 * @gap_us: idle line before its start bit, in microseconds; it is
 *	received (its stop bit ends) one character time later, at the
 *	line's rate and character format
 * @ch: the character (0 for a break)
 * @flag: TLINE_NORMAL, TLINE_BREAK, TLINE_FRAME, TLINE_PARITY or
 *	TLINE_OVERRUN: the TTY_* flag the character comes with, as a UART
 *	driver reports it (an overrun as an extra character 0 flagged
 *	TTY_OVERRUN after the last one the FIFO kept, as serial_core does)
 * @anchor: TLINE_RX_AFTER_PREV or TLINE_RX_AFTER_TX
 * @reserved: 0
 */
struct tline_rx {
	__u32 gap_us;
	__u8 ch;
	__u8 flag;
	__u8 anchor;
	__u8 reserved;
};

#define TLINE_EV_TX		1	/* the tty sent @ch */
#define TLINE_EV_RX		2	/* the tty received @ch (scripted) */
#define TLINE_EV_ECHO		3	/* the line echoed @ch to the tty */
#define TLINE_EV_BREAK_ON	4	/* the tty started a break */
#define TLINE_EV_BREAK_OFF	5	/* and ended it */

/**
 * struct tline_event - something that happened on the line
 * @time_ns: CLOCK_MONOTONIC: the end of the character's stop bit, or the
 *	start or end of the break
 * @type: TLINE_EV_
 * @ch: the character
 * @flag: its TLINE_ flag (TLINE_EV_RX)
 * @reserved: 0
 */
struct tline_event {
	__u64 time_ns;
	__u8 type;
	__u8 ch;
	__u8 flag;
	__u8 reserved[5];
};

/**
 * struct tline_info - state of the line
 * @baud: the tty's rate
 * @char_bits: bits per character: start, data, parity, stop
 * @tx_pending: characters the tty has queued and not finished sending
 * @rx_pending: scripted characters not received yet; 0 once the line
 *	discipline has taken every character received
 * @events_lost: events dropped because nobody read them (the oldest go)
 * @breaking: the tty holds a break
 * @echo: the line echoes what the tty sends
 * @tx_bytes: characters the tty sent
 * @rx_bytes: characters (and breaks) the tty received
 */
struct tline_info {
	__u32 baud;
	__u32 char_bits;
	__u32 tx_pending;
	__u32 rx_pending;
	__u32 events_lost;
	__u8 breaking;
	__u8 echo;
	__u8 reserved[2];
	__u64 tx_bytes;
	__u64 rx_bytes;
};

#define TLINE_IOC_MAGIC		0xbb
/* Echo every character the tty sends back to its receiver: int 0 or 1. */
#define TLINE_IOC_SET_ECHO	_IOW(TLINE_IOC_MAGIC, 0x01, int)
/* Drop the script and the events, clear the counters, echo off. */
#define TLINE_IOC_RESET		_IO(TLINE_IOC_MAGIC, 0x02)
#define TLINE_IOC_GET_INFO	_IOR(TLINE_IOC_MAGIC, 0x03, struct tline_info)

#endif /* _TLINE_H */
