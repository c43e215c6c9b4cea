/* SPDX-License-Identifier: MIT */
/* CPUID normalisation on synthetic KVM_GET_SUPPORTED_CPUID output. */
#include "unit.h"
#include "vmm/cpuid.h"

#define CAP 32

struct table {
	struct kvm_cpuid_entry2 e[CAP];
	unsigned int n;
};

static void add(struct table *t, uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c,
		uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &t->e[t->n++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

static void vendor(struct table *t, const char *v12, uint32_t max_leaf)
{
	uint32_t b, c, d;

	memcpy(&b, v12, 4);
	memcpy(&d, v12 + 4, 4);
	memcpy(&c, v12 + 8, 4);
	add(t, 0, 0, max_leaf, b, c, d);
}

/* Roughly what an Intel host reports: caches, monitor, power, PMU, topology subleaf 0. */
static void intel_host(struct table *t)
{
	memset(t, 0, sizeof(*t));
	vendor(t, "GenuineIntel", 0x1f);
	add(t, 1, 0, 0x000906ea, 0x12345678, 0x7ffafbff, 0xbfebfbff);
	add(t, 4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);	 /* L1d */
	add(t, 4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);	 /* L1i */
	add(t, 4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0);	 /* L2 */
	add(t, 4, 3, 0x1c03c163, 0x02c0003f, 0x3fff, 6); /* L3 */
	add(t, 4, 4, 0, 0, 0, 0);
	add(t, 5, 0, 0x40, 0x40, 3, 0x11142120);
	add(t, 6, 0, 0x27f7, 2, 9, 0);
	add(t, 0xa, 0, 0x07300404, 0, 0, 0x603);
	add(t, 0xb, 0, 1, 2, 0x100, 7);
	add(t, CPUID_KVM_LEAF, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
}

static struct kvm_cpuid_entry2 *find(struct table *t, uint32_t fn, uint32_t idx)
{
	for (unsigned int i = 0; i < t->n; i++) {
		if (t->e[i].function == fn && t->e[i].index == idx)
			return &t->e[i];
	}
	fail_msg("leaf %#x.%u missing", fn, idx);
	return NULL;
}

static void test_cpuid_sets_hypervisor_and_apic_id(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *l1;

	(void)state;
	intel_host(&t);
	t.n = cpuid_normalise(t.e, t.n, CAP, 3, 4);
	l1 = find(&t, 1, 0);
	assert_true(l1->ecx & (1U << 31));
	assert_int_equal(l1->ebx >> 24, 3);
	assert_int_equal((l1->ebx >> 16) & 0xff, 4);
	assert_int_equal(l1->ebx & 0xffff, 0x5678); /* brand index and CLFLUSH size kept */
	assert_true(l1->edx & (1U << 28));
}

static void test_cpuid_clears_monitor_power_and_pmu(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *e;

	(void)state;
	intel_host(&t);
	t.n = cpuid_normalise(t.e, t.n, CAP, 0, 1);
	assert_false(find(&t, 1, 0)->ecx & (1U << 3));
	assert_false(find(&t, 1, 0)->edx & (1U << 28)); /* one vCPU: no HTT */
	e = find(&t, 5, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	e = find(&t, 6, 0);
	assert_int_equal(e->eax, 1U << 2); /* ARAT only */
	assert_int_equal(e->ebx | e->ecx | e->edx, 0);
	e = find(&t, 0xa, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
}

static void test_cpuid_leaf4_reports_cores_and_cache_sharing(void **state)
{
	static const uint32_t cache_bits[4] = {0x0121, 0x0122, 0x0143, 0x0163};
	struct table t;

	(void)state;
	intel_host(&t);
	t.n = cpuid_normalise(t.e, t.n, CAP, 0, 8);
	for (uint32_t sub = 0; sub < 4; sub++) {
		uint32_t eax = find(&t, 4, sub)->eax;

		assert_int_equal(eax >> 26, 7);
		assert_int_equal((eax >> 14) & 0xfff, sub == 3 ? 7 : 0);
		assert_int_equal(eax & 0x3fff, cache_bits[sub]); /* type, level kept */
	}
	assert_int_equal(find(&t, 4, 4)->eax, 0);
}

static void test_cpuid_topology_leaves_describe_one_socket(void **state)
{
	struct table t;
	struct kvm_cpuid_entry2 *smt, *core, *end;
	unsigned int n0;

	(void)state;
	intel_host(&t);
	n0 = t.n;
	t.n = cpuid_normalise(t.e, t.n, CAP, 5, 6);
	assert_int_equal(t.n, n0 + 2); /* subleaves 1 and 2 of leaf 0xb added */
	smt = find(&t, 0xb, 0);
	core = find(&t, 0xb, 1);
	end = find(&t, 0xb, 2);
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);
	assert_int_equal(core->eax, 3); /* ceil(log2(6)) */
	assert_int_equal(core->ebx, 6);
	assert_int_equal(core->ecx, 0x201);
	assert_int_equal(end->ecx & 0xff00, 0);
	assert_int_equal(smt->edx, 5);
	assert_int_equal(core->edx, 5);
	assert_int_equal(core->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
}

static void test_cpuid_respects_capacity(void **state)
{
	struct table t;
	unsigned int n0;

	(void)state;
	intel_host(&t);
	n0 = t.n;
	assert_int_equal(cpuid_normalise(t.e, t.n, n0, 0, 2), n0);
	assert_int_equal(cpuid_normalise(t.e, t.n, n0 + 1, 0, 2), n0 + 1);
	assert_int_equal(cpuid_normalise(t.e, CAP, 4, 0, 2), 4); /* n above max is clamped */
}

static void test_cpuid_keeps_kvm_leaf_and_tolerates_missing_leaves(void **state)
{
	struct table t;

	(void)state;
	memset(&t, 0, sizeof(t));
	add(&t, CPUID_KVM_LEAF, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	assert_int_equal(cpuid_normalise(t.e, t.n, CAP, 0, 1), 1);
	assert_int_equal(t.e[0].ebx, 0x4b4d564b);
	assert_int_equal(t.e[0].edx, 0x4d);
	assert_int_equal(cpuid_normalise(t.e, 0, CAP, 0, 1), 0);
}

static void test_cpuid_amd_topology_leaves(void **state)
{
	struct table t;

	(void)state;
	memset(&t, 0, sizeof(t));
	vendor(&t, "AuthenticAMD", 0x10);
	add(&t, 1, 0, 0x00a00f11, 0, 0, 0);
	add(&t, 0x80000008, 0, 0x3030, 0, 0x700f, 0);
	add(&t, 0x8000001e, 0, 9, 0x100, 0x3, 0);
	t.n = cpuid_normalise(t.e, t.n, CAP, 2, 4);
	assert_int_equal(find(&t, 0x80000008, 0)->ecx, 0x2003);
	assert_int_equal(find(&t, 0x8000001e, 0)->eax, 2);
	assert_int_equal(find(&t, 0x8000001e, 0)->ebx, 2);
	assert_int_equal(find(&t, 0x8000001e, 0)->ecx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpuid_sets_hypervisor_and_apic_id),
	    cmocka_unit_test(test_cpuid_clears_monitor_power_and_pmu),
	    cmocka_unit_test(test_cpuid_leaf4_reports_cores_and_cache_sharing),
	    cmocka_unit_test(test_cpuid_topology_leaves_describe_one_socket),
	    cmocka_unit_test(test_cpuid_respects_capacity),
	    cmocka_unit_test(test_cpuid_keeps_kvm_leaf_and_tolerates_missing_leaves),
	    cmocka_unit_test(test_cpuid_amd_topology_leaves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
