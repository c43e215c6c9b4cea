/* SPDX-License-Identifier: MIT */
/*
 * The virtio-vsock TX packet parser (virtio 1.2 §5.10.6): the guest's header
 * is copied out of the chain once and every check runs on the copy, so a
 * second vCPU rewriting the buffer cannot change what was validated.
 */
#include "devices/virtio/vsock_pkt.h"

#include <errno.h>
#include <string.h>

static const char *const vsock_pkt_err_names[VSOCK_PKT_ERR_COUNT] = {
    [VSOCK_PKT_OK] = "ok",
    [VSOCK_PKT_ERR_SHORT] = "header shorter than 44 bytes",
    [VSOCK_PKT_ERR_WRITABLE] = "device-writable buffer in a TX chain",
    [VSOCK_PKT_ERR_SRC_CID] = "source CID is not the guest's",
    [VSOCK_PKT_ERR_DST_CID] = "destination CID is not the host",
    [VSOCK_PKT_ERR_TYPE] = "type is not STREAM",
    [VSOCK_PKT_ERR_OP] = "unknown op",
    [VSOCK_PKT_ERR_LEN] = "len beyond the chain or above 64 KiB",
    [VSOCK_PKT_ERR_CTRL_LEN] = "payload on a control op",
    [VSOCK_PKT_ERR_FLAGS] = "bad flags",
};

const char *vsock_pkt_err_str(enum vsock_pkt_err err)
{
	return err < VSOCK_PKT_ERR_COUNT ? vsock_pkt_err_names[err] : "?";
}

/*
 * A spoofed source or a chain too short to address gets no answer (there is
 * nobody trustworthy to answer); everything else is answered with RST, as
 * §5.10.6.4 does for packets of no known connection.
 */
bool vsock_pkt_err_wants_rst(enum vsock_pkt_err err)
{
	return err != VSOCK_PKT_OK && err != VSOCK_PKT_ERR_SHORT && err != VSOCK_PKT_ERR_WRITABLE &&
	       err != VSOCK_PKT_ERR_SRC_CID;
}

static enum vsock_pkt_err vsock_pkt_check_op(const struct vsock_hdr *h)
{
	switch (h->op) {
	case VSOCK_OP_RW:
		return h->flags ? VSOCK_PKT_ERR_FLAGS : VSOCK_PKT_OK;
	case VSOCK_OP_SHUTDOWN:
		if (h->len)
			return VSOCK_PKT_ERR_CTRL_LEN;
		return h->flags & ~(uint32_t)VSOCK_SHUTDOWN_ALL ? VSOCK_PKT_ERR_FLAGS
								: VSOCK_PKT_OK;
	case VSOCK_OP_REQUEST:
	case VSOCK_OP_RESPONSE:
	case VSOCK_OP_RST:
	case VSOCK_OP_CREDIT_UPDATE:
	case VSOCK_OP_CREDIT_REQUEST:
		if (h->len)
			return VSOCK_PKT_ERR_CTRL_LEN;
		return h->flags ? VSOCK_PKT_ERR_FLAGS : VSOCK_PKT_OK;
	default:
		return VSOCK_PKT_ERR_OP;
	}
}

enum vsock_pkt_err vsock_pkt_parse(const struct vq_chain *c, uint64_t guest_cid,
				   struct vsock_pkt *p)
{
	struct vsock_hdr *h = &p->hdr;

	memset(p, 0, sizeof(*p));
	p->chain = c;
	if (c->readable_bytes < VSOCK_HDR_BYTES ||
	    vq_chain_read(c, 0, h, VSOCK_HDR_BYTES) != VSOCK_HDR_BYTES) {
		memset(h, 0, sizeof(*h));
		return VSOCK_PKT_ERR_SHORT;
	}
	if (c->writable_bytes)
		return VSOCK_PKT_ERR_WRITABLE;
	/* §5.10.6.1: the driver's source CID is its own; anything else is spoofed. */
	if (h->src_cid != guest_cid)
		return VSOCK_PKT_ERR_SRC_CID;
	if (h->dst_cid != VSOCK_HOST_CID)
		return VSOCK_PKT_ERR_DST_CID;
	if (h->type != VSOCK_TYPE_STREAM)
		return VSOCK_PKT_ERR_TYPE;
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > c->readable_bytes - VSOCK_HDR_BYTES) {
		enum vsock_pkt_err op = vsock_pkt_check_op(h);

		return op == VSOCK_PKT_ERR_OP ? op : VSOCK_PKT_ERR_LEN;
	}
	return vsock_pkt_check_op(h);
}

void vsock_hdr_to_guest(struct vsock_hdr *h, uint64_t guest_cid, uint32_t host_port,
			uint32_t guest_port, enum vsock_op op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = guest_cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = (uint16_t)op;
}

#define VSOCK_CONNECT_WORD "CONNECT "
#define VSOCK_PORT_DIGITS  10

int vsock_parse_connect(const char *buf, size_t n, uint32_t *port, size_t *line_len)
{
	size_t wlen = sizeof(VSOCK_CONNECT_WORD) - 1, i, digits = 0;
	uint64_t v = 0;

	if (memcmp(buf, VSOCK_CONNECT_WORD, n < wlen ? n : wlen))
		return -EINVAL;
	if (n <= wlen)
		return 0;
	for (i = wlen; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (++digits > VSOCK_PORT_DIGITS || (digits == 2 && buf[wlen] == '0'))
			return -EINVAL;
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (i == n)
		return 0;
	if (buf[i] != '\n' || digits == 0)
		return -EINVAL;
	*port = (uint32_t)v;
	*line_len = i + 1;
	return 1;
}
