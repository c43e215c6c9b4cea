/* SPDX-License-Identifier: MIT */
/*
 * The guest-physical memory map kiln presents (DESIGN.md §5). Every fixed
 * guest address lives here so loaders, devices and the test guest agree.
 */
#ifndef KILN_LAYOUT_H
#define KILN_LAYOUT_H

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

/* Boot-time structures in low memory. */
#define BOOT_GDT_GPA	   0x500ULL
#define BOOT_IDT_GPA	   0x520ULL
#define PVH_START_INFO_GPA 0x6000ULL
#define PVH_MEMMAP_GPA	   0x6040ULL
#define ZERO_PAGE_GPA	   0x7000ULL
#define BOOT_STACK_GPA	   0x8ff0ULL
#define BOOT_PML4_GPA	   0x9000ULL
#define BOOT_PDPT_GPA	   0xa000ULL
#define BOOT_PD_GPA	   0xb000ULL /* 4 pages: identity map of the first 4 GiB */
#define CMDLINE_GPA	   0x20000ULL
#define CMDLINE_MAX_BYTES  4096U /* including the NUL */

/* Legacy reserved window: EBDA / MP table / BIOS area up to 1 MiB. */
#define EBDA_START_GPA	0x9fc00ULL
#define MPTABLE_GPA	EBDA_START_GPA
#define HIGH_MEMORY_GPA MiB(1)

/* 32-bit MMIO gap: RAM never lives here. */
#define MMIO_GAP_START_GPA	 GiB(3)
#define MMIO_GAP_END_GPA	 GiB(4)
#define BOOT_TIMER_GPA		 0xc0000000ULL
#define BOOT_TIMER_BYTES	 0x1000ULL
#define BOOT_TIMER_MAGIC	 123
#define VIRTIO_MMIO_BASE_GPA	 0xc0001000ULL
#define VIRTIO_MMIO_WINDOW_BYTES 0x1000ULL
#define VIRTIO_MMIO_FIRST_GSI	 5
#define IOAPIC_GPA		 0xfec00000ULL
#define LAPIC_GPA		 0xfee00000ULL
/* KVM needs three private pages for its TSS and one for the EPT identity map. */
#define KVM_TSS_GPA	     0xfffbd000ULL
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ULL

/* Legacy ports. */
#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_COM1_IRQ	 4
#define I8042_DATA_PORT	 0x60
#define I8042_CMD_PORT	 0x64
#define I8042_CMD_RESET	 0xfe

#define KILN_MAX_VCPUS	 32
#define KILN_MIN_MEM_MIB 16

#endif
