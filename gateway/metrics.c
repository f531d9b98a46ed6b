// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd metrics and CSV: the last readings and the port counters
 * in the Prometheus text exposition format (GET /metrics, --textfile) and
 * the readings as CSV (GET /api/v1/meters.csv)
 *
 * Text format 0.0.4: a HELP and a TYPE line per metric family, then one
 * sample a line, NAME{LABEL="VALUE",...} NUMBER; in label values a
 * backslash, a double quote and a line feed are written \\, \" and \n.
 * Only numbers become samples: text values (dates, fabrication numbers as
 * strings) have no place in a time series. The counters of a bus are the
 * kernel's (MBUS_IOC_GET_STATS) as last collected, every stats_interval.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

static const char *const functions[] = {
	"instantaneous", "maximum", "minimum", "error",
};

void gw_prom_escape(struct gw_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			gw_buf_puts(b, "\\\\");
		else if (*s == '"')
			gw_buf_puts(b, "\\\"");
		else if (*s == '\n')
			gw_buf_puts(b, "\\n");
		else
			gw_buf_add(b, s, 1);
	}
}

static void label(struct gw_buf *b, const char *name, const char *value,
		  bool first)
{
	gw_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	gw_prom_escape(b, value);
	gw_buf_puts(b, "\"");
}

static void number(struct gw_buf *b, double v)
{
	if (isnan(v))
		gw_buf_puts(b, "NaN");
	else if (isinf(v))
		gw_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else
		gw_buf_printf(b, "%.15g", v);
}

static void meter_labels(struct gw_buf *b, const char *bus, const char *meter)
{
	label(b, "bus", bus, true);
	label(b, "meter", meter, false);
}

void gw_prom_value(struct gw_buf *b, const char *bus, const char *meter,
		   const char *secaddr, const struct gw_value *v)
{
	char n[24];

	if (!v->numeric)
		return;
	gw_buf_puts(b, "mbus_meter_value{");
	meter_labels(b, bus, meter);
	label(b, "secondary", secaddr ? secaddr : "", false);
	label(b, "quantity", v->qkey, false);
	label(b, "unit", v->unit, false);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)v->storage);
	label(b, "storage", n, false);
	snprintf(n, sizeof(n), "%u", v->tariff);
	label(b, "tariff", n, false);
	snprintf(n, sizeof(n), "%u", v->subunit);
	label(b, "subunit", n, false);
	if (v->function != NMBUS_FUNC_INSTANT && v->function < 4)
		label(b, "function", functions[v->function], false);
	if (v->obis)
		label(b, "obis", v->obis, false);
	/* two records may share all of the above: the key tells them apart */
	label(b, "key", v->key, false);
	gw_buf_puts(b, "} ");
	number(b, v->number);
	gw_buf_puts(b, "\n");
}

static void family(struct gw_buf *b, const char *name, const char *type,
		   const char *help)
{
	gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The families of one kind of meter sample, every bus in turn. */
enum meter_metric { M_VALUE, M_UP, M_LAST_OK, M_DURATION };

static void meter_samples(struct gw_ctx *gw, struct gw_buf *b,
			  enum meter_metric what)
{
	static const char *const names[] = {
		"mbus_meter_up", "mbus_meter_last_success_timestamp_seconds",
		"mbus_meter_readout_duration_seconds",
	};

	for (unsigned int i = 0; i < gw->n_buses; i++) {
		struct gw_bus_rt *bus = &gw->buses[i];

		pthread_mutex_lock(&bus->lock);
		for (unsigned int k = 0; k < bus->n_meters; k++) {
			const struct gw_meter_rt *m = &bus->meters[k];
			const struct gw_snap *s = gw_bus_snap(bus, m->cfg.name);

			if (what == M_VALUE) {
				for (unsigned int v = 0; s && v < s->n_values; v++)
					gw_prom_value(b, bus->cfg.name,
						      m->cfg.name, m->secaddr,
						      &s->values[v]);
				continue;
			}
			if (what != M_UP && (!s || (what == M_LAST_OK &&
						    !s->last_ok_s)))
				continue;
			gw_buf_printf(b, "%s{", names[what - M_UP]);
			meter_labels(b, bus->cfg.name, m->cfg.name);
			gw_buf_puts(b, "} ");
			if (what == M_UP)
				gw_buf_puts(b, s && s->ok ? "1" : "0");
			else
				number(b, what == M_LAST_OK ? s->last_ok_s :
				       s->duration_s);
			gw_buf_puts(b, "\n");
		}
		pthread_mutex_unlock(&bus->lock);
	}
}

/* The port counters, then the schedule's, of every bus. */
static void bus_counters(struct gw_ctx *gw, struct gw_buf *b)
{
	static const struct gw_stat_name sched[] = {
		{ "reads", "Readouts done by the schedule and on command" },
		{ "failures", "Readouts that failed" },
		{ "late", "Readouts started more than 1 s after they were due" },
	};
	char name[80];

	for (unsigned int k = 0; k < gw_n_stat_names; k++) {
		snprintf(name, sizeof(name), "mbus_port_%s_total",
			 gw_stat_names[k].name);
		family(b, name, "counter", gw_stat_names[k].help);
		for (unsigned int i = 0; i < gw->n_buses; i++) {
			struct gw_bus_rt *bus = &gw->buses[i];

			pthread_mutex_lock(&bus->lock);
			if (k < bus->n_stats) {
				gw_buf_printf(b, "%s{", name);
				label(b, "bus", bus->cfg.name, true);
				label(b, "port", bus->cfg.port, false);
				gw_buf_printf(b, "} %llu\n",
					      (unsigned long long)bus->stats[k]);
			}
			pthread_mutex_unlock(&bus->lock);
		}
	}
	for (size_t k = 0; k < sizeof(sched) / sizeof(sched[0]); k++) {
		snprintf(name, sizeof(name), "mbus_bus_%s_total", sched[k].name);
		family(b, name, "counter", sched[k].help);
		for (unsigned int i = 0; i < gw->n_buses; i++) {
			struct gw_bus_rt *bus = &gw->buses[i];
			uint64_t v;

			pthread_mutex_lock(&bus->lock);
			v = k == 0 ? bus->reads : k == 1 ? bus->failures :
				bus->late;
			gw_buf_printf(b, "%s{", name);
			label(b, "bus", bus->cfg.name, true);
			gw_buf_printf(b, "} %llu\n", (unsigned long long)v);
			pthread_mutex_unlock(&bus->lock);
		}
	}
	family(b, "mbus_bus_port_up", "gauge",
	       "Whether the bus's port is open (1) or gone (0)");
	for (unsigned int i = 0; i < gw->n_buses; i++) {
		struct gw_bus_rt *bus = &gw->buses[i];

		pthread_mutex_lock(&bus->lock);
		gw_buf_puts(b, "mbus_bus_port_up{");
		label(b, "bus", bus->cfg.name, true);
		gw_buf_printf(b, "} %d\n", bus->port_ok ? 1 : 0);
		pthread_mutex_unlock(&bus->lock);
	}
}

void gw_metrics(struct gw_ctx *gw, struct gw_buf *b)
{
	family(b, "mbus_meter_value", "gauge",
	       "The numeric values of each meter's last readout, in the unit of the label unit");
	meter_samples(gw, b, M_VALUE);
	family(b, "mbus_meter_up", "gauge",
	       "Whether the meter's last readout succeeded (1) or not (0)");
	meter_samples(gw, b, M_UP);
	family(b, "mbus_meter_last_success_timestamp_seconds", "gauge",
	       "Unix time of the meter's last good readout");
	meter_samples(gw, b, M_LAST_OK);
	family(b, "mbus_meter_readout_duration_seconds", "gauge",
	       "Bus time of the meter's last readout");
	meter_samples(gw, b, M_DURATION);
	bus_counters(gw, b);
}

int gw_metrics_write(struct gw_ctx *gw, const char *path)
{
	char tmp[GW_PATH_MAX + 8];
	struct gw_buf b;
	FILE *fp;
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	gw_buf_init(&b);
	gw_metrics(gw, &b);
	if (b.oom) {
		gw_buf_free(&b);
		errno = ENOMEM;
		return -1;
	}
	fp = fopen(tmp, "w");
	if (!fp) {
		gw_buf_free(&b);
		return -1;
	}
	if (fwrite(b.p, 1, b.len, fp) != b.len)
		err = errno;
	if (fclose(fp) && !err)
		err = errno;
	gw_buf_free(&b);
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- CSV ---------------------------------------------------------------------------- */

const char gw_csv_header[] =
	"bus,meter,secondary_address,timestamp,status,key,quantity,unit,storage,tariff,subunit,function,value,obis\r\n";

void gw_csv_field(struct gw_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		gw_buf_puts(b, s);
		return;
	}
	gw_buf_puts(b, "\"");
	for (; *s; s++) {
		if (*s == '"')
			gw_buf_puts(b, "\"\"");
		else
			gw_buf_add(b, s, 1);
	}
	gw_buf_puts(b, "\"");
}

void gw_csv_rows(struct gw_buf *b, const char *bus, const char *meter,
		 const char *secaddr, const struct gw_snap *s)
{
	for (unsigned int i = 0; i < s->n_values; i++) {
		const struct gw_value *v = &s->values[i];
		char num[40];

		gw_csv_field(b, bus);
		gw_buf_puts(b, ",");
		gw_csv_field(b, meter);
		gw_buf_puts(b, ",");
		gw_csv_field(b, secaddr ? secaddr : "");
		gw_buf_printf(b, ",%s,%s,", s->timestamp,
			      s->ok ? "ok" : "error");
		gw_csv_field(b, v->key);
		gw_buf_puts(b, ",");
		gw_csv_field(b, v->qkey);
		gw_buf_puts(b, ",");
		gw_csv_field(b, v->unit);
		gw_buf_printf(b, ",%llu,%u,%u,%s,",
			      (unsigned long long)v->storage, v->tariff,
			      v->subunit, v->function < 4 ?
			      functions[v->function] : "");
		if (v->numeric) {
			snprintf(num, sizeof(num), "%.15g", v->number);
			gw_buf_puts(b, num);
		} else {
			gw_csv_field(b, v->text);
		}
		gw_buf_puts(b, ",");
		gw_csv_field(b, v->obis ? v->obis : "");
		gw_buf_puts(b, "\r\n");
	}
}
