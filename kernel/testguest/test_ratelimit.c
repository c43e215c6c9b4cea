/* SPDX-License-Identifier: MIT */
/*
 * ktest ratelimit: a steady stream of requests, one at a time, for
 * tests/integration/test_ratelimit.py to measure the rate a device's rate
 * limiter lets through. The host times the mark lines as they arrive (the
 * guest's TSC rate is not known to it); the guest's TSC figures are printed
 * too, for a look by hand.
 *
 *     KTEST-INFO ratelimit begin dev=<blk|rng|net_tx|net_rx> bytes=<per request> reqs=<n>
 *     KTEST-INFO ratelimit mark n=<requests done> tsc=<ticks since begin>
 *     KTEST-INFO ratelimit end n=<n> errors=<e> tsc=<ticks>
 *
 * Knobs: ktest.rl_dev= picks the device: blk (default; the first virtio-blk,
 * read from sector 0 upwards, wrapping at the capacity), rng (the first
 * virtio-rng), net_tx (the first virtio-net: one frame of rl_bytes sent, then
 * wait for its used entry) or net_rx (the first virtio-net: 16 RX buffers
 * posted before the begin line, each frame received counted and its buffer
 * put back; the host keeps the tap's queue full). ktest.rl_bytes=N bytes per
 * request (blk: a multiple of 512; net: the frame without the 12-byte header,
 * 60..1514; at most 64 KiB), ktest.rl_reqs=N requests (default 1000),
 * ktest.rl_mark=M a mark every M requests (default 10). FAIL if a request
 * times out, ends with a status other than OK, or gets an unexpected used
 * length (net_rx: a frame of another length than rl_bytes).
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define RL_MAX_BYTES	 (64u * 1024)
#define RL_DEFAULT_REQS	 1000
#define RL_DEFAULT_MARK	 10
#define RL_DEFAULT_BYTES 4096
#define RL_NET_HDR	 12 /* virtio 1.x net header, num_buffers included */
#define RL_NET_MIN	 60
#define RL_NET_MAX	 1514
#define RL_NET_RX_TSC	 (4 * VIO_TIMEOUT_TSC)

enum rl_dev { RL_BLK, RL_RNG, RL_NET_TX, RL_NET_RX };

static const char *const rl_dev_names[] = {"blk", "rng", "net_tx", "net_rx"};

struct rl_run {
	struct vio_dev *d;
	enum rl_dev dev;
	uint32_t bytes;
	uint64_t sectors; /* blk capacity, whole requests only */
	uint64_t next_sector;
	uint64_t errors;
	struct tg_str why;
};

/* An optional knob: @dflt when absent; false (and FAIL) when malformed. */
static bool rl_knob(const struct tg_boot *b, const char *key, uint64_t dflt, uint64_t *out,
		    struct ktest_verdict *v)
{
	switch (cmdline_get_u64(b->cmdline, key, out)) {
	case CMDLINE_NUM_OK:
		return true;
	case CMDLINE_NUM_ABSENT:
		*out = dflt;
		return true;
	default:
		tg_str_add(ktest_fail(v, "bad knob "), key);
		return false;
	}
}

/* ktest.rl_dev=: RL_BLK when absent; false (and FAIL) when unknown. */
static bool rl_dev_knob(const struct tg_boot *b, enum rl_dev *out, struct ktest_verdict *v)
{
	const char *val;
	size_t len;

	*out = RL_BLK;
	if (!cmdline_get(b->cmdline, "ktest.rl_dev=", &val, &len))
		return true;
	for (unsigned int i = 0; i < sizeof(rl_dev_names) / sizeof(rl_dev_names[0]); i++)
		if (tg_span_eq(val, len, rl_dev_names[i])) {
			*out = (enum rl_dev)i;
			return true;
		}
	ktest_fail(v, "ktest.rl_dev must be blk, rng, net_tx or net_rx");
	return false;
}

/* The next frame from the host; its buffer goes straight back on the ring. */
static bool rl_net_rx_one(struct rl_run *r)
{
	struct vio_dev *q = tn_queue_view(0);
	uint32_t id, len;

	if (!vio_wait_used(q, RL_NET_RX_TSC, &id, &len)) {
		tg_str_add(&r->why, "RX: no frame");
		return false;
	}
	if (id >= q->qsize) {
		tg_str_add(&r->why, "RX: bad used id");
		return false;
	}
	tn_rx_repost((uint16_t)id);
	if (len != RL_NET_HDR + r->bytes) {
		tg_str_add(&r->why, "RX: frame of ");
		tg_str_add_dec(&r->why, len);
		tg_str_add(&r->why, " bytes with its header");
		return false;
	}
	return true;
}

static bool rl_one(struct rl_run *r, uint64_t n)
{
	struct vio_buf buf = {(uintptr_t)vt_buf_a, r->bytes, VIO_DESC_WRITE};
	uint32_t used = 0;
	uint8_t status = 0xff;

	r->why.len = 0;
	switch (r->dev) {
	case RL_RNG:
		if (!vio_xfer(r->d, &buf, 1, false, &used, &r->why))
			return false;
		return used == r->bytes;
	case RL_NET_TX:
		return tn_send((uint32_t)n, r->bytes, &r->why);
	case RL_NET_RX:
		return rl_net_rx_one(r);
	case RL_BLK:
		break;
	}
	if (!vio_blk(r->d, VIO_BLK_T_IN, r->next_sector, vt_buf_a, r->bytes, 1, false, &status,
		     &used, &r->why))
		return false;
	r->next_sector += r->bytes / VIO_SECTOR;
	if (r->next_sector + r->bytes / VIO_SECTOR > r->sectors)
		r->next_sector = 0;
	return status == VIO_BLK_S_OK && used == r->bytes + 1;
}

static void rl_line(const char *what, uint64_t n, uint64_t tsc)
{
	ktest_info("ratelimit");
	con_puts(what);
	con_puts(" n=");
	con_dec(n);
	con_puts(" tsc=");
	con_dec(tsc);
	con_puts("\n");
	con_flush(); /* the host times the line's arrival */
}

/* The first virtio-net: both queues, RX buffers posted (net_rx counts what fills them). */
static bool rl_open_net(const struct tg_boot *b, struct rl_run *r, struct ktest_verdict *v)
{
	if (r->bytes < RL_NET_MIN || r->bytes > RL_NET_MAX) {
		ktest_fail(v, "net: rl_bytes must be 60..1514");
		return false;
	}
	r->d = tn_open_q(b, 16, 2048, v);
	return r->d != NULL;
}

static bool rl_open(const struct tg_boot *b, struct rl_run *r, struct ktest_verdict *v)
{
	bool rng = r->dev == RL_RNG;

	if (r->dev == RL_NET_TX || r->dev == RL_NET_RX)
		return rl_open_net(b, r, v);
	vio_discover(b);
	r->d = vio_find(rng ? VIO_ID_RNG : VIO_ID_BLOCK, 0);
	if (!r->d) {
		ktest_fail(v, rng ? "no rng device" : "no blk device");
		return false;
	}
	if (!vio_init(r->d, rng ? VIO_RNG_WANT : VIO_BLK_WANT, &r->why)) {
		tg_str_add(ktest_fail(v, "init: "), r->why.buf);
		return false;
	}
	if (!rng) {
		r->sectors = vio_config64(r->d, VIO_BLK_CFG_CAPACITY);
		if (r->bytes % VIO_SECTOR || r->sectors < r->bytes / VIO_SECTOR) {
			ktest_fail(v, "rl_bytes not a multiple of 512, or larger than the disk");
			return false;
		}
	}
	return true;
}

void ktest_ratelimit(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct rl_run r = {.why = {.len = 0}};
	uint64_t bytes, reqs, mark, t0, n;

	if (!rl_dev_knob(b, &r.dev, v) ||
	    !rl_knob(b, "ktest.rl_bytes=", RL_DEFAULT_BYTES, &bytes, v) ||
	    !rl_knob(b, "ktest.rl_reqs=", RL_DEFAULT_REQS, &reqs, v) ||
	    !rl_knob(b, "ktest.rl_mark=", RL_DEFAULT_MARK, &mark, v))
		return;
	if (!bytes || bytes > RL_MAX_BYTES || !mark) {
		ktest_fail(v, "rl_bytes must be 1..65536 and rl_mark at least 1");
		return;
	}
	r.bytes = (uint32_t)bytes;
	if (!rl_open(b, &r, v))
		return;
	ktest_info("ratelimit");
	con_puts("begin dev=");
	con_puts(rl_dev_names[r.dev]);
	con_puts(" bytes=");
	con_dec(r.bytes);
	con_puts(" reqs=");
	con_dec(reqs);
	con_puts("\n");
	con_flush();
	t0 = tg_rdtsc();
	for (n = 0; n < reqs;) {
		if (!rl_one(&r, n)) {
			r.errors++;
			tg_str_add(ktest_fail(v, "request failed: "), r.why.buf);
			break;
		}
		if (++n % mark == 0)
			rl_line("mark", n, tg_rdtsc() - t0);
	}
	ktest_info("ratelimit");
	con_puts("end errors=");
	con_dec(r.errors);
	con_puts("\n");
	rl_line("done", n, tg_rdtsc() - t0);
}
