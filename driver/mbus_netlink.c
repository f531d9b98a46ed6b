// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: the generic netlink family "mbus"
 *
 * GET_PORT reads one port or dumps every port: names, baud, the defaults
 * new files of /dev/mbusN start with, every counter. SET_PORT (with
 * CAP_NET_ADMIN) changes the baud and those defaults. The multicast group
 * "events" (CAP_NET_ADMIN to join) tells monitors such as `mbusctl monitor`
 * what happens on each bus: ports coming and going, frames sent and
 * received, timeouts, garbled windows, breaks and line errors.
 *
 * The receive path must neither sleep nor allocate, so bus events go
 * through a small ring per port, filled under the port's spinlock only
 * while someone listens, and sent by a work item. When the ring is full
 * events are dropped and counted (events_dropped).
 *
 * Network namespaces: a port belongs to the namespace of the process that
 * attached the line (TIOCSETD). GET_PORT, SET_PORT and the dump see only
 * the ports of the requester's namespace, and a port's events go only to
 * monitors there: a gateway in a container sees the buses it attached and
 * no others, and the host's ports stay out of the container.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/ktime.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "compat.h"
#include "mbus.h"

/* Longest "mbusN" accepted in MBUS_ATTR_DEV_NAME. */
#define MBUS_NL_NAME_MAX	15

enum mbus_nl_mcgrp {
	MBUS_NL_MCGRP_EVENTS,
};

static const struct genl_multicast_group mbus_nl_mcgrps[] = {
	/* Frames carry meter readings: listening is for administrators. */
	[MBUS_NL_MCGRP_EVENTS] = {
		.name = MBUS_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static const struct nla_policy mbus_nl_get_policy[MBUS_ATTR_DEV_NAME + 1] = {
	[MBUS_ATTR_INDEX] = { .type = NLA_U32 },
	[MBUS_ATTR_DEV_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBUS_NL_NAME_MAX },
};

static const struct nla_policy mbus_nl_set_policy[MBUS_ATTR_FLAGS + 1] = {
	[MBUS_ATTR_INDEX] = { .type = NLA_U32 },
	[MBUS_ATTR_DEV_NAME] = { .type = NLA_NUL_STRING,
				 .len = MBUS_NL_NAME_MAX },
	[MBUS_ATTR_BAUD] = { .type = NLA_U32 },
	[MBUS_ATTR_RESPONSE_TIMEOUT_US] = { .type = NLA_U32 },
	[MBUS_ATTR_CHAR_TIMEOUT_US] = { .type = NLA_U32 },
	[MBUS_ATTR_RETRIES] = NLA_POLICY_MAX(NLA_U8, MBUS_RETRIES_MAX),
	[MBUS_ATTR_WAKEUP_BYTES] = NLA_POLICY_MAX(NLA_U16,
						  MBUS_WAKEUP_BYTES_MAX),
	[MBUS_ATTR_WAKEUP_DELAY_US] = { .type = NLA_U32 },
	[MBUS_ATTR_FLAGS] = NLA_POLICY_MASK(NLA_U32, MBUS_PARAM_FLAGS_ALL),
};

static struct genl_family mbus_nl_family;

/* Monitors of @port: only in its namespace. */
static bool mbus_nl_listening(struct mbus_port *port)
{
	return genl_has_listeners(&mbus_nl_family, port->net,
				  MBUS_NL_MCGRP_EVENTS) > 0;
}

/* ---- GET_PORT and SET_PORT ------------------------------------------- */

static int mbus_nl_put_stats(struct sk_buff *skb, const struct mbus_stats *st)
{
	const u64 *counter = &st->tx_frames;
	struct nlattr *nest;
	int i;

	/* MBUS_STATS_TX_FRAMES + i is the i-th counter of the struct. */
	BUILD_BUG_ON(offsetof(struct mbus_stats, reserved) !=
		     (MBUS_STATS_MAX - MBUS_STATS_TX_FRAMES + 1) * sizeof(u64));

	nest = nla_nest_start(skb, MBUS_ATTR_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i <= MBUS_STATS_MAX - MBUS_STATS_TX_FRAMES; i++) {
		if (nla_put_u64_64bit(skb, MBUS_STATS_TX_FRAMES + i, counter[i],
				      MBUS_STATS_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int mbus_nl_put_params(struct sk_buff *skb, const struct mbus_params *p)
{
	if (nla_put_u32(skb, MBUS_ATTR_RESPONSE_TIMEOUT_US,
			p->response_timeout_us) ||
	    nla_put_u32(skb, MBUS_ATTR_CHAR_TIMEOUT_US, p->char_timeout_us) ||
	    nla_put_u8(skb, MBUS_ATTR_RETRIES, p->retries) ||
	    nla_put_u16(skb, MBUS_ATTR_WAKEUP_BYTES, p->wakeup_bytes) ||
	    nla_put_u32(skb, MBUS_ATTR_WAKEUP_DELAY_US, p->wakeup_delay_us) ||
	    nla_put_u32(skb, MBUS_ATTR_FLAGS, p->flags))
		return -EMSGSIZE;
	return 0;
}

/* INDEX, DEV_NAME and TTY_NAME: what names a port in every message. */
static int mbus_nl_put_names(struct sk_buff *skb, struct mbus_port *port)
{
	char name[MBUS_NL_NAME_MAX + 1];

	snprintf(name, sizeof(name), "mbus%d", port->index);
	if (nla_put_u32(skb, MBUS_ATTR_INDEX, port->index) ||
	    nla_put_string(skb, MBUS_ATTR_DEV_NAME, name) ||
	    nla_put_string(skb, MBUS_ATTR_TTY_NAME, port->tty_name))
		return -EMSGSIZE;
	return 0;
}

/* One GET_PORT message describing @port; @cb for a dump, else NULL. */
static int mbus_nl_fill_port(struct sk_buff *skb, struct mbus_port *port,
			     u32 portid, u32 seq, int flags,
			     struct netlink_callback *cb)
{
	struct mbus_params params;
	struct mbus_stats st;
	void *hdr;
	u32 baud;

	spin_lock(&port->lock);
	params = port->defaults;
	st = port->stats;
	baud = port->baud;
	spin_unlock(&port->lock);

	hdr = genlmsg_put(skb, portid, seq, &mbus_nl_family, flags,
			  MBUS_CMD_GET_PORT);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (mbus_nl_put_names(skb, port) ||
	    nla_put_u32(skb, MBUS_ATTR_BAUD, baud) ||
	    mbus_nl_put_params(skb, &params) ||
	    mbus_nl_put_stats(skb, &st)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* "mbusN" to N; -EINVAL for anything else. */
static int mbus_nl_parse_name(const char *name, u32 *index)
{
	if (strncmp(name, "mbus", 4) || !isdigit(name[4]))
		return -EINVAL;
	return kstrtou32(name + 4, 10, index);
}

/*
 * The port a request names by MBUS_ATTR_INDEX or MBUS_ATTR_DEV_NAME (both:
 * they must agree), referenced. ERR_PTR(-EINVAL) if it names none,
 * ERR_PTR(-ENODEV) if there is no such port.
 */
static struct mbus_port *mbus_nl_lookup(struct genl_info *info)
{
	struct nlattr *index_attr = info->attrs[MBUS_ATTR_INDEX];
	struct nlattr *name_attr = info->attrs[MBUS_ATTR_DEV_NAME];
	struct mbus_port *port;
	u32 index = 0, named;

	if (!index_attr && !name_attr) {
		GENL_REQ_ATTR_CHECK(info, MBUS_ATTR_INDEX);
		return ERR_PTR(-EINVAL);
	}
	if (index_attr)
		index = nla_get_u32(index_attr);
	if (name_attr) {
		if (mbus_nl_parse_name(nla_data(name_attr), &named) ||
		    (index_attr && named != index)) {
			NL_SET_ERR_MSG_ATTR(info->extack, name_attr,
					    "not the name of the port");
			return ERR_PTR(-EINVAL);
		}
		index = named;
	}
	port = mbus_port_get(index);
	/* A port of another namespace does not exist in this one. */
	if (port && !net_eq(port->net, genl_info_net(info))) {
		mbus_port_put(port);
		port = NULL;
	}
	if (!port) {
		NL_SET_ERR_MSG_ATTR(info->extack, index_attr ?: name_attr,
				    "no such port");
		return ERR_PTR(-ENODEV);
	}
	return port;
}

static int mbus_nl_get_port_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mbus_port *port;
	struct sk_buff *msg;
	int err;

	port = mbus_nl_lookup(info);
	if (IS_ERR(port))
		return PTR_ERR(port);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg) {
		mbus_port_put(port);
		return -ENOMEM;
	}
	err = mbus_nl_fill_port(msg, port, info->snd_portid, info->snd_seq, 0,
				NULL);
	mbus_port_put(port);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

/*
 * The dump resumes at the minor in cb->args[0]. Ports that came or went
 * between two parts mark the messages NLM_F_DUMP_INTR (cb->seq).
 */
static int mbus_nl_get_port_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	unsigned int minor = cb->args[0];
	struct mbus_port *port;
	int err;

	cb->seq = mbus_ports_generation();
	while ((port = mbus_port_get_next(&minor))) {
		if (!net_eq(port->net, sock_net(cb->skb->sk))) {
			mbus_port_put(port);
			minor++;
			continue;
		}
		err = mbus_nl_fill_port(skb, port, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI, cb);
		mbus_port_put(port);
		if (err)
			break;
		minor++;
	}
	cb->args[0] = minor;
	return skb->len;
}

/* Overwrite the members of @p that the request carries. */
static void mbus_nl_get_params(struct nlattr **tb, struct mbus_params *p)
{
	if (tb[MBUS_ATTR_RESPONSE_TIMEOUT_US])
		p->response_timeout_us =
			nla_get_u32(tb[MBUS_ATTR_RESPONSE_TIMEOUT_US]);
	if (tb[MBUS_ATTR_CHAR_TIMEOUT_US])
		p->char_timeout_us = nla_get_u32(tb[MBUS_ATTR_CHAR_TIMEOUT_US]);
	if (tb[MBUS_ATTR_RETRIES])
		p->retries = nla_get_u8(tb[MBUS_ATTR_RETRIES]);
	if (tb[MBUS_ATTR_WAKEUP_BYTES])
		p->wakeup_bytes = nla_get_u16(tb[MBUS_ATTR_WAKEUP_BYTES]);
	if (tb[MBUS_ATTR_WAKEUP_DELAY_US])
		p->wakeup_delay_us = nla_get_u32(tb[MBUS_ATTR_WAKEUP_DELAY_US]);
	if (tb[MBUS_ATTR_FLAGS])
		p->flags = nla_get_u32(tb[MBUS_ATTR_FLAGS]);
}

/*
 * As MBUS_IOC_SET_BAUD, but never waits for the bus: a genetlink handler
 * runs with the family table's cb_lock held for reading (a family
 * registering anywhere waits for it). A bus in use gives -EBUSY.
 */
static int mbus_nl_set_baud(struct mbus_port *port, u32 baud)
{
	int err;

	if (!mutex_trylock(&port->bus_lock))
		return -EBUSY;
	if (mbus_port_dead(port))
		err = -ENODEV;
	else
		err = mbus_line_set_baud(port, baud);
	mutex_unlock(&port->bus_lock);
	return err;
}

/*
 * SET_PORT runs without genl_mutex (parallel_ops) and never sleeps on the
 * bus. Checks everything before changing anything.
 */
static int mbus_nl_set_port_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **tb = info->attrs;
	struct mbus_params p;
	struct mbus_port *port;
	u32 baud = 0;
	int err;

	port = mbus_nl_lookup(info);
	if (IS_ERR(port))
		return PTR_ERR(port);

	spin_lock(&port->lock);
	p = port->defaults;
	spin_unlock(&port->lock);
	mbus_nl_get_params(tb, &p);
	/* Each member is checked alone, so a racing SET cannot undo this. */
	err = mbus_params_check(&p);
	if (err) {
		NL_SET_ERR_MSG(info->extack, "parameter out of range");
		goto out;
	}
	if (tb[MBUS_ATTR_BAUD]) {
		baud = nla_get_u32(tb[MBUS_ATTR_BAUD]);
		if (!mbus_baud_valid(baud)) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[MBUS_ATTR_BAUD],
					    "not an M-Bus baud rate");
			err = -EINVAL;
			goto out;
		}
		err = mbus_nl_set_baud(port, baud);
		if (err == -EBUSY)
			NL_SET_ERR_MSG(info->extack,
				       "bus in use, try again");
		if (err)
			goto out;
	}
	spin_lock(&port->lock);
	mbus_nl_get_params(tb, &port->defaults);
	spin_unlock(&port->lock);
out:
	mbus_port_put(port);
	return err;
}

static const struct genl_ops mbus_nl_ops[] = {
	{
		.cmd = MBUS_CMD_GET_PORT,
		.doit = mbus_nl_get_port_doit,
		.dumpit = mbus_nl_get_port_dumpit,
		.policy = mbus_nl_get_policy,
		.maxattr = ARRAY_SIZE(mbus_nl_get_policy) - 1,
	},
	{
		.cmd = MBUS_CMD_SET_PORT,
		.flags = GENL_ADMIN_PERM,
		.doit = mbus_nl_set_port_doit,
		.policy = mbus_nl_set_policy,
		.maxattr = ARRAY_SIZE(mbus_nl_set_policy) - 1,
	},
};

/*
 * resv_start_op stays 0: every command validates strictly (unknown
 * attributes, wrong lengths, reserved header bytes are errors).
 */
static struct genl_family mbus_nl_family __ro_after_init = {
	.name = MBUS_GENL_NAME,
	.version = MBUS_GENL_VERSION,
	.module = THIS_MODULE,
	.netnsok = true,
	.parallel_ops = true,
	.ops = mbus_nl_ops,
	.n_ops = ARRAY_SIZE(mbus_nl_ops),
	.mcgrps = mbus_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mbus_nl_mcgrps),
};

/* ---- events ------------------------------------------------------------ */

/* Room an event message needs: monitors' receive buffers count it. */
static size_t mbus_nl_event_size(struct mbus_port *port,
				 const struct mbus_nl_event *ev)
{
	return nla_total_size(sizeof(u32)) +			/* INDEX */
	       nla_total_size(MBUS_NL_NAME_MAX + 1) +		/* DEV_NAME */
	       nla_total_size(sizeof(port->tty_name)) +		/* TTY_NAME */
	       nla_total_size_64bit(sizeof(u64)) +		/* TIMESTAMP_NS */
	       nla_total_size(ev->len) +			/* FRAME */
	       nla_total_size(sizeof(u32));			/* LINE_ERR */
}

/* Multicast one event; -ENOMEM/-EMSGSIZE if it could not be built. */
static int mbus_nl_send(struct mbus_port *port, const struct mbus_nl_event *ev)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(mbus_nl_event_size(port, ev), GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put(skb, 0, 0, &mbus_nl_family, 0, ev->cmd);
	if (!hdr)
		goto nospace;
	if (ev->cmd == MBUS_CMD_PORT_NEW || ev->cmd == MBUS_CMD_PORT_DEL) {
		if (mbus_nl_put_names(skb, port))
			goto nospace;
	} else if (nla_put_u32(skb, MBUS_ATTR_INDEX, port->index)) {
		goto nospace;
	}
	if (nla_put_u64_64bit(skb, MBUS_ATTR_TIMESTAMP_NS, ev->ts,
			      MBUS_ATTR_PAD) ||
	    (ev->len && nla_put(skb, MBUS_ATTR_FRAME, ev->len, ev->data)) ||
	    (ev->line_err && nla_put_u32(skb, MBUS_ATTR_LINE_ERR, ev->line_err)))
		goto nospace;
	genlmsg_end(skb, hdr);
	/* -ESRCH: the last listener left meanwhile. */
	genlmsg_multicast_netns(&mbus_nl_family, port->net, skb, 0,
				MBUS_NL_MCGRP_EVENTS, GFP_KERNEL);
	return 0;

nospace:
	nlmsg_free(skb);
	return -EMSGSIZE;
}

/* Send every event in the ring, oldest first. May sleep. */
static void mbus_nl_drain(struct mbus_port *port)
{
	struct mbus_nl_ring *r = &port->nl_ring;
	struct mbus_nl_event ev;

	for (;;) {
		spin_lock(&port->lock);
		if (!r->count) {
			spin_unlock(&port->lock);
			return;
		}
		ev = r->ev[r->head];
		r->head = (r->head + 1) % MBUS_NL_RING_LEN;
		r->count--;
		spin_unlock(&port->lock);

		if (mbus_nl_send(port, &ev)) {
			spin_lock(&port->lock);
			port->stats.events_dropped++;
			spin_unlock(&port->lock);
		}
	}
}

static void mbus_nl_work(struct work_struct *work)
{
	mbus_nl_drain(container_of(work, struct mbus_port, nl_work));
}

/**
 * mbus_nl_notify() - queue a bus event for the "events" multicast group
 * @port: the port; the caller holds @port->lock
 * @cmd: MBUS_CMD_FRAME_TX, _FRAME_RX, _TIMEOUT, _GARBLED, _BREAK, _LINE_ERR
 * @data: the frame or bytes that go with it, or NULL
 * @len: their number (at most MBUS_FRAME_MAX are kept)
 * @line_err: MBUS_LINE_ERR_ bits (LINE_ERR), else 0
 *
 * Callable from the receive path: never sleeps, never allocates. Does
 * nothing while nobody listens; drops and counts the event when the ring
 * is full. The work item sends it.
 */
void mbus_nl_notify(struct mbus_port *port, u8 cmd, const u8 *data,
		    unsigned int len, u32 line_err)
{
	struct mbus_nl_ring *r = &port->nl_ring;
	struct mbus_nl_event *ev;

	lockdep_assert_held(&port->lock);
	/* After close nothing may schedule the work again. */
	if (!port->tty || !mbus_nl_listening(port))
		return;
	if (r->count == MBUS_NL_RING_LEN) {
		port->stats.events_dropped++;
		return;
	}
	ev = &r->ev[(r->head + r->count) % MBUS_NL_RING_LEN];
	ev->cmd = cmd;
	ev->len = min_t(unsigned int, len, MBUS_FRAME_MAX);
	ev->line_err = line_err;
	ev->ts = ktime_get_real_ns();
	if (ev->len)
		memcpy(ev->data, data, ev->len);
	r->count++;
	schedule_work(&port->nl_work);
}

/**
 * mbus_nl_port_init() - set up the event ring of a new port
 * @port: the port, not yet visible to anyone
 */
void mbus_nl_port_init(struct mbus_port *port)
{
	port->nl_ring.head = 0;
	port->nl_ring.count = 0;
	INIT_WORK(&port->nl_work, mbus_nl_work);
}

/* PORT_NEW or PORT_DEL, sent right away (process context). */
static void mbus_nl_port_event(struct mbus_port *port, u8 cmd)
{
	struct mbus_nl_event ev = { .cmd = cmd };

	if (!mbus_nl_listening(port))
		return;
	ev.ts = ktime_get_real_ns();
	mbus_nl_send(port, &ev);
}

/**
 * mbus_nl_port_new() - announce a port that was just attached
 * @port: the port; from the ldisc open, may sleep
 */
void mbus_nl_port_new(struct mbus_port *port)
{
	mbus_nl_port_event(port, MBUS_CMD_PORT_NEW);
}

/**
 * mbus_nl_port_del() - announce a port that is being detached
 * @port: the port; from the ldisc close, after @port->tty was cleared (no
 *	event can be queued any more), may sleep
 *
 * Stops the event work, sends what it had left, then PORT_DEL: a monitor
 * sees every event of the port before it goes.
 */
void mbus_nl_port_del(struct mbus_port *port)
{
	cancel_work_sync(&port->nl_work);
	mbus_nl_drain(port);
	mbus_nl_port_event(port, MBUS_CMD_PORT_DEL);
}

/**
 * mbus_nl_init() - register the generic netlink family "mbus"
 *
 * Return: 0 or a negative errno.
 */
int __init mbus_nl_init(void)
{
	return genl_register_family(&mbus_nl_family);
}

/**
 * mbus_nl_exit() - unregister the family; no port may be left
 */
void mbus_nl_exit(void)
{
	genl_unregister_family(&mbus_nl_family);
}
