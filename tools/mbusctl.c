// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbusctl: list, inspect, configure and monitor M-Bus ports
 *
 * The front of the generic netlink family "mbus" (libmnl): every port with
 * N_MBUS attached, its line speed, the defaults new files of /dev/mbusN
 * start with, its counters; changing those with CAP_NET_ADMIN; and a
 * monitor that prints what happens on the buses, one event per line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/mbus.h>
#include <linux/netlink.h>

#include "nmbus.h"
#include "tools-common.h"

#define MAX_PORTS	256

static bool opt_json;
static bool opt_stats;

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	int events_group;
	char buf[1 << 16];
};

/* What GET_PORT says about one port. */
struct port {
	uint32_t index;
	char name[32];
	char tty[64];
	uint32_t baud;
	struct mbus_params params;
	bool has_stats;
	uint64_t stats[MBUS_STATS_MAX + 1];
};

struct port_list {
	struct port *ports;
	int n;
};

/* Names of the counters, in the order of the MBUS_STATS_ attributes. */
static const char *const stat_names[MBUS_STATS_MAX + 1] = {
	[MBUS_STATS_TX_FRAMES] = "tx_frames",
	[MBUS_STATS_RX_FRAMES] = "rx_frames",
	[MBUS_STATS_RX_ACKS] = "rx_acks",
	[MBUS_STATS_TIMEOUTS] = "timeouts",
	[MBUS_STATS_RETRIES] = "retries",
	[MBUS_STATS_CHECKSUM_ERRORS] = "checksum_errors",
	[MBUS_STATS_LENGTH_ERRORS] = "length_errors",
	[MBUS_STATS_PARITY_ERRORS] = "parity_errors",
	[MBUS_STATS_FRAMING_ERRORS] = "framing_errors",
	[MBUS_STATS_OVERRUNS] = "overruns",
	[MBUS_STATS_BREAKS] = "breaks",
	[MBUS_STATS_GARBLED] = "garbled",
	[MBUS_STATS_ECHO_DROPPED] = "echo_dropped",
	[MBUS_STATS_NOISE_BYTES] = "noise_bytes",
	[MBUS_STATS_TX_BYTES] = "tx_bytes",
	[MBUS_STATS_RX_BYTES] = "rx_bytes",
	[MBUS_STATS_CHAR_TIMEOUTS] = "char_timeouts",
	[MBUS_STATS_RX_DROPPED] = "rx_dropped",
	[MBUS_STATS_EVENTS_DROPPED] = "events_dropped",
};

static const char *const event_names[MBUS_CMD_MAX + 1] = {
	[MBUS_CMD_PORT_NEW] = "port-new",
	[MBUS_CMD_PORT_DEL] = "port-del",
	[MBUS_CMD_FRAME_TX] = "tx",
	[MBUS_CMD_FRAME_RX] = "rx",
	[MBUS_CMD_TIMEOUT] = "timeout",
	[MBUS_CMD_GARBLED] = "garbled",
	[MBUS_CMD_BREAK] = "break",
	[MBUS_CMD_LINE_ERR] = "line-error",
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... COMMAND [ARG]...\n"
		"\n"
		"List, inspect, configure and monitor the M-Bus ports of the n_mbus\n"
		"line discipline through its generic netlink family \"mbus\".\n"
		"A PORT is named by number, name, path or its tty: 0, mbus0,\n"
		"/dev/mbus0, ttyUSB0 and /dev/ttyUSB0 can all mean the same port.\n"
		"\n"
		"Commands:\n"
		"  list                      every port, one per line\n"
		"  show PORT                 a port's line speed and defaults\n"
		"  set PORT SETTING VALUE... change the line speed or the defaults\n"
		"                            that files opened from then on start\n"
		"                            with (needs CAP_NET_ADMIN):\n"
		"                              baud 300..38400, timeout-us N,\n"
		"                              char-timeout-us N, retries N,\n"
		"                              wakeup N, wakeup-delay-us N,\n"
		"                              echo-cancel on|off\n"
		"  monitor [PORT]            print events as they happen (needs\n"
		"                            CAP_NET_ADMIN), until interrupted\n"
		"\n"
		"Options:\n"
		"  -j, --json     JSON output, one object per line\n"
		"  -s, --stats    show: include every counter\n"
		"  -h, --help     show this help and exit\n"
		"  -v, --version  show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on failure, 2 on bad usage.\n",
		get_prog_name());
}

/* ---- netlink ------------------------------------------------------------ */

/* The kernel's explanation of the last error (extended ACK), or "". */
static char extack_msg[256];

/* Keep the extended ACK message of an error, if the kernel sent one. */
static void keep_extack(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr, *tlvs;
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	tlvs = (const void *)((const char *)err + off);
	mnl_attr_for_each_payload(tlvs, mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(extack_msg, sizeof(extack_msg), "%s",
				 mnl_attr_get_str(attr));
	}
}

/* Look for an error answer in @len bytes and report its extack. */
static void scan_errors(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int n = len;

	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		const struct nlmsgerr *err;

		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		err = mnl_nlmsg_get_payload(nlh);
		if (err->error)
			keep_extack(nlh);
	}
}

/* Send @nlh and run @cb on every answer; -1 with errno on failure. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++nl->seq;
	extack_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return -1;
		scan_errors(nl->buf, n);
		ret = mnl_cb_run(nl->buf, n, nl->seq, nl->portid, cb, data);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -1 : 0;
	}
}

static struct nlmsghdr *nl_request(struct nl *nl, uint16_t type, uint8_t cmd,
				   uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = MBUS_GENL_VERSION;
	return nlh;
}

static int group_cb(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;
	const struct nlattr *a, *name = NULL, *id = NULL;

	mnl_attr_for_each_nested(a, attr) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			id = a;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), MBUS_GENL_MCGRP_EVENTS))
		nl->events_group = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;
	const struct nlattr *g;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			nl->family = mnl_attr_get_u16(attr);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		mnl_attr_for_each_nested(g, attr)
			group_cb(g, nl);
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, GENL_HDRLEN, family_attr_cb, data);
	return MNL_CB_OK;
}

/* Open a generic netlink socket and look the "mbus" family up. */
static struct nl *nl_open(void)
{
	struct nl *nl = calloc(1, sizeof(*nl));
	struct nlmsghdr *nlh;
	int one = 1;

	if (!nl)
		die_perror("out of memory");
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die_perror("netlink");
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = time(NULL);
	nl->events_group = -1;

	nlh = nl_request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MBUS_GENL_NAME);
	if (nl_talk(nl, nlh, family_cb, nl) < 0 || !nl->family) {
		if (errno == ENOENT)
			die("no generic netlink family \"%s\": is n_mbus loaded?",
			    MBUS_GENL_NAME);
		die_perror("cannot resolve the netlink family \"%s\"",
			   MBUS_GENL_NAME);
	}
	return nl;
}

/* ---- ports -------------------------------------------------------------- */

static int stats_cb(const struct nlattr *attr, void *data)
{
	struct port *p = data;
	int type = mnl_attr_get_type(attr);

	if (type >= MBUS_STATS_TX_FRAMES && type <= MBUS_STATS_MAX &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0) {
		p->stats[type] = mnl_attr_get_u64(attr);
		p->has_stats = true;
	}
	return MNL_CB_OK;
}

static int port_attr_cb(const struct nlattr *attr, void *data)
{
	struct port *p = data;
	int type = mnl_attr_get_type(attr);

	switch (type) {
	case MBUS_ATTR_INDEX:
	case MBUS_ATTR_BAUD:
	case MBUS_ATTR_RESPONSE_TIMEOUT_US:
	case MBUS_ATTR_CHAR_TIMEOUT_US:
	case MBUS_ATTR_WAKEUP_DELAY_US:
	case MBUS_ATTR_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_OK;
		break;
	case MBUS_ATTR_DEV_NAME:
	case MBUS_ATTR_TTY_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_OK;
		break;
	}
	switch (type) {
	case MBUS_ATTR_INDEX:
		p->index = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_DEV_NAME:
		snprintf(p->name, sizeof(p->name), "%s", mnl_attr_get_str(attr));
		break;
	case MBUS_ATTR_TTY_NAME:
		snprintf(p->tty, sizeof(p->tty), "%s", mnl_attr_get_str(attr));
		break;
	case MBUS_ATTR_BAUD:
		p->baud = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_RESPONSE_TIMEOUT_US:
		p->params.response_timeout_us = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_CHAR_TIMEOUT_US:
		p->params.char_timeout_us = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_WAKEUP_DELAY_US:
		p->params.wakeup_delay_us = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_FLAGS:
		p->params.flags = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_RETRIES:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
			p->params.retries = mnl_attr_get_u8(attr);
		break;
	case MBUS_ATTR_WAKEUP_BYTES:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			p->params.wakeup_bytes = mnl_attr_get_u16(attr);
		break;
	case MBUS_ATTR_STATS:
		mnl_attr_parse_nested(attr, stats_cb, p);
		break;
	}
	return MNL_CB_OK;
}

static int port_cb(const struct nlmsghdr *nlh, void *data)
{
	struct port_list *list = data;
	struct port *p;

	if (list->n >= MAX_PORTS)
		return MNL_CB_OK;
	p = &list->ports[list->n++];
	memset(p, 0, sizeof(*p));
	mnl_attr_parse(nlh, GENL_HDRLEN, port_attr_cb, p);
	return MNL_CB_OK;
}

/* Every port, or only @index (>= 0). Dies on failure. */
static void get_ports(struct nl *nl, int index, struct port_list *list)
{
	struct nlmsghdr *nlh;

	list->ports = calloc(MAX_PORTS, sizeof(*list->ports));
	list->n = 0;
	if (!list->ports)
		die_perror("out of memory");
	if (index < 0) {
		nlh = nl_request(nl, nl->family, MBUS_CMD_GET_PORT, NLM_F_DUMP);
	} else {
		nlh = nl_request(nl, nl->family, MBUS_CMD_GET_PORT, NLM_F_ACK);
		mnl_attr_put_u32(nlh, MBUS_ATTR_INDEX, index);
	}
	if (nl_talk(nl, nlh, port_cb, list) < 0) {
		if (errno == ENODEV)
			die("mbus%d: no such port", index);
		if (extack_msg[0])
			die("cannot read the ports: %s: %s", strerror(errno),
			    extack_msg);
		die_perror("cannot read the ports");
	}
}

/* "3", "mbus3", "/dev/mbus3" or the tty ("ttyUSB0", "/dev/ttyUSB0"). */
static int resolve_port(struct nl *nl, const char *arg)
{
	const char *s = arg;
	struct port_list list;
	char tty[64];
	unsigned long v;
	int i, n = 0, index = -1;

	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "mbus", 4) && parse_uint(s + 4, MAX_PORTS - 1, &v))
		return v;
	if (parse_uint(s, MAX_PORTS - 1, &v))
		return v;
	/* The kernel names /dev/pts/0 "pts0". */
	for (; *s && n < (int)sizeof(tty) - 1; s++)
		if (*s != '/')
			tty[n++] = *s;
	tty[n] = '\0';
	get_ports(nl, -1, &list);
	for (i = 0; i < list.n; i++)
		if (!strcmp(list.ports[i].tty, tty))
			index = list.ports[i].index;
	free(list.ports);
	if (index < 0)
		die("%s: no such port", arg);
	return index;
}

/* ---- output ------------------------------------------------------------- */

static void print_port(const struct port *p, bool detail)
{
	const struct mbus_params *d = &p->params;
	bool echo = d->flags & MBUS_PARAM_ECHO_CANCEL;
	int i;

	if (opt_json) {
		printf("{\"index\": %u, \"name\": ", p->index);
		print_json_str(p->name);
		printf(", \"tty\": ");
		print_json_str(p->tty);
		printf(", \"baud\": %u", p->baud);
		if (detail)
			printf(", \"defaults\": {\"response_timeout_us\": %u, "
			       "\"char_timeout_us\": %u, \"retries\": %u, "
			       "\"wakeup_bytes\": %u, \"wakeup_delay_us\": %u, "
			       "\"echo_cancel\": %s, \"flags\": %u}",
			       d->response_timeout_us, d->char_timeout_us,
			       d->retries, d->wakeup_bytes, d->wakeup_delay_us,
			       echo ? "true" : "false", d->flags);
		if (detail && opt_stats && p->has_stats) {
			printf(", \"stats\": {");
			for (i = MBUS_STATS_TX_FRAMES; i <= MBUS_STATS_MAX; i++)
				printf("%s\"%s\": %" PRIu64,
				       i == MBUS_STATS_TX_FRAMES ? "" : ", ",
				       stat_names[i], p->stats[i]);
			putchar('}');
		}
		printf("}\n");
		return;
	}
	if (!detail) {
		printf("%s\t%s\t%u\n", p->name, p->tty, p->baud);
		return;
	}
	printf("%s: tty %s baud %u\n", p->name, p->tty, p->baud);
	printf("  defaults: timeout-us %u char-timeout-us %u retries %u "
	       "wakeup %u wakeup-delay-us %u echo-cancel %s\n",
	       d->response_timeout_us, d->char_timeout_us, d->retries,
	       d->wakeup_bytes, d->wakeup_delay_us, echo ? "on" : "off");
	if (opt_stats && p->has_stats)
		for (i = MBUS_STATS_TX_FRAMES; i <= MBUS_STATS_MAX; i++)
			printf("  %s %" PRIu64 "\n", stat_names[i], p->stats[i]);
}

/* ---- commands ----------------------------------------------------------- */

static int cmd_list(struct nl *nl, int argc, char **argv)
{
	struct port_list list;
	int i;

	(void)argv;
	if (argc)
		die_usage("list takes no argument");
	get_ports(nl, -1, &list);
	for (i = 0; i < list.n; i++)
		print_port(&list.ports[i], false);
	free(list.ports);
	return EXIT_OK;
}

static int cmd_show(struct nl *nl, int argc, char **argv)
{
	struct port_list list;

	if (argc != 1)
		die_usage("show takes one PORT");
	get_ports(nl, resolve_port(nl, argv[0]), &list);
	if (list.n != 1)
		die("%s: no answer", argv[0]);
	print_port(&list.ports[0], true);
	free(list.ports);
	return EXIT_OK;
}

struct setting {
	const char *name;
	uint16_t attr;
	int size;		/* 1, 2, 4 bytes; 0 = on|off flag */
	unsigned long max;
};

static const struct setting settings[] = {
	{ "baud", MBUS_ATTR_BAUD, 4, 38400 },
	{ "timeout-us", MBUS_ATTR_RESPONSE_TIMEOUT_US, 4, MBUS_TIMEOUT_US_MAX },
	{ "char-timeout-us", MBUS_ATTR_CHAR_TIMEOUT_US, 4, MBUS_TIMEOUT_US_MAX },
	{ "retries", MBUS_ATTR_RETRIES, 1, MBUS_RETRIES_MAX },
	{ "wakeup", MBUS_ATTR_WAKEUP_BYTES, 2, MBUS_WAKEUP_BYTES_MAX },
	{ "wakeup-delay-us", MBUS_ATTR_WAKEUP_DELAY_US, 4, MBUS_TIMEOUT_US_MAX },
	{ "echo-cancel", MBUS_ATTR_FLAGS, 0, 0 },
};

static const struct setting *find_setting(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settings); i++)
		if (!strcmp(settings[i].name, name))
			return &settings[i];
	return NULL;
}

static int cmd_set(struct nl *nl, int argc, char **argv)
{
	const struct setting *s;
	struct port_list list;
	struct nlmsghdr *nlh;
	bool flags_set = false;
	uint32_t flags;
	unsigned long v;
	int index, i;

	if (argc < 3 || (argc - 1) % 2)
		die_usage("set takes a PORT and SETTING VALUE pairs");
	index = resolve_port(nl, argv[0]);
	/* echo-cancel changes one bit of the flags: start from the others. */
	get_ports(nl, index, &list);
	flags = list.ports[0].params.flags;
	free(list.ports);

	nlh = nl_request(nl, nl->family, MBUS_CMD_SET_PORT, NLM_F_ACK);
	mnl_attr_put_u32(nlh, MBUS_ATTR_INDEX, index);
	for (i = 1; i < argc; i += 2) {
		s = find_setting(argv[i]);
		if (!s)
			die_usage("unknown setting '%s'", argv[i]);
		if (!s->size) {
			if (!strcmp(argv[i + 1], "on"))
				flags |= MBUS_PARAM_ECHO_CANCEL;
			else if (!strcmp(argv[i + 1], "off"))
				flags &= ~MBUS_PARAM_ECHO_CANCEL;
			else
				die_usage("%s: expected on or off", argv[i]);
			flags_set = true;
			continue;
		}
		if (!parse_uint(argv[i + 1], s->max, &v))
			die_usage("%s: bad value '%s'", argv[i], argv[i + 1]);
		if (s->size == 1)
			mnl_attr_put_u8(nlh, s->attr, v);
		else if (s->size == 2)
			mnl_attr_put_u16(nlh, s->attr, v);
		else
			mnl_attr_put_u32(nlh, s->attr, v);
	}
	if (flags_set)
		mnl_attr_put_u32(nlh, MBUS_ATTR_FLAGS, flags);
	if (nl_talk(nl, nlh, NULL, NULL) < 0) {
		if (errno == EPERM)
			die("%s: changing a port needs CAP_NET_ADMIN", argv[0]);
		if (extack_msg[0])
			die("%s: %s: %s", argv[0], strerror(errno), extack_msg);
		die_perror("%s", argv[0]);
	}
	return EXIT_OK;
}

/* ---- monitor ------------------------------------------------------------ */

struct event {
	int cmd;
	int64_t index;
	uint64_t ts;
	const uint8_t *frame;
	unsigned int len;
	uint32_t line_err;
	const char *name;
	const char *tty;
};

static int event_attr_cb(const struct nlattr *attr, void *data)
{
	struct event *ev = data;

	switch (mnl_attr_get_type(attr)) {
	case MBUS_ATTR_INDEX:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ev->index = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_TIMESTAMP_NS:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			ev->ts = mnl_attr_get_u64(attr);
		break;
	case MBUS_ATTR_FRAME:
		ev->frame = mnl_attr_get_payload(attr);
		ev->len = mnl_attr_get_payload_len(attr);
		break;
	case MBUS_ATTR_LINE_ERR:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ev->line_err = mnl_attr_get_u32(attr);
		break;
	case MBUS_ATTR_DEV_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			ev->name = mnl_attr_get_str(attr);
		break;
	case MBUS_ATTR_TTY_NAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			ev->tty = mnl_attr_get_str(attr);
		break;
	}
	return MNL_CB_OK;
}

/* "2026-01-31T12:34:56.123456Z" */
static void format_time(uint64_t ns, char *buf, size_t size)
{
	time_t sec = ns / 1000000000;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06uZ",
		 (unsigned int)(ns % 1000000000 / 1000));
}

/* A one-line summary of a frame by libnmbus: type, C, A, CI, slave. */
static void print_decode(const uint8_t *buf, unsigned int len)
{
	struct nmbus_frame f;
	char mfr[4];

	if (nmbus_decode(&f, buf, len, NULL, 0) && f.type == NMBUS_FRAME_NONE)
		return;
	if (opt_json) {
		printf(", \"type\": \"%s\"", nmbus_frame_type_name(f.type));
		if (f.type != NMBUS_FRAME_ACK)
			printf(", \"c\": %u, \"a\": %u", f.c, f.a);
		if (f.type == NMBUS_FRAME_CONTROL || f.type == NMBUS_FRAME_LONG)
			printf(", \"ci\": %u", f.ci);
		if (f.header.has_address) {
			printf(", \"id\": \"%08x\", \"manufacturer\": ",
			       (unsigned int)f.header.id);
			nmbus_manufacturer_str(f.header.manufacturer, mfr);
			print_json_str(mfr);
		}
		return;
	}
	printf("  (%s", nmbus_frame_type_name(f.type));
	if (f.type != NMBUS_FRAME_ACK)
		printf(" C=%02x A=%u", f.c, f.a);
	if (f.type == NMBUS_FRAME_CONTROL || f.type == NMBUS_FRAME_LONG)
		printf(" CI=%02x", f.ci);
	if (f.header.has_address)
		printf(" id %08x %s", (unsigned int)f.header.id,
		       nmbus_manufacturer_str(f.header.manufacturer, mfr));
	putchar(')');
}

static void print_line_err(uint32_t bits)
{
	const char *sep = "";

	if (bits & MBUS_LINE_ERR_PARITY) {
		printf("%sparity", sep);
		sep = ",";
	}
	if (bits & MBUS_LINE_ERR_FRAMING) {
		printf("%sframing", sep);
		sep = ",";
	}
	if (bits & MBUS_LINE_ERR_OVERRUN)
		printf("%soverrun", sep);
}

static void print_event(const struct event *ev)
{
	const char *name = ev->cmd <= MBUS_CMD_MAX && event_names[ev->cmd] ?
			   event_names[ev->cmd] : "unknown";
	char when[64];
	unsigned int i;

	format_time(ev->ts, when, sizeof(when));
	if (opt_json) {
		printf("{\"time\": \"%s\", \"time_ns\": %" PRIu64
		       ", \"port\": \"mbus%" PRId64 "\", \"event\": \"%s\"",
		       when, ev->ts, ev->index, name);
		if (ev->tty) {
			printf(", \"tty\": ");
			print_json_str(ev->tty);
		}
		if (ev->line_err) {
			printf(", \"line_errors\": \"");
			print_line_err(ev->line_err);
			putchar('"');
		}
		if (ev->frame) {
			printf(", \"frame\": \"");
			for (i = 0; i < ev->len; i++)
				printf("%02x", ev->frame[i]);
			putchar('"');
			if (ev->cmd != MBUS_CMD_GARBLED)
				print_decode(ev->frame, ev->len);
		}
		printf("}\n");
		return;
	}
	printf("%s mbus%" PRId64 " %s", when, ev->index, name);
	if (ev->tty)
		printf(" %s", ev->tty);
	if (ev->line_err) {
		putchar(' ');
		print_line_err(ev->line_err);
	}
	if (ev->frame) {
		for (i = 0; i < ev->len; i++)
			printf(" %02x", ev->frame[i]);
		if (ev->cmd != MBUS_CMD_GARBLED)
			print_decode(ev->frame, ev->len);
	}
	putchar('\n');
}

struct monitor {
	int64_t only;		/* port index, or -1 for all */
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	const struct monitor *mon = data;
	struct event ev = { .cmd = genl->cmd, .index = -1 };

	mnl_attr_parse(nlh, GENL_HDRLEN, event_attr_cb, &ev);
	if (mon->only >= 0 && ev.index != mon->only)
		return MNL_CB_OK;
	print_event(&ev);
	return MNL_CB_OK;
}

static int cmd_monitor(struct nl *nl, int argc, char **argv)
{
	struct monitor mon = { .only = -1 };
	int size = 1 << 20;
	ssize_t n;

	if (argc > 1)
		die_usage("monitor takes at most one PORT");
	if (argc)
		mon.only = resolve_port(nl, argv[0]);
	if (nl->events_group < 0)
		die("the family has no \"%s\" group", MBUS_GENL_MCGRP_EVENTS);
	setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF,
		   &size, sizeof(size));
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP,
				  &nl->events_group, sizeof(int)) < 0) {
		if (errno == EPERM)
			die("monitoring needs CAP_NET_ADMIN");
		die_perror("cannot join the events group");
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* From here on no event is missed: scripts may wait for this line. */
	if (mon.only < 0)
		fprintf(stderr, "mbusctl: monitoring every port\n");
	else
		fprintf(stderr, "mbusctl: monitoring mbus%lld\n",
			(long long)mon.only);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0 && errno == ENOBUFS) {
			print_error("events lost: the monitor fell behind");
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_perror("netlink");
		if (mnl_cb_run(nl->buf, n, 0, 0, event_cb, &mon) < 0)
			die_perror("netlink");
	}
	return EXIT_OK;
}

/* ---- main --------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(struct nl *nl, int argc, char **argv);
} commands[] = {
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "set", cmd_set },
	{ "monitor", cmd_monitor },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct nl *nl;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jshv", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt_json = true;
			break;
		case 's':
			opt_stats = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'v':
			print_version();
			return EXIT_OK;
		default:
			die_usage("bad option");
		}
	}
	if (optind >= argc)
		die_usage("no command given");
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		nl = nl_open();
		c = commands[i].fn(nl, argc - optind - 1, argv + optind + 1);
		mnl_socket_close(nl->sock);
		free(nl);
		return c;
	}
	die_usage("unknown command '%s'", argv[optind]);
}
