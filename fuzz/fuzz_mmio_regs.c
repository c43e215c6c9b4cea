/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the virtio-mmio register state machine (mmio.c) with any sequence of
 * register and config accesses a vCPU can make, interleaved with guest RAM
 * writes and main-thread queue passes, against a fake two-queue device.
 * Transport invariants are checked after every step.
 *
 * Input: 8-byte records
 *   u8 kind: bits 0-2 action (0 read, 1-3 write, 4 process_queue, 5 guest
 *            RAM write, 6-7 write), bits 3-4 width (1/2/4/8; bit 5 forces 4),
 *            bit 6 offset anywhere in the 4 KiB window (else below 0x200)
 *   u16 offset, u32 value, u8 spare
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/mmio.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define FUZZ_RAM_BYTES	  0x10000ULL
#define FUZZ_QUEUES	  2
#define FUZZ_QUEUE_MAX	  16
#define FUZZ_CONFIG_BYTES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake_dev {
	uint8_t config[FUZZ_CONFIG_BYTES];
	const uint8_t *ram;
	unsigned int resets;
};

static void fake_read_config(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *f = d->priv;

	if (off + len > sizeof(f->config))
		abort();
	memcpy(data, f->config + off, len);
}

static void fake_write_config(struct vdev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *f = d->priv;

	if (off + len > sizeof(f->config))
		abort();
	memcpy(f->config + off, data, len);
}

/* config byte 7 = 0xff makes activation fail, to reach that path too. */
static int fake_activate(struct vdev *d)
{
	struct fake_dev *f = d->priv;

	return f->config[7] == 0xff ? -1 : 0;
}

static void fake_reset(struct vdev *d)
{
	struct fake_dev *f = d->priv;

	f->resets++;
}

static void fake_process_queue(struct vdev *d, unsigned int q)
{
	struct fake_dev *f = d->priv;
	struct virtqueue *vq = &d->vqs[q];
	struct vq_chain *c;
	uint8_t hdr[16];

	/* The transport promises: only live devices and ready queues get here. */
	if (q >= FUZZ_QUEUES || !vq->ready || vq->broken ||
	    !(d->status & VIRTIO_STATUS_DRIVER_OK) || (d->status & VIRTIO_STATUS_NEEDS_RESET) ||
	    !(d->status & VIRTIO_STATUS_FEATURES_OK))
		abort();
	c = malloc(sizeof(*c));
	if (!c)
		abort();
	for (unsigned int n = 0; n < 2 * FUZZ_QUEUE_MAX; n++) {
		enum vq_err err = vq_pop(vq, c);
		uint64_t w;

		if (err == VQ_EMPTY)
			break;
		if (err != VQ_OK) {
			vdev_set_needs_reset(d);
			break;
		}
		for (unsigned int i = 0; i < c->nsegs; i++) {
			if (c->segs[i].host < f->ram ||
			    c->segs[i].host + c->segs[i].len > f->ram + FUZZ_RAM_BYTES)
				abort();
		}
		vq_chain_read(c, 0, hdr, sizeof(hdr));
		w = vq_chain_write(c, 0, hdr, sizeof(hdr));
		vq_push(vq, c->head, (uint32_t)w);
	}
	vdev_notify_used(d, q);
	free(c);
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fuzz",
    .device_id = 0x42,
    .num_queues = FUZZ_QUEUES,
    .queue_max_size = FUZZ_QUEUE_MAX,
    .config_len = FUZZ_CONFIG_BYTES,
    .read_config = fake_read_config,
    .write_config = fake_write_config,
    .activate = fake_activate,
    .reset = fake_reset,
    .process_queue = fake_process_queue,
};

static void check_invariants(const struct vdev *d)
{
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK))
		abort();
	if ((d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->drv_features & ~d->features) || !(d->drv_features & (1ULL << VIRTIO_F_VERSION_1))))
		abort();
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		const struct virtqueue *vq = &d->vqs[q];

		if (q >= FUZZ_QUEUES && (vq->ready || vq->max_size))
			abort();
		if (vq->ready &&
		    (vq->size == 0 || (vq->size & (vq->size - 1)) || vq->size > FUZZ_QUEUE_MAX ||
		     !vq->desc || !vq->avail || !vq->used))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	struct fake_dev f = {0};
	struct guest_mem gm;
	struct vdev *d;
	uint8_t *ram;

	log_setup(2, LOG_ERROR, "fuzz");
	ram = aligned_alloc(4096, FUZZ_RAM_BYTES);
	d = malloc(sizeof(*d));
	if (!ram || !d)
		abort();
	memset(ram, 0, FUZZ_RAM_BYTES);
	if (gm_init_from_buffer(&gm, ram, FUZZ_RAM_BYTES))
		abort();
	f.ram = ram;
	vdev_init(d, &fake_ops, &f,
		  (1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC) | 1ULL, &gm);

	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *r = data + i;
		uint8_t kind = r[0];
		uint32_t width = (kind & 0x20) ? 4 : widths[(kind >> 3) & 3];
		uint64_t off = (uint64_t)(r[1] | r[2] << 8) & ((kind & 0x40) ? 0xfff : 0x1ff);
		uint8_t buf[8];
		uint32_t val;

		memcpy(&val, r + 3, sizeof(val));
		memcpy(buf, &val, 4);
		memcpy(buf + 4, &val, 4);
		switch (kind & 7) {
		case 0:
			virtio_mmio_bus_ops.read(d, off, buf, width);
			break;
		case 4:
			vdev_process_queue(d, r[7] & 3);
			break;
		case 5: /* the guest fills its rings */
			gm_write(&gm, ((uint64_t)(r[1] | r[2] << 8) * 4) % FUZZ_RAM_BYTES, &val,
				 sizeof(val));
			break;
		default:
			virtio_mmio_bus_ops.write(d, off, buf, width);
			break;
		}
		check_invariants(d);
	}
	/* Whatever happened, a reset brings the device back to a clean state. */
	virtio_mmio_bus_ops.write(d, VIRTIO_MMIO_STATUS, (const uint8_t[4]){0}, 4);
	if (d->status || d->interrupt_status || d->drv_features || d->vqs[0].ready ||
	    d->vqs[1].ready)
		abort();
	vdev_destroy(d);
	free(d);
	free(ram);
	return 0;
}
