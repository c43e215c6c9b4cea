/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk io_engine "Async": requests through a real split ring and a real
 * io_uring over a temp file. Several chains are in flight at once; nothing
 * reaches the used ring before its completion is reaped. The last tests make
 * the kernel refuse submissions (a seccomp filter) and check what the guest
 * sees then, and that a refused request never does I/O after a reset.
 */
#include "unit.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <seccomp.h>
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

/* The driver's set-up (again after a reset): empty rings, DRIVER_OK. */
static void activate(struct tdev *t)
{
	struct virtqueue *vq = &t->d.vqs[0];

	memset(unit_gpa(t->u, AVAIL_GPA), 0, 0x1000);
	memset(unit_gpa(t->u, USED_GPA), 0, 0x1000);
	t->avail_idx = 0;
	t->used_seen = 0;
	vq->size = QSIZE;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	assert_int_equal(vq_activate(vq, &t->u->gm), VQ_OK);
	t->d.drv_features = t->d.features;
	t->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
}

static struct tdev *tdev_new(void)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct blk_config cfg = {0};
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
	activate(t);
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
	/* Each is pushed once its completion is reaped, in this pass or later. */
	assert_int_equal(blk_aio_inflight(t->b.aio) + used_idx(t), 3);
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

/*
 * Put the read end of a fresh pipe where the drive's fd is: reads started on
 * it stay in flight until the test writes into *wr. Returns the real file fd
 * (a dup) so that the test can put the file back.
 */
static int fd_to_pipe(struct tdev *t, int *wr)
{
	int p[2], file = dup(t->b.fd);

	assert_true(file >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(dup3(p[0], t->b.fd, O_CLOEXEC) >= 0);
	close(p[0]);
	*wr = p[1];
	return file;
}

static void fd_restore(struct tdev *t, int file)
{
	assert_true(dup3(file, t->b.fd, O_CLOEXEC) >= 0);
	close(file);
}

static void feed_pipe(int wr, size_t n)
{
	uint8_t buf[4096];

	memset(buf, 0x77, sizeof(buf));
	for (; n; n -= sizeof(buf))
		assert_int_equal(write(wr, buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

static void status_zero(struct tdev *t)
{
	uint8_t zero[4] = {0};

	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_STATUS, zero, 4);
	assert_int_equal(t->d.status, 0);
}

static void test_blk_async_reset_with_io_in_flight_pushes_nothing(void **state)
{
	struct tdev *t = tdev_new();
	int wr, file = fd_to_pipe(t, &wr);

	(void)state;
	for (unsigned int i = 0; i < CHAINS; i++)
		queue_req(t, i, VIRTIO_BLK_T_IN, 16 * i, 4096);
	vdev_process_queue(&t->d, 0);
	/* Reads from an empty pipe: all of them wait in the kernel. */
	assert_int_equal(blk_aio_inflight(t->b.aio), CHAINS);
	assert_int_equal(used_idx(t), 0);
	feed_pipe(wr, CHAINS * 4096);
	/* Status 0 (§2.4) while they are in flight. */
	status_zero(t);
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(used_idx(t), 0);
	for (unsigned int i = 0; i < CHAINS; i++)
		assert_int_equal(status_of(t, i), 0xff);
	/* A late eventfd wake-up after the reset finds nothing to do. */
	vdev_process_events(&t->d);
	assert_int_equal(used_idx(t), 0);
	close(wr);
	fd_restore(t, file);
	tdev_free(t);
}

/*
 * While a completion is due the driver need not notify: the completion's pass
 * takes what it added meanwhile. Nothing due: notifications are asked for again.
 */
static void test_blk_async_no_notify_while_completion_due(void **state)
{
	struct tdev *t = tdev_new();
	int wr, file = fd_to_pipe(t, &wr);
	const uint8_t *used = unit_gpa(t->u, USED_GPA);

	(void)state;
	queue_req(t, 0, VIRTIO_BLK_T_IN, 0, 4096);
	queue_req(t, 1, VIRTIO_BLK_T_IN, 16, 4096);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(blk_aio_inflight(t->b.aio), 2);
	assert_int_equal(unit_ld16(used), VRING_USED_F_NO_NOTIFY);
	/* Added without a notification: no vdev_process_queue() for it. */
	queue_req(t, 2, VIRTIO_BLK_T_IN, 32, 4096);
	feed_pipe(wr, 4096);
	wait_used(t, 1);
	assert_int_equal(blk_aio_inflight(t->b.aio), 2); /* the other one, and chain 2 */
	assert_int_equal(unit_ld16(used), VRING_USED_F_NO_NOTIFY);
	feed_pipe(wr, 2 * 4096);
	wait_used(t, 3);
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(unit_ld16(used), 0);
	close(wr);
	fd_restore(t, file);
	tdev_free(t);
}

/*
 * A drain (PATCH /drives) leaves nothing in flight, so no completion will come
 * to take what the driver adds without notifying: notifications go back on and
 * the queue is kicked for a pass after the caller.
 */
static void test_blk_async_drain_turns_notifications_back_on(void **state)
{
	struct tdev *t = tdev_new();
	int wr, file = fd_to_pipe(t, &wr), evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	const uint8_t *used = unit_gpa(t->u, USED_GPA);
	uint64_t kicks = 0;

	(void)state;
	assert_true(evt >= 0);
	t->d.queue_evt[0] = evt;
	queue_req(t, 0, VIRTIO_BLK_T_IN, 0, 4096);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(unit_ld16(used), VRING_USED_F_NO_NOTIFY);
	feed_pipe(wr, 4096);
	blk_drain_inflight(&t->d);
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(used_idx(t), 1);
	assert_int_equal(unit_ld16(used), 0);
	assert_int_equal(read(evt, &kicks, sizeof(kicks)), (ssize_t)sizeof(kicks));
	assert_int_equal(kicks, 1);
	t->d.queue_evt[0] = -1;
	close(evt);
	close(wr);
	fd_restore(t, file);
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

/* The fd of the (only) io_uring this process has open. */
static int ring_fd(void)
{
	char path[64], link[64];
	int found = -1;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, "anon_inode:[io_uring]")) {
			assert_int_equal(found, -1);
			found = fd;
		}
	}
	assert_true(found >= 0);
	return found;
}

/*
 * From now on the kernel refuses (EAGAIN, as when it is out of memory) every
 * io_uring_enter on @fd that submits exactly @n SQEs; everything else works.
 * A seccomp filter cannot be removed: these tests come last, and the ring's fd
 * number is kept taken afterwards so that no later ring can match.
 */
static void refuse_submits(int fd, unsigned int n)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	assert_non_null(ctx);
	assert_int_equal(
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAGAIN), SCMP_SYS(io_uring_enter), 2,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)fd),
			     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)n)),
	    0);
	assert_int_equal(seccomp_load(ctx), 0);
	seccomp_release(ctx);
}

static void park_fd(int fd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(null >= 0);
	if (null != fd) {
		assert_true(dup3(null, fd, O_CLOEXEC) >= 0);
		close(null);
	}
	/* Left open on purpose until the process exits. */
}

static void fill_file(struct tdev *t, uint8_t byte)
{
	uint8_t buf[4096];

	memset(buf, byte, sizeof(buf));
	for (unsigned int i = 0; i < DISK_SECTORS / 8; i++)
		assert_int_equal(pwrite(t->b.fd, buf, sizeof(buf), (off_t)i * 4096),
				 (ssize_t)sizeof(buf));
}

static void assert_untouched(struct tdev *t, unsigned int k)
{
	for (unsigned int j = 0; j < 4096; j++)
		assert_int_equal(data_of(t, k)[j], 0xee);
}

static void test_blk_async_refused_submit_fails_requests_now(void **state)
{
	struct tdev *t = tdev_new();
	int fd = ring_fd();
	unsigned int k;

	(void)state;
	fill_file(t, 0x11);
	refuse_submits(fd, CHAINS);
	for (unsigned int i = 0; i < CHAINS; i++) {
		memset(data_of(t, i), 0xee, 4096);
		queue_req(t, i, VIRTIO_BLK_T_IN, 8 * i, 4096);
	}
	vdev_process_queue(&t->d, 0);
	/* Nothing of ours is in the kernel, so no completion would retry: IOERR now. */
	assert_int_equal(used_idx(t), CHAINS);
	for (unsigned int i = 0; i < CHAINS; i++) {
		assert_int_equal(next_used(t, &k), 1);
		assert_int_equal(status_of(t, k), VIRTIO_BLK_S_IOERR);
	}
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(t->b.stats.io_errors, CHAINS);
	/* The next submit carries the dead SQEs along (CHAINS + 1): they do nothing. */
	queue_req(t, 0, VIRTIO_BLK_T_IN, 0, 4096);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 1);
	assert_int_equal(next_used(t, &k), 4096 + 1);
	assert_int_equal(k, 0);
	assert_int_equal(status_of(t, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(data_of(t, 0)[0], 0x11);
	for (unsigned int i = 1; i < CHAINS; i++)
		assert_untouched(t, i);
	assert_int_equal(used_idx(t), CHAINS + 1);
	tdev_free(t);
	park_fd(fd);
}

static void test_blk_async_refused_submit_never_outlives_reset(void **state)
{
	struct tdev *t = tdev_new();
	int fd = ring_fd(), wr, file;
	unsigned int k;

	(void)state;
	fill_file(t, 0x11);
	file = fd_to_pipe(t, &wr);
	/* One read waits in the kernel (an empty pipe) ... */
	queue_req(t, 0, VIRTIO_BLK_T_IN, 0, 4096);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(blk_aio_inflight(t->b.aio), 1);
	/* ... so the ones the kernel refuses stay queued for its completion to retry. */
	refuse_submits(fd, CHAINS - 1);
	for (unsigned int i = 1; i < CHAINS; i++) {
		memset(data_of(t, i), 0xee, 4096);
		queue_req(t, i, VIRTIO_BLK_T_IN, 8 * i, 4096);
	}
	vdev_process_queue(&t->d, 0);
	assert_int_equal(blk_aio_inflight(t->b.aio), CHAINS);
	assert_int_equal(used_idx(t), 0);
	/* Any read that runs from now on would copy the file's 0x11 into guest RAM. */
	fd_restore(t, file);
	feed_pipe(wr, 4096);
	status_zero(t);
	assert_int_equal(blk_aio_inflight(t->b.aio), 0);
	assert_int_equal(used_idx(t), 0);
	for (unsigned int i = 0; i < CHAINS; i++)
		assert_int_equal(status_of(t, i), 0xff);
	/* The driver starts over; its first submit carries the refused SQEs along. */
	activate(t);
	queue_req(t, 0, VIRTIO_BLK_T_IN, 0, 4096);
	vdev_process_queue(&t->d, 0);
	wait_used(t, 1);
	assert_int_equal(next_used(t, &k), 4096 + 1);
	assert_int_equal(k, 0);
	assert_int_equal(status_of(t, 0), VIRTIO_BLK_S_OK);
	for (unsigned int i = 1; i < CHAINS; i++) {
		assert_int_equal(status_of(t, i), 0xff);
		assert_untouched(t, i);
	}
	vdev_process_events(&t->d);
	assert_int_equal(used_idx(t), 1);
	close(wr);
	tdev_free(t);
	park_fd(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_async_rw_round_trip_in_one_batch),
	    cmocka_unit_test(test_blk_async_no_notify_while_completion_due),
	    cmocka_unit_test(test_blk_async_drain_turns_notifications_back_on),
	    cmocka_unit_test(test_blk_async_short_read_is_ioerr),
	    cmocka_unit_test(test_blk_async_host_error_is_ioerr),
	    cmocka_unit_test(test_blk_async_flush_completes_after_earlier_writes),
	    cmocka_unit_test(test_blk_async_discard_waits_for_write_in_flight),
	    cmocka_unit_test(test_blk_async_reset_with_io_in_flight_pushes_nothing),
	    cmocka_unit_test(test_blk_async_get_id_while_io_in_flight),
	    /* Last: they leave seccomp filters behind (refuse_submits). */
	    cmocka_unit_test(test_blk_async_refused_submit_fails_requests_now),
	    cmocka_unit_test(test_blk_async_refused_submit_never_outlives_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
