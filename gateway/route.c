// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd HTTP routes: which endpoint a request's path and method
 * name, without libmicrohttpd (host unit tests)
 *
 * A path is /api/v1/ and up to three segments (and /metrics); a segment
 * "*" matches a name of the configuration (letters, digits, '_' and '-',
 * as config.c allows), so "..", "." and empty segments never match:
 * nothing maps to the file system.
 */
#include <string.h>

#include "gw.h"

#define PREFIX			"/api/v1/"

static const struct gw_route routes[] = {
	{ { "buses" }, false, GW_EP_BUSES },
	{ { "meters" }, false, GW_EP_METERS },
	{ { "meters.csv" }, false, GW_EP_CSV },
	{ { "meters", "*" }, false, GW_EP_METER },
	{ { "meters", "*", "obis" }, false, GW_EP_OBIS },
	{ { "metrics" }, false, GW_EP_METRICS },
	{ { "meters", "*", "read" }, true, GW_EP_METER_READ },
	{ { "read" }, true, GW_EP_READ },
	{ { "buses", "*", "scan" }, true, GW_EP_SCAN },
};

static bool is_name(const char *s, size_t n)
{
	if (!n || n >= GW_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Whether @path (after the prefix) is @r's; the "*" goes to @name. */
static bool route_match(const struct gw_route *r, const char *path, char *name)
{
	const char *p = path;

	for (int i = 0; i < GW_ROUTE_SEGMENTS; i++) {
		const char *end;
		size_t n;

		if (!r->seg[i])
			return !*p;
		if (i && *p++ != '/')
			return false;
		end = strchr(p, '/');
		n = end ? (size_t)(end - p) : strlen(p);
		if (!strcmp(r->seg[i], "*")) {
			if (!is_name(p, n))
				return false;
			memcpy(name, p, n);
			name[n] = '\0';
		} else if (strlen(r->seg[i]) != n || strncmp(p, r->seg[i], n)) {
			return false;
		}
		p += n;
	}
	return !*p;
}

const struct gw_route *gw_route_find(const char *url, const char *method,
				     char *name, int *status,
				     const char **allow)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	const char *path;

	*status = 404;
	if (!strcmp(url, "/metrics"))
		path = "metrics";
	else if (!strncmp(url, PREFIX, sizeof(PREFIX) - 1))
		path = url + sizeof(PREFIX) - 1;
	else
		return NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct gw_route *r = &routes[i];

		if (!route_match(r, path, name))
			continue;
		if ((r->post && post) || (!r->post && get))
			return r;
		*status = 405;
		*allow = r->post ? "POST" : "GET, HEAD";
	}
	return NULL;
}
