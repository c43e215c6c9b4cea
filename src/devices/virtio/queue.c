/* SPDX-License-Identifier: MIT */
/*
 * Split-virtqueue walker (virtio 1.2 §2.7), the second wall of DESIGN.md §4:
 * ring geometry is checked once at activation, every guest-controlled index,
 * length and address is bounded before use, and each descriptor is copied out
 * of guest memory before it is looked at.
 *
 * Byte order: virtio 1.x rings are little-endian and kiln only runs on x86-64
 * hosts, so ring fields are loaded and stored directly (no byte swapping).
 * Alignment: the rings' guest addresses are checked at activation (desc 16,
 * avail 2, used 4) and guest RAM is page-aligned on the host, so every u16/u32
 * access below is naturally aligned.
 */
#include "devices/virtio/queue.h"

#include <string.h>

_Static_assert(sizeof(struct vring_desc) == 16, "virtio 1.2 §2.7.5: 16-byte descriptor");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rings are accessed natively");

/* Ring sizes in bytes for @size entries, including the event-index fields (§2.7). */
#define VQ_DESC_BYTES(size)  (16ULL * (size))
#define VQ_AVAIL_BYTES(size) (6ULL + 2ULL * (size))
#define VQ_USED_BYTES(size)  (6ULL + 8ULL * (size))

/* Ring alignment requirements (virtio 1.2 §2.7, table "Virtqueue Part Alignment"). */
#define VQ_DESC_ALIGN  16
#define VQ_AVAIL_ALIGN 2
#define VQ_USED_ALIGN  4

static const char *const vq_err_names[VQ_ERR_COUNT] = {
    [VQ_OK] = "ok",
    [VQ_EMPTY] = "no available buffers",
    [VQ_ERR_NOT_READY] = "queue not ready or broken",
    [VQ_ERR_AVAIL_JUMP] = "avail index moved by more than the queue size",
    [VQ_ERR_HEAD_RANGE] = "head index out of range",
    [VQ_ERR_NEXT_RANGE] = "next index out of range",
    [VQ_ERR_CHAIN_TOO_LONG] = "descriptor chain longer than its table (loop)",
    [VQ_ERR_TOO_MANY_SEGS] = "too many buffers in one chain",
    [VQ_ERR_BUF_ADDR] = "buffer outside guest RAM or wrapping",
    [VQ_ERR_ZERO_LEN] = "zero-length buffer",
    [VQ_ERR_INDIRECT_NOT_NEG] = "indirect descriptor not negotiated",
    [VQ_ERR_INDIRECT_NESTED] = "indirect descriptor inside an indirect table",
    [VQ_ERR_INDIRECT_LEN] = "indirect table length invalid",
    [VQ_ERR_INDIRECT_NEXT] = "indirect descriptor with NEXT",
    [VQ_ERR_WRITE_BEFORE_READ] = "readable buffer after a writable one",
    [VQ_ERR_RING_SIZE] = "queue size invalid",
    [VQ_ERR_RING_ALIGN] = "ring address misaligned",
    [VQ_ERR_RING_ADDR] = "ring outside guest RAM",
};

/* Guest-shared u16 at @p: one untorn load the compiler cannot repeat. */
static inline uint16_t vq_ld16(const uint8_t *p, int order)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, order);
}

static inline void vq_st16(uint8_t *p, uint16_t v, int order)
{
	__atomic_store_n((uint16_t *)(void *)p, v, order);
}

static inline void vq_st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* avail: flags u16, idx u16, ring[size] u16, used_event u16 (§2.7.6). */
static inline uint8_t *vq_avail_flags(const struct virtqueue *vq)
{
	return vq->avail;
}

static inline uint8_t *vq_avail_idx(const struct virtqueue *vq)
{
	return vq->avail + 2;
}

static inline uint8_t *vq_avail_ring(const struct virtqueue *vq, uint16_t i)
{
	return vq->avail + 4 + 2 * (size_t)(i & (vq->size - 1));
}

static inline uint8_t *vq_used_event(const struct virtqueue *vq)
{
	return vq->avail + 4 + 2 * (size_t)vq->size;
}

/* used: flags u16, idx u16, ring[size] {u32 id, u32 len}, avail_event u16 (§2.7.8). */
static inline uint8_t *vq_used_idx(const struct virtqueue *vq)
{
	return vq->used + 2;
}

static inline uint8_t *vq_used_elem(const struct virtqueue *vq, uint16_t i)
{
	return vq->used + 4 + 8 * (size_t)(i & (vq->size - 1));
}

static inline uint8_t *vq_avail_event(const struct virtqueue *vq)
{
	return vq->used + 4 + 8 * (size_t)vq->size;
}

/*
 * virtio 1.2 §2.7.10: the driver asked for an interrupt once the used index
 * passes @event; true if it moved past it on the way from @old_idx to @new_idx.
 */
static bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Append one validated buffer to @c. */
static enum vq_err vq_chain_add(struct vq_chain *c, const struct guest_mem *gm,
				const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint8_t *host;
	uint64_t *total;

	if (d->len == 0)
		return VQ_ERR_ZERO_LEN;
	/* gm_ptr checks addr + len for wrap and that it lies in one RAM region. */
	host = gm_ptr(gm, d->addr, d->len);
	if (!host)
		return VQ_ERR_BUF_ADDR;
	/* §2.7.4.2: device-writable buffers follow all device-readable ones. */
	if (!writable && c->writable_bytes)
		return VQ_ERR_WRITE_BEFORE_READ;
	if (c->nsegs >= VQ_MAX_SEGS)
		return VQ_ERR_TOO_MANY_SEGS;
	total = writable ? &c->writable_bytes : &c->readable_bytes;
	if (__builtin_add_overflow(*total, (uint64_t)d->len, total))
		return VQ_ERR_BUF_ADDR;
	c->segs[c->nsegs].host = host;
	c->segs[c->nsegs].len = d->len;
	c->segs[c->nsegs].writable = writable;
	c->nsegs++;
	return VQ_OK;
}

/*
 * Walk an indirect table (§2.7.5.3) described by the already-copied
 * descriptor @ind. The table's own entry count bounds both next indexes and
 * the walk length.
 */
static enum vq_err vq_walk_indirect(const struct virtqueue *vq, const struct vring_desc *ind,
				    struct vq_chain *c)
{
	const uint8_t *table;
	uint32_t entries, count = 0;
	uint16_t i = 0;
	struct vring_desc d;

	if (!vq->indirect)
		return VQ_ERR_INDIRECT_NOT_NEG;
	if (ind->flags & VRING_DESC_F_NEXT)
		return VQ_ERR_INDIRECT_NEXT; /* §2.7.5.3.1 */
	if (ind->len == 0 || ind->len % sizeof(struct vring_desc))
		return VQ_ERR_INDIRECT_LEN;
	entries = ind->len / sizeof(struct vring_desc);
	if (entries > vq->size)
		return VQ_ERR_INDIRECT_LEN; /* §2.7.5.3.1: no chain longer than the queue */
	table = gm_ptr(vq->gm, ind->addr, ind->len);
	if (!table)
		return VQ_ERR_BUF_ADDR;

	for (;;) {
		enum vq_err err;

		if (++count > entries)
			return VQ_ERR_CHAIN_TOO_LONG;
		/* One copy, then only the copy is looked at: no double fetch. */
		memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return VQ_ERR_INDIRECT_NESTED;
		err = vq_chain_add(c, vq->gm, &d);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		if (d.next >= entries)
			return VQ_ERR_NEXT_RANGE;
		i = d.next;
	}
}

/* Walk the chain starting at the (already bounded) descriptor @head. */
static enum vq_err vq_walk(const struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	uint32_t count = 0;
	uint16_t i = head;
	struct vring_desc d;

	for (;;) {
		enum vq_err err;

		/* Each descriptor visited at most once in a loop-free chain. */
		if (++count > vq->size)
			return VQ_ERR_CHAIN_TOO_LONG;
		memcpy(&d, vq->desc + (size_t)i * sizeof(d), sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_walk_indirect(vq, &d, c);
		err = vq_chain_add(c, vq->gm, &d);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		if (d.next >= vq->size)
			return VQ_ERR_NEXT_RANGE;
		i = d.next;
	}
}

/* Publish avail_event (§2.7.10) then order it before our next read of avail->idx. */
static void vq_publish_avail_event(struct virtqueue *vq)
{
	if (!vq->event_idx)
		return;
	vq_st16(vq_avail_event(vq), vq->last_avail_idx, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

const char *vq_err_str(enum vq_err err)
{
	if ((unsigned int)err >= VQ_ERR_COUNT || !vq_err_names[err])
		return "unknown virtqueue error";
	return vq_err_names[err];
}

void vq_reset(struct virtqueue *vq)
{
	uint16_t max = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->max_size = max;
	/* QueueNum's reset value: the largest size (the driver normally writes it). */
	vq->size = max;
}

enum vq_err vq_activate(struct virtqueue *vq, const struct guest_mem *gm)
{
	uint8_t *desc, *avail, *used;
	uint16_t size = vq->size;

	vq->ready = false;
	vq->broken = false;
	if (size == 0 || (size & (size - 1)) || size > vq->max_size || size > VQ_MAX_SIZE)
		return VQ_ERR_RING_SIZE;
	if ((vq->desc_gpa % VQ_DESC_ALIGN) || (vq->avail_gpa % VQ_AVAIL_ALIGN) ||
	    (vq->used_gpa % VQ_USED_ALIGN))
		return VQ_ERR_RING_ALIGN;
	desc = gm_ptr(gm, vq->desc_gpa, VQ_DESC_BYTES(size));
	avail = gm_ptr(gm, vq->avail_gpa, VQ_AVAIL_BYTES(size));
	used = gm_ptr(gm, vq->used_gpa, VQ_USED_BYTES(size));
	if (!desc || !avail || !used)
		return VQ_ERR_RING_ADDR;

	vq->gm = gm;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->ready = true;
	return VQ_OK;
}

enum vq_err vq_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	uint16_t avail_idx, pending, head;
	enum vq_err err;

	if (!vq->ready || vq->broken)
		return VQ_ERR_NOT_READY;

	/* §2.7.13.3: read the index once; everything below uses this copy. */
	avail_idx = vq_ld16(vq_avail_idx(vq), __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - vq->last_avail_idx);
	if (pending > vq->size) {
		vq->broken = true;
		return VQ_ERR_AVAIL_JUMP;
	}
	if (pending == 0)
		return VQ_EMPTY;
	/* Ring entries are read only after the index that published them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = vq_ld16(vq_avail_ring(vq, vq->last_avail_idx), __ATOMIC_RELAXED);
	if (head >= vq->size) {
		vq->broken = true;
		return VQ_ERR_HEAD_RANGE;
	}

	chain->head = head;
	chain->nsegs = 0;
	chain->readable_bytes = 0;
	chain->writable_bytes = 0;
	err = vq_walk(vq, head, chain);
	vq->last_avail_idx++;
	if (err) {
		/* DESIGN.md §4.2: the chain goes back with length 0; stop the queue. */
		chain->nsegs = 0;
		chain->readable_bytes = 0;
		chain->writable_bytes = 0;
		vq_push(vq, head, 0);
		vq->broken = true;
		return err;
	}
	if (!vq->notify_off)
		vq_publish_avail_event(vq);
	return VQ_OK;
}

void vq_set_notify(struct virtqueue *vq, bool enable)
{
	if (!vq->ready)
		return;
	vq->notify_off = !enable;
	if (vq->event_idx) {
		if (enable) {
			vq_publish_avail_event(vq);
			return;
		}
		/* The driver notifies when a batch crosses avail_event: this one none will. */
		vq_st16(vq_avail_event(vq), (uint16_t)(vq->last_avail_idx - 1), __ATOMIC_RELAXED);
		return;
	}
	/* The device owns used->flags; the driver only reads it. */
	vq_st16(vq->used, enable ? 0 : VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool vq_has_pending(struct virtqueue *vq, uint16_t held)
{
	uint16_t avail;

	if (!vq->ready || vq->broken)
		return false;
	/* Our flags/avail_event store must be visible before we read avail->idx (§2.7.10). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail = vq_ld16(vq_avail_idx(vq), __ATOMIC_ACQUIRE);
	return (uint16_t)(avail - vq->last_avail_idx) > held;
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	if (!n || !vq->ready)
		return;
	vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
	/* §2.7.10: the driver notifies again once it adds past what we will read next. */
	vq_publish_avail_event(vq);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t *elem;

	if (!vq->ready)
		return;
	elem = vq_used_elem(vq, vq->used_idx);
	vq_st32(elem, head);
	vq_st32(elem + 4, len);
	/* §2.7.8.2: the element is visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	vq_st16(vq_used_idx(vq), vq->used_idx, __ATOMIC_RELAXED);
}

bool vq_needs_interrupt(struct virtqueue *vq)
{
	uint16_t old_idx, new_idx;
	bool valid;

	if (!vq->ready)
		return false;
	/* Our used->idx store must be visible before we read the driver's fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(vq_ld16(vq_avail_flags(vq), __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);

	old_idx = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new_idx = vq->used_idx;
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	return vq_need_event(vq_ld16(vq_used_event(vq), __ATOMIC_RELAXED), new_idx, old_idx);
}

static uint64_t vq_chain_copy(const struct vq_chain *c, bool writable, uint64_t off, uint8_t *buf,
			      uint64_t len, bool to_chain)
{
	uint64_t done = 0;
	unsigned int n = c->nsegs < VQ_MAX_SEGS ? c->nsegs : VQ_MAX_SEGS;

	for (unsigned int i = 0; i < n && done < len; i++) {
		const struct vq_seg *s = &c->segs[i];
		uint64_t chunk;

		if (s->writable != writable)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		chunk = s->len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_chain)
			memcpy(s->host + off, buf + done, chunk);
		else
			memcpy(buf + done, s->host + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	return vq_chain_copy(c, false, off, dst, len, false);
}

uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	return vq_chain_copy(c, true, off, (uint8_t *)(uintptr_t)src, len, true);
}
