/* SPDX-License-Identifier: MIT */
/*
 * The vCPU threads' filter, stacked on the inherited preboot filter before
 * the first KVM_RUN: run the guest, hand port/MMIO exits to the bus (which
 * may log, kick an eventfd or raise an ISA interrupt), report a failure,
 * and leave.
 */
#include "jail/policy_common.h"

static const struct seccomp_rule policy_vcpu_rules[] = {
    POLICY_IOCTL(KVM_RUN, "run the guest"),
    POLICY_IOCTL(KVM_IRQ_LINE, "serial/i8042 edge interrupts from a register write"),
    POLICY_IOCTL(KVM_GET_REGS, "vcpu_report_failure: RIP of a failed entry/emulation"),
    POLICY_IOCTL(KVM_GET_SREGS, "vcpu_report_failure: CS and CR0"),
    POLICY_IOCTL(KVM_TRANSLATE, "vcpu_report_failure: RIP to a guest-physical address"),
    {"write", {}, 0, "log lines, serial output, QueueNotify/exit/irqfd eventfd kicks"},
    {"futex", {}, 0, "the per-device mutex shared with the main loop"},
    {"io_uring_enter", {}, 0, "a virtio-blk reset (status 0) waits out in-flight Async I/O"},
    {"clock_gettime", {}, 0, "log timestamps (vDSO fallback)"},
    {"rt_sigprocmask", {}, 0, "glibc masks signals while the thread exits"},
    {"rt_sigreturn", {}, 0, "return from the SIGRTMIN kick handler"},
    {"madvise", {SECCOMP_EQ(2, MADV_DONTNEED)}, 0, "glibc releases the stack at thread exit"},
    {"exit", {}, 0, "the thread ends when the VM stops"},
    {"exit_group", {}, 0, "the SIGSYS handler's _exit"},
};

const struct seccomp_policy seccomp_policy_vcpu = {
    "vcpu", policy_vcpu_rules, sizeof(policy_vcpu_rules) / sizeof(policy_vcpu_rules[0]), NULL};
