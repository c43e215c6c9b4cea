/* SPDX-License-Identifier: MIT */
/*
 * ktest netbench: a virtio-net workload for bench/net_bench.py, the same on
 * every VMM. Queues of 256; no interrupts (the guest polls).
 *
 * TX (guest -> host): 256 slots, each its own copy of one frame (broadcast,
 * EtherType 0x88b6); the ring is kept full: every completed slot is put back
 * in one batch, one avail->idx publish and at most one notification per
 * batch (none while the device sets VRING_USED_F_NO_NOTIFY, §2.7.10).
 * RX (host -> guest): 256 buffers of 2 KiB; the guest prints "ready", the
 * host starts sending, and from the first frame on the guest counts N frames,
 * reposting each batch of used buffers the same way.
 *
 *     KTEST-INFO netbench ready dir=rx                      (RX only)
 *     KTEST-INFO netbench begin dir=<tx|rx> size=<bytes> n=<n>
 *     KTEST-INFO netbench end
 *     KTEST-INFO netbench result dir=.. size=.. n=.. tsc=<ticks> tsc_begin=.. tsc_end=..
 *
 * Knobs: ktest.nb_size=S (frame bytes without the vnet header, 60-1514,
 * default 64), ktest.nb_frames=N (default 100000), ktest.nb_dir=tx|rx|both
 * (default both, TX first). FAIL when the ring stalls for ~5 s.
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define NB_QSIZE	    256
#define NB_HDR		    12
#define NB_SLOT		    2048
#define NB_DEFAULT_SIZE	    64
#define NB_DEFAULT_FRAMES   100000
#define NB_STALL_TSC	    (5 * VIO_TIMEOUT_TSC)
#define NB_USED_F_NO_NOTIFY 1

static uint8_t nb_tx[NB_QSIZE][NB_SLOT] __attribute__((aligned(64)));

static void nb_line(const char *what, const char *dir, uint64_t size, uint64_t n)
{
	ktest_info("netbench");
	con_puts(what);
	con_puts(" dir=");
	con_puts(dir);
	if (size) {
		con_puts(" size=");
		con_dec(size);
		con_puts(" n=");
		con_dec(n);
	}
	con_puts("\n");
	con_flush();
}

static void nb_result(const char *dir, uint64_t size, uint64_t n, uint64_t t0, uint64_t t1)
{
	ktest_info("netbench");
	con_puts("result dir=");
	con_puts(dir);
	con_puts(" size=");
	con_dec(size);
	con_puts(" n=");
	con_dec(n);
	con_puts(" tsc=");
	con_dec(t1 - t0);
	con_puts(" tsc_begin=");
	con_dec(t0);
	con_puts(" tsc_end=");
	con_dec(t1);
	con_puts("\n");
}

/* Publish what was added and notify unless the device said it does not need it. */
static void nb_kick(struct vio_dev *q, unsigned int qi)
{
	vio_avail_publish(q);
	if (!(*(volatile uint16_t *)q->used & NB_USED_F_NO_NOTIFY))
		vio_notify(q, qi);
}

/* Take every new used entry, put each id straight back (up to @budget more); the count taken. */
static uint32_t nb_recycle(struct vio_dev *q, uint64_t *budget)
{
	uint16_t now = vio_used_idx_now(q);
	uint32_t taken = 0;

	while (q->used_idx != now) {
		uint32_t id, len;

		vio_wait_used(q, 0, &id, &len);
		taken++;
		if (*budget) {
			vio_avail_put(q, (uint16_t)(id % q->qsize));
			(*budget)--;
		}
	}
	return taken;
}

static bool nb_tx_phase(uint64_t size, uint64_t n, struct ktest_verdict *v)
{
	struct vio_dev *q = tn_queue_view(1);
	uint64_t left = n, done = 0, t0, t1, last;

	for (uint16_t i = 0; i < NB_QSIZE; i++) {
		uint8_t *f = nb_tx[i] + NB_HDR;

		memset(nb_tx[i], 0, NB_HDR);
		memset(f, 0xff, 6);
		memcpy(f + 6, tn_guest_mac(), 6);
		f[12] = 0x88;
		f[13] = 0xb6;
		vio_set_desc(q, i, (uintptr_t)nb_tx[i], (uint32_t)(NB_HDR + size), 0, 0);
	}
	nb_line("begin", "tx", size, n);
	t0 = last = tg_rdtsc();
	for (uint16_t i = 0; i < NB_QSIZE && left; i++, left--)
		vio_avail_put(q, i);
	nb_kick(q, 1);
	while (done < n) {
		uint64_t before = left;
		uint32_t got = nb_recycle(q, &left);

		done += got;
		if (left != before)
			nb_kick(q, 1);
		if (got) {
			last = tg_rdtsc();
		} else if (tg_rdtsc() - last > NB_STALL_TSC) {
			ktest_fail(v, "TX ring stalled");
			return false;
		}
	}
	t1 = tg_rdtsc();
	nb_line("end", "tx", 0, 0);
	nb_result("tx", size, n, t0, t1);
	return true;
}

static bool nb_rx_phase(uint64_t size, uint64_t n, struct ktest_verdict *v)
{
	struct vio_dev *q = tn_queue_view(0);
	uint64_t done = 0, forever = ~0ULL, t0 = 0, t1, last;

	nb_line("ready", "rx", 0, 0);
	last = tg_rdtsc();
	while (vio_used_idx_now(q) == q->used_idx) {
		if (tg_rdtsc() - last > 6 * NB_STALL_TSC) {
			ktest_fail(v, "RX: no frame arrived");
			return false;
		}
		tg_pause();
	}
	nb_line("begin", "rx", size, n);
	t0 = last = tg_rdtsc();
	while (done < n) {
		uint32_t got = nb_recycle(q, &forever);

		done += got;
		if (got) {
			nb_kick(q, 0);
			last = tg_rdtsc();
		} else if (tg_rdtsc() - last > NB_STALL_TSC) {
			ktest_fail(v, "RX ring stalled");
			return false;
		}
	}
	t1 = tg_rdtsc();
	nb_line("end", "rx", 0, 0);
	nb_result("rx", size, n, t0, t1);
	return true;
}

void ktest_netbench(const struct tg_boot *b, struct ktest_verdict *v)
{
	uint64_t size = NB_DEFAULT_SIZE, n = NB_DEFAULT_FRAMES;
	const char *dir = "both";
	size_t dir_len = 4;

	cmdline_get_u64(b->cmdline, "ktest.nb_size=", &size);
	cmdline_get_u64(b->cmdline, "ktest.nb_frames=", &n);
	cmdline_get(b->cmdline, "ktest.nb_dir=", &dir, &dir_len);
	if (size < 60 || size > 1514 || n == 0) {
		ktest_fail(v, "ktest.nb_size must be 60-1514 and nb_frames > 0");
		return;
	}
	if (!tn_open_q(b, NB_QSIZE, NB_SLOT, v))
		return;
	if (!tg_span_eq(dir, dir_len, "rx") && !nb_tx_phase(size, n, v))
		return;
	if (!tg_span_eq(dir, dir_len, "tx"))
		nb_rx_phase(size, n, v);
}
