/* SPDX-License-Identifier: MIT */
/*
 * A virtio device as the virtio-mmio transport sees it: one ops table per
 * device type (blk, rng, ...), and the per-instance state the transport owns.
 */
#ifndef KILN_VIRTIO_H
#define KILN_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

/* virtio 1.2 §2.1 device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128

/* §6 reserved feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK	  19

#define VDEV_MAX_QUEUES 4
#define VDEV_MAX_TIMERS 2 /* rate-limiter pause timers per device (net: rx and tx) */

/* InterruptStatus bits (§4.2.2). */
#define VIRTIO_INT_USED_RING 1
#define VIRTIO_INT_CONFIG    2

struct vdev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	unsigned int num_queues;
	uint16_t queue_max_size;
	/* Device config space: the transport checks off + len <= config_len. */
	uint32_t config_len;
	void (*read_config)(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*write_config)(struct vdev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK with every ready queue validated; non-zero fails the device. */
	int (*activate)(struct vdev *d);
	/* Status written 0: drop in-flight state (queues are reset by the transport). */
	void (*reset)(struct vdev *d);
	/* Main thread, device lock held: the driver notified queue @q. */
	void (*process_queue)(struct vdev *d, unsigned int q);
	/*
	 * Optional, for devices that complete requests later (blk with an async
	 * engine): an fd the main loop watches for readability, or -1 for none,
	 * and the handler it runs then (main thread, device lock held).
	 */
	int (*event_fd)(struct vdev *d);
	/* event_fd is watched edge-triggered: the device reads it until EAGAIN (a tap). */
	bool event_fd_edge;
	void (*process_events)(struct vdev *d);
	/*
	 * Optional, for devices with rate limiters: timer @i's fd (or -1), and
	 * its handler when it fires (main thread, device lock held), which
	 * returns the mask of queues to serve again now that the pause is over.
	 */
	int (*timer_fd)(struct vdev *d, unsigned int i);
	uint32_t (*process_timer)(struct vdev *d, unsigned int i);
};

struct vdev {
	const struct virtio_dev_ops *ops;
	void *priv;	      /* the device type's own state (struct blk_dev, ...) */
	uint64_t features;    /* offered to the driver; VERSION_1 always set */
	pthread_mutex_t lock; /* vCPU register access vs main-thread queue work */
	const struct guest_mem *gm;
	/* Transport registers (§4.2.2). */
	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtqueue vqs[VDEV_MAX_QUEUES];
	/* Wiring. */
	uint64_t mmio_base;
	unsigned int gsi;
	int irqfd;			/* eventfd bound to gsi with KVM_IRQFD; -1 in tests */
	int queue_evt[VDEV_MAX_QUEUES]; /* ioeventfds on QueueNotify; -1 in tests */
	struct log_ratelimit rl;	/* guest-triggered messages */
};

/*
 * Handle one chain popped from a device's queue: returns the used length and
 * sets *needs_reset when the chain is unusable (the device then stops).
 */
typedef uint32_t (*vdev_chain_fn)(struct vdev *d, const struct vq_chain *c, bool *needs_reset);

/*
 * A vdev_chain_fn's return for "started, not finished": the loop pushes
 * nothing for the chain, and the device pushes it itself when the I/O
 * completes. Real used lengths stay below it.
 */
#define VDEV_USED_DEFERRED UINT32_MAX
/*
 * A vdev_chain_fn's return for "not now" (a rate limiter paused the device):
 * the chain goes back on the avail ring untouched and the pass ends without
 * a re-kick; the device serves the queue again when its pause timer fires.
 */
#define VDEV_USED_RETRY (UINT32_MAX - 1)
/* The largest used length a device reports (real lengths saturate here). */
#define VDEV_USED_MAX (UINT32_MAX - 2)

/*
 * The one pop/handle/push loop every device uses (device lock held). At most
 * one queue's worth of chains per call, so a guest that keeps refilling its
 * ring cannot hold the main loop; if work remains, the queue's eventfd is
 * kicked to come back after the loop has served everything else. Returns the
 * walker's refusal that put the device in NEEDS_RESET, or VQ_OK (a reset the
 * handler asked for is the handler's to count). @scratch holds each chain.
 */
enum vq_err vdev_drain_queue(struct vdev *d, unsigned int q, struct vq_chain *scratch,
			     vdev_chain_fn fn);

/* The device writes @q's used ring; raise the interrupt if the driver wants one. */
void vdev_notify_used(struct vdev *d, unsigned int q);
/* Make the main loop run a pass over queue @q again soon (its notify eventfd). */
void vdev_kick_queue(struct vdev *d, unsigned int q);
/* Put the device in DEVICE_NEEDS_RESET and tell the driver (config interrupt). */
void vdev_set_needs_reset(struct vdev *d);
bool vdev_has_feature(const struct vdev *d, unsigned int bit);

#endif
