/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk io_engine "Async": requests through a real split ring and a real
 * io_uring over a temp file. Several chains are in flight at once; nothing
 * reaches the used ring before its completion is reaped.
 */
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_aio.h"
#include "devices/virtio/mmio.h"

#define GM_BYTES     MiB(2)
#define QSIZE	     16
#define DESC_GPA     0x1000
#define AVAIL_GPA    0x2000
#define USED_GPA     0x3000
#define HDR_GPA	     0x8000  /* + 0x20 per chain */
#define STATUS_GPA   0x8400  /* + 1 per chain */
#define DATA_GPA     0x10000 /* + 0x10000 per chain */
#define DISK_SECTORS 2048u
#define CHAINS	     5 /* three descriptors each */

struct tdev {
	struct unit_gm *u;
	struct blk_dev b;
	struct vdev d;
	char path[64];
	uint16_t avail_idx;
	uint16_t used_seen;
};

static struct tdev *tdev_new(void)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct blk_config cfg = {0};
	struct virtqueue *vq;
	int fd;

	assert_non_null(t);
	t->u = unit_gm_new(GM_BYTES);
	snprintf(t->path, sizeof(t->path), "/tmp/kiln-test-blk-async-XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DISK_SECTORS * 512), 0);
	close(fd);
	cfg.path = t->path;
	cfg.io_async = true;
	assert_int_equal(blk_open(&t->b, &cfg), 0);
	assert_non_null(t->b.aio);
	vdev_init(&t->d, &blk_virtio_ops, &t->b, blk_features(&t->b), &t->u->gm);
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
	blk_close(&t->b);
	unlink(t->path);
	unit_gm_free(t->u);
	free(t);
}

static void set_desc(struct tdev *t, unsigned int i, uint64_t gpa, uint32_t len, uint16_t flags)
{
	uint8_t *d = unit_gpa(t->u, DESC_GPA) + 16 * i;

	unit_st64(d, gpa);
	unit_st32(d + 8, len);
	unit_st16(d + 12, flags);
	unit_st16(d + 14, (uint16_t)(i + 1));
}

/*
 * Queue chain @k (descriptors 3k..3k+2): header, @len bytes of data at its own
 * buffer (none for len 0), status. Not yet notified.
 */
static void queue_req(struct tdev *t, unsigned int k, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t *avail = unit_gpa(t->u, AVAIL_GPA);
	uint8_t *h = unit_gpa(t->u, HDR_GPA + 0x20 * k);
	unsigned int i = 3 * k;

	unit_st32(h, type);
	unit_st32(h + 4, 0);
	unit_st64(h + 8, sector);
	*unit_gpa(t->u, STATUS_GPA + k) = 0xff;
	set_desc(t, i, HDR_GPA + 0x20 * k, 16, VRING_DESC_F_NEXT);
	if (len) {
		set_desc(t, ++i, DATA_GPA + 0x10000 * k, len,
			 VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0));
	}
	set_desc(t, ++i, STATUS_GPA + k, 1, VRING_DESC_F_WRITE);
	unit_st16(avail + 4 + 2 * (t->avail_idx % QSIZE), (uint16_t)(3 * k));
	t->avail_idx++;
	unit_st16(avail + 2, t->avail_idx);
}

static uint16_t used_idx(struct tdev *t)
{
	return unit_ld16(unit_gpa(t->u, USED_GPA) + 2);
}

/* Reap completions as the main loop would until @n more are on the used ring. */
static void wait_used(struct tdev *t, unsigned int n)
{
	uint16_t want = (uint16_t)(t->used_seen + n);

	for (int tries = 0; used_idx(t) != want && tries < 500; tries++) {
		struct pollfd p = {.fd = blk_aio_fd(t->b.aio), .events = POLLIN};

		assert_true(poll(&p, 1, 10) >= 0);
		vdev_process_events(&t->d);
	}
	assert_int_equal(used_idx(t), want);
}

/* Next used entry: returns its length and stores its chain number in *k. */
static uint32_t next_used(struct tdev *t, unsigned int *k)
{
	uint8_t *e = unit_gpa(t->u, USED_GPA) + 4 + 8 * (t->used_seen % QSIZE);

	t->used_seen++;
	*k = unit_ld32(e) / 3;
	return unit_ld32(e + 4);
}

static uint8_t status_of(struct tdev *t, unsigned int k)
{
	return *unit_gpa(t->u, STATUS_GPA + k);
}

static uint8_t *data_of(struct tdev *t, unsigned int k)
{
	return unit_gpa(t->u, DATA_GPA + 0x10000 * k);
}

static void test_blk_async_rw_round_trip_in_one_batch(void **state)
{
	struct tdev *t = tdev_new();
	unsigned int k;

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		memset(data_of(t, i), 0xa0 + (int)i, 4096);
		queue_req(t, i, VIRTIO_BLK_T_OUT, 8 * i, 4096);
	}
	vdev_process_queue(&t->d, 0);
	/* Started, not finished: the used ring waits for the completions. */
	assert_int_equal(blk_aio_inflight(t->b.aio), 3);
	wait_used(t, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(next_used(t, &k), 1);
		assert_int_equal(status_of(t, k), VIRTIO_BLK_S_OK);
	}
	for (unsigned int i = 0; i < 3; i++) {
		memset(data_of(t, i), 0, 4096);
		queue_req(t, i, VIRTIO_BLK_T_IN, 8 * (2 - i), 4096);
	}
	vdev_process_queue(&t->d, 0);
	wait_used(t, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(next_used(t, &k), 4096 + 1);
		assert_int_equal(status_of(t, k), VIRTIO_BLK_S_OK);
		for (unsigned int j = 0; j < 4096; j++)
			assert_int_equal(data_of(t, k)[j], 0xa0 + (2 - k));
	}
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(t->b.stats.read_bytes, 3 * 4096);
	assert_int_equal(t->b.stats.write_bytes, 3 * 4096);
	tdev_free(t);
}

static void test_blk_async_short_read_is_ioerr(void **state)
{
	struct tdev *t = tdev_new();
	unsigned int k;

	(void)state;
	/* The file shrinks under the drive: capacity still says 2048 sectors. */
	assert_int_equal(truncate(t->path, 4096), 0);
	queue_req(t, 0, VIRTIO_BLK_T_IN, 4, 8192);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 1);
	assert_int_equal(next_used(t, &k), 1);
	assert_int_equal(status_of(t, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(t->b.stats.io_errors, 1);
	tdev_free(t);
}

static void test_blk_async_host_error_is_ioerr(void **state)
{
	struct tdev *t = tdev_new();
	unsigned int k;
	int ro = open(t->path, O_RDONLY | O_CLOEXEC);

	(void)state;
	/* The host refuses the write (EBADF): IOERR, never OK. */
	assert_true(ro >= 0);
	assert_true(dup3(ro, t->b.fd, O_CLOEXEC) >= 0);
	close(ro);
	queue_req(t, 0, VIRTIO_BLK_T_OUT, 0, 4096);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 1);
	assert_int_equal(next_used(t, &k), 1);
	assert_int_equal(status_of(t, 0), VIRTIO_BLK_S_IOERR);
	tdev_free(t);
}

static void test_blk_async_flush_completes_after_earlier_writes(void **state)
{
	struct tdev *t = tdev_new();
	unsigned int k;

	(void)state;
	queue_req(t, 0, VIRTIO_BLK_T_OUT, 0, 4096);
	queue_req(t, 1, VIRTIO_BLK_T_OUT, 64, 4096);
	queue_req(t, 2, VIRTIO_BLK_T_FLUSH, 0, 0);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 3);
	/* IOSQE_IO_DRAIN: the flush starts only once both writes are done. */
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(next_used(t, &k), 1);
		assert_int_equal(status_of(t, k), VIRTIO_BLK_S_OK);
		if (i < 2)
			assert_int_not_equal(k, 2);
		else
			assert_int_equal(k, 2);
	}
	assert_int_equal(t->b.stats.flushes, 1);
	tdev_free(t);
}

static void test_blk_async_discard_waits_for_write_in_flight(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t *l = data_of(t, 1);
	uint8_t buf[4096];
	unsigned int k;
	int fd;

	(void)state;
	memset(data_of(t, 0), 0x5a, 4096);
	queue_req(t, 0, VIRTIO_BLK_T_OUT, 0, 4096);
	unit_st64(l, 0);
	unit_st32(l + 8, 8);
	unit_st32(l + 12, 0);
	queue_req(t, 1, VIRTIO_BLK_T_DISCARD, 0, 16);
	vdev_process_queue(&t->d, 0);
	/* The write was finished (and pushed) before the discard ran. */
	assert_int_equal(used_idx(t), 2);
	assert_int_equal(next_used(t, &k), 1);
	assert_int_equal(k, 0);
	assert_int_equal(next_used(t, &k), 1);
	assert_int_equal(k, 1);
	assert_int_equal(status_of(t, 1), VIRTIO_BLK_S_OK);
	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	tdev_free(t);
}

static void test_blk_async_reset_with_io_in_flight_pushes_nothing(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t zero[4] = {0};

	(void)state;
	for (unsigned int i = 0; i < CHAINS; i++)
		queue_req(t, i, i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 16 * i, 4096);
	vdev_process_queue(&t->d, 0);
	/* Status 0 (§2.4) while they are in flight. */
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_STATUS, zero, 4);
	assert_int_equal(t->d.status, 0);
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(used_idx(t), 0);
	for (unsigned int i = 0; i < CHAINS; i++)
		assert_int_equal(status_of(t, i), 0xff);
	/* A late eventfd wake-up after the reset finds nothing to do. */
	vdev_process_events(&t->d);
	assert_int_equal(used_idx(t), 0);
	tdev_free(t);
}

static void test_blk_async_get_id_while_io_in_flight(void **state)
{
	struct tdev *t = tdev_new();
	unsigned int k;

	(void)state;
	queue_req(t, 0, VIRTIO_BLK_T_OUT, 0, 4096);
	queue_req(t, 1, VIRTIO_BLK_T_GET_ID, 0, 0);
	/* GET_ID needs a writable buffer: rewrite chain 1's middle descriptor. */
	set_desc(t, 4, DATA_GPA + 0x10000, 20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE);
	set_desc(t, 5, STATUS_GPA + 1, 1, VRING_DESC_F_WRITE);
	set_desc(t, 3, HDR_GPA + 0x20, 16, VRING_DESC_F_NEXT);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 2);
	for (unsigned int i = 0; i < 2; i++) {
		uint32_t len = next_used(t, &k);

		assert_int_equal(status_of(t, k), VIRTIO_BLK_S_OK);
		assert_int_equal(len, k == 1 ? 21 : 1);
	}
	assert_memory_equal(data_of(t, 1), "kiln0", 6);
	tdev_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_async_rw_round_trip_in_one_batch),
	    cmocka_unit_test(test_blk_async_short_read_is_ioerr),
	    cmocka_unit_test(test_blk_async_host_error_is_ioerr),
	    cmocka_unit_test(test_blk_async_flush_completes_after_earlier_writes),
	    cmocka_unit_test(test_blk_async_discard_waits_for_write_in_flight),
	    cmocka_unit_test(test_blk_async_reset_with_io_in_flight_pushes_nothing),
	    cmocka_unit_test(test_blk_async_get_id_while_io_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
