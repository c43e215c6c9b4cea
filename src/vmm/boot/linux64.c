/* SPDX-License-Identifier: MIT */
/*
 * CPU state in guest memory for the 64-bit entry paths: the Linux zero page
 * (struct boot_params), the identity page tables for 0-4 GiB and the flat
 * GDT whose selectors vcpu.c loads (BOOT_GDT_*_SEL in boot.h).
 */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/boot/boot_priv.h"
#include "vmm/layout.h"

#define PAGE_BYTES	   4096
#define PT_ENTRIES	   512
#define PT_PRESENT	   0x001ULL
#define PT_WRITABLE	   0x002ULL
#define PT_PAGE_SIZE	   0x080ULL /* PS: the PD entry maps a 2 MiB page (SDM Vol.3 §4.5) */
#define BOOT_PD_PAGES	   4
#define BOOT_ZP_PROTO_2_12 0x020c

_Static_assert(BOOT_PD_GPA + BOOT_PD_PAGES * PAGE_BYTES <= CMDLINE_GPA,
	       "identity map page directories run into the command line");
_Static_assert(BOOT_GDT_GPA + BOOT_GDT_ENTRIES * 8 <= BOOT_IDT_GPA, "GDT runs into the IDT");
_Static_assert((BOOT_GDT_CODE32_SEL >> 3) < BOOT_GDT_ENTRIES &&
		   (BOOT_GDT_CODE64_SEL >> 3) < BOOT_GDT_ENTRIES &&
		   (BOOT_GDT_DATA_SEL >> 3) < BOOT_GDT_ENTRIES,
	       "a boot selector lies outside the GDT");

/*
 * An ELF vmlinux has no setup header in the file; give the kernel the few
 * fields it checks on the 64-bit path (boot.rst, "The Real-Mode Kernel Header").
 */
static void zp_synthesize_header(uint8_t *bp, const struct boot_image *img)
{
	boot_st16(bp + SH_BOOT_FLAG, SH_BOOT_FLAG_MAGIC);
	boot_st32(bp + SH_HEADER, SH_HEADER_MAGIC);
	boot_st16(bp + SH_VERSION, BOOT_ZP_PROTO_2_12);
	boot_st32(bp + SH_CMDLINE_SIZE, img->cmdline_max);
}

static void zp_put_e820(uint8_t *bp, const struct guest_mem *gm)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned int n = e820_build(gm, map, E820_MAX_ENTRIES);

	_Static_assert(E820_MAX_ENTRIES <= BP_E820_MAX_ENTRIES, "zero page e820 table too small");
	_Static_assert(sizeof(struct e820_entry) == BP_E820_ENTRY_BYTES, "boot_e820_entry layout");
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_BYTES;

		boot_st64(e, map[i].addr);
		boot_st64(e + 8, map[i].size);
		boot_st32(e + 16, map[i].type);
	}
}

/* 64-bit addresses split into the 2.02 fields and the zero-page ext_* high halves. */
static void zp_put_loader_fields(uint8_t *bp, const struct boot_params_in *in)
{
	bp[SH_TYPE_OF_LOADER] = SH_LOADER_UNDEFINED;
	/* Kernel is loaded at 1 MiB+; no real-mode heap since setup code never runs. */
	bp[SH_LOADFLAGS] |= SH_LOADFLAG_LOADED_HIGH;
	boot_st32(bp + SH_CMD_LINE_PTR, (uint32_t)in->cmdline_gpa);
	boot_st32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(in->cmdline_gpa >> 32));
	if (in->initrd_len) {
		boot_st32(bp + SH_RAMDISK_IMAGE, (uint32_t)in->initrd_gpa);
		boot_st32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(in->initrd_gpa >> 32));
		boot_st32(bp + SH_RAMDISK_SIZE, (uint32_t)in->initrd_len);
		boot_st32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(in->initrd_len >> 32));
	}
}

enum boot_err linux64_write_zero_page(const struct guest_mem *gm, const struct boot_image *img,
				      const struct boot_params_in *in)
{
	uint8_t bp[BP_BYTES];

	/* boot.rst §64-bit: start from all zeroes, then the kernel's own header. */
	memset(bp, 0, sizeof(bp));
	if (img->is_bzimage) {
		if (img->setup_hdr_len > sizeof(img->setup_hdr))
			return BOOT_ERR_BZ_HEADER;
		memcpy(bp + BOOT_SETUP_HDR_OFFSET, img->setup_hdr, img->setup_hdr_len);
	} else {
		zp_synthesize_header(bp, img);
	}
	zp_put_loader_fields(bp, in);
	zp_put_e820(bp, gm);
	if (gm_write(gm, ZERO_PAGE_GPA, bp, sizeof(bp)))
		return BOOT_ERR_NO_MEMORY;
	return BOOT_OK;
}

static enum boot_err pt_write_page(const struct guest_mem *gm, uint64_t gpa, const uint64_t *ent)
{
	uint8_t page[PAGE_BYTES];

	for (unsigned int i = 0; i < PT_ENTRIES; i++)
		boot_st64(page + i * 8, ent[i]);
	return gm_write(gm, gpa, page, sizeof(page)) ? BOOT_ERR_NO_MEMORY : BOOT_OK;
}

/*
 * boot.rst §64-bit requires paging with an identity map of the loaded kernel,
 * zero page and command line. 0-4 GiB in 2 MiB pages: PML4[0] -> PDPT[0..3]
 * -> four page directories (SDM Vol.3 §4.5, 4-level paging).
 */
enum boot_err linux64_write_page_tables(const struct guest_mem *gm)
{
	uint64_t ent[PT_ENTRIES];
	enum boot_err err;

	memset(ent, 0, sizeof(ent));
	ent[0] = BOOT_PDPT_GPA | PT_PRESENT | PT_WRITABLE;
	err = pt_write_page(gm, BOOT_PML4_GPA, ent);
	for (unsigned int i = 0; i < BOOT_PD_PAGES; i++)
		ent[i] = (BOOT_PD_GPA + i * PAGE_BYTES) | PT_PRESENT | PT_WRITABLE;
	if (err == BOOT_OK)
		err = pt_write_page(gm, BOOT_PDPT_GPA, ent);
	for (unsigned int pd = 0; pd < BOOT_PD_PAGES && err == BOOT_OK; pd++) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++) {
			uint64_t addr = ((uint64_t)pd * PT_ENTRIES + i) * MiB(2);

			ent[i] = addr | PT_PRESENT | PT_WRITABLE | PT_PAGE_SIZE;
		}
		err = pt_write_page(gm, BOOT_PD_GPA + pd * PAGE_BYTES, ent);
	}
	return err;
}

/*
 * Segment descriptors (SDM Vol.3 §3.4.5), base 0. Types are "accessed" (0x9b,
 * 0x93) so the CPU never writes back to the table. Code32/data serve the PVH
 * entry (pvh.pandoc: flat 4 GiB segments); code64/data are __BOOT_CS 0x10 and
 * __BOOT_DS 0x18 of boot.rst §64-bit. TR is a 32-bit busy TSS, limit 0x67.
 */
static const struct {
	unsigned int sel;
	uint64_t desc;
} boot_gdt[] = {
    {BOOT_GDT_CODE32_SEL, 0x00cf9b000000ffffULL}, /* G, D=1, limit 0xfffff */
    {BOOT_GDT_CODE64_SEL, 0x00af9b000000ffffULL}, /* G, L=1, D=0 */
    {BOOT_GDT_DATA_SEL, 0x00cf93000000ffffULL},	  /* G, B=1, read/write */
    {BOOT_GDT_TSS_SEL, 0x00008b0000000067ULL},
};

enum boot_err boot_write_gdt(const struct guest_mem *gm)
{
	uint8_t raw[BOOT_GDT_ENTRIES * 8];

	memset(raw, 0, sizeof(raw));
	for (unsigned int i = 0; i < sizeof(boot_gdt) / sizeof(boot_gdt[0]); i++) {
		unsigned int idx = boot_gdt[i].sel >> 3;

		/*
		 * KVM loads TR's hidden part from the sregs, so the TSS descriptor
		 * is only written if the table has room (BOOT_IDT_GPA bounds it).
		 */
		if (idx < BOOT_GDT_ENTRIES)
			boot_st64(raw + idx * 8, boot_gdt[i].desc);
	}
	return gm_write(gm, BOOT_GDT_GPA, raw, sizeof(raw)) ? BOOT_ERR_NO_MEMORY : BOOT_OK;
}
