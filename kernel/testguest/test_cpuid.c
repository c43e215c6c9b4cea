/* SPDX-License-Identifier: MIT */
/*
 * ktest cpuid: what kiln's CPUID normalisation promises: the hypervisor bit
 * and KVM signature, APIC id 0 on the boot CPU, a core-level topology that
 * counts every vCPU, and no MONITOR/MWAIT.
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"

#define CPUID_1_ECX_MONITOR    (1u << 3)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_HV_BASE	       0x40000000
#define CPUID_TOPOLOGY	       0x0b
#define TOPO_LEVEL_CORE	       2 /* SDM vol. 2A CPUID leaf 0BH, ECX[15:8] */
#define TOPO_MAX_SUBLEAF       8

static const char kvm_signature[12] = "KVMKVMKVM\0\0\0";

/* Logical processors at the core level of leaf 0xB, or -1 if it has none. */
static long cpuid_core_lps(void)
{
	uint32_t r[4], sub;

	for (sub = 0; sub < TOPO_MAX_SUBLEAF; sub++) {
		tg_cpuid(CPUID_TOPOLOGY, sub, r);
		if (((r[2] >> 8) & 0xff) == 0)
			break;
		if (((r[2] >> 8) & 0xff) == TOPO_LEVEL_CORE)
			return r[1] & 0xffff;
	}
	return -1;
}

static void cpuid_print_sig(const char sig[12])
{
	char c[12];
	int i;

	for (i = 0; i < 12; i++)
		c[i] = sig[i] >= 0x21 && sig[i] < 0x7f ? sig[i] : '.';
	con_write(c, sizeof(c));
}

void ktest_cpuid(const struct tg_boot *b, struct ktest_verdict *v)
{
	uint32_t r0[4], r1[4], hv[4], apic_id;
	char sig[12];
	long lps = -1;
	uint64_t want;
	enum cmdline_num have_want = cmdline_get_u64(b->cmdline, "ktest.cpus=", &want);

	tg_cpuid(0, 0, r0);
	tg_cpuid(1, 0, r1);
	tg_cpuid(CPUID_HV_BASE, 0, hv);
	memcpy(sig, &hv[1], 4);
	memcpy(sig + 4, &hv[2], 4);
	memcpy(sig + 8, &hv[3], 4);
	apic_id = r1[1] >> 24;
	if (r0[0] >= CPUID_TOPOLOGY)
		lps = cpuid_core_lps();

	ktest_info("cpuid");
	con_puts("max_leaf=");
	con_hex(r0[0]);
	con_puts(" hypervisor=");
	con_dec(!!(r1[2] & CPUID_1_ECX_HYPERVISOR));
	con_puts(" signature=");
	cpuid_print_sig(sig);
	con_puts(" apic_id=");
	con_dec(apic_id);
	con_puts(" core_lps=");
	if (lps < 0)
		con_puts("none");
	else
		con_dec((uint64_t)lps);
	con_puts(" monitor=");
	con_dec(!!(r1[2] & CPUID_1_ECX_MONITOR));
	con_puts("\n");

	if (!(r1[2] & CPUID_1_ECX_HYPERVISOR))
		ktest_fail(v, "hypervisor bit clear");
	if (memcmp(sig, kvm_signature, sizeof(sig)) != 0)
		ktest_fail(v, "no KVM signature");
	if (apic_id != 0)
		ktest_fail(v, "boot CPU APIC id not 0");
	if (have_want == CMDLINE_NUM_BAD)
		ktest_fail(v, "bad expectation ktest.cpus=");
	if (have_want == CMDLINE_NUM_OK && lps >= 0 && (uint64_t)lps != want) {
		struct tg_str *r = ktest_fail(v, "leaf 0xb core level counts ");

		tg_str_add_dec(r, (uint64_t)lps);
		tg_str_add(r, " expected ");
		tg_str_add_dec(r, want);
	}
	if (r1[2] & CPUID_1_ECX_MONITOR)
		ktest_fail(v, "MONITOR exposed");
}
