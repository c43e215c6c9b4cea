/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the kernel loaders (DESIGN.md §8): the input is a kernel
 * image. If it loads, the boot structures for its protocol are built too, so
 * values taken from the image (setup header, load range, entry) flow through
 * initrd placement, the command line, the zero page or the PVH start info.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

#define FUZZ_GUEST_BYTES MiB(64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * One guest for the whole run (allocating 64 MiB per input would dominate).
 * Owned by the fuzzer process; stale bytes between inputs are harmless since
 * the loaders never read guest memory back.
 */
static struct guest_mem *fuzz_guest(void)
{
	static struct guest_mem gm;
	static uint8_t *ram;

	if (!ram) {
		ram = calloc(1, FUZZ_GUEST_BYTES);
		if (!ram || gm_init_from_buffer(&gm, ram, FUZZ_GUEST_BYTES))
			abort();
	}
	return &gm;
}

static void fuzz_boot_structures(const struct guest_mem *gm, const struct boot_image *img)
{
	static const uint8_t initrd[8192] = {0x1f, 0x8b};
	static const char cmdline[] = "console=ttyS0 reboot=k panic=1 pci=off";
	struct boot_params_in in = {.cmdline_gpa = CMDLINE_GPA};

	if (initrd_place(gm, img, initrd, sizeof(initrd), &in.initrd_gpa) == BOOT_OK)
		in.initrd_len = sizeof(initrd);
	if (cmdline_write(gm, cmdline, img->cmdline_max) == BOOT_OK)
		in.cmdline_len = sizeof(cmdline) - 1;
	if (img->proto == BOOT_PROTO_PVH)
		pvh_write_start_info(gm, &in);
	else
		linux64_write_zero_page(gm, img, &in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct guest_mem *gm = fuzz_guest();
	struct boot_image img;
	uint64_t entry;

	/* The note parser also sees raw bytes, not only well-framed PT_NOTEs. */
	pvh_find_entry_note(data, size, &entry);
	if (boot_load_kernel(gm, data, size, &img) != BOOT_OK)
		return 0;
	fuzz_boot_structures(gm, &img);
	return 0;
}
