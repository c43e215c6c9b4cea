/* SPDX-License-Identifier: MIT */
/*
 * The KVM system and VM file descriptors: capability checks, VM creation
 * with the in-kernel irqchip and PIT, guest memory slots and IRQ lines.
 */
#ifndef KILN_KVM_H
#define KILN_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/kvm.h>

#include "vmm/guest_mem.h"

struct kvm {
	int kvm_fd;	       /* /dev/kvm */
	int vm_fd;	       /* KVM_CREATE_VM */
	size_t run_mmap_bytes; /* size of each vCPU's struct kvm_run mapping */
};

/* Open /dev/kvm and check the API version and every capability kiln uses. */
int kvm_open(struct kvm *k, const char *dev_path);
int kvm_create_vm(struct kvm *k);
/*
 * Register guest RAM. Done before the irqchip exists: a memslot change then
 * needs no wait for in-kernel readers, which saves milliseconds at start-up.
 */
int kvm_set_memory(struct kvm *k, const struct guest_mem *gm, bool log_dirty);
/* TSS and identity-map pages, in-kernel PIC/IOAPIC/LAPIC and PIT. */
int kvm_create_platform(struct kvm *k);
/* KVM_GET_SUPPORTED_CPUID into a malloc'd buffer owned by the caller. */
int kvm_get_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out);
int kvm_irq_line(const struct kvm *k, unsigned int gsi, int level);
void kvm_close(struct kvm *k);

#endif
