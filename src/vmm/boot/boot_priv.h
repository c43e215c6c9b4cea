/* SPDX-License-Identifier: MIT */
/*
 * Private to src/vmm/boot/: little-endian field access for untrusted images
 * and guest tables, and the setup-header / zero-page offsets shared by the
 * bzImage loader, the zero-page builder and initrd placement.
 */
#ifndef KILN_BOOT_PRIV_H
#define KILN_BOOT_PRIV_H

#include <stdint.h>

/* Explicit byte order: images and tables are x86 (little-endian) data. */
static inline uint16_t boot_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t boot_ld32(const uint8_t *p)
{
	return (uint32_t)boot_ld16(p) | (uint32_t)boot_ld16(p + 2) << 16;
}

static inline uint64_t boot_ld64(const uint8_t *p)
{
	return (uint64_t)boot_ld32(p) | (uint64_t)boot_ld32(p + 4) << 32;
}

static inline void boot_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void boot_st32(uint8_t *p, uint32_t v)
{
	boot_st16(p, (uint16_t)v);
	boot_st16(p + 2, (uint16_t)(v >> 16));
}

static inline void boot_st64(uint8_t *p, uint64_t v)
{
	boot_st32(p, (uint32_t)v);
	boot_st32(p + 4, (uint32_t)(v >> 32));
}

/*
 * struct boot_params ("zero page") offsets: arch/x86/include/uapi/asm/bootparam.h
 * and Documentation/x86/zero-page.rst. The setup header starts at 0x1f1 both in
 * the bzImage file and in the zero page (boot.rst "The Real-Mode Kernel Header").
 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES	     0x1e8
#define BP_E820_TABLE	     0x2d0
#define BP_E820_MAX_ENTRIES  128
#define BP_E820_ENTRY_BYTES  20
#define BP_BYTES	     4096

#define SH_SETUP_SECTS	      0x1f1
#define SH_SYSSIZE	      0x1f4
#define SH_BOOT_FLAG	      0x1fe
#define SH_JUMP		      0x200
#define SH_HEADER	      0x202
#define SH_VERSION	      0x206
#define SH_TYPE_OF_LOADER     0x210
#define SH_LOADFLAGS	      0x211
#define SH_RAMDISK_IMAGE      0x218
#define SH_RAMDISK_SIZE	      0x21c
#define SH_CMD_LINE_PTR	      0x228
#define SH_INITRD_ADDR_MAX    0x22c
#define SH_KERNEL_ALIGNMENT   0x230
#define SH_RELOCATABLE_KERNEL 0x234
#define SH_XLOADFLAGS	      0x236
#define SH_CMDLINE_SIZE	      0x238
#define SH_PREF_ADDRESS	      0x258
#define SH_INIT_SIZE	      0x260
/* One past the last field the loader reads (init_size, protocol 2.10+). */
#define SH_MIN_END 0x264

#define SH_BOOT_FLAG_MAGIC	      0xaa55
#define SH_HEADER_MAGIC		      0x53726448U /* "HdrS" read little-endian */
#define SH_MIN_VERSION		      0x020c	  /* 2.12: xloadflags exists */
#define SH_LOADFLAG_LOADED_HIGH	      0x01
#define SH_XLF_KERNEL_64	      0x0001
#define SH_XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define SH_LOADER_UNDEFINED	      0xff /* boot.rst type_of_loader: "undefined" */

/* Offset of a zero-page field inside struct boot_image.setup_hdr. */
#define SH_IN_COPY(off) ((off)-BOOT_SETUP_HDR_OFFSET)

#endif
