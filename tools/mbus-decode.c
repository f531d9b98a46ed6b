// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-decode - decode M-Bus frames given as hex text
 *
 * Reads frames, one per line, from files or standard input and prints
 * each one decoded by libnmbus: JSON (default), libmbus XML (plain or
 * normalized) or text for people.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#include "tools-common.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] [FILE]...\n"
		"\n"
		"Decode M-Bus (EN 13757-2/-3) frames written as hex text, one\n"
		"frame per line (spaces between bytes allowed; blank lines and\n"
		"text after '#' are ignored), from each FILE or standard input\n"
		"('-' or no FILE). Each frame is printed as one result: a JSON\n"
		"object per line by default. A malformed frame is reported on\n"
		"standard error with its file and line; the others are still\n"
		"printed.\n"
		"\n"
		"Options:\n"
		"  -f, --format=FMT  output format: json (default), xml,\n"
		"                    xml-normalized (rscada/libmbus layouts) or\n"
		"                    text\n"
		"  -h, --help        show this help and exit\n"
		"  -v, --version     show the version and exit\n"
		"\n"
		"Exit status: 0 if every frame decoded, 1 if any failed, 2 on\n"
		"bad usage.\n",
		get_prog_name());
}

static const struct {
	const char *name;
	enum nmbus_format format;
} formats[] = {
	{ "json", NMBUS_FORMAT_JSON },
	{ "xml", NMBUS_FORMAT_XML },
	{ "xml-normalized", NMBUS_FORMAT_XML_NORMALIZED },
	{ "text", NMBUS_FORMAT_TEXT },
};

static enum nmbus_format parse_format(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (!strcmp(s, formats[i].name))
			return formats[i].format;
	die_usage("unknown format '%s'", s);
}

/* Decode and print one line; false if the frame is bad. */
static bool decode_line(const char *name, unsigned long lineno, char *line,
			enum nmbus_format format)
{
	struct nmbus_record records[NMBUS_MAX_RECORDS];
	uint8_t frame[NMBUS_FRAME_MAX + 1];
	struct nmbus_frame f;
	char *hash = strchr(line, '#');
	size_t pos;
	ssize_t n;
	bool ok;

	if (hash)
		*hash = '\0';
	line += strspn(line, " \t\r\n");
	if (!*line)
		return true;

	n = nmbus_parse_hex(line, strlen(line), frame, sizeof(frame), &pos);
	if (n < 0) {
		print_error("%s:%lu: %s at column %zu", name, lineno,
			    n == -EMSGSIZE ? "frame too long" :
						"bad hex text", pos + 1);
		return false;
	}
	ok = nmbus_decode(&f, frame, n, records, NMBUS_MAX_RECORDS) == 0;
	if (!ok)
		print_error("%s:%lu: byte %u: %s", name, lineno,
			    f.error.offset, nmbus_strerror(f.error.code));
	n = nmbus_frame_print(&f, format, stdout);
	if (n < 0)
		die_err((int)n, "write");
	if (format == NMBUS_FORMAT_JSON)
		putchar('\n');
	return ok;
}

static bool decode_stream(FILE *fp, const char *name, enum nmbus_format format)
{
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	bool ok = true;

	while (getline(&line, &cap, fp) >= 0)
		ok &= decode_line(name, ++lineno, line, format);
	if (ferror(fp)) {
		print_perror("%s", name);
		ok = false;
	}
	free(line);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	enum nmbus_format format = NMBUS_FORMAT_JSON;
	bool ok = true;
	int c;

	while ((c = getopt_long(argc, argv, "f:hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = parse_format(optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'v':
			print_version();
			return EXIT_OK;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				get_prog_name());
			return EXIT_USAGE;
		}
	}

	if (optind == argc)
		return decode_stream(stdin, "<stdin>", format) ? EXIT_OK :
								 EXIT_FAIL;
	for (int i = optind; i < argc; i++) {
		FILE *fp;

		if (!strcmp(argv[i], "-")) {
			ok &= decode_stream(stdin, "<stdin>", format);
			continue;
		}
		fp = fopen(argv[i], "r");
		if (!fp) {
			print_perror("%s", argv[i]);
			ok = false;
			continue;
		}
		ok &= decode_stream(fp, argv[i], format);
		fclose(fp);
	}
	if (fflush(stdout))
		die_perror("write");
	return ok ? EXIT_OK : EXIT_FAIL;
}
