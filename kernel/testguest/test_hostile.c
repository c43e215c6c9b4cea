/* SPDX-License-Identifier: MIT */
/*
 * ktest hostile_*: a driver that breaks the virtio rules on purpose. Each test
 * checks that kiln does exactly what docs/VIRTIO.md promises for that input,
 * prints what it saw on a KTEST-INFO line, and then proves the device can be
 * brought back (Status = 0, full initialisation, a normal request) and that
 * another device kept working. The target is the writable blk device (rng for
 * the rng cases); the other device is the rng (or another blk device).
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define MMIO_GAP_START 0xc0000000ULL
#define SCRATCH_SECTOR 64 /* blk_rw's area ends at 40, blk_big's starts at 2048 */
#define RNG_OK_BYTES   16
#define FAR_HEAD       200  /* a chain head that only fits a queue of 256 */
#define CFG_FAR	       0xf0 /* config offset beyond every blk/rng config */

struct hctx {
	const struct tg_boot *b;
	struct vio_dev *d;     /* abused */
	struct vio_dev *other; /* must keep working */
	uint64_t want;	       /* features the normal initialisation asks for */
	struct ktest_verdict *v;
	unsigned int nfields; /* printed so far on the KTEST-INFO line */
	bool expect_reset;    /* the test left the device in NEEDS_RESET on purpose */
};

/* The KTEST-INFO line is printed as the test goes: one field at a time. */
static void h_word(struct hctx *h, const char *w)
{
	if (h->nfields++)
		con_puts(" ");
	con_puts(w);
}

static void h_info(struct hctx *h, const char *key, uint64_t val, bool hex)
{
	h_word(h, key);
	con_puts("=");
	if (hex)
		con_hex(val);
	else
		con_dec(val);
}

static struct tg_str *h_fail(struct hctx *h, const char *why)
{
	return ktest_fail(h->v, why);
}

static void h_fail_val(struct hctx *h, const char *why, uint64_t val)
{
	tg_str_add_hex(h_fail(h, why), val);
}

static bool h_init(struct hctx *h, struct vio_dev *d, uint64_t want)
{
	struct tg_str why = {.len = 0};

	if (vio_init(d, want, &why))
		return true;
	tg_str_add(h_fail(h, "init: "), why.buf);
	return false;
}

/* A normal request on @d: a 1-sector read (blk) or 16 random bytes (rng). */
static bool h_normal(struct hctx *h, struct vio_dev *d, const char *what)
{
	struct tg_str why = {.len = 0};
	uint32_t len = 0, want;
	uint8_t st = 0;
	bool ok;

	if (d->device_id == VIO_ID_RNG) {
		struct vio_buf buf = {(uintptr_t)vt_buf_b, RNG_OK_BYTES, VIO_DESC_WRITE};

		want = RNG_OK_BYTES;
		ok = vio_xfer(d, &buf, 1, false, &len, &why);
	} else {
		want = VIO_SECTOR + 1;
		ok = vio_blk(d, VIO_BLK_T_IN, 0, vt_buf_b, VIO_SECTOR, 1, false, &st, &len, &why);
	}
	if (ok && (len != want || st != VIO_BLK_S_OK)) {
		tg_str_add(&why, "len ");
		tg_str_add_dec(&why, len);
		tg_str_add(&why, " status ");
		tg_str_add_dec(&why, st);
		ok = false;
	}
	if (!ok) {
		struct tg_str *r = h_fail(h, what);

		tg_str_add(r, " request failed: ");
		tg_str_add(r, why.buf);
	}
	return ok;
}

/* Put chain @head on the avail ring and notify. */
static void h_kick(struct hctx *h, uint16_t head)
{
	vio_avail_put(h->d, head);
	vio_avail_publish(h->d);
	vio_notify(h->d, 0);
}

static void h_go(struct hctx *h, const struct vio_buf *b, unsigned int n, bool indirect)
{
	vio_chain(h->d, b, n, indirect);
	h_kick(h, 0);
}

static void h_hdr(uint32_t type, uint64_t sector)
{
	vio_hdr = (struct vio_blk_hdr){.type = type, .sector = sector};
	vio_status_byte = 0xff;
}

#define B_HDR                                                                                      \
	{                                                                                          \
		(uintptr_t) & vio_hdr, sizeof(vio_hdr), 0                                          \
	}
#define B_STATUS                                                                                   \
	{                                                                                          \
		(uintptr_t) & vio_status_byte, 1, VIO_DESC_WRITE                                   \
	}
#define B_DATA_W                                                                                   \
	{                                                                                          \
		(uintptr_t) vt_buf_a, VIO_SECTOR, VIO_DESC_WRITE                                   \
	}
#define B_DATA_R                                                                                   \
	{                                                                                          \
		(uintptr_t) vt_buf_a, VIO_SECTOR, 0                                                \
	}

/* VIRTIO.md walker rule: the chain comes back with length 0, then NEEDS_RESET. */
static void h_want_used0_reset(struct hctx *h, uint16_t head)
{
	uint32_t id = 0, len = 0, st;
	bool got = vio_wait_used(h->d, VIO_TIMEOUT_TSC, &id, &len);

	st = vio_wait_status(h->d, VIO_S_NEEDS_RESET, VIO_TIMEOUT_TSC);
	h->expect_reset = true;
	if (got) {
		h_info(h, "used_len", len, false);
		if (id != head)
			h_fail_val(h, "used id ", id);
		if (len != 0)
			h_fail_val(h, "used len ", len);
	} else {
		h_word(h, "used=none");
		h_fail(h, "no used entry");
	}
	h_info(h, "status", st, true);
	if (h->d->device_id == VIO_ID_BLOCK) {
		h_info(h, "blk_status", vio_status_byte, true);
		if (vio_status_byte != 0xff)
			h_fail(h, "blk status byte written");
	}
	if (!(st & VIO_S_NEEDS_RESET))
		h_fail(h, "no NEEDS_RESET");
}

/* VIRTIO.md: no trustworthy head, so NEEDS_RESET without a used entry. */
static void h_want_reset_no_used(struct hctx *h)
{
	uint32_t st = vio_wait_status(h->d, VIO_S_NEEDS_RESET, VIO_TIMEOUT_TSC);
	uint16_t used = vio_used_idx_now(h->d);

	h->expect_reset = true;
	h_info(h, "status", st, true);
	h_info(h, "used_entries", (uint16_t)(used - h->d->used_idx), false);
	if (!(st & VIO_S_NEEDS_RESET))
		h_fail(h, "no NEEDS_RESET");
	if (used != h->d->used_idx)
		h_fail(h, "a used entry was written");
}

/* A blk request the device must complete with @want_st, used length @want_len, no reset. */
static void h_want_blk(struct hctx *h, const char *what, uint8_t want_st, uint32_t want_len)
{
	uint32_t id = 0, len = 0, st;
	bool got = vio_wait_used(h->d, VIO_TIMEOUT_TSC, &id, &len);
	struct tg_str *r;

	st = vio_read(h->d, VIO_STATUS);
	h_word(h, what);
	con_puts(":");
	if (!got) {
		con_puts("none");
		tg_str_add(h_fail(h, what), ": no used entry");
		return;
	}
	con_dec(len);
	con_puts("/");
	con_hex(vio_status_byte);
	if (st & VIO_S_NEEDS_RESET) {
		tg_str_add(h_fail(h, what), ": NEEDS_RESET");
		h->expect_reset = true;
	}
	if (id != 0 || len != want_len || vio_status_byte != want_st) {
		r = h_fail(h, what);
		tg_str_add(r, " got ");
		tg_str_add_dec(r, len);
		tg_str_add(r, "/");
		tg_str_add_hex(r, vio_status_byte);
		tg_str_add(r, " want ");
		tg_str_add_dec(r, want_len);
		tg_str_add(r, "/");
		tg_str_add_hex(r, want_st);
	}
}

/* Reset and initialise again (between sub-cases of one test). */
static bool h_recover(struct hctx *h)
{
	return h_init(h, h->d, h->want);
}

static uint64_t h_ram_end(const struct tg_boot *b)
{
	uint64_t end = 0, e;
	unsigned int i;

	for (i = 0; i < b->nr_mem; i++) {
		const struct tg_mem_range *m = &b->mem[i];

		if (m->type == TG_MEM_RAM && m->addr < MMIO_GAP_START &&
		    !__builtin_add_overflow(m->addr, m->size, &e) && e > end)
			end = e;
	}
	return end;
}

/* ---- walker rules ---- */

static void h_loop(struct hctx *h)
{
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	vio_set_desc(h->d, 0, (uintptr_t)&vio_hdr, sizeof(vio_hdr), VIO_DESC_NEXT, 1);
	vio_set_desc(h->d, 1, (uintptr_t)vt_buf_a, VIO_SECTOR, VIO_DESC_WRITE | VIO_DESC_NEXT, 2);
	/* Back to 1, not 0: a loop of writable buffers breaks no other rule. */
	vio_set_desc(h->d, 2, (uintptr_t)&vio_status_byte, 1, VIO_DESC_WRITE | VIO_DESC_NEXT, 1);
	h_kick(h, 0);
	h_want_used0_reset(h, 0);
}

static void h_head(struct hctx *h)
{
	h_kick(h, h->d->qsize);
	h_want_reset_no_used(h);
}

static void h_next(struct hctx *h)
{
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	vio_set_desc(h->d, 0, (uintptr_t)&vio_hdr, sizeof(vio_hdr), VIO_DESC_NEXT, h->d->qsize);
	h_kick(h, 0);
	h_want_used0_reset(h, 0);
}

static void h_avail_jump(struct hctx *h)
{
	const struct vio_buf c[] = {B_HDR, B_DATA_W, B_STATUS};

	/* Every ring slot names a valid chain: only the jump itself is wrong. */
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	vio_chain(h->d, c, 3, false);
	h->d->avail_idx = (uint16_t)(h->d->qsize + 1);
	vio_avail_publish(h->d);
	vio_notify(h->d, 0);
	h_info(h, "avail_idx", h->d->avail_idx, false);
	h_want_reset_no_used(h);
}

/* IN request whose data buffer is @addr/@len. */
static void h_bad_data(struct hctx *h, uint64_t addr, uint32_t len)
{
	const struct vio_buf c[] = {B_HDR, {addr, len, VIO_DESC_WRITE}, B_STATUS};

	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	h_info(h, "addr", addr, true);
	h_info(h, "len", len, true);
	h_go(h, c, 3, false);
	h_want_used0_reset(h, 0);
}

static void h_wrap(struct hctx *h)
{
	h_bad_data(h, 0xfffffffffffff000ULL, 0x2000);
}

static void h_ram_end_test(struct hctx *h)
{
	uint64_t end = h_ram_end(h->b);

	if (end < 2 * VIO_SECTOR) {
		h_fail(h, "no RAM in the memory map");
		return;
	}
	h_bad_data(h, end - VIO_SECTOR, 2 * VIO_SECTOR);
}

static void h_mmio_gap(struct hctx *h)
{
	/* DMA into the device's own register window. */
	h_bad_data(h, h->d->base, VIO_SECTOR);
}

static void h_zero_len(struct hctx *h)
{
	h_bad_data(h, (uintptr_t)vt_buf_a, 0);
}

static void h_huge_len(struct hctx *h)
{
	h_bad_data(h, (uintptr_t)vt_buf_a, 0xfffffe00U);
}

static void h_write_before_read(struct hctx *h)
{
	const struct vio_buf c[] = {
	    B_HDR, B_DATA_W, {(uintptr_t)vt_buf_b, VIO_SECTOR, 0}, B_STATUS};

	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	h_go(h, c, 4, false);
	h_want_used0_reset(h, 0);
}

static void h_indirect_nested(struct hctx *h)
{
	vio_indirect[0] =
	    (struct vio_desc){(uintptr_t)&vio_indirect[4], 3 * 16, VIO_DESC_INDIRECT, 0};
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	vio_indirect[4] = (struct vio_desc){(uintptr_t)&vio_hdr, sizeof(vio_hdr), VIO_DESC_NEXT, 1};
	vio_indirect[5] =
	    (struct vio_desc){(uintptr_t)vt_buf_a, VIO_SECTOR, VIO_DESC_WRITE | VIO_DESC_NEXT, 2};
	vio_indirect[6] = (struct vio_desc){(uintptr_t)&vio_status_byte, 1, VIO_DESC_WRITE, 0};
	vio_set_desc(h->d, 0, (uintptr_t)vio_indirect, 16, VIO_DESC_INDIRECT, 0);
	h_kick(h, 0);
	h_want_used0_reset(h, 0);
}

/* A valid 3-entry table in vio_indirect, described with length @len. */
static void h_indirect_with_len(struct hctx *h, uint32_t len, uint16_t flags)
{
	const struct vio_buf c[] = {B_HDR, B_DATA_W, B_STATUS};

	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	vio_chain(h->d, c, 3, true);
	vio_set_desc(h->d, 0, (uintptr_t)vio_indirect, len, (uint16_t)(VIO_DESC_INDIRECT | flags),
		     1);
	/* With NEXT, descriptor 1 is a valid status buffer. */
	vio_set_desc(h->d, 1, (uintptr_t)&vio_status_byte, 1, VIO_DESC_WRITE, 0);
	h_kick(h, 0);
	h_want_used0_reset(h, 0);
}

static void h_indirect_len(struct hctx *h)
{
	h_info(h, "table_len", 24, false);
	h_indirect_with_len(h, 24, 0);
	if (!h_recover(h))
		return;
	h_info(h, "table_len", 0, false);
	h_indirect_with_len(h, 0, 0);
}

static void h_indirect_next(struct hctx *h)
{
	h_indirect_with_len(h, 3 * 16, VIO_DESC_NEXT);
}

static void h_indirect_unneg(struct hctx *h)
{
	/* The wrapper initialised without VIRTIO_F_INDIRECT_DESC. */
	h_info(h, "negotiated", h->d->features, true);
	h_indirect_with_len(h, 3 * 16, 0);
}

static void h_seg_max(struct hctx *h)
{
	uint32_t seg_max =
	    (h->d->features & VIO_BLK_F_SEG_MAX) ? vio_config32(h->d, VIO_BLK_CFG_SEG_MAX) : 0;
	uint8_t st = 0;
	uint32_t len = 0, n;
	struct tg_str why = {.len = 0};
	bool indirect;

	h_info(h, "seg_max", seg_max, false);
	/* seg_max + 1 data segments, header and status must fit a table of qsize. */
	if (seg_max == 0 || seg_max + 3 > h->d->qsize) {
		h_fail_val(h, "seg_max untestable with this queue size: ", seg_max);
		return;
	}
	n = seg_max + 1;
	indirect = false;
	if (!vio_blk(h->d, VIO_BLK_T_IN, SCRATCH_SECTOR, vt_buf_a, n * VIO_SECTOR, n, indirect, &st,
		     &len, &why)) {
		tg_str_add(h_fail(h, "seg_max+1: "), why.buf);
		return;
	}
	h_info(h, "used_len", len, false);
	h_info(h, "blk_status", st, true);
	h_info(h, "status", vio_read(h->d, VIO_STATUS), true);
	if (st != VIO_BLK_S_IOERR || len != 1)
		h_fail(h, "seg_max+1 segments not IOERR/1");
	/* Exactly seg_max still works. */
	if (!vt_blk_expect(h->d, "seg_max segments", VIO_BLK_T_IN, SCRATCH_SECTOR, vt_buf_a,
			   seg_max * VIO_SECTOR, seg_max, indirect, VIO_BLK_S_OK,
			   seg_max * VIO_SECTOR + 1, h->v))
		return;
}

static void h_seg_257(struct hctx *h)
{
	static struct vio_buf c[257];
	unsigned int i;

	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	c[0] = (struct vio_buf)B_HDR;
	for (i = 1; i < 256; i++)
		c[i] = (struct vio_buf){(uintptr_t)vt_buf_a + (i - 1) * VIO_SECTOR, VIO_SECTOR,
					VIO_DESC_WRITE};
	c[256] = (struct vio_buf)B_STATUS;
	h_info(h, "descriptors", 257, false);
	h_go(h, c, 257, true);
	h_want_used0_reset(h, 0);
}

/* ---- virtio-blk request rules ---- */

static void h_status_ro(struct hctx *h)
{
	const struct vio_buf c[] = {B_HDR, B_DATA_R, {(uintptr_t)&vio_status_byte, 1, 0}};

	h_hdr(VIO_BLK_T_OUT, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_used0_reset(h, 0);
}

static void h_short_hdr(struct hctx *h)
{
	const struct vio_buf c[] = {{(uintptr_t)&vio_hdr, 8, 0}, B_DATA_W, B_STATUS};

	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_used0_reset(h, 0);
}

static void h_blk_req(struct hctx *h)
{
	uint64_t cap = vio_config64(h->d, VIO_BLK_CFG_CAPACITY);
	struct vio_buf c[3] = {B_HDR, B_DATA_W, B_STATUS};
	static struct {
		uint64_t sector;
		uint32_t num, flags;
	} dwz;

	h_info(h, "capacity", cap, false);
	h_hdr(0x7777, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_blk(h, "unknown_type", VIO_BLK_S_UNSUPP, 1);

	c[1].len = 500;
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_blk(h, "len500", VIO_BLK_S_IOERR, 1);

	c[1].len = VIO_SECTOR;
	h_hdr(VIO_BLK_T_IN, cap);
	h_go(h, c, 3, false);
	h_want_blk(h, "at_capacity", VIO_BLK_S_IOERR, 1);

	c[1].len = 2 * VIO_SECTOR;
	h_hdr(VIO_BLK_T_IN, cap - 1);
	h_go(h, c, 3, false);
	h_want_blk(h, "across_end", VIO_BLK_S_IOERR, 1);

	c[1].len = VIO_SECTOR;
	h_hdr(VIO_BLK_T_IN, ~0ULL);
	h_go(h, c, 3, false);
	h_want_blk(h, "sector_2^64-1", VIO_BLK_S_IOERR, 1);

	c[1].flags = 0; /* IN into a readable buffer */
	h_hdr(VIO_BLK_T_IN, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_blk(h, "in_readable", VIO_BLK_S_IOERR, 1);

	c[1].flags = VIO_DESC_WRITE; /* OUT from a writable buffer */
	h_hdr(VIO_BLK_T_OUT, SCRATCH_SECTOR);
	h_go(h, c, 3, false);
	h_want_blk(h, "out_writable", VIO_BLK_S_IOERR, 1);

	if (h->d->features & VIO_BLK_F_WRITE_ZEROES) {
		dwz.sector = cap - 1;
		dwz.num = 2;
		dwz.flags = 0;
		c[1] = (struct vio_buf){(uintptr_t)&dwz, sizeof(dwz), 0};
		h_hdr(VIO_BLK_T_WRITE_ZEROES, 0);
		h_go(h, c, 3, false);
		h_want_blk(h, "wz_across_end", VIO_BLK_S_IOERR, 1);
	}
}

/* ---- transport rules ---- */

/* A valid 1-sector read whose chain starts at descriptor @at. */
static void h_chain_at(struct hctx *h, uint16_t at)
{
	h_hdr(VIO_BLK_T_IN, 0);
	vio_set_desc(h->d, at, (uintptr_t)&vio_hdr, sizeof(vio_hdr), VIO_DESC_NEXT,
		     (uint16_t)(at + 1));
	vio_set_desc(h->d, at + 1U, (uintptr_t)vt_buf_a, VIO_SECTOR, VIO_DESC_WRITE | VIO_DESC_NEXT,
		     (uint16_t)(at + 2));
	vio_set_desc(h->d, at + 2U, (uintptr_t)&vio_status_byte, 1, VIO_DESC_WRITE, 0);
}

static void h_want_ok_at(struct hctx *h, uint16_t at, const char *what)
{
	uint32_t id = 0, len = 0;

	if (!vio_wait_used(h->d, VIO_TIMEOUT_TSC, &id, &len)) {
		tg_str_add(h_fail(h, what), ": no used entry");
		h_info(h, "status", vio_read(h->d, VIO_STATUS), true);
		return;
	}
	if (id != at || len != VIO_SECTOR + 1 || vio_status_byte != VIO_BLK_S_OK) {
		tg_str_add(h_fail(h, what), ": wrong completion");
		h_info(h, "id", id, false);
		h_info(h, "len", len, false);
		h_info(h, "blk_status", vio_status_byte, true);
	}
}

static void h_queue_regs(struct hctx *h)
{
	struct vio_dev *d = h->d;
	uint32_t ready, nmax;

	vio_write(d, VIO_QUEUE_SEL, 0);
	vio_write(d, VIO_QUEUE_NUM, 16);
	vio_write_ring_addrs(d, 0xdead0000ULL, 0xdead1000ULL, 0xdead2000ULL);
	ready = vio_read(d, VIO_QUEUE_READY);
	nmax = vio_read(d, VIO_QUEUE_NUM_MAX);
	h_info(h, "ready", ready, false);
	h_info(h, "num_max", nmax, false);
	h_info(h, "desc_lo_read", vio_read(d, VIO_QUEUE_DESC_LOW), true);
	if (ready != 1)
		h_fail_val(h, "QueueReady reads ", ready);
	if (nmax != d->num_max)
		h_fail_val(h, "QueueNumMax changed to ", nmax);
	/* Still the original rings and size: a head of 200 is fine in 256. */
	h_chain_at(h, FAR_HEAD);
	h_kick(h, FAR_HEAD);
	h_want_ok_at(h, FAR_HEAD, "request after rewrite");
}

static void h_qnum(struct hctx *h)
{
	struct vio_dev *d = h->d;
	struct tg_str why = {.len = 0};
	uint32_t st;

	vio_reset(d);
	if (!vio_negotiate(d, h->want, &why)) {
		tg_str_add(h_fail(h, "negotiate: "), why.buf);
		return;
	}
	if (vio_rings_prepare(d, VIO_QSIZE_MAX) != 256) {
		h_fail_val(h, "needs a queue of 256, QueueNumMax ", d->num_max);
		return;
	}
	/* Invalid sizes after a valid one: each must keep 256. */
	vio_write(d, VIO_QUEUE_NUM, 256);
	vio_write(d, VIO_QUEUE_NUM, 100);
	vio_write(d, VIO_QUEUE_NUM, 0);
	vio_write(d, VIO_QUEUE_NUM, 512);
	vio_write_ring_addrs(d, (uintptr_t)d->desc, (uintptr_t)d->avail, (uintptr_t)d->used);
	vio_write(d, VIO_QUEUE_READY, 1);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	st = vio_read(d, VIO_STATUS);
	h_info(h, "ready", vio_read(d, VIO_QUEUE_READY), false);
	h_info(h, "status", st, true);
	if (st & VIO_S_NEEDS_RESET) {
		h_fail(h, "NEEDS_RESET after ignored QueueNum writes");
		h->expect_reset = true;
		return;
	}
	h_chain_at(h, FAR_HEAD);
	h_kick(h, FAR_HEAD);
	h_want_ok_at(h, FAR_HEAD, "request at head 200");
}

/* Ring geometry that fails validation at QueueReady = 1. */
static void h_ring_case(struct hctx *h, const char *what, uint64_t desc, uint64_t avail,
			uint64_t used)
{
	struct vio_dev *d = h->d;
	struct tg_str why = {.len = 0};
	uint32_t ready, st;

	vio_reset(d);
	if (!vio_negotiate(d, h->want, &why)) {
		tg_str_add(h_fail(h, "negotiate: "), why.buf);
		return;
	}
	vio_write(d, VIO_QUEUE_SEL, 0);
	vio_write(d, VIO_QUEUE_NUM, 256);
	vio_write_ring_addrs(d, desc, avail, used);
	vio_write(d, VIO_QUEUE_READY, 1);
	ready = vio_read(d, VIO_QUEUE_READY);
	st = vio_wait_status(d, VIO_S_NEEDS_RESET, VIO_QUIET_TSC);
	h_word(h, what);
	con_puts(":ready=");
	con_dec(ready);
	con_puts(",status=");
	con_hex(st);
	if (ready != 0)
		tg_str_add(h_fail(h, what), ": QueueReady reads 1");
	if (!(st & VIO_S_NEEDS_RESET))
		tg_str_add(h_fail(h, what), ": no NEEDS_RESET");
	h->expect_reset = true;
}

static void h_ring_bad(struct hctx *h)
{
	uint64_t good = (uintptr_t)vt_buf_a;

	h_ring_case(h, "desc_misaligned", good + 8, good + 0x1000, good + 0x2000);
	h_ring_case(h, "used_in_gap", good, good + 0x1000, h->d->base);
	h_ring_case(h, "desc_past_ram", h_ram_end(h->b) - 0x800, good + 0x1000, good + 0x2000);
	h_ring_case(h, "avail_wraps", good, 0xfffffffffffffff0ULL, good + 0x2000);
}

static void h_notify_bad(struct hctx *h)
{
	uint32_t st;

	vio_notify(h->d, 7);
	vio_notify(h->d, 0xffff);
	vio_notify(h->d, 0xffffffffU);
	st = vio_read(h->d, VIO_STATUS);
	h_info(h, "status", st, true);
	if (st & VIO_S_NEEDS_RESET) {
		h_fail(h, "NEEDS_RESET after a notify of a missing queue");
		h->expect_reset = true;
		return;
	}
	h_normal(h, h->d, "queue 0");
}

static uint8_t h_read8(uint64_t pa)
{
	uint8_t v;

	__asm__ volatile("movb %1, %0" : "=q"(v) : "m"(*(volatile uint8_t *)(uintptr_t)pa));
	return v;
}

static uint16_t h_read16(uint64_t pa)
{
	uint16_t v;

	__asm__ volatile("movw %1, %0" : "=r"(v) : "m"(*(volatile uint16_t *)(uintptr_t)pa));
	return v;
}

static uint64_t h_read64(uint64_t pa)
{
	uint64_t v;

	__asm__ volatile("movq %1, %0" : "=r"(v) : "m"(*(volatile uint64_t *)(uintptr_t)pa));
	return v;
}

static void h_write16(uint64_t pa, uint16_t v)
{
	__asm__ volatile("movw %1, %0" : "=m"(*(volatile uint16_t *)(uintptr_t)pa) : "r"(v));
}

/* One check: @got must be @want; the value goes on the INFO line. */
static void h_check(struct hctx *h, const char *what, uint64_t got, uint64_t want)
{
	h_info(h, what, got, true);
	if (got != want) {
		struct tg_str *r = h_fail(h, what);

		tg_str_add(r, " ");
		tg_str_add_hex(r, got);
	}
}

static void h_width(struct hctx *h)
{
	struct vio_dev *d = h->d;
	uint64_t base = d->base, cap = vio_config64(d, VIO_BLK_CFG_CAPACITY);
	uint32_t st_before = vio_read(d, VIO_STATUS), id, len;

	h_check(h, "magic8", h_read8(base + VIO_MAGIC_VALUE), 0);
	h_check(h, "magic16", h_read16(base + VIO_MAGIC_VALUE), 0);
	h_check(h, "magic64", h_read64(base + VIO_MAGIC_VALUE), 0);
	h_check(h, "misaligned32", tg_mmio_read32(base + VIO_MAGIC_VALUE + 2), 0);
	h_check(h, "undefined_reg", vio_read(d, 0x018), 0);
	vio_write(d, 0x018, 0xffffffffU);
	/* Narrow writes of 0 to Status must not reset the device. */
	tg_mmio_write8(base + VIO_STATUS, 0);
	h_write16(base + VIO_STATUS, 0);
	h_check(h, "status_after_narrow", vio_read(d, VIO_STATUS), st_before);
	/* Config: aligned narrow reads are served, the rest reads 0. */
	h_check(h, "cfg8", h_read8(base + VIO_CONFIG), cap & 0xff);
	h_check(h, "cfg16", h_read16(base + VIO_CONFIG), cap & 0xffff);
	h_check(h, "cfg64", h_read64(base + VIO_CONFIG), 0);
	h_check(h, "cfg_misaligned32", tg_mmio_read32(base + VIO_CONFIG + 1), 0);
	h_check(h, "cfg_misaligned16", h_read16(base + VIO_CONFIG + 1), 0);
	h_check(h, "cfg_far", vio_read(d, VIO_CONFIG + CFG_FAR), 0);
	vio_write(d, VIO_CONFIG + CFG_FAR, 0x12345678);
	vio_write(d, VIO_CONFIG, 0x12345678); /* capacity is read-only */
	h_check(h, "cfg_far_after_write", vio_read(d, VIO_CONFIG + CFG_FAR), 0);
	h_check(h, "capacity_after_write", vio_config64(d, VIO_BLK_CFG_CAPACITY), cap);
	/* A 1-byte QueueNotify is no notification. */
	h_chain_at(h, 0);
	vio_avail_put(d, 0);
	vio_avail_publish(d);
	tg_mmio_write8(base + VIO_QUEUE_NOTIFY, 0);
	if (vio_wait_used(d, VIO_QUIET_TSC, &id, &len)) {
		h_info(h, "narrow_notify_served", 1, false);
		h_fail(h, "1-byte QueueNotify was served");
		return;
	}
	vio_notify(d, 0);
	h_want_ok_at(h, 0, "request after narrow accesses");
}

static void h_features(struct hctx *h)
{
	struct vio_dev *d = h->d;
	struct tg_str why = {.len = 0};
	uint64_t offered = d->dev_features;
	uint32_t st;
	uint8_t bst = 0;

	/* DeviceFeaturesSel > 1 reads 0. */
	vio_write(d, VIO_DEVICE_FEATURES_SEL, 2);
	h_check(h, "features_sel2", vio_read(d, VIO_DEVICE_FEATURES), 0);

	/* Features written before DRIVER are ignored: FEATURES_OK then lacks VERSION_1. */
	vio_reset(d);
	vio_write(d, VIO_STATUS, VIO_S_ACK);
	vio_write_features(d, offered & h->want);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK);
	st = vio_read(d, VIO_STATUS);
	h_info(h, "early_write_status", st, true);
	if (st & VIO_S_FEATURES_OK)
		h_fail(h, "features written before DRIVER were taken");

	/* An unoffered bit: FEATURES_OK stays clear. */
	vio_reset(d);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_write_features(d, (offered & h->want) | (1ULL << 50));
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK);
	st = vio_read(d, VIO_STATUS);
	h_info(h, "unoffered_status", st, true);
	if (st & VIO_S_FEATURES_OK)
		h_fail(h, "unoffered feature accepted");

	/* Without VERSION_1: FEATURES_OK stays clear. */
	vio_reset(d);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_write_features(d, offered & h->want & ~VIO_F_VERSION_1);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK);
	st = vio_read(d, VIO_STATUS);
	h_info(h, "no_v1_status", st, true);
	if (st & VIO_S_FEATURES_OK)
		h_fail(h, "FEATURES_OK without VERSION_1");

	/* After FEATURES_OK (and after DRIVER_OK) writes are ignored: INDIRECT stays. */
	vio_reset(d);
	if (!vio_negotiate(d, h->want, &why)) {
		tg_str_add(h_fail(h, "negotiate: "), why.buf);
		return;
	}
	if (!(d->features & VIO_F_INDIRECT_DESC)) {
		h_fail(h, "INDIRECT_DESC not offered");
		return;
	}
	vio_write_features(d, VIO_F_VERSION_1);
	if (!vio_setup_queue(d, VIO_QSIZE_MAX, &why)) {
		tg_str_add(h_fail(h, "queue: "), why.buf);
		return;
	}
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	vio_write_features(d, VIO_F_VERSION_1);
	if (!vio_blk(d, VIO_BLK_T_IN, 0, vt_buf_a, VIO_SECTOR, 1, true, &bst, &(uint32_t){0},
		     &why)) {
		tg_str_add(h_fail(h, "indirect request: "), why.buf);
		return;
	}
	st = vio_read(d, VIO_STATUS);
	h_info(h, "late_write_status", st, true);
	h_info(h, "blk_status", bst, true);
	if (st & VIO_S_NEEDS_RESET) {
		h_fail(h, "late feature write took effect (indirect refused)");
		h->expect_reset = true;
	} else if (bst != VIO_BLK_S_OK) {
		h_fail(h, "indirect request not OK");
	}
}

static void h_no_features_ok(struct hctx *h)
{
	struct vio_dev *d = h->d;
	struct tg_str why = {.len = 0};
	uint32_t st, id, len;

	vio_reset(d);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_read_features(d);
	vio_write_features(d, d->dev_features & h->want);
	/* No FEATURES_OK. The queue may or may not take; either way nothing must run. */
	vio_setup_queue(d, VIO_QSIZE_MAX, &why);
	if (d->qsize == 0) {
		h_fail(h, "no queue size");
		return;
	}
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_DRIVER_OK);
	h_chain_at(h, 0);
	h_kick(h, 0);
	st = vio_read(d, VIO_STATUS);
	h_info(h, "status", st, true);
	if (st & VIO_S_FAILED)
		h_fail(h, "FAILED set by the device");
	if (vio_wait_used(d, VIO_QUIET_TSC, &id, &len)) {
		h_info(h, "used_len", len, false);
		h_fail(h, "device served a request without FEATURES_OK");
	}
}

/* ---- virtio-rng ---- */

static void h_rng_nowrite(struct hctx *h)
{
	struct vio_buf c = {(uintptr_t)vt_buf_a, 64, 0};
	uint32_t id = 0, len = 0, st;

	h_go(h, &c, 1, false);
	if (!vio_wait_used(h->d, VIO_TIMEOUT_TSC, &id, &len)) {
		h_fail(h, "no used entry");
		return;
	}
	st = vio_read(h->d, VIO_STATUS);
	h_info(h, "used_len", len, false);
	h_info(h, "status", st, true);
	if (len != 0)
		h_fail_val(h, "used len ", len);
	if (st & VIO_S_NEEDS_RESET) {
		h_fail(h, "NEEDS_RESET for a readable-only chain");
		h->expect_reset = true;
		return;
	}
	h_normal(h, h->d, "rng after readable chain");
}

static void h_rng_big(struct hctx *h)
{
	struct vio_buf c[2] = {{(uintptr_t)vt_buf_a, 65536, VIO_DESC_WRITE},
			       {(uintptr_t)vt_buf_a + 65536, 65536, VIO_DESC_WRITE}};
	struct tg_str why = {.len = 0};
	uint32_t len = 0;

	if (!vio_xfer(h->d, c, 2, false, &len, &why)) {
		tg_str_add(h_fail(h, "128 KiB: "), why.buf);
		return;
	}
	h_info(h, "used_len", len, false);
	if (len != 65536)
		h_fail_val(h, "used len ", len);
}

/* ---- the runner ---- */

enum h_target { H_BLK, H_RNG };

struct hostile {
	const char *name;
	void (*run)(struct hctx *h);
	enum h_target target;
	uint64_t drop; /* features not negotiated for this test */
};

static const struct hostile hostile_table[] = {
    {"hostile_loop", h_loop, H_BLK, 0},
    {"hostile_head", h_head, H_BLK, 0},
    {"hostile_next", h_next, H_BLK, 0},
    {"hostile_avail_jump", h_avail_jump, H_BLK, 0},
    {"hostile_wrap", h_wrap, H_BLK, 0},
    {"hostile_ram_end", h_ram_end_test, H_BLK, 0},
    {"hostile_mmio_gap", h_mmio_gap, H_BLK, 0},
    {"hostile_zero_len", h_zero_len, H_BLK, 0},
    {"hostile_huge_len", h_huge_len, H_BLK, 0},
    {"hostile_write_before_read", h_write_before_read, H_BLK, 0},
    {"hostile_status_ro", h_status_ro, H_BLK, 0},
    {"hostile_short_hdr", h_short_hdr, H_BLK, 0},
    {"hostile_seg_max", h_seg_max, H_BLK, 0},
    {"hostile_seg_257", h_seg_257, H_BLK, 0},
    {"hostile_indirect_nested", h_indirect_nested, H_BLK, 0},
    {"hostile_indirect_len", h_indirect_len, H_BLK, 0},
    {"hostile_indirect_next", h_indirect_next, H_BLK, 0},
    {"hostile_indirect_unneg", h_indirect_unneg, H_BLK, VIO_F_INDIRECT_DESC},
    {"hostile_blk_req", h_blk_req, H_BLK, 0},
    {"hostile_queue_regs", h_queue_regs, H_BLK, 0},
    {"hostile_qnum", h_qnum, H_BLK, 0},
    {"hostile_ring_bad", h_ring_bad, H_BLK, 0},
    {"hostile_notify_bad", h_notify_bad, H_BLK, 0},
    {"hostile_width", h_width, H_BLK, 0},
    {"hostile_features", h_features, H_BLK, 0},
    {"hostile_no_features_ok", h_no_features_ok, H_BLK, 0},
    {"hostile_rng_nowrite", h_rng_nowrite, H_RNG, 0},
    {"hostile_rng_big", h_rng_big, H_RNG, 0},
};

/* After a NEEDS_RESET: the device ignores new work until Status = 0. */
static void h_check_stopped(struct hctx *h)
{
	const struct vio_buf c[] = {B_HDR, B_DATA_W, B_STATUS};
	struct vio_buf r = {(uintptr_t)vt_buf_a, RNG_OK_BYTES, VIO_DESC_WRITE};
	uint16_t before = vio_used_idx_now(h->d);
	uint64_t start = tg_rdtsc();

	if (!h->d->qsize)
		return;
	if (h->d->device_id == VIO_ID_RNG) {
		h_go(h, &r, 1, false);
	} else {
		h_hdr(VIO_BLK_T_IN, 0);
		h_go(h, c, 3, false);
	}
	while (tg_rdtsc() - start < VIO_QUIET_TSC && vio_used_idx_now(h->d) == before)
		tg_pause();
	if (vio_used_idx_now(h->d) != before)
		h_fail(h, "device kept processing while NEEDS_RESET");
}

static void hostile_run(const struct tg_boot *b, const struct hostile *t)
{
	struct ktest_verdict v = {.failed = false};
	struct hctx h = {.b = b, .v = &v};
	struct vio_dev *rng, *blk;
	uint32_t st;

	vio_discover(b);
	rng = vio_find(VIO_ID_RNG, 0);
	blk = vt_blk_rw_dev(b);
	if (t->target == H_RNG) {
		h.d = rng;
		h.other = blk ? blk : vt_blk_ro_dev(b);
		h.want = VIO_RNG_WANT & ~t->drop;
	} else {
		h.d = blk;
		h.other = rng ? rng : vt_blk_ro_dev(b);
		h.want = VIO_BLK_WANT & ~t->drop;
	}
	ktest_info(t->name);
	if (!h.d) {
		ktest_fail(&v, t->target == H_RNG ? "no rng device" : "no writable blk device");
		goto out;
	}
	if (h.other &&
	    !h_init(&h, h.other, h.other->device_id == VIO_ID_RNG ? VIO_RNG_WANT : VIO_BLK_WANT))
		goto out;
	if (!h_init(&h, h.d, h.want))
		goto out;
	t->run(&h);

	st = vio_read(h.d, VIO_STATUS);
	if (st & VIO_S_NEEDS_RESET) {
		if (!h.expect_reset)
			h_fail_val(&h, "unexpected NEEDS_RESET, status ", st);
		h_check_stopped(&h);
	}
	/* Recover: reset, the status reads 0, a normal request works. */
	vio_reset(h.d);
	st = vio_read(h.d, VIO_STATUS);
	if (st != 0)
		h_fail_val(&h, "status after reset ", st);
	if (h_init(&h, h.d, h.d->device_id == VIO_ID_RNG ? VIO_RNG_WANT : VIO_BLK_WANT) &&
	    h_normal(&h, h.d, "after reset"))
		h_word(&h, "recovered=1");
	if (h.other && h_normal(&h, h.other, "other device"))
		h_word(&h, "other_ok=1");
	if (!h.other)
		h_word(&h, "other=none");
out:
	con_puts("\n");
	ktest_report(t->name, strlen(t->name), &v);
}

void ktest_hostile_all(const struct tg_boot *b)
{
	size_t i;

	for (i = 0; i < sizeof(hostile_table) / sizeof(hostile_table[0]); i++)
		hostile_run(b, &hostile_table[i]);
}

bool ktest_hostile_one(const struct tg_boot *b, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(hostile_table) / sizeof(hostile_table[0]); i++) {
		if (tg_span_eq(name, len, hostile_table[i].name)) {
			hostile_run(b, &hostile_table[i]);
			return true;
		}
	}
	return false;
}
