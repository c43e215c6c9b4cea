/* SPDX-License-Identifier: MIT */
/*
 * CPUID normalisation: from KVM_GET_SUPPORTED_CPUID to what one vCPU sees.
 * The guest gets one socket of nr_vcpus single-thread cores with APIC id =
 * vCPU index, a hypervisor bit, and no features kiln does not emulate
 * (MONITOR/MWAIT, PMU, thermal and power management).
 */
#include "vmm/cpuid.h"

#include <stdint.h>
#include <string.h>

/* Intel SDM Vol.2A CPUID; AMD APM Vol.3 Appendix E. */
#define LEAF_FEATURES	  0x1U
#define LEAF_CACHE_PARAMS 0x4U
#define LEAF_MONITOR	  0x5U
#define LEAF_POWER	  0x6U
#define LEAF_PMU	  0xaU
#define LEAF_TOPOLOGY	  0xbU
#define LEAF_TOPOLOGY_V2  0x1fU
#define LEAF_AMD_SIZES	  0x80000008U
#define LEAF_AMD_TOPOLOGY 0x8000001eU

#define F1_ECX_MONITOR	  (1U << 3)
#define F1_ECX_HYPERVISOR (1U << 31)
#define F1_EDX_HTT	  (1U << 28)
#define F6_EAX_ARAT	  (1U << 2) /* APIC timer keeps running in deep C-states */

#define TOPO_LEVEL_SMT	  1U
#define TOPO_LEVEL_CORE	  2U
#define TOPO_SUBLEAVES	  3U	 /* SMT, core, and the invalid level that ends the list */
#define MAX_CORES_FIELD	  0x3fU	 /* leaf 4 EAX[31:26] is six bits */
#define MAX_SHARING_FIELD 0xfffU /* leaf 4 EAX[25:14] is twelve bits */

/* Bits needed to number @n ids: ceil(log2(n)), 0 for n <= 1. */
static uint32_t cpuid_id_shift(unsigned int n)
{
	uint32_t shift = 0;

	while (shift < 32 && (1ULL << shift) < n)
		shift++;
	return shift;
}

static uint32_t cpuid_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * Leaf 1: EBX[31:24] initial APIC id, EBX[23:16] addressable logical ids in
 * the package (valid with HTT), ECX[31] hypervisor present, ECX[3] MONITOR
 * cleared because kiln does not want guests to MWAIT-idle on host cores.
 */
static void cpuid_fix_features(struct kvm_cpuid_entry2 *e, unsigned int apic_id,
			       unsigned int nr_vcpus)
{
	e->ebx = (e->ebx & 0x0000ffffU) | (apic_id & 0xffU) << 24 | (nr_vcpus & 0xffU) << 16;
	e->ecx = (e->ecx | F1_ECX_HYPERVISOR) & ~F1_ECX_MONITOR;
	if (nr_vcpus > 1)
		e->edx |= F1_EDX_HTT;
	else
		e->edx &= ~F1_EDX_HTT;
}

/*
 * Leaf 4: EAX[31:26] = cores per package - 1; EAX[25:14] = logical CPUs
 * sharing the cache - 1: private for L1/L2, the whole package for L3.
 */
static void cpuid_fix_cache(struct kvm_cpuid_entry2 *e, unsigned int nr_vcpus)
{
	uint32_t level = (e->eax >> 5) & 0x7U, sharing = 0;

	if ((e->eax & 0x1fU) == 0)
		return; /* no cache at this subleaf: the list ends here */
	if (level >= 3)
		sharing = cpuid_min(nr_vcpus - 1, MAX_SHARING_FIELD);
	e->eax &= 0x00003fffU;
	e->eax |= cpuid_min(nr_vcpus - 1, MAX_CORES_FIELD) << 26 | sharing << 14;
}

/*
 * Leaves 0xb/0x1f (SDM "V2 Extended Topology"): subleaf 0 SMT with one thread
 * per core (shift 0), subleaf 1 the cores of the package, anything above an
 * invalid level. EDX is the x2APIC id at every subleaf.
 */
static void cpuid_fix_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id,
			       unsigned int nr_vcpus)
{
	uint32_t sub = e->index & 0xffU;

	e->eax = 0;
	e->ebx = 0;
	e->ecx = sub;
	e->edx = apic_id;
	if (sub == 0) {
		e->ebx = 1;
		e->ecx |= TOPO_LEVEL_SMT << 8;
	} else if (sub == 1) {
		e->eax = cpuid_id_shift(nr_vcpus);
		e->ebx = nr_vcpus & 0xffffU;
		e->ecx |= TOPO_LEVEL_CORE << 8;
	}
}

/* AMD: ECX[7:0] cores - 1 and ECX[15:12] APIC id bits (APM E.4.7). */
static void cpuid_fix_amd_sizes(struct kvm_cpuid_entry2 *e, unsigned int nr_vcpus)
{
	e->ecx &= ~0xf0ffU;
	e->ecx |= cpuid_min(nr_vcpus - 1, 0xffU) | cpuid_min(cpuid_id_shift(nr_vcpus), 0xfU) << 12;
}

/* AMD: extended APIC id, core id = APIC id, one thread per core, one node. */
static void cpuid_fix_amd_topology(struct kvm_cpuid_entry2 *e, unsigned int apic_id)
{
	e->eax = apic_id;
	e->ebx = apic_id & 0xffU;
	e->ecx = 0;
}

static void cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int nr_vcpus,
			    int amd)
{
	switch (e->function) {
	case LEAF_FEATURES:
		cpuid_fix_features(e, apic_id, nr_vcpus);
		break;
	case LEAF_CACHE_PARAMS:
		cpuid_fix_cache(e, nr_vcpus);
		break;
	case LEAF_MONITOR:
	case LEAF_PMU:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case LEAF_POWER:
		e->eax &= F6_EAX_ARAT;
		e->ebx = e->ecx = e->edx = 0;
		break;
	case LEAF_TOPOLOGY:
	case LEAF_TOPOLOGY_V2:
		cpuid_fix_topology(e, apic_id, nr_vcpus);
		break;
	case LEAF_AMD_SIZES:
		if (amd)
			cpuid_fix_amd_sizes(e, nr_vcpus);
		break;
	case LEAF_AMD_TOPOLOGY:
		cpuid_fix_amd_topology(e, apic_id);
		break;
	default:
		break; /* includes CPUID_KVM_LEAF: KVM's own signature and features */
	}
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *entries, unsigned int n,
					   uint32_t function, uint32_t index)
{
	for (unsigned int i = 0; i < n; i++) {
		if (entries[i].function == function && entries[i].index == index)
			return &entries[i];
	}
	return NULL;
}

/* Vendor "AuthenticAMD" or "HygonGenuine" in leaf 0 (EBX, EDX, ECX order). */
static int cpuid_is_amd(struct kvm_cpuid_entry2 *entries, unsigned int n)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(entries, n, 0, 0);
	char vendor[12];

	if (!e)
		return 0;
	memcpy(vendor, &e->ebx, 4);
	memcpy(vendor + 4, &e->edx, 4);
	memcpy(vendor + 8, &e->ecx, 4);
	return !memcmp(vendor, "AuthenticAMD", 12) || !memcmp(vendor, "HygonGenuine", 12);
}

/*
 * KVM may list only some subleaves of a topology leaf; add the SMT and core
 * levels and the terminating invalid level, if there is room, so that the
 * guest's enumeration stops where kiln's topology does.
 */
static unsigned int cpuid_add_topology(struct kvm_cpuid_entry2 *entries, unsigned int n,
				       unsigned int max, uint32_t function)
{
	if (!cpuid_find(entries, n, function, 0))
		return n; /* leaf absent: the host CPU or KVM does not report it */
	for (uint32_t sub = 1; sub < TOPO_SUBLEAVES && n < max; sub++) {
		if (cpuid_find(entries, n, function, sub))
			continue;
		memset(&entries[n], 0, sizeof(entries[n]));
		entries[n].function = function;
		entries[n].index = sub;
		entries[n].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		n++;
	}
	return n;
}

unsigned int cpuid_normalise(struct kvm_cpuid_entry2 *entries, unsigned int n, unsigned int max,
			     unsigned int vcpu_index, unsigned int nr_vcpus)
{
	int amd;

	if (n > max)
		n = max;
	if (nr_vcpus == 0)
		nr_vcpus = 1;
	amd = cpuid_is_amd(entries, n);
	n = cpuid_add_topology(entries, n, max, LEAF_TOPOLOGY);
	n = cpuid_add_topology(entries, n, max, LEAF_TOPOLOGY_V2);
	for (unsigned int i = 0; i < n; i++)
		cpuid_fix_entry(&entries[i], vcpu_index, nr_vcpus, amd);
	return n;
}
