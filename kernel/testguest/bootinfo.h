/* SPDX-License-Identifier: MIT */
/*
 * What the loader handed over, read once from either the PVH hvm_start_info
 * or the Linux zero page into one form: command line (copied), memory map,
 * ACPI RSDP address.
 */
#ifndef TG_BOOTINFO_H
#define TG_BOOTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_CMDLINE_MAX_BYTES 4096 /* including the NUL; kiln's CMDLINE_MAX_BYTES */
#define TG_MEMMAP_MAX	     128  /* E820_MAX_ENTRIES_ZEROPAGE */
#define TG_MEM_RAM	     1

struct tg_mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct tg_boot {
	int kind; /* TG_BOOT_PVH or TG_BOOT_LINUX64 */
	uint64_t info_pa;
	const char *problem; /* why the boot info is unusable, or NULL */

	uint64_t cmdline_pa;
	bool cmdline_terminated; /* NUL seen within TG_CMDLINE_MAX_BYTES */
	char cmdline[TG_CMDLINE_MAX_BYTES];

	bool have_memmap;
	unsigned int nr_mem;
	struct tg_mem_range mem[TG_MEMMAP_MAX];

	uint64_t rsdp_pa; /* 0 if the loader gave none */
};

void boot_parse(struct tg_boot *b, int kind, uint64_t info_pa);

#endif
