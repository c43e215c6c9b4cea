/* SPDX-License-Identifier: MIT */
/*
 * Boot information readers. Everything the loader wrote is untrusted input:
 * each address is checked against the identity-mapped window before use and
 * counts are clamped.
 */
#include "bootinfo.h"

#include "io.h"
#include "lib.h"
#include "tg_layout.h"

/* Xen public/arch-x86/hvm/start_info.h */
#define HVM_START_MAGIC	       0x336ec578
#define HVM_START_INFO_BYTES   56
#define HVM_OFF_MAGIC	       0
#define HVM_OFF_VERSION	       4
#define HVM_OFF_CMDLINE	       24
#define HVM_OFF_RSDP	       32
#define HVM_OFF_MEMMAP	       40
#define HVM_OFF_MEMMAP_ENTRIES 48
#define HVM_MEMMAP_ENTRY_BYTES 24 /* u64 addr, u64 size, u32 type, u32 reserved */

/* Linux Documentation/arch/x86/zero-page.rst and boot.rst */
#define ZP_BYTES		4096
#define ZP_OFF_ACPI_RSDP	0x070
#define ZP_OFF_EXT_CMD_LINE_PTR 0x0c8
#define ZP_OFF_E820_ENTRIES	0x1e8
#define ZP_OFF_CMD_LINE_PTR	0x228
#define ZP_OFF_E820_TABLE	0x2d0
#define ZP_E820_ENTRY_BYTES	20 /* packed u64 addr, u64 size, u32 type */

static void boot_copy_cmdline(struct tg_boot *b, uint64_t pa)
{
	size_t i;

	b->cmdline_pa = pa;
	b->cmdline[0] = '\0';
	if (pa == 0) {
		/* No command line is an empty one. */
		b->cmdline_terminated = true;
		return;
	}
	b->cmdline_terminated = false;
	for (i = 0; i < TG_CMDLINE_MAX_BYTES && tg_phys_ok(pa, i + 1); i++) {
		char c = (char)tg_phys(pa)[i];

		if (c == '\0') {
			b->cmdline[i] = '\0';
			b->cmdline_terminated = true;
			return;
		}
		if (i + 1 < TG_CMDLINE_MAX_BYTES)
			b->cmdline[i] = c;
	}
	b->cmdline[i < TG_CMDLINE_MAX_BYTES ? i : TG_CMDLINE_MAX_BYTES - 1] = '\0';
}

static void boot_add_mem(struct tg_boot *b, uint64_t addr, uint64_t size, uint32_t type)
{
	if (b->nr_mem < TG_MEMMAP_MAX)
		b->mem[b->nr_mem++] = (struct tg_mem_range){addr, size, type};
}

static void boot_parse_pvh(struct tg_boot *b, const uint8_t *si)
{
	uint64_t map_pa, n, i;

	if (tg_le32(si + HVM_OFF_MAGIC) != HVM_START_MAGIC) {
		b->problem = "bad hvm_start_info magic";
		return;
	}
	boot_copy_cmdline(b, tg_le64(si + HVM_OFF_CMDLINE));
	b->rsdp_pa = tg_le64(si + HVM_OFF_RSDP);
	/* The memory map fields exist from version 1 on. */
	if (tg_le32(si + HVM_OFF_VERSION) < 1)
		return;
	map_pa = tg_le64(si + HVM_OFF_MEMMAP);
	n = tg_le32(si + HVM_OFF_MEMMAP_ENTRIES);
	if (n > TG_MEMMAP_MAX)
		n = TG_MEMMAP_MAX;
	if (map_pa == 0 || !tg_phys_ok(map_pa, n * HVM_MEMMAP_ENTRY_BYTES)) {
		b->problem = "PVH memmap out of reach";
		return;
	}
	b->have_memmap = true;
	for (i = 0; i < n; i++) {
		const uint8_t *e = tg_phys(map_pa + i * HVM_MEMMAP_ENTRY_BYTES);

		boot_add_mem(b, tg_le64(e), tg_le64(e + 8), tg_le32(e + 16));
	}
}

static void boot_parse_zero_page(struct tg_boot *b, const uint8_t *zp)
{
	uint64_t cmd = tg_le32(zp + ZP_OFF_CMD_LINE_PTR) |
		       ((uint64_t)tg_le32(zp + ZP_OFF_EXT_CMD_LINE_PTR) << 32);
	unsigned int n = zp[ZP_OFF_E820_ENTRIES], i;

	boot_copy_cmdline(b, cmd);
	b->rsdp_pa = tg_le64(zp + ZP_OFF_ACPI_RSDP);
	if (n > TG_MEMMAP_MAX)
		n = TG_MEMMAP_MAX;
	b->have_memmap = true;
	for (i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_OFF_E820_TABLE + i * ZP_E820_ENTRY_BYTES;

		boot_add_mem(b, tg_le64(e), tg_le64(e + 8), tg_le32(e + 16));
	}
}

void boot_parse(struct tg_boot *b, int kind, uint64_t info_pa)
{
	b->kind = kind;
	b->info_pa = info_pa;
	b->cmdline_terminated = true;
	if (kind == TG_BOOT_PVH) {
		if (info_pa == 0 || !tg_phys_ok(info_pa, HVM_START_INFO_BYTES))
			b->problem = "hvm_start_info out of reach";
		else
			boot_parse_pvh(b, tg_phys(info_pa));
	} else {
		if (info_pa == 0 || !tg_phys_ok(info_pa, ZP_BYTES))
			b->problem = "boot_params out of reach";
		else
			boot_parse_zero_page(b, tg_phys(info_pa));
	}
}
