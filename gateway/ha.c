// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd: Home Assistant MQTT discovery
 *
 * From the first good reading of a meter, one sensor per value of its
 * "values" map: PREFIX/sensor/nmbus_SECADDR/KEY/config (retained), with
 * unique_id nmbus_SECADDR_KEY (the secondary address as libmbus prints
 * it), device_class, state_class and unit from the record's unit and the
 * meter's medium, storage numbers above 0 disabled by default,
 * descriptive records (fabrication number, error flags, dates, versions)
 * in entity_category diagnostic, and availability from both the bridge
 * and the meter topics (all must be online).
 */
#include <string.h>

#include "gw.h"

static void add_str(struct gw_buf *j, const char *key, const char *val)
{
	gw_buf_printf(j, ",\"%s\":", key);
	gw_buf_json_str(j, val);
}

static char *config_json(struct gw_ctx *gw, const struct gw_meter_rt *m,
			 const struct gw_value *v, const char *uid)
{
	const char *base = gw->cfg->mqtt.base;
	struct gw_buf j, t;
	char id[160];

	gw_buf_init(&j);
	gw_buf_init(&t);
	snprintf(id, sizeof(id), "nmbus_%s_%s", uid, v->key);
	gw_buf_puts(&j, "{\"name\":");
	gw_buf_json_str(&j, v->key);
	add_str(&j, "unique_id", id);
	add_str(&j, "object_id", id);
	gw_buf_printf(&t, "%s/%s/%s/state", base, m->cfg.bus, m->cfg.name);
	add_str(&j, "state_topic", t.p ? t.p : "");
	gw_buf_printf(&j, ",\"value_template\":\"{{ value_json['values']['%s'] }}\"",
		      v->key);
	if (v->ha.device_class)
		add_str(&j, "device_class", v->ha.device_class);
	if (v->ha.state_class)
		add_str(&j, "state_class", v->ha.state_class);
	if (v->ha.unit)
		add_str(&j, "unit_of_measurement", v->ha.unit);
	if (v->ha.diagnostic)
		add_str(&j, "entity_category", "diagnostic");
	if (v->storage > 0)
		gw_buf_puts(&j, ",\"enabled_by_default\":false");
	gw_buf_puts(&j, ",\"availability_mode\":\"all\",\"availability\":[");
	gw_buf_puts(&j, "{\"topic\":");
	t.len = 0;
	gw_buf_printf(&t, "%s/bridge/state", base);
	gw_buf_json_str(&j, t.p ? t.p : "");
	gw_buf_puts(&j, "},{\"topic\":");
	t.len = 0;
	gw_buf_printf(&t, "%s/%s/%s/availability", base, m->cfg.bus,
		      m->cfg.name);
	gw_buf_json_str(&j, t.p ? t.p : "");
	gw_buf_puts(&j, "}],\"device\":{\"identifiers\":[");
	snprintf(id, sizeof(id), "nmbus_%s", uid);
	gw_buf_json_str(&j, id);
	gw_buf_puts(&j, "]");
	add_str(&j, "name", m->cfg.name);
	if (m->manufacturer[0])
		add_str(&j, "manufacturer", m->manufacturer);
	if (m->model[0])
		add_str(&j, "model", m->model);
	if (m->secaddr[0])
		add_str(&j, "serial_number", m->secaddr);
	gw_buf_puts(&j, "},\"origin\":{\"name\":\"n_mbus\",\"sw_version\":\""
		    NMBUS_VERSION "\"}}");
	gw_buf_free(&t);
	return gw_buf_take(&j);
}

void gw_ha_discovery(struct gw_ctx *gw, const struct gw_meter_rt *m,
		     const struct gw_reading *r)
{
	char uid[GW_NAME_MAX * 2 + 2];

	if (m->secaddr[0])
		snprintf(uid, sizeof(uid), "%s", m->secaddr);
	else
		snprintf(uid, sizeof(uid), "%s_%s", m->cfg.bus, m->cfg.name);
	for (unsigned int i = 0; i < r->n_values; i++) {
		const struct gw_value *v = &r->values[i];
		struct gw_buf t;

		gw_buf_init(&t);
		gw_buf_printf(&t, "%s/sensor/nmbus_%s/%s/config",
			      gw->cfg->ha.prefix, uid, v->key);
		gw_outbox_push(&gw->out, GW_MSG_DISCOVERY, gw_buf_take(&t),
			       config_json(gw, m, v, uid), true);
	}
}
