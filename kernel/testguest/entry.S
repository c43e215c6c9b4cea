/* SPDX-License-Identifier: MIT */
/*
 * The whole CPL0 part of the test guest: the PVH and Linux 64-bit entry points,
 * which only load the static tables and iretq to tg_main() at CPL3, and the
 * interrupt stubs. CPL0 code is emulated on some back ends (~0.6 us an
 * instruction), so every instruction here counts; keep it that way.
 */
#include "tg_layout.h"

#define MSR_EFER		 0xc0000080
#define EFER_LME		 0x100
#define CR0_PE			 0x00000001
#define CR0_ET			 0x00000010
#define CR0_PG			 0x80000000
#define CR4_PAE			 0x20
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * Xen PVH note (xen/include/public/elfnote.h): a 4-byte entry address. QEMU
 * 7.2 reads 8 bytes for an ELF64 image but passes only the low 32 bits on
 * (fw_cfg_add_i32), so a 4-byte desc is fine there too.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long tg_entry_pvh

	.section .text.entry, "ax"

/*
 * PVH entry (Xen docs/misc/pvh.pandoc): 32-bit protected mode, paging off,
 * flat segments, EBX = struct hvm_start_info. About 16 instructions to 64-bit.
 */
	.code32
	.globl tg_entry_pvh
tg_entry_pvh:
	mov %ebx, %esi
	lgdt tg_gdt_ptr
	mov $CR4_PAE, %eax
	mov %eax, %cr4
	mov $TG_PML4_PA, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	mov $EFER_LME, %eax
	xor %edx, %edx
	wrmsr
	mov $(CR0_PG | CR0_ET | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $TG_SEL_KCODE, $1f
	.code64
1:	mov %esi, %esi /* upper halves are undefined after compatibility mode */
	mov $TG_BOOT_PVH, %edi
	jmp tg_enter_user

/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst): long
 * mode, paging on (identity map from the loader), IF clear, RSI = boot_params.
 * CR4 is rewritten so that SMEP/SMAP cannot fault CPL0 code in User pages.
 */
	.globl tg_entry_linux64
tg_entry_linux64:
	lgdt tg_gdt_ptr(%rip)
	mov $CR4_PAE, %eax
	mov %rax, %cr4
	mov $TG_PML4_PA, %eax
	mov %rax, %cr3
	mov $TG_BOOT_LINUX64, %edi

/* RDI = boot kind, RSI = boot info address: the arguments of tg_main(). */
tg_enter_user:
	mov $tg_kstack_top, %esp
	/* Mask both 8259s: CPL3 runs with IF set, and an unprogrammed PIC has vector base 0. */
	mov $0xff, %al
	out %al, $0x21
	out %al, $0xa1
	mov $TG_SEL_KDATA, %eax
	mov %eax, %ss
	mov $TG_SEL_TSS, %eax
	ltr %ax
	lidt tg_idt_ptr(%rip)
	pushq $TG_SEL_UDATA
	pushq $tg_user_stack_top - 8 /* as if called: RSP + 8 is 16-byte aligned */
	pushq $TG_USER_RFLAGS
	pushq $TG_SEL_UCODE
	pushq $tg_main
	iretq

/*
 * Stack on entry from a stub: vector, error code (real or 0), then the CPU's
 * RIP, CS, RFLAGS, RSP, SS. Interrupts: count, EOI unless spurious, return
 * (10 instructions). The #UD at tg_cpuid_trap is the CPUID service (below).
 * Other exceptions: record them and "return" into tg_panic() at CPL3 on its
 * own stack, which prints and resets.
 */
tg_isr_common:
	cmpq $TG_FIRST_IRQ_VECTOR, (%rsp)
	jb 2f
	push %rax
	mov 8(%rsp), %eax
	incl tg_irq_count(, %rax, 4)
	cmp $TG_SPURIOUS_VECTOR, %eax
	je 1f
	mov $TG_LAPIC_EOI_PA, %eax
	movl $0, (%rax) /* SDM vol. 3 §11.8.5: EOI write */
1:	pop %rax
	add $16, %rsp
	iretq
2:	cmpq $6, (%rsp) /* #UD */
	jne 3f
	cmpq $tg_cpuid_trap, 16(%rsp)
	jne 4f
	add $16, %rsp
	cpuid
	addq $2, (%rsp) /* past the ud2 */
	iretq
4:	cmpq $tg_wait_trap, 16(%rsp)
	jne 3f
	add $16, %rsp
	cmpw %dx, (%rcx) /* IF is clear here: no interrupt slips in after this check */
	jne 5f
	sti
	hlt /* sti's shadow: an interrupt pending now still wakes the hlt */
	cli
5:	addq $2, (%rsp) /* past the ud2 */
	iretq
3:	popq tg_panic_vector
	popq tg_panic_err
	pushq (%rsp)
	popq tg_panic_rip
	movq $tg_panic, (%rsp)
	movq $TG_SEL_UCODE, 8(%rsp)
	movq $(TG_USER_RFLAGS & ~0x200), 16(%rsp) /* IF clear where that is honoured */
	movq $tg_panic_stack_top - 8, 24(%rsp)
	movq $TG_SEL_UDATA, 32(%rsp)
	iretq

/*
 * CPUID for CPL3 callers: EAX = leaf, ECX = subleaf in, EAX-EDX out. kvm_pvm
 * runs CPL3 natively, where CPUID returns the *host's* values (seen: host
 * APIC ids, host max leaf); CPUID at CPL0 is emulated with the VMM's table.
 * So trap to CPL0 and run it there: ~10 emulated instructions a call.
 */
	.globl tg_cpuid_cpl0
tg_cpuid_cpl0:
tg_cpuid_trap:
	ud2
	ret

/*
 * Wait for an interrupt for CPL3 callers (hlt faults at CPL3): RCX = address of
 * a u16, DX = the value the caller last saw there. Halts only while it is
 * unchanged, checked with IF clear; returns after the interrupt's handler ran.
 */
	.globl tg_wait_cpl0
tg_wait_cpl0:
tg_wait_trap:
	ud2
	ret

/* Fixed-address stubs: the IDT (tables.S) is computed from TG_STUBS_PA. */
	.section .tg.stubs, "ax"
	.globl tg_stubs
tg_stubs:
	.set vec, 0
	.rept TG_NR_VECTORS
	/* SDM vol. 3 §6.3.1: vectors that push an error code. */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp tg_isr_common
	.balign TG_STUB_BYTES, 0x90
	.set vec, vec + 1
	.endr
	.globl tg_stubs_end
tg_stubs_end:

/* Stacks: not zeroed by anyone, so kept out of .bss. */
	.section .tg.stack, "aw", @nobits
	.balign 4096
	.space 4096
	.globl tg_kstack_top
tg_kstack_top:
	.space 4096
	.globl tg_panic_stack_top
tg_panic_stack_top:
	.space 16384
	.globl tg_user_stack_top
tg_user_stack_top:

	.section .note.GNU-stack, "", @progbits
