/* SPDX-License-Identifier: MIT */
/*
 * Linker script template for both test-guest ELFs (run through cpp). With
 * TG_PVH the Xen PVH note is kept in a PT_NOTE segment; without it the note
 * is discarded and loaders fall back to e_entry, the 64-bit entry point.
 */
#include "tg_layout.h"

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(tg_entry_linux64)

PHDRS
{
	tables PT_LOAD FLAGS(6);
	text PT_LOAD FLAGS(5);
	data PT_LOAD FLAGS(6);
#if TG_PVH
	note PT_NOTE FLAGS(4);
#endif
}

SECTIONS
{
	. = TG_IMAGE_PA;
	.tg.tables : { KEEP(*(.tg.tables)) } :tables

	. = TG_STUBS_PA;
	.text : {
		KEEP(*(.tg.stubs))
		*(.text.entry)
		*(.text .text.*)
	} :text
#if TG_PVH
	.note.Xen : { KEEP(*(.note.Xen)) } :text :note
#endif
	.rodata : { *(.rodata .rodata.*) } :text

	. = ALIGN(4096);
	.data : { *(.data .data.*) } :data
	.bss : {
		tg_bss_start = .;
		*(.bss .bss.*) *(COMMON)
		tg_bss_end = .;
	} :data
	.tg.stack (NOLOAD) : { *(.tg.stack) } :data

	/DISCARD/ : {
#if !TG_PVH
		*(.note.Xen)
#endif
		*(.comment) *(.eh_frame) *(.eh_frame_hdr) *(.note.GNU-stack) *(.note.gnu.*)
	}
}

ASSERT(tg_pml4 == TG_PML4_PA, "page tables moved")
ASSERT(tg_idt == TG_IDT_PA, "IDT moved")
ASSERT(tg_stubs == TG_STUBS_PA, "interrupt stubs moved")
ASSERT(tg_stubs_end - tg_stubs == TG_NR_VECTORS * TG_STUB_BYTES, "a stub outgrew its slot")
