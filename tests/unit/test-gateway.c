// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of mbus-gatewayd's configuration parser (gateway/config.c),
 * of the keys of its "values" map (gateway/values.c) and of its metrics
 * and CSV formats (gateway/metrics.c)
 *
 * Configurations are written to a scratch directory; error output is
 * captured and compared line by line, FILE:LINE included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "../../gateway/gw.h"
#include "../../gateway/mqtt.h"

/* ---- helpers --------------------------------------------------------------- */

static char tmpdir[128];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	if (!fp) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
}

static void scratch(void)
{
	char cmd[200];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-gateway.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "%s/meters.d", tmpdir);
	mkdir(cmd, 0700);
}

static void cleanup(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* Load the scratch configuration; its error text (paths relative). */
static int load(struct gw_config *cfg, char *errs, size_t size)
{
	char main_file[256], *buf = NULL, *p, *q;
	size_t len = 0, dl = strlen(tmpdir) + 1;
	FILE *err = open_memstream(&buf, &len);
	int rc;

	snprintf(main_file, sizeof(main_file), "%s/gatewayd.conf", tmpdir);
	rc = gw_config_load(cfg, main_file, err);
	fclose(err);
	/* strip the scratch directory from every path */
	for (p = buf, q = errs; *p && (size_t)(q - errs) + 1 < size;) {
		if (!strncmp(p, tmpdir, dl - 1) && p[dl - 1] == '/')
			p += dl;
		else
			*q++ = *p++;
	}
	*q = '\0';
	free(buf);
	return rc;
}

static const char good_main[] =
	"# a comment\n"
	"[gateway]\n"
	"stats_interval = 30s\n"
	"[bus heating]\n"
	"port = /dev/mbus0\n"
	"baud = 2400\n"
	"retries = 3\n"
	"echo-cancel = on\n"
	"[bus water]\n"
	"port = ttyUSB1\n"
	"[mqtt]\n"
	"host = 127.0.0.1\n"
	"port = 1884\n"
	"base = site/a\n"
	"qos = 0\n"
	"queue = 50\n"
	"[homeassistant]\n"
	"discovery = off\n";

/* ---- durations and keys --------------------------------------------------- */

TEST(durations_take_units_from_ms_to_days)
{
	uint32_t ms;

	ASSERT_TRUE(gw_parse_duration("5s", &ms));
	EXPECT_EQ(5000u, ms);
	ASSERT_TRUE(gw_parse_duration("90", &ms));
	EXPECT_EQ(90000u, ms);
	ASSERT_TRUE(gw_parse_duration("10m", &ms));
	EXPECT_EQ(600000u, ms);
	ASSERT_TRUE(gw_parse_duration("1d", &ms));
	EXPECT_EQ(86400000u, ms);
	ASSERT_TRUE(gw_parse_duration("250ms", &ms));
	EXPECT_EQ(250u, ms);
	EXPECT_FALSE(gw_parse_duration("5 s", &ms));
	EXPECT_FALSE(gw_parse_duration("-5s", &ms));
	EXPECT_FALSE(gw_parse_duration("5x", &ms));
	EXPECT_FALSE(gw_parse_duration("", &ms));
	EXPECT_FALSE(gw_parse_duration("99999999d", &ms));
}

TEST(slugs_are_lower_case_words_joined_by_underscores)
{
	char s[32];

	gw_slug(s, sizeof(s), "flow temperature");
	EXPECT_STREQ("flow_temperature", s);
	gw_slug(s, sizeof(s), "  Volume (flow)/h ");
	EXPECT_STREQ("volume_flow_h", s);
	gw_unit_key(s, sizeof(s), NMBUS_UNIT_M3_H);
	EXPECT_STREQ("m3_h", s);
	gw_unit_key(s, sizeof(s), NMBUS_UNIT_CELSIUS);
	EXPECT_STREQ("c", s);
	gw_unit_key(s, sizeof(s), NMBUS_UNIT_WH);
	EXPECT_STREQ("wh", s);
}

/* A RSP_UD long frame around @rec (records only). */
static size_t rsp_ud(uint8_t *f, const uint8_t *rec, size_t n, uint8_t medium)
{
	static const uint8_t hdr[] = { 0x08, 0x05, 0x72, 0x78, 0x03, 0x49,
				       0x11, 0x77, 0x04, 0x0e, 0x00, 0x0a,
				       0x00, 0x00, 0x00 };
	size_t l = sizeof(hdr) + n;
	uint8_t cs = 0;

	f[0] = 0x68;
	f[1] = f[2] = (uint8_t)l;
	f[3] = 0x68;
	memcpy(f + 4, hdr, sizeof(hdr));
	f[4 + 10] = medium;
	memcpy(f + 4 + sizeof(hdr), rec, n);
	for (size_t i = 4; i < 4 + l; i++)
		cs = (uint8_t)(cs + f[i]);
	f[4 + l] = cs;
	f[5 + l] = 0x16;
	return 6 + l;
}

static const uint8_t key_records[] = {
	0x04, 0x03, 0x10, 0x27, 0x00, 0x00,	/* energy 10000 Wh */
	0x04, 0x13, 0x31, 0xd4, 0x00, 0x00,	/* volume 54.321 m3 */
	0x44, 0x03, 0x88, 0x13, 0x00, 0x00,	/* energy, storage 1 */
	0x14, 0x2b, 0xe8, 0x03, 0x00, 0x00,	/* power max 1000 W */
	0x84, 0x10, 0x03, 0x01, 0x00, 0x00, 0x00,	/* energy tariff 1 */
	0x84, 0x40, 0x03, 0x02, 0x00, 0x00, 0x00,	/* energy subunit 1 */
	0x01, 0x5b, 0x46,			/* flow temperature 70 °C */
	0x04, 0x03, 0x11, 0x27, 0x00, 0x00,	/* energy again */
	0x0c, 0x78, 0x78, 0x03, 0x49, 0x11,	/* fabrication number */
};

static const char *const want_keys[] = {
	"energy_wh", "volume_m3", "energy_wh_s1", "power_w_max",
	"energy_wh_t1", "energy_wh_u1", "flow_temperature_c", "energy_wh_2",
	"fabrication_number",
};

TEST(value_keys_name_quantity_unit_then_what_is_not_zero)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	uint8_t f[300];
	size_t n = rsp_ud(f, key_records, sizeof(key_records), 0x04);

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	ASSERT_EQ(sizeof(want_keys) / sizeof(want_keys[0]), r->n_values);
	for (unsigned int i = 0; i < r->n_values; i++) {
		EXPECT_STREQ(want_keys[i], r->values[i].key);
	}
	EXPECT_TRUE(r->values[1].numeric);
	EXPECT_TRUE(r->values[1].number > 54.3209 &&
		    r->values[1].number < 54.3211);
	EXPECT_EQ(1u, r->values[2].storage);
	EXPECT_STREQ("energy", r->values[0].ha.device_class);
	EXPECT_STREQ("total_increasing", r->values[0].ha.state_class);
	EXPECT_STREQ("volume", r->values[1].ha.device_class);
	EXPECT_STREQ("temperature", r->values[6].ha.device_class);
	EXPECT_STREQ("measurement", r->values[6].ha.state_class);
	EXPECT_TRUE(r->values[8].ha.diagnostic);
	EXPECT_FALSE(r->values[0].ha.diagnostic);
	EXPECT_TRUE(r->values[8].numeric);
	EXPECT_EQ(11490378, (long)r->values[8].number);
	gw_buf_free(&r->telegrams);
	free(r);
}

TEST(keys_are_the_same_for_every_reading)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t f[300];
	size_t n = rsp_ud(f, key_records, sizeof(key_records), 0x07);

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, gw_reading_add_telegram(a, &m, f, n));
	ASSERT_EQ(0, gw_reading_add_telegram(b, &m, f, n));
	ASSERT_EQ(a->n_values, b->n_values);
	for (unsigned int i = 0; i < a->n_values; i++)
		EXPECT_STREQ(a->values[i].key, b->values[i].key);
	/* a water meter's volume is water to Home Assistant */
	EXPECT_STREQ("water", a->values[1].ha.device_class);
	gw_buf_free(&a->telegrams);
	gw_buf_free(&b->telegrams);
	free(a);
	free(b);
}

TEST(filter_keeps_the_quantities_named)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b", .n_filter = 2,
				  .filter = { "volume", "power_w_max" } };
	struct gw_reading *r = calloc(1, sizeof(*r));
	uint8_t f[300];
	size_t n = rsp_ud(f, key_records, sizeof(key_records), 0x04);
	char *json;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	ASSERT_EQ(2u, r->n_values);
	EXPECT_STREQ("volume_m3", r->values[0].key);
	EXPECT_STREQ("power_w_max", r->values[1].key);
	r->ok = true;
	snprintf(r->timestamp, sizeof(r->timestamp), "2026-01-02T03:04:05.000Z");
	json = gw_reading_json(r, &m, "11490378780E0477");
	ASSERT_NE(NULL, json);
	EXPECT_NE(NULL, strstr(json, "\"values\":{\"volume_m3\":54.321,\"power_w_max\":1000}"));
	EXPECT_NE(NULL, strstr(json, "\"timestamp\":\"2026-01-02T03:04:05.000Z\",\"status\":\"ok\""));
	EXPECT_NE(NULL, strstr(json, "\"telegrams\":[{\"frame\""));
	free(json);
	gw_buf_free(&r->telegrams);
	free(r);
}

TEST(reals_are_published_as_the_tools_print_them)
{
	static const uint8_t rec[] = {
		0x05, 0x2b, 0x29, 0x52, 0x1a, 0x46,		/* power 9876.54 W (float) */
		0x05, 0x13, 0x29, 0x52, 0x1a, 0x46,		/* volume 9.87654 m3 (float, 1e-3) */
	};
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	uint8_t f[300];
	size_t n = rsp_ud(f, rec, sizeof(rec), 0x02);
	char *json;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	json = gw_reading_json(r, &m, "");
	ASSERT_NE(NULL, json);
	EXPECT_NE(NULL, strstr(json, "\"values\":{\"power_w\":9876.54,\"volume_m3\":9.87654}"));
	/* the same digits as the telegram's JSON */
	EXPECT_NE(NULL, strstr(json, "\"value\":9876.54,"));
	free(json);
	gw_buf_free(&r->telegrams);
	free(r);
}

/* Seed 003's electricity readings, the way EN 13757-3 codes them. */
static const uint8_t elec_records[] = {
	0x04, 0x83, 0x3b, 0x10, 0x27, 0x00, 0x00,	/* +A 10000 Wh */
	0x84, 0x10, 0x83, 0x3b, 0x01, 0x00, 0x00, 0x00,	/* +A tariff 1 */
	0x04, 0x83, 0x3c, 0xe8, 0x03, 0x00, 0x00,	/* -A 1000 Wh */
	0x02, 0xfd, 0xc8, 0xfc, 0x02, 0xe6, 0x08,	/* U L2 227.8 V */
	0x04, 0x03, 0x05, 0x00, 0x00, 0x00,		/* energy: no code */
	0x04, 0x83, 0x3b, 0x11, 0x27, 0x00, 0x00,	/* +A again */
};

TEST(obis_format_adds_the_values_keyed_by_their_code)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	uint8_t f[300];
	size_t n = rsp_ud(f, elec_records, sizeof(elec_records), 0x02);
	char *json;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	ASSERT_EQ(6u, r->n_values);
	EXPECT_STREQ("1-0:1.8.0", r->values[0].obis);
	EXPECT_EQ(NULL, r->values[4].obis);
	json = gw_reading_json(r, &m, "");
	ASSERT_NE(NULL, json);
	EXPECT_EQ(NULL, strstr(json, "\"obis\":{")) TH_LOG("%s", json);
	/* the telegrams carry the codes whatever the format */
	EXPECT_NE(NULL, strstr(json, "\"obis\":\"1-0:2.8.0\"")) TH_LOG("%s", json);
	free(json);
	m.format = GW_FORMAT_OBIS;
	json = gw_reading_json(r, &m, "");
	ASSERT_NE(NULL, json);
	EXPECT_NE(NULL, strstr(json, "},\"obis\":{\"1-0:1.8.0\":10000,"
				     "\"1-0:1.8.1\":1,\"1-0:2.8.0\":1000,"
				     "\"1-0:52.7.0\":227.8},\"telegrams\":["))
		TH_LOG("%s", json);
	free(json);
	gw_buf_free(&r->telegrams);
	free(r);
}

TEST(format_is_values_or_obis)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", good_main);
	write_file("meters.d/a.conf",
		   "bus = heating\naddress = 1\nformat = OBIS-keyed\n");
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("meters.d/a.conf:3: format 'OBIS-keyed': values or obis\n",
		     errs);
	gw_config_free(&cfg);
	cleanup();
}

/* ---- [http] ------------------------------------------------------------------------ */

TEST(http_is_off_without_its_section_and_has_defaults)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", good_main);
	EXPECT_EQ(0, load(&cfg, errs, sizeof(errs)));
	EXPECT_FALSE(cfg.http.enabled);
	EXPECT_STREQ("127.0.0.1", cfg.http.host);
	EXPECT_EQ(8580u, cfg.http.port);
	EXPECT_EQ(32u, cfg.http.max_connections);
	EXPECT_FALSE(cfg.http.allow_commands);
	gw_config_free(&cfg);
	write_file("gatewayd.conf", "[bus a]\nport = /dev/mbus0\n[http]\n");
	EXPECT_EQ(0, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("", errs);
	EXPECT_TRUE(cfg.http.enabled);
	EXPECT_EQ(8580u, cfg.http.port);
	gw_config_free(&cfg);
	cleanup();
}

TEST(http_keys_load)
{
	struct gw_config cfg;
	char errs[2048], main_file[600], cert[300];

	scratch();
	write_file("users", "# who may\nalice:s3cret\n\nbob:pa:ss\n");
	write_file("c.pem", "certificate\n");
	write_file("k.pem", "key\n");
	snprintf(main_file, sizeof(main_file),
		 "[bus a]\nport = /dev/mbus0\n[http]\nlisten = [::1]:8081\n"
		 "cert = %s/c.pem\nkey = %s/k.pem\nauth-file = %s/users\n"
		 "allow-commands = yes\nmax-connections = 4\n",
		 tmpdir, tmpdir, tmpdir);
	write_file("gatewayd.conf", main_file);
	EXPECT_EQ(0, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("", errs);
	EXPECT_STREQ("::1", cfg.http.host);
	EXPECT_EQ(8081u, cfg.http.port);
	snprintf(cert, sizeof(cert), "%s/c.pem", tmpdir);
	EXPECT_STREQ(cert, cfg.http.cert);
	EXPECT_TRUE(cfg.http.allow_commands);
	EXPECT_EQ(4u, cfg.http.max_connections);
	EXPECT_EQ(2u, cfg.http.n_users);
	EXPECT_STREQ("alice:s3cret\nbob:pa:ss\n", cfg.http.users);
	gw_config_free(&cfg);
	cleanup();
}

TEST(http_errors_are_reported_with_file_and_line)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf",
		   "[bus a]\nport = /dev/mbus0\n"
		   "[http]\n"				/* 3 */
		   "listen = localhost:80\n"		/* 4 */
		   "listen = 127.0.0.1:0\n"		/* 5 */
		   "listen = 127.0.0.1\n"		/* 6 */
		   "allow-commands = maybe\n"		/* 7 */
		   "max-connections = 0\n"		/* 8 */
		   "port = 8580\n"			/* 9 */
		   "cert = /dev/null\n");		/* 10 */
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ(
		"gatewayd.conf:4: listen: 'localhost:80' is not ADDRESS:PORT (127.0.0.1:8580, [::1]:8580)\n"
		"gatewayd.conf:5: listen: '127.0.0.1:0' is not ADDRESS:PORT (127.0.0.1:8580, [::1]:8580)\n"
		"gatewayd.conf:6: listen: '127.0.0.1' is not ADDRESS:PORT (127.0.0.1:8580, [::1]:8580)\n"
		"gatewayd.conf:7: allow-commands: 'maybe' is not yes or no\n"
		"gatewayd.conf:8: max-connections: '0' is not a number from 1 to 1000\n"
		"gatewayd.conf:9: unknown key 'port' in [http]\n"
		"gatewayd.conf:1: [http] cert and key go together\n", errs);
	gw_config_free(&cfg);
	cleanup();
}

TEST(tls_files_that_cannot_be_read_are_reported_at_their_line)
{
	struct gw_config cfg;
	char errs[2048], main_file[600];

	scratch();
	write_file("cert.pem", "certificate\n");
	snprintf(main_file, sizeof(main_file),
		 "[bus a]\nport = /dev/mbus0\n"
		 "[mqtt]\n"				/* 3 */
		 "ca = %s/no-ca.pem\n"			/* 4 */
		 "[http]\n"				/* 5 */
		 "cert = %s/cert.pem\n"		/* 6 */
		 "key = %s/no-key.pem\n",		/* 7 */
		 tmpdir, tmpdir, tmpdir);
	write_file("gatewayd.conf", main_file);
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ(
		"gatewayd.conf:4: ca: no-ca.pem: No such file or directory\n"
		"gatewayd.conf:7: key: no-key.pem: No such file or directory\n",
		errs);
	gw_config_free(&cfg);
	cleanup();
}

TEST(a_bad_auth_file_line_is_reported_with_its_line)
{
	struct gw_config cfg;
	char errs[2048], main_file[600];

	scratch();
	write_file("users", "alice:s3cret\nbob\n:nobody\n");
	snprintf(main_file, sizeof(main_file),
		 "[bus a]\nport = /dev/mbus0\n[http]\nauth-file = %s/users\n",
		 tmpdir);
	write_file("gatewayd.conf", main_file);
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("users:2: expected USER:PASSWORD\n"
		     "users:3: expected USER:PASSWORD\n", errs);
	EXPECT_EQ(1u, cfg.http.n_users);
	gw_config_free(&cfg);
	cleanup();
}

/* ---- HTTP routes ------------------------------------------------------------------- */

/* The endpoint of METHOD URL, or -404 / -405; NAME gets the "*". */
static int route(const char *method, const char *url, char *name,
		 const char **allow)
{
	const struct gw_route *r;
	int status;

	*allow = NULL;
	name[0] = '\0';
	r = gw_route_find(url, method, name, &status, allow);
	return r ? (int)r->ep : -status;
}

TEST(routes_name_their_endpoint_and_the_name_in_the_path)
{
	char name[GW_NAME_MAX];
	const char *allow;

	EXPECT_EQ(GW_EP_BUSES, route("GET", "/api/v1/buses", name, &allow));
	EXPECT_EQ(GW_EP_METERS, route("HEAD", "/api/v1/meters", name, &allow));
	EXPECT_EQ(GW_EP_CSV, route("GET", "/api/v1/meters.csv", name, &allow));
	EXPECT_EQ(GW_EP_METRICS, route("GET", "/metrics", name, &allow));
	EXPECT_EQ(GW_EP_METRICS, route("GET", "/api/v1/metrics", name, &allow));
	EXPECT_EQ(GW_EP_METER, route("GET", "/api/v1/meters/flat-3", name, &allow));
	EXPECT_STREQ("flat-3", name);
	EXPECT_EQ(GW_EP_OBIS, route("GET", "/api/v1/meters/m_1/obis", name, &allow));
	EXPECT_STREQ("m_1", name);
	EXPECT_EQ(GW_EP_METER_READ, route("POST", "/api/v1/meters/a/read", name, &allow));
	EXPECT_EQ(GW_EP_READ, route("POST", "/api/v1/read", name, &allow));
	EXPECT_EQ(GW_EP_SCAN, route("POST", "/api/v1/buses/heating/scan", name, &allow));
	EXPECT_STREQ("heating", name);
}

TEST(a_wrong_method_is_405_with_the_methods_the_path_takes)
{
	char name[GW_NAME_MAX];
	const char *allow;

	EXPECT_EQ(-405, route("GET", "/api/v1/read", name, &allow));
	EXPECT_STREQ("POST", allow);
	EXPECT_EQ(-405, route("DELETE", "/api/v1/meters/a", name, &allow));
	EXPECT_STREQ("GET, HEAD", allow);
	EXPECT_EQ(-405, route("POST", "/metrics", name, &allow));
	EXPECT_EQ(-405, route("PUT", "/api/v1/buses/a/scan", name, &allow));
	EXPECT_STREQ("POST", allow);
}

TEST(traversal_empty_segments_and_bad_names_are_404)
{
	static const char *const bad[] = {
		"/api/v1/meters/../../etc/passwd", "/api/v1/meters/..",
		"/api/v1/meters/.", "/api/v1/meters/", "/api/v1/meters//obis",
		"/api/v1//meters", "/api/v1/meters/a/obis/x", "/api/v1/buses/",
		"/api/v1/meters/a b", "/api/v1/meters/a%2f", "/api/v2/meters",
		"/api/v1", "/", "", "/etc/passwd", "/metrics/", "/api/v1/buses/",
		"/api/v1/meters/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char name[GW_NAME_MAX];
	const char *allow;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-404, route("GET", bad[i], name, &allow))
			TH_LOG("bad[%zu]", i);
}

/* ---- Prometheus and CSV ------------------------------------------------------------- */

static char *escaped(const char *s)
{
	struct gw_buf b;

	gw_buf_init(&b);
	gw_prom_escape(&b, s);
	return gw_buf_take(&b);
}

TEST(label_values_escape_backslash_quote_and_newline)
{
	char *e = escaped("a\\b \"c\"\nd m\xc2\xb3");

	EXPECT_STREQ("a\\\\b \\\"c\\\"\\nd m\xc2\xb3", e);
	free(e);
}

TEST(a_value_line_has_every_label_and_the_number)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	uint8_t f[300];
	size_t n = rsp_ud(f, elec_records, sizeof(elec_records), 0x02);
	struct gw_buf b;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	gw_buf_init(&b);
	gw_prom_value(&b, "b\"1", "m1", "12345678", &r->values[0]);
	gw_prom_value(&b, "b\"1", "m1", "12345678", &r->values[1]);
	EXPECT_STREQ("mbus_meter_value{bus=\"b\\\"1\",meter=\"m1\",secondary=\"12345678\",quantity=\"energy\",unit=\"Wh\",storage=\"0\",tariff=\"0\",subunit=\"0\",obis=\"1-0:1.8.0\",key=\"energy_wh\"} 10000\n"
		     "mbus_meter_value{bus=\"b\\\"1\",meter=\"m1\",secondary=\"12345678\",quantity=\"energy\",unit=\"Wh\",storage=\"0\",tariff=\"1\",subunit=\"0\",obis=\"1-0:1.8.1\",key=\"energy_wh_t1\"} 1\n",
		     b.p);
	gw_buf_free(&b);
	gw_buf_free(&r->telegrams);
	free(r);
}

/* Every sample line: NAME{LABEL="VALUE",...} NUMBER. */
static bool sample_line(const char *l)
{
	const char *p = l;

	if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	if (*p == '{') {
		for (p++; *p != '}';) {
			while ((*p >= 'a' && *p <= 'z') || *p == '_')
				p++;
			if (*p++ != '=' || *p++ != '"')
				return false;
			for (; *p != '"'; p++) {
				if (!*p || *p == '\n')
					return false;
				if (*p == '\\' && !*++p)
					return false;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return false;
		}
		p++;
	}
	if (*p++ != ' ')
		return false;
	strtod(p, (char **)&p);
	return *p == '\n' || !*p;
}

TEST(the_exposition_of_a_bus_parses)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	struct gw_bus_rt bus = { .cfg = { .name = "b", .port = "/dev/mbus0" } };
	struct gw_meter_rt meter = { .cfg = m };
	struct gw_snap snap = { .name = "m1", .ok = true, .last_ok_s = 1e9,
				.duration_s = 0.25 };
	struct gw_ctx gw = { .buses = &bus, .n_buses = 1 };
	uint8_t f[300];
	size_t n = rsp_ud(f, elec_records, sizeof(elec_records), 0x02);
	struct gw_buf b;
	unsigned int samples = 0, help = 0;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	snap.values = r->values;
	snap.n_values = r->n_values;
	bus.meters = &meter;
	bus.n_meters = 1;
	bus.snaps = &snap;
	bus.n_snaps = 1;
	bus.n_stats = gw_n_stat_names;
	bus.stats[3] = 7;
	pthread_mutex_init(&bus.lock, NULL);
	gw_buf_init(&b);
	gw_metrics(&gw, &b);
	ASSERT_NE(NULL, b.p);
	for (char *l = b.p; *l; l = strchr(l, '\n') + 1) {
		if (!strncmp(l, "# HELP ", 7))
			help++;
		else if (strncmp(l, "# TYPE ", 7) && (samples++, !sample_line(l)))
			EXPECT_TRUE(false) TH_LOG("bad line: %.*s",
						  (int)strcspn(l, "\n"), l);
	}
	/* 4 meter families, the port counters, 3 schedule counters, port_up */
	EXPECT_EQ(4 + gw_n_stat_names + 3 + 1, help);
	EXPECT_EQ(r->n_values + 3 + gw_n_stat_names + 3 + 1, samples)
		TH_LOG("%s", b.p);
	EXPECT_NE(NULL, strstr(b.p, "\nmbus_port_timeouts_total{bus=\"b\",port=\"/dev/mbus0\"} 7\n"));
	EXPECT_NE(NULL, strstr(b.p, "\nmbus_meter_up{bus=\"b\",meter=\"m1\"} 1\n"));
	EXPECT_NE(NULL, strstr(b.p, "\nmbus_meter_readout_duration_seconds{bus=\"b\",meter=\"m1\"} 0.25\n"));
	gw_buf_free(&b);
	pthread_mutex_destroy(&bus.lock);
	gw_buf_free(&r->telegrams);
	free(r);
}

TEST(csv_fields_are_quoted_where_they_must_be)
{
	struct gw_buf b;

	gw_buf_init(&b);
	gw_csv_field(&b, "plain");
	gw_buf_puts(&b, "|");
	gw_csv_field(&b, "a,b");
	gw_buf_puts(&b, "|");
	gw_csv_field(&b, "say \"hi\"");
	gw_buf_puts(&b, "|");
	gw_csv_field(&b, "two\nlines");
	EXPECT_STREQ("plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"", b.p);
	gw_buf_free(&b);
}

TEST(csv_has_a_row_per_value_under_the_header)
{
	struct gw_meter_cfg m = { .name = "m1", .bus = "b" };
	struct gw_reading *r = calloc(1, sizeof(*r));
	struct gw_snap snap = { .name = "m1", .ok = true,
				.timestamp = "2026-01-02T03:04:05.678Z" };
	uint8_t f[300];
	size_t n = rsp_ud(f, elec_records, sizeof(elec_records), 0x02);
	struct gw_buf b;
	char *line2;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, gw_reading_add_telegram(r, &m, f, n));
	snap.values = r->values;
	snap.n_values = r->n_values;
	gw_buf_init(&b);
	gw_buf_puts(&b, gw_csv_header);
	gw_csv_rows(&b, "b", "m1", "12345678", &snap);
	ASSERT_NE(NULL, b.p);
	EXPECT_EQ(0, strncmp(b.p, "bus,meter,secondary_address,timestamp,status,key,quantity,unit,storage,tariff,subunit,function,value,obis\r\n", 105));
	line2 = strstr(b.p, "\r\n") + 2;
	EXPECT_EQ(0, strncmp(line2, "b,m1,12345678,2026-01-02T03:04:05.678Z,ok,energy_wh,energy,Wh,0,0,0,instantaneous,10000,1-0:1.8.0\r\n", 98))
		TH_LOG("%s", line2);
	/* header + one row per value */
	n = 0;
	for (char *p = b.p; (p = strstr(p, "\r\n")); p += 2)
		n++;
	EXPECT_EQ(1 + r->n_values, n);
	gw_buf_free(&b);
	gw_buf_free(&r->telegrams);
	free(r);
}

/* ---- the queue while the broker is away ------------------------------------- */

static struct gw_msg *msg(int i)
{
	struct gw_msg *m = calloc(1, sizeof(*m));
	char t[32];

	snprintf(t, sizeof(t), "nmbus/b/m%d/state", i);
	m->topic = strdup(t);
	m->payload = strdup("{}");
	return m;
}

TEST(a_full_queue_drops_the_oldest_and_counts)
{
	static const struct gw_mqtt_cfg cfg = { .queue = 3, .qos = 1 };
	struct gw_mqtt q = { .cfg = &cfg, .cap = 3 };

	q.ring = calloc(q.cap, sizeof(*q.ring));
	ASSERT_NE(NULL, q.ring);
	for (int i = 1; i <= 5; i++)
		gw_mqtt_enqueue(&q, msg(i));
	EXPECT_EQ(3u, q.len);
	EXPECT_EQ(2u, q.dropped);
	/* the newest three, oldest first */
	for (size_t i = 0; i < q.len; i++) {
		char t[32];

		snprintf(t, sizeof(t), "nmbus/b/m%zu/state", i + 3);
		EXPECT_STREQ(t, q.ring[(q.head + i) % q.cap]->topic);
	}
	/* not connected: nothing leaves the queue */
	gw_mqtt_flush(&q);
	EXPECT_EQ(3u, q.len);
	EXPECT_EQ(0u, q.sent);
	while (q.len) {
		gw_msg_free(q.ring[q.head]);
		q.head = (q.head + 1) % q.cap;
		q.len--;
	}
	free(q.ring);
}

/* ---- configuration ---------------------------------------------------------- */

TEST(a_good_configuration_loads)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", good_main);
	write_file("meters.d/heat1.conf",
		   "[meter]\nbus = heating\naddress = 5\ninterval = 5s\n"
		   "profile = calmex2\nmax_telegrams = 4\n"
		   "init = nke, reset:B0, select:1, raw:10 40 05 45 16\n"
		   "filter = energy, Volume flow\n"
		   "[static]\nlocation = cellar\n");
	write_file("meters.d/water1.conf",
		   "name = cold-water\nbus = water\n"
		   "address = 11490378FFFFFF16\ninterval = 1d\n"
		   "min_interval = 1h\nbaud = auto\nformat = obis\n");
	write_file("meters.d/README", "not a meter file\n");
	EXPECT_EQ(0, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("", errs);
	ASSERT_EQ(2u, cfg.n_buses);
	EXPECT_STREQ("heating", cfg.buses[0].name);
	EXPECT_EQ(2400u, cfg.buses[0].baud);
	EXPECT_EQ(3, cfg.buses[0].params.retries);
	EXPECT_EQ(GW_P_RETRIES | GW_P_ECHO, cfg.buses[0].set_mask);
	EXPECT_STREQ("site/a", cfg.mqtt.base);
	EXPECT_EQ(1884u, cfg.mqtt.port);
	EXPECT_EQ(0, cfg.mqtt.qos);
	EXPECT_EQ(50u, cfg.mqtt.queue);
	EXPECT_FALSE(cfg.ha.discovery);
	EXPECT_EQ(30u, cfg.stats_interval_s);
	ASSERT_EQ(2u, cfg.n_meters);
	/* sorted by file name; the name defaults to the file's */
	EXPECT_STREQ("heat1", cfg.meters[0].name);
	EXPECT_EQ(5, cfg.meters[0].primary);
	EXPECT_EQ(5000u, cfg.meters[0].interval_ms);
	EXPECT_STREQ("calmex2", cfg.meters[0].profile->name);
	EXPECT_EQ(4u, cfg.meters[0].max_telegrams);
	ASSERT_EQ(4u, cfg.meters[0].n_init);
	EXPECT_EQ(GW_INIT_NKE, cfg.meters[0].init[0].kind);
	EXPECT_EQ(0xb0, cfg.meters[0].init[1].subcode);
	EXPECT_EQ(1u, cfg.meters[0].init[2].storage);
	EXPECT_EQ(5u, cfg.meters[0].init[3].raw_len);
	ASSERT_EQ(2u, cfg.meters[0].n_filter);
	EXPECT_STREQ("volume_flow", cfg.meters[0].filter[1]);
	ASSERT_EQ(1u, cfg.meters[0].n_statics);
	EXPECT_STREQ("cellar", cfg.meters[0].statics[0].value);
	EXPECT_STREQ("cold-water", cfg.meters[1].name);
	EXPECT_EQ(-1, cfg.meters[1].primary);
	EXPECT_EQ(0x16, cfg.meters[1].secaddr[7]);
	EXPECT_EQ(GW_BAUD_AUTO, cfg.meters[1].baud);
	EXPECT_EQ(3600000u, cfg.meters[1].min_interval_ms);
	EXPECT_EQ(GW_FORMAT_VALUES, cfg.meters[0].format);
	EXPECT_EQ(GW_FORMAT_OBIS, cfg.meters[1].format);
	gw_config_free(&cfg);
	cleanup();
}

/* Seed 002's address strings, in the wire-order form. */
TEST(an_address_as_bytes_selects_the_meter_it_means)
{
	static const uint8_t efe[8] = { 0x20, 0x31, 0x65, 0x13,
					0xff, 0xff, 0xff, 0xff };
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", good_main);
	write_file("meters.d/heat.conf",
		   "bus = heating\naddress = bytes:20316513FFFFFFFF\n");
	EXPECT_EQ(0, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("", errs);
	ASSERT_EQ(1u, cfg.n_meters);
	EXPECT_EQ(-1, cfg.meters[0].primary);
	EXPECT_EQ(0, memcmp(efe, cfg.meters[0].secaddr, 8));
	gw_config_free(&cfg);
	cleanup();
}

TEST(every_error_is_reported_with_file_and_line)
{
	struct gw_config cfg;
	char errs[4096];

	scratch();
	write_file("gatewayd.conf",
		   "[gateway]\n"
		   "colour = blue\n"			/* 2 */
		   "[bus heating]\n"
		   "port = /dev/mbus0\n"
		   "baud = 2401\n"			/* 5 */
		   "retries = 9\n"			/* 6 */
		   "[bus heating]\n"			/* 7 */
		   "[bus]\n"				/* 8 */
		   "[mqtt]\n"
		   "qos = 3\n"				/* 10 */
		   "this line is no key\n"		/* 11 */
		   "[telemetry]\n"			/* 12 */
		   "[homeassistant\n");			/* 13 */
	write_file("meters.d/a.conf",
		   "[meter]\n"
		   "bus = heating\n"
		   "address = 251\n"			/* 3 */
		   "interval = 4s\n"			/* 4 */
		   "speed = fast\n"			/* 5 */
		   "profile = nosuch\n"			/* 6 */
		   "init = nke, jump\n"			/* 7 */
		   "[extra]\n");			/* 8 */
	write_file("meters.d/b.conf",
		   "name = a\nbus = nowhere\naddress = 1\n"
		   "baud = 1234\n");			/* 4 */
	write_file("meters.d/c.conf", "name = c\naddress = 2\n");
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ(
		"gatewayd.conf:2: unknown key 'colour' in [gateway]\n"
		"gatewayd.conf:5: baud: '2401' is not 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400\n"
		"gatewayd.conf:6: retries: '9' is not a number from 0 to 5\n"
		"gatewayd.conf:7: bus 'heating' defined twice\n"
		"gatewayd.conf:8: [bus] needs a name: [bus NAME]\n"
		"gatewayd.conf:10: qos: '3' is not 0, 1 or 2\n"
		"gatewayd.conf:11: expected KEY = VALUE or [SECTION]\n"
		"gatewayd.conf:12: unknown section [telemetry] (gateway, bus NAME, mqtt, homeassistant, http)\n"
		"gatewayd.conf:13: section header without ']'\n"
		"meters.d/a.conf:3: address '251': a primary address (0-250, 254) or 16 hex digits IIIIIIIIMMMMVVDD (or bytes: and the 8 bytes as sent)\n"
		"meters.d/a.conf:4: interval '4s': a duration from 5s to 1d\n"
		"meters.d/a.conf:5: unknown key 'speed' in [meter]\n"
		"meters.d/a.conf:6: profile 'nosuch' unknown (known: calmex2, calec-st2, cmi1020)\n"
		"meters.d/a.conf:7: init: unknown step 'jump' (nke, reset[:CODE], select:STORAGE, raw:HEX)\n"
		"meters.d/a.conf:8: unknown section [extra] (meter files have [meter] and [static])\n"
		"meters.d/b.conf:4: baud: '1234' is not auto or a rate from 300 to 38400\n"
		"meters.d/b.conf:1: bus 'nowhere' is not defined in gatewayd.conf\n"
		"meters.d/b.conf:1: meter name 'a' already used in meters.d/a.conf\n",
		errs);
	EXPECT_EQ(18u, cfg.errors);
	gw_config_free(&cfg);
	cleanup();
}

TEST(missing_files_and_keys_are_errors)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", "[mqtt]\nhost = 127.0.0.1\n");
	write_file("meters.d/x.conf", "[meter]\n");
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("gatewayd.conf:1: no [bus NAME] section\n"
		     "meters.d/x.conf:1: no bus (bus = NAME)\n"
		     "meters.d/x.conf:1: no address (address = PRIMARY or SECONDARY)\n",
		     errs);
	gw_config_free(&cfg);
	cleanup();
}

TEST(a_duplicate_address_on_a_bus_is_an_error)
{
	struct gw_config cfg;
	char errs[2048];

	scratch();
	write_file("gatewayd.conf", "[bus b]\nport = 0\n");
	write_file("meters.d/a.conf", "address = 7\n");
	write_file("meters.d/b.conf", "# the same meter\n\naddress = 7\n");
	EXPECT_EQ(-1, load(&cfg, errs, sizeof(errs)));
	EXPECT_STREQ("meters.d/b.conf:3: address 7 on bus b already used by meters.d/a.conf\n",
		     errs);
	/* one bus: meters need not name it */
	EXPECT_STREQ("b", cfg.meters[0].bus);
	gw_config_free(&cfg);
	cleanup();
}

TEST_HARNESS_MAIN
