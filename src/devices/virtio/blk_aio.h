/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk async engine (io_engine "Async"): one io_uring per drive, the
 * in-flight slots of its started requests, and their completion. Owned by
 * struct blk_dev (b->aio); blk.c decides what is started here.
 */
#ifndef KILN_VIRTIO_BLK_AIO_H
#define KILN_VIRTIO_BLK_AIO_H

#include <stdbool.h>

#include "devices/virtio/blk_req.h"
#include "devices/virtio/virtio.h"

struct blk_dev;
struct blk_aio;

/* Ring entries; at least BLK_QUEUE_SIZE so one pass never overfills the SQ. */
#define BLK_AIO_RING_ENTRIES 256u

/* Create @b's ring, eventfd and slots; 0 or a negative errno (logged). */
int blk_aio_open(struct blk_dev *b);
/* Wait out anything in flight (nothing is pushed), then free the engine. */
void blk_aio_close(struct blk_dev *b);

/* The eventfd the ring signals on each completion. */
int blk_aio_fd(const struct blk_aio *a);
unsigned int blk_aio_inflight(const struct blk_aio *a);
/* Is a completion of ours still to come (a request the kernel has taken)? */
bool blk_aio_completion_due(const struct blk_aio *a);

/*
 * Start @r (IN, OUT or FLUSH) for the chain with head @head: the status and
 * used ring are written on completion. A FLUSH is ordered after everything
 * already started (IOSQE_IO_DRAIN). When every slot is busy, first finishes
 * everything in flight. 0, or a negative errno when nothing was started.
 */
int blk_aio_start(struct blk_dev *b, struct vdev *d, uint16_t head, const struct blk_req *r);
/*
 * Hand what was started to the kernel, then complete the requests that are
 * finished: all that are ready, or (@wait) all in flight. With @push false
 * (device reset or broken) the guest sees nothing: no status byte, no used
 * entry. Notifies the driver once if anything was pushed. Requests the kernel
 * refuses to take are retried when a completion of ours comes; when none will
 * (nothing of ours in the kernel) or with @wait, they fail with IOERR and do
 * no I/O, ever: after a call with @wait nothing of the guest's is in flight.
 */
void blk_aio_reap(struct blk_dev *b, struct vdev *d, bool wait, bool push);

#endif
