/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1): config space, feature/offload mapping, the TX
 * pass (parse, then one writev per frame) and the RX pass (one read per
 * frame into a bounce buffer, then copies into the guest's writable
 * segments). The tap is watched edge-triggered: a pass reads until EAGAIN,
 * until the guest has no buffer left (the frame waits, kiln stops reading
 * and resumes on the guest's next RX notification), until the RX rate
 * limiter pauses it (the frame waits for the limiter's timer) or until its
 * budget is spent (the RX queue's eventfd is kicked to come back). TX frames
 * the TX limiter cannot pay stay on the ring until its timer fires.
 */
#include "devices/virtio/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "jail/netdev.h"

#define NET_LOG_BURST	    10
#define NET_NUM_BUFFERS_OFF 10 /* offset of num_buffers in the header */

/* ---- config space, features ------------------------------------------ */

static void net_read_config(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct net_dev *n = d->priv;
	uint8_t cfg[NET_CONFIG_BYTES] = {0};

	/* §5.1.4: mac only with VIRTIO_NET_F_MAC, mtu only with VIRTIO_NET_F_MTU (le16). */
	if (n->has_mac)
		memcpy(cfg, n->mac, NET_MAC_BYTES);
	cfg[10] = (uint8_t)n->mtu;
	cfg[11] = (uint8_t)(n->mtu >> 8);
	/* The transport checked off + len <= NET_CONFIG_BYTES. */
	memcpy(data, cfg + off, len);
}

uint64_t net_features(const struct net_dev *n)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
		     1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		     1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
		     1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 |
		     1ULL << VIRTIO_NET_F_MRG_RXBUF;

	if (n->has_mac)
		f |= 1ULL << VIRTIO_NET_F_MAC;
	if (n->mtu)
		f |= 1ULL << VIRTIO_NET_F_MTU;
	return f;
}

unsigned int net_tap_offloads(uint64_t negotiated)
{
	unsigned int off = 0;

	if (!(negotiated & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	off |= TUN_F_CSUM;
	if (negotiated & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		off |= TUN_F_TSO4;
	if (negotiated & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		off |= TUN_F_TSO6;
	return off;
}

static uint64_t net_negotiated(const struct vdev *d)
{
	return d->features & d->drv_features;
}

/* Main thread: what the tap may hand us must match what the driver accepted. */
static void net_apply_offloads(struct vdev *d, struct net_dev *n)
{
	if (!n->offloads_dirty)
		return;
	n->offloads_dirty = false;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)n->offloads_want) < 0 &&
	    log_ratelimit_allow(&d->rl, NET_LOG_BURST))
		log_warn("virtio-net %s: TUNSETOFFLOAD 0x%x: %s", n->name, n->offloads_want,
			 strerror(errno));
}

/* ---- TX: guest -> tap -------------------------------------------------- */

/* Send one parsed frame (the TX rate limiter has let it through). */
static void net_tx_send(struct vdev *d, struct net_dev *n, const struct net_tx_req *r)
{
	ssize_t w;

	do {
		w = writev(n->tap_fd, r->iov, (int)r->niov);
	} while (w < 0 && errno == EINTR);
	if (w == (ssize_t)(NET_HDR_BYTES + r->frame_len)) {
		n->stats.tx_frames++;
		n->stats.tx_bytes += r->frame_len;
		return;
	}
	/* A full or down tap drops the frame, as a NIC with a full queue would; counted. */
	n->stats.tx_errors++;
	if (log_ratelimit_allow(&d->rl, NET_LOG_BURST))
		log_warn("virtio-net %s: tap write of %u bytes: %s", n->name, r->frame_len,
			 w < 0 ? strerror(errno) : "short write");
}

static uint32_t net_tx_chain(struct vdev *d, const struct vq_chain *c, bool *needs_reset)
{
	struct net_dev *n = d->priv;
	enum net_tx_err err = net_tx_parse(c, net_negotiated(d), &n->tx);

	(void)needs_reset; /* a bad frame is dropped; the ring itself is fine */
	if (err) {
		n->stats.tx_refused++;
		if (log_ratelimit_allow(&d->rl, NET_LOG_BURST))
			log_warn("virtio-net %s: TX frame refused: %s", n->name,
				 net_tx_err_str(err));
		return 0;
	}
	/* Firecracker's accounting: the frame's bytes and one op; refused frames are free. */
	if (!ratelimiter_admit(&n->tx_rl, n->tx.frame_len, 1))
		return VDEV_USED_RETRY;
	net_tx_send(d, n, &n->tx);
	return 0; /* §5.1.6.2: the device writes nothing into TX buffers */
}

/* ---- RX: tap -> guest -------------------------------------------------- */

static bool net_rx_live(const struct vdev *d)
{
	const struct virtqueue *vq = &d->vqs[NET_RXQ];

	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       vq->ready && !vq->broken;
}

/* Return @nbufs popped chains unused, each with length 0 (the frame is dropped). */
static void net_rx_drop(struct vdev *d, struct net_dev *n, unsigned int nbufs)
{
	for (unsigned int i = 0; i < nbufs; i++)
		vq_push(&d->vqs[NET_RXQ], n->rx_heads[i], 0);
	n->stats.rx_dropped++;
	n->rx_len = 0;
}

enum net_rx_result { NET_RX_DONE, NET_RX_WAIT, NET_RX_BROKEN };

/*
 * Give the pending frame to the guest: one chain without MRG_RXBUF (it must
 * hold the whole frame), as many as it takes with it (§5.1.6.3.1). Without
 * enough buffers the chains go back on the avail ring untouched-as-far-as-
 * the-driver-knows and the frame waits.
 */
static enum net_rx_result net_rx_deliver(struct vdev *d, struct net_dev *n)
{
	struct virtqueue *vq = &d->vqs[NET_RXQ];
	bool mrg = vdev_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int nbufs = 0;
	uint32_t off = 0;
	uint8_t nb[2];

	while (off < n->rx_len) {
		struct vq_chain *c = nbufs ? &n->chain : &n->rx_first;
		enum vq_err err;
		uint64_t w;

		if (nbufs == vq->size) {
			/* Every buffer the ring can hold is too small together: never fits. */
			net_rx_drop(d, n, nbufs);
			return NET_RX_DONE;
		}
		err = vq_pop(vq, c);
		if (err == VQ_EMPTY) {
			vq_unpop(vq, (uint16_t)nbufs);
			n->rx_held = (uint16_t)nbufs;
			return NET_RX_WAIT;
		}
		if (err) {
			if (log_ratelimit_allow(&d->rl, NET_LOG_BURST))
				log_warn("virtio-net %s: RX queue: %s", n->name, vq_err_str(err));
			net_rx_drop(d, n, nbufs);
			return NET_RX_BROKEN;
		}
		n->rx_heads[nbufs++] = c->head;
		w = n->rx_len - off;
		if ((!mrg && c->writable_bytes < w) ||
		    (nbufs == 1 && c->writable_bytes < NET_HDR_BYTES) || c->writable_bytes == 0) {
			net_rx_drop(d, n, nbufs);
			return NET_RX_DONE;
		}
		if (w > c->writable_bytes)
			w = c->writable_bytes;
		n->rx_used[nbufs - 1] = (uint32_t)vq_chain_write(c, 0, n->rx_buf + off, w);
		off += (uint32_t)w;
	}
	nb[0] = (uint8_t)nbufs;
	nb[1] = (uint8_t)(nbufs >> 8);
	vq_chain_write(&n->rx_first, NET_NUM_BUFFERS_OFF, nb, sizeof(nb));
	for (unsigned int i = 0; i < nbufs; i++)
		vq_push(vq, n->rx_heads[i], n->rx_used[i]);
	n->stats.rx_frames++;
	n->stats.rx_bytes += n->rx_len - NET_HDR_BYTES;
	n->rx_len = 0;
	return NET_RX_DONE;
}

/* Read one frame from the tap into rx_buf; false when there is none (or on error). */
static bool net_rx_read_tap(struct vdev *d, struct net_dev *n)
{
	ssize_t r;

	do {
		r = read(n->tap_fd, n->rx_buf, NET_MAX_CHAIN_BYTES);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return false;
	if (r < (ssize_t)(NET_HDR_BYTES + NET_ETH_HLEN)) {
		n->stats.rx_errors++;
		if (log_ratelimit_allow(&d->rl, NET_LOG_BURST))
			log_warn("virtio-net %s: tap read: %s", n->name,
				 r < 0 ? strerror(errno) : "short frame");
		return r >= 0; /* a runt is skipped; an error ends the pass */
	}
	/* §5.1.6.3.2: without GUEST_CSUM the flags must be zero (the tap then checksums). */
	if (!vdev_has_feature(d, VIRTIO_NET_F_GUEST_CSUM))
		n->rx_buf[0] = 0;
	n->rx_len = (uint32_t)r;
	n->rx_admitted = false;
	return true;
}

/* One bounded RX pass: pending frame first, then the tap until empty or blocked. */
static void net_rx_pass(struct vdev *d, struct net_dev *n)
{
	unsigned int budget = d->vqs[NET_RXQ].size;
	uint16_t used_before = d->vqs[NET_RXQ].used_idx;

	/* Paused by the RX rate limiter: its timer brings us back (docs/VIRTIO.md). */
	if (!net_rx_live(d) || ratelimiter_blocked(&n->rx_rl))
		return;
	net_apply_offloads(d, n);
	/* While kiln has buffers it needs no RX notification (§2.7.10); see NET_RX_WAIT. */
	vq_set_notify(&d->vqs[NET_RXQ], false);
	for (;;) {
		if (n->rx_len) {
			enum net_rx_result res;

			/* Charged once per frame; unpaid, it waits in rx_buf and the tap is not
			 * read. */
			if (!n->rx_admitted &&
			    !ratelimiter_admit(&n->rx_rl, n->rx_len - NET_HDR_BYTES, 1))
				break;
			n->rx_admitted = true;
			res = net_rx_deliver(d, n);

			if (res == NET_RX_BROKEN) {
				n->stats.resets++;
				vdev_set_needs_reset(d);
				break;
			}
			if (res == NET_RX_WAIT) {
				/*
				 * Back-pressure: the tap is not read until the guest adds
				 * buffers, which it now tells us about; unless some raced in.
				 */
				vq_set_notify(&d->vqs[NET_RXQ], true);
				if (vq_has_pending(&d->vqs[NET_RXQ], n->rx_held))
					continue;
				n->stats.rx_ring_full++;
				break;
			}
		}
		if (budget-- == 0) {
			vdev_kick_queue(d, NET_RXQ);
			break;
		}
		if (!n->rx_len && !net_rx_read_tap(d, n))
			break;
	}
	if (d->vqs[NET_RXQ].used_idx != used_before)
		vdev_notify_used(d, NET_RXQ);
}

/* ---- ops --------------------------------------------------------------- */

/*
 * TX: no driver notifications while the guest keeps the queue busy. A pass
 * that ends with more chains already available leaves them off and comes
 * back through its own eventfd (after the loop has served everything else);
 * only a pass that finds the queue drained turns them on again, then checks
 * once more for a chain that raced the switch.
 */
static void net_tx_pass(struct vdev *d, struct net_dev *n)
{
	struct virtqueue *vq = &d->vqs[NET_TXQ];

	vq_set_notify(vq, false);
	if (vdev_drain_queue(d, NET_TXQ, &n->chain, net_tx_chain) != VQ_OK) {
		n->stats.resets++;
		return;
	}
	/* Paused by the TX rate limiter: its timer, not a kick, brings us back. */
	if (ratelimiter_blocked(&n->tx_rl))
		return;
	if (vq_has_pending(vq, 0)) {
		vdev_kick_queue(d, NET_TXQ);
		return;
	}
	vq_set_notify(vq, true);
	if (vq_has_pending(vq, 0))
		vdev_kick_queue(d, NET_TXQ);
}

static void net_process_queue(struct vdev *d, unsigned int q)
{
	struct net_dev *n = d->priv;

	if (q == NET_RXQ)
		net_rx_pass(d, n);
	else if (q == NET_TXQ && !ratelimiter_blocked(&n->tx_rl))
		net_tx_pass(d, n);
}

static int net_timer_fd(struct vdev *d, unsigned int i)
{
	const struct net_dev *n = d->priv;

	if (i == NET_RX_TIMER)
		return ratelimiter_fd(&n->rx_rl);
	return i == NET_TX_TIMER ? ratelimiter_fd(&n->tx_rl) : -1;
}

static uint32_t net_process_timer(struct vdev *d, unsigned int i)
{
	struct net_dev *n = d->priv;

	if (i == NET_RX_TIMER)
		return ratelimiter_resume(&n->rx_rl, 1u << NET_RXQ);
	return i == NET_TX_TIMER ? ratelimiter_resume(&n->tx_rl, 1u << NET_TXQ) : 0;
}

static int net_event_fd(struct vdev *d)
{
	const struct net_dev *n = d->priv;

	return n->tap_fd;
}

static void net_process_events(struct vdev *d)
{
	net_rx_pass(d, d->priv);
}

/* vCPU thread (DRIVER_OK): record the offloads; the RX pass it kicks applies them. */
static int net_activate(struct vdev *d)
{
	struct net_dev *n = d->priv;

	n->offloads_want = net_tap_offloads(net_negotiated(d));
	n->offloads_dirty = true;
	/* Frames may also have queued on the tap before the driver was ready. */
	vdev_kick_queue(d, NET_RXQ);
	return 0;
}

static void net_reset(struct vdev *d)
{
	struct net_dev *n = d->priv;

	if (n->rx_len)
		n->stats.rx_dropped++;
	n->rx_len = 0;
	n->offloads_want = 0;
	n->offloads_dirty = true;
}

const struct virtio_dev_ops net_virtio_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_max_size = NET_QUEUE_SIZE,
    .config_len = NET_CONFIG_BYTES,
    .read_config = net_read_config,
    .write_config = NULL, /* §5.1.4: the mac is read-only once VERSION_1 is negotiated */
    .activate = net_activate,
    .reset = net_reset,
    .process_queue = net_process_queue,
    .event_fd = net_event_fd,
    .event_fd_edge = true,
    .process_events = net_process_events,
    .timer_fd = net_timer_fd,
    .process_timer = net_process_timer,
};

int net_open(struct net_dev *n, const struct net_config *cfg, char *err, size_t len)
{
	memset(n, 0, sizeof(*n));
	n->tap_fd = -1;
	ratelimiter_init(&n->rx_rl);
	ratelimiter_init(&n->tx_rl);
	if (!cfg->host_dev_name || strlen(cfg->host_dev_name) >= IFNAMSIZ) {
		snprintf(err, len, "host_dev_name must be 1 to %d bytes", IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	snprintf(n->name, sizeof(n->name), "%s", cfg->host_dev_name);
	n->rx_buf = malloc(NET_MAX_CHAIN_BYTES);
	if (!n->rx_buf) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	n->tap_fd = cfg->tap_fd >= 0 ? cfg->tap_fd : netdev_tap_open(n->name, err, len);
	if (n->tap_fd < 0) {
		int ret = n->tap_fd;

		free(n->rx_buf);
		n->rx_buf = NULL;
		return ret;
	}
	memcpy(n->mac, cfg->mac, NET_MAC_BYTES);
	n->has_mac = cfg->has_mac;
	n->mtu = (uint16_t)cfg->mtu;
	return 0;
}

int net_open_limiters(struct net_dev *n, const struct net_config *cfg)
{
	int ret = ratelimiter_open(&n->rx_rl, &cfg->rx_rate_limiter);

	if (!ret)
		ret = ratelimiter_open(&n->tx_rl, &cfg->tx_rate_limiter);
	if (ret)
		log_err("virtio-net %s: rate limiter timer: %s", n->name, strerror(-ret));
	return ret;
}

void net_close(struct net_dev *n)
{
	ratelimiter_close(&n->rx_rl);
	ratelimiter_close(&n->tx_rl);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
	free(n->rx_buf);
	n->rx_buf = NULL;
}
