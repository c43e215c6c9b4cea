/* SPDX-License-Identifier: MIT */
/* Port/MMIO bus: registration rules and dispatch bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/bus.h"

struct fake_dev {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
	int reads, writes;
};

static void fake_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	memset(data, 0x5a, len);
}

static void fake_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->last_val = data[0];
}

static const struct bus_dev_ops fake_ops = {fake_read, fake_write};

static void test_bus_dispatches_with_relative_offset(void **state)
{
	struct bus bus = {0};
	struct fake_dev d = {0};
	uint8_t v = 0x42, r[2];

	(void)state;
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &fake_ops, &d, "uart"), 0);
	assert_int_equal(bus_write(&bus, 0x3fb, &v, 1), 0);
	assert_int_equal(d.last_off, 3);
	assert_int_equal(d.last_val, 0x42);
	assert_int_equal(bus_read(&bus, 0x3fe, r, 2), 0);
	assert_int_equal(d.last_off, 6);
	assert_int_equal(r[0], 0x5a);
}

static void test_bus_rejects_overlapping_ranges(void **state)
{
	struct bus bus = {0};
	struct fake_dev d = {0};

	(void)state;
	assert_int_equal(bus_register(&bus, 0x60, 5, &fake_ops, &d, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x64, 1, &fake_ops, &d, "b"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x5f, 2, &fake_ops, &d, "c"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x65, 1, &fake_ops, &d, "d"), 0);
}

static void test_bus_rejects_empty_and_wrapping_ranges(void **state)
{
	struct bus bus = {0};
	struct fake_dev d = {0};

	(void)state;
	assert_int_equal(bus_register(&bus, 0x1000, 0, &fake_ops, &d, "empty"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 1, 4, &fake_ops, &d, "wrap"), -EINVAL);
}

static void test_bus_unmapped_read_returns_all_ones(void **state)
{
	struct bus bus = {0};
	uint8_t r[4] = {0};

	(void)state;
	assert_int_equal(bus_read(&bus, 0x80, r, 4), -ENOENT);
	assert_int_equal(r[0], 0xff);
	assert_int_equal(r[3], 0xff);
}

static void test_bus_access_straddling_range_end_is_unmapped(void **state)
{
	struct bus bus = {0};
	struct fake_dev d = {0};
	uint8_t v[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(bus_register(&bus, 0x1000, 4, &fake_ops, &d, "dev"), 0);
	assert_int_equal(bus_write(&bus, 0x1002, v, 4), -ENOENT);
	assert_int_equal(bus_write(&bus, UINT64_MAX - 1, v, 4), -ENOENT);
	assert_int_equal(d.writes, 0);
}

static void test_bus_rejects_registration_when_full(void **state)
{
	struct bus bus = {0};
	struct fake_dev d = {0};

	(void)state;
	for (unsigned int i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, i * 16, 16, &fake_ops, &d, "x"), 0);
	assert_int_equal(bus_register(&bus, 0x10000, 16, &fake_ops, &d, "x"), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bus_dispatches_with_relative_offset),
	    cmocka_unit_test(test_bus_rejects_overlapping_ranges),
	    cmocka_unit_test(test_bus_rejects_empty_and_wrapping_ranges),
	    cmocka_unit_test(test_bus_unmapped_read_returns_all_ones),
	    cmocka_unit_test(test_bus_access_straddling_range_end_is_unmapped),
	    cmocka_unit_test(test_bus_rejects_registration_when_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
