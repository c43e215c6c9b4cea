/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock device (virtio 1.2 §5.10): the guest's side. TX packets are
 * parsed into typed packets (vsock_pkt.c) and drive a small per-connection
 * state machine; RX buffers are filled from a queue of owed control packets
 * and from host sockets the guest has credit for. Nothing spins while the
 * guest has no RX buffers or no credit: the connection remembers "readable"
 * and the next RX refill or credit update resumes. The host side (sockets,
 * connection table) is vsock_conn.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock_priv.h"
#include "vmm/log.h"

static bool vsock_live(const struct vdev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- TX: packets from the guest ------------------------------------------ */

/* An answer to the host peer that asked for the connection: "OK <host_port>\n". */
static void vsock_conn_established(struct vsock_dev *v, struct vsock_conn *c)
{
	char line[VSOCK_CMD_MAX_BYTES];
	int n = snprintf(line, sizeof(line), "OK %u\n", c->host_port);

	c->state = VSOCK_CONN_ESTABLISHED;
	/* A fresh socket's send buffer always has room for 14 bytes. */
	if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		vsock_conn_reset(v, c);
}

static void vsock_handle_conn_pkt(struct vsock_dev *v, struct vsock_conn *c,
				  const struct vsock_pkt *p)
{
	const struct vsock_hdr *h = &p->hdr;

	if (h->op == VSOCK_OP_RST) {
		vsock_conn_free(v, c);
		return;
	}
	if (!vsock_take_credit(c, h)) {
		vsock_violation(v, c, "fwd_cnt beyond what was sent");
		return;
	}
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONN_HOST_REQ || (c->pending & VSOCK_PEND_REQUEST))
			vsock_violation(v, c, "unexpected RESPONSE");
		else
			vsock_conn_established(v, c);
		return;
	case VSOCK_OP_REQUEST:
		vsock_violation(v, c, "REQUEST on an open connection");
		return;
	case VSOCK_OP_SHUTDOWN:
		c->peer_shutdown |= h->flags;
		vsock_conn_check_shutdown(v, c);
		return;
	case VSOCK_OP_RW:
		if (c->state != VSOCK_CONN_ESTABLISHED || (c->peer_shutdown & VSOCK_SHUTDOWN_SEND))
			vsock_violation(v, c, "data outside an open connection");
		else
			vsock_conn_forward(v, c, p);
		return;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_PEND_CREDIT;
		return;
	default: /* CREDIT_UPDATE: taken above */
		return;
	}
}

static uint32_t vsock_tx_chain(struct vdev *d, const struct vq_chain *ch, bool *needs_reset)
{
	struct vsock_dev *v = d->priv;
	struct vsock_conn *c;
	struct vsock_pkt p;
	enum vsock_pkt_err err = vsock_pkt_parse(ch, v->guest_cid, &p);

	(void)needs_reset; /* a bad packet costs its connection, never the device */
	v->stats.tx_packets++;
	if (err) {
		v->stats.bad_packets++;
		if (log_ratelimit_allow(&d->rl, VSOCK_LOG_BURST))
			log_warn("vsock: TX packet refused: %s", vsock_pkt_err_str(err));
		c = vsock_find(v, p.hdr.src_port, p.hdr.dst_port);
		if (c && vsock_pkt_err_wants_rst(err))
			vsock_violation(v, c, vsock_pkt_err_str(err));
		else if (vsock_pkt_err_wants_rst(err) && p.hdr.op != VSOCK_OP_RST)
			vsock_queue_rst(v, p.hdr.dst_port, p.hdr.src_port);
		return 0;
	}
	c = vsock_find(v, p.hdr.src_port, p.hdr.dst_port);
	if (c)
		vsock_handle_conn_pkt(v, c, &p);
	else if (p.hdr.op == VSOCK_OP_REQUEST)
		vsock_guest_connect(v, &p.hdr);
	else if (p.hdr.op != VSOCK_OP_RST)
		vsock_queue_rst(v, p.hdr.dst_port, p.hdr.src_port); /* §5.10.6.4 */
	return 0;
}

/* ---- RX: packets to the guest -------------------------------------------- */

static void vsock_hdr_fill(struct vsock_dev *v, struct vsock_conn *c, struct vsock_hdr *h,
			   enum vsock_op op)
{
	vsock_hdr_to_guest(h, v->guest_cid, c->host_port, c->guest_port, op);
	h->buf_alloc = VSOCK_CONN_BUF_BYTES;
	h->fwd_cnt = c->fwd_cnt;
	c->fwd_reported = c->fwd_cnt;
}

/* The next owed control packet of @c, clearing it; false if none. */
static bool vsock_conn_ctl(struct vsock_dev *v, struct vsock_conn *c, struct vsock_hdr *h)
{
	static const struct {
		uint32_t bit;
		enum vsock_op op;
	} order[] = {{VSOCK_PEND_REQUEST, VSOCK_OP_REQUEST},
		     {VSOCK_PEND_RESPONSE, VSOCK_OP_RESPONSE},
		     {VSOCK_PEND_SHUTDOWN, VSOCK_OP_SHUTDOWN},
		     {VSOCK_PEND_CREDIT, VSOCK_OP_CREDIT_UPDATE}};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->pending & order[i].bit))
			continue;
		c->pending &= ~order[i].bit;
		vsock_hdr_fill(v, c, h, order[i].op);
		if (order[i].op == VSOCK_OP_SHUTDOWN)
			h->flags = VSOCK_SHUTDOWN_SEND; /* the host peer sends no more */
		return true;
	}
	return false;
}

static bool vsock_conn_wants_rx(const struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_FREE || c->state == VSOCK_CONN_HOST_CMD)
		return false;
	if (c->pending)
		return true;
	return c->state == VSOCK_CONN_ESTABLISHED && c->readable && !c->host_eof &&
	       vsock_peer_credit(c) > 0;
}

/* Host bytes into @ch after the header; the header says what happened. */
static uint32_t vsock_conn_read(struct vsock_dev *v, struct vsock_conn *c,
				const struct vq_chain *ch, struct vsock_hdr *h)
{
	uint64_t room = ch->writable_bytes - VSOCK_HDR_BYTES;
	uint32_t want = vsock_peer_credit(c);
	struct iovec iov[VQ_MAX_SEGS];
	ssize_t n;
	int niov;

	if (room < want)
		want = (uint32_t)room;
	if (want > VSOCK_MAX_PAYLOAD)
		want = VSOCK_MAX_PAYLOAD;
	if (want == 0) {
		/* A header-only RX buffer: a read of 0 bytes would look like end of file. */
		vsock_hdr_fill(v, c, h, VSOCK_OP_CREDIT_UPDATE);
		return 0;
	}
	niov = vsock_chain_iov(ch, VSOCK_HDR_BYTES, want, iov, VQ_MAX_SEGS);
	n = vsock_read_iov(c->fd, iov, niov);
	if (n > 0) {
		vsock_hdr_fill(v, c, h, VSOCK_OP_RW);
		h->len = (uint32_t)n;
		c->tx_cnt += (uint32_t)n;
		v->stats.rx_bytes += (uint64_t)n;
		/* Edge-triggered: a short read means the socket was drained. */
		if ((uint32_t)n < want)
			c->readable = false;
		return (uint32_t)n;
	}
	c->readable = false;
	if (n < 0 && errno == EAGAIN) {
		vsock_hdr_fill(v, c, h, VSOCK_OP_CREDIT_UPDATE); /* the chain is spent anyway */
		return 0;
	}
	/* End of file or an error: the host peer sends no more. */
	c->host_eof = true;
	if (c->host_hup || n < 0 || (c->peer_shutdown & VSOCK_SHUTDOWN_SEND)) {
		vsock_hdr_to_guest(h, v->guest_cid, c->host_port, c->guest_port, VSOCK_OP_RST);
		vsock_conn_free(v, c);
		return 0;
	}
	vsock_hdr_fill(v, c, h, VSOCK_OP_SHUTDOWN);
	h->flags = VSOCK_SHUTDOWN_SEND;
	return 0;
}

/* Fill one RX chain with the next packet; false if there was nothing to send. */
static bool vsock_rx_next(struct vsock_dev *v, struct vsock_hdr *h, const struct vq_chain *ch,
			  uint32_t *payload)
{
	*payload = 0;
	if (v->rst_len) {
		struct vsock_rst r = v->rsts[v->rst_head];

		v->rst_head = (v->rst_head + 1) % VSOCK_RST_QUEUE;
		v->rst_len--;
		vsock_hdr_to_guest(h, v->guest_cid, r.host_port, r.guest_port, VSOCK_OP_RST);
		return true;
	}
	for (unsigned int k = 0; k < VSOCK_MAX_CONNS; k++) {
		struct vsock_conn *c = &v->conns[(v->rr + k) % VSOCK_MAX_CONNS];

		if (!vsock_conn_wants_rx(c))
			continue;
		v->rr = (v->rr + k + 1) % VSOCK_MAX_CONNS;
		if (!vsock_conn_ctl(v, c, h))
			*payload = vsock_conn_read(v, c, ch, h);
		return true;
	}
	return false;
}

static bool vsock_rx_pending(const struct vsock_dev *v)
{
	if (v->rst_len)
		return true;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vsock_conn_wants_rx(&v->conns[i]))
			return true;
	return false;
}

/* RX buffers: device-writable only, room for at least the header (§5.10.6.2). */
static void vsock_rx_flush(struct vsock_dev *v, struct vdev *d)
{
	struct virtqueue *vq = &d->vqs[VSOCK_RXQ];
	unsigned int budget = vq->size;
	bool pushed = false;

	if (!vsock_live(d) || !vq->ready || vq->broken)
		return;
	while (vsock_rx_pending(v)) {
		struct vsock_hdr h;
		uint32_t payload;
		enum vq_err err;

		if (budget-- == 0) {
			vsock_kick(v); /* come back after the loop served everything else */
			break;
		}
		err = vq_pop(vq, &v->chain);
		if (err == VQ_EMPTY)
			break; /* the guest's next RX notification resumes */
		if (err != VQ_OK || v->chain.readable_bytes ||
		    v->chain.writable_bytes < VSOCK_HDR_BYTES) {
			if (log_ratelimit_allow(&d->rl, VSOCK_LOG_BURST))
				log_warn("vsock: RX buffer refused: %s",
					 err ? vq_err_str(err) : "not a writable 44-byte buffer");
			if (err == VQ_OK)
				vq_push(vq, v->chain.head, 0);
			v->stats.resets++;
			vdev_notify_used(d, VSOCK_RXQ);
			vdev_set_needs_reset(d);
			return;
		}
		if (!vsock_rx_next(v, &h, &v->chain, &payload))
			vsock_hdr_to_guest(&h, v->guest_cid, 0, 0, VSOCK_OP_RST); /* unreachable */
		vq_chain_write(&v->chain, 0, &h, VSOCK_HDR_BYTES);
		vq_push(vq, v->chain.head, VSOCK_HDR_BYTES + payload);
		v->stats.rx_packets++;
		pushed = true;
	}
	if (pushed)
		vdev_notify_used(d, VSOCK_RXQ);
}

/* ---- virtio ops ----------------------------------------------------------- */

static void vsock_process_events(struct vdev *d)
{
	struct vsock_dev *v = d->priv;

	vsock_host_events(v);
	vsock_rx_flush(v, d);
}

static void vsock_process_queue(struct vdev *d, unsigned int q)
{
	struct vsock_dev *v = d->priv;

	vsock_apply_reset(v);
	if (q == VSOCK_TXQ && vdev_drain_queue(d, q, &v->chain, vsock_tx_chain) != VQ_OK)
		v->stats.resets++;
	/* TX answers (RESPONSE, RST, credit) and new RX buffers both end up here. */
	vsock_rx_flush(v, d);
}

static int vsock_event_fd(struct vdev *d)
{
	struct vsock_dev *v = d->priv;

	return v->epfd;
}

/* vCPU thread, lock held: no close(2) here (the vCPU filter has none). */
static void vsock_reset(struct vdev *d)
{
	struct vsock_dev *v = d->priv;

	v->reset_pending = true;
	vsock_kick(v);
}

/* DRIVER_OK: deliver what waited for the driver (host connections made earlier). */
static int vsock_activate(struct vdev *d)
{
	vsock_kick(d->priv);
	return 0;
}

static void vsock_read_config(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vsock_dev *v = d->priv;
	uint64_t cid = v->guest_cid; /* §5.10.4: le64, upper 32 bits zero */

	memcpy(data, (const uint8_t *)&cid + off, len);
}

const struct virtio_dev_ops vsock_virtio_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3, /* rx, tx, event (§5.10.2) */
    .queue_max_size = VSOCK_QUEUE_SIZE,
    .config_len = VSOCK_CONFIG_BYTES,
    .read_config = vsock_read_config,
    .write_config = NULL, /* guest_cid is read-only */
    .activate = vsock_activate,
    .reset = vsock_reset,
    .process_queue = vsock_process_queue,
    .event_fd = vsock_event_fd,
    .process_events = vsock_process_events,
};

uint64_t vsock_features(void)
{
	return 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC |
	       1ULL << VIRTIO_F_EVENT_IDX;
}
