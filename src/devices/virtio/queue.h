/* SPDX-License-Identifier: MIT */
/*
 * Split-virtqueue walker (virtio 1.2 §2.7): the second wall of DESIGN.md §4.
 * Ring geometry is validated once when the driver sets QueueReady; every
 * descriptor is copied out of guest memory before it is checked; devices get
 * a bounded array of segments and never see a raw descriptor.
 */
#ifndef KILN_VIRTIO_QUEUE_H
#define KILN_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define VQ_MAX_SIZE 1024 /* largest queue any kiln device offers */
#define VQ_MAX_SEGS 256	 /* segments handed to a device per chain */

/* virtio 1.2 §2.7.5 descriptor flags. */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4
/* §2.7.6, §2.7.8: suppress notifications / interrupts. */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

/* One buffer of a chain, already translated through gm_ptr(). */
struct vq_seg {
	uint8_t *host;
	uint32_t len;
	bool writable;
};

struct vq_chain {
	uint16_t head; /* descriptor index to return on the used ring */
	unsigned int nsegs;
	uint64_t readable_bytes;
	uint64_t writable_bytes;
	struct vq_seg segs[VQ_MAX_SEGS];
};

/* Why a chain or a ring was refused: one value per rule. */
enum vq_err {
	VQ_OK = 0,
	VQ_EMPTY,		  /* nothing new on the avail ring */
	VQ_ERR_NOT_READY,	  /* queue not activated, or broken */
	VQ_ERR_AVAIL_JUMP,	  /* avail->idx moved by more than the queue size */
	VQ_ERR_HEAD_RANGE,	  /* head index >= queue size */
	VQ_ERR_NEXT_RANGE,	  /* next index >= table size */
	VQ_ERR_CHAIN_TOO_LONG,	  /* more descriptors than the table holds: a loop */
	VQ_ERR_TOO_MANY_SEGS,	  /* more than VQ_MAX_SEGS buffers */
	VQ_ERR_BUF_ADDR,	  /* buffer not wholly inside one RAM region, or wraps */
	VQ_ERR_ZERO_LEN,	  /* zero-length buffer */
	VQ_ERR_INDIRECT_NOT_NEG,  /* INDIRECT without VIRTIO_F_INDIRECT_DESC */
	VQ_ERR_INDIRECT_NESTED,	  /* INDIRECT inside an indirect table */
	VQ_ERR_INDIRECT_LEN,	  /* table length 0, not a multiple of 16, or too big */
	VQ_ERR_INDIRECT_NEXT,	  /* INDIRECT combined with NEXT (§2.7.5.3.1) */
	VQ_ERR_WRITE_BEFORE_READ, /* readable buffer after a writable one (§2.7.4.2) */
	VQ_ERR_RING_SIZE,	  /* activation: size 0, not a power of 2, or > max */
	VQ_ERR_RING_ALIGN,	  /* activation: ring address misaligned (§2.7) */
	VQ_ERR_RING_ADDR,	  /* activation: a ring not wholly inside one RAM region */
	VQ_ERR_COUNT
};

const char *vq_err_str(enum vq_err err);

struct virtqueue {
	/* Set by the transport before activation (driver-written registers). */
	uint16_t max_size;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	/* Walker state, valid once ready. */
	bool ready;
	bool broken;	 /* a malformed chain was seen; device needs reset */
	bool notify_off; /* vq_set_notify(false): pops leave avail_event alone */
	const struct guest_mem *gm;
	uint8_t *desc; /* host pointers to the rings, validated at activation */
	uint8_t *avail;
	uint8_t *used;
	uint16_t last_avail_idx;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
};

/* Validate geometry and map the rings; VQ_OK or a VQ_ERR_RING_* value. */
enum vq_err vq_activate(struct virtqueue *vq, const struct guest_mem *gm);
void vq_reset(struct virtqueue *vq);

/*
 * Take the next available chain. VQ_OK fills @chain; VQ_EMPTY when nothing is
 * pending; any error marks the queue broken and, when a head was read, returns
 * that head on the used ring with length 0 (the caller then asks for a reset).
 */
enum vq_err vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/*
 * Give back the last @n chains popped and not pushed (a device that found it
 * cannot finish with them yet): they are popped again, unchanged, next time.
 */
void vq_unpop(struct virtqueue *vq, uint16_t n);

/*
 * §2.7.10: tell the driver whether it need notify. Off: without EVENT_IDX,
 * VRING_USED_F_NO_NOTIFY; with it, avail_event is left one behind the next
 * entry (so no batch the driver adds crosses it) and pops stop republishing
 * it. On: avail_event asks for the next entry after the last one taken, as
 * every pop then republishes. The caller checks vq_has_pending() after
 * switching on, for a chain that raced the switch.
 */
void vq_set_notify(struct virtqueue *vq, bool enable);
/*
 * Has the driver made more than @held chains available beyond the last one
 * popped? (@held: chains the device gave back with vq_unpop() and is waiting
 * to be able to use.) Full fence first, so a flag just switched is visible.
 */
bool vq_has_pending(struct virtqueue *vq, uint16_t held);

/* Put @head on the used ring with @len bytes written (release ordering). */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* After pushes: does the driver want an interrupt? (§2.7.7, §2.7.10 event idx) */
bool vq_needs_interrupt(struct virtqueue *vq);

/* Copy helpers over a chain's segments for devices that parse headers. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len);
uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len);

#endif
