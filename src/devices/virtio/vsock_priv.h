/* SPDX-License-Identifier: MIT */
/*
 * Between vsock.c (the virtio side) and vsock_conn.c (the host side): the
 * connection table, credit accounting and host-socket helpers. Main thread,
 * device lock held, for all of them.
 */
#ifndef KILN_VIRTIO_VSOCK_PRIV_H
#define KILN_VIRTIO_VSOCK_PRIV_H

#include <sys/types.h>
#include <sys/uio.h>

#include "devices/virtio/vsock.h"

#define VSOCK_LOG_BURST 5 /* guest-triggered log lines per second */

/* Write the device's kick eventfd: the main loop comes back to the device. */
void vsock_kick(struct vsock_dev *v);

/* The open connection on these ports (REQUEST sent or later), or NULL. */
struct vsock_conn *vsock_find(struct vsock_dev *v, uint32_t guest_port, uint32_t host_port);
/* Close the host socket and free the slot (no packet to the guest). */
void vsock_conn_free(struct vsock_dev *v, struct vsock_conn *c);
/* Owe the guest an RST for ports with no connection (bounded; dropped when full). */
void vsock_queue_rst(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port);
/* Free the connection and owe the guest its RST. */
void vsock_conn_reset(struct vsock_dev *v, struct vsock_conn *c);
/* The same after the guest broke the protocol: counted and logged (rate-limited). */
void vsock_violation(struct vsock_dev *v, struct vsock_conn *c, const char *why);

/* Bytes the guest says it can still take (§5.10.6.3). */
uint32_t vsock_peer_credit(const struct vsock_conn *c);
/* Take the guest's buf_alloc/fwd_cnt; false if it claims more consumed than sent. */
bool vsock_take_credit(struct vsock_conn *c, const struct vsock_hdr *h);
/* The guest said SHUTDOWN: once its bytes are delivered, finish the connection. */
void vsock_conn_check_shutdown(struct vsock_dev *v, struct vsock_conn *c);

/* An RW packet's payload to the host socket (credit checked; reset on violation). */
void vsock_conn_forward(struct vsock_dev *v, struct vsock_conn *c, const struct vsock_pkt *p);
/* A guest REQUEST for no connection: connect to <uds_path>_<dst_port>, or RST. */
void vsock_guest_connect(struct vsock_dev *v, const struct vsock_hdr *h);

/* The iovecs of chain bytes [off, off + len); returns how many (at most @max). */
int vsock_chain_iov(const struct vq_chain *ch, uint64_t off, uint64_t len, struct iovec *iov,
		    int max);
/* read(2) into the iovecs in order; bytes, or the first read's result if none. */
ssize_t vsock_read_iov(int fd, const struct iovec *iov, int niov);

/* Apply a pending device reset (close everything), then serve socket events. */
void vsock_apply_reset(struct vsock_dev *v);
void vsock_host_events(struct vsock_dev *v);

#endif
