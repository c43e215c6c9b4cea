/* SPDX-License-Identifier: MIT */
/* MP 1.4 table: checksums, one processor entry per vCPU, IOAPIC, routing, size limit. */
#include "unit.h"
#include "vmm/boot/boot.h"

#define MPF_BYTES 16
#define MPC_HDR	  44

struct mp_counts {
	unsigned int cpus, bsps, buses, ioapics, iointr, lintr;
	uint8_t ioapic_id;
	uint64_t table_end;
};

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void walk_entries(struct unit_gm *u, uint64_t table, struct mp_counts *c)
{
	const uint8_t *h = unit_gpa(u, table);
	const uint8_t *p = h + MPC_HDR, *end = h + unit_ld16(h + 4);
	unsigned int count = unit_ld16(h + 34);

	memset(c, 0, sizeof(*c));
	for (unsigned int i = 0; i < count; i++) {
		assert_true(p < end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], c->cpus); /* APIC id = index */
			assert_true(p[3] & 1);
			c->bsps += (p[3] & 2) != 0;
			c->cpus++;
			p += 20;
			break;
		case 1:
			assert_memory_equal(p + 2, "ISA   ", 6);
			c->buses++;
			p += 8;
			break;
		case 2:
			c->ioapic_id = p[1];
			assert_int_equal(p[2], 0x11);
			assert_int_equal(unit_ld32(p + 4), IOAPIC_GPA);
			c->ioapics++;
			p += 8;
			break;
		case 3:
			assert_int_equal(p[5], p[7]); /* source IRQ = IOAPIC pin */
			c->iointr++;
			p += 8;
			break;
		case 4:
			c->lintr++;
			p += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	c->table_end = table + unit_ld16(h + 4);
}

static void check_table(struct unit_gm *u, unsigned int nr_vcpus)
{
	const uint8_t *mpf = unit_gpa(u, MPTABLE_GPA);
	uint64_t table;
	struct mp_counts c;

	assert_int_equal(mptable_write(&u->gm, nr_vcpus), BOOT_OK);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(mpf[8], 1);
	assert_int_equal(mpf[9], 4);
	assert_int_equal(sum8(mpf, MPF_BYTES), 0);
	table = unit_ld32(mpf + 4);
	assert_memory_equal(unit_gpa(u, table), "PCMP", 4);
	assert_int_equal(sum8(unit_gpa(u, table), unit_ld16(unit_gpa(u, table) + 4)), 0);
	assert_int_equal(unit_ld32(unit_gpa(u, table) + 36), LAPIC_GPA);
	walk_entries(u, table, &c);
	assert_int_equal(c.cpus, nr_vcpus);
	assert_int_equal(c.bsps, 1);
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.ioapic_id, nr_vcpus);
	assert_int_equal(c.iointr, 24);
	assert_int_equal(c.lintr, 2);
	assert_true(c.table_end <= HIGH_MEMORY_GPA);
}

static void test_mptable_one_vcpu(void **state)
{
	check_table(*state, 1);
}

static void test_mptable_four_vcpus(void **state)
{
	check_table(*state, 4);
}

static void test_mptable_max_vcpus_fit_below_1mib(void **state)
{
	check_table(*state, KILN_MAX_VCPUS);
}

static void test_mptable_rejects_zero_and_too_many_vcpus(void **state)
{
	struct unit_gm *u = *state;

	assert_int_equal(mptable_write(&u->gm, 0), BOOT_ERR_NO_MEMORY);
	assert_int_equal(mptable_write(&u->gm, 255), BOOT_ERR_NO_MEMORY);
}

static void test_mptable_fails_without_guest_ram(void **state)
{
	struct unit_gm *tiny = unit_gm_new(KiB(512)); /* ends below 0x9fc00 */

	(void)state;
	assert_int_equal(mptable_write(&tiny->gm, 1), BOOT_ERR_NO_MEMORY);
	unit_gm_free(tiny);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_mptable_one_vcpu),
	    T(test_mptable_four_vcpus),
	    T(test_mptable_max_vcpus_fit_below_1mib),
	    T(test_mptable_rejects_zero_and_too_many_vcpus),
	    cmocka_unit_test(test_mptable_fails_without_guest_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
