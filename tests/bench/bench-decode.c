// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-decode - decode the libmbus corpus N times, optionally with JSON
 *
 *   bench-decode [-n N] [-j|-x|-p] [CORPUS_DIR]
 *
 * Loads every test-frames/*.hex of CORPUS_DIR (default
 * ../shared/corpus/libmbus or $NMBUS_CORPUS) into memory, then runs
 * bench_run(): N passes of nmbus_decode() over all frames, plus
 * nmbus_frame_format() as JSON with -j (normalized XML with -x, plain
 * XML with -p).
 * bench_run() is the function decode.sh has callgrind count.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nmbus.h>

#include "corpus.h"

/* The measured part: keep it out of line so callgrind can toggle on it. */
__attribute__((noinline)) unsigned long bench_run(unsigned int n,
						  int format)
{
	static struct nmbus_record rec[NMBUS_MAX_RECORDS];
	static char out[64 * 1024];
	struct nmbus_frame f;
	unsigned long sum = 0;

	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int k = 0; k < n_frames; k++) {
			nmbus_decode(&f, frames[k], lens[k], rec,
				     NMBUS_MAX_RECORDS);
			sum += f.n_records;
			if (format >= 0)
				sum += nmbus_frame_format(&f, format, out,
							  sizeof(out));
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	const char *root = getenv("NMBUS_CORPUS");
	unsigned int n = 1000;
	int format = -1, c;
	struct timespec t0, t1;
	char dir[4096];
	double s;

	while ((c = getopt(argc, argv, "n:jxp")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'j':
			format = NMBUS_FORMAT_JSON;
			break;
		case 'x':
			format = NMBUS_FORMAT_XML_NORMALIZED;
			break;
		case 'p':
			format = NMBUS_FORMAT_XML;
			break;
		default:
			fprintf(stderr, "usage: %s [-n N] [-j|-x|-p] [CORPUS]\n",
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
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bench_run(n, format);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("frames %u passes %u format %s ns/frame %.1f\n", n_frames, n,
	       format < 0 ? "none" : format == NMBUS_FORMAT_JSON ? "json" :
	       format == NMBUS_FORMAT_XML ? "xml" : "xml-normalized", s * 1e9 / ((double)n * n_frames));
	return 0;
}
