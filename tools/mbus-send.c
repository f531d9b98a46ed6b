// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-send - send one raw M-Bus frame and show the answer
 *
 * One MBUS_IOC_XFER: the kernel sends the frame (validated), waits for
 * the reply under the EN 13757-2 timing, retries as configured, and
 * reports the outcome, printed here with the reply bytes.
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
		"Usage: %s [OPTIONS] DEVICE HEX...\n"
		"\n"
		"Send one frame, given as hex (spaces allowed, also across\n"
		"several arguments), on the M-Bus of DEVICE (0, mbus0, /dev/mbus0\n"
		"or the tty N_MBUS is attached to) and print the outcome and the\n"
		"reply on one line: FRAME, ACK, TIMEOUT, GARBLED, BREAK or NONE,\n"
		"then the bytes received in hex. The kernel checks the frame\n"
		"(start, length, checksum, stop byte) before sending it.\n"
		"\n"
		"Options:\n"
		"  -b, --baud=B       set the port to B baud first\n"
		"  -n, --no-reply     do not wait for a reply (broadcasts to 255)\n"
		"  -R, --retries=N    retries on no valid reply (0-5)\n"
		"  -j, --json         {\"status\":..., \"reply\":..., ...} instead\n"
		"  -h, --help         show this help and exit\n"
		"  -v, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 for a frame, an ACK or a sent broadcast, 1 for\n"
		"timeout, garbled reply, break or failure, 2 on bad usage.\n",
		get_prog_name());
}

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		OPT_BAUD,
		{ "no-reply", no_argument, NULL, 'n' },
		OPT_RETRIES, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_END
	};
	uint8_t tx[NMBUS_FRAME_MAX], rx[NMBUS_FRAME_MAX];
	struct bus_opts o = BUS_OPTS_INIT;
	char text[4 * NMBUS_FRAME_MAX], name[16];
	size_t pos, rx_len = 0;
	struct nmbus_dev *dev;
	bool no_reply = false;
	ssize_t n;
	int st;

	/* -n/--no-reply is its one option of its own. */
	while (bus_getopt(argc, argv, "b:nR:jhv", longopts, &o, usage) == 'n')
		no_reply = true;
	if (argc - optind < 2)
		die_usage("expected DEVICE and HEX");
	text[0] = '\0';
	for (int i = optind + 1; i < argc; i++) {
		if (strlen(text) + strlen(argv[i]) + 2 > sizeof(text))
			die_usage("frame too long");
		strcat(text, argv[i]);
		strcat(text, " ");
	}
	n = nmbus_parse_hex(text, strlen(text), tx, sizeof(tx), &pos);
	if (n < 0)
		die_usage("%s at column %zu", n == -EMSGSIZE ?
			  "frame too long" : "bad hex text", pos + 1);
	if (!n)
		die_usage("empty frame");

	dev = bus_open(argv[optind], &o);
	st = nmbus_dev_xfer(dev, tx, (size_t)n,
			    no_reply ? NMBUS_XFER_NO_REPLY : 0, rx, sizeof(rx),
			    &rx_len);
	if (st < 0)
		die_err(st, "send");
	nmbus_dev_close(dev);

	snprintf(name, sizeof(name), "%s", nmbus_status_name(st));
	if (o.json) {
		printf("{\"status\":");
		print_json_str(name);
		printf(",\"reply\":\"");
		for (size_t i = 0; i < rx_len; i++)
			printf("%s%02X", i ? " " : "", rx[i]);
		printf("\"}\n");
	} else {
		upper(name);
		printf("%s", name);
		for (size_t i = 0; i < rx_len; i++)
			printf(" %02X", rx[i]);
		putchar('\n');
	}
	return st == NMBUS_STATUS_FRAME || st == NMBUS_STATUS_ACK ||
	       st == NMBUS_STATUS_NONE ? EXIT_OK : EXIT_FAIL;
}
