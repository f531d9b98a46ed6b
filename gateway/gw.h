/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-gatewayd: shared declarations
 *
 * The daemon has one main thread (a poll() loop over the MQTT socket, a
 * signalfd, the bus threads' eventfd and, later, other servers' fds) and
 * one thread per bus that runs the meters' schedule with blocking
 * MBUS_IOC_XFER exchanges through libnmbus. Bus threads never touch the
 * network: they hand finished messages to the main thread (outbox).
 */
#ifndef GW_H
#define GW_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>

#include <nmbus.h>

#define GW_NAME_MAX		64
#define GW_PATH_MAX		256
#define GW_INIT_MAX		8
#define GW_FILTER_MAX		16
#define GW_STATIC_MAX		16
#define GW_TELEGRAMS_MAX	64

#define GW_INTERVAL_MIN_MS	5000u
#define GW_INTERVAL_MAX_MS	86400000u
#define GW_BAUD_AUTO		1u

/* ---- configuration ---------------------------------------------------- */

/* Where a setting came from, for FILE:LINE messages. */
struct gw_origin {
	char file[GW_PATH_MAX];
	int line;
};

struct gw_bus_cfg {
	char name[GW_NAME_MAX];
	char port[GW_PATH_MAX];
	unsigned int baud;		/* 0: leave the port as it is */
	struct nmbus_dev_params params;	/* only the fields in set_mask */
	unsigned int set_mask;		/* GW_P_* */
	struct gw_origin origin;
};

#define GW_P_TIMEOUT		0x01
#define GW_P_CHAR_TIMEOUT	0x02
#define GW_P_RETRIES		0x04
#define GW_P_WAKEUP		0x08
#define GW_P_WAKEUP_DELAY	0x10
#define GW_P_ECHO		0x20

enum gw_init_kind { GW_INIT_NKE, GW_INIT_APP_RESET, GW_INIT_SELECT,
		    GW_INIT_RAW };

struct gw_init_step {
	enum gw_init_kind kind;
	int subcode;			/* app reset: -1 for none */
	uint32_t storage;		/* readout selection */
	uint8_t raw[NMBUS_FRAME_MAX];	/* raw frame */
	size_t raw_len;
};

struct gw_kv {
	char key[GW_NAME_MAX];
	char value[GW_NAME_MAX * 2];
};

/* What a meter's state message carries besides "values". */
enum {
	GW_FORMAT_VALUES,	/* values only */
	GW_FORMAT_OBIS,		/* and "obis": the values with an OBIS code */
};

struct gw_meter_cfg {
	char name[GW_NAME_MAX];
	char bus[GW_NAME_MAX];
	char address[32];		/* as written */
	int primary;			/* 0..250, 254, or -1: secondary */
	uint8_t secaddr[NMBUS_SECADDR_LEN];
	uint32_t interval_ms;
	uint32_t min_interval_ms;	/* 0: none */
	unsigned int baud;		/* 0: bus rate; GW_BAUD_AUTO: try */
	const struct nmbus_profile *profile;
	struct gw_init_step init[GW_INIT_MAX];
	unsigned int n_init;
	unsigned int max_telegrams;
	char filter[GW_FILTER_MAX][GW_NAME_MAX];	/* quantity keys */
	unsigned int n_filter;
	struct gw_kv statics[GW_STATIC_MAX];
	unsigned int n_statics;
	uint8_t format;			/* GW_FORMAT_VALUES or _OBIS */
	struct gw_origin origin;
	unsigned int seen;		/* parser: GW_M_* keys given */
};

struct gw_mqtt_cfg {
	char host[GW_PATH_MAX];
	unsigned int port;
	char ca[GW_PATH_MAX], cert[GW_PATH_MAX], key[GW_PATH_MAX];
	char username[GW_NAME_MAX];
	char password_file[GW_PATH_MAX];
	char client_id[GW_NAME_MAX];
	char base[GW_NAME_MAX];
	int qos;
	bool retain;
	unsigned int keepalive;
	unsigned int queue;		/* messages buffered while away */
};

struct gw_ha_cfg {
	bool discovery;
	char prefix[GW_NAME_MAX];
};

#define GW_HTTP_PORT		8580
#define GW_HTTP_MAX_CONN	32

struct gw_http_cfg {
	bool enabled;			/* an [http] section was given */
	char listen[GW_NAME_MAX];	/* as written */
	char host[GW_NAME_MAX];		/* IPv4 or IPv6 literal */
	unsigned int port;
	char cert[GW_PATH_MAX], key[GW_PATH_MAX];	/* TLS: both or none */
	char auth_file[GW_PATH_MAX];
	char *users;			/* auth file: "user:password\n"... */
	unsigned int n_users;
	bool allow_commands;		/* no: POST gives 403 */
	unsigned int max_connections;
};

struct gw_config {
	char main_file[GW_PATH_MAX];
	char meter_dir[GW_PATH_MAX];
	char state_dir[GW_PATH_MAX];
	unsigned int stats_interval_s;
	struct gw_bus_cfg *buses;
	unsigned int n_buses;
	struct gw_meter_cfg *meters;
	unsigned int n_meters;
	struct gw_mqtt_cfg mqtt;
	struct gw_ha_cfg ha;
	struct gw_http_cfg http;
	unsigned int errors;
	FILE *err;			/* where FILE:LINE messages go */
};

/*
 * gw_config_load() - parse the main file and every *.conf in its meter
 * directory. Every error is printed as "FILE:LINE: message" to cfg->err
 * and counted in cfg->errors; parsing goes on past errors.
 * Return: 0 if there was no error, else -1. Free with gw_config_free().
 */
int gw_config_load(struct gw_config *cfg, const char *main_file, FILE *err);

/* Parse only the meter directory again (SIGHUP); same error rules. */
int gw_config_load_meters(struct gw_config *cfg, const char *dir);

void gw_config_free(struct gw_config *cfg);

const struct gw_bus_cfg *gw_config_find_bus(const struct gw_config *cfg,
					    const char *name);

/*
 * gw_parse_listen() - "HOST:PORT" ("127.0.0.1:8580", "[::1]:8580") into
 * @host (a numeric address, checked) and @port; false if bad.
 */
bool gw_parse_listen(const char *s, char *host, size_t size,
		     unsigned int *port);

/* "5s", "10m", "1h", "1d", "250ms", plain seconds; false if bad. */
bool gw_parse_duration(const char *s, uint32_t *ms);

/* ---- value keys and JSON ---------------------------------------------- */

struct gw_buf {
	char *p;
	size_t len, size;
	bool oom;
};

void gw_buf_init(struct gw_buf *b);
void gw_buf_free(struct gw_buf *b);
void gw_buf_add(struct gw_buf *b, const char *s, size_t n);
void gw_buf_puts(struct gw_buf *b, const char *s);
void gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gw_buf_json_str(struct gw_buf *b, const char *s);
/* Take the string out of @b (caller frees); NULL if out of memory. */
char *gw_buf_take(struct gw_buf *b);

/* "energy" -> "energy", "flow temperature" -> "flow_temperature". */
void gw_slug(char *out, size_t size, const char *in);

/* The unit's part of a key: "Wh" -> "wh", "m3/h" -> "m3_h", "°C" -> "c". */
void gw_unit_key(char *out, size_t size, enum nmbus_unit unit);

/*
 * gw_value_key() - the key of a record in the "values" map:
 * quantity, unit, then "s<storage>", "t<tariff>", "u<subunit>" where not
 * 0 and "max"/"min"/"err" where the function is not instantaneous, joined
 * by '_' (energy_wh, volume_m3, energy_wh_s1, power_w_max_t2).
 */
void gw_value_key(char *out, size_t size, const struct nmbus_record *rec,
		  const struct nmbus_value *val);

/* Home Assistant classes of a value: any may be NULL. */
struct gw_ha_class {
	const char *device_class;
	const char *state_class;
	const char *unit;
	bool diagnostic;
};

void gw_ha_classify(const struct nmbus_value *val, uint8_t medium,
		    struct gw_ha_class *out);

/* ---- readings ---------------------------------------------------------- */

struct gw_value {
	char key[GW_NAME_MAX + 32];
	char qkey[GW_NAME_MAX];		/* quantity part, for filters */
	bool numeric;
	double number;
	char text[80];			/* non-numbers, as JSON would print */
	uint64_t storage;
	struct gw_ha_class ha;
	char unit[16];
	const char *obis;		/* static (libnmbus), NULL: none */
	uint32_t tariff;
	uint16_t subunit;
	uint8_t function;		/* enum nmbus_function */
};

#define GW_VALUES_MAX	(NMBUS_MAX_RECORDS * 2)

struct gw_reading {
	bool ok;
	char error[400];
	struct nmbus_header header;
	bool has_header;
	struct gw_value values[GW_VALUES_MAX];
	unsigned int n_values;
	struct gw_buf telegrams;	/* JSON array text of the telegrams */
	unsigned int n_telegrams;
	uint64_t bus_us;		/* time the readout took */
	char timestamp[32];
};

/*
 * gw_reading_add_telegram() - decode a telegram into @r: its JSON is
 * appended to r->telegrams and its records to r->values (keys made
 * unique with _2, _3 ... in record order, filtered by @m's filter).
 * Return: 0, or -1 if it did not decode (r->error says why).
 */
int gw_reading_add_telegram(struct gw_reading *r,
			    const struct gw_meter_cfg *m,
			    const uint8_t *buf, size_t len);

/* The state message of a reading (allocated). */
char *gw_reading_json(const struct gw_reading *r, const struct gw_meter_cfg *m,
		      const char *secaddr);

/*
 * The OBIS-keyed JSON of a reading (allocated): name, bus, address,
 * timestamp, status and "obis", the values with an OBIS code keyed by it
 * (the "obis" map of format = obis).
 */
char *gw_reading_obis_json(const struct gw_reading *r,
			   const struct gw_meter_cfg *m);

/* ---- runtime: bus threads, outbox, MQTT ------------------------------ */

enum gw_msg_kind {
	GW_MSG_NORMAL,		/* queued while the broker is away */
	GW_MSG_DISCOVERY,	/* kept, sent again on every connect */
	GW_MSG_SCAN_DONE,	/* a scan result; also published */
};

struct gw_msg {
	struct gw_msg *next;
	enum gw_msg_kind kind;
	char *topic;
	char *payload;
	bool retain;
	int mid;		/* MQTT message id while in flight, else 0 */
	bool done;
};

/* Messages from the bus threads to the main thread (an eventfd wakes it). */
struct gw_outbox {
	pthread_mutex_t lock;		/* protects head and tail */
	struct gw_msg *head, *tail;
	int efd;
};

void gw_msg_free(struct gw_msg *m);
/* Queue a message; takes @topic and @payload (allocated), NULL = no memory. */
void gw_outbox_push(struct gw_outbox *o, enum gw_msg_kind kind, char *topic,
		    char *payload, bool retain);
struct gw_msg *gw_outbox_take(struct gw_outbox *o);

/* ---- commands from HTTP: jobs on a bus's queue ------------------------ */

struct gw_ctx;

enum gw_job_kind { GW_JOB_READ, GW_JOB_SCAN };
enum gw_scan_mode { GW_SCAN_PRIMARY, GW_SCAN_SECONDARY, GW_SCAN_AUTO };

/*
 * A command that a bus thread runs in its schedule, never beside it: a
 * meter's readout (read as soon as it may be, like command/read) or a
 * scan. Made by the main thread, queued with gw_bus_submit(), handed back
 * with its result through gw_ctx.done (an eventfd wakes the main thread).
 */
struct gw_job {
	struct gw_job *next;
	enum gw_job_kind kind;
	char meter[GW_NAME_MAX];	/* READ: the meter */
	enum gw_scan_mode mode;		/* SCAN */
	bool all_bauds;			/* SCAN: at every rate in turn */
	unsigned int first, last;	/* SCAN: primary address range */
	uint64_t queued_us;		/* a readout started later answers */
	int status;			/* when done: HTTP status */
	char *body;			/* when done: JSON (allocated) */
	void *owner;			/* the HTTP request (main thread) */
};

struct gw_done {
	pthread_mutex_t lock;		/* protects head */
	struct gw_job *head;
	int efd;
};

/* Hand back a finished job; takes @body (allocated; NULL: no memory). */
void gw_job_finish(struct gw_ctx *gw, struct gw_job *j, int status,
		   char *body);
/* The finished jobs, oldest first (main thread). */
struct gw_job *gw_done_take(struct gw_ctx *gw);
void gw_job_free(struct gw_job *j);
/* {"error": MESSAGE, "code": CODE} (allocated); @fmt has one %s, @arg. */
char *gw_error_json(int code, const char *fmt, const char *arg);

/* The last reading of a meter, kept by its bus thread for HTTP. */
struct gw_snap {
	char name[GW_NAME_MAX];
	char *state;			/* gw_reading_json() */
	char *obis;			/* gw_reading_obis_json() */
	struct gw_value *values;
	unsigned int n_values;
	bool ok;
	char timestamp[32];		/* of the last readout */
	double last_ok_s;		/* CLOCK_REALTIME of the last good one */
	double duration_s;		/* bus time of the last readout */
};

/* The port counters (struct mbus_stats, in order) and their meaning. */
struct gw_stat_name {
	const char *name;
	const char *help;
};

#define GW_STATS_MAX	32
extern const struct gw_stat_name gw_stat_names[];
extern const unsigned int gw_n_stat_names;

/* What the scheduler knows of one meter. */
struct gw_meter_rt {
	struct gw_meter_cfg cfg;
	uint64_t next_due_us;		/* CLOCK_MONOTONIC */
	uint64_t last_start_us;		/* 0: never read */
	uint64_t last_bus_us;		/* bus time of the last readout */
	unsigned int fails;		/* consecutive failed readouts */
	unsigned int learned_baud;	/* baud = auto: the rate that answered */
	bool online;
	bool discovered;
	bool read_now;			/* command/read asked for it */
	char secaddr[NMBUS_SECADDR_STRLEN + 1];
	char manufacturer[4];
	char model[48];
	uint8_t medium;
	uint64_t reads, failures, late;
	uint64_t max_late_us;
};

struct gw_ctx;

struct gw_bus_rt {
	struct gw_bus_cfg cfg;
	struct gw_ctx *gw;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;		/* protects everything below */
	pthread_cond_t cond;		/* signalled on stop, reload, commands */
	struct gw_meter_rt *meters;
	unsigned int n_meters;
	struct gw_meter_cfg *pending;	/* new meter list (SIGHUP) */
	unsigned int n_pending;
	bool reload;
	bool stop;
	bool scan;			/* command/scan */
	bool scanning;			/* a scan runs or is queued */
	struct gw_job *jobs;		/* queued HTTP commands */
	struct gw_snap *snaps;		/* the last reading of each meter */
	unsigned int n_snaps;
	uint64_t stats[GW_STATS_MAX];	/* port counters, last collected */
	unsigned int n_stats;		/* 0: none collected yet */
	/* figures for bridge/info */
	bool port_ok;
	char port_error[96];
	char tty[32];			/* the tty behind the port, "" unknown */
	unsigned int baud_now;		/* the port's rate when it opened */
	double load;			/* bus time needed / time, estimate */
	uint64_t cycle_us;		/* bus time of one read of every meter */
	uint64_t reads, failures, late;
	uint64_t max_late_us;
	/* bus thread only */
	struct nmbus_dev *dev;
	unsigned int bus_baud;
	uint64_t next_open_us, open_backoff_us;
	uint64_t next_stats_us;
};

struct gw_ctx {
	struct gw_config *cfg;
	struct gw_outbox out;
	struct gw_bus_rt *buses;
	unsigned int n_buses;
	bool state_dir_ok;
	struct gw_done done;		/* finished jobs */
	atomic_uint readouts;		/* readouts done, for --textfile */
};

/* bus.c */
int gw_bus_start(struct gw_bus_rt *b, struct gw_ctx *gw,
		 const struct gw_bus_cfg *cfg);
/* Hand the bus its meters of @cfg (start, SIGHUP). */
void gw_bus_set_meters(struct gw_bus_rt *b, const struct gw_config *cfg);
void gw_bus_stop(struct gw_bus_rt *b);
/* command/read: "all", "METER" or "BUS/METER"; true if a meter matched. */
bool gw_bus_read_now(struct gw_bus_rt *b, const char *what);
void gw_bus_scan(struct gw_bus_rt *b);
/*
 * gw_bus_submit() - queue @j on @b's schedule (main thread).
 * Return: 0 if queued (the bus owns @j until it finishes it), else the
 * HTTP status of the refusal: 404 no such meter on this bus, 409 a scan
 * runs or is queued on the bus, 503 the port is gone.
 */
int gw_bus_submit(struct gw_bus_rt *b, struct gw_job *j);
/* The snapshot of meter @name; call with b->lock held. NULL: none yet. */
struct gw_snap *gw_bus_snap(struct gw_bus_rt *b, const char *name);
/* The bus's part of bridge/info. */
void gw_bus_info(struct gw_bus_rt *b, struct gw_buf *out);
uint64_t gw_now_us(void);
extern atomic_int gw_stopping;	/* set by the main thread on SIGTERM */

/* ha.c: discovery messages of a meter's first good reading. */
void gw_ha_discovery(struct gw_ctx *gw, const struct gw_meter_rt *m,
		     const struct gw_reading *r);

/* ---- metrics and CSV (metrics.c) ------------------------------------------ */

/* A Prometheus label value: \\, \" and \n escaped. */
void gw_prom_escape(struct gw_buf *b, const char *s);
/* One mbus_meter_value line of a numeric value (none for text). */
void gw_prom_value(struct gw_buf *b, const char *bus, const char *meter,
		   const char *secaddr, const struct gw_value *v);
/* The whole exposition: every bus and meter (takes each bus's lock). */
void gw_metrics(struct gw_ctx *gw, struct gw_buf *b);
/* Write gw_metrics() to @path through PATH.tmp and rename(); -1, errno. */
int gw_metrics_write(struct gw_ctx *gw, const char *path);

/* A CSV field (RFC 4180): quoted if it holds , " CR or LF. */
void gw_csv_field(struct gw_buf *b, const char *s);
extern const char gw_csv_header[];
/* The rows of a meter's snapshot: one per value. */
void gw_csv_rows(struct gw_buf *b, const char *bus, const char *meter,
		 const char *secaddr, const struct gw_snap *s);

/* ---- HTTP routes (route.c) --------------------------------------------------- */

enum gw_endpoint {
	GW_EP_BUSES, GW_EP_METERS, GW_EP_CSV, GW_EP_METER, GW_EP_OBIS,
	GW_EP_METRICS, GW_EP_METER_READ, GW_EP_READ, GW_EP_SCAN,
};

#define GW_ROUTE_SEGMENTS	3

struct gw_route {
	const char *seg[GW_ROUTE_SEGMENTS];	/* "*": a name */
	bool post;				/* else GET and HEAD */
	enum gw_endpoint ep;
};

/*
 * gw_route_find() - the route of (decoded) @url for @method; its "*"
 * segment is copied to @name (GW_NAME_MAX bytes).
 * Return: the route, or NULL with *status 404 (no such path) or 405
 * (*allow: the methods the path takes, for the Allow header).
 */
const struct gw_route *gw_route_find(const char *url, const char *method,
				     char *name, int *status,
				     const char **allow);

/* ---- HTTP (http.c) ---------------------------------------------------------- */

struct gw_http;
struct pollfd;

struct gw_http *gw_http_start(struct gw_ctx *gw, const struct gw_http_cfg *c);
/* Add the pollfds (2) and lower *timeout_ms; return how many. */
int gw_http_prepare(struct gw_http *h, struct pollfd *pfd, int *timeout_ms);
void gw_http_dispatch(struct gw_http *h, struct pollfd *pfd, int n);
/* Answer what waits with 503 and stop (after the bus threads stopped). */
void gw_http_stop(struct gw_http *h);

/* ---- logging ----------------------------------------------------------- */

void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gw_utc_now(char *out, size_t size);

#endif /* GW_H */
