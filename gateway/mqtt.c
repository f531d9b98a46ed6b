// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-gatewayd MQTT client: libmosquitto driven from the main poll() loop
 *
 * No libmosquitto thread: the main loop polls mosquitto_socket() and
 * calls mosquitto_loop_read/write/misc. Every message (readings,
 * availability, stats) goes through a bounded queue first; while the
 * broker is away the queue keeps the newest messages and drops the oldest
 * (counted, in bridge/info). A QoS 1/2 message leaves the queue when the
 * broker acknowledged it; after a reconnect unacknowledged ones are sent
 * again. Discovery messages are kept apart and sent again on every
 * connect (a broker without persistence forgets retained messages).
 * Reconnects back off from 1 s to 60 s.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mosquitto.h>

#include "mqtt.h"

#define BACKOFF_MIN_US	1000000ull
#define BACKOFF_MAX_US	60000000ull
#define INFLIGHT_MAX	64

static char *topic(const struct gw_mqtt *q, const char *leaf)
{
	struct gw_buf t;

	gw_buf_init(&t);
	gw_buf_printf(&t, "%s/%s", q->cfg->base, leaf);
	return gw_buf_take(&t);
}

/* ---- the queue ------------------------------------------------------------------ */

static struct gw_msg **slot(struct gw_mqtt *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}

static void pop_head(struct gw_mqtt *q)
{
	gw_msg_free(*slot(q, 0));
	*slot(q, 0) = NULL;
	q->head = (q->head + 1) % q->cap;
	q->len--;
	if (q->sent)
		q->sent--;
}

void gw_mqtt_enqueue(struct gw_mqtt *q, struct gw_msg *m)
{
	m->next = NULL;
	m->mid = 0;
	m->done = false;
	if (q->len == q->cap) {
		if (!q->dropped)
			gw_log("mqtt: queue full (%zu messages): dropping the oldest",
			       q->cap);
		q->dropped++;
		pop_head(q);
	}
	*slot(q, q->len) = m;
	q->len++;
}

static void keep_discovery(struct gw_mqtt *q, struct gw_msg *m)
{
	for (struct gw_msg **p = &q->discovery; *p; p = &(*p)->next) {
		if (strcmp((*p)->topic, m->topic))
			continue;
		m->next = (*p)->next;
		gw_msg_free(*p);
		*p = m;
		return;
	}
	m->next = q->discovery;
	q->discovery = m;
}

static void publish_discovery(struct gw_mqtt *q)
{
	for (struct gw_msg *m = q->discovery; m; m = m->next)
		mosquitto_publish(q->mosq, NULL, m->topic,
				  (int)strlen(m->payload), m->payload,
				  q->cfg->qos, true);
}

void gw_mqtt_submit(struct gw_mqtt *q, struct gw_msg *m)
{
	if (m->kind == GW_MSG_DISCOVERY) {
		struct gw_msg *copy = calloc(1, sizeof(*copy));

		if (q->connected)
			mosquitto_publish(q->mosq, NULL, m->topic,
					  (int)strlen(m->payload), m->payload,
					  q->cfg->qos, true);
		if (copy) {
			*copy = *m;
			free(m);
			keep_discovery(q, copy);
		} else {
			gw_msg_free(m);
		}
		return;
	}
	gw_mqtt_enqueue(q, m);
}

/* Send what waits, as far as the in-flight window allows. */
void gw_mqtt_flush(struct gw_mqtt *q)
{
	while (q->connected && q->sent < q->len) {
		struct gw_msg *m = *slot(q, q->sent);
		int rc, mid = 0;

		if (q->cfg->qos && q->sent >= INFLIGHT_MAX)
			break;
		rc = mosquitto_publish(q->mosq, &mid, m->topic,
				       (int)strlen(m->payload), m->payload,
				       q->cfg->qos, m->retain);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (rc != MOSQ_ERR_NO_CONN)
				gw_log("mqtt: publish %s: %s", m->topic,
				       mosquitto_strerror(rc));
			break;
		}
		q->published++;
		if (!q->cfg->qos) {
			/* QoS 0: gone once handed to the socket */
			q->sent++;
			while (q->len && q->sent)
				pop_head(q);
			continue;
		}
		m->mid = mid;
		q->sent++;
	}
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct gw_mqtt *q = arg;

	(void)mosq;
	for (size_t i = 0; i < q->sent; i++) {
		struct gw_msg *m = *slot(q, i);

		if (m->mid == mid) {
			m->done = true;
			break;
		}
	}
	while (q->len && q->sent && (*slot(q, 0))->done)
		pop_head(q);
	if (q->stop_mid && mid == q->stop_mid)
		q->stop_acked = true;
}

/* ---- connection -------------------------------------------------------------------- */

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct gw_mqtt *q = arg;
	char *t;

	if (rc) {
		gw_log("mqtt: %s:%u refused the connection: %s", q->cfg->host,
		       q->cfg->port, mosquitto_connack_string(rc));
		q->connected = false;
		return;
	}
	gw_log("mqtt: connected to %s:%u", q->cfg->host, q->cfg->port);
	q->connected = true;
	q->backoff_us = 0;
	q->connects++;
	t = topic(q, "command/#");
	if (t)
		mosquitto_subscribe(mosq, NULL, t, q->cfg->qos);
	free(t);
	if (q->ha_status_topic[0])
		mosquitto_subscribe(mosq, NULL, q->ha_status_topic, 0);
	t = topic(q, "bridge/state");
	if (t)
		mosquitto_publish(mosq, NULL, t, 6, "online", q->cfg->qos, true);
	free(t);
	/* unacknowledged messages of the last connection go again */
	for (size_t i = 0; i < q->sent; i++)
		(*slot(q, i))->mid = 0;
	q->sent = 0;
	if (q->on_connected)
		q->on_connected(q->cb_arg);
	publish_discovery(q);
	gw_mqtt_flush(q);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct gw_mqtt *q = arg;

	(void)mosq;
	if (q->connected && !q->stopping)
		gw_log("mqtt: connection to %s:%u lost (%s); %zu messages queued",
		       q->cfg->host, q->cfg->port,
		       rc ? mosquitto_strerror(rc) : "closed", q->len);
	q->connected = false;
	q->sock_dead = true;
}

static void on_message(struct mosquitto *mosq, void *arg,
		       const struct mosquitto_message *msg)
{
	struct gw_mqtt *q = arg;
	char payload[256];
	size_t n = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	(void)mosq;
	if (n >= sizeof(payload))
		n = sizeof(payload) - 1;
	memcpy(payload, msg->payload ? msg->payload : "", n);
	payload[n] = '\0';
	if (q->ha_status_topic[0] && !strcmp(msg->topic, q->ha_status_topic)) {
		if (!strcmp(payload, "online"))
			publish_discovery(q);
		return;
	}
	if (q->on_command)
		q->on_command(q->cb_arg, msg->topic + strlen(q->cfg->base) + 1,
			      payload);
}

static char *read_password(const char *path)
{
	char line[256];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp) {
		gw_log("mqtt: password file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strdup(line);
}

static void try_connect(struct gw_mqtt *q)
{
	int rc;

	q->sock_dead = false;
	if (q->connects || q->attempts)
		rc = mosquitto_reconnect_async(q->mosq);
	else
		rc = mosquitto_connect_async(q->mosq, q->cfg->host,
					     (int)q->cfg->port,
					     (int)q->cfg->keepalive);
	q->attempts++;
	if (rc == MOSQ_ERR_SUCCESS)
		return;
	if (q->backoff_us == 0 || q->attempts == 1)
		gw_log("mqtt: cannot connect to %s:%u: %s (trying again)",
		       q->cfg->host, q->cfg->port,
		       rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		       mosquitto_strerror(rc));
	q->sock_dead = true;
}

int gw_mqtt_init(struct gw_mqtt *q, const struct gw_mqtt_cfg *cfg,
		 const char *ha_prefix)
{
	char *will;
	int rc;

	memset(q, 0, sizeof(*q));
	q->cfg = cfg;
	q->cap = cfg->queue;
	q->ring = calloc(q->cap, sizeof(*q->ring));
	if (!q->ring)
		return -1;
	if (ha_prefix)
		snprintf(q->ha_status_topic, sizeof(q->ha_status_topic),
			 "%s/status", ha_prefix);
	mosquitto_lib_init();
	q->mosq = mosquitto_new(cfg->client_id, true, q);
	if (!q->mosq)
		return -1;
	mosquitto_connect_callback_set(q->mosq, on_connect);
	mosquitto_disconnect_callback_set(q->mosq, on_disconnect);
	mosquitto_publish_callback_set(q->mosq, on_publish);
	mosquitto_message_callback_set(q->mosq, on_message);
	will = topic(q, "bridge/state");
	if (!will)
		return -1;
	rc = mosquitto_will_set(q->mosq, will, 7, "offline", cfg->qos, true);
	free(will);
	if (rc)
		return -1;
	if (cfg->username[0]) {
		char *pw = cfg->password_file[0] ?
			read_password(cfg->password_file) : NULL;

		rc = mosquitto_username_pw_set(q->mosq, cfg->username, pw);
		free(pw);
		if (rc)
			return -1;
	}
	if (cfg->ca[0]) {
		rc = mosquitto_tls_set(q->mosq, cfg->ca, NULL,
				       cfg->cert[0] ? cfg->cert : NULL,
				       cfg->key[0] ? cfg->key : NULL, NULL);
		if (rc) {
			gw_log("mqtt: TLS: %s", mosquitto_strerror(rc));
			return -1;
		}
	}
	try_connect(q);
	if (q->sock_dead)
		q->next_connect_us = gw_now_us() + BACKOFF_MIN_US;
	return 0;
}

int gw_mqtt_prepare(struct gw_mqtt *q, struct pollfd *pfd, uint64_t now,
		    int *timeout_ms)
{
	int fd = mosquitto_socket(q->mosq);

	if (fd < 0 || q->sock_dead) {
		if (!q->next_connect_us) {
			q->backoff_us = q->backoff_us ? q->backoff_us * 2 :
				BACKOFF_MIN_US;
			if (q->backoff_us > BACKOFF_MAX_US)
				q->backoff_us = BACKOFF_MAX_US;
			q->next_connect_us = now + q->backoff_us;
		}
		if (now >= q->next_connect_us) {
			q->next_connect_us = 0;
			try_connect(q);
			fd = mosquitto_socket(q->mosq);
		}
	}
	if (fd < 0 || q->sock_dead) {
		if (q->next_connect_us > now) {
			uint64_t ms = (q->next_connect_us - now) / 1000 + 1;

			if ((int)ms < *timeout_ms)
				*timeout_ms = (int)ms;
		}
		return 0;
	}
	pfd->fd = fd;
	pfd->events = POLLIN;
	if (mosquitto_want_write(q->mosq))
		pfd->events |= POLLOUT;
	return 1;
}

void gw_mqtt_dispatch(struct gw_mqtt *q, const struct pollfd *pfd, int n)
{
	int rc = MOSQ_ERR_SUCCESS;

	if (n && pfd->revents & (POLLIN | POLLHUP | POLLERR))
		rc = mosquitto_loop_read(q->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && n && pfd->revents & POLLOUT &&
	    !q->sock_dead)
		rc = mosquitto_loop_write(q->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS && mosquitto_socket(q->mosq) < 0) {
		if (q->connected && !q->stopping)
			gw_log("mqtt: connection to %s:%u lost (%s); %zu messages queued",
			       q->cfg->host, q->cfg->port,
			       mosquitto_strerror(rc), q->len);
		q->connected = false;
		q->sock_dead = true;
	}
	if (mosquitto_socket(q->mosq) >= 0 && !q->sock_dead)
		mosquitto_loop_misc(q->mosq);
	gw_mqtt_flush(q);
	if (q->sock_dead && q->connected)
		q->connected = false;
}

void gw_mqtt_publish_now(struct gw_mqtt *q, const char *leaf,
			 const char *payload, bool retain)
{
	char *t = topic(q, leaf);

	if (t && q->connected)
		mosquitto_publish(q->mosq, NULL, t, (int)strlen(payload),
				  payload, q->cfg->qos, retain);
	free(t);
}

void gw_mqtt_shutdown(struct gw_mqtt *q)
{
	char *t = topic(q, "bridge/state");
	uint64_t end = gw_now_us() + 2000000ull;

	q->stopping = true;
	if (t && q->connected) {
		/* let queued messages and "offline" reach the broker */
		gw_mqtt_flush(q);
		mosquitto_publish(q->mosq, &q->stop_mid, t, 7, "offline",
				  q->cfg->qos, true);
		while (q->connected && gw_now_us() < end &&
		       (q->cfg->qos ? !q->stop_acked : mosquitto_want_write(q->mosq))) {
			struct pollfd pfd = { .fd = mosquitto_socket(q->mosq),
					      .events = POLLIN };

			if (mosquitto_want_write(q->mosq))
				pfd.events |= POLLOUT;
			if (poll(&pfd, 1, 100) > 0)
				gw_mqtt_dispatch(q, &pfd, 1);
		}
		mosquitto_disconnect(q->mosq);
	}
	free(t);
	mosquitto_destroy(q->mosq);
	while (q->len)
		pop_head(q);
	free(q->ring);
	while (q->discovery) {
		struct gw_msg *m = q->discovery;

		q->discovery = m->next;
		gw_msg_free(m);
	}
	mosquitto_lib_cleanup();
}
