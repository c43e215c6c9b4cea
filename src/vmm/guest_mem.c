/* SPDX-License-Identifier: MIT */
/*
 * Guest memory regions and the bounds-checked accessor. Every GPA the guest
 * or a loader hands us is checked here for overflow and for lying wholly in
 * one RAM region, so the MMIO gap and the space past RAM are never reached.
 */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <linux/mman.h>
#include <sys/mman.h>

#include "vmm/layout.h"

static void gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size)
{
	struct gm_region *r = &gm->regions[gm->nr_regions++];

	r->gpa = gpa;
	r->size = size;
	r->host = NULL;
	gm->total_bytes += size;
}

int gm_layout(struct guest_mem *gm, uint64_t mem_bytes)
{
	memset(gm, 0, sizeof(*gm));
	if (mem_bytes == 0 || (mem_bytes & 0xfff))
		return -EINVAL;
	if (mem_bytes <= MMIO_GAP_START_GPA) {
		gm_add_region(gm, 0, mem_bytes);
		return 0;
	}
	gm_add_region(gm, 0, MMIO_GAP_START_GPA);
	gm_add_region(gm, MMIO_GAP_END_GPA, mem_bytes - MMIO_GAP_START_GPA);
	return 0;
}

int gm_map(struct guest_mem *gm, uint64_t mem_bytes, enum gm_backing backing)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	int err = gm_layout(gm, mem_bytes);

	if (err)
		return err;
	if (backing == GM_BACKING_HUGETLB_2M) {
		if (mem_bytes % MiB(2))
			return -EINVAL;
		/* No MAP_NORESERVE: fail now, not with SIGBUS when the guest touches it. */
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB;
	}
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		struct gm_region *r = &gm->regions[i];
		void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, flags, -1, 0);

		if (p == MAP_FAILED) {
			err = -errno;
			gm_unmap(gm);
			return err;
		}
		r->host = p;
		gm->mapped = 1;
		/* Guest RAM never belongs in a core dump of the VMM. */
		madvise(p, r->size, MADV_DONTDUMP);
		if (backing == GM_BACKING_TRANSPARENT)
			madvise(p, r->size, MADV_HUGEPAGE);
	}
	gm->untouched = true;
	return 0;
}

int gm_init_from_buffer(struct guest_mem *gm, uint8_t *buf, uint64_t size)
{
	int err = gm_layout(gm, size);

	if (err)
		return err;
	if (gm->nr_regions != 1)
		return -EINVAL;
	gm->regions[0].host = buf;
	return 0;
}

void gm_unmap(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		struct gm_region *r = &gm->regions[i];

		if (gm->mapped && r->host)
			munmap(r->host, r->size);
		r->host = NULL;
	}
	gm->mapped = 0;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size && r->host)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, void *dst, uint64_t gpa, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].gpa + gm->regions[0].size : 0;
}
