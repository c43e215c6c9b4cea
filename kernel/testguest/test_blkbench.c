/* SPDX-License-Identifier: MIT */
/*
 * ktest blkbench: a virtio-blk workload for bench/blk_bench.py, the same on
 * every VMM. Four phases in this order: 4 KiB random reads at queue depth 1,
 * then at depth D, then 64 KiB sequential writes at depth 1, then at depth D.
 *
 * Up to D chains (header, one data buffer, status: three descriptors at
 * 3 * slot) are kept in flight: the guest posts D, notifies once, polls the
 * used ring and refills every completed slot, with one avail->idx publish and
 * at most one notification per refill batch. RING_EVENT_IDX is used when
 * offered: a notification only when avail_event asks for it (§2.7.10), and
 * used_event is kept half a ring-index space ahead, so the device never
 * interrupts (the guest polls; its interrupt lines are masked anyway).
 *
 * Around each phase, for the host's wall-clock and CPU sampling:
 *
 *     KTEST-INFO blkbench begin op=<randread|seqwrite> bs=<bytes> depth=<d> n=<n>
 *     ... the phase runs right after that line has left the UART ...
 *     KTEST-INFO blkbench end
 *     KTEST-INFO blkbench result op=.. bs=.. depth=.. n=.. errors=<e> tsc=<ticks>
 *                                tsc_begin=<abs> tsc_end=<abs>
 *
 * With ktest.bb_irq=1 the guest waits for the used-ring interrupt instead of
 * spinning: used_event asks for one at the next completion, the device's line
 * is routed through the IOAPIC (edge) to BB_IRQ_VECTOR, and the guest halts
 * in a CPL0 service (tg_wait_while16) until it comes; every interrupt taken is
 * acknowledged (InterruptACK) before the used ring is read again. The result
 * line then also gives waits= (halts) and irqs= (interrupts taken in the phase;
 * a phase may need no wait at all when completions are always there first).
 *
 * Knobs: ktest.bb_reads=N (4 KiB reads per read phase, default 20000),
 * ktest.bb_writes=N (64 KiB writes per write phase, default 4000),
 * ktest.bb_reads_deep=N / ktest.bb_writes_deep=N (the same at depth D; default:
 * as at depth 1), ktest.bb_depth=D (1-32, default 32), ktest.bb_seed=S.
 * Reads land on any 4 KiB-aligned offset of the disk; writes run from sector
 * 0 upwards and wrap at the last whole 64 KiB. The test FAILs if any request
 * ends with a status other than OK or an unexpected used length.
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define BB_MAX_DEPTH	 32
#define BB_READ_BYTES	 4096
#define BB_WRITE_BYTES	 65536
#define BB_DEFAULT_READS 20000
#define BB_DEFAULT_WRITE 4000
#define BB_SLOT_BYTES	 65536
#define BB_SLOTS_PER_BUF ((uint32_t)(sizeof(vt_buf_a) / BB_SLOT_BYTES))
#define BB_IRQ_VECTOR	 0x31

struct bb_state {
	struct vio_dev *d;
	bool event_idx;
	uint16_t notified_idx; /* avail->idx at the last notify decision */
	uint32_t op, bytes;
	uint64_t cap_bytes;
	uint64_t rnd;
	uint64_t next_write; /* byte offset of the next sequential write */
	uint64_t errors;
	bool irq;	      /* wait for the used-ring interrupt instead of polling */
	uint32_t irq_seen;    /* tg_irq_count[BB_IRQ_VECTOR] at the last ACK */
	uint64_t waits, irqs; /* per phase */
};

static struct vio_blk_hdr bb_hdr[BB_MAX_DEPTH] __attribute__((aligned(16)));
static volatile uint8_t bb_status[BB_MAX_DEPTH];

static inline void bb_mfence(void)
{
	/* Store of avail->idx before the load of avail_event: needs a real fence. */
	__asm__ volatile("mfence" ::: "memory");
}

static uint8_t *bb_slot_buf(uint32_t slot)
{
	uint8_t *base = slot < BB_SLOTS_PER_BUF ? vt_buf_a : vt_buf_b;

	return base + (size_t)(slot % BB_SLOTS_PER_BUF) * BB_SLOT_BYTES;
}

static uint64_t bb_next_rnd(struct bb_state *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 7;
	s->rnd ^= s->rnd << 17;
	return s->rnd;
}

/* Fill slot @slot's header and put its chain on the avail ring (not yet published). */
static void bb_post(struct bb_state *s, uint32_t slot)
{
	struct vio_dev *d = s->d;
	uint16_t head = (uint16_t)(3 * slot);
	uint64_t off;

	if (s->op == VIO_BLK_T_IN) {
		off = (bb_next_rnd(s) % (s->cap_bytes / s->bytes)) * s->bytes;
	} else {
		if (s->next_write + s->bytes > s->cap_bytes)
			s->next_write = 0;
		off = s->next_write;
		s->next_write += s->bytes;
	}
	bb_hdr[slot] = (struct vio_blk_hdr){.type = s->op, .sector = off / VIO_SECTOR};
	bb_status[slot] = 0xff;
	vio_set_desc(d, head, (uintptr_t)&bb_hdr[slot], sizeof(bb_hdr[slot]), VIO_DESC_NEXT,
		     (uint16_t)(head + 1));
	vio_set_desc(d, head + 1u, (uintptr_t)bb_slot_buf(slot), s->bytes,
		     (uint16_t)(VIO_DESC_NEXT | (s->op == VIO_BLK_T_IN ? VIO_DESC_WRITE : 0)),
		     (uint16_t)(head + 2));
	vio_set_desc(d, head + 2u, (uintptr_t)&bb_status[slot], 1, VIO_DESC_WRITE, 0);
	vio_avail_put(d, head);
}

/* Publish what was put since the last call; notify only if the device asks for it. */
static void bb_kick(struct bb_state *s)
{
	struct vio_dev *d = s->d;
	uint16_t new_idx = d->avail_idx, old_idx = s->notified_idx, event;

	if (new_idx == old_idx)
		return;
	vio_avail_publish(d);
	s->notified_idx = new_idx;
	if (s->event_idx) {
		bb_mfence();
		event = *(volatile uint16_t *)(d->used + 4 + 8 * (uint32_t)d->qsize);
		/* vring_need_event() */
		if ((uint16_t)(new_idx - event - 1) >= (uint16_t)(new_idx - old_idx))
			return;
	}
	vio_notify(d, 0);
}

/*
 * Polling: keep used_event far ahead of the used index (no interrupts wanted).
 * Interrupt mode: ask for one at the next used entry.
 */
static void bb_used_event(struct bb_state *s)
{
	struct vio_dev *d = s->d;

	if (s->event_idx)
		*(volatile uint16_t *)(d->avail + 4 + 2 * (uint32_t)d->qsize) =
		    (uint16_t)(d->used_idx + (s->irq ? 0 : 0x8000));
}

/* Acknowledge the interrupts taken since the last call, and count them. */
static void bb_ack_irqs(struct bb_state *s)
{
	uint32_t n = tg_irq_count[BB_IRQ_VECTOR];

	if (n == s->irq_seen)
		return;
	/* A level-triggered source (QEMU) stays up until this; kiln's irqfd does not care. */
	vio_write(s->d, VIO_INTERRUPT_ACK, 1);
	s->irqs += n - s->irq_seen;
	s->irq_seen = n;
}

/*
 * Interrupt mode, nothing new on the used ring: acknowledge what was taken,
 * ask for an interrupt, and halt unless an entry arrived meanwhile.
 */
static void bb_wait_irq(struct bb_state *s)
{
	struct vio_dev *d = s->d;
	volatile uint16_t *used_idx = (volatile uint16_t *)(d->used + 2);

	bb_ack_irqs(s);
	bb_used_event(s);
	bb_mfence(); /* used_event out before used->idx is read: the device sees one or we do */
	if (*used_idx != d->used_idx)
		return;
	s->waits++;
	tg_wait_while16(used_idx, d->used_idx);
}

/* Route the device's line (its IOAPIC pin) to BB_IRQ_VECTOR on this CPU, edge-triggered. */
static void bb_irq_setup(struct bb_state *s)
{
	tg_lapic_enable();
	tg_ioapic_route(s->d->irq, BB_IRQ_VECTOR, false);
	s->irq_seen = tg_irq_count[BB_IRQ_VECTOR];
}

/* One phase: @n requests with at most @depth in flight. False on a device timeout. */
static bool bb_phase(struct bb_state *s, uint64_t n, uint32_t depth, struct ktest_verdict *v)
{
	struct vio_dev *d = s->d;
	uint64_t posted = 0, done = 0, last_progress;
	uint32_t slot, want_len = s->op == VIO_BLK_T_IN ? s->bytes + 1 : 1;

	for (slot = 0; slot < depth && posted < n; slot++, posted++)
		bb_post(s, slot);
	bb_kick(s);
	last_progress = tg_rdtsc();
	while (done < n) {
		uint16_t now = vio_used_idx_now(d);

		if (now == d->used_idx) {
			if (s->irq) {
				bb_wait_irq(s);
				continue;
			}
			if (tg_rdtsc() - last_progress > VIO_TIMEOUT_TSC) {
				tg_str_add_hex(ktest_fail(v, "timeout, device status "),
					       vio_read(d, VIO_STATUS));
				return false;
			}
			tg_pause();
			continue;
		}
		__asm__ volatile("" ::: "memory");
		while (d->used_idx != now) {
			volatile uint8_t *e = d->used + 4 + 8 * (uint32_t)(d->used_idx % d->qsize);
			uint32_t id = *(volatile uint32_t *)e, len = *(volatile uint32_t *)(e + 4);

			d->used_idx++;
			done++;
			if (id % 3 != 0 || id / 3 >= depth) {
				tg_str_add_dec(ktest_fail(v, "bad used id "), id);
				return false;
			}
			slot = id / 3;
			if (bb_status[slot] != VIO_BLK_S_OK || len != want_len)
				s->errors++;
			if (posted < n) {
				bb_post(s, slot);
				posted++;
			}
		}
		bb_used_event(s);
		bb_kick(s);
		last_progress = tg_rdtsc();
	}
	return true;
}

static void bb_run(struct bb_state *s, uint32_t op, uint64_t n, uint32_t depth,
		   struct ktest_verdict *v)
{
	const char *name = op == VIO_BLK_T_IN ? "randread" : "seqwrite";
	uint64_t t0, t1;
	bool ok;

	s->op = op;
	s->bytes = op == VIO_BLK_T_IN ? BB_READ_BYTES : BB_WRITE_BYTES;
	s->errors = 0;
	s->waits = 0;
	s->irqs = 0;
	ktest_info("blkbench");
	con_puts("begin op=");
	con_puts(name);
	con_puts(" bs=");
	con_dec(s->bytes);
	con_puts(" depth=");
	con_dec(depth);
	con_puts(" n=");
	con_dec(n);
	con_puts("\n");
	con_flush();
	t0 = tg_rdtsc();
	ok = bb_phase(s, n, depth, v);
	t1 = tg_rdtsc();
	if (s->irq)
		bb_ack_irqs(s); /* and count those taken while the guest never had to wait */
	con_puts("KTEST-INFO blkbench end\n");
	con_flush();
	if (!ok)
		return;
	ktest_info("blkbench");
	con_puts("result op=");
	con_puts(name);
	con_puts(" bs=");
	con_dec(s->bytes);
	con_puts(" depth=");
	con_dec(depth);
	con_puts(" n=");
	con_dec(n);
	con_puts(" errors=");
	con_dec(s->errors);
	con_puts(" tsc=");
	con_dec(t1 - t0);
	con_puts(" tsc_begin=");
	con_dec(t0);
	con_puts(" tsc_end=");
	con_dec(t1);
	if (s->irq) {
		con_puts(" waits=");
		con_dec(s->waits);
		con_puts(" irqs=");
		con_dec(s->irqs);
	}
	con_puts("\n");
	if (s->errors) {
		tg_str_add(ktest_fail(v, name), " errors ");
		tg_str_add_dec(&v->reason, s->errors);
	}
}

static uint64_t bb_knob(const struct tg_boot *b, const char *key, uint64_t def,
			struct ktest_verdict *v)
{
	uint64_t x;

	switch (cmdline_get_u64(b->cmdline, key, &x)) {
	case CMDLINE_NUM_OK:
		return x;
	case CMDLINE_NUM_ABSENT:
		return def;
	default:
		tg_str_add(ktest_fail(v, "bad "), key);
		return def;
	}
}

void ktest_blkbench(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d = vt_blk_rw_dev(b);
	struct tg_str why = {.len = 0};
	struct bb_state s = {.d = d};
	uint64_t reads, writes, reads_deep, writes_deep, depth, seed;

	reads = bb_knob(b, "ktest.bb_reads=", BB_DEFAULT_READS, v);
	writes = bb_knob(b, "ktest.bb_writes=", BB_DEFAULT_WRITE, v);
	reads_deep = bb_knob(b, "ktest.bb_reads_deep=", reads, v);
	writes_deep = bb_knob(b, "ktest.bb_writes_deep=", writes, v);
	depth = bb_knob(b, "ktest.bb_depth=", BB_MAX_DEPTH, v);
	seed = bb_knob(b, "ktest.bb_seed=", 0x2545f4914f6cdd1dULL, v);
	s.irq = bb_knob(b, "ktest.bb_irq=", 0, v) != 0;
	if (v->failed)
		return;
	if (depth < 1 || depth > BB_MAX_DEPTH) {
		ktest_fail(v, "ktest.bb_depth not 1-32");
		return;
	}
	if (!d) {
		ktest_fail(v, "no writable blk device");
		return;
	}
	if (!vio_init(d, VIO_BLK_WANT, &why)) {
		tg_str_add(ktest_fail(v, "init: "), why.buf);
		return;
	}
	if (d->qsize < 3 * depth) {
		ktest_fail(v, "queue too small for the depth");
		return;
	}
	s.event_idx = (d->features & VIO_F_EVENT_IDX) != 0;
	s.cap_bytes = vio_config64(d, VIO_BLK_CFG_CAPACITY) * VIO_SECTOR;
	s.rnd = seed | 1;
	if (s.cap_bytes < BB_MAX_DEPTH * (uint64_t)BB_WRITE_BYTES) {
		ktest_fail(v, "disk smaller than 2 MiB");
		return;
	}
	ktest_info("blkbench");
	con_puts("dev=");
	con_dec(d->n);
	con_puts(" capacity_bytes=");
	con_dec(s.cap_bytes);
	con_puts(" qsize=");
	con_dec(d->qsize);
	con_puts(" event_idx=");
	con_dec(s.event_idx);
	con_puts(" features=");
	con_hex(d->features);
	con_puts(" irq=");
	con_dec(s.irq ? d->irq : 0);
	con_puts("\n");
	if (s.irq && !s.event_idx) {
		ktest_fail(v, "ktest.bb_irq needs RING_EVENT_IDX");
		return;
	}
	if (s.irq)
		bb_irq_setup(&s);
	bb_used_event(&s);

	if (reads)
		bb_run(&s, VIO_BLK_T_IN, reads, 1, v);
	if (reads_deep && depth > 1 && !v->failed)
		bb_run(&s, VIO_BLK_T_IN, reads_deep, (uint32_t)depth, v);
	if ((writes || writes_deep) && !v->failed) {
		/* Data to write: anything but zeros (the reads left disk data behind). */
		vt_pattern(vt_buf_a, sizeof(vt_buf_a), seed);
		vt_pattern(vt_buf_b, sizeof(vt_buf_b), seed + 1);
		if (writes)
			bb_run(&s, VIO_BLK_T_OUT, writes, 1, v);
		if (writes_deep && depth > 1 && !v->failed)
			bb_run(&s, VIO_BLK_T_OUT, writes_deep, (uint32_t)depth, v);
	}
}
