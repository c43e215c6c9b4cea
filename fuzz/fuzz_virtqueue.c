/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the split-ring walker (queue.c) as a hostile driver would drive it:
 * any ring geometry, any ring and descriptor bytes, and guest writes to the
 * rings between device passes. Every chain the walker accepts is checked to
 * lie inside guest RAM and to respect the segment rules.
 *
 * Input: 16-byte header | nops x 4-byte ops | guest RAM image (from GPA 0).
 *   header: u16 size, u8 flags (1 event_idx, 2 indirect), u8 nops,
 *           u32 desc_gpa, u32 avail_gpa, u32 used_gpa (each masked to 128 KiB,
 *           half of it past the end of the 64 KiB of RAM)
 *   op:     u8 kind, u8 arg, u16 val
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/queue.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define FUZZ_RAM_BYTES	 0x10000ULL
#define FUZZ_GPA_MASK	 0x1ffffU
#define FUZZ_HEADER_SIZE 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

/* The walker's promises to devices: anything else is a bug worth a crash. */
static void check_chain(const struct vq_chain *c, const uint8_t *ram)
{
	uint64_t rd = 0, wr = 0;
	bool seen_writable = false;

	if (c->nsegs == 0 || c->nsegs > VQ_MAX_SEGS)
		abort();
	for (unsigned int i = 0; i < c->nsegs; i++) {
		const struct vq_seg *s = &c->segs[i];

		if (s->len == 0 || s->host < ram || s->host + s->len > ram + FUZZ_RAM_BYTES ||
		    s->host + s->len < s->host)
			abort();
		if (s->writable)
			seen_writable = true;
		else if (seen_writable)
			abort();
		if (s->writable)
			wr += s->len;
		else
			rd += s->len;
	}
	if (rd != c->readable_bytes || wr != c->writable_bytes)
		abort();
}

static void device_pass(struct virtqueue *vq, struct vq_chain *c, const uint8_t *ram, uint8_t arg)
{
	uint8_t buf[64];
	enum vq_err err = vq_pop(vq, c);

	if (err == VQ_OK) {
		uint64_t n;

		check_chain(c, ram);
		n = vq_chain_read(c, arg, buf, sizeof(buf));
		if (n > sizeof(buf))
			abort();
		memset(buf, 0xa5, sizeof(buf));
		n = vq_chain_write(c, arg, buf, sizeof(buf));
		if (n > c->writable_bytes)
			abort();
		vq_push(vq, c->head, (uint32_t)n);
	} else if (err != VQ_EMPTY && !vq->broken) {
		abort(); /* every refusal must stop the queue */
	}
	if (err != VQ_OK && vq_err_str(err) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm;
	struct virtqueue vq;
	struct vq_chain *chain;
	uint8_t *ram;
	unsigned int nops;
	const uint8_t *ops;
	size_t img;

	if (size < FUZZ_HEADER_SIZE)
		return 0;
	log_setup(2, LOG_ERROR, "fuzz");
	nops = data[3];
	if (size - FUZZ_HEADER_SIZE < (size_t)nops * 4)
		nops = (unsigned int)((size - FUZZ_HEADER_SIZE) / 4);
	ops = data + FUZZ_HEADER_SIZE;
	img = size - FUZZ_HEADER_SIZE - (size_t)nops * 4;
	if (img > FUZZ_RAM_BYTES)
		img = FUZZ_RAM_BYTES;

	ram = aligned_alloc(4096, FUZZ_RAM_BYTES);
	chain = malloc(sizeof(*chain));
	if (!ram || !chain)
		abort();
	memset(ram, 0, FUZZ_RAM_BYTES);
	memcpy(ram, ops + (size_t)nops * 4, img);
	if (gm_init_from_buffer(&gm, ram, FUZZ_RAM_BYTES))
		abort();

	memset(&vq, 0, sizeof(vq));
	vq.max_size = VQ_MAX_SIZE;
	vq_reset(&vq);
	vq.size = ld16(data);
	vq.event_idx = data[2] & 1;
	vq.indirect = data[2] & 2;
	vq.desc_gpa = ld32(data + 4) & FUZZ_GPA_MASK;
	vq.avail_gpa = ld32(data + 8) & FUZZ_GPA_MASK;
	vq.used_gpa = ld32(data + 12) & FUZZ_GPA_MASK;
	if (vq_activate(&vq, &gm) != VQ_OK) {
		if (vq.ready)
			abort();
		goto out;
	}

	/* With no ops, drain the queue once like a device would. */
	if (nops == 0) {
		for (unsigned int i = 0; i < 2 * VQ_MAX_SIZE && vq_pop(&vq, chain) == VQ_OK; i++) {
			check_chain(chain, ram);
			vq_push(&vq, chain->head, 0);
		}
		vq_needs_interrupt(&vq);
	}
	for (unsigned int i = 0; i < nops; i++) {
		const uint8_t *op = ops + (size_t)i * 4;
		uint16_t val = ld16(op + 2);
		uint64_t gpa;

		switch (op[0] % 5) {
		case 0:
			device_pass(&vq, chain, ram, op[1]);
			break;
		case 1: /* the guest writes its side of the rings meanwhile */
			switch (op[1] & 3) {
			case 0:
				gpa = vq.avail_gpa + 2;
				break;
			case 1:
				gpa = vq.avail_gpa + 4 + 2ULL * (op[1] >> 2);
				break;
			case 2:
				gpa = vq.avail_gpa + 4 + 2ULL * vq.size;
				break;
			default:
				gpa = 2ULL * val;
				break;
			}
			gm_write(&gm, gpa, &val, sizeof(val));
			break;
		case 2:
			vq_needs_interrupt(&vq);
			break;
		case 3: /* the driver resets the queue and sets it ready again */
			vq_activate(&vq, &gm);
			break;
		default: /* drain */
			for (unsigned int n = 0; n < 64; n++) {
				if (vq_pop(&vq, chain) != VQ_OK)
					break;
				check_chain(chain, ram);
				vq_push(&vq, chain->head, (uint32_t)chain->writable_bytes);
			}
			vq_needs_interrupt(&vq);
			break;
		}
	}
out:
	free(chain);
	free(ram);
	return 0;
}
