/* SPDX-License-Identifier: MIT */
/*
 * Guest memory: the one wall between guest-physical addresses and host
 * pointers (DESIGN.md §4.1). Nothing else in kiln turns a GPA into a pointer.
 */
#ifndef KILN_GUEST_MEM_H
#define KILN_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 2

struct gm_region {
	uint64_t gpa;  /* first guest-physical byte */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of gpa */
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t total_bytes;
	int mapped; /* 1 if regions were mmap'ed by gm_map() and must be unmapped */
	/*
	 * True from gm_map() until the owner says otherwise: every byte still
	 * reads as zero (fresh anonymous memory), so loaders need not zero.
	 * Caller-provided buffers are never assumed untouched.
	 */
	bool untouched;
};

/*
 * Lay out @mem_bytes of RAM below the 3 GiB MMIO gap and, for what does not
 * fit, from 4 GiB upwards, without mapping anything. Pure: used by tests.
 */
int gm_layout(struct guest_mem *gm, uint64_t mem_bytes);

/* How guest RAM is backed (Firecracker's machine-config huge_pages). */
enum gm_backing {
	GM_BACKING_PAGES = 0,	    /* "None": ordinary 4 KiB anonymous pages */
	GM_BACKING_TRANSPARENT = 1, /* "Transparent": anonymous, MADV_HUGEPAGE */
	GM_BACKING_HUGETLB_2M = 2,  /* "2M": hugetlb pages reserved on the host */
};

/*
 * gm_layout() and mmap anonymous memory for each region. With
 * GM_BACKING_HUGETLB_2M @mem_bytes must be a multiple of 2 MiB and the host
 * must have that many 2 MiB pages reserved (-ENOMEM otherwise).
 */
int gm_map(struct guest_mem *gm, uint64_t mem_bytes, enum gm_backing backing);

/* Use caller-owned host buffers instead of mmap (unit tests, fuzzers). */
int gm_init_from_buffer(struct guest_mem *gm, uint8_t *buf, uint64_t size);

void gm_unmap(struct guest_mem *gm);

/*
 * Host pointer for [gpa, gpa + len) if the whole range lies inside one RAM
 * region, else NULL. len 0 is refused: callers never need an empty range.
 */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers on top of gm_ptr(): 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, void *dst, uint64_t gpa, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

/* Highest RAM byte + 1 below the MMIO gap (end of "low" RAM). */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
