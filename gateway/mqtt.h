/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-gatewayd MQTT client (mqtt.c); used by the main thread only.
 */
#ifndef GW_MQTT_H
#define GW_MQTT_H

#include <poll.h>

#include "gw.h"

struct mosquitto;

struct gw_mqtt {
	const struct gw_mqtt_cfg *cfg;
	struct mosquitto *mosq;
	bool connected;
	bool sock_dead;			/* no socket: reconnect when due */
	bool stopping;
	uint64_t backoff_us, next_connect_us;
	unsigned long attempts, connects;
	/* bounded queue, oldest first: [0, sent) handed to the broker */
	struct gw_msg **ring;
	size_t cap, head, len, sent;
	uint64_t dropped, published;
	struct gw_msg *discovery;	/* kept for every connect */
	char ha_status_topic[GW_NAME_MAX + 8];
	int stop_mid;
	bool stop_acked;
	/* hooks of the main program */
	void (*on_connected)(void *arg);
	void (*on_command)(void *arg, const char *topic, const char *payload);
	void *cb_arg;
};

int gw_mqtt_init(struct gw_mqtt *q, const struct gw_mqtt_cfg *cfg,
		 const char *ha_prefix);
void gw_mqtt_enqueue(struct gw_mqtt *q, struct gw_msg *m);
/* A message from the outbox: queued, or kept (discovery). */
void gw_mqtt_submit(struct gw_mqtt *q, struct gw_msg *m);
void gw_mqtt_flush(struct gw_mqtt *q);
/* poll() source: fills @pfd, returns how many (0 or 1); lowers @timeout_ms. */
int gw_mqtt_prepare(struct gw_mqtt *q, struct pollfd *pfd, uint64_t now,
		    int *timeout_ms);
void gw_mqtt_dispatch(struct gw_mqtt *q, const struct pollfd *pfd, int n);
/* Publish BASE/@leaf now if connected (bridge/info), not queued. */
void gw_mqtt_publish_now(struct gw_mqtt *q, const char *leaf,
			 const char *payload, bool retain);
/* "offline", flush for up to 2 s, disconnect, free. */
void gw_mqtt_shutdown(struct gw_mqtt *q);

#endif /* GW_MQTT_H */
