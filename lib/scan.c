// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libnmbus: the bus handle over /dev/mbusN, primary scan, secondary
 * search and multi-telegram readout (EN 13757-2 link layer, EN 13757-3
 * secondary addressing).
 *
 * Nothing here sleeps or measures time: every exchange is one
 * MBUS_IOC_XFER and the kernel keeps the EN 13757-2 timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mbus.h>

#include "nmbus.h"

_Static_assert(NMBUS_STATUS_FRAME == MBUS_STATUS_FRAME &&
	       NMBUS_STATUS_ACK == MBUS_STATUS_ACK &&
	       NMBUS_STATUS_TIMEOUT == MBUS_STATUS_TIMEOUT &&
	       NMBUS_STATUS_GARBLED == MBUS_STATUS_GARBLED &&
	       NMBUS_STATUS_BREAK == MBUS_STATUS_BREAK &&
	       NMBUS_STATUS_NONE == MBUS_STATUS_NONE, "status values");
_Static_assert(NMBUS_XFER_ADDRESSED == MBUS_XFER_ADDRESSED &&
	       NMBUS_XFER_FCB == MBUS_XFER_FCB &&
	       NMBUS_XFER_NO_REPLY == MBUS_XFER_NO_REPLY, "xfer flags");

struct nmbus_dev {
	int fd;				/* /dev/mbusN, or -1 */
	const struct nmbus_dev_ops *ops;	/* or a transport of callbacks */
	void *ctx;
	struct nmbus_dev_params params;	/* as last set */
	unsigned long xfers;		/* exchanges made */
};

/* ---- the bus handle ------------------------------------------------ */

static void params_from_kernel(struct nmbus_dev_params *d,
			       const struct mbus_params *k)
{
	d->response_timeout_us = k->response_timeout_us;
	d->char_timeout_us = k->char_timeout_us;
	d->wakeup_delay_us = k->wakeup_delay_us;
	d->wakeup_bytes = k->wakeup_bytes;
	d->retries = k->retries;
	d->flags = k->flags;
}

/*
 * "0" and "mbus0" name /dev/mbus0, "ttyUSB0" /dev/ttyUSB0; anything with
 * a slash is a path.
 */
static const char *dev_path(const char *name, char *buf, size_t size)
{
	const char *digits = name;

	if (strchr(name, '/'))
		return name;
	if (!strncmp(name, "mbus", 4))
		digits = name + 4;
	if (*digits && strspn(digits, "0123456789") == strlen(digits))
		snprintf(buf, size, "/dev/mbus%s", digits);
	else
		snprintf(buf, size, "/dev/%s", name);
	return buf;
}

static int dev_open_path(const char *path)
{
	struct mbus_params p;
	char buf[32];
	__u32 index;
	int fd, err;

	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!ioctl(fd, MBUS_IOC_GET_PARAMS, &p))
		return fd;
	/* The tty N_MBUS is attached to: open its /dev/mbusN. */
	err = ioctl(fd, MBUS_IOC_GET_INDEX, &index) ? errno : 0;
	close(fd);
	if (err) {
		errno = ENOTTY;
		return -1;
	}
	snprintf(buf, sizeof(buf), "/dev/mbus%u", index);
	return open(buf, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

NMBUS_API struct nmbus_dev *nmbus_dev_open(const char *name)
{
	struct nmbus_dev *dev;
	struct mbus_params p;
	char buf[64];
	int err;

	if (!name || !*name) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->fd = dev_open_path(dev_path(name, buf, sizeof(buf)));
	if (dev->fd < 0)
		goto err_free;
	if (ioctl(dev->fd, MBUS_IOC_GET_PARAMS, &p))
		goto err_close;
	params_from_kernel(&dev->params, &p);
	return dev;

err_close:
	err = errno;
	close(dev->fd);
	errno = err;
err_free:
	err = errno;
	free(dev);
	errno = err;
	return NULL;
}

NMBUS_API struct nmbus_dev *nmbus_dev_new_ops(const struct nmbus_dev_ops *ops,
					      void *ctx)
{
	struct nmbus_dev *dev;

	if (!ops || !ops->xfer) {
		errno = EINVAL;
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->fd = -1;
	dev->ops = ops;
	dev->ctx = ctx;
	dev->params.retries = 2;
	return dev;
}

NMBUS_API void nmbus_dev_close(struct nmbus_dev *dev)
{
	if (!dev)
		return;
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev);
}

NMBUS_API int nmbus_dev_get_fd(const struct nmbus_dev *dev)
{
	return dev->fd;
}

NMBUS_API void nmbus_dev_get_params(const struct nmbus_dev *dev,
				    struct nmbus_dev_params *params)
{
	*params = dev->params;
}

NMBUS_API int nmbus_dev_set_params(struct nmbus_dev *dev,
				   const struct nmbus_dev_params *params)
{
	struct mbus_params p = {
		.response_timeout_us = params->response_timeout_us,
		.char_timeout_us = params->char_timeout_us,
		.wakeup_delay_us = params->wakeup_delay_us,
		.wakeup_bytes = params->wakeup_bytes,
		.retries = params->retries,
		.flags = params->flags,
	};
	int err;

	if (dev->ops) {
		err = dev->ops->set_params ?
		      dev->ops->set_params(dev->ctx, params) : 0;
		if (err) {
			errno = -err;
			return -1;
		}
	} else if (ioctl(dev->fd, MBUS_IOC_SET_PARAMS, &p)) {
		return -1;
	}
	dev->params = *params;
	return 0;
}

NMBUS_API int nmbus_dev_set_retries(struct nmbus_dev *dev,
				    unsigned int retries)
{
	struct nmbus_dev_params p = dev->params;

	if (retries > MBUS_RETRIES_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (p.retries == retries)
		return 0;
	p.retries = retries;
	return nmbus_dev_set_params(dev, &p);
}

NMBUS_API unsigned int nmbus_dev_get_baud(const struct nmbus_dev *dev)
{
	__u32 baud;

	if (dev->ops) {
		errno = EOPNOTSUPP;
		return 0;
	}
	if (ioctl(dev->fd, MBUS_IOC_GET_BAUD, &baud))
		return 0;
	return baud;
}

NMBUS_API int nmbus_dev_set_baud(struct nmbus_dev *dev, unsigned int baud)
{
	__u32 b = baud;

	if (dev->ops) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return ioctl(dev->fd, MBUS_IOC_SET_BAUD, &b) ? -1 : 0;
}

static int dev_set_addr(struct nmbus_dev *dev, const struct mbus_addr *a)
{
	if (dev->ops) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return ioctl(dev->fd, MBUS_IOC_SET_ADDR, a) ? -1 : 0;
}

NMBUS_API int nmbus_dev_set_primary(struct nmbus_dev *dev, uint8_t addr)
{
	struct mbus_addr a = { .type = MBUS_ADDR_PRIMARY, .primary = addr };

	return dev_set_addr(dev, &a);
}

NMBUS_API int nmbus_dev_set_secondary(struct nmbus_dev *dev,
				      const uint8_t addr[NMBUS_SECADDR_LEN])
{
	struct mbus_addr a = { .type = MBUS_ADDR_SECONDARY };

	memcpy(a.secondary, addr, sizeof(a.secondary));
	return dev_set_addr(dev, &a);
}

NMBUS_API int nmbus_dev_xfer(struct nmbus_dev *dev, const uint8_t *tx,
			     size_t tx_len, unsigned int flags, uint8_t *rx,
			     size_t rx_size, size_t *rx_len)
{
	struct mbus_xfer x = {
		.tx_buf = (uintptr_t)tx,
		.rx_buf = (uintptr_t)rx,
		.tx_len = (__u32)tx_len,
		.rx_len = (__u32)rx_size,
		.flags = flags,
	};
	size_t n = rx_size;
	int ret;

	if (!tx || !tx_len || tx_len > MBUS_FRAME_MAX || (!rx && rx_size)) {
		errno = EINVAL;
		return -1;
	}
	dev->xfers++;
	if (dev->ops) {
		ret = dev->ops->xfer(dev->ctx, tx, tx_len, flags, rx, &n);
		if (ret < 0) {
			errno = -ret;
			return -1;
		}
	} else {
		if (ioctl(dev->fd, MBUS_IOC_XFER, &x))
			return -1;
		ret = (int)x.status;
		n = x.rx_len;
	}
	if (rx_len)
		*rx_len = n;
	return ret;
}

NMBUS_API unsigned long nmbus_dev_get_xfers(const struct nmbus_dev *dev)
{
	return dev->xfers;
}

NMBUS_API const char *nmbus_status_name(int status)
{
	static const char *const names[] = {
		[NMBUS_STATUS_NONE] = "none",
		[NMBUS_STATUS_FRAME] = "frame",
		[NMBUS_STATUS_ACK] = "ack",
		[NMBUS_STATUS_TIMEOUT] = "timeout",
		[NMBUS_STATUS_GARBLED] = "garbled",
		[NMBUS_STATUS_BREAK] = "break",
	};

	if (status < 0 || (size_t)status >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[status];
}

/* ---- scans ------------------------------------------------------------ */

/* State of one scan: the handle, the caller's parameters, a reply. */
struct scan_ctx {
	struct nmbus_dev *dev;
	struct nmbus_scan *scan;
	unsigned int baud;
	unsigned long xfers0;		/* dev->xfers at the start */
	bool stopped;			/* the callback said stop */
	uint8_t rx[NMBUS_FRAME_MAX];
	size_t rx_len;
};

static int scan_xfer(struct scan_ctx *s, const uint8_t *tx, int tx_len)
{
	if (tx_len < 0) {
		errno = -tx_len;
		return -1;
	}
	return nmbus_dev_xfer(s->dev, tx, (size_t)tx_len, 0, s->rx,
			      sizeof(s->rx), &s->rx_len);
}

/* Several slaves answered, or something spoilt the window. */
static bool status_is_collision(int status)
{
	return status == NMBUS_STATUS_GARBLED || status == NMBUS_STATUS_BREAK;
}

static void header_to_secaddr(const struct nmbus_header *h, uint8_t *sec)
{
	sec[0] = h->id & 0xff;
	sec[1] = (h->id >> 8) & 0xff;
	sec[2] = (h->id >> 16) & 0xff;
	sec[3] = h->id >> 24;
	sec[4] = h->manufacturer & 0xff;
	sec[5] = h->manufacturer >> 8;
	sec[6] = h->version;
	sec[7] = h->medium;
}

/*
 * Fill @res from the REQ_UD2 reply in s->rx. Return true if it is a
 * response with an identifying data header.
 */
static bool scan_decode_reply(struct scan_ctx *s, struct nmbus_scan_result *res)
{
	struct nmbus_frame f;

	/* Errors inside the records leave the header valid. */
	if (nmbus_decode(&f, s->rx, s->rx_len, NULL, 0) &&
	    f.error.code < NMBUS_E_DIF)
		return false;
	if (f.type != NMBUS_FRAME_LONG || !f.header.has_address ||
	    (f.data_type != NMBUS_DATA_VARIABLE &&
	     f.data_type != NMBUS_DATA_FIXED))
		return false;
	res->status = NMBUS_STATUS_FRAME;
	res->primary = f.a;
	res->header = f.header;
	header_to_secaddr(&f.header, res->secaddr);
	res->frame = s->rx;
	res->frame_len = s->rx_len;
	return true;
}

static int scan_report(struct scan_ctx *s, struct nmbus_scan_result *res)
{
	/* Returns 0: a stop request is noted in s->stopped. */
	res->baud = s->baud;
	if (res->status == NMBUS_STATUS_GARBLED)
		s->scan->collisions++;
	else
		s->scan->found++;
	if (s->scan->cb && s->scan->cb(res, s->scan->arg))
		s->stopped = true;
	return 0;
}

static int scan_begin(struct scan_ctx *s, struct nmbus_dev *dev,
		      struct nmbus_scan *scan, struct nmbus_dev_params *saved)
{
	memset(s, 0, sizeof(*s));
	s->dev = dev;
	s->scan = scan;
	s->xfers0 = dev->xfers;
	s->baud = dev->ops ? 0 : nmbus_dev_get_baud(dev);
	scan->xfers = 0;
	scan->found = 0;
	scan->collisions = 0;
	nmbus_dev_get_params(dev, saved);
	if (scan->retries > MBUS_RETRIES_MAX ||
	    scan->read_retries > MBUS_RETRIES_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int scan_end(struct scan_ctx *s, const struct nmbus_dev_params *saved,
		    int ret)
{
	int err = errno;

	s->scan->xfers = s->dev->xfers - s->xfers0;
	if (nmbus_dev_set_params(s->dev, saved) && !ret) {
		ret = -1;
		err = errno;
	}
	if (!ret && s->stopped) {
		ret = -1;
		err = ECANCELED;
	}
	errno = err;
	return ret ? -1 : (int)s->scan->found;
}

/* Read the slave at @a (primary scan) and report it. */
static int primary_read(struct scan_ctx *s, uint8_t a)
{
	struct nmbus_scan_result res = { .primary = a };
	uint8_t tx[8];
	int st;

	if (nmbus_dev_set_retries(s->dev, s->scan->read_retries))
		return -1;
	st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx), a,
						  NMBUS_C_FCV | NMBUS_C_FCB));
	if (st < 0)
		return -1;
	if (st == NMBUS_STATUS_FRAME && scan_decode_reply(s, &res))
		res.primary = a;
	else if (status_is_collision(st))
		res.status = NMBUS_STATUS_GARBLED;
	else
		res.status = NMBUS_STATUS_ACK;
	return scan_report(s, &res);
}

/* Probe one primary address; report what answers. */
static int primary_probe(struct scan_ctx *s, uint8_t a)
{
	struct nmbus_scan_result res = { .primary = a };
	bool ud2 = s->scan->flags & NMBUS_SCAN_UD2;
	uint8_t tx[8];
	int st;

	if (nmbus_dev_set_retries(s->dev, s->scan->retries))
		return -1;
	if (ud2)
		st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx), a,
							  NMBUS_C_FCV));
	else
		st = scan_xfer(s, tx, nmbus_build_snd_nke(tx, sizeof(tx), a));
	if (st < 0)
		return -1;
	if (st == NMBUS_STATUS_TIMEOUT)
		return 0;
	if (status_is_collision(st)) {
		res.status = NMBUS_STATUS_GARBLED;
		return scan_report(s, &res);
	}
	if (ud2 && st == NMBUS_STATUS_FRAME && scan_decode_reply(s, &res)) {
		res.primary = a;
		return scan_report(s, &res);
	}
	return primary_read(s, a);
}

NMBUS_API int nmbus_scan_primary(struct nmbus_dev *dev, unsigned int first,
				 unsigned int last, struct nmbus_scan *scan)
{
	struct nmbus_dev_params saved;
	struct scan_ctx s;
	unsigned int a;
	int ret = 0;

	if (!dev || !scan || first > last || last > MBUS_ADDR_PRIMARY_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (scan_begin(&s, dev, scan, &saved))
		return -1;
	for (a = first; a <= last && !ret && !s.stopped; a++)
		ret = primary_probe(&s, (uint8_t)a);
	return scan_end(&s, &saved, ret);
}

/*
 * Secondary search. A node is a mask; its children fix the next wildcard
 * position: an ID digit (nibbles 0..7 in wire order, least significant
 * digit first) to 0..9, then a byte to 00..FE: the medium first (slaves
 * of one device that share an ID usually differ there), the version, the
 * manufacturer.
 */
#define SEC_ID_NIBBLES	8
#define SEC_POSITIONS	(SEC_ID_NIBBLES + 4)

static const uint8_t sec_byte_order[4] = { 7, 6, 4, 5 };

enum sec_probe {
	SEC_NONE,		/* nobody answered */
	SEC_ONE,		/* one slave, reported */
	SEC_MANY,		/* several, or cannot tell */
};

static bool sec_is_wild(const uint8_t *mask, unsigned int pos)
{
	if (pos < SEC_ID_NIBBLES)
		return ((mask[pos / 2] >> (pos % 2 * 4)) & 0xf) == 0xf;
	return mask[sec_byte_order[pos - SEC_ID_NIBBLES]] == 0xff;
}

static void sec_set(uint8_t *mask, unsigned int pos, unsigned int v)
{
	uint8_t *b;

	if (pos >= SEC_ID_NIBBLES) {
		mask[sec_byte_order[pos - SEC_ID_NIBBLES]] = (uint8_t)v;
		return;
	}
	b = &mask[pos / 2];
	if (pos % 2)
		*b = (uint8_t)((*b & 0x0f) | v << 4);
	else
		*b = (uint8_t)((*b & 0xf0) | v);
}

/* A selected slave: read it with REQ_UD2 to 253 and report it. */
static int sec_read(struct scan_ctx *s, const uint8_t *mask)
{
	struct nmbus_scan_result res = { .primary = MBUS_ADDR_NETWORK };
	uint8_t tx[8];
	int st;

	if (nmbus_dev_set_retries(s->dev, s->scan->read_retries))
		return -1;
	st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx),
						  MBUS_ADDR_NETWORK,
						  NMBUS_C_FCV | NMBUS_C_FCB));
	if (nmbus_dev_set_retries(s->dev, 0) || st < 0)
		return -1;
	if (status_is_collision(st))
		return SEC_MANY;	/* several E5 looked like one */
	if (st != NMBUS_STATUS_FRAME || !scan_decode_reply(s, &res)) {
		/* Present, but no data header: report the mask. */
		res.status = NMBUS_STATUS_ACK;
		memcpy(res.secaddr, mask, sizeof(res.secaddr));
	}
	scan_report(s, &res);
	return SEC_ONE;
}

static int sec_probe(struct scan_ctx *s, const uint8_t *mask)
{
	uint8_t tx[24];
	int st;

	st = scan_xfer(s, tx, nmbus_build_select(tx, sizeof(tx), NMBUS_C_FCV |
						 NMBUS_C_FCB, mask,
						 NMBUS_SECADDR_LEN));
	if (st < 0)
		return -1;
	if (st == NMBUS_STATUS_TIMEOUT)
		return SEC_NONE;
	if (st == NMBUS_STATUS_ACK)
		return sec_read(s, mask);
	/* Garbled, break, or a frame where only E5 is allowed. */
	return SEC_MANY;
}

static int sec_node(struct scan_ctx *s, const uint8_t *mask,
		    unsigned int pos, bool many);

/*
 * Several slaves match @mask (@probed: a selection said so; otherwise it
 * was inferred from the siblings): try every value at the next wildcard.
 */
static int sec_split(struct scan_ctx *s, const uint8_t *mask, unsigned int pos,
		     bool probed)
{
	struct nmbus_scan_result res = { .status = NMBUS_STATUS_GARBLED,
					 .primary = MBUS_ADDR_NETWORK };
	uint8_t child[NMBUS_SECADDR_LEN];
	unsigned int v, nvalues;
	bool empty = true;
	int r;

	while (pos < SEC_POSITIONS && !sec_is_wild(mask, pos))
		pos++;
	if (pos == SEC_POSITIONS) {
		if (!probed) {
			r = sec_probe(s, mask);
			if (r != SEC_MANY)
				return r;
		}
		/* Equal in every byte that is not a wildcard. */
		memcpy(res.secaddr, mask, sizeof(res.secaddr));
		scan_report(s, &res);
		return SEC_MANY;
	}
	nvalues = pos < SEC_ID_NIBBLES ? 10 : 0xff;
	memcpy(child, mask, sizeof(child));
	for (v = 0; v < nvalues && !s->stopped; v++) {
		sec_set(child, pos, v);
		/*
		 * If no other value matched anybody, the slaves that made
		 * the parent collide all have this one: no need to ask.
		 */
		r = sec_node(s, child, pos + 1, empty && v == nvalues - 1);
		if (r < 0)
			return r;
		if (r != SEC_NONE)
			empty = false;
	}
	return empty && !probed ? SEC_NONE : SEC_MANY;
}

/* Search the slaves matching @mask; @many: known to be several. */
static int sec_node(struct scan_ctx *s, const uint8_t *mask,
		    unsigned int pos, bool many)
{
	int r;

	if (!many) {
		r = sec_probe(s, mask);
		if (r != SEC_MANY)
			return r;
	}
	return sec_split(s, mask, pos, !many);
}

NMBUS_API int nmbus_scan_secondary(struct nmbus_dev *dev,
				   const uint8_t *mask, struct nmbus_scan *scan)
{
	static const uint8_t any[NMBUS_SECADDR_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct nmbus_dev_params saved;
	struct scan_ctx s;
	uint8_t tx[8];
	int ret;

	if (!dev || !scan) {
		errno = EINVAL;
		return -1;
	}
	if (scan_begin(&s, dev, scan, &saved))
		return -1;
	ret = nmbus_dev_set_retries(dev, 0);
	if (!ret)
		ret = sec_node(&s, mask ? mask : any, 0, false) < 0 ? -1 : 0;
	/* Leave nobody selected; the answer does not matter. */
	if (!ret)
		ret = scan_xfer(&s, tx, nmbus_build_snd_nke(tx, sizeof(tx),
					MBUS_ADDR_NETWORK)) < 0 ? -1 : 0;
	return scan_end(&s, &saved, ret);
}

/* ---- readout ------------------------------------------------------- */

NMBUS_API int nmbus_read_telegrams(struct nmbus_dev *dev, unsigned int max,
				   nmbus_telegram_cb cb, void *arg)
{
	uint8_t tx[8], rx[NMBUS_FRAME_MAX];
	struct nmbus_record *recs;
	struct nmbus_frame f;
	unsigned int n = 0;
	size_t rx_len;
	int st, tx_len, err = 0;

	if (!dev || !max) {
		errno = EINVAL;
		return -1;
	}
	recs = calloc(NMBUS_MAX_RECORDS, sizeof(*recs));
	if (!recs)
		return -1;
	tx_len = nmbus_build_req_ud2(tx, sizeof(tx), 0, NMBUS_C_FCV);
	while (n < max) {
		st = nmbus_dev_xfer(dev, tx, (size_t)tx_len,
				    NMBUS_XFER_ADDRESSED | NMBUS_XFER_FCB,
				    rx, sizeof(rx), &rx_len);
		if (st < 0) {
			err = errno;
			break;
		}
		if (st != NMBUS_STATUS_FRAME) {
			err = st == NMBUS_STATUS_TIMEOUT ? ETIMEDOUT :
			      st == NMBUS_STATUS_ACK ? EBADMSG : EIO;
			break;
		}
		nmbus_decode(&f, rx, rx_len, recs, NMBUS_MAX_RECORDS);
		if (f.type != NMBUS_FRAME_LONG) {
			err = EBADMSG;
			break;
		}
		if (cb && cb(rx, rx_len, n, arg)) {
			err = ECANCELED;
			break;
		}
		n++;
		if (!f.more_records_follow)
			break;
	}
	free(recs);
	if (err) {
		errno = err;
		return -1;
	}
	return (int)n;
}
