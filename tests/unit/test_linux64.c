/* SPDX-License-Identifier: MIT */
/* Linux 64-bit boot protocol state: zero page fields, identity page tables, GDT. */
#include "unit.h"
#include "vmm/boot/boot.h"

static const struct boot_params_in params = {
    .cmdline_gpa = CMDLINE_GPA,
    .cmdline_len = 12,
    .initrd_gpa = 0x123456000ULL, /* above 4 GiB: exercises the ext_* halves */
    .initrd_len = 0x100000001ULL,
};

static uint8_t *zp(struct unit_gm *u)
{
	return unit_gpa(u, ZERO_PAGE_GPA);
}

static void expect_loader_fields(struct unit_gm *u)
{
	const uint8_t *bp = zp(u);

	assert_int_equal(bp[0x210], 0xff);
	assert_true(bp[0x211] & 0x01);
	assert_int_equal(unit_ld32(bp + 0x228), CMDLINE_GPA);
	assert_int_equal(unit_ld32(bp + 0x0c8), 0);
	assert_int_equal(unit_ld32(bp + 0x218), 0x23456000);
	assert_int_equal(unit_ld32(bp + 0x0c0), 0x1);
	assert_int_equal(unit_ld32(bp + 0x21c), 0x1);
	assert_int_equal(unit_ld32(bp + 0x0c4), 0x1);
}

static void test_zero_page_synthesizes_header_for_elf(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64, .cmdline_max = 4095};
	const uint8_t *bp = zp(u);

	assert_int_equal(linux64_write_zero_page(&u->gm, &img, &params), BOOT_OK);
	assert_int_equal(unit_ld16(bp + 0x1fe), 0xaa55);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(unit_ld16(bp + 0x206), 0x020c);
	assert_int_equal(unit_ld32(bp + 0x238), 4095);
	assert_int_equal(bp[0x1ef], 0); /* sentinel clear: boot_params are trustworthy */
	expect_loader_fields(u);
}

static void test_zero_page_copies_bzimage_header(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64, .is_bzimage = 1};
	const uint8_t *bp = zp(u);

	img.setup_hdr_len = 0x268 - BOOT_SETUP_HDR_OFFSET;
	for (size_t i = 0; i < img.setup_hdr_len; i++)
		img.setup_hdr[i] = (uint8_t)(i + 1);
	assert_int_equal(linux64_write_zero_page(&u->gm, &img, &params), BOOT_OK);
	assert_int_equal(bp[0x1f1], 1);
	assert_int_equal(bp[0x206], 0x206 - 0x1f1 + 1); /* kernel's own version byte */
	assert_int_equal(bp[0x267], 0x267 - 0x1f1 + 1);
	assert_int_equal(bp[0x268], 0);
	expect_loader_fields(u);
}

static void test_zero_page_has_e820_table(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64};
	const uint8_t *bp = zp(u), *e;

	assert_int_equal(linux64_write_zero_page(&u->gm, &img, &params), BOOT_OK);
	assert_int_equal(bp[0x1e8], 3);
	e = bp + 0x2d0 + 2 * 20;
	assert_int_equal(unit_ld64(e), HIGH_MEMORY_GPA);
	assert_int_equal(unit_ld64(e + 8), u->size - HIGH_MEMORY_GPA);
	assert_int_equal(unit_ld32(e + 16), E820_RAM);
	assert_int_equal(unit_ld32(bp + 0x2d0 + 20 + 16), E820_RESERVED);
}

static void test_zero_page_without_initrd_leaves_ramdisk_zero(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64};
	struct boot_params_in in = {.cmdline_gpa = CMDLINE_GPA};

	assert_int_equal(linux64_write_zero_page(&u->gm, &img, &in), BOOT_OK);
	assert_int_equal(unit_ld32(zp(u) + 0x218) | unit_ld32(zp(u) + 0x21c), 0);
}

static void test_zero_page_rejects_oversized_header_copy(void **state)
{
	struct unit_gm *u = *state;
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64, .is_bzimage = 1};

	img.setup_hdr_len = sizeof(img.setup_hdr) + 1;
	assert_int_equal(linux64_write_zero_page(&u->gm, &img, &params), BOOT_ERR_BZ_HEADER);
}

static void test_page_tables_identity_map_4gib(void **state)
{
	struct unit_gm *u = *state;
	const uint8_t *pml4 = unit_gpa(u, BOOT_PML4_GPA), *pdpt = unit_gpa(u, BOOT_PDPT_GPA);

	assert_int_equal(linux64_write_page_tables(&u->gm), BOOT_OK);
	assert_int_equal(unit_ld64(pml4), BOOT_PDPT_GPA | 0x3);
	assert_int_equal(unit_ld64(pml4 + 8), 0);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(unit_ld64(pdpt + 8 * i), (BOOT_PD_GPA + 0x1000 * i) | 0x3);
	assert_int_equal(unit_ld64(pdpt + 8 * 4), 0);
	/* Every 2 MiB page maps to itself. */
	for (uint64_t i = 0; i < 4 * 512; i++) {
		uint64_t pde = unit_ld64(unit_gpa(u, BOOT_PD_GPA + 8 * i));

		assert_int_equal(pde, i * MiB(2) | 0x83);
	}
}

static void test_gdt_has_flat_code32_code64_and_data(void **state)
{
	struct unit_gm *u = *state;
	const uint8_t *gdt = unit_gpa(u, BOOT_GDT_GPA);

	memset(unit_gpa(u, BOOT_GDT_GPA), 0xee, BOOT_GDT_ENTRIES * 8);
	assert_int_equal(boot_write_gdt(&u->gm), BOOT_OK);
	assert_int_equal(unit_ld64(gdt), 0);
	assert_int_equal(unit_ld64(gdt + BOOT_GDT_CODE32_SEL), 0x00cf9b000000ffffULL);
	assert_int_equal(unit_ld64(gdt + BOOT_GDT_CODE64_SEL), 0x00af9b000000ffffULL);
	assert_int_equal(unit_ld64(gdt + BOOT_GDT_DATA_SEL), 0x00cf93000000ffffULL);
	assert_true(BOOT_GDT_GPA + BOOT_GDT_ENTRIES * 8 <= BOOT_IDT_GPA);
}

static void test_boot_structures_fail_without_guest_ram(void **state)
{
	struct unit_gm *tiny = unit_gm_new(KiB(16)); /* ends inside the zero page's page */
	struct boot_image img = {.proto = BOOT_PROTO_LINUX64};

	(void)state;
	assert_int_equal(linux64_write_zero_page(&tiny->gm, &img, &params), BOOT_ERR_NO_MEMORY);
	assert_int_equal(linux64_write_page_tables(&tiny->gm), BOOT_ERR_NO_MEMORY);
	unit_gm_free(tiny);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_zero_page_synthesizes_header_for_elf),
	    T(test_zero_page_copies_bzimage_header),
	    T(test_zero_page_has_e820_table),
	    T(test_zero_page_without_initrd_leaves_ramdisk_zero),
	    T(test_zero_page_rejects_oversized_header_copy),
	    T(test_page_tables_identity_map_4gib),
	    T(test_gdt_has_flat_code32_code64_and_data),
	    cmocka_unit_test(test_boot_structures_fail_without_guest_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
