// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-sim: a bus of simulated M-Bus meters on the far end of a line
 *
 * Serves the master side of a pty pair (--pty), an existing tty (a serial
 * port wired to a real master, or a pty slave), or a TCP connection to a
 * QEMU "-serial telnet:..." chardev (--connect). The meters' protocol
 * logic lives in sim-core.c, the line in sim-line.c, the meter profiles in
 * sim-profiles.c; this file configures them and runs the loop: it reads
 * requests, waits the reply delay, sends the reply paced at the bus rate
 * and injects the faults asked for.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim-core.h"
#include "sim-line.h"
#include "tools-common.h"

#define NSEC_PER_SEC		1000000000LL
#define USEC_PER_SEC		1000000LL

enum fault { FAULT_CHECKSUM, FAULT_SILENCE, FAULT_LATE, FAULT_BREAK, FAULTS };

static const char *const fault_names[FAULTS] = {
	[FAULT_CHECKSUM] = "checksum",
	[FAULT_SILENCE] = "silence",
	[FAULT_LATE] = "late",
	[FAULT_BREAK] = "break",
};

struct config {
	const char *device;
	const char *connect;
	bool pty;
	bool persist;
	unsigned int baud;
	int delay_ms;			/* -1: 11 bit times + 1 ms, >= 3 ms */
	bool log;
	bool echo;
	unsigned int noise;
	unsigned int fault_every[FAULTS];
	bool nested;			/* parsing a config file */
	unsigned int meter_baud;	/* of meters added from now on; 0: own */
};

static struct sim_bus bus;
static struct config cfg = { .baud = 2400, .delay_ms = -1 };
static volatile sig_atomic_t stop;
static struct timespec t_start;

/* ---- time and log -------------------------------------------------------- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void wait_until(const struct timespec *ts)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts, NULL) ==
	       EINTR && !stop)
		;
}

static void ts_add_ns(struct timespec *ts, long long ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / NSEC_PER_SEC;
	ts->tv_nsec = ns % NSEC_PER_SEC;
}

static void log_prefix(void)
{
	struct timespec ts;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (ts.tv_sec - t_start.tv_sec) + (ts.tv_nsec - t_start.tv_nsec) / 1e9;
	fprintf(stderr, "[%11.6f] ", t);
}

static void log_bytes(const char *dir, const uint8_t *p, size_t n)
{
	if (!cfg.log)
		return;
	log_prefix();
	fputs(dir, stderr);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02X", p[i]);
	fputc('\n', stderr);
}

static void PRINTF(1, 2) log_note(const char *fmt, ...)
{
	va_list ap;

	if (!cfg.log)
		return;
	log_prefix();
	fputs("# ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the line ---------------------------------------------------------------- */

static void open_line(struct sim_line *l)
{
	char name[64];
	int ret;

	if (cfg.pty) {
		ret = sim_line_open_pty(l, cfg.baud, name, sizeof(name));
		if (ret)
			die("cannot create a pty: %s", strerror(-ret));
		printf("PTY %s\n", name);
		fflush(stdout);
	} else if (cfg.connect) {
		ret = sim_line_open_tcp(l, cfg.connect, cfg.baud);
		if (ret == -EINVAL)
			die_usage("--connect: HOST:PORT with a numeric host expected, not '%s'",
				  cfg.connect);
		if (ret)
			die("cannot connect to %s: %s", cfg.connect,
			    strerror(-ret));
	} else {
		ret = sim_line_open_tty(l, cfg.device, cfg.baud);
		if (ret)
			die("cannot open %s 8E1 at %u Bd: %s", cfg.device,
			    cfg.baud, strerror(-ret));
	}
	l->stop = &stop;
}

/* ---- replies ------------------------------------------------------------------ */

static bool fault_due(enum fault f, unsigned int nreply)
{
	return cfg.fault_every[f] && nreply % cfg.fault_every[f] == 0;
}

/* EN 13757-2: the answer comes 11 bit times .. 330 bit times + 50 ms. */
static long long reply_delay_ns(unsigned int baud, bool late)
{
	long long bit_ns = NSEC_PER_SEC / baud;
	long long d;

	if (late)
		return 330 * bit_ns + 70 * 1000000LL;
	if (cfg.delay_ms >= 0)
		return cfg.delay_ms * 1000000LL;
	d = 11 * bit_ns + 1000000LL;
	return d < 3000000LL ? 3000000LL : d;
}

static void send_noise(struct sim_line *l, unsigned int baud)
{
	uint8_t noise[64];
	unsigned int n = cfg.noise < sizeof(noise) ? cfg.noise : sizeof(noise);

	for (unsigned int i = 0; i < n; i++) {
		do
			noise[i] = sim_random(&bus);
		while (noise[i] == MBUS_FRAME_SHORT_START ||
		       noise[i] == MBUS_FRAME_LONG_START ||
		       noise[i] == MBUS_FRAME_ACK);
	}
	sim_line_send_paced(l, noise, n, baud);
	log_bytes("NOISE", noise, n);
}

static void answer(struct sim_line *l, struct sim_reply *r, uint64_t rx_us)
{
	static unsigned int nreply;
	unsigned int baud = bus.baud;
	struct timespec at;
	bool late;

	log_bytes("RX", r->request, r->request_len);
	if (r->note[0])
		log_note("%s", r->note);
	if (!r->len) {
		log_note("no answer");
		return;
	}
	nreply++;
	if (fault_due(FAULT_SILENCE, nreply)) {
		log_note("fault: silence");
		return;
	}
	if (fault_due(FAULT_CHECKSUM, nreply) && r->len >= MBUS_SHORT_LEN) {
		r->data[r->len - 2] ^= 0x5a;
		log_note("fault: bad checksum");
	}
	late = fault_due(FAULT_LATE, nreply);
	at.tv_sec = rx_us / USEC_PER_SEC;
	at.tv_nsec = rx_us % USEC_PER_SEC * 1000;
	ts_add_ns(&at, reply_delay_ns(baud, late));
	wait_until(&at);
	if (late)
		log_note("fault: late reply");
	if (cfg.noise)
		send_noise(l, baud);
	if (fault_due(FAULT_BREAK, nreply) && l->kind != SIM_LINE_PTY) {
		sim_line_break(l);
		log_note("fault: break instead of the reply");
		return;
	}
	sim_line_send_paced(l, r->data, r->len, baud);
	log_bytes("TX", r->data, r->len);
	if (r->new_baud) {
		log_note("baud %u -> %u", baud, r->new_baud);
		if (sim_line_set_baud(l, r->new_baud))
			print_perror("cannot switch to %u Bd", r->new_baud);
		bus.baud = r->new_baud;
	}
}

/* ---- the loop ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Bytes from the line: echo, feed the meters, answer. */
static void receive(struct sim_line *l, uint8_t *buf, size_t n)
{
	static struct sim_reply reply;
	uint64_t t = now_us();
	bool brk = false;

	n = sim_line_decode(l, buf, n, &brk);
	if (brk)
		log_note("break received");
	if (cfg.echo)
		sim_line_write(l, buf, n);
	bus.baud = sim_line_baud(l);
	for (size_t i = 0; i < n; i++) {
		if (!sim_bus_rx(&bus, buf[i], t, &reply))
			continue;
		if (bus.frame_wake)
			log_note("after %u wake-up bytes and %llu ms",
				 bus.frame_wake,
				 (unsigned long long)bus.frame_gap_us / 1000);
		answer(l, &reply, t);
		t = now_us();
	}
}

/* Inter-character timeout: 10 characters, at least 100 ms. */
static int char_timeout_ms(void)
{
	int ms = 10 * SIM_LINE_BITS_PER_CHAR * 1000 / (bus.baud ? bus.baud : 300);

	return ms < 100 ? 100 : ms;
}

static int serve(struct sim_line *l)
{
	uint8_t buf[512];

	while (!stop) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		int timeout = mbus_parser_pending(&bus.parser) ?
			      char_timeout_ms() : -1;
		int ret = poll(&pfd, 1, timeout);
		ssize_t n;

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			die_perror("poll");
		if (!ret) {
			sim_bus_flush(&bus);
			continue;
		}
		if (!(pfd.revents & POLLIN)) {	/* hung up, nothing to read */
			if (!cfg.persist)
				break;
			usleep(50000);
			continue;
		}
		n = read(l->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EIO && cfg.persist) {
			usleep(50000);
			continue;
		}
		if (n < 0 && errno != EIO)
			die_perror("read");
		if (n <= 0)
			break;
		receive(l, buf, n);
	}
	log_note(stop ? "terminated" : "line hung up");
	return EXIT_OK;
}

/* ---- configuration ----------------------------------------------------------- */

static uint32_t random_id(void)
{
	return sim_random(&bus) % 100000000;
}

/* An identification number: 1 to 8 decimal digits (leading zeros are not octal). */
static uint32_t parse_id(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (!strcmp(v, "random"))
		return random_id();
	if (!n || n > 8 || v[n])
		die_usage("id: up to 8 decimal digits or 'random', not '%s'", v);
	return strtoul(v, NULL, 10);
}

static unsigned long parse_hex_byte(const char *key, const char *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 16);
	if (errno || !*v || *end || x > 0xff)
		die_usage("%s: a hex byte expected, not '%s'", key, v);
	return x;
}

static unsigned long parse_num(const char *key, const char *v,
			       unsigned long max)
{
	unsigned long x;

	if (!parse_uint(v, max, &x))
		die_usage("%s: a number up to %lu expected, not '%s'", key,
			  max, v);
	return x;
}

static unsigned int parse_baud(const char *key, const char *v)
{
	unsigned int baud = parse_num(key, v, 38400);

	if (!sim_baud_valid(baud))
		die_usage("%s: 300, 600, ... 38400 expected, not '%s'", key, v);
	return baud;
}

static void meter_set_manufacturer(struct sim_meter *m, const char *v)
{
	int code = nmbus_manufacturer_code(v);
	char *end;

	if (code < 0) {
		unsigned long x = strtoul(v, &end, 16);

		if (strlen(v) != 4 || *end || x > 0xffff)
			die_usage("man: 3 letters or 4 hex digits, not '%s'",
				  v);
		code = x;
	}
	m->manufacturer = code;
}

static void meter_set(struct sim_meter *m, const char *key, const char *v)
{
	if (!strcmp(key, "id"))
		m->id = parse_id(v);
	else if (!strcmp(key, "addr"))
		m->addr = parse_num(key, v, MBUS_ADDR_PRIMARY_MAX);
	else if (!strcmp(key, "version"))
		m->version = parse_hex_byte(key, v);
	else if (!strcmp(key, "medium"))
		m->medium = parse_hex_byte(key, v);
	else if (!strcmp(key, "status"))
		m->status = parse_hex_byte(key, v);
	else if (!strcmp(key, "man"))
		meter_set_manufacturer(m, v);
	else if (!strcmp(key, "fab"))
		m->fabrication = parse_id(v);
	else if (!strcmp(key, "wildcards") && !strcmp(v, "strict"))
		m->lenient = false;
	else if (!strcmp(key, "wildcards") && !strcmp(v, "lenient"))
		m->lenient = true;
	else if (!strcmp(key, "baud"))
		m->baud = parse_baud(key, v);
	else if (!strcmp(key, "telegrams") && parse_num(key, v, 16))
		m->telegrams = parse_num(key, v, 16);
	else if (!strcmp(key, "wakeup"))
		m->wakeup = parse_num(key, v, 10000);
	else if (!strcmp(key, "pause"))
		m->wake_pause_ms = parse_num(key, v, 60000);
	else
		die_usage("--meter: unknown or bad '%s=%s'", key, v);
}

/* PROFILE[,key=value...] */
static void add_meter(const char *spec)
{
	char *s = strdup(spec), *save = NULL, *tok;
	const struct sim_profile *p;
	struct sim_meter *m;

	if (!s)
		die("out of memory");
	tok = strtok_r(s, ",", &save);
	p = tok ? sim_profile_find(tok) : NULL;
	if (!p)
		die_usage("--meter: unknown profile '%s' (see --list)",
			  tok ? tok : "");
	m = sim_bus_add(&bus, p);
	if (!m)
		die("too many meters (at most %d)", SIM_METERS_MAX);
	m->id = random_id();
	if (cfg.meter_baud)
		m->baud = cfg.meter_baud;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq)
			die_usage("--meter: key=value expected, not '%s'", tok);
		*eq = '\0';
		meter_set(m, tok, eq + 1);
	}
	free(s);
}

/* One random meter in this many shares the previous one's ID (0: none). */
static unsigned long equal_every = 8;

static const uint8_t random_versions[] = { 0x00, 0x01, 0x02, 0x0e, 0x14,
					   0x1b, 0x40, 0xc4 };
static const uint8_t random_media[] = { 0x04, 0x07, 0x16, 0x06, 0x02, 0x03,
					0x0c, 0x0d, 0x15 };

#define PICK(a)		((a)[sim_random(&bus) % ARRAY_SIZE(a)])

/*
 * Random meters for secondary searches: random IDs, manufacturers among
 * the 50 most common (nmbus_manufacturer_common()), versions and media
 * of real meters; one in equal_every takes the previous one's ID and
 * differs from it in manufacturer, version or medium.
 */
static void add_random(unsigned int n)
{
	static const char *const kinds[] = { "heat", "water", "cmi1020",
					     "calec" };

	for (unsigned int i = 0; i < n; i++) {
		const char *kind = kinds[sim_random(&bus) % ARRAY_SIZE(kinds)];
		struct sim_meter *m = sim_bus_add(&bus, sim_profile_find(kind));
		bool pair = i && equal_every &&
			    sim_random(&bus) % equal_every == 0;
		unsigned int what = sim_random(&bus) % 3;

		if (!m)
			die("too many meters (at most %d)", SIM_METERS_MAX);
		if (cfg.meter_baud)
			m->baud = cfg.meter_baud;
		m->id = random_id();
		m->fabrication = random_id();
		m->manufacturer = nmbus_manufacturer_code(
			nmbus_manufacturer_common(sim_random(&bus) % 50));
		m->version = PICK(random_versions);
		m->medium = PICK(random_media);
		if (!pair)
			continue;
		m->id = m[-1].id;
		m->manufacturer = what ? m[-1].manufacturer : m->manufacturer;
		m->version = what != 1 ? m[-1].version : m->version;
		m->medium = what != 2 ? m[-1].medium : m->medium;
		while (m->manufacturer == m[-1].manufacturer &&
		       m->version == m[-1].version &&
		       m->medium == m[-1].medium)
			m->medium = PICK(random_media);
	}
}

static void set_fault(const char *arg)
{
	char name[16];
	unsigned long every = 1;
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);

	if (slash)
		every = parse_num("--fault", slash + 1, 1000000);
	if (len >= sizeof(name) || !every)
		die_usage("--fault: KIND[/N] expected, not '%s'", arg);
	memcpy(name, arg, len);
	name[len] = '\0';
	for (int f = 0; f < FAULTS; f++) {
		if (!strcmp(name, fault_names[f])) {
			cfg.fault_every[f] = every;
			return;
		}
	}
	die_usage("--fault: unknown fault '%s'", name);
}

static const struct option longopts[] = {
	{ "pty",	no_argument,		NULL, 'p' },
	{ "connect",	required_argument,	NULL, 'c' },
	{ "persist",	no_argument,		NULL, 'P' },
	{ "baud",	required_argument,	NULL, 'b' },
	{ "meter",	required_argument,	NULL, 'm' },
	{ "random",	required_argument,	NULL, 'r' },
	{ "seed",	required_argument,	NULL, 's' },
	{ "equal-ids",	required_argument,	NULL, 'E' },
	{ "config",	required_argument,	NULL, 'f' },
	{ "delay",	required_argument,	NULL, 'd' },
	{ "mismatch",	required_argument,	NULL, 'M' },
	{ "skew",	required_argument,	NULL, 'k' },
	{ "lenient",	no_argument,		NULL, 'W' },
	{ "meter-baud",	required_argument,	NULL, 'B' },
	{ "echo",	no_argument,		NULL, 'e' },
	{ "noise",	required_argument,	NULL, 'n' },
	{ "fault",	required_argument,	NULL, 'F' },
	{ "log",	no_argument,		NULL, 'l' },
	{ "list",	no_argument,		NULL, 'L' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, 'v' },
	{ 0 },
};

static const char shortopts[] = "pc:Pb:m:r:s:E:f:d:M:k:WB:en:F:lLhv";

static void usage(void)
{
	printf("Usage: %s [OPTIONS] --pty | --connect HOST:PORT | TTY\n\n",
	       get_prog_name());
	printf(
"Simulate a bus of M-Bus meters (EN 13757-2/-3) on the far end of a line:\n"
"the master side of a new pty pair (its slave path is printed on stdout as\n"
"'PTY /dev/pts/N'), an existing tty opened raw 8E1, or a TCP connection to\n"
"a QEMU '-serial telnet:HOST:PORT,server=on' chardev. Meters answer\n"
"primary (0-250, 254) and secondary (253) addressing, SND_NKE, REQ_UD2\n"
"with FCB/FCV and multi-telegram readouts, SND_UD (CI 50, 51, 52, B8-BF).\n"
"Several meters answering at once collide: their 8E1 bit streams are\n"
"ANDed, as on the wire (the parity errors that gives are logged: a pty\n"
"or a telnet chardev cannot carry them). Selections follow EN 13757-3:\n"
"F nibbles in the ID, the manufacturer only as FFFF, version and medium\n"
"only as FF, and the enhanced selection (CI 52 + DIF 0C VIF 78 and the\n"
"fabrication number) tells apart meters equal in all 8 bytes.\n"
"Runs until the line hangs up or SIGTERM.\n\n"
"Options:\n"
"  -p, --pty               create a pty pair and serve its master side\n"
"  -c, --connect=HOST:PORT connect to a telnet chardev (numeric host)\n"
"  -P, --persist           keep serving after the pty slave is closed\n"
"  -b, --baud=N            line rate when it cannot be read (tty, TCP) and\n"
"                          initial pty rate (default 2400)\n"
"  -m, --meter=SPEC        add a meter: PROFILE[,KEY=VALUE...]; keys: id\n"
"                          (8 digits or 'random'), addr, version, medium,\n"
"                          status (hex), man (XYZ or 4 hex digits, the\n"
"                          16-bit code: KAM = 2C2D), baud, telegrams,\n"
"                          wakeup (0x55 count), pause (ms), fab\n"
"                          (fabrication number, default the ID),\n"
"                          wildcards (strict or lenient)\n"
"  -r, --random=N          add N meters with random identities (common\n"
"                          manufacturers, real versions and media)\n"
"  -s, --seed=N            seed of the random numbers (default 1)\n"
"  -E, --equal-ids=N       one random meter in N takes the previous one's\n"
"                          ID, with another manufacturer, version or\n"
"                          medium (default 8; 0: all IDs differ); give\n"
"                          --equal-ids before --random\n"
"  -B, --meter-baud=N      meters added after this option (--meter,\n"
"                          --random) talk at N Bd (default: their\n"
"                          profile's rate)\n"
"  -W, --lenient           meters take F nibbles as wildcards also in the\n"
"                          manufacturer, version and medium (as libmbus's\n"
"                          search expects; default: only what the\n"
"                          standard says)\n"
"  -f, --config=FILE       read options from FILE: one 'OPTION [VALUE]'\n"
"                          per line, long names without dashes, # comments\n"
"  -d, --delay=MS          reply delay (default 11 bit times + 1 ms, >= 3)\n"
"  -M, --mismatch=MODE     meters on another baud rate: 'silent' (default)\n"
"                          or 'garbage' (they answer; the master gets noise)\n"
"  -k, --skew=BITS         colliding replies start up to BITS bit times\n"
"                          apart (default 4; 0 = exactly together)\n"
"  -e, --echo              echo every byte the master sends\n"
"  -n, --noise=N           send N noise bytes before each reply\n"
"  -F, --fault=KIND[/N]    spoil every (Nth) reply: checksum, silence, late\n"
"                          (after the response window), break (TCP: IAC BRK,\n"
"                          tty: a break; a pty cannot carry a break)\n"
"  -l, --log               log requests (RX) and replies (TX) to stderr\n"
"  -L, --list              list the meter profiles\n"
"  -h, --help              show this help\n"
"  -v, --version           show the version\n\n"
"Example:\n"
"  %s --pty --log --meter calec,id=12345678,addr=5,version=C4 \\\n"
"          --meter water,id=random --random 50\n",
	       get_prog_name());
}

static void list_profiles(void)
{
	for (size_t i = 0; i < sim_nprofiles; i++) {
		const struct sim_profile *p = sim_profiles[i];

		printf("%-8s %s: %s version %02X medium %02X, %u Bd",
		       p->name, p->desc, p->manufacturer, p->version,
		       p->medium, p->baud);
		if (p->wakeup)
			printf(", wake-up %u x 55 + %u ms", p->wakeup,
			       p->wake_pause_ms);
		printf("\n");
	}
}

static void read_config(const char *path);

static void handle_option(int opt, const char *arg)
{
	switch (opt) {
	case 'p':
		cfg.pty = true;
		break;
	case 'c':
		cfg.connect = arg;
		break;
	case 'P':
		cfg.persist = true;
		break;
	case 'b':
		cfg.baud = parse_baud("--baud", arg);
		break;
	case 'm':
		add_meter(arg);
		break;
	case 'r':
		add_random(parse_num("--random", arg, SIM_METERS_MAX));
		break;
	case 's':
		bus.rng = parse_num("--seed", arg, ~0UL) | 1;
		break;
	case 'E':
		equal_every = parse_num("--equal-ids", arg, 1000);
		break;
	case 'f':
		read_config(arg);
		break;
	case 'd':
		cfg.delay_ms = parse_num("--delay", arg, 60000);
		break;
	case 'M':
		if (!strcmp(arg, "silent"))
			bus.mismatch = SIM_MISMATCH_SILENT;
		else if (!strcmp(arg, "garbage"))
			bus.mismatch = SIM_MISMATCH_GARBAGE;
		else
			die_usage("--mismatch: 'silent' or 'garbage'");
		break;
	case 'k':
		bus.max_skew = parse_num("--skew", arg, 100);
		break;
	case 'W':
		bus.lenient = true;
		break;
	case 'B':
		cfg.meter_baud = parse_baud("--meter-baud", arg);
		break;
	case 'e':
		cfg.echo = true;
		break;
	case 'n':
		cfg.noise = parse_num("--noise", arg, 64);
		break;
	case 'F':
		set_fault(arg);
		break;
	case 'l':
		cfg.log = true;
		break;
	case 'L':
		list_profiles();
		exit(EXIT_OK);
	case 'h':
		usage();
		exit(EXIT_OK);
	case 'v':
		print_version();
		exit(EXIT_OK);
	default:
		die_usage("unknown option");
	}
}

static void config_line(char *s)
{
	char *name = s + strspn(s, " \t"), *val, *end;
	const struct option *o;

	name[strcspn(name, "#\r\n")] = '\0';
	if (!*name)
		return;
	val = name + strcspn(name, " \t=");
	if (*val)
		*val++ = '\0';
	val += strspn(val, " \t=");
	end = val + strlen(val);
	while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (o = longopts; o->name; o++) {
		if (strcmp(o->name, name))
			continue;
		if (o->has_arg == required_argument && !*val)
			die_usage("config: '%s' needs a value", name);
		if (o->val == 'f' || o->val == 'h' || o->val == 'v')
			break;
		handle_option(o->val, val);
		return;
	}
	die_usage("config: unknown option '%s'", name);
}

static void read_config(const char *path)
{
	char line[512];
	FILE *f;

	if (cfg.nested)
		die_usage("config files do not nest");
	f = fopen(path, "r");
	if (!f)
		die_perror("cannot open %s", path);
	cfg.nested = true;
	while (fgets(line, sizeof(line), f))
		config_line(line);
	cfg.nested = false;
	fclose(f);
}

int main(int argc, char **argv)
{
	struct sim_line l;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt;

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	sim_bus_init(&bus, 2400, 1);
	/* the seed first, so that it applies to every random identity */
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (opt == 's')
			handle_option(opt, optarg);
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (opt != 's')
			handle_option(opt, optarg);
	if (optind < argc)
		cfg.device = argv[optind++];
	if (optind < argc)
		die_usage("too many arguments");
	if (!!cfg.device + cfg.pty + !!cfg.connect != 1)
		die_usage("one of --pty, --connect or a TTY is needed");
	if (!bus.nmeters)
		die_usage("no meters: use --meter, --random or --config");
	if (cfg.fault_every[FAULT_BREAK] && cfg.pty)
		print_error("a pty cannot carry a break: --fault=break ignored");

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	open_line(&l);
	bus.baud = sim_line_baud(&l);
	log_note("%u meters, %u Bd", bus.nmeters, bus.baud);
	return serve(&l);
}
