// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mbus-sim meter profiles: the records each simulated meter sends, as data
 *
 * calec    Integra CALEC ST II energy calculator, device versions C0..C9
 *          (seed 000, table 11 "Télégramme standard"), with 12 due-day
 *          telegrams (table 12), 3 of its 500 loggers filled (table 13)
 *          the freeze and the service telegram (table 15), chosen by
 *          a readout selection
 * cmi1020  Elvaco CMi1020 M-Bus module in a Landis+Gyr E350 electricity
 *          meter (seed 004, tables 5 and 6), multi-telegram
 * calmex   Premex CALMEX II heat meter: 300 Bd, wake-up of 20 x 0x55 and
 *          a pause before each request (seed 001, tag table)
 * heat     a generic heat meter
 * water    a generic water meter
 *
 * Values are plausible constants; dates are filled in with the current
 * time, fabrication numbers with the meter's identification number.
 */
#include <string.h>

#include "sim-core.h"

#define INT(h, v)	{ .rec = { .drh = h, .type = NMBUS_BUILD_INT, .i = (v) } }
#define REAL(h, v)	{ .rec = { .drh = h, .type = NMBUS_BUILD_REAL, .r = (v) } }
#define TEXT(h, v)	{ .rec = { .drh = h, .type = NMBUS_BUILD_TEXT, .text = (v) } }
#define DATE(h)		{ .rec = { .drh = h, .type = NMBUS_BUILD_DATE } }
#define DAY(h, y, m, d)	{ .rec = { .drh = h, .type = NMBUS_BUILD_DATE, \
			  .tm = { .tm_year = (y) - 1900, .tm_mon = (m) - 1, \
				  .tm_mday = (d) } } }

/* CALEC ST II device versions C0..C9 as bits of sim_row.versions. */
#define C0	(1u << 0)
#define C1	(1u << 1)
#define C2	(1u << 2)
#define C3	(1u << 3)
#define C4	(1u << 4)
#define C5	(1u << 5)
#define C6	(1u << 6)
#define C7	(1u << 7)
#define C8	(1u << 8)
#define C9	(1u << 9)
#define CALEC_TEMPS	(C0 | C1 | C4 | C7 | C8 | C9)
#define CALEC_ENERGY	(C0 | C1 | C3 | C4 | C5 | C7 | C8 | C9)

/* A type G date "every year" (year 127). */
#define ANYDAY(h, m, d)	{ .rec = { .drh = h, .type = NMBUS_BUILD_DATE, \
			  .tm = { .tm_year = -1, .tm_mon = (m) - 1, \
				  .tm_mday = (d) } } }

/* Rows present in some versions only. */
#define VINT(v, h, x)	{ .rec = { .drh = h, .type = NMBUS_BUILD_INT, .i = (x) }, \
			  .versions = (v) }
#define VREAL(v, h, x)	{ .rec = { .drh = h, .type = NMBUS_BUILD_REAL, .r = (x) }, \
			  .versions = (v) }
#define VDAY(v, h, y, m, d) { .rec = { .drh = h, .type = NMBUS_BUILD_DATE, \
			  .tm = { .tm_year = (y) - 1900, .tm_mon = (m) - 1, \
				  .tm_mday = (d), .tm_hour = 14 } }, \
			  .versions = (v) }

/*
 * VIF1 = 06 (kWh), VIF2 = 14 (0.01 m3) or 1C (0.01 t), VIF3 = 14,
 * VIF4 = 93 28 (l per pulse): one choice among the units of its chapter 5.
 */
static const struct sim_row calec_rows[] = {
	VINT(C0 | C1 | C5 | C7 | C9, "\x04\x06", 123456),
	VINT(C4 | C8, "\x04\x86\x3b", 123456),
	VINT(C4 | C8, "\x04\x86\x3c", 2345),
	VINT(C7 | C9, "\x84\x10\x06", 45678),
	VINT(C7, "\x84\x20\x06", 3456),
	VINT(C0 | C5 | C7 | C9, "\x04\x14", 987654),
	VINT(C4 | C8, "\x04\x94\x3b", 987654),
	VINT(C4 | C8, "\x04\x94\x3c", 1234),
	VINT(C9, "\x84\x10\x14", 45678),
	VINT(C1, "\x04\x1c", 876543),
	VINT(C2, "\x04\x14", 55555),
	VINT(C6, "\x04\x14", 44444),
	INT("\x84\x40\x14", 1111),
	INT("\x84\x80\x40\x14", 2222),
	VREAL(CALEC_ENERGY, "\x05\x2b", 12500.0),
	VREAL(~C1 & 0x3ff, "\x05\x3b", 1250.0),
	VREAL(C1, "\x05\x53", 1250.0),
	VREAL(CALEC_TEMPS, "\x05\x5b", 70.5),
	VREAL(CALEC_TEMPS, "\x05\x5f", 45.25),
	VREAL(CALEC_TEMPS, "\x05\x63", 25.25),
	VREAL(CALEC_TEMPS, "\x05\x83\x33", 1.16),
	VREAL(CALEC_TEMPS, "\x05\x9b\x2c", 0.977),
	INT("\x04\x22", 8760),
	INT("\x34\x22", 12),
	INT("\xb4\x40\x22", 3),
	DATE("\x04\x6d"),
	VREAL(~(C2 | C3) & 0x3ff, "\x05\x93\x28", 10.0),
	VREAL(C2, "\x05\x93\x28", 1.0),
	REAL("\x85\x40\x93\x28", 1.0),
	REAL("\x85\x80\x40\x93\x28", 1.0),
	INT("\x0c\x78", 0),
	TEXT("\x0d\xfd\x11", "n_mbus"),
	INT("\x0b\xfd\x0e", 20000),
	INT("\x0c\xfd\x0d", 10203),
};

/*
 * Due day 1 (table 12; storage 1 in each DIB, *5); the simulator renumbers
 * the rows for due days 2..12. Volume tariff 1 is "0x84, 10" in the table,
 * storage 0: written C4 10 here.
 */
static const struct sim_row calec_due_day_rows[] = {
	ANYDAY("\x42\xec\x7e", 12, 31),		/* next due day */
	DAY("\x42\x6c", 2025, 12, 31),			/* due day */
	VINT(C0 | C1 | C5 | C7 | C9, "\x44\x06", 120000),
	VINT(C4 | C8, "\x44\x86\x3b", 120000),
	VINT(C4 | C8, "\x44\x86\x3c", 2300),
	VINT(C7 | C9, "\xc4\x10\x06", 45000),
	VINT(C7, "\xc4\x20\x06", 3400),
	VINT(C0 | C5 | C7 | C9, "\x44\x14", 980000),
	VINT(C4 | C8, "\x44\x94\x3b", 980000),
	VINT(C4 | C8, "\x44\x94\x3c", 1200),
	VINT(C9, "\xc4\x10\x14", 45000),
	VINT(C1, "\x44\x1c", 870000),
	VINT(C2, "\x44\x14", 55000),
	VINT(C6, "\x44\x14", 44000),
	INT("\xc4\x40\x14", 1100),
	INT("\xc4\x80\x40\x14", 2200),
	INT("\x74\x22", 8000),				/* error hours */
	INT("\xf4\x40\x22", 3),			/* alarm hours */
};

/*
 * Logger 1 (table 13; storage 100 in each DIB, *7); also the layout of
 * the freeze telegram (storage 31). Maxima of the period (DIF 95) with
 * the time they occurred (DIF 94, VIFE 39).
 */
static const struct sim_row calec_logger_rows[] = {
	DAY("\x84\x82\x03\x6d", 2025, 12, 1),		/* logged at */
	VINT(C0 | C1 | C5 | C7 | C9, "\x84\x82\x03\x06", 123000),
	VINT(C4 | C8, "\x84\x82\x03\x86\x3b", 123000),
	VINT(C4 | C8, "\x84\x82\x03\x86\x3c", 2340),
	VINT(C7 | C9, "\x84\x92\x03\x06", 45600),
	VINT(C7, "\x84\xa2\x03\x06", 3450),
	VINT(C0 | C5 | C7 | C9, "\x84\x82\x03\x14", 987000),
	VINT(C4 | C8, "\x84\x82\x03\x94\x3b", 987000),
	VINT(C4 | C8, "\x84\x82\x03\x94\x3c", 1230),
	VINT(C9, "\x84\x92\x03\x14", 45600),
	VINT(C1, "\x84\x82\x03\x1c", 876000),
	VINT(C2, "\x84\x82\x03\x14", 55500),
	VINT(C6, "\x84\x82\x03\x14", 44400),
	INT("\x84\xc2\x03\x14", 1110),
	INT("\x84\x82\x43\x14", 2220),
	INT("\xb4\x82\x03\x22", 8700),		/* error hours */
	INT("\xb4\xc2\x03\x22", 3),			/* alarm hours */
	VREAL(CALEC_ENERGY, "\x95\x82\x03\x2b", 12000.0),
	VDAY(CALEC_ENERGY, "\x94\x82\x03\xab\x39", 2025, 11, 30),
	VREAL(~C1 & 0x3ff, "\x95\x82\x03\x3b", 1200.0),
	VDAY(~C1 & 0x3ff, "\x94\x82\x03\xbb\x39", 2025, 11, 30),
	VREAL(C1, "\x95\x82\x03\x53", 1200.0),
	VDAY(C1, "\x94\x82\x03\xd3\x39", 2025, 11, 30),
	VREAL(CALEC_TEMPS, "\x95\x82\x03\x5b", 70.0),
	VDAY(CALEC_TEMPS, "\x94\x82\x03\xdb\x39", 2025, 11, 30),
	VREAL(CALEC_TEMPS, "\x95\x82\x03\x5f", 45.0),
	VDAY(CALEC_TEMPS, "\x94\x82\x03\xdf\x39", 2025, 11, 30),
};

/*
 * The service telegram (table 15): counters with their residual (real)
 * registers, the mean values, standard deviations, rises and zero points
 * of th and tc numbered with storage 1..8, and the times of five events
 * numbered 1..5; calibration year, pulse value, manufacture date, lot.
 */
static const struct sim_row calec_service_rows[] = {
	VINT(C0 | C1 | C5 | C7 | C9, "\x04\x06", 123456),
	VREAL(C0 | C1 | C5 | C7 | C9, "\x05\x06", 0.25),
	VINT(C0 | C5 | C7 | C9, "\x04\x14", 987654),
	VREAL(C0 | C5 | C7 | C9, "\x05\x14", 0.5),
	VREAL(CALEC_TEMPS, "\x45\xfd\x3a", 70.1),		/* mean th */
	VREAL(CALEC_TEMPS, "\x85\x01\xfd\x3a", 45.2),		/* mean tc */
	VREAL(CALEC_TEMPS, "\xc5\x01\xfd\x3a", 0.3),		/* std th */
	VREAL(CALEC_TEMPS, "\x85\x02\xfd\x3a", 0.2),		/* std tc */
	VREAL(CALEC_TEMPS, "\xc5\x02\xfd\x3a", 1.001),	/* rise th */
	VREAL(CALEC_TEMPS, "\x85\x03\xfd\x3a", 1.002),	/* rise tc */
	VREAL(CALEC_TEMPS, "\xc5\x03\xfd\x3a", 0.01),		/* zero th */
	VREAL(CALEC_TEMPS, "\x85\x04\xfd\x3a", 0.02),		/* zero tc */
	DAY("\x74\x6d", 2025, 3, 1),			/* counter overflow */
	DAY("\xb4\x01\x6d", 2025, 4, 2),		/* counter reset */
	DAY("\xf4\x01\x6d", 2025, 5, 3),		/* temperature alarm */
	DAY("\xb4\x02\x6d", 2025, 6, 4),		/* calibration */
	DAY("\xf4\x02\x6d", 2025, 7, 5),		/* CRC error */
	INT("\x02\xfd\x66", 2024),			/* calibration year */
	VREAL(~(C2 | C3) & 0x3ff, "\x05\x93\x28", 10.0),
	DAY("\x02\xec\x39", 2024, 5, 15),		/* manufactured */
	INT("\x8c\x40\x78", 12345678),			/* hardware lot */
};

/* Table 5 (first telegram, static data), then part of table 6. */
static const struct sim_row cmi1020_rows[] = {
	INT("\x01\xfd\x1a", 0x55),			/* disconnector on */
	INT("\x01\xfd\x1b", 0x00),			/* rate inputs */
	INT("\x83\x40\xfd\x17", 0),			/* error flags */
	TEXT("\x0d\xfd\x0f", "1.2.0"),			/* CMi1020 software */
	INT("\x8c\x40\x78", 10203040),			/* CMi1020 serial */
	INT("\x04\x85\x3b", 1234567),			/* 1.8.0 */
	INT("\x84\x10\x85\x3b", 734567),		/* 1.8.1 */
	INT("\x84\x20\x85\x3b", 500000),		/* 1.8.2 */
	INT("\x04\x85\x3c", 1234),			/* 2.8.0 */
	INT("\x04\xfb\x82\xf5\x3b", 45678),		/* 3.8.0 */
	INT("\x04\xfb\x82\xf5\x3c", 4567),		/* 4.8.0 */
	INT("\x03\x2b", 1520),				/* 16.7 */
	INT("\x83\x40\x2b", 500),			/* 36.7 */
	INT("\x83\x80\x40\x2b", 510),			/* 56.7 */
	INT("\x83\xc0\x40\x2b", 510),			/* 76.7 */
	INT("\x02\xfc\x06ihPsoC\x73", 980),		/* 13.7 cos phi */
	INT("\x83\x40\xfd\x48", 2301),			/* 32.7 */
	INT("\x83\x80\x40\xfd\x48", 2298),		/* 52.7 */
	INT("\x83\xc0\x40\xfd\x48", 2305),		/* 72.7 */
	INT("\x83\x40\xfd\x59", 2175),			/* 31.7 */
	INT("\x83\x80\x40\xfd\x59", 2210),		/* 51.7 */
	INT("\x83\xc0\x40\xfd\x59", 2190),		/* 71.7 */
	INT("\x03\xfc\x02zH\x74", 5000),		/* 14.7 */
	INT("\x02\xfd\x17", 0),				/* F.F */
	INT("\x0c\x78", 0),				/* C.1.0 */
	TEXT("\x0d\xfd\x0a", "LGZ12345"),		/* C.1.1 */
	TEXT("\x0d\xfd\x0e", "V1.23"),			/* 0.2.0 */
	INT("\x04\xfc\x04hAVk\x76", 12345),		/* 9.8.0 */
};

/* Tags 4..16 of the CALMEX II driver notes. */
static const struct sim_row calmex_rows[] = {
	INT("\x04\x06", 45678),				/* heat quantity */
	INT("\x04\x2b", 5300),				/* heat rate */
	INT("\x04\x14", 12345),				/* volume */
	INT("\x04\x3b", 350),				/* volume flow */
	INT("\x02\x59", 6532),				/* forward temp */
	INT("\x02\x5d", 4120),				/* return temp */
	DATE("\x04\x6d"),				/* date + time */
	INT("\x44\x06", 40000),				/* heat, 1st date */
	INT("\x84\x01\x06", 35000),			/* heat, 2nd date */
	INT("\x44\x14", 11000),				/* volume, 1st date */
	INT("\x84\x01\x14", 10000),			/* volume, 2nd date */
	DAY("\x42\x6c", 2025, 12, 31),			/* 1st date */
	DAY("\x82\x01\x6c", 2024, 12, 31),		/* 2nd date */
};

static const struct sim_row heat_rows[] = {
	INT("\x04\x06", 34567),				/* energy kWh */
	INT("\x04\x13", 456789),			/* volume l */
	INT("\x04\x2b", 4200),				/* power W */
	INT("\x04\x3b", 310),				/* flow l/h */
	INT("\x02\x5a", 652),				/* flow 0.1 C */
	INT("\x02\x5e", 418),				/* return 0.1 C */
	INT("\x02\x61", 2340),				/* diff 0.01 K */
	DATE("\x04\x6d"),
	INT("\x44\x06", 30000),
	DAY("\x42\x6c", 2025, 12, 31),
	INT("\x0c\x78", 0),
};

static const struct sim_row water_rows[] = {
	INT("\x04\x13", 123456),			/* volume l */
	INT("\x02\x3b", 120),				/* flow l/h */
	DATE("\x04\x6d"),
	INT("\x44\x13", 100000),
	DAY("\x42\x6c", 2025, 12, 31),
	INT("\x0c\x78", 0),
};

#define ROWS(r)		.rows = (r), .nrows = ARRAY_SIZE(r)
#define BAUD_ALL	0xff

static const struct sim_profile calec = {
	.name = "calec", .desc = "Integra CALEC ST II energy calculator",
	.manufacturer = "AMT", .version = 0xc0, .vbase = 0xc0, .medium = 0x04,
	.baud = 2400, .baud_codes = 0x29,	/* 300, 2400, 9600 */
	.telegrams = 1, .ignores_fcb = true, ROWS(calec_rows),
	.due_day_rows = calec_due_day_rows,
	.n_due_day_rows = ARRAY_SIZE(calec_due_day_rows), .due_days = 12,
	.logger_rows = calec_logger_rows,
	.n_logger_rows = ARRAY_SIZE(calec_logger_rows), .loggers = 3,
	.service_rows = calec_service_rows,
	.n_service_rows = ARRAY_SIZE(calec_service_rows),
};

static const struct sim_profile cmi1020 = {
	.name = "cmi1020", .desc = "Elvaco CMi1020 in a Landis+Gyr E350",
	.manufacturer = "ELV", .version = 0x02, .medium = 0x00,
	.baud = 2400, .baud_codes = 0x3f, .baud_nop_codes = 0xc0,
	.telegrams = 2, .elvaco = true, .end_marker = true,
	ROWS(cmi1020_rows),
};

static const struct sim_profile calmex = {
	.name = "calmex", .desc = "Premex CALMEX II heat meter (300 Bd, wake-up)",
	.manufacturer = "PMX", .version = 0x01, .medium = 0x04,
	.baud = 300, .baud_codes = 0x01, .wakeup = 20, .wake_pause_ms = 200,
	.telegrams = 1, ROWS(calmex_rows),
};

static const struct sim_profile heat = {
	.name = "heat", .desc = "generic heat meter",
	.manufacturer = "SIM", .version = 0x01, .medium = 0x04,
	.baud = 2400, .baud_codes = BAUD_ALL, .telegrams = 1,
	ROWS(heat_rows),
};

static const struct sim_profile water = {
	.name = "water", .desc = "generic water meter",
	.manufacturer = "SIM", .version = 0x01, .medium = 0x07,
	.baud = 2400, .baud_codes = BAUD_ALL, .telegrams = 1,
	ROWS(water_rows),
};

const struct sim_profile *const sim_profiles[] = {
	&calec, &cmi1020, &calmex, &heat, &water,
};

const size_t sim_nprofiles = ARRAY_SIZE(sim_profiles);

const struct sim_profile *sim_profile_find(const char *name)
{
	size_t i;

	for (i = 0; i < sim_nprofiles; i++)
		if (!strcmp(sim_profiles[i]->name, name))
			return sim_profiles[i];
	return NULL;
}
