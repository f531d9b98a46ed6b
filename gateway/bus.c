// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd bus threads: one per [bus], each with its meters' schedule
 *
 * The kernel runs one exchange at a time per bus and MBUS_IOC_XFER blocks
 * for the exchange, so each bus gets a thread of its own: buses run in
 * parallel, and no exchange ever waits for the network (results go to the
 * main thread through the outbox).
 *
 * Schedule: every meter is due at its last read's start plus its
 * interval. The thread reads the meter due first (ties: configuration
 * order). A meter that fails is read again after interval × 2^(fails-1),
 * at most 64 intervals (and at most a day) later: exponential backoff for
 * meters that stay silent. When the meters need more bus time than there
 * is (the sum of bus time per read / interval above 1), meters are late:
 * each is still read once in turn, in the order they fell due, so every
 * interval stretches by the same bus time and none starves; the load is
 * logged at start and in bridge/info with the late reads counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/mbus.h>

#include "gw.h"

#define OPEN_BACKOFF_MIN_US	1000000ull
#define OPEN_BACKOFF_MAX_US	60000000ull
#define BACKOFF_MAX_SHIFT	6

atomic_int gw_stopping;

uint64_t gw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- outbox ------------------------------------------------------------------ */

void gw_msg_free(struct gw_msg *m)
{
	if (!m)
		return;
	free(m->topic);
	free(m->payload);
	free(m);
}

void gw_outbox_push(struct gw_outbox *o, enum gw_msg_kind kind, char *topic,
		    char *payload, bool retain)
{
	struct gw_msg *m = calloc(1, sizeof(*m));
	uint64_t one = 1;

	if (!m || !topic || !payload) {
		gw_log("out of memory: message to %s dropped",
		       topic ? topic : "?");
		free(m);
		free(topic);
		free(payload);
		return;
	}
	m->kind = kind;
	m->topic = topic;
	m->payload = payload;
	m->retain = retain;
	pthread_mutex_lock(&o->lock);
	if (o->tail)
		o->tail->next = m;
	else
		o->head = m;
	o->tail = m;
	pthread_mutex_unlock(&o->lock);
	if (write(o->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		gw_log("outbox: %s", strerror(errno));
}

struct gw_msg *gw_outbox_take(struct gw_outbox *o)
{
	struct gw_msg *m;

	pthread_mutex_lock(&o->lock);
	m = o->head;
	o->head = o->tail = NULL;
	pthread_mutex_unlock(&o->lock);
	return m;
}

static char *topic_of(const struct gw_bus_rt *b, const char *meter,
		      const char *leaf)
{
	struct gw_buf t;

	gw_buf_init(&t);
	gw_buf_printf(&t, "%s/%s/", b->gw->cfg->mqtt.base, b->cfg.name);
	if (meter)
		gw_buf_printf(&t, "%s/", meter);
	gw_buf_puts(&t, leaf);
	return gw_buf_take(&t);
}

/* ---- state directory: remembered baud rates, the inventory ---------------- */

static void state_save(struct gw_bus_rt *b, const struct gw_meter_rt *m)
{
	char path[GW_PATH_MAX + GW_NAME_MAX + 16], tmp[sizeof(path) + 4];
	FILE *fp;

	if (!b->gw->state_dir_ok)
		return;
	snprintf(path, sizeof(path), "%s/meters/%s", b->gw->cfg->state_dir,
		 m->cfg.name);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fp = fopen(tmp, "w");
	if (!fp)
		return;
	fprintf(fp, "bus=%s\naddress=%s\nsecondary=%s\nbaud=%u\n",
		m->cfg.bus, m->cfg.address, m->secaddr, m->learned_baud);
	if (fclose(fp) || rename(tmp, path))
		gw_log("state %s: %s", path, strerror(errno));
}

static void state_load(struct gw_bus_rt *b, struct gw_meter_rt *m)
{
	char path[GW_PATH_MAX + GW_NAME_MAX + 16], line[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/meters/%s", b->gw->cfg->state_dir,
		 m->cfg.name);
	fp = fopen(path, "r");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		unsigned int v;

		if (sscanf(line, "baud=%u", &v) == 1 && m->cfg.baud == GW_BAUD_AUTO)
			m->learned_baud = v;
	}
	fclose(fp);
}

/* ---- the port ------------------------------------------------------------------ */

static void port_close(struct gw_bus_rt *b)
{
	nmbus_dev_close(b->dev);
	b->dev = NULL;
}

/* The tty N_MBUS is attached to, from sysfs (the tty attribute of mbusN). */
static void port_tty(struct gw_bus_rt *b, char *out, size_t size)
{
	char path[64];
	struct stat st;
	FILE *fp;
	int fd = nmbus_dev_get_fd(b->dev);

	out[0] = '\0';
	if (fd < 0 || fstat(fd, &st) || !S_ISCHR(st.st_mode))
		return;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/tty",
		 major(st.st_rdev), minor(st.st_rdev));
	fp = fopen(path, "r");
	if (!fp)
		return;
	if (fgets(out, (int)size, fp))
		out[strcspn(out, "\n")] = '\0';
	else
		out[0] = '\0';
	fclose(fp);
}

static bool port_open(struct gw_bus_rt *b)
{
	struct nmbus_dev_params p;
	const struct gw_bus_cfg *c = &b->cfg;
	uint64_t now = gw_now_us();
	char tty[32];
	int rc;

	if (b->dev)
		return true;
	if (now < b->next_open_us)
		return false;
	rc = nmbus_dev_open(c->port, &b->dev);
	if (rc)
		goto fail;
	nmbus_dev_get_params(b->dev, &p);
	if (c->set_mask & GW_P_TIMEOUT)
		p.response_timeout_us = c->params.response_timeout_us;
	if (c->set_mask & GW_P_CHAR_TIMEOUT)
		p.char_timeout_us = c->params.char_timeout_us;
	if (c->set_mask & GW_P_RETRIES)
		p.retries = c->params.retries;
	if (c->set_mask & GW_P_WAKEUP)
		p.wakeup_bytes = c->params.wakeup_bytes;
	if (c->set_mask & GW_P_WAKEUP_DELAY)
		p.wakeup_delay_us = c->params.wakeup_delay_us;
	if (c->set_mask & GW_P_ECHO)
		p.flags = c->params.flags;
	rc = nmbus_dev_set_params(b->dev, &p);
	if (rc)
		goto fail;
	if (c->baud && nmbus_dev_get_baud(b->dev) != (int)c->baud) {
		rc = nmbus_dev_set_baud(b->dev, c->baud);
		if (rc)
			goto fail;
	}
	rc = nmbus_dev_get_baud(b->dev);
	b->bus_baud = rc > 0 ? (unsigned int)rc : 0;	/* 0: unknown */
	port_tty(b, tty, sizeof(tty));
	pthread_mutex_lock(&b->lock);
	snprintf(b->tty, sizeof(b->tty), "%s", tty);
	b->baud_now = b->bus_baud;
	if (!b->port_ok)
		gw_log("bus %s: %s open at %u Bd", c->name, c->port,
		       b->bus_baud);
	b->port_ok = true;
	b->port_error[0] = '\0';
	pthread_mutex_unlock(&b->lock);
	b->open_backoff_us = 0;
	return true;
fail:
	pthread_mutex_lock(&b->lock);
	if (b->port_ok || strcmp(b->port_error, strerror(-rc))) {
		gw_log("bus %s: %s: %s (trying again)", c->name, c->port,
		       strerror(-rc));
		snprintf(b->port_error, sizeof(b->port_error), "%s",
			 strerror(-rc));
	}
	b->port_ok = false;
	pthread_mutex_unlock(&b->lock);
	port_close(b);
	b->open_backoff_us = b->open_backoff_us ?
		b->open_backoff_us * 2 : OPEN_BACKOFF_MIN_US;
	if (b->open_backoff_us > OPEN_BACKOFF_MAX_US)
		b->open_backoff_us = OPEN_BACKOFF_MAX_US;
	b->next_open_us = now + b->open_backoff_us;
	return false;
}

/* ---- one readout ------------------------------------------------------------------ */

struct readout {
	struct gw_reading *r;
	const struct gw_meter_cfg *m;
	bool bad;
};

static int on_telegram(const uint8_t *buf, size_t len, unsigned int index,
		       void *arg)
{
	struct readout *ro = arg;

	(void)index;
	if (gw_reading_add_telegram(ro->r, ro->m, buf, len))
		ro->bad = true;
	return gw_stopping ? 1 : 0;
}

/* Link parameters and address of @m on the port; 0 or -errno. */
static int meter_params(struct gw_bus_rt *b, const struct gw_meter_cfg *m)
{
	const struct nmbus_profile *p = m->profile;
	struct nmbus_dev_params params;
	int rc;

	nmbus_dev_get_params(b->dev, &params);
	if (p) {
		params.wakeup_bytes = p->wakeup_bytes;
		params.wakeup_delay_us = p->wakeup_delay_ms * 1000u;
		params.retries = p->retries;
		params.response_timeout_us = p->timeout_ms * 1000u;
	} else {
		const struct gw_bus_cfg *c = &b->cfg;

		params.wakeup_bytes = c->set_mask & GW_P_WAKEUP ?
			c->params.wakeup_bytes : 0;
		params.wakeup_delay_us = c->set_mask & GW_P_WAKEUP_DELAY ?
			c->params.wakeup_delay_us : 0;
		params.retries = c->set_mask & GW_P_RETRIES ?
			c->params.retries : 2;
		params.response_timeout_us = c->set_mask & GW_P_TIMEOUT ?
			c->params.response_timeout_us : 0;
	}
	rc = nmbus_dev_set_params(b->dev, &params);
	if (rc)
		return rc;
	if (m->primary >= 0)
		return nmbus_dev_set_primary(b->dev, (uint8_t)m->primary);
	return nmbus_dev_set_secondary(b->dev, m->secaddr);
}

/* The port to @baud (0: as it is); 0 or -errno. */
static int set_baud(struct gw_bus_rt *b, unsigned int baud)
{
	if (!baud || nmbus_dev_get_baud(b->dev) == (int)baud)
		return 0;
	return nmbus_dev_set_baud(b->dev, baud);
}

/*
 * The init sequence; a step that is not acknowledged is an error (-EIO).
 * 0 or -errno, and what went wrong in @err.
 */
static int run_init(struct gw_bus_rt *b, const struct gw_meter_cfg *m,
		    char *err, size_t size)
{
	uint8_t tx[NMBUS_FRAME_MAX], rx[NMBUS_FRAME_MAX];

	for (unsigned int i = 0; i < m->n_init; i++) {
		const struct gw_init_step *s = &m->init[i];
		unsigned int flags = NMBUS_XFER_ADDRESSED;
		const uint8_t *frame = tx;
		int len, st;

		switch (s->kind) {
		case GW_INIT_NKE:
			len = nmbus_build_snd_nke(tx, sizeof(tx), 0);
			break;
		case GW_INIT_APP_RESET:
			len = nmbus_build_app_reset(tx, sizeof(tx), 0, 0,
						    s->subcode);
			break;
		case GW_INIT_SELECT:
			len = nmbus_build_readout_select(tx, sizeof(tx), 0, 0,
							 s->storage, 0x7e);
			break;
		default:
			frame = s->raw;
			len = (int)s->raw_len;
			flags = 0;
			break;
		}
		if (len < 0) {
			snprintf(err, size, "init step %u: %s", i + 1,
				 strerror(-len));
			return len;
		}
		st = nmbus_dev_xfer(b->dev, frame, (size_t)len, flags, rx,
				    sizeof(rx), NULL);
		if (st < 0) {
			snprintf(err, size, "init step %u: %s", i + 1,
				 strerror(-st));
			return st;
		}
		if (st != NMBUS_STATUS_ACK && st != NMBUS_STATUS_FRAME) {
			snprintf(err, size, "init step %u: %s", i + 1,
				 nmbus_status_name(st));
			return -EIO;
		}
	}
	return 0;
}

/*
 * Read @mr at @baud into @r; 0, or a negative errno value (-ENODEV: the
 * port went away) with the reason in r->error.
 */
static int try_read(struct gw_bus_rt *b, struct gw_meter_rt *mr,
		    struct gw_reading *r, unsigned int baud)
{
	const struct gw_meter_cfg *m = &mr->cfg;
	struct readout ro = { .r = r, .m = m };
	int n;

	n = set_baud(b, baud);
	if (!n)
		n = meter_params(b, m);
	if (n) {
		snprintf(r->error, sizeof(r->error), "port: %s",
			 strerror(-n));
		return n;
	}
	n = run_init(b, m, r->error, sizeof(r->error));
	if (n)
		return n;
	n = nmbus_read_telegrams(b->dev, m->max_telegrams, on_telegram, &ro);
	if (n < 0) {
		if (n == -ETIMEDOUT)
			snprintf(r->error, sizeof(r->error), "no answer");
		else if (n == -EIO)
			snprintf(r->error, sizeof(r->error),
				 "garbled answer (collision or noise)");
		else if (n == -ECANCELED)
			snprintf(r->error, sizeof(r->error), "stopped");
		else
			snprintf(r->error, sizeof(r->error), "%s",
				 strerror(-n));
		return n;
	}
	return ro.bad ? -EBADMSG : 0;
}

static const unsigned int auto_rates[] = { 2400, 9600, 300, 1200, 4800,
					   19200, 38400, 600 };

static void read_meter(struct gw_bus_rt *b, struct gw_meter_rt *mr,
		       struct gw_reading *r)
{
	const struct gw_meter_cfg *m = &mr->cfg;
	unsigned int baud = b->bus_baud;
	uint64_t t0 = gw_now_us();
	int rc, err;

	gw_utc_now(r->timestamp, sizeof(r->timestamp));
	if (!port_open(b)) {
		snprintf(r->error, sizeof(r->error), "port %s: %s", b->cfg.port,
			 b->port_error);
		return;
	}
	if (m->profile && m->profile->baud)
		baud = m->profile->baud;
	if (m->baud > GW_BAUD_AUTO)
		baud = m->baud;
	if (m->baud == GW_BAUD_AUTO && mr->learned_baud)
		baud = mr->learned_baud;
	rc = try_read(b, mr, r, baud);
	if (rc && m->baud == GW_BAUD_AUTO && rc != -ENODEV && !gw_stopping) {
		/* try the other rates; remember the one that answers */
		for (size_t i = 0; i < sizeof(auto_rates) / sizeof(auto_rates[0]) &&
		     rc && !gw_stopping; i++) {
			if (auto_rates[i] == baud)
				continue;
			gw_buf_free(&r->telegrams);
			r->n_telegrams = r->n_values = 0;
			r->has_header = false;
			r->error[0] = '\0';
			rc = try_read(b, mr, r, auto_rates[i]);
			if (!rc) {
				gw_log("meter %s: answers at %u Bd", m->name,
				       auto_rates[i]);
				mr->learned_baud = auto_rates[i];
			}
		}
	}
	if (rc == -ENODEV) {
		gw_log("bus %s: the port went away", b->cfg.name);
		pthread_mutex_lock(&b->lock);
		b->port_ok = false;
		snprintf(b->port_error, sizeof(b->port_error), "%s",
			 strerror(ENODEV));
		pthread_mutex_unlock(&b->lock);
		port_close(b);
	}
	/* Meters without a rate of their own read at the bus rate. */
	err = b->dev ? set_baud(b, b->bus_baud) : 0;
	if (err)
		gw_log("bus %s: set baud rate %u: %s", b->cfg.name, b->bus_baud,
		       strerror(-err));
	r->ok = rc == 0;
	r->bus_us = gw_now_us() - t0;
}

/* ---- publishing a reading ---------------------------------------------------------- */

static void header_info(struct gw_meter_rt *mr, const struct nmbus_header *h)
{
	uint8_t a[NMBUS_SECADDR_LEN];
	const char *model;

	for (int i = 0; i < 4; i++)
		a[i] = (uint8_t)(h->id >> (8 * i));
	a[4] = (uint8_t)h->manufacturer;
	a[5] = (uint8_t)(h->manufacturer >> 8);
	a[6] = h->version;
	a[7] = h->medium;
	nmbus_secaddr_format(a, mr->secaddr, sizeof(mr->secaddr));
	nmbus_manufacturer_str(h->manufacturer, mr->manufacturer);
	model = nmbus_device_name(h);
	snprintf(mr->model, sizeof(mr->model), "%s",
		 model ? model : nmbus_medium_name(h->medium));
	mr->medium = h->medium;
}

/* Publish @r; return its state message (allocated) for the snapshot. */
static char *publish_reading(struct gw_bus_rt *b, struct gw_meter_rt *mr,
			     struct gw_reading *r, bool was_online)
{
	struct gw_outbox *o = &b->gw->out;
	const struct gw_mqtt_cfg *q = &b->gw->cfg->mqtt;
	char *state;
	bool first;

	if (r->ok && r->has_header) {
		first = !mr->secaddr[0];
		header_info(mr, &r->header);
		if (first)
			state_save(b, mr);
	}
	state = gw_reading_json(r, &mr->cfg, mr->secaddr);
	if ((r->ok || r->n_telegrams) && state)
		gw_outbox_push(o, GW_MSG_NORMAL, topic_of(b, mr->cfg.name, "state"),
			       strdup(state), q->retain);
	gw_outbox_push(o, GW_MSG_NORMAL,
		       topic_of(b, mr->cfg.name, "availability"),
		       strdup(mr->online ? "online" : "offline"), true);
	if (r->ok && !mr->discovered && b->gw->cfg->ha.discovery) {
		gw_ha_discovery(b->gw, mr, r);
		mr->discovered = true;
	}
	if (!r->ok)
		gw_log("meter %s (bus %s, address %s): %s; %u failed in a row, %llu of %llu reads failed",
		       mr->cfg.name, b->cfg.name, mr->cfg.address, r->error,
		       mr->fails, (unsigned long long)mr->failures,
		       (unsigned long long)mr->reads);
	else if (!was_online && mr->reads > 1)
		gw_log("meter %s (bus %s): answers again", mr->cfg.name,
		       b->cfg.name);
	return state;
}

/* ---- snapshots and jobs -------------------------------------------------------------- */

void gw_job_free(struct gw_job *j)
{
	if (!j)
		return;
	free(j->body);
	free(j);
}

void gw_job_finish(struct gw_ctx *gw, struct gw_job *j, int status,
		   char *body)
{
	struct gw_done *d = &gw->done;
	struct gw_job **pp;
	uint64_t one = 1;

	j->next = NULL;
	j->status = body ? status : 500;
	j->body = body;
	pthread_mutex_lock(&d->lock);
	for (pp = &d->head; *pp; pp = &(*pp)->next)
		;
	*pp = j;
	pthread_mutex_unlock(&d->lock);
	if (write(d->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		gw_log("jobs: %s", strerror(errno));
}

struct gw_job *gw_done_take(struct gw_ctx *gw)
{
	struct gw_job *j;

	pthread_mutex_lock(&gw->done.lock);
	j = gw->done.head;
	gw->done.head = NULL;
	pthread_mutex_unlock(&gw->done.lock);
	return j;
}

char *gw_error_json(int code, const char *fmt, const char *arg)
{
	struct gw_buf j;
	char msg[200];

	snprintf(msg, sizeof(msg), fmt, arg);
	gw_buf_init(&j);
	gw_buf_puts(&j, "{\"error\":");
	gw_buf_json_str(&j, msg);
	gw_buf_printf(&j, ",\"code\":%d}", code);
	return gw_buf_take(&j);
}

struct gw_snap *gw_bus_snap(struct gw_bus_rt *b, const char *name)
{
	for (unsigned int i = 0; i < b->n_snaps; i++)
		if (!strcmp(b->snaps[i].name, name))
			return &b->snaps[i];
	return NULL;
}

static void snap_clear(struct gw_snap *s)
{
	free(s->state);
	free(s->obis);
	free(s->values);
	s->state = s->obis = NULL;
	s->values = NULL;
	s->n_values = 0;
}

/* Keep @r as the meter's snapshot; call with the lock held. */
static void snap_update(struct gw_bus_rt *b, const struct gw_meter_rt *m,
			const struct gw_reading *r, char *state)
{
	struct gw_snap *s = gw_bus_snap(b, m->cfg.name);
	struct timespec now;

	if (!s) {
		s = realloc(b->snaps, (b->n_snaps + 1) * sizeof(*s));
		if (!s) {
			free(state);
			return;
		}
		b->snaps = s;
		s = &b->snaps[b->n_snaps++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", m->cfg.name);
	}
	snap_clear(s);
	s->state = state;
	s->obis = gw_reading_obis_json(r, &m->cfg);
	if (r->n_values) {
		s->values = malloc(r->n_values * sizeof(*s->values));
		if (s->values) {
			memcpy(s->values, r->values,
			       r->n_values * sizeof(*s->values));
			s->n_values = r->n_values;
		}
	}
	s->ok = r->ok;
	snprintf(s->timestamp, sizeof(s->timestamp), "%s", r->timestamp);
	s->duration_s = (double)r->bus_us / 1e6;
	if (r->ok) {
		clock_gettime(CLOCK_REALTIME, &now);
		s->last_ok_s = (double)now.tv_sec + now.tv_nsec / 1e9;
	}
}

/*
 * Finish the read jobs of meter @name queued before @start with its
 * state message @state (NULL: @code and @why); call with the lock held.
 */
static void finish_reads(struct gw_bus_rt *b, const char *name,
			 uint64_t start, const char *state, int code,
			 const char *why)
{
	struct gw_job **pp = &b->jobs;

	while (*pp) {
		struct gw_job *j = *pp;

		if (j->kind != GW_JOB_READ || strcmp(j->meter, name) ||
		    j->queued_us > start) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (state)
			gw_job_finish(b->gw, j, 200, strdup(state));
		else
			gw_job_finish(b->gw, j, code, gw_error_json(code, why, name));
	}
}

static struct gw_meter_rt *find_meter(struct gw_bus_rt *b, const char *name)
{
	for (unsigned int i = 0; i < b->n_meters; i++)
		if (!strcmp(b->meters[i].cfg.name, name))
			return &b->meters[i];
	return NULL;
}

/* Read jobs of meters a reload removed; call with the lock held. */
static void drop_orphans(struct gw_bus_rt *b)
{
	struct gw_job *j = b->jobs;
	char name[GW_NAME_MAX];

	while (j) {
		if (j->kind != GW_JOB_READ || find_meter(b, j->meter)) {
			j = j->next;
			continue;
		}
		/* a copy: the job is the main thread's once finished */
		memcpy(name, j->meter, sizeof(name));
		finish_reads(b, name, UINT64_MAX, NULL, 404,
			     "meter '%s' was removed by a reload");
		j = b->jobs;	/* the list changed: from the start again */
	}
}

int gw_bus_submit(struct gw_bus_rt *b, struct gw_job *j)
{
	struct gw_meter_rt *m;
	struct gw_job **pp;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	m = j->kind == GW_JOB_READ ? find_meter(b, j->meter) : NULL;
	if (j->kind == GW_JOB_READ && !m)
		rc = 404;
	else if (b->scanning || b->scan)
		rc = 409;
	else if (!b->port_ok && b->port_error[0])
		rc = 503;
	if (rc) {
		pthread_mutex_unlock(&b->lock);
		return rc;
	}
	j->queued_us = gw_now_us();
	if (m)
		m->read_now = true;
	else
		b->scanning = true;
	for (pp = &b->jobs; *pp; pp = &(*pp)->next)
		;
	*pp = j;
	j->next = NULL;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* The queued scan job, taken off the list; call with the lock held. */
static struct gw_job *take_scan(struct gw_bus_rt *b)
{
	for (struct gw_job **pp = &b->jobs; *pp; pp = &(*pp)->next) {
		struct gw_job *j = *pp;

		if (j->kind == GW_JOB_SCAN) {
			*pp = j->next;
			return j;
		}
	}
	return NULL;
}

/* struct mbus_stats in order; the help texts follow uapi/linux/mbus.h. */
const struct gw_stat_name gw_stat_names[] = {
	{ "tx_frames", "Frames sent" },
	{ "rx_frames", "Valid frames received (short, control, long)" },
	{ "rx_acks", "Single-character acknowledgements received" },
	{ "timeouts", "Response windows that stayed silent" },
	{ "retries", "Requests repeated" },
	{ "checksum_errors", "Frames dropped for a wrong checksum" },
	{ "length_errors", "Frames dropped for bad L fields or a missing stop byte" },
	{ "parity_errors", "Bytes received with a parity error" },
	{ "framing_errors", "Bytes received with a framing error" },
	{ "overruns", "Receive overruns reported by the UART" },
	{ "breaks", "Breaks received" },
	{ "garbled", "Response windows with bytes but no valid frame" },
	{ "echo_dropped", "Echoed bytes removed by echo cancellation" },
	{ "noise_bytes", "Bytes that belonged to no frame" },
	{ "tx_bytes", "Bytes sent, wake-up preambles included" },
	{ "rx_bytes", "Bytes received" },
	{ "char_timeouts", "Partial frames dropped after an inter-character timeout" },
	{ "rx_dropped", "Frames an open file did not read in time" },
	{ "events_dropped", "Netlink events lost: the port's event ring was full" },
};
const unsigned int gw_n_stat_names = sizeof(gw_stat_names) /
				     sizeof(gw_stat_names[0]);

static void publish_stats(struct gw_bus_rt *b)
{
	struct mbus_stats st;
	const __u64 *v = (const __u64 *)&st;
	struct gw_buf j;
	int fd = b->dev ? nmbus_dev_get_fd(b->dev) : -1;
	unsigned int n = gw_n_stat_names;
	char ts[32];

	memset(&st, 0, sizeof(st));
	if (fd < 0 || ioctl(fd, MBUS_IOC_GET_STATS, &st))
		return;
	if (n > sizeof(st) / sizeof(__u64))
		n = sizeof(st) / sizeof(__u64);
	gw_utc_now(ts, sizeof(ts));
	gw_buf_init(&j);
	gw_buf_puts(&j, "{\"bus\":");
	gw_buf_json_str(&j, b->cfg.name);
	gw_buf_puts(&j, ",\"port\":");
	gw_buf_json_str(&j, b->cfg.port);
	gw_buf_printf(&j, ",\"timestamp\":\"%s\",\"baud\":%u", ts,
		      b->bus_baud);
	for (unsigned int i = 0; i < n; i++)
		gw_buf_printf(&j, ",\"%s\":%llu", gw_stat_names[i].name,
			      (unsigned long long)v[i]);
	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < n && i < GW_STATS_MAX; i++)
		b->stats[i] = v[i];
	b->n_stats = n;
	gw_buf_printf(&j, ",\"reads\":%llu,\"failures\":%llu,\"late\":%llu,\"cycle_ms\":%llu}",
		      (unsigned long long)b->reads,
		      (unsigned long long)b->failures,
		      (unsigned long long)b->late,
		      (unsigned long long)(b->cycle_us / 1000));
	pthread_mutex_unlock(&b->lock);
	gw_outbox_push(&b->gw->out, GW_MSG_NORMAL, topic_of(b, NULL, "stats"),
		       gw_buf_take(&j), true);
}

/* ---- scan (command/scan, POST /buses/NAME/scan) -------------------------------------- */

#define SCAN_SEEN_MAX	256

struct scan_out {
	struct gw_buf *j;
	unsigned int n;
	uint8_t seen[SCAN_SEEN_MAX][NMBUS_SECADDR_LEN];
	unsigned int n_seen;
};

/* Whether a meter was reported before (auto: secondary, then primary). */
static bool scan_seen(struct scan_out *so, const struct nmbus_scan_result *r)
{
	uint8_t key[NMBUS_SECADDR_LEN];

	memcpy(key, r->secaddr, sizeof(key));
	if (r->by_fabrication)
		for (int i = 0; i < 4; i++)
			key[i] ^= (uint8_t)(r->fabrication >> (8 * i)) ^ 0x5a;
	for (unsigned int i = 0; i < so->n_seen; i++)
		if (!memcmp(so->seen[i], key, sizeof(key)))
			return true;
	if (so->n_seen < SCAN_SEEN_MAX)
		memcpy(so->seen[so->n_seen++], key, sizeof(key));
	return false;
}

/* One meter found, as an object of mbus-scan --json (mbus-scan(1)). */
static int on_found(const struct nmbus_scan_result *r, void *arg)
{
	struct scan_out *so = arg;
	const struct nmbus_header *h = &r->header;
	char sec[NMBUS_SECADDR_STRLEN + 1] = "-", man[4];
	struct gw_buf *j = so->j;

	if (r->status == NMBUS_STATUS_FRAME || r->status == NMBUS_STATUS_ACK ||
	    (r->status == NMBUS_STATUS_GARBLED && r->primary == 253))
		nmbus_secaddr_format(r->secaddr, sec, sizeof(sec));
	if (r->status == NMBUS_STATUS_FRAME && scan_seen(so, r))
		return gw_stopping ? 1 : 0;
	gw_buf_puts(j, so->n++ ? "," : "");
	if (r->status != NMBUS_STATUS_FRAME) {
		gw_buf_puts(j, "{\"id\":null,\"manufacturer\":null,\"version\":null,\"medium\":null,\"medium_code\":null,");
	} else {
		/* a bad manufacturer code may give [ \\ ] ^ _: escaped */
		gw_buf_printf(j, "{\"id\":\"%08X\",\"manufacturer\":",
			      (unsigned int)h->id);
		gw_buf_json_str(j, nmbus_manufacturer_str(h->manufacturer, man));
		gw_buf_printf(j, ",\"version\":%u,\"medium\":", h->version);
		gw_buf_json_str(j, nmbus_medium_name(h->medium));
		gw_buf_printf(j, ",\"medium_code\":%u,", h->medium);
	}
	if (r->primary == 253)
		gw_buf_puts(j, "\"primary\":null,");
	else
		gw_buf_printf(j, "\"primary\":%u,", r->primary);
	gw_buf_puts(j, r->status == NMBUS_STATUS_GARBLED && r->primary == 253 ?
		    "\"secondary\":null,\"mask\":" : "\"secondary\":");
	gw_buf_json_str(j, sec);
	gw_buf_printf(j, ",\"baud\":%u", r->baud);
	if (r->has_fabrication)
		gw_buf_printf(j, ",\"fabrication\":\"%08X\"",
			      (unsigned int)r->fabrication);
	if (r->status == NMBUS_STATUS_GARBLED)
		gw_buf_puts(j, ",\"collision\":true");
	if (r->status == NMBUS_STATUS_GARBLED && r->primary == 253)
		gw_buf_printf(j, ",\"selections\":%lu", r->xfers);
	gw_buf_puts(j, "}");
	return gw_stopping ? 1 : 0;
}

/* One scan at the port's rate, as mbus-scan does it; 0 or -errno. */
static int scan_once(struct gw_bus_rt *b, enum gw_scan_mode mode,
		     unsigned int first, unsigned int last,
		     struct scan_out *so)
{
	struct nmbus_scan scan = { .retries = 0, .read_retries = 1,
				   .cb = on_found, .arg = so };
	int rc;

	if (mode != GW_SCAN_PRIMARY) {
		rc = nmbus_scan_secondary(b->dev, NULL, &scan);
		if (rc < 0)
			return rc;
		if (mode == GW_SCAN_SECONDARY ||
		    (scan.found && !scan.collisions))
			return 0;
	}
	rc = nmbus_scan_primary(b->dev, first, last, &scan);
	return rc < 0 ? rc : 0;
}

static void run_scan(struct gw_bus_rt *b, struct gw_job *job)
{
	static const char *const modes[] = { "primary", "secondary", "auto" };
	enum gw_scan_mode mode = job ? job->mode : GW_SCAN_PRIMARY;
	unsigned int first = job ? job->first : 0, last = job ? job->last : 250;
	struct gw_buf j;
	struct scan_out *so = calloc(1, sizeof(*so));
	uint64_t t0 = gw_now_us();
	const char *status = "ok";
	char ts[32], *text;
	int rc;

	if (!so || !port_open(b)) {
		if (job)
			gw_job_finish(b->gw, job, 503,
				      gw_error_json(503, "bus %s: the port is gone",
						b->cfg.name));
		free(so);
		return;
	}
	so->j = &j;
	gw_log("bus %s: %s scan%s", b->cfg.name, modes[mode],
	       job && job->all_bauds ? " at every rate" : "");
	gw_utc_now(ts, sizeof(ts));
	gw_buf_init(&j);
	gw_buf_puts(&j, "{\"bus\":");
	gw_buf_json_str(&j, b->cfg.name);
	gw_buf_printf(&j, ",\"timestamp\":\"%s\",\"mode\":\"%s\",\"found\":[",
		      ts, modes[mode]);
	if (job && job->all_bauds) {
		for (size_t i = 0; i < sizeof(auto_rates) / sizeof(auto_rates[0]) &&
		     !gw_stopping; i++) {
			rc = set_baud(b, auto_rates[i]);
			if (!rc)
				rc = scan_once(b, mode, first, last, so);
			if (rc)
				status = strerror(-rc);
		}
	} else {
		rc = set_baud(b, b->bus_baud);
		if (!rc)
			rc = scan_once(b, mode, first, last, so);
		if (rc)
			status = strerror(-rc);
	}
	if (b->dev)
		set_baud(b, b->bus_baud);
	gw_buf_printf(&j, "],\"status\":\"%s\",\"seconds\":%.1f}", status,
		      (double)(gw_now_us() - t0) / 1e6);
	gw_log("bus %s: scan found %u meters", b->cfg.name, so->n);
	free(so);
	text = gw_buf_take(&j);
	if (job)
		gw_job_finish(b->gw, job, 200, text ? strdup(text) : NULL);
	if (text)
		gw_outbox_push(&b->gw->out, GW_MSG_SCAN_DONE,
			       topic_of(b, NULL, "scan"), text, false);
}

/* ---- the schedule ------------------------------------------------------------------ */

/* Bus time of one readout before one was measured (the bus bound). */
static uint64_t estimate_us(const struct gw_bus_rt *b,
			    const struct gw_meter_rt *m)
{
	unsigned int baud = m->cfg.baud > GW_BAUD_AUTO ? m->cfg.baud :
		m->cfg.profile && m->cfg.profile->baud ? m->cfg.profile->baud :
		b->bus_baud ? b->bus_baud : 2400;
	unsigned int wake = m->cfg.profile ? m->cfg.profile->wakeup_bytes : 0;
	uint64_t bits = (5 + 100 + wake) * 11ull + 33;	/* REQ, ~100 B reply */

	if (m->last_bus_us)
		return m->last_bus_us;
	return bits * 1000000ull / baud +
	       (m->cfg.profile ? m->cfg.profile->wakeup_delay_ms * 1000ull : 0);
}

static void update_load(struct gw_bus_rt *b, bool log_it)
{
	double load = 0;
	uint64_t cycle = 0;

	for (unsigned int i = 0; i < b->n_meters; i++) {
		uint64_t t = estimate_us(b, &b->meters[i]);

		cycle += t;
		load += (double)t / (b->meters[i].cfg.interval_ms * 1000.0);
	}
	if (log_it && load > 1.0)
		gw_log("bus %s: %u meters need %.0f%% of the bus time at their intervals: they cannot all be read in time; each is read in turn, every %.1f s at best",
		       b->cfg.name, b->n_meters, load * 100, cycle / 1e6);
	else if (log_it && b->n_meters)
		gw_log("bus %s: %u meters, about %.0f%% of the bus time",
		       b->cfg.name, b->n_meters, load * 100);
	b->load = load;
	b->cycle_us = cycle;
}

static void adopt_meters(struct gw_bus_rt *b)
{
	struct gw_meter_rt *nm = calloc(b->n_pending ? b->n_pending : 1,
					sizeof(*nm));
	uint64_t now = gw_now_us();

	if (!nm) {
		gw_log("bus %s: out of memory on reload", b->cfg.name);
		return;
	}
	for (unsigned int i = 0; i < b->n_pending; i++) {
		nm[i].cfg = b->pending[i];
		nm[i].next_due_us = now;
		for (unsigned int j = 0; j < b->n_meters; j++) {
			struct gw_meter_rt *old = &b->meters[j];

			if (strcmp(old->cfg.name, nm[i].cfg.name) ||
			    strcmp(old->cfg.address, nm[i].cfg.address))
				continue;
			/* the same meter: keep what was learnt */
			nm[i] = *old;
			nm[i].cfg = b->pending[i];
			if (old->last_start_us)
				nm[i].next_due_us = old->last_start_us +
					nm[i].cfg.interval_ms * 1000ull;
			break;
		}
		if (!nm[i].last_start_us)
			state_load(b, &nm[i]);
	}
	free(b->meters);
	free(b->pending);
	b->meters = nm;
	b->n_meters = b->n_pending;
	b->pending = NULL;
	b->n_pending = 0;
	b->reload = false;
	drop_orphans(b);
	update_load(b, true);
}

static bool may_read(const struct gw_meter_rt *m, uint64_t now)
{
	return !m->last_start_us || !m->cfg.min_interval_ms ||
	       now >= m->last_start_us + m->cfg.min_interval_ms * 1000ull;
}

/* The meter to read next and when; call with the lock held. */
static struct gw_meter_rt *next_meter(struct gw_bus_rt *b, uint64_t *due)
{
	struct gw_meter_rt *best = NULL;
	uint64_t now = gw_now_us();

	*due = UINT64_MAX;
	for (unsigned int i = 0; i < b->n_meters; i++) {
		struct gw_meter_rt *m = &b->meters[i];
		uint64_t d = m->next_due_us;

		if (m->read_now)
			d = may_read(m, now) ? 0 :
				m->last_start_us + m->cfg.min_interval_ms * 1000ull;
		if (d < *due) {
			*due = d;
			best = m;
		}
	}
	return best;
}

static void schedule_after(struct gw_meter_rt *m, uint64_t start, bool ok)
{
	uint64_t iv = m->cfg.interval_ms * 1000ull;

	if (ok) {
		m->fails = 0;
	} else {
		unsigned int shift = m->fails > 0 ? m->fails - 1 : 0;

		if (shift > BACKOFF_MAX_SHIFT)
			shift = BACKOFF_MAX_SHIFT;
		iv <<= shift;
		if (iv > GW_INTERVAL_MAX_MS * 1000ull &&
		    m->cfg.interval_ms * 1000ull < GW_INTERVAL_MAX_MS * 1000ull)
			iv = GW_INTERVAL_MAX_MS * 1000ull;
	}
	m->next_due_us = start + iv;
}

static void wait_until(struct gw_bus_rt *b, uint64_t due)
{
	struct timespec ts;
	uint64_t now = gw_now_us();

	if (due > now + 1000000ull)
		due = now + 1000000ull;	/* port retries, stats, reloads */
	ts.tv_sec = (time_t)(due / 1000000ull);
	ts.tv_nsec = (long)(due % 1000000ull) * 1000;
	pthread_cond_timedwait(&b->cond, &b->lock, &ts);
}

static void *bus_thread(void *arg)
{
	struct gw_bus_rt *b = arg;
	struct gw_reading *r = calloc(1, sizeof(*r));
	const unsigned int stats_us = b->gw->cfg->stats_interval_s * 1000000u;

	if (!r) {
		gw_log("bus %s: out of memory", b->cfg.name);
		return NULL;
	}
	port_open(b);
	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct gw_meter_rt *m, copy;
		uint64_t due, now, start;
		bool was_online;
		char *state;

		if (b->reload)
			adopt_meters(b);
		if (b->stop)
			break;
		if (b->scan || b->scanning) {
			struct gw_job *job = take_scan(b);

			b->scan = false;
			b->scanning = true;
			pthread_mutex_unlock(&b->lock);
			run_scan(b, job);
			pthread_mutex_lock(&b->lock);
			b->scanning = false;
			continue;
		}
		now = gw_now_us();
		if (now >= b->next_stats_us) {
			b->next_stats_us = now + stats_us;
			pthread_mutex_unlock(&b->lock);
			if (!b->dev)
				port_open(b);
			publish_stats(b);
			pthread_mutex_lock(&b->lock);
			continue;
		}
		m = next_meter(b, &due);
		if (!m || due > now) {
			wait_until(b, m && due < b->next_stats_us ? due :
				   b->next_stats_us);
			continue;
		}
		/* Read a copy: SIGHUP may replace the list meanwhile. */
		start = now;
		if (!m->read_now && now > m->next_due_us + 1000000ull) {
			uint64_t late = now - m->next_due_us;

			m->late++;
			b->late++;
			if (late > m->max_late_us)
				m->max_late_us = late;
			if (late > b->max_late_us)
				b->max_late_us = late;
		}
		m->read_now = false;
		copy = *m;
		pthread_mutex_unlock(&b->lock);

		memset(r, 0, offsetof(struct gw_reading, telegrams));
		gw_buf_free(&r->telegrams);
		r->n_telegrams = 0;
		read_meter(b, &copy, r);
		was_online = copy.online;
		copy.reads++;
		copy.last_start_us = start;
		if (r->ok) {
			copy.online = true;
			copy.last_bus_us = r->bus_us;
		} else if (!gw_stopping) {
			copy.failures++;
			copy.fails++;
			copy.online = false;
		}
		state = NULL;
		if (!gw_stopping || r->ok)
			state = publish_reading(b, &copy, r, was_online);
		schedule_after(&copy, start, r->ok);

		pthread_mutex_lock(&b->lock);
		b->reads++;
		if (!r->ok)
			b->failures++;
		/* write back, unless a reload replaced the meter */
		for (unsigned int i = 0; i < b->n_meters; i++) {
			struct gw_meter_rt *cur = &b->meters[i];

			if (strcmp(cur->cfg.name, copy.cfg.name))
				continue;
			copy.cfg = cur->cfg;
			copy.read_now = cur->read_now;
			*cur = copy;
		}
		if (state) {
			finish_reads(b, copy.cfg.name, start, state, 0, NULL);
			snap_update(b, &copy, r, state);
			atomic_fetch_add(&b->gw->readouts, 1);
		}
		update_load(b, false);
		if (gw_stopping)
			break;
	}
	pthread_mutex_unlock(&b->lock);
	gw_buf_free(&r->telegrams);
	free(r);
	if (b->dev) {
		set_baud(b, b->bus_baud);
		port_close(b);
	}
	return NULL;
}

/* ---- called from the main thread ------------------------------------------------------- */

int gw_bus_start(struct gw_bus_rt *b, struct gw_ctx *gw,
		 const struct gw_bus_cfg *cfg)
{
	pthread_condattr_t ca;
	int rc;

	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	b->gw = gw;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	gw_bus_set_meters(b, gw->cfg);
	b->next_stats_us = gw_now_us() + 2000000ull;
	rc = pthread_create(&b->thread, NULL, bus_thread, b);
	if (rc) {
		errno = rc;
		return -1;
	}
	b->started = true;
	return 0;
}

void gw_bus_set_meters(struct gw_bus_rt *b, const struct gw_config *cfg)
{
	struct gw_meter_cfg *list;
	unsigned int n = 0;

	list = calloc(cfg->n_meters ? cfg->n_meters : 1, sizeof(*list));
	if (!list) {
		gw_log("bus %s: out of memory", b->cfg.name);
		return;
	}
	for (unsigned int i = 0; i < cfg->n_meters; i++)
		if (!strcmp(cfg->meters[i].bus, b->cfg.name))
			list[n++] = cfg->meters[i];
	pthread_mutex_lock(&b->lock);
	free(b->pending);
	b->pending = list;
	b->n_pending = n;
	b->reload = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void gw_bus_stop(struct gw_bus_rt *b)
{
	if (!b->started)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	b->started = false;
	while (b->jobs) {
		struct gw_job *j = b->jobs;

		b->jobs = j->next;
		gw_job_free(j);
	}
	for (unsigned int i = 0; i < b->n_snaps; i++)
		snap_clear(&b->snaps[i]);
	free(b->snaps);
	b->snaps = NULL;
	b->n_snaps = 0;
	free(b->meters);
	free(b->pending);
	b->meters = NULL;
	b->pending = NULL;
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

bool gw_bus_read_now(struct gw_bus_rt *b, const char *what)
{
	size_t bl = strlen(b->cfg.name);
	bool any = false;

	if (!strncmp(what, b->cfg.name, bl) && what[bl] == '/')
		what += bl + 1;
	else if (strchr(what, '/'))
		return false;
	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->n_meters; i++) {
		struct gw_meter_rt *m = &b->meters[i];

		if (!*what || !strcmp(what, "all") || !strcmp(what, m->cfg.name)) {
			m->read_now = true;
			any = true;
		}
	}
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return any;
}

void gw_bus_scan(struct gw_bus_rt *b)
{
	pthread_mutex_lock(&b->lock);
	b->scan = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void gw_bus_info(struct gw_bus_rt *b, struct gw_buf *j)
{
	pthread_mutex_lock(&b->lock);
	gw_buf_puts(j, "{\"name\":");
	gw_buf_json_str(j, b->cfg.name);
	gw_buf_puts(j, ",\"port\":");
	gw_buf_json_str(j, b->cfg.port);
	gw_buf_printf(j, ",\"port_ok\":%s", b->port_ok ? "true" : "false");
	if (!b->port_ok && b->port_error[0]) {
		gw_buf_puts(j, ",\"port_error\":");
		gw_buf_json_str(j, b->port_error);
	}
	gw_buf_printf(j, ",\"meters\":%u,\"load\":%.3f,\"overloaded\":%s,\"cycle_ms\":%llu,\"reads\":%llu,\"failures\":%llu,\"late\":%llu,\"max_late_ms\":%llu,\"offline\":[",
		      b->n_meters, b->load, b->load > 1.0 ? "true" : "false",
		      (unsigned long long)(b->cycle_us / 1000),
		      (unsigned long long)b->reads,
		      (unsigned long long)b->failures,
		      (unsigned long long)b->late,
		      (unsigned long long)(b->max_late_us / 1000));
	for (unsigned int i = 0, n = 0; i < b->n_meters; i++) {
		if (b->meters[i].online || !b->meters[i].reads)
			continue;
		gw_buf_puts(j, n++ ? "," : "");
		gw_buf_json_str(j, b->meters[i].cfg.name);
	}
	gw_buf_puts(j, "]}");
	pthread_mutex_unlock(&b->lock);
}
