// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The generic OBIS mapping of nmbus_record_obis(): one hand-built record
 * per rule, records that must get no code, and the electricity frames
 * (medium 02h) of the rscada/libmbus corpus, record by record. The
 * CMi1020's own table is checked row by row in test-decode-tables.c.
 *
 * The corpus is ../shared/corpus/libmbus from the repository root, or
 * $NMBUS_CORPUS; without it that test is skipped.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "test-decode-util.h"

/* Media of the data header (byte 7 of hdr_acw). */
#define ELEC 0x02
#define COLD 0x16
#define WARM 0x06
#define HOT 0x15
#define WATER 0x07
#define HEAT 0x04
#define GAS 0x03

struct rule_case {
	uint8_t medium;
	const char *rec;	/* DIF .. data */
	size_t len;
	const char *obis;	/* NULL: no code */
};

#define C(m, bytes, obis) { m, bytes, sizeof(bytes) - 1, obis }

/* Data: 4 bytes (DIF 04) or 2 (DIF 02) of 1. */
#define D4 "\1\0\0\0"
#define D2 "\1\0"
/* Combinable VIFE extension 7Ch: L1, L2, L3, N, absolute; 3Bh, 3Ch. */
#define L1 "\xfc\x01"
#define L2 "\xfc\x02"
#define L3 "\xfc\x03"
#define LN "\xfc\x04"

static const struct rule_case rules[] = {
	/* active energy: 1.8, 2.8, 15.8 with tariff as E */
	C(ELEC, "\x04\x83\x3b" D4, "1-0:1.8.0"),
	C(ELEC, "\x84\x10\x83\x3b" D4, "1-0:1.8.1"),
	C(ELEC, "\x84\x20\x83\x3b" D4, "1-0:1.8.2"),
	C(ELEC, "\x84\xb0\x80\x80\x00\x83\x3b" D4, "1-0:1.8.3"),
	C(ELEC, "\x84\x80\x10\x83\x3b" D4, "1-0:1.8.4"),
	C(ELEC, "\x84\xa0\x20\x83\x3b" D4, "1-0:1.8.10"),
	C(ELEC, "\x84\xb0\xb0\x30\x83\x3b" D4, "1-0:1.8.63"),
	C(ELEC, "\x04\x84\x3c" D4, "1-0:2.8.0"),
	C(ELEC, "\x84\x20\x84\x3c" D4, "1-0:2.8.2"),
	C(ELEC, "\x04\x83\xfc\x10" D4, "1-0:15.8.0"),
	C(ELEC, "\x84\x10\x83\xfc\x10" D4, "1-0:15.8.1"),
	C(ELEC, "\x04\xfb\x80\x3b" D4, "1-0:1.8.0"),	/* MWh */
	/* per phase (total only) */
	C(ELEC, "\x04\x83\xbb" L1 D4, "1-0:21.8.0"),
	C(ELEC, "\x04\x83\xfc\x82\x3b" D4, "1-0:41.8.0"),	/* either order */
	C(ELEC, "\x04\x83\xbb" L3 D4, "1-0:61.8.0"),
	C(ELEC, "\x04\x83\xbc" L1 D4, "1-0:22.8.0"),
	C(ELEC, "\x04\x83\xbc" L2 D4, "1-0:42.8.0"),
	C(ELEC, "\x04\x83\xbc" L3 D4, "1-0:62.8.0"),
	C(ELEC, "\x04\x83\xfc\x90\xfc\x01" D4, "1-0:35.8.0"),
	C(ELEC, "\x04\x83\xfc\x90\xfc\x02" D4, "1-0:55.8.0"),
	C(ELEC, "\x04\x83\xfc\x90\xfc\x03" D4, "1-0:75.8.0"),
	/* reactive energy: 3.8, 4.8 */
	C(ELEC, "\x04\xfb\x82\x3b" D4, "1-0:3.8.0"),
	C(ELEC, "\x84\x30\xfb\x82\x3b" D4, "1-0:3.8.3"),
	C(ELEC, "\x04\xfb\x83\x3c" D4, "1-0:4.8.0"),
	C(ELEC, "\x84\x10\xfb\x83\x3c" D4, "1-0:4.8.1"),
	C(ELEC, "\x04\xfb\x82\xbb" L1 D4, "1-0:23.8.0"),
	C(ELEC, "\x04\xfb\x82\xbb" L2 D4, "1-0:43.8.0"),
	C(ELEC, "\x04\xfb\x82\xbb" L3 D4, "1-0:63.8.0"),
	C(ELEC, "\x04\xfb\x82\xbc" L1 D4, "1-0:24.8.0"),
	C(ELEC, "\x04\xfb\x82\xbc" L2 D4, "1-0:44.8.0"),
	C(ELEC, "\x04\xfb\x82\xbc" L3 D4, "1-0:64.8.0"),
	/* active power: 1.7, 2.7, 15.7, per phase */
	C(ELEC, "\x04\xab\x3b" D4, "1-0:1.7.0"),
	C(ELEC, "\x04\xab\x3c" D4, "1-0:2.7.0"),
	C(ELEC, "\x04\xab\xfc\x10" D4, "1-0:15.7.0"),
	C(ELEC, "\x04\xfb\xa8\x3b" D4, "1-0:1.7.0"),	/* MW */
	C(ELEC, "\x04\xab\xbb" L1 D4, "1-0:21.7.0"),
	C(ELEC, "\x04\xab\xbb" L2 D4, "1-0:41.7.0"),
	C(ELEC, "\x04\xab\xbb" L3 D4, "1-0:61.7.0"),
	C(ELEC, "\x04\xab\xbc" L1 D4, "1-0:22.7.0"),
	C(ELEC, "\x04\xab\xbc" L2 D4, "1-0:42.7.0"),
	C(ELEC, "\x04\xab\xbc" L3 D4, "1-0:62.7.0"),
	C(ELEC, "\x04\xab\xfc\x90" L1 D4, "1-0:35.7.0"),
	C(ELEC, "\x04\xab\xfc\x90" L2 D4, "1-0:55.7.0"),
	C(ELEC, "\x04\xab\xfc\x90" L3 D4, "1-0:75.7.0"),
	/* reactive power (FB 14..17, FB 22): 3.7, 4.7 */
	C(ELEC, "\x04\xfb\x97\x3b" D4, "1-0:3.7.0"),
	C(ELEC, "\x04\xfb\xa2\x3c" D4, "1-0:4.7.0"),
	C(ELEC, "\x04\xfb\x94\xbb" L1 D4, "1-0:23.7.0"),
	C(ELEC, "\x04\xfb\x94\xbb" L2 D4, "1-0:43.7.0"),
	C(ELEC, "\x04\xfb\x94\xbb" L3 D4, "1-0:63.7.0"),
	C(ELEC, "\x04\xfb\x94\xbc" L1 D4, "1-0:24.7.0"),
	C(ELEC, "\x04\xfb\x94\xbc" L2 D4, "1-0:44.7.0"),
	C(ELEC, "\x04\xfb\x94\xbc" L3 D4, "1-0:64.7.0"),
	/* apparent power (FB 34..37): 9.7, 10.7 */
	C(ELEC, "\x04\xfb\xb4\x3b" D4, "1-0:9.7.0"),
	C(ELEC, "\x04\xfb\xb7\x3c" D4, "1-0:10.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbb" L1 D4, "1-0:29.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbb" L2 D4, "1-0:49.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbb" L3 D4, "1-0:69.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbc" L1 D4, "1-0:30.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbc" L2 D4, "1-0:50.7.0"),
	C(ELEC, "\x04\xfb\xb4\xbc" L3 D4, "1-0:70.7.0"),
	/* voltage, current, frequency */
	C(ELEC, "\x02\xfd\xc8" L1 D2, "1-0:32.7.0"),
	C(ELEC, "\x02\xfd\xc8" L2 D2, "1-0:52.7.0"),
	C(ELEC, "\x02\xfd\xc8" L3 D2, "1-0:72.7.0"),
	C(ELEC, "\x02\xfd\xd9" L1 D2, "1-0:31.7.0"),
	C(ELEC, "\x02\xfd\xd9" L2 D2, "1-0:51.7.0"),
	C(ELEC, "\x02\xfd\xd9" L3 D2, "1-0:71.7.0"),
	C(ELEC, "\x02\xfd\xd9" LN D2, "1-0:91.7.0"),
	C(ELEC, "\x02\xfb\x2d" D2, "1-0:14.7.0"),
	/* a VIFE 00h (record error: none) changes nothing */
	C(ELEC, "\x04\x83\xbb\x00" D4, "1-0:1.8.0"),
	/* water: 8-0 cold, 9-0 warm and hot */
	C(COLD, "\x04\x13" D4, "8-0:1.0.0"),
	C(COLD, "\x84\x10\x13" D4, "8-0:1.0.1"),
	C(COLD, "\x84\x90\x20\x13" D4, "8-0:1.0.9"),
	C(COLD, "\x04\x3b" D4, "8-0:2.0.0"),
	C(COLD, "\x04\x43" D4, "8-0:2.0.0"),	/* m3/min */
	C(COLD, "\x02\x5a" D2, "8-0:3.0.0"),
	C(WARM, "\x04\x13" D4, "9-0:1.0.0"),
	C(HOT, "\x04\x13" D4, "9-0:1.0.0"),
	C(HOT, "\x04\xfb\x10" D4, "9-0:1.0.0"),	/* 100 m3 */
	C(HOT, "\x04\x3b" D4, "9-0:2.0.0"),
	C(WARM, "\x02\x5a" D2, "9-0:3.0.0"),
};

static const struct rule_case no_code[] = {
	/* energy and power without a direction: import or export? */
	C(ELEC, "\x04\x03" D4, NULL),
	C(ELEC, "\x84\x10\x03" D4, NULL),
	C(ELEC, "\x04\x2b" D4, NULL),
	C(ELEC, "\x04\xab" L1 D4, NULL),
	C(ELEC, "\x04\xfb\x02" D4, NULL),
	C(ELEC, "\x04\xfb\x14" D4, NULL),
	/* storage, subunit, function other than 0 / instantaneous */
	C(ELEC, "\x44\x83\x3b" D4, NULL),
	C(ELEC, "\x84\x40\x83\x3b" D4, NULL),
	C(ELEC, "\x14\xab\x3b" D4, NULL),		/* maximum */
	C(ELEC, "\x24\xab\x3b" D4, NULL),		/* minimum */
	C(ELEC, "\x34\xab\x3b" D4, NULL),		/* error */
	/* tariff beyond E's range (64) */
	C(ELEC, "\x84\x80\x80\x80\x10\x83\x3b" D4, NULL),
	/* a tariff on a per-phase energy or on a power */
	C(ELEC, "\x84\x10\x83\xbb" L1 D4, NULL),
	C(ELEC, "\x84\x10\xab\x3b" D4, NULL),
	/* voltage or current without a phase, between phases, with a
	 * direction; voltage at N; energy at N; two directions */
	C(ELEC, "\x02\xfd\x48" D2, NULL),
	C(ELEC, "\x02\xfd\x59" D2, NULL),
	C(ELEC, "\x02\xfd\xc8\xfc\x05" D2, NULL),
	C(ELEC, "\x02\xfd\xd9\xbb" L1 D2, NULL),
	C(ELEC, "\x02\xfd\xc8" LN D2, NULL),
	C(ELEC, "\x04\x83\xbb" LN D4, NULL),
	C(ELEC, "\x04\x83\xbb\x3c" D4, NULL),
	C(ELEC, "\x04\x83\xbb\xfc\x10" D4, NULL),
	C(ELEC, "\x04\x83\xfc\x81\xfc\x02" D4, NULL),	/* two phases */
	C(ELEC, "\x04\x83\xfc\x7f" D4, NULL),	/* reserved extension */
	/* other combinable VIFEs: per hour, limit, record error, mfr */
	C(ELEC, "\x04\xfb\x82\xa2\x3b" D4, NULL),
	C(ELEC, "\x04\xab\xbb\x48" D4, NULL),
	C(ELEC, "\x04\x83\xbb\x15" D4, NULL),
	C(ELEC, "\x04\xab\xff\x01" D4, NULL),
	C(ELEC, "\x02\xfd\xc8\xff\x01" D2, NULL),
	/* frequency with a phase; energy in J; no data; readout selection */
	C(ELEC, "\x02\xfb\xad" L1 D2, NULL),
	C(ELEC, "\x04\x8b\x3b" D4, NULL),
	C(ELEC, "\x00\x83\x3b", NULL),
	C(ELEC, "\x08\x83\x3b", NULL),
	/* other quantities of an electricity meter */
	C(ELEC, "\x0c\x78" D4, NULL),
	C(ELEC, "\x01\xfd\x17" "\0", NULL),
	C(ELEC, "\x04\x13" D4, NULL),
	/* water that says neither cold nor hot; water with a direction */
	C(WATER, "\x04\x13" D4, NULL),
	C(WATER, "\x04\x3b" D4, NULL),
	C(COLD, "\x04\x93\x3c" D4, NULL),
	C(COLD, "\x84\xa0\x20\x13" D4, NULL),		/* tariff 10 */
	C(COLD, "\x04\x03" D4, NULL),
	C(COLD, "\x02\x5e" D2, NULL),			/* return temp */
	/* heat and gas: the sources give no codes we can rely on */
	C(HEAT, "\x04\x06" D4, NULL),
	C(HEAT, "\x04\x13" D4, NULL),
	C(HEAT, "\x04\x2b" D4, NULL),
	C(HEAT, "\x02\x5a" D2, NULL),
	C(GAS, "\x04\x13" D4, NULL),
	C(GAS, "\x04\x3b" D4, NULL),
};

/* Decode @c in a frame of its medium; 0 if its code is @c->obis. */
static int check_case(struct __test_metadata *_metadata,
		      const struct rule_case *c)
{
	uint8_t ud[64];
	struct decoded d;
	const char *obis;

	memcpy(ud, hdr_acw, sizeof(hdr_acw));
	ud[7] = c->medium;
	memcpy(ud + sizeof(hdr_acw), c->rec, c->len);
	d.len = mkframe(d.buf, 0x08, 0x01, 0x72, ud, sizeof(hdr_acw) + c->len);
	if (nmbus_decode(&d.f, d.buf, d.len, d.rec, 4) || d.f.n_records != 1) {
		TH_LOG("%s: does not decode to one record",
		       c->obis ? c->obis : "(none)");
		return 1;
	}
	obis = nmbus_record_obis(&d.f, &d.rec[0]);
	if ((obis == NULL) != (c->obis == NULL) ||
	    (obis && strcmp(obis, c->obis))) {
		TH_LOG("medium %02X: want %s, got %s", c->medium,
		       c->obis ? c->obis : "(none)", obis ? obis : "(none)");
		return 1;
	}
	return 0;
}

TEST(every_generic_rule_gives_its_code)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		EXPECT_EQ(0, check_case(_metadata, &rules[i]))
			TH_LOG("rule case %zu", i);
	}
}

TEST(records_the_sources_do_not_cover_get_no_code)
{
	for (size_t i = 0; i < ARRAY_SIZE(no_code); i++) {
		EXPECT_EQ(0, check_case(_metadata, &no_code[i]))
			TH_LOG("no-code case %zu", i);
	}
}

TEST(null_arguments_and_headerless_frames_get_no_code)
{
	struct decoded d;
	uint8_t ud[] = { 0x0a, 0x00, 0x00, 0x00, 0x04, 0x83, 0x3b, 1, 0, 0, 0 };

	ASSERT_EQ(0, decode_records(&d, REC(0x04, 0x13, 1, 0, 0, 0)));
	EXPECT_EQ(NULL, nmbus_record_obis(NULL, &d.rec[0]));
	EXPECT_EQ(NULL, nmbus_record_obis(&d.f, NULL));
	/* CI 7Ah: a short header, no medium */
	d.len = mkframe(d.buf, 0x08, 0x01, 0x7a, ud, sizeof(ud));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	EXPECT_EQ(NULL, nmbus_record_obis(&d.f, &d.rec[0]));
}

TEST(json_and_text_carry_the_generic_code)
{
	struct decoded d;
	uint8_t ud[64];
	char out[2048];
	static const uint8_t rec[] = {
		0x04, 0x83, 0x3c, 1, 0, 0, 0,		/* 2.8.0 */
		0x04, 0x03, 1, 0, 0, 0,			/* none */
	};

	memcpy(ud, hdr_acw, sizeof(hdr_acw));
	ud[7] = ELEC;
	memcpy(ud + sizeof(hdr_acw), rec, sizeof(rec));
	d.len = mkframe(d.buf, 0x08, 0x01, 0x72, ud,
			sizeof(hdr_acw) + sizeof(rec));
	ASSERT_EQ(0, nmbus_decode(&d.f, d.buf, d.len, d.rec, 4));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_JSON, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "\"direction\":\"backward\","
				    "\"obis\":\"1-0:2.8.0\"}")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\"vif\":\"03\"}")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(strstr(out, "1-0:2.8.0") + 1, "obis"));
	ASSERT_LT(0, nmbus_frame_format(&d.f, NMBUS_FORMAT_TEXT, out,
					sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "(OBIS 1-0:2.8.0)")) TH_LOG("%s", out);
}

/*
 * The corpus's electricity meters, and the codes of their records: only
 * the two Kamstrup frames say the direction (VIFE 3Bh) the standard's
 * way. The others give phases and directions with manufacturer VIFEs
 * (FFh 01..03) or subunits, which EN 13757-3 leaves to the manufacturer.
 */
struct corpus_frame {
	const char *name;
	const char *obis[4];	/* records 0..3; the rest get no code */
};

static const struct corpus_frame elec_frames[] = {
	{ "EMU_EMU-Professional-375-M-Bus", { NULL } },
	{ "FIN-Finder-7E.23.8.230.0020", { NULL } },
	{ "SBC_Saia-Burgess-ALE3", { NULL } },
	{ "abb_delta", { NULL } },
	{ "berg_dz_plus", { NULL } },
	{ "eastron_sdm630", { NULL } },
	{ "electricity-meter-1", { NULL } },
	{ "electricity-meter-2", { NULL } },
	{ "emh_diz", { NULL } },
	{ "example_binary16_lvar", { NULL } },
	{ "filler", { "1-0:1.8.0" } },
	{ "gmc_emmod206", { NULL } },
	{ "kamstrup_382_005", { NULL } },
	{ "nzr_dhz_5_63", { NULL } },
	{ "wmbus-converted", { "1-0:1.8.0" } },
};

static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0) {
		rewind(fp);
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf)
			buf[n] = '\0';
	}
	fclose(fp);
	return buf;
}

/* Whether the frame in @path decodes with medium 02h in its header. */
static bool is_electricity(const char *path)
{
	static struct nmbus_record rec[NMBUS_MAX_RECORDS];
	uint8_t buf[NMBUS_FRAME_MAX + 8];
	struct nmbus_frame f;
	char *text = read_text(path);
	ssize_t n;

	if (!text)
		return false;
	n = nmbus_parse_hex(text, strlen(text), buf, sizeof(buf), NULL);
	free(text);
	if (n <= 0)
		return false;
	nmbus_decode(&f, buf, (size_t)n, rec, NMBUS_MAX_RECORDS);
	return f.header.has_address && f.header.medium == 0x02;
}

/* 0 if every electricity frame of @dir is in elec_frames[]. */
static int all_listed(struct __test_metadata *_metadata, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int missing = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), i;

		if (len < 5 || strcmp(e->d_name + len - 4, ".hex"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!is_electricity(path))
			continue;
		for (i = 0; i < ARRAY_SIZE(elec_frames); i++)
			if (strlen(elec_frames[i].name) == len - 4 &&
			    !strncmp(elec_frames[i].name, e->d_name, len - 4))
				break;
		if (i == ARRAY_SIZE(elec_frames)) {
			TH_LOG("%s: electricity, not in elec_frames[]",
			       e->d_name);
			missing = 1;
		}
	}
	closedir(d);
	return missing;
}

static int check_corpus_frame(struct __test_metadata *_metadata,
			      const char *dir, const struct corpus_frame *cf)
{
	static struct nmbus_record rec[NMBUS_MAX_RECORDS];
	uint8_t buf[NMBUS_FRAME_MAX + 8];
	struct nmbus_frame f;
	char path[4096], *text;
	ssize_t n;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/%s.hex", dir, cf->name);
	text = read_text(path);
	if (!text) {
		TH_LOG("%s: cannot read", path);
		return 1;
	}
	n = nmbus_parse_hex(text, strlen(text), buf, sizeof(buf), NULL);
	free(text);
	if (n <= 0 || nmbus_decode(&f, buf, (size_t)n, rec,
				   NMBUS_MAX_RECORDS) ||
	    !f.header.has_address || f.header.medium != 0x02) {
		TH_LOG("%s: not an electricity frame that decodes", cf->name);
		return 1;
	}
	for (unsigned int i = 0; i < f.n_records; i++) {
		const char *want = i < 4 ? cf->obis[i] : NULL;
		const char *got = nmbus_record_obis(&f, &rec[i]);

		if ((got == NULL) != (want == NULL) ||
		    (got && strcmp(got, want))) {
			TH_LOG("%s #%u: want %s, got %s", cf->name, i,
			       want ? want : "(none)", got ? got : "(none)");
			bad = 1;
		}
	}
	return bad;
}

TEST(corpus_electricity_frames_get_exactly_the_standard_codes)
{
	const char *root = getenv("NMBUS_CORPUS");
	char dir[4096];
	FILE *probe;

	snprintf(dir, sizeof(dir), "%s/test-frames",
		 root ? root : "../shared/corpus/libmbus");
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s.hex",
		 elec_frames[0].name);
	probe = fopen(dir, "r");
	if (!probe)
		SKIP(return, "corpus not found at %s (set NMBUS_CORPUS)", dir);
	fclose(probe);
	*strrchr(dir, '/') = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(elec_frames); i++) {
		EXPECT_EQ(0, check_corpus_frame(_metadata, dir,
						&elec_frames[i]));
	}
	EXPECT_EQ(0, all_listed(_metadata, dir));
}

TEST_HARNESS_MAIN
