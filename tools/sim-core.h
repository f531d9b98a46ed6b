/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mbus-sim core: the meters of a simulated M-Bus and their link and
 * application layer behaviour (EN 13757-2/-3), independent of the line.
 *
 * The line code hands the core the bytes the master sent, with the time
 * they arrived and the bus baud rate; the core answers with the bytes the
 * master would see: one meter's reply, or the wired-AND of several
 * meters answering at once (a collision). Timing of the answer (delay,
 * pacing) is the line code's job.
 */
#ifndef SIM_CORE_H
#define SIM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mbus_frame.h"
#include "nmbus.h"

#define SIM_METERS_MAX		1024
#define SIM_REPLY_MAX		(2 * MBUS_FRAME_MAX)
#define SIM_ROWS_MAX		64

/* One data record of a meter profile, present in some device versions. */
struct sim_row {
	struct nmbus_build_record rec;
	uint16_t versions;	/* bit n: version byte (vbase + n); 0 = all */
};

/* A kind of meter, from the seed documents. */
struct sim_profile {
	const char *name;
	const char *desc;
	const char *manufacturer;	/* three letters */
	uint8_t version;		/* default version byte */
	uint8_t vbase;			/* version of bit 0 in sim_row.versions */
	uint8_t medium;
	unsigned int baud;		/* factory baud rate */
	uint8_t baud_codes;		/* bit n: CI B8+n switches the rate */
	uint8_t baud_nop_codes;		/* bit n: CI B8+n acked, no change */
	unsigned int wakeup;		/* 0x55 bytes required; 0 = none */
	unsigned int wake_pause_ms;	/* and this much silence after them */
	unsigned int telegrams;		/* default telegrams per readout */
	bool ignores_fcb;		/* every REQ_UD2 gives a new telegram */
	bool elvaco;			/* accepts Elvaco DIF 0F commands */
	bool end_marker;		/* last telegram ends with DIF 0F */
	const struct sim_row *rows;
	size_t nrows;
	/*
	 * History a readout selection (DIF 08, VIF 7E) reaches: due-day
	 * telegrams for storage 1..due_days, logger telegrams for storage
	 * 100..(99 + loggers) and, after a freeze command, the frozen values
	 * in the logger layout for storage 31. Rows are written for due day
	 * 1 and logger 1 (storage 100); each telegram gets its own storage
	 * number and older values.
	 */
	const struct sim_row *due_day_rows;
	size_t n_due_day_rows;
	unsigned int due_days;
	const struct sim_row *logger_rows;
	size_t n_logger_rows;
	unsigned int loggers;
	/* The service telegram, selected with VIF 7F (storage 0). */
	const struct sim_row *service_rows;
	size_t n_service_rows;
};

struct sim_meter {
	const struct sim_profile *profile;
	/* identity (secondary address) and configuration */
	uint32_t id;
	uint16_t manufacturer;
	uint8_t version;
	uint8_t medium;
	uint32_t fabrication;		/* fabrication number; 0: the ID */
	bool lenient;			/* F nibbles outside the ID match too */
	uint8_t addr;			/* primary address */
	uint8_t status;
	unsigned int baud;
	unsigned int wakeup;
	unsigned int wake_pause_ms;
	unsigned int telegrams;
	/* link state */
	bool selected;			/* by secondary address */
	bool fcb_seen;			/* a REQ_UD2 with FCV since the reset */
	bool fcb;			/* its FCB */
	unsigned int telegram;		/* index of the telegram last sent */
	uint8_t access;
	uint32_t storage;		/* selected by a readout selection */
	bool frozen;			/* a freeze command was taken */
	bool service;			/* the service telegram is selected */
	uint8_t disconnector;		/* Elvaco: status byte (01 FD 1A) */
	uint8_t last[MBUS_FRAME_MAX];	/* last telegram, for repeats */
	size_t last_len;
};

/* What a meter does on a line whose baud rate is not its own. */
enum sim_mismatch {
	SIM_MISMATCH_SILENT = 0,	/* hears garbage, answers nothing */
	SIM_MISMATCH_GARBAGE,		/* answers; the master gets garbage */
};

struct sim_bus {
	struct sim_meter meters[SIM_METERS_MAX];
	unsigned int nmeters;
	unsigned int baud;		/* current baud rate of the line */
	enum sim_mismatch mismatch;
	bool lenient;			/* every meter takes F nibbles anywhere */
	unsigned int max_skew;		/* bit times between colliding replies */
	uint64_t rng;
	time_t now;			/* 0: the real clock */
	/* receive state */
	struct mbus_parser parser;
	unsigned int wake_run;		/* 0x55 bytes in a row, between frames */
	uint64_t wake_end_us;		/* when the last of them arrived */
	unsigned int frame_wake;	/* the run before the current frame */
	uint64_t frame_gap_us;		/* and the silence after it */
};

struct sim_reply {
	uint8_t data[SIM_REPLY_MAX];	/* what the master receives */
	size_t len;			/* 0: silence */
	unsigned int responders;	/* meters that answered */
	unsigned int parity_errors;	/* characters a UART flags (collision) */
	unsigned int new_baud;		/* line baud after the reply; 0 same */
	uint8_t request[MBUS_FRAME_MAX];/* the request, for the log */
	size_t request_len;
	char note[96];			/* what happened, for the log */
};

/* The profiles: sim_profiles[0 .. sim_nprofiles - 1]. */
extern const struct sim_profile *const sim_profiles[];
extern const size_t sim_nprofiles;
const struct sim_profile *sim_profile_find(const char *name);

void sim_bus_init(struct sim_bus *bus, unsigned int baud, uint64_t seed);
uint32_t sim_random(struct sim_bus *bus);

/* Add a meter with the profile's defaults; NULL when the bus is full. */
struct sim_meter *sim_bus_add(struct sim_bus *bus,
			      const struct sim_profile *profile);

/* The meter's 8-byte secondary address in wire order. */
void sim_meter_secaddr(const struct sim_meter *m, uint8_t addr[8]);

/* Link reset: FCB state and telegram sequence, as after SND_NKE. */
void sim_meter_reset(struct sim_meter *m);

/*
 * Handle one complete request frame. @wake_run 0x55 bytes preceded it,
 * followed by @wake_gap_us of silence (meters needing a wake-up check
 * this). Fills @reply (len 0 = nobody answered).
 */
void sim_bus_request(struct sim_bus *bus, const uint8_t *frame, size_t len,
		     unsigned int wake_run, uint64_t wake_gap_us,
		     struct sim_reply *reply);

/*
 * Feed one received byte that arrived at @now_us. Returns true when it
 * completed a request frame: @reply is then filled (possibly silence).
 */
bool sim_bus_rx(struct sim_bus *bus, uint8_t byte, uint64_t now_us,
		struct sim_reply *reply);

/* The line went quiet: drop a partial frame. */
void sim_bus_flush(struct sim_bus *bus);

/*
 * Wired-AND of @n byte streams sent at once, stream i starting @skew[i]
 * bit times late (8E1 characters, idle line high); the result is what a
 * UART decodes. Returns the number of bytes in @out.
 */
size_t sim_collide(const uint8_t *const *streams, const size_t *lens,
		   const unsigned int *skew, unsigned int n, uint8_t *out,
		   size_t size);

/*
 * The same, and @perr[i] says whether character i has a parity error (its
 * parity bit, ANDed too, does not fit the data bits). A pty or a telnet
 * chardev cannot carry the error: the line code only logs it.
 */
size_t sim_collide_parity(const uint8_t *const *streams, const size_t *lens,
			  const unsigned int *skew, unsigned int n,
			  uint8_t *out, bool *perr, size_t size);

/* The meter's fabrication number (DIF 0C VIF 78), BCD LSB first. */
void sim_meter_fabrication(const struct sim_meter *m, uint8_t fab[4]);

#endif /* SIM_CORE_H */
