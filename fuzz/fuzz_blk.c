/* SPDX-License-Identifier: MIT */
/*
 * Fuzz virtio-blk end to end as a hostile driver would: the input is the
 * guest's RAM (ring, descriptors, request headers, range lists, data) and the
 * device runs its real queue processing (walker, blk_req_parse, execution)
 * against an in-memory backing file. The promise checked is that nothing is
 * read or written outside guest RAM or the device's own state (ASan, UBSan),
 * and that every chain taken from the avail ring is completed exactly once.
 * The used ring itself is guest RAM: a request may legally overwrite it.
 *
 * With flag 32 the same input goes to a second drive with io_engine Async:
 * requests are started on its io_uring and completed from the ring (the
 * device's event handler, then a drain that waits for the rest), so the
 * request/complete path, slots, drained FLUSH and the wait-then-sync DISCARD
 * run on hostile chains. Flag 64 then resets the device (Status 0) right after
 * the first pass, with whatever is still in flight: afterwards nothing may be
 * in flight. Promise: every chain taken is completed exactly once, unless the
 * chain stream broke the queue (NEEDS_RESET: completions are then reaped
 * silently, so at most once) or the device was reset.
 *
 * Input: 4-byte header | guest RAM image from GPA 0 (at most 64 KiB).
 *   header: u8 flags (1 event_idx, 2 indirect, 4 read-only, 8 cache=unsafe,
 *           16 notify twice, 32 Async engine, 64 reset after the first pass),
 *           u8 queue size log2 (masked to 0..4), u8 config offset, u8 config width
 *   RAM:    desc table at 0x0, avail ring at 0x100, used ring at 0x200.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_aio.h"
#include "devices/virtio/mmio.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define FUZZ_RAM_BYTES	  0x10000ULL
#define FUZZ_DISK_BYTES	  0x10000ULL /* 128 sectors */
#define FUZZ_HEADER_BYTES 4
#define FUZZ_DESC_GPA	  0x0
#define FUZZ_AVAIL_GPA	  0x100
#define FUZZ_USED_GPA	  0x200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_F_ASYNC 32
#define FUZZ_F_RESET 64

/* Harness state, set up once per process: the backing files and the drives (Sync, Async). */
static struct {
	bool ready;
	uint8_t *ram;
	struct guest_mem gm;
	struct blk_dev *blk[2];
	struct vdev *dev;
} fz;

/* A drive over its own in-memory file; @async selects io_engine Async. */
static struct blk_dev *fuzz_drive(bool async)
{
	struct blk_config cfg = {.id = "fuzz-disk", .io_async = async};
	struct blk_dev *b = calloc(1, sizeof(*b));
	char path[64];
	int memfd = memfd_create("kiln-fuzz-blk", MFD_CLOEXEC);

	if (!b || memfd < 0 || ftruncate(memfd, (off_t)FUZZ_DISK_BYTES) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	cfg.path = path;
	/* blk_open reopens the memfd through /proc: its own description, its own lock. */
	if (blk_open(b, &cfg) != 0)
		abort();
	return b;
}

static void fuzz_setup(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (devnull < 0)
		abort();
	/* Every log path runs (formatting included); the lines go nowhere. */
	log_setup(devnull, LOG_DEBUG, "fuzz_blk");
	fz.blk[0] = fuzz_drive(false);
	fz.blk[1] = fuzz_drive(true);
	fz.dev = calloc(1, sizeof(*fz.dev));
	fz.ram = calloc(1, FUZZ_RAM_BYTES);
	if (!fz.dev || !fz.ram)
		abort();
	if (gm_init_from_buffer(&fz.gm, fz.ram, FUZZ_RAM_BYTES) != 0)
		abort();
	fz.ready = true;
}

/*
 * Async drive: complete what the passes started, as the main loop would (the
 * ring's eventfd handler), then wait for the rest. Nothing may stay in flight.
 */
static void fuzz_complete_async(struct blk_dev *b, bool reset)
{
	uint8_t zero[4] = {0};

	if (reset) {
		virtio_mmio_bus_ops.write(fz.dev, VIRTIO_MMIO_STATUS, zero, sizeof(zero));
	} else {
		vdev_process_events(fz.dev);
		pthread_mutex_lock(&fz.dev->lock);
		blk_drain_inflight(fz.dev);
		pthread_mutex_unlock(&fz.dev->lock);
	}
	if (blk_aio_inflight(b->aio))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue *vq;
	struct blk_dev *blk;
	uint8_t flags, cfg[8];
	uint32_t cfg_off, cfg_len;
	uint64_t feat;

	if (!fz.ready)
		fuzz_setup();
	if (size < FUZZ_HEADER_BYTES)
		return 0;
	flags = data[0];
	memset(fz.ram, 0, FUZZ_RAM_BYTES);
	size -= FUZZ_HEADER_BYTES;
	memcpy(fz.ram, data + FUZZ_HEADER_BYTES, size < FUZZ_RAM_BYTES ? size : FUZZ_RAM_BYTES);

	blk = fz.blk[(flags & FUZZ_F_ASYNC) != 0];
	blk->lim.read_only = flags & 4;
	blk->cache_unsafe = flags & 8;
	vdev_init(fz.dev, &blk_virtio_ops, blk, blk_features(blk), &fz.gm);
	feat = fz.dev->features;
	if (!(flags & 1))
		feat &= ~(1ULL << VIRTIO_F_EVENT_IDX);
	if (!(flags & 2))
		feat &= ~(1ULL << VIRTIO_F_INDIRECT_DESC);
	fz.dev->drv_features = feat;
	vq = &fz.dev->vqs[0];
	vq->size = (uint16_t)(1u << (data[1] % 5));
	vq->desc_gpa = FUZZ_DESC_GPA;
	vq->avail_gpa = FUZZ_AVAIL_GPA;
	vq->used_gpa = FUZZ_USED_GPA;
	vq->event_idx = flags & 1;
	vq->indirect = flags & 2;
	if (vq_activate(vq, &fz.gm) != VQ_OK)
		abort(); /* the fixed geometry is valid */
	fz.dev->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

	vdev_process_queue(fz.dev, 0);
	if ((flags & 16) && !(blk->aio && (flags & FUZZ_F_RESET)))
		vdev_process_queue(fz.dev, 0); /* nothing new, or stopped by NEEDS_RESET */
	if (blk->aio)
		fuzz_complete_async(blk, flags & FUZZ_F_RESET);
	/* Every chain taken off the avail ring was completed exactly once (host-side counters). */
	if (blk->aio && ((flags & FUZZ_F_RESET) || (fz.dev->status & VIRTIO_STATUS_NEEDS_RESET))) {
		if (vq->ready && vq->used_idx > vq->last_avail_idx)
			abort();
	} else if (vq->used_idx != vq->last_avail_idx) {
		abort();
	}

	/* Config space through the ops, as a transport that forgot its bounds would. */
	cfg_off = data[2];
	cfg_len = 1u << (data[3] % 4);
	blk_virtio_ops.read_config(fz.dev, cfg_off, cfg, cfg_len);

	vdev_destroy(fz.dev);
	return 0;
}
