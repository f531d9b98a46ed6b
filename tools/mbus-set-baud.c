// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-set-baud - switch a meter and the port to another baud rate
 *
 * SND_UD with CI B8..BF (EN 13757-3) at the current rate; the meter
 * acknowledges at that rate and then switches. The port follows
 * (MBUS_IOC_SET_BAUD) and a REQ_UD2 at the new rate checks that the meter
 * did too; if it did not, the port goes back to its old rate.
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
		"Usage: %s [OPTIONS] DEVICE ADDRESS BAUD\n"
		"\n"
		"Switch the meter at ADDRESS on the M-Bus of DEVICE (0, mbus0,\n"
		"/dev/mbus0 or the tty N_MBUS is attached to) to BAUD (300, 600,\n"
		"1200, 2400, 4800, 9600, 19200 or 38400) with SND_UD CI B8..BF,\n"
		"sent at the port's current rate; the meter acknowledges at that\n"
		"rate, then switches. The port is switched too and the meter\n"
		"read with REQ_UD2 at BAUD; if it does not answer, the port is\n"
		"set back to its old rate. ADDRESS is a primary address (0-250,\n"
		"254) or a secondary address of 16 hex digits IIIIIIIIMMMMVVDD\n"
		"(F = any: exactly one meter must match). The port's rate is\n"
		"shared by every meter on the bus.\n"
		"\n"
		"Options:\n"
		"  -b, --baud=B          set the port to B baud first (the rate the\n"
		"                        meter talks now)\n"
		"  -R, --retries=N       retries of each request (0-5)\n"
		"  -j, --json            print the result as one JSON object\n"
		"  -h, --help            show this help and exit\n"
		"  -v, --version         show the version and exit\n"
		"\n"
		"Exit status: 0 if the meter answers at BAUD, 1 on failure (the\n"
		"port is then back at its old rate), 2 on bad usage.\n",
		get_prog_name());
}

static void print_result(bool json, const char *dev, const char *addr,
			 unsigned int old, unsigned int baud, bool ok,
			 const char *why)
{
	if (json) {
		printf("{\"device\":");
		print_json_str(dev);
		printf(",\"address\":");
		print_json_str(addr);
		printf(",\"old_baud\":%u,\"baud\":%u,\"ok\":%s", old, baud,
		       ok ? "true" : "false");
		if (why) {
			printf(",\"error\":");
			print_json_str(why);
		}
		printf("}\n");
	} else {
		printf("%s %s %u -> %u Bd: %s%s%s\n", dev, addr, old, baud,
		       ok ? "ok" : "FAILED", why ? ": " : "", why ? why : "");
	}
}

/* Switch the meter, then the port; NULL on success, else why not. */
static const char *set_baud(struct nmbus_dev *dev, const char *addr,
			    unsigned int old, unsigned int baud)
{
	uint8_t tx[16], a;
	char what[32];
	int len, rc;

	len = nmbus_build_set_baud(tx, sizeof(tx), 0, NMBUS_C_FCV, baud);
	if (!send_expect_ack(dev, tx, len, "set baud rate"))
		return "not acknowledged";
	if (baud == old)
		return NULL;
	rc = nmbus_dev_set_baud(dev, baud);
	if (rc) {
		print_err(rc, "set the port to %u Bd", baud);
		return "cannot switch the port";
	}
	snprintf(what, sizeof(what), "%s at %u Bd", addr, baud);
	if (request_header(dev, what, &a, NULL))
		return NULL;
	rc = nmbus_dev_set_baud(dev, old);
	if (rc)
		print_err(rc, "cannot set the port back to %u Bd", old);
	else
		print_error("the port is back at %u Bd", old);
	return "no answer at the new rate";
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		OPT_BAUD, OPT_RETRIES, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_END
	};
	struct bus_opts o = BUS_OPTS_INIT;	/* --baud: the rate to start at */
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct nmbus_dev *dev;
	unsigned long baud;
	const char *why;
	int primary, old;

	bus_getopt(argc, argv, "b:R:jhv", longopts, &o, usage);
	if (argc - optind != 3)
		die_usage("expected DEVICE, ADDRESS and BAUD");

	primary = parse_meter_address(argv[optind + 1], sec);
	baud = parse_baud_arg(argv[optind + 2]);
	dev = bus_open(argv[optind], &o);
	old = nmbus_dev_get_baud(dev);
	if (old < 0)
		die_err(old, "%s: read the baud rate", argv[optind]);
	bind_meter_address(dev, argv[optind + 1], primary, sec);

	why = set_baud(dev, argv[optind + 1], (unsigned int)old,
		       (unsigned int)baud);
	print_result(o.json, argv[optind], argv[optind + 1],
		     (unsigned int)old, (unsigned int)baud, !why, why);
	nmbus_dev_close(dev);
	return why ? EXIT_FAIL : EXIT_OK;
}
