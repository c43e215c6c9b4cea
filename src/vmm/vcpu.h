/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: per-vCPU KVM state set up for direct kernel boot (CPUID, MSRs,
 * FPU, LAPIC, boot registers) and one thread per vCPU running KVM_RUN.
 */
#ifndef KILN_VCPU_H
#define KILN_VCPU_H

#include <pthread.h>
#include <linux/kvm.h>

#include "vmm/boot/boot.h"
#include "vmm/log.h"
#include "vmm/metrics.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run; /* mmap of the vCPU fd, run_mmap_bytes long */
	pthread_t thread;
	int thread_started;
	struct log_ratelimit unhandled_rl; /* accesses to unmapped ports/MMIO */
	struct vcpu_exit_stats exits;	   /* written by this vCPU's thread only */
};

/* Signal used to kick a vCPU thread out of KVM_RUN (handler does nothing). */
int vcpu_install_kick_handler(void);

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned int index);
/* CPUID (normalised for this vCPU), MSRs, FPU and LAPIC LINT0/LINT1. */
int vcpu_configure(struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned int nr_vcpus);
/* Boot CPU registers for the kernel's entry protocol. */
int vcpu_set_boot_regs(struct vcpu *v, const struct boot_image *img);
int vcpu_start(struct vcpu *v);
/* Make KVM_RUN return and the thread notice the VM is stopping. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);

#endif
