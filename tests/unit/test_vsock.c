/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock through its rings with real Unix sockets in a temporary
 * directory: guest- and host-initiated connections, bytes both ways, the
 * credit rule, a refused connect, reset on status 0, a bad RX buffer, the
 * deadline of pending host connections (vsock_expire with a chosen clock).
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock.h"

#define QSIZE	  16
#define TX_GPA	  0x1000 /* desc; avail +0x1000, used +0x2000 */
#define RX_GPA	  0x4000
#define HDR_GPA	  0x10000
#define DATA_GPA  0x20000
#define RXBUF_GPA 0x40000
#define RXBUF_LEN (VSOCK_HDR_BYTES + 4096)
#define CID	  5
#define GPORT	  1000

struct tv {
	struct unit_gm *u;
	struct vsock_dev *v;
	struct vdev d;
	char dir[64], uds[96];
	int listener; /* at <uds>_5000, or -1 */
	uint16_t tx_avail, rx_avail, rx_used_seen;
};

static void tv_queue(struct tv *t, unsigned int q, uint64_t base)
{
	struct virtqueue *vq = &t->d.vqs[q];

	vq->size = QSIZE;
	vq->desc_gpa = base;
	vq->avail_gpa = base + 0x1000;
	vq->used_gpa = base + 0x2000;
	assert_int_equal(vq_activate(vq, &t->u->gm), VQ_OK);
}

static int tv_unix(const char *path, bool listen_it)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listen_it) {
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(fd, 8), 0);
	} else {
		assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	return fd;
}

static struct tv *tv_new(bool with_listener)
{
	struct tv *t = calloc(1, sizeof(*t));
	struct vsock_config cfg = {.guest_cid = CID};
	char path[128];

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/kiln-unit-vsock-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->uds, sizeof(t->uds), "%s/v", t->dir);
	t->listener = -1;
	if (with_listener) {
		snprintf(path, sizeof(path), "%s_5000", t->uds);
		t->listener = tv_unix(path, true);
	}
	t->u = unit_gm_new(MiB(1));
	t->v = calloc(1, sizeof(*t->v));
	assert_non_null(t->v);
	cfg.uds_path = t->uds;
	assert_int_equal(vsock_open(t->v, &cfg), 0);
	vdev_init(&t->d, &vsock_virtio_ops, t->v, vsock_features(), &t->u->gm);
	vsock_attach(t->v, &t->d);
	tv_queue(t, VSOCK_RXQ, RX_GPA);
	tv_queue(t, VSOCK_TXQ, TX_GPA);
	t->d.drv_features = t->d.features;
	t->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
	return t;
}

static void tv_free(struct tv *t)
{
	char path[128];

	vsock_close(t->v);
	vdev_destroy(&t->d);
	if (t->listener >= 0) {
		close(t->listener);
		snprintf(path, sizeof(path), "%s_5000", t->uds);
		unlink(path);
	}
	assert_int_equal(access(t->uds, F_OK), -1); /* vsock_close unlinked its socket */
	rmdir(t->dir);
	free(t->v);
	unit_gm_free(t->u);
	free(t);
}

static void tv_avail(struct tv *t, uint64_t base, uint16_t *idx, uint16_t head)
{
	uint8_t *avail = unit_gpa(t->u, base + 0x1000);

	unit_st16(avail + 4 + 2 * (*idx % QSIZE), head);
	(*idx)++;
	unit_st16(avail + 2, *idx);
}

static void tv_desc(struct tv *t, uint64_t base, uint16_t i, uint64_t gpa, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *d = unit_gpa(t->u, base + 16 * i);

	unit_st64(d, gpa);
	unit_st32(d + 8, len);
	unit_st16(d + 12, flags);
	unit_st16(d + 14, next);
}

/* One TX packet (header, then @len payload bytes of @data) and the TX pass. */
static void tv_send(struct tv *t, uint16_t op, uint32_t dst_port, uint32_t flags, uint32_t fwd_cnt,
		    const void *data, uint32_t len)
{
	struct vsock_hdr h = {.src_cid = CID,
			      .dst_cid = VSOCK_HOST_CID,
			      .src_port = GPORT,
			      .dst_port = dst_port,
			      .len = len,
			      .type = VSOCK_TYPE_STREAM,
			      .op = op,
			      .flags = flags,
			      .buf_alloc = 1 << 20,
			      .fwd_cnt = fwd_cnt};

	memcpy(unit_gpa(t->u, HDR_GPA), &h, sizeof(h));
	if (len)
		memcpy(unit_gpa(t->u, DATA_GPA), data, len);
	tv_desc(t, TX_GPA, 0, HDR_GPA, VSOCK_HDR_BYTES, len ? VRING_DESC_F_NEXT : 0, 1);
	tv_desc(t, TX_GPA, 1, DATA_GPA, len, 0, 0);
	tv_avail(t, TX_GPA, &t->tx_avail, 0);
	vdev_process_queue(&t->d, VSOCK_TXQ);
}

/* Post RX buffers 0..n-1 (writable, RXBUF_LEN each) and run the RX pass. */
static void tv_post_rx(struct tv *t, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		tv_desc(t, RX_GPA, i, RXBUF_GPA + (uint64_t)i * 0x2000, RXBUF_LEN,
			VRING_DESC_F_WRITE, 0);
		tv_avail(t, RX_GPA, &t->rx_avail, i);
	}
	vdev_process_queue(&t->d, VSOCK_RXQ);
}

/* The next RX packet the device pushed; false if there is none. */
static bool tv_rx(struct tv *t, struct vsock_hdr *h, const uint8_t **payload)
{
	uint8_t *used = unit_gpa(t->u, RX_GPA + 0x2000);
	uint32_t id, len;

	if (unit_ld16(used + 2) == t->rx_used_seen)
		return false;
	id = unit_ld32(used + 4 + 8 * (t->rx_used_seen % QSIZE));
	len = unit_ld32(used + 8 + 8 * (t->rx_used_seen % QSIZE));
	t->rx_used_seen++;
	assert_true(id < QSIZE && len >= VSOCK_HDR_BYTES && len <= RXBUF_LEN);
	memcpy(h, unit_gpa(t->u, RXBUF_GPA + (uint64_t)id * 0x2000), sizeof(*h));
	assert_int_equal(len, VSOCK_HDR_BYTES + h->len);
	if (payload)
		*payload = unit_gpa(t->u, RXBUF_GPA + (uint64_t)id * 0x2000 + VSOCK_HDR_BYTES);
	return true;
}

static void tv_expect(struct tv *t, uint16_t op, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_hdr h;

	assert_true(tv_rx(t, &h, NULL));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_cid, VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, CID);
	assert_int_equal(h.src_port, host_port);
	assert_int_equal(h.dst_port, guest_port);
}

/* Guest REQUEST to 5000, kiln connects, RESPONSE; returns the host's end (accepted). */
static int tv_connect(struct tv *t)
{
	int fd;

	tv_post_rx(t, 8);
	tv_send(t, VSOCK_OP_REQUEST, 5000, 0, 0, NULL, 0);
	tv_expect(t, VSOCK_OP_RESPONSE, 5000, GPORT);
	fd = accept4(t->listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_vsock_guest_connection_bytes_both_ways(void **state)
{
	struct tv *t = tv_new(true);
	const uint8_t *payload;
	struct vsock_hdr h;
	char buf[64];
	int fd;

	(void)state;
	fd = tv_connect(t);
	tv_send(t, VSOCK_OP_RW, 5000, 0, 0, "hello host", 10);
	assert_int_equal(read(fd, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "hello host", 10);
	assert_int_equal(write(fd, "hi guest", 8), 8);
	vdev_process_events(&t->d);
	assert_true(tv_rx(t, &h, &payload));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 8);
	assert_memory_equal(payload, "hi guest", 8);
	assert_int_equal(h.buf_alloc, VSOCK_CONN_BUF_BYTES);
	assert_int_equal(h.fwd_cnt, 10); /* the 10 bytes reached the host socket */
	/* SHUTDOWN both ways: kiln answers RST and closes the host end. */
	tv_send(t, VSOCK_OP_SHUTDOWN, 5000, VSOCK_SHUTDOWN_ALL, 8, NULL, 0);
	tv_expect(t, VSOCK_OP_RST, 5000, GPORT);
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(t->v->nconns, 0);
	assert_int_equal(t->v->stats.tx_bytes, 10);
	assert_int_equal(t->v->stats.rx_bytes, 8);
	close(fd);
	tv_free(t);
}

static void test_vsock_refused_connect_and_unknown_connection_get_rst(void **state)
{
	struct tv *t = tv_new(false);

	(void)state;
	tv_post_rx(t, 8);
	tv_send(t, VSOCK_OP_REQUEST, 5000, 0, 0, NULL, 0); /* nobody listens at <uds>_5000 */
	tv_expect(t, VSOCK_OP_RST, 5000, GPORT);
	tv_send(t, VSOCK_OP_RW, 6000, 0, 0, "x", 1);
	tv_expect(t, VSOCK_OP_RST, 6000, GPORT);
	tv_send(t, VSOCK_OP_RST, 6000, 0, 0, NULL, 0); /* an RST is never answered */
	assert_int_equal(t->v->stats.conns_refused, 1);
	assert_int_equal(t->v->nconns, 0);
	tv_free(t);
}

static void test_vsock_credit_overrun_resets_the_connection(void **state)
{
	static uint8_t blob[VSOCK_MAX_PAYLOAD];
	struct tv *t = tv_new(true);
	struct vsock_hdr h;
	int fd, i;

	(void)state;
	fd = tv_connect(t); /* never read: kiln's writes fill the socket, then its buffer */
	for (i = 0; i < 64 && t->v->nconns; i++)
		tv_send(t, VSOCK_OP_RW, 5000, 0, 0, blob, sizeof(blob));
	assert_int_equal(t->v->nconns, 0);
	assert_int_equal(t->v->stats.violations, 1);
	while (tv_rx(t, &h, NULL) && h.op == VSOCK_OP_CREDIT_UPDATE)
		;
	assert_int_equal(h.op, VSOCK_OP_RST);
	close(fd);
	tv_free(t);
}

static void test_vsock_fwd_cnt_ahead_of_sent_is_a_violation(void **state)
{
	struct tv *t = tv_new(true);
	int fd;

	(void)state;
	fd = tv_connect(t);
	tv_send(t, VSOCK_OP_CREDIT_UPDATE, 5000, 0, 1, NULL, 0); /* kiln sent 0 bytes */
	tv_expect(t, VSOCK_OP_RST, 5000, GPORT);
	assert_int_equal(t->v->stats.violations, 1);
	close(fd);
	tv_free(t);
}

static void test_vsock_host_connect_request_response_ok(void **state)
{
	struct tv *t = tv_new(false);
	struct vsock_hdr h;
	char line[32] = {0};
	int fd;

	(void)state;
	fd = tv_unix(t->uds, false);
	assert_int_equal(write(fd, "CONNECT 1000\nearly", 18), 18);
	tv_post_rx(t, 8);
	vdev_process_events(&t->d); /* accept */
	vdev_process_events(&t->d); /* the line, REQUEST into an RX buffer */
	assert_true(tv_rx(t, &h, NULL));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, GPORT);
	assert_int_equal(h.src_port, VSOCK_FIRST_LOCAL_PORT);
	tv_send(t, VSOCK_OP_RESPONSE, VSOCK_FIRST_LOCAL_PORT, 0, 0, NULL, 0);
	assert_int_equal(read(fd, line, sizeof(line) - 1), 14);
	assert_string_equal(line, "OK 1073741824\n");
	/* The bytes sent right behind the line reach the guest, and only them. */
	vdev_process_events(&t->d);
	assert_true(tv_rx(t, &h, NULL));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	/* A RESPONSE nobody waits for resets that connection. */
	tv_send(t, VSOCK_OP_RESPONSE, VSOCK_FIRST_LOCAL_PORT, 0, 5, NULL, 0);
	tv_expect(t, VSOCK_OP_RST, VSOCK_FIRST_LOCAL_PORT, GPORT);
	assert_int_equal(read(fd, line, sizeof(line)), 0);
	close(fd);
	tv_free(t);
}

static void test_vsock_bad_connect_line_closes(void **state)
{
	struct tv *t = tv_new(false);
	char c;
	int fd;

	(void)state;
	fd = tv_unix(t->uds, false);
	assert_int_equal(write(fd, "CONNECT x\n", 10), 10);
	vdev_process_events(&t->d);
	vdev_process_events(&t->d);
	assert_int_equal(read(fd, &c, 1), 0);
	assert_int_equal(t->v->nconns, 0);
	close(fd);
	tv_free(t);
}

static uint64_t tv_now_ns(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The device's connect timer: armed, to fire within @max_ns. */
static void tv_expect_timer_armed(struct tv *t, uint64_t max_ns)
{
	struct itimerspec its;
	uint64_t left;

	assert_true(t->v->timer_armed);
	assert_int_equal(timerfd_gettime(t->v->timer.fd, &its), 0);
	left = (uint64_t)its.it_value.tv_sec * 1000000000ULL + (uint64_t)its.it_value.tv_nsec;
	assert_true(left > 0 && left <= max_ns);
}

static void test_vsock_idle_host_connection_times_out(void **state)
{
	struct tv *t = tv_new(false);
	struct vsock_hdr h;
	uint64_t t0 = tv_now_ns();
	char c;
	int fd;

	(void)state;
	assert_false(t->v->timer_armed);
	fd = tv_unix(t->uds, false); /* never sends its CONNECT line */
	vdev_process_events(&t->d);
	assert_int_equal(t->v->nconns, 1);
	tv_expect_timer_armed(t, VSOCK_PENDING_TIMEOUT_NS);
	vsock_expire(t->v, t0 + VSOCK_PENDING_TIMEOUT_NS / 2); /* not yet */
	assert_int_equal(t->v->nconns, 1);
	assert_int_equal(t->v->stats.conns_timed_out, 0);
	tv_expect_timer_armed(t, VSOCK_PENDING_TIMEOUT_NS); /* re-armed for what is left */
	vsock_expire(t->v, tv_now_ns() + VSOCK_PENDING_TIMEOUT_NS);
	assert_int_equal(t->v->nconns, 0);
	assert_int_equal(t->v->stats.conns_timed_out, 1);
	assert_false(t->v->timer_armed); /* nothing pending: no re-arm */
	assert_int_equal(read(fd, &c, 1), 0);
	tv_post_rx(t, 8);
	assert_false(tv_rx(t, &h, NULL)); /* the guest never heard of it */
	close(fd);
	tv_free(t);
}

static void test_vsock_unanswered_request_times_out_with_rst(void **state)
{
	struct tv *t = tv_new(false);
	struct vsock_hdr h;
	char c;
	int fd, idle;

	(void)state;
	fd = tv_unix(t->uds, false);
	assert_int_equal(write(fd, "CONNECT 1000\n", 13), 13);
	tv_post_rx(t, 8);
	vdev_process_events(&t->d); /* accept */
	vdev_process_events(&t->d); /* the line, REQUEST into an RX buffer */
	assert_true(tv_rx(t, &h, NULL));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	idle = tv_unix(t->uds, false); /* a second one, idle, a little later */
	vdev_process_events(&t->d);
	assert_int_equal(t->v->nconns, 2);
	/* Past the REQUEST's deadline only: the guest gets its RST, the idle one stays. */
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (t->v->conns[i].state == VSOCK_CONN_HOST_REQ)
			t->v->conns[i].deadline_ns -= VSOCK_PENDING_TIMEOUT_NS;
	vsock_expire(t->v, tv_now_ns());
	assert_int_equal(t->v->nconns, 1);
	assert_int_equal(t->v->stats.conns_timed_out, 1);
	assert_int_equal(read(fd, &c, 1), 0);
	vdev_process_events(&t->d); /* the RST into an RX buffer */
	tv_expect(t, VSOCK_OP_RST, VSOCK_FIRST_LOCAL_PORT, GPORT);
	tv_expect_timer_armed(t, VSOCK_PENDING_TIMEOUT_NS);
	/* A late RESPONSE finds no connection: RST, nothing else. */
	tv_send(t, VSOCK_OP_RESPONSE, VSOCK_FIRST_LOCAL_PORT, 0, 0, NULL, 0);
	tv_expect(t, VSOCK_OP_RST, VSOCK_FIRST_LOCAL_PORT, GPORT);
	vsock_expire(t->v, tv_now_ns() + VSOCK_PENDING_TIMEOUT_NS);
	assert_int_equal(t->v->nconns, 0);
	assert_int_equal(t->v->stats.conns_timed_out, 2);
	assert_int_equal(read(idle, &c, 1), 0);
	close(idle);
	close(fd);
	tv_free(t);
}

static void test_vsock_status_zero_closes_every_connection(void **state)
{
	struct tv *t = tv_new(true);
	char c;
	int fd;

	(void)state;
	fd = tv_connect(t);
	assert_int_equal(t->v->nconns, 1);
	vsock_virtio_ops.reset(&t->d); /* as from a vCPU: only flagged */
	assert_int_equal(t->v->nconns, 1);
	vdev_process_events(&t->d); /* the main thread closes */
	assert_int_equal(t->v->nconns, 0);
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
	tv_free(t);
}

static void test_vsock_readable_rx_buffer_needs_reset(void **state)
{
	struct tv *t = tv_new(false);

	(void)state;
	tv_desc(t, RX_GPA, 0, RXBUF_GPA, RXBUF_LEN, 0, 0); /* device-readable */
	tv_avail(t, RX_GPA, &t->rx_avail, 0);
	tv_send(t, VSOCK_OP_RW, 6000, 0, 0, "x", 1); /* owes an RST */
	assert_true(t->d.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(unit_ld16(unit_gpa(t->u, RX_GPA + 0x2000) + 2), 1);
	assert_int_equal(unit_ld32(unit_gpa(t->u, RX_GPA + 0x2000) + 8), 0);
	tv_free(t);
}

static void test_vsock_config_space_is_the_cid(void **state)
{
	struct tv *t = tv_new(false);
	uint8_t b[4];

	(void)state;
	vsock_virtio_ops.read_config(&t->d, 0, b, 4);
	assert_int_equal(unit_ld32(b), CID);
	vsock_virtio_ops.read_config(&t->d, 4, b, 4);
	assert_int_equal(unit_ld32(b), 0);
	assert_int_equal(vsock_virtio_ops.device_id, VIRTIO_ID_VSOCK);
	assert_int_equal(vsock_virtio_ops.num_queues, 3);
	tv_free(t);
}

static void test_vsock_open_refusals(void **state)
{
	struct vsock_dev *v = calloc(1, sizeof(*v));
	struct vsock_config cfg = {.guest_cid = 2, .uds_path = "/tmp/never-created"};
	char dir[] = "/tmp/kiln-unit-vsock-XXXXXX", path[128];
	int fd;

	(void)state;
	assert_non_null(v);
	assert_int_equal(vsock_open(v, &cfg), -EINVAL);
	cfg.guest_cid = 3;
	cfg.uds_path =
	    "/tmp/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaa";
	assert_int_equal(vsock_open(v, &cfg), -ENAMETOOLONG);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/taken", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	cfg.uds_path = path;
	assert_int_equal(vsock_open(v, &cfg), -EADDRINUSE);
	assert_int_equal(access(path, F_OK), 0); /* not ours: left alone */
	unlink(path);
	rmdir(dir);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vsock_guest_connection_bytes_both_ways),
	    cmocka_unit_test(test_vsock_refused_connect_and_unknown_connection_get_rst),
	    cmocka_unit_test(test_vsock_credit_overrun_resets_the_connection),
	    cmocka_unit_test(test_vsock_fwd_cnt_ahead_of_sent_is_a_violation),
	    cmocka_unit_test(test_vsock_host_connect_request_response_ok),
	    cmocka_unit_test(test_vsock_bad_connect_line_closes),
	    cmocka_unit_test(test_vsock_idle_host_connection_times_out),
	    cmocka_unit_test(test_vsock_unanswered_request_times_out_with_rst),
	    cmocka_unit_test(test_vsock_status_zero_closes_every_connection),
	    cmocka_unit_test(test_vsock_readable_rx_buffer_needs_reset),
	    cmocka_unit_test(test_vsock_config_space_is_the_cid),
	    cmocka_unit_test(test_vsock_open_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
