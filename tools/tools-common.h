/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the n_mbus command-line tools: messages prefixed with
 * the program name, exits with the tools' conventional codes, version.
 */
#ifndef TOOLS_COMMON_H
#define TOOLS_COMMON_H

#include <stdbool.h>
#include <stdio.h>

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

/* print_error(), a hint to run --help, then exit(EXIT_USAGE). */
void die_usage(const char *fmt, ...) PRINTF(1, 2) NORETURN;

/* "prog (n_mbus) VERSION" and a licence line on stdout. */
void print_version(void);

/* Parse an unsigned number (decimal, 0x hex); false if bad or > max. */
bool parse_uint(const char *s, unsigned long max, unsigned long *out);

#endif /* TOOLS_COMMON_H */
