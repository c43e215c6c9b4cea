/* SPDX-License-Identifier: MIT */
/*
 * virtio-net tests (virtio 1.2 §5.1): a two-queue polling driver over the
 * helpers of virtio.c (one struct vio_dev copy per queue: RX 0, TX 1), the
 * echo test that needs a host responder on the tap (tests/integration/
 * test_net.py swaps the MACs of EtherType 0x88b5 frames and sends them back),
 * and hostile TX/RX cases after each of which the device must still echo.
 *
 *   net_echo                 ktest.net_frames=N (16) frames of 60..1514 bytes, each
 *                            echoed intact; retransmitted while the responder is not up
 *   hostile_net_tx_oversized 12 + 70000 bytes in one chain: refused (used len 0), no reset
 *   hostile_net_tx_bogus_hdr unknown flags / gso_type, csum past the frame: refused
 *   hostile_net_tx_writable  a device-writable buffer in a TX chain: refused
 *   hostile_net_rx_tiny      RX buffers of 8 bytes (< header): the reply is dropped, used len 0
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define VIO_ID_NET	  1
#define VIO_NET_F_MTU	  (1ULL << 3)
#define VIO_NET_F_MAC	  (1ULL << 5)
#define VIO_NET_WANT	  (VIO_F_VERSION_1 | VIO_NET_F_MAC | VIO_NET_F_MTU)
#define TN_QSIZE	  16
#define TN_QMAX		  256
#define TN_RXQ		  0
#define TN_TXQ		  1
#define TN_HDR		  12 /* virtio 1.x header, num_buffers included */
#define TN_BUF		  2048
#define TN_ETHERTYPE	  0x88b5
#define TN_MAGIC	  0x4e4c494bU /* "KILN" */
#define TN_BIG		  70000
#define TN_TRIES	  40
#define TN_TRY_TSC	  (VIO_TIMEOUT_TSC / 4)
#define TN_DEFAULT_FRAMES 16

static uint8_t tn_ring_mem[2][3][4096] __attribute__((aligned(4096)));
static uint8_t tn_rx[TN_QMAX][TN_BUF] __attribute__((aligned(64)));
static uint8_t tn_tx[TN_HDR + TN_BIG] __attribute__((aligned(64)));
static struct vio_dev tn_q[2];	     /* per-queue views of the one device */
static uint8_t tn_mac[8];	     /* 6 used; 8 so tg_le64() may read it whole */
static uint32_t tn_max_frame = 1514; /* MTU + Ethernet header */

static bool tn_queue(struct vio_dev *d, unsigned int q, uint16_t qsize, struct tg_str *why)
{
	struct vio_dev *s = &tn_q[q];

	vio_write(d, VIO_QUEUE_SEL, q);
	if (vio_read(d, VIO_QUEUE_NUM_MAX) < qsize) {
		tg_str_add(why, "QueueNumMax too small");
		return false;
	}
	memset(tn_ring_mem[q], 0, sizeof(tn_ring_mem[q]));
	*s = *d;
	s->qsize = qsize;
	s->desc = (volatile struct vio_desc *)tn_ring_mem[q][0];
	s->avail = tn_ring_mem[q][1];
	s->used = tn_ring_mem[q][2];
	s->avail_idx = 0;
	s->used_idx = 0;
	s->avail[0] = VIO_AVAIL_NO_INTERRUPT;
	vio_write(d, VIO_QUEUE_NUM, qsize);
	vio_write_ring_addrs(d, (uintptr_t)s->desc, (uintptr_t)s->avail, (uintptr_t)s->used);
	vio_write(d, VIO_QUEUE_READY, 1);
	if (vio_read(d, VIO_QUEUE_READY) != 1) {
		tg_str_add(why, "QueueReady refused");
		return false;
	}
	return true;
}

/* Post RX buffers 0..qsize-1 of @len bytes each. */
static void tn_rx_post_all(uint32_t len)
{
	for (uint16_t i = 0; i < tn_q[TN_RXQ].qsize; i++) {
		vio_set_desc(&tn_q[TN_RXQ], i, (uintptr_t)tn_rx[i], len, VIO_DESC_WRITE, 0);
		vio_avail_put(&tn_q[TN_RXQ], i);
	}
	vio_avail_publish(&tn_q[TN_RXQ]);
	vio_notify(&tn_q[TN_RXQ], TN_RXQ);
}

void tn_rx_repost(uint16_t id)
{
	vio_avail_put(&tn_q[TN_RXQ], id);
	vio_avail_publish(&tn_q[TN_RXQ]);
	vio_notify(&tn_q[TN_RXQ], TN_RXQ);
}

/* Reset, negotiate, both queues of @qsize, DRIVER_OK, RX buffers of @rx_len posted. */
struct vio_dev *tn_open_q(const struct tg_boot *b, uint16_t qsize, uint32_t rx_len,
			  struct ktest_verdict *v)
{
	struct vio_dev *d;
	struct tg_str why = {.len = 0};
	uint32_t lo, hi;

	vio_discover(b);
	d = vio_find(VIO_ID_NET, 0);
	if (!d) {
		ktest_fail(v, "no net device");
		return NULL;
	}
	vio_reset(d);
	if (!vio_negotiate(d, VIO_NET_WANT, &why) || !tn_queue(d, TN_RXQ, qsize, &why) ||
	    !tn_queue(d, TN_TXQ, qsize, &why)) {
		tg_str_add(ktest_fail(v, "init: "), why.buf);
		return NULL;
	}
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	/* §5.1.4: the MAC when offered, else a locally administered one of our own. */
	lo = d->features & VIO_NET_F_MAC ? vio_config32(d, 0) : 0x00000002;
	hi = d->features & VIO_NET_F_MAC ? vio_config32(d, 4) : 0x0100;
	for (int i = 0; i < 4; i++)
		tn_mac[i] = (uint8_t)(lo >> (8 * i));
	tn_mac[4] = (uint8_t)hi;
	tn_mac[5] = (uint8_t)(hi >> 8);
	/* §5.1.4.1: mtu (offset 10) when VIRTIO_NET_F_MTU; frames stay within it. */
	tn_max_frame = 1514;
	if (d->features & VIO_NET_F_MTU && (hi >> 16) + 14 < tn_max_frame)
		tn_max_frame = (hi >> 16) + 14;
	tn_rx_post_all(rx_len);
	return d;
}

static struct vio_dev *tn_open(const struct tg_boot *b, uint32_t rx_len, struct ktest_verdict *v)
{
	return tn_open_q(b, TN_QSIZE, rx_len, v);
}

struct vio_dev *tn_queue_view(unsigned int q)
{
	return &tn_q[q];
}

uint8_t *tn_rx_buf(uint16_t id)
{
	return tn_rx[id % TN_QMAX];
}

const uint8_t *tn_guest_mac(void)
{
	return tn_mac;
}

/* One TX chain of @bufs, then wait for it on the used ring. */
static bool tn_tx_chain(const struct vio_buf *bufs, unsigned int n, uint32_t *used_len,
			struct tg_str *why)
{
	struct vio_dev *t = &tn_q[TN_TXQ];
	uint32_t id;

	vio_chain(t, bufs, n, false);
	vio_avail_put(t, 0);
	vio_avail_publish(t);
	vio_notify(t, TN_TXQ);
	if (!vio_wait_used(t, VIO_TIMEOUT_TSC, &id, used_len)) {
		tg_str_add(why, "TX: no used entry");
		return false;
	}
	return true;
}

/* An echo request: broadcast, our MAC, EtherType 0x88b5, magic, seq, length, pattern. */
static uint32_t tn_build(uint32_t seq, uint32_t frame_len)
{
	uint8_t *f = tn_tx + TN_HDR;

	memset(tn_tx, 0, TN_HDR);
	memset(f, 0xff, 6);
	memcpy(f + 6, tn_mac, 6);
	f[12] = TN_ETHERTYPE >> 8;
	f[13] = TN_ETHERTYPE & 0xff;
	memcpy(f + 14, &(uint32_t){TN_MAGIC}, 4);
	memcpy(f + 18, &seq, 4);
	memcpy(f + 22, &frame_len, 4);
	for (uint32_t i = 26; i < frame_len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	return frame_len;
}

/* Send echo request @seq of @frame_len bytes; true once the device has used it. */
bool tn_send(uint32_t seq, uint32_t frame_len, struct tg_str *why)
{
	struct vio_buf buf = {(uintptr_t)tn_tx, TN_HDR + frame_len, 0};
	uint32_t used;

	tn_build(seq, frame_len);
	return tn_tx_chain(&buf, 1, &used, why);
}

/* Is RX buffer @id (@len used) the echo of the frame in tn_tx? */
static bool tn_is_echo(uint16_t id, uint32_t len, uint32_t frame_len)
{
	const uint8_t *r = tn_rx[id] + TN_HDR;

	if (len != TN_HDR + frame_len || r[12] != (TN_ETHERTYPE >> 8) ||
	    r[13] != (TN_ETHERTYPE & 0xff))
		return false;
	return memcmp(r, tn_mac, 6) == 0 &&
	       memcmp(r + 14, tn_tx + TN_HDR + 14, frame_len - 14) == 0;
}

/* Wait up to @tsc for the echo; other frames (IPv6 noise) are skipped. 1 echo, 0 none. */
static int tn_wait_echo(uint32_t frame_len, uint64_t tsc, uint64_t *others)
{
	uint64_t start = tg_rdtsc();

	while (tg_rdtsc() - start < tsc) {
		uint32_t id, len;
		bool echo;

		if (vio_used_idx_now(&tn_q[TN_RXQ]) == tn_q[TN_RXQ].used_idx) {
			tg_pause();
			continue;
		}
		if (!vio_wait_used(&tn_q[TN_RXQ], 0, &id, &len) || id >= tn_q[TN_RXQ].qsize)
			return -1;
		echo = tn_is_echo((uint16_t)id, len, frame_len);
		*others += !echo;
		tn_rx_repost((uint16_t)id);
		if (echo)
			return 1;
	}
	return 0;
}

/* Send frame @seq of @frame_len until its echo comes back (the responder may start late). */
static bool tn_echo_one(uint32_t seq, uint32_t frame_len, uint64_t *others, struct tg_str *why)
{
	for (int t = 0; t < TN_TRIES; t++) {
		int r;

		if (!tn_send(seq, frame_len, why))
			return false;
		r = tn_wait_echo(frame_len, TN_TRY_TSC, others);
		if (r > 0)
			return true;
		if (r < 0) {
			tg_str_add(why, "RX: bad used id");
			return false;
		}
	}
	tg_str_add(why, "no echo for frame ");
	tg_str_add_dec(why, seq);
	return false;
}

static const uint32_t tn_sizes[] = {60, 128, 1000, 1514};

static bool tn_echo_n(uint32_t n, uint64_t *others, struct tg_str *why)
{
	for (uint32_t i = 0; i < n; i++)
		if (!tn_echo_one(i, tn_sizes[i % 4] < tn_max_frame ? tn_sizes[i % 4] : tn_max_frame,
				 others, why))
			return false;
	return true;
}

void ktest_net_echo(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct tg_str why = {.len = 0};
	uint64_t n = TN_DEFAULT_FRAMES, others = 0;
	struct vio_dev *d;
	bool ok;

	cmdline_get_u64(b->cmdline, "ktest.net_frames=", &n);
	d = tn_open(b, TN_BUF, v);
	if (!d)
		return;
	ok = tn_echo_n((uint32_t)n, &others, &why);
	ktest_info("net_echo");
	con_puts("features=");
	con_hex(d->features);
	con_puts(" mac=");
	con_hex(tg_le64(tn_mac) & 0xffffffffffffULL);
	con_puts(" frames=");
	con_dec(n);
	con_puts(" other_frames=");
	con_dec(others);
	con_puts("\n");
	if (!ok)
		ktest_fail(v, why.buf);
}

/* After a hostile case: no NEEDS_RESET, and a fresh init still echoes. */
static void tn_check_recovered(const struct tg_boot *b, const char *name, uint32_t used,
			       struct ktest_verdict *v)
{
	struct vio_dev *d = vio_find(VIO_ID_NET, 0);
	struct tg_str why = {.len = 0};
	uint64_t others = 0;
	uint32_t st = vio_read(d, VIO_STATUS);
	bool echo;

	d = tn_open(b, TN_BUF, v);
	echo = d && tn_echo_n(2, &others, &why);
	ktest_info(name);
	con_puts("used_len=");
	con_dec(used);
	con_puts(" status=");
	con_hex(st);
	con_puts(" recovered=");
	con_dec(echo);
	con_puts("\n");
	if (st & VIO_S_NEEDS_RESET)
		ktest_fail(v, "device needs reset after a bad frame");
	if (used != 0)
		ktest_fail(v, "used len not 0");
	if (!echo)
		tg_str_add(ktest_fail(v, "no echo afterwards: "), why.buf);
}

static void tn_hostile_tx(const struct tg_boot *b, const char *name, const struct vio_buf *bufs,
			  unsigned int n, struct ktest_verdict *v)
{
	struct tg_str why = {.len = 0};
	uint32_t used = 0xffffffff;

	if (!tn_tx_chain(bufs, n, &used, &why)) {
		tg_str_add(ktest_fail(v, "hostile chain: "), why.buf);
		return;
	}
	tn_check_recovered(b, name, used, v);
}

void ktest_hostile_net_tx_oversized(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_buf bufs[2] = {{(uintptr_t)tn_tx, TN_HDR + 1000, 0},
				  {(uintptr_t)tn_tx + TN_HDR + 1000, TN_BIG - 1000, 0}};

	if (!tn_open(b, TN_BUF, v))
		return;
	tn_build(0, 1000);
	tn_hostile_tx(b, "hostile_net_tx_oversized", bufs, 2, v);
}

void ktest_hostile_net_tx_bogus_hdr(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_buf buf = {(uintptr_t)tn_tx, TN_HDR + 60, 0};

	if (!tn_open(b, TN_BUF, v))
		return;
	tn_build(0, 60);
	/* flags: unknown bits; gso_type 0x7f; hdr_len, gso_size, csum_start/offset all 0xffff. */
	memset(tn_tx, 0xff, TN_HDR);
	tn_tx[1] = 0x7f;
	tn_hostile_tx(b, "hostile_net_tx_bogus_hdr", &buf, 1, v);
}

void ktest_hostile_net_tx_writable(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_buf bufs[2] = {{(uintptr_t)tn_tx, TN_HDR + 60, 0},
				  {(uintptr_t)tn_tx + 4096, 64, VIO_DESC_WRITE}};

	if (!tn_open(b, TN_BUF, v))
		return;
	tn_build(0, 60);
	tn_hostile_tx(b, "hostile_net_tx_writable", bufs, 2, v);
}

void ktest_hostile_net_rx_tiny(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_buf buf = {(uintptr_t)tn_tx, TN_HDR + 60, 0};
	struct tg_str why = {.len = 0};
	uint32_t used = 0xffffffff, id = 0xffff;
	uint64_t start;

	if (!tn_open(b, 8, v))
		return;
	tn_build(0, 60);
	/* Ask until a reply arrives: it must come back as a used buffer of length 0. */
	for (int t = 0; t < TN_TRIES && id == 0xffff; t++) {
		if (!tn_tx_chain(&buf, 1, &used, &why)) {
			tg_str_add(ktest_fail(v, "TX: "), why.buf);
			return;
		}
		start = tg_rdtsc();
		while (tg_rdtsc() - start < TN_TRY_TSC && id == 0xffff)
			if (!vio_wait_used(&tn_q[TN_RXQ], TN_TRY_TSC / 16, &id, &used))
				id = 0xffff;
	}
	if (id == 0xffff) {
		ktest_fail(v, "no RX buffer came back");
		return;
	}
	tn_check_recovered(b, "hostile_net_rx_tiny", used, v);
}
