/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnmbus: building M-Bus frames (EN 13757-2 link layer, EN 13757-3
 * application layer)
 *
 * These declarations are written as they will appear in the public header
 * <nmbus.h>. Every builder writes one complete frame (start byte to stop
 * byte, checksum included) into a buffer the caller provides, allocates
 * nothing, keeps no state and is therefore safe to call from any thread.
 *
 * Return convention of every nmbus_build_*() function: the number of bytes
 * written, or a negative errno value:
 *   -EINVAL	an argument is out of range or inconsistent;
 *   -ENOSPC	the buffer is too small (its contents are then undefined);
 *   -EMSGSIZE	the frame would exceed the 255-byte L field limit.
 * A buffer of MBUS_FRAME_MAX (261) bytes is always large enough.
 */
#ifndef NMBUS_BUILD_H
#define NMBUS_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef NMBUS_API
#define NMBUS_API __attribute__((visibility("default")))
#endif

/* C field (EN 13757-2), master to slave. */
#define NMBUS_C_SND_NKE		0x40
#define NMBUS_C_SND_UD		0x43
#define NMBUS_C_REQ_UD1		0x4a
#define NMBUS_C_REQ_UD2		0x4b
#define NMBUS_C_FCB		0x20	/* frame count bit */
#define NMBUS_C_FCV		0x10	/* frame count bit valid */
/* C field, slave to master. */
#define NMBUS_C_RSP_UD		0x08
#define NMBUS_C_ACD		0x20	/* access demand */
#define NMBUS_C_DFC		0x10	/* data flow control */

/* CI field (EN 13757-3). */
#define NMBUS_CI_APP_RESET	0x50
#define NMBUS_CI_DATA_SEND	0x51
#define NMBUS_CI_SELECT		0x52
#define NMBUS_CI_RSP_VAR	0x72
#define NMBUS_CI_BAUD_300	0xb8	/* b8..bf: 300..38400 Bd */
#define NMBUS_CI_BAUD_38400	0xbf

/* Special DIF values. */
#define NMBUS_DIF_MANUFACTURER	0x0f	/* manufacturer data follow */
#define NMBUS_DIF_MORE_FOLLOW	0x1f	/* ditto, and more telegrams follow */
#define NMBUS_DIF_IDLE_FILLER	0x2f

/* Lengths. */
#define NMBUS_SECADDR_LEN	8	/* ID (4), manufacturer (2), version, medium */
#define NMBUS_SECADDR_STRLEN	16	/* hex digits, without the NUL */
#define NMBUS_DRH_MAX		32	/* longest data record header accepted */

/**
 * enum nmbus_build_type - how the value of a record to build is given
 * @NMBUS_BUILD_NONE: no value: data field 0 (no data) or 8 (selection for
 *	readout).
 * @NMBUS_BUILD_INT: @nmbus_build_record.i, encoded as the DIF data field says:
 *	binary (8, 16, 24, 32, 48, 64 bit, two's complement, LSB first) or
 *	BCD (2, 4, 6, 8, 12 digits, LSB first; a negative value sets the
 *	most significant nibble to F as EN 13757-3 specifies).
 * @NMBUS_BUILD_REAL: @nmbus_build_record.r, data field 5 (IEEE 754 single).
 * @NMBUS_BUILD_DATE: @nmbus_build_record.tm; data field 2 gives date type G,
 *	data field 4 date and time type F (summer time from tm_isdst > 0,
 *	hundred-year bits from tm_year). A negative tm_year encodes the
 *	year 127, "every year".
 * @NMBUS_BUILD_TEXT: @nmbus_build_record.text, data field D: LVAR = length,
 *	characters sent last character first, as EN 13757-3 requires.
 * @NMBUS_BUILD_BYTES: @nmbus_build_record.bytes, data field D: LVAR = length,
 *	bytes sent in the given order.
 */
enum nmbus_build_type {
	NMBUS_BUILD_NONE = 0,
	NMBUS_BUILD_INT,
	NMBUS_BUILD_REAL,
	NMBUS_BUILD_DATE,
	NMBUS_BUILD_TEXT,
	NMBUS_BUILD_BYTES,
};

/**
 * struct nmbus_build_record - one data record to encode
 * @drh: the data record header as sent: DIF, DIFEs, VIF, VIFEs (a plain
 *	text VIF 7C/FC followed by its length and characters). Its length is
 *	found from the extension bits, so a string literal such as
 *	"\x04\x13" initialises it. A DIF 0F or 1F (manufacturer data) is
 *	written alone, followed by @bytes.
 * @type: which member holds the value.
 * @i: integer value (binary or BCD).
 * @r: real value.
 * @tm: date (type G) or date and time (type F).
 * @text: NUL-terminated text, at most 191 characters.
 * @bytes: raw bytes: pointer @bytes.data, count @bytes.len.
 */
struct nmbus_build_record {
	uint8_t drh[NMBUS_DRH_MAX];
	enum nmbus_build_type type;
	union {
		int64_t i;
		double r;
		struct tm tm;
		const char *text;
		struct {
			const uint8_t *data;
			size_t len;
		} bytes;
	};
};

/**
 * struct nmbus_rsp_header - fixed data header of a RSP_UD with CI 72
 * @id: identification number, 0..99999999, sent as 8 BCD digits.
 * @manufacturer: the 16-bit manufacturer code (see
 *	nmbus_manufacturer_code() in <nmbus.h>).
 * @version: version (generation) byte.
 * @medium: medium (device type) byte.
 * @access: access number.
 * @status: status byte.
 * @signature: signature, 0 when not used.
 */
struct nmbus_rsp_header {
	uint32_t id;
	uint16_t manufacturer;
	uint8_t version;
	uint8_t medium;
	uint8_t access;
	uint8_t status;
	uint16_t signature;
};

/**
 * enum nmbus_calec_telegram - response telegrams of the Integra CALEC ST II
 * @NMBUS_CALEC_STANDARD: current values (the default).
 * @NMBUS_CALEC_SERVICE: maintenance telegram.
 * @NMBUS_CALEC_FREEZE: values frozen by the freeze command (storage 31).
 * @NMBUS_CALEC_DUE_DAY: due-day register 1..12 (storage 1..12).
 * @NMBUS_CALEC_LOGGER: logger entry 1..500 (storage 100..599).
 */
enum nmbus_calec_telegram {
	NMBUS_CALEC_STANDARD = 0,
	NMBUS_CALEC_SERVICE,
	NMBUS_CALEC_FREEZE,
	NMBUS_CALEC_DUE_DAY,
	NMBUS_CALEC_LOGGER,
};

/* ---- link layer ---------------------------------------------------- */

/**
 * nmbus_build_ack() - the single character acknowledgement E5
 * @buf: output buffer
 * @size: its size
 *
 * Return: 1, or -ENOSPC.
 */
NMBUS_API int nmbus_build_ack(uint8_t *buf, size_t size);

/**
 * nmbus_build_short() - a short frame 10 C A CS 16
 * @buf: output buffer
 * @size: its size
 * @c: C field
 * @a: A field
 *
 * Return: 5, or -ENOSPC.
 */
NMBUS_API int nmbus_build_short(uint8_t *buf, size_t size, uint8_t c,
				uint8_t a);

/**
 * nmbus_build_long() - a control or long frame 68 L L 68 C A CI data CS 16
 * @buf: output buffer
 * @size: its size
 * @c: C field
 * @a: A field
 * @ci: CI field
 * @data: @len bytes after the CI field (may be NULL when @len is 0)
 * @len: their number, at most 252
 *
 * Return: the frame length (9 + @len), -ENOSPC or -EMSGSIZE.
 */
NMBUS_API int nmbus_build_long(uint8_t *buf, size_t size, uint8_t c,
			       uint8_t a, uint8_t ci, const uint8_t *data,
			       size_t len);

/* ---- master requests ----------------------------------------------- */

/*
 * @flags of the requests below: 0 or any of NMBUS_C_FCV and NMBUS_C_FCB,
 * ORed into the C field (REQ_UD2 5B/7B, SND_UD 53/73 have FCV set). The
 * kernel rewrites them when the transfer asks it to manage the FCB.
 * Other bits: -EINVAL.
 */

/**
 * nmbus_build_snd_nke() - SND_NKE (10 40 A CS 16): link reset; deselects
 * a slave selected by secondary address
 * @buf: output buffer
 * @size: its size
 * @addr: primary address (0..255)
 *
 * Return: 5, or -ENOSPC.
 */
NMBUS_API int nmbus_build_snd_nke(uint8_t *buf, size_t size, uint8_t addr);

/**
 * nmbus_build_req_ud1() - REQ_UD1, request for class 1 (alarm) data
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 *
 * Return: 5, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_req_ud1(uint8_t *buf, size_t size, uint8_t addr,
				  unsigned int flags);

/**
 * nmbus_build_req_ud2() - REQ_UD2, request for class 2 (user) data
 * @buf: output buffer
 * @size: its size
 * @addr: primary address (253 for the selected slave)
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB: 4B, 5B, 6B or 7B
 *
 * Return: 5, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_req_ud2(uint8_t *buf, size_t size, uint8_t addr,
				  unsigned int flags);

/**
 * nmbus_build_snd_ud() - SND_UD with CI 51 carrying data records
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @recs: the records, encoded in order
 * @nrecs: their number (0 gives a frame with no data)
 *
 * Return: the frame length, -EINVAL (a record's header is malformed or its
 * value does not fit its data field), -ENOSPC or -EMSGSIZE.
 */
NMBUS_API int nmbus_build_snd_ud(uint8_t *buf, size_t size, uint8_t addr,
				 unsigned int flags,
				 const struct nmbus_build_record *recs,
				 size_t nrecs);

/**
 * nmbus_build_select() - SND_UD with CI 52 to address 253: secondary
 * address selection
 * @buf: output buffer
 * @size: its size
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @mask: the selection mask in wire order (see nmbus_secaddr_parse())
 * @len: its length: 8 for a full mask; 0..4, 6 or 7 for the short masks
 *	the Elvaco CMi1020 accepts (the manufacturer takes two bytes, so 5
 *	is invalid)
 *
 * Return: the frame length (9 + @len), -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_select(uint8_t *buf, size_t size,
				 unsigned int flags, const uint8_t *mask,
				 size_t len);

/**
 * nmbus_build_app_reset() - SND_UD with CI 50, application reset
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @subcode: the sub-code byte (0..255; e.g. B0 on the CALEC ST II selects
 *	the service telegram, on the CMi1020 restores factory defaults), or
 *	-1 for none
 *
 * Return: 9 or 10, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_app_reset(uint8_t *buf, size_t size, uint8_t addr,
				    unsigned int flags, int subcode);

/**
 * nmbus_baud_to_ci() - the CI code B8..BF that switches a slave to @baud
 * @baud: 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400
 *
 * Return: the CI code, or -EINVAL.
 */
NMBUS_API int nmbus_baud_to_ci(unsigned int baud);

/**
 * nmbus_ci_to_baud() - the baud rate a CI code B8..BF selects
 * @ci: the CI field
 *
 * Return: the baud rate, or 0 if @ci is no baud rate code.
 */
NMBUS_API unsigned int nmbus_ci_to_baud(uint8_t ci);

/**
 * nmbus_build_set_baud() - SND_UD with CI B8..BF: switch the slave's baud
 * rate; it acknowledges at the old rate, then switches
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @baud: 300 .. 38400 (see nmbus_baud_to_ci())
 *
 * Return: 9, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_set_baud(uint8_t *buf, size_t size, uint8_t addr,
				   unsigned int flags, unsigned int baud);

/**
 * nmbus_build_set_primary() - SND_UD 51 01 7A nn: set the primary address
 * @buf: output buffer
 * @size: its size
 * @addr: current primary address (or 253, 254)
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @new_addr: the new primary address, 0..250
 *
 * Return: 12, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_set_primary(uint8_t *buf, size_t size, uint8_t addr,
				      unsigned int flags, uint8_t new_addr);

/**
 * nmbus_build_set_secondary() - SND_UD 51 0C 79 id: set the identification
 * number used for secondary addressing
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @id: the new identification number, 0..99999999 (8 BCD digits)
 *
 * Return: 15, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_set_secondary(uint8_t *buf, size_t size,
					uint8_t addr, unsigned int flags,
					uint32_t id);

/**
 * nmbus_build_set_datetime() - SND_UD 51 04 6D: set date and time (type F)
 * @buf: output buffer
 * @size: its size
 * @addr: primary address (255 to set every meter)
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @tm: local time of the meter; tm_isdst > 0 sets the summer time bit
 *
 * Return: 15, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_set_datetime(uint8_t *buf, size_t size,
				       uint8_t addr, unsigned int flags,
				       const struct tm *tm);

/**
 * nmbus_build_freeze() - SND_UD 51 with DIF (no data, storage @storage),
 * VIF FE (any quantity), VIFE 0B (freeze data): freeze the current values
 * into a storage number
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @storage: the storage number; the CALEC ST II freezes into 31
 *	(C0 0F FE 0B)
 *
 * Return: the frame length, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_freeze(uint8_t *buf, size_t size, uint8_t addr,
				 unsigned int flags, uint32_t storage);

/**
 * nmbus_build_readout_select() - SND_UD 51 with DIF 08 (selection for
 * readout) carrying @storage, and VIF @vif: choose what the next RSP_UD
 * carries
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @storage: storage number
 * @vif: 7E (any VIF) or 7F (manufacturer specific)
 *
 * Return: the frame length, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_readout_select(uint8_t *buf, size_t size,
					 uint8_t addr, unsigned int flags,
					 uint32_t storage, uint8_t vif);

/**
 * nmbus_build_calec_telegram() - select the response telegram of an
 * Integra CALEC ST II (its manual, "Paramétrer le télégramme de réponse")
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @telegram: which telegram
 * @index: for %NMBUS_CALEC_DUE_DAY 1..12, for %NMBUS_CALEC_LOGGER
 *	1..500; otherwise 0
 *
 * Return: the frame length, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_calec_telegram(uint8_t *buf, size_t size,
					 uint8_t addr, unsigned int flags,
					 enum nmbus_calec_telegram telegram,
					 unsigned int index);

/**
 * nmbus_build_elvaco_cmd() - SND_UD 51 0F cmd payload: a manufacturer
 * specific command of the Elvaco CMi1020 (e.g. 04 clears the
 * communication error flags, 03 sets the meter rate)
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @cmd: the Elvaco command byte
 * @payload: the command's parameters (NULL when @len is 0)
 * @len: their number
 *
 * Return: the frame length, -ENOSPC or -EMSGSIZE.
 */
NMBUS_API int nmbus_build_elvaco_cmd(uint8_t *buf, size_t size, uint8_t addr,
				     unsigned int flags, uint8_t cmd,
				     const uint8_t *payload, size_t len);

/* ---- slave side (simulators, tests) -------------------------------- */

/**
 * nmbus_build_rsp_ud() - RSP_UD long frame with CI 72 and the fixed header
 * @buf: output buffer
 * @size: its size
 * @c: C field: NMBUS_C_RSP_UD, optionally with NMBUS_C_ACD, NMBUS_C_DFC
 * @addr: the slave's primary address
 * @hdr: the fixed data header
 * @recs: data records (a record whose DIF is 0F or 1F carries the
 *	manufacturer data and must be last)
 * @nrecs: their number
 * @more: append DIF 1F, "more records follow in the next telegram"
 *
 * Return: the frame length, -EINVAL, -ENOSPC or -EMSGSIZE.
 */
NMBUS_API int nmbus_build_rsp_ud(uint8_t *buf, size_t size, uint8_t c,
				 uint8_t addr,
				 const struct nmbus_rsp_header *hdr,
				 const struct nmbus_build_record *recs, size_t nrecs,
				 bool more);

/**
 * nmbus_encode_records() - encode data records, without a frame around
 * them
 * @buf: output buffer
 * @size: its size
 * @recs: the records
 * @nrecs: their number
 *
 * Return: the number of bytes written, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_encode_records(uint8_t *buf, size_t size,
				   const struct nmbus_build_record *recs,
				   size_t nrecs);

/**
 * nmbus_encode_dib() - encode a data information block (DIF and DIFEs)
 * @buf: output buffer
 * @size: its size (11 always suffices)
 * @coding: data field, 0..15 (e.g. 4 = 32-bit integer, 0xC = 8-digit BCD)
 * @function: 0 instantaneous, 1 maximum, 2 minimum, 3 value during error
 * @storage: storage number (up to 41 bits used)
 * @tariff: tariff (up to 20 bits)
 * @subunit: device subunit (up to 10 bits)
 *
 * Uses the fewest DIFEs that hold the three numbers.
 *
 * Return: the number of bytes written, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_encode_dib(uint8_t *buf, size_t size, unsigned int coding,
			       unsigned int function, uint64_t storage,
			       uint32_t tariff, uint32_t subunit);

/* ---- identification ------------------------------------------------ */

/**
 * nmbus_secaddr_parse() - parse a secondary address or selection mask
 * @str: 16 hex digits IIIIIIIIMMMMVVDD: the identification number as
 *	printed on the meter (8 BCD digits, each may be F = any), the
 *	manufacturer code as a 16-bit hex number (FFFF = any), version and
 *	medium as hex bytes (FF = any). Example: "1365312014C50004" is the
 *	EFE meter 13653120, version 0, medium 4 (heat).
 * @addr: the 8 bytes in wire order: ID BCD LSB first, manufacturer LSB
 *	first, version, medium ("20 31 65 13 C5 14 00 04" for the example)
 *
 * Return: 0, or -EINVAL (not 16 hex digits, or an ID digit A..E).
 */
NMBUS_API int nmbus_secaddr_parse(const char *str,
				  uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_secaddr_format() - the inverse of nmbus_secaddr_parse()
 * @addr: 8 bytes in wire order
 * @str: output, at least NMBUS_SECADDR_STRLEN + 1 bytes; upper case hex
 * @size: size of @str
 *
 * Return: 16, or -ENOSPC.
 */
NMBUS_API int nmbus_secaddr_format(const uint8_t addr[NMBUS_SECADDR_LEN],
				   char *str, size_t size);

/**
 * nmbus_secaddr_match() - whether a slave's address matches a selection mask
 * @mask: the mask in wire order, with wildcards
 * @len: its length: 8, or a short mask (0..4, 6, 7) as the CMi1020
 *	accepts; absent trailing fields match anything
 * @addr: the slave's 8-byte address in wire order
 *
 * ID nibbles F, manufacturer bytes FF, version FF and medium FF match
 * anything; the manufacturer, version and medium are compared as binary
 * bytes (they are not BCD).
 *
 * Return: true on a match.
 */
NMBUS_API bool nmbus_secaddr_match(const uint8_t *mask, size_t len,
				   const uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_bcd_encode() - @value as @ndigits BCD digits, LSB first
 * @buf: output, (@ndigits + 1) / 2 bytes
 * @ndigits: number of digits, even, 2..16
 * @value: the number; negative sets the top nibble to F
 *
 * Return: the number of bytes written, or -EINVAL if @value does not fit.
 */
NMBUS_API int nmbus_bcd_encode(uint8_t *buf, unsigned int ndigits,
			       int64_t value);

#endif /* NMBUS_BUILD_H */
