// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd configuration: the main file and one file per meter
 *
 * Both are INI files parsed with inih. inih's handler does not get line
 * numbers in Debian's build, so the files are fed through a reader that
 * counts lines (the handler runs while its line is the last one read) and
 * that also reports lines inih would reject (no '=', unclosed '['), so
 * that every error, not only the first, is printed as FILE:LINE: message.
 * Unknown sections and keys are errors. See mbus-gatewayd.conf(5).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <ini.h>

#include "gw.h"

/* lib/ktypes.h has the library's own; the service uses only <nmbus.h>. */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

struct parse_ctx {
	struct gw_config *cfg;
	FILE *fp;
	const char *file;
	int line;
	struct gw_bus_cfg *bus;		/* main file: current [bus] */
	struct gw_meter_cfg *meter;	/* meter file: its meter */
	bool main;
};

static void __attribute__((format(printf, 2, 3)))
perr(struct parse_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fprintf(ctx->cfg->err, "%s:%d: ", ctx->file, ctx->line);
	va_start(ap, fmt);
	vfprintf(ctx->cfg->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->cfg->err);
	ctx->cfg->errors++;
}

static void __attribute__((format(printf, 4, 5)))
perr_at(struct gw_config *cfg, const char *file, int line, const char *fmt,
	...)
{
	va_list ap;

	fprintf(cfg->err, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(cfg->err, fmt, ap);
	va_end(ap);
	fputc('\n', cfg->err);
	cfg->errors++;
}

/* ---- value parsers ------------------------------------------------------- */

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool valid_baud(unsigned long b)
{
	static const unsigned long rates[] = { 300, 600, 1200, 2400, 4800,
					       9600, 19200, 38400 };

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		if (rates[i] == b)
			return true;
	return false;
}

bool gw_parse_duration(const char *s, uint32_t *ms)
{
	static const struct { const char *suffix; uint64_t mul; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "", 1000 }, { "m", 60000 },
		{ "min", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > UINT32_MAX / units[i].mul)
			return false;
		*ms = (uint32_t)(v * units[i].mul);
		return true;
	}
	return false;
}

static bool copy_str(struct parse_ctx *ctx, char *dst, size_t size,
		     const char *name, const char *value)
{
	if (strlen(value) >= size) {
		perr(ctx, "%s: longer than %zu characters", name, size - 1);
		return false;
	}
	strcpy(dst, value);
	return true;
}

/*
 * A TLS file is read by libmosquitto or by the daemon only when the service
 * starts, long after the configuration was checked: one that cannot be read
 * is an error of the configuration, reported at its line.
 */
static bool copy_path(struct parse_ctx *ctx, char *dst, size_t size,
		      const char *name, const char *value)
{
	if (!copy_str(ctx, dst, size, name, value))
		return false;
	if (access(value, R_OK)) {
		perr(ctx, "%s: %s: %s", name, value, strerror(errno));
		return false;
	}
	return true;
}

/* Names become MQTT topic levels and Home Assistant ids. */
static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* ---- main file ------------------------------------------------------------- */

static int gateway_key(struct parse_ctx *ctx, const char *name,
		       const char *value)
{
	struct gw_config *cfg = ctx->cfg;

	if (!strcmp(name, "meters"))
		copy_str(ctx, cfg->meter_dir, sizeof(cfg->meter_dir), name,
			 value);
	else if (!strcmp(name, "state_dir"))
		copy_str(ctx, cfg->state_dir, sizeof(cfg->state_dir), name,
			 value);
	else if (!strcmp(name, "stats_interval")) {
		uint32_t ms;

		if (!gw_parse_duration(value, &ms) || ms < 1000)
			perr(ctx, "stats_interval: '%s' is no duration of 1s or more",
			     value);
		else
			cfg->stats_interval_s = ms / 1000;
	} else {
		perr(ctx, "unknown key '%s' in [gateway]", name);
	}
	return 1;
}

static bool bus_param(struct parse_ctx *ctx, const char *name,
		      const char *value, unsigned int bit, uint32_t *field,
		      unsigned long max)
{
	unsigned long v;

	if (!parse_ulong(value, max, &v)) {
		perr(ctx, "%s: '%s' is not a number from 0 to %lu", name, value,
		     max);
		return false;
	}
	*field = (uint32_t)v;
	ctx->bus->set_mask |= bit;
	return true;
}

static int bus_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct gw_bus_cfg *b = ctx->bus;
	struct nmbus_dev_params *p = &b->params;
	uint32_t tmp;
	unsigned long v;
	bool on;

	if (!strcmp(name, "port")) {
		copy_str(ctx, b->port, sizeof(b->port), name, value);
	} else if (!strcmp(name, "baud")) {
		if (!parse_ulong(value, 38400, &v) || !valid_baud(v))
			perr(ctx, "baud: '%s' is not 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400",
			     value);
		else
			b->baud = (unsigned int)v;
	} else if (!strcmp(name, "timeout-us")) {
		bus_param(ctx, name, value, GW_P_TIMEOUT,
			  &p->response_timeout_us, 10000000);
	} else if (!strcmp(name, "char-timeout-us")) {
		bus_param(ctx, name, value, GW_P_CHAR_TIMEOUT,
			  &p->char_timeout_us, 10000000);
	} else if (!strcmp(name, "wakeup-delay-us")) {
		bus_param(ctx, name, value, GW_P_WAKEUP_DELAY,
			  &p->wakeup_delay_us, 10000000);
	} else if (!strcmp(name, "retries")) {
		if (bus_param(ctx, name, value, GW_P_RETRIES, &tmp, 5))
			p->retries = (uint8_t)tmp;
	} else if (!strcmp(name, "wakeup")) {
		if (bus_param(ctx, name, value, GW_P_WAKEUP, &tmp, 2000))
			p->wakeup_bytes = (uint16_t)tmp;
	} else if (!strcmp(name, "echo-cancel")) {
		if (!parse_bool(value, &on)) {
			perr(ctx, "echo-cancel: '%s' is not on or off", value);
		} else {
			p->flags = on ? 1u : 0u;	/* MBUS_PARAM_ECHO_CANCEL */
			b->set_mask |= GW_P_ECHO;
		}
	} else {
		perr(ctx, "unknown key '%s' in [bus %s]", name, b->name);
	}
	return 1;
}

static int mqtt_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct gw_mqtt_cfg *m = &ctx->cfg->mqtt;
	unsigned long v;

	if (!strcmp(name, "host")) {
		copy_str(ctx, m->host, sizeof(m->host), name, value);
	} else if (!strcmp(name, "port")) {
		if (!parse_ulong(value, 65535, &v) || !v)
			perr(ctx, "port: '%s' is not a port number", value);
		else
			m->port = (unsigned int)v;
	} else if (!strcmp(name, "ca")) {
		copy_path(ctx, m->ca, sizeof(m->ca), name, value);
	} else if (!strcmp(name, "cert")) {
		copy_path(ctx, m->cert, sizeof(m->cert), name, value);
	} else if (!strcmp(name, "key")) {
		copy_path(ctx, m->key, sizeof(m->key), name, value);
	} else if (!strcmp(name, "username")) {
		copy_str(ctx, m->username, sizeof(m->username), name, value);
	} else if (!strcmp(name, "password_file")) {
		copy_str(ctx, m->password_file, sizeof(m->password_file), name,
			 value);
	} else if (!strcmp(name, "client_id")) {
		copy_str(ctx, m->client_id, sizeof(m->client_id), name, value);
	} else if (!strcmp(name, "base")) {
		if (!*value || strpbrk(value, "+#") || value[0] == '/' ||
		    value[strlen(value) - 1] == '/')
			perr(ctx, "base: '%s' is no topic (no + or #, no leading or trailing /)",
			     value);
		else
			copy_str(ctx, m->base, sizeof(m->base), name, value);
	} else if (!strcmp(name, "qos")) {
		if (!parse_ulong(value, 2, &v))
			perr(ctx, "qos: '%s' is not 0, 1 or 2", value);
		else
			m->qos = (int)v;
	} else if (!strcmp(name, "retain")) {
		if (!parse_bool(value, &m->retain))
			perr(ctx, "retain: '%s' is not yes or no", value);
	} else if (!strcmp(name, "keepalive")) {
		uint32_t ms;

		if (!gw_parse_duration(value, &ms) || ms < 5000 ||
		    ms > 65535000)
			perr(ctx, "keepalive: '%s' is no duration from 5s to 65535s",
			     value);
		else
			m->keepalive = ms / 1000;
	} else if (!strcmp(name, "queue")) {
		if (!parse_ulong(value, 1000000, &v) || !v)
			perr(ctx, "queue: '%s' is not a number from 1 to 1000000",
			     value);
		else
			m->queue = (unsigned int)v;
	} else {
		perr(ctx, "unknown key '%s' in [mqtt]", name);
	}
	return 1;
}

static int ha_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct gw_ha_cfg *h = &ctx->cfg->ha;

	if (!strcmp(name, "discovery")) {
		if (!parse_bool(value, &h->discovery))
			perr(ctx, "discovery: '%s' is not on or off", value);
	} else if (!strcmp(name, "prefix")) {
		if (!*value || strpbrk(value, "+#"))
			perr(ctx, "prefix: '%s' is no topic", value);
		else
			copy_str(ctx, h->prefix, sizeof(h->prefix), name, value);
	} else {
		perr(ctx, "unknown key '%s' in [homeassistant]", name);
	}
	return 1;
}

bool gw_parse_listen(const char *s, char *host, size_t size,
		     unsigned int *port)
{
	unsigned char addr[16];
	const char *colon, *h = s;
	size_t hl;
	unsigned long v;
	int af = AF_INET;

	if (*s == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return false;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
		af = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - s);
	}
	if (hl >= size)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(af, host, addr) != 1)
		return false;
	if (!parse_ulong(colon + 1, 65535, &v) || !v)
		return false;
	*port = (unsigned int)v;
	return true;
}

static int http_key(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct gw_http_cfg *h = &ctx->cfg->http;
	unsigned long v;

	if (!strcmp(name, "listen")) {
		if (!gw_parse_listen(value, h->host, sizeof(h->host), &h->port))
			perr(ctx, "listen: '%s' is not ADDRESS:PORT (127.0.0.1:8580, [::1]:8580)",
			     value);
		else
			copy_str(ctx, h->listen, sizeof(h->listen), name, value);
	} else if (!strcmp(name, "cert")) {
		copy_path(ctx, h->cert, sizeof(h->cert), name, value);
	} else if (!strcmp(name, "key")) {
		copy_path(ctx, h->key, sizeof(h->key), name, value);
	} else if (!strcmp(name, "auth-file")) {
		copy_str(ctx, h->auth_file, sizeof(h->auth_file), name, value);
	} else if (!strcmp(name, "allow-commands")) {
		if (!parse_bool(value, &h->allow_commands))
			perr(ctx, "allow-commands: '%s' is not yes or no", value);
	} else if (!strcmp(name, "max-connections")) {
		if (!parse_ulong(value, 1000, &v) || !v)
			perr(ctx, "max-connections: '%s' is not a number from 1 to 1000",
			     value);
		else
			h->max_connections = (unsigned int)v;
	} else {
		perr(ctx, "unknown key '%s' in [http]", name);
	}
	return 1;
}

/*
 * The basic-auth file: one "user:password" a line, '#' comments and
 * empty lines skipped; kept as "user:password\n" lines in h->users.
 */
static void load_auth(struct gw_config *cfg, const char *path)
{
	struct gw_http_cfg *h = &cfg->http;
	char line[512];
	struct gw_buf users;
	int n = 0;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		perr_at(cfg, path, 0, "cannot open: %s", strerror(errno));
		return;
	}
	gw_buf_init(&users);
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);
		char *colon;

		n++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon || colon == line || !colon[1]) {
			perr_at(cfg, path, n, "expected USER:PASSWORD");
			continue;
		}
		gw_buf_puts(&users, line);
		gw_buf_puts(&users, "\n");
		h->n_users++;
	}
	fclose(fp);
	if (!h->n_users)
		perr_at(cfg, path, n, "no USER:PASSWORD line");
	h->users = gw_buf_take(&users);
}

static struct gw_bus_cfg *new_bus(struct parse_ctx *ctx, const char *name)
{
	struct gw_config *cfg = ctx->cfg;
	struct gw_bus_cfg *b;

	if (!valid_name(name) || strlen(name) >= GW_NAME_MAX) {
		perr(ctx, "bus name '%s': use letters, digits, '_' and '-'",
		     name);
		return NULL;
	}
	if (gw_config_find_bus(cfg, name)) {
		perr(ctx, "bus '%s' defined twice", name);
		return NULL;
	}
	b = realloc(cfg->buses, (cfg->n_buses + 1) * sizeof(*b));
	if (!b) {
		perr(ctx, "out of memory");
		return NULL;
	}
	cfg->buses = b;
	b = &cfg->buses[cfg->n_buses++];
	memset(b, 0, sizeof(*b));
	strcpy(b->name, name);
	snprintf(b->origin.file, sizeof(b->origin.file), "%s", ctx->file);
	b->origin.line = ctx->line;
	return b;
}

static int main_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct parse_ctx *ctx = user;

	if (!name) {		/* a new section (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	}
	if (!strcmp(section, "gateway"))
		return gateway_key(ctx, name, value);
	if (!strcmp(section, "mqtt"))
		return mqtt_key(ctx, name, value);
	if (!strcmp(section, "homeassistant"))
		return ha_key(ctx, name, value);
	if (!strcmp(section, "http"))
		return http_key(ctx, name, value);
	if (!strncmp(section, "bus ", 4)) {
		const char *bname = section + 4;

		while (*bname == ' ')
			bname++;
		if (!ctx->bus || strcmp(ctx->bus->name, bname))
			return 1;	/* a bad [bus] header, reported */
		return bus_key(ctx, name, value);
	}
	if (!*section)
		perr(ctx, "key '%s' outside a section", name);
	/* unknown sections are reported where they start */
	return 1;
}

/* ---- meter files ------------------------------------------------------------ */

enum {
	GW_M_NAME = 1 << 0, GW_M_BUS = 1 << 1, GW_M_ADDRESS = 1 << 2,
	GW_M_INTERVAL = 1 << 3,
};

static bool parse_address(struct gw_meter_cfg *m, const char *value)
{
	unsigned long v;

	if (parse_ulong(value, 254, &v) && strlen(value) <= 3 &&
	    (v <= 250 || v == 254)) {
		m->primary = (int)v;
		return true;
	}
	if (!nmbus_secaddr_is_str(value) ||
	    nmbus_secaddr_parse(value, m->secaddr))
		return false;
	m->primary = -1;
	return true;
}

/* init = nke, reset, reset:B0, select:1, raw:10 40 01 41 16 (comma list) */
static void parse_init(struct parse_ctx *ctx, struct gw_meter_cfg *m,
		       const char *value)
{
	char buf[INI_MAX_LINE + 1], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", value);
	m->n_init = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct gw_init_step *st;
		char *arg, *end;
		unsigned long v;

		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (m->n_init == GW_INIT_MAX) {
			perr(ctx, "init: more than %d steps", GW_INIT_MAX);
			return;
		}
		st = &m->init[m->n_init];
		memset(st, 0, sizeof(*st));
		arg = strchr(tok, ':');
		if (arg)
			*arg++ = '\0';
		if (!strcmp(tok, "nke") && !arg) {
			st->kind = GW_INIT_NKE;
		} else if (!strcmp(tok, "reset")) {
			st->kind = GW_INIT_APP_RESET;
			st->subcode = -1;
			if (arg) {
				v = strtoul(arg, &end, 16);
				if (!*arg || *end || strlen(arg) > 2) {
					perr(ctx, "init: reset sub-code '%s' is no byte",
					     arg);
					continue;
				}
				st->subcode = (int)v;
			}
		} else if (!strcmp(tok, "select") && arg) {
			st->kind = GW_INIT_SELECT;
			if (!parse_ulong(arg, 0xffffffffUL, &v)) {
				perr(ctx, "init: select storage '%s' is no number",
				     arg);
				continue;
			}
			st->storage = (uint32_t)v;
		} else if (!strcmp(tok, "raw") && arg) {
			struct nmbus_frame f;
			ssize_t n;

			st->kind = GW_INIT_RAW;
			n = nmbus_parse_hex(arg, strlen(arg), st->raw,
					    sizeof(st->raw), NULL);
			if (n <= 0) {
				perr(ctx, "init: raw frame '%s' is no hex", arg);
				continue;
			}
			st->raw_len = (size_t)n;
			if (nmbus_decode(&f, st->raw, st->raw_len, NULL, 0) &&
			    f.error.code != NMBUS_E_RECORDS &&
			    f.error.code != NMBUS_E_CI) {
				perr(ctx, "init: raw frame: %s",
				     nmbus_strerror(f.error.code));
				continue;
			}
		} else {
			perr(ctx, "init: unknown step '%s' (nke, reset[:CODE], select:STORAGE, raw:HEX)",
			     tok);
			continue;
		}
		m->n_init++;
	}
}

static void parse_filter(struct parse_ctx *ctx, struct gw_meter_cfg *m,
			 const char *value)
{
	char buf[INI_MAX_LINE + 1], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", value);
	m->n_filter = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char slug[GW_NAME_MAX];

		gw_slug(slug, sizeof(slug), tok);
		if (!*slug)
			continue;
		if (m->n_filter == GW_FILTER_MAX) {
			perr(ctx, "filter: more than %d quantities",
			     GW_FILTER_MAX);
			return;
		}
		strcpy(m->filter[m->n_filter++], slug);
	}
}

static int meter_key(struct parse_ctx *ctx, const char *name,
		     const char *value)
{
	struct gw_meter_cfg *m = ctx->meter;
	unsigned long v;

	if (!strcmp(name, "name")) {
		if (!valid_name(value) || strlen(value) >= GW_NAME_MAX)
			perr(ctx, "name '%s': use letters, digits, '_' and '-'",
			     value);
		else
			strcpy(m->name, value);
		m->seen |= GW_M_NAME;
	} else if (!strcmp(name, "bus")) {
		copy_str(ctx, m->bus, sizeof(m->bus), name, value);
		m->seen |= GW_M_BUS;
	} else if (!strcmp(name, "address")) {
		if (!parse_address(m, value) ||
		    strlen(value) >= sizeof(m->address))
			perr(ctx, "address '%s': a primary address (0-250, 254) or 16 hex digits IIIIIIIIMMMMVVDD (or bytes: and the 8 bytes as sent)",
			     value);
		else
			strcpy(m->address, value);
		m->seen |= GW_M_ADDRESS;
	} else if (!strcmp(name, "interval")) {
		if (!gw_parse_duration(value, &m->interval_ms) ||
		    m->interval_ms < GW_INTERVAL_MIN_MS ||
		    m->interval_ms > GW_INTERVAL_MAX_MS)
			perr(ctx, "interval '%s': a duration from 5s to 1d",
			     value);
		m->seen |= GW_M_INTERVAL;
	} else if (!strcmp(name, "min_interval")) {
		if (!gw_parse_duration(value, &m->min_interval_ms) ||
		    m->min_interval_ms > GW_INTERVAL_MAX_MS)
			perr(ctx, "min_interval '%s': a duration up to 1d",
			     value);
	} else if (!strcmp(name, "baud")) {
		if (!strcmp(value, "auto"))
			m->baud = GW_BAUD_AUTO;
		else if (!parse_ulong(value, 38400, &v) || !valid_baud(v))
			perr(ctx, "baud: '%s' is not auto or a rate from 300 to 38400",
			     value);
		else
			m->baud = (unsigned int)v;
	} else if (!strcmp(name, "profile")) {
		m->profile = nmbus_profile_find(value);
		if (!m->profile) {
			char list[256] = "";
			const struct nmbus_profile *p;

			for (unsigned int i = 0; (p = nmbus_profile_get(i)); i++)
				snprintf(list + strlen(list),
					 sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", p->name);
			perr(ctx, "profile '%s' unknown (known: %s)", value,
			     list);
		}
	} else if (!strcmp(name, "init")) {
		parse_init(ctx, m, value);
	} else if (!strcmp(name, "max_telegrams")) {
		if (!parse_ulong(value, GW_TELEGRAMS_MAX, &v) || !v)
			perr(ctx, "max_telegrams: '%s' is not 1 to %d", value,
			     GW_TELEGRAMS_MAX);
		else
			m->max_telegrams = (unsigned int)v;
	} else if (!strcmp(name, "filter")) {
		parse_filter(ctx, m, value);
	} else if (!strcmp(name, "format")) {
		if (!strcmp(value, "values"))
			m->format = GW_FORMAT_VALUES;
		else if (!strcmp(value, "obis"))
			m->format = GW_FORMAT_OBIS;
		else
			perr(ctx, "format '%s': values or obis", value);
	} else {
		perr(ctx, "unknown key '%s' in [meter]", name);
	}
	return 1;
}

static int static_key(struct parse_ctx *ctx, const char *name,
		      const char *value)
{
	struct gw_meter_cfg *m = ctx->meter;
	struct gw_kv *kv;

	if (m->n_statics == GW_STATIC_MAX) {
		perr(ctx, "more than %d static fields", GW_STATIC_MAX);
		return 1;
	}
	if (!valid_name(name) || strlen(name) >= sizeof(kv->key)) {
		perr(ctx, "static field '%s': use letters, digits, '_' and '-'",
		     name);
		return 1;
	}
	for (unsigned int i = 0; i < m->n_statics; i++)
		if (!strcmp(m->statics[i].key, name)) {
			perr(ctx, "static field '%s' given twice", name);
			return 1;
		}
	kv = &m->statics[m->n_statics];
	if (!copy_str(ctx, kv->value, sizeof(kv->value), name, value))
		return 1;
	strcpy(kv->key, name);
	m->n_statics++;
	return 1;
}

static int meter_handler(void *user, const char *section, const char *name,
			 const char *value)
{
	struct parse_ctx *ctx = user;

	if (!name)
		return 1;
	if (!*section || !strcmp(section, "meter"))
		return meter_key(ctx, name, value);
	if (!strcmp(section, "static"))
		return static_key(ctx, name, value);
	return 1;	/* unknown section: reported at its header */
}

/* ---- the line-counting reader ------------------------------------------------ */

static void check_section(struct parse_ctx *ctx, const char *name)
{
	if (!ctx->main) {
		if (strcmp(name, "meter") && strcmp(name, "static"))
			perr(ctx, "unknown section [%s] (meter files have [meter] and [static])",
			     name);
		return;
	}
	ctx->bus = NULL;
	if (!strncmp(name, "bus", 3) && (name[3] == ' ' || !name[3])) {
		const char *b = name + 3;

		while (*b == ' ')
			b++;
		if (!*b)
			perr(ctx, "[bus] needs a name: [bus NAME]");
		else
			ctx->bus = new_bus(ctx, b);
	} else if (!strcmp(name, "http")) {
		ctx->cfg->http.enabled = true;
	} else if (strcmp(name, "gateway") && strcmp(name, "mqtt") &&
		   strcmp(name, "homeassistant")) {
		perr(ctx, "unknown section [%s] (gateway, bus NAME, mqtt, homeassistant, http)",
		     name);
	}
}

/*
 * Before inih sees a line: count it, and check what inih would reject or
 * only report as the first error. Section headers are handled here so
 * that [bus NAME] is known before its keys.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	char *s, *e, *line = fgets(str, num, ctx->fp);
	size_t len;

	if (!line)
		return NULL;
	len = strlen(line);
	if (len && line[len - 1] != '\n' && !feof(ctx->fp)) {
		int c;

		ctx->line++;
		perr(ctx, "line longer than %d characters", num - 2);
		while ((c = fgetc(ctx->fp)) != EOF && c != '\n')
			;
		line[0] = '\0';
		return line;
	}
	ctx->line++;
	for (s = line; isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (s == e || *s == ';' || *s == '#')
		return line;
	if (*s == '[') {
		char name[INI_MAX_LINE];
		const char *close = memchr(s, ']', (size_t)(e - s));

		if (!close) {
			perr(ctx, "section header without ']'");
			line[0] = '\0';
			return line;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(close - s - 1),
			 s + 1);
		check_section(ctx, name);
		return line;
	}
	if (!memchr(s, '=', (size_t)(e - s)) && !memchr(s, ':', (size_t)(e - s))) {
		perr(ctx, "expected KEY = VALUE or [SECTION]");
		line[0] = '\0';
	}
	return line;
}

static int parse_file(struct parse_ctx *ctx, const char *path,
		      ini_handler handler)
{
	int rc;

	ctx->fp = fopen(path, "r");
	ctx->file = path;
	ctx->line = 0;
	if (!ctx->fp) {
		perr(ctx, "cannot open: %s", strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(reader, ctx, handler, ctx);
	fclose(ctx->fp);
	ctx->fp = NULL;
	return rc;
}

/* ---- meters: one file each --------------------------------------------------- */

static bool has_conf_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".conf") && name[0] != '.';
}

static void meter_defaults(struct gw_meter_cfg *m, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	memset(m, 0, sizeof(*m));
	base = base ? base + 1 : path;
	n = strlen(base) - 5;
	if (n < sizeof(m->name))
		snprintf(m->name, sizeof(m->name), "%.*s", (int)n, base);
	if (!valid_name(m->name))
		m->name[0] = '\0';
	m->primary = -2;
	m->interval_ms = 60000;
	m->max_telegrams = 16;
	snprintf(m->origin.file, sizeof(m->origin.file), "%s", path);
	m->origin.line = 1;
}

static void meter_finish(struct gw_config *cfg, struct gw_meter_cfg *m)
{
	const char *f = m->origin.file;

	if (!m->name[0])
		perr_at(cfg, f, 1, "no valid name (name = ...)");
	if (!(m->seen & GW_M_BUS)) {
		if (cfg->n_buses == 1)
			strcpy(m->bus, cfg->buses[0].name);
		else
			perr_at(cfg, f, 1, "no bus (bus = NAME)");
	} else if (cfg->n_buses && !gw_config_find_bus(cfg, m->bus)) {
		perr_at(cfg, f, m->origin.line, "bus '%s' is not defined in %s",
			m->bus, cfg->main_file);
	}
	if (!(m->seen & GW_M_ADDRESS))
		perr_at(cfg, f, 1, "no address (address = PRIMARY or SECONDARY)");
	if (m->min_interval_ms > m->interval_ms)
		perr_at(cfg, f, 1, "min_interval is longer than interval");
}

/* Line of the first "KEY =" in @path, for errors about a whole meter. */
static int key_line(const char *path, const char *key)
{
	char line[INI_MAX_LINE + 2];
	FILE *fp = fopen(path, "r");
	int n = 0, found = 1;
	size_t kl = strlen(key);

	if (!fp)
		return 1;
	while (fgets(line, sizeof(line), fp)) {
		char *s = line;

		n++;
		while (isspace((unsigned char)*s))
			s++;
		if (!strncmp(s, key, kl) &&
		    (isspace((unsigned char)s[kl]) || s[kl] == '=')) {
			found = n;
			break;
		}
	}
	fclose(fp);
	return found;
}

static void check_duplicates(struct gw_config *cfg)
{
	for (unsigned int i = 0; i < cfg->n_meters; i++) {
		struct gw_meter_cfg *a = &cfg->meters[i];

		for (unsigned int j = 0; j < i; j++) {
			struct gw_meter_cfg *b = &cfg->meters[j];

			if (a->name[0] && !strcmp(a->name, b->name))
				perr_at(cfg, a->origin.file,
					key_line(a->origin.file, "name"),
					"meter name '%s' already used in %s",
					a->name, b->origin.file);
			else if (!strcmp(a->bus, b->bus) && a->address[0] &&
				 !strcasecmp(a->address, b->address))
				perr_at(cfg, a->origin.file,
					key_line(a->origin.file, "address"),
					"address %s on bus %s already used by %s",
					a->address, a->bus, b->origin.file);
		}
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gw_config_load_meters(struct gw_config *cfg, const char *dir)
{
	struct parse_ctx ctx = { .cfg = cfg };
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	unsigned int errors = cfg->errors;
	DIR *d = opendir(dir);

	free(cfg->meters);
	cfg->meters = NULL;
	cfg->n_meters = 0;
	if (!d) {
		perr_at(cfg, dir, 0, "cannot open the meter directory: %s",
			strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!has_conf_suffix(de->d_name))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			perr_at(cfg, dir, 0, "out of memory");
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n)		/* names is NULL in an empty directory */
		qsort(names, n, sizeof(*names), cmp_names);
	cfg->meters = calloc(n ? n : 1, sizeof(*cfg->meters));
	if (!cfg->meters) {
		perr_at(cfg, dir, 0, "out of memory");
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		char path[GW_PATH_MAX];
		struct gw_meter_cfg *m = &cfg->meters[cfg->n_meters];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path)) {
			perr_at(cfg, dir, 0, "%s: path too long", names[i]);
			continue;
		}
		meter_defaults(m, path);
		ctx.meter = m;
		ctx.main = false;
		if (parse_file(&ctx, path, meter_handler) >= 0) {
			meter_finish(cfg, m);
			cfg->n_meters++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	check_duplicates(cfg);
	return cfg->errors == errors ? 0 : -1;
}

/* ---- the whole configuration ------------------------------------------------- */

static void config_defaults(struct gw_config *cfg, const char *main_file,
			   FILE *err)
{
	const char *slash = strrchr(main_file, '/');

	memset(cfg, 0, sizeof(*cfg));
	cfg->err = err ? err : stderr;
	snprintf(cfg->main_file, sizeof(cfg->main_file), "%s", main_file);
	if (slash)
		snprintf(cfg->meter_dir, sizeof(cfg->meter_dir),
			 "%.*s/meters.d", (int)(slash - main_file), main_file);
	else
		snprintf(cfg->meter_dir, sizeof(cfg->meter_dir), "meters.d");
	snprintf(cfg->state_dir, sizeof(cfg->state_dir),
		 "/var/lib/mbus-gatewayd");
	cfg->stats_interval_s = 60;
	snprintf(cfg->mqtt.host, sizeof(cfg->mqtt.host), "localhost");
	cfg->mqtt.port = 1883;
	snprintf(cfg->mqtt.client_id, sizeof(cfg->mqtt.client_id),
		 "mbus-gatewayd");
	snprintf(cfg->mqtt.base, sizeof(cfg->mqtt.base), "nmbus");
	cfg->mqtt.qos = 1;
	cfg->mqtt.retain = true;
	cfg->mqtt.keepalive = 60;
	cfg->mqtt.queue = 10000;
	cfg->ha.discovery = true;
	snprintf(cfg->ha.prefix, sizeof(cfg->ha.prefix), "homeassistant");
	snprintf(cfg->http.listen, sizeof(cfg->http.listen), "127.0.0.1:%u",
		 GW_HTTP_PORT);
	snprintf(cfg->http.host, sizeof(cfg->http.host), "127.0.0.1");
	cfg->http.port = GW_HTTP_PORT;
	cfg->http.max_connections = GW_HTTP_MAX_CONN;
}

int gw_config_load(struct gw_config *cfg, const char *main_file, FILE *err)
{
	struct parse_ctx ctx = { .main = true };
	char meter_dir[2 * GW_PATH_MAX];

	config_defaults(cfg, main_file, err);
	ctx.cfg = cfg;
	parse_file(&ctx, main_file, main_handler);
	for (unsigned int i = 0; i < cfg->n_buses; i++) {
		struct gw_bus_cfg *b = &cfg->buses[i];

		if (!b->port[0])
			perr_at(cfg, b->origin.file, b->origin.line,
				"[bus %s] has no port", b->name);
	}
	if (!cfg->n_buses)
		perr_at(cfg, main_file, 1, "no [bus NAME] section");
	if ((cfg->mqtt.cert[0] != 0) != (cfg->mqtt.key[0] != 0))
		perr_at(cfg, main_file, 1, "[mqtt] cert and key go together");
	if ((cfg->http.cert[0] != 0) != (cfg->http.key[0] != 0))
		perr_at(cfg, main_file, 1, "[http] cert and key go together");
	if (cfg->http.auth_file[0])
		load_auth(cfg, cfg->http.auth_file);
	/* A relative meter directory is relative to the main file. */
	if (cfg->meter_dir[0] != '/' && strchr(main_file, '/') &&
	    strcmp(cfg->meter_dir, "meters.d")) {
		const char *slash = strrchr(main_file, '/');

		snprintf(meter_dir, sizeof(meter_dir), "%.*s/%s",
			 (int)(slash - main_file), main_file, cfg->meter_dir);
		if (strlen(meter_dir) >= sizeof(cfg->meter_dir))
			perr_at(cfg, main_file, 1, "meters: path too long");
		else
			strcpy(cfg->meter_dir, meter_dir);
	}
	gw_config_load_meters(cfg, cfg->meter_dir);
	return cfg->errors ? -1 : 0;
}

void gw_config_free(struct gw_config *cfg)
{
	free(cfg->http.users);
	cfg->http.users = NULL;
	free(cfg->buses);
	free(cfg->meters);
	cfg->buses = NULL;
	cfg->meters = NULL;
	cfg->n_buses = cfg->n_meters = 0;
}

const struct gw_bus_cfg *gw_config_find_bus(const struct gw_config *cfg,
					    const char *name)
{
	for (unsigned int i = 0; i < cfg->n_buses; i++)
		if (!strcmp(cfg->buses[i].name, name))
			return &cfg->buses[i];
	return NULL;
}
