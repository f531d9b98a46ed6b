// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmbus-compat - rscada/libmbus's serial tools on N_MBUS
 *
 * One program, seven names (dispatch on the name it runs as): the command
 * lines of libmbus's mbus-serial-scan, mbus-serial-scan-secondary,
 * mbus-serial-request-data, mbus-serial-request-data-multi-reply,
 * mbus-serial-select-secondary, mbus-serial-switch-baudrate and
 * mbus-serial-set-address, and what they print: the same lines, the same
 * XML (with the <Timestamp> of the reply), the same exit codes, so that
 * programs written around those tools work unchanged on the kernel's link
 * layer. DEVICE is the tty N_MBUS is attached to or /dev/mbusN.
 *
 * Each tool sends the frames libmbus's tool sends, in the same order, so
 * a bus answers both alike: the secondary search is libmbus's (digits 0
 * to 9 at every position of the mask, most significant first), which
 * differs from nmbus_scan_secondary(). The kernel adds what libmbus does
 * in user space: the response window, retries, collision detection.
 *
 * Installed under $(LIBEXECDIR)/n_mbus/libmbus-compat/ (put that first in
 * PATH); see libmbus-compat(1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nmbus.h>

#include "tools-common.h"

/* libmbus's C fields. */
#define C_SND_NKE	0x40
#define C_SND_UD	0x53
#define C_REQ_UD2	0x5b
#define C_FCB		0x20
#define C_FCV		0x10

#define ADDR_NETWORK	253
#define ADDR_BROADCAST	255
#define CI_DATA_SEND	0x51
#define CI_SELECT	0x52

#define MAX_PRIMARY	250
#define MAX_FRAMES	16	/* multi-reply: libmbus's MAXFRAMES */
#define DATA_RETRIES	3	/* libmbus: max_data_retry */
#define SEARCH_RETRIES	1	/* libmbus: max_search_retry */

/* What libmbus's mbus_error_str() holds when a selection got no reply. */
#define LIBMBUS_NULL_FRAME \
	"Got null pointer to frame, data or zero data_size."
/* ... and when the reply was garbled (a collision). */
#define LIBMBUS_BAD_START	"Invalid M-Bus frame start."

enum probe { PROBE_NOTHING, PROBE_SINGLE, PROBE_COLLISION, PROBE_ERROR };

static bool debug;
static struct nmbus_dev *port;
static int baud_before;		/* or a negative errno value */

/* One received frame and when it came (libmbus's frame->timestamp). */
struct reply {
	int status;		/* NMBUS_STATUS_ value, or -errno */
	uint8_t buf[NMBUS_FRAME_MAX];
	size_t len;
	time_t when;
};

/* ---- the port ------------------------------------------------------- */

/* The rate is the port's, shared: put it back as it was. */
static void restore_baud(void)
{
	int rc;

	if (!port || baud_before <= 0 ||
	    nmbus_dev_get_baud(port) == baud_before)
		return;
	rc = nmbus_dev_set_baud(port, (unsigned int)baud_before);
	if (rc)
		print_err(rc, "restore baud rate %d", baud_before);
}

/*
 * Open @device at @baud as libmbus's tools do; @connect_msg is the tool's
 * message when that fails. No retries of our own: libmbus sends once
 * unless a tool says otherwise.
 */
static bool port_open(const char *device, long baud, const char *connect_msg)
{
	int rc = nmbus_dev_open(device, &port);

	if (rc) {
		fprintf(stderr, "%s", connect_msg);
		fprintf(stderr, "%s: %s: %s\n", get_prog_name(), device,
			strerror(-rc));
		return false;
	}
	baud_before = nmbus_dev_get_baud(port);
	atexit(restore_baud);
	rc = nmbus_dev_set_retries(port, 0);
	if (rc) {
		print_err(rc, "%s: set retries", device);
		return false;
	}
	if (baud < 0 || baud > 38400 || nmbus_baud_to_ci((unsigned int)baud) < 0 ||
	    nmbus_dev_set_baud(port, (unsigned int)baud)) {
		fprintf(stderr, "Failed to set baud rate.\n");
		return false;
	}
	return true;
}

static void set_retries(unsigned int n)
{
	int rc = nmbus_dev_set_retries(port, n);

	if (rc)
		die_err(rc, "set retries");
}

/* libmbus's -d dump of a frame on stderr. */
static void dump(const char *label, const uint8_t *p, size_t n)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!debug || !n)
		return;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%SZ", &tm);
	fprintf(stderr, "[%s] %s (%03zu):", stamp, label, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02X", p[i]);
	fprintf(stderr, "\n");
}

/*
 * Send @tx and wait for the reply (none with NMBUS_XFER_NO_REPLY). False
 * if the request could not be built or sent: r->status is the negative
 * errno value.
 */
static bool xfer(const uint8_t *tx, int len, unsigned int flags,
		 struct reply *r)
{
	memset(r, 0, sizeof(*r));
	if (len < 0) {
		r->status = len;
		return false;
	}
	dump("SEND", tx, (size_t)len);
	r->status = nmbus_dev_xfer(port, tx, (size_t)len, flags, r->buf,
				   sizeof(r->buf), &r->len);
	r->when = time(NULL);
	if (r->status < 0)
		return false;
	dump("RECV", r->buf, r->len);
	return true;
}

static bool send_short(uint8_t c, uint8_t a, unsigned int flags,
		       struct reply *r)
{
	uint8_t tx[8];

	return xfer(tx, nmbus_build_short(tx, sizeof(tx), c, a), flags, r);
}

static bool send_long(uint8_t c, uint8_t a, uint8_t ci, const uint8_t *data,
		      size_t n, struct reply *r)
{
	uint8_t tx[NMBUS_FRAME_MAX];

	return xfer(tx, nmbus_build_long(tx, sizeof(tx), c, a, ci, data, n), 0,
		    r);
}

/* The exchange failed outright (not a timeout: the port itself). */
static NORETURN void die_xfer(const struct reply *r)
{
	die_err(r->status, "exchange");
}

/* libmbus's "init_slaves": SND_NKE to 253, then to @second. */
static void init_slaves(uint8_t second)
{
	struct reply r;

	if (debug)
		printf("init_slaves: debug: sending init frame #1\n");
	if (!send_short(C_SND_NKE, ADDR_NETWORK, 0, &r))
		die_xfer(&r);
	if (debug)
		printf("init_slaves: debug: sending init frame #2\n");
	if (!send_short(C_SND_NKE, second,
			second == ADDR_BROADCAST ? NMBUS_XFER_NO_REPLY : 0, &r))
		die_xfer(&r);
}

/* ---- addresses ------------------------------------------------------ */

/* libmbus's mbus_is_secondary_address(): 16 hex digits. */
static bool is_secondary(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!strchr("0123456789abcdefABCDEF", s[n]))
			return false;
	return n == 16;
}

/*
 * The 8 selection bytes of a mask, as libmbus packs them: the ID with F
 * nibbles as wildcards (other digits taken as their low four bits), the
 * manufacturer as written (wire order), version, medium.
 */
static void pack_mask(const char *mask, uint8_t out[8])
{
	char tmp[5];

	memset(out, 0, 8);
	for (int i = 0; i < 8; i++) {
		char c = mask[i];
		unsigned int d = c == 'F' || c == 'f' ? 15 : (c - '0') & 15;

		out[3 - i / 2] |= d << (i % 2 ? 0 : 4);
	}
	memcpy(tmp, mask + 8, 4);
	tmp[4] = '\0';
	out[4] = (uint8_t)(strtoul(tmp, NULL, 16) >> 8);
	out[5] = (uint8_t)strtoul(tmp, NULL, 16);
	memcpy(tmp, mask + 12, 2);
	tmp[2] = '\0';
	out[6] = (uint8_t)strtoul(tmp, NULL, 16);
	memcpy(tmp, mask + 14, 2);
	out[7] = (uint8_t)strtoul(tmp, NULL, 16);
}

static bool send_select(const char *mask, struct reply *r)
{
	uint8_t data[8];

	pack_mask(mask, data);
	return send_long(C_SND_UD | C_FCB, ADDR_NETWORK, CI_SELECT, data, 8,
			 r);
}

/*
 * The secondary address of a reply as libmbus writes it: the ID digits,
 * the manufacturer bytes in wire order, version, medium. False if the
 * reply has no variable data header.
 */
static bool reply_secondary(const struct reply *r, char out[17])
{
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	uint8_t sec[NMBUS_SECADDR_LEN];
	struct nmbus_frame f;

	nmbus_decode(&f, r->buf, r->len, rec, NMBUS_MAX_RECORDS);
	if (f.type != NMBUS_FRAME_LONG || f.data_type != NMBUS_DATA_VARIABLE)
		return false;
	nmbus_header_get_secaddr(&f.header, sec);
	nmbus_secaddr_format(sec, out, NMBUS_SECADDR_STRLEN + 1);
	return true;
}

/* libmbus's mbus_select_secondary_address(). */
static enum probe select_secondary(const char *mask)
{
	struct reply r;

	if (!send_select(mask, &r))
		return PROBE_ERROR;
	switch (r.status) {
	case NMBUS_STATUS_ACK:
		return PROBE_SINGLE;
	case NMBUS_STATUS_GARBLED:
	case NMBUS_STATUS_BREAK:
		return PROBE_COLLISION;
	case NMBUS_STATUS_TIMEOUT:
		return PROBE_NOTHING;
	default:
		fprintf(stderr,
			"mbus_select_secondary_address: Unexpected reply for address [%s].\n",
			mask);
		return PROBE_NOTHING;
	}
}

/*
 * ADDRESS of request-data and set-address: a secondary address is
 * selected (errors as libmbus words them, in its function "main"), and
 * 253 returned; else libmbus's atoi() of it. -1 after an error.
 */
static int resolve_address(const char *s)
{
	if (!is_secondary(s))
		return atoi(s);
	switch (select_secondary(s)) {
	case PROBE_SINGLE:
		return ADDR_NETWORK;
	case PROBE_COLLISION:
		fprintf(stderr,
			"main: Error: The address mask [%s] matches more than one device.\n",
			s);
		break;
	case PROBE_NOTHING:
		fprintf(stderr,
			"main: Error: The selected secondary address does not match any device [%s].\n",
			s);
		break;
	default:
		fprintf(stderr,
			"main: Error: Failed to select secondary address [%s].\n",
			s);
	}
	return -1;
}

/* libmbus's mbus_frame_print() on stdout. */
static void frame_print(const struct reply *r)
{
	static const int types[] = {
		[NMBUS_FRAME_ACK] = 1, [NMBUS_FRAME_SHORT] = 2,
		[NMBUS_FRAME_CONTROL] = 3, [NMBUS_FRAME_LONG] = 4,
	};
	struct nmbus_frame f;

	nmbus_decode(&f, r->buf, r->len, NULL, 0);
	printf("mbus_frame_print: Dumping M-Bus frame [type %d, %zu bytes]: ",
	       (unsigned int)f.type < ARRAY_SIZE(types) ?
	       types[f.type] : 0, r->len);
	for (size_t i = 0; i < r->len; i++)
		printf("%.2X ", r->buf[i]);
	printf("\n");
}

/* ---- XML ------------------------------------------------------------ */

/* Append to a growing string; exits when memory runs out. */
struct text {
	char *s;
	size_t len, size;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->size) {
		size_t size = t->size ? t->size : 16384;

		while (size < t->len + n + 1)
			size *= 2;
		t->s = realloc(t->s, size);
		if (!t->s)
			die("out of memory");
		t->size = size;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* libnmbus's XML of one frame, in a new string. */
static char *frame_xml(const struct nmbus_frame *f)
{
	ssize_t n = nmbus_frame_format(f, NMBUS_FORMAT_XML, NULL, 0);
	char *s;

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		die("out of memory");
	nmbus_frame_format(f, NMBUS_FORMAT_XML, s, (size_t)n + 1);
	return s;
}

/*
 * The records of one telegram's XML (@xml), renumbered from *@id on and
 * tagged with @frame (-1: no frame attribute), each with the <Timestamp>
 * of @when, as libmbus prints the records of a live read.
 */
static void add_records(struct text *t, const char *xml, unsigned int *id,
			int frame, time_t when)
{
	static const char open[] = "    <DataRecord id=\"";
	static const char value[] = "</Value>\n";
	char stamp[32], tag[64];
	const char *p = strstr(xml, open), *end;
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	while (p) {
		p = strchr(p + sizeof(open) - 1, '"') + 3;	/* past '">\n' */
		if (frame < 0)
			snprintf(tag, sizeof(tag), "%s%u\">\n", open, *id);
		else
			snprintf(tag, sizeof(tag), "%s%u\" frame=\"%d\">\n",
				 open, *id, frame);
		(*id)++;
		text_str(t, tag);
		end = strstr(p, value);
		if (!end)
			die("internal error: record without value");
		end += sizeof(value) - 1;
		text_add(t, p, (size_t)(end - p));
		if (when > 0) {
			text_str(t, "        <Timestamp>");
			text_str(t, stamp);
			text_str(t, "</Timestamp>\n");
		}
		p = strstr(end, open);
		text_add(t, end, (size_t)((p ? p : end + strlen(end)) - end));
	}
}

/*
 * libmbus's XML of a readout (mbus_frame_xml(), or mbus_frame_data_xml()
 * for one telegram): the first telegram's header, then the records of
 * every telegram numbered on, with a frame attribute when there are
 * several. Fixed and error telegrams print as they are. NULL (message
 * printed) if a telegram does not decode.
 */
static char *readout_xml(const struct reply *r, unsigned int n,
			 const char *parse_msg)
{
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	struct text t = { 0 };
	struct nmbus_frame f;
	unsigned int id = 0;
	char *xml, *end;
	const char *body;

	for (unsigned int i = 0; i < n; i++) {
		if (nmbus_decode(&f, r[i].buf, r[i].len, rec,
				 NMBUS_MAX_RECORDS)) {
			fprintf(stderr, "%s%s\n", parse_msg,
				nmbus_strerror(f.error.code));
			free(t.s);
			return NULL;
		}
		xml = frame_xml(&f);
		if (!xml)
			die("no XML for this frame");
		if (f.data_type != NMBUS_DATA_VARIABLE) {
			if (i == 0)
				return xml;
			free(xml);
			continue;
		}
		body = strstr(xml, "    <DataRecord");
		/* One </MBusData> closes the whole readout, added below. */
		end = strstr(xml, "</MBusData>");
		if (end)
			*end = '\0';
		if (i == 0)
			text_add(&t, xml, body ? (size_t)(body - xml) :
				 strlen(xml));
		if (body)
			add_records(&t, body, &id, n > 1 ? (int)i : -1,
				    r[i].when);
		free(xml);
	}
	text_str(&t, "</MBusData>\n");
	return t.s;
}

/* ---- the seven tools ------------------------------------------------ */

/* argv[@i] equals @s. */
static bool arg_is(char **argv, int i, const char *s)
{
	return !strcmp(argv[i], s);
}

static int scan_main(int argc, char **argv)
{
	const char *device;
	long baud = 9600;
	int retries = 0;

	if (argc == 2) {
		device = argv[1];
	} else if (argc == 3 && arg_is(argv, 1, "-d")) {
		debug = true;
		device = argv[2];
	} else if (argc == 4 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
	} else if (argc == 4 && arg_is(argv, 1, "-r")) {
		retries = atoi(argv[2]);
		device = argv[3];
	} else if (argc == 5 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-b")) {
		debug = true;
		baud = atol(argv[3]);
		device = argv[4];
	} else if (argc == 5 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-r")) {
		debug = true;
		retries = atoi(argv[3]);
		device = argv[4];
	} else if (argc == 6 && arg_is(argv, 1, "-b") && arg_is(argv, 3, "-r")) {
		baud = atol(argv[2]);
		retries = atoi(argv[4]);
		device = argv[5];
	} else if (argc == 7 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-b") &&
		   arg_is(argv, 4, "-r")) {
		debug = true;
		baud = atol(argv[3]);
		retries = atoi(argv[5]);
		device = argv[6];
	} else {
		fprintf(stderr,
			"usage: %s [-d] [-b BAUDRATE] [-r RETRIES] device\n",
			argv[0]);
		return 0;
	}
	if (!port_open(device, baud,
		       "Scan failed: Could not setup connection to M-bus gateway: "
		       "cannot open the port\n"))
		return 1;
	if (retries < 0 || retries > 5) {
		fprintf(stderr, "Failed to set retry count\n");
		return 1;
	}
	set_retries((unsigned int)retries);
	if (debug)
		printf("Scanning primary addresses:\n");
	for (int a = 0; a <= MAX_PRIMARY; a++) {
		struct reply r;

		if (debug) {
			/* libmbus prints each attempt; the kernel retries. */
			printf("%d ", a);
			fflush(stdout);
		}
		if (!send_short(C_SND_NKE, (uint8_t)a, 0, &r)) {
			fprintf(stderr,
				"Scan failed. Could not send ping frame: %s\n",
				strerror(-r.status));
			return 1;
		}
		if (r.status == NMBUS_STATUS_GARBLED ||
		    r.status == NMBUS_STATUS_BREAK)
			printf("Collision at address %d\n", a);
		else if (r.status == NMBUS_STATUS_ACK)
			printf("Found a M-Bus device at address %d\n", a);
	}
	return 0;
}

/* libmbus's mbus_probe_secondary_address(). */
static enum probe probe_secondary(const char *mask, char found[17])
{
	enum probe p = PROBE_NOTHING;
	struct reply r;

	for (int i = 0; i <= SEARCH_RETRIES; i++) {
		p = select_secondary(mask);
		if (p == PROBE_ERROR || p == PROBE_COLLISION)
			break;
		if (p != PROBE_SINGLE)
			continue;
		if (!send_short(C_REQ_UD2, ADDR_NETWORK, 0, &r))
			return PROBE_ERROR;
		if (r.status == NMBUS_STATUS_TIMEOUT)
			return PROBE_NOTHING;
		if (r.status == NMBUS_STATUS_GARBLED ||
		    r.status == NMBUS_STATUS_BREAK)
			return PROBE_COLLISION;
		if (r.status == NMBUS_STATUS_FRAME && r.buf[0] == 0x68) {
			if (reply_secondary(&r, found))
				return PROBE_SINGLE;
			fprintf(stderr,
				"Failed to generate secondary address from M-Bus reply frame: "
				"Non-variable data response (can't get secondary address from response).\n");
			return PROBE_NOTHING;
		}
		fprintf(stderr,
			"mbus_probe_secondary_address: Unexpected reply for address [mask %s]. Expected long frame.\n",
			mask);
		return PROBE_NOTHING;
	}
	return p;
}

/*
 * libmbus's search (mbus_scan_2nd_address_range()): at position @pos of
 * the mask, a wildcard is replaced by 0..9 in turn; a collision goes one
 * position deeper. Positions that are not wildcards are kept. -1 when a
 * probe failed.
 */
static int scan_range(int pos, const char *in)
{
	char mask[17], found[17];
	int first = 0, last = 9;

	memcpy(mask, in, sizeof(mask));
	if (mask[pos] != 'F' && mask[pos] != 'f') {
		if (pos < 15)
			return scan_range(pos + 1, mask);
		first = last = mask[pos] - '0';
	}
	for (int d = first; d <= last; d++) {
		mask[pos] = (char)('0' + d);
		switch (probe_secondary(mask, found)) {
		case PROBE_SINGLE:
			printf("Found a device on secondary address %s [using address mask %s]\n",
			       found, mask);
			fflush(stdout);
			break;
		case PROBE_COLLISION:
			if (pos < 15 && scan_range(pos + 1, mask) < 0)
				return -1;
			break;
		case PROBE_NOTHING:
			break;
		default:
			fprintf(stderr,
				"mbus_scan_2nd_address_range: Failed to probe secondary address [%s].\n",
				mask);
			return -1;
		}
	}
	return 0;
}

static int scan_secondary_main(int argc, char **argv)
{
	const char *device, *mask = "FFFFFFFFFFFFFFFF";
	long baud = 9600;

	if (argc == 2) {
		device = argv[1];
	} else if (argc == 3 && arg_is(argv, 1, "-d")) {
		device = argv[2];
		debug = true;
	} else if (argc == 3) {
		device = argv[1];
		mask = argv[2];
	} else if (argc == 4 && arg_is(argv, 1, "-d")) {
		device = argv[2];
		mask = argv[3];
		debug = true;
	} else if (argc == 4 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
	} else if (argc == 5 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-b")) {
		baud = atol(argv[3]);
		device = argv[4];
		debug = true;
	} else if (argc == 5 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
		mask = argv[4];
	} else if (argc == 6 && arg_is(argv, 1, "-d")) {
		baud = atol(argv[3]);
		device = argv[4];
		mask = argv[5];
		debug = true;
	} else {
		fprintf(stderr,
			"usage: %s [-d] [-b BAUDRATE] device [address-mask]\n"
			"\toptional flag -d for debug printout\n"
			"\toptional flag -b for selecting baudrate\n"
			"\trestrict the search by supplying an optional address mask on the form\n"
			"\t'FFFFFFFFFFFFFFFF' where F is a wildcard character\n",
			argv[0]);
		return 0;
	}
	if (!is_secondary(mask)) {
		fprintf(stderr,
			"Misformatted secondary address mask. Must be 16 character HEX number.\n");
		return 1;
	}
	if (!port_open(device, baud,
		       "Failed to setup connection to M-bus gateway\n"))
		return 1;
	init_slaves(ADDR_BROADCAST);
	scan_range(0, mask);
	return 0;
}

/* The parts of request-data and multi-reply before the readout. */
static int request_setup(const char *device, long baud, const char *addr)
{
	if (!port_open(device, baud,
		       "Failed to setup connection to M-bus gateway\n"))
		return -1;
	init_slaves(ADDR_NETWORK);
	return resolve_address(addr);
}

static int request_data_main(int argc, char **argv)
{
	const char *device, *addr;
	long baud = 9600;
	struct reply r;
	char *xml;
	int a;

	if (argc == 3) {
		device = argv[1];
		addr = argv[2];
	} else if (argc == 4 && arg_is(argv, 1, "-d")) {
		device = argv[2];
		addr = argv[3];
		debug = true;
	} else if (argc == 5 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
		addr = argv[4];
	} else if (argc == 6 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-b")) {
		baud = atol(argv[3]);
		device = argv[4];
		addr = argv[5];
		debug = true;
	} else {
		fprintf(stderr,
			"usage: %s [-d] [-b BAUDRATE] device mbus-address\n"
			"    optional flag -d for debug printout\n"
			"    optional flag -b for selecting baudrate\n",
			argv[0]);
		return 0;
	}
	a = request_setup(device, baud, addr);
	if (a < 0)
		return 1;
	if (a > 255 || !send_short(C_REQ_UD2, (uint8_t)a, 0, &r)) {
		fprintf(stderr, "Failed to send M-Bus request frame.\n");
		return 1;
	}
	if (r.status != NMBUS_STATUS_FRAME && r.status != NMBUS_STATUS_ACK) {
		fprintf(stderr, "Failed to receive M-Bus response frame.\n");
		return 1;
	}
	if (debug)
		frame_print(&r);
	xml = readout_xml(&r, 1, "M-bus data parse error: ");
	if (!xml)
		return 1;
	fputs(xml, stdout);
	free(xml);
	return 0;
}

static NORETURN void multi_usage(char **argv)
{
	fprintf(stderr,
		"usage: %s [-d] [-b BAUDRATE] [-f FRAMES] device mbus-address\n"
		"    optional flag -d for debug printout\n"
		"    optional flag -b for selecting baudrate\n"
		"    optional flag -f for selecting the maximal number of frames\n",
		argv[0]);
	exit(1);
}

/* Whether the last record of a telegram is DIF 1F: more follow. */
static bool more_follow(const struct reply *r)
{
	struct nmbus_record rec[NMBUS_MAX_RECORDS];
	struct nmbus_frame f;

	if (nmbus_decode(&f, r->buf, r->len, rec, NMBUS_MAX_RECORDS))
		return false;
	return f.data_type == NMBUS_DATA_VARIABLE && f.more_records_follow;
}

/*
 * libmbus's mbus_sendrecv_request(): REQ_UD2 with FCV and FCB, the FCB
 * toggled for every further telegram while one ends with DIF 1F; each
 * request sent up to DATA_RETRIES more times. The number of telegrams,
 * or -1.
 */
static int read_telegrams(int a, struct reply *r, int max)
{
	uint8_t c = C_REQ_UD2 | C_FCV | C_FCB;
	int n = 0;

	set_retries(DATA_RETRIES);
	for (;;) {
		if (!send_short(c, (uint8_t)a, 0, &r[n]))
			return -1;
		if (r[n].status == NMBUS_STATUS_TIMEOUT) {
			for (int i = 0; i <= DATA_RETRIES; i++)
				fprintf(stderr,
					"mbus_sendrecv_request: No M-Bus response frame received.\n");
			return -1;
		}
		if (r[n].status != NMBUS_STATUS_FRAME &&
		    r[n].status != NMBUS_STATUS_ACK) {
			fprintf(stderr,
				"mbus_sendrecv_request: Received invalid M-Bus response frame.\n");
			return -1;
		}
		if (!more_follow(&r[n++]) || max <= 0 || n >= max ||
		    n >= MAX_FRAMES * 4)
			return n;
		c ^= C_FCB;
	}
}

static int multi_reply_main(int argc, char **argv)
{
	struct reply *r;
	long baud = 9600;
	int max = MAX_FRAMES, c, a, n;
	char *xml;

	for (c = 1; c < argc - 2; c++) {
		if (arg_is(argv, c, "-d")) {
			debug = true;
		} else if (arg_is(argv, c, "-b")) {
			c++;
			baud = atol(argv[c]);
		} else if (arg_is(argv, c, "-f")) {
			c++;
			max = atoi(argv[c]);
		} else {
			multi_usage(argv);
		}
	}
	if (c > argc - 2)
		multi_usage(argv);
	a = request_setup(argv[c], baud, argv[c + 1]);
	if (a < 0)
		return 1;
	r = calloc(MAX_FRAMES * 4, sizeof(*r));
	if (!r)
		die("out of memory");
	n = a > 255 ? -1 : read_telegrams(a, r, max);
	if (n < 0) {
		fprintf(stderr, "Failed to send/receive M-Bus request.\n");
		return 1;
	}
	if (debug)
		for (int i = 0; i < n; i++)
			frame_print(&r[i]);
	xml = readout_xml(r, (unsigned int)n,
			  "Failed to generate XML representation of MBUS frames: ");
	if (!xml)
		return 1;
	fputs(xml, stdout);
	free(xml);
	free(r);
	return 0;
}

static int select_secondary_main(int argc, char **argv)
{
	const char *device, *addr;
	long baud = 9600;
	struct reply r;
	char found[17];

	if (argc == 3) {
		device = argv[1];
		addr = argv[2];
	} else if (argc == 5 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
		addr = argv[4];
	} else {
		fprintf(stderr,
			"usage: %s [-b BAUDRATE] device secondary-mbus-address\n"
			"    optional flag -b for selecting baudrate\n",
			argv[0]);
		return 0;
	}
	if (!is_secondary(addr)) {
		fprintf(stderr,
			"Misformatted secondary address. Must be 16 character HEX number.\n");
		return 1;
	}
	if (!port_open(device, baud,
		       "Failed to setup connection to M-bus gateway\n"))
		return 1;
	if (!send_select(addr, &r)) {
		fprintf(stderr, "Failed to send selection frame: %s\n",
			strerror(-r.status));
		return 1;
	}
	/* libmbus names argv[2] here, whatever it is. */
	if (r.status == NMBUS_STATUS_TIMEOUT) {
		fprintf(stderr,
			"No reply from device with secondary address %s: %s\n",
			argv[2], LIBMBUS_NULL_FRAME);
		return 1;
	}
	if (r.status == NMBUS_STATUS_GARBLED || r.status == NMBUS_STATUS_BREAK) {
		fprintf(stderr,
			"Invalid reply from %s: The address address probably match more than one device: %s\n",
			argv[2], LIBMBUS_BAD_START);
		return 1;
	}
	if (r.status != NMBUS_STATUS_ACK) {
		fprintf(stderr, "Unknown reply:\n");
		frame_print(&r);
		return 0;
	}
	if (!send_short(C_REQ_UD2, ADDR_NETWORK, 0, &r)) {
		fprintf(stderr,
			"Failed to send request to selected secondary device: %s\n",
			strerror(-r.status));
		return 1;
	}
	if (r.status != NMBUS_STATUS_FRAME && r.status != NMBUS_STATUS_ACK) {
		fprintf(stderr,
			"Failed to recieve reply from selected secondary device: %s\n",
			LIBMBUS_NULL_FRAME);
		return 1;
	}
	if (r.status == NMBUS_STATUS_FRAME) {
		if (!reply_secondary(&r, found))
			found[0] = '\0';
		printf("Recieved a reply from secondarily addressed device: Searched for [%s] and found [%s].\n",
		       argv[2], found);
	}
	return 0;
}

/* After a SND_UD: libmbus's three outcomes. */
static int snd_ud_outcome(const struct reply *r, const char *done)
{
	if (r->status == NMBUS_STATUS_TIMEOUT) {
		fprintf(stderr, "No reply from device\n");
		return 1;
	}
	if (r->status != NMBUS_STATUS_ACK) {
		fprintf(stderr, "Unknown reply:\n");
		frame_print(r);
		return 0;
	}
	fputs(done, stdout);
	return 0;
}

static int set_address_main(int argc, char **argv)
{
	const char *device, *old;
	long baud = 9600;
	int new_addr, a;
	uint8_t data[3];
	struct reply r;
	char done[64];

	if (argc == 4) {
		device = argv[1];
		old = argv[2];
		new_addr = atoi(argv[3]);
	} else if (argc == 5 && arg_is(argv, 1, "-d")) {
		device = argv[2];
		old = argv[3];
		new_addr = atoi(argv[4]);
		debug = true;
	} else if (argc == 6 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
		old = argv[4];
		new_addr = atoi(argv[5]);
	} else if (argc == 7 && arg_is(argv, 1, "-d") && arg_is(argv, 2, "-b")) {
		baud = atol(argv[3]);
		device = argv[4];
		old = argv[5];
		new_addr = atoi(argv[6]);
		debug = true;
	} else {
		fprintf(stderr,
			"usage: %s [-d] [-b BAUDRATE] device mbus-address new-primary-address\n"
			"    optional flag -d for debug printout\n"
			"    optional flag -b for selecting baudrate\n",
			argv[0]);
		return 0;
	}
	if (new_addr < 0 || new_addr > 252) {
		fprintf(stderr, "Invalid new primary address\n");
		return 255;	/* libmbus returns -1 */
	}
	if (!port_open(device, baud,
		       "Failed to setup connection to M-bus gateway\n"))
		return 1;
	init_slaves(ADDR_NETWORK);
	if (!send_short(C_SND_NKE, (uint8_t)new_addr, 0, &r)) {
		fprintf(stderr,
			"Verification failed. Could not send ping frame: %s\n",
			strerror(-r.status));
		return 1;
	}
	if (r.status != NMBUS_STATUS_TIMEOUT) {
		fprintf(stderr,
			"Verification failed. Got a response from new address\n");
		return 1;
	}
	a = resolve_address(old);
	if (a < 0)
		return 1;
	data[0] = 0x01;
	data[1] = 0x7a;
	data[2] = (uint8_t)new_addr;
	if (a > 255 || !send_long(C_SND_UD, (uint8_t)a, CI_DATA_SEND, data, 3,
				  &r)) {
		fprintf(stderr,
			"Failed to send set primary address frame: %s\n",
			a > 255 ? "invalid address" : strerror(-r.status));
		return 1;
	}
	snprintf(done, sizeof(done), "Set primary address of device to %d\n",
		 new_addr);
	return snd_ud_outcome(&r, done);
}

static int switch_baudrate_main(int argc, char **argv)
{
	const char *device;
	long baud = 9600, target;
	int a, ci;
	struct reply r;
	char done[64];

	if (argc == 4) {
		device = argv[1];
		a = atoi(argv[2]);
		target = atol(argv[3]);
	} else if (argc == 6 && arg_is(argv, 1, "-b")) {
		baud = atol(argv[2]);
		device = argv[3];
		a = atoi(argv[4]);
		target = atol(argv[5]);
	} else {
		fprintf(stderr,
			"usage: %s [-b BAUDRATE] device address target-baudrate\n",
			argv[0]);
		return 0;
	}
	if (!port_open(device, baud,
		       "Failed to setup connection to M-bus gateway\n"))
		return 1;
	ci = target > 0 && target <= 38400 ?
	     nmbus_baud_to_ci((unsigned int)target) : -1;
	if (a < 0 || a > 255 || ci < 0 ||
	    !send_long(C_SND_UD, (uint8_t)a, (uint8_t)ci, NULL, 0, &r)) {
		fprintf(stderr, "Failed to send switch baudrate frame: %s\n",
			ci < 0 ? "invalid baud rate" : "invalid address");
		return 1;
	}
	snprintf(done, sizeof(done), "Switched baud rate of device to %ld\n",
		 target);
	return snd_ud_outcome(&r, done);
}

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} tools[] = {
	{ "mbus-serial-scan", scan_main },
	{ "mbus-serial-scan-secondary", scan_secondary_main },
	{ "mbus-serial-request-data", request_data_main },
	{ "mbus-serial-request-data-multi-reply", multi_reply_main },
	{ "mbus-serial-select-secondary", select_secondary_main },
	{ "mbus-serial-switch-baudrate", switch_baudrate_main },
	{ "mbus-serial-set-address", set_address_main },
};

int main(int argc, char **argv)
{
	const char *name = get_prog_name();

	/* "libmbus-compat TOOL ARGS...": the same as running TOOL. */
	if (!strcmp(name, "libmbus-compat") && argc > 1) {
		argv++;
		argc--;
		name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
		       argv[0];
	}
	for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
		if (!strcmp(name, tools[i].name))
			return tools[i].main(argc, argv);
	fprintf(stderr,
		"%s: run me as one of libmbus's serial tools (a link of that name),\n"
		"or as '%s TOOL [ARGUMENTS]': ", get_prog_name(),
		get_prog_name());
	for (size_t i = 0; i < ARRAY_SIZE(tools); i++)
		fprintf(stderr, "%s%s", i ? ", " : "", tools[i].name);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}
