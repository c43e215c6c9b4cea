/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register state
 * machine of docs/VIRTIO.md. Register accesses come from vCPU threads, queue
 * work from the main thread; d->lock orders the two. Every value the guest
 * writes is bounded here before a device or the queue walker sees it.
 */
#include "devices/virtio/mmio.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Guest-triggered log lines per second per device. */
#define VDEV_LOG_BURST 5

/* Status bits a driver may set (§2.1); NEEDS_RESET is the device's to set. */
#define VDEV_DRIVER_STATUS_BITS                                                                    \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

static unsigned int vdev_num_queues(const struct vdev *d)
{
	return d->ops->num_queues < VDEV_MAX_QUEUES ? d->ops->num_queues : VDEV_MAX_QUEUES;
}

/* The queue QueueSel points at, or NULL when it is out of range. */
static struct virtqueue *vdev_sel_queue(struct vdev *d)
{
	return d->queue_sel < vdev_num_queues(d) ? &d->vqs[d->queue_sel] : NULL;
}

static uint64_t vdev_negotiated(const struct vdev *d)
{
	return d->features & d->drv_features;
}

/* Eventfds take an 8-byte counter increment; a full counter only coalesces. */
static void vdev_kick(int fd)
{
	uint64_t one = 1;
	ssize_t r;

	if (fd < 0)
		return;
	do {
		r = write(fd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
}

static void vdev_reset(struct vdev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++)
		vq_reset(&d->vqs[q]);
	d->status = 0;
	d->dev_features_sel = 0;
	d->drv_features_sel = 0;
	d->drv_features = 0;
	d->queue_sel = 0;
	d->interrupt_status = 0;
}

/* §2.2.2: only features we offered, and always VERSION_1 (modern only). */
static bool vdev_features_acceptable(const struct vdev *d)
{
	if (d->drv_features & ~d->features)
		return false;
	return d->drv_features & (1ULL << VIRTIO_F_VERSION_1);
}

static void vdev_write_status(struct vdev *d, uint32_t val)
{
	uint32_t add;

	if (val == 0) {
		vdev_reset(d);
		return;
	}
	/* Bits are only ever added; removals other than by a reset are ignored. */
	add = val & VDEV_DRIVER_STATUS_BITS & ~d->status;
	if (add & VIRTIO_STATUS_FEATURES_OK) {
		if (!(d->status & VIRTIO_STATUS_DRIVER) || !vdev_features_acceptable(d)) {
			/* §3.1.1: the driver re-reads status and sees FEATURES_OK clear. */
			add &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
			if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
				log_warn("virtio %s: features 0x%llx refused", d->ops->name,
					 (unsigned long long)d->drv_features);
		}
	}
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !((d->status | add) & VIRTIO_STATUS_FEATURES_OK)) {
		/* docs/VIRTIO.md: DRIVER_OK before FEATURES_OK leaves the device inactive. */
		add &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
		if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
			log_warn("virtio %s: DRIVER_OK before FEATURES_OK", d->ops->name);
	}
	d->status |= add;
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET) &&
	    d->ops->activate && d->ops->activate(d) != 0) {
		if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
			log_warn("virtio %s: activation failed", d->ops->name);
		vdev_set_needs_reset(d);
	}
}

static void vdev_queue_ready(struct vdev *d, struct virtqueue *vq, uint32_t val)
{
	uint64_t neg = vdev_negotiated(d);
	enum vq_err err;

	if (val == 0) {
		vq_reset(vq);
		return;
	}
	if (vq->ready)
		return; /* already live: its geometry was fixed when it went ready */
	if (!(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* The ring's features are not known until FEATURES_OK (§3.1.1 step 7). */
		if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
			log_warn("virtio %s: QueueReady before FEATURES_OK", d->ops->name);
		return;
	}
	vq->event_idx = neg & (1ULL << VIRTIO_F_EVENT_IDX);
	vq->indirect = neg & (1ULL << VIRTIO_F_INDIRECT_DESC);
	err = vq_activate(vq, d->gm);
	if (err) {
		if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
			log_warn("virtio %s: queue %u: %s (desc 0x%llx avail 0x%llx used 0x%llx "
				 "size %u)",
				 d->ops->name, d->queue_sel, vq_err_str(err),
				 (unsigned long long)vq->desc_gpa,
				 (unsigned long long)vq->avail_gpa,
				 (unsigned long long)vq->used_gpa, vq->size);
		vdev_set_needs_reset(d);
	}
}

static void vdev_set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

/*
 * Queue registers are frozen after DRIVER_OK (no VIRTIO_F_RING_RESET) and,
 * except QueueReady (writing 0 resets the queue), while the queue is ready.
 */
static void vdev_write_queue_reg(struct vdev *d, uint64_t off, uint32_t val)
{
	struct virtqueue *vq = vdev_sel_queue(d);

	if (!vq || (d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		vdev_queue_ready(d, vq, val);
		return;
	}
	if (vq->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (val == 0 || (val & (val - 1)) || val > vq->max_size)
			return;
		vq->size = (uint16_t)val;
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vdev_set_half(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		vdev_set_half(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vdev_set_half(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		return;
	}
}

static uint32_t vdev_read_reg(struct vdev *d, uint64_t off)
{
	struct virtqueue *vq;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID_REG:
		return VIRTIO_MMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_features_sel > 1)
			return 0;
		return (uint32_t)(d->features >> (32 * d->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		vq = vdev_sel_queue(d);
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		vq = vdev_sel_queue(d);
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	default:
		return 0; /* undefined or write-only */
	}
}

static void vdev_write_reg(struct vdev *d, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* §3.1.1: features are written between DRIVER and FEATURES_OK only. */
		if (!(d->status & VIRTIO_STATUS_DRIVER) ||
		    (d->status & VIRTIO_STATUS_FEATURES_OK) || d->drv_features_sel > 1)
			return;
		vdev_set_half(&d->drv_features, d->drv_features_sel == 1, val);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_features_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = val;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		vdev_write_queue_reg(d, off, val);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < vdev_num_queues(d)) {
			/* Normally the KVM ioeventfd catches this write before we see it. */
			vdev_kick(d->queue_evt[val]);
		} else if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST)) {
			log_warn("virtio %s: notify of nonexistent queue %u", d->ops->name, val);
		}
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->interrupt_status &= ~val;
		return;
	case VIRTIO_MMIO_STATUS:
		vdev_write_status(d, val);
		return;
	default:
		return; /* read-only or undefined: ignored */
	}
}

/* Config space (§4.2.2 offset 0x100+): aligned 1/2/4-byte accesses inside config_len. */
static bool vdev_config_access_ok(const struct vdev *d, uint64_t off, uint32_t len)
{
	uint64_t end;

	if (len != 1 && len != 2 && len != 4)
		return false;
	if (off % len)
		return false;
	if (__builtin_add_overflow(off, (uint64_t)len, &end))
		return false;
	return end <= d->ops->config_len;
}

static bool vdev_reg_access_ok(struct vdev *d, uint64_t off, uint32_t len)
{
	if (len == 4 && off % 4 == 0)
		return true;
	if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
		log_warn("virtio %s: %u-byte register access at 0x%llx ignored", d->ops->name, len,
			 (unsigned long long)off);
	return false;
}

static void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vdev *d = opaque;
	uint32_t val;

	if (len == 0 || len > 8)
		return;
	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if (vdev_config_access_ok(d, coff, len) && d->ops->read_config)
			d->ops->read_config(d, (uint32_t)coff, data, len);
	} else if (vdev_reg_access_ok(d, off, len)) {
		val = vdev_read_reg(d, off);
		memcpy(data, &val, sizeof(val)); /* little-endian host (x86-64) */
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vdev *d = opaque;
	uint32_t val;

	if (len == 0 || len > 8)
		return;
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if (vdev_config_access_ok(d, coff, len) && d->ops->write_config)
			d->ops->write_config(d, (uint32_t)coff, data, len);
	} else if (vdev_reg_access_ok(d, off, len)) {
		memcpy(&val, data, sizeof(val));
		vdev_write_reg(d, off, val);
	}
	pthread_mutex_unlock(&d->lock);
}

const struct bus_dev_ops virtio_mmio_bus_ops = {
    .read = virtio_mmio_read,
    .write = virtio_mmio_write,
};

void vdev_init(struct vdev *d, const struct virtio_dev_ops *ops, void *priv, uint64_t features,
	       const struct guest_mem *gm)
{
	uint16_t max = ops->queue_max_size;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->features = features | (1ULL << VIRTIO_F_VERSION_1);
	d->gm = gm;
	pthread_mutex_init(&d->lock, NULL);
	d->irqfd = -1;
	if (max > VQ_MAX_SIZE)
		max = VQ_MAX_SIZE;
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		d->queue_evt[q] = -1;
		/* Queues the device does not have stay at size 0: never activatable. */
		d->vqs[q].max_size = q < vdev_num_queues(d) ? max : 0;
		vq_reset(&d->vqs[q]);
	}
}

/* The eventfds belong to whoever created them (vm.c); only the lock is ours. */
void vdev_destroy(struct vdev *d)
{
	pthread_mutex_destroy(&d->lock);
}

void vdev_process_queue(struct vdev *d, unsigned int q)
{
	struct virtqueue *vq;

	pthread_mutex_lock(&d->lock);
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || (d->status & VIRTIO_STATUS_NEEDS_RESET) ||
	    q >= vdev_num_queues(d))
		goto out;
	vq = &d->vqs[q];
	if (!vq->ready || vq->broken || !d->ops->process_queue)
		goto out;
	d->ops->process_queue(d, q);
	/*
	 * DESIGN.md §4.2: a malformed chain puts the device in NEEDS_RESET. The
	 * device should have said so already; make sure of it either way.
	 */
	if (vq->broken && !(d->status & VIRTIO_STATUS_NEEDS_RESET)) {
		if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
			log_warn("virtio %s: queue %u broken by the driver", d->ops->name, q);
		vdev_notify_used(d, q);
		vdev_set_needs_reset(d);
	}
out:
	pthread_mutex_unlock(&d->lock);
}

void vdev_process_events(struct vdev *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->ops->process_events)
		d->ops->process_events(d);
	pthread_mutex_unlock(&d->lock);
}

void vdev_process_timer(struct vdev *d, unsigned int i)
{
	uint32_t resume = 0;

	pthread_mutex_lock(&d->lock);
	if (d->ops->process_timer)
		resume = d->ops->process_timer(d, i);
	pthread_mutex_unlock(&d->lock);
	for (unsigned int q = 0; q < vdev_num_queues(d); q++)
		if (resume & (1u << q))
			vdev_process_queue(d, q);
}

void vdev_notify_used(struct vdev *d, unsigned int q)
{
	if (q >= vdev_num_queues(d) || !vq_needs_interrupt(&d->vqs[q]))
		return;
	d->interrupt_status |= VIRTIO_INT_USED_RING;
	vdev_kick(d->irqfd);
}

void vdev_kick_queue(struct vdev *d, unsigned int q)
{
	if (q < vdev_num_queues(d))
		vdev_kick(d->queue_evt[q]);
}

void vdev_set_needs_reset(struct vdev *d)
{
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	d->interrupt_status |= VIRTIO_INT_CONFIG;
	d->config_generation++;
	vdev_kick(d->irqfd);
}

bool vdev_has_feature(const struct vdev *d, unsigned int bit)
{
	if (bit >= 64)
		return false;
	return vdev_negotiated(d) & (1ULL << bit);
}

enum vq_err vdev_drain_queue(struct vdev *d, unsigned int q, struct vq_chain *scratch,
			     vdev_chain_fn fn)
{
	struct virtqueue *vq = &d->vqs[q];
	bool pushed = false, reset = false;
	unsigned int budget = vq->size;
	enum vq_err refused = VQ_OK;

	while (!reset) {
		enum vq_err err;
		uint32_t len;

		if (budget-- == 0) {
			vdev_kick_queue(d, q);
			break;
		}
		err = vq_pop(vq, scratch);
		if (err == VQ_EMPTY)
			break;
		if (err != VQ_OK) {
			/* The walker already returned the head (if any) with length 0. */
			if (log_ratelimit_allow(&d->rl, VDEV_LOG_BURST))
				log_warn("%s: queue %u: %s", d->ops->name, q, vq_err_str(err));
			pushed = reset = true;
			refused = err;
			break;
		}
		len = fn(d, scratch, &reset);
		if (len == VDEV_USED_RETRY && !reset) {
			vq_unpop(vq, 1); /* docs/VIRTIO.md: a paused device takes it again later */
			break;
		}
		if (len == VDEV_USED_DEFERRED && !reset)
			continue;
		vq_push(vq, scratch->head, len >= VDEV_USED_RETRY ? 0 : len);
		pushed = true;
	}
	if (pushed)
		vdev_notify_used(d, q);
	if (reset)
		vdev_set_needs_reset(d);
	return refused;
}
