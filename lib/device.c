// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device knowledge from the project's seed documents: product names,
 * storage-number meanings, the Elvaco CMi1020 OBIS table and bus profiles
 * of devices that need special care; and rscada/libmbus's product list,
 * for its XML.
 */
#include <errno.h>
#include <strings.h>

#include "nmbus-internal.h"
#include "nmbus-devices.h"

#define ANY_MEDIUM 0xffff
#define OTHER_MEDIUM 0x00
#define ELECTRICITY 0x02
#define HOT_WATER 0x06
#define UNKNOWN_MEDIUM 0x0f

/* What the range of a device row is compared with. */
enum {
	BY_VERSION,
	BY_ID,		/* the ID's first two BCD digits (its top byte) */
};

/*
 * One product: manufacturer, a range of versions (or of the ID's top
 * byte), the medium it needs and its name. The first matching row of a
 * table wins.
 */
struct device_row {
	uint16_t manufacturer;
	uint8_t by;		/* BY_VERSION or BY_ID */
	uint8_t first, last;
	uint16_t medium;	/* ANY_MEDIUM or the medium code */
	const char *name;
};

/* The CMi1020's generation field (seed 004, 6.1 and 6.7.2.2). */
#define CMI1020_GEN_FIRST 0x01
#define CMI1020_GEN_LAST 0x09

#define VERSION(v) BY_VERSION, (v), (v)
#define VERSIONS(first, last) BY_VERSION, (first), (last)
#define ID_TOP(b) BY_ID, (b), (b)

/*
 * Seed devices: the Integra (AMT) CALEC ST II device versions (seed 000,
 * table 1) and the Elvaco CMi1020, the electricity module (seed 004):
 * "Generation = 01-09" (6.1) and, in the RSP_UD it sends, "0x00 Device
 * type / medium = electricity" (6.7.2.2). 00h is what a real module
 * sends; 02h, the standard's electricity, is taken too.
 */
static const struct device_row devices[] = {
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc0), ANY_MEDIUM,
	  "CALEC ST II Standard" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc1), ANY_MEDIUM,
	  "CALEC ST II Mass" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc2), ANY_MEDIUM,
	  "CALEC ST II Flow" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc3), ANY_MEDIUM,
	  "CALEC ST II Solar" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc4), ANY_MEDIUM,
	  "CALEC ST II BDE" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc5), ANY_MEDIUM,
	  "AMTRON X-50" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc6), ANY_MEDIUM,
	  "CALEC ST II AMBILL" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc7), ANY_MEDIUM,
	  "CALEC ST II TGR" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc8), ANY_MEDIUM,
	  "CALEC ST II BDV" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSION(0xc9), ANY_MEDIUM,
	  "CALEC ST II DTF" },
	{ NMBUS_MFR('E', 'L', 'V'), VERSIONS(CMI1020_GEN_FIRST,
					     CMI1020_GEN_LAST), OTHER_MEDIUM,
	  "Elvaco CMi1020" },
	{ NMBUS_MFR('E', 'L', 'V'), VERSIONS(CMI1020_GEN_FIRST,
					     CMI1020_GEN_LAST), ELECTRICITY,
	  "Elvaco CMi1020" },
};

/*
 * The product list of rscada/libmbus (mbus_data_product_name() at commit
 * f09d613, 2026-07), for the <ProductName> of the XML formats: libmbus's
 * names and matching, not ours. Its AMT rows cover every version, so a
 * CALEC ST II is "Aquametro CALEC ST" here; a CMi1020 has no name. SBC,
 * SEO and GTE products are told apart by the ID, not the version.
 */
static const struct device_row libmbus_products[] = {
	{ NMBUS_MFR('A', 'B', 'B'), VERSION(0x02), ANY_MEDIUM,
	  "ABB Delta-Meter" },
	{ NMBUS_MFR('A', 'B', 'B'), VERSION(0x20), ANY_MEDIUM,
	  "ABB B21 113-100" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x09), ANY_MEDIUM,
	  "Itron CF Echo 2" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x0a), ANY_MEDIUM,
	  "Itron CF 51" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x0b), ANY_MEDIUM,
	  "Itron CF 55" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x0e), ANY_MEDIUM,
	  "Itron BM +m" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x0f), ANY_MEDIUM,
	  "Itron CF 800" },
	{ NMBUS_MFR('A', 'C', 'W'), VERSION(0x14), ANY_MEDIUM,
	  "Itron CYBLE M-Bus 1.4" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSIONS(0xc0, 0xff), ANY_MEDIUM,
	  "Aquametro CALEC ST" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSIONS(0x80, 0xbf), ANY_MEDIUM,
	  "Aquametro CALEC MB" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSIONS(0x40, 0x7f), ANY_MEDIUM,
	  "Aquametro SAPHIR" },
	{ NMBUS_MFR('A', 'M', 'T'), VERSIONS(0x00, 0x3f), ANY_MEDIUM,
	  "Aquametro AMTRON" },
	{ NMBUS_MFR('B', 'E', 'C'), VERSION(0x00), ELECTRICITY,
	  "Berg DCMi" },
	{ NMBUS_MFR('B', 'E', 'C'), VERSION(0x07), ELECTRICITY,
	  "Berg BLMi" },
	{ NMBUS_MFR('B', 'E', 'C'), VERSION(0x71), UNKNOWN_MEDIUM,
	  "Berg BMB-10S0" },
	/* EFE version 0: hot water before any other medium. */
	{ NMBUS_MFR('E', 'F', 'E'), VERSION(0x00), HOT_WATER,
	  "Engelmann WaterStar" },
	{ NMBUS_MFR('E', 'F', 'E'), VERSION(0x00), ANY_MEDIUM,
	  "Engelmann / Elster SensoStar 2" },
	{ NMBUS_MFR('E', 'F', 'E'), VERSION(0x01), ANY_MEDIUM,
	  "Engelmann SensoStar 2C" },
	{ NMBUS_MFR('E', 'L', 'S'), VERSION(0x02), ANY_MEDIUM,
	  "Elster TMP-A" },
	{ NMBUS_MFR('E', 'L', 'S'), VERSION(0x0a), ANY_MEDIUM,
	  "Elster Falcon" },
	{ NMBUS_MFR('E', 'L', 'S'), VERSION(0x2f), ANY_MEDIUM,
	  "Elster F96 Plus" },
	{ NMBUS_MFR('E', 'L', 'V'), VERSIONS(0x14, 0x1d), ANY_MEDIUM,
	  "Elvaco CMa10" },
	{ NMBUS_MFR('E', 'L', 'V'), VERSIONS(0x32, 0x3b), ANY_MEDIUM,
	  "Elvaco CMa11" },
	{ NMBUS_MFR('E', 'M', 'H'), VERSION(0x00), ANY_MEDIUM,
	  "EMH DIZ" },
	{ NMBUS_MFR('E', 'M', 'U'), VERSION(0x10), ELECTRICITY,
	  "EMU Professional 3/75 M-Bus" },
	{ NMBUS_MFR('G', 'A', 'V'), VERSIONS(0x2d, 0x30), ELECTRICITY,
	  "Carlo Gavazzi EM24" },
	{ NMBUS_MFR('G', 'A', 'V'), VERSIONS(0x39, 0x3a), ELECTRICITY,
	  "Carlo Gavazzi EM21" },
	{ NMBUS_MFR('G', 'A', 'V'), VERSION(0x40), ELECTRICITY,
	  "Carlo Gavazzi EM33" },
	{ NMBUS_MFR('G', 'M', 'C'), VERSION(0xe6), ANY_MEDIUM,
	  "GMC-I A230 EMMOD 206" },
	{ NMBUS_MFR('H', 'Y', 'D'), VERSION(0x28), ANY_MEDIUM,
	  "ABB F95 Typ US770" },
	{ NMBUS_MFR('H', 'Y', 'D'), VERSION(0x2f), ANY_MEDIUM,
	  "Hydrometer Sharky 775" },
	{ NMBUS_MFR('J', 'A', 'N'), VERSION(0x09), ELECTRICITY,
	  "Janitza UMG 96S" },
	{ NMBUS_MFR('K', 'A', 'M'), VERSION(0x01), ANY_MEDIUM,
	  "Kamstrup 382 (6850-005)" },
	{ NMBUS_MFR('K', 'A', 'M'), VERSION(0x08), ANY_MEDIUM,
	  "Kamstrup Multical 601" },
	{ NMBUS_MFR('L', 'S', 'E'), VERSION(0x99), ANY_MEDIUM,
	  "Siemens WFH21" },
	{ NMBUS_MFR('L', 'U', 'G'), VERSION(0x02), ANY_MEDIUM,
	  "Landis & Gyr Ultraheat 2WR5" },
	{ NMBUS_MFR('L', 'U', 'G'), VERSION(0x03), ANY_MEDIUM,
	  "Landis & Gyr Ultraheat 2WR6" },
	{ NMBUS_MFR('L', 'U', 'G'), VERSION(0x04), ANY_MEDIUM,
	  "Landis & Gyr Ultraheat UH50" },
	{ NMBUS_MFR('L', 'U', 'G'), VERSION(0x07), ANY_MEDIUM,
	  "Landis & Gyr Ultraheat T230" },
	{ NMBUS_MFR('N', 'Z', 'R'), VERSION(0x01), ANY_MEDIUM,
	  "NZR DHZ 5/63" },
	{ NMBUS_MFR('N', 'Z', 'R'), VERSION(0x50), ANY_MEDIUM,
	  "NZR IC-M2" },
	{ NMBUS_MFR('R', 'A', 'M'), VERSION(0x03), ANY_MEDIUM,
	  "Rossweiner ETK/ETW Modularis" },
	{ NMBUS_MFR('R', 'E', 'L'), VERSION(0x08), ANY_MEDIUM,
	  "Relay PadPuls M1" },
	{ NMBUS_MFR('R', 'E', 'L'), VERSION(0x12), ANY_MEDIUM,
	  "Relay PadPuls M4" },
	{ NMBUS_MFR('R', 'E', 'L'), VERSION(0x20), ANY_MEDIUM,
	  "Relay Padin 4" },
	{ NMBUS_MFR('R', 'E', 'L'), VERSION(0x30), ANY_MEDIUM,
	  "Relay AnDi 4" },
	{ NMBUS_MFR('R', 'E', 'L'), VERSION(0x40), ANY_MEDIUM,
	  "Relay PadPuls M2" },
	{ NMBUS_MFR('R', 'K', 'E'), VERSION(0x69), ANY_MEDIUM,
	  "Ista sensonic II mbus" },
	{ NMBUS_MFR('S', 'B', 'C'), ID_TOP(0x10), ANY_MEDIUM,
	  "Saia-Burgess ALE3" },
	{ NMBUS_MFR('S', 'B', 'C'), ID_TOP(0x19), ANY_MEDIUM,
	  "Saia-Burgess ALE3" },
	{ NMBUS_MFR('S', 'B', 'C'), ID_TOP(0x11), ANY_MEDIUM,
	  "Saia-Burgess AWD3" },
	{ NMBUS_MFR('S', 'E', 'N'), VERSION(0x08), ANY_MEDIUM,
	  "Sensus PolluCom E" },
	{ NMBUS_MFR('S', 'E', 'N'), VERSION(0x19), ANY_MEDIUM,
	  "Sensus PolluCom E" },
	{ NMBUS_MFR('S', 'E', 'N'), VERSION(0x0b), ANY_MEDIUM,
	  "Sensus PolluTherm" },
	{ NMBUS_MFR('S', 'E', 'N'), VERSION(0x0e), ANY_MEDIUM,
	  "Sensus PolluStat E" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x30), ANY_MEDIUM,
	  "Sensoco PT100" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x41), ANY_MEDIUM,
	  "Sensoco 2-NTC" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x45), ANY_MEDIUM,
	  "Sensoco Laser Light" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x48), ANY_MEDIUM,
	  "Sensoco ADIO" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x51), ANY_MEDIUM,
	  "Sensoco THU" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x61), ANY_MEDIUM,
	  "Sensoco THU" },
	{ NMBUS_MFR('S', 'E', 'O'), ID_TOP(0x80), ANY_MEDIUM,
	  "Sensoco PulseCounter for E-Meter" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x30), ANY_MEDIUM,
	  "Sensoco PT100" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x41), ANY_MEDIUM,
	  "Sensoco 2-NTC" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x45), ANY_MEDIUM,
	  "Sensoco Laser Light" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x48), ANY_MEDIUM,
	  "Sensoco ADIO" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x51), ANY_MEDIUM,
	  "Sensoco THU" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x61), ANY_MEDIUM,
	  "Sensoco THU" },
	{ NMBUS_MFR('G', 'T', 'E'), ID_TOP(0x80), ANY_MEDIUM,
	  "Sensoco PulseCounter for E-Meter" },
	{ NMBUS_MFR('S', 'L', 'B'), VERSION(0x02), ANY_MEDIUM,
	  "Allmess Megacontrol CF-50" },
	{ NMBUS_MFR('S', 'L', 'B'), VERSION(0x06), ANY_MEDIUM,
	  "CF Compact / Integral MK MaXX" },
	{ NMBUS_MFR('S', 'O', 'N'), VERSION(0x0d), ANY_MEDIUM,
	  "Sontex Supercal 531" },
	{ NMBUS_MFR('S', 'P', 'X'), VERSION(0x31), ANY_MEDIUM,
	  "Sensus PolluTherm" },
	{ NMBUS_MFR('S', 'P', 'X'), VERSION(0x34), ANY_MEDIUM,
	  "Sensus PolluTherm" },
	{ NMBUS_MFR('S', 'V', 'M'), VERSION(0x08), ANY_MEDIUM,
	  "Elster F2 / Deltamess F2" },
	{ NMBUS_MFR('S', 'V', 'M'), VERSION(0x09), ANY_MEDIUM,
	  "Elster F4 / Kamstrup SVM F22" },
	{ NMBUS_MFR('T', 'C', 'H'), VERSION(0x26), ANY_MEDIUM,
	  "Techem m-bus S" },
	{ NMBUS_MFR('T', 'C', 'H'), VERSION(0x40), ANY_MEDIUM,
	  "Techem ultra S3" },
	{ NMBUS_MFR('W', 'Z', 'G'), VERSION(0x03), ANY_MEDIUM,
	  "Modularis ETW-EAX" },
	{ NMBUS_MFR('Z', 'R', 'M'), VERSION(0x81), ANY_MEDIUM,
	  "Minol Minocal C2" },
	{ NMBUS_MFR('Z', 'R', 'M'), VERSION(0x82), ANY_MEDIUM,
	  "Minol Minocal WR3" },
};

static const char *device_find(const struct device_row *t, size_t n,
			       const struct nmbus_header *h)
{
	uint8_t id_top = h->id >> 24;

	if (!h->has_address)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct device_row *d = &t[i];
		uint8_t v = d->by == BY_ID ? id_top : h->version;

		if (d->manufacturer == h->manufacturer &&
		    v >= d->first && v <= d->last &&
		    (d->medium == ANY_MEDIUM || d->medium == h->medium))
			return d->name;
	}
	return NULL;
}

bool nmbus_is_calec(const struct nmbus_header *h)
{
	return h->has_address && h->manufacturer == NMBUS_MFR('A', 'M', 'T') &&
	       h->version >= 0xc0 && h->version <= 0xc9;
}

bool nmbus_is_cmi1020(const struct nmbus_header *h)
{
	return h->has_address && h->manufacturer == NMBUS_MFR('E', 'L', 'V') &&
	       h->version >= CMI1020_GEN_FIRST &&
	       h->version <= CMI1020_GEN_LAST &&
	       (h->medium == OTHER_MEDIUM || h->medium == ELECTRICITY);
}

NMBUS_API const char *nmbus_device_name(const struct nmbus_header *h)
{
	return h ? device_find(devices, ARRAY_SIZE(devices), h) : NULL;
}

const char *nmbus_libmbus_product_name(const struct nmbus_header *h)
{
	return device_find(libmbus_products, ARRAY_SIZE(libmbus_products), h);
}

/* CALEC ST II telegrams (seed 000, 3.2): storage number ranges. */
#define CALEC_DUE_DAY_FIRST 1
#define CALEC_DUE_DAY_LAST 12

static const struct {
	uint16_t first, last;
	const char *name;
} calec_storage[] = {
	{ 0, 0, "current" },
	{ CALEC_DUE_DAY_FIRST, CALEC_DUE_DAY_LAST, "due day" },
	{ 31, 31, "freeze" },
	{ 100, 599, "logger" },
};

NMBUS_API const char *nmbus_record_storage_name(const struct nmbus_header *h,
						uint64_t storage)
{
	if (!h || !nmbus_is_calec(h))
		return NULL;
	for (unsigned int i = 0; i < ARRAY_SIZE(calec_storage); i++)
		if (storage >= calec_storage[i].first &&
		    storage <= calec_storage[i].last)
			return calec_storage[i].name;
	return NULL;
}

/*
 * A due-day telegram (seed 000, table 12) carries the day it stored, a
 * date (VIF 6Ch) with the due day's storage number; the service telegram
 * (table 15) numbers its mean values, deviations and event times 1..8
 * instead and holds no such date.
 */
static bool calec_due_day_date(const struct nmbus_frame *f, uint64_t storage)
{
	for (unsigned int i = 0; i < f->n_records; i++) {
		const struct nmbus_record *r = &f->records[i];

		if (r->kind == NMBUS_RECORD_DATA && r->vif == 0x6c &&
		    r->storage == storage)
			return true;
	}
	return false;
}

NMBUS_API const char *nmbus_frame_storage_name(const struct nmbus_frame *f,
					       const struct nmbus_record *r)
{
	const char *name;

	if (!f || !r)
		return NULL;
	name = nmbus_record_storage_name(&f->header, r->storage);
	if (name && r->storage >= CALEC_DUE_DAY_FIRST &&
	    r->storage <= CALEC_DUE_DAY_LAST &&
	    !calec_due_day_date(f, r->storage))
		return "index";
	return name;
}

/* What a CMi1020 record carries, from its VIF (seed 004, tables 5, 6). */
enum obis_class {
	OC_ENERGY = 1,		/* VIF 00..07 */
	OC_REACTIVE_ENERGY,	/* FB 02..03 */
	OC_POWER,		/* VIF 28..2F */
	OC_REACTIVE_POWER,	/* FB 02..03 with VIFE 22 "per hour" */
	OC_VOLTAGE,		/* FD 40..4F */
	OC_CURRENT,		/* FD 50..5F */
	OC_STOPS,		/* FD 75 */
	OC_ERROR_FLAGS,		/* FD 17 */
	OC_FABRICATION,		/* VIF 78 */
	OC_ENH_ID,		/* FD 0A */
	OC_FIRMWARE,		/* FD 0E */
	OC_PARAMSET,		/* FD 0B */
	OC_PLAIN,		/* 7C/FC with the row's text */
};

enum { DIR_NONE, DIR_FWD, DIR_BACK };

/*
 * One row of table 6, its OBIS code written in the IEC 62056-61 form
 * A-B:C.D.E that seed 003 uses: the E350's short codes with A-B 1-0
 * (electricity, channel 0) and E 0 where the E350 omits it; its letter
 * groups C and F are 96 and 97 (0-0:96.7.0 for C.7.0, 0-0:97.97.0 for the
 * error register F.F). C 128..199 stay as the E350 numbers them: the
 * standard leaves them to the manufacturer.
 */
struct obis_row {
	const char *obis;
	uint8_t cls;
	uint8_t dir;
	uint8_t tariff;
	uint8_t subunit;
	const char *text;	/* plain-text VIF, reading order */
};

static const struct obis_row obis_table[] = {
	{ "1-0:1.8.0", OC_ENERGY, DIR_FWD, 0, 0, NULL },
	{ "1-0:1.8.1", OC_ENERGY, DIR_FWD, 1, 0, NULL },
	{ "1-0:1.8.2", OC_ENERGY, DIR_FWD, 2, 0, NULL },
	{ "1-0:1.8.3", OC_ENERGY, DIR_FWD, 3, 0, NULL },
	{ "1-0:1.8.4", OC_ENERGY, DIR_FWD, 4, 0, NULL },
	{ "1-0:1.8.5", OC_ENERGY, DIR_FWD, 5, 0, NULL },
	{ "1-0:1.8.6", OC_ENERGY, DIR_FWD, 6, 0, NULL },
	{ "1-0:2.8.0", OC_ENERGY, DIR_BACK, 0, 0, NULL },
	{ "1-0:2.8.1", OC_ENERGY, DIR_BACK, 1, 0, NULL },
	{ "1-0:2.8.2", OC_ENERGY, DIR_BACK, 2, 0, NULL },
	{ "1-0:2.8.3", OC_ENERGY, DIR_BACK, 3, 0, NULL },
	{ "1-0:2.8.4", OC_ENERGY, DIR_BACK, 4, 0, NULL },
	{ "1-0:2.8.5", OC_ENERGY, DIR_BACK, 5, 0, NULL },
	{ "1-0:2.8.6", OC_ENERGY, DIR_BACK, 6, 0, NULL },
	{ "1-0:3.8.0", OC_REACTIVE_ENERGY, DIR_FWD, 0, 0, NULL },
	{ "1-0:3.8.1", OC_REACTIVE_ENERGY, DIR_FWD, 1, 0, NULL },
	{ "1-0:3.8.2", OC_REACTIVE_ENERGY, DIR_FWD, 2, 0, NULL },
	{ "1-0:3.8.3", OC_REACTIVE_ENERGY, DIR_FWD, 3, 0, NULL },
	{ "1-0:3.8.4", OC_REACTIVE_ENERGY, DIR_FWD, 4, 0, NULL },
	{ "1-0:3.8.5", OC_REACTIVE_ENERGY, DIR_FWD, 5, 0, NULL },
	{ "1-0:3.8.6", OC_REACTIVE_ENERGY, DIR_FWD, 6, 0, NULL },
	{ "1-0:4.8.0", OC_REACTIVE_ENERGY, DIR_BACK, 0, 0, NULL },
	{ "1-0:4.8.1", OC_REACTIVE_ENERGY, DIR_BACK, 1, 0, NULL },
	{ "1-0:4.8.2", OC_REACTIVE_ENERGY, DIR_BACK, 2, 0, NULL },
	{ "1-0:4.8.3", OC_REACTIVE_ENERGY, DIR_BACK, 3, 0, NULL },
	{ "1-0:4.8.4", OC_REACTIVE_ENERGY, DIR_BACK, 4, 0, NULL },
	{ "1-0:4.8.5", OC_REACTIVE_ENERGY, DIR_BACK, 5, 0, NULL },
	{ "1-0:4.8.6", OC_REACTIVE_ENERGY, DIR_BACK, 6, 0, NULL },
	{ "1-0:15.8.0", OC_ENERGY, DIR_NONE, 0, 0, NULL },
	{ "1-0:16.7.0", OC_POWER, DIR_NONE, 0, 0, NULL },
	{ "1-0:36.7.0", OC_POWER, DIR_NONE, 0, 1, NULL },
	{ "1-0:56.7.0", OC_POWER, DIR_NONE, 0, 2, NULL },
	{ "1-0:76.7.0", OC_POWER, DIR_NONE, 0, 3, NULL },
	{ "1-0:131.7.0", OC_REACTIVE_POWER, DIR_NONE, 0, 0, NULL },
	{ "1-0:151.7.0", OC_REACTIVE_POWER, DIR_NONE, 0, 1, NULL },
	{ "1-0:171.7.0", OC_REACTIVE_POWER, DIR_NONE, 0, 2, NULL },
	{ "1-0:191.7.0", OC_REACTIVE_POWER, DIR_NONE, 0, 3, NULL },
	{ "1-0:13.7.0", OC_PLAIN, DIR_NONE, 0, 0, "CosPhi" },
	{ "1-0:33.7.0", OC_PLAIN, DIR_NONE, 0, 1, "CosPhi" },
	{ "1-0:53.7.0", OC_PLAIN, DIR_NONE, 0, 2, "CosPhi" },
	{ "1-0:73.7.0", OC_PLAIN, DIR_NONE, 0, 3, "CosPhi" },
	{ "1-0:32.7.0", OC_VOLTAGE, DIR_NONE, 0, 1, NULL },
	{ "1-0:52.7.0", OC_VOLTAGE, DIR_NONE, 0, 2, NULL },
	{ "1-0:72.7.0", OC_VOLTAGE, DIR_NONE, 0, 3, NULL },
	{ "1-0:31.7.0", OC_CURRENT, DIR_NONE, 0, 1, NULL },
	{ "1-0:51.7.0", OC_CURRENT, DIR_NONE, 0, 2, NULL },
	{ "1-0:71.7.0", OC_CURRENT, DIR_NONE, 0, 3, NULL },
	{ "0-0:96.7.0", OC_STOPS, DIR_NONE, 0, 0, NULL },
	{ "0-0:96.7.1", OC_STOPS, DIR_NONE, 0, 1, NULL },
	{ "0-0:96.7.2", OC_STOPS, DIR_NONE, 0, 2, NULL },
	{ "0-0:96.7.3", OC_STOPS, DIR_NONE, 0, 3, NULL },
	{ "1-0:14.7.0", OC_PLAIN, DIR_NONE, 0, 0, "Hz" },
	{ "0-0:96.5.0", OC_PLAIN, DIR_NONE, 0, 0, "SC" },
	{ "0-0:97.97.0", OC_ERROR_FLAGS, DIR_NONE, 0, 0, NULL },
	{ "1-0:82.8.1", OC_PLAIN, DIR_NONE, 0, 0, "TC" },
	{ "1-0:82.8.2", OC_PLAIN, DIR_NONE, 0, 0, "MC" },
	{ "0-0:96.1.0", OC_FABRICATION, DIR_NONE, 0, 0, NULL },
	{ "0-0:96.1.1", OC_ENH_ID, DIR_NONE, 0, 0, NULL },
	{ "1-0:0.2.0", OC_FIRMWARE, DIR_NONE, 0, 0, NULL },
	{ "1-0:0.2.1", OC_PARAMSET, DIR_NONE, 0, 0, NULL },
	{ "1-0:128.8.0", OC_ENERGY, DIR_NONE, 0, 2, NULL },
	{ "1-0:130.8.0", OC_REACTIVE_ENERGY, DIR_NONE, 0, 0, NULL },
	{ "1-0:131.8.0", OC_REACTIVE_ENERGY, DIR_NONE, 0, 1, NULL },
	{ "1-0:132.8.0", OC_REACTIVE_ENERGY, DIR_FWD, 0, 1, NULL },
	{ "1-0:133.8.0", OC_REACTIVE_ENERGY, DIR_BACK, 0, 1, NULL },
	{ "1-0:16.8.0", OC_ENERGY, DIR_NONE, 0, 1, NULL },
	{ "1-0:9.8.0", OC_PLAIN, DIR_NONE, 0, 0, "kVAh" },
};

/* Whether a combinable VIFE from @k on is "per hour" (E010 0010). */
static bool per_hour(const struct nmbus_record *r, unsigned int k)
{
	for (unsigned int i = k; i < r->n_vife; i++)
		if ((r->vife[i] & 0x7f) == 0x22)
			return true;
	return false;
}

static uint8_t obis_class(const struct nmbus_record *r)
{
	uint8_t vif = r->vif & 0x7f, e = r->n_vife ? r->vife[0] & 0x7f : 0xff;

	if (vif <= 0x07)
		return OC_ENERGY;
	if (vif >= 0x28 && vif <= 0x2f)
		return OC_POWER;
	if (vif == 0x78)
		return OC_FABRICATION;
	if (vif == 0x7c)
		return OC_PLAIN;
	/* Table 6: reactive power is FB 82 A2, kvarh "per hour". */
	if (vif == 0x7b && (e == 0x02 || e == 0x03))
		return per_hour(r, 1) ? OC_REACTIVE_POWER : OC_REACTIVE_ENERGY;
	if (vif != 0x7d)
		return 0;
	if (e >= 0x40 && e <= 0x4f)
		return OC_VOLTAGE;
	if (e >= 0x50 && e <= 0x5f)
		return OC_CURRENT;
	switch (e) {
	case 0x75: return OC_STOPS;
	case 0x17: return OC_ERROR_FLAGS;
	case 0x0a: return OC_ENH_ID;
	case 0x0e: return OC_FIRMWARE;
	case 0x0b: return OC_PARAMSET;
	default: return 0;
	}
}

static uint8_t obis_dir(const struct nmbus_record *r)
{
	for (unsigned int i = 0; i < r->n_vife; i++) {
		if ((r->vife[i] & 0x7f) == 0x3b)
			return DIR_FWD;
		if ((r->vife[i] & 0x7f) == 0x3c)
			return DIR_BACK;
	}
	return DIR_NONE;
}

/*
 * Does the plain text equal @text read in reading order? On the wire it
 * is reversed, except in a CI 76h (MSB first) frame.
 */
static bool plain_is(const struct nmbus_frame *f, const struct nmbus_record *r,
		     const char *text)
{
	const uint8_t *p = f->buf + r->plain_offset;
	unsigned int n = r->plain_len;

	for (unsigned int i = 0; i < n; i++)
		if (!text[i] ||
		    p[f->msb_first ? i : n - 1 - i] != (uint8_t)text[i])
			return false;
	return text[n] == '\0';
}

const char *nmbus_cmi1020_obis(const struct nmbus_frame *f,
			       const struct nmbus_record *r)
{
	uint8_t cls, dir;

	if (r->kind != NMBUS_RECORD_DATA || r->storage)
		return NULL;
	cls = obis_class(r);
	if (!cls)
		return NULL;
	dir = obis_dir(r);
	for (unsigned int i = 0; i < ARRAY_SIZE(obis_table); i++) {
		const struct obis_row *o = &obis_table[i];

		if (o->cls == cls && o->dir == dir && o->tariff == r->tariff &&
		    o->subunit == r->subunit &&
		    (!o->text || plain_is(f, r, o->text)))
			return o->obis;
	}
	return NULL;
}

/* Bus profiles (seeds 000, 001, 004). */
static const struct nmbus_profile profiles[] = {
	{
		.name = "calmex2",
		.description = "Premex CALMEX II heat meter (VKP, VKPs)",
		.manufacturer = 0,
		.baud = 300,
		.wakeup_bytes = 20,
		.wakeup_delay_ms = 400,
		.retries = 2,
		/*
		 * The seed's 800 ms ("Wait First Timeout") is a pause before
		 * its driver first reads, not a reply window: 0 keeps EN
		 * 13757-2's 330 bit times + 50 ms, 1.15 s at 300 Bd.
		 */
		.timeout_ms = 0,
	},
	{
		.name = "calec-st2",
		.description = "Integra CALEC ST II energy calculator",
		.manufacturer = NMBUS_MFR('A', 'M', 'T'),
		.baud = 2400,
		.retries = 2,
	},
	{
		.name = "cmi1020",
		.description = "Elvaco CMi1020 M-Bus module for L+G E350",
		.manufacturer = NMBUS_MFR('E', 'L', 'V'),
		.baud = 2400,
		.retries = 2,
	},
};

NMBUS_API const struct nmbus_profile *nmbus_profile_get(unsigned int index)
{
	return index < ARRAY_SIZE(profiles) ? &profiles[index] : NULL;
}

NMBUS_API const struct nmbus_profile *nmbus_profile_find(const char *name)
{
	for (unsigned int i = 0; name && i < ARRAY_SIZE(profiles); i++)
		if (!strcasecmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

/* ---- requests of one device (<nmbus-devices.h>) ---------------------- */

/* Storage numbers of the CALEC ST II telegrams (its table 20). */
#define CALEC_FREEZE_STORAGE	31
#define CALEC_DUE_DAYS		12
#define CALEC_LOGGER_FIRST	100
#define CALEC_LOGGERS		500
#define VIF_ANY			0x7e
#define VIF_MANUFACTURER	0x7f

int nmbus_build_calec_telegram(uint8_t *buf, size_t size, uint8_t addr,
			       unsigned int flags,
			       enum nmbus_calec_telegram telegram,
			       unsigned int index)
{
	uint32_t storage;
	uint8_t vif = VIF_ANY;

	switch (telegram) {
	case NMBUS_CALEC_STANDARD:
	case NMBUS_CALEC_SERVICE:
		if (index)
			return -EINVAL;
		storage = 0;
		if (telegram == NMBUS_CALEC_SERVICE)
			vif = VIF_MANUFACTURER;
		break;
	case NMBUS_CALEC_FREEZE:
		if (index)
			return -EINVAL;
		storage = CALEC_FREEZE_STORAGE;
		break;
	case NMBUS_CALEC_DUE_DAY:
		if (index < 1 || index > CALEC_DUE_DAYS)
			return -EINVAL;
		storage = index;
		break;
	case NMBUS_CALEC_LOGGER:
		if (index < 1 || index > CALEC_LOGGERS)
			return -EINVAL;
		storage = CALEC_LOGGER_FIRST + index - 1;
		break;
	default:
		return -EINVAL;
	}
	return nmbus_build_readout_select(buf, size, addr, flags, storage, vif);
}

/* The data of a long frame: L = C + A + CI + data <= 255. */
#define LONG_DATA_MAX		252

int nmbus_build_elvaco_cmd(uint8_t *buf, size_t size, uint8_t addr,
			   unsigned int flags, uint8_t cmd,
			   const uint8_t *payload, size_t len)
{
	uint8_t data[LONG_DATA_MAX];

	if ((flags & ~(unsigned int)(NMBUS_C_FCB | NMBUS_C_FCV)) ||
	    (len && !payload))
		return -EINVAL;
	if (len > LONG_DATA_MAX - 2)
		return -EMSGSIZE;
	data[0] = NMBUS_DIF_MANUFACTURER;
	data[1] = cmd;
	if (len)
		memcpy(data + 2, payload, len);
	return nmbus_build_long(buf, size, NMBUS_C_SND_UD | flags, addr,
				NMBUS_CI_DATA_SEND, data, len + 2);
}
