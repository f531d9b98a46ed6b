// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-scan - find the meters on an M-Bus
 *
 * A primary scan (SND_NKE to each address), a secondary search (selection
 * by secondary address, collisions resolved digit by digit), or both, at
 * one or every baud rate; one line per meter, as text or JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nmbus.h>

#include "tools-common.h"

static const unsigned int all_bauds[] = {
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400
};

#define SEEN_MAX	1024

/* Exit status: the search ran, but some meters could not be told apart. */
#define EXIT_INCOMPLETE	3

struct opts {
	unsigned int first, last;
	unsigned int retries;
	unsigned int baud;
	bool all_bauds;
	bool secondary;
	bool auto_mode;
	bool json;
	bool ud2;
	bool thorough;
	unsigned long group_limit;
	unsigned int collisions;	/* groups reported, over all scans */
	const char *mask;
	const char *write_dir;	/* --write-config */
	unsigned int written;
	/* meters printed, to print each once (--auto) */
	uint8_t seen[SEEN_MAX][NMBUS_SECADDR_LEN];
	unsigned int nseen;
	unsigned int printed;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] DEVICE\n"
		"\n"
		"Find the meters on the M-Bus of DEVICE (0, mbus0, /dev/mbus0 or\n"
		"the tty N_MBUS is attached to) and print one line per meter:\n"
		"primary address, secondary address, manufacturer, version, baud\n"
		"rate and medium. The secondary address is libmbus's form\n"
		"IIIIIIIIMMMMVVDD: the identification number, the manufacturer's\n"
		"two bytes as sent (KAM = 2D2C), version and medium, all hex, as\n"
		"every tool takes it. The default is a primary scan of\n"
		"addresses 0 to 250: SND_NKE to each, then REQ_UD2 to every\n"
		"address that answered.\n"
		"\n"
		"Options:\n"
		"  -r, --range=A-B       primary addresses A to B (default 0-250)\n"
		"  -R, --retries=N       retries per primary address (default 0)\n"
		"  -u, --ud2             probe with REQ_UD2 instead of SND_NKE\n"
		"  -s, --secondary[=MASK] secondary search instead, of the meters\n"
		"                        matching MASK (16 hex digits as above; ID\n"
		"                        digit F = any, FFFF = any manufacturer,\n"
		"                        FF = any version or medium; default all)\n"
		"  -T, --thorough        secondary: in a group of meters sharing an\n"
		"                        ID, try every common manufacturer even after\n"
		"                        two meters were found\n"
		"  -g, --group-limit=N   secondary: give up a group sharing an ID\n"
		"                        after N selections and report it (default 0:\n"
		"                        no limit)\n"
		"  -a, --auto            secondary search; then a primary scan only\n"
		"                        if it found no meter or could not tell\n"
		"                        meters apart\n"
		"  -b, --baud=B          scan at B baud (the port is left at B)\n"
		"  -A, --all-bauds       scan at 300, 600, ... 38400 baud in turn,\n"
		"                        then restore the port's rate\n"
		"  -j, --json            one JSON object per meter and line: id,\n"
		"                        manufacturer, version, medium, medium_code,\n"
		"                        primary, secondary, baud, fabrication; a\n"
		"                        collision: \"collision\":true, mask,\n"
		"                        selections\n"
		"  -w, --write-config=DIR  also write one mbus-gatewayd meter file\n"
		"                        per meter found into DIR (MEDIUM-ID.conf,\n"
		"                        addressed by secondary address; existing\n"
		"                        files are left alone)\n"
		"  -h, --help            show this help and exit\n"
		"  -v, --version         show the version and exit\n"
		"\n"
		"Exit status: 0 if the scan ran (even if it found nothing), 1 on\n"
		"failure, 2 on bad usage, 3 if the search is incomplete: some\n"
		"meters could not be told apart (printed as collisions).\n",
		get_prog_name());
}

static void parse_range(const char *s, struct opts *o)
{
	unsigned long a, b;
	char buf[32], *dash;

	if (strlen(s) >= sizeof(buf))
		die_usage("bad range '%s'", s);
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (!parse_uint(buf, 250, &a))
		die_usage("bad range '%s'", s);
	b = a;
	if (dash && !parse_uint(dash + 1, 250, &b))
		die_usage("bad range '%s'", s);
	if (a > b)
		die_usage("bad range '%s'", s);
	o->first = (unsigned int)a;
	o->last = (unsigned int)b;
}

static bool seen(struct opts *o, const uint8_t *sec)
{
	for (unsigned int i = 0; i < o->nseen; i++)
		if (!memcmp(o->seen[i], sec, NMBUS_SECADDR_LEN))
			return true;
	if (o->nseen < SEEN_MAX)
		memcpy(o->seen[o->nseen++], sec, NMBUS_SECADDR_LEN);
	return false;
}

static void print_json(const struct nmbus_scan_result *r, const char *sec)
{
	const struct nmbus_header *h = &r->header;
	char mfr[4];

	if (r->status != NMBUS_STATUS_FRAME) {
		printf("{\"id\":null,\"manufacturer\":null,\"version\":null,"
		       "\"medium\":null,\"medium_code\":null,");
	} else {
		/* a bad manufacturer code may give [ \\ ] ^ _: escaped */
		printf("{\"id\":\"%08X\",\"manufacturer\":",
		       (unsigned int)h->id);
		print_json_str(nmbus_manufacturer_str(h->manufacturer, mfr));
		printf(",\"version\":%u,\"medium\":", h->version);
		print_json_str(nmbus_medium_name(h->medium));
		printf(",\"medium_code\":%u,", h->medium);
	}
	if (r->primary == 253)
		printf("\"primary\":null,");
	else
		printf("\"primary\":%u,", r->primary);
	if (r->status == NMBUS_STATUS_GARBLED && r->primary == 253)
		printf("\"secondary\":null,\"mask\":");
	else
		printf("\"secondary\":");
	print_json_str(sec);
	printf(",");
	printf("\"baud\":%u", r->baud);
	if (r->has_fabrication)
		printf(",\"fabrication\":\"%08X\"",
		       (unsigned int)r->fabrication);
	if (r->status == NMBUS_STATUS_GARBLED)
		printf(",\"collision\":true");
	if (r->status == NMBUS_STATUS_GARBLED && r->primary == 253)
		printf(",\"selections\":%lu", r->xfers);
	printf("}\n");
}

static void print_text(const struct nmbus_scan_result *r, const char *sec)
{
	const struct nmbus_header *h = &r->header;
	char prim[8] = "-", mfr[4] = "-";

	if (r->primary != 253)
		snprintf(prim, sizeof(prim), "%u", r->primary);
	if (r->status == NMBUS_STATUS_GARBLED && r->primary == 253) {
		printf("%3s %s collision: several meters match this mask and "
		       "could not be told apart", prim, sec);
		if (r->has_fabrication)
			printf(" (fabrication %08X)",
			       (unsigned int)r->fabrication);
		printf(" (%lu selections)\n", r->xfers);
		return;
	}
	if (r->status == NMBUS_STATUS_GARBLED) {
		printf("%3s %s collision: several meters answer\n", prim, sec);
		return;
	}
	if (r->status != NMBUS_STATUS_FRAME) {
		printf("%3s %s present, no data\n", prim, sec);
		return;
	}
	printf("%3s %s %s %02X %5u %s", prim, sec,
	       nmbus_manufacturer_str(h->manufacturer, mfr), h->version,
	       r->baud, nmbus_medium_name(h->medium));
	/* only where it tells apart meters equal in all 8 bytes */
	if (r->by_fabrication)
		printf(" fabrication %08X", (unsigned int)r->fabrication);
	printf("\n");
}

/* Whether @r is a meter printed before (--auto, --all-bauds). */
static bool seen_result(struct opts *o, const struct nmbus_scan_result *r)
{
	uint8_t key[NMBUS_SECADDR_LEN];

	memcpy(key, r->secaddr, sizeof(key));
	if (r->by_fabrication)	/* meters equal in 8 bytes differ here */
		for (int i = 0; i < 4; i++)
			key[i] ^= (uint8_t)(r->fabrication >> (8 * i)) ^ 0x5a;
	return seen(o, key);
}

/* --write-config: DIR/MEDIUM-ID.conf for mbus-gatewayd, never overwritten. */
static void write_meter_file(struct opts *o, const struct nmbus_scan_result *r,
			     const char *sec)
{
	const struct nmbus_header *h = &r->header;
	char path[4096], name[64], mfr[4];
	const char *medium = nmbus_medium_name(h->medium);
	size_t n = 0;
	FILE *fp;
	int fd;

	for (const char *p = medium; *p && n + 1 < 40; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			name[n++] = *p;
		else if (n && name[n - 1] != '-')
			name[n++] = '-';
	if (!n || name[n - 1] != '-')
		name[n++] = '-';
	snprintf(name + n, sizeof(name) - n, "%08X", h->id);
	snprintf(path, sizeof(path), "%s/%s.conf", o->write_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) {
		print_perror("%s", path);
		return;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		print_perror("%s", path);
		close(fd);
		return;
	}
	fprintf(fp, "# %s %08X, %s, version %u, found by mbus-scan",
		nmbus_manufacturer_str(h->manufacturer, mfr), h->id, medium,
		h->version);
	if (r->primary <= 250)
		fprintf(fp, " at primary address %u", r->primary);
	fprintf(fp, "\n# (see mbus-gatewayd.conf(5))\n[meter]\nname = %s\n"
		"# bus = NAME (needed when the gateway has several buses)\n"
		"address = %s\ninterval = 15m\n", name, sec);
	if (r->baud && r->baud != 2400)
		fprintf(fp, "baud = %u\n", r->baud);
	if (fclose(fp))
		print_perror("%s", path);
	else
		o->written++;
}

static int on_result(const struct nmbus_scan_result *r, void *arg)
{
	struct opts *o = arg;
	char sec[NMBUS_SECADDR_STRLEN + 1] = "-";

	if (r->status == NMBUS_STATUS_FRAME || r->status == NMBUS_STATUS_ACK)
		nmbus_secaddr_format(r->secaddr, sec, sizeof(sec));
	if (r->status == NMBUS_STATUS_GARBLED && r->primary == 253) {
		nmbus_secaddr_format(r->secaddr, sec, sizeof(sec));
		o->collisions++;
	}
	if (r->status == NMBUS_STATUS_FRAME && seen_result(o, r))
		return 0;
	if (o->json)
		print_json(r, sec);
	else
		print_text(r, sec);
	fflush(stdout);
	if (o->write_dir && r->status == NMBUS_STATUS_FRAME) {
		if (r->by_fabrication)	/* its 8 bytes select another too */
			fprintf(stderr, "%s: %s: no meter file: another meter "
				"has the same secondary address\n",
				get_prog_name(), sec);
		else
			write_meter_file(o, r, sec);
	}
	o->printed++;
	return 0;
}

/* A bad MASK: say what is wrong with it; nothing is sent. */
static void check_mask(const char *arg)
{
	size_t plen = sizeof(NMBUS_SECADDR_BYTES) - 1;
	const char *m = strncmp(arg, NMBUS_SECADDR_BYTES, plen) ? arg :
			arg + plen;
	uint8_t mask[NMBUS_SECADDR_LEN];
	size_t len = strlen(m), bad = strspn(m, "0123456789abcdefABCDEF");

	if (len != NMBUS_SECADDR_STRLEN)
		die_usage("bad mask '%s': 16 hex digits IIIIIIIIMMMMVVDD "
			  "expected, not %zu", arg, len);
	if (bad != len)
		die_usage("bad mask '%s': '%c' is not a hex digit", arg, m[bad]);
	bad = strspn(m, "0123456789Ff");
	if (bad < 8)
		die_usage("bad mask '%s': identification number digit '%c': "
			  "0-9 or F (any) expected", arg, m[bad]);
	if (nmbus_secaddr_parse(arg, mask))
		die_usage("bad mask '%s'", arg);
}

/* One scan at the current rate; false on failure. */
static bool scan_once(struct nmbus_dev *dev, struct opts *o)
{
	struct nmbus_scan scan = {
		.flags = (o->ud2 ? NMBUS_SCAN_UD2 : 0) |
			 (o->thorough ? NMBUS_SCAN_THOROUGH : 0),
		.group_limit = o->group_limit,
		.retries = o->retries,
		.read_retries = 2,
		.cb = on_result,
		.arg = o,
	};
	uint8_t mask[NMBUS_SECADDR_LEN];
	int rc;

	if (o->secondary || o->auto_mode) {
		if (nmbus_secaddr_parse(o->mask ? o->mask : "FFFFFFFFFFFFFFFF",
					mask))
			die_usage("bad mask '%s'", o->mask);
		rc = nmbus_scan_secondary(dev, mask, &scan);
		if (rc < 0) {
			print_err(rc, "secondary search");
			return false;
		}
		if (o->secondary || (scan.found && !scan.collisions))
			return true;
	}
	rc = nmbus_scan_primary(dev, o->first, o->last, &scan);
	if (rc < 0) {
		print_err(rc, "primary scan");
		return false;
	}
	return true;
}

static void set_baud(struct nmbus_dev *dev, unsigned int baud)
{
	int rc = nmbus_dev_set_baud(dev, baud);

	if (rc)
		die_err(rc, "set baud rate %u", baud);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "range", required_argument, NULL, 'r' },
		{ "retries", required_argument, NULL, 'R' },
		{ "ud2", no_argument, NULL, 'u' },
		{ "secondary", optional_argument, NULL, 's' },
		{ "auto", no_argument, NULL, 'a' },
		{ "baud", required_argument, NULL, 'b' },
		{ "all-bauds", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "thorough", no_argument, NULL, 'T' },
		{ "group-limit", required_argument, NULL, 'g' },
		{ "write-config", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	static struct opts o = { .last = 250 };
	struct nmbus_dev *dev;
	bool ok = true;
	int c, rc, old_baud;

	while ((c = getopt_long(argc, argv, "r:R:us::ab:AjTg:w:hv", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'r':
			parse_range(optarg, &o);
			break;
		case 'R':
			o.retries = (unsigned int)parse_retries_arg(optarg);
			break;
		case 'u':
			o.ud2 = true;
			break;
		case 's':
			o.secondary = true;
			o.mask = optarg;
			break;
		case 'a':
			o.auto_mode = true;
			break;
		case 'b':
			o.baud = (unsigned int)parse_baud_arg(optarg);
			break;
		case 'A':
			o.all_bauds = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'T':
			o.thorough = true;
			break;
		case 'g':
			if (!parse_uint(optarg, 1000000, &o.group_limit))
				die_usage("--group-limit: a number up to "
					  "1000000 expected, not '%s'",
					  optarg);
			break;
		case 'w':
			o.write_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'v':
			print_version();
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	/* "--secondary MASK" as two words. */
	if (o.secondary && !o.mask && argc - optind == 2 &&
	    strlen(argv[optind]) == NMBUS_SECADDR_STRLEN)
		o.mask = argv[optind++];
	if (argc - optind != 1)
		die_usage("expected one DEVICE");
	if (o.secondary && o.auto_mode)
		die_usage("--secondary and --auto exclude each other");
	if (o.baud && o.all_bauds)
		die_usage("--baud and --all-bauds exclude each other");
	if (o.mask)
		check_mask(o.mask);

	rc = nmbus_dev_open(argv[optind], &dev);
	if (rc)
		die_err(rc, "%s", argv[optind]);
	if (o.baud)
		set_baud(dev, o.baud);
	if (!o.all_bauds) {
		ok = scan_once(dev, &o);
	} else {
		old_baud = nmbus_dev_get_baud(dev);
		for (size_t i = 0; ok && i < ARRAY_SIZE(all_bauds); i++) {
			set_baud(dev, all_bauds[i]);
			ok = scan_once(dev, &o);
		}
		if (old_baud > 0)
			set_baud(dev, (unsigned int)old_baud);
	}
	nmbus_dev_close(dev);
	if (o.write_dir)
		fprintf(stderr, "%s: %u meter files written to %s\n",
			get_prog_name(), o.written, o.write_dir);
	if (!ok)
		return EXIT_FAIL;
	return o.collisions ? EXIT_INCOMPLETE : EXIT_OK;
}
