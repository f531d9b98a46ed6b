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

#include "ktypes.h"
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
		return -errno;
	if (!ioctl(fd, MBUS_IOC_GET_PARAMS, &p))
		return fd;
	/* The tty N_MBUS is attached to: open its /dev/mbusN. */
	err = ioctl(fd, MBUS_IOC_GET_INDEX, &index);
	close(fd);
	if (err)
		return -ENOTTY;
	snprintf(buf, sizeof(buf), "/dev/mbus%u", index);
	fd = open(buf, O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

NMBUS_API int nmbus_dev_open(const char *name, struct nmbus_dev **devp)
{
	struct nmbus_dev *dev;
	struct mbus_params p;
	char buf[64];
	int err;

	if (!devp)
		return -EINVAL;
	*devp = NULL;
	if (!name || !*name)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = dev_open_path(dev_path(name, buf, sizeof(buf)));
	if (dev->fd < 0) {
		err = dev->fd;
		goto err_free;
	}
	if (ioctl(dev->fd, MBUS_IOC_GET_PARAMS, &p)) {
		err = -errno;
		goto err_close;
	}
	params_from_kernel(&dev->params, &p);
	*devp = dev;
	return 0;

err_close:
	close(dev->fd);
err_free:
	free(dev);
	return err;
}

NMBUS_API int nmbus_dev_new_ops(const struct nmbus_dev_ops *ops, void *ctx,
				struct nmbus_dev **devp)
{
	struct nmbus_dev *dev;

	if (!devp)
		return -EINVAL;
	*devp = NULL;
	if (!ops || !ops->xfer)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = -1;
	dev->ops = ops;
	dev->ctx = ctx;
	dev->params.retries = 2;
	*devp = dev;
	return 0;
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
	return dev->ops ? -EOPNOTSUPP : dev->fd;
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
		if (err)
			return err < 0 ? err : -EIO;
	} else if (ioctl(dev->fd, MBUS_IOC_SET_PARAMS, &p)) {
		return -errno;
	}
	dev->params = *params;
	return 0;
}

NMBUS_API int nmbus_dev_set_retries(struct nmbus_dev *dev,
				    unsigned int retries)
{
	struct nmbus_dev_params p = dev->params;

	if (retries > MBUS_RETRIES_MAX)
		return -EINVAL;
	if (p.retries == retries)
		return 0;
	p.retries = retries;
	return nmbus_dev_set_params(dev, &p);
}

NMBUS_API int nmbus_dev_get_baud(const struct nmbus_dev *dev)
{
	__u32 baud;

	if (dev->ops)
		return -EOPNOTSUPP;
	if (ioctl(dev->fd, MBUS_IOC_GET_BAUD, &baud))
		return -errno;
	return (int)baud;
}

NMBUS_API int nmbus_dev_set_baud(struct nmbus_dev *dev, unsigned int baud)
{
	__u32 b = baud;

	if (dev->ops)
		return -EOPNOTSUPP;
	return ioctl(dev->fd, MBUS_IOC_SET_BAUD, &b) ? -errno : 0;
}

static int dev_set_addr(struct nmbus_dev *dev, const struct mbus_addr *a)
{
	if (dev->ops)
		return -EOPNOTSUPP;
	return ioctl(dev->fd, MBUS_IOC_SET_ADDR, a) ? -errno : 0;
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

	if (!tx || !tx_len || tx_len > MBUS_FRAME_MAX || (!rx && rx_size))
		return -EINVAL;
	dev->xfers++;
	if (dev->ops) {
		ret = dev->ops->xfer(dev->ctx, tx, tx_len, flags, rx, &n);
		if (ret < 0)
			return ret;
	} else {
		if (ioctl(dev->fd, MBUS_IOC_XFER, &x))
			return -errno;
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

	if (status < 0 || (size_t)status >= ARRAY_SIZE(names))
		return "unknown";
	return names[status];
}

/* ---- scans ------------------------------------------------------------ */

/* A meter found, or a part of the bus reported, by the secondary search. */
struct sec_entry {
	uint8_t sec[NMBUS_SECADDR_LEN];	/* as reported */
	uint8_t key[NMBUS_SECADDR_LEN];	/* what it matches: sec or the mask */
	uint8_t fab[4];			/* fabrication number; FF: unknown */
	unsigned int weight;		/* 1: a meter; 2: a collision */
	bool lenient;			/* answered a mask only F nibbles match */
};

#define SEC_SEEN_MFR	32

/* State of one scan: the handle, the caller's parameters, a reply. */
struct scan_ctx {
	struct nmbus_dev *dev;
	struct nmbus_scan *scan;
	unsigned int baud;
	unsigned long xfers0;		/* dev->xfers at the start */
	bool stopped;			/* the callback said stop */
	uint8_t rx[NMBUS_FRAME_MAX];
	size_t rx_len;
	/* secondary search */
	struct nmbus_record *recs;	/* for the fabrication number */
	struct sec_entry *entries;
	size_t nentries, centries;
	uint16_t seen_mfr[SEC_SEEN_MFR];
	unsigned int nseen_mfr;
	uint8_t seen_version[32];	/* bitmaps */
	uint8_t seen_medium[32];
};

static int scan_xfer(struct scan_ctx *s, const uint8_t *tx, int tx_len)
{
	if (tx_len < 0)
		return tx_len;
	return nmbus_dev_xfer(s->dev, tx, (size_t)tx_len, 0, s->rx,
			      sizeof(s->rx), &s->rx_len);
}

/* Several slaves answered, or something spoilt the window. */
static bool status_is_collision(int status)
{
	return status == NMBUS_STATUS_GARBLED || status == NMBUS_STATUS_BREAK;
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
	nmbus_header_get_secaddr(&f.header, res->secaddr);
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
	int baud = dev->ops ? 0 : nmbus_dev_get_baud(dev);

	memset(s, 0, sizeof(*s));
	s->dev = dev;
	s->scan = scan;
	s->xfers0 = dev->xfers;
	s->baud = baud > 0 ? (unsigned int)baud : 0;	/* 0: unknown */
	scan->xfers = 0;
	scan->found = 0;
	scan->collisions = 0;
	scan->lenient = 0;
	nmbus_dev_get_params(dev, saved);
	if (scan->retries > MBUS_RETRIES_MAX ||
	    scan->read_retries > MBUS_RETRIES_MAX)
		return -EINVAL;
	return 0;
}

/* @ret: 0 or the negative errno value the scan failed with. */
static int scan_end(struct scan_ctx *s, const struct nmbus_dev_params *saved,
		    int ret)
{
	int err;

	s->scan->xfers = s->dev->xfers - s->xfers0;
	free(s->entries);
	free(s->recs);
	s->entries = NULL;
	s->recs = NULL;
	err = nmbus_dev_set_params(s->dev, saved);
	if (err && !ret)
		ret = err;
	if (!ret && s->stopped)
		ret = -ECANCELED;
	return ret ? ret : (int)s->scan->found;
}

/* Read the slave at @a (primary scan) and report it. */
static int primary_read(struct scan_ctx *s, uint8_t a)
{
	struct nmbus_scan_result res = { .primary = a };
	uint8_t tx[8];
	int st;

	st = nmbus_dev_set_retries(s->dev, s->scan->read_retries);
	if (st)
		return st;
	st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx), a,
						  NMBUS_C_FCV | NMBUS_C_FCB));
	if (st < 0)
		return st;
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

	st = nmbus_dev_set_retries(s->dev, s->scan->retries);
	if (st)
		return st;
	if (ud2)
		st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx), a,
							  NMBUS_C_FCV));
	else
		st = scan_xfer(s, tx, nmbus_build_snd_nke(tx, sizeof(tx), a));
	if (st < 0)
		return st;
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
	int ret;

	if (!dev || !scan || first > last || last > MBUS_ADDR_PRIMARY_MAX)
		return -EINVAL;
	ret = scan_begin(&s, dev, scan, &saved);
	if (ret)
		return ret;
	for (a = first; a <= last && !ret && !s.stopped; a++)
		ret = primary_probe(&s, (uint8_t)a);
	return scan_end(&s, &saved, ret);
}

/*
 * Secondary search (EN 13757-3 selection: SND_UD CI 52 to 253, no
 * retries; silence: nobody matches, E5: one meter, read with REQ_UD2 to
 * 253; a garbled window or a break: several).
 *
 * 1. The identification number digit by digit, least significant first,
 *    values 0..9: the one wildcard every meter honours (nibble F). If no
 *    other value of a digit matched anybody, the meters that made the
 *    parent collide have the last one: it is not asked.
 * 2. A collision group: meters sharing an identification number. It is
 *    split by whole fields, since a standard meter takes the
 *    manufacturer only as FFFFh or its code, version and medium only as
 *    FFh or their value: the manufacturer codes seen on this bus, then
 *    the common ones (nmbus_manufacturer_common()); the medium (values
 *    seen, then the media EN 13757-3 defines, the common ones first, then
 *    the reserved ones); the version (values seen, then 00..FE); the
 *    remaining manufacturer codes (letter codes first). Each walk stops
 *    as soon as the group is explained: several meters answered at once,
 *    so at least two are there, and two have been found (or a part of
 *    the group was reported). A third meter of the same identification
 *    number is found when a value walked before the stop reaches it.
 * 3. Before the remaining manufacturer codes, a group is asked once
 *    whether its meters take F nibbles in the manufacturer, version and
 *    medium (libmbus relies on it; the standard does not say so): the
 *    group's known medium (or version) with its high nibble F, which
 *    only such a meter matches. Only where one answered is the
 *    manufacturer split nibble by nibble (at most 64 selections instead
 *    of 65535); the meters that did not answer are still walked by code.
 * 4. Meters equal in all 8 bytes: the enhanced selection (CI 52 with the
 *    record DIF 0C VIF 78 and the fabrication number, nibble F = any),
 *    digit by digit.
 * A group that cannot be split, or costs more than scan->group_limit
 * exchanges, is reported with status GARBLED, its mask and its cost.
 */
#define SEC_ID_NIBBLES	8
#define SEC_FAB_DIGITS	8

enum sec_probe {
	SEC_NONE,		/* nobody answered */
	SEC_ONE,		/* one slave, reported */
	SEC_MANY,		/* several, or cannot tell */
};

/* The steps a collision group goes through, in order. */
enum sec_phase {
	PH_MFR_KNOWN,		/* manufacturers seen and common */
	PH_MEDIUM,
	PH_VERSION,
	PH_MFR_REST,		/* nibbles if learnt, then every other code */
	PH_FAB,			/* enhanced selection */
	PH_END,
};

/* A selection: 8 bytes, and a fabrication number (all FF: none sent). */
struct sec_mask {
	uint8_t a[NMBUS_SECADDR_LEN];
	uint8_t fab[4];
};

/* Media EN 13757-3 defines, the ones seen most on wired buses first. */
static const uint8_t common_media[] = {
	0x04, 0x07, 0x16, 0x06, 0x02, 0x03, 0x0c, 0x0d, 0x0a, 0x0b, 0x08,
	0x15, 0x00, 0x0e,
};

/* Versions: small numbers are the common ones. */
static const uint8_t common_versions[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static bool sec_fab_wild(const struct sec_mask *m)
{
	return m->fab[0] == 0xff && m->fab[1] == 0xff && m->fab[2] == 0xff &&
	       m->fab[3] == 0xff;
}

static bool fab_match(const uint8_t *mask, const uint8_t *fab)
{
	for (int i = 0; i < 4; i++)
		if (((mask[i] & 0x0f) != 0x0f &&
		     (mask[i] & 0x0f) != (fab[i] & 0x0f)) ||
		    ((mask[i] >> 4) != 0x0f && (mask[i] >> 4) != (fab[i] >> 4)))
			return false;
	return true;
}

static bool entry_in(const struct sec_entry *e, const struct sec_mask *m)
{
	return (nmbus_secaddr_match(m->a, NMBUS_SECADDR_LEN, e->key) ||
		(e->lenient && nmbus_secaddr_match_lenient(m->a,
							   NMBUS_SECADDR_LEN,
							   e->sec))) &&
	       fab_match(m->fab, e->fab);
}

/* Meters found and parts reported (2 each) inside @m. */
static unsigned int sec_members(const struct scan_ctx *s,
				const struct sec_mask *m)
{
	unsigned int n = 0;

	for (size_t i = 0; i < s->nentries; i++)
		if (entry_in(&s->entries[i], m))
			n += s->entries[i].weight;
	return n;
}

static bool sec_explained(const struct scan_ctx *s, const struct sec_mask *m)
{
	return sec_members(s, m) >= 2;
}

static int sec_add_entry(struct scan_ctx *s, const uint8_t *sec,
			 const uint8_t *key, const uint8_t *fab,
			 unsigned int weight)
{
	struct sec_entry *e;

	if (s->nentries == s->centries) {
		size_t n = s->centries ? 2 * s->centries : 64;

		e = realloc(s->entries, n * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->entries = e;
		s->centries = n;
	}
	e = &s->entries[s->nentries++];
	memcpy(e->sec, sec, sizeof(e->sec));
	memcpy(e->key, key, sizeof(e->key));
	memcpy(e->fab, fab, sizeof(e->fab));
	e->weight = weight;
	e->lenient = false;
	return 0;
}

static struct sec_entry *sec_find(struct scan_ctx *s, const uint8_t *sec,
				  const uint8_t *fab)
{
	static const uint8_t none[4] = { 0xff, 0xff, 0xff, 0xff };

	for (size_t i = 0; i < s->nentries; i++) {
		struct sec_entry *e = &s->entries[i];

		if (e->weight != 1 || memcmp(e->sec, sec, sizeof(e->sec)))
			continue;
		if (!memcmp(e->fab, fab, 4) || !memcmp(e->fab, none, 4) ||
		    !memcmp(fab, none, 4))
			return e;
	}
	return NULL;
}

/* Values seen on this bus are tried first in later groups. */
static void sec_seen(struct scan_ctx *s, const uint8_t *sec)
{
	uint16_t mfr = (uint16_t)(sec[4] | sec[5] << 8);
	unsigned int i;

	s->seen_version[sec[6] / 8] |= 1u << (sec[6] % 8);
	s->seen_medium[sec[7] / 8] |= 1u << (sec[7] % 8);
	for (i = 0; i < s->nseen_mfr; i++)
		if (s->seen_mfr[i] == mfr)
			return;
	if (s->nseen_mfr < SEC_SEEN_MFR)
		s->seen_mfr[s->nseen_mfr++] = mfr;
}

/* The fabrication number (DIF 0C VIF 78, storage 0) of the reply. */
static bool reply_fab(struct scan_ctx *s, uint8_t fab[4])
{
	struct nmbus_frame f;
	unsigned int i;

	nmbus_decode(&f, s->rx, s->rx_len, s->recs, NMBUS_MAX_RECORDS);
	for (i = 0; i < f.n_records; i++) {
		const struct nmbus_record *r = &s->recs[i];

		if (r->dif == 0x0c && r->vif == 0x78 && r->data_len == 4) {
			memcpy(fab, s->rx + r->data_offset, 4);
			return true;
		}
	}
	return false;
}

/* A selected slave: read it with REQ_UD2 to 253 and report it if new. */
static int sec_read(struct scan_ctx *s, const struct sec_mask *m)
{
	struct nmbus_scan_result res = { .primary = MBUS_ADDR_NETWORK };
	uint8_t fab[4] = { 0xff, 0xff, 0xff, 0xff };
	struct sec_entry *e;
	const uint8_t *key;
	bool strict, fresh;
	uint8_t tx[8];
	int st, err;

	err = nmbus_dev_set_retries(s->dev, s->scan->read_retries);
	if (err)
		return err;
	st = scan_xfer(s, tx, nmbus_build_req_ud2(tx, sizeof(tx),
						  MBUS_ADDR_NETWORK,
						  NMBUS_C_FCV | NMBUS_C_FCB));
	err = nmbus_dev_set_retries(s->dev, 0);
	if (err)
		return err;
	if (st < 0)
		return st;
	if (status_is_collision(st))
		return SEC_MANY;	/* several E5 looked like one */
	if (st != NMBUS_STATUS_FRAME || !scan_decode_reply(s, &res)) {
		/* Present, but no data header: report the mask. */
		res = (struct nmbus_scan_result){
			.status = NMBUS_STATUS_ACK,
			.primary = MBUS_ADDR_NETWORK,
		};
		memcpy(res.secaddr, m->a, sizeof(res.secaddr));
	} else if (reply_fab(s, fab)) {
		res.by_fabrication = !sec_fab_wild(m);
		res.has_fabrication = true;
		res.fabrication = (uint32_t)fab[0] | (uint32_t)fab[1] << 8 |
				  (uint32_t)fab[2] << 16 |
				  (uint32_t)fab[3] << 24;
	}
	strict = nmbus_secaddr_match(m->a, NMBUS_SECADDR_LEN, res.secaddr);
	e = sec_find(s, res.secaddr, fab);
	fresh = !e;
	if (fresh) {
		/* A header that does not match counts where it was found. */
		key = strict ? res.secaddr : m->a;
		err = sec_add_entry(s, res.secaddr, key, fab, 1);
		if (err)
			return err;
		e = &s->entries[s->nentries - 1];
	}
	/* It took a mask only F nibbles outside the ID let it match. */
	if (!strict && nmbus_secaddr_match_lenient(m->a, NMBUS_SECADDR_LEN,
						   res.secaddr))
		e->lenient = true;
	if (!fresh)
		return SEC_ONE;		/* found before, in another walk */
	if (res.status == NMBUS_STATUS_FRAME)
		sec_seen(s, res.secaddr);
	scan_report(s, &res);
	return SEC_ONE;
}

static int sec_probe(struct scan_ctx *s, const struct sec_mask *m)
{
	uint8_t tx[32];
	int st, len;

	if (sec_fab_wild(m))
		len = nmbus_build_select(tx, sizeof(tx), NMBUS_C_FCV |
					 NMBUS_C_FCB, m->a, NMBUS_SECADDR_LEN);
	else
		len = nmbus_build_select_fab(tx, sizeof(tx), NMBUS_C_FCV |
					     NMBUS_C_FCB, m->a, m->fab);
	st = scan_xfer(s, tx, len);
	if (st < 0)
		return st;
	if (st == NMBUS_STATUS_TIMEOUT)
		return SEC_NONE;
	if (st == NMBUS_STATUS_ACK)
		return sec_read(s, m);
	/* Garbled, break, or a frame where only E5 is allowed. */
	return SEC_MANY;
}

static unsigned long sec_xfers(const struct scan_ctx *s)
{
	return s->dev->xfers - s->xfers0;
}

static bool sec_over(const struct scan_ctx *s, unsigned long x0)
{
	return s->stopped || (s->scan->group_limit &&
			      sec_xfers(s) - x0 >= s->scan->group_limit);
}

/* A part of the bus that cannot be split: say so, with its cost. */
static int sec_report_group(struct scan_ctx *s, const struct sec_mask *m,
			    unsigned long x0)
{
	struct nmbus_scan_result res = { .status = NMBUS_STATUS_GARBLED,
					 .primary = MBUS_ADDR_NETWORK };
	int err;

	memcpy(res.secaddr, m->a, sizeof(res.secaddr));
	res.xfers = sec_xfers(s) - x0;
	if (!sec_fab_wild(m)) {
		res.has_fabrication = true;
		res.fabrication = (uint32_t)m->fab[0] |
				  (uint32_t)m->fab[1] << 8 |
				  (uint32_t)m->fab[2] << 16 |
				  (uint32_t)m->fab[3] << 24;
	}
	err = sec_add_entry(s, m->a, m->a, m->fab, 2);
	if (err)
		return err;
	return scan_report(s, &res);
}

static int sec_group(struct scan_ctx *s, const struct sec_mask *g,
		     enum sec_phase phase);

/* Probe @child of group @g; search it further if several answer. */
static int sec_child(struct scan_ctx *s, const struct sec_mask *child,
		     enum sec_phase next)
{
	int r = sec_probe(s, child);

	if (r == SEC_MANY) {
		r = sec_group(s, child, next);
		return r < 0 ? r : SEC_MANY;
	}
	return r;
}

/* The values of a walk, most likely first, each once. */
struct sec_order {
	uint16_t v[512];
	unsigned int n;
	unsigned int nlikely;		/* v[0 .. nlikely - 1] */
	uint8_t used[8192];		/* bitmap over 16-bit values */
};

/* A byte a lenient meter takes as a partial wildcard. */
static bool has_f_nibble(unsigned int v)
{
	return (v & 0x0f) == 0x0f || (v & 0xf0) == 0xf0;
}

static void order_add(struct sec_order *o, unsigned int v)
{
	if (o->used[v / 8] & (1u << (v % 8)) || o->n >= 512)
		return;
	o->used[v / 8] |= 1u << (v % 8);
	o->v[o->n++] = (uint16_t)v;
}

static void order_bytes(struct sec_order *o, const uint8_t *seen,
			const uint8_t *common, size_t ncommon, bool defined)
{
	unsigned int v;

	/*
	 * Values with a nibble F last: meters taking F nibbles match them
	 * with other values too.
	 */
	for (v = 0; v < 0xff; v++)
		if (seen[v / 8] & (1u << (v % 8)) && !has_f_nibble(v))
			order_add(o, v);
	for (v = 0; v < ncommon; v++)
		if (!has_f_nibble(common[v]))
			order_add(o, common[v]);
	o->nlikely = o->n;
	for (v = 0; defined && v < 0xff; v++)
		if (strcmp(nmbus_medium_name((uint8_t)v), "reserved") &&
		    !has_f_nibble(v))
			order_add(o, v);
	for (v = 0; v < 0xff; v++)
		if (!has_f_nibble(v))
			order_add(o, v);
	for (v = 0; v < 0xff; v++)
		order_add(o, v);
}

static void order_mfr_common(struct sec_order *o)
{
	const char *code;

	for (unsigned int i = 0; (code = nmbus_manufacturer_common(i)); i++)
		order_add(o, (unsigned int)nmbus_manufacturer_code(code));
	o->nlikely = o->n;
}

static void order_mfr_known(struct scan_ctx *s, struct sec_order *o)
{
	for (unsigned int i = 0; i < s->nseen_mfr; i++)
		if (s->seen_mfr[i] != 0xffff)
			order_add(o, s->seen_mfr[i]);
	order_mfr_common(o);
}

static void sec_set_field(struct sec_mask *m, enum sec_phase ph,
			  unsigned int v)
{
	if (ph == PH_MEDIUM) {
		m->a[7] = (uint8_t)v;
	} else if (ph == PH_VERSION) {
		m->a[6] = (uint8_t)v;
	} else {
		m->a[4] = v & 0xff;
		m->a[5] = (uint8_t)(v >> 8);
	}
}

/*
 * Walk one whole field of group @g over @o. The likely media and
 * versions are all tried (one device's meters sharing an ID may be
 * many); the manufacturer walk stops once the group is explained (two
 * makers sharing an ID is a coincidence already; NMBUS_SCAN_THOROUGH
 * tries every common code), and so do the walks over unlikely values.
 */
static int sec_walk(struct scan_ctx *s, const struct sec_mask *g,
		    enum sec_phase ph, const struct sec_order *o,
		    unsigned long x0)
{
	bool thorough = s->scan->flags & NMBUS_SCAN_THOROUGH;
	struct sec_mask child = *g;
	int r;

	for (unsigned int i = 0; i < o->n; i++) {
		if (sec_over(s, x0))
			break;
		if (sec_explained(s, g) &&
		    (i >= o->nlikely || (ph == PH_MFR_KNOWN && !thorough)))
			break;
		sec_set_field(&child, ph, o->v[i]);
		r = sec_child(s, &child, ph + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool mfr_letters(unsigned int v)
{
	for (int i = 0; i < 3; i++) {
		unsigned int c = (v >> (10 - 5 * i)) & 0x1f;

		if (c < 1 || c > 26)
			return false;
	}
	return !(v & 0x8000);
}

/*
 * Every manufacturer code but the common ones (the group's first walk
 * tried them all, or it would not be here): letter codes first. Codes
 * seen on the bus since are tried again.
 */
static int sec_walk_mfr_rest(struct scan_ctx *s, const struct sec_mask *g,
			     const struct sec_order *tried, unsigned long x0)
{
	struct sec_mask child = *g;
	int r;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int v = 0; v < 0xffff; v++) {
			if (sec_over(s, x0) || sec_explained(s, g))
				return 0;
			if (mfr_letters(v) != !pass ||
			    tried->used[v / 8] & (1u << (v % 8)))
				continue;
			sec_set_field(&child, PH_MFR_REST, v);
			r = sec_child(s, &child, PH_MEDIUM);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Nibble @pos (0..3, wire order) of the manufacturer. */
static void mfr_set_nibble(struct sec_mask *m, unsigned int pos,
			   unsigned int v)
{
	uint8_t *b = &m->a[4 + pos / 2];

	if (pos % 2)
		*b = (uint8_t)((*b & 0x0f) | v << 4);
	else
		*b = (uint8_t)((*b & 0xf0) | v);
}

/* The manufacturer nibble by nibble, for meters that showed they can. */
static int sec_mfr_nibbles(struct scan_ctx *s, const struct sec_mask *g,
			   const struct sec_mask *m, unsigned int pos,
			   unsigned long x0)
{
	struct sec_mask child = *m;
	int r;

	for (unsigned int v = 0; v < 0xf; v++) {
		if (sec_over(s, x0) || sec_explained(s, g))
			return 0;
		mfr_set_nibble(&child, pos, v);
		r = sec_probe(s, &child);
		if (r < 0)
			return r;
		if (r != SEC_MANY)
			continue;
		r = pos < 3 ? sec_mfr_nibbles(s, g, &child, pos + 1, x0) :
			      sec_group(s, &child, PH_MEDIUM);
		if (r < 0)
			return r;
	}
	/* Those with nibble F here answer at the next nibble. */
	if (pos < 3 && !sec_over(s, x0) && !sec_explained(s, g))
		return sec_mfr_nibbles(s, g, m, pos + 1, x0);
	return 0;
}

/*
 * Whether the meters of @g take F nibbles outside the identification
 * number: a known medium (or version) byte of the group with its high
 * nibble F, which a standard meter cannot match.
 */
static int sec_learn_lenient(struct scan_ctx *s, const struct sec_mask *g)
{
	struct sec_mask probe = *g;
	int r;

	for (int i = 7; i >= 6; i--) {
		if (g->a[i] == 0xff || (g->a[i] >> 4) == 0xf)
			continue;
		probe.a[i] = 0xf0 | (g->a[i] & 0x0f);
		r = sec_probe(s, &probe);
		if (r < 0)
			return r;
		if (r != SEC_NONE)
			s->scan->lenient++;
		return r != SEC_NONE;
	}
	return 0;
}

/* The fabrication number digit by digit (enhanced selection). */
static int sec_fab(struct scan_ctx *s, const struct sec_mask *g,
		   const struct sec_mask *m, unsigned int pos,
		   unsigned long x0)
{
	struct sec_mask child = *m;
	uint8_t *b = &child.fab[pos / 2];
	int r;

	for (unsigned int v = 0; v < 10; v++) {
		if (sec_over(s, x0) || sec_explained(s, g))
			return 0;
		*b = pos % 2 ? (uint8_t)((*b & 0x0f) | v << 4) :
			       (uint8_t)((*b & 0xf0) | v);
		r = sec_probe(s, &child);
		if (r < 0)
			return r;
		if (r != SEC_MANY)
			continue;
		r = pos + 1 < SEC_FAB_DIGITS ?
		    sec_fab(s, g, &child, pos + 1, x0) :
		    sec_report_group(s, &child, x0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sec_phase_run(struct scan_ctx *s, const struct sec_mask *g,
			 enum sec_phase ph, unsigned long x0)
{
	bool mfr_wild = g->a[4] == 0xff && g->a[5] == 0xff;
	struct sec_order *o;
	int ret = 0;

	if (ph == PH_FAB)
		return sec_fab_wild(g) ? sec_fab(s, g, g, 0, x0) : 0;
	if ((ph == PH_MFR_KNOWN || ph == PH_MFR_REST) && !mfr_wild)
		return 0;
	if ((ph == PH_MEDIUM && g->a[7] != 0xff) ||
	    (ph == PH_VERSION && g->a[6] != 0xff))
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	switch (ph) {
	case PH_MFR_KNOWN:
		order_mfr_known(s, o);
		ret = sec_walk(s, g, ph, o, x0);
		break;
	case PH_MEDIUM:
		order_bytes(o, s->seen_medium, common_media,
			    sizeof(common_media), true);
		ret = sec_walk(s, g, ph, o, x0);
		break;
	case PH_VERSION:
		order_bytes(o, s->seen_version, common_versions,
			    sizeof(common_versions), false);
		ret = sec_walk(s, g, ph, o, x0);
		break;
	default:
		ret = sec_learn_lenient(s, g);
		if (ret > 0)
			ret = sec_mfr_nibbles(s, g, g, 0, x0);
		if (!ret && !sec_explained(s, g)) {
			order_mfr_common(o);
			ret = sec_walk_mfr_rest(s, g, o, x0);
		}
		break;
	}
	free(o);
	return ret < 0 ? ret : 0;
}

/* @g: several meters answer, all ID digits fixed; tell them apart. */
static int sec_group(struct scan_ctx *s, const struct sec_mask *g,
		     enum sec_phase phase)
{
	unsigned long x0 = sec_xfers(s);
	int r;

	for (; phase < PH_END; phase++) {
		if (sec_over(s, x0) || sec_explained(s, g))
			break;
		r = sec_phase_run(s, g, phase, x0);
		if (r)
			return r;
	}
	if (!s->stopped && !sec_explained(s, g))
		return sec_report_group(s, g, x0);
	return 0;
}

/* ---- the identification number ---- */

static bool sec_id_wild(const uint8_t *mask, unsigned int pos)
{
	return ((mask[pos / 2] >> (pos % 2 * 4)) & 0xf) == 0xf;
}

static void sec_id_set(uint8_t *mask, unsigned int pos, unsigned int v)
{
	uint8_t *b = &mask[pos / 2];

	if (pos % 2)
		*b = (uint8_t)((*b & 0x0f) | v << 4);
	else
		*b = (uint8_t)((*b & 0xf0) | v);
}

static int sec_node(struct scan_ctx *s, const struct sec_mask *mask,
		    unsigned int pos, bool many);

/*
 * Several slaves match @mask (@probed: a selection said so; otherwise it
 * was inferred from the siblings): try every value at the next wildcard
 * digit; with every digit fixed, split the group.
 */
static int sec_split(struct scan_ctx *s, const struct sec_mask *mask,
		     unsigned int pos, bool probed)
{
	struct sec_mask child = *mask;
	bool empty = true;
	unsigned int v;
	int r;

	while (pos < SEC_ID_NIBBLES && !sec_id_wild(mask->a, pos))
		pos++;
	if (pos == SEC_ID_NIBBLES) {
		if (!probed) {
			r = sec_probe(s, mask);
			if (r != SEC_MANY)
				return r;
		}
		r = sec_group(s, mask, PH_MFR_KNOWN);
		return r < 0 ? r : SEC_MANY;
	}
	for (v = 0; v < 10 && !s->stopped; v++) {
		sec_id_set(child.a, pos, v);
		/*
		 * If no other value matched anybody, the slaves that made
		 * the parent collide all have this one: no need to ask.
		 */
		r = sec_node(s, &child, pos + 1, empty && v == 9);
		if (r < 0)
			return r;
		if (r != SEC_NONE)
			empty = false;
	}
	return empty && !probed ? SEC_NONE : SEC_MANY;
}

/* Search the slaves matching @mask; @many: known to be several. */
static int sec_node(struct scan_ctx *s, const struct sec_mask *mask,
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

static bool sec_mask_valid(const uint8_t *mask)
{
	for (int i = 0; i < 4; i++) {
		unsigned int lo = mask[i] & 0x0f, hi = mask[i] >> 4;

		if ((lo > 9 && lo != 0xf) || (hi > 9 && hi != 0xf))
			return false;
	}
	return true;
}

NMBUS_API int nmbus_scan_secondary(struct nmbus_dev *dev,
				   const uint8_t *mask, struct nmbus_scan *scan)
{
	struct sec_mask m = { .fab = { 0xff, 0xff, 0xff, 0xff } };
	struct nmbus_dev_params saved;
	struct scan_ctx s;
	uint8_t tx[8];
	int ret;

	if (!dev || !scan || (mask && !sec_mask_valid(mask)))
		return -EINVAL;
	ret = scan_begin(&s, dev, scan, &saved);
	if (ret)
		return ret;
	s.recs = calloc(NMBUS_MAX_RECORDS, sizeof(*s.recs));
	if (!s.recs)
		return scan_end(&s, &saved, -ENOMEM);
	memset(m.a, 0xff, sizeof(m.a));
	if (mask)
		memcpy(m.a, mask, sizeof(m.a));
	ret = nmbus_dev_set_retries(dev, 0);
	if (!ret) {
		ret = sec_node(&s, &m, 0, false);
		ret = ret < 0 ? ret : 0;
	}
	/* Leave nobody selected; the answer does not matter. */
	if (!ret) {
		ret = scan_xfer(&s, tx, nmbus_build_snd_nke(tx, sizeof(tx),
						MBUS_ADDR_NETWORK));
		ret = ret < 0 ? ret : 0;
	}
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

	if (!dev || !max)
		return -EINVAL;
	recs = calloc(NMBUS_MAX_RECORDS, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	tx_len = nmbus_build_req_ud2(tx, sizeof(tx), 0, NMBUS_C_FCV);
	while (n < max) {
		st = nmbus_dev_xfer(dev, tx, (size_t)tx_len,
				    NMBUS_XFER_ADDRESSED | NMBUS_XFER_FCB,
				    rx, sizeof(rx), &rx_len);
		if (st < 0) {
			err = st;
			break;
		}
		if (st != NMBUS_STATUS_FRAME) {
			err = st == NMBUS_STATUS_TIMEOUT ? -ETIMEDOUT :
			      st == NMBUS_STATUS_ACK ? -EBADMSG : -EIO;
			break;
		}
		nmbus_decode(&f, rx, rx_len, recs, NMBUS_MAX_RECORDS);
		if (f.type != NMBUS_FRAME_LONG) {
			err = -EBADMSG;
			break;
		}
		if (cb && cb(rx, rx_len, n, arg)) {
			err = -ECANCELED;
			break;
		}
		n++;
		if (!f.more_records_follow)
			break;
	}
	free(recs);
	return err ? err : (int)n;
}
