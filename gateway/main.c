// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd - poll the M-Bus meters of a configuration and publish
 * their readings over MQTT, with Home Assistant discovery
 *
 * The main thread runs one poll() loop over a list of event sources: the
 * signalfd (SIGHUP reloads the meter files, SIGTERM/SIGINT stop), the
 * eventfd of the bus threads' outbox, the MQTT socket and, with [http],
 * the HTTP server's epoll fd and the eventfd of finished commands
 * (http.c). Each source adds its pollfds and its deadline before poll()
 * and handles its events after. The bus threads (bus.c) do the
 * exchanges; see mbus-gatewayd(8).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "gw.h"
#include "mqtt.h"

#define DEFAULT_CONFIG	"/etc/mbus-gatewayd/gatewayd.conf"
#define INFO_PERIOD_US	30000000ull
#define MAX_PFDS	64
#define TEXTFILE_PERIOD_US	1000000ull

struct daemon {
	struct gw_config cfg;
	struct gw_ctx gw;
	struct gw_mqtt mqtt;
	struct gw_http *http;		/* NULL: no [http] */
	const char *textfile;		/* --textfile */
	unsigned int textfile_readouts;	/* gw.readouts when last written */
	uint64_t next_textfile_us;
	int sfd;
	bool stop;
	uint64_t next_info_us;
	uint64_t watchdog_us, next_watchdog_us;
	char started[32];
	unsigned int reloads;
};

/* An event source of the main loop. */
struct source {
	const char *name;
	/* add up to @max pollfds, lower *timeout_ms; return how many */
	int (*prepare)(struct daemon *d, struct pollfd *pfd, int max,
		       uint64_t now, int *timeout_ms);
	void (*dispatch)(struct daemon *d, struct pollfd *pfd, int n);
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mbus-gatewayd [OPTIONS]\n"
		"\n"
		"Read the M-Bus meters listed in the configuration on their\n"
		"schedules and publish every reading over MQTT, with Home\n"
		"Assistant discovery. See mbus-gatewayd(8) and\n"
		"mbus-gatewayd.conf(5).\n"
		"\n"
		"Options:\n"
		"  -c, --config=FILE  main configuration file (default\n"
		"                     " DEFAULT_CONFIG ")\n"
		"  -C, --check        check the configuration, print every error\n"
		"                     as FILE:LINE: message, exit 0 or 2\n"
		"  -t, --textfile=PATH  write the metrics of GET /metrics to PATH\n"
		"                     (through PATH.tmp) after each readout, at\n"
		"                     most once a second, for node_exporter\n"
		"  -h, --help         show this help and exit\n"
		"  -v, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 after SIGTERM, 1 on failure, 2 on a bad\n"
		"configuration or usage.\n");
}

/* ---- bridge/info --------------------------------------------------------------- */

static void publish_info(struct daemon *d)
{
	struct gw_buf j;

	gw_buf_init(&j);
	gw_buf_puts(&j, "{\"version\":\"" NMBUS_VERSION "\",\"started\":");
	gw_buf_json_str(&j, d->started);
	gw_buf_printf(&j, ",\"meters\":%u,\"reloads\":%u,\"buses\":[",
		      d->cfg.n_meters, d->reloads);
	for (unsigned int i = 0; i < d->gw.n_buses; i++) {
		gw_buf_puts(&j, i ? "," : "");
		gw_bus_info(&d->gw.buses[i], &j);
	}
	gw_buf_printf(&j, "],\"queue\":{\"size\":%zu,\"length\":%zu,\"dropped\":%llu,\"published\":%llu},\"connects\":%lu}",
		      d->mqtt.cap, d->mqtt.len,
		      (unsigned long long)d->mqtt.dropped,
		      (unsigned long long)d->mqtt.published,
		      d->mqtt.connects);
	if (j.p)
		gw_mqtt_publish_now(&d->mqtt, "bridge/info", j.p, true);
	gw_buf_free(&j);
	d->next_info_us = gw_now_us() + INFO_PERIOD_US;
}

static void on_connected(void *arg)
{
	publish_info(arg);
}

/* BASE/command/read: "all", METER or BUS/METER; command/scan: BUS or all. */
static void on_command(void *arg, const char *topic, const char *payload)
{
	struct daemon *d = arg;
	bool any = false;

	if (!strcmp(topic, "command/read")) {
		for (unsigned int i = 0; i < d->gw.n_buses; i++)
			any |= gw_bus_read_now(&d->gw.buses[i], payload);
		if (!any)
			gw_log("command/read: no meter '%s'", payload);
	} else if (!strcmp(topic, "command/scan")) {
		for (unsigned int i = 0; i < d->gw.n_buses; i++) {
			struct gw_bus_rt *b = &d->gw.buses[i];

			if (!*payload || !strcmp(payload, "all") ||
			    !strcmp(payload, b->cfg.name)) {
				gw_bus_scan(b);
				any = true;
			}
		}
		if (!any)
			gw_log("command/scan: no bus '%s'", payload);
	}
}

/* ---- reload (SIGHUP) ------------------------------------------------------------- */

static void reload(struct daemon *d)
{
	struct gw_config fresh = d->cfg;

	sd_notify(0, "RELOADING=1");
	gw_log("SIGHUP: reading the meter files in %s", d->cfg.meter_dir);
	fresh.meters = NULL;
	fresh.n_meters = 0;
	fresh.errors = 0;
	fresh.err = stderr;
	if (gw_config_load_meters(&fresh, d->cfg.meter_dir)) {
		gw_log("SIGHUP: %u errors: keeping the %u meters read before",
		       fresh.errors, d->cfg.n_meters);
		free(fresh.meters);
	} else {
		free(d->cfg.meters);
		d->cfg.meters = fresh.meters;
		d->cfg.n_meters = fresh.n_meters;
		for (unsigned int i = 0; i < d->gw.n_buses; i++)
			gw_bus_set_meters(&d->gw.buses[i], &d->cfg);
		d->reloads++;
		gw_log("SIGHUP: %u meters", d->cfg.n_meters);
		d->next_info_us = gw_now_us() + 2000000ull;
	}
	sd_notify(0, "READY=1");
}

/* ---- event sources ------------------------------------------------------------------ */

static int signals_prepare(struct daemon *d, struct pollfd *pfd, int max,
			   uint64_t now, int *timeout_ms)
{
	(void)max, (void)now, (void)timeout_ms;
	pfd->fd = d->sfd;
	pfd->events = POLLIN;
	return 1;
}

static void signals_dispatch(struct daemon *d, struct pollfd *pfd, int n)
{
	struct signalfd_siginfo si;

	if (!n || !(pfd->revents & POLLIN))
		return;
	while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else {
			gw_log("signal %u: stopping after the exchanges in flight",
			       si.ssi_signo);
			d->stop = true;
			gw_stopping = 1;
		}
	}
}

static int outbox_prepare(struct daemon *d, struct pollfd *pfd, int max,
			  uint64_t now, int *timeout_ms)
{
	(void)max, (void)now, (void)timeout_ms;
	pfd->fd = d->gw.out.efd;
	pfd->events = POLLIN;
	return 1;
}

static void outbox_dispatch(struct daemon *d, struct pollfd *pfd, int n)
{
	uint64_t v;
	struct gw_msg *m, *next;

	if (!n || !(pfd->revents & POLLIN))
		return;
	if (read(d->gw.out.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		gw_log("outbox: %s", strerror(errno));
	for (m = gw_outbox_take(&d->gw.out); m; m = next) {
		next = m->next;
		gw_mqtt_submit(&d->mqtt, m);
	}
	gw_mqtt_flush(&d->mqtt);
}

static int mqtt_prepare(struct daemon *d, struct pollfd *pfd, int max,
			uint64_t now, int *timeout_ms)
{
	(void)max;
	return gw_mqtt_prepare(&d->mqtt, pfd, now, timeout_ms);
}

static void mqtt_dispatch(struct daemon *d, struct pollfd *pfd, int n)
{
	gw_mqtt_dispatch(&d->mqtt, pfd, n);
}

static int http_prepare(struct daemon *d, struct pollfd *pfd, int max,
			uint64_t now, int *timeout_ms)
{
	(void)now;
	if (!d->http || max < 2)
		return 0;
	return gw_http_prepare(d->http, pfd, timeout_ms);
}

static void http_dispatch(struct daemon *d, struct pollfd *pfd, int n)
{
	if (d->http)
		gw_http_dispatch(d->http, pfd, n);
}

static const struct source sources[] = {
	{ "signals", signals_prepare, signals_dispatch },
	{ "outbox", outbox_prepare, outbox_dispatch },
	{ "mqtt", mqtt_prepare, mqtt_dispatch },
	{ "http", http_prepare, http_dispatch },
};

#define N_SOURCES	(sizeof(sources) / sizeof(sources[0]))

static void timers(struct daemon *d, uint64_t now, int *timeout_ms)
{
	if (d->watchdog_us && now >= d->next_watchdog_us) {
		sd_notify(0, "WATCHDOG=1");
		d->next_watchdog_us = now + d->watchdog_us / 2;
	}
	if (now >= d->next_info_us)
		publish_info(d);
	if (d->textfile && now >= d->next_textfile_us &&
	    atomic_load(&d->gw.readouts) != d->textfile_readouts) {
		d->textfile_readouts = atomic_load(&d->gw.readouts);
		d->next_textfile_us = now + TEXTFILE_PERIOD_US;
		if (gw_metrics_write(&d->gw, d->textfile))
			gw_log("--textfile %s: %s", d->textfile, strerror(errno));
	}
	if (d->textfile && atomic_load(&d->gw.readouts) != d->textfile_readouts) {
		int ms = (int)((d->next_textfile_us - now) / 1000) + 1;

		if (ms < *timeout_ms)
			*timeout_ms = ms;
	}
	if (d->watchdog_us) {
		int ms = (int)((d->next_watchdog_us - now) / 1000) + 1;

		if (ms < *timeout_ms)
			*timeout_ms = ms;
	}
}

static void run(struct daemon *d)
{
	while (!d->stop) {
		struct pollfd pfd[MAX_PFDS];
		int first[N_SOURCES], count[N_SOURCES];
		int n = 0, timeout_ms = 1000;
		uint64_t now = gw_now_us();

		timers(d, now, &timeout_ms);
		for (size_t i = 0; i < N_SOURCES; i++) {
			first[i] = n;
			count[i] = sources[i].prepare(d, pfd + n, MAX_PFDS - n,
						      now, &timeout_ms);
			n += count[i];
		}
		if (poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR) {
			gw_log("poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < N_SOURCES; i++)
			sources[i].dispatch(d, pfd + first[i], count[i]);
	}
}

/* ---- start and stop ------------------------------------------------------------------ */

static void check_state_dir(struct daemon *d)
{
	char path[GW_PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/meters", d->cfg.state_dir);
	mkdir(d->cfg.state_dir, 0755);
	if (mkdir(path, 0755) && errno != EEXIST) {
		gw_log("state directory %s: %s (baud rates found by 'baud = auto' are not remembered)",
		       path, strerror(errno));
		return;
	}
	d->gw.state_dir_ok = access(path, W_OK) == 0;
	if (!d->gw.state_dir_ok)
		gw_log("state directory %s: not writable", path);
}

static int start(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	/* blocked before the bus threads start, so they inherit it */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	d->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->gw.cfg = &d->cfg;
	d->gw.out.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&d->gw.out.lock, NULL);
	d->gw.done.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&d->gw.done.lock, NULL);
	if (d->sfd < 0 || d->gw.out.efd < 0 || d->gw.done.efd < 0) {
		gw_log("signalfd/eventfd: %s", strerror(errno));
		return -1;
	}
	check_state_dir(d);
	gw_utc_now(d->started, sizeof(d->started));
	d->mqtt.on_connected = on_connected;
	d->mqtt.on_command = on_command;
	d->mqtt.cb_arg = d;
	if (gw_mqtt_init(&d->mqtt, &d->cfg.mqtt,
			 d->cfg.ha.discovery ? d->cfg.ha.prefix : NULL)) {
		gw_log("mqtt: cannot set up the client: %s", strerror(errno));
		return -1;
	}
	d->mqtt.on_connected = on_connected;
	d->mqtt.on_command = on_command;
	d->mqtt.cb_arg = d;
	d->gw.buses = calloc(d->cfg.n_buses, sizeof(*d->gw.buses));
	if (!d->gw.buses)
		return -1;
	d->gw.n_buses = d->cfg.n_buses;
	for (unsigned int i = 0; i < d->cfg.n_buses; i++)
		if (gw_bus_start(&d->gw.buses[i], &d->gw, &d->cfg.buses[i])) {
			gw_log("bus %s: thread: %s", d->cfg.buses[i].name,
			       strerror(errno));
			return -1;
		}
	if (d->cfg.http.enabled) {
		d->http = gw_http_start(&d->gw, &d->cfg.http);
		if (!d->http)
			return -1;
	}
	if (sd_watchdog_enabled(0, &d->watchdog_us) <= 0)
		d->watchdog_us = 0;
	d->next_info_us = gw_now_us() + 3000000ull;
	gw_log("started: %u buses, %u meters, broker %s:%u, base topic %s",
	       d->cfg.n_buses, d->cfg.n_meters, d->cfg.mqtt.host,
	       d->cfg.mqtt.port, d->cfg.mqtt.base);
	sd_notifyf(0, "READY=1\nSTATUS=%u buses, %u meters", d->cfg.n_buses,
		   d->cfg.n_meters);
	return 0;
}

static void finish(struct daemon *d)
{
	struct gw_msg *m, *next;

	sd_notify(0, "STOPPING=1");
	gw_stopping = 1;
	for (unsigned int i = 0; i < d->gw.n_buses; i++)
		gw_bus_stop(&d->gw.buses[i]);
	gw_http_stop(d->http);
	d->http = NULL;
	for (m = gw_outbox_take(&d->gw.out); m; m = next) {
		next = m->next;
		gw_mqtt_submit(&d->mqtt, m);
	}
	gw_mqtt_shutdown(&d->mqtt);
	free(d->gw.buses);
	gw_config_free(&d->cfg);
	gw_log("stopped");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "textfile", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	static struct daemon d;
	const char *config = DEFAULT_CONFIG;
	bool check = false;
	int c;

	setvbuf(stderr, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "c:Ct:hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 't':
			if (strlen(optarg) >= GW_PATH_MAX) {
				fprintf(stderr, "mbus-gatewayd: --textfile: longer than %d characters\n",
					GW_PATH_MAX - 1);
				return 2;
			}
			d.textfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("mbus-gatewayd (n_mbus) " NMBUS_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mbus-gatewayd: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (gw_config_load(&d.cfg, config, stderr)) {
		fprintf(stderr, "mbus-gatewayd: %u errors in the configuration\n",
			d.cfg.errors);
		return 2;
	}
	if (check) {
		printf("%s: %u buses, %u meters: OK\n", config, d.cfg.n_buses,
		       d.cfg.n_meters);
		gw_config_free(&d.cfg);
		return 0;
	}
	if (start(&d)) {
		finish(&d);
		return 1;
	}
	run(&d);
	finish(&d);
	return 0;
}
