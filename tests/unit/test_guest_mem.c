/* SPDX-License-Identifier: MIT */
/* Guest memory wall: gm_ptr() bounds, overflow, the MMIO gap and the layout. */
#include "unit.h"

/* Never dereferenced: gm_ptr() only does address arithmetic on them. */
#define FAKE_LOW_HOST  ((uint8_t *)(uintptr_t)0x100000000000ULL)
#define FAKE_HIGH_HOST ((uint8_t *)(uintptr_t)0x200000000000ULL)

static void two_region_gm(struct guest_mem *gm)
{
	assert_int_equal(gm_layout(gm, GiB(4)), 0);
	gm->regions[0].host = FAKE_LOW_HOST;
	gm->regions[1].host = FAKE_HIGH_HOST;
}

static void test_gm_ptr_rejects_address_overflow(void **state)
{
	struct unit_gm *u = *state;

	assert_null(gm_ptr(&u->gm, UINT64_MAX - 1, 4));
	assert_null(gm_ptr(&u->gm, UINT64_MAX, 1));
	assert_null(gm_ptr(&u->gm, 16, UINT64_MAX));
}

static void test_gm_ptr_rejects_zero_length(void **state)
{
	struct unit_gm *u = *state;

	assert_null(gm_ptr(&u->gm, 0x1000, 0));
}

static void test_gm_ptr_checks_end_of_ram(void **state)
{
	struct unit_gm *u = *state;

	assert_ptr_equal(gm_ptr(&u->gm, u->size - 8, 8), u->buf + u->size - 8);
	assert_null(gm_ptr(&u->gm, u->size - 8, 9));
	assert_null(gm_ptr(&u->gm, u->size, 1));
}

static void test_gm_read_write_round_trip_and_fault(void **state)
{
	struct unit_gm *u = *state;
	uint8_t in[4] = {1, 2, 3, 4}, out[4] = {0};

	assert_int_equal(gm_write(&u->gm, 0x1234, in, sizeof(in)), 0);
	assert_int_equal(gm_read(&u->gm, out, 0x1234, sizeof(out)), 0);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(gm_write(&u->gm, u->size - 2, in, sizeof(in)), -EFAULT);
	assert_int_equal(gm_read(&u->gm, out, u->size - 2, sizeof(out)), -EFAULT);
}

static void test_gm_layout_splits_around_mmio_gap(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(4)), 0);
	assert_int_equal(gm.nr_regions, 2);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].size, MMIO_GAP_START_GPA);
	assert_int_equal(gm.regions[1].gpa, MMIO_GAP_END_GPA);
	assert_int_equal(gm.regions[1].size, GiB(1));
	assert_int_equal(gm.total_bytes, GiB(4));
	assert_int_equal(gm_low_end(&gm), MMIO_GAP_START_GPA);
}

static void test_gm_layout_rejects_bad_sizes(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_layout(&gm, 0), -EINVAL);
	assert_int_equal(gm_layout(&gm, MiB(1) + 1), -EINVAL);
	assert_int_equal(gm_layout(&gm, MiB(128)), 0);
	assert_int_equal(gm.nr_regions, 1);
}

static void test_gm_ptr_refuses_gap_and_cross_region(void **state)
{
	struct guest_mem gm;

	(void)state;
	two_region_gm(&gm);
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_START_GPA - 16, 16),
			 FAKE_LOW_HOST + MMIO_GAP_START_GPA - 16);
	assert_null(gm_ptr(&gm, MMIO_GAP_START_GPA - 8, 16)); /* runs into the gap */
	assert_null(gm_ptr(&gm, BOOT_TIMER_GPA, 1));
	assert_null(gm_ptr(&gm, IOAPIC_GPA, 4));
	assert_null(gm_ptr(&gm, MMIO_GAP_START_GPA - 8, GiB(1) + 16)); /* spans the gap */
	assert_ptr_equal(gm_ptr(&gm, MMIO_GAP_END_GPA, 16), FAKE_HIGH_HOST);
	assert_ptr_equal(gm_ptr(&gm, GiB(5) - 1, 1), FAKE_HIGH_HOST + GiB(1) - 1);
	assert_null(gm_ptr(&gm, GiB(5) - 1, 2)); /* past the end of high RAM */
	assert_null(gm_ptr(&gm, GiB(5), 1));
}

static void test_gm_init_from_buffer_refuses_two_regions(void **state)
{
	struct guest_mem gm;
	uint8_t dummy;

	(void)state;
	/* Only the layout is computed; the buffer is never touched. */
	assert_int_equal(gm_init_from_buffer(&gm, &dummy, GiB(4)), -EINVAL);
}

static void test_gm_ptr_refuses_unmapped_region(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_layout(&gm, MiB(16)), 0);
	assert_null(gm_ptr(&gm, 0x1000, 1)); /* laid out, host pointer still NULL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gm_ptr_rejects_address_overflow, unit_gm_setup,
					    unit_gm_teardown),
	    cmocka_unit_test_setup_teardown(test_gm_ptr_rejects_zero_length, unit_gm_setup,
					    unit_gm_teardown),
	    cmocka_unit_test_setup_teardown(test_gm_ptr_checks_end_of_ram, unit_gm_setup,
					    unit_gm_teardown),
	    cmocka_unit_test_setup_teardown(test_gm_read_write_round_trip_and_fault, unit_gm_setup,
					    unit_gm_teardown),
	    cmocka_unit_test(test_gm_layout_splits_around_mmio_gap),
	    cmocka_unit_test(test_gm_layout_rejects_bad_sizes),
	    cmocka_unit_test(test_gm_ptr_refuses_gap_and_cross_region),
	    cmocka_unit_test(test_gm_init_from_buffer_refuses_two_regions),
	    cmocka_unit_test(test_gm_ptr_refuses_unmapped_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
