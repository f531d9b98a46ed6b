# SPDX-License-Identifier: GPL-2.0
#
# The QEMU machine of every lane that boots a guest (run-ksft, so the
# kselftests, the demo, the benchmarks, the package and debug lanes; and
# boot-loop), sourced by bash scripts.
#
# Single-threaded TCG (thread=single): QEMU 7.2's multi-threaded TCG
# (the default for an x86 guest) does not keep a vCPU's translated code
# coherent with a write by another vCPU. The kernel patches its own text
# while the other vCPU runs (static keys through text_poke_bp(): an int3
# first, the new instruction, then the int3 removed); the other vCPU can
# still run the int3 after the patch is finished, which the kernel can
# only take for a stray breakpoint: "Oops: int3" and a panic in early
# boot (6.12 enables the sched_clock_stable key at late_initcall, in the
# middle of sched_clock_cpu()). With one host thread for both vCPUs every
# write is seen before the other vCPU runs again. QEMU_ACCEL overrides it
# (tests/qemu/boot-loop measures both).
NMBUS_QEMU=(qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg,thread=single}"
	    -smp 2 -m 768 -no-reboot -display none -monitor none)
# no_timer_check: at boot the kernel gives the IO-APIC timer 10 ticks'
# time to tick 4 times and panics if it did not ("IO-APIC + timer doesn't
# work!"); a TCG vCPU on a busy host can miss that (1 boot in 100 of 6.12
# here). The check is for broken chipsets, which QEMU's is not.
NMBUS_APPEND="console=ttyS0 panic=-1 oops=panic loglevel=4 no_timer_check"

# nmbus_boot_failure CONSOLE: one line saying whether the guest kernel
# failed before user space (so before the module was loaded), or nothing.
nmbus_boot_failure() {
	local console=$1 why
	why=$(grep -m 1 -E 'Kernel panic|Oops|BUG:|general protection' \
		"$console" | tr -d '\r')
	echo "${why:-no user space}"
}
