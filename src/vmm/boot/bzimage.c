/* SPDX-License-Identifier: MIT */
/*
 * bzImage loader for the Linux 64-bit boot protocol (Documentation/x86/boot.rst):
 * checks the setup header, loads the protected-mode part where the kernel
 * wants to run and keeps the header bytes for the zero page.
 */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/boot/boot_priv.h"
#include "vmm/layout.h"

#define BZ_SECTOR_BYTES	      512
#define BZ_DEFAULT_SETUP_SECT 4	     /* boot.rst: "if this field is 0, the real value is 4" */
#define BZ_ENTRY64_OFFSET     0x200  /* boot.rst "64-bit Boot Protocol" */
#define BZ_MAX_ALIGN	      GiB(1) /* larger kernel_alignment values are nonsense */

struct bz_layout {
	uint64_t payload_off, payload_len;
	uint64_t init_size, align;
	uint64_t pref;
	int relocatable;
};

static enum boot_err bz_check_header(const uint8_t *img, size_t len, size_t *hdr_end)
{
	uint64_t end;

	if (boot_ld16(img + SH_BOOT_FLAG) != SH_BOOT_FLAG_MAGIC ||
	    boot_ld32(img + SH_HEADER) != SH_HEADER_MAGIC)
		return BOOT_ERR_BZ_HEADER;
	if (boot_ld16(img + SH_VERSION) < SH_MIN_VERSION)
		return BOOT_ERR_BZ_VERSION;
	if (!(boot_ld16(img + SH_XLOADFLAGS) & SH_XLF_KERNEL_64))
		return BOOT_ERR_BZ_NOT_64BIT;
	/* A zImage loads at 0x10000; only the "loaded high" layout has a 64-bit entry. */
	if (!(img[SH_LOADFLAGS] & SH_LOADFLAG_LOADED_HIGH))
		return BOOT_ERR_BZ_HEADER;
	/* boot.rst §64-bit: the header ends at 0x202 + the byte at 0x201. */
	end = SH_HEADER + (uint64_t)img[SH_JUMP + 1];
	if (end < SH_MIN_END || end > len)
		return BOOT_ERR_BZ_HEADER;
	*hdr_end = end;
	return BOOT_OK;
}

static enum boot_err bz_parse_layout(const uint8_t *img, size_t len, struct bz_layout *l)
{
	uint64_t sects = img[SH_SETUP_SECTS] ? img[SH_SETUP_SECTS] : BZ_DEFAULT_SETUP_SECT;

	/* The protected-mode part follows the boot sector and the setup sectors. */
	l->payload_off = (sects + 1) * BZ_SECTOR_BYTES;
	if (l->payload_off > len)
		return BOOT_ERR_BZ_HEADER;
	l->payload_len = len - l->payload_off;
	/*
	 * The 64-bit entry sits 0x200 into the payload, so it must hold more than
	 * that; syssize counts its 16-byte paragraphs, which catches truncation.
	 */
	if (l->payload_len <= BZ_ENTRY64_OFFSET ||
	    (uint64_t)boot_ld32(img + SH_SYSSIZE) * 16 > l->payload_len)
		return BOOT_ERR_BZ_PAYLOAD;
	l->init_size = boot_ld32(img + SH_INIT_SIZE);
	l->align = boot_ld32(img + SH_KERNEL_ALIGNMENT);
	l->pref = boot_ld64(img + SH_PREF_ADDRESS);
	l->relocatable = img[SH_RELOCATABLE_KERNEL] != 0;
	if (l->relocatable &&
	    (l->align == 0 || (l->align & (l->align - 1)) || l->align > BZ_MAX_ALIGN))
		return BOOT_ERR_BZ_HEADER;
	return BOOT_OK;
}

/* [start, start + len) lies in low RAM (the 0-4 GiB identity map) at or above 1 MiB. */
static int bz_range_ok(const struct guest_mem *gm, uint64_t start, uint64_t len, uint64_t *end)
{
	return start >= HIGH_MEMORY_GPA && !__builtin_add_overflow(start, len, end) &&
	       *end <= gm_low_end(gm) && gm_ptr(gm, start, len) != NULL;
}

/*
 * boot.rst "init_size": the kernel runs from align_up(load, kernel_alignment)
 * if relocatable, else from pref_address, and needs init_size bytes there as
 * well as the loaded payload itself. Linux's decompressor also never runs
 * below LOAD_PHYSICAL_ADDR, which it reports as pref_address
 * (arch/x86/boot/compressed/head_64.S), so a relocatable kernel's working
 * area starts at the higher of the two. Returns 0 and the end of both if it fits.
 */
static int bz_fits_at(const struct guest_mem *gm, const struct bz_layout *l, uint64_t load,
		      uint64_t *load_end)
{
	uint64_t run = l->pref, aligned, payload_end, run_end = 0;

	if (l->relocatable) {
		if (__builtin_add_overflow(load, l->align - 1, &aligned))
			return -1;
		aligned &= ~(l->align - 1);
		if (aligned > run)
			run = aligned;
	}
	if (!bz_range_ok(gm, load, l->payload_len, &payload_end))
		return -1;
	if (l->init_size && !bz_range_ok(gm, run, l->init_size, &run_end))
		return -1;
	*load_end = run_end > payload_end ? run_end : payload_end;
	return 0;
}

/* Prefer pref_address (no self-relocation); a relocatable kernel may go at 1 MiB. */
static enum boot_err bz_place(const struct guest_mem *gm, const struct bz_layout *l, uint64_t *load,
			      uint64_t *load_end)
{
	uint64_t low;

	*load = l->pref ? l->pref : HIGH_MEMORY_GPA;
	if (bz_fits_at(gm, l, *load, load_end) == 0)
		return BOOT_OK;
	if (!l->relocatable)
		return BOOT_ERR_BZ_PAYLOAD;
	low = (HIGH_MEMORY_GPA + l->align - 1) & ~(l->align - 1);
	*load = low;
	return bz_fits_at(gm, l, low, load_end) == 0 ? BOOT_OK : BOOT_ERR_BZ_PAYLOAD;
}

enum boot_err bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t len,
			   struct boot_image *out)
{
	struct bz_layout l;
	size_t hdr_end = 0;
	uint64_t load = 0, load_end = 0;
	uint32_t cmdline_size;
	enum boot_err err;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	if (!img || len < SH_MIN_END)
		return BOOT_ERR_TOO_SMALL;
	err = bz_check_header(img, len, &hdr_end);
	if (err == BOOT_OK)
		err = bz_parse_layout(img, len, &l);
	if (err == BOOT_OK)
		err = bz_place(gm, &l, &load, &load_end);
	if (err != BOOT_OK)
		return err;
	if (gm_write(gm, load, img + l.payload_off, l.payload_len))
		return BOOT_ERR_BZ_PAYLOAD;
	out->proto = BOOT_PROTO_LINUX64;
	out->entry = load + BZ_ENTRY64_OFFSET;
	out->load_start = load;
	out->load_end = load_end;
	out->is_bzimage = 1;
	/* boot.rst cmdline_size: characters without the NUL; our buffer bounds it too. */
	cmdline_size = boot_ld32(img + SH_CMDLINE_SIZE);
	out->cmdline_max =
	    cmdline_size < CMDLINE_MAX_BYTES - 1 ? cmdline_size : CMDLINE_MAX_BYTES - 1;
	out->setup_hdr_len = hdr_end - BOOT_SETUP_HDR_OFFSET;
	if (out->setup_hdr_len > sizeof(out->setup_hdr))
		out->setup_hdr_len = sizeof(out->setup_hdr);
	memcpy(out->setup_hdr, img + BOOT_SETUP_HDR_OFFSET, out->setup_hdr_len);
	return BOOT_OK;
}
