/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2 §5.10), device id 19: rx, tx and event queues;
 * the guest has CID >= 3, the host CID 2. Host side as Firecracker's hybrid
 * scheme over Unix sockets: a host process connects to uds_path and sends
 * "CONNECT <port>\n" (answer "OK <host_port>\n", then bytes flow); a guest
 * connection to host port P is connected to "<uds_path>_<P>". Stream sockets
 * only, credit-based flow control, a bounded buffer per connection and a
 * bounded number of connections; a connection that breaks the protocol is
 * reset. Every socket is non-blocking and lives in the device's own epoll
 * set, which the main loop watches through event_fd.
 */
#ifndef KILN_VIRTIO_VSOCK_H
#define KILN_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/virtio/virtio.h"
#include "devices/virtio/vsock_pkt.h"
#include "vmm/evloop.h"

#define VSOCK_QUEUE_SIZE   256
#define VSOCK_RXQ	   0
#define VSOCK_TXQ	   1
#define VSOCK_EVQ	   2
#define VSOCK_CONFIG_BYTES 8 /* §5.10.4: le64 guest_cid */

#define VSOCK_MAX_CONNS		  64	       /* host + guest initiated, together */
#define VSOCK_CONN_BUF_BYTES	  (64u * 1024) /* our buf_alloc: guest->host bytes buffered */
#define VSOCK_CREDIT_UPDATE_BYTES (VSOCK_CONN_BUF_BYTES / 4)
#define VSOCK_RST_QUEUE		  (2 * VSOCK_MAX_CONNS) /* RSTs owed to the guest, no connection */
#define VSOCK_CMD_MAX_BYTES	  32			/* "CONNECT 4294967295\n" is 19 */
#define VSOCK_LISTEN_BACKLOG	  16
#define VSOCK_FIRST_LOCAL_PORT	  0x40000000u /* host ports of host-initiated connections */
/*
 * How long a host connection may stay in HOST_CMD (no complete "CONNECT"
 * line yet) and then in HOST_REQ (the guest has not answered the REQUEST):
 * 2 s each, as Firecracker's connect timeout. After it kiln closes the host
 * socket (RST to the guest for a REQUEST it was sent) and frees the slot, so
 * idle peers cannot hold all VSOCK_MAX_CONNS slots.
 */
#define VSOCK_PENDING_TIMEOUT_NS (2000ULL * 1000 * 1000)
/* sun_path (108) minus NUL and "_4294967295": the longest usable uds_path. */
#define VSOCK_UDS_PATH_MAX 96

struct vsock_config {
	uint64_t guest_cid;
	const char *uds_path;
};

enum vsock_conn_state {
	VSOCK_CONN_FREE = 0,
	VSOCK_CONN_HOST_CMD, /* host peer accepted; waiting for "CONNECT <port>\n" */
	VSOCK_CONN_HOST_REQ, /* REQUEST owed or sent to the guest; waiting for RESPONSE */
	VSOCK_CONN_ESTABLISHED,
};

/* Control packets a connection owes the guest (vsock_conn.pending). */
#define VSOCK_PEND_REQUEST  1u
#define VSOCK_PEND_RESPONSE 2u
#define VSOCK_PEND_CREDIT   4u
#define VSOCK_PEND_SHUTDOWN 8u

struct vsock_conn {
	enum vsock_conn_state state;
	int fd;	      /* the host-side Unix stream socket, owned */
	uint32_t gen; /* epoll tag: events of an earlier use of the slot are ignored */
	uint32_t guest_port, host_port;
	uint32_t pending;
	uint64_t deadline_ns; /* HOST_CMD/HOST_REQ: closed at this CLOCK_MONOTONIC time */
	bool readable;	      /* edge-triggered: the host socket may have bytes for the guest */
	bool host_hup;	      /* the host peer is gone: reset once its bytes are delivered */
	bool host_eof;
	uint32_t peer_shutdown; /* SHUTDOWN flags the guest sent */
	/* guest -> host: rx from the guest, fwd to the host socket; buffered = rx - fwd. */
	uint32_t fwd_cnt, fwd_reported;
	uint8_t *buf; /* VSOCK_CONN_BUF_BYTES ring, owned; allocated on the first short write */
	uint32_t buf_head, buf_len;
	/* host -> guest: what we sent, what the guest says it can take. */
	uint32_t tx_cnt;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
};

struct vsock_stats {
	uint64_t tx_packets, rx_packets;
	uint64_t tx_bytes, rx_bytes; /* payload: guest->host, host->guest */
	uint64_t bad_packets;	     /* refused by the parser */
	uint64_t violations;	     /* connections reset for breaking the protocol */
	uint64_t conns_opened, conns_refused;
	uint64_t conns_timed_out; /* host connections closed by VSOCK_PENDING_TIMEOUT_NS */
	uint64_t resets;	  /* malformed chains (walker errors, bad RX buffers) */
};

struct vsock_rst {
	uint32_t host_port, guest_port;
};

struct vsock_dev {
	uint64_t guest_cid;
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	int epfd;      /* the device's own epoll set: listener, kick, connections */
	int listen_fd; /* bound to uds_path */
	int kick_fd;   /* eventfd: come back to the device from the main loop */
	/* One timer for every pending host connection: fires at the earliest deadline. */
	struct evloop_timer timer;
	bool timer_armed;
	dev_t sock_dev; /* the socket inode we bound, so close unlinks only ours */
	ino_t sock_ino;
	bool reset_pending; /* status 0 from a vCPU: drop connections on the main thread */
	unsigned int nconns;
	unsigned int rr; /* round-robin start for RX */
	uint32_t next_local_port;
	uint32_t next_gen;
	struct vsock_conn conns[VSOCK_MAX_CONNS];
	struct vsock_rst rsts[VSOCK_RST_QUEUE];
	unsigned int rst_head, rst_len;
	struct vsock_stats stats;
	struct vdev *vdev;     /* set by vsock_attach */
	struct vq_chain chain; /* scratch, main thread only */
};

/* Bind and listen on cfg->uds_path, create the epoll set; 0 or -errno. */
int vsock_open(struct vsock_dev *v, const struct vsock_config *cfg);
/* The transport that carries the device (for queue access from events). */
void vsock_attach(struct vsock_dev *v, struct vdev *d);
/* Close every connection and the listener, unlink uds_path if still ours. */
void vsock_close(struct vsock_dev *v);

/*
 * Close the host connections in HOST_CMD or HOST_REQ whose deadline is at or
 * before @now_ns (CLOCK_MONOTONIC) and re-arm the timer for the earliest one
 * left. Runs when the timer fires; @now_ns is a parameter for tests.
 */
void vsock_expire(struct vsock_dev *v, uint64_t now_ns);

/* VERSION_1, EVENT_IDX, INDIRECT_DESC. */
uint64_t vsock_features(void);

extern const struct virtio_dev_ops vsock_virtio_ops;

#endif
