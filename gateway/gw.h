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
	bool scan;
	/* figures for bridge/info */
	bool port_ok;
	char port_error[96];
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
/* The bus's part of bridge/info. */
void gw_bus_info(struct gw_bus_rt *b, struct gw_buf *out);
uint64_t gw_now_us(void);
extern atomic_int gw_stopping;	/* set by the main thread on SIGTERM */

/* ha.c: discovery messages of a meter's first good reading. */
void gw_ha_discovery(struct gw_ctx *gw, const struct gw_meter_rt *m,
		     const struct gw_reading *r);

/* ---- logging ----------------------------------------------------------- */

void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gw_utc_now(char *out, size_t size);

#endif /* GW_H */
