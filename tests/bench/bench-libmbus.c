// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-libmbus - the same measurement as bench-decode, with rscada/libmbus
 *
 *   bench-libmbus [-n N] [-x|-p] [CORPUS_DIR]
 *
 * Built by tests/bench/decode.sh only when LIBMBUS_DIR names a libmbus
 * build (LIBMBUS_DIR/mbus/mbus.h and LIBMBUS_DIR/libmbus.a, or
 * LIBMBUS_DIR/mbus/.libs/libmbus.a); libmbus itself is never part of
 * n_mbus. The frames are loaded with libnmbus's hex parser, outside the
 * measurement; then N passes of mbus_parse() + mbus_frame_data_parse()
 * (+ mbus_frame_data_xml_normalized() with -x, mbus_frame_data_xml() with
 * -p), freeing what libmbus allocated, as its own tools do.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbus/mbus.h>
#include <nmbus.h>

#include "corpus.h"

/* One frame the way libmbus's tools decode it; @xml 0 none, 1 plain, 2 norm. */
__attribute__((noinline)) static unsigned long one(unsigned int k, int xml)
{
	mbus_frame reply;
	mbus_frame_data data;
	unsigned long sum = 0;
	char *s = NULL;

	memset(&reply, 0, sizeof(reply));
	memset(&data, 0, sizeof(data));
	if (mbus_parse(&reply, frames[k], lens[k]) != 0)
		return 0;
	if (mbus_frame_data_parse(&reply, &data) != 0)
		return 0;
	if (xml == 1)
		s = mbus_frame_data_xml(&data);
	else if (xml == 2)
		s = mbus_frame_data_xml_normalized(&data);
	if (s) {
		sum += strlen(s);
		free(s);
	}
	if (data.data_var.record)
		mbus_data_record_free(data.data_var.record);
	return sum + 1;
}

__attribute__((noinline)) unsigned long bench_run(unsigned int n, int xml)
{
	unsigned long sum = 0;

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int k = 0; k < n_frames; k++)
			sum += one(k, xml);
	return sum;
}

int main(int argc, char **argv)
{
	const char *root = getenv("NMBUS_CORPUS");
	unsigned int n = 100;
	int xml = 0, c;
	char dir[4096];

	while ((c = getopt(argc, argv, "n:xp")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'x':
			xml = 2;
			break;
		case 'p':
			xml = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-n N] [-x|-p] [CORPUS]\n",
				argv[0]);
			return 2;
		}
	}
	if (optind < argc)
		root = argv[optind];
	snprintf(dir, sizeof(dir), "%s/test-frames",
		 root ? root : "../shared/corpus/libmbus");
	load(dir);
	if (!n_frames) {
		fprintf(stderr, "no frames in %s\n", dir);
		return 1;
	}
	printf("frames %u passes %u sum %lu\n", n_frames, n, bench_run(n, xml));
	return 0;
}
