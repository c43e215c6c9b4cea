/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (modern only; virtio 1.2 §4.2.2). Register
 * accesses arrive from vCPU threads through the MMIO bus; the transport
 * enforces the register state machine and bounds every config access.
 */
#ifndef KILN_VIRTIO_MMIO_H
#define KILN_VIRTIO_MMIO_H

#include "devices/virtio/virtio.h"
#include "vmm/bus.h"

#define VIRTIO_MMIO_MAGIC     0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION   2
#define VIRTIO_MMIO_VENDOR_ID 0x4e4c494b /* "KILN" */

/* Register offsets (§4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID_REG	0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

/*
 * Initialise @d for device type @ops with @features offered (VERSION_1 is
 * added) over guest memory @gm. irqfd and queue eventfds start at -1.
 */
void vdev_init(struct vdev *d, const struct virtio_dev_ops *ops, void *priv, uint64_t features,
	       const struct guest_mem *gm);
void vdev_destroy(struct vdev *d);

/*
 * Main thread: the ioeventfd of queue @q fired (or, with no ioeventfd, the
 * transport saw a QueueNotify write). Takes the lock and runs process_queue
 * if the device is live.
 */
void vdev_process_queue(struct vdev *d, unsigned int q);
/* Main thread: the device's event_fd is readable; lock and run process_events. */
void vdev_process_events(struct vdev *d);
/* Main thread: rate-limiter timer @i fired; run process_timer, then serve the queues it names. */
void vdev_process_timer(struct vdev *d, unsigned int i);

/* The MMIO window ops; opaque is the struct vdev. */
extern const struct bus_dev_ops virtio_mmio_bus_ops;

#endif
