/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the n_mbus command-line tools: messages prefixed with
 * the program name, exits with the tools' conventional codes, version.
 */
#ifndef TOOLS_COMMON_H
#define TOOLS_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ktypes.h"	/* ARRAY_SIZE() */

/* Exit codes of every tool. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))

/* The name the program was run as (no directory). */
const char *get_prog_name(void);

/* "prog: message\n" on stderr. */
void print_error(const char *fmt, ...) PRINTF(1, 2);

/* "prog: message: strerror(errno)\n" on stderr. */
void print_perror(const char *fmt, ...) PRINTF(1, 2);

/* print_error(), then exit(EXIT_FAIL). */
void die(const char *fmt, ...) PRINTF(1, 2) NORETURN;

/* print_perror(), then exit(EXIT_FAIL). */
void die_perror(const char *fmt, ...) PRINTF(1, 2) NORETURN;

/*
 * "prog: message: strerror(-err)\n" on stderr: @err is the negative errno
 * value a libnmbus function returned.
 */
void print_err(int err, const char *fmt, ...) PRINTF(2, 3);

/* print_err(), then exit(EXIT_FAIL). */
void die_err(int err, const char *fmt, ...) PRINTF(2, 3) NORETURN;

/* print_error(), a hint to run --help, then exit(EXIT_USAGE). */
void die_usage(const char *fmt, ...) PRINTF(1, 2) NORETURN;

/* "prog (n_mbus) VERSION" and a licence line on stdout. */
void print_version(void);

/* Parse an unsigned number (decimal, 0x hex); false if bad or > max. */
bool parse_uint(const char *s, unsigned long max, unsigned long *out);
/* A --baud argument: one of the eight M-Bus rates, else exit 2. */
unsigned long parse_baud_arg(const char *s);
/* A --retries argument: 0 to 5, else exit 2. */
unsigned long parse_retries_arg(const char *s);

/*
 * @s as a JSON string on stdout, escaped by libnmbus's one JSON writer
 * (nmbus_json_string_print(): quote, backslash, \u00XX for control
 * characters and every byte from 0x7f on). Every string a tool prints in
 * its --json output goes through here.
 */
void print_json_str(const char *s);

/* ---- the options of the tools that talk to meters ---- */

struct nmbus_dev;

/* getopt_long() rows of the common options, as their man pages give them. */
#define OPT_BAUD	{ "baud", required_argument, NULL, 'b' }
#define OPT_RETRIES	{ "retries", required_argument, NULL, 'R' }
#define OPT_JSON	{ "json", no_argument, NULL, 'j' }
#define OPT_HELP	{ "help", no_argument, NULL, 'h' }
#define OPT_VERSION	{ "version", no_argument, NULL, 'v' }
#define OPT_END		{ NULL, 0, NULL, 0 }

/* --retries not given: the port's setting stays. */
#define BUS_RETRIES_KEEP	6

/* What the common options asked for. */
struct bus_opts {
	unsigned long baud;	/* -b/--baud; 0: the port's rate stays */
	unsigned long retries;	/* -R/--retries, 0-5, or BUS_RETRIES_KEEP */
	bool json;		/* -j/--json */
};

#define BUS_OPTS_INIT	{ .retries = BUS_RETRIES_KEEP }

/*
 * getopt_long() over @argv that takes the common options itself: -b, -R
 * and -j into @o (a bad value exits with EXIT_USAGE), -h prints @usage to
 * stdout and exits with EXIT_OK, -v the version, and an unknown option
 * prints @usage to stderr and exits with EXIT_USAGE. A tool lists in
 * @shortopts and @longopts the common options it has and its own. Returns
 * the next of the tool's own options (optarg set), or -1 after the last.
 */
int bus_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts, struct bus_opts *o,
	       void (*usage)(FILE *out));

/* --baud and --retries of @o on @dev; exits with EXIT_FAIL if refused. */
void bus_apply_opts(struct nmbus_dev *dev, const struct bus_opts *o);

/*
 * nmbus_dev_open(@path), then bus_apply_opts(); exits with EXIT_FAIL if
 * either fails.
 */
struct nmbus_dev *bus_open(const char *path, const struct bus_opts *o);

/* ---- meter addresses (libnmbus) ---- */

/*
 * ADDRESS of a meter: a primary address (0-250, 254), returned, or a
 * secondary address of 16 hex digits (F = any), written to @sec in wire
 * order, and -1 returned. Exits with EXIT_USAGE if it is neither.
 */
int parse_meter_address(const char *s, uint8_t sec[8]);

/*
 * Bind @dev to the meter parse_meter_address() returned @primary or @sec
 * for; a secondary mask with wildcards is first resolved, by a search, to
 * the full address of the one meter it matches (@sec is updated). Exits
 * with EXIT_FAIL if no meter or several match.
 */
void bind_meter_address(struct nmbus_dev *dev, const char *s, int primary,
			uint8_t sec[8]);

/*
 * Send the SND_UD (or other request) @tx of @len bytes to the meter @dev is
 * bound to, the kernel writing the address and the FCB. True if the meter
 * acknowledged with E5; otherwise print_error() says what came back,
 * @what naming the request, and false is returned.
 */
bool send_expect_ack(struct nmbus_dev *dev, const uint8_t *tx, int len,
		     const char *what);

/*
 * REQ_UD2 to the meter @dev is bound to. True if it answered with a long
 * frame: its A field in *@a and, if @sec is not NULL, its secondary
 * address in wire order in @sec (all 0xff when the reply has no long
 * header). False with the reason printed.
 */
bool request_header(struct nmbus_dev *dev, const char *what, uint8_t *a,
		    uint8_t sec[8]);

#endif /* TOOLS_COMMON_H */
