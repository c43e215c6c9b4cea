/* SPDX-License-Identifier: MIT */
/*
 * Fuzz virtio-net as a hostile driver would: the input is the guest's RAM
 * (both rings, descriptors, vnet headers, frames) plus the features it
 * negotiated; the device runs its real TX pass (walker, net_tx_parse, writev
 * to a datagram socket standing in for the tap) and, when asked, an RX pass
 * for one host frame of a chosen length. Promises checked: nothing outside
 * guest RAM or the device is touched (ASan, UBSan); every TX chain taken is
 * completed exactly once; every byte that reaches the "tap" passed the parser
 * (a frame of at most 65562 bytes); RX chains taken are all completed unless
 * the frame is waiting for buffers.
 *
 * Input: 8-byte header | guest RAM image from GPA 0 (at most 64 KiB).
 *   header: u32 driver features (low bits: net features; bit 29 EVENT_IDX),
 *           u8 flags (1: RX pass, 2: mergeable RX buffers, 4: second TX pass),
 *           u8 queue size log2 (masked to 0..4), u16 RX frame length.
 *   RAM:    TX desc 0x0, avail 0x100, used 0x200; RX desc 0x400, avail 0x500,
 *           used 0x600.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define FUZZ_RAM_BYTES	  0x10000ULL
#define FUZZ_HEADER_BYTES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool ready;
	uint8_t *ram;
	uint8_t *frame; /* host frame for the RX pass, and the TX drain buffer */
	struct guest_mem gm;
	struct net_dev *net;
	struct vdev *dev;
	int host; /* the "tap"'s other end */
} fz;

static void fuzz_setup(void)
{
	struct net_config cfg = {.iface_id = "fuzz", .host_dev_name = "fuzz0", .mtu = 1500};
	char err[128];
	int devnull, sv[2];

	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		abort();
	log_setup(devnull, LOG_DEBUG, "fuzz_net_tx");
	/* Datagrams up to 64 KiB + header: raise the buffer so writev never fails on size. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	cfg.tap_fd = sv[0];
	fz.host = sv[1];
	fz.net = calloc(1, sizeof(*fz.net));
	fz.dev = calloc(1, sizeof(*fz.dev));
	fz.ram = calloc(1, FUZZ_RAM_BYTES);
	fz.frame = calloc(1, NET_MAX_CHAIN_BYTES + 1);
	if (!fz.net || !fz.dev || !fz.ram || !fz.frame)
		abort();
	if (net_open(fz.net, &cfg, err, sizeof(err)) ||
	    gm_init_from_buffer(&fz.gm, fz.ram, FUZZ_RAM_BYTES))
		abort();
	fz.ready = true;
}

static void fuzz_queue(unsigned int q, uint16_t size, uint64_t base, bool event_idx)
{
	struct virtqueue *vq = &fz.dev->vqs[q];

	vq->size = size;
	vq->desc_gpa = base;
	vq->avail_gpa = base + 0x100;
	vq->used_gpa = base + 0x200;
	vq->event_idx = event_idx;
	if (vq_activate(vq, &fz.gm) != VQ_OK)
		abort(); /* the fixed geometry is valid */
}

/* Everything the TX pass sent: each datagram must be a parsed frame's size. */
static void fuzz_drain_tap(void)
{
	ssize_t n;

	while ((n = read(fz.host, fz.frame, NET_MAX_CHAIN_BYTES + 1)) >= 0)
		if (n < (ssize_t)(NET_HDR_BYTES + NET_ETH_HLEN) || n > (ssize_t)NET_MAX_CHAIN_BYTES)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue *tx, *rx;
	uint32_t feat;
	uint16_t rx_len, qsize;
	uint8_t flags;

	if (!fz.ready)
		fuzz_setup();
	if (size < FUZZ_HEADER_BYTES)
		return 0;
	memcpy(&feat, data, 4);
	flags = data[4];
	qsize = (uint16_t)(1u << (data[5] % 5));
	memcpy(&rx_len, data + 6, 2);
	memset(fz.ram, 0, FUZZ_RAM_BYTES);
	size -= FUZZ_HEADER_BYTES;
	memcpy(fz.ram, data + FUZZ_HEADER_BYTES, size < FUZZ_RAM_BYTES ? size : FUZZ_RAM_BYTES);

	fz.net->rx_len = 0;
	vdev_init(fz.dev, &net_virtio_ops, fz.net, net_features(fz.net), &fz.gm);
	fz.dev->drv_features = fz.dev->features & (feat | 1ULL << VIRTIO_F_VERSION_1);
	if (flags & 2)
		fz.dev->drv_features |= 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	else
		fz.dev->drv_features &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	fuzz_queue(NET_TXQ, qsize, 0x0, feat & (1u << VIRTIO_F_EVENT_IDX));
	fuzz_queue(NET_RXQ, qsize, 0x400, feat & (1u << VIRTIO_F_EVENT_IDX));
	fz.dev->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	tx = &fz.dev->vqs[NET_TXQ];
	rx = &fz.dev->vqs[NET_RXQ];

	vdev_process_queue(fz.dev, NET_TXQ);
	if (flags & 4)
		vdev_process_queue(fz.dev, NET_TXQ);
	if (tx->used_idx != tx->last_avail_idx)
		abort();
	fuzz_drain_tap();

	if (flags & 1) {
		uint32_t len = NET_HDR_BYTES + NET_ETH_HLEN + rx_len % 1600u;

		memset(fz.frame, 0xa5, len);
		if (write(fz.host, fz.frame, len) != (ssize_t)len)
			abort();
		vdev_process_events(fz.dev);
		/* Taken chains are all used, or given back while the frame waits. */
		if (rx->used_idx != rx->last_avail_idx)
			abort();
		while (read(fz.net->tap_fd, fz.frame, NET_MAX_CHAIN_BYTES) >= 0)
			;
	}
	vdev_destroy(fz.dev);
	return 0;
}
