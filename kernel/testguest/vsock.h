/* SPDX-License-Identifier: MIT */
/*
 * The test guest's virtio-vsock driver (virtio 1.2 §5.10): three queues (rx,
 * tx, event) of its own on top of virtio.c's register helpers, polling, one
 * connection at a time for the well-behaved tests; raw packets for the
 * hostile ones. TX is synchronous (one chain in flight, descriptors 0-1).
 */
#ifndef TG_VSOCK_H
#define TG_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib.h"
#include "virtio.h"

#define TV_ID_VSOCK    19
#define TV_HDR_BYTES   44
#define TV_HOST_CID    2
#define TV_RX_BUFS     16
#define TV_RX_PAYLOAD  (64u * 1024)
#define TV_BUF_ALLOC   (256u * 1024) /* what the guest advertises */
#define TV_MAX_PAYLOAD (64u * 1024)

enum tv_op {
	TV_OP_REQUEST = 1,
	TV_OP_RESPONSE = 2,
	TV_OP_RST = 3,
	TV_OP_SHUTDOWN = 4,
	TV_OP_RW = 5,
	TV_OP_CREDIT_UPDATE = 6,
	TV_OP_CREDIT_REQUEST = 7,
};

struct tv_hdr {
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

/* One stream connection as the guest sees it. */
struct tv_conn {
	uint32_t lport, rport;
	uint32_t tx_cnt;		       /* bytes sent */
	uint32_t fwd_cnt, fwd_reported;	       /* bytes received and consumed */
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the host's credit */
};

/* A received packet: its header (a copy) and payload (inside the RX buffer). */
struct tv_pkt {
	struct tv_hdr hdr;
	const uint8_t *data;
	uint32_t used_len;
	uint16_t buf; /* RX buffer index, given back by tv_rx_done */
};

struct tv_dev {
	struct vio_dev *d;
	uint64_t cid;
};

/* Reset, negotiate, three queues, DRIVER_OK, all RX buffers posted. */
bool tv_init(struct tv_dev *t, const struct tg_boot *b, struct tg_str *why);

/* Raw TX of one packet: header @h then @len bytes of @data (0: header only); waits. */
bool tv_tx_raw(struct tv_dev *t, const void *h, uint32_t hlen, const void *data, uint32_t len,
	       struct tg_str *why);
/* A well-formed packet on @c (src/dst CIDs, ports, credit fields filled). */
bool tv_send(struct tv_dev *t, struct tv_conn *c, enum tv_op op, uint32_t flags, const void *data,
	     uint32_t len, struct tg_str *why);

/* Next RX packet within @timeout_tsc; false on timeout. Give it back with tv_rx_done. */
bool tv_recv(struct tv_dev *t, uint64_t timeout_tsc, struct tv_pkt *p);
void tv_rx_done(struct tv_dev *t, const struct tv_pkt *p);

/* Take the credit fields of a packet for @c. */
void tv_take_credit(struct tv_conn *c, const struct tv_hdr *h);
/* Bytes the host still takes on @c. */
uint32_t tv_credit(const struct tv_conn *c);

/* Post an RX buffer that is device-readable (hostile test); returns its index. */
void tv_rx_post_readable(struct tv_dev *t);

#endif
