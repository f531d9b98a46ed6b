// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd HTTP: the REST API under /api/v1 and the Prometheus
 * metrics, served by libmicrohttpd from the daemon's own poll() loop
 *
 * libmicrohttpd runs in its external mode with MHD_USE_EPOLL: its epoll
 * fd (MHD_DAEMON_INFO_EPOLL_FD) is one pollfd of the main loop, readable
 * whenever one of the server's sockets (the listening socket, the
 * connections, its inter-thread channel for resumed connections) has
 * work; MHD_run() then does that work without blocking, and
 * MHD_get_timeout() lowers poll()'s timeout for connection timeouts and
 * for connections with buffered work. This fits poll() better than
 * MHD_get_fdset2(): a fixed number of pollfds however many connections
 * are open, no fd_set (whose FD_SETSIZE of 1024 a descriptor may pass)
 * and no conversion of fd_sets into pollfds on every turn.
 *
 * Commands (POST) become jobs on a bus's queue (gw_bus_submit()), read in
 * the schedule like command/read, never beside it. The connection is
 * suspended until the bus thread hands the job back through gw_ctx.done
 * (its eventfd is the second pollfd), then resumed and answered. Nothing
 * here blocks: a client that sends slowly holds only its own connection,
 * and at most max-connections are open. See mbus-gatewayd(8) and
 * Documentation/gateway-api.yaml.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "gw.h"

#define BODY_MAX		4096	/* request bodies: 413 beyond */
/*
 * A connection that has not sent its request headers within
 * HEADER_TIMEOUT_S is closed: idle connections cannot hold the
 * max-connections slots for long. Once a request came, the connection
 * may idle (keep-alive, a slow body) for CONN_TIMEOUT_S.
 */
#define HEADER_TIMEOUT_S	3
#define CONN_TIMEOUT_S		10

#define TYPE_JSON		"application/json"
#define TYPE_CSV		"text/csv; charset=utf-8; header=present"
#define TYPE_METRICS		"text/plain; version=0.0.4; charset=utf-8"

struct gw_http {
	struct MHD_Daemon *mhd;
	int epoll_fd;
	struct gw_ctx *gw;
	const struct gw_http_cfg *cfg;
	char *cert, *key;		/* PEM, kept while the server runs */
	struct req *waiting;		/* suspended until their jobs finish */
	bool stopping;			/* the buses are gone: 503 */
};

/* One request: made on its first call, freed when it completes. */
struct req {
	struct req *next;		/* in gw_http.waiting */
	struct MHD_Connection *conn;
	const struct gw_route *route;
	char name[GW_NAME_MAX];		/* the route's "*" */
	char body[BODY_MAX + 1];
	size_t body_len;
	bool too_large;
	bool answered;			/* a response was queued */
	bool suspended;
	bool done;			/* its jobs finished: answer */
	bool array;			/* POST /read: an array of readings */
	unsigned int pending;		/* jobs not finished */
	int status;
	struct gw_buf result;
};

/* ---- responses ----------------------------------------------------------------------- */

/* A response owning @body (allocated, taken; NULL: none), or NULL. */
static struct MHD_Response *response(char *body, const char *type)
{
	struct MHD_Response *r;

	if (!body)
		return NULL;
	r = MHD_create_response_from_buffer(strlen(body), body,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return r;
}

/* Queue @body (allocated, taken) with @status. */
static enum MHD_Result reply(struct req *q, int status, const char *type,
			     char *body, const char *allow)
{
	struct MHD_Response *r = response(body, type);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(q->conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	q->answered = true;
	return ret;
}

static enum MHD_Result fail(struct req *q, int status, const char *fmt,
			    const char *arg)
{
	return reply(q, status, TYPE_JSON, gw_error_json(status, fmt, arg),
		     NULL);
}

static enum MHD_Result reply_buf(struct req *q, int status, const char *type,
				 struct gw_buf *b)
{
	if (b->oom) {
		gw_buf_free(b);
		return fail(q, 500, "%s", "out of memory");
	}
	return reply(q, status, type, gw_buf_take(b), NULL);
}

/* ---- authentication ------------------------------------------------------------------- */

/* Compare without stopping at the first difference. */
static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char d = an != bn;

	for (size_t i = 0; i < an && i < bn; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static bool authorized(struct gw_http *h, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	char cred[512];
	bool ok = false;
	int n;

	if (!h->cfg->n_users)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	if (user && pass) {
		n = snprintf(cred, sizeof(cred), "%s:%s", user, pass);
		for (const char *l = h->cfg->users; n > 0 && l && *l;) {
			const char *e = strchr(l, '\n');
			size_t len = e ? (size_t)(e - l) : strlen(l);

			ok |= same(l, len, cred, (size_t)n);
			l = e ? e + 1 : NULL;
		}
	}
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

static enum MHD_Result unauthorized(struct req *q)
{
	struct MHD_Response *r =
		response(gw_error_json(401, "%s", "authentication required"),
			 TYPE_JSON);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(q->conn, "mbus-gatewayd", r);
	MHD_destroy_response(r);
	q->answered = true;
	return ret;
}

/* ---- GET -------------------------------------------------------------------------------- */

static void bus_json(struct gw_bus_rt *b, struct gw_buf *j)
{
	pthread_mutex_lock(&b->lock);
	gw_buf_puts(j, "{\"name\":");
	gw_buf_json_str(j, b->cfg.name);
	gw_buf_puts(j, ",\"port\":");
	gw_buf_json_str(j, b->cfg.port);
	gw_buf_puts(j, ",\"tty\":");
	if (b->tty[0])
		gw_buf_json_str(j, b->tty);
	else
		gw_buf_puts(j, "null");
	if (b->baud_now)
		gw_buf_printf(j, ",\"baud\":%u", b->baud_now);
	else
		gw_buf_puts(j, ",\"baud\":null");
	gw_buf_printf(j, ",\"port_ok\":%s", b->port_ok ? "true" : "false");
	if (!b->port_ok && b->port_error[0]) {
		gw_buf_puts(j, ",\"port_error\":");
		gw_buf_json_str(j, b->port_error);
	}
	gw_buf_printf(j, ",\"scanning\":%s,\"meters\":%u,\"reads\":%llu,\"failures\":%llu,\"late\":%llu,\"counters\":",
		      b->scanning ? "true" : "false", b->n_meters,
		      (unsigned long long)b->reads,
		      (unsigned long long)b->failures,
		      (unsigned long long)b->late);
	if (!b->n_stats) {
		gw_buf_puts(j, "null}");
	} else {
		for (unsigned int i = 0; i < b->n_stats; i++)
			gw_buf_printf(j, "%s\"%s\":%llu", i ? "," : "{",
				      gw_stat_names[i].name,
				      (unsigned long long)b->stats[i]);
		gw_buf_puts(j, "}}");
	}
	pthread_mutex_unlock(&b->lock);
}

static void meters_json(struct gw_bus_rt *b, struct gw_buf *j, bool *first)
{
	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->n_meters; i++) {
		const struct gw_meter_rt *m = &b->meters[i];
		const struct gw_snap *s = gw_bus_snap(b, m->cfg.name);

		gw_buf_puts(j, *first ? "{\"name\":" : ",{\"name\":");
		*first = false;
		gw_buf_json_str(j, m->cfg.name);
		gw_buf_puts(j, ",\"bus\":");
		gw_buf_json_str(j, b->cfg.name);
		gw_buf_puts(j, ",\"address\":");
		gw_buf_json_str(j, m->cfg.address);
		if (m->secaddr[0]) {
			gw_buf_puts(j, ",\"secondary_address\":");
			gw_buf_json_str(j, m->secaddr);
		}
		if (s) {
			gw_buf_puts(j, ",\"last_read\":");
			gw_buf_json_str(j, s->timestamp);
			gw_buf_printf(j, ",\"ok\":%s", s->ok ? "true" : "false");
		} else {
			gw_buf_puts(j, ",\"last_read\":null,\"ok\":null");
		}
		gw_buf_printf(j, ",\"reads\":%llu,\"failures\":%llu}",
			      (unsigned long long)m->reads,
			      (unsigned long long)m->failures);
	}
	pthread_mutex_unlock(&b->lock);
}

static void csv_rows(struct gw_bus_rt *b, struct gw_buf *out)
{
	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->n_meters; i++) {
		const struct gw_meter_rt *m = &b->meters[i];
		const struct gw_snap *s = gw_bus_snap(b, m->cfg.name);

		if (s)
			gw_csv_rows(out, b->cfg.name, m->cfg.name, m->secaddr,
				    s);
	}
	pthread_mutex_unlock(&b->lock);
}

/* The bus of meter @name (NULL: none). */
static struct gw_bus_rt *meter_bus(struct gw_ctx *gw, const char *name)
{
	for (unsigned int i = 0; i < gw->n_buses; i++) {
		struct gw_bus_rt *b = &gw->buses[i];
		bool found = false;

		pthread_mutex_lock(&b->lock);
		for (unsigned int k = 0; k < b->n_meters && !found; k++)
			found = !strcmp(b->meters[k].cfg.name, name);
		pthread_mutex_unlock(&b->lock);
		if (found)
			return b;
	}
	return NULL;
}

static enum MHD_Result get_meter(struct gw_http *h, struct req *q, bool obis)
{
	struct gw_bus_rt *b = meter_bus(h->gw, q->name);
	const struct gw_snap *s;
	char *text = NULL;

	if (!b)
		return fail(q, 404, "no meter '%s'", q->name);
	pthread_mutex_lock(&b->lock);
	s = gw_bus_snap(b, q->name);
	if (s && (obis ? s->obis : s->state))
		text = strdup(obis ? s->obis : s->state);
	pthread_mutex_unlock(&b->lock);
	if (!s)
		return fail(q, 503, "meter '%s' has not been read yet", q->name);
	if (!text)
		return fail(q, 500, "%s", "out of memory");
	return reply(q, 200, TYPE_JSON, text, NULL);
}

static enum MHD_Result get(struct gw_http *h, struct req *q)
{
	struct gw_ctx *gw = h->gw;
	struct gw_buf j;
	bool first = true;

	gw_buf_init(&j);
	switch (q->route->ep) {
	case GW_EP_BUSES:
		gw_buf_puts(&j, "[");
		for (unsigned int i = 0; i < gw->n_buses; i++) {
			gw_buf_puts(&j, i ? "," : "");
			bus_json(&gw->buses[i], &j);
		}
		gw_buf_puts(&j, "]");
		return reply_buf(q, 200, TYPE_JSON, &j);
	case GW_EP_METERS:
		gw_buf_puts(&j, "[");
		for (unsigned int i = 0; i < gw->n_buses; i++)
			meters_json(&gw->buses[i], &j, &first);
		gw_buf_puts(&j, "]");
		return reply_buf(q, 200, TYPE_JSON, &j);
	case GW_EP_CSV:
		gw_buf_puts(&j, gw_csv_header);
		for (unsigned int i = 0; i < gw->n_buses; i++)
			csv_rows(&gw->buses[i], &j);
		return reply_buf(q, 200, TYPE_CSV, &j);
	case GW_EP_METRICS:
		gw_metrics(gw, &j);
		return reply_buf(q, 200, TYPE_METRICS, &j);
	case GW_EP_METER:
	case GW_EP_OBIS:
		return get_meter(h, q, q->route->ep == GW_EP_OBIS);
	default:
		return fail(q, 500, "%s", "bad route");
	}
}

/* ---- POST ------------------------------------------------------------------------------ */

struct scan_args {
	const char *mode, *baud, *range;
};

/* The request body: empty, or a JSON object of strings (scan: its keys). */
static int parse_body(struct req *q, struct json_object **obj,
		      struct scan_args *a, char *why, size_t size)
{
	enum json_tokener_error err;
	struct json_object_iterator it, end;

	*obj = NULL;
	if (!q->body_len)
		return 0;
	q->body[q->body_len] = '\0';
	*obj = json_tokener_parse_verbose(q->body, &err);
	if (!*obj) {
		snprintf(why, size, "body: %s", json_tokener_error_desc(err));
		return -1;
	}
	if (!json_object_is_type(*obj, json_type_object)) {
		snprintf(why, size, "body: a JSON object expected");
		return -1;
	}
	it = json_object_iter_begin(*obj);
	end = json_object_iter_end(*obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		const char **slot = NULL;

		if (q->route->ep == GW_EP_SCAN)
			slot = !strcmp(key, "mode") ? &a->mode :
			       !strcmp(key, "baud") ? &a->baud :
			       !strcmp(key, "range") ? &a->range : NULL;
		if (!slot) {
			snprintf(why, size, "body: unknown key '%.64s'", key);
			return -1;
		}
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(why, size, "body: '%s' must be a string", key);
			return -1;
		}
		*slot = json_object_get_string(v);
	}
	return 0;
}

static struct gw_job *new_job(struct req *q, enum gw_job_kind kind,
			      const char *meter)
{
	struct gw_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->owner = q;
	if (meter)
		snprintf(j->meter, sizeof(j->meter), "%s", meter);
	return j;
}

/* Scan parameters; false (and @why) if one is bad. */
static bool scan_params(const struct scan_args *a, struct gw_job *j,
			char *why, size_t size)
{
	static const char *const modes[] = { "primary", "secondary", "auto" };
	unsigned int first = 0, last = 250;
	char tail;

	j->mode = GW_SCAN_PRIMARY;
	if (a->mode) {
		size_t i;

		for (i = 0; i < 3 && strcmp(a->mode, modes[i]); i++)
			;
		if (i == 3) {
			snprintf(why, size, "mode '%.32s': auto, secondary or primary",
				 a->mode);
			return false;
		}
		j->mode = (enum gw_scan_mode)i;
	}
	if (a->baud && strcmp(a->baud, "all")) {
		snprintf(why, size, "baud '%.32s': only 'all' (else the bus rate)",
			 a->baud);
		return false;
	}
	j->all_bauds = a->baud != NULL;
	if (a->range) {
		int n = sscanf(a->range, "%u-%u%c", &first, &last, &tail);

		if (n == 1)
			last = first;
		if ((n != 1 && n != 2) || first > last || last > 250) {
			snprintf(why, size, "range '%.32s': A-B within 0-250",
				 a->range);
			return false;
		}
	}
	j->first = first;
	j->last = last;
	return true;
}

/* Queue a job for every meter of every bus; refusals go in the answer. */
static void read_all(struct gw_http *h, struct req *q)
{
	q->array = true;
	q->status = 200;
	gw_buf_puts(&q->result, "[");
	for (unsigned int i = 0; i < h->gw->n_buses; i++) {
		struct gw_bus_rt *b = &h->gw->buses[i];
		char (*names)[GW_NAME_MAX];
		unsigned int n;

		pthread_mutex_lock(&b->lock);
		n = b->n_meters;
		names = calloc(n ? n : 1, sizeof(*names));
		for (unsigned int k = 0; names && k < n; k++)
			memcpy(names[k], b->meters[k].cfg.name, GW_NAME_MAX);
		pthread_mutex_unlock(&b->lock);
		for (unsigned int k = 0; names && k < n; k++) {
			struct gw_job *j = new_job(q, GW_JOB_READ, names[k]);
			int rc = j ? gw_bus_submit(b, j) : 500;
			char *e;

			if (!rc) {
				q->pending++;
				continue;
			}
			free(j);
			e = gw_error_json(rc, rc == 409 ?
					  "meter '%s': a scan runs on its bus" :
					  rc == 503 ? "meter '%s': the port is gone" :
					  "meter '%s' not read", names[k]);
			if (e) {
				gw_buf_puts(&q->result, q->result.len > 1 ? "," : "");
				gw_buf_puts(&q->result, e);
				free(e);
			}
		}
		free(names);
	}
}

static enum MHD_Result post(struct gw_http *h, struct req *q)
{
	struct scan_args a = {
		.mode = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "mode"),
		.baud = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "baud"),
		.range = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "range"),
	};
	struct json_object *obj;
	struct gw_bus_rt *b = NULL;
	struct gw_job *j = NULL;
	char why[160];
	int rc;

	if (parse_body(q, &obj, &a, why, sizeof(why))) {
		json_object_put(obj);
		return fail(q, 400, "%s", why);
	}
	switch (q->route->ep) {
	case GW_EP_READ:
		json_object_put(obj);
		read_all(h, q);
		if (!q->pending) {
			gw_buf_puts(&q->result, "]");
			return reply_buf(q, 200, TYPE_JSON, &q->result);
		}
		break;
	case GW_EP_METER_READ:
		json_object_put(obj);
		b = meter_bus(h->gw, q->name);
		if (!b)
			return fail(q, 404, "no meter '%s'", q->name);
		j = new_job(q, GW_JOB_READ, q->name);
		break;
	case GW_EP_SCAN:
		for (unsigned int i = 0; i < h->gw->n_buses; i++)
			if (!strcmp(h->gw->buses[i].cfg.name, q->name))
				b = &h->gw->buses[i];
		if (!b) {
			json_object_put(obj);
			return fail(q, 404, "no bus '%s'", q->name);
		}
		j = new_job(q, GW_JOB_SCAN, NULL);
		if (j && !scan_params(&a, j, why, sizeof(why))) {
			json_object_put(obj);
			free(j);
			return fail(q, 400, "%s", why);
		}
		json_object_put(obj);
		break;
	default:
		json_object_put(obj);
		return fail(q, 500, "%s", "bad route");
	}
	if (b) {
		rc = j ? gw_bus_submit(b, j) : 500;
		if (rc) {
			free(j);
			return fail(q, rc, rc == 409 ? "bus %s: a scan runs" :
				    rc == 503 ? "bus %s: the port is gone" :
				    rc == 404 ? "meter gone from bus %s" :
				    "bus %s: out of memory", b->cfg.name);
		}
		q->pending = 1;
	}
	/* answered when the jobs finish (jobs_done()) */
	q->suspended = true;
	q->next = h->waiting;
	h->waiting = q;
	MHD_suspend_connection(q->conn);
	return MHD_YES;
}

/* ---- the access handler ---------------------------------------------------------------- */

/* The request's first call: what is wrong is answered before any body. */
static enum MHD_Result first_call(struct gw_http *h, struct req *q,
				  const char *url, const char *method)
{
	const char *allow = NULL, *cl;
	int status;

	if (!authorized(h, q->conn))
		return unauthorized(q);
	q->route = gw_route_find(url, method, q->name, &status, &allow);
	if (!q->route && status == 405)
		return reply(q, 405, TYPE_JSON,
			     gw_error_json(405, "method %s not allowed here",
					   method), allow);
	if (!q->route)
		return fail(q, 404, "no such resource: %.200s", url);
	if (q->route->post && !h->cfg->allow_commands)
		return fail(q, 403, "%s", "commands are off (allow-commands = no)");
	cl = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > BODY_MAX)
		return fail(q, 413, "request body: more than %s bytes",
			    "4096");
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_size, void **req_cls)
{
	struct gw_http *h = cls;
	struct req *q = *req_cls;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->conn = c;
		gw_buf_init(&q->result);
		*req_cls = q;
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned int)CONN_TIMEOUT_S);
		if (h->stopping)
			return fail(q, 503, "%s", "the daemon is stopping");
		return first_call(h, q, url, method);
	}
	if (q->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		if (q->body_len + *upload_size > BODY_MAX)
			q->too_large = true;
		else
			memcpy(q->body + q->body_len, upload, *upload_size);
		if (!q->too_large)
			q->body_len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->done)
		return reply_buf(q, q->status, TYPE_JSON, &q->result);
	if (h->stopping)
		return fail(q, 503, "%s", "the daemon is stopping");
	if (q->too_large)
		return fail(q, 413, "request body: more than %s bytes", "4096");
	return q->route->post ? post(h, q) : get(h, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *q = *req_cls;

	(void)cls, (void)c, (void)toe;
	if (!q)
		return;
	gw_buf_free(&q->result);
	free(q);
	*req_cls = NULL;
}

/* ---- finished jobs ----------------------------------------------------------------------- */

static void resume(struct gw_http *h, struct req *q)
{
	for (struct req **pp = &h->waiting; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	q->suspended = false;
	q->done = true;
	if (q->array)
		gw_buf_puts(&q->result, "]");
	MHD_resume_connection(q->conn);
}

static void jobs_done(struct gw_http *h)
{
	struct gw_job *j, *next;

	for (j = gw_done_take(h->gw); j; j = next) {
		struct req *q = j->owner;

		next = j->next;
		if (q->array) {
			gw_buf_puts(&q->result, q->result.len > 1 ? "," : "");
			gw_buf_puts(&q->result, j->body ? j->body : "null");
		} else {
			q->status = j->status;
			gw_buf_puts(&q->result, j->body ? j->body : "null");
		}
		if (!--q->pending)
			resume(h, q);
		gw_job_free(j);
	}
}

/* ---- the server ------------------------------------------------------------------------ */

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	struct gw_buf b;
	char chunk[4096];
	size_t n;

	if (!fp)
		return NULL;
	gw_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		gw_buf_add(&b, chunk, n);
	fclose(fp);
	gw_buf_puts(&b, "");
	return gw_buf_take(&b);
}

/*
 * libmicrohttpd's messages; one that repeats within LOG_QUIET_US (a
 * flood: "Server reached connection limit") is counted, not logged again.
 */
#define LOG_QUIET_US	10000000ull

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static char last[300];
	static uint64_t last_us;
	static unsigned long repeats;
	uint64_t now = gw_now_us();
	char line[300];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (!strcmp(line, last) && now < last_us + LOG_QUIET_US) {
		repeats++;
		return;
	}
	if (repeats)
		gw_log("http: %s (%lu times more)", last, repeats);
	repeats = 0;
	snprintf(last, sizeof(last), "%s", line);
	last_us = now;
	gw_log("http: %s", line);
}

struct gw_http *gw_http_start(struct gw_ctx *gw, const struct gw_http_cfg *c)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			     MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct gw_http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls[3] = {
		{ MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (!h)
		return NULL;
	h->gw = gw;
	h->cfg = c;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, c->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)c->port);
	} else if (inet_pton(AF_INET6, c->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)c->port);
		flags |= MHD_USE_IPv6;
	} else {
		gw_log("http: listen: bad address %s", c->host);
		goto fail;
	}
	if (c->cert[0]) {
		h->cert = read_file(c->cert);
		h->key = read_file(c->key);
		if (!h->cert || !h->key) {
			gw_log("http: %s: %s", h->cert ? c->key : c->cert,
			       strerror(errno));
			goto fail;
		}
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						  h->cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						  h->key };
	}
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)c->max_connections,
				  MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)HEADER_TIMEOUT_S,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				  MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!h->mhd) {
		/* errno is not set by every failure: MHD logged the cause */
		gw_log("http: cannot listen on %s%s: see the libmicrohttpd message before this one",
		       c->listen, h->cert ? " (TLS)" : "");
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		gw_log("http: libmicrohttpd has no epoll");
		goto fail;
	}
	h->epoll_fd = info->epoll_fd;
	gw_log("http: listening on %s%s, at most %u connections, commands %s",
	       c->listen, h->cert ? " (TLS)" : "", c->max_connections,
	       c->allow_commands ? "on" : "off");
	return h;
fail:
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->cert);
	free(h->key);
	free(h);
	return NULL;
}

int gw_http_prepare(struct gw_http *h, struct pollfd *pfd, int *timeout_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	pfd[0].fd = h->epoll_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = h->gw->done.efd;
	pfd[1].events = POLLIN;
	if (MHD_get_timeout(h->mhd, &t) == MHD_YES && t < (unsigned int)*timeout_ms)
		*timeout_ms = (int)t;
	return 2;
}

void gw_http_dispatch(struct gw_http *h, struct pollfd *pfd, int n)
{
	uint64_t v;

	if (n > 1 && (pfd[1].revents & POLLIN)) {
		if (read(h->gw->done.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			gw_log("http: jobs: %s", strerror(errno));
		jobs_done(h);
	}
	MHD_run(h->mhd);
}

void gw_http_stop(struct gw_http *h)
{
	if (!h)
		return;
	h->stopping = true;
	jobs_done(h);
	while (h->waiting) {
		struct req *q = h->waiting;
		char *e = gw_error_json(503, "%s", "the daemon is stopping");

		gw_buf_free(&q->result);
		gw_buf_init(&q->result);
		gw_buf_puts(&q->result, e ? e : "null");
		free(e);
		q->array = false;
		q->status = 503;
		resume(h, q);
	}
	for (int i = 0; i < 5; i++) {
		struct pollfd pfd = { .fd = h->epoll_fd, .events = POLLIN };

		MHD_run(h->mhd);
		if (poll(&pfd, 1, 50) <= 0)
			break;
	}
	MHD_stop_daemon(h->mhd);
	free(h->cert);
	free(h->key);
	free(h);
}
