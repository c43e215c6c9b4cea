/* SPDX-License-Identifier: MIT */
/* Guest memory map: RAM, the reserved EBDA/BIOS window, RAM above 4 GiB. */
#include "unit.h"
#include "vmm/boot/boot.h"

static void expect_entry(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_e820_reserves_only_ebda_window_below_1mib(void **state)
{
	struct guest_mem gm;
	struct e820_entry map[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(gm_layout(&gm, MiB(128)), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), 3);
	expect_entry(&map[0], 0, EBDA_START_GPA, E820_RAM);
	expect_entry(&map[1], EBDA_START_GPA, HIGH_MEMORY_GPA - EBDA_START_GPA, E820_RESERVED);
	expect_entry(&map[2], HIGH_MEMORY_GPA, MiB(127), E820_RAM);
}

static void test_e820_adds_ram_above_4gib(void **state)
{
	struct guest_mem gm;
	struct e820_entry map[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(6)), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), 4);
	expect_entry(&map[2], HIGH_MEMORY_GPA, MMIO_GAP_START_GPA - HIGH_MEMORY_GPA, E820_RAM);
	expect_entry(&map[3], MMIO_GAP_END_GPA, GiB(3), E820_RAM);
}

static void test_e820_exactly_3gib_has_no_high_entry(void **state)
{
	struct guest_mem gm;
	struct e820_entry map[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(3)), 0);
	assert_int_equal(e820_build(&gm, map, E820_MAX_ENTRIES), 3);
	expect_entry(&map[2], HIGH_MEMORY_GPA, GiB(3) - HIGH_MEMORY_GPA, E820_RAM);
}

static void test_e820_respects_capacity(void **state)
{
	struct guest_mem gm;
	struct e820_entry map[2];

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(6)), 0);
	assert_int_equal(e820_build(&gm, map, 2), 2);
	assert_int_equal(e820_build(&gm, map, 0), 0);
}

static void test_e820_entries_sorted_and_disjoint(void **state)
{
	struct guest_mem gm;
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned int n;

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(5)), 0);
	n = e820_build(&gm, map, E820_MAX_ENTRIES);
	for (unsigned int i = 1; i < n; i++)
		assert_true(map[i - 1].addr + map[i - 1].size <= map[i].addr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_e820_reserves_only_ebda_window_below_1mib),
	    cmocka_unit_test(test_e820_adds_ram_above_4gib),
	    cmocka_unit_test(test_e820_exactly_3gib_has_no_high_entry),
	    cmocka_unit_test(test_e820_respects_capacity),
	    cmocka_unit_test(test_e820_entries_sorted_and_disjoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
