/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libnmbus - requests that only one device understands
 *
 * The builders of <nmbus.h> make the requests of EN 13757-3 that every
 * meter is meant to understand. The ones here make requests whose meaning
 * a manufacturer defined for its own device, as the project's seed
 * documents describe them: sent to another meter they ask for something
 * else, or for nothing. They follow the rules of <nmbus.h> (a negative
 * errno value on failure, no allocation, no state).
 *
 * What the decoder knows of these devices (product names, storage
 * numbers, the CMi1020's OBIS table, bus profiles) stays in <nmbus.h>:
 * it applies by itself to the replies it recognises.
 */
#ifndef NMBUS_DEVICES_H
#define NMBUS_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include <nmbus.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum nmbus_calec_telegram - response telegrams of the Integra CALEC ST II
 * @NMBUS_CALEC_STANDARD: current values (the default).
 * @NMBUS_CALEC_SERVICE: maintenance telegram.
 * @NMBUS_CALEC_FREEZE: values frozen by the freeze command (storage 31).
 * @NMBUS_CALEC_DUE_DAY: due-day register 1..12 (storage 1..12).
 * @NMBUS_CALEC_LOGGER: logger entry 1..500 (storage 100..599).
 */
enum nmbus_calec_telegram {
	NMBUS_CALEC_STANDARD = 0,
	NMBUS_CALEC_SERVICE,
	NMBUS_CALEC_FREEZE,
	NMBUS_CALEC_DUE_DAY,
	NMBUS_CALEC_LOGGER,
};

/**
 * nmbus_build_calec_telegram() - select the response telegram of an
 * Integra CALEC ST II (its manual, "Paramétrer le télégramme de réponse")
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @telegram: which telegram
 * @index: for %NMBUS_CALEC_DUE_DAY 1..12, for %NMBUS_CALEC_LOGGER
 *	1..500; otherwise 0
 *
 * A readout selection (nmbus_build_readout_select()) with the storage
 * number the CALEC ST II gives that telegram.
 *
 * Return: the frame length, -EINVAL or -ENOSPC.
 */
NMBUS_API int nmbus_build_calec_telegram(uint8_t *buf, size_t size,
					 uint8_t addr, unsigned int flags,
					 enum nmbus_calec_telegram telegram,
					 unsigned int index);

/**
 * nmbus_build_elvaco_cmd() - SND_UD 51 0F cmd payload: a manufacturer
 * specific command of the Elvaco CMi1020 (e.g. 04 clears the
 * communication error flags, 03 sets the meter rate)
 * @buf: output buffer
 * @size: its size
 * @addr: primary address
 * @flags: NMBUS_C_FCV, NMBUS_C_FCB
 * @cmd: the Elvaco command byte
 * @payload: the command's parameters (NULL when @len is 0)
 * @len: their number, at most 250
 *
 * Return: the frame length, -EINVAL (@flags, or @payload NULL with @len),
 * -EMSGSIZE or -ENOSPC.
 */
NMBUS_API int nmbus_build_elvaco_cmd(uint8_t *buf, size_t size, uint8_t addr,
				     unsigned int flags, uint8_t cmd,
				     const uint8_t *payload, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NMBUS_DEVICES_H */
