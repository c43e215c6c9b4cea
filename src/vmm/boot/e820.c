/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical memory map, shared by the zero page (e820_table) and
 * the PVH memmap: RAM as laid out by guest_mem, with the legacy EBDA/BIOS
 * window below 1 MiB reserved because the MP table lives there.
 */
#include "vmm/boot/boot.h"
#include "vmm/layout.h"

static void e820_add(struct e820_entry *out, unsigned int max, unsigned int *n, uint64_t start,
		     uint64_t end, uint32_t type)
{
	if (end <= start || *n >= max)
		return;
	out[*n].addr = start;
	out[*n].size = end - start;
	out[*n].type = type;
	(*n)++;
}

/*
 * ACPI 6.5 §15 (System Address Map): entries sorted, not overlapping. Only the
 * 0x9fc00-1 MiB window is reserved; the boot structures below it are RAM that
 * the kernel copies out of before it reuses the pages (boot.rst §64-bit).
 */
unsigned int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		uint64_t start = r->gpa, end;

		if (__builtin_add_overflow(r->gpa, r->size, &end))
			continue;
		if (start < EBDA_START_GPA) {
			e820_add(out, max, &n, start, end < EBDA_START_GPA ? end : EBDA_START_GPA,
				 E820_RAM);
			start = EBDA_START_GPA;
		}
		if (start < HIGH_MEMORY_GPA && end > start) {
			e820_add(out, max, &n, start, HIGH_MEMORY_GPA, E820_RESERVED);
			start = HIGH_MEMORY_GPA;
		}
		e820_add(out, max, &n, start, end, E820_RAM);
	}
	return n;
}
