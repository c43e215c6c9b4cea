/* SPDX-License-Identifier: MIT */
/*
 * CPUID normalisation: pure transformation of the host's supported CPUID
 * (KVM_GET_SUPPORTED_CPUID) into what one vCPU of a kiln guest sees.
 */
#ifndef KILN_CPUID_H
#define KILN_CPUID_H

#include <linux/kvm.h>

/* KVM paravirt leaf base and its signature "KVMKVMKVM\0\0\0". */
#define CPUID_KVM_LEAF 0x40000000U

/*
 * Rewrite @entries (count @n) in place for vCPU @vcpu_index of @nr_vcpus:
 * hypervisor bit set, APIC ids and topology (leaves 1, 4, 0xb, 0x1f, 0x8000001e)
 * consistent with one socket of @nr_vcpus single-thread cores, no TSC deadline
 * timer unless supported, no monitor/mwait, no PMU (leaf 0xa zeroed), leaf 6
 * thermal/power bits cleared. Returns the possibly changed count.
 */
unsigned int cpuid_normalise(struct kvm_cpuid_entry2 *entries, unsigned int n, unsigned int max,
			     unsigned int vcpu_index, unsigned int nr_vcpus);

#endif
