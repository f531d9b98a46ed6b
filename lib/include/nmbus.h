/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnmbus - M-Bus (EN 13757-2/-3) master library
 *
 * The one public header, in this order: the decoder (a received frame,
 * E5, short, control or long; the header of a variable data structure
 * (CI 72h/76h/7Ah) or a fixed data structure (CI 73h/77h); every data
 * record of EN 13757-3), its output as JSON, as the XML of rscada/libmbus
 * or as text, the builders of the frames a master sends, and the bus: a
 * handle on /dev/mbusN, primary and secondary scans, multi-telegram
 * readout. Names are prefixed nmbus_ / NMBUS_.
 */
#ifndef NMBUS_H
#define NMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The rules of the whole library
 *
 * Errors: a function that can fail returns a negative errno value (its
 * Return: section lists which) and never reports an error in errno alone;
 * strerror(-ret) names it. nmbus_decode() also fills frame->error with
 * what was wrong and where (enum nmbus_errcode, nmbus_strerror()). A
 * function returning a pointer (a name, a profile, a part of a frame)
 * returns NULL for "none" or "unknown": an answer, not an error.
 *
 * Threads: the builders, the decoder and the formatters keep no state and
 * may run in any number of threads at once; a decoded frame and its
 * records may be shared between threads for reading. A struct nmbus_dev
 * is used by one thread at a time: open one per thread (the kernel
 * serialises the exchanges of several open files on one bus).
 *
 * Memory: only nmbus_dev_open() and nmbus_dev_new_ops() allocate memory
 * that outlives the call (free it with nmbus_dev_close());
 * nmbus_scan_secondary() and nmbus_read_telegrams() take working memory
 * and free it before they return (-ENOMEM if there is none). Decoding,
 * building and formatting allocate nothing: the caller provides the
 * struct nmbus_frame, the array of struct nmbus_record and the buffers.
 * A decoded frame and its records point into the caller's frame bytes,
 * which must stay valid and unchanged while they are used.
 */

/** Marks a function exported from libnmbus.so. */
#define NMBUS_API __attribute__((visibility("default")))

/** Largest frame on the wire (a long frame with L = 255). */
#define NMBUS_FRAME_MAX		261
/** Most DIFEs (and most VIFEs) one data record may carry (EN 13757-3). */
#define NMBUS_MAX_DIFE		10
#define NMBUS_MAX_VIFE		10
/** Most records a long frame can hold (one byte each: 2Fh fillers aside). */
#define NMBUS_MAX_RECORDS	128

/* ---------------------------------------------------------------------
 * Errors
 */

/** What was wrong with a frame; see nmbus_strerror(). */
enum nmbus_errcode {
	NMBUS_OK = 0,
	NMBUS_E_EMPTY,		/**< no bytes at all */
	NMBUS_E_START,		/**< first byte is not E5h, 10h or 68h */
	NMBUS_E_TRUNCATED,	/**< frame shorter than its length says */
	NMBUS_E_LENGTH,		/**< L fields differ, or bytes after stop */
	NMBUS_E_CHECKSUM,	/**< checksum mismatch */
	NMBUS_E_STOP,		/**< no 16h stop byte */
	NMBUS_E_CI,		/**< CI field not a slave response we know */
	NMBUS_E_HEADER,		/**< data header shorter than its CI needs */
	NMBUS_E_DIF,		/**< record ends inside the DIF/DIFE chain */
	NMBUS_E_DIFE_COUNT,	/**< more than NMBUS_MAX_DIFE DIFEs */
	NMBUS_E_DIF_RESERVED,	/**< reserved special DIF (3Fh..6Fh) */
	NMBUS_E_VIF,		/**< record ends inside the VIF/VIFE chain */
	NMBUS_E_VIFE_COUNT,	/**< more than NMBUS_MAX_VIFE VIFEs */
	NMBUS_E_PLAIN_VIF,	/**< plain-text VIF longer than the frame */
	NMBUS_E_DATA,		/**< record ends inside its data field */
	NMBUS_E_LVAR,		/**< reserved LVAR value (F7h..FFh) */
	NMBUS_E_RECORDS,	/**< more records than the caller's array */
	NMBUS_E_INVAL,		/**< invalid argument */
	NMBUS_E_APPLICATION,	/**< slave reported an application error (CI 70h) */
	NMBUS_E_COUNT
};

/**
 * struct nmbus_error - where and why decoding stopped
 * @code: what was wrong (NMBUS_OK if nothing).
 * @offset: byte offset in the frame of the first bad byte (for
 *	NMBUS_E_TRUNCATED and the "ends inside" codes: the frame or user
 *	data length, i.e. where a byte was missing).
 * @record: index of the record being decoded, or -1 outside records.
 */
struct nmbus_error {
	enum nmbus_errcode code;
	unsigned int offset;
	int record;
};

/**
 * nmbus_strerror() - describe an error code
 * @code: an enum nmbus_errcode value
 *
 * Return: a static English sentence fragment; never NULL (unknown codes
 * give "unknown error"). Thread safe.
 */
NMBUS_API const char *nmbus_strerror(enum nmbus_errcode code);

/* ---------------------------------------------------------------------
 * Frames and records
 */

/** Kind of frame, from its start byte and L field (EN 13757-2). */
enum nmbus_frame_type {
	NMBUS_FRAME_NONE = 0,
	NMBUS_FRAME_ACK,	/**< single character E5h */
	NMBUS_FRAME_SHORT,	/**< 10h C A CS 16h */
	NMBUS_FRAME_CONTROL,	/**< 68h 03h 03h 68h C A CI CS 16h */
	NMBUS_FRAME_LONG,	/**< 68h L L 68h C A CI data CS 16h */
};

/** Layout of the application data, from the CI field. */
enum nmbus_data_type {
	NMBUS_DATA_NONE = 0,	/**< no application data (ACK, short, control) */
	/** Variable data structure: responses (CI 72h/76h/7Ah/78h), and the
	 *  records of SND_UD (CI 51h/55h) and selections (CI 52h/56h). */
	NMBUS_DATA_VARIABLE,
	NMBUS_DATA_FIXED,	/**< fixed data structure (CI 73h/77h) */
	NMBUS_DATA_ERROR,	/**< application error (CI 70h) */
	NMBUS_DATA_OTHER,	/**< other CIs (reset, baud rate, ...): not decoded */
};

/**
 * struct nmbus_header - data header of a slave response
 * @id: identification number, 8 BCD digits as sent (LSB first on the wire,
 *	here as a number whose hex digits are the BCD digits).
 * @manufacturer: manufacturer code, 15 bits (see nmbus_manufacturer_str()).
 * @version: device version (generation).
 * @medium: medium / device type code (see nmbus_medium_name()).
 * @access: access number.
 * @status: status byte.
 * @signature: signature word (configuration field in OMS).
 * @has_address: true for CI 72h/76h/73h/77h (long header with
 *	identification) and for selections (CI 52h/56h: @id with F nibbles
 *	as wildcards, @manufacturer, @version, @medium; no access, status,
 *	signature); false for CI 7Ah (short header: access, status,
 *	signature only) and headerless records.
 */
struct nmbus_header {
	uint32_t id;
	uint16_t manufacturer;
	uint8_t version;
	uint8_t medium;
	uint8_t access;
	uint8_t status;
	uint16_t signature;
	bool has_address;
};

/** Function field of a DIF (bits 4-5). */
enum nmbus_function {
	NMBUS_FUNC_INSTANT = 0,
	NMBUS_FUNC_MAXIMUM,
	NMBUS_FUNC_MINIMUM,
	NMBUS_FUNC_ERROR,	/**< value during error state */
};

/** Kind of data record. */
enum nmbus_record_kind {
	NMBUS_RECORD_DATA = 0,		/**< DIF, VIF, data */
	NMBUS_RECORD_MANUFACTURER,	/**< DIF 0Fh: manufacturer data to end */
	NMBUS_RECORD_MORE_FOLLOW,	/**< DIF 1Fh: same, more telegrams follow */
	NMBUS_RECORD_READOUT,		/**< DIF 7Fh: global readout request */
	/** Counter of a fixed data structure: @vif holds its 6-bit unit
	 *  code, @dif is 04h (binary) or 0Ch (BCD). */
	NMBUS_RECORD_FIXED,
};

/**
 * struct nmbus_record - one data record, as located in the frame
 * @kind: data record or manufacturer-specific block.
 * @dif: the DIF byte.
 * @n_dife: number of DIFEs.
 * @vif: the VIF byte (0 if the record has none: manufacturer blocks).
 * @n_vife: number of VIFEs in @vife.
 * @vife: the VIFEs, extension bit included; entries past @n_vife are
 *	unspecified.
 * @function: function field of the DIF.
 * @has_dife: at least one DIFE was present.
 * @subunit: subunit (device) number from the DIFEs.
 * @tariff: tariff number from the DIFEs.
 * @storage: storage number from DIF and DIFEs.
 * @offset: offset of the DIF in the frame.
 * @vif_offset: offset of the VIF in the frame.
 * @plain_offset: for plain-text VIF (7Ch/FCh) the offset of the first
 *	character (wire order: reversed), else 0.
 * @plain_len: length of the plain-text VIF.
 * @data_offset: offset of the data field (after any LVAR byte).
 * @data_len: length of the data field in bytes.
 * @lvar: the LVAR byte of a variable-length field (DIF xDh), else 0.
 *
 * The decoder fills this in cheaply; the value and its meaning are
 * computed on demand by nmbus_record_get_value(). (The order of the
 * fields lets the decoder write the first 16 bytes, which the DIF alone
 * determines, from a table in one copy.)
 */
struct nmbus_record {
	uint64_t storage;
	uint8_t kind;
	uint8_t dif;
	uint8_t function;
	uint8_t vif;
	uint8_t n_dife;
	bool has_dife;
	uint8_t n_vife;
	uint8_t lvar;
	uint16_t offset;
	uint16_t vif_offset;
	uint16_t data_offset;
	uint16_t data_len;
	uint32_t tariff;
	uint16_t subunit;
	uint16_t plain_offset;
	uint8_t plain_len;
	uint8_t vife[NMBUS_MAX_VIFE];
};

/**
 * struct nmbus_frame - a decoded frame
 * @buf: the frame bytes given to nmbus_decode() (not copied).
 * @len: their number.
 * @type: kind of frame.
 * @c: C (control) field; 0 for an ACK.
 * @a: A (address) field; 0 for an ACK.
 * @ci: CI field (control and long frames).
 * @data_type: layout of the application data.
 * @header: the data header, if @data_type is VARIABLE or FIXED.
 * @records: the caller's record array (set by nmbus_decode()).
 * @max_records: its size.
 * @n_records: number of records decoded (the valid ones if an error
 *	stopped decoding).
 * @more_records_follow: a DIF 1Fh was seen.
 * @msb_first: CI 76h (mode 2): multi-byte header fields and data are sent
 *	most significant byte first; the decoder handles it.
 * @data_offset: offset of the first byte after the data header.
 * @data_end: offset of the checksum byte (end of user data).
 * @error: why decoding stopped, if it did.
 */
struct nmbus_frame {
	const uint8_t *buf;
	uint16_t len;
	uint8_t type;
	uint8_t c;
	uint8_t a;
	uint8_t ci;
	uint8_t data_type;
	bool more_records_follow;
	bool msb_first;
	struct nmbus_header header;
	struct nmbus_record *records;
	unsigned int max_records;
	unsigned int n_records;
	uint16_t data_offset;
	uint16_t data_end;
	struct nmbus_error error;
};

/**
 * nmbus_decode() - decode one frame
 * @frame: caller storage for the result; fully (re)initialised.
 * @buf: the frame bytes: exactly one frame, start to stop byte.
 * @len: number of bytes.
 * @records: caller array receiving the data records; may be NULL if
 *	@max_records is 0 (then only the header is decoded).
 * @max_records: size of @records.
 *
 * Validates the frame (start, length fields, checksum, stop byte), reads
 * the header for its CI (see nmbus_ci_name(); CIs that carry no records,
 * such as application reset or baud-rate switch, decode with
 * NMBUS_DATA_OTHER) and locates every data record: DIF, DIFEs
 * (storage, tariff, subunit, function), VIF and VIFEs (also 7Ch/FCh plain
 * text and the FBh/FDh extensions), the data field. Idle fillers (2Fh) are
 * skipped. Allocates nothing, reads nothing outside @buf[0..@len), runs in
 * time linear in @len.
 *
 * @frame, @records and @buf are linked: keep @buf and @records alive and
 * unchanged while @frame is used.
 *
 * Return: 0 on success. On a malformed frame -EBADMSG, with @frame->error
 * telling what and where; everything decoded before the fault (frame
 * fields, header, @frame->n_records records) stays valid. A frame with a
 * bad checksum or framing has no valid fields. -EINVAL if @frame is NULL
 * or @buf is NULL with @len not 0. Thread safe (no state).
 */
NMBUS_API int nmbus_decode(struct nmbus_frame *frame, const uint8_t *buf,
			   size_t len, struct nmbus_record *records,
			   unsigned int max_records);

/**
 * nmbus_frame_get_error() - the error that stopped nmbus_decode()
 * @frame: a decoded frame
 *
 * Return: pointer into @frame (code NMBUS_OK if decoding succeeded).
 */
NMBUS_API const struct nmbus_error *
nmbus_frame_get_error(const struct nmbus_frame *frame);

/**
 * nmbus_frame_type_name() - "ack", "short", "control", "long"
 * @type: an enum nmbus_frame_type
 *
 * Return: static string; "none" for anything else.
 */
NMBUS_API const char *nmbus_frame_type_name(enum nmbus_frame_type type);

/**
 * nmbus_ci_name() - what a CI field means
 * @ci: the CI field
 *
 * Return: static string ("variable data response", "set baud rate 2400",
 * "data send", ...); "unknown" for codes not assigned.
 */
NMBUS_API const char *nmbus_ci_name(uint8_t ci);

/**
 * nmbus_frame_get_mfr_data() - manufacturer data after DIF 0Fh/1Fh
 * @frame: a decoded frame
 * @len: set to the number of bytes (0 if none)
 *
 * Return: pointer into the frame bytes, or NULL if the frame has no
 * manufacturer-specific block.
 */
NMBUS_API const uint8_t *nmbus_frame_get_mfr_data(const struct nmbus_frame *frame,
						  size_t *len);

/* ---------------------------------------------------------------------
 * Values and their meaning
 */

/** Units named by EN 13757-3 for the VIFs (JSON spelling in comments). */
enum nmbus_unit {
	NMBUS_UNIT_NONE = 0,	/* "" */
	NMBUS_UNIT_WH,		/* Wh */
	NMBUS_UNIT_J,		/* J */
	NMBUS_UNIT_M3,		/* m3 */
	NMBUS_UNIT_KG,		/* kg */
	NMBUS_UNIT_S,		/* s */
	NMBUS_UNIT_MIN,		/* min */
	NMBUS_UNIT_H,		/* h */
	NMBUS_UNIT_D,		/* d */
	NMBUS_UNIT_MONTH,	/* month */
	NMBUS_UNIT_YEAR,	/* year */
	NMBUS_UNIT_W,		/* W */
	NMBUS_UNIT_J_H,		/* J/h */
	NMBUS_UNIT_M3_H,	/* m3/h */
	NMBUS_UNIT_M3_MIN,	/* m3/min */
	NMBUS_UNIT_M3_S,	/* m3/s */
	NMBUS_UNIT_KG_H,	/* kg/h */
	NMBUS_UNIT_CELSIUS,	/* °C */
	NMBUS_UNIT_K,		/* K */
	NMBUS_UNIT_BAR,		/* bar */
	NMBUS_UNIT_HCA,		/* HCA units */
	NMBUS_UNIT_CURRENCY,	/* currency units */
	NMBUS_UNIT_BAUD,	/* Bd */
	NMBUS_UNIT_BIT_TIMES,	/* bit times */
	NMBUS_UNIT_V,		/* V */
	NMBUS_UNIT_A,		/* A */
	NMBUS_UNIT_FT3,		/* ft3 */
	NMBUS_UNIT_US_GAL,	/* US gal */
	NMBUS_UNIT_US_GAL_MIN,	/* US gal/min */
	NMBUS_UNIT_US_GAL_H,	/* US gal/h */
	NMBUS_UNIT_FAHRENHEIT,	/* °F */
	NMBUS_UNIT_VARH,	/* varh */
	NMBUS_UNIT_VAR,		/* var */
	NMBUS_UNIT_VA,		/* VA */
	NMBUS_UNIT_PERCENT,	/* % */
	NMBUS_UNIT_HZ,		/* Hz */
	NMBUS_UNIT_DEGREE,	/* ° */
	NMBUS_UNIT_DBM,		/* dBm */
	NMBUS_UNIT_BTU,		/* Btu (VIFE 3Dh, CALEC ST II) */
	NMBUS_UNIT_COUNT
};

/** How a value is represented. */
enum nmbus_value_type {
	NMBUS_VALUE_NONE = 0,	/**< no data (data field length 0) */
	NMBUS_VALUE_NUMBER,	/**< @number (and @raw for integers/BCD) */
	NMBUS_VALUE_DATE,	/**< @tm, type G */
	NMBUS_VALUE_DATETIME,	/**< @tm, types F or I */
	NMBUS_VALUE_TIME,	/**< @tm, type J */
	NMBUS_VALUE_TEXT,	/**< @bytes: ASCII, reversed on the wire
				 *   (unless NMBUS_VF_TEXT_IN_ORDER) */
	NMBUS_VALUE_BINARY,	/**< @bytes: opaque bytes (printed in hex) */
	NMBUS_VALUE_INVALID,	/**< BCD with non-decimal digits: error marker */
};

/**
 * struct nmbus_datetime - a date and/or time (types F, G, I, J)
 * @year: full year (2000 + two digits for 0..80, 1900 + for 81..99);
 *	-1 if the year is unspecified (127, CALEC ST II "AnyYear").
 * @month: 1..12.
 * @day: 1..31.
 * @hour: 0..23.
 * @minute: 0..59.
 * @second: 0..59.
 * @invalid: the IV bit was set (time invalid).
 * @summer: the SU bit was set (summer time).
 */
struct nmbus_datetime {
	int16_t year;
	uint8_t month;
	uint8_t day;
	uint8_t hour;
	uint8_t minute;
	uint8_t second;
	bool invalid;
	bool summer;
};

/** Flags for struct nmbus_value.flags, from the combinable VIFEs. */
enum nmbus_value_flag {
	NMBUS_VF_FORWARD = 1 << 0,	/**< VIFE 3Bh: positive contributions only */
	NMBUS_VF_BACKWARD = 1 << 1,	/**< VIFE 3Ch: negative contributions only */
	NMBUS_VF_ERROR_CODE = 1 << 2,	/**< VIFE 00h..1Fh of a slave: error */
	NMBUS_VF_MFR_VIFE = 1 << 3,	/**< VIFE 7Fh/FFh: manufacturer VIFEs follow */
	NMBUS_VF_NEGATIVE_BCD = 1 << 4,	/**< BCD with F top nibble (negative) */
	NMBUS_VF_UNKNOWN_VIF = 1 << 5,	/**< VIF or VIFE code reserved */
	/** TEXT @bytes are in reading order: a CI 76h (MSB first) frame. */
	NMBUS_VF_TEXT_IN_ORDER = 1 << 6,
	/**
	 * VIFE 3Dh: the value is in a non-metric unit. @unit is it (Btu, US
	 * gal) where known, else NMBUS_UNIT_NONE: never the VIF's metric unit.
	 */
	NMBUS_VF_NON_METRIC = 1 << 7,
	/** VIFE 00h..1Fh in a master's frame: the action code in @action. */
	NMBUS_VF_ACTION = 1 << 8,
};

/**
 * struct nmbus_value - the meaning and value of one record
 * @type: representation.
 * @number: for NMBUS_VALUE_NUMBER, the value scaled by the power of ten
 *	of the VIF and any multiplicative/additive VIFEs, in @unit.
 * @raw: the unscaled integer (integers and BCD), else 0.
 * @exponent: the power of ten applied to @raw.
 * @tm: for the date/time types.
 * @bytes: for TEXT, BINARY, INVALID and the time types, pointer into the
 *	frame (wire order; text is reversed on the wire, see
 *	nmbus_value_copy_text()).
 * @len: number of @bytes.
 * @quantity: what is measured ("energy", "volume", "fabrication number",
 *	...), static string, never NULL (may be "" for plain-text VIFs, see
 *	@plain).
 * @unit: the unit.
 * @vife_text: description of the first combinable VIFE, or NULL.
 * @error_code: for NMBUS_VF_ERROR_CODE, the VIFE code (00h..1Fh).
 * @flags: enum nmbus_value_flag bits.
 * @action: for NMBUS_VF_ACTION, the VIFE code (00h..1Fh): what a master's
 *	SND_UD asks the slave to do with the record (0Bh: freeze).
 */
struct nmbus_value {
	enum nmbus_value_type type;
	double number;
	int64_t raw;
	int exponent;
	struct nmbus_datetime tm;
	const uint8_t *bytes;
	size_t len;
	const char *quantity;
	enum nmbus_unit unit;
	const char *vife_text;
	uint8_t error_code;
	unsigned int flags;
	uint8_t action;
};

/**
 * nmbus_record_get_value() - decode the value and meaning of a record
 * @frame: the frame the record belongs to
 * @rec: one of @frame->records
 * @val: caller storage for the result
 *
 * Interprets the data field by the DIF (integers, BCD, real, variable
 * length) and the VIF/VIFEs (quantity, unit, power of ten, dates of types
 * F/G/I/J). A manufacturer block (DIF 0Fh/1Fh) gives NMBUS_VALUE_BINARY
 * with its bytes (or NMBUS_VALUE_NONE if empty). Allocates nothing; @val
 * points into the frame bytes.
 *
 * Return: 0, or -EINVAL if an argument is NULL. Thread safe.
 */
NMBUS_API int nmbus_record_get_value(const struct nmbus_frame *frame,
				     const struct nmbus_record *rec,
				     struct nmbus_value *val);

/**
 * nmbus_value_copy_text() - copy a TEXT value in reading order
 * @val: a value of type NMBUS_VALUE_TEXT
 * @buf: destination
 * @size: its size in bytes (room for the terminating NUL)
 *
 * Return: the length of the text (it was truncated if >= @size), or
 * -EINVAL if @val is not text (or @buf is NULL with @size not 0).
 */
NMBUS_API ssize_t nmbus_value_copy_text(const struct nmbus_value *val,
					char *buf, size_t size);

/**
 * nmbus_function_name() - "instantaneous", "maximum", "minimum", "error"
 * @function: an enum nmbus_function value
 *
 * Return: static string; "unknown" if out of range.
 */
NMBUS_API const char *nmbus_function_name(enum nmbus_function function);

/**
 * nmbus_unit_name() - the unit as EN 13757-3 writes it ("Wh", "m3", "°C")
 * @unit: an enum nmbus_unit value
 *
 * Return: static UTF-8 string; "" for NMBUS_UNIT_NONE or out of range.
 */
NMBUS_API const char *nmbus_unit_name(enum nmbus_unit unit);

/**
 * nmbus_medium_name() - name of a medium / device type code
 * @medium: the code (header byte)
 *
 * Return: static string ("cold water", "electricity", ...); "reserved"
 * for codes EN 13757-3 does not assign.
 */
NMBUS_API const char *nmbus_medium_name(uint8_t medium);

/**
 * nmbus_manufacturer_str() - three-letter manufacturer code
 * @code: 15-bit code from the header (letters A=1 .. Z=26, 5 bits each)
 * @out: receives three letters and a NUL
 *
 * Return: @out. Each 5-bit group c is written as the character 64 + c,
 * so codes outside A..Z appear as '@' (0) or '[' .. '_' (27..31), the
 * way rscada/libmbus prints them.
 */
NMBUS_API char *nmbus_manufacturer_str(uint16_t code, char out[4]);

/**
 * nmbus_manufacturer_code() - 15-bit code from three letters
 * @letters: three letters A..Z (case-insensitive), NUL-terminated
 *
 * Return: the code, or -EINVAL if @letters is not three letters.
 */
NMBUS_API int nmbus_manufacturer_code(const char *letters);

/**
 * nmbus_manufacturer_common() - the manufacturer codes the secondary
 * search tries first, most common first
 * @rank: 0 for the most common
 *
 * The order: the codes of the rscada/libmbus test-frame corpus (meters
 * users of libmbus sent in) by how often they occur there, then further
 * FLAG codes (the DLMS UA list of manufacturer IDs) of makers of wired
 * M-Bus heat, water, gas and electricity meters, alphabetically.
 * Documentation/library-guide.rst lists them.
 *
 * Return: the three letters (static), or NULL past the end.
 */
NMBUS_API const char *nmbus_manufacturer_common(unsigned int rank);

/* ---------------------------------------------------------------------
 * Device knowledge
 */

/**
 * nmbus_device_name() - product name for a slave, from its header
 * @header: a decoded header
 *
 * Knows the devices documented in the project's seeds (Integra CALEC ST II
 * versions C0h..C9h, Elvaco CMi1020, ...). The libmbus XML formats print
 * libmbus's own product names instead, for drop-in compatibility.
 *
 * Return: static string, or NULL if unknown.
 */
NMBUS_API const char *nmbus_device_name(const struct nmbus_header *header);

/**
 * nmbus_record_storage_name() - meaning of a storage number for a device
 * @header: the frame's header
 * @storage: the record's storage number
 *
 * For the CALEC ST II: "current" (0), "due day" (1..12), "freeze" (31),
 * "logger" (100..599). From the header alone 1..12 can only be read as
 * due days; its service telegram numbers values 1..8 without being a
 * due-day telegram: nmbus_frame_storage_name() tells them apart.
 *
 * Return: static string, or NULL if the device or number is unknown.
 */
NMBUS_API const char *nmbus_record_storage_name(const struct nmbus_header *header,
						uint64_t storage);

/**
 * nmbus_frame_storage_name() - meaning of a record's storage number
 * @frame: the decoded frame
 * @rec: one of its records
 *
 * As nmbus_record_storage_name(), but a storage number 1..12 of a CALEC
 * ST II is a "due day" only in a due-day telegram, one that holds the
 * due day's date (VIF 6Ch) under that storage number; otherwise (the
 * service telegram's mean values, deviations and event times) it is an
 * "index".
 *
 * Return: static string, or NULL if the device or number is unknown.
 */
NMBUS_API const char *nmbus_frame_storage_name(const struct nmbus_frame *frame,
					       const struct nmbus_record *rec);

/**
 * nmbus_record_obis() - OBIS code (IEC 62056-61) of a record
 * @frame: the decoded frame
 * @rec: one of its records
 *
 * A device with its own table gets only that table's codes: the Elvaco
 * CMi1020 (manufacturer ELV, generation 01h..09h, medium 00h or 02h; seed
 * 004's OBIS-to-M-Bus table in reverse, by VIF class, direction VIFE,
 * tariff and subunit).
 *
 * Any other frame gets the generic mapping, and only for a data record
 * with storage 0, subunit 0, function instantaneous, a value, and no
 * combinable VIFE other than 3Bh/3Ch (direction: forward is import, +;
 * backward is export, -), 7Ch 01h..04h (at phase L1..L3, neutral), 7Ch
 * 10h (absolute: both directions) and 00h (no record error):
 *
 * - electricity (medium 02h): energy in Wh with a direction 1-0:1.8.E,
 *   2.8.E, 15.8.E (E = tariff 0..63), per phase 21/41/61.8.0, 22/42/62.8.0,
 *   35/55/75.8.0; reactive energy 3.8.E, 4.8.E, per phase 23/43/63.8.0 and
 *   24/44/64.8.0; power 1.7.0, 2.7.0, 15.7.0 and per phase 21/41/61,
 *   22/42/62, 35/55/75.7.0; reactive power 3.7.0, 4.7.0 (23/43/63,
 *   24/44/64.7.0); apparent power 9.7.0, 10.7.0 (29/49/69, 30/50/70.7.0);
 *   voltage at L1/L2/L3 32/52/72.7.0; current at L1/L2/L3 31/51/71.7.0, at
 *   neutral 91.7.0; frequency 14.7.0. Energy or power without a direction
 *   gets nothing: EN 13757-3 does not say import or export.
 * - cold water (16h) 8-0, warm or hot water (06h, 15h) 9-0 (EN 13757-1):
 *   volume 1.0.E (E = tariff 0..9), volume flow 2.0.0, flow temperature
 *   3.0.0, without a direction or phase. Medium 07h ("water") is neither
 *   cold nor hot: nothing.
 * - heat, gas and every other medium: nothing.
 *
 * The full table and its sources are in Documentation/library-guide.rst.
 * Allocates nothing; thread-safe.
 *
 * Return: static string in the form A-B:C.D.E, such as "1-0:1.8.0" (the
 * CMi1020's letter groups C and F as 96 and 97: "0-0:96.7.0" for its
 * C.7.0), or NULL if the record has no code or an argument is NULL.
 */
NMBUS_API const char *nmbus_record_obis(const struct nmbus_frame *frame,
					const struct nmbus_record *rec);

/**
 * struct nmbus_profile - how to talk to a device that needs care
 * @name: short name ("calmex2")
 * @description: product
 * @manufacturer: 15-bit manufacturer code, 0 if any
 * @baud: bus speed the device answers at
 * @wakeup_bytes: number of 55h sent before each request (0 = none)
 * @wakeup_delay_ms: pause between wake-up bytes and the request
 * @retries: retries on no answer
 * @timeout_ms: response timeout, 0 = EN 13757-2 default
 */
struct nmbus_profile {
	const char *name;
	const char *description;
	uint16_t manufacturer;
	uint32_t baud;
	uint16_t wakeup_bytes;
	uint16_t wakeup_delay_ms;
	uint8_t retries;
	uint32_t timeout_ms;
};

/**
 * nmbus_profile_find() - look a device profile up by name
 * @name: profile name, case-insensitive ("calmex2", "calec-st2", "cmi1020")
 *
 * Return: static profile, or NULL if unknown.
 */
NMBUS_API const struct nmbus_profile *nmbus_profile_find(const char *name);

/**
 * nmbus_profile_get() - iterate over the known profiles
 * @index: 0, 1, ...
 *
 * Return: static profile, or NULL past the last one.
 */
NMBUS_API const struct nmbus_profile *nmbus_profile_get(unsigned int index);

/* ---------------------------------------------------------------------
 * Output
 */

/** Output formats of nmbus_frame_format() / nmbus_frame_print(). */
enum nmbus_format {
	NMBUS_FORMAT_JSON = 0,		/**< one line, the architecture's JSON */
	NMBUS_FORMAT_XML,		/**< rscada/libmbus mbus_frame_data_xml() */
	NMBUS_FORMAT_XML_NORMALIZED,	/**< libmbus ..._xml_normalized() */
	NMBUS_FORMAT_TEXT,		/**< for people, one record per line */
};

/**
 * nmbus_frame_format() - print a decoded frame into a buffer
 * @frame: a decoded frame (also one nmbus_decode() failed on: the valid
 *	part and an "error" object are printed)
 * @format: output format
 * @buf: destination, may be NULL if @size is 0
 * @size: its size
 *
 * Like snprintf(): writes at most @size bytes including a terminating
 * NUL. JSON ends without a newline; XML and TEXT end with one. No
 * allocation.
 *
 * Return: the length the full output has (excluding the NUL); if it is
 * >= @size the output was truncated. -EINVAL for bad arguments.
 */
NMBUS_API ssize_t nmbus_frame_format(const struct nmbus_frame *frame,
				     enum nmbus_format format,
				     char *buf, size_t size);

/**
 * nmbus_frame_print() - print a decoded frame to a stdio stream
 * @frame: a decoded frame
 * @format: output format
 * @fp: the stream
 *
 * Same output as nmbus_frame_format(); written in chunks through a small
 * stack buffer, no allocation.
 *
 * Return: number of bytes written, or a negative errno value: that of a
 * write error (as stdio set it), or -EINVAL for bad arguments.
 */
NMBUS_API ssize_t nmbus_frame_print(const struct nmbus_frame *frame,
				    enum nmbus_format format, FILE *fp);

/**
 * nmbus_json_string_format() - write bytes as a JSON string into a buffer
 * @str: the bytes, in no particular encoding; need not end with a NUL and
 *	may hold NULs (may be NULL if @len is 0)
 * @len: their number
 * @buf: destination, may be NULL if @size is 0
 * @size: its size
 *
 * The JSON string escaper of every n_mbus tool and of the JSON of
 * nmbus_frame_format(): @str in double quotes, with a backslash before
 * each '"' and '\', and every other byte below 0x20 or from 0x7f on
 * written as \u00XX (upper-case hex), the Latin-1 code point of the byte.
 * The output is plain ASCII and valid JSON for any input, also invalid
 * UTF-8; a consumer gets the original bytes back by encoding the decoded
 * string as Latin-1 (UTF-8 text thus reads as Latin-1 mojibake, but
 * nothing is lost). Each input byte becomes at most 6 output bytes.
 *
 * Like snprintf(): writes at most @size bytes including a terminating NUL.
 * No allocation; thread-safe.
 *
 * Return: the length the full output has (excluding the NUL); if it is
 * >= @size the output was truncated. -EINVAL if @str is NULL with @len
 * not 0, or @buf NULL with @size not 0.
 */
NMBUS_API ssize_t nmbus_json_string_format(const char *str, size_t len,
					   char *buf, size_t size);

/**
 * nmbus_json_string_print() - write bytes as a JSON string to a stream
 * @str: the bytes (may be NULL if @len is 0)
 * @len: their number
 * @fp: the stream
 *
 * Same output as nmbus_json_string_format(), written through a small
 * stack buffer; no allocation.
 *
 * Return: number of bytes written, or a negative errno value: that of a
 * write error (as stdio set it), or -EINVAL for bad arguments.
 */
NMBUS_API ssize_t nmbus_json_string_print(const char *str, size_t len,
					  FILE *fp);

/* ---------------------------------------------------------------------
 * Helpers
 */

/**
 * nmbus_parse_hex() - parse hex text into bytes
 * @text: hex digits, optionally separated by white space
 * @len: length of @text
 * @out: destination
 * @size: size of @out
 * @err_pos: if not NULL, set to the offset in @text of a bad character
 *
 * Return: number of bytes, or -EINVAL (bad character or odd number of
 * digits) or -EMSGSIZE (more than @size bytes).
 */
NMBUS_API ssize_t nmbus_parse_hex(const char *text, size_t len, uint8_t *out,
				  size_t size, size_t *err_pos);

/* ---------------------------------------------------------------------
 * Building frames (EN 13757-2 link layer, EN 13757-3 application layer)
 *
 * Every builder writes one complete frame (start byte to stop
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
/* The prefix of the wire-order form of nmbus_secaddr_parse() */
#define NMBUS_SECADDR_BYTES	"bytes:"
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
 * nmbus_build_select_fab() - enhanced selection (EN 13757-3): SND_UD
 * with CI 52 to address 253, the 8-byte mask followed by the record
 * DIF 0C VIF 78 and a fabrication number
 * @buf: output buffer
 * @size: its size
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @mask: the 8-byte selection mask in wire order
 * @fab: the fabrication number, 8 BCD digits LSB first; a nibble F
 *	matches any digit
 *
 * Separates meters equal in all 8 address bytes.
 *
 * Return: the frame length (23), -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_select_fab(uint8_t *buf, size_t size,
				     unsigned int flags,
				     const uint8_t mask[NMBUS_SECADDR_LEN],
				     const uint8_t fab[4]);

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
 * @str: 16 hex digits IIIIIIIIMMMMVVDD, the form libmbus prints and
 *	gateway configurations hold: the identification number as printed
 *	on the meter (8 BCD digits, each may be F = any), then the
 *	manufacturer's two bytes in wire order (low byte first: KAM, code
 *	2C2Dh, is "2D2C"; FFFF = any), version and medium as hex bytes
 *	(FF = any). Example: "123456782D2C0107" is the Kamstrup meter
 *	12345678, version 1, medium 7 (water).
 *	With the prefix "bytes:" (NMBUS_SECADDR_BYTES), the 8 bytes as
 *	they are sent, the identification number too: the form some
 *	portals and manuals print ("as bytes"). "bytes:20316513C5140004" is
 *	the EFE meter 13653120, the same as "13653120C5140004".
 * @addr: the 8 bytes in wire order: ID BCD LSB first, manufacturer LSB
 *	first, version, medium ("78 56 34 12 2D 2C 01 07" for the example)
 *
 * Return: 0, or -EINVAL (not 16 hex digits, or an ID digit A..E).
 */
NMBUS_API int nmbus_secaddr_parse(const char *str,
				  uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_secaddr_is_str() - whether @str has the length of a secondary address
 * @str: a string; 16 characters, or "bytes:" and 16 characters
 *
 * For programs that take a primary or a secondary address in one
 * argument: true means "give it to nmbus_secaddr_parse()", whose answer
 * then says whether it is valid.
 *
 * Return: true or false.
 */
NMBUS_API bool nmbus_secaddr_is_str(const char *str);

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
 * nmbus_header_get_secaddr() - the secondary address a data header carries
 * @header: a header as nmbus_decode() fills it in
 * @addr: output, 8 bytes in wire order (as nmbus_secaddr_parse() gives
 *	them): ID BCD LSB first, manufacturer LSB first, version, medium
 *
 * Writes @addr from @header->id, manufacturer, version and medium
 * whatever the CI (a header without an address has them 0). The one
 * conversion libnmbus's scans and the tools use. Thread safe.
 *
 * Return: @header->has_address: true if the header carries an address
 * (CI 72h/76h/73h/77h, selections), false if @addr holds only zeros from
 * an address-less header (CI 7Ah, headerless records).
 */
NMBUS_API bool nmbus_header_get_secaddr(const struct nmbus_header *header,
					uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_secaddr_match() - whether a slave's address matches a selection
 * mask, as EN 13757-3 defines it
 * @mask: the mask in wire order, with wildcards
 * @len: its length: 8, or a short mask (0..4, 6, 7) as the CMi1020
 *	accepts; absent trailing fields match anything
 * @addr: the slave's 8-byte address in wire order
 *
 * ID nibbles F match any digit; the manufacturer matches anything only
 * as a whole (FF FF), version and medium only as FF. "2D FF" matches no
 * manufacturer but FF2Dh. These are binary fields, not BCD.
 *
 * Return: true on a match.
 */
NMBUS_API bool nmbus_secaddr_match(const uint8_t *mask, size_t len,
				   const uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_secaddr_match_lenient() - nmbus_secaddr_match() as some meters do
 * it: every nibble F of the mask is a wildcard, also in the manufacturer,
 * version and medium (the behaviour libmbus's search relies on)
 * @mask: the mask in wire order
 * @len: its length, as for nmbus_secaddr_match()
 * @addr: the slave's 8-byte address in wire order
 *
 * Return: true on a match.
 */
NMBUS_API bool nmbus_secaddr_match_lenient(const uint8_t *mask, size_t len,
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

/* ---------------------------------------------------------------------
 * The bus: device handle, scans, readout
 *
 * A struct nmbus_dev is an open /dev/mbusN (or, for tests and other
 * transports, a set of callbacks). The library never times the bus:
 * every exchange is one MBUS_IOC_XFER and the kernel applies the response
 * window, retries and wake-up preambles.
 */

/* Outcome of one exchange; the values of MBUS_STATUS_* in <linux/mbus.h>. */
#define NMBUS_STATUS_NONE	0	/* sent, no reply expected */
#define NMBUS_STATUS_FRAME	1	/* a valid short, control or long frame */
#define NMBUS_STATUS_ACK	2	/* the single character E5 */
#define NMBUS_STATUS_TIMEOUT	3	/* silence, every attempt */
#define NMBUS_STATUS_GARBLED	4	/* bytes but no frame: collision, noise */
#define NMBUS_STATUS_BREAK	5	/* break or short circuit */

/* Flags of nmbus_dev_xfer(); the values of MBUS_XFER_* in <linux/mbus.h>. */
#define NMBUS_XFER_ADDRESSED	0x1	/* the kernel writes the bound address */
#define NMBUS_XFER_FCB		0x2	/* the kernel manages FCB/FCV */
#define NMBUS_XFER_NO_REPLY	0x4	/* broadcast: return once sent */

struct nmbus_dev;

/**
 * struct nmbus_dev_params - link parameters of a handle (struct mbus_params)
 * @response_timeout_us: reply window; 0 = EN 13757-2 default
 * @char_timeout_us: longest gap inside a reply; 0 = kernel default
 * @wakeup_delay_us: pause after the wake-up preamble
 * @wakeup_bytes: 0x55 bytes sent before each request; 0 = none
 * @retries: repeats of a request that got no valid reply (0..5)
 * @flags: MBUS_PARAM_* flags (echo cancellation)
 */
struct nmbus_dev_params {
	uint32_t response_timeout_us;
	uint32_t char_timeout_us;
	uint32_t wakeup_delay_us;
	uint16_t wakeup_bytes;
	uint8_t retries;
	uint32_t flags;
};

/**
 * struct nmbus_dev_ops - a transport other than /dev/mbusN
 * @xfer: one exchange, as MBUS_IOC_XFER: send @tx_len bytes of @tx, store
 *	the reply (or the bytes of a garbled window) in @rx, at most
 *	*@rx_len bytes, and set *@rx_len. Return an NMBUS_STATUS_ value, or
 *	a negative errno value.
 * @set_params: apply link parameters; may be NULL (then accepted as is).
 *	Return 0 or a negative errno value.
 *
 * Used by tests to run the scans against a simulated bus.
 */
struct nmbus_dev_ops {
	int (*xfer)(void *ctx, const uint8_t *tx, size_t tx_len,
		    unsigned int flags, uint8_t *rx, size_t *rx_len);
	int (*set_params)(void *ctx, const struct nmbus_dev_params *params);
};

/* ---- the bus handle ------------------------------------------------ */

/**
 * nmbus_dev_open() - open an M-Bus port
 * @name: "0", "mbus0", "/dev/mbus0", or the tty N_MBUS is attached to
 *	("ttyUSB0" or "/dev/ttyUSB0"; its /dev/mbusN is opened)
 * @dev: receives the new handle (free it with nmbus_dev_close()); NULL
 *	on failure
 *
 * Return: 0, or a negative errno value: -EINVAL (@name empty or NULL),
 * -ENOENT, -EACCES and the other errors of open(2), -ENOTTY (@name is no
 * M-Bus port), -ENOMEM.
 */
NMBUS_API int nmbus_dev_open(const char *name, struct nmbus_dev **dev);

/**
 * nmbus_dev_new_ops() - a handle on another transport
 * @ops: callbacks; must stay valid while the handle lives
 * @ctx: their first argument
 * @dev: receives the new handle; NULL on failure
 *
 * Return: 0, or -EINVAL (no @ops or no @ops->xfer) or -ENOMEM.
 */
NMBUS_API int nmbus_dev_new_ops(const struct nmbus_dev_ops *ops, void *ctx,
				struct nmbus_dev **dev);

/**
 * nmbus_dev_close() - close the port and free the handle
 * @dev: the handle, or NULL
 */
NMBUS_API void nmbus_dev_close(struct nmbus_dev *dev);

/**
 * nmbus_dev_get_fd() - the file descriptor of /dev/mbusN
 * @dev: the handle
 *
 * Return: the descriptor (owned by @dev), or -EOPNOTSUPP for an ops
 * handle.
 */
NMBUS_API int nmbus_dev_get_fd(const struct nmbus_dev *dev);

/**
 * nmbus_dev_get_params() - the handle's link parameters
 * @dev: the handle
 * @params: receives them
 */
NMBUS_API void nmbus_dev_get_params(const struct nmbus_dev *dev,
				    struct nmbus_dev_params *params);

/**
 * nmbus_dev_set_params() - set the handle's link parameters
 * @dev: the handle
 * @params: the parameters (MBUS_IOC_SET_PARAMS)
 *
 * Return: 0, or a negative errno value: the error of MBUS_IOC_SET_PARAMS
 * (-EINVAL: out of range), or of @set_params of an ops handle.
 */
NMBUS_API int nmbus_dev_set_params(struct nmbus_dev *dev,
				   const struct nmbus_dev_params *params);

/**
 * nmbus_dev_set_retries() - change only the retry count
 * @dev: the handle
 * @retries: 0..5
 *
 * Return: 0, or -EINVAL (@retries above 5), or an error of
 * nmbus_dev_set_params().
 */
NMBUS_API int nmbus_dev_set_retries(struct nmbus_dev *dev,
				    unsigned int retries);

/**
 * nmbus_dev_get_baud() - the bus speed
 * @dev: the handle
 *
 * Return: the baud rate, or a negative errno value: -EOPNOTSUPP for an
 * ops handle, the error of MBUS_IOC_GET_BAUD otherwise.
 */
NMBUS_API int nmbus_dev_get_baud(const struct nmbus_dev *dev);

/**
 * nmbus_dev_set_baud() - change the bus speed (port wide)
 * @dev: the handle
 * @baud: 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400
 *
 * Return: 0, or a negative errno value: -EOPNOTSUPP for an ops handle,
 * the error of MBUS_IOC_SET_BAUD otherwise (-EINVAL: no such speed).
 */
NMBUS_API int nmbus_dev_set_baud(struct nmbus_dev *dev, unsigned int baud);

/**
 * nmbus_dev_set_primary() - bind the handle to a primary address
 * @dev: the handle
 * @addr: 0..250, 254 or 255
 *
 * Exchanges with %NMBUS_XFER_ADDRESSED then go to this slave.
 *
 * Return: 0, or a negative errno value: -EOPNOTSUPP for an ops handle,
 * the error of MBUS_IOC_SET_ADDR otherwise (-EINVAL: no such address).
 */
NMBUS_API int nmbus_dev_set_primary(struct nmbus_dev *dev, uint8_t addr);

/**
 * nmbus_dev_set_secondary() - bind the handle to a secondary address
 * @dev: the handle
 * @addr: 8 bytes in wire order (nmbus_secaddr_parse()), wildcards allowed
 *
 * The kernel selects the slave before an addressed exchange when the bus
 * has another selection.
 *
 * Return: 0, or a negative errno value: -EOPNOTSUPP for an ops handle,
 * the error of MBUS_IOC_SET_ADDR otherwise.
 */
NMBUS_API int nmbus_dev_set_secondary(struct nmbus_dev *dev,
				      const uint8_t addr[NMBUS_SECADDR_LEN]);

/**
 * nmbus_dev_xfer() - one request/reply exchange
 * @dev: the handle
 * @tx: the request frame
 * @tx_len: its length
 * @flags: NMBUS_XFER_* flags
 * @rx: reply buffer (NMBUS_FRAME_MAX bytes are enough)
 * @rx_size: its size
 * @rx_len: receives the number of reply bytes (may be NULL)
 *
 * Return: an NMBUS_STATUS_ value (>= 0), or a negative errno value:
 * -EINVAL (no @tx, @tx_len 0 or above NMBUS_FRAME_MAX, no @rx with
 * @rx_size), the error of MBUS_IOC_XFER (-EINTR, -ENODEV, ...) or of
 * @xfer of an ops handle. Counted by nmbus_dev_get_xfers() unless
 * -EINVAL.
 */
NMBUS_API int nmbus_dev_xfer(struct nmbus_dev *dev, const uint8_t *tx,
			     size_t tx_len, unsigned int flags, uint8_t *rx,
			     size_t rx_size, size_t *rx_len);

/**
 * nmbus_dev_get_xfers() - exchanges made through the handle so far
 * @dev: the handle
 *
 * Return: the count (requests, not attempts).
 */
NMBUS_API unsigned long nmbus_dev_get_xfers(const struct nmbus_dev *dev);

/**
 * nmbus_status_name() - "none", "frame", "ack", "timeout", "garbled", "break"
 * @status: an NMBUS_STATUS_ value
 *
 * Return: static string; "unknown" otherwise.
 */
NMBUS_API const char *nmbus_status_name(int status);

/* ---- scans ------------------------------------------------------------ */

/**
 * struct nmbus_scan_result - one slave (or one collision) a scan found
 * @status: %NMBUS_STATUS_FRAME: identified, @header holds its data header;
 *	%NMBUS_STATUS_ACK: present but gave no data header;
 *	%NMBUS_STATUS_GARBLED: several slaves that could not be told apart
 *	(same primary address, or equal secondary addresses)
 * @primary: primary address: the one scanned (primary scan), or the A
 *	field of the slave's reply (secondary search); 253 if unknown
 * @secaddr: secondary address in wire order: from the header when there
 *	is one, else the selection mask that reached the slave
 * @header: the decoded data header (when @status is FRAME)
 * @baud: the bus speed during the scan, 0 if unknown
 * @frame: the reply to REQ_UD2 (valid during the callback only), or NULL
 * @frame_len: its length
 * @has_fabrication: @fabrication is valid: the meter's reply holds a
 *	fabrication number (DIF 0C VIF 78), or a collision was narrowed to
 *	one by the enhanced selection
 * @fabrication: the fabrication number, 8 BCD digits as a hex number
 *	(print it with %08X); F digits are wildcards in a collision
 * @xfers: for a collision of the secondary search: the exchanges spent
 *	on trying to split it
 * @by_fabrication: the secondary search reached this meter only by the
 *	enhanced selection: another meter has the same 8 address bytes, and
 *	@fabrication tells them apart
 */
struct nmbus_scan_result {
	int status;
	uint8_t primary;
	uint8_t secaddr[NMBUS_SECADDR_LEN];
	struct nmbus_header header;
	unsigned int baud;
	const uint8_t *frame;
	size_t frame_len;
	bool has_fabrication;
	uint32_t fabrication;
	unsigned long xfers;
	bool by_fabrication;
};

/**
 * typedef nmbus_scan_cb - called for every slave found
 * @res: the slave
 * @arg: the callback argument of the scan
 *
 * Return: 0 to go on, anything else to stop the scan.
 */
typedef int (*nmbus_scan_cb)(const struct nmbus_scan_result *res, void *arg);

/* struct nmbus_scan.flags */
#define NMBUS_SCAN_UD2	0x1	/* primary: probe with REQ_UD2, not SND_NKE */
/*
 * secondary: in a group sharing an ID, try every common manufacturer
 * code even after two meters were found (finds a third maker's meter)
 */
#define NMBUS_SCAN_THOROUGH	0x2

/**
 * struct nmbus_scan - parameters and counters of a scan
 * @flags: NMBUS_SCAN_* flags
 * @retries: retries of each primary probe (secondary probes use none:
 *	a silent selection means nobody matched)
 * @read_retries: retries of the REQ_UD2 reading a slave found
 * @cb: called for each slave found (may be NULL)
 * @arg: its argument
 * @xfers: out: exchanges made
 * @found: out: slaves reported with status FRAME or ACK
 * @collisions: out: reports with status GARBLED
 * @group_limit: secondary search: most exchanges spent on one group of
 *	meters sharing an identification number before it is reported as a
 *	collision (0: no limit; a strict group whose manufacturer codes are
 *	not among the common ones can take 65535 selections)
 * @lenient: out: groups whose meters showed they take F nibbles in the
 *	manufacturer, version or medium
 *
 * The link parameters of the handle are restored when the scan ends.
 */
struct nmbus_scan {
	unsigned int flags;
	unsigned int retries;
	unsigned int read_retries;
	nmbus_scan_cb cb;
	void *arg;
	unsigned long xfers;
	unsigned int found;
	unsigned int collisions;
	unsigned long group_limit;
	unsigned int lenient;
};

/**
 * nmbus_scan_primary() - find the slaves at primary addresses
 * @dev: the handle
 * @first: first address (0..250)
 * @last: last address (@first..250)
 * @scan: parameters, callback, counters
 *
 * Per address: SND_NKE (or REQ_UD2 with %NMBUS_SCAN_UD2); a slave that
 * acknowledges is read with REQ_UD2 for its data header.
 *
 * Return: the number of slaves found, or a negative errno value:
 * -EINVAL (no @dev or @scan, a bad range, retries above 5), -ECANCELED
 * (the callback stopped the scan), or the error of a failed exchange or
 * of setting the retries.
 */
NMBUS_API int nmbus_scan_primary(struct nmbus_dev *dev, unsigned int first,
				 unsigned int last, struct nmbus_scan *scan);

/**
 * nmbus_scan_secondary() - find every slave matching a mask
 * @dev: the handle
 * @mask: selection mask in wire order (NULL: all wildcards)
 * @scan: parameters, callback, counters
 *
 * Depth-first search with selections (SND_UD CI 52 to 253, no retries):
 * silence means no slave matches, E5 one slave (read with REQ_UD2 to 253
 * for its header), a garbled reply or a break several. Meters are told
 * apart by the digits of the identification number (0..9, least
 * significant first); meters sharing one by whole manufacturer codes
 * (seen on the bus, then nmbus_manufacturer_common(), then the others),
 * media and versions, likely values first, until two of them are found;
 * by manufacturer nibbles only where a meter answered a mask only a
 * meter taking F nibbles there can match; meters equal in all 8 bytes by
 * the enhanced selection with their fabrication number
 * (nmbus_build_select_fab()). Whatever cannot be split is reported with
 * status GARBLED, the mask and its cost (@xfers of the result); the
 * search goes on. Ends with SND_NKE to 253, so nothing stays selected.
 * lib/scan.c explains the order; Documentation/library-guide.rst gives
 * the figures.
 *
 * Return: the number of slaves found, or a negative errno value:
 * -EINVAL (no @dev or @scan, an ID nibble of @mask is A..E, retries above
 * 5), -ECANCELED (the callback stopped the search), -ENOMEM, or the error
 * of a failed exchange or of setting the retries.
 */
NMBUS_API int nmbus_scan_secondary(struct nmbus_dev *dev,
				   const uint8_t *mask, struct nmbus_scan *scan);

/* ---- readout ------------------------------------------------------- */

/**
 * typedef nmbus_telegram_cb - called for every telegram of a readout
 * @buf: the RSP_UD frame (valid during the call)
 * @len: its length
 * @index: 0 for the first telegram
 * @arg: the callback argument
 *
 * Return: 0 to go on, anything else to stop.
 */
typedef int (*nmbus_telegram_cb)(const uint8_t *buf, size_t len,
				 unsigned int index, void *arg);

/**
 * nmbus_read_telegrams() - read every telegram of the bound slave
 * @dev: a handle bound with nmbus_dev_set_primary() or
 *	nmbus_dev_set_secondary()
 * @max: most telegrams to read (at least 1)
 * @cb: called for each
 * @arg: its argument
 *
 * Sends REQ_UD2 with %NMBUS_XFER_ADDRESSED and %NMBUS_XFER_FCB (the kernel
 * toggles the FCB after every good reply) while the last telegram ends
 * with DIF 1F, "more records follow".
 *
 * Return: the number of telegrams read, or a negative errno value:
 * -EINVAL (no @dev, @max 0), -ETIMEDOUT (no reply), -EIO (garbled reply
 * or break), -EBADMSG (an E5 or a reply that is not a long frame),
 * -ECANCELED (the callback stopped), -ENOMEM, or the error of a failed
 * exchange. Telegrams already passed to @cb stay valid.
 */
NMBUS_API int nmbus_read_telegrams(struct nmbus_dev *dev, unsigned int max,
				   nmbus_telegram_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* NMBUS_H */
