// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers shared by the n_mbus command-line tools.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>

#include "tools-common.h"

#ifndef NMBUS_VERSION
#define NMBUS_VERSION "unknown"
#endif

const char *get_prog_name(void)
{
	return program_invocation_short_name;
}

static void vmsg(const char *fmt, va_list ap, int err)
{
	fprintf(stderr, "%s: ", get_prog_name());
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void print_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
}

void print_perror(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, err);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	exit(EXIT_FAIL);
}

void die_perror(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, err);
	va_end(ap);
	exit(EXIT_FAIL);
}

void print_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, -err);
	va_end(ap);
}

void die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, -err);
	va_end(ap);
	exit(EXIT_FAIL);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n",
		get_prog_name());
	exit(EXIT_USAGE);
}

void print_version(void)
{
	printf("%s (n_mbus) %s\n", get_prog_name(), NMBUS_VERSION);
	printf("Copyright the n_mbus authors. License GPL-2.0-or-later.\n");
}

int bus_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts, struct bus_opts *o,
	       void (*usage)(FILE *out))
{
	int c;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->baud = parse_baud_arg(optarg);
			break;
		case 'R':
			o->retries = parse_retries_arg(optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'v':
			print_version();
			exit(EXIT_OK);
		case '?':
			usage(stderr);
			exit(EXIT_USAGE);
		default:
			return c;
		}
	}
	return -1;
}

void bus_apply_opts(struct nmbus_dev *dev, const struct bus_opts *o)
{
	int rc;

	if (o->baud) {
		rc = nmbus_dev_set_baud(dev, (unsigned int)o->baud);
		if (rc)
			die_err(rc, "set baud rate %lu", o->baud);
	}
	if (o->retries < BUS_RETRIES_KEEP) {
		rc = nmbus_dev_set_retries(dev, (unsigned int)o->retries);
		if (rc)
			die_err(rc, "set retries");
	}
}

struct nmbus_dev *bus_open(const char *path, const struct bus_opts *o)
{
	struct nmbus_dev *dev;
	int rc;

	rc = nmbus_dev_open(path, &dev);
	if (rc)
		die_err(rc, "%s", path);
	bus_apply_opts(dev, o);
	return dev;
}

void print_json_str(const char *s)
{
	nmbus_json_string_print(s, strlen(s), stdout);
}

bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

unsigned long parse_baud_arg(const char *s)
{
	unsigned long baud;

	if (!parse_uint(s, 38400, &baud) ||
	    nmbus_baud_to_ci((unsigned int)baud) < 0)
		die_usage("bad baud rate '%s'", s);
	return baud;
}

unsigned long parse_retries_arg(const char *s)
{
	unsigned long retries;

	if (!parse_uint(s, 5, &retries))
		die_usage("retries must be 0 to 5");
	return retries;
}

/* ---- meter addresses ---- */

/* The meters a wildcard search found: the first, and how many. */
struct resolve {
	struct nmbus_scan_result first;
	unsigned int n;
};

static int on_match(const struct nmbus_scan_result *r, void *arg)
{
	struct resolve *res = arg;

	if (!res->n++)
		res->first = *r;
	return res->n > 1;	/* two are enough to give up */
}

static bool has_wildcard(const uint8_t *sec)
{
	for (int i = 0; i < 4; i++)
		if ((sec[i] & 0x0f) == 0x0f || (sec[i] & 0xf0) == 0xf0)
			return true;
	/* EN 13757-3: the manufacturer is a wildcard only as FFFFh */
	return (sec[4] == 0xff && sec[5] == 0xff) || sec[6] == 0xff ||
	       sec[7] == 0xff;
}

static void resolve_mask(struct nmbus_dev *dev, const char *s, uint8_t *sec)
{
	struct resolve res = { .n = 0 };
	struct nmbus_scan scan = {
		.read_retries = 2,
		.cb = on_match,
		.arg = &res,
	};
	int rc;

	rc = nmbus_scan_secondary(dev, sec, &scan);
	if (rc < 0 && rc != -ECANCELED)
		die_err(rc, "search %s", s);
	if (!res.n)
		die("%s: no meter matches", s);
	if (res.n > 1 || res.first.status == NMBUS_STATUS_GARBLED)
		die("%s: several meters match; give more digits", s);
	if (res.first.status == NMBUS_STATUS_FRAME)
		memcpy(sec, res.first.secaddr, NMBUS_SECADDR_LEN);
}

int parse_meter_address(const char *s, uint8_t sec[8])
{
	unsigned long a;

	if (nmbus_secaddr_is_str(s)) {
		if (nmbus_secaddr_parse(s, sec))
			die_usage("bad secondary address '%s': 16 hex digits "
				  "IIIIIIIIMMMMVVDD, ID digits 0-9 or F "
				  "(e.g. 123456782D2C0107), or bytes: and the "
				  "8 bytes as sent", s);
		return -1;
	}
	if (!parse_uint(s, 254, &a) || (a > 250 && a != 254))
		die_usage("bad address '%s': 0-250, 254 or 16 hex digits", s);
	return (int)a;
}

void bind_meter_address(struct nmbus_dev *dev, const char *s, int primary,
			uint8_t sec[8])
{
	int rc;

	if (primary >= 0) {
		rc = nmbus_dev_set_primary(dev, (uint8_t)primary);
		if (rc)
			die_err(rc, "bind to %s", s);
		return;
	}
	if (has_wildcard(sec))
		resolve_mask(dev, s, sec);
	rc = nmbus_dev_set_secondary(dev, sec);
	if (rc)
		die_err(rc, "bind to %s", s);
}

static void print_status(const char *what, int st)
{
	if (st < 0)
		print_err(st, "%s", what);
	else if (st == NMBUS_STATUS_TIMEOUT)
		print_error("%s: no answer", what);
	else if (st == NMBUS_STATUS_GARBLED)
		print_error("%s: garbled answer (several meters?)", what);
	else
		print_error("%s: unexpected answer: %s", what,
			    nmbus_status_name(st));
}

bool send_expect_ack(struct nmbus_dev *dev, const uint8_t *tx, int len,
		     const char *what)
{
	uint8_t rx[NMBUS_FRAME_MAX];
	int st;

	if (len < 0) {
		print_err(len, "%s: cannot build the request", what);
		return false;
	}
	st = nmbus_dev_xfer(dev, tx, (size_t)len,
			    NMBUS_XFER_ADDRESSED | NMBUS_XFER_FCB, rx,
			    sizeof(rx), NULL);
	if (st == NMBUS_STATUS_ACK)
		return true;
	print_status(what, st);
	return false;
}

bool request_header(struct nmbus_dev *dev, const char *what, uint8_t *a,
		    uint8_t sec[8])
{
	uint8_t tx[8], rx[NMBUS_FRAME_MAX];
	struct nmbus_frame f;
	size_t rx_len = 0;
	int len, st;

	len = nmbus_build_req_ud2(tx, sizeof(tx), 0, 0);
	st = nmbus_dev_xfer(dev, tx, (size_t)len, NMBUS_XFER_ADDRESSED, rx,
			    sizeof(rx), &rx_len);
	if (st != NMBUS_STATUS_FRAME) {
		print_status(what, st);
		return false;
	}
	if (nmbus_decode(&f, rx, rx_len, NULL, 0) &&
	    f.error.code != NMBUS_OK) {
		print_error("%s: bad reply: %s", what,
			    nmbus_strerror(f.error.code));
		return false;
	}
	if (f.type != NMBUS_FRAME_LONG) {
		print_error("%s: reply is no long frame", what);
		return false;
	}
	*a = f.a;
	if (sec && !nmbus_header_get_secaddr(&f.header, sec))
		memset(sec, 0xff, NMBUS_SECADDR_LEN);
	return true;
}
