// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd readings: the flat "values" map, its keys, the state
 * message, and the Home Assistant classes of each value
 *
 * Key of a record (documented in mbus-gatewayd(8)): the quantity libnmbus
 * names, in lower case with '_' for every run of other characters, then
 * the unit (lower case, '/' as '_', "°C" as "c"), then "s<storage>",
 * "t<tariff>", "u<subunit>" where not 0 and "max", "min" or "err" where
 * the function is not instantaneous: energy_wh, volume_m3, energy_wh_s1,
 * flow_temperature_c, power_w_max. A key that a reading already has gets
 * "_2", "_3", ... in record order, so keys are the same for every reading
 * of a meter that sends the same records.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"

/* ---- a growing string ------------------------------------------------------ */

void gw_buf_init(struct gw_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void gw_buf_free(struct gw_buf *b)
{
	free(b->p);
	gw_buf_init(b);
}

static bool buf_reserve(struct gw_buf *b, size_t n)
{
	size_t size;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->size)
		return true;
	size = b->size ? b->size : 256;
	while (size < b->len + n + 1)
		size *= 2;
	p = realloc(b->p, size);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->size = size;
	return true;
}

void gw_buf_add(struct gw_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void gw_buf_puts(struct gw_buf *b, const char *s)
{
	gw_buf_add(b, s, strlen(s));
}

void gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void gw_buf_json_str(struct gw_buf *b, const char *s)
{
	gw_buf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			gw_buf_add(b, esc, 2);
		} else if (c < 0x20) {
			gw_buf_printf(b, "\\u%04x", c);
		} else {
			gw_buf_add(b, s, 1);
		}
	}
	gw_buf_add(b, "\"", 1);
}

char *gw_buf_take(struct gw_buf *b)
{
	char *p;

	if (b->oom || !buf_reserve(b, 0)) {
		gw_buf_free(b);
		return NULL;
	}
	p = b->p;
	gw_buf_init(b);
	return p;
}

/* ---- keys ------------------------------------------------------------------- */

void gw_slug(char *out, size_t size, const char *in)
{
	size_t n = 0;
	bool sep = false;

	if (!size)
		return;
	for (; *in && n + 1 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (isalnum(c) && c < 0x80) {
			if (sep && n && n + 2 < size)
				out[n++] = '_';
			sep = false;
			out[n++] = (char)tolower(c);
		} else {
			sep = true;
		}
	}
	out[n] = '\0';
}

void gw_unit_key(char *out, size_t size, enum nmbus_unit unit)
{
	switch (unit) {
	case NMBUS_UNIT_CELSIUS:
		snprintf(out, size, "c");
		break;
	case NMBUS_UNIT_FAHRENHEIT:
		snprintf(out, size, "f");
		break;
	case NMBUS_UNIT_DEGREE:
		snprintf(out, size, "deg");
		break;
	case NMBUS_UNIT_PERCENT:
		snprintf(out, size, "pct");
		break;
	default:
		gw_slug(out, size, nmbus_unit_name(unit));
		break;
	}
}

static const char *const function_keys[4] = { "", "max", "min", "err" };

void gw_value_key(char *out, size_t size, const struct nmbus_record *rec,
		  const struct nmbus_value *val)
{
	char q[GW_NAME_MAX], u[24];
	size_t n;

	gw_slug(q, sizeof(q), val->quantity);
	if (!*q)
		snprintf(q, sizeof(q), "vif_%02x", rec->vif);
	gw_unit_key(u, sizeof(u), val->unit);
	n = (size_t)snprintf(out, size, "%s%s%s", q, *u ? "_" : "", u);
	if (rec->storage && n < size)
		n += (size_t)snprintf(out + n, size - n, "_s%llu",
				      (unsigned long long)rec->storage);
	if (rec->tariff && n < size)
		n += (size_t)snprintf(out + n, size - n, "_t%u", rec->tariff);
	if (rec->subunit && n < size)
		n += (size_t)snprintf(out + n, size - n, "_u%u", rec->subunit);
	if ((rec->function & 3) && n < size)
		snprintf(out + n, size - n, "_%s",
			 function_keys[rec->function & 3]);
}

/* ---- Home Assistant classes ----------------------------------------------- */

static bool medium_is_water(uint8_t m)
{
	return m == 0x06 || m == 0x07 || m == 0x15 || m == 0x16 || m == 0x28;
}

/* Quantities that describe the meter rather than measure something. */
static bool quantity_is_diagnostic(const char *q)
{
	static const char *const words[] = {
		"fabrication", "error", "version", "identification",
		"access", "address", "manufacturer", "customer", "model",
		"firmware", "software", "hardware", "status", "parameter",
		"battery", "operating time", "on time", "reset counter",
		"storage interval", "retry", "response delay",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(q, words[i]))
			return true;
	return false;
}

void gw_ha_classify(const struct nmbus_value *val, uint8_t medium,
		    struct gw_ha_class *out)
{
	static const struct {
		enum nmbus_unit unit;
		const char *device_class, *state_class, *ha_unit;
	} map[] = {
		{ NMBUS_UNIT_WH, "energy", "total_increasing", "Wh" },
		{ NMBUS_UNIT_J, NULL, "total_increasing", "J" },
		{ NMBUS_UNIT_M3, "volume", "total_increasing", "m\u00b3" },
		{ NMBUS_UNIT_KG, "weight", "total_increasing", "kg" },
		{ NMBUS_UNIT_W, "power", "measurement", "W" },
		{ NMBUS_UNIT_J_H, NULL, "measurement", "J/h" },
		{ NMBUS_UNIT_M3_H, "volume_flow_rate", "measurement",
		  "m\u00b3/h" },
		{ NMBUS_UNIT_M3_MIN, NULL, "measurement", "m\u00b3/min" },
		{ NMBUS_UNIT_M3_S, NULL, "measurement", "m\u00b3/s" },
		{ NMBUS_UNIT_KG_H, NULL, "measurement", "kg/h" },
		{ NMBUS_UNIT_CELSIUS, "temperature", "measurement",
		  "\u00b0C" },
		{ NMBUS_UNIT_FAHRENHEIT, "temperature", "measurement",
		  "\u00b0F" },
		{ NMBUS_UNIT_K, "temperature", "measurement", "K" },
		{ NMBUS_UNIT_BAR, "pressure", "measurement", "bar" },
		{ NMBUS_UNIT_V, "voltage", "measurement", "V" },
		{ NMBUS_UNIT_A, "current", "measurement", "A" },
		{ NMBUS_UNIT_VA, "apparent_power", "measurement", "VA" },
		{ NMBUS_UNIT_VAR, "reactive_power", "measurement", "var" },
		{ NMBUS_UNIT_VARH, NULL, "total_increasing", "varh" },
		{ NMBUS_UNIT_HZ, "frequency", "measurement", "Hz" },
		{ NMBUS_UNIT_S, "duration", "measurement", "s" },
		{ NMBUS_UNIT_MIN, "duration", "measurement", "min" },
		{ NMBUS_UNIT_H, "duration", "measurement", "h" },
		{ NMBUS_UNIT_D, "duration", "measurement", "d" },
		{ NMBUS_UNIT_PERCENT, NULL, "measurement", "%" },
		{ NMBUS_UNIT_HCA, NULL, "total_increasing", NULL },
	};

	memset(out, 0, sizeof(*out));
	out->diagnostic = quantity_is_diagnostic(val->quantity);
	if (val->type != NMBUS_VALUE_NUMBER) {
		out->diagnostic = true;
		return;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].unit != val->unit)
			continue;
		out->device_class = map[i].device_class;
		out->state_class = map[i].state_class;
		out->unit = map[i].ha_unit;
		break;
	}
	if (val->unit == NMBUS_UNIT_M3) {
		if (medium_is_water(medium))
			out->device_class = "water";
		else if (medium == 0x03)
			out->device_class = "gas";
	}
	/* A temperature difference is no temperature to HA's statistics. */
	if (val->unit == NMBUS_UNIT_K && strstr(val->quantity, "difference"))
		out->device_class = NULL;
	if (out->diagnostic) {
		out->device_class = NULL;
		out->state_class = NULL;
	}
}

/* ---- readings ----------------------------------------------------------------- */

static void format_text_value(const struct nmbus_value *v, char *out,
			      size_t size)
{
	const struct nmbus_datetime *t = &v->tm;
	char year[8];

	if (t->year >= 0)
		snprintf(year, sizeof(year), "%04d", t->year);
	else
		snprintf(year, sizeof(year), "XXXX");
	switch (v->type) {
	case NMBUS_VALUE_DATE:
		snprintf(out, size, "%s-%02u-%02u", year, t->month, t->day);
		break;
	case NMBUS_VALUE_DATETIME:
		snprintf(out, size, "%s-%02u-%02uT%02u:%02u:%02u", year,
			 t->month, t->day, t->hour, t->minute, t->second);
		break;
	case NMBUS_VALUE_TIME:
		snprintf(out, size, "%02u:%02u:%02u", t->hour, t->minute,
			 t->second);
		break;
	case NMBUS_VALUE_TEXT: {
		ssize_t n = nmbus_value_copy_text(v, out, size);

		if (n < 0)
			out[0] = '\0';
		break;
	}
	default: {
		size_t n = 0;

		for (size_t i = 0; i < v->len && n + 3 <= size; i++)
			n += (size_t)snprintf(out + n, size - n, "%02X",
					      v->bytes[i]);
		out[n] = '\0';
		break;
	}
	}
}

static bool passes_filter(const struct gw_meter_cfg *m, const char *qkey,
			  const char *key)
{
	if (!m || !m->n_filter)
		return true;
	for (unsigned int i = 0; i < m->n_filter; i++)
		if (!strcmp(m->filter[i], qkey) || !strcmp(m->filter[i], key))
			return true;
	return false;
}

/*
 * A 32-bit real (DIF data field 5) as the tools print it: 7 to 9
 * significant digits, the first that give the float back, then scaled
 * by the VIF's power of ten (not the double's 17 digits of binary noise).
 */
static double real_as_printed(double number, int exponent)
{
	double scale = pow(10, exponent);
	float f = (float)(number / scale);
	char buf[40];

	for (int p = 7; p <= 9; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, (double)f);
		if ((float)strtod(buf, NULL) == f)
			break;
	}
	return strtod(buf, NULL) * scale;
}

static bool key_taken(const struct gw_reading *r, const char *key)
{
	for (unsigned int i = 0; i < r->n_values; i++)
		if (!strcmp(r->values[i].key, key))
			return true;
	return false;
}

static void add_value(struct gw_reading *r, const struct gw_meter_cfg *m,
		      const struct nmbus_frame *f, const struct nmbus_record *rec)
{
	struct gw_value *gv;
	struct nmbus_value v;
	char key[sizeof(gv->key)], qkey[GW_NAME_MAX];

	if (rec->kind != NMBUS_RECORD_DATA && rec->kind != NMBUS_RECORD_FIXED)
		return;
	if (r->n_values == GW_VALUES_MAX ||
	    nmbus_record_get_value(f, rec, &v) || v.type == NMBUS_VALUE_NONE)
		return;
	gw_value_key(key, sizeof(key), rec, &v);
	gw_slug(qkey, sizeof(qkey), v.quantity);
	if (!passes_filter(m, qkey, key))
		return;
	gv = &r->values[r->n_values];
	memset(gv, 0, sizeof(*gv));
	if (key_taken(r, key)) {
		for (unsigned int n = 2;; n++) {
			snprintf(gv->key, sizeof(gv->key), "%.*s_%u",
				 (int)sizeof(gv->key) - 8, key, n);
			if (!key_taken(r, gv->key))
				break;
		}
	} else {
		strcpy(gv->key, key);
	}
	strcpy(gv->qkey, qkey);
	gv->storage = rec->storage;
	gv->tariff = rec->tariff;
	gv->subunit = rec->subunit;
	gv->function = rec->function;
	gv->numeric = v.type == NMBUS_VALUE_NUMBER && isfinite(v.number);
	gv->number = v.number;
	if (gv->numeric && rec->kind == NMBUS_RECORD_DATA &&
	    (rec->dif & 0x0f) == 0x05)
		gv->number = real_as_printed(v.number, v.exponent);
	if (!gv->numeric)
		format_text_value(&v, gv->text, sizeof(gv->text));
	snprintf(gv->unit, sizeof(gv->unit), "%s", nmbus_unit_name(v.unit));
	gv->obis = nmbus_record_obis(f, rec);
	gw_ha_classify(&v, r->header.medium, &gv->ha);
	r->n_values++;
}

int gw_reading_add_telegram(struct gw_reading *r,
			    const struct gw_meter_cfg *m,
			    const uint8_t *buf, size_t len)
{
	static __thread struct nmbus_record records[NMBUS_MAX_RECORDS];
	struct nmbus_frame f;
	ssize_t n;
	int rc;

	rc = nmbus_decode(&f, buf, len, records, NMBUS_MAX_RECORDS);
	if (rc)
		snprintf(r->error, sizeof(r->error), "telegram %u: byte %u: %s",
			 r->n_telegrams + 1, f.error.offset,
			 nmbus_strerror(f.error.code));
	if (!r->has_header && f.header.has_address) {
		r->header = f.header;
		r->has_header = true;
	}
	n = nmbus_frame_format(&f, NMBUS_FORMAT_JSON, NULL, 0);
	if (n > 0) {
		char *tmp = malloc((size_t)n + 1);

		if (tmp) {
			nmbus_frame_format(&f, NMBUS_FORMAT_JSON, tmp,
					   (size_t)n + 1);
			gw_buf_puts(&r->telegrams, r->n_telegrams ? "," : "");
			gw_buf_add(&r->telegrams, tmp, (size_t)n);
			free(tmp);
		}
	}
	r->n_telegrams++;
	for (unsigned int i = 0; i < f.n_records; i++)
		add_value(r, m, &f, &f.records[i]);
	return rc ? -1 : 0;
}

static void json_number(struct gw_buf *b, double v)
{
	char tmp[40];

	snprintf(tmp, sizeof(tmp), "%.15g", v);
	gw_buf_puts(b, tmp);
}

static void json_value(struct gw_buf *b, const struct gw_value *v)
{
	if (v->numeric)
		json_number(b, v->number);
	else
		gw_buf_json_str(b, v->text);
}

/*
 * ,"obis":{CODE:VALUE,...}: every value with an OBIS code, keyed by it;
 * a code met again (a later telegram's record) keeps its first value.
 */
static void json_obis(struct gw_buf *b, const struct gw_reading *r)
{
	bool first = true;

	gw_buf_puts(b, ",\"obis\":{");
	for (unsigned int i = 0; i < r->n_values; i++) {
		const struct gw_value *v = &r->values[i];
		unsigned int k;

		if (!v->obis)
			continue;
		for (k = 0; k < i; k++)
			if (r->values[k].obis &&
			    !strcmp(r->values[k].obis, v->obis))
				break;
		if (k < i)
			continue;
		gw_buf_puts(b, first ? "" : ",");
		first = false;
		gw_buf_json_str(b, v->obis);
		gw_buf_puts(b, ":");
		json_value(b, v);
	}
	gw_buf_puts(b, "}");
}

/* name, bus, address, secondary_address, timestamp, status, error */
static void json_head(struct gw_buf *b, const struct gw_reading *r,
		      const struct gw_meter_cfg *m, const char *secaddr)
{
	gw_buf_puts(b, "{\"name\":");
	gw_buf_json_str(b, m->name);
	gw_buf_puts(b, ",\"bus\":");
	gw_buf_json_str(b, m->bus);
	gw_buf_puts(b, ",\"address\":");
	gw_buf_json_str(b, m->address);
	if (secaddr && *secaddr) {
		gw_buf_puts(b, ",\"secondary_address\":");
		gw_buf_json_str(b, secaddr);
	}
	gw_buf_puts(b, ",\"timestamp\":");
	gw_buf_json_str(b, r->timestamp);
	gw_buf_puts(b, r->ok ? ",\"status\":\"ok\"" : ",\"status\":\"error\"");
	if (r->error[0]) {
		gw_buf_puts(b, ",\"error\":");
		gw_buf_json_str(b, r->error);
	}
}

char *gw_reading_obis_json(const struct gw_reading *r,
			   const struct gw_meter_cfg *m)
{
	struct gw_buf b;

	gw_buf_init(&b);
	json_head(&b, r, m, NULL);
	json_obis(&b, r);
	gw_buf_puts(&b, "}");
	return gw_buf_take(&b);
}

char *gw_reading_json(const struct gw_reading *r, const struct gw_meter_cfg *m,
		      const char *secaddr)
{
	struct gw_buf b;

	gw_buf_init(&b);
	json_head(&b, r, m, secaddr);
	gw_buf_printf(&b, ",\"bus_ms\":%llu",
		      (unsigned long long)(r->bus_us / 1000));
	gw_buf_puts(&b, ",\"values\":{");
	for (unsigned int i = 0; i < r->n_values; i++) {
		const struct gw_value *v = &r->values[i];

		gw_buf_puts(&b, i ? "," : "");
		gw_buf_json_str(&b, v->key);
		gw_buf_puts(&b, ":");
		json_value(&b, v);
	}
	gw_buf_puts(&b, "}");
	if (m->format == GW_FORMAT_OBIS)
		json_obis(&b, r);
	if (m->n_statics) {
		gw_buf_puts(&b, ",\"static\":{");
		for (unsigned int i = 0; i < m->n_statics; i++) {
			gw_buf_puts(&b, i ? "," : "");
			gw_buf_json_str(&b, m->statics[i].key);
			gw_buf_puts(&b, ":");
			gw_buf_json_str(&b, m->statics[i].value);
		}
		gw_buf_puts(&b, "}");
	}
	gw_buf_puts(&b, ",\"telegrams\":[");
	if (r->telegrams.len)
		gw_buf_add(&b, r->telegrams.p, r->telegrams.len);
	gw_buf_puts(&b, "]}");
	return gw_buf_take(&b);
}

/* ---- logging ---------------------------------------------------------------------- */

void gw_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line: bus threads log too. */
	fprintf(stderr, "mbus-gatewayd: %s\n", line);
}

void gw_utc_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}
