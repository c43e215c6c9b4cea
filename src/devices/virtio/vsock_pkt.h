/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock packets (virtio 1.2 §5.10.6): the 44-byte header, the parser
 * that turns a guest TX chain into a typed packet (header copied once, then
 * checked: length bounded, CIDs, type and op validated), and the encoder for
 * the headers kiln writes into RX buffers. Pure: no syscalls.
 */
#ifndef KILN_VIRTIO_VSOCK_PKT_H
#define KILN_VIRTIO_VSOCK_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/queue.h"

#define VSOCK_HDR_BYTES	    44
#define VSOCK_HOST_CID	    2
#define VSOCK_MIN_GUEST_CID 3
#define VSOCK_MAX_GUEST_CID 0xfffffffeULL /* -1U is VMADDR_CID_ANY; upper 32 bits reserved */
#define VSOCK_MAX_PAYLOAD   (64u * 1024)  /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */
#define VSOCK_TYPE_STREAM   1
#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2
#define VSOCK_SHUTDOWN_ALL  (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

/* §5.10.6 operations. */
enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* The header in host order (the wire is little-endian, as is x86-64). */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_BYTES, "virtio 1.2 §5.10.6 header");

/* Why a TX packet was refused: one value per rule. */
enum vsock_pkt_err {
	VSOCK_PKT_OK = 0,
	VSOCK_PKT_ERR_SHORT,	/* fewer than 44 readable bytes: no header to answer */
	VSOCK_PKT_ERR_WRITABLE, /* a TX chain with device-writable buffers */
	VSOCK_PKT_ERR_SRC_CID,	/* src_cid is not the guest's CID (spoofed) */
	VSOCK_PKT_ERR_DST_CID,	/* dst_cid is not the host (2) */
	VSOCK_PKT_ERR_TYPE,	/* type is not STREAM */
	VSOCK_PKT_ERR_OP,	/* unknown op */
	VSOCK_PKT_ERR_LEN,	/* len beyond the chain, or above VSOCK_MAX_PAYLOAD */
	VSOCK_PKT_ERR_CTRL_LEN, /* a payload on an op that carries none */
	VSOCK_PKT_ERR_FLAGS,	/* SHUTDOWN with unknown bits, or flags on other ops */
	VSOCK_PKT_ERR_COUNT
};

struct vsock_pkt {
	struct vsock_hdr hdr; /* the guest's header, copied once */
	/* RW only: payload = chain bytes [VSOCK_HDR_BYTES, VSOCK_HDR_BYTES + hdr.len). */
	const struct vq_chain *chain;
};

/*
 * Parse TX chain @c of a device whose guest has @guest_cid. On any error but
 * VSOCK_PKT_ERR_SHORT, @p->hdr still holds the header (so a reset can be
 * addressed); nothing of the payload is read here.
 */
enum vsock_pkt_err vsock_pkt_parse(const struct vq_chain *c, uint64_t guest_cid,
				   struct vsock_pkt *p);
const char *vsock_pkt_err_str(enum vsock_pkt_err err);
/* Is the refused packet answered with RST (true) or dropped silently (false)? */
bool vsock_pkt_err_wants_rst(enum vsock_pkt_err err);

/* A header from the host (CID 2) to the guest. */
void vsock_hdr_to_guest(struct vsock_hdr *h, uint64_t guest_cid, uint32_t host_port,
			uint32_t guest_port, enum vsock_op op);

/*
 * The host side's "CONNECT <port>\n" at the start of @buf (@n bytes read so
 * far): 1 with *port and *line_len set, 0 if more bytes are needed, -EINVAL
 * if it can never become a valid command (port: 1-10 decimal digits, at most
 * 4294967295, no sign, no leading zero unless it is 0; nothing else on the line).
 */
int vsock_parse_connect(const char *buf, size_t n, uint32_t *port, size_t *line_len);

#endif
