/* SPDX-License-Identifier: MIT */
/*
 * Fuzz virtio-vsock end to end as a hostile driver would: the input is the
 * guest's RAM (tx and rx rings, descriptors, packet headers, payloads) and
 * the device runs its real queue processing (walker, vsock_pkt_parse, the
 * connection state machine, RX filling) against real Unix sockets: a holder
 * listener at <uds_path>_5000 that accepts nothing (guest connections to port
 * 5000 succeed, others are refused) and, when asked, a host peer that sends
 * "CONNECT <port>\n" first. Checked: no access outside guest RAM or the
 * device (ASan, UBSan), every chain taken off either ring completed exactly
 * once, and a reset leaves no connection behind.
 *
 * Input: 4-byte header | guest RAM image from GPA 0 (at most 64 KiB).
 *   header: u8 flags (1 event_idx, 2 indirect, 4 host peer connects first,
 *           8 second TX pass, 16 host peer sends bytes), u8 tx queue size log2
 *           (masked to 0..4), u8 rx queue size log2 (0..4), u8 guest port for
 *           the host peer's CONNECT.
 *   RAM: tx desc 0x0, avail 0x100, used 0x200; rx desc 0x400, avail 0x500,
 *        used 0x600. The guest CID is 3: src_cid must be 3, dst_cid 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define FUZZ_RAM_BYTES	  0x10000ULL
#define FUZZ_HEADER_BYTES 4
#define FUZZ_TX_GPA	  0x0
#define FUZZ_RX_GPA	  0x400
#define FUZZ_GUEST_CID	  3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool ready;
	uint8_t *ram;
	struct guest_mem gm;
	struct vsock_dev *vs;
	struct vdev *dev;
	int holder;
	char uds[96];
} fz;

/* libFuzzer ends with exit(): take the sockets and the directory with us. */
static void fuzz_cleanup(void)
{
	char path[128];

	vsock_close(fz.vs);
	snprintf(path, sizeof(path), "%s_5000", fz.uds);
	unlink(path);
	*strrchr(fz.uds, '/') = '\0';
	rmdir(fz.uds);
}

static void fuzz_setup(void)
{
	char dir[] = "/tmp/kiln-fuzz-vsock-XXXXXX";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_config cfg = {.guest_cid = FUZZ_GUEST_CID};
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (devnull < 0 || !mkdtemp(dir))
		abort();
	log_setup(devnull, LOG_DEBUG, "fuzz_vsock");
	snprintf(fz.uds, sizeof(fz.uds), "%s/v", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_5000", fz.uds);
	fz.holder = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fz.holder < 0 || bind(fz.holder, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fz.holder, 256))
		abort();
	fz.vs = calloc(1, sizeof(*fz.vs));
	fz.dev = calloc(1, sizeof(*fz.dev));
	fz.ram = calloc(1, FUZZ_RAM_BYTES);
	if (!fz.vs || !fz.dev || !fz.ram)
		abort();
	cfg.uds_path = fz.uds;
	if (vsock_open(fz.vs, &cfg) != 0 || gm_init_from_buffer(&fz.gm, fz.ram, FUZZ_RAM_BYTES))
		abort();
	atexit(fuzz_cleanup);
	fz.ready = true;
}

/* A host process: connect to uds_path and ask for @port (maybe with bytes after). */
static int fuzz_host_peer(uint8_t port, bool bytes)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[64];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int n = snprintf(line, sizeof(line), "CONNECT %u\n%s", port, bytes ? "hello guest" : "");

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fz.uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		abort();
	return fd;
}

static void fuzz_queue(struct virtqueue *vq, uint8_t log2, uint64_t base, uint8_t flags)
{
	vq->size = (uint16_t)(1u << (log2 % 5));
	vq->desc_gpa = base;
	vq->avail_gpa = base + 0x100;
	vq->used_gpa = base + 0x200;
	vq->event_idx = flags & 1;
	vq->indirect = flags & 2;
	if (vq_activate(vq, &fz.gm) != VQ_OK)
		abort(); /* the fixed geometry is valid */
}

/* Drop everything the holder queued, so its backlog never fills. */
static void fuzz_drain_holder(void)
{
	int fd;

	while ((fd = accept4(fz.holder, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags;
	uint64_t feat;
	int peer = -1;

	if (!fz.ready)
		fuzz_setup();
	if (size < FUZZ_HEADER_BYTES)
		return 0;
	flags = data[0];
	memset(fz.ram, 0, FUZZ_RAM_BYTES);
	size -= FUZZ_HEADER_BYTES;
	memcpy(fz.ram, data + FUZZ_HEADER_BYTES, size < FUZZ_RAM_BYTES ? size : FUZZ_RAM_BYTES);

	vdev_init(fz.dev, &vsock_virtio_ops, fz.vs, vsock_features(), &fz.gm);
	vsock_attach(fz.vs, fz.dev);
	fz.vs->next_local_port = VSOCK_FIRST_LOCAL_PORT; /* so inputs can answer the peer */
	feat = fz.dev->features;
	if (!(flags & 1))
		feat &= ~(1ULL << VIRTIO_F_EVENT_IDX);
	if (!(flags & 2))
		feat &= ~(1ULL << VIRTIO_F_INDIRECT_DESC);
	fz.dev->drv_features = feat;
	fuzz_queue(&fz.dev->vqs[VSOCK_TXQ], data[1], FUZZ_TX_GPA, flags);
	fuzz_queue(&fz.dev->vqs[VSOCK_RXQ], data[2], FUZZ_RX_GPA, flags);
	fz.dev->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

	if (flags & 4) {
		peer = fuzz_host_peer(data[3], flags & 16);
		vdev_process_events(fz.dev); /* accept */
		vdev_process_events(fz.dev); /* CONNECT read, REQUEST into an RX buffer */
	}
	vdev_process_queue(fz.dev, VSOCK_TXQ);
	vdev_process_events(fz.dev);
	if (flags & 8)
		vdev_process_queue(fz.dev, VSOCK_TXQ);
	vdev_process_queue(fz.dev, VSOCK_RXQ);
	for (unsigned int q = VSOCK_RXQ; q <= VSOCK_TXQ; q++)
		if (fz.dev->vqs[q].used_idx != fz.dev->vqs[q].last_avail_idx)
			abort();

	/* Status 0 from a vCPU, applied on the "main thread": nothing may survive it. */
	vsock_virtio_ops.reset(fz.dev);
	vdev_process_events(fz.dev);
	if (fz.vs->nconns != 0 || fz.vs->rst_len != 0)
		abort();
	if (peer >= 0)
		close(peer);
	vdev_process_events(fz.dev); /* the listener may still hold the peer: accept, drop */
	fuzz_drain_holder();
	vdev_destroy(fz.dev);
	return 0;
}
