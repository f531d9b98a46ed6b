// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-attach: attach the N_MBUS line discipline to a serial port
 *
 * Sets the tty up for M-Bus (8E1 at the chosen baud rate), prints the
 * /dev/mbusN it created and keeps the tty open for as long as the
 * attachment should live: in the background by default, in the
 * foreground with --foreground (for systemd). SIGTERM, SIGINT and SIGHUP
 * detach cleanly; so does a hangup of the line (USB unplug).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/mbus.h>

#include "attach-tcp.h"
#include "ktypes.h"

static const char *prog = "mbus-attach";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... TTY\n"
		"       %s [OPTION]... --tcp=HOST:PORT [--rfc2217]\n"
		"\n"
		"Attach the N_MBUS line discipline to the serial port TTY (e.g.\n"
		"/dev/ttyUSB0 of an M-Bus level converter), print the /dev/mbusN\n"
		"it created and keep the port attached until SIGTERM, SIGINT or\n"
		"SIGHUP, or until the port goes away. With --tcp the port is a\n"
		"pty relayed to a converter on the network, reconnected when the\n"
		"connection drops.\n"
		"\n"
		"  -b, --baud=BAUD    bus speed: 300, 600, 1200, 2400 (default),\n"
		"                     4800, 9600, 19200 or 38400\n"
		"  -f, --foreground   stay in the foreground (for systemd)\n"
		"  -l, --ldisc=NUM    line discipline number (default %d)\n"
		"  -t, --tcp=HOST:PORT  relay to the converter at HOST:PORT\n"
		"                     (raw TCP; IPv6 as [ADDR]:PORT)\n"
		"  -r, --rfc2217      talk RFC 2217 to it: 8E1 and the speed set\n"
		"                     and followed (needs --tcp)\n"
		"  -L, --latency-ms=N  network latency to add to the response\n"
		"                     timeout (default: measured; needs --tcp)\n"
		"  -h, --help         show this help and exit\n"
		"  -v, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on failure, 2 on bad usage.\n",
		prog, prog, N_MBUS);
}

static int parse_baud(const char *s, __u32 *baud)
{
	static const __u32 rates[] = {
		300, 600, 1200, 2400, 4800, 9600, 19200, 38400
	};
	char *end;
	unsigned long v;
	size_t i;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s)
		return -1;
	for (i = 0; i < ARRAY_SIZE(rates); i++) {
		if (v == rates[i]) {
			*baud = v;
			return 0;
		}
	}
	return -1;
}

/* A line discipline number other than N_TTY (0); the kernel checks more. */
static int parse_ldisc(const char *s, int *ldisc)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= N_TTY || v > 255)
		return -1;
	*ldisc = v;
	return 0;
}

static int attach(const char *tty, int ldisc, __u32 baud, int *index)
{
	int ntty = N_TTY;
	char dev[32];
	__u32 n;
	int fd, mfd;

	fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, tty, strerror(errno));
		return -1;
	}
	if (ioctl(fd, TIOCSETD, &ldisc)) {
		fprintf(stderr, "%s: %s: cannot set line discipline %d: %s%s\n",
			prog, tty, ldisc, strerror(errno),
			errno == EINVAL ? " (is the n_mbus module installed?)" : "");
		goto err;
	}
	if (ioctl(fd, MBUS_IOC_GET_INDEX, &n)) {
		/* Not N_MBUS after all (another -l number): undo it. */
		fprintf(stderr, "%s: %s: MBUS_IOC_GET_INDEX: %s\n", prog, tty,
			strerror(errno));
		goto err_detach;
	}
	*index = n;
	/*
	 * Nobody else may open the tty now (root aside): a dialout user
	 * could otherwise stty it or detach N_MBUS under everyone.
	 */
	if (ioctl(fd, TIOCEXCL))
		fprintf(stderr, "%s: %s: TIOCEXCL: %s\n", prog, tty,
			strerror(errno));
	if (baud != 2400) {
		snprintf(dev, sizeof(dev), "/dev/mbus%u", n);
		mfd = open(dev, O_RDWR | O_CLOEXEC);
		if (mfd < 0 || ioctl(mfd, MBUS_IOC_SET_BAUD, &baud)) {
			fprintf(stderr, "%s: %s: cannot set %u Bd: %s\n", prog,
				dev, baud, strerror(errno));
			if (mfd >= 0)
				close(mfd);
			goto err_detach;
		}
		close(mfd);
	}
	return fd;
err_detach:
	/* Leave the tty as it was found. */
	ioctl(fd, TIOCNXCL);
	if (ioctl(fd, TIOCSETD, &ntty))
		fprintf(stderr, "%s: %s: cannot detach: %s\n", prog, tty,
			strerror(errno));
err:
	close(fd);
	return -1;
}

/*
 * The signals that stop us. They are blocked before N_MBUS goes on the
 * tty, so that none can kill us between there and hold(), leaving the
 * discipline attached and the tty exclusive: one that comes early waits
 * and hold() (or the TCP relay) then detaches at once.
 */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* Wait for one of @stop or for the line to go away; then detach. */
static int hold(int fd, const sigset_t *stop)
{
	const struct timespec tick = { 1, 0 };
	int ldisc = N_TTY, sig;
	__u32 n;

	for (;;) {
		sig = sigtimedwait(stop, NULL, &tick);
		if (sig > 0)
			break;
		/* After a hangup the tty no longer answers our ioctl. */
		if (ioctl(fd, MBUS_IOC_GET_INDEX, &n))
			return 0;
	}
	ioctl(fd, TIOCNXCL);
	/*
	 * A hangup between the last tick and the signal: the tty core has
	 * closed N_MBUS already and our file answers EIO. Nothing to undo.
	 */
	if (ioctl(fd, TIOCSETD, &ldisc) && errno != EIO) {
		fprintf(stderr, "%s: cannot detach: %s\n", prog,
			strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "baud", required_argument, NULL, 'b' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ldisc", required_argument, NULL, 'l' },
		{ "tcp", required_argument, NULL, 't' },
		{ "rfc2217", no_argument, NULL, 'r' },
		{ "latency-ms", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int c, fd, index, foreground = 0, ldisc = N_MBUS;
	struct tcp_conf tcp = { .latency_ms = -1, .prog = prog };
	bool use_tcp = false, tcp_opts = false;
	struct tcp_relay *relay = NULL;
	int master = -1;
	char pty[64], err[160];
	sigset_t stop, pending;
	const char *tty;
	__u32 baud = 2400;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "b:fl:t:rL:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_baud(optarg, &baud)) {
				fprintf(stderr, "%s: invalid baud rate '%s'\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'f':
			foreground = 1;
			break;
		case 'l':
			if (parse_ldisc(optarg, &ldisc)) {
				fprintf(stderr, "%s: invalid line discipline '%s'\n",
					prog, optarg);
				return 2;
			}
			break;
		case 't':
			if (tcp_parse_target(&tcp, optarg, err, sizeof(err))) {
				fprintf(stderr, "%s: %s\n", prog, err);
				return 2;
			}
			use_tcp = true;
			break;
		case 'r':
			tcp.rfc2217 = true;
			tcp_opts = true;
			break;
		case 'L':
			if (tcp_parse_latency(optarg, &tcp.latency_ms)) {
				fprintf(stderr, "%s: invalid latency '%s' (0-5000 ms)\n",
					prog, optarg);
				return 2;
			}
			tcp_opts = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("%s (n_mbus) %s\n", prog, NMBUS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - (use_tcp ? 0 : 1) || (tcp_opts && !use_tcp)) {
		usage(stderr);
		return 2;
	}

	stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	tty = argv[optind];
	if (use_tcp) {
		master = tcp_pty_open(prog, pty, sizeof(pty));
		if (master < 0)
			return 1;
		tty = pty;
	}
	fd = attach(tty, ldisc, baud, &index);
	if (fd < 0)
		return 1;
	if (use_tcp) {
		relay = tcp_relay_start(&tcp, master, fd, index);
		if (!relay)
			return 1;
	}
	printf("/dev/mbus%d\n", index);
	fflush(stdout);

	/*
	 * A child does not inherit pending signals: told to stop already,
	 * stay in the foreground and detach at once.
	 */
	sigpending(&pending);
	if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT) ||
	    sigismember(&pending, SIGHUP))
		foreground = 1;
	if (!foreground) {
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
			return 1;
		}
		if (pid > 0)
			return 0;
		setsid();
		if (chdir("/"))
			return 1;
		if (!freopen("/dev/null", "r", stdin) ||
		    !freopen("/dev/null", "w", stdout))
			return 1;
	}
	return relay ? tcp_relay_run(relay) : hold(fd, &stop);
}
