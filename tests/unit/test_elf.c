/* SPDX-License-Identifier: MIT */
/* ELF vmlinux loader: valid images with and without a PVH note, and every way to be wrong. */
#include <elf.h>

#include "unit.h"
#include "vmm/boot/boot.h"

#define TEXT_PADDR  0x200000ULL
#define TEXT_OFF    0x1000ULL
#define TEXT_BYTES  0x100ULL
#define DATA_PADDR  0x300000ULL
#define DATA_OFF    0x1100ULL
#define DATA_FILESZ 0x10ULL
#define DATA_MEMSZ  0x2000ULL
#define NOTE_OFF    0x1200ULL
#define IMG_BYTES   0x1300ULL
#define ENTRY64	    (TEXT_PADDR + 0x10)
#define ENTRY_PVH   (TEXT_PADDR + 0x20)
#define VIRT_BASE   0xffffffff81000000ULL

struct img {
	uint64_t words[IMG_BYTES / 8]; /* aligned backing for the headers */
	size_t len;
};

static uint8_t *img_bytes(struct img *im)
{
	return (uint8_t *)im->words;
}

static Elf64_Ehdr *ehdr(struct img *im)
{
	return (Elf64_Ehdr *)im->words;
}

static Elf64_Phdr *phdr(struct img *im, unsigned int i)
{
	return (Elf64_Phdr *)(img_bytes(im) + sizeof(Elf64_Ehdr)) + i;
}

static void put_phdr(struct img *im, unsigned int i, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	Elf64_Phdr *ph = phdr(im, i);

	memset(ph, 0, sizeof(*ph));
	ph->p_type = type;
	ph->p_offset = off;
	ph->p_vaddr = paddr;
	ph->p_paddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	ph->p_align = 0x1000;
}

/* Xen note: namesz 4 "Xen", type 18, @descsz-byte entry. Returns bytes written. */
static size_t put_pvh_note(uint8_t *p, uint32_t descsz, uint64_t entry)
{
	unit_st32(p, 4);
	unit_st32(p + 4, descsz);
	unit_st32(p + 8, 18);
	memcpy(p + 12, "Xen", 4);
	if (descsz == 8)
		unit_st64(p + 16, entry);
	else
		unit_st32(p + 16, (uint32_t)entry);
	return 16 + ((descsz + 3) & ~3U);
}

/* Two PT_LOADs (text; data with bss) and, with @pvh, a PT_NOTE holding the Xen entry. */
static void make_elf(struct img *im, int pvh)
{
	Elf64_Ehdr *eh = ehdr(im);
	uint8_t *b = img_bytes(im);

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ENTRY64;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = pvh ? 3 : 2;
	put_phdr(im, 0, PT_LOAD, TEXT_OFF, TEXT_PADDR, TEXT_BYTES, TEXT_BYTES);
	put_phdr(im, 1, PT_LOAD, DATA_OFF, DATA_PADDR, DATA_FILESZ, DATA_MEMSZ);
	for (uint64_t i = 0; i < TEXT_BYTES; i++)
		b[TEXT_OFF + i] = (uint8_t)(0x90 + i);
	memset(b + DATA_OFF, 0xda, DATA_FILESZ);
	if (pvh)
		put_phdr(im, 2, PT_NOTE, NOTE_OFF, 0, put_pvh_note(b + NOTE_OFF, 4, ENTRY_PVH), 0);
	im->len = IMG_BYTES;
}

static enum boot_err load(struct unit_gm *u, struct img *im, struct boot_image *out)
{
	return elf_load(&u->gm, img_bytes(im), im->len, out);
}

static void expect_err(void **state, struct img *im, enum boot_err want)
{
	struct boot_image out;

	assert_int_equal(load(*state, im, &out), want);
}

static void test_elf_loads_image_without_pvh_note_as_linux64(void **state)
{
	struct unit_gm *u = *state;
	struct img im;
	struct boot_image out;

	make_elf(&im, 0);
	memset(unit_gpa(u, DATA_PADDR), 0xcc, DATA_MEMSZ); /* stale bytes where bss goes */
	assert_int_equal(load(u, &im, &out), BOOT_OK);
	assert_int_equal(out.proto, BOOT_PROTO_LINUX64);
	assert_int_equal(out.entry, ENTRY64);
	assert_int_equal(out.load_start, TEXT_PADDR);
	assert_int_equal(out.load_end, DATA_PADDR + DATA_MEMSZ);
	assert_int_equal(out.cmdline_max, CMDLINE_MAX_BYTES - 1);
	assert_false(out.is_bzimage);
	assert_memory_equal(unit_gpa(u, TEXT_PADDR), img_bytes(&im) + TEXT_OFF, TEXT_BYTES);
	assert_int_equal(*unit_gpa(u, DATA_PADDR + DATA_FILESZ - 1), 0xda);
	for (uint64_t i = DATA_FILESZ; i < DATA_MEMSZ; i++)
		assert_int_equal(*unit_gpa(u, DATA_PADDR + i), 0);
}

/*
 * Fresh anonymous guest RAM (gm.untouched) already reads as zero, so the bss
 * is not written: this test marks poisoned memory untouched to see the skip.
 */
static void test_elf_leaves_bss_of_untouched_memory_alone(void **state)
{
	struct unit_gm *u = *state;
	struct img im;
	struct boot_image out;

	make_elf(&im, 0);
	memset(unit_gpa(u, DATA_PADDR), 0xcc, DATA_MEMSZ);
	u->gm.untouched = true;
	assert_int_equal(load(u, &im, &out), BOOT_OK);
	assert_int_equal(*unit_gpa(u, DATA_PADDR + DATA_FILESZ - 1), 0xda);
	assert_int_equal(*unit_gpa(u, DATA_PADDR + DATA_FILESZ), 0xcc);
}

static void test_elf_loads_pvh_image_with_note_entry(void **state)
{
	struct img im;
	struct boot_image out;

	make_elf(&im, 1);
	assert_int_equal(load(*state, &im, &out), BOOT_OK);
	assert_int_equal(out.proto, BOOT_PROTO_PVH);
	assert_int_equal(out.entry, ENTRY_PVH);
}

static void test_elf_accepts_eight_byte_pvh_note(void **state)
{
	struct img im;
	struct boot_image out;

	make_elf(&im, 1);
	phdr(&im, 2)->p_filesz = put_pvh_note(img_bytes(&im) + NOTE_OFF, 8, ENTRY_PVH);
	assert_int_equal(load(*state, &im, &out), BOOT_OK);
	assert_int_equal(out.proto, BOOT_PROTO_PVH);
	assert_int_equal(out.entry, ENTRY_PVH);
}

static void test_elf_translates_virtual_entry_to_physical(void **state)
{
	struct img im;
	struct boot_image out;

	make_elf(&im, 0);
	phdr(&im, 0)->p_vaddr = VIRT_BASE;
	phdr(&im, 1)->p_vaddr = VIRT_BASE + (DATA_PADDR - TEXT_PADDR);
	ehdr(&im)->e_entry = VIRT_BASE + 0x40;
	assert_int_equal(load(*state, &im, &out), BOOT_OK);
	assert_int_equal(out.entry, TEXT_PADDR + 0x40);
}

static void test_elf_ignores_empty_load_segment(void **state)
{
	struct img im;
	struct boot_image out;

	make_elf(&im, 0);
	ehdr(&im)->e_phnum = 3;
	put_phdr(&im, 2, PT_LOAD, 0, 0, 0, 0);
	assert_int_equal(load(*state, &im, &out), BOOT_OK);
}

static void test_elf_rejects_truncated_header(void **state)
{
	struct img im;

	make_elf(&im, 0);
	im.len = sizeof(Elf64_Ehdr) - 1;
	expect_err(state, &im, BOOT_ERR_TOO_SMALL);
}

static void test_elf_rejects_wrong_magic(void **state)
{
	struct img im;

	make_elf(&im, 0);
	ehdr(&im)->e_ident[1] = 'X';
	expect_err(state, &im, BOOT_ERR_BAD_MAGIC);
}

static void test_elf_rejects_wrong_class_data_machine_type(void **state)
{
	struct img im;

	make_elf(&im, 0);
	ehdr(&im)->e_ident[EI_CLASS] = ELFCLASS32;
	expect_err(state, &im, BOOT_ERR_ELF_CLASS);
	make_elf(&im, 0);
	ehdr(&im)->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_err(state, &im, BOOT_ERR_ELF_CLASS);
	make_elf(&im, 0);
	ehdr(&im)->e_machine = EM_386;
	expect_err(state, &im, BOOT_ERR_ELF_CLASS);
	make_elf(&im, 0);
	ehdr(&im)->e_type = ET_DYN;
	expect_err(state, &im, BOOT_ERR_ELF_CLASS);
}

static void test_elf_rejects_bad_phentsize_and_phnum(void **state)
{
	struct img im;

	make_elf(&im, 0);
	ehdr(&im)->e_phentsize = sizeof(Elf64_Phdr) - 1;
	expect_err(state, &im, BOOT_ERR_ELF_PHDRS);
	make_elf(&im, 0);
	ehdr(&im)->e_phnum = 0;
	expect_err(state, &im, BOOT_ERR_ELF_PHDRS);
	make_elf(&im, 0);
	ehdr(&im)->e_phnum = 0xffff;
	expect_err(state, &im, BOOT_ERR_ELF_PHDRS);
}

static void test_elf_rejects_phoff_outside_file(void **state)
{
	struct img im;

	make_elf(&im, 0);
	ehdr(&im)->e_phoff = IMG_BYTES - sizeof(Elf64_Phdr);
	expect_err(state, &im, BOOT_ERR_ELF_PHDRS);
	make_elf(&im, 0);
	ehdr(&im)->e_phoff = UINT64_MAX - 8; /* offset + table size wraps */
	expect_err(state, &im, BOOT_ERR_ELF_PHDRS);
}

static void test_elf_rejects_truncated_segment_data(void **state)
{
	struct img im;

	make_elf(&im, 0);
	im.len = TEXT_OFF + TEXT_BYTES / 2;
	expect_err(state, &im, BOOT_ERR_SEG_FILE_RANGE);
}

static void test_elf_rejects_huge_filesz(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 0)->p_filesz = UINT64_MAX;
	phdr(&im, 0)->p_memsz = UINT64_MAX;
	expect_err(state, &im, BOOT_ERR_SEG_FILE_RANGE);
}

static void test_elf_rejects_p_offset_overflow(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 0)->p_offset = UINT64_MAX - 0x10;
	expect_err(state, &im, BOOT_ERR_SEG_FILE_RANGE);
}

static void test_elf_rejects_filesz_larger_than_memsz(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 1)->p_memsz = DATA_FILESZ - 1;
	expect_err(state, &im, BOOT_ERR_SEG_SIZES);
}

static void test_elf_rejects_segment_below_1mib(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = 0x7000; /* would overwrite the zero page */
	expect_err(state, &im, BOOT_ERR_SEG_OUTSIDE_RAM);
}

static void test_elf_rejects_segment_outside_ram(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = UNIT_GM_DEFAULT_BYTES - 0x1000; /* bss runs past the end */
	expect_err(state, &im, BOOT_ERR_SEG_OUTSIDE_RAM);
	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = UINT64_MAX - 0x100; /* paddr + memsz wraps */
	expect_err(state, &im, BOOT_ERR_SEG_OUTSIDE_RAM);
}

/* 4 GiB layout with fake host pointers: validation must fail before any copy. */
static void test_elf_rejects_segment_in_mmio_gap_or_high_ram(void **state)
{
	struct guest_mem gm;
	struct boot_image out;
	struct img im;

	(void)state;
	assert_int_equal(gm_layout(&gm, GiB(4)), 0);
	gm.regions[0].host = (uint8_t *)(uintptr_t)0x100000000000ULL;
	gm.regions[1].host = (uint8_t *)(uintptr_t)0x200000000000ULL;
	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = BOOT_TIMER_GPA;
	assert_int_equal(elf_load(&gm, img_bytes(&im), im.len, &out), BOOT_ERR_SEG_OUTSIDE_RAM);
	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = MMIO_GAP_START_GPA - 0x1000; /* bss runs into the gap */
	assert_int_equal(elf_load(&gm, img_bytes(&im), im.len, &out), BOOT_ERR_SEG_OUTSIDE_RAM);
	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = MMIO_GAP_END_GPA; /* RAM, but above the identity map */
	assert_int_equal(elf_load(&gm, img_bytes(&im), im.len, &out), BOOT_ERR_SEG_OUTSIDE_RAM);
}

static void test_elf_rejects_overlapping_segments(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = TEXT_PADDR + TEXT_BYTES - 1;
	expect_err(state, &im, BOOT_ERR_SEG_OVERLAP);
	make_elf(&im, 0);
	phdr(&im, 0)->p_paddr = DATA_PADDR + DATA_MEMSZ - 1; /* text inside data's bss */
	ehdr(&im)->e_entry = phdr(&im, 0)->p_paddr;
	phdr(&im, 0)->p_vaddr = phdr(&im, 0)->p_paddr;
	expect_err(state, &im, BOOT_ERR_SEG_OVERLAP);
}

static void test_elf_accepts_adjacent_segments(void **state)
{
	struct img im;
	struct boot_image out;

	make_elf(&im, 0);
	phdr(&im, 1)->p_paddr = TEXT_PADDR + TEXT_BYTES;
	assert_int_equal(load(*state, &im, &out), BOOT_OK);
}

static void test_elf_rejects_image_without_load_segments(void **state)
{
	struct img im;

	make_elf(&im, 0);
	phdr(&im, 0)->p_type = PT_NULL;
	phdr(&im, 1)->p_type = PT_NULL;
	expect_err(state, &im, BOOT_ERR_NO_LOAD_SEGMENTS);
}

static void test_elf_rejects_entry_outside_segments(void **state)
{
	struct img im;

	make_elf(&im, 0);
	ehdr(&im)->e_entry = 0x280000;
	expect_err(state, &im, BOOT_ERR_ELF_ENTRY);
	make_elf(&im, 0);
	ehdr(&im)->e_entry = DATA_PADDR + DATA_FILESZ; /* bss is not code */
	expect_err(state, &im, BOOT_ERR_ELF_ENTRY);
}

static void test_elf_rejects_pvh_entry_outside_segments(void **state)
{
	struct img im;

	make_elf(&im, 1);
	put_pvh_note(img_bytes(&im) + NOTE_OFF, 4, 0x180000);
	expect_err(state, &im, BOOT_ERR_ELF_ENTRY);
}

static void test_elf_rejects_malformed_note(void **state)
{
	struct img im;

	make_elf(&im, 1);
	unit_st32(img_bytes(&im) + NOTE_OFF + 4, 0x1000); /* descsz past the note segment */
	expect_err(state, &im, BOOT_ERR_BAD_NOTE);
	make_elf(&im, 1);
	unit_st32(img_bytes(&im) + NOTE_OFF + 4, 2); /* PVH entry of two bytes */
	expect_err(state, &im, BOOT_ERR_BAD_NOTE);
	make_elf(&im, 1);
	phdr(&im, 2)->p_offset = IMG_BYTES - 4; /* note data outside the file */
	expect_err(state, &im, BOOT_ERR_BAD_NOTE);
}

static void test_boot_load_kernel_dispatches_elf(void **state)
{
	struct unit_gm *u = *state;
	struct img im;
	struct boot_image out;

	make_elf(&im, 1);
	assert_int_equal(boot_load_kernel(&u->gm, img_bytes(&im), im.len, &out), BOOT_OK);
	assert_int_equal(out.proto, BOOT_PROTO_PVH);
}

static void test_boot_load_kernel_rejects_unknown_and_tiny_images(void **state)
{
	struct unit_gm *u = *state;
	static uint8_t junk[4096];
	struct boot_image out;

	memset(junk, 0x41, sizeof(junk));
	assert_int_equal(boot_load_kernel(&u->gm, junk, sizeof(junk), &out), BOOT_ERR_BAD_MAGIC);
	assert_int_equal(boot_load_kernel(&u->gm, junk, 3, &out), BOOT_ERR_TOO_SMALL);
	assert_int_equal(boot_load_kernel(&u->gm, NULL, 0, &out), BOOT_ERR_TOO_SMALL);
}

static void test_boot_err_str_names_every_error(void **state)
{
	(void)state;
	for (int e = 0; e < BOOT_ERR_COUNT; e++)
		assert_string_not_equal(boot_err_str((enum boot_err)e), "unknown boot error");
	assert_string_equal(boot_err_str(BOOT_ERR_COUNT), "unknown boot error");
	assert_string_equal(boot_err_str((enum boot_err) - 1), "unknown boot error");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_elf_loads_image_without_pvh_note_as_linux64),
	    T(test_elf_leaves_bss_of_untouched_memory_alone),
	    T(test_elf_loads_pvh_image_with_note_entry),
	    T(test_elf_accepts_eight_byte_pvh_note),
	    T(test_elf_translates_virtual_entry_to_physical),
	    T(test_elf_ignores_empty_load_segment),
	    T(test_elf_rejects_truncated_header),
	    T(test_elf_rejects_wrong_magic),
	    T(test_elf_rejects_wrong_class_data_machine_type),
	    T(test_elf_rejects_bad_phentsize_and_phnum),
	    T(test_elf_rejects_phoff_outside_file),
	    T(test_elf_rejects_truncated_segment_data),
	    T(test_elf_rejects_huge_filesz),
	    T(test_elf_rejects_p_offset_overflow),
	    T(test_elf_rejects_filesz_larger_than_memsz),
	    T(test_elf_rejects_segment_below_1mib),
	    T(test_elf_rejects_segment_outside_ram),
	    cmocka_unit_test(test_elf_rejects_segment_in_mmio_gap_or_high_ram),
	    T(test_elf_rejects_overlapping_segments),
	    T(test_elf_accepts_adjacent_segments),
	    T(test_elf_rejects_image_without_load_segments),
	    T(test_elf_rejects_entry_outside_segments),
	    T(test_elf_rejects_pvh_entry_outside_segments),
	    T(test_elf_rejects_malformed_note),
	    T(test_boot_load_kernel_dispatches_elf),
	    T(test_boot_load_kernel_rejects_unknown_and_tiny_images),
	    cmocka_unit_test(test_boot_err_str_names_every_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
