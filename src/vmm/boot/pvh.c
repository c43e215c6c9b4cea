/* SPDX-License-Identifier: MIT */
/*
 * Xen PVH direct boot: finding the 32-bit entry in the kernel's ELF notes and
 * writing struct hvm_start_info, its module list and memory map for the guest
 * (xen/include/public/arch-x86/hvm/start_info.h, docs/misc/pvh.pandoc).
 */
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/boot/boot_priv.h"
#include "vmm/layout.h"

#define PVH_NOTE_HDR_BYTES	 12 /* namesz, descsz, type */
#define XEN_ELFNOTE_PHYS32_ENTRY 18 /* xen/include/public/elfnote.h */
#define XEN_HVM_START_MAGIC	 0x336ec578U
#define XEN_HVM_START_VERSION	 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 and newer */
	uint32_t memmap_entries;
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820 types (start_info.h XEN_HVM_MEMMAP_TYPE_*) */
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap layout");

/*
 * The module list follows the memory map. layout.h has no slot for it; it is
 * kept inside the page that holds the start info, below the zero page.
 */
#define PVH_MODLIST_GPA (PVH_MEMMAP_GPA + E820_MAX_ENTRIES * sizeof(struct hvm_memmap_table_entry))
_Static_assert(PVH_START_INFO_GPA + sizeof(struct hvm_start_info) <= PVH_MEMMAP_GPA,
	       "start info runs into the memory map");
_Static_assert(PVH_MODLIST_GPA + sizeof(struct hvm_modlist_entry) <= ZERO_PAGE_GPA,
	       "PVH module list runs into the zero page");

static uint64_t pvh_align4(uint64_t v)
{
	return (v + 3) & ~(uint64_t)3; /* v < 2^32 here: cannot wrap */
}

/* A PVH entry is a 32-bit physical address; Linux emits it as .quad. */
static int pvh_parse_entry(const uint8_t *desc, uint32_t descsz, uint64_t *entry)
{
	uint64_t v;

	if (descsz == 4)
		v = boot_ld32(desc);
	else if (descsz == 8)
		v = boot_ld64(desc);
	else
		return -1;
	if (v > UINT32_MAX)
		return -1;
	*entry = v;
	return 1;
}

/*
 * ELF gABI "Note Section": namesz, descsz, type, then name and desc each
 * padded to 4 bytes. The padding after the last desc may be missing.
 */
int pvh_find_entry_note(const uint8_t *notes, size_t len, uint64_t *entry)
{
	static const char xen_name[4] = "Xen";
	uint64_t off = 0;

	while (off < len) {
		uint64_t name_off, desc_off, desc_end;
		uint32_t namesz, descsz;

		if (len - off < PVH_NOTE_HDR_BYTES)
			return -1;
		namesz = boot_ld32(notes + off);
		descsz = boot_ld32(notes + off + 4);
		name_off = off + PVH_NOTE_HDR_BYTES;
		desc_off = name_off + pvh_align4(namesz);
		desc_end = desc_off + descsz;
		if (desc_off > len || desc_end > len)
			return -1;
		if (boot_ld32(notes + off + 8) == XEN_ELFNOTE_PHYS32_ENTRY &&
		    namesz == sizeof(xen_name) && !memcmp(notes + name_off, xen_name, namesz))
			return pvh_parse_entry(notes + desc_off, descsz, entry);
		off = desc_off + pvh_align4(descsz);
	}
	return 0;
}

static enum boot_err pvh_write_memmap(const struct guest_mem *gm, uint32_t *count)
{
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct hvm_memmap_table_entry map[E820_MAX_ENTRIES];
	unsigned int n = e820_build(gm, e820, E820_MAX_ENTRIES);

	memset(map, 0, sizeof(map));
	for (unsigned int i = 0; i < n; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type;
	}
	*count = n;
	if (n == 0 || gm_write(gm, PVH_MEMMAP_GPA, map, n * sizeof(map[0])))
		return BOOT_ERR_NO_MEMORY;
	return BOOT_OK;
}

enum boot_err pvh_write_start_info(const struct guest_mem *gm, const struct boot_params_in *in)
{
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	uint32_t count = 0;
	enum boot_err err;

	memset(&si, 0, sizeof(si));
	si.magic = XEN_HVM_START_MAGIC;
	si.version = XEN_HVM_START_VERSION;
	si.cmdline_paddr = in->cmdline_gpa;
	si.memmap_paddr = PVH_MEMMAP_GPA;
	err = pvh_write_memmap(gm, &count);
	if (err != BOOT_OK)
		return err;
	si.memmap_entries = count;
	/* Linux's PVH entry takes the first module as the initrd. */
	if (in->initrd_len) {
		memset(&mod, 0, sizeof(mod));
		mod.paddr = in->initrd_gpa;
		mod.size = in->initrd_len;
		if (gm_write(gm, PVH_MODLIST_GPA, &mod, sizeof(mod)))
			return BOOT_ERR_NO_MEMORY;
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
	}
	if (gm_write(gm, PVH_START_INFO_GPA, &si, sizeof(si)))
		return BOOT_ERR_NO_MEMORY;
	return BOOT_OK;
}
