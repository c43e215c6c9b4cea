/* SPDX-License-Identifier: MIT */
/* virtio-rng: which bytes get filled, the 64 KiB cap, and the ring path. */
#include "unit.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"

#define QSIZE	  8
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define BUF_GPA	  0x10000

struct tchain {
	struct vq_chain c;
	uint8_t *mem;
	size_t used;
};

static struct tchain *tc_new(size_t bytes)
{
	struct tchain *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->mem = calloc(1, bytes);
	assert_non_null(t->mem);
	return t;
}

static void tc_free(struct tchain *t)
{
	free(t->mem);
	free(t);
}

static uint8_t *tc_add(struct tchain *t, uint32_t len, bool writable)
{
	struct vq_seg *s = &t->c.segs[t->c.nsegs++];

	s->host = t->mem + t->used;
	s->len = len;
	s->writable = writable;
	t->used += len;
	return s->host;
}

static size_t count_zero(const uint8_t *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += !p[i];
	return n;
}

static void test_rng_fills_every_writable_segment(void **state)
{
	struct tchain *t = tc_new(8192);
	struct rng_dev r;
	uint8_t *a, *b;

	(void)state;
	rng_init(&r);
	a = tc_add(t, 4096, true);
	b = tc_add(t, 4096, true);
	assert_int_equal(rng_fill_chain(&r, &t->c), 8192);
	/* 4096 random bytes hold about 16 zeroes; 200 would mean "not filled". */
	assert_true(count_zero(a, 4096) < 200);
	assert_true(count_zero(b, 4096) < 200);
	assert_int_equal(r.stats.bytes, 8192);
	assert_int_equal(r.stats.requests, 1);
	tc_free(t);
}

static void test_rng_leaves_readable_segments_alone(void **state)
{
	struct tchain *t = tc_new(8192);
	struct rng_dev r;
	uint8_t *ro, *w;

	(void)state;
	rng_init(&r);
	ro = tc_add(t, 4096, false);
	w = tc_add(t, 64, true);
	assert_int_equal(rng_fill_chain(&r, &t->c), 64);
	assert_int_equal(count_zero(ro, 4096), 4096);
	assert_true(count_zero(w, 64) < 32);
	tc_free(t);
}

static void test_rng_caps_a_chain_at_64k(void **state)
{
	struct tchain *t = tc_new(3 * 48 * 1024);
	struct rng_dev r;
	uint8_t *c;

	(void)state;
	rng_init(&r);
	tc_add(t, 48 * 1024, true);
	tc_add(t, 48 * 1024, true);
	c = tc_add(t, 48 * 1024, true);
	assert_int_equal(rng_fill_chain(&r, &t->c), RNG_MAX_CHAIN_BYTES);
	/* The second segment is filled to the cap, the third not at all. */
	assert_true(count_zero(t->mem + RNG_MAX_CHAIN_BYTES - 4096, 4096) < 200);
	assert_int_equal(count_zero(t->mem + RNG_MAX_CHAIN_BYTES, 96 * 1024 - RNG_MAX_CHAIN_BYTES),
			 96 * 1024 - RNG_MAX_CHAIN_BYTES);
	assert_int_equal(count_zero(c, 48 * 1024), 48 * 1024);
	tc_free(t);
}

static void test_rng_chain_without_writable_segment_gets_zero(void **state)
{
	struct tchain *t = tc_new(64);
	struct rng_dev r;

	(void)state;
	rng_init(&r);
	assert_int_equal(rng_fill_chain(&r, &t->c), 0); /* empty */
	tc_add(t, 64, false);
	assert_int_equal(rng_fill_chain(&r, &t->c), 0);
	assert_int_equal(count_zero(t->mem, 64), 64);
	tc_free(t);
}

static void test_rng_ops_describe_entropy_device(void **state)
{
	(void)state;
	assert_int_equal(rng_virtio_ops.device_id, VIRTIO_ID_RNG);
	assert_int_equal(rng_virtio_ops.num_queues, 1);
	assert_int_equal(rng_virtio_ops.queue_max_size, 256);
	assert_int_equal(rng_virtio_ops.config_len, 0);
	assert_true(rng_features() & 1ULL << VIRTIO_F_VERSION_1);
}

/* Driver side of a one-queue device in a calloc'd guest. */
struct tdev {
	struct unit_gm *u;
	struct rng_dev r;
	struct vdev d;
	uint16_t avail_idx;
};

static struct tdev *tdev_new(void)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct virtqueue *vq;

	assert_non_null(t);
	t->u = unit_gm_new(MiB(1));
	rng_init(&t->r);
	vdev_init(&t->d, &rng_virtio_ops, &t->r, rng_features(), &t->u->gm);
	vq = &t->d.vqs[0];
	vq->size = QSIZE;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	assert_int_equal(vq_activate(vq, &t->u->gm), VQ_OK);
	t->d.drv_features = t->d.features;
	t->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
	return t;
}

static void tdev_free(struct tdev *t)
{
	vdev_destroy(&t->d);
	unit_gm_free(t->u);
	free(t);
}

/* One single-descriptor chain at descriptor @i. */
static void post(struct tdev *t, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags)
{
	uint8_t *d = unit_gpa(t->u, DESC_GPA + 16 * i);
	uint8_t *avail = unit_gpa(t->u, AVAIL_GPA);

	unit_st64(d, gpa);
	unit_st32(d + 8, len);
	unit_st16(d + 12, flags);
	unit_st16(d + 14, 0);
	unit_st16(avail + 4 + 2 * (t->avail_idx % QSIZE), i);
	t->avail_idx++;
	unit_st16(avail + 2, t->avail_idx);
}

static void test_rng_queue_returns_used_lengths(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);

	(void)state;
	post(t, 0, BUF_GPA, 256, VRING_DESC_F_WRITE);
	post(t, 1, BUF_GPA + 4096, 16, 0); /* readable only: valid, gets 0 */
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), 2);
	assert_int_equal(unit_ld32(used + 4), 0);
	assert_int_equal(unit_ld32(used + 8), 256);
	assert_int_equal(unit_ld32(used + 12), 1);
	assert_int_equal(unit_ld32(used + 16), 0);
	assert_true(count_zero(unit_gpa(t->u, BUF_GPA), 256) < 64);
	assert_int_equal(t->d.status & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_true(t->d.interrupt_status & VIRTIO_INT_USED_RING);
	tdev_free(t);
}

static void test_rng_malformed_chain_needs_reset(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);

	(void)state;
	post(t, 0, MiB(1) - 8, 64, VRING_DESC_F_WRITE); /* leaves guest RAM */
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), 1);
	assert_int_equal(unit_ld32(used + 8), 0);
	assert_true(t->d.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(t->r.stats.resets, 1);
	tdev_free(t);
}

/*
 * A pass serves at most one queue's worth of chains, then re-kicks its own
 * eventfd, so a guest refilling the ring from another vCPU cannot hold the
 * main loop; a pass that finishes early does not kick.
 */
static void test_rng_pass_is_bounded_and_rekicks(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);
	uint64_t kicks = 0;

	(void)state;
	t->d.queue_evt[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(t->d.queue_evt[0] >= 0);
	for (uint16_t i = 0; i < QSIZE; i++)
		post(t, i, BUF_GPA + 64 * i, 64, VRING_DESC_F_WRITE);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), QSIZE);
	assert_int_equal(read(t->d.queue_evt[0], &kicks, sizeof(kicks)), sizeof(kicks));
	assert_int_equal(kicks, 1);
	post(t, 0, BUF_GPA, 64, VRING_DESC_F_WRITE);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), QSIZE + 1);
	assert_true(read(t->d.queue_evt[0], &kicks, sizeof(kicks)) < 0);
	close(t->d.queue_evt[0]);
	tdev_free(t);
}

/*
 * docs/VIRTIO.md pausing: a limited device serves what its buckets allow,
 * leaves the rest on the avail ring (no used entry, no re-kick), and takes
 * it again when its pause timer fires; nothing is dropped.
 */
static void test_rng_rate_limiter_pauses_and_resumes_the_queue(void **state)
{
	struct rl_config cfg = {.ops = {.set = true, .size = 2, .refill_time_ms = 20}};
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);
	struct pollfd p = {.events = POLLIN};
	uint64_t kicks;

	(void)state;
	t->d.queue_evt[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(rng_open_limiter(&t->r, &cfg), 0);
	for (uint16_t i = 0; i < 5; i++)
		post(t, i, BUF_GPA + 64 * i, 64, VRING_DESC_F_WRITE);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), 2);
	assert_true(t->r.rl.blocked);
	assert_int_equal(t->d.vqs[0].last_avail_idx, 2); /* the third went back */
	assert_true(read(t->d.queue_evt[0], &kicks, sizeof(kicks)) < 0);
	/* Notifications while paused do nothing. */
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), 2);
	assert_int_equal(t->r.stats.requests, 2);
	/* Each firing (10 ms per op) moves the queue again, until all five are served. */
	p.fd = t->r.rl.timer.fd;
	for (uint16_t done = 2; done < 5;) {
		assert_true(t->r.rl.blocked);
		p.revents = 0;
		assert_int_equal(poll(&p, 1, 5000), 1);
		vdev_process_timer(&t->d, 0);
		assert_true(unit_ld16(used + 2) > done);
		done = unit_ld16(used + 2);
	}
	assert_int_equal(unit_ld16(used + 2), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(unit_ld32(used + 8 + 8 * i), 64);
	assert_int_equal(t->r.stats.requests, 5);
	assert_true(t->r.rl.throttled >= 1);
	rng_close(&t->r);
	close(t->d.queue_evt[0]);
	tdev_free(t);
}

/* Bandwidth: a chain is charged its writable bytes, capped at 64 KiB. */
static void test_rng_rate_limiter_charges_bytes(void **state)
{
	struct rl_config cfg = {.bandwidth = {.set = true, .size = 1000, .refill_time_ms = 100000}};
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);

	(void)state;
	assert_int_equal(rng_open_limiter(&t->r, &cfg), 0);
	post(t, 0, BUF_GPA, 600, VRING_DESC_F_WRITE);
	post(t, 1, BUF_GPA + 4096, 600, VRING_DESC_F_WRITE);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used + 2), 1);
	assert_int_equal(t->r.rl.buckets.bandwidth.budget, 400);
	rng_close(&t->r);
	tdev_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rng_fills_every_writable_segment),
	    cmocka_unit_test(test_rng_leaves_readable_segments_alone),
	    cmocka_unit_test(test_rng_caps_a_chain_at_64k),
	    cmocka_unit_test(test_rng_chain_without_writable_segment_gets_zero),
	    cmocka_unit_test(test_rng_ops_describe_entropy_device),
	    cmocka_unit_test(test_rng_queue_returns_used_lengths),
	    cmocka_unit_test(test_rng_malformed_chain_needs_reset),
	    cmocka_unit_test(test_rng_pass_is_bounded_and_rekicks),
	    cmocka_unit_test(test_rng_rate_limiter_pauses_and_resumes_the_queue),
	    cmocka_unit_test(test_rng_rate_limiter_charges_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
