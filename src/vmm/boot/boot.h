/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel boot: pure loaders and table builders. Everything here reads
 * an untrusted kernel image from a host buffer and writes guest memory only
 * through guest_mem; no syscalls, so unit tests and fuzzers link it alone.
 */
#ifndef KILN_BOOT_H
#define KILN_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

enum boot_proto {
	BOOT_PROTO_PVH = 1, /* ELF with XEN_ELFNOTE_PHYS32_ENTRY: 32-bit entry, EBX = start info */
	BOOT_PROTO_LINUX64 = 2, /* ELF without PVH note or bzImage: 64-bit entry, RSI = zero page */
};

/* Errors of the kernel loaders: one value per way an image can be wrong. */
enum boot_err {
	BOOT_OK = 0,
	BOOT_ERR_TOO_SMALL,	   /* shorter than any header we need */
	BOOT_ERR_BAD_MAGIC,	   /* neither ELF nor bzImage */
	BOOT_ERR_ELF_CLASS,	   /* not ELFCLASS64 / little-endian / x86-64 / EXEC */
	BOOT_ERR_ELF_PHDRS,	   /* program header table out of file or malformed */
	BOOT_ERR_SEG_FILE_RANGE,   /* p_offset + p_filesz outside the file */
	BOOT_ERR_SEG_SIZES,	   /* p_filesz > p_memsz */
	BOOT_ERR_SEG_OUTSIDE_RAM,  /* segment not wholly in one RAM region / below 1 MiB */
	BOOT_ERR_SEG_OVERLAP,	   /* two PT_LOAD segments overlap */
	BOOT_ERR_NO_LOAD_SEGMENTS, /* no PT_LOAD */
	BOOT_ERR_BAD_NOTE,	   /* malformed PT_NOTE / PVH note */
	BOOT_ERR_BZ_HEADER,	   /* bad setup header (boot_flag, HdrS, setup_sects) */
	BOOT_ERR_BZ_VERSION,	   /* boot protocol < 2.12 */
	BOOT_ERR_BZ_NOT_64BIT,	   /* XLF_KERNEL_64 not set */
	BOOT_ERR_BZ_PAYLOAD,	   /* protected-mode part empty or does not fit in RAM */
	BOOT_ERR_INITRD_TOO_BIG,   /* initrd does not fit between kernel and low RAM top */
	BOOT_ERR_CMDLINE_TOO_LONG, /* longer than CMDLINE_MAX_BYTES - 1 or the kernel's limit */
	BOOT_ERR_NO_MEMORY,	   /* guest RAM too small for the boot structures */
	BOOT_ERR_ELF_ENTRY,	   /* entry point not inside a loaded segment / above 4 GiB */
	BOOT_ERR_COUNT
};

const char *boot_err_str(enum boot_err err);

/* bzImage setup header bytes copied into the zero page (offset 0x1f1..). */
#define BOOT_SETUP_HDR_OFFSET	 0x1f1
#define BOOT_SETUP_HDR_MAX_BYTES (0x290 - BOOT_SETUP_HDR_OFFSET)

struct boot_image {
	enum boot_proto proto;
	uint64_t entry;	      /* guest-physical entry point */
	uint64_t load_start;  /* lowest guest byte the kernel occupies */
	uint64_t load_end;    /* one past the highest */
	uint32_t cmdline_max; /* kernel's limit (bzImage cmdline_size) or CMDLINE_MAX_BYTES-1 */
	int is_bzimage;
	uint8_t setup_hdr[BOOT_SETUP_HDR_MAX_BYTES]; /* valid if is_bzimage */
	size_t setup_hdr_len;
};

/* Detect ELF vs bzImage and load into guest memory. */
enum boot_err boot_load_kernel(const struct guest_mem *gm, const uint8_t *img, size_t len,
			       struct boot_image *out);
enum boot_err elf_load(const struct guest_mem *gm, const uint8_t *img, size_t len,
		       struct boot_image *out);
enum boot_err bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t len,
			   struct boot_image *out);

/*
 * Find the PVH entry (XEN_ELFNOTE_PHYS32_ENTRY, type 18, name "Xen") in a
 * note blob. Returns 1 and sets *entry if found, 0 if not, -1 if malformed.
 */
int pvh_find_entry_note(const uint8_t *notes, size_t len, uint64_t *entry);

/* E820 / PVH memmap entries. */
#define E820_RAM	 1
#define E820_RESERVED	 2
#define E820_MAX_ENTRIES 8

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* Fill @out with the guest's memory map; returns the count. */
unsigned int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned int max);

/* Copy the NUL-terminated command line to CMDLINE_GPA; checks length vs @max_len. */
enum boot_err cmdline_write(const struct guest_mem *gm, const char *cmdline, uint32_t max_len);

/* Append " extra" to a command line buffer of @cap bytes; -ENOSPC if it does not fit. */
int cmdline_append(char *buf, size_t cap, const char *extra);

/* Place the initrd at the top of low RAM (page aligned, above the kernel). */
enum boot_err initrd_place(const struct guest_mem *gm, const struct boot_image *img,
			   const uint8_t *initrd, size_t len, uint64_t *gpa_out);

struct boot_params_in {
	uint64_t cmdline_gpa;
	uint32_t cmdline_len; /* without NUL */
	uint64_t initrd_gpa;  /* 0 if none */
	uint64_t initrd_len;
};

/* PVH: hvm_start_info at PVH_START_INFO_GPA and memmap at PVH_MEMMAP_GPA. */
enum boot_err pvh_write_start_info(const struct guest_mem *gm, const struct boot_params_in *in);

/* Linux 64-bit boot protocol: zero page at ZERO_PAGE_GPA, GDT, identity page tables. */
enum boot_err linux64_write_zero_page(const struct guest_mem *gm, const struct boot_image *img,
				      const struct boot_params_in *in);
enum boot_err linux64_write_page_tables(const struct guest_mem *gm);
/* 4-entry flat GDT (null, code64 0x08... ) at BOOT_GDT_GPA; selectors below. */
enum boot_err boot_write_gdt(const struct guest_mem *gm);
#define BOOT_GDT_CODE32_SEL 0x08 /* used for PVH entry (32-bit flat code) */
#define BOOT_GDT_CODE64_SEL 0x10 /* used for 64-bit entry */
#define BOOT_GDT_DATA_SEL   0x18
#define BOOT_GDT_TSS_SEL    0x20
#define BOOT_GDT_ENTRIES    4

/* Intel MP 1.4 table for @nr_vcpus CPUs, one IOAPIC and ISA IRQs 0-15 (+virtio GSIs). */
enum boot_err mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus);

#endif
