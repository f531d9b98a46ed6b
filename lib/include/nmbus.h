/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnmbus - M-Bus (EN 13757-2/-3) master library
 *
 * The one public header. This part covers the decoder: it parses a
 * received frame (E5, short, control or long), the header of a variable
 * data structure (CI 72h/76h/7Ah) or a fixed data structure (CI 73h/77h)
 * and every data record of EN 13757-3, and prints the result as JSON or
 * as the XML of rscada/libmbus.
 *
 * Decoding allocates nothing: the caller provides a struct nmbus_frame and
 * an array of struct nmbus_record. Both point into the caller's frame
 * bytes, which must stay valid and unchanged while they are used. Every
 * function is reentrant; objects may be shared between threads for
 * reading. Names are prefixed nmbus_ / NMBUS_.
 */
#ifndef NMBUS_H
#define NMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

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
 * computed on demand by nmbus_record_get_value().
 */
struct nmbus_record {
	uint8_t kind;
	uint8_t dif;
	uint8_t n_dife;
	uint8_t vif;
	uint8_t n_vife;
	uint8_t vife[NMBUS_MAX_VIFE];
	uint8_t function;
	bool has_dife;
	uint16_t subunit;
	uint32_t tariff;
	uint64_t storage;
	uint16_t offset;
	uint16_t vif_offset;
	uint16_t plain_offset;
	uint8_t plain_len;
	uint8_t lvar;
	uint16_t data_offset;
	uint16_t data_len;
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
 * Return: 0 on success. On a malformed frame -1, with @frame->error
 * telling what and where; everything decoded before the fault (frame
 * fields, header, @frame->n_records records) stays valid. A frame with a
 * bad checksum or framing has no valid fields. Thread safe (no state).
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
	NMBUS_UNIT_COUNT
};

/** How a value is represented. */
enum nmbus_value_type {
	NMBUS_VALUE_NONE = 0,	/**< no data (data field length 0) */
	NMBUS_VALUE_NUMBER,	/**< @number (and @raw for integers/BCD) */
	NMBUS_VALUE_DATE,	/**< @tm, type G */
	NMBUS_VALUE_DATETIME,	/**< @tm, types F or I */
	NMBUS_VALUE_TIME,	/**< @tm, type J */
	NMBUS_VALUE_TEXT,	/**< @bytes: ASCII, reversed on the wire */
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
	NMBUS_VF_ERROR_CODE = 1 << 2,	/**< VIFE 00h..1Fh: record error code */
	NMBUS_VF_MFR_VIFE = 1 << 3,	/**< VIFE 7Fh/FFh: manufacturer VIFEs follow */
	NMBUS_VF_NEGATIVE_BCD = 1 << 4,	/**< BCD with F top nibble (negative) */
	NMBUS_VF_UNKNOWN_VIF = 1 << 5,	/**< VIF or VIFE code reserved */
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
 * Return: 0, or -1 with errno EINVAL if an argument is NULL. Thread safe.
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
 * Return: the length of the text (it was truncated if >= @size), or -1 if
 * @val is not text.
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
 * Return: the code, or -1 if @letters is not three letters.
 */
NMBUS_API int nmbus_manufacturer_code(const char *letters);

/* ---------------------------------------------------------------------
 * Device knowledge
 */

/**
 * nmbus_device_name() - product name for a slave, from its header
 * @header: a decoded header
 *
 * Knows the devices documented in the project's seeds (Integra CALEC ST II
 * versions C0h..C9h, Elvaco CMi1020, ...).
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
 * "logger" (100..599).
 *
 * Return: static string, or NULL if the device or number is unknown.
 */
NMBUS_API const char *nmbus_record_storage_name(const struct nmbus_header *header,
						uint64_t storage);

/**
 * nmbus_record_obis() - OBIS code of a record from an Elvaco CMi1020
 * @frame: the frame (its header must be ELV, electricity)
 * @rec: one of its records
 *
 * Uses the CMi1020 OBIS-to-M-Bus table (VIF class, direction VIFE,
 * tariff and subunit) in reverse.
 *
 * Return: static string such as "1.8.0", or NULL if no row matches or the
 * frame is not from a CMi1020.
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
 * Return: static profile, or NULL (errno ENOENT) if unknown.
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
 * >= @size the output was truncated. -1 (errno EINVAL) for bad arguments.
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
 * Return: number of bytes written, or -1 on a write error (errno set by
 * stdio) or bad arguments (EINVAL).
 */
NMBUS_API ssize_t nmbus_frame_print(const struct nmbus_frame *frame,
				    enum nmbus_format format, FILE *fp);

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
 * Return: number of bytes, or -1 with errno EINVAL (bad character or odd
 * number of digits) or EMSGSIZE (more than @size bytes).
 */
NMBUS_API ssize_t nmbus_parse_hex(const char *text, size_t len, uint8_t *out,
				  size_t size, size_t *err_pos);

#ifdef __cplusplus
}
#endif

#endif /* NMBUS_H */
