// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-sim core: simulated M-Bus meters (see sim-core.h)
 *
 * Each meter implements what the seed documents describe: primary,
 * point-to-point (254), broadcast (255) and secondary (253, selection with
 * CI 52 and wildcards) addressing; SND_NKE; REQ_UD2 with the FCB/FCV
 * repeat-or-next rule and multi-telegram readouts (DIF 1F); SND_UD with
 * CI 51 (primary and secondary address, date and time, readout selection,
 * freeze, Elvaco commands), CI 50 and the baud switch CI B8..BF (ACK at
 * the old rate, then switch); wake-up preambles for battery meters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim-core.h"

#define C_FUNC_MASK		0x4f	/* C without FCB and FCV */
#define ADDR_ANY		MBUS_ADDR_TEST
#define VIF_EXT			0x80
#define DIF_EXT			0x80

/*
 * Elvaco CMi1020 disconnector status (seed 004, table 5): EEPROM setting
 * on (bits 7,6 = 01), push-button turn-on and turn-off enabled (01, 01),
 * actual status on (01).
 */
#define ELVACO_DISCONNECTOR_ON	0x55

#define BITS_PER_CHAR		11	/* start, 8 data, even parity, stop */

/* ---- bus and meters ----------------------------------------------------- */

/* xorshift64*: small, seedable, good enough for IDs and skews. */
uint32_t sim_random(struct sim_bus *bus)
{
	uint64_t x = bus->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	bus->rng = x;
	return (x * UINT64_C(2685821657736338717)) >> 32;
}

void sim_bus_init(struct sim_bus *bus, unsigned int baud, uint64_t seed)
{
	memset(bus, 0, sizeof(*bus));
	bus->baud = baud;
	bus->max_skew = 4;
	bus->rng = seed ? seed : 1;
	mbus_parser_init(&bus->parser);
}

void sim_meter_reset(struct sim_meter *m)
{
	m->fcb_seen = false;
	m->fcb = false;
	m->telegram = 0;
	m->last_len = 0;
}

struct sim_meter *sim_bus_add(struct sim_bus *bus,
			      const struct sim_profile *p)
{
	struct sim_meter *m;
	int code = nmbus_manufacturer_code(p->manufacturer);

	if (bus->nmeters == SIM_METERS_MAX)
		return NULL;
	m = &bus->meters[bus->nmeters++];
	memset(m, 0, sizeof(*m));
	m->profile = p;
	m->manufacturer = code < 0 ? 0 : code;
	m->version = p->version;
	m->medium = p->medium;
	m->baud = p->baud;
	m->wakeup = p->wakeup;
	m->wake_pause_ms = p->wake_pause_ms;
	m->telegrams = p->telegrams ? p->telegrams : 1;
	if (p->elvaco)
		m->disconnector = ELVACO_DISCONNECTOR_ON;
	return m;
}

void sim_meter_secaddr(const struct sim_meter *m, uint8_t addr[8])
{
	nmbus_bcd_encode(addr, 8, m->id);
	addr[4] = m->manufacturer & 0xff;
	addr[5] = m->manufacturer >> 8;
	addr[6] = m->version;
	addr[7] = m->medium;
}

void sim_meter_fabrication(const struct sim_meter *m, uint8_t fab[4])
{
	nmbus_bcd_encode(fab, 8, m->fabrication ? m->fabrication : m->id);
}

/* ---- telegrams ----------------------------------------------------------- */

static bool row_present(const struct sim_meter *m, const struct sim_row *row)
{
	unsigned int bit = m->version - m->profile->vbase;

	return !row->versions || (bit < 16 && (row->versions >> bit & 1));
}

/* Fill in the values that depend on the meter or the clock. */
static void row_value(const struct sim_bus *bus, const struct sim_meter *m,
		      struct nmbus_build_record *rec)
{
	time_t now = bus->now ? bus->now : time(NULL);

	if (rec->drh[0] == 0x0c && rec->drh[1] == 0x78)
		rec->i = m->fabrication ? m->fabrication : m->id;
	if (m->profile->elvaco && !memcmp(rec->drh, "\x01\xfd\x1a", 3))
		rec->i = m->disconnector;
	if (rec->type == NMBUS_BUILD_DATE && !rec->tm.tm_mday)
		gmtime_r(&now, &rec->tm);
}

/* CALEC ST II storage numbers (seed 000, 3.2.2 - 3.2.4). */
#define STORAGE_FREEZE		31
#define STORAGE_LOGGER		100

/*
 * The rows of the history telegram the readout selection chose and the
 * age @k of its values (due day k, logger k; 0: the frozen, current
 * values). False when the meter holds no such data: it then sends the
 * empty telegram, as the CALEC ST II does (3.2.5).
 */
static bool history_rows(const struct sim_meter *m,
			 const struct sim_row **rows, size_t *n,
			 unsigned int *k)
{
	const struct sim_profile *p = m->profile;
	uint32_t s = m->storage;

	if (p->due_day_rows && s >= 1 && s <= p->due_days) {
		*rows = p->due_day_rows;
		*n = p->n_due_day_rows;
		*k = s;
		return true;
	}
	if (!p->logger_rows)
		return false;
	*rows = p->logger_rows;
	*n = p->n_logger_rows;
	if (s == STORAGE_FREEZE && m->frozen) {
		*k = 0;
		return true;
	}
	if (s >= STORAGE_LOGGER && s < STORAGE_LOGGER + p->loggers) {
		*k = s - STORAGE_LOGGER + 1;
		return true;
	}
	return false;
}

/*
 * Give a history row the selected @storage (its DIF and DIFEs encoded
 * again, function, tariff and subunit kept) and values @k steps older:
 * counters 1000 less per step, due-day dates a year, logger dates a day
 * earlier per step.
 */
static void restamp(struct nmbus_build_record *rec, uint64_t storage,
		    unsigned int k)
{
	uint8_t drh[NMBUS_DRH_MAX] = { 0 };
	const uint8_t *d = rec->drh;
	unsigned int i = 0, j, tariff = 0, subunit = 0;
	int len;

	while ((d[i] & DIF_EXT) && i + 1 < 11) {
		i++;
		tariff |= (d[i] >> 4 & 3) << (2 * (i - 1));
		subunit |= (d[i] >> 6 & 1) << (i - 1);
	}
	j = ++i;
	while (j < NMBUS_DRH_MAX && (d[j++] & VIF_EXT))
		;
	len = nmbus_encode_dib(drh, sizeof(drh), d[0] & 0x0f, d[0] >> 4 & 3,
			       storage, tariff, subunit);
	if (len < 0 || len + (j - i) > NMBUS_DRH_MAX)
		return;
	memcpy(drh + len, d + i, j - i);
	memcpy(rec->drh, drh, sizeof(drh));
	if (rec->type == NMBUS_BUILD_INT && rec->i > 1000 * (int64_t)k)
		rec->i -= 1000 * (int64_t)k;
	if (rec->type == NMBUS_BUILD_DATE && rec->tm.tm_mday &&
	    rec->tm.tm_year >= 0 && k > 1) {
		if (storage < STORAGE_LOGGER)
			rec->tm.tm_year -= k - 1;
		else
			rec->tm.tm_mday -= k - 1;
		timegm(&rec->tm);	/* normalise the day */
	}
}

/*
 * The records of a readout: the profile's rows for this device version,
 * or after a readout selection of another storage than 0 the history
 * telegram's (none if the meter holds no such data: the empty telegram).
 * Copies them to @recs unless NULL; returns their number.
 */
static size_t meter_rows(const struct sim_meter *m,
			 struct nmbus_build_record *recs)
{
	const struct sim_profile *p = m->profile;
	const struct sim_row *rows = p->rows;
	size_t i, n = 0, nrows = p->nrows;
	unsigned int k = 0;

	if (m->storage && !history_rows(m, &rows, &nrows, &k))
		return 0;
	if (!m->storage && m->service && p->service_rows) {
		rows = p->service_rows;
		nrows = p->n_service_rows;
	}
	for (i = 0; i < nrows && n < SIM_ROWS_MAX; i++) {
		if (!row_present(m, &rows[i]))
			continue;
		if (recs) {
			recs[n] = rows[i].rec;
			if (m->storage)
				restamp(&recs[n], m->storage, k);
		}
		n++;
	}
	return n;
}

/* Telegrams in a readout: the rows split evenly, at least one each. */
static unsigned int telegram_count(const struct sim_meter *m, size_t nrows)
{
	if (!nrows)
		return 1;
	return m->telegrams < nrows ? m->telegrams : nrows;
}

/* Telegram @t of the readout; the last one ends with 0F if the profile says. */
static int build_telegram(const struct sim_bus *bus, struct sim_meter *m,
			  unsigned int t, uint8_t *out, size_t size)
{
	struct nmbus_build_record recs[SIM_ROWS_MAX + 1];
	struct nmbus_rsp_header hdr = {
		.id = m->id, .manufacturer = m->manufacturer,
		.version = m->version, .medium = m->medium,
		.access = m->access, .status = m->status,
	};
	size_t n = meter_rows(m, recs), first, last, i;
	unsigned int ntel = telegram_count(m, n);

	t %= ntel;
	first = t * n / ntel;
	last = (t + 1) * n / ntel;
	for (i = first; i < last; i++)
		row_value(bus, m, &recs[i]);
	if (t + 1 == ntel && m->profile->end_marker)
		recs[last++] = (struct nmbus_build_record){
			.drh = { NMBUS_DIF_MANUFACTURER },
		};
	return nmbus_build_rsp_ud(out, size, NMBUS_C_RSP_UD, m->addr, &hdr,
				  recs + first, last - first, t + 1 < ntel);
}

/* REQ_UD2: a new telegram, or the last one again if the FCB did not toggle. */
static int meter_req_ud2(const struct sim_bus *bus, struct sim_meter *m,
			 uint8_t c, uint8_t *out, size_t size)
{
	bool fcv = c & NMBUS_C_FCV, fcb = c & NMBUS_C_FCB;
	int len;

	if (m->profile->ignores_fcb) {
		fcv = false;
		m->telegram = 0;
	} else if (fcv && m->fcb_seen && fcb == m->fcb && m->last_len) {
		memcpy(out, m->last, m->last_len);
		return m->last_len;
	} else if (fcv && m->fcb_seen && m->last_len) {
		/* The last telegram came through: the next one. */
		m->telegram = (m->telegram + 1) %
			      telegram_count(m, meter_rows(m, NULL));
	}
	if (fcv) {
		m->fcb_seen = true;
		m->fcb = fcb;
	}
	m->access++;
	len = build_telegram(bus, m, m->telegram, out, size);
	if (len < 0)
		return 0;
	memcpy(m->last, out, len);
	m->last_len = len;
	return len;
}

/* A request as the meters see it (parse_request()). */
struct request {
	const uint8_t *frame;		/* the whole frame */
	size_t frame_len;
	uint8_t c;
	uint8_t a;
	bool is_long;
	uint8_t ci;
	const uint8_t *data;		/* after the CI */
	size_t len;
};

/* ---- SND_UD ---------------------------------------------------------------- */

static uint32_t bcd_value(const uint8_t *p, size_t n, bool *ok)
{
	uint32_t v = 0;

	*ok = true;
	while (n--) {
		if ((p[n] >> 4) > 9 || (p[n] & 0x0f) > 9)
			*ok = false;
		v = v * 100 + (p[n] >> 4) * 10 + (p[n] & 0x0f);
	}
	return v;
}

/* Elvaco CMi1020 command bytes (its manual, 6.7.8 - 6.7.23). */
static bool elvaco_command_known(uint8_t cmd)
{
	return cmd <= 0x06 || (cmd >= 0x21 && cmd <= 0x29);
}

/*
 * Elvaco CMi1020 disconnector control (seed 004, 6.7.8): each two-bit
 * field of bits 7..2 that is 01 or 10 replaces the status's; 00 leaves it
 * and 11 is "don't care". The actual state (bits 1,0) follows the EEPROM
 * setting at once (the module takes some 10 s to pulse it).
 */
static void elvaco_disconnector(struct sim_meter *m, uint8_t ctl)
{
	for (unsigned int shift = 2; shift <= 6; shift += 2) {
		unsigned int f = ctl >> shift & 3;

		if (f == 1 || f == 2)
			m->disconnector = (m->disconnector &
					   ~(3u << shift)) | f << shift;
	}
	m->disconnector = (m->disconnector & ~3u) | (m->disconnector >> 6 & 3);
}

/*
 * Apply record @r of the SND_UD CI 51 @f; false if the meter cannot
 * execute it (no ACK). DIF 0Fh, 1Fh and 7Fh take the rest of the data:
 * Elvaco commands.
 */
static bool meter_apply_record(struct sim_meter *m, const struct nmbus_frame *f,
			       const struct nmbus_record *r)
{
	const uint8_t *data = f->buf + r->data_offset;
	unsigned int df = r->dif & 0x0f;
	uint8_t vif = r->vif;
	bool ok = true;

	if (r->kind != NMBUS_RECORD_DATA)
		return m->profile->elvaco && r->offset + 1u < f->data_end &&
		       elvaco_command_known(f->buf[r->offset + 1]);
	if (r->dif == 0x01 && vif == 0x7a) {		/* primary address */
		if (data[0] > MBUS_ADDR_PRIMARY_MAX)
			return false;
		m->addr = data[0];
	} else if (r->dif == 0x0c && vif == 0x79) {	/* identification */
		uint32_t id = bcd_value(data, 4, &ok);

		if (ok)
			m->id = id;
	} else if (r->dif == 0x01 && r->n_vife == 1 && vif == 0xfd &&
		   r->vife[0] == 0x1a) {		/* digital output */
		if (!m->profile->elvaco)
			return false;
		elvaco_disconnector(m, data[0]);
	} else if (df == 0x00 && r->n_vife == 1 && vif == 0xfe &&
		   r->vife[0] == 0x0b) {		/* freeze */
		m->frozen = true;
	} else if (df == 0x08) {			/* readout selection */
		if (vif != 0x7e && vif != 0x7f)
			return false;
		m->storage = r->storage;
		m->service = vif == 0x7f;
		m->telegram = 0;
		m->last_len = 0;
	}
	/* date/time, freeze and the rest: accepted as they are */
	return ok;
}

/*
 * The records of the SND_UD CI 51 @frame (@len bytes), located by
 * libnmbus's decoder and applied in order: false (no ACK) at the first
 * the meter cannot execute or that is malformed, those before it applied.
 */
static bool meter_data_send(struct sim_meter *m, const uint8_t *frame,
			    size_t len)
{
	struct nmbus_record recs[MBUS_FRAME_MAX];	/* >= 1 byte each */
	struct nmbus_frame f;
	int rc = nmbus_decode(&f, frame, len, recs, ARRAY_SIZE(recs));

	for (unsigned int i = 0; i < f.n_records; i++) {
		if (!meter_apply_record(m, &f, &recs[i]))
			return false;
		if (recs[i].kind != NMBUS_RECORD_DATA)
			return true;
	}
	return rc == 0;
}

static bool meter_set_baud(struct sim_meter *m, uint8_t ci,
			   unsigned int *new_baud)
{
	unsigned int bit = 1u << (ci - NMBUS_CI_BAUD_300);

	if (m->profile->baud_nop_codes & bit)
		return true;
	if (!(m->profile->baud_codes & bit))
		return false;
	m->baud = nmbus_ci_to_baud(ci);
	*new_baud = m->baud;
	return true;
}

static bool meter_snd_ud(struct sim_meter *m, const struct request *rq,
			 unsigned int *new_baud)
{
	uint8_t ci = rq->ci;

	if (ci == NMBUS_CI_APP_RESET) {
		sim_meter_reset(m);
		m->storage = 0;
		m->service = false;
		return true;
	}
	if (ci == NMBUS_CI_DATA_SEND)
		return meter_data_send(m, rq->frame, rq->frame_len);
	if (nmbus_ci_to_baud(ci) && !rq->len)
		return meter_set_baud(m, ci, new_baud);
	return false;
}

/* ---- addressing --------------------------------------------------------- */

/* Whether the meter takes a request to @a; broadcasts are taken too. */
static bool meter_addressed(const struct sim_meter *m, uint8_t a)
{
	return a == m->addr || a == ADDR_ANY || a == MBUS_ADDR_BROADCAST ||
	       (a == MBUS_ADDR_NETWORK && m->selected);
}

static bool fab_match(const uint8_t *mask, const uint8_t *fab)
{
	for (int i = 0; i < 4; i++)
		for (int sh = 0; sh <= 4; sh += 4)
			if ((mask[i] >> sh & 0x0f) != 0x0f &&
			    (mask[i] >> sh & 0x0f) != (fab[i] >> sh & 0x0f))
				return false;
	return true;
}

/*
 * CI 52: a mask of 0..8 bytes (EN 13757-3: F nibbles in the ID, FFFFh
 * manufacturer, FFh version and medium; lenient meters take any F
 * nibble), or the enhanced selection: 8 bytes and the record 0C 78 with
 * the fabrication number.
 */
static bool meter_select(const struct sim_bus *bus, struct sim_meter *m,
			 const struct request *rq)
{
	bool lenient = m->lenient || bus->lenient;
	size_t len = rq->len;
	uint8_t addr[8], fab[4];

	sim_meter_secaddr(m, addr);
	if (len == 14 && rq->data[8] == 0x0c && rq->data[9] == 0x78) {
		sim_meter_fabrication(m, fab);
		len = fab_match(rq->data + 10, fab) ? 8 : 5;
	}
	m->selected = len <= 8 && len != 5 &&
		      (lenient ? nmbus_secaddr_match_lenient(rq->data, len,
							     addr)
			       : nmbus_secaddr_match(rq->data, len, addr));
	if (m->selected)
		sim_meter_reset(m);
	return m->selected;
}

/*
 * One meter's answer to @rq: the reply's length in @out (1 for an ACK),
 * or 0 when it stays silent.
 */
static int meter_handle(const struct sim_bus *bus, struct sim_meter *m,
			const struct request *rq, uint8_t *out, size_t size,
			unsigned int *new_baud)
{
	uint8_t func = rq->c & C_FUNC_MASK;
	bool ack = false;

	if (rq->is_long && func == NMBUS_C_SND_UD && rq->ci == NMBUS_CI_SELECT &&
	    rq->a == MBUS_ADDR_NETWORK) {
		ack = meter_select(bus, m, rq);
	} else if (!meter_addressed(m, rq->a)) {
		return 0;
	} else if (!rq->is_long && func == NMBUS_C_SND_NKE) {
		sim_meter_reset(m);
		m->selected = false;
		ack = true;
	} else if (!rq->is_long && func == NMBUS_C_REQ_UD2) {
		if (rq->a == MBUS_ADDR_BROADCAST)
			return 0;
		return meter_req_ud2(bus, m, rq->c, out, size);
	} else if (!rq->is_long && func == NMBUS_C_REQ_UD1) {
		ack = true;		/* no alarm data: ACK */
	} else if (rq->is_long && func == NMBUS_C_SND_UD) {
		ack = meter_snd_ud(m, rq, new_baud);
		/*
		 * The FCB alternates per exchange with this slave, SND_UD
		 * and REQ_UD2 alike (EN 13757-2): a REQ_UD2 after a SND_UD
		 * carries the other FCB and asks for new data.
		 */
		if (ack && (rq->c & NMBUS_C_FCV) &&
		    rq->ci == NMBUS_CI_DATA_SEND) {
			m->fcb_seen = true;
			m->fcb = rq->c & NMBUS_C_FCB;
		}
	}
	if (!ack || rq->a == MBUS_ADDR_BROADCAST)
		return 0;
	return nmbus_build_ack(out, size);
}

static bool meter_awake(const struct sim_meter *m, unsigned int wake_run,
			uint64_t gap_us)
{
	if (!m->wakeup)
		return true;
	return wake_run >= m->wakeup &&
	       gap_us >= (uint64_t)m->wake_pause_ms * 1000;
}

/* ---- collisions ------------------------------------------------------------ */

/* Level of stream @s at bit time @t (1 = mark/idle, 0 = space). */
static int stream_bit(const uint8_t *s, size_t len, unsigned int skew,
		      size_t t)
{
	size_t q, byte;
	unsigned int bit;

	if (t < skew)
		return 1;
	q = t - skew;
	byte = q / BITS_PER_CHAR;
	bit = q % BITS_PER_CHAR;
	if (byte >= len)
		return 1;
	if (bit == 0)
		return 0;				/* start */
	if (bit <= 8)
		return s[byte] >> (bit - 1) & 1;	/* data, LSB first */
	if (bit == 9)
		return __builtin_parity(s[byte]);	/* even parity */
	return 1;					/* stop */
}

static int line_bit(const uint8_t *const *streams, const size_t *lens,
		    const unsigned int *skew, unsigned int n, size_t t)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!stream_bit(streams[i], lens[i], skew[i], t))
			return 0;			/* space dominates */
	return 1;
}

size_t sim_collide(const uint8_t *const *streams, const size_t *lens,
		   const unsigned int *skew, unsigned int n, uint8_t *out,
		   size_t size)
{
	return sim_collide_parity(streams, lens, skew, n, out, NULL, size);
}

size_t sim_collide_parity(const uint8_t *const *streams, const size_t *lens,
			  const unsigned int *skew, unsigned int n,
			  uint8_t *out, bool *perr, size_t size)
{
	size_t t = 0, end = 0, len = 0;
	unsigned int i, b;

	for (i = 0; i < n; i++) {
		size_t e = skew[i] + lens[i] * BITS_PER_CHAR;

		if (e > end)
			end = e;
	}
	/* a UART: wait for a start bit, sample 8 data bits, skip the rest */
	while (t < end && len < size) {
		uint8_t byte = 0;

		if (line_bit(streams, lens, skew, n, t)) {
			t++;
			continue;
		}
		for (b = 0; b < 8; b++)
			byte |= line_bit(streams, lens, skew, n, t + 1 + b) << b;
		if (perr)
			perr[len] = line_bit(streams, lens, skew, n, t + 9) !=
				    __builtin_parity(byte);
		out[len++] = byte;
		t += BITS_PER_CHAR;
	}
	return len;
}

/* ---- requests --------------------------------------------------------------- */

static bool parse_request(const uint8_t *f, size_t len, struct request *rq)
{
	enum mbus_frame_type type;

	if (mbus_frame_check(f, len, &type) != MBUS_EV_FRAME)
		return false;
	memset(rq, 0, sizeof(*rq));
	rq->frame = f;
	rq->frame_len = len;
	if (type == MBUS_FRAME_TYPE_SHORT) {
		rq->c = f[1];
		rq->a = f[2];
		return true;
	}
	if (type != MBUS_FRAME_TYPE_CONTROL && type != MBUS_FRAME_TYPE_LONG)
		return false;
	rq->is_long = true;
	rq->c = f[4];
	rq->a = f[5];
	rq->ci = f[6];
	rq->data = f + 7;
	rq->len = f[1] - 3;
	return true;
}

/* What a meter at another baud rate puts on the line: noise. */
static size_t garbage(struct sim_bus *bus, const struct sim_meter *m,
		      size_t len, uint8_t *out)
{
	size_t n = len * bus->baud / m->baud, i;

	n = n ? n : 1;
	n = n < MBUS_FRAME_MAX ? n : MBUS_FRAME_MAX;
	for (i = 0; i < n; i++)
		out[i] = sim_random(bus);
	return n;
}

/*
 * Per-request scratch: each answering meter's bytes. Beyond
 * ANSWERS_MAX responders the last slot is reused: the line is garbage
 * long before that.
 */
#define ANSWERS_MAX	64

struct answers {
	uint8_t buf[ANSWERS_MAX][MBUS_FRAME_MAX];
	const uint8_t *streams[ANSWERS_MAX];
	size_t lens[ANSWERS_MAX];
	unsigned int skew[ANSWERS_MAX];
	unsigned int n;
	unsigned int total;
};

static void combine(struct sim_bus *bus, struct answers *a,
		    struct sim_reply *reply)
{
	static bool perr[SIM_REPLY_MAX];
	unsigned int i;

	reply->responders = a->total;
	if (a->n == 1) {
		memcpy(reply->data, a->streams[0], a->lens[0]);
		reply->len = a->lens[0];
		return;
	}
	for (i = 0; i < a->n; i++)
		a->skew[i] = i && bus->max_skew ?
			     1 + sim_random(bus) % bus->max_skew : 0;
	reply->len = sim_collide_parity(a->streams, a->lens, a->skew, a->n,
					reply->data, perr,
					sizeof(reply->data));
	for (i = 0; i < reply->len; i++)
		reply->parity_errors += perr[i];
	if (reply->parity_errors)
		snprintf(reply->note, sizeof(reply->note),
			 "collision of %u meters, %u parity errors",
			 a->total, reply->parity_errors);
	else
		snprintf(reply->note, sizeof(reply->note),
			 "collision of %u meters", a->total);
}

static void meter_answer(struct sim_bus *bus, struct sim_meter *m,
			 const struct request *rq, struct answers *a,
			 unsigned int *new_baud)
{
	unsigned int baud = 0;
	unsigned int slot = a->n < ANSWERS_MAX ? a->n : ANSWERS_MAX - 1;
	uint8_t *out = a->buf[slot];
	int len;

	len = meter_handle(bus, m, rq, out, MBUS_FRAME_MAX, &baud);
	if (len <= 0)
		return;
	if (m->baud != bus->baud && !baud) {
		if (bus->mismatch == SIM_MISMATCH_SILENT)
			return;
		len = garbage(bus, m, len, out);
	}
	if (baud)
		*new_baud = baud;
	a->streams[slot] = out;
	a->lens[slot] = len;
	a->n = slot + 1;
	a->total++;
}

void sim_bus_request(struct sim_bus *bus, const uint8_t *frame, size_t len,
		     unsigned int wake_run, uint64_t wake_gap_us,
		     struct sim_reply *reply)
{
	static struct answers a;
	struct request rq;
	unsigned int i;

	memset(reply, 0, sizeof(*reply));
	reply->request_len = len < sizeof(reply->request) ? len :
			     sizeof(reply->request);
	memcpy(reply->request, frame, reply->request_len);
	if (!parse_request(frame, len, &rq))
		return;
	a.n = 0;
	a.total = 0;
	for (i = 0; i < bus->nmeters; i++) {
		struct sim_meter *m = &bus->meters[i];
		/* a meter at another rate only hears garbage */
		bool hears = m->baud == bus->baud ||
			     bus->mismatch == SIM_MISMATCH_GARBAGE;

		if (hears && meter_awake(m, wake_run, wake_gap_us))
			meter_answer(bus, m, &rq, &a, &reply->new_baud);
	}
	if (a.n)
		combine(bus, &a, reply);
}

bool sim_bus_rx(struct sim_bus *bus, uint8_t byte, uint64_t now_us,
		struct sim_reply *reply)
{
	struct mbus_rx_event ev;
	bool done = false;

	if (!mbus_parser_pending(&bus->parser)) {
		if (byte == 0x55) {		/* wake-up preamble */
			bus->wake_run++;
			bus->wake_end_us = now_us;
			return false;
		}
		bus->frame_wake = bus->wake_run;
		bus->frame_gap_us = bus->wake_run ? now_us - bus->wake_end_us
						  : 0;
		bus->wake_run = 0;
	}
	if (!mbus_parser_push(&bus->parser, byte, MBUS_RX_NORMAL))
		return false;
	while (mbus_parser_step(&bus->parser, false, &ev) != MBUS_EV_NEED_MORE) {
		if (ev.type != MBUS_EV_FRAME || done)
			continue;
		sim_bus_request(bus, ev.data, ev.len, bus->frame_wake,
				bus->frame_gap_us, reply);
		done = true;
	}
	return done;
}

void sim_bus_flush(struct sim_bus *bus)
{
	struct mbus_rx_event ev;

	while (mbus_parser_step(&bus->parser, true, &ev) != MBUS_EV_NEED_MORE)
		;
}
