// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * OBIS codes (IEC 62056-61) of decoded records: the generic mapping from
 * what EN 13757-3 says about a record (quantity, direction, phase) and the
 * medium of its frame, and the device tables that override it.
 *
 * Only codes the sources define are given; a record they do not cover
 * gets none. The sources, and why some records get nothing, are in
 * Documentation/library-guide.rst ("OBIS codes").
 */
#include "nmbus-internal.h"

/* Media with OBIS codes: value group A. */
enum obis_medium {
	OM_NONE,
	OM_ELECTRICITY,		/* medium 02h: A = 1 */
	OM_COLD_WATER,		/* medium 16h: A = 8 */
	OM_HOT_WATER,		/* media 06h, 15h: A = 9 */
};

/* What a record measures, from its VIF (EN 13757-3 tables 10, 12, 14). */
enum obis_quantity {
	GQ_NONE,
	GQ_ENERGY,		/* 00..07, FB 00..01: Wh */
	GQ_REACTIVE_ENERGY,	/* FB 02..03: varh */
	GQ_POWER,		/* 28..2F, FB 28..29: W */
	GQ_REACTIVE_POWER,	/* FB 14..17, FB 22: var */
	GQ_APPARENT_POWER,	/* FB 34..37: VA */
	GQ_VOLTAGE,		/* FD 40..4F */
	GQ_CURRENT,		/* FD 50..5F */
	GQ_FREQUENCY,		/* FB 2C..2F */
	GQ_VOLUME,		/* 10..17, FB 10..11: m3 */
	GQ_VOLUME_FLOW,		/* 38..4F */
	GQ_FLOW_TEMPERATURE,	/* 58..5B */
};

/*
 * Direction, from the combinable VIFEs 3Bh (accumulation of positive
 * contributions only, "forward flow") and 3Ch (negative only, "backward
 * flow"), and 7Ch 10h (of both, as absolute values).
 */
enum { GD_NONE, GD_FWD, GD_BACK, GD_ABS };

/* Phase, from the combinable VIFE extension 7Ch 01h..04h. */
enum { GP_NONE, GP_L1, GP_L2, GP_L3, GP_N };

/*
 * One generic rule: the record's medium class, quantity, direction and
 * phase, and its codes indexed by the tariff (E = tariff; @n_codes 1
 * means only the total, tariff 0, has a code).
 */
struct obis_rule {
	uint8_t medium;
	uint8_t quantity;
	uint8_t dir;
	uint8_t phase;
	uint8_t n_codes;
	const char *const *codes;
};

/* Value group E = 0..9, 0..63 after the prefix "A-B:C.D." */
#define E10(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", \
	       p "8", p "9"
#define E64(p) E10(p), E10(p "1"), E10(p "2"), E10(p "3"), E10(p "4"), \
	       E10(p "5"), p "60", p "61", p "62", p "63"
#define TARIFFS10(p) 10, (const char *const[]){ E10(p) }
#define TARIFFS64(p) 64, (const char *const[]){ E64(p) }
#define TOTAL(code) 1, (const char *const[]){ code }

#define ELEC(q, d, ph, codes) { OM_ELECTRICITY, GQ_##q, GD_##d, GP_##ph, codes }
#define COLD(q, codes) { OM_COLD_WATER, GQ_##q, GD_NONE, GP_NONE, codes }
#define HOT(q, codes) { OM_HOT_WATER, GQ_##q, GD_NONE, GP_NONE, codes }

/*
 * The generic rules. Electricity (IEC 62056-61 value group C): 1/2 active
 * +A/-A, 3/4 reactive +R/-R, 9/10 apparent +S/-S, 15 active |A|, 14
 * frequency, 31/32 current/voltage of L1; the same quantity of L1, L2 and
 * L3 is C + 20, + 40, + 60; 91 neutral current. D 8 is an energy (time
 * integral), D 7 an instantaneous value. Water (EN 13757-1, A 8 cold, 9
 * hot): C 1 accumulated volume, 2 flow rate, 3 flow temperature, D 0 the
 * current value.
 */
static const struct obis_rule obis_rules[] = {
	ELEC(ENERGY, FWD, NONE, TARIFFS64("1-0:1.8.")),
	ELEC(ENERGY, BACK, NONE, TARIFFS64("1-0:2.8.")),
	ELEC(ENERGY, ABS, NONE, TARIFFS64("1-0:15.8.")),
	ELEC(ENERGY, FWD, L1, TOTAL("1-0:21.8.0")),
	ELEC(ENERGY, FWD, L2, TOTAL("1-0:41.8.0")),
	ELEC(ENERGY, FWD, L3, TOTAL("1-0:61.8.0")),
	ELEC(ENERGY, BACK, L1, TOTAL("1-0:22.8.0")),
	ELEC(ENERGY, BACK, L2, TOTAL("1-0:42.8.0")),
	ELEC(ENERGY, BACK, L3, TOTAL("1-0:62.8.0")),
	ELEC(ENERGY, ABS, L1, TOTAL("1-0:35.8.0")),
	ELEC(ENERGY, ABS, L2, TOTAL("1-0:55.8.0")),
	ELEC(ENERGY, ABS, L3, TOTAL("1-0:75.8.0")),
	ELEC(REACTIVE_ENERGY, FWD, NONE, TARIFFS64("1-0:3.8.")),
	ELEC(REACTIVE_ENERGY, BACK, NONE, TARIFFS64("1-0:4.8.")),
	ELEC(REACTIVE_ENERGY, FWD, L1, TOTAL("1-0:23.8.0")),
	ELEC(REACTIVE_ENERGY, FWD, L2, TOTAL("1-0:43.8.0")),
	ELEC(REACTIVE_ENERGY, FWD, L3, TOTAL("1-0:63.8.0")),
	ELEC(REACTIVE_ENERGY, BACK, L1, TOTAL("1-0:24.8.0")),
	ELEC(REACTIVE_ENERGY, BACK, L2, TOTAL("1-0:44.8.0")),
	ELEC(REACTIVE_ENERGY, BACK, L3, TOTAL("1-0:64.8.0")),
	ELEC(POWER, FWD, NONE, TOTAL("1-0:1.7.0")),
	ELEC(POWER, BACK, NONE, TOTAL("1-0:2.7.0")),
	ELEC(POWER, ABS, NONE, TOTAL("1-0:15.7.0")),
	ELEC(POWER, FWD, L1, TOTAL("1-0:21.7.0")),
	ELEC(POWER, FWD, L2, TOTAL("1-0:41.7.0")),
	ELEC(POWER, FWD, L3, TOTAL("1-0:61.7.0")),
	ELEC(POWER, BACK, L1, TOTAL("1-0:22.7.0")),
	ELEC(POWER, BACK, L2, TOTAL("1-0:42.7.0")),
	ELEC(POWER, BACK, L3, TOTAL("1-0:62.7.0")),
	ELEC(POWER, ABS, L1, TOTAL("1-0:35.7.0")),
	ELEC(POWER, ABS, L2, TOTAL("1-0:55.7.0")),
	ELEC(POWER, ABS, L3, TOTAL("1-0:75.7.0")),
	ELEC(REACTIVE_POWER, FWD, NONE, TOTAL("1-0:3.7.0")),
	ELEC(REACTIVE_POWER, BACK, NONE, TOTAL("1-0:4.7.0")),
	ELEC(REACTIVE_POWER, FWD, L1, TOTAL("1-0:23.7.0")),
	ELEC(REACTIVE_POWER, FWD, L2, TOTAL("1-0:43.7.0")),
	ELEC(REACTIVE_POWER, FWD, L3, TOTAL("1-0:63.7.0")),
	ELEC(REACTIVE_POWER, BACK, L1, TOTAL("1-0:24.7.0")),
	ELEC(REACTIVE_POWER, BACK, L2, TOTAL("1-0:44.7.0")),
	ELEC(REACTIVE_POWER, BACK, L3, TOTAL("1-0:64.7.0")),
	ELEC(APPARENT_POWER, FWD, NONE, TOTAL("1-0:9.7.0")),
	ELEC(APPARENT_POWER, BACK, NONE, TOTAL("1-0:10.7.0")),
	ELEC(APPARENT_POWER, FWD, L1, TOTAL("1-0:29.7.0")),
	ELEC(APPARENT_POWER, FWD, L2, TOTAL("1-0:49.7.0")),
	ELEC(APPARENT_POWER, FWD, L3, TOTAL("1-0:69.7.0")),
	ELEC(APPARENT_POWER, BACK, L1, TOTAL("1-0:30.7.0")),
	ELEC(APPARENT_POWER, BACK, L2, TOTAL("1-0:50.7.0")),
	ELEC(APPARENT_POWER, BACK, L3, TOTAL("1-0:70.7.0")),
	ELEC(VOLTAGE, NONE, L1, TOTAL("1-0:32.7.0")),
	ELEC(VOLTAGE, NONE, L2, TOTAL("1-0:52.7.0")),
	ELEC(VOLTAGE, NONE, L3, TOTAL("1-0:72.7.0")),
	ELEC(CURRENT, NONE, L1, TOTAL("1-0:31.7.0")),
	ELEC(CURRENT, NONE, L2, TOTAL("1-0:51.7.0")),
	ELEC(CURRENT, NONE, L3, TOTAL("1-0:71.7.0")),
	ELEC(CURRENT, NONE, N, TOTAL("1-0:91.7.0")),
	ELEC(FREQUENCY, NONE, NONE, TOTAL("1-0:14.7.0")),
	COLD(VOLUME, TARIFFS10("8-0:1.0.")),
	COLD(VOLUME_FLOW, TOTAL("8-0:2.0.0")),
	COLD(FLOW_TEMPERATURE, TOTAL("8-0:3.0.0")),
	HOT(VOLUME, TARIFFS10("9-0:1.0.")),
	HOT(VOLUME_FLOW, TOTAL("9-0:2.0.0")),
	HOT(FLOW_TEMPERATURE, TOTAL("9-0:3.0.0")),
};

static uint8_t obis_medium(const struct nmbus_header *h)
{
	if (!h->has_address)
		return OM_NONE;
	switch (h->medium) {
	case 0x02: return OM_ELECTRICITY;
	case 0x16: return OM_COLD_WATER;
	case 0x06: case 0x15: return OM_HOT_WATER;
	default: return OM_NONE;	/* 07h "water" says neither */
	}
}

static uint8_t quantity_primary(uint8_t vif)
{
	if (vif <= 0x07)
		return GQ_ENERGY;
	if (vif >= 0x10 && vif <= 0x17)
		return GQ_VOLUME;
	if (vif >= 0x28 && vif <= 0x2f)
		return GQ_POWER;
	if (vif >= 0x38 && vif <= 0x4f)
		return GQ_VOLUME_FLOW;
	if (vif >= 0x58 && vif <= 0x5b)
		return GQ_FLOW_TEMPERATURE;
	return GQ_NONE;
}

static uint8_t quantity_fb(uint8_t e)
{
	if (e <= 0x01)
		return GQ_ENERGY;
	if (e <= 0x03)
		return GQ_REACTIVE_ENERGY;
	if (e == 0x10 || e == 0x11)
		return GQ_VOLUME;
	if ((e >= 0x14 && e <= 0x17) || e == 0x22)
		return GQ_REACTIVE_POWER;
	if (e == 0x28 || e == 0x29)
		return GQ_POWER;
	if (e >= 0x2c && e <= 0x2f)
		return GQ_FREQUENCY;
	if (e >= 0x34 && e <= 0x37)
		return GQ_APPARENT_POWER;
	return GQ_NONE;
}

/* The quantity of @r; *first_orth is set to its first combinable VIFE. */
static uint8_t obis_quantity(const struct nmbus_record *r,
			     unsigned int *first_orth)
{
	uint8_t vif = r->vif & 0x7f, e;

	*first_orth = 0;
	if (vif != 0x7b && vif != 0x7d)
		return quantity_primary(vif);
	if (!r->n_vife)
		return GQ_NONE;
	*first_orth = 1;
	e = r->vife[0] & 0x7f;
	if (vif == 0x7b)
		return quantity_fb(e);
	if (e >= 0x40 && e <= 0x4f)
		return GQ_VOLTAGE;
	if (e >= 0x50 && e <= 0x5f)
		return GQ_CURRENT;
	return GQ_NONE;
}

/*
 * Direction and phase from the combinable VIFEs from @k on. Any other
 * VIFE (a limit, a duration, "per hour", a correction, a record error,
 * a manufacturer's) makes the record something else: -1. So does a
 * direction or phase given twice, or one the sources give no code for
 * (between two phases).
 */
static int obis_qualifiers(const struct nmbus_record *r, unsigned int k,
			   uint8_t *dir, uint8_t *phase)
{
	*dir = GD_NONE;
	*phase = GP_NONE;
	for (unsigned int i = k; i < r->n_vife; i++) {
		uint8_t c = r->vife[i] & 0x7f, x;

		if (c == 0x00)		/* record error: none */
			continue;
		if ((c == 0x3b || c == 0x3c) && *dir == GD_NONE) {
			*dir = c == 0x3b ? GD_FWD : GD_BACK;
			continue;
		}
		if (c != 0x7c || i + 1 >= r->n_vife)
			return -1;
		x = r->vife[++i] & 0x7f;
		if (x >= 0x01 && x <= 0x04 && *phase == GP_NONE)
			*phase = GP_L1 + (x - 0x01);
		else if (x == 0x10 && *dir == GD_NONE)
			*dir = GD_ABS;
		else
			return -1;
	}
	return 0;
}

/* The generic mapping; NULL where no rule gives a code. */
static const char *obis_generic(const struct nmbus_frame *f,
				const struct nmbus_record *r)
{
	uint8_t medium = obis_medium(&f->header), q, dir, phase;
	unsigned int k;

	if (medium == OM_NONE || r->kind != NMBUS_RECORD_DATA ||
	    r->storage || r->subunit || r->function != NMBUS_FUNC_INSTANT ||
	    (r->dif & 0x0f) == 0x00 || (r->dif & 0x0f) == 0x08)
		return NULL;
	q = obis_quantity(r, &k);
	if (q == GQ_NONE || obis_qualifiers(r, k, &dir, &phase))
		return NULL;
	for (unsigned int i = 0; i < ARRAY_SIZE(obis_rules); i++) {
		const struct obis_rule *o = &obis_rules[i];

		if (o->medium == medium && o->quantity == q &&
		    o->dir == dir && o->phase == phase)
			return r->tariff < o->n_codes ? o->codes[r->tariff] :
							NULL;
	}
	return NULL;
}

bool nmbus_frame_may_have_obis(const struct nmbus_frame *f)
{
	return nmbus_is_cmi1020(&f->header) ||
	       obis_medium(&f->header) != OM_NONE;
}

NMBUS_API const char *nmbus_record_obis(const struct nmbus_frame *f,
					const struct nmbus_record *r)
{
	if (!f || !r)
		return NULL;
	/* A device table is the whole truth for its device. */
	if (nmbus_is_cmi1020(&f->header))
		return nmbus_cmi1020_obis(f, r);
	return obis_generic(f, r);
}
