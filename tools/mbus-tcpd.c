// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-tcpd - a transparent M-Bus/TCP server for /dev/mbusN
 *
 * What a network converter (ser2net, a Moxa NPort, an Elvaco CMe) offers
 * to libmbus, jMBus and vendor software, served by the kernel's port
 * instead: every frame a client sends is one MBUS_IOC_XFER, and the
 * kernel runs it between the exchanges of every other user of the bus.
 * The server is tools/tcpd.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <nmbus.h>

#include "tcpd.h"
#include "tools-common.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS] DEVICE\n"
		"\n"
		"Serve the M-Bus of DEVICE (0, mbus0, /dev/mbus0 or the tty\n"
		"N_MBUS is attached to) on TCP, as a transparent converter does:\n"
		"each frame a client sends is one exchange on the bus, and the\n"
		"reply (a frame, E5, or the raw bytes of a garbled window) is\n"
		"sent back; a request nobody answers gets nothing. Exchanges of\n"
		"the clients and of local programs take turns on the bus.\n"
		"\n"
		"Options:\n"
		"  -l, --listen=ADDR:PORT   listen there (default 127.0.0.1:%u;\n"
		"                           [::]:PORT, :PORT for every IPv4 address)\n"
		"  -a, --allow=CIDR         accept clients from this network (may be\n"
		"                           repeated; default loopback only)\n"
		"  -c, --max-clients=N      connections at a time, 1-%u (default 8)\n"
		"  -i, --idle-timeout=S     close a connection silent for S s\n"
		"                           (default 300, 0 = never)\n"
		"  -t, --frame-timeout=MS   drop a frame not complete MS ms after its\n"
		"                           first byte (default 1000)\n"
		"  -m, --mode=MODE          transparent (default) or readonly: only\n"
		"                           REQ_UD1, REQ_UD2 and selections reach the\n"
		"                           bus, anything else gets no answer\n"
		"  -R, --retries=N          retries on no valid reply (0-5; default:\n"
		"                           the port's)\n"
		"  -h, --help               show this help and exit\n"
		"  -v, --version            show the version and exit\n"
		"\n"
		"Runs until SIGTERM, SIGINT or SIGHUP (after the exchange in flight)\n"
		"or until the port goes away (exit status 1).\n",
		get_prog_name(), TCPD_DEFAULT_PORT, TCPD_CLIENTS_MAX);
}

static void print_stats(const struct tcpd_stats *s)
{
	fprintf(stderr,
		"%s: %lu connections (%lu not allowed, %lu too many, %lu idle), "
		"%lu exchanges: %lu replies, %lu garbled, %lu timeouts, "
		"%lu errors; %lu refused (readonly), %lu not requests, "
		"%lu half frames dropped, %lu noise bytes\n",
		get_prog_name(), s->accepted, s->denied, s->too_many,
		s->idle_closed, s->exchanges, s->replies, s->garbled,
		s->timeouts, s->errors, s->refused, s->not_requests,
		s->partial, s->noise_bytes);
}

static void print_listen(int lfd)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	if (getsockname(lfd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		printf("listening on %s:%u\n", host, ntohs(s4->sin_port));
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		printf("listening on [%s]:%u\n", host, ntohs(s6->sin6_port));
	}
	fflush(stdout);
}

/* SIGTERM, SIGINT and SIGHUP, blocked, as a descriptor to poll. */
static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void parse_args(int argc, char **argv, struct tcpd_conf *c,
		       unsigned long *retries)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "allow", required_argument, NULL, 'a' },
		{ "max-clients", required_argument, NULL, 'c' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "frame-timeout", required_argument, NULL, 't' },
		{ "mode", required_argument, NULL, 'm' },
		{ "retries", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "l:a:c:i:t:m:R:hv", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (tcpd_parse_listen(optarg, &c->listen,
					      &c->listen_len))
				die_usage("bad --listen %s (ADDR:PORT)", optarg);
			break;
		case 'a':
			if (c->n_allow == TCPD_ALLOW_MAX)
				die_usage("at most %u --allow", TCPD_ALLOW_MAX);
			if (tcpd_parse_net(optarg, &c->allow[c->n_allow++]))
				die_usage("bad --allow %s (ADDR/BITS)", optarg);
			break;
		case 'c':
			if (!parse_uint(optarg, TCPD_CLIENTS_MAX, &v) || !v)
				die_usage("--max-clients: 1 to %u",
					  TCPD_CLIENTS_MAX);
			c->max_clients = (unsigned int)v;
			break;
		case 'i':
			if (!parse_uint(optarg, 86400, &v))
				die_usage("--idle-timeout: 0 to 86400 s");
			c->idle_timeout_s = (unsigned int)v;
			break;
		case 't':
			if (!parse_uint(optarg, 60000, &v) || v < 10)
				die_usage("--frame-timeout: 10 to 60000 ms");
			c->frame_timeout_ms = (unsigned int)v;
			break;
		case 'm':
			if (!strcmp(optarg, "transparent"))
				c->mode = TCPD_TRANSPARENT;
			else if (!strcmp(optarg, "readonly"))
				c->mode = TCPD_READONLY;
			else
				die_usage("--mode: transparent or readonly");
			break;
		case 'R':
			*retries = parse_retries_arg(optarg);
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'v':
			print_version();
			exit(EXIT_OK);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		die_usage("expected DEVICE");
}

int main(int argc, char **argv)
{
	unsigned long retries = 6;
	struct nmbus_dev *dev;
	struct tcpd_conf conf;
	struct tcpd *t;
	int lfd, sfd, ret;

	tcpd_conf_init(&conf);
	conf.log = stderr;
	conf.prog = get_prog_name();
	parse_args(argc, argv, &conf, &retries);

	ret = nmbus_dev_open(argv[optind], &dev);
	if (ret)
		die_err(ret, "%s", argv[optind]);
	if (retries <= 5) {
		ret = nmbus_dev_set_retries(dev, (unsigned int)retries);
		if (ret)
			die_err(ret, "set retries");
	}
	sfd = signals_fd();
	if (sfd < 0)
		die_perror("signals");
	lfd = tcpd_listen(&conf);
	if (lfd < 0)
		die_perror("listen");
	print_listen(lfd);
	t = tcpd_new(&conf, dev, lfd);
	if (!t)
		die_perror("server");
	ret = tcpd_run(t, sfd);
	if (ret)
		print_perror("%s", argv[optind]);
	print_stats(tcpd_get_stats(t));
	tcpd_free(t);
	nmbus_dev_close(dev);
	close(sfd);
	return ret ? EXIT_FAIL : EXIT_OK;
}
