/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmarks' frame set: every *.hex of a corpus directory, parsed
 * once before anything is measured. One copy for bench-decode.c and
 * bench-libmbus.c, so that both measure the very same frames.
 */
#ifndef NMBUS_BENCH_CORPUS_H
#define NMBUS_BENCH_CORPUS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#define MAX_FRAMES 512

static uint8_t frames[MAX_FRAMES][NMBUS_FRAME_MAX + 1];
static size_t lens[MAX_FRAMES];
static unsigned int n_frames;

static void load(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096], text[4096];

	if (!d) {
		perror(dir);
		exit(1);
	}
	while ((e = readdir(d)) && n_frames < MAX_FRAMES) {
		size_t l = strlen(e->d_name), n;
		FILE *fp;
		ssize_t k;

		if (l < 5 || strcmp(e->d_name + l - 4, ".hex"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
		k = nmbus_parse_hex(text, n, frames[n_frames],
				    sizeof(frames[0]), NULL);
		if (k > 0)
			lens[n_frames++] = k;
	}
	closedir(d);
}

#endif
