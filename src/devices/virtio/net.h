/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device (virtio 1.2 §5.1) over one TAP fd opened
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR with a 12-byte vnet header: queue 0 receives
 * (tap -> guest), queue 1 transmits (guest -> tap). TX chains are parsed by
 * net_tx.c first; RX frames are read into one bounce buffer and copied only
 * into the guest's writable segments. No guest buffer: kiln stops reading.
 */
#ifndef KILN_VIRTIO_NET_H
#define KILN_VIRTIO_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/net_hdr.h"
#include "devices/virtio/virtio.h"
#include "vmm/ratelimit.h"

#define NET_QUEUE_SIZE	 256
#define NET_RXQ		 0
#define NET_TXQ		 1
#define NET_CONFIG_BYTES 12 /* mac[6], status, max_virtqueue_pairs, mtu (§5.1.4) */
#define NET_MAC_BYTES	 6

struct net_config {
	const char *iface_id;	   /* API iface_id, for log lines */
	const char *host_dev_name; /* the tap's name (< IFNAMSIZ bytes) */
	uint8_t mac[NET_MAC_BYTES];
	bool has_mac; /* guest_mac given: offer VIRTIO_NET_F_MAC */
	uint32_t mtu; /* 0: not set; else 68..65535, offered as VIRTIO_NET_F_MTU */
	int tap_fd;   /* opened before the jail dropped privileges, or -1: open by name */
	struct rl_config rx_rate_limiter; /* applied by net_open_limiters() */
	struct rl_config tx_rate_limiter;
};

/* Per-device counters for metrics; written by the main thread only. */
struct net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped; /* frames kiln read but could not give the guest (buffers too small) */
	uint64_t
	    rx_ring_full; /* passes that stopped reading the tap: no guest buffer (back-pressure) */
	uint64_t rx_errors; /* tap read failures */
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_refused; /* chains the parser refused (net_tx_err) */
	uint64_t tx_errors;  /* tap write failures: the frame is dropped */
	uint64_t resets;     /* malformed rings: device in NEEDS_RESET */
};

struct net_dev {
	int tap_fd; /* owned: closed by net_close() */
	char name[IFNAMSIZ];
	uint8_t mac[NET_MAC_BYTES];
	bool has_mac;
	uint16_t mtu; /* 0: VIRTIO_NET_F_MTU not offered */
	struct net_stats stats;
	/* Rate limiters: their timer fds are owned, closed by net_close(). */
	struct ratelimiter rx_rl; /* frames from the tap to the guest */
	struct ratelimiter tx_rl; /* frames from the guest to the tap */
	bool rx_admitted;	  /* the pending frame (rx_len) was already charged */
	/*
	 * TUNSETOFFLOAD for the negotiated features: activation and reset run on
	 * a vCPU thread (whose filter has no ioctl), so they only record it; the
	 * main thread applies it before it next reads the tap.
	 */
	unsigned int offloads_want;
	bool offloads_dirty;
	/* RX: one frame read from the tap, waiting for guest buffers (rx_len 0: none). */
	uint8_t *rx_buf; /* owned, NET_MAX_CHAIN_BYTES */
	uint32_t rx_len;
	uint16_t rx_held; /* chains given back at the last NET_RX_WAIT: too few for rx_len */
	uint16_t rx_heads[NET_QUEUE_SIZE];
	uint32_t rx_used[NET_QUEUE_SIZE];
	/* Scratch, too big for the stack; main thread only. */
	struct vq_chain rx_first; /* the chain holding the header (num_buffers written last) */
	struct vq_chain chain;
	struct net_tx_req tx;
};

/* Take @cfg->tap_fd or open the tap by name; 0 or -errno with a reason in @err. */
int net_open(struct net_dev *n, const struct net_config *cfg, char *err, size_t len);
void net_close(struct net_dev *n);
/*
 * The rx and tx rate limiters from @cfg, with their pause timers (once, at VM
 * build: no timerfd can be made after the runtime filter is on). 0 or -errno.
 */
int net_open_limiters(struct net_dev *n, const struct net_config *cfg);
/* Timer index of each limiter (virtio_dev_ops.timer_fd). */
#define NET_RX_TIMER 0
#define NET_TX_TIMER 1

/* Features for vdev_init() (§5.1.3). */
uint64_t net_features(const struct net_dev *n);

/*
 * Negotiated guest receive offloads as TUNSETOFFLOAD flags: TUN_F_CSUM for
 * GUEST_CSUM, TSO4/TSO6 only on top of it (the tap refuses TSO without CSUM).
 */
unsigned int net_tap_offloads(uint64_t negotiated);

/* Device id 1, queues RX and TX of NET_QUEUE_SIZE; priv is the struct net_dev. */
extern const struct virtio_dev_ops net_virtio_ops;

#endif
