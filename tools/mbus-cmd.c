// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-cmd - send a meter one of the SND_UD commands of the seed devices
 *
 * Date and time (04 6D, type F), freeze (DIF with storage, FE 0B),
 * application reset (CI 50 with an optional sub-code), the response
 * telegram selection of the Integra CALEC ST II (DIF 08 with a storage
 * number), the manufacturer commands of the Elvaco CMi1020 (DIF 0F and
 * a command byte) and its disconnector control (01 FD 1A). Each must be
 * acknowledged with E5, except when sent to every meter at once
 * (broadcast address 255), which no meter answers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nmbus.h>
#include <nmbus-devices.h>

#include "tools-common.h"

#define FREEZE_STORAGE_DEFAULT	31	/* where the CALEC ST II freezes */
#define MBUS_BROADCAST		255	/* every meter, none answers */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] DEVICE ADDRESS COMMAND [ARGS]\n"
		"\n"
		"Send COMMAND to the meter at ADDRESS on the M-Bus of DEVICE (0,\n"
		"mbus0, /dev/mbus0 or the tty N_MBUS is attached to) as SND_UD\n"
		"and wait for its acknowledgement (E5). ADDRESS is a primary\n"
		"address (0-250, 254), 255 for every meter at once (broadcast:\n"
		"sent once, no meter answers, nothing is acknowledged) or a\n"
		"secondary address of 16 hex digits IIIIIIIIMMMMVVDD (F = any:\n"
		"exactly one meter must match).\n"
		"\n"
		"Commands:\n"
		"  set-datetime [ISO|now]   set the clock: YYYY-MM-DDTHH:MM[:SS]\n"
		"                           (meter's local time) or now (default)\n"
		"  freeze [STORAGE]         freeze the current values into STORAGE\n"
		"                           (default %d, the CALEC ST II's)\n"
		"  reset [SUBCODE]          application reset (CI 50), with a\n"
		"                           sub-code byte in hex (e.g. B0)\n"
		"  select-telegram standard|service|freeze|due-day N|logger N\n"
		"                           choose the CALEC ST II's response\n"
		"                           telegram (due day 1-12, logger 1-500)\n"
		"  elvaco CMD [DATA]        Elvaco CMi1020 command: command byte\n"
		"                           and its parameters, in hex\n"
		"  elvaco disconnector on|off|CTL\n"
		"                           CMi1020 disconnector control (01 FD\n"
		"                           1A): on (40), off (80) or the control\n"
		"                           byte in hex (bits 7,6 disconnector,\n"
		"                           5,4 push-button on, 3,2 push-button\n"
		"                           off: 01 enable, 10 disable, 00 keep)\n"
		"\n"
		"Options:\n"
		"  -b, --baud=B          set the port to B baud first\n"
		"  -R, --retries=N       retries of each request (0-5)\n"
		"  -j, --json            print the result as one JSON object\n"
		"  -h, --help            show this help and exit\n"
		"  -v, --version         show the version and exit\n"
		"\n"
		"Exit status: 0 if the meter acknowledged, 1 on failure, 2 on bad\n"
		"usage.\n",
		get_prog_name(), FREEZE_STORAGE_DEFAULT);
}

/* One hex byte, "B0" or "0xB0". */
static uint8_t parse_hex_byte(const char *what, const char *s)
{
	unsigned long v;
	char *end;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (!*s || *s == '-' || *s == '+' || *end || errno || v > 0xff)
		die_usage("bad %s '%s': one hex byte", what, s);
	return (uint8_t)v;
}

/* "YYYY-MM-DDTHH:MM[:SS]" (or a space for the T), or "now". */
static void parse_datetime(const char *s, struct tm *tm)
{
	int y, mo, d, h, mi, sec = 0, n = 0;
	time_t now;
	char t;

	if (!s || !strcmp(s, "now")) {
		now = time(NULL);
		if (!localtime_r(&now, tm))
			die_perror("localtime");
		return;
	}
	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &t, &h, &mi,
		   &n) != 6 || (t != 'T' && t != ' '))
		die_usage("bad date '%s': YYYY-MM-DDTHH:MM[:SS]", s);
	if (s[n] == ':' && sscanf(s + n, ":%2d%n", &sec, &n) == 1)
		n = (int)strlen(s);
	if (s[n] || y < 2000 || y > 2099 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || sec < 0 || sec > 59 || h < 0 ||
	    mi < 0)
		die_usage("bad date '%s': YYYY-MM-DDTHH:MM[:SS], 2000-2099", s);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	tm->tm_isdst = -1;
	if (mktime(tm) == (time_t)-1)
		die_usage("bad date '%s'", s);
}

static const struct {
	const char *name;
	enum nmbus_calec_telegram telegram;
	bool indexed;
	unsigned int max;
} telegrams[] = {
	{ "standard", NMBUS_CALEC_STANDARD, false, 0 },
	{ "service", NMBUS_CALEC_SERVICE, false, 0 },
	{ "freeze", NMBUS_CALEC_FREEZE, false, 0 },
	{ "due-day", NMBUS_CALEC_DUE_DAY, true, 12 },
	{ "logger", NMBUS_CALEC_LOGGER, true, 500 },
};

static int build_select(uint8_t *tx, size_t size, int argc, char **argv)
{
	unsigned long index = 0;

	if (argc < 1)
		die_usage("select-telegram: which telegram?");
	for (size_t i = 0; i < ARRAY_SIZE(telegrams); i++) {
		if (strcmp(argv[0], telegrams[i].name))
			continue;
		if (argc != 1 + telegrams[i].indexed)
			die_usage("select-telegram %s: %s", argv[0],
				  telegrams[i].indexed ? "expected N" :
				  "too many arguments");
		if (telegrams[i].indexed &&
		    (!parse_uint(argv[1], telegrams[i].max, &index) || !index))
			die_usage("select-telegram %s: N must be 1 to %u",
				  argv[0], telegrams[i].max);
		return nmbus_build_calec_telegram(tx, size, 0, NMBUS_C_FCV,
						  telegrams[i].telegram,
						  (unsigned int)index);
	}
	die_usage("select-telegram: unknown telegram '%s'", argv[0]);
}

/*
 * CMi1020 disconnector control (its manual, 6.7.8): SND_UD CI 51 with the
 * record 01 FD 1A and the control byte; bits 1,0 are not used.
 */
#define DISCONNECTOR_ON		0x40	/* bits 7,6 = 01: EEPROM setting on */
#define DISCONNECTOR_OFF	0x80	/* bits 7,6 = 10: off */

static int build_disconnector(uint8_t *tx, size_t size, int argc,
			      char **argv)
{
	struct nmbus_build_record rec = {
		.drh = { 0x01, 0xfd, 0x1a },
		.type = NMBUS_BUILD_INT,
	};

	if (argc != 1)
		die_usage("elvaco disconnector: expected on, off or a byte");
	if (!strcmp(argv[0], "on"))
		rec.i = DISCONNECTOR_ON;
	else if (!strcmp(argv[0], "off"))
		rec.i = DISCONNECTOR_OFF;
	else
		rec.i = parse_hex_byte("disconnector control", argv[0]);
	return nmbus_build_snd_ud(tx, size, 0, NMBUS_C_FCV, &rec, 1);
}

static int build_elvaco(uint8_t *tx, size_t size, int argc, char **argv)
{
	uint8_t data[NMBUS_FRAME_MAX];
	ssize_t len = 0;
	uint8_t cmd;

	if (argc >= 1 && !strcmp(argv[0], "disconnector"))
		return build_disconnector(tx, size, argc - 1, argv + 1);
	if (argc < 1 || argc > 2)
		die_usage("elvaco: expected CMD [DATA]");
	cmd = parse_hex_byte("Elvaco command", argv[0]);
	if (argc == 2) {
		len = nmbus_parse_hex(argv[1], strlen(argv[1]), data,
				      sizeof(data), NULL);
		if (len < 0)
			die_usage("elvaco: bad data '%s': hex bytes", argv[1]);
	}
	len = nmbus_build_elvaco_cmd(tx, size, 0, NMBUS_C_FCV, cmd, data,
				     (size_t)len);
	if (len < 0)
		die_usage("elvaco: too much data");
	return (int)len;
}

/* Build the command's frame in @tx; exits on bad usage. */
static int build_command(uint8_t *tx, size_t size, const char *cmd,
			 int argc, char **argv)
{
	unsigned long storage = FREEZE_STORAGE_DEFAULT;
	struct tm tm;

	if (!strcmp(cmd, "set-datetime")) {
		if (argc > 1)
			die_usage("set-datetime: expected [ISO|now]");
		parse_datetime(argc ? argv[0] : NULL, &tm);
		return nmbus_build_set_datetime(tx, size, 0, NMBUS_C_FCV, &tm);
	}
	if (!strcmp(cmd, "freeze")) {
		if (argc > 1 || (argc &&
				 !parse_uint(argv[0], 0xffffffffUL, &storage)))
			die_usage("freeze: expected [STORAGE], a number");
		return nmbus_build_freeze(tx, size, 0, NMBUS_C_FCV,
					  (uint32_t)storage);
	}
	if (!strcmp(cmd, "reset")) {
		if (argc > 1)
			die_usage("reset: expected [SUBCODE]");
		return nmbus_build_app_reset(tx, size, 0, NMBUS_C_FCV,
					     argc ? parse_hex_byte("sub-code",
								   argv[0]) :
						    -1);
	}
	if (!strcmp(cmd, "select-telegram"))
		return build_select(tx, size, argc, argv);
	if (!strcmp(cmd, "elvaco"))
		return build_elvaco(tx, size, argc, argv);
	die_usage("unknown command '%s'", cmd);
}

static void print_result(bool json, const char *dev, const char *addr,
			 const char *cmd, bool ok, bool broadcast)
{
	if (json) {
		printf("{\"device\":");
		print_json_str(dev);
		printf(",\"address\":");
		print_json_str(addr);
		printf(",\"command\":");
		print_json_str(cmd);
		printf(",\"ok\":%s%s}\n", ok ? "true" : "false",
		       broadcast ? ",\"broadcast\":true" : "");
	} else {
		printf("%s %s %s: %s\n", dev, addr, cmd,
		       !ok ? "FAILED" :
		       broadcast ? "sent to every meter (not acknowledged)" :
				   "ok");
	}
}

/* ADDRESS 255 (or 0xff): every meter. */
static bool is_broadcast(const char *s)
{
	unsigned long a;

	return parse_uint(s, 255, &a) && a == MBUS_BROADCAST;
}

/*
 * Send @tx to address 255 once: the meters execute it and none answers
 * (EN 13757-2), so the kernel returns as soon as it is sent and there is
 * no FCB to keep.
 */
static bool send_broadcast(struct nmbus_dev *dev, const uint8_t *tx, int len,
			   const char *what)
{
	uint8_t rx[1];
	int st;

	st = nmbus_dev_set_primary(dev, MBUS_BROADCAST);
	if (st) {
		print_err(st, "%s: bind to 255", what);
		return false;
	}
	st = nmbus_dev_xfer(dev, tx, (size_t)len,
			    NMBUS_XFER_ADDRESSED | NMBUS_XFER_NO_REPLY, rx,
			    sizeof(rx), NULL);
	if (st == NMBUS_STATUS_NONE)
		return true;
	if (st < 0)
		print_err(st, "%s", what);
	else
		print_error("%s: %s", what, nmbus_status_name(st));
	return false;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		OPT_BAUD, OPT_RETRIES, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_END
	};
	struct bus_opts o = BUS_OPTS_INIT;
	uint8_t sec[NMBUS_SECADDR_LEN];
	uint8_t tx[NMBUS_FRAME_MAX];
	struct nmbus_dev *dev;
	const char *cmd;
	bool ok, broadcast;
	int len, primary = -1;

	/* '+': stop at DEVICE, so command arguments are never options. */
	bus_getopt(argc, argv, "+b:R:jhv", longopts, &o, usage);
	if (argc - optind < 3)
		die_usage("expected DEVICE, ADDRESS and COMMAND");

	broadcast = is_broadcast(argv[optind + 1]);
	if (!broadcast)
		primary = parse_meter_address(argv[optind + 1], sec);
	cmd = argv[optind + 2];
	len = build_command(tx, sizeof(tx), cmd, argc - optind - 3,
			    argv + optind + 3);
	if (len < 0)
		die_usage("%s: bad arguments", cmd);
	dev = bus_open(argv[optind], &o);
	if (broadcast) {
		ok = send_broadcast(dev, tx, len, cmd);
	} else {
		bind_meter_address(dev, argv[optind + 1], primary, sec);
		ok = send_expect_ack(dev, tx, len, cmd);
	}
	print_result(o.json, argv[optind], argv[optind + 1], cmd, ok, broadcast);
	nmbus_dev_close(dev);
	return ok ? EXIT_OK : EXIT_FAIL;
}
