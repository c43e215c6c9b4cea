/* SPDX-License-Identifier: MIT */
/*
 * ktest memsize: the RAM in the loader's memory map matches --mem-mib (less
 * at most the 1 MiB legacy hole: EBDA and BIOS area) and keeps out of the
 * 3-4 GiB MMIO gap.
 */
#include "console.h"
#include "ktest.h"

#define MIB		     (1ULL << 20)
#define MMIO_GAP_START_BYTES 0xc0000000ULL
#define MMIO_GAP_END_BYTES   0x100000000ULL

void ktest_memsize(const struct tg_boot *b, struct ktest_verdict *v)
{
	uint64_t ram = 0, want_mib, want, end;
	unsigned int i;
	bool overflow = false, in_gap = false;

	if (!b->have_memmap) {
		ktest_fail(v, "no memory map");
		return;
	}
	for (i = 0; i < b->nr_mem; i++) {
		const struct tg_mem_range *m = &b->mem[i];

		if (m->type != TG_MEM_RAM)
			continue;
		overflow |= __builtin_add_overflow(ram, m->size, &ram);
		overflow |= __builtin_add_overflow(m->addr, m->size, &end);
		if (m->addr < MMIO_GAP_END_BYTES && end > MMIO_GAP_START_BYTES)
			in_gap = true;
	}
	ktest_info("memsize");
	con_puts("ram_bytes=");
	con_dec(ram);
	con_puts(" entries=");
	con_dec(b->nr_mem);
	con_puts("\n");

	if (overflow)
		ktest_fail(v, "memory map sizes overflow");
	if (in_gap)
		ktest_fail(v, "RAM entry overlaps the 3-4 GiB MMIO gap");
	if (!ktest_expect(b, "ktest.mem_mib=", &want_mib, v))
		return;
	if (__builtin_mul_overflow(want_mib, MIB, &want) || ram > want || want - ram > MIB) {
		struct tg_str *r = ktest_fail(v, "ram_bytes ");

		tg_str_add_dec(r, ram);
		tg_str_add(r, " not within 1 MiB below ");
		tg_str_add_dec(r, want_mib);
		tg_str_add(r, " MiB");
	}
}
