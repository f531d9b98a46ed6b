// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-set-address - give a meter a new primary or secondary address
 *
 * SND_UD with DIF 01 VIF 7A (primary address) or DIF 0C VIF 79
 * (identification number, the variable part of the secondary address,
 * EN 13757-3), then a REQ_UD2 to the new address to check that the meter
 * answers there.
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
		"Usage: %s [OPTIONS] DEVICE ADDRESS NEW\n"
		"\n"
		"Give the meter at ADDRESS on the M-Bus of DEVICE (0, mbus0,\n"
		"/dev/mbus0 or the tty N_MBUS is attached to) the address NEW,\n"
		"then check with REQ_UD2 that it answers there. ADDRESS is a\n"
		"primary address (0-250, 254) or a secondary address of 16 hex\n"
		"digits IIIIIIIIMMMMVVDD (F = any: exactly one meter must\n"
		"match). NEW is a primary address 0-250 (SND_UD 01 7A), or a\n"
		"secondary address: 8 digits, the new identification number, or\n"
		"16 hex digits whose manufacturer, version and medium must be the\n"
		"meter's own (SND_UD 0C 79 sets only the identification number).\n"
		"\n"
		"Options:\n"
		"  -b, --baud=B          set the port to B baud first\n"
		"  -R, --retries=N       retries of each request (0-5)\n"
		"  -j, --json            print the result as one JSON object\n"
		"  -h, --help            show this help and exit\n"
		"  -v, --version         show the version and exit\n"
		"\n"
		"Exit status: 0 if the meter acknowledged and answers at NEW, 1\n"
		"on failure, 2 on bad usage.\n",
		get_prog_name());
}

/* The new address: a primary one, or an identification number. */
struct new_addr {
	int primary;			/* -1: secondary */
	uint32_t id;			/* 8 BCD digits, as a number */
	uint8_t sec[NMBUS_SECADDR_LEN];	/* wire order; FF = keep */
	char text[NMBUS_SECADDR_STRLEN + 1];
};

static void parse_new(const char *s, struct new_addr *n)
{
	char full[NMBUS_SECADDR_STRLEN + 1];
	unsigned long v;

	memset(n, 0, sizeof(*n));
	n->primary = -1;
	if (strlen(s) == 8 || strlen(s) == NMBUS_SECADDR_STRLEN) {
		memset(full, 'F', NMBUS_SECADDR_STRLEN);
		memcpy(full, s, strlen(s));
		full[NMBUS_SECADDR_STRLEN] = '\0';
		if (nmbus_secaddr_parse(full, n->sec))
			die_usage("bad secondary address '%s'", s);
		for (int i = 3; i >= 0; i--) {
			if ((n->sec[i] & 0x0f) > 9 || (n->sec[i] >> 4) > 9)
				die_usage("'%s': no wildcards in the new "
					  "identification number", s);
			n->id = n->id * 100 + (n->sec[i] >> 4) * 10 +
				(n->sec[i] & 0x0f);
		}
		return;
	}
	if (!parse_uint(s, 250, &v))
		die_usage("bad new address '%s': 0-250, 8 or 16 digits", s);
	n->primary = (int)v;
}

/*
 * The full secondary address the meter will have: its own (@cur) with
 * the new identification number and, where NEW gives them, the same
 * manufacturer, version and medium. False if NEW gives other ones.
 */
static bool new_secondary(const struct new_addr *n, const uint8_t *cur,
			  uint8_t *out)
{
	bool keep_mfr = n->sec[4] == 0xff && n->sec[5] == 0xff;

	for (int i = 0; i < NMBUS_SECADDR_LEN; i++) {
		bool keep = i < 6 ? keep_mfr : n->sec[i] == 0xff;

		if (i >= 4 && !keep && n->sec[i] != cur[i])
			return false;
		out[i] = i < 4 ? n->sec[i] : cur[i];
	}
	return true;
}

static void print_result(bool json, const char *dev, const char *addr,
			 const char *new_text, bool ok, const char *why)
{
	if (json) {
		printf("{\"device\":");
		print_json_str(dev);
		printf(",\"address\":");
		print_json_str(addr);
		printf(",\"new\":");
		print_json_str(new_text);
		printf(",\"ok\":%s", ok ? "true" : "false");
		if (why) {
			printf(",\"error\":");
			print_json_str(why);
		}
		printf("}\n");
	} else {
		printf("%s %s -> %s: %s%s%s\n", dev, addr, new_text,
		       ok ? "ok" : "FAILED", why ? ": " : "", why ? why : "");
	}
}

/* Set the address and check; NULL on success, else what went wrong. */
static const char *set_address(struct nmbus_dev *dev, const char *addr,
			       const struct new_addr *n, char *new_text,
			       size_t size)
{
	uint8_t tx[NMBUS_FRAME_MAX], cur[NMBUS_SECADDR_LEN];
	uint8_t want[NMBUS_SECADDR_LEN], got[NMBUS_SECADDR_LEN], a;
	int len, rc;

	if (n->primary >= 0) {
		snprintf(new_text, size, "%d", n->primary);
		len = nmbus_build_set_primary(tx, sizeof(tx), 0, NMBUS_C_FCV,
					      (uint8_t)n->primary);
		if (!send_expect_ack(dev, tx, len, "set primary address"))
			return "not acknowledged";
		rc = nmbus_dev_set_primary(dev, (uint8_t)n->primary);
		if (rc) {
			print_err(rc, "bind to %d", n->primary);
			return "cannot bind to the new address";
		}
		if (!request_header(dev, new_text, &a, NULL))
			return "no answer at the new address";
		if (a != n->primary) {
			print_error("%s: reply from address %u", new_text, a);
			return "reply from another address";
		}
		return NULL;
	}

	if (!request_header(dev, addr, &a, cur))
		return "no answer";
	if (cur[4] == 0xff && cur[5] == 0xff && cur[6] == 0xff &&
	    cur[7] == 0xff)
		return "the meter sends no secondary address";
	if (!new_secondary(n, cur, want)) {
		char now[NMBUS_SECADDR_STRLEN + 1];

		nmbus_secaddr_format(cur, now, sizeof(now));
		print_error("the meter is %s: only the identification number "
			    "can change", now);
		return "manufacturer, version or medium differ";
	}
	nmbus_secaddr_format(want, new_text, size);
	len = nmbus_build_set_secondary(tx, sizeof(tx), 0, NMBUS_C_FCV,
					n->id);
	if (!send_expect_ack(dev, tx, len, "set identification number"))
		return "not acknowledged";
	rc = nmbus_dev_set_secondary(dev, want);
	if (rc) {
		print_err(rc, "bind to %s", new_text);
		return "cannot bind to the new address";
	}
	if (!request_header(dev, new_text, &a, got))
		return "no answer at the new address";
	if (memcmp(got, want, sizeof(want))) {
		print_error("%s: the reply carries another address", new_text);
		return "reply from another meter";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		OPT_BAUD, OPT_RETRIES, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_END
	};
	char new_text[NMBUS_SECADDR_STRLEN + 1];
	struct bus_opts o = BUS_OPTS_INIT;
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct new_addr n;
	struct nmbus_dev *dev;
	const char *why;
	int primary;

	bus_getopt(argc, argv, "b:R:jhv", longopts, &o, usage);
	if (argc - optind != 3)
		die_usage("expected DEVICE, ADDRESS and NEW");

	primary = parse_meter_address(argv[optind + 1], sec);
	parse_new(argv[optind + 2], &n);
	dev = bus_open(argv[optind], &o);
	bind_meter_address(dev, argv[optind + 1], primary, sec);

	snprintf(new_text, sizeof(new_text), "%s", argv[optind + 2]);
	why = set_address(dev, argv[optind + 1], &n, new_text,
			  sizeof(new_text));
	print_result(o.json, argv[optind], argv[optind + 1], new_text, !why,
		     why);
	nmbus_dev_close(dev);
	return why ? EXIT_FAIL : EXIT_OK;
}
