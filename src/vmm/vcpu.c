/* SPDX-License-Identifier: MIT */
/*
 * vCPU set-up and run loop. Register state follows the entry contract of
 * each boot protocol: PVH (xen/arch-x86/hvm/start_info.h: 32-bit protected
 * mode, paging off, EBX = start info) and the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst §64-bit: long mode, identity-mapped,
 * RSI = boot_params, __BOOT_CS/__BOOT_DS flat segments).
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "jail/seccomp.h"
#include "vmm/cpuid.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL SIGRTMIN

#define X86_CR0_PE  0x1ULL
#define X86_CR0_ET  0x10ULL
#define X86_CR0_PG  0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME    0x100ULL
#define EFER_LMA    0x400ULL

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1ULL
#define MTRR_ENABLE_WB		((1ULL << 11) | 6)

#define APIC_LVT0_OFFSET 0x350
#define APIC_LVT1_OFFSET 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

#define VCPU_UNHANDLED_LOG_BURST 10

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = vcpu_kick_handler};

	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned int index)
{
	void *run;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0) {
		int err = -errno;

		log_err("KVM_CREATE_VCPU %u: %s", index, strerror(errno));
		return err;
	}
	run = mmap(NULL, vm->kvm.run_mmap_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		int err = -errno;

		log_err("mmap kvm_run of vCPU %u: %s", index, strerror(errno));
		return err;
	}
	v->run = run;
	return 0;
}

static int vcpu_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *what)
{
	if (ioctl(v->fd, req, arg) < 0) {
		int err = -errno;

		log_err("vCPU %u %s: %s", v->index, what, strerror(errno));
		return err;
	}
	return 0;
}

static int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned int nr_vcpus)
{
	size_t cap = supported->nent + 8;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	int err;

	if (!c)
		return -ENOMEM;
	memcpy(c->entries, supported->entries, supported->nent * sizeof(c->entries[0]));
	c->nent =
	    cpuid_normalise(c->entries, supported->nent, (unsigned int)cap, v->index, nr_vcpus);
	err = vcpu_ioctl(v, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
	free(c);
	return err;
}

static int vcpu_set_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING},
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB},
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} msrs;
	int set;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = N;
	for (int i = 0; i < N; i++) {
		msrs.e[i].index = boot_msrs[i].index;
		msrs.e[i].data = boot_msrs[i].value;
	}
	set = ioctl(v->fd, KVM_SET_MSRS, &msrs);
	if (set < 0) {
		int err = -errno;

		log_err("vCPU %u KVM_SET_MSRS: %s", v->index, strerror(errno));
		return err;
	}
	/* KVM stops at the first MSR it refuses; the rest are optional here. */
	if (set < N)
		log_debug("vCPU %u: KVM accepted %d of %d boot MSRs (stopped at %#x)", v->index,
			  set, N, boot_msrs[set].index);
	return 0;
}

static int vcpu_set_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 default control word (FNINIT) */
	fpu.mxcsr = 0x1f80; /* SSE default: all exceptions masked */
	return vcpu_ioctl(v, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

static void lapic_set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int off, uint32_t mode)
{
	uint32_t reg;

	memcpy(&reg, &lapic->regs[off], sizeof(reg));
	reg = (reg & ~0x700U) | (mode << 8);
	memcpy(&lapic->regs[off], &reg, sizeof(reg));
}

/* MP spec §5.1 virtual-wire mode: LINT0 ExtINT from the PIC, LINT1 NMI. */
static int vcpu_set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	int err = vcpu_ioctl(v, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");

	if (err)
		return err;
	lapic_set_lvt_mode(&lapic, APIC_LVT0_OFFSET, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&lapic, APIC_LVT1_OFFSET, APIC_MODE_NMI);
	return vcpu_ioctl(v, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

int vcpu_configure(struct vcpu *v, const struct kvm_cpuid2 *supported, unsigned int nr_vcpus)
{
	int err = vcpu_set_cpuid(v, supported, nr_vcpus);

	if (!err)
		err = vcpu_set_msrs(v);
	if (!err)
		err = vcpu_set_fpu(v);
	if (!err)
		err = vcpu_set_lapic(v);
	return err;
}

static struct kvm_segment vcpu_flat_segment(uint16_t sel, uint8_t type, int long_mode)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = long_mode ? 0 : 1,
	    .s = 1,
	    .l = (uint8_t)long_mode,
	    .g = 1,
	};
}

static void vcpu_fill_sregs(struct kvm_sregs *s, const struct boot_image *img)
{
	int lm = img->proto == BOOT_PROTO_LINUX64;
	struct kvm_segment data = vcpu_flat_segment(BOOT_GDT_DATA_SEL, 0x3, 0);

	s->cs = vcpu_flat_segment(lm ? BOOT_GDT_CODE64_SEL : BOOT_GDT_CODE32_SEL, 0xb, lm);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	/* VM entry needs a busy TSS in TR even though the guest never uses it. */
	s->tr = (struct kvm_segment){
	    .base = 0, .limit = 0x67, .selector = BOOT_GDT_TSS_SEL, .type = 0xb, .present = 1};
	s->gdt.base = BOOT_GDT_GPA;
	s->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	s->idt.base = BOOT_IDT_GPA;
	s->idt.limit = 7;
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr4 = 0;
	s->efer = 0;
	if (lm) {
		s->cr3 = BOOT_PML4_GPA;
		s->cr4 |= X86_CR4_PAE;
		s->cr0 |= X86_CR0_PG;
		s->efer |= EFER_LME | EFER_LMA;
	}
}

int vcpu_set_boot_regs(struct vcpu *v, const struct boot_image *img)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int err = vcpu_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");

	if (err)
		return err;
	vcpu_fill_sregs(&sregs, img);
	err = vcpu_ioctl(v, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	if (err)
		return err;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved and always set */
	regs.rip = img->entry;
	if (img->proto == BOOT_PROTO_PVH) {
		regs.rbx = PVH_START_INFO_GPA;
	} else {
		regs.rsi = ZERO_PAGE_GPA;
		regs.rsp = regs.rbp = BOOT_STACK_GPA;
	}
	return vcpu_ioctl(v, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static void vcpu_log_unhandled(struct vcpu *v, const char *space, uint64_t addr, uint32_t len,
			       int write)
{
	if (log_get_level() >= LOG_DEBUG &&
	    log_ratelimit_allow(&v->unhandled_rl, VCPU_UNHANDLED_LOG_BURST))
		log_debug("vCPU %u: unhandled %s %s at %#llx len %u", v->index,
			  write ? "write" : "read", space, (unsigned long long)addr, len);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t span = (uint64_t)run->io.size * run->io.count;
	int write = run->io.direction == KVM_EXIT_IO_OUT;

	/* The kernel sets these, but a bad value must not walk off the mapping. */
	if (run->io.data_offset + span > v->vm->kvm.run_mmap_bytes || run->io.size > 8)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		int err = write ? bus_write(&v->vm->pio, run->io.port, data, run->io.size)
				: bus_read(&v->vm->pio, run->io.port, data, run->io.size);

		if (err)
			vcpu_log_unhandled(v, "port", run->io.port, run->io.size, write);
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;
	int err;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		err = bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		err = bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	if (err)
		vcpu_log_unhandled(v, "mmio", run->mmio.phys_addr, len, run->mmio.is_write);
}

/* Log the faulting RIP and the instruction bytes there, read through gm_ptr. */
static void vcpu_report_failure(struct vcpu *v, const char *what, unsigned long long detail)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_translation tr;
	char hex[16 * 3 + 1] = "unavailable";
	const uint8_t *insn = NULL;
	unsigned int n = 15;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_err("vCPU %u: %s (%#llx); registers unreadable", v->index, what, detail);
		return;
	}
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = sregs.cs.base + regs.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		while (n && !(insn = gm_ptr(&v->vm->gm, tr.physical_address, n)))
			n--;
	}
	for (unsigned int i = 0; insn && i < n; i++)
		snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x ", insn[i]);
	log_err("vCPU %u: %s (%#llx) at rip=%#llx cs=%#x cr0=%#llx; bytes: %s", v->index, what,
		detail, (unsigned long long)regs.rip, sregs.cs.selector,
		(unsigned long long)sregs.cr0, hex);
}

/* Returns 1 while the vCPU should keep running, 0 when the VM must stop. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		metrics_inc(&v->exits.io);
		vcpu_handle_io(v);
		return 1;
	case KVM_EXIT_MMIO:
		metrics_inc(&v->exits.mmio);
		vcpu_handle_mmio(v);
		return 1;
	case KVM_EXIT_SHUTDOWN:
		metrics_inc(&v->exits.shutdown);
		/* A triple fault is how x86 resets; treat it as the guest's reset. */
		log_info("vCPU %u: guest shutdown (triple fault), stopping", v->index);
		vm_request_exit(v->vm, KILN_EXIT_OK);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		metrics_inc(&v->exits.system_event);
		log_info("vCPU %u: guest system event %u, stopping", v->index,
			 run->system_event.type);
		vm_request_exit(v->vm, KILN_EXIT_OK);
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		metrics_inc(&v->exits.internal_error);
		vcpu_report_failure(v,
				    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
					? "KVM could not emulate an instruction, suberror"
					: "KVM internal error, suberror",
				    run->internal.suberror);
		vm_request_exit(v->vm, KILN_EXIT_VM_FAILURE);
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		metrics_inc(&v->exits.fail_entry);
		vcpu_report_failure(v, "VM entry failed, reason",
				    run->fail_entry.hardware_entry_failure_reason);
		vm_request_exit(v->vm, KILN_EXIT_VM_FAILURE);
		return 0;
	default:
		metrics_inc(&v->exits.other);
		vcpu_report_failure(v, "unexpected KVM exit", run->exit_reason);
		vm_request_exit(v->vm, KILN_EXIT_VM_FAILURE);
		return 0;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* The narrow vcpu filter is on before the guest runs one instruction. */
	if (seccomp_enter_vcpu()) {
		log_err("vCPU %u: cannot install the seccomp filter", v->index);
		vm_request_exit(v->vm, KILN_EXIT_VM_FAILURE);
		return NULL;
	}
	/* For the InstanceStart -> first KVM_RUN benchmark (docs/PERFORMANCE.md). */
	if (v->index == 0)
		log_debug("vCPU 0 first KVM_RUN %llu ns after the start stamp",
			  (unsigned long long)(boot_timer_now_ns(CLOCK_MONOTONIC) -
					       v->vm->boot_timer.start_ns));
	while (!vm_is_stopping(v->vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				metrics_inc(&v->exits.interrupted);
				v->run->immediate_exit = 0;
				continue;
			}
			log_err("vCPU %u KVM_RUN: %s", v->index, strerror(errno));
			vm_request_exit(v->vm, KILN_EXIT_VM_FAILURE);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	char name[16];
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (err) {
		log_err("cannot start vCPU %u thread: %s", v->index, strerror(err));
		return -err;
	}
	snprintf(name, sizeof(name), "kiln_vcpu%u", v->index);
	pthread_setname_np(v->thread, name);
	v->thread_started = 1;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	v->thread_started = 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->kvm.run_mmap_bytes);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
