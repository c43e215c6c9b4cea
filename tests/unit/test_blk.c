/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device: backing-file set-up and locking, config space, and
 * requests driven through a real split ring in a calloc'd guest memory.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"

#define GM_BYTES     MiB(2)
#define QSIZE	     16
#define DESC_GPA     0x1000
#define AVAIL_GPA    0x2000
#define USED_GPA     0x3000
#define HDR_GPA	     0x8000
#define STATUS_GPA   0x8100
#define DATA_GPA     0x10000
#define DATA2_GPA    0x40000
#define DISK_SECTORS 2048u

struct tdev {
	struct unit_gm *u;
	struct blk_dev b;
	struct vdev d;
	char path[64];
	char dir[64];
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct tbuf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

static void make_file(char *path, size_t n, uint64_t size)
{
	int fd;

	snprintf(path, n, "/tmp/kiln-test-blk-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void tdev_attach(struct tdev *t, const struct blk_config *cfg)
{
	struct virtqueue *vq;

	assert_int_equal(blk_open(&t->b, cfg), 0);
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
}

static struct tdev *tdev_new_cfg(bool ro, bool cache_unsafe, const char *id)
{
	struct tdev *t = calloc(1, sizeof(*t));
	struct blk_config cfg = {0};

	assert_non_null(t);
	t->u = unit_gm_new(GM_BYTES);
	make_file(t->path, sizeof(t->path), (uint64_t)DISK_SECTORS * 512);
	cfg.path = t->path;
	cfg.id = id;
	cfg.read_only = ro;
	cfg.cache_unsafe = cache_unsafe;
	tdev_attach(t, &cfg);
	return t;
}

static struct tdev *tdev_new(void)
{
	return tdev_new_cfg(false, false, NULL);
}

static void tdev_free(struct tdev *t)
{
	vdev_destroy(&t->d);
	blk_close(&t->b);
	unlink(t->path);
	unit_gm_free(t->u);
	free(t);
}

/* Put one chain of @n buffers on the ring (descriptors 0..n-1) and notify. */
static void submit(struct tdev *t, const struct tbuf *bufs, unsigned int n)
{
	uint8_t *desc = unit_gpa(t->u, DESC_GPA);
	uint8_t *avail = unit_gpa(t->u, AVAIL_GPA);

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *d = desc + 16 * i;
		uint16_t flags = (bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		unit_st64(d, bufs[i].gpa);
		unit_st32(d + 8, bufs[i].len);
		unit_st16(d + 12, flags);
		unit_st16(d + 14, (uint16_t)(i + 1));
	}
	unit_st16(avail + 4 + 2 * (t->avail_idx % QSIZE), 0);
	t->avail_idx++;
	unit_st16(avail + 2, t->avail_idx);
	vdev_process_queue(&t->d, 0);
}

/* The used length of the next completion; fails if there is none. */
static uint32_t next_used(struct tdev *t)
{
	uint8_t *used = unit_gpa(t->u, USED_GPA);
	uint8_t *e;

	assert_int_not_equal(unit_ld16(used + 2), t->used_seen);
	e = used + 4 + 8 * (t->used_seen % QSIZE);
	t->used_seen++;
	assert_int_equal(unit_ld32(e), 0); /* head: the chain always starts at descriptor 0 */
	return unit_ld32(e + 4);
}

static void put_hdr(struct tdev *t, uint32_t type, uint64_t sector)
{
	uint8_t *h = unit_gpa(t->u, HDR_GPA);

	unit_st32(h, type);
	unit_st32(h + 4, 0);
	unit_st64(h + 8, sector);
	*unit_gpa(t->u, STATUS_GPA) = 0xff;
}

static uint8_t status_of(struct tdev *t)
{
	return *unit_gpa(t->u, STATUS_GPA);
}

/* One data request: header, one data buffer, status. Returns the used length. */
static uint32_t do_rw(struct tdev *t, uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len)
{
	const struct tbuf bufs[] = {
	    {HDR_GPA, 16, false},
	    {gpa, len, type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID},
	    {STATUS_GPA, 1, true},
	};

	put_hdr(t, type, sector);
	submit(t, bufs, 3);
	return next_used(t);
}

static uint32_t do_nodata(struct tdev *t, uint32_t type)
{
	const struct tbuf bufs[] = {{HDR_GPA, 16, false}, {STATUS_GPA, 1, true}};

	put_hdr(t, type, 0);
	submit(t, bufs, 2);
	return next_used(t);
}

static uint32_t do_ranges(struct tdev *t, uint32_t type, uint64_t sector, uint32_t n,
			  uint32_t flags)
{
	uint8_t *l = unit_gpa(t->u, DATA2_GPA);

	unit_st64(l, sector);
	unit_st32(l + 8, n);
	unit_st32(l + 12, flags);
	return do_rw(t, type, 0, DATA2_GPA, 16);
}

static void fill(struct tdev *t, uint64_t gpa, uint8_t v, size_t len)
{
	memset(unit_gpa(t->u, gpa), v, len);
}

static bool all_equal(const uint8_t *p, uint8_t v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- requests through the ring ---- */

/*
 * Rate limiter (docs/VIRTIO.md "Rate limiters"): IN/OUT are charged their
 * bytes and one op; refused requests nothing; a request the buckets cannot
 * pay goes back on the ring untouched until the pause ends (here: a run-time
 * update lifts it).
 */
static void test_blk_rate_limiter_pauses_and_update_resumes(void **state)
{
	struct rl_config cfg = {.bandwidth = {.set = true, .size = 8192, .refill_time_ms = 100000}};
	struct rl_config off = {.bandwidth = {.set = true, .size = 0, .refill_time_ms = 0}};
	struct tdev *t = tdev_new();
	uint8_t *used = unit_gpa(t->u, USED_GPA);

	(void)state;
	assert_int_equal(blk_open_limiter(&t->b, &cfg), 0);
	/* Out of range: answered IOERR at once, not charged. */
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, DISK_SECTORS, DATA_GPA, 4096), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 0, DATA_GPA, 4096), 4097);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 8, DATA_GPA, 4096), 1);
	assert_int_equal(t->b.rl.buckets.bandwidth.budget, 0);
	/* The third waits: no used entry, no status byte, the chain is still available. */
	put_hdr(t, VIRTIO_BLK_T_IN, 0);
	submit(t,
	       (const struct tbuf[]){
		   {HDR_GPA, 16, false}, {DATA_GPA, 4096, true}, {STATUS_GPA, 1, true}},
	       3);
	assert_int_equal(unit_ld16(used + 2), t->used_seen);
	assert_int_equal(status_of(t), 0xff);
	assert_int_equal(t->d.vqs[0].last_avail_idx, t->avail_idx - 1);
	assert_true(ratelimiter_blocked(&t->b.rl));
	assert_int_equal(t->b.stats.requests, 3);
	ratelimiter_update(&t->b.rl, &off);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(next_used(t), 4097);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	assert_int_equal(t->b.stats.requests, 4);
	assert_int_equal(t->b.rl.throttled, 1);
	tdev_free(t);
}

static void test_blk_write_then_read_back(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t file[1024];
	int fd;

	(void)state;
	for (unsigned int i = 0; i < 1024; i++)
		*unit_gpa(t->u, DATA_GPA + i) = (uint8_t)(i * 7 + 1);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 10, DATA_GPA, 1024), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);

	fill(t, DATA2_GPA, 0, 1024);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 10, DATA2_GPA, 1024), 1024 + 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	assert_memory_equal(unit_gpa(t->u, DATA2_GPA), unit_gpa(t->u, DATA_GPA), 1024);

	fd = open(t->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, file, sizeof(file), 10 * 512), sizeof(file));
	close(fd);
	assert_memory_equal(file, unit_gpa(t->u, DATA_GPA), 1024);
	assert_int_equal(t->b.stats.write_bytes, 1024);
	assert_int_equal(t->b.stats.read_bytes, 1024);
	assert_int_equal(t->b.stats.requests, 2);
	tdev_free(t);
}

static void test_blk_read_spans_many_segments(void **state)
{
	struct tdev *t = tdev_new();
	struct tbuf bufs[2 + 8];

	(void)state;
	for (unsigned int i = 0; i < 4096; i++)
		*unit_gpa(t->u, DATA_GPA + i) = (uint8_t)(i ^ 0x5a);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 4096), 1);
	bufs[0] = (struct tbuf){HDR_GPA, 16, false};
	for (unsigned int i = 0; i < 8; i++) /* out of order in guest RAM */
		bufs[1 + i] = (struct tbuf){DATA2_GPA + (7 - i) * 512, 512, true};
	bufs[9] = (struct tbuf){STATUS_GPA, 1, true};
	put_hdr(t, VIRTIO_BLK_T_IN, 0);
	submit(t, bufs, 10);
	assert_int_equal(next_used(t), 4097);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < 8; i++)
		assert_memory_equal(unit_gpa(t->u, DATA2_GPA + (7 - i) * 512),
				    unit_gpa(t->u, DATA_GPA + i * 512), 512);
	tdev_free(t);
}

static void test_blk_flush_succeeds(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	assert_int_equal(do_nodata(t, VIRTIO_BLK_T_FLUSH), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	assert_int_equal(t->b.stats.flushes, 1);
	tdev_free(t);
}

static void test_blk_get_id_returns_padded_serial(void **state)
{
	struct tdev *t = tdev_new();
	const uint8_t want[BLK_ID_BYTES] = "kiln0";

	(void)state;
	fill(t, DATA_GPA, 0xee, 32);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, BLK_ID_BYTES), 21);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	assert_memory_equal(unit_gpa(t->u, DATA_GPA), want, BLK_ID_BYTES);
	tdev_free(t);

	/* A configured id longer than 20 bytes is cut, with no NUL terminator. */
	t = tdev_new_cfg(false, false, "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_GET_ID, 0, DATA_GPA, 64), 21);
	assert_memory_equal(unit_gpa(t->u, DATA_GPA), "abcdefghijklmnopqrst", BLK_ID_BYTES);
	tdev_free(t);
}

static void test_blk_discard_reads_back_zeroes(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	fill(t, DATA_GPA, 0xab, 8192);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 8192), 1);
	assert_int_equal(do_ranges(t, VIRTIO_BLK_T_DISCARD, 0, 16, 0), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	fill(t, DATA_GPA, 0xff, 8192);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 0, DATA_GPA, 8192), 8193);
	assert_true(all_equal(unit_gpa(t->u, DATA_GPA), 0, 8192));
	assert_int_equal(t->b.stats.discards, 1);
	tdev_free(t);
}

static void test_blk_write_zeroes_zeroes_range_only(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	for (uint32_t flags = 0; flags <= VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP; flags++) {
		fill(t, DATA_GPA, 0xcd, 4096);
		assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 100, DATA_GPA, 4096), 1);
		assert_int_equal(do_ranges(t, VIRTIO_BLK_T_WRITE_ZEROES, 101, 2, flags), 1);
		assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
		assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 100, DATA_GPA, 4096), 4097);
		assert_true(all_equal(unit_gpa(t->u, DATA_GPA), 0xcd, 512));
		assert_true(all_equal(unit_gpa(t->u, DATA_GPA + 512), 0, 1024));
		assert_true(all_equal(unit_gpa(t->u, DATA_GPA + 1536), 0xcd, 4096 - 1536));
	}
	tdev_free(t);
}

static void test_blk_read_only_refuses_writes(void **state)
{
	struct tdev *t = tdev_new_cfg(true, false, NULL);

	(void)state;
	fill(t, DATA_GPA, 0x11, 512);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_OUT, 0, DATA_GPA, 512), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_ranges(t, VIRTIO_BLK_T_DISCARD, 0, 1, 0), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_int_equal(do_ranges(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_int_equal(t->b.stats.write_bytes, 0);
	/* Reads still work and see the file unchanged. */
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 0, DATA_GPA, 512), 513);
	assert_true(all_equal(unit_gpa(t->u, DATA_GPA), 0, 512));
	tdev_free(t);
}

static void test_blk_sector_beyond_capacity_is_ioerr_without_io(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	fill(t, DATA_GPA, 0xaa, 1024);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, DATA_GPA, 1024), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_true(all_equal(unit_gpa(t->u, DATA_GPA), 0xaa, 1024));
	assert_int_equal(t->b.stats.read_bytes, 0);
	assert_int_equal(t->b.stats.guest_errors, 1);
	assert_int_equal(t->d.status & VIRTIO_STATUS_NEEDS_RESET, 0);
	tdev_free(t);
}

static void test_blk_short_read_past_eof_is_ioerr(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	/* The image shrinks under the device: the read must fail, not return zeroes. */
	assert_int_equal(truncate(t->path, 512), 0);
	assert_int_equal(do_rw(t, VIRTIO_BLK_T_IN, 0, DATA_GPA, 1024), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_IOERR);
	assert_int_equal(t->b.stats.io_errors, 1);
	tdev_free(t);
}

static void test_blk_unknown_type_is_unsupp(void **state)
{
	struct tdev *t = tdev_new();

	(void)state;
	assert_int_equal(do_nodata(t, 0x7777), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_UNSUPP);
	tdev_free(t);
}

static void test_blk_missing_status_needs_reset(void **state)
{
	struct tdev *t = tdev_new();
	const struct tbuf bufs[] = {{HDR_GPA, 16, false}, {DATA_GPA, 512, false}};

	(void)state;
	put_hdr(t, VIRTIO_BLK_T_OUT, 0);
	submit(t, bufs, 2);
	assert_int_equal(next_used(t), 0);
	assert_true(t->d.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(t->d.interrupt_status & VIRTIO_INT_CONFIG);
	assert_int_equal(t->b.stats.resets, 1);
	tdev_free(t);
}

static void test_blk_malformed_chain_needs_reset(void **state)
{
	struct tdev *t = tdev_new();
	const struct tbuf bufs[] = {
	    {HDR_GPA, 16, false}, {GM_BYTES - 256, 512, true}, {STATUS_GPA, 1, true}};

	(void)state;
	put_hdr(t, VIRTIO_BLK_T_IN, 0);
	submit(t, bufs, 3); /* the data buffer runs past the end of RAM */
	assert_int_equal(next_used(t), 0);
	assert_true(t->d.status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(status_of(t), 0xff); /* nothing was written */
	tdev_free(t);
}

/* ---- configuration, features, set-up ---- */

static uint32_t cfg32(struct tdev *t, uint32_t off)
{
	uint8_t v[4];

	blk_virtio_ops.read_config(&t->d, off, v, 4);
	return unit_ld32(v);
}

static void test_blk_config_space_layout(void **state)
{
	struct tdev *t = tdev_new();
	uint8_t b[8];

	(void)state;
	assert_int_equal(blk_virtio_ops.device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(blk_virtio_ops.num_queues, 1);
	assert_int_equal(blk_virtio_ops.queue_max_size, 256);
	assert_int_equal(cfg32(t, 0), DISK_SECTORS);
	assert_int_equal(cfg32(t, 4), 0);
	assert_int_equal(cfg32(t, 12), 126);
	assert_int_equal(cfg32(t, 16), 0); /* geometry */
	assert_int_equal(cfg32(t, 20), 512);
	assert_int_equal(cfg32(t, 36), BLK_MAX_DWZ_SECTORS);
	assert_int_equal(cfg32(t, 40), BLK_MAX_DWZ_SEGS);
	assert_int_equal(cfg32(t, 52), BLK_MAX_DWZ_SEGS);
	blk_virtio_ops.read_config(&t->d, 56, b, 1);
	assert_int_equal(b[0], 1);
	/* Out of range, even if a transport let it through: zeroes, no overread. */
	memset(b, 0xff, sizeof(b));
	blk_virtio_ops.read_config(&t->d, BLK_CONFIG_BYTES - 2, b, 4);
	assert_true(all_equal(b, 0, 4));
	memset(b, 0xff, sizeof(b));
	blk_virtio_ops.read_config(&t->d, UINT32_MAX, b, 4);
	assert_true(all_equal(b, 0, 4));
	tdev_free(t);
}

static void test_blk_features_follow_drive_options(void **state)
{
	struct tdev *t = tdev_new();
	uint64_t f = blk_features(&t->b);

	(void)state;
	assert_true(f & 1ULL << VIRTIO_F_VERSION_1);
	assert_true(f & 1ULL << VIRTIO_F_EVENT_IDX);
	assert_true(f & 1ULL << VIRTIO_F_INDIRECT_DESC);
	assert_true(f & 1ULL << VIRTIO_BLK_F_SEG_MAX);
	assert_true(f & 1ULL << VIRTIO_BLK_F_BLK_SIZE);
	assert_true(f & 1ULL << VIRTIO_BLK_F_FLUSH);
	assert_true(f & 1ULL << VIRTIO_BLK_F_DISCARD);
	assert_true(f & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	assert_false(f & 1ULL << VIRTIO_BLK_F_RO);
	tdev_free(t);

	t = tdev_new_cfg(true, true, NULL);
	f = blk_features(&t->b);
	assert_true(f & 1ULL << VIRTIO_BLK_F_RO);
	assert_false(f & 1ULL << VIRTIO_BLK_F_FLUSH);
	assert_false(f & 1ULL << VIRTIO_BLK_F_DISCARD);
	assert_false(f & 1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	/* cache=unsafe: a FLUSH sent anyway is a successful no-op. */
	assert_int_equal(do_nodata(t, VIRTIO_BLK_T_FLUSH), 1);
	assert_int_equal(status_of(t), VIRTIO_BLK_S_OK);
	tdev_free(t);
}

static void test_blk_lock_refuses_second_attachment(void **state)
{
	struct tdev *t = tdev_new();
	struct blk_dev *other = calloc(1, sizeof(*other));
	struct blk_config cfg = {.path = t->path};

	(void)state;
	assert_non_null(other);
	assert_int_equal(blk_open(other, &cfg), -EWOULDBLOCK);
	cfg.read_only = true;
	assert_int_equal(blk_open(other, &cfg), -EWOULDBLOCK);
	tdev_free(t);
	free(other);
}

static void test_blk_read_only_attachments_share(void **state)
{
	struct blk_dev *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct blk_config cfg = {.read_only = true};
	char path[64];

	(void)state;
	make_file(path, sizeof(path), 4096);
	cfg.path = path;
	assert_int_equal(blk_open(a, &cfg), 0);
	assert_int_equal(blk_open(b, &cfg), 0);
	cfg.read_only = false;
	blk_close(b);
	assert_int_equal(blk_open(b, &cfg), -EWOULDBLOCK);
	blk_close(a);
	assert_int_equal(blk_open(b, &cfg), 0);
	blk_close(b);
	unlink(path);
	free(a);
	free(b);
}

static void test_blk_directory_refused(void **state)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	struct blk_config cfg = {.path = "/tmp"};

	(void)state;
	assert_int_equal(blk_open(b, &cfg), -EISDIR);
	cfg.read_only = true;
	assert_int_equal(blk_open(b, &cfg), -EISDIR);
	assert_int_equal(b->fd, -1);
	free(b);
}

static void test_blk_fifo_refused_without_hanging(void **state)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	char path[64];
	struct blk_config cfg = {.path = path, .read_only = true};

	(void)state;
	snprintf(path, sizeof(path), "/tmp/kiln-test-fifo-%d", (int)getpid());
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(blk_open(b, &cfg), -EINVAL);
	unlink(path);
	free(b);
}

static void test_blk_missing_file_refused(void **state)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	struct blk_config cfg = {.path = "/nonexistent/kiln-disk.img"};

	(void)state;
	assert_int_equal(blk_open(b, &cfg), -ENOENT);
	cfg.path = "";
	assert_int_equal(blk_open(b, &cfg), -EINVAL);
	free(b);
}

static void test_blk_odd_size_rounds_down(void **state)
{
	struct blk_dev *b = calloc(1, sizeof(*b));
	struct blk_config cfg = {0};
	char path[64];

	(void)state;
	make_file(path, sizeof(path), 512 * 3 + 100);
	cfg.path = path;
	cfg.index = 7;
	assert_int_equal(blk_open(b, &cfg), 0);
	assert_int_equal(b->lim.capacity_sectors, 3);
	assert_int_equal(b->size_bytes, 512 * 3 + 100);
	assert_memory_equal(b->id, "kiln7\0\0\0", 8);
	blk_close(b);
	unlink(path);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_write_then_read_back),
	    cmocka_unit_test(test_blk_rate_limiter_pauses_and_update_resumes),
	    cmocka_unit_test(test_blk_read_spans_many_segments),
	    cmocka_unit_test(test_blk_flush_succeeds),
	    cmocka_unit_test(test_blk_get_id_returns_padded_serial),
	    cmocka_unit_test(test_blk_discard_reads_back_zeroes),
	    cmocka_unit_test(test_blk_write_zeroes_zeroes_range_only),
	    cmocka_unit_test(test_blk_read_only_refuses_writes),
	    cmocka_unit_test(test_blk_sector_beyond_capacity_is_ioerr_without_io),
	    cmocka_unit_test(test_blk_short_read_past_eof_is_ioerr),
	    cmocka_unit_test(test_blk_unknown_type_is_unsupp),
	    cmocka_unit_test(test_blk_missing_status_needs_reset),
	    cmocka_unit_test(test_blk_malformed_chain_needs_reset),
	    cmocka_unit_test(test_blk_config_space_layout),
	    cmocka_unit_test(test_blk_features_follow_drive_options),
	    cmocka_unit_test(test_blk_lock_refuses_second_attachment),
	    cmocka_unit_test(test_blk_read_only_attachments_share),
	    cmocka_unit_test(test_blk_directory_refused),
	    cmocka_unit_test(test_blk_fifo_refused_without_hanging),
	    cmocka_unit_test(test_blk_missing_file_refused),
	    cmocka_unit_test(test_blk_odd_size_rounds_down),
	};

	log_setup(2, LOG_ERROR, "test_blk");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
