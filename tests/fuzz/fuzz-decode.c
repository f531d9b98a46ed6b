// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the libnmbus decoder and its output.
 *
 * The first input byte picks the mode: even values decode the rest as a
 * raw frame (exercising the link-layer checks); odd values wrap the rest
 * into a valid long frame (C 08h, A 01h, CI from the second byte) so the
 * fuzzer reaches the record walker and value decoding without having to
 * find checksums. Every record's value is decoded and the frame printed
 * in every format into a bounded buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <nmbus.h>

static size_t wrap(uint8_t *out, uint8_t ci, const uint8_t *ud, size_t n)
{
	uint8_t cs = 0x08 + 0x01 + ci;

	if (n > 252)
		n = 252;
	out[0] = 0x68;
	out[1] = out[2] = (uint8_t)(n + 3);
	out[3] = 0x68;
	out[4] = 0x08;
	out[5] = 0x01;
	out[6] = ci;
	for (size_t i = 0; i < n; i++) {
		out[7 + i] = ud[i];
		cs += ud[i];
	}
	out[7 + n] = cs;
	out[8 + n] = 0x16;
	return n + 9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nmbus_record rec[NMBUS_MAX_RECORDS];
	static char out[64 * 1024];
	uint8_t frame[NMBUS_FRAME_MAX + 1];
	const uint8_t *buf = data + 1;
	struct nmbus_frame f;
	size_t len = size ? size - 1 : 0;
	unsigned int max;

	if (!size)
		return 0;
	if (data[0] & 1) {
		static const uint8_t cis[4] = { 0x72, 0x7a, 0x73, 0x70 };

		if (len < 1)
			return 0;
		len = wrap(frame, cis[data[1] & 3], data + 2, len - 1);
		buf = frame;
	} else if (len > sizeof(frame)) {
		len = sizeof(frame);
	}
	/* Also exercise a small record array now and then. */
	max = (data[0] & 0x0e) == 0x0e ? 3 : NMBUS_MAX_RECORDS;

	nmbus_decode(&f, buf, len, rec, max);
	for (unsigned int i = 0; i < f.n_records; i++) {
		struct nmbus_value v;
		char text[64];

		nmbus_record_get_value(&f, &rec[i], &v);
		if (v.type == NMBUS_VALUE_TEXT)
			nmbus_value_copy_text(&v, text, sizeof(text));
		nmbus_record_obis(&f, &rec[i]);
		nmbus_record_storage_name(&f.header, rec[i].storage);
	}
	for (int fmt = NMBUS_FORMAT_JSON; fmt <= NMBUS_FORMAT_TEXT; fmt++) {
		ssize_t n = nmbus_frame_format(&f, fmt, out, sizeof(out));

		if (n < 0 || (size_t)n >= sizeof(out))
			__builtin_trap();	/* output must fit 64 KiB */
	}
	return 0;
}
