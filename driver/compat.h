/* SPDX-License-Identifier: GPL-2.0 */
/*
 * M-Bus line discipline: every kernel-version shim in one place
 *
 * n_mbus builds on Debian's 6.1 and 6.12 kernels. Code elsewhere uses the
 * names below and never tests LINUX_VERSION_CODE itself.
 */
#ifndef _MBUS_COMPAT_H
#define _MBUS_COMPAT_H

#include <linux/tty.h>

/*
 * Features are detected, not versions: Kbuild greps the kernel's headers
 * and defines MBUS_HAVE_* (see the Kbuild file), so these shims follow
 * backports too.
 *
 * No llseek shim: /dev/mbusN uses stream_open(), which makes lseek fail
 * with -ESPIPE before .llseek is looked at (no_llseek is gone in 6.12).
 */

void mbus_receive(struct tty_struct *tty, const u8 *cp, const u8 *fp,
		  size_t count);

/*
 * receive_buf took (const unsigned char *, const char *, int) before 6.6:
 * Debian's 6.1 needs the #else branch. It takes (const u8 *, const u8 *,
 * size_t) since: 6.12 needs the first (MBUS_HAVE_RECEIVE_BUF_U8). Both
 * forward to mbus_receive(); the flag bytes are the same TTY_* values
 * either way.
 */
#ifdef MBUS_HAVE_RECEIVE_BUF_U8
static inline void mbus_ldisc_receive_buf(struct tty_struct *tty,
					  const u8 *cp, const u8 *fp,
					  size_t count)
{
	mbus_receive(tty, cp, fp, count);
}
#else
static inline void mbus_ldisc_receive_buf(struct tty_struct *tty,
					  const unsigned char *cp,
					  const char *fp, int count)
{
	mbus_receive(tty, cp, (const u8 *)fp, count);
}
#endif

#endif /* _MBUS_COMPAT_H */
