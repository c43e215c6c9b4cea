/* SPDX-License-Identifier: MIT */
/*
 * Front door of the kernel loaders: tell an ELF vmlinux from a bzImage by
 * their magic numbers, and name every loader error for the one log line the
 * caller writes.
 */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/boot/boot_priv.h"

static const char *const boot_err_names[BOOT_ERR_COUNT] = {
    [BOOT_OK] = "ok",
    [BOOT_ERR_TOO_SMALL] = "image too small",
    [BOOT_ERR_BAD_MAGIC] = "not an ELF vmlinux or bzImage",
    [BOOT_ERR_ELF_CLASS] = "not a 64-bit little-endian x86-64 ELF executable",
    [BOOT_ERR_ELF_PHDRS] = "ELF program header table malformed or outside the file",
    [BOOT_ERR_SEG_FILE_RANGE] = "ELF segment data outside the file",
    [BOOT_ERR_SEG_SIZES] = "ELF segment file size larger than its memory size",
    [BOOT_ERR_SEG_OUTSIDE_RAM] = "ELF segment below 1 MiB or outside guest RAM",
    [BOOT_ERR_SEG_OVERLAP] = "ELF load segments overlap",
    [BOOT_ERR_NO_LOAD_SEGMENTS] = "ELF has no load segments",
    [BOOT_ERR_BAD_NOTE] = "malformed ELF note or PVH entry note",
    [BOOT_ERR_BZ_HEADER] = "bad bzImage setup header",
    [BOOT_ERR_BZ_VERSION] = "bzImage boot protocol older than 2.12",
    [BOOT_ERR_BZ_NOT_64BIT] = "bzImage has no 64-bit entry point",
    [BOOT_ERR_BZ_PAYLOAD] = "bzImage kernel empty, truncated or does not fit in guest RAM",
    [BOOT_ERR_INITRD_TOO_BIG] = "initrd does not fit between the kernel and the top of low RAM",
    [BOOT_ERR_CMDLINE_TOO_LONG] = "kernel command line too long",
    [BOOT_ERR_NO_MEMORY] = "guest RAM too small for the boot structures",
    [BOOT_ERR_ELF_ENTRY] = "ELF entry point not in a loaded segment below 4 GiB",
};

const char *boot_err_str(enum boot_err err)
{
	if ((unsigned int)err >= BOOT_ERR_COUNT || !boot_err_names[err])
		return "unknown boot error";
	return boot_err_names[err];
}

/* The setup header's "HdrS" (boot.rst, protocol 2.00+) or the boot sector's 0xAA55. */
static int boot_is_bzimage(const uint8_t *img, size_t len)
{
	if (len < SH_HEADER + 4)
		return 0;
	return boot_ld32(img + SH_HEADER) == SH_HEADER_MAGIC ||
	       boot_ld16(img + SH_BOOT_FLAG) == SH_BOOT_FLAG_MAGIC;
}

enum boot_err boot_load_kernel(const struct guest_mem *gm, const uint8_t *img, size_t len,
			       struct boot_image *out)
{
	static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};

	memset(out, 0, sizeof(*out));
	if (!img || len < sizeof(elf_magic))
		return BOOT_ERR_TOO_SMALL;
	if (!memcmp(img, elf_magic, sizeof(elf_magic)))
		return elf_load(gm, img, len, out);
	if (boot_is_bzimage(img, len))
		return bzimage_load(gm, img, len, out);
	return BOOT_ERR_BAD_MAGIC;
}
