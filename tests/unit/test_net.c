/* SPDX-License-Identifier: MIT */
/*
 * virtio-net: the TX parser (one test per refusal), and the device over a
 * datagram socketpair standing in for the tap: TX frames reach it, RX frames
 * land only in writable buffers (mergeable or not), a full ring stops kiln
 * reading, and config space / offload mapping.
 */
#include "unit.h"

#include <poll.h>

#include <linux/if_tun.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/vm_spec.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"

#define QSIZE	     8
#define RX_DESC	     0x1000
#define RX_AVAIL     0x2000
#define RX_USED	     0x3000
#define TX_DESC	     0x4000
#define TX_AVAIL     0x5000
#define TX_USED	     0x6000
#define BUF_GPA	     0x10000
#define FRAME_BYTES  60
#define ALL_FEATURES (~0ULL)

/* ---- parser ------------------------------------------------------------ */

struct tchain {
	struct vq_chain c;
	uint8_t mem[70000];
	size_t used;
};

static uint8_t *tc_add(struct tchain *t, uint32_t len, bool writable)
{
	struct vq_seg *s = &t->c.segs[t->c.nsegs++];

	s->host = t->mem + t->used;
	s->len = len;
	s->writable = writable;
	t->used += len;
	if (writable)
		t->c.writable_bytes += len;
	else
		t->c.readable_bytes += len;
	return s->host;
}

static struct tchain *tc_frame(const struct virtio_net_hdr *h, uint32_t frame_len)
{
	struct tchain *t = calloc(1, sizeof(*t));
	uint8_t *p;

	assert_non_null(t);
	p = tc_add(t, NET_HDR_BYTES + frame_len, false);
	memcpy(p, h, NET_HDR_BYTES);
	for (uint32_t i = 0; i < frame_len; i++)
		p[NET_HDR_BYTES + i] = (uint8_t)i;
	return t;
}

static void test_net_tx_parse_rebuilds_split_header(void **state)
{
	struct tchain *t = calloc(1, sizeof(*t));
	struct net_tx_req r;
	uint8_t *a, *b;

	(void)state;
	a = tc_add(t, 5, false);
	b = tc_add(t, 7 + FRAME_BYTES, false);
	memset(a, 0, 5);
	memset(b, 0, 7 + FRAME_BYTES);
	b[5] = 0xee; /* num_buffers: ignored on TX */
	b[6] = 0xee;
	b[7] = 0xab; /* first frame byte */
	assert_int_equal(net_tx_parse(&t->c, 0, &r), NET_TX_OK);
	assert_int_equal(r.frame_len, FRAME_BYTES);
	assert_int_equal(r.niov, 2);
	assert_ptr_equal(r.iov[0].iov_base, &r.hdr);
	assert_int_equal(r.hdr.num_buffers, 0);
	assert_int_equal(r.iov[1].iov_len, FRAME_BYTES);
	assert_int_equal(((uint8_t *)r.iov[1].iov_base)[0], 0xab);
	free(t);
}

struct tx_case {
	struct virtio_net_hdr h;
	uint32_t frame_len;
	uint64_t features;
	enum net_tx_err want;
};

static void test_net_tx_parse_refuses_each_rule(void **state)
{
	const uint8_t csum = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	const uint64_t tso4 = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4;
	const struct tx_case cases[] = {
	    {{0}, FRAME_BYTES, 0, NET_TX_OK},
	    {{0}, NET_ETH_HLEN - 1, 0, NET_TX_ERR_SHORT},
	    {{0}, NET_MAX_CHAIN_BYTES - NET_HDR_BYTES + 1, 0, NET_TX_ERR_TOO_BIG},
	    {{.flags = 4}, FRAME_BYTES, ALL_FEATURES, NET_TX_ERR_FLAGS},
	    {{.flags = VIRTIO_NET_HDR_F_DATA_VALID}, FRAME_BYTES, ALL_FEATURES, NET_TX_ERR_FLAGS},
	    {{.flags = csum, .csum_start = 14, .csum_offset = 16},
	     FRAME_BYTES,
	     0,
	     NET_TX_ERR_CSUM_NOT_NEG},
	    {{.flags = csum, .csum_start = 50, .csum_offset = 9},
	     FRAME_BYTES,
	     ALL_FEATURES,
	     NET_TX_ERR_CSUM_RANGE},
	    {{.flags = csum, .csum_start = 0xffff, .csum_offset = 0xffff},
	     FRAME_BYTES,
	     ALL_FEATURES,
	     NET_TX_ERR_CSUM_RANGE},
	    {{.gso_type = 3}, FRAME_BYTES, ALL_FEATURES, NET_TX_ERR_GSO_TYPE},
	    {{.gso_type = VIRTIO_NET_HDR_GSO_ECN}, FRAME_BYTES, ALL_FEATURES, NET_TX_ERR_GSO_TYPE},
	    {{.flags = csum, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1400},
	     FRAME_BYTES,
	     tso4,
	     NET_TX_ERR_GSO_NOT_NEG},
	    {{.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1400},
	     FRAME_BYTES,
	     tso4,
	     NET_TX_ERR_GSO_FIELDS},
	    {{.flags = csum, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 0},
	     FRAME_BYTES,
	     tso4,
	     NET_TX_ERR_GSO_FIELDS},
	    {{.flags = csum,
	      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	      .gso_size = 1400,
	      .hdr_len = FRAME_BYTES + 1},
	     FRAME_BYTES,
	     tso4,
	     NET_TX_ERR_GSO_FIELDS},
	    {{.flags = csum,
	      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	      .gso_size = 1400,
	      .hdr_len = 54,
	      .csum_start = 34,
	      .csum_offset = 16},
	     FRAME_BYTES,
	     tso4,
	     NET_TX_OK},
	};
	struct net_tx_req r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tchain *t = tc_frame(&cases[i].h, cases[i].frame_len);
		enum net_tx_err got = net_tx_parse(&t->c, cases[i].features, &r);

		if (got != cases[i].want)
			fail_msg("case %zu: got %s, want %s", i, net_tx_err_str(got),
				 net_tx_err_str(cases[i].want));
		free(t);
	}
}

static void test_net_tx_parse_refuses_writable_and_too_many_segments(void **state)
{
	struct tchain *t = calloc(1, sizeof(*t));
	struct net_tx_req r;

	(void)state;
	memset(tc_add(t, NET_HDR_BYTES, false), 0, NET_HDR_BYTES);
	for (unsigned int i = 0; i < NET_TX_MAX_SEGS; i++)
		tc_add(t, 1, false);
	tc_add(t, NET_ETH_HLEN, false);
	assert_int_equal(net_tx_parse(&t->c, 0, &r), NET_TX_ERR_TOO_MANY_SEGS);
	t->c.nsegs--;
	t->c.readable_bytes -= NET_ETH_HLEN;
	assert_int_equal(net_tx_parse(&t->c, 0, &r), NET_TX_OK);
	assert_int_equal(r.niov, NET_TX_MAX_SEGS + 1);
	tc_add(t, 4, true);
	assert_int_equal(net_tx_parse(&t->c, 0, &r), NET_TX_ERR_WRITABLE);
	assert_string_equal(net_tx_err_str(NET_TX_ERR_COUNT), "unknown virtio-net TX error");
	free(t);
}

static void test_net_offloads_follow_guest_features(void **state)
{
	(void)state;
	assert_int_equal(net_tap_offloads(1ULL << VIRTIO_NET_F_GUEST_TSO4), 0);
	assert_int_equal(net_tap_offloads(1ULL << VIRTIO_NET_F_GUEST_CSUM), TUN_F_CSUM);
	assert_int_equal(net_tap_offloads(1ULL << VIRTIO_NET_F_GUEST_CSUM |
					  1ULL << VIRTIO_NET_F_GUEST_TSO4 |
					  1ULL << VIRTIO_NET_F_GUEST_TSO6),
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
}

static void test_net_mac_parser(void **state)
{
	uint8_t mac[6];

	(void)state;
	assert_true(spec_parse_mac("02:aB:00:ff:10:09", mac));
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[5], 0x09);
	assert_false(spec_parse_mac("02:ab:00:ff:10", mac));
	assert_false(spec_parse_mac("02:ab:00:ff:10:0g", mac));
	assert_false(spec_parse_mac("02-ab-00-ff-10-09", mac));
	assert_false(spec_parse_mac("02:ab:00:ff:10:091", mac));
}

/* ---- device over a socketpair ------------------------------------------ */

struct tdev {
	struct unit_gm *u;
	struct net_dev n;
	struct vdev d;
	int host; /* the "tap"'s other end */
	uint16_t avail_idx[2];
	uint16_t next_desc[2];
};

static void tdev_queue(struct tdev *t, unsigned int q, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct virtqueue *vq = &t->d.vqs[q];

	vq->size = QSIZE;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	assert_int_equal(vq_activate(vq, &t->u->gm), VQ_OK);
}

static struct tdev *tdev_new(uint64_t drv_features)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "ktest0", .mtu = 1400};
	char err[128];
	int sv[2];

	assert_non_null(t);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	cfg.tap_fd = sv[0];
	cfg.has_mac = true;
	memcpy(cfg.mac, "\x02\x11\x22\x33\x44\x55", 6);
	t->host = sv[1];
	t->u = unit_gm_new(MiB(1));
	assert_int_equal(net_open(&t->n, &cfg, err, sizeof(err)), 0);
	vdev_init(&t->d, &net_virtio_ops, &t->n, net_features(&t->n), &t->u->gm);
	t->d.drv_features = t->d.features & drv_features;
	t->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
	tdev_queue(t, NET_RXQ, RX_DESC, RX_AVAIL, RX_USED);
	tdev_queue(t, NET_TXQ, TX_DESC, TX_AVAIL, TX_USED);
	return t;
}

static void tdev_free(struct tdev *t)
{
	net_close(&t->n);
	close(t->host);
	vdev_destroy(&t->d);
	unit_gm_free(t->u);
	free(t);
}

/* One single-descriptor chain on queue @q. */
static void post(struct tdev *t, unsigned int q, uint64_t gpa, uint32_t len, uint16_t flags)
{
	uint64_t desc = q == NET_RXQ ? RX_DESC : TX_DESC;
	uint8_t *avail = unit_gpa(t->u, q == NET_RXQ ? RX_AVAIL : TX_AVAIL);
	uint16_t i = t->next_desc[q]++ % QSIZE;
	uint8_t *d = unit_gpa(t->u, desc + 16 * i);

	unit_st64(d, gpa);
	unit_st32(d + 8, len);
	unit_st16(d + 12, flags);
	unit_st16(d + 14, 0);
	unit_st16(avail + 4 + 2 * (t->avail_idx[q] % QSIZE), i);
	t->avail_idx[q]++;
	unit_st16(avail + 2, t->avail_idx[q]);
}

static void host_send(struct tdev *t, uint32_t frame_len, uint8_t fill)
{
	uint8_t buf[2048];

	assert_true(NET_HDR_BYTES + frame_len <= sizeof(buf));
	memset(buf, 0, NET_HDR_BYTES);
	buf[10] = 0x77; /* num_buffers as the tap leaves it: kiln must overwrite it */
	memset(buf + NET_HDR_BYTES, fill, frame_len);
	assert_int_equal(write(t->host, buf, NET_HDR_BYTES + frame_len), NET_HDR_BYTES + frame_len);
}

static void test_net_tx_frame_reaches_tap(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES);
	uint8_t *buf = unit_gpa(t->u, BUF_GPA);
	uint8_t got[256];

	(void)state;
	memset(buf, 0, NET_HDR_BYTES);
	memset(buf + NET_HDR_BYTES, 0x5a, FRAME_BYTES);
	post(t, NET_TXQ, BUF_GPA, NET_HDR_BYTES + FRAME_BYTES, 0);
	vdev_process_queue(&t->d, NET_TXQ);
	assert_int_equal(read(t->host, got, sizeof(got)), NET_HDR_BYTES + FRAME_BYTES);
	assert_int_equal(got[NET_HDR_BYTES], 0x5a);
	assert_int_equal(unit_ld16(unit_gpa(t->u, TX_USED + 2)), 1);
	assert_int_equal(unit_ld32(unit_gpa(t->u, TX_USED + 8)), 0);
	assert_int_equal(t->n.stats.tx_frames, 1);
	assert_int_equal(t->n.stats.tx_bytes, FRAME_BYTES);
	/* The queue drained: notifications are wanted again (§2.7.10). */
	assert_int_equal(unit_ld16(unit_gpa(t->u, TX_USED)), 0);
	tdev_free(t);
}

static void test_net_tx_bogus_header_is_counted_not_sent(void **state)
{
	struct tdev *t = tdev_new(0); /* no CSUM negotiated */
	uint8_t *buf = unit_gpa(t->u, BUF_GPA);
	uint8_t got[256];

	(void)state;
	memset(buf, 0, NET_HDR_BYTES + FRAME_BYTES);
	buf[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	post(t, NET_TXQ, BUF_GPA, NET_HDR_BYTES + FRAME_BYTES, 0);
	post(t, NET_TXQ, BUF_GPA + 4096, 8, 0); /* shorter than a header */
	vdev_process_queue(&t->d, NET_TXQ);
	assert_true(read(t->host, got, sizeof(got)) < 0);
	assert_int_equal(t->n.stats.tx_refused, 2);
	assert_int_equal(unit_ld16(unit_gpa(t->u, TX_USED + 2)), 2);
	assert_int_equal(t->d.status & VIRTIO_STATUS_NEEDS_RESET, 0);
	tdev_free(t);
}

static void test_net_rx_frame_fills_one_buffer(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES & ~(1ULL << VIRTIO_NET_F_MRG_RXBUF));
	uint8_t *buf = unit_gpa(t->u, BUF_GPA);

	(void)state;
	memset(buf, 0xcc, 2048);
	post(t, NET_RXQ, BUF_GPA, 1526, VRING_DESC_F_WRITE);
	host_send(t, FRAME_BYTES, 0x42);
	vdev_process_events(&t->d);
	assert_int_equal(unit_ld16(unit_gpa(t->u, RX_USED + 2)), 1);
	assert_int_equal(unit_ld32(unit_gpa(t->u, RX_USED + 8)), NET_HDR_BYTES + FRAME_BYTES);
	assert_int_equal(unit_ld16(buf + 10), 1); /* num_buffers */
	assert_int_equal(buf[NET_HDR_BYTES], 0x42);
	assert_int_equal(buf[NET_HDR_BYTES + FRAME_BYTES], 0xcc); /* nothing past the frame */
	assert_int_equal(t->n.stats.rx_frames, 1);
	assert_true(t->d.interrupt_status & VIRTIO_INT_USED_RING);
	/* kiln still holds buffers: the driver need not notify it of more. */
	assert_int_equal(unit_ld16(unit_gpa(t->u, RX_USED)), VRING_USED_F_NO_NOTIFY);
	tdev_free(t);
}

static void test_net_rx_mergeable_spreads_over_buffers(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES);
	uint8_t *used = unit_gpa(t->u, RX_USED);

	(void)state;
	for (int i = 0; i < 3; i++)
		post(t, NET_RXQ, BUF_GPA + 4096 * i, 512, VRING_DESC_F_WRITE);
	host_send(t, 1000, 0x33);
	vdev_process_events(&t->d);
	assert_int_equal(unit_ld16(used + 2), 2); /* 1012 bytes: two buffers of 512 */
	assert_int_equal(unit_ld32(used + 8), 512);
	assert_int_equal(unit_ld32(used + 16), 500);
	assert_int_equal(unit_ld16(unit_gpa(t->u, BUF_GPA + 10)), 2);
	assert_int_equal(*unit_gpa(t->u, BUF_GPA + 4096 + 499), 0x33);
	assert_int_equal(*unit_gpa(t->u, BUF_GPA + 4096 + 500), 0);
	tdev_free(t);
}

static void test_net_rx_small_buffer_drops_and_counts(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES & ~(1ULL << VIRTIO_NET_F_MRG_RXBUF));
	uint8_t *buf = unit_gpa(t->u, BUF_GPA);

	(void)state;
	post(t, NET_RXQ, BUF_GPA, 64, VRING_DESC_F_WRITE);
	host_send(t, 1000, 0x11);
	vdev_process_events(&t->d);
	assert_int_equal(unit_ld16(unit_gpa(t->u, RX_USED + 2)), 1);
	assert_int_equal(unit_ld32(unit_gpa(t->u, RX_USED + 8)), 0);
	assert_int_equal(t->n.stats.rx_dropped, 1);
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf[i], 0); /* never written: the frame did not fit */
	tdev_free(t);
}

static void test_net_rx_full_ring_stops_reading_tap(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES);
	uint8_t *used = unit_gpa(t->u, RX_USED);
	uint8_t probe[16];

	(void)state;
	host_send(t, 100, 1);
	host_send(t, 100, 2);
	vdev_process_events(&t->d); /* no buffers: frame 1 waits, frame 2 stays on the tap */
	assert_int_equal(unit_ld16(used + 2), 0);
	assert_int_equal(t->n.stats.rx_ring_full, 1);
	assert_int_equal(t->n.stats.rx_dropped, 0);
	assert_int_equal(unit_ld16(used), 0);		   /* waiting for buffers: notify me */
	post(t, NET_RXQ, BUF_GPA, 64, VRING_DESC_F_WRITE); /* too small for frame 1 alone */
	vdev_process_queue(&t->d, NET_RXQ);
	assert_int_equal(unit_ld16(used + 2), 0); /* given back, not used */
	post(t, NET_RXQ, BUF_GPA + 4096, 2048, VRING_DESC_F_WRITE);
	post(t, NET_RXQ, BUF_GPA + 8192, 2048, VRING_DESC_F_WRITE);
	vdev_process_queue(&t->d, NET_RXQ);
	assert_int_equal(unit_ld16(used + 2), 3); /* frame 1 in 2 buffers, frame 2 in 1 */
	assert_int_equal(unit_ld16(unit_gpa(t->u, BUF_GPA + 10)), 2);
	assert_int_equal(*unit_gpa(t->u, BUF_GPA + 8192 + NET_HDR_BYTES), 2);
	assert_int_equal(t->n.stats.rx_frames, 2);
	assert_true(read(t->n.tap_fd, probe, sizeof(probe)) < 0); /* tap drained */
	tdev_free(t);
}

/*
 * Rate limiters (docs/VIRTIO.md): TX frames the bucket cannot pay stay on the
 * ring, RX frames wait in the device (the tap is not read); each timer firing
 * lets the next through. Frames are charged their bytes and one op.
 */
static void test_net_rate_limiters_pause_tx_and_rx(void **state)
{
	struct net_config cfg = {
	    .rx_rate_limiter = {.ops = {.set = true, .size = 1, .refill_time_ms = 10}},
	    .tx_rate_limiter = {.bandwidth = {.set = true,
					      .size = FRAME_BYTES,
					      .refill_time_ms = 10}},
	};
	struct tdev *t = tdev_new(ALL_FEATURES);
	uint8_t *buf = unit_gpa(t->u, BUF_GPA);
	struct pollfd p = {.events = POLLIN};
	uint8_t got[256];

	(void)state;
	assert_int_equal(net_open_limiters(&t->n, &cfg), 0);
	/* TX: two frames, a bucket of one frame's bytes. */
	memset(buf, 0, NET_HDR_BYTES + FRAME_BYTES);
	post(t, NET_TXQ, BUF_GPA, NET_HDR_BYTES + FRAME_BYTES, 0);
	post(t, NET_TXQ, BUF_GPA, NET_HDR_BYTES + FRAME_BYTES, 0);
	vdev_process_queue(&t->d, NET_TXQ);
	assert_int_equal(t->n.stats.tx_frames, 1);
	assert_int_equal(unit_ld16(unit_gpa(t->u, TX_USED + 2)), 1);
	assert_true(ratelimiter_blocked(&t->n.tx_rl));
	p.fd = ratelimiter_fd(&t->n.tx_rl);
	assert_int_equal(poll(&p, 1, 5000), 1);
	vdev_process_timer(&t->d, NET_TX_TIMER);
	assert_int_equal(t->n.stats.tx_frames, 2);
	assert_int_equal(unit_ld16(unit_gpa(t->u, TX_USED + 2)), 2);
	assert_int_equal(read(t->host, got, sizeof(got)), NET_HDR_BYTES + FRAME_BYTES);
	assert_int_equal(read(t->host, got, sizeof(got)), NET_HDR_BYTES + FRAME_BYTES);
	/* RX: two frames, one op per 10 ms; the second waits, the tap keeps the third. */
	post(t, NET_RXQ, BUF_GPA + 4096, 2048, VRING_DESC_F_WRITE);
	post(t, NET_RXQ, BUF_GPA + 8192, 2048, VRING_DESC_F_WRITE);
	host_send(t, 100, 1);
	host_send(t, 100, 2);
	vdev_process_events(&t->d);
	assert_int_equal(t->n.stats.rx_frames, 1);
	assert_true(ratelimiter_blocked(&t->n.rx_rl));
	vdev_process_events(&t->d); /* paused: the tap's events do nothing */
	assert_int_equal(t->n.stats.rx_frames, 1);
	p.fd = ratelimiter_fd(&t->n.rx_rl);
	assert_int_equal(poll(&p, 1, 5000), 1);
	vdev_process_timer(&t->d, NET_RX_TIMER);
	assert_int_equal(t->n.stats.rx_frames, 2);
	assert_int_equal(*unit_gpa(t->u, BUF_GPA + 8192 + NET_HDR_BYTES), 2);
	assert_int_equal(t->n.stats.rx_dropped, 0);
	assert_true(t->n.rx_rl.throttled >= 1 && t->n.tx_rl.throttled >= 1);
	tdev_free(t);
}

static void test_net_config_space_has_mac_and_mtu(void **state)
{
	struct tdev *t = tdev_new(ALL_FEATURES);
	uint8_t cfg[NET_CONFIG_BYTES];

	(void)state;
	net_virtio_ops.read_config(&t->d, 0, cfg, sizeof(cfg));
	assert_memory_equal(cfg, "\x02\x11\x22\x33\x44\x55", 6);
	assert_int_equal(unit_ld16(cfg + 10), 1400);
	assert_true(t->d.features & 1ULL << VIRTIO_NET_F_MAC);
	assert_true(t->d.features & 1ULL << VIRTIO_NET_F_MTU);
	assert_int_equal(net_virtio_ops.num_queues, 2);
	tdev_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_tx_parse_rebuilds_split_header),
	    cmocka_unit_test(test_net_tx_parse_refuses_each_rule),
	    cmocka_unit_test(test_net_tx_parse_refuses_writable_and_too_many_segments),
	    cmocka_unit_test(test_net_offloads_follow_guest_features),
	    cmocka_unit_test(test_net_mac_parser),
	    cmocka_unit_test(test_net_tx_frame_reaches_tap),
	    cmocka_unit_test(test_net_tx_bogus_header_is_counted_not_sent),
	    cmocka_unit_test(test_net_rx_frame_fills_one_buffer),
	    cmocka_unit_test(test_net_rx_mergeable_spreads_over_buffers),
	    cmocka_unit_test(test_net_rx_small_buffer_drops_and_counts),
	    cmocka_unit_test(test_net_rx_full_ring_stops_reading_tap),
	    cmocka_unit_test(test_net_rate_limiters_pause_tx_and_rx),
	    cmocka_unit_test(test_net_config_space_has_mac_and_mtu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
