/* SPDX-License-Identifier: MIT */
/*
 * Static CPU tables, complete at link time so the emulated CPL0 prologue only
 * has to load them: identity page tables for 0-4 GiB (2 MiB pages, User set
 * everywhere so CPL3 reaches RAM, the boot timer, IOAPIC and LAPIC), the IDT
 * pointing at the fixed-address stubs, the GDT and the 64-bit TSS.
 */
#include "tg_layout.h"

#define PTE_P	 0x001
#define PTE_W	 0x002
#define PTE_U	 0x004
#define PTE_PWT	 0x008
#define PTE_PCD	 0x010
#define PTE_PS	 0x080
#define PTE_NEXT (PTE_P | PTE_W | PTE_U)
#define PDE_RAM	 (PTE_P | PTE_W | PTE_U | PTE_PS)
#define PDE_MMIO (PDE_RAM | PTE_PCD | PTE_PWT) /* the 3-4 GiB gap is devices: uncached */

/* Interrupt gate, DPL 0, present (SDM vol. 3 §6.14.1). */
#define GATE_INTR64 0x8e

/* TSS descriptor fields for a base below 4 GiB (SDM vol. 3 §7.2.3). */
#define TSS_DESC_LO                                                                                \
	((TG_TSS_LIMIT) | ((TG_TSS_PA & 0xffffff) << 16) | (0x89 << 40) |                     \
	 (((TG_TSS_PA >> 24) & 0xff) << 56))

	.section .tg.tables, "aw"
	.globl tg_pml4
tg_pml4:
	.quad TG_PDPT_PA | PTE_NEXT
	.fill 511, 8, 0

	.org TG_PDPT_PA - TG_IMAGE_PA
tg_pdpt:
	.set i, 0
	.rept TG_PD_PAGES
	.quad (TG_PD_PA + i * 0x1000) | PTE_NEXT
	.set i, i + 1
	.endr
	.fill 512 - TG_PD_PAGES, 8, 0

	.org TG_PD_PA - TG_IMAGE_PA
tg_pd:
	.set i, 0
	.rept TG_MMIO_START_2M
	.quad (i << 21) | PDE_RAM
	.set i, i + 1
	.endr
	.rept TG_PD_PAGES * 512 - TG_MMIO_START_2M
	.quad (i << 21) | PDE_MMIO
	.set i, i + 1
	.endr

	.org TG_IDT_PA - TG_IMAGE_PA
	.globl tg_idt
tg_idt:
	.set vec, 0
	.rept TG_NR_VECTORS
	.set h, TG_STUBS_PA + vec * TG_STUB_BYTES
	.quad (h & 0xffff) | (TG_SEL_KCODE << 16) | (GATE_INTR64 << 40) | ((h >> 16) << 48)
	.quad 0
	.set vec, vec + 1
	.endr

	.org TG_GDT_PA - TG_IMAGE_PA
tg_gdt:
	.quad 0
	.quad 0x00209b0000000000 /* 0x08 kernel code: 64-bit, DPL 0 */
	.quad 0x00cf93000000ffff /* 0x10 kernel data: flat */
	.quad 0x00cff3000000ffff /* 0x18 user data: flat, DPL 3 */
	.quad 0x0020fb0000000000 /* 0x20 user code: 64-bit, DPL 3 */
	.quad TSS_DESC_LO	 /* 0x28 TSS, 16 bytes in long mode */
	.quad 0
tg_gdt_end:

	/*
	 * Pseudo-descriptors: limit then base. In 32-bit mode lgdt reads the
	 * first 6 bytes, which hold the same base as the tables lie below 4 GiB.
	 */
	.balign 16
	.globl tg_gdt_ptr
tg_gdt_ptr:
	.word tg_gdt_end - tg_gdt - 1
	.quad TG_GDT_PA
	.balign 16
	.globl tg_idt_ptr
tg_idt_ptr:
	.word TG_IDT_BYTES - 1
	.quad TG_IDT_PA

	.org TG_TSS_PA - TG_IMAGE_PA
tg_tss:
	.long 0
	.quad tg_kstack_top /* RSP0: CPL3 -> CPL0 interrupts land here */
	.quad 0, 0	    /* RSP1, RSP2 */
	.quad 0		    /* reserved */
	.quad 0, 0, 0, 0, 0, 0, 0 /* IST1-7: unused */
	.quad 0
	.word 0
	.word TG_TSS_BYTES /* I/O permission bitmap right after the TSS */
	/*
	 * SDM vol. 1 §19.5.2: a clear bit allows the port at CPL > IOPL. IOPL 3
	 * makes this moot on hardware, but back ends that run guest user mode
	 * with the host's IOPL 0 (kvm_pvm) consult the bitmap, as Linux's
	 * iopl() emulation relies on.
	 */
	.fill TG_IOPB_BYTES - 1, 1, 0
	.byte 0xff

	.org TG_TABLES_END_PA - TG_IMAGE_PA

	.section .note.GNU-stack, "", @progbits
