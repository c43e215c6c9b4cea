/* SPDX-License-Identifier: MIT */
/*
 * Initrd placement: as high in low RAM as the kernel allows, page aligned,
 * never below the end of the kernel's load (and decompression) area.
 */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/boot/boot_priv.h"
#include "vmm/layout.h"

#define INITRD_ALIGN_BYTES 4096ULL

/*
 * boot.rst initrd_addr_max: the highest byte a bzImage accepts the initrd at,
 * unless XLF_CAN_BE_LOADED_ABOVE_4G says any address is fine. An ELF vmlinux
 * entered at 64 bits reads the ext_ramdisk_* halves and has no such limit.
 */
static uint64_t initrd_top(const struct guest_mem *gm, const struct boot_image *img)
{
	uint64_t top = gm_low_end(gm);
	uint64_t max;

	if (!img->is_bzimage || img->setup_hdr_len < SH_IN_COPY(SH_XLOADFLAGS) + 2)
		return top;
	if (boot_ld16(img->setup_hdr + SH_IN_COPY(SH_XLOADFLAGS)) & SH_XLF_CAN_BE_LOADED_ABOVE_4G)
		return top;
	max = (uint64_t)boot_ld32(img->setup_hdr + SH_IN_COPY(SH_INITRD_ADDR_MAX)) + 1;
	return max < top ? max : top;
}

enum boot_err initrd_place(const struct guest_mem *gm, const struct boot_image *img,
			   const uint8_t *initrd, size_t len, uint64_t *gpa_out)
{
	uint64_t top = initrd_top(gm, img), floor = img->load_end, start;

	*gpa_out = 0;
	if (len == 0)
		return BOOT_OK;
	if (!initrd)
		return BOOT_ERR_INITRD_TOO_BIG;
	if (floor < HIGH_MEMORY_GPA)
		floor = HIGH_MEMORY_GPA;
	if (len > top)
		return BOOT_ERR_INITRD_TOO_BIG;
	start = (top - len) & ~(INITRD_ALIGN_BYTES - 1);
	if (start < floor)
		return BOOT_ERR_INITRD_TOO_BIG;
	if (gm_write(gm, start, initrd, len))
		return BOOT_ERR_INITRD_TOO_BIG;
	*gpa_out = start;
	return BOOT_OK;
}
