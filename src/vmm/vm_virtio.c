/* SPDX-License-Identifier: MIT */
#include "vmm/vm_virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/boot/boot.h"
#include "devices/virtio/mmio.h"
#include "vmm/layout.h"
#include "vmm/log.h"

struct vdev *vm_virtio_add(struct vm_virtio *vv, const struct virtio_dev_ops *ops, void *priv,
			   uint64_t features, const struct guest_mem *gm)
{
	struct vm_virtio_slot *s;
	unsigned int n = vv->nr_slots;

	if (n == VM_MAX_VIRTIO_DEVS)
		return NULL;
	s = &vv->slots[n];
	memset(s, 0, sizeof(*s));
	vdev_init(&s->dev, ops, priv, features, gm);
	s->dev.mmio_base = VIRTIO_MMIO_BASE_GPA + n * VIRTIO_MMIO_WINDOW_BYTES;
	s->dev.gsi = VIRTIO_MMIO_FIRST_GSI + n;
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++)
		s->notify[q].fd = -1;
	s->events.fd = -1;
	vv->nr_slots++;
	return &s->dev;
}

int vm_virtio_cmdline(const struct vm_virtio *vv, char *cmdline, size_t cap)
{
	char entry[64];

	for (unsigned int i = 0; i < vv->nr_slots; i++) {
		const struct vdev *d = &vv->slots[i].dev;

		/* Linux virtio_mmio.c: device=<size>@<baseaddr>:<irq> */
		snprintf(entry, sizeof(entry), "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)d->mmio_base, d->gsi);
		if (cmdline_append(cmdline, cap, entry))
			return -ENOSPC;
	}
	return 0;
}

static int vm_virtio_irqfd(struct vdev *d, struct kvm *kvm)
{
	struct kvm_irqfd irqfd = {.gsi = d->gsi};

	d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irqfd < 0)
		return -errno;
	irqfd.fd = (uint32_t)d->irqfd;
	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int err = -errno;

		log_err("KVM_IRQFD for %s on GSI %u: %s", d->ops->name, d->gsi, strerror(errno));
		return err;
	}
	return 0;
}

/* QueueNotify writes of value q are absorbed in KVM and signal queue_evt[q]. */
static int vm_virtio_ioeventfd(struct vdev *d, struct kvm *kvm, unsigned int q)
{
	struct kvm_ioeventfd io = {
	    .datamatch = q,
	    .addr = d->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY,
	    .len = 4,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	d->queue_evt[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->queue_evt[q] < 0)
		return -errno;
	io.fd = d->queue_evt[q];
	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		int err = -errno;

		log_err("KVM_IOEVENTFD for %s queue %u: %s", d->ops->name, q, strerror(errno));
		return err;
	}
	return 0;
}

int vm_virtio_wire(struct vm_virtio *vv, struct kvm *kvm, struct bus *mmio)
{
	for (unsigned int i = 0; i < vv->nr_slots; i++) {
		struct vdev *d = &vv->slots[i].dev;
		int err = bus_register(mmio, d->mmio_base, VIRTIO_MMIO_WINDOW_BYTES,
				       &virtio_mmio_bus_ops, d, d->ops->name);

		if (!err)
			err = vm_virtio_irqfd(d, kvm);
		for (unsigned int q = 0; !err && q < d->ops->num_queues; q++)
			err = vm_virtio_ioeventfd(d, kvm, q);
		if (err)
			return err;
	}
	return 0;
}

static void vm_virtio_on_notify(struct evloop_handler *h, uint32_t events)
{
	struct vm_virtio_slot *s = h->opaque;
	unsigned int q = (unsigned int)(h - s->notify);
	uint64_t count;

	(void)events;
	/* Notifications coalesce: one read clears them all, then one pass. */
	if (read(h->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("%s queue %u: reading notify eventfd: %s", s->dev.ops->name, q,
			 strerror(errno));
	vdev_process_queue(&s->dev, q);
}

/* The device's own completion source (an async blk engine's ring eventfd). */
static void vm_virtio_on_events(struct evloop_handler *h, uint32_t events)
{
	struct vm_virtio_slot *s = h->opaque;

	(void)events;
	vdev_process_events(&s->dev);
}

/* A rate limiter's pause is over: the device serves its queues again. */
static void vm_virtio_on_timer(struct evloop_handler *h, uint32_t events)
{
	struct vm_virtio_slot *s = h->opaque;

	(void)events;
	vdev_process_timer(&s->dev, (unsigned int)(h - s->timers));
}

static int vm_virtio_watch_timers(struct vm_virtio_slot *s, struct evloop *loop)
{
	for (unsigned int i = 0; s->dev.ops->timer_fd && i < VDEV_MAX_TIMERS; i++) {
		int fd = s->dev.ops->timer_fd(&s->dev, i), err;

		if (fd < 0)
			continue;
		s->timers[i] = (struct evloop_handler){fd, vm_virtio_on_timer, s};
		err = evloop_add(loop, &s->timers[i], EPOLLIN);
		if (err)
			return err;
	}
	return 0;
}

int vm_virtio_watch(struct vm_virtio *vv, struct evloop *loop)
{
	for (unsigned int i = 0; i < vv->nr_slots; i++) {
		struct vm_virtio_slot *s = &vv->slots[i];
		int fd = s->dev.ops->event_fd ? s->dev.ops->event_fd(&s->dev) : -1;
		int err = vm_virtio_watch_timers(s, loop);

		if (err)
			return err;
		if (fd >= 0) {

			s->events = (struct evloop_handler){fd, vm_virtio_on_events, s};
			err = evloop_add(loop, &s->events,
					 EPOLLIN | (s->dev.ops->event_fd_edge ? EPOLLET : 0));
			if (err)
				return err;
		}

		for (unsigned int q = 0; q < s->dev.ops->num_queues; q++) {
			s->notify[q] =
			    (struct evloop_handler){s->dev.queue_evt[q], vm_virtio_on_notify, s};
			err = evloop_add(loop, &s->notify[q], EPOLLIN);
			if (err)
				return err;
		}
	}
	return 0;
}

void vm_virtio_destroy(struct vm_virtio *vv)
{
	for (unsigned int i = 0; i < vv->nr_slots; i++) {
		struct vdev *d = &vv->slots[i].dev;

		for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++)
			if (d->queue_evt[q] >= 0)
				close(d->queue_evt[q]);
		if (d->irqfd >= 0)
			close(d->irqfd);
		vdev_destroy(d);
	}
	vv->nr_slots = 0;
}
