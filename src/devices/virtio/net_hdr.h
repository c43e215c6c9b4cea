/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's guest-visible layout (virtio 1.2 §5.1): feature bits, the
 * 12-byte header every frame carries with VERSION_1 (§5.1.6: num_buffers is
 * always there in 1.x), and the TX request a chain is parsed into before any
 * of it reaches the tap. Pure: net_tx.c parses, the fuzzer drives it.
 */
#ifndef KILN_VIRTIO_NET_HDR_H
#define KILN_VIRTIO_NET_HDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/queue.h"

/* §5.1.3 feature bits kiln offers. */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_MRG_RXBUF	15

/* §5.1.6 header flags and gso types. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80

#define NET_HDR_BYTES 12u
#define NET_ETH_HLEN  14u
#define NET_MIN_MTU   68u
#define NET_MAX_MTU   65535u
/* Header + the largest frame a 64 KiB GSO packet makes: the most kiln moves at once. */
#define NET_MAX_CHAIN_BYTES 65562u
/* Frame segments of one TX chain (Linux sends at most MAX_SKB_FRAGS + 2 = 19). */
#define NET_TX_MAX_SEGS 64u

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_BYTES, "12-byte virtio 1.x net header");

/* Why a TX chain was refused: one value per rule (docs/VIRTIO.md virtio-net). */
enum net_tx_err {
	NET_TX_OK = 0,
	NET_TX_ERR_WRITABLE,	  /* a TX chain has a device-writable buffer */
	NET_TX_ERR_SHORT,	  /* fewer than 12 header + 14 Ethernet bytes */
	NET_TX_ERR_TOO_BIG,	  /* header + frame > NET_MAX_CHAIN_BYTES */
	NET_TX_ERR_TOO_MANY_SEGS, /* more than NET_TX_MAX_SEGS frame segments */
	NET_TX_ERR_FLAGS,	  /* unknown flag bits, or DATA_VALID (RX only) */
	NET_TX_ERR_CSUM_NOT_NEG,  /* NEEDS_CSUM without VIRTIO_NET_F_CSUM */
	NET_TX_ERR_CSUM_RANGE,	  /* csum_start + csum_offset + 2 beyond the frame */
	NET_TX_ERR_GSO_TYPE,	  /* unknown gso_type */
	NET_TX_ERR_GSO_NOT_NEG,	  /* TSO4/TSO6 without HOST_TSO4/HOST_TSO6 */
	NET_TX_ERR_GSO_FIELDS, /* GSO without NEEDS_CSUM, gso_size 0, or hdr_len past the frame */
	NET_TX_ERR_COUNT
};

const char *net_tx_err_str(enum net_tx_err err);

/* A TX chain, checked: a sanitised header (rebuilt, not the guest's bytes) and the frame. */
struct net_tx_req {
	struct virtio_net_hdr hdr; /* what kiln hands the tap; num_buffers 0 */
	uint32_t frame_len;	   /* Ethernet frame bytes after the header */
	unsigned int niov;	   /* iov[0] is &hdr, then the frame's pieces */
	struct iovec iov[NET_TX_MAX_SEGS + 1];
};

/*
 * Parse chain @c (already walked: segments in guest RAM) under the features
 * @negotiated into @r. The header is copied out once (it may span segments)
 * and checked field by field; NET_TX_OK or the first rule broken.
 */
enum net_tx_err net_tx_parse(const struct vq_chain *c, uint64_t negotiated, struct net_tx_req *r);

#endif
