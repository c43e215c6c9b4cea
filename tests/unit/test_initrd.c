/* SPDX-License-Identifier: MIT */
/* Initrd placement: top of low RAM, page aligned, above the kernel, within its limits. */
#include "unit.h"
#include "vmm/boot/boot.h"

static const struct boot_image elf_kernel = {
    .proto = BOOT_PROTO_LINUX64, .load_start = MiB(16), .load_end = MiB(20)};

static void test_initrd_goes_to_page_aligned_top_of_low_ram(void **state)
{
	struct unit_gm *u = *state;
	uint8_t initrd[5000];
	uint64_t gpa = 0;

	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(initrd_place(&u->gm, &elf_kernel, initrd, sizeof(initrd), &gpa), BOOT_OK);
	assert_int_equal(gpa, (u->size - sizeof(initrd)) & ~0xfffULL);
	assert_true(gpa + sizeof(initrd) <= u->size);
	assert_memory_equal(unit_gpa(u, gpa), initrd, sizeof(initrd));
}

static void test_initrd_of_zero_length_places_nothing(void **state)
{
	struct unit_gm *u = *state;
	uint64_t gpa = 123;

	assert_int_equal(initrd_place(&u->gm, &elf_kernel, NULL, 0, &gpa), BOOT_OK);
	assert_int_equal(gpa, 0);
}

static void test_initrd_rejects_overlap_with_kernel(void **state)
{
	struct unit_gm *u = *state;
	static uint8_t initrd[MiB(4)];
	struct boot_image k = elf_kernel;
	uint64_t gpa;

	k.load_end = u->size - MiB(4) + 1; /* one byte short of room */
	assert_int_equal(initrd_place(&u->gm, &k, initrd, sizeof(initrd), &gpa),
			 BOOT_ERR_INITRD_TOO_BIG);
	k.load_end = u->size - MiB(4);
	assert_int_equal(initrd_place(&u->gm, &k, initrd, sizeof(initrd), &gpa), BOOT_OK);
	assert_int_equal(gpa, k.load_end);
}

static void test_initrd_rejects_larger_than_ram(void **state)
{
	struct unit_gm *u = *state;
	uint8_t byte = 0;
	uint64_t gpa;

	/* The length alone is refused: the buffer is never read. */
	assert_int_equal(initrd_place(&u->gm, &elf_kernel, &byte, (size_t)u->size + 1, &gpa),
			 BOOT_ERR_INITRD_TOO_BIG);
	assert_int_equal(initrd_place(&u->gm, &elf_kernel, &byte, SIZE_MAX, &gpa),
			 BOOT_ERR_INITRD_TOO_BIG);
}

/* A bzImage without XLF_CAN_BE_LOADED_ABOVE_4G caps the initrd at initrd_addr_max. */
static void test_initrd_honours_bzimage_initrd_addr_max(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image k = elf_kernel;
	uint8_t initrd[100] = {0};
	uint64_t gpa;

	k.is_bzimage = 1;
	k.setup_hdr_len = 0x268 - BOOT_SETUP_HDR_OFFSET;
	unit_st32(k.setup_hdr + 0x22c - BOOT_SETUP_HDR_OFFSET, MiB(32) - 1);
	assert_int_equal(initrd_place(&u->gm, &k, initrd, sizeof(initrd), &gpa), BOOT_OK);
	assert_int_equal(gpa, MiB(32) - 0x1000);
	unit_st16(k.setup_hdr + 0x236 - BOOT_SETUP_HDR_OFFSET, 0x3);
	assert_int_equal(initrd_place(&u->gm, &k, initrd, sizeof(initrd), &gpa), BOOT_OK);
	assert_int_equal(gpa, u->size - 0x1000);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_initrd_goes_to_page_aligned_top_of_low_ram),
	    T(test_initrd_of_zero_length_places_nothing),
	    T(test_initrd_rejects_overlap_with_kernel),
	    T(test_initrd_rejects_larger_than_ram),
	    T(test_initrd_honours_bzimage_initrd_addr_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
