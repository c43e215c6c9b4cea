/* SPDX-License-Identifier: MIT */
/*
 * virtio-net TX parsing (virtio 1.2 §5.1.6.2): a chain becomes a struct
 * net_tx_req or a refusal before a byte of it reaches the tap. The header is
 * copied out of guest memory once and rebuilt from checked fields, so the
 * guest cannot change what the kernel sees after the checks.
 */
#include "devices/virtio/net_hdr.h"

#include <string.h>

static const char *const net_tx_err_names[NET_TX_ERR_COUNT] = {
    [NET_TX_OK] = "ok",
    [NET_TX_ERR_WRITABLE] = "device-writable buffer in a TX chain",
    [NET_TX_ERR_SHORT] = "shorter than the 12-byte header plus an Ethernet header",
    [NET_TX_ERR_TOO_BIG] = "header plus frame larger than 65562 bytes",
    [NET_TX_ERR_TOO_MANY_SEGS] = "more than 64 frame segments",
    [NET_TX_ERR_FLAGS] = "unknown or RX-only header flags",
    [NET_TX_ERR_CSUM_NOT_NEG] = "NEEDS_CSUM without VIRTIO_NET_F_CSUM",
    [NET_TX_ERR_CSUM_RANGE] = "checksum start/offset beyond the frame",
    [NET_TX_ERR_GSO_TYPE] = "unknown gso_type",
    [NET_TX_ERR_GSO_NOT_NEG] = "GSO type not negotiated",
    [NET_TX_ERR_GSO_FIELDS] = "GSO without NEEDS_CSUM, gso_size 0 or hdr_len beyond the frame",
};

const char *net_tx_err_str(enum net_tx_err err)
{
	if ((unsigned int)err >= NET_TX_ERR_COUNT)
		return "unknown virtio-net TX error";
	return net_tx_err_names[err];
}

static bool net_tx_neg(uint64_t negotiated, unsigned int bit)
{
	return negotiated & (1ULL << bit);
}

static uint16_t net_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* §5.1.6.2.1: checksum and GSO fields, each against what was negotiated. */
static enum net_tx_err net_tx_check_hdr(const struct virtio_net_hdr *h, uint32_t frame_len,
					uint64_t negotiated)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_TX_ERR_FLAGS;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!net_tx_neg(negotiated, VIRTIO_NET_F_CSUM))
			return NET_TX_ERR_CSUM_NOT_NEG;
		if ((uint32_t)h->csum_start + h->csum_offset + 2u > frame_len)
			return NET_TX_ERR_CSUM_RANGE;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return h->gso_type == VIRTIO_NET_HDR_GSO_NONE ? NET_TX_OK : NET_TX_ERR_GSO_TYPE;
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return NET_TX_ERR_GSO_TYPE;
	if (!net_tx_neg(negotiated, gso == VIRTIO_NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_HOST_TSO4
								    : VIRTIO_NET_F_HOST_TSO6))
		return NET_TX_ERR_GSO_NOT_NEG;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0 || h->hdr_len > frame_len)
		return NET_TX_ERR_GSO_FIELDS;
	return NET_TX_OK;
}

/* The header's fields as little-endian values (§5.1.6: le16 in 1.x). */
static void net_tx_decode_hdr(const uint8_t raw[NET_HDR_BYTES], struct virtio_net_hdr *h)
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = net_le16(raw + 2);
	h->gso_size = net_le16(raw + 4);
	h->csum_start = net_le16(raw + 6);
	h->csum_offset = net_le16(raw + 8);
	h->num_buffers = 0; /* §5.1.6.2: unused on transmit; the tap skips it */
}

/* The frame's pieces: every readable byte after the first NET_HDR_BYTES. */
static enum net_tx_err net_tx_map_frame(const struct vq_chain *c, struct net_tx_req *r)
{
	uint64_t skip = NET_HDR_BYTES;
	unsigned int n = c->nsegs < VQ_MAX_SEGS ? c->nsegs : VQ_MAX_SEGS;

	r->niov = 1;
	for (unsigned int i = 0; i < n; i++) {
		const struct vq_seg *s = &c->segs[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		if (r->niov == NET_TX_MAX_SEGS + 1)
			return NET_TX_ERR_TOO_MANY_SEGS;
		r->iov[r->niov].iov_base = s->host + skip;
		r->iov[r->niov].iov_len = s->len - skip;
		r->niov++;
		skip = 0;
	}
	return NET_TX_OK;
}

enum net_tx_err net_tx_parse(const struct vq_chain *c, uint64_t negotiated, struct net_tx_req *r)
{
	uint8_t raw[NET_HDR_BYTES];
	enum net_tx_err err;

	memset(&r->hdr, 0, sizeof(r->hdr));
	r->frame_len = 0;
	r->niov = 0;
	if (c->writable_bytes)
		return NET_TX_ERR_WRITABLE;
	if (c->readable_bytes > NET_MAX_CHAIN_BYTES)
		return NET_TX_ERR_TOO_BIG;
	if (c->readable_bytes < NET_HDR_BYTES + NET_ETH_HLEN)
		return NET_TX_ERR_SHORT;
	if (vq_chain_read(c, 0, raw, NET_HDR_BYTES) != NET_HDR_BYTES)
		return NET_TX_ERR_SHORT;
	r->frame_len = (uint32_t)(c->readable_bytes - NET_HDR_BYTES);
	net_tx_decode_hdr(raw, &r->hdr);
	err = net_tx_check_hdr(&r->hdr, r->frame_len, negotiated);
	if (err)
		return err;
	err = net_tx_map_frame(c, r);
	if (err)
		return err;
	r->iov[0].iov_base = &r->hdr;
	r->iov[0].iov_len = NET_HDR_BYTES;
	return NET_TX_OK;
}
