// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnmbus against the rscada/libmbus corpus.
 *
 * Every frame of test-frames/ is decoded and printed as normalized and as
 * plain XML; the header fields (ProductName included, from libmbus's
 * product list) and, per record, function, storage number, tariff, device
 * (subunit), unit, quantity and value are compared with libmbus's
 * .norm.xml and .xml. libmbus is a peer, not an oracle: where it contradicts
 * EN 13757-3 we follow the standard, and each such difference is listed
 * in known[] with its reason. A difference not listed fails the test; so
 * does a listed one that no longer occurs. error-frames/ and
 * unsupported-frames/ must give an error with a position or a partial
 * decode, never a crash.
 *
 * The corpus is ../shared/corpus/libmbus from the repository root, or
 * $NMBUS_CORPUS; without it the tests are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nmbus.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#define OUT_MAX (256 * 1024)

enum { NORM = 1, PLAIN = 2, BOTH = NORM | PLAIN };

struct disagreement {
	const char *frame;
	int record;		/* -1: header */
	const char *field;	/* "*": every field of the record */
	int formats;		/* NORM, PLAIN or BOTH */
	const char *reason;
};

#define BCD_HEX "BCD digit A..F is an error marker (EN 13757-3 annex B); " \
		"libmbus reads the hex nibbles as decimal digits"
#define DATE_OF "VIFE 6Fh: the value is the date/time of the end of the " \
		"last limit exceed (type F); libmbus prints the raw integer"

static const struct disagreement known[] = {
	{ "ELS_Elster-F96-Plus", 4, "Value", NORM, BCD_HEX },
	{ "ELS_Elster-F96-Plus", 5, "Value", NORM, BCD_HEX },
	{ "abb_f95", 2, "Value", NORM, BCD_HEX },
	{ "abb_f95", 3, "Value", NORM, BCD_HEX },
	{ "landis+gyr_ultraheat_t230", 19, "Value", BOTH, DATE_OF },
	{ "landis+gyr_ultraheat_t230", 20, "Value", BOTH, DATE_OF },
	{ "landis+gyr_ultraheat_t230", 21, "Value", BOTH, DATE_OF },
	{ "landis+gyr_ultraheat_t230", 22, "Value", BOTH, DATE_OF },
	{ "landis+gyr_ultraheat_t230", 32, "Value", BOTH,
	  "year 127 means every year (EN 13757-3 type F/G; CALEC ST II "
	  "'AnyYear'): printed --MM-DD; libmbus prints the year 2027" },
	{ "manual_frame2", 1, "Function", BOTH,
	  "fixed data structure unit 3Eh is counter 1's unit for a historic "
	  "(stored) value; libmbus says 'Actual value'" },
	{ "manual_frame2", 1, "Unit", BOTH,
	  "fixed data structure unit 3Eh is counter 1's unit (l); libmbus "
	  "prints 'reserved but historic'" },
	{ "sen_pollutherm", 2, "*", NORM,
	  "VIF 7Bh without extension bit has no FB code: a reserved VIF; we "
	  "keep the record (raw value, quantity Reserved), libmbus's "
	  "normalizer gives up and prints an empty record" },
};

static const char *const fields[] = {
	"Function", "StorageNumber", "Tariff", "Device", "Unit", "Quantity",
	"Value",
};

static const char *const header_fields[] = {
	"Id", "Manufacturer", "Version", "ProductName", "Medium",
	"AccessNumber", "Status", "Signature",
};

#define N_KNOWN (sizeof(known) / sizeof(known[0]))

static char *corpus_path(char *buf, size_t size, const char *sub)
{
	const char *root = getenv("NMBUS_CORPUS");
	struct stat st;

	snprintf(buf, size, "%s/%s", root ? root : "../shared/corpus/libmbus",
		 sub);
	return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	if (buf) {
		buf[n] = '\0';
		*len = n;
	}
	return buf;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the files in @dir ending in @ext (without it). */
static int list_frames(const char *dir, const char *ext, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t elen = strlen(ext);
	int n = 0, cap = 0;

	*names = NULL;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= elen || strcmp(e->d_name + len - elen, ext))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			*names = realloc(*names, cap * sizeof(**names));
		}
		(*names)[n++] = strndup(e->d_name, len - elen);
	}
	closedir(d);
	qsort(*names, n, sizeof(**names), cmp_names);
	return n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The text of <tag> inside [p, end), copied to @out; false if absent. */
static bool xml_get(const char *p, const char *end, const char *tag,
		    char *out, size_t size)
{
	char open[64], close[64];
	const char *s, *e;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = strstr(p, open);
	if (!s || s >= end)
		return false;
	s += strlen(open);
	e = strstr(s, close);
	if (!e || e > end)
		return false;
	snprintf(out, size, "%.*s", (int)(e - s), s);
	return true;
}

/* Records: pointers to each "<DataRecord" and the end of the section. */
static int xml_records(const char *xml, const char **rec, int max)
{
	int n = 0;

	for (const char *p = strstr(xml, "<DataRecord"); p && n < max;
	     p = strstr(p + 1, "<DataRecord"))
		rec[n++] = p;
	return n;
}

static bool same_value(const char *a, const char *b)
{
	char *ea, *eb;
	double x, y;

	if (!strcmp(a, b))
		return true;
	x = strtod(a, &ea);
	y = strtod(b, &eb);
	if (*ea || *eb || ea == a || eb == b)
		return false;
	return fabs(x - y) <= 1e-6 + 1e-9 * fabs(y);
}

struct corpus_stats {
	int frames, identical, explained_frames, explained, unexplained;
	bool used[N_KNOWN];
	int format;		/* NORM or PLAIN: what is being compared */
};

static bool explain(struct corpus_stats *st, const char *frame, int record,
		    const char *field)
{
	for (size_t i = 0; i < N_KNOWN; i++) {
		if (strcmp(known[i].frame, frame) || known[i].record != record ||
		    !(known[i].formats & st->format))
			continue;
		if (strcmp(known[i].field, "*") &&
		    strcmp(known[i].field, field))
			continue;
		st->used[i] = true;
		return true;
	}
	return false;
}

/* Compare one frame; returns the number of unexplained differences. */
static int compare_frame(struct __test_metadata *_metadata,
			 struct corpus_stats *st, const char *name,
			 const char *mine, const char *ref, int *explained)
{
	const char *rm[NMBUS_MAX_RECORDS + 1], *rr[NMBUS_MAX_RECORDS + 1];
	int nm = xml_records(mine, rm, NMBUS_MAX_RECORDS);
	int nr = xml_records(ref, rr, NMBUS_MAX_RECORDS);
	char a[1024], b[1024];
	int bad = 0;

	*explained = 0;
	for (size_t k = 0; k < sizeof(header_fields) / sizeof(*header_fields);
	     k++) {
		bool ha = xml_get(mine, mine + strlen(mine), header_fields[k],
				  a, sizeof(a));
		bool hb = xml_get(ref, ref + strlen(ref), header_fields[k],
				  b, sizeof(b));

		if (ha == hb && (!ha || !strcmp(a, b)))
			continue;
		if (explain(st, name, -1, header_fields[k])) {
			(*explained)++;
			continue;
		}
		TH_LOG("%s header %s: ours '%s', libmbus '%s'", name,
		       header_fields[k], ha ? a : "-", hb ? b : "-");
		bad++;
	}
	if (nm != nr) {
		TH_LOG("%s: %d records, libmbus %d", name, nm, nr);
		return bad + 1;
	}
	for (int i = 0; i < nm; i++) {
		const char *em = i + 1 < nm ? rm[i + 1] : mine + strlen(mine);
		const char *er = i + 1 < nr ? rr[i + 1] : ref + strlen(ref);

		for (size_t k = 0; k < sizeof(fields) / sizeof(*fields); k++) {
			bool ha = xml_get(rm[i], em, fields[k], a, sizeof(a));
			bool hb = xml_get(rr[i], er, fields[k], b, sizeof(b));

			if (ha == hb && (!ha || same_value(a, b)))
				continue;
			if (explain(st, name, i, fields[k])) {
				(*explained)++;
				continue;
			}
			TH_LOG("%s record %d %s: ours '%s', libmbus '%s'",
			       name, i, fields[k], ha ? a : "-", hb ? b : "-");
			bad++;
		}
	}
	return bad;
}

static int decode_hex_text(const char *text, struct nmbus_frame *f,
			   uint8_t *frame, struct nmbus_record *rec)
{
	ssize_t n = nmbus_parse_hex(text, strlen(text), frame,
				    NMBUS_FRAME_MAX + 1, NULL);

	if (n < 0)
		return -2;
	return nmbus_decode(f, frame, n, rec, NMBUS_MAX_RECORDS);
}

/* Compare every test frame in @format with libmbus's file @ext. */
static void compare_corpus(struct __test_metadata *_metadata, int format,
			   const char *ext)
{
	static char mine[OUT_MAX];
	struct corpus_stats st = { .format = format };
	char dir[4096], path[4200], **names;
	int n;

	if (!corpus_path(dir, sizeof(dir), "test-frames"))
		SKIP(return, "corpus not found (set NMBUS_CORPUS)");
	n = list_frames(dir, ".hex", &names);
	ASSERT_LT(0, n);

	for (int i = 0; i < n; i++) {
		struct nmbus_record rec[NMBUS_MAX_RECORDS];
		uint8_t frame[NMBUS_FRAME_MAX + 1];
		struct nmbus_frame f;
		char *hex, *ref;
		size_t len;
		int bad, expl;

		snprintf(path, sizeof(path), "%s/%s.hex", dir, names[i]);
		hex = read_file(path, &len);
		ASSERT_NE(NULL, hex);
		snprintf(path, sizeof(path), "%s/%s%s", dir, names[i], ext);
		ref = read_file(path, &len);
		ASSERT_NE(NULL, ref);

		st.frames++;
		if (decode_hex_text(hex, &f, frame, rec)) {
			TH_LOG("%s: %s at byte %u", names[i],
			       nmbus_strerror(f.error.code), f.error.offset);
			st.unexplained++;
		} else {
			ASSERT_GT(OUT_MAX, nmbus_frame_format(&f,
					format == NORM ?
					NMBUS_FORMAT_XML_NORMALIZED :
					NMBUS_FORMAT_XML, mine, sizeof(mine)));
			bad = compare_frame(_metadata, &st, names[i], mine, ref,
					    &expl);
			st.unexplained += bad;
			st.explained += expl;
			if (!bad && !expl)
				st.identical++;
			else if (!bad)
				st.explained_frames++;
		}
		free(hex);
		free(ref);
	}
	free_names(names, n);

	for (size_t i = 0; i < N_KNOWN; i++) {
		if ((known[i].formats & format) && !st.used[i]) {
			TH_LOG("stale known disagreement: %s record %d %s",
			       known[i].frame, known[i].record, known[i].field);
			st.unexplained++;
		}
	}
	TH_LOG("corpus (%s): %d frames, %d identical to libmbus, %d differ "
	       "only by %d explained disagreements, %d unexplained", ext,
	       st.frames, st.identical, st.explained_frames,
	       st.explained, st.unexplained);
	EXPECT_EQ(0, st.unexplained);
}

TEST(test_frames_match_libmbus_normalized_xml)
{
	compare_corpus(_metadata, NORM, ".norm.xml");
}

TEST(test_frames_match_libmbus_plain_xml)
{
	compare_corpus(_metadata, PLAIN, ".xml");
}

/* Decode every frame of @sub; never crash, error offsets inside. */
static void check_graceful(struct __test_metadata *_metadata, const char *sub,
			   int *failed)
{
	static char out[OUT_MAX];
	char dir[4096], path[4200], **names;
	int n;

	*failed = 0;
	if (!corpus_path(dir, sizeof(dir), sub))
		SKIP(return, "corpus not found (set NMBUS_CORPUS)");
	n = list_frames(dir, ".hex", &names);
	ASSERT_LT(0, n);
	for (int i = 0; i < n; i++) {
		struct nmbus_record rec[NMBUS_MAX_RECORDS];
		uint8_t frame[NMBUS_FRAME_MAX + 1];
		struct nmbus_frame f;
		size_t len;
		char *hex;
		int rc;

		snprintf(path, sizeof(path), "%s/%s.hex", dir, names[i]);
		hex = read_file(path, &len);
		ASSERT_NE(NULL, hex);
		rc = decode_hex_text(hex, &f, frame, rec);
		free(hex);
		if (rc == -2) {
			TH_LOG("%s/%s: not hex text, rejected", sub, names[i]);
			(*failed)++;
			continue;
		}
		if (rc) {
			(*failed)++;
			EXPECT_NE(NMBUS_OK, f.error.code);
			EXPECT_GE(f.len ? f.len : 1u, f.error.offset);
			TH_LOG("%s/%s: %s at byte %u", sub, names[i],
			       nmbus_strerror(f.error.code), f.error.offset);
		}
		for (int fmt = NMBUS_FORMAT_JSON; fmt <= NMBUS_FORMAT_TEXT; fmt++)
			EXPECT_GT(OUT_MAX, nmbus_frame_format(&f, fmt, out,
							      sizeof(out)));
	}
	free_names(names, n);
}

TEST(error_frames_fail_with_a_position)
{
	int failed;

	check_graceful(_metadata, "error-frames", &failed);
	/* Every error frame is malformed or an application error. */
	EXPECT_LT(0, failed);
}

TEST(unsupported_frames_are_handled_gracefully)
{
	int failed;

	check_graceful(_metadata, "unsupported-frames", &failed);
}

TEST_HARNESS_MAIN
