/* SPDX-License-Identifier: MIT */
/*
 * Fixed physical layout, selectors and entry ABI of the kiln test guest. Shared
 * by C, assembly and the linker script (which is run through cpp), so only
 * plain integer constants live here: no casts, no suffixes.
 */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

/*
 * The image is linked at 1 MiB. Its first 32 KiB hold the static CPU tables,
 * at fixed addresses so that assembly can split them into descriptor fields
 * at build time (GAS cannot relocate a shifted symbol).
 */
#define TG_IMAGE_PA	 0x100000
#define TG_PML4_PA	 0x100000
#define TG_PDPT_PA	 0x101000
#define TG_PD_PA	 0x102000 /* 4 pages: 0-4 GiB in 2 MiB pages */
#define TG_PD_PAGES	 4
#define TG_IDT_PA	 0x106000 /* 256 gates, user-writable on purpose */
#define TG_IDT_BYTES	 4096
#define TG_GDT_PA	 0x107000
#define TG_TSS_PA	 0x108000
#define TG_TSS_BYTES	 104
#define TG_IOPB_BYTES	 8193 /* all 65536 ports allowed, then the 0xff end byte */
#define TG_TSS_LIMIT	 (TG_TSS_BYTES + TG_IOPB_BYTES - 1)
#define TG_TABLES_END_PA 0x10b000
#define TG_STUBS_PA	 0x10b000 /* 256 interrupt stubs, TG_STUB_BYTES apart */
#define TG_STUB_BYTES	 16
#define TG_NR_VECTORS	 256
#define TG_MMIO_START_2M 1536 /* first 2 MiB page of the 3-4 GiB MMIO gap */

/* GDT selectors (Linux order, so SYSRET-style layouts stay possible). */
#define TG_SEL_KCODE 0x08
#define TG_SEL_KDATA 0x10
#define TG_SEL_UDATA 0x1b /* index 3, RPL 3 */
#define TG_SEL_UCODE 0x23 /* index 4, RPL 3 */
#define TG_SEL_TSS   0x28

/*
 * RFLAGS for CPL3: IOPL 3 (port I/O on hardware), IF set, bit 1 set. IF is
 * set because kvm_pvm runs guest user mode with interrupts enabled whatever
 * iretq asked for and faults cli/sti at CPL3; setting it keeps hardware KVM
 * and kvm_pvm alike. Interrupt sources stay masked until a test unmasks one.
 */
#define TG_USER_RFLAGS 0x3202

/* First argument of tg_main(): how the guest was entered. */
#define TG_BOOT_PVH	1
#define TG_BOOT_LINUX64 2

/* Exceptions (< 32) panic; everything above counts as an interrupt. */
#define TG_FIRST_IRQ_VECTOR 32
#define TG_SPURIOUS_VECTOR  0xff
#define TG_LAPIC_EOI_PA	    0xfee000b0

#endif
