/* SPDX-License-Identifier: MIT */
/*
 * Placing virtio-mmio devices in a VM: one 4 KiB MMIO window and one GSI per
 * device, the kernel command-line entry that announces it, an irqfd for its
 * interrupt and one ioeventfd per queue, and the main-loop handlers that
 * turn a queue notification into vdev_process_queue().
 */
#ifndef KILN_VM_VIRTIO_H
#define KILN_VM_VIRTIO_H

#include <stddef.h>

#include "devices/virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/evloop.h"
#include "vmm/kvm.h"

/* GSIs 5..23 of the IOAPIC's 24 pins. */
#define VM_MAX_VIRTIO_DEVS 19

struct vm_virtio_slot {
	struct vdev dev;
	struct evloop_handler notify[VDEV_MAX_QUEUES]; /* one per queue eventfd */
	struct evloop_handler events;		       /* the device's event_fd, if it has one */
	struct evloop_handler timers[VDEV_MAX_TIMERS]; /* rate-limiter pause timers */
};

struct vm_virtio {
	struct vm_virtio_slot slots[VM_MAX_VIRTIO_DEVS];
	unsigned int nr_slots;
};

/*
 * Claim the next window and GSI for a device and initialise its transport.
 * Returns the slot's vdev, or NULL when all slots are taken.
 */
struct vdev *vm_virtio_add(struct vm_virtio *vv, const struct virtio_dev_ops *ops, void *priv,
			   uint64_t features, const struct guest_mem *gm);

/* Append "virtio_mmio.device=4K@0x<base>:<gsi>" for every device; -ENOSPC. */
int vm_virtio_cmdline(const struct vm_virtio *vv, char *cmdline, size_t cap);

/* Register windows on @mmio, create irqfds and per-queue ioeventfds in KVM. */
int vm_virtio_wire(struct vm_virtio *vv, struct kvm *kvm, struct bus *mmio);

/* Watch every queue eventfd, and each device's event_fd, from the main loop. */
int vm_virtio_watch(struct vm_virtio *vv, struct evloop *loop);

void vm_virtio_destroy(struct vm_virtio *vv);

#endif
