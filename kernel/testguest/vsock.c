/* SPDX-License-Identifier: MIT */
/*
 * Polling virtio-vsock driver for the test guest (virtio 1.2 §5.10). Queues
 * rx (0), tx (1) and event (2) each get QSIZE entries in static RAM; RX
 * buffer i is descriptor i of the rx queue, posted device-writable and given
 * back after the test has read it. Nothing the device writes is trusted
 * beyond an index and length check.
 */
#include "vsock.h"

#include "io.h"

#define TV_QUEUES 3
#define TV_RXQ	  0
#define TV_TXQ	  1
#define TV_QSIZE  64
#define TV_PAGE	  4096

struct tv_queue {
	volatile struct vio_desc *desc;
	volatile uint8_t *avail, *used;
	uint16_t size, avail_idx, used_idx;
};

static uint8_t tv_ring_mem[TV_QUEUES][3][TV_PAGE] __attribute__((aligned(TV_PAGE)));
static uint8_t tv_rx_mem[TV_RX_BUFS][TV_HDR_BYTES + TV_RX_PAYLOAD] __attribute__((aligned(64)));
static struct tv_hdr tv_tx_hdr __attribute__((aligned(64)));
static struct tv_queue tv_q[TV_QUEUES];

static inline void tv_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static bool tv_setup_queue(struct vio_dev *d, unsigned int q, struct tg_str *why)
{
	struct tv_queue *tq = &tv_q[q];
	uint32_t max;

	vio_write(d, VIO_QUEUE_SEL, q);
	max = vio_read(d, VIO_QUEUE_NUM_MAX);
	if (max < TV_QSIZE) {
		tg_str_add(why, "QueueNumMax ");
		tg_str_add_dec(why, max);
		return false;
	}
	memset(tv_ring_mem[q], 0, sizeof(tv_ring_mem[q]));
	*tq = (struct tv_queue){(volatile struct vio_desc *)tv_ring_mem[q][0],
				tv_ring_mem[q][1],
				tv_ring_mem[q][2],
				TV_QSIZE,
				0,
				0};
	tq->avail[0] = VIO_AVAIL_NO_INTERRUPT; /* polling */
	vio_write(d, VIO_QUEUE_NUM, TV_QSIZE);
	vio_write_ring_addrs(d, (uintptr_t)tq->desc, (uintptr_t)tq->avail, (uintptr_t)tq->used);
	vio_write(d, VIO_QUEUE_READY, 1);
	if (vio_read(d, VIO_QUEUE_READY) != 1) {
		tg_str_add(why, "QueueReady refused for queue ");
		tg_str_add_dec(why, q);
		return false;
	}
	return true;
}

static void tv_avail_put(struct tv_queue *tq, uint16_t head)
{
	volatile uint16_t *slot =
	    (volatile uint16_t *)(tq->avail + 4 + 2 * (tq->avail_idx % tq->size));

	*slot = head;
	tq->avail_idx++;
	tv_barrier();
	*(volatile uint16_t *)(tq->avail + 2) = tq->avail_idx;
	tv_barrier();
}

/* Next used entry of @tq within @timeout_tsc. */
static bool tv_used_get(struct tv_queue *tq, uint64_t timeout_tsc, uint32_t *id, uint32_t *len)
{
	uint64_t start = tg_rdtsc();
	volatile uint8_t *e;

	while (*(volatile uint16_t *)(tq->used + 2) == tq->used_idx) {
		if (tg_rdtsc() - start > timeout_tsc)
			return false;
		tg_pause();
	}
	tv_barrier();
	e = tq->used + 4 + 8 * (tq->used_idx % tq->size);
	*id = *(volatile uint32_t *)e;
	*len = *(volatile uint32_t *)(e + 4);
	tq->used_idx++;
	return true;
}

static void tv_rx_post(struct vio_dev *d, uint16_t i, bool notify)
{
	struct tv_queue *tq = &tv_q[TV_RXQ];
	volatile struct vio_desc *e = &tq->desc[i];

	e->addr = (uintptr_t)tv_rx_mem[i];
	e->len = sizeof(tv_rx_mem[i]);
	e->flags = VIO_DESC_WRITE;
	e->next = 0;
	tv_avail_put(tq, i);
	if (notify)
		vio_notify(d, TV_RXQ);
}

void tv_rx_post_readable(struct tv_dev *t)
{
	struct tv_queue *tq = &tv_q[TV_RXQ];
	uint16_t i = TV_RX_BUFS; /* a descriptor no regular buffer uses */

	tq->desc[i] = (struct vio_desc){(uintptr_t)tv_rx_mem[0], 64, 0, 0};
	tv_avail_put(tq, i);
	vio_notify(t->d, TV_RXQ);
}

bool tv_init(struct tv_dev *t, const struct tg_boot *b, struct tg_str *why)
{
	uint32_t st;

	vio_discover(b);
	t->d = vio_find(TV_ID_VSOCK, 0);
	if (!t->d) {
		tg_str_add(why, "no virtio-vsock device");
		return false;
	}
	vio_reset(t->d);
	if (!vio_negotiate(t->d, VIO_F_VERSION_1, why))
		return false;
	for (unsigned int q = 0; q < TV_QUEUES; q++)
		if (!tv_setup_queue(t->d, q, why))
			return false;
	vio_write(t->d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	st = vio_read(t->d, VIO_STATUS);
	if (st != (VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK)) {
		tg_str_add(why, "status after DRIVER_OK ");
		tg_str_add_hex(why, st);
		return false;
	}
	t->cid = vio_config64(t->d, 0);
	for (uint16_t i = 0; i < TV_RX_BUFS; i++)
		tv_rx_post(t->d, i, i + 1 == TV_RX_BUFS);
	return true;
}

bool tv_tx_raw(struct tv_dev *t, const void *h, uint32_t hlen, const void *data, uint32_t len,
	       struct tg_str *why)
{
	struct tv_queue *tq = &tv_q[TV_TXQ];
	uint32_t id, used;

	tq->desc[0] = (struct vio_desc){(uintptr_t)h, hlen, len ? VIO_DESC_NEXT : 0, 1};
	tq->desc[1] = (struct vio_desc){(uintptr_t)data, len, 0, 0};
	tv_avail_put(tq, 0);
	vio_notify(t->d, TV_TXQ);
	if (!tv_used_get(tq, VIO_TIMEOUT_TSC, &id, &used)) {
		tg_str_add(why, "TX not completed, status ");
		tg_str_add_hex(why, vio_read(t->d, VIO_STATUS));
		return false;
	}
	return true;
}

bool tv_send(struct tv_dev *t, struct tv_conn *c, enum tv_op op, uint32_t flags, const void *data,
	     uint32_t len, struct tg_str *why)
{
	tv_tx_hdr = (struct tv_hdr){.src_cid = t->cid,
				    .dst_cid = TV_HOST_CID,
				    .src_port = c->lport,
				    .dst_port = c->rport,
				    .len = len,
				    .type = 1,
				    .op = (uint16_t)op,
				    .flags = flags,
				    .buf_alloc = TV_BUF_ALLOC,
				    .fwd_cnt = c->fwd_cnt};
	c->fwd_reported = c->fwd_cnt;
	if (!tv_tx_raw(t, &tv_tx_hdr, TV_HDR_BYTES, data, len, why))
		return false;
	c->tx_cnt += len;
	return true;
}

bool tv_recv(struct tv_dev *t, uint64_t timeout_tsc, struct tv_pkt *p)
{
	uint32_t id, len;

	(void)t; /* one device: the rings are this file's */
	if (!tv_used_get(&tv_q[TV_RXQ], timeout_tsc, &id, &len))
		return false;
	p->buf = (uint16_t)id;
	p->used_len = len;
	if (id >= TV_RX_BUFS || len < TV_HDR_BYTES || len > sizeof(tv_rx_mem[0])) {
		/* The device returned a buffer it was not given, or a bad length. */
		memset(&p->hdr, 0xff, sizeof(p->hdr));
		p->data = NULL;
		p->buf = id < TV_RX_BUFS ? (uint16_t)id : 0xffff;
		return true;
	}
	memcpy(&p->hdr, tv_rx_mem[id], sizeof(p->hdr));
	p->data = tv_rx_mem[id] + TV_HDR_BYTES;
	if (p->hdr.len > len - TV_HDR_BYTES)
		p->hdr.len = len - TV_HDR_BYTES; /* never read past what was written */
	return true;
}

void tv_rx_done(struct tv_dev *t, const struct tv_pkt *p)
{
	if (p->buf < TV_RX_BUFS)
		tv_rx_post(t->d, p->buf, true);
}

void tv_take_credit(struct tv_conn *c, const struct tv_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

uint32_t tv_credit(const struct tv_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}
