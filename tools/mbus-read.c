// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-read - read a meter's data
 *
 * REQ_UD2 to a primary or secondary address, following multi-telegram
 * readouts (DIF 1F) with the FCB the kernel manages, and prints every
 * telegram decoded by libnmbus: JSON (default), libmbus XML or text.
 * With --history it then walks an Integra CALEC ST II's due-day and
 * logger telegrams with its telegram selection and chooses the standard
 * telegram again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nmbus.h>
#include <nmbus-devices.h>

#include "tools-common.h"

#define TELEGRAMS_DEFAULT	16
#define TELEGRAMS_MAX		64

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] DEVICE ADDRESS\n"
		"\n"
		"Read the meter at ADDRESS on the M-Bus of DEVICE (0, mbus0,\n"
		"/dev/mbus0 or the tty N_MBUS is attached to) with REQ_UD2 and\n"
		"print its data: one JSON object per telegram and line by\n"
		"default. ADDRESS is a primary address (0-250, 254) or a secondary\n"
		"address of 16 hex digits IIIIIIIIMMMMVVDD (F = any: exactly one\n"
		"meter must match; the kernel selects it). While a telegram ends\n"
		"with DIF 1F (more records follow) the next one is requested,\n"
		"the FCB toggled.\n"
		"\n"
		"Options:\n"
		"  -n, --nke             send SND_NKE first (link reset: the first\n"
		"                        telegram of the readout)\n"
		"  -p, --profile=NAME    settings of a device that needs care:\n"
		"                        baud rate, wake-up preamble, retries,\n"
		"                        timeout ('list' lists them)\n"
		"  -b, --baud=B          set the port to B baud first\n"
		"  -k, --keep-baud       leave the port at the baud rate of\n"
		"                        --profile or --baud (default: put the\n"
		"                        rate back when done)\n"
		"  -R, --retries=N       retries of each request (0-5)\n"
		"  -m, --max-telegrams=N read at most N telegrams (default %d)\n"
		"  -f, --format=FMT      json (default), xml, xml-normalized\n"
		"                        (rscada/libmbus layouts) or text\n"
		"  -H, --history[=WHAT]  then read an Integra CALEC ST II's\n"
		"                        history, one telegram selection (SND_UD\n"
		"                        DIF 08 VIF 7E) and REQ_UD2 per entry:\n"
		"                        due-days (1-12), loggers (1-500, up to\n"
		"                        the first empty one), freeze, or all\n"
		"                        (default: due days and loggers); the\n"
		"                        standard telegram is selected again at\n"
		"                        the end, also after an error\n"
		"  -h, --help            show this help and exit\n"
		"  -v, --version         show the version and exit\n"
		"\n"
		"Exit status: 0 if every telegram was read and decoded, 1 on\n"
		"failure (no answer, collision, undecodable data), 2 on bad\n"
		"usage.\n",
		get_prog_name(), TELEGRAMS_DEFAULT);
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

static void list_profiles(void)
{
	const struct nmbus_profile *p;

	for (unsigned int i = 0; (p = nmbus_profile_get(i)); i++)
		printf("%-10s %5u Bd, %u wake-up bytes, %u ms: %s\n",
		       p->name, p->baud, p->wakeup_bytes, p->wakeup_delay_ms,
		       p->description);
}

struct read_state {
	enum nmbus_format format;
	bool bad;		/* a telegram did not decode */
	bool skip_empty;	/* do not print telegrams without records */
	bool empty;		/* the last telegram had no records */
	bool calec;		/* the last telegram came from a CALEC ST II */
};

/* Integra CALEC ST II: manufacturer AMT, device versions C0..C9. */
static bool header_is_calec(const struct nmbus_header *h)
{
	return h->has_address &&
	       h->manufacturer == nmbus_manufacturer_code("AMT") &&
	       h->version >= 0xc0 && h->version <= 0xc9;
}

static int on_telegram(const uint8_t *buf, size_t len, unsigned int index,
		       void *arg)
{
	struct nmbus_record records[NMBUS_MAX_RECORDS];
	struct read_state *st = arg;
	struct nmbus_frame f;
	ssize_t n;

	if (nmbus_decode(&f, buf, len, records, NMBUS_MAX_RECORDS)) {
		print_error("telegram %u: byte %u: %s", index + 1,
			    f.error.offset, nmbus_strerror(f.error.code));
		st->bad = true;
	}
	st->empty = !f.error.code && !f.n_records;
	st->calec = header_is_calec(&f.header);
	if (st->empty && st->skip_empty)
		return 0;
	n = nmbus_frame_print(&f, st->format, stdout);
	if (n < 0)
		die_err((int)n, "write");
	if (st->format == NMBUS_FORMAT_JSON)
		putchar('\n');
	fflush(stdout);
	return 0;
}

/*
 * The port's baud rate is shared by every program on the bus: put it back
 * as it was when a profile or --baud changed it, also when exiting on an
 * error (die_*() call exit()).
 */
static struct nmbus_dev *baud_dev;
static int baud_before;		/* or a negative errno value: unknown */

static void restore_baud(void)
{
	int rc;

	if (!baud_dev || baud_before <= 0 ||
	    nmbus_dev_get_baud(baud_dev) == baud_before)
		return;
	rc = nmbus_dev_set_baud(baud_dev, (unsigned int)baud_before);
	if (rc)
		print_err(rc, "restore baud rate %d", baud_before);
}

static void apply_profile(struct nmbus_dev *dev,
			  const struct nmbus_profile *p)
{
	struct nmbus_dev_params params;
	int rc;

	nmbus_dev_get_params(dev, &params);
	params.wakeup_bytes = p->wakeup_bytes;
	params.wakeup_delay_us = p->wakeup_delay_ms * 1000u;
	params.retries = p->retries;
	params.response_timeout_us = p->timeout_ms * 1000u;
	if (p->baud && nmbus_dev_get_baud(dev) != (int)p->baud) {
		rc = nmbus_dev_set_baud(dev, p->baud);
		if (rc)
			die_err(rc, "set baud rate %u", p->baud);
	}
	rc = nmbus_dev_set_params(dev, &params);
	if (rc)
		die_err(rc, "profile %s", p->name);
}

/* ---- CALEC ST II history (seed 000, 3.2 and table 20) ---- */

enum {
	HISTORY_DUE_DAYS = 1 << 0,
	HISTORY_LOGGERS = 1 << 1,
	HISTORY_FREEZE = 1 << 2,
};

#define CALEC_DUE_DAYS	12
#define CALEC_LOGGERS	500

static unsigned int parse_history(const char *s)
{
	if (!s || !strcmp(s, "all"))
		return HISTORY_DUE_DAYS | HISTORY_LOGGERS;
	if (!strcmp(s, "due-days"))
		return HISTORY_DUE_DAYS;
	if (!strcmp(s, "loggers"))
		return HISTORY_LOGGERS;
	if (!strcmp(s, "freeze"))
		return HISTORY_FREEZE;
	die_usage("bad --history '%s': all, due-days, loggers or freeze", s);
}

/* Choose the CALEC's response telegram; it must acknowledge. */
static bool calec_select(struct nmbus_dev *dev,
			 enum nmbus_calec_telegram t, unsigned int index)
{
	uint8_t tx[32];
	int len;

	len = nmbus_build_calec_telegram(tx, sizeof(tx), 0, NMBUS_C_FCV, t,
					 index);
	return send_expect_ack(dev, tx, len, "select telegram");
}

/*
 * The meter stays at the telegram chosen last, for every master: choose
 * the standard telegram again when leaving, also on an error (die_*()
 * call exit()).
 */
static struct nmbus_dev *history_dev;

static void restore_standard(void)
{
	struct nmbus_dev *dev = history_dev;

	history_dev = NULL;
	if (dev && !calec_select(dev, NMBUS_CALEC_STANDARD, 0))
		print_error("the standard telegram is not selected again");
}

/*
 * Select and read @t number @index; false on failure. *@empty tells
 * whether the meter had no data there (the empty telegram).
 */
static bool history_read(struct nmbus_dev *dev, struct read_state *st,
			 enum nmbus_calec_telegram t, unsigned int index,
			 bool *empty)
{
	int n;

	if (!calec_select(dev, t, index))
		return false;
	n = nmbus_read_telegrams(dev, 1, on_telegram, st);
	if (n != 1) {
		print_err(n, "history telegram %u", index);
		return false;
	}
	*empty = st->empty;
	return true;
}

/*
 * Walk the history @what asks for: due days 1..12 and loggers 1..500,
 * each up to the first that holds no data (an AMTRON X-50 has 2 due
 * days, a new meter few loggers), or the frozen values.
 */
static bool read_history(struct nmbus_dev *dev, struct read_state *st,
			 unsigned int what)
{
	bool empty = false, ok = true;

	st->skip_empty = true;
	history_dev = dev;
	atexit(restore_standard);
	for (unsigned int i = 1; (what & HISTORY_DUE_DAYS) && ok && !empty &&
	     i <= CALEC_DUE_DAYS; i++)
		ok = history_read(dev, st, NMBUS_CALEC_DUE_DAY, i, &empty);
	empty = false;
	for (unsigned int i = 1; (what & HISTORY_LOGGERS) && ok && !empty &&
	     i <= CALEC_LOGGERS; i++)
		ok = history_read(dev, st, NMBUS_CALEC_LOGGER, i, &empty);
	if ((what & HISTORY_FREEZE) && ok)
		ok = history_read(dev, st, NMBUS_CALEC_FREEZE, 0, &empty);
	history_dev = NULL;
	if (!calec_select(dev, NMBUS_CALEC_STANDARD, 0))
		ok = false;
	return ok;
}

/* SND_NKE to the bound meter; it must acknowledge. */
static void send_nke(struct nmbus_dev *dev)
{
	uint8_t tx[8], rx[NMBUS_FRAME_MAX];
	int len = nmbus_build_snd_nke(tx, sizeof(tx), 0);
	int st;

	st = nmbus_dev_xfer(dev, tx, (size_t)len, NMBUS_XFER_ADDRESSED, rx,
			    sizeof(rx), NULL);
	if (st < 0)
		die_err(st, "SND_NKE");
	if (st != NMBUS_STATUS_ACK)
		die("SND_NKE: %s", nmbus_status_name(st));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nke", no_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'p' },
		OPT_BAUD,
		{ "keep-baud", no_argument, NULL, 'k' },
		OPT_RETRIES,
		{ "max-telegrams", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "history", optional_argument, NULL, 'H' },
		OPT_HELP, OPT_VERSION, OPT_END
	};
	struct read_state st = { .format = NMBUS_FORMAT_JSON };
	const struct nmbus_profile *profile = NULL;
	unsigned long max = TELEGRAMS_DEFAULT;
	struct bus_opts o = BUS_OPTS_INIT;	/* no --json: --format */
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct nmbus_dev *dev;
	bool nke = false, keep_baud = false, ok;
	unsigned int history = 0;
	int c, n, primary;

	while ((c = bus_getopt(argc, argv, "np:b:kR:m:f:H::hv", longopts,
			       &o, usage)) != -1) {
		switch (c) {
		case 'n':
			nke = true;
			break;
		case 'p':
			if (!strcmp(optarg, "list")) {
				list_profiles();
				return EXIT_OK;
			}
			profile = nmbus_profile_find(optarg);
			if (!profile)
				die_usage("unknown profile '%s'", optarg);
			break;
		case 'k':
			keep_baud = true;
			break;
		case 'm':
			if (!parse_uint(optarg, TELEGRAMS_MAX, &max) || !max)
				die_usage("max-telegrams must be 1 to %d",
					  TELEGRAMS_MAX);
			break;
		case 'f':
			st.format = parse_format(optarg);
			break;
		case 'H':
			history = parse_history(optarg);
			break;
		}
	}
	if (argc - optind != 2)
		die_usage("expected DEVICE and ADDRESS");

	primary = parse_meter_address(argv[optind + 1], sec);
	n = nmbus_dev_open(argv[optind], &dev);
	if (n)
		die_err(n, "%s", argv[optind]);
	if (!keep_baud) {
		baud_dev = dev;
		baud_before = nmbus_dev_get_baud(dev);
		atexit(restore_baud);
	}
	if (profile)
		apply_profile(dev, profile);
	bus_apply_opts(dev, &o);
	bind_meter_address(dev, argv[optind + 1], primary, sec);
	if (nke)
		send_nke(dev);

	n = nmbus_read_telegrams(dev, (unsigned int)max, on_telegram, &st);
	if (n == -ETIMEDOUT)
		print_error("%s: no answer", argv[optind + 1]);
	else if (n == -EIO)
		print_error("%s: garbled answer (several meters?)",
			    argv[optind + 1]);
	else if (n < 0)
		print_err(n, "%s", argv[optind + 1]);
	ok = n > 0 && !st.bad;
	if (ok && history) {
		if (!st.calec) {
			print_error("%s: --history: no CALEC ST II (AMT, "
				    "version C0-C9)", argv[optind + 1]);
			ok = false;
		} else {
			ok = read_history(dev, &st, history) && !st.bad;
		}
	}
	restore_baud();
	baud_dev = NULL;
	nmbus_dev_close(dev);
	return ok ? EXIT_OK : EXIT_FAIL;
}
