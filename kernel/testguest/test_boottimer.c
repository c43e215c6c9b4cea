/* SPDX-License-Identifier: MIT */
/*
 * ktest boottimer: the Firecracker-style boot-timer device. One byte write
 * of the magic; the VMM logs the boot time and the host harness checks it.
 */
#include "io.h"
#include "ktest.h"

#define BOOT_TIMER_PA	 0xc0000000ULL
#define BOOT_TIMER_MAGIC 123

void ktest_boottimer(const struct tg_boot *b, struct ktest_verdict *v)
{
	(void)b;
	(void)v;
	tg_mmio_write8(BOOT_TIMER_PA, BOOT_TIMER_MAGIC);
}
