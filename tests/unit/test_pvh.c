/* SPDX-License-Identifier: MIT */
/* PVH: the Xen entry note parser and hvm_start_info v1 in guest memory. */
#include "unit.h"
#include "vmm/boot/boot.h"

/* Appends one note; returns the new length. */
static size_t note(uint8_t *buf, size_t off, const char *name, uint32_t type, const void *desc,
		   uint32_t descsz)
{
	uint32_t namesz = name ? (uint32_t)strlen(name) + 1 : 0;

	unit_st32(buf + off, namesz);
	unit_st32(buf + off + 4, descsz);
	unit_st32(buf + off + 8, type);
	off += 12;
	if (namesz)
		memcpy(buf + off, name, namesz);
	off += (namesz + 3) & ~3U;
	if (descsz)
		memcpy(buf + off, desc, descsz);
	return off + ((descsz + 3) & ~3U);
}

static void test_pvh_note_found_after_other_notes(void **state)
{
	uint8_t buf[128] = {0}, id[20] = {0}, entry4[4] = {0x00, 0x05, 0x00, 0x01};
	size_t len = note(buf, 0, "GNU", 3, id, sizeof(id));
	uint64_t entry = 0;

	(void)state;
	len = note(buf, len, "Linux", 18, entry4, 4); /* right type, wrong owner */
	len = note(buf, len, "Xen", 18, entry4, 4);
	len = note(buf, len, NULL, 0, NULL, 0);
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), 1);
	assert_int_equal(entry, 0x01000500);
}

static void test_pvh_note_accepts_quad_entry(void **state)
{
	uint8_t buf[64] = {0}, q[8] = {0x00, 0x05, 0x00, 0x01, 0, 0, 0, 0};
	size_t len = note(buf, 0, "Xen", 18, q, 8);
	uint64_t entry = 0;

	(void)state;
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), 1);
	assert_int_equal(entry, 0x01000500);
	q[4] = 1; /* above 4 GiB: not a 32-bit entry */
	len = note(buf, 0, "Xen", 18, q, 8);
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), -1);
}

static void test_pvh_note_absent_returns_zero(void **state)
{
	uint8_t buf[64] = {0}, d[4] = {1, 2, 3, 4};
	size_t len = note(buf, 0, "Xen", 17, d, 4);
	uint64_t entry = 0;

	(void)state;
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), 0);
	assert_int_equal(pvh_find_entry_note(buf, 0, &entry), 0);
}

static void test_pvh_note_rejects_malformed_notes(void **state)
{
	uint8_t buf[64] = {0}, d[4] = {1, 2, 3, 4};
	size_t len = note(buf, 0, "Xen", 18, d, 4);
	uint64_t entry;

	(void)state;
	assert_int_equal(pvh_find_entry_note(buf, 11, &entry), -1);	 /* header cut */
	assert_int_equal(pvh_find_entry_note(buf, len - 1, &entry), -1); /* desc cut */
	unit_st32(buf, 0xfffffff0);					 /* namesz huge */
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), -1);
	len = note(buf, 0, "Xen", 18, d, 3);
	assert_int_equal(pvh_find_entry_note(buf, len, &entry), -1); /* 3-byte entry */
}

static void test_pvh_start_info_fields(void **state)
{
	struct unit_gm *u = *state;
	struct boot_params_in in = {.cmdline_gpa = CMDLINE_GPA, .cmdline_len = 5};
	const uint8_t *si = unit_gpa(u, PVH_START_INFO_GPA);
	const uint8_t *map = unit_gpa(u, PVH_MEMMAP_GPA);

	assert_int_equal(pvh_write_start_info(&u->gm, &in), BOOT_OK);
	assert_int_equal(unit_ld32(si), 0x336ec578);
	assert_int_equal(unit_ld32(si + 4), 1);
	assert_int_equal(unit_ld32(si + 12), 0); /* nr_modules */
	assert_int_equal(unit_ld64(si + 24), CMDLINE_GPA);
	assert_int_equal(unit_ld64(si + 32), 0); /* no RSDP */
	assert_int_equal(unit_ld64(si + 40), PVH_MEMMAP_GPA);
	assert_int_equal(unit_ld32(si + 48), 3);
	assert_int_equal(unit_ld64(map), 0);
	assert_int_equal(unit_ld64(map + 8), EBDA_START_GPA);
	assert_int_equal(unit_ld32(map + 16), E820_RAM);
	assert_int_equal(unit_ld32(map + 24 + 16), E820_RESERVED);
	assert_int_equal(unit_ld64(map + 48), HIGH_MEMORY_GPA);
	assert_int_equal(unit_ld64(map + 48 + 8), u->size - HIGH_MEMORY_GPA);
}

static void test_pvh_start_info_lists_initrd_as_module(void **state)
{
	struct unit_gm *u = *state;
	struct boot_params_in in = {
	    .cmdline_gpa = CMDLINE_GPA, .initrd_gpa = 0x3000000, .initrd_len = 0x4321};
	const uint8_t *si = unit_gpa(u, PVH_START_INFO_GPA), *mod;

	assert_int_equal(pvh_write_start_info(&u->gm, &in), BOOT_OK);
	assert_int_equal(unit_ld32(si + 12), 1);
	mod = unit_gpa(u, unit_ld64(si + 16));
	assert_true(unit_ld64(si + 16) + 32 <= ZERO_PAGE_GPA);
	assert_int_equal(unit_ld64(mod), 0x3000000);
	assert_int_equal(unit_ld64(mod + 8), 0x4321);
	assert_int_equal(unit_ld64(mod + 16), 0);
}

static void test_pvh_start_info_fails_without_guest_ram(void **state)
{
	struct unit_gm *tiny = unit_gm_new(KiB(16)); /* ends below PVH_START_INFO_GPA's page */
	struct boot_params_in in = {.cmdline_gpa = CMDLINE_GPA};

	(void)state;
	assert_int_equal(pvh_write_start_info(&tiny->gm, &in), BOOT_ERR_NO_MEMORY);
	unit_gm_free(tiny);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pvh_note_found_after_other_notes),
	    cmocka_unit_test(test_pvh_note_accepts_quad_entry),
	    cmocka_unit_test(test_pvh_note_absent_returns_zero),
	    cmocka_unit_test(test_pvh_note_rejects_malformed_notes),
	    T(test_pvh_start_info_fields),
	    T(test_pvh_start_info_lists_initrd_as_module),
	    cmocka_unit_test(test_pvh_start_info_fails_without_guest_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
