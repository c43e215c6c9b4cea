/* SPDX-License-Identifier: MIT */
/* Split-ring walker: activation checks, every refusal, good chains, used ring, event idx. */
#include "unit.h"

#include "devices/virtio/queue.h"

#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x8000ULL
#define USED_GPA  0x9000ULL
#define TABLE_GPA 0xc000ULL
#define BUF_GPA	  0x10000ULL
#define QSIZE	  8

struct qt {
	struct unit_gm *u;
	struct virtqueue vq;
	struct vq_chain chain;
};

static int qt_setup(void **state)
{
	struct qt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->u = unit_gm_new(MiB(1));
	t->vq.max_size = VQ_MAX_SIZE;
	vq_reset(&t->vq);
	t->vq.size = QSIZE;
	t->vq.desc_gpa = DESC_GPA;
	t->vq.avail_gpa = AVAIL_GPA;
	t->vq.used_gpa = USED_GPA;
	*state = t;
	return 0;
}

static int qt_teardown(void **state)
{
	struct qt *t = *state;

	unit_gm_free(t->u);
	free(t);
	return 0;
}

static void qt_activate(struct qt *t)
{
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_OK);
	assert_true(t->vq.ready);
}

static void put_desc(struct qt *t, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *p = unit_gpa(t->u, table + 16ULL * i);

	unit_st64(p, addr);
	unit_st32(p + 8, len);
	unit_st16(p + 12, flags);
	unit_st16(p + 14, next);
}

static void set_desc(struct qt *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	put_desc(t, DESC_GPA, i, addr, len, flags, next);
}

static void set_tdesc(struct qt *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		      uint16_t next)
{
	put_desc(t, TABLE_GPA, i, addr, len, flags, next);
}

static uint16_t avail_idx(struct qt *t)
{
	return unit_ld16(unit_gpa(t->u, AVAIL_GPA + 2));
}

/* The driver makes chain @head available. */
static void avail_push(struct qt *t, uint16_t head)
{
	uint16_t idx = avail_idx(t);

	unit_st16(unit_gpa(t->u, AVAIL_GPA + 4 + 2ULL * (idx % t->vq.size)), head);
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 2), (uint16_t)(idx + 1));
}

static uint16_t used_idx(struct qt *t)
{
	return unit_ld16(unit_gpa(t->u, USED_GPA + 2));
}

static uint32_t used_id(struct qt *t, uint16_t i)
{
	return unit_ld32(unit_gpa(t->u, USED_GPA + 4 + 8ULL * (i % t->vq.size)));
}

static uint32_t used_len(struct qt *t, uint16_t i)
{
	return unit_ld32(unit_gpa(t->u, USED_GPA + 8 + 8ULL * (i % t->vq.size)));
}

static void set_used_event(struct qt *t, uint16_t v)
{
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 4 + 2ULL * t->vq.size), v);
}

/* A refused chain: head back on the used ring with length 0 and the queue broken. */
static void assert_chain_refused(struct qt *t, enum vq_err want, uint16_t head)
{
	assert_int_equal(vq_pop(&t->vq, &t->chain), want);
	assert_true(t->vq.broken);
	assert_int_equal(used_idx(t), 1);
	assert_int_equal(used_id(t, 0), head);
	assert_int_equal(used_len(t, 0), 0);
	assert_int_equal(t->chain.nsegs, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
}

/* A refused ring index: no trustworthy head, so nothing on the used ring. */
static void assert_ring_refused(struct qt *t, enum vq_err want)
{
	assert_int_equal(vq_pop(&t->vq, &t->chain), want);
	assert_true(t->vq.broken);
	assert_int_equal(used_idx(t), 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
}

/* ---- activation ---------------------------------------------------------- */

static void test_queue_activate_accepts_valid_rings(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	assert_false(t->vq.broken);
	assert_ptr_equal(t->vq.desc, unit_gpa(t->u, DESC_GPA));
	assert_ptr_equal(t->vq.avail, unit_gpa(t->u, AVAIL_GPA));
	assert_ptr_equal(t->vq.used, unit_gpa(t->u, USED_GPA));
}

static void test_queue_activate_rejects_size_zero(void **state)
{
	struct qt *t = *state;

	t->vq.size = 0;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_SIZE);
	assert_false(t->vq.ready);
}

static void test_queue_activate_rejects_size_not_power_of_two(void **state)
{
	struct qt *t = *state;

	t->vq.size = 6;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_SIZE);
	assert_false(t->vq.ready);
}

static void test_queue_activate_rejects_size_above_max(void **state)
{
	struct qt *t = *state;

	t->vq.max_size = 16;
	t->vq.size = 32;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_SIZE);
	t->vq.max_size = UINT16_MAX;
	t->vq.size = 2 * VQ_MAX_SIZE;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_SIZE);
	assert_false(t->vq.ready);
}

static void test_queue_activate_rejects_misaligned_desc(void **state)
{
	struct qt *t = *state;

	t->vq.desc_gpa = DESC_GPA + 8;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ALIGN);
	assert_false(t->vq.ready);
}

static void test_queue_activate_rejects_misaligned_avail(void **state)
{
	struct qt *t = *state;

	t->vq.avail_gpa = AVAIL_GPA + 1;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ALIGN);
}

static void test_queue_activate_rejects_misaligned_used(void **state)
{
	struct qt *t = *state;

	t->vq.used_gpa = USED_GPA + 2;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ALIGN);
}

static void test_queue_activate_rejects_ring_outside_ram(void **state)
{
	struct qt *t = *state;

	t->vq.desc_gpa = GiB(2);
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ADDR);
	assert_false(t->vq.ready);
}

/* The used ring's trailing avail_event must fit too: 6 + 8 * size bytes. */
static void test_queue_activate_rejects_used_ring_crossing_end_of_ram(void **state)
{
	struct qt *t = *state;

	t->vq.used_gpa = t->u->size - (4 + 8 * QSIZE);
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ADDR);
	t->vq.used_gpa = t->u->size - (6 + 8 * QSIZE) - 2; /* 4-aligned, fits */
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_OK);
}

static void test_queue_activate_rejects_avail_ring_wrapping(void **state)
{
	struct qt *t = *state;

	t->vq.avail_gpa = UINT64_MAX - 7;
	assert_int_equal(vq_activate(&t->vq, &t->u->gm), VQ_ERR_RING_ADDR);
}

/* Two regions (RAM below 3 GiB and above 4 GiB): a ring may not straddle the gap. */
static void test_queue_activate_rejects_ring_crossing_mmio_gap(void **state)
{
	struct qt *t = *state;
	struct guest_mem gm;
	static uint8_t fake_host; /* never dereferenced: every range below is refused */

	(void)t;
	assert_int_equal(gm_layout(&gm, GiB(5)), 0);
	assert_int_equal(gm.nr_regions, 2);
	gm.regions[0].host = &fake_host;
	gm.regions[1].host = &fake_host;
	t->vq.desc_gpa = MMIO_GAP_START_GPA - 64; /* 128-byte table: half in the gap */
	assert_int_equal(vq_activate(&t->vq, &gm), VQ_ERR_RING_ADDR);
	t->vq.desc_gpa = MMIO_GAP_START_GPA + 0x1000;
	assert_int_equal(vq_activate(&t->vq, &gm), VQ_ERR_RING_ADDR);
	assert_false(t->vq.ready);
}

/* ---- good chains ----------------------------------------------------------- */

static void test_queue_pop_empty_returns_empty(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
	assert_false(t->vq.broken);
}

static void test_queue_pop_not_ready_refused(void **state)
{
	struct qt *t = *state;

	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
}

static void test_queue_pops_direct_chain(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 3, BUF_GPA, 16, VRING_DESC_F_NEXT, 5);
	set_desc(t, 5, BUF_GPA + 0x100, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(t, 1, BUF_GPA + 0x200, 1, VRING_DESC_F_WRITE, 0);
	avail_push(t, 3);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 3);
	assert_int_equal(t->chain.nsegs, 3);
	assert_ptr_equal(t->chain.segs[0].host, unit_gpa(t->u, BUF_GPA));
	assert_int_equal(t->chain.segs[0].len, 16);
	assert_false(t->chain.segs[0].writable);
	assert_ptr_equal(t->chain.segs[1].host, unit_gpa(t->u, BUF_GPA + 0x100));
	assert_true(t->chain.segs[1].writable);
	assert_int_equal(t->chain.segs[2].len, 1);
	assert_int_equal(t->chain.readable_bytes, 16);
	assert_int_equal(t->chain.writable_bytes, 33);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
	assert_false(t->vq.broken);
}

static void test_queue_pops_indirect_chain(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_tdesc(t, 2, BUF_GPA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_tdesc(t, 1, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	set_desc(t, 4, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 4);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 4);
	assert_int_equal(t->chain.nsegs, 3);
	assert_ptr_equal(t->chain.segs[1].host, unit_gpa(t->u, BUF_GPA + 0x100));
	assert_int_equal(t->chain.readable_bytes, 16);
	assert_int_equal(t->chain.writable_bytes, 513);
}

static void test_queue_pops_direct_then_indirect_chain(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	set_tdesc(t, 0, BUF_GPA + 0x100, 8, VRING_DESC_F_NEXT, 1);
	set_tdesc(t, 1, BUF_GPA + 0x200, 64, VRING_DESC_F_WRITE, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.nsegs, 3);
	assert_int_equal(t->chain.readable_bytes, 24);
	assert_int_equal(t->chain.writable_bytes, 64);
	assert_true(t->chain.segs[2].writable);
}

static void test_queue_pops_chains_in_avail_order(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 6, BUF_GPA, 4, 0, 0);
	set_desc(t, 2, BUF_GPA + 0x10, 4, VRING_DESC_F_WRITE, 0);
	avail_push(t, 6);
	avail_push(t, 2);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 6);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 2);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
}

/* The 16-bit indexes wrap at 65536 (§2.7.6); the walker follows them across. */
static void test_queue_pop_follows_index_wrap(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	t->vq.last_avail_idx = 0xffff;
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 2), 0xffff);
	set_desc(t, 0, BUF_GPA, 4, 0, 0);
	set_desc(t, 1, BUF_GPA, 4, 0, 0);
	avail_push(t, 0); /* slot 0xffff % 8 = 7, idx becomes 0 */
	avail_push(t, 1);
	assert_int_equal(avail_idx(t), 1);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.head, 1);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
}

static void test_queue_push_writes_used_element_then_idx(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	vq_push(&t->vq, 5, 1234);
	assert_int_equal(used_idx(t), 1);
	assert_int_equal(used_id(t, 0), 5);
	assert_int_equal(used_len(t, 0), 1234);
	vq_push(&t->vq, 7, 1);
	assert_int_equal(used_idx(t), 2);
	assert_int_equal(used_id(t, 1), 7);
	assert_int_equal(used_len(t, 1), 1);
}

static void test_queue_push_wraps_used_ring_slot(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	for (uint16_t i = 0; i < QSIZE + 1; i++)
		vq_push(&t->vq, i % QSIZE, i);
	assert_int_equal(used_idx(t), QSIZE + 1);
	assert_int_equal(used_id(t, 0), 0); /* slot 0 rewritten by the 9th push */
	assert_int_equal(used_len(t, 0), QSIZE);
}

/* ---- refused chains -------------------------------------------------------- */

static void test_queue_rejects_descriptor_loop(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_CHAIN_TOO_LONG, 0);
}

static void test_queue_rejects_self_loop(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 2, BUF_GPA, 4, VRING_DESC_F_NEXT, 2);
	avail_push(t, 2);
	assert_chain_refused(t, VQ_ERR_CHAIN_TOO_LONG, 2);
}

static void test_queue_accepts_chain_using_every_descriptor(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	for (uint16_t i = 0; i < QSIZE; i++)
		set_desc(t, i, BUF_GPA, 4, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.nsegs, QSIZE);
}

static void test_queue_rejects_head_out_of_range(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	avail_push(t, QSIZE);
	assert_ring_refused(t, VQ_ERR_HEAD_RANGE);
}

static void test_queue_rejects_next_out_of_range(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, QSIZE);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_NEXT_RANGE, 0);
}

static void test_queue_rejects_avail_jump(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 2), QSIZE + 1);
	assert_ring_refused(t, VQ_ERR_AVAIL_JUMP);
}

static void test_queue_accepts_avail_idx_a_full_ring_ahead(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	for (uint16_t i = 0; i < QSIZE; i++) {
		set_desc(t, i, BUF_GPA, 4, 0, 0);
		avail_push(t, i);
	}
	for (uint16_t i = 0; i < QSIZE; i++)
		assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
}

static void test_queue_rejects_buffer_wrapping_address_space(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, UINT64_MAX - 3, 16, 0, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_BUF_ADDR, 0);
}

static void test_queue_rejects_buffer_crossing_end_of_ram(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, t->u->size - 8, 16, VRING_DESC_F_WRITE, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_BUF_ADDR, 0);
}

static void test_queue_accepts_buffer_ending_at_end_of_ram(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, t->u->size - 16, 16, VRING_DESC_F_WRITE, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_ptr_equal(t->chain.segs[0].host + 16, t->u->buf + t->u->size);
}

/* Rings in real low RAM, buffer straddling 3 GiB into the MMIO gap. */
static void test_queue_rejects_buffer_crossing_mmio_gap(void **state)
{
	struct qt *t = *state;
	struct guest_mem gm;

	assert_int_equal(gm_layout(&gm, GiB(5)), 0);
	gm.regions[0].host = t->u->buf; /* only the first MiB is ever touched */
	gm.regions[1].host = t->u->buf; /* never dereferenced */
	assert_int_equal(vq_activate(&t->vq, &gm), VQ_OK);
	set_desc(t, 0, MMIO_GAP_START_GPA - 8, 16, 0, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_BUF_ADDR, 0);
}

static void test_queue_rejects_zero_length_buffer(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA, 0, VRING_DESC_F_WRITE, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_ZERO_LEN, 0);
}

static void test_queue_rejects_too_many_segments(void **state)
{
	struct qt *t = *state;
	const uint16_t n = VQ_MAX_SEGS + 1;

	t->vq.size = 512;
	qt_activate(t);
	for (uint16_t i = 0; i < n; i++)
		set_desc(t, i, BUF_GPA, 4, i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_TOO_MANY_SEGS, 0);
}

static void test_queue_accepts_max_segments(void **state)
{
	struct qt *t = *state;
	const uint16_t n = VQ_MAX_SEGS;

	t->vq.size = 512;
	qt_activate(t);
	for (uint16_t i = 0; i < n; i++)
		set_desc(t, i, BUF_GPA, 4, i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(t->chain.nsegs, VQ_MAX_SEGS);
	assert_int_equal(t->chain.readable_bytes, 4 * VQ_MAX_SEGS);
}

static void test_queue_rejects_readable_after_writable(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_WRITE_BEFORE_READ, 0);
}

static void test_queue_rejects_indirect_not_negotiated(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, 0, 0);
	set_desc(t, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_NOT_NEG, 0);
}

static void test_queue_rejects_nested_indirect(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(t, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_NESTED, 0);
}

static void test_queue_rejects_indirect_with_next(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, 0, 0);
	set_desc(t, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_NEXT, 0);
}

static void test_queue_rejects_indirect_len_not_multiple_of_16(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, 0, 0);
	set_desc(t, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_LEN, 0);
}

static void test_queue_rejects_indirect_len_zero(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_desc(t, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_LEN, 0);
}

static void test_queue_rejects_indirect_more_entries_than_queue_size(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, 0, 0);
	set_desc(t, 0, TABLE_GPA, 16 * (QSIZE + 1), VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_INDIRECT_LEN, 0);
}

static void test_queue_rejects_indirect_table_outside_ram(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_desc(t, 0, t->u->size - 16, 32, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_BUF_ADDR, 0);
}

static void test_queue_rejects_indirect_next_beyond_table(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	/* next = 2 is inside the queue size but outside this 2-entry table. */
	set_tdesc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 2);
	set_tdesc(t, 2, BUF_GPA, 4, 0, 0);
	set_desc(t, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_NEXT_RANGE, 0);
}

static void test_queue_rejects_indirect_loop(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_tdesc(t, 1, BUF_GPA, 4, VRING_DESC_F_NEXT, 0);
	set_desc(t, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_CHAIN_TOO_LONG, 0);
}

static void test_queue_rejects_bad_buffer_inside_indirect_table(void **state)
{
	struct qt *t = *state;

	t->vq.indirect = true;
	qt_activate(t);
	set_tdesc(t, 0, BUF_GPA, 4, VRING_DESC_F_NEXT, 1);
	set_tdesc(t, 1, GiB(2), 4, VRING_DESC_F_WRITE, 0);
	set_desc(t, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	avail_push(t, 0);
	assert_chain_refused(t, VQ_ERR_BUF_ADDR, 0);
}

/* ---- broken queue, reset ----------------------------------------------------- */

static void test_queue_broken_refuses_further_pops(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	set_desc(t, 0, BUF_GPA, 0, 0, 0);
	set_desc(t, 1, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	avail_push(t, 1); /* a good chain behind the bad one stays untouched */
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_ZERO_LEN);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
	assert_int_equal(used_idx(t), 1);
}

static void test_queue_reset_then_activate_clears_broken(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	avail_push(t, QSIZE + 3);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_HEAD_RANGE);
	vq_reset(&t->vq);
	assert_false(t->vq.ready);
	assert_false(t->vq.broken);
	assert_int_equal(t->vq.size, VQ_MAX_SIZE);
	assert_int_equal(t->vq.max_size, VQ_MAX_SIZE);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_ERR_NOT_READY);
	memset(t->u->buf, 0, 0x10000);
	t->vq.size = QSIZE;
	t->vq.desc_gpa = DESC_GPA;
	t->vq.avail_gpa = AVAIL_GPA;
	t->vq.used_gpa = USED_GPA;
	qt_activate(t);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_EMPTY);
}

/* ---- interrupts and event idx ---------------------------------------------------- */

static void test_queue_interrupt_without_event_idx(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	vq_push(&t->vq, 0, 0);
	assert_true(vq_needs_interrupt(&t->vq));
}

static void test_queue_no_interrupt_flag_suppresses_interrupt(void **state)
{
	struct qt *t = *state;

	qt_activate(t);
	unit_st16(unit_gpa(t->u, AVAIL_GPA), VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&t->vq, 0, 0);
	assert_false(vq_needs_interrupt(&t->vq));
}

static void test_queue_event_idx_first_push_interrupts(void **state)
{
	struct qt *t = *state;

	t->vq.event_idx = true;
	qt_activate(t);
	set_used_event(t, 100); /* ignored: nothing was signalled yet */
	vq_push(&t->vq, 0, 0);
	assert_true(vq_needs_interrupt(&t->vq));
}

static void test_queue_event_idx_suppresses_until_used_event(void **state)
{
	struct qt *t = *state;

	t->vq.event_idx = true;
	qt_activate(t);
	vq_push(&t->vq, 0, 0);
	assert_true(vq_needs_interrupt(&t->vq)); /* signalled_used = 1 */
	set_used_event(t, 3);			 /* wake me when used idx passes 3 */
	vq_push(&t->vq, 1, 0);
	assert_false(vq_needs_interrupt(&t->vq)); /* 1 -> 2: not past 3 */
	vq_push(&t->vq, 2, 0);
	assert_false(vq_needs_interrupt(&t->vq)); /* 2 -> 3: entry 3 not written yet */
	vq_push(&t->vq, 3, 0);
	assert_true(vq_needs_interrupt(&t->vq)); /* 3 -> 4: used entry 3 written */
}

static void test_queue_event_idx_interrupts_when_batch_crosses_event(void **state)
{
	struct qt *t = *state;

	t->vq.event_idx = true;
	qt_activate(t);
	vq_push(&t->vq, 0, 0);
	assert_true(vq_needs_interrupt(&t->vq));
	set_used_event(t, 2);
	vq_push(&t->vq, 1, 0);
	vq_push(&t->vq, 2, 0);
	vq_push(&t->vq, 3, 0);
	assert_true(vq_needs_interrupt(&t->vq));  /* 1 -> 4 passes 2 */
	assert_false(vq_needs_interrupt(&t->vq)); /* nothing new since */
}

static void test_queue_event_idx_ignores_no_interrupt_flag(void **state)
{
	struct qt *t = *state;

	t->vq.event_idx = true;
	qt_activate(t);
	unit_st16(unit_gpa(t->u, AVAIL_GPA), VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&t->vq, 0, 0);
	assert_true(vq_needs_interrupt(&t->vq));
}

static void test_queue_event_idx_publishes_avail_event(void **state)
{
	struct qt *t = *state;
	uint8_t *avail_event;

	t->vq.event_idx = true;
	qt_activate(t);
	avail_event = unit_gpa(t->u, USED_GPA + 4 + 8ULL * QSIZE);
	set_desc(t, 0, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(unit_ld16(avail_event), 1);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(unit_ld16(avail_event), 2);
}

static void test_queue_without_event_idx_leaves_avail_event_alone(void **state)
{
	struct qt *t = *state;
	uint8_t *avail_event;

	qt_activate(t);
	avail_event = unit_gpa(t->u, USED_GPA + 4 + 8ULL * QSIZE);
	unit_st16(avail_event, 0xabcd);
	set_desc(t, 0, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(unit_ld16(avail_event), 0xabcd);
}

/* The driver side of §2.7.10: would adding entries old..new-1 notify? (vring_need_event) */
static bool driver_would_notify(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static void test_queue_event_idx_notify_off_stops_publishing(void **state)
{
	struct qt *t = *state;
	uint8_t *avail_event;

	t->vq.event_idx = true;
	qt_activate(t);
	avail_event = unit_gpa(t->u, USED_GPA + 4 + 8ULL * QSIZE);
	set_desc(t, 0, BUF_GPA, 4, 0, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	vq_set_notify(&t->vq, false);
	/* One behind the next entry: no batch the driver adds from index 1 on crosses it. */
	assert_int_equal(unit_ld16(avail_event), 0);
	assert_false(driver_would_notify(unit_ld16(avail_event), 2, 1));
	assert_false(driver_would_notify(unit_ld16(avail_event), 1 + QSIZE, 1));
	avail_push(t, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(unit_ld16(avail_event), 0); /* pops leave it alone while off */
	assert_false(driver_would_notify(unit_ld16(avail_event), 5, 3));
}

static void test_queue_event_idx_notify_on_asks_for_next_entry(void **state)
{
	struct qt *t = *state;
	uint8_t *avail_event;

	t->vq.event_idx = true;
	qt_activate(t);
	avail_event = unit_gpa(t->u, USED_GPA + 4 + 8ULL * QSIZE);
	set_desc(t, 0, BUF_GPA, 4, 0, 0);
	vq_set_notify(&t->vq, false);
	avail_push(t, 0);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	vq_set_notify(&t->vq, true);
	assert_int_equal(unit_ld16(avail_event), 2);
	assert_true(driver_would_notify(unit_ld16(avail_event), 3, 2));
	assert_false(vq_has_pending(&t->vq, 0));
	avail_push(t, 0);
	assert_true(vq_has_pending(&t->vq, 0)); /* one that raced the switch is seen */
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
	assert_int_equal(unit_ld16(avail_event), 3); /* on again: every pop republishes */
}

static void test_queue_reset_turns_notifications_back_on(void **state)
{
	struct qt *t = *state;

	t->vq.event_idx = true;
	qt_activate(t);
	vq_set_notify(&t->vq, false);
	assert_true(t->vq.notify_off);
	vq_reset(&t->vq);
	assert_false(t->vq.notify_off);
}

/* ---- chain copy helpers ------------------------------------------------------------- */

static void pop_mixed_chain(struct qt *t)
{
	qt_activate(t);
	/* readable: 3 + 5 bytes, writable: 4 + 6 bytes */
	set_desc(t, 0, BUF_GPA, 3, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, BUF_GPA + 0x100, 5, VRING_DESC_F_NEXT, 2);
	set_desc(t, 2, BUF_GPA + 0x200, 4, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	set_desc(t, 3, BUF_GPA + 0x300, 6, VRING_DESC_F_WRITE, 0);
	memcpy(unit_gpa(t->u, BUF_GPA), "abc", 3);
	memcpy(unit_gpa(t->u, BUF_GPA + 0x100), "defgh", 5);
	avail_push(t, 0);
	assert_int_equal(vq_pop(&t->vq, &t->chain), VQ_OK);
}

static void test_queue_chain_read_crosses_segments(void **state)
{
	struct qt *t = *state;
	char buf[16] = {0};

	pop_mixed_chain(t);
	assert_int_equal(vq_chain_read(&t->chain, 0, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "abcdefgh");
}

static void test_queue_chain_read_from_offset(void **state)
{
	struct qt *t = *state;
	char buf[8] = {0};

	pop_mixed_chain(t);
	assert_int_equal(vq_chain_read(&t->chain, 2, buf, 3), 3);
	assert_string_equal(buf, "cde");
	assert_int_equal(vq_chain_read(&t->chain, 8, buf, 3), 0);
}

static void test_queue_chain_write_crosses_writable_segments_only(void **state)
{
	struct qt *t = *state;

	pop_mixed_chain(t);
	assert_int_equal(vq_chain_write(&t->chain, 2, "0123456789", 10), 8);
	assert_memory_equal(unit_gpa(t->u, BUF_GPA + 0x202), "01", 2);
	assert_memory_equal(unit_gpa(t->u, BUF_GPA + 0x300), "234567", 6);
	assert_memory_equal(unit_gpa(t->u, BUF_GPA), "abc", 3); /* readable untouched */
	assert_int_equal(*unit_gpa(t->u, BUF_GPA + 0x306), 0);
}

static void test_queue_err_str_names_every_error(void **state)
{
	(void)state;
	for (int e = 0; e < VQ_ERR_COUNT; e++) {
		assert_non_null(vq_err_str(e));
		assert_string_not_equal(vq_err_str(e), "unknown virtqueue error");
	}
	assert_string_equal(vq_err_str(VQ_ERR_COUNT), "unknown virtqueue error");
}

#define QT(fn) cmocka_unit_test_setup_teardown(fn, qt_setup, qt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    QT(test_queue_activate_accepts_valid_rings),
	    QT(test_queue_activate_rejects_size_zero),
	    QT(test_queue_activate_rejects_size_not_power_of_two),
	    QT(test_queue_activate_rejects_size_above_max),
	    QT(test_queue_activate_rejects_misaligned_desc),
	    QT(test_queue_activate_rejects_misaligned_avail),
	    QT(test_queue_activate_rejects_misaligned_used),
	    QT(test_queue_activate_rejects_ring_outside_ram),
	    QT(test_queue_activate_rejects_used_ring_crossing_end_of_ram),
	    QT(test_queue_activate_rejects_avail_ring_wrapping),
	    QT(test_queue_activate_rejects_ring_crossing_mmio_gap),
	    QT(test_queue_pop_empty_returns_empty),
	    QT(test_queue_pop_not_ready_refused),
	    QT(test_queue_pops_direct_chain),
	    QT(test_queue_pops_indirect_chain),
	    QT(test_queue_pops_direct_then_indirect_chain),
	    QT(test_queue_pops_chains_in_avail_order),
	    QT(test_queue_pop_follows_index_wrap),
	    QT(test_queue_push_writes_used_element_then_idx),
	    QT(test_queue_push_wraps_used_ring_slot),
	    QT(test_queue_rejects_descriptor_loop),
	    QT(test_queue_rejects_self_loop),
	    QT(test_queue_accepts_chain_using_every_descriptor),
	    QT(test_queue_rejects_head_out_of_range),
	    QT(test_queue_rejects_next_out_of_range),
	    QT(test_queue_rejects_avail_jump),
	    QT(test_queue_accepts_avail_idx_a_full_ring_ahead),
	    QT(test_queue_rejects_buffer_wrapping_address_space),
	    QT(test_queue_rejects_buffer_crossing_end_of_ram),
	    QT(test_queue_accepts_buffer_ending_at_end_of_ram),
	    QT(test_queue_rejects_buffer_crossing_mmio_gap),
	    QT(test_queue_rejects_zero_length_buffer),
	    QT(test_queue_rejects_too_many_segments),
	    QT(test_queue_accepts_max_segments),
	    QT(test_queue_rejects_readable_after_writable),
	    QT(test_queue_rejects_indirect_not_negotiated),
	    QT(test_queue_rejects_nested_indirect),
	    QT(test_queue_rejects_indirect_with_next),
	    QT(test_queue_rejects_indirect_len_not_multiple_of_16),
	    QT(test_queue_rejects_indirect_len_zero),
	    QT(test_queue_rejects_indirect_more_entries_than_queue_size),
	    QT(test_queue_rejects_indirect_table_outside_ram),
	    QT(test_queue_rejects_indirect_next_beyond_table),
	    QT(test_queue_rejects_indirect_loop),
	    QT(test_queue_rejects_bad_buffer_inside_indirect_table),
	    QT(test_queue_broken_refuses_further_pops),
	    QT(test_queue_reset_then_activate_clears_broken),
	    QT(test_queue_interrupt_without_event_idx),
	    QT(test_queue_no_interrupt_flag_suppresses_interrupt),
	    QT(test_queue_event_idx_first_push_interrupts),
	    QT(test_queue_event_idx_suppresses_until_used_event),
	    QT(test_queue_event_idx_interrupts_when_batch_crosses_event),
	    QT(test_queue_event_idx_ignores_no_interrupt_flag),
	    QT(test_queue_event_idx_publishes_avail_event),
	    QT(test_queue_without_event_idx_leaves_avail_event_alone),
	    QT(test_queue_event_idx_notify_off_stops_publishing),
	    QT(test_queue_event_idx_notify_on_asks_for_next_entry),
	    QT(test_queue_reset_turns_notifications_back_on),
	    QT(test_queue_chain_read_crosses_segments),
	    QT(test_queue_chain_read_from_offset),
	    QT(test_queue_chain_write_crosses_writable_segments_only),
	    cmocka_unit_test(test_queue_err_str_names_every_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
