/* SPDX-License-Identifier: MIT */
/*
 * ktest ratelimit: a steady stream of requests, one at a time, for
 * tests/integration/test_ratelimit.py to measure the rate a device's rate
 * limiter lets through. The host times the mark lines as they arrive (the
 * guest's TSC rate is not known to it); the guest's TSC figures are printed
 * too, for a look by hand.
 *
 *     KTEST-INFO ratelimit begin dev=<blk|rng> bytes=<per request> reqs=<n>
 *     KTEST-INFO ratelimit mark n=<requests done> tsc=<ticks since begin>
 *     KTEST-INFO ratelimit end n=<n> errors=<e> tsc=<ticks>
 *
 * Knobs: ktest.rl_rng=1 uses the first virtio-rng (default: the first
 * virtio-blk, read from sector 0 upwards, wrapping at the capacity),
 * ktest.rl_bytes=N bytes per request (blk: a multiple of 512; at most 64 KiB),
 * ktest.rl_reqs=N requests (default 1000), ktest.rl_mark=M a mark every M
 * requests (default 10). FAIL if a request times out, ends with a status other
 * than OK, or gets an unexpected used length.
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

struct rl_run {
	struct vio_dev *d;
	bool rng;
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

static bool rl_one(struct rl_run *r)
{
	struct vio_buf buf = {(uintptr_t)vt_buf_a, r->bytes, VIO_DESC_WRITE};
	uint32_t used = 0;
	uint8_t status = 0xff;

	r->why.len = 0;
	if (r->rng) {
		if (!vio_xfer(r->d, &buf, 1, false, &used, &r->why))
			return false;
		return used == r->bytes;
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

static bool rl_open(const struct tg_boot *b, struct rl_run *r, struct ktest_verdict *v)
{
	uint64_t want = r->rng ? VIO_RNG_WANT : VIO_BLK_WANT;

	vio_discover(b);
	r->d = vio_find(r->rng ? VIO_ID_RNG : VIO_ID_BLOCK, 0);
	if (!r->d) {
		ktest_fail(v, r->rng ? "no rng device" : "no blk device");
		return false;
	}
	if (!vio_init(r->d, want, &r->why)) {
		tg_str_add(ktest_fail(v, "init: "), r->why.buf);
		return false;
	}
	if (!r->rng) {
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
	uint64_t rng, bytes, reqs, mark, t0, n;

	if (!rl_knob(b, "ktest.rl_rng=", 0, &rng, v) ||
	    !rl_knob(b, "ktest.rl_bytes=", RL_DEFAULT_BYTES, &bytes, v) ||
	    !rl_knob(b, "ktest.rl_reqs=", RL_DEFAULT_REQS, &reqs, v) ||
	    !rl_knob(b, "ktest.rl_mark=", RL_DEFAULT_MARK, &mark, v))
		return;
	if (!bytes || bytes > RL_MAX_BYTES || !mark) {
		ktest_fail(v, "rl_bytes must be 1..65536 and rl_mark at least 1");
		return;
	}
	r.rng = rng != 0;
	r.bytes = (uint32_t)bytes;
	if (!rl_open(b, &r, v))
		return;
	ktest_info("ratelimit");
	con_puts(r.rng ? "begin dev=rng bytes=" : "begin dev=blk bytes=");
	con_dec(r.bytes);
	con_puts(" reqs=");
	con_dec(reqs);
	con_puts("\n");
	con_flush();
	t0 = tg_rdtsc();
	for (n = 0; n < reqs;) {
		if (!rl_one(&r)) {
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
