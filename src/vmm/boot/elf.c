/* SPDX-License-Identifier: MIT */
/*
 * ELF64 x86-64 vmlinux loader. The image is untrusted: every header field is
 * checked against the file length and guest RAM before a byte is copied, and
 * segments go into guest memory only through gm_write()/gm_ptr().
 */
#include <elf.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

/* vmlinux has about five program headers; more than this is not a kernel. */
#define ELF_MAX_PHDRS 64

struct elf_seg {
	uint64_t paddr, vaddr, filesz, memsz, offset;
};

struct elf_info {
	struct elf_seg load[ELF_MAX_PHDRS];
	unsigned int nr_load;
	uint64_t pvh_entry;
	int has_pvh;
};

static enum boot_err elf_check_ehdr(const Elf64_Ehdr *eh, size_t len)
{
	uint64_t tbl_bytes, tbl_end;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return BOOT_ERR_BAD_MAGIC;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_machine != EM_X86_64 ||
	    eh->e_type != ET_EXEC)
		return BOOT_ERR_ELF_CLASS;
	/* e_phnum 0xffff (PN_XNUM) means extended numbering: refused by the cap. */
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > ELF_MAX_PHDRS)
		return BOOT_ERR_ELF_PHDRS;
	tbl_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(eh->e_phoff, tbl_bytes, &tbl_end) || tbl_end > len)
		return BOOT_ERR_ELF_PHDRS;
	return BOOT_OK;
}

/* A PT_LOAD must lie wholly in low RAM, at or above 1 MiB (DESIGN.md §5). */
static enum boot_err elf_check_load(const struct guest_mem *gm, const Elf64_Phdr *ph, size_t len)
{
	uint64_t file_end, mem_end;

	if (ph->p_filesz > ph->p_memsz)
		return BOOT_ERR_SEG_SIZES;
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &file_end) || file_end > len)
		return BOOT_ERR_SEG_FILE_RANGE;
	if (ph->p_memsz == 0)
		return BOOT_OK; /* occupies nothing; linkers emit such segments */
	/*
	 * Low RAM only: the kernel runs from the 0-4 GiB identity map and the
	 * initrd is placed above it in the same region. gm_ptr() rejects the
	 * MMIO gap, ranges past RAM and address overflow.
	 */
	if (ph->p_paddr < HIGH_MEMORY_GPA ||
	    __builtin_add_overflow(ph->p_paddr, ph->p_memsz, &mem_end) ||
	    mem_end > gm_low_end(gm) || !gm_ptr(gm, ph->p_paddr, ph->p_memsz))
		return BOOT_ERR_SEG_OUTSIDE_RAM;
	return BOOT_OK;
}

static int elf_segs_overlap(const struct elf_seg *a, const struct elf_seg *b)
{
	/* Ends cannot overflow: elf_check_load() proved both lie in RAM. */
	return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

static enum boot_err elf_add_load(struct elf_info *info, const Elf64_Phdr *ph)
{
	struct elf_seg *s = &info->load[info->nr_load];

	*s = (struct elf_seg){ph->p_paddr, ph->p_vaddr, ph->p_filesz, ph->p_memsz, ph->p_offset};
	for (unsigned int i = 0; i < info->nr_load; i++) {
		if (elf_segs_overlap(&info->load[i], s))
			return BOOT_ERR_SEG_OVERLAP;
	}
	info->nr_load++;
	return BOOT_OK;
}

static enum boot_err elf_scan_note(struct elf_info *info, const Elf64_Phdr *ph, const uint8_t *img,
				   size_t len)
{
	uint64_t end, entry;
	int r;

	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > len)
		return BOOT_ERR_BAD_NOTE;
	if (info->has_pvh || ph->p_filesz == 0)
		return BOOT_OK;
	r = pvh_find_entry_note(img + ph->p_offset, (size_t)ph->p_filesz, &entry);
	if (r < 0)
		return BOOT_ERR_BAD_NOTE;
	if (r > 0) {
		info->has_pvh = 1;
		info->pvh_entry = entry;
	}
	return BOOT_OK;
}

/* Validate every program header before anything is written to the guest. */
static enum boot_err elf_scan_phdrs(const struct guest_mem *gm, const Elf64_Ehdr *eh,
				    const uint8_t *img, size_t len, struct elf_info *info)
{
	enum boot_err err = BOOT_OK;

	for (unsigned int i = 0; i < eh->e_phnum && err == BOOT_OK; i++) {
		Elf64_Phdr ph;

		/* Copied out: the header table was bounds-checked as a whole. */
		memcpy(&ph, img + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			err = elf_scan_note(info, &ph, img, len);
		} else if (ph.p_type == PT_LOAD) {
			err = elf_check_load(gm, &ph, len);
			if (err == BOOT_OK && ph.p_memsz != 0)
				err = elf_add_load(info, &ph);
		}
	}
	if (err == BOOT_OK && info->nr_load == 0)
		err = BOOT_ERR_NO_LOAD_SEGMENTS;
	return err;
}

/* Physical address of @want if it is file-backed code of a loaded segment. */
static int elf_find_entry(const struct elf_info *info, uint64_t want, int virt, uint64_t *entry)
{
	for (unsigned int i = 0; i < info->nr_load; i++) {
		const struct elf_seg *s = &info->load[i];
		uint64_t base = virt ? s->vaddr : s->paddr;

		if (want >= base && want - base < s->filesz) {
			*entry = s->paddr + (want - base); /* < paddr + memsz: in RAM */
			return 1;
		}
	}
	return 0;
}

/*
 * The PVH note gives a physical entry. Linux links vmlinux with
 * ENTRY(phys_startup_64), a physical e_entry (arch/x86/kernel/vmlinux.lds.S),
 * but other linkers leave the virtual one (0xffffffff81000000+): that is
 * translated through the segment holding it.
 */
static enum boot_err elf_resolve_entry(const struct elf_info *info, uint64_t e_entry,
				       uint64_t *entry)
{
	int found;

	if (info->has_pvh)
		found = elf_find_entry(info, info->pvh_entry, 0, entry);
	else
		found = elf_find_entry(info, e_entry, 0, entry) ||
			elf_find_entry(info, e_entry, 1, entry);
	/* Boot page tables map 0-4 GiB; PVH enters in 32-bit mode. */
	if (!found || *entry >= MMIO_GAP_END_GPA)
		return BOOT_ERR_ELF_ENTRY;
	return BOOT_OK;
}

static enum boot_err elf_copy_segments(const struct guest_mem *gm, const struct elf_info *info,
				       const uint8_t *img, struct boot_image *out)
{
	out->load_start = UINT64_MAX;
	for (unsigned int i = 0; i < info->nr_load; i++) {
		const struct elf_seg *s = &info->load[i];
		uint64_t bss = s->memsz - s->filesz; /* sums below: checked in elf_check_load() */
		uint8_t *zero;

		if (s->filesz && gm_write(gm, s->paddr, img + s->offset, s->filesz))
			return BOOT_ERR_SEG_OUTSIDE_RAM;
		/*
		 * ELF spec, PT_LOAD: bytes past p_filesz up to p_memsz read as zero.
		 * Untouched anonymous guest RAM already does: zeroing it would only
		 * fault in every page of a large bss for nothing.
		 */
		if (bss) {
			zero = gm_ptr(gm, s->paddr + s->filesz, bss);
			if (!zero)
				return BOOT_ERR_SEG_OUTSIDE_RAM;
			if (!gm->untouched)
				memset(zero, 0, bss);
		}
		if (s->paddr < out->load_start)
			out->load_start = s->paddr;
		if (s->paddr + s->memsz > out->load_end)
			out->load_end = s->paddr + s->memsz;
	}
	return BOOT_OK;
}

enum boot_err elf_load(const struct guest_mem *gm, const uint8_t *img, size_t len,
		       struct boot_image *out)
{
	struct elf_info info;
	Elf64_Ehdr eh;
	enum boot_err err;

	memset(out, 0, sizeof(*out));
	memset(&info, 0, sizeof(info));
	if (!img || len < sizeof(eh))
		return BOOT_ERR_TOO_SMALL;
	memcpy(&eh, img, sizeof(eh));
	err = elf_check_ehdr(&eh, len);
	if (err == BOOT_OK)
		err = elf_scan_phdrs(gm, &eh, img, len, &info);
	if (err == BOOT_OK)
		err = elf_resolve_entry(&info, eh.e_entry, &out->entry);
	if (err == BOOT_OK)
		err = elf_copy_segments(gm, &info, img, out);
	if (err != BOOT_OK)
		return err;
	out->proto = info.has_pvh ? BOOT_PROTO_PVH : BOOT_PROTO_LINUX64;
	out->cmdline_max = CMDLINE_MAX_BYTES - 1;
	return BOOT_OK;
}
