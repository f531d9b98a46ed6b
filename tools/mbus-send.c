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
		{ "baud", required_argument, NULL, 'b' },
		{ "no-reply", no_argument, NULL, 'n' },
		{ "retries", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t tx[NMBUS_FRAME_MAX], rx[NMBUS_FRAME_MAX];
	unsigned long retries = 6, baud = 0;
	bool no_reply = false, json = false;
	char text[4 * NMBUS_FRAME_MAX], name[16];
	size_t pos, rx_len = 0;
	struct nmbus_dev *dev;
	ssize_t n;
	int c, st;

	while ((c = getopt_long(argc, argv, "b:nR:jhv", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			baud = parse_baud_arg(optarg);
			break;
		case 'n':
			no_reply = true;
			break;
		case 'R':
			retries = parse_retries_arg(optarg);
			break;
		case 'j':
			json = true;
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
		die_usage("%s at column %zu", errno == EMSGSIZE ?
			  "frame too long" : "bad hex text", pos + 1);
	if (!n)
		die_usage("empty frame");

	dev = nmbus_dev_open(argv[optind]);
	if (!dev)
		die_perror("%s", argv[optind]);
	if (baud && nmbus_dev_set_baud(dev, (unsigned int)baud))
		die_perror("set baud rate %lu", baud);
	if (retries <= 5 && nmbus_dev_set_retries(dev, (unsigned int)retries))
		die_perror("set retries");
	st = nmbus_dev_xfer(dev, tx, (size_t)n,
			    no_reply ? NMBUS_XFER_NO_REPLY : 0, rx, sizeof(rx),
			    &rx_len);
	if (st < 0)
		die_perror("send");
	nmbus_dev_close(dev);

	snprintf(name, sizeof(name), "%s", nmbus_status_name(st));
	if (json) {
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
