/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device (virtio 1.2 §5.2): backing file set-up and locking, the
 * config space, the queue and the rate limiter's say. Parsed requests run in
 * blk_io.c (synchronously on the main thread), or for IN/OUT/FLUSH of an
 * Async drive through blk_aio.c.
 */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/blk_aio.h"
#include "devices/virtio/mmio.h"

#define BLK_LOG_BURST 10
static void blk_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void blk_st32(uint8_t *p, uint32_t v)
{
	blk_st16(p, (uint16_t)v);
	blk_st16(p + 2, (uint16_t)(v >> 16));
}

static void blk_st64(uint8_t *p, uint64_t v)
{
	blk_st32(p, (uint32_t)v);
	blk_st32(p + 4, (uint32_t)(v >> 32));
}

/*
 * The rate limiter's say on a parsed request (Firecracker's accounting): one
 * op for every request, and its data bytes for IN and OUT. Refused requests
 * are answered without I/O and are not charged.
 */
static bool blk_admit(struct blk_dev *b, const struct blk_req *r)
{
	bool data = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT;

	return ratelimiter_admit(&b->rl, data ? r->data_len : 0, 1);
}

/*
 * Parse @c into b->req. On a refusal, report it (status byte, or
 * *needs_reset) and return false with the used length in *used; a request
 * the rate limiter holds back returns false with VDEV_USED_RETRY.
 */
static bool blk_parse_chain(struct blk_dev *b, struct log_ratelimit *rl, const struct vq_chain *c,
			    bool *needs_reset, uint32_t *used)
{
	struct blk_req *r = &b->req;
	enum blk_req_err err;

	*needs_reset = false;
	err = blk_req_parse(c, &b->lim, r);
	if (!err && !blk_admit(b, r)) {
		*used = VDEV_USED_RETRY;
		return false;
	}
	b->stats.requests++;
	if (!err)
		return true;
	if (log_ratelimit_allow(rl, BLK_LOG_BURST))
		log_warn("virtio-blk %s: request (type %u) refused: %s", b->path, r->type,
			 blk_req_err_str(err));
	if (blk_req_err_needs_reset(err)) {
		/* docs/VIRTIO.md: no status byte to report through; used len 0. */
		b->stats.resets++;
		*needs_reset = true;
		*used = 0;
		return false;
	}
	b->stats.guest_errors++;
	*r->status = blk_req_err_status(err);
	*used = 1;
	return false;
}

/* Execute the parsed b->req now; status byte written, used length returned. */
static uint32_t blk_finish_sync(struct blk_dev *b, struct log_ratelimit *rl)
{
	struct blk_req *r = &b->req;
	uint64_t written;
	uint8_t status;
	int host_err;

	status = blk_execute(b, r, &written, &host_err);
	if (host_err && log_ratelimit_allow(rl, BLK_LOG_BURST))
		log_warn("virtio-blk %s: type %u sector %llu: %s", b->path, r->type,
			 (unsigned long long)r->sector, strerror(host_err));
	*r->status = status;
	/*
	 * Used len is 32 bits; overlapping guest buffers can claim more, so
	 * saturate below the VDEV_USED_* markers.
	 */
	if (written >= VDEV_USED_MAX)
		return VDEV_USED_MAX;
	return (uint32_t)written + 1;
}

uint32_t blk_handle_chain(struct blk_dev *b, struct log_ratelimit *rl, const struct vq_chain *c,
			  bool *needs_reset)
{
	uint32_t used;

	if (!blk_parse_chain(b, rl, c, needs_reset, &used))
		return used;
	return blk_finish_sync(b, rl);
}

/*
 * Async drive: IN, OUT and FLUSH are started on the ring and pushed when they
 * complete. GET_ID touches no file; DISCARD and WRITE_ZEROES run synchronously
 * once nothing is in flight, so they never race a started write.
 */
static uint32_t blk_handle_chain_async(struct vdev *d, struct blk_dev *b, const struct vq_chain *c,
				       bool *needs_reset)
{
	struct blk_req *r = &b->req;
	uint32_t used;
	int err;

	if (!blk_parse_chain(b, &d->rl, c, needs_reset, &used))
		return used;
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ||
	    (r->type == VIRTIO_BLK_T_FLUSH && !b->cache_unsafe)) {
		if (r->type == VIRTIO_BLK_T_FLUSH)
			b->stats.flushes++;
		err = blk_aio_start(b, d, c->head, r);
		if (!err)
			return VDEV_USED_DEFERRED;
		b->stats.io_errors++;
		if (log_ratelimit_allow(&d->rl, BLK_LOG_BURST))
			log_warn("virtio-blk %s: type %u sector %llu: cannot start: %s", b->path,
				 r->type, (unsigned long long)r->sector, strerror(-err));
		*r->status = VIRTIO_BLK_S_IOERR;
		return 1;
	}
	if (r->type != VIRTIO_BLK_T_GET_ID && blk_aio_inflight(b->aio))
		blk_aio_reap(b, d, true, true);
	return blk_finish_sync(b, &d->rl);
}

static void blk_read_config(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct blk_dev *b = d->priv;
	uint8_t cfg[BLK_CONFIG_BYTES];

	/* The transport bounds the access; stay safe if a caller does not. */
	if (off > BLK_CONFIG_BYTES || len > BLK_CONFIG_BYTES - off) {
		memset(data, 0, len);
		return;
	}
	/* §5.2.4 struct virtio_blk_config, little-endian; unoffered fields stay 0. */
	memset(cfg, 0, sizeof(cfg));
	blk_st64(cfg + 0, b->lim.capacity_sectors);
	blk_st32(cfg + 12, BLK_SEG_MAX);      /* seg_max; size_max (8) 0: not offered */
	blk_st32(cfg + 20, BLK_SECTOR_BYTES); /* blk_size; geometry (16..19) zeroes */
	blk_st16(cfg + 34, 1);		      /* num_queues */
	blk_st32(cfg + 36, BLK_MAX_DWZ_SECTORS);
	blk_st32(cfg + 40, BLK_MAX_DWZ_SEGS);
	blk_st32(cfg + 44, BLK_DISCARD_ALIGN_SECTORS);
	blk_st32(cfg + 48, BLK_MAX_DWZ_SECTORS);
	blk_st32(cfg + 52, BLK_MAX_DWZ_SEGS);
	cfg[56] = 1; /* write_zeroes_may_unmap */
	memcpy(data, cfg + off, len);
}

static uint32_t blk_chain(struct vdev *d, const struct vq_chain *c, bool *needs_reset)
{
	struct blk_dev *b = d->priv;

	if (b->aio)
		return blk_handle_chain_async(d, b, c, needs_reset);
	return blk_handle_chain(b, &d->rl, c, needs_reset);
}

/* Whether completions may still reach the guest's status bytes and used ring. */
static bool blk_may_push(const struct vdev *d)
{
	const struct virtqueue *vq = &d->vqs[0];

	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       vq->ready && !vq->broken;
}

/*
 * One pass over the request queue. Async engine: one submission per pass, as
 * the batch is what makes the engine pay, and what finished meanwhile (a
 * page-cache hit completes inside the submit) is pushed in the same pass.
 * While a completion is due, its pass walks the ring anyway, so the driver
 * need not notify: requests it adds meanwhile go in one batch with the next
 * completion's pass instead of a wake-up and a submission each. Only a pass
 * that leaves nothing in flight asks for notifications again.
 */
static void blk_queue_pass(struct vdev *d, struct blk_dev *b)
{
	struct virtqueue *vq = &d->vqs[0];

	for (;;) {
		/* Paused by the rate limiter: the timer brings us back (docs/VIRTIO.md). */
		if (ratelimiter_blocked(&b->rl))
			return;
		if (vdev_drain_queue(d, 0, &b->chain, blk_chain) != VQ_OK)
			b->stats.resets++;
		if (!b->aio)
			return;
		blk_aio_reap(b, d, false, blk_may_push(d));
		if (blk_aio_completion_due(b->aio)) {
			vq_set_notify(vq, false);
			return;
		}
		vq_set_notify(vq, true);
		if (!vq_has_pending(vq, 0))
			return;
	}
}

static void blk_process_queue(struct vdev *d, unsigned int q)
{
	if (q == 0)
		blk_queue_pass(d, d->priv);
}

static void blk_process_events(struct vdev *d)
{
	struct blk_dev *b = d->priv;
	uint64_t count;

	if (!b->aio)
		return;
	/* Completions coalesce: one read clears the count, then reap all that are ready. */
	if (read(blk_aio_fd(b->aio), &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("virtio-blk %s: reading completion eventfd: %s", b->path, strerror(errno));
	blk_aio_reap(b, d, false, blk_may_push(d));
	/* What the driver added without notifying (see blk_queue_pass), unless it cannot run. */
	if (blk_may_push(d))
		blk_queue_pass(d, b);
}

static int blk_timer_fd(struct vdev *d, unsigned int i)
{
	const struct blk_dev *b = d->priv;

	return i == 0 ? ratelimiter_fd(&b->rl) : -1;
}

static uint32_t blk_process_timer(struct vdev *d, unsigned int i)
{
	struct blk_dev *b = d->priv;

	return i == 0 ? ratelimiter_resume(&b->rl, 1u << 0) : 0; /* the request queue */
}

static int blk_event_fd(struct vdev *d)
{
	const struct blk_dev *b = d->priv;

	return b->aio ? blk_aio_fd(b->aio) : -1;
}

/*
 * Status 0 (§2.4): the transport resets the rings next, so wait out every
 * request in flight and let none of them write a status byte or used entry.
 */
static void blk_reset(struct vdev *d)
{
	struct blk_dev *b = d->priv;

	blk_aio_reap(b, d, true, false);
}

void blk_drain_inflight(struct vdev *d)
{
	struct blk_dev *b = d->priv;

	blk_aio_reap(b, d, true, blk_may_push(d));
	/*
	 * No completion is due now, so nothing is bound to run a pass for what
	 * the driver adds without notifying (see blk_queue_pass; an eventfd wake-up
	 * left over from the reaped completions may, but only by accident): ask
	 * for notifications again, and let the main loop take what is waiting
	 * once the caller is done.
	 */
	if (b->aio && blk_may_push(d)) {
		vq_set_notify(&d->vqs[0], true);
		vdev_kick_queue(d, 0);
	}
}

const struct virtio_dev_ops blk_virtio_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max_size = BLK_QUEUE_SIZE,
    .config_len = BLK_CONFIG_BYTES,
    .read_config = blk_read_config,
    /* writeback (CONFIG_WCE) is not offered: every config field is read-only. */
    .write_config = NULL,
    .activate = NULL,
    .reset = blk_reset,
    .process_queue = blk_process_queue,
    .event_fd = blk_event_fd,
    .process_events = blk_process_events,
    .timer_fd = blk_timer_fd,
    .process_timer = blk_process_timer,
};

uint64_t blk_features(const struct blk_dev *b)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
		     1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE;

	if (!b->cache_unsafe)
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (b->lim.read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

/* Size of an opened regular file or block device; -errno with the reason logged. */
static int blk_backing_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		log_err("drive %s: fstat: %s", path, strerror(e));
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		log_err("drive %s: is a directory, not a disk image", path);
		return -EISDIR;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			int e = errno;

			log_err("drive %s: BLKGETSIZE64: %s", path, strerror(e));
			return -e;
		}
		return 0;
	}
	log_err("drive %s: not a regular file or block device", path);
	return -EINVAL;
}

static void blk_set_id(struct blk_dev *b, const struct blk_config *cfg)
{
	char def[BLK_ID_BYTES + 1];
	const char *id = cfg->id;
	size_t n;

	if (!id || !*id) {
		snprintf(def, sizeof(def), "kiln%u", cfg->index);
		id = def;
	}
	n = strnlen(id, BLK_ID_BYTES);
	if (id[n])
		log_info("drive %s: id '%s' cut to %u bytes for GET_ID", cfg->path, id,
			 BLK_ID_BYTES);
	memset(b->id, 0, sizeof(b->id));
	memcpy(b->id, id, n);
}

int blk_open(struct blk_dev *b, const struct blk_config *cfg)
{
	int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	uint64_t size = 0;
	int fd, ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	ratelimiter_init(&b->rl);
	if (!cfg->path || !*cfg->path) {
		log_err("drive: empty path");
		return -EINVAL;
	}
	flags |= cfg->read_only ? O_RDONLY : O_RDWR;
	if (cfg->direct)
		flags |= O_DIRECT;
	/* O_NONBLOCK: a FIFO must not hang start-up; it is refused below and the flag dropped. */
	fd = open(cfg->path, flags);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EISDIR)
			log_err("drive %s: is a directory, not a disk image", cfg->path);
		else
			log_err("drive %s: open: %s", cfg->path, strerror(-ret));
		return ret;
	}
	ret = blk_backing_size(fd, cfg->path, &size);
	if (ret)
		goto fail;
	if (fcntl(fd, F_SETFL, cfg->direct ? O_DIRECT : 0) < 0) {
		ret = -errno;
		log_err("drive %s: fcntl: %s", cfg->path, strerror(-ret));
		goto fail;
	}
	/* Advisory lock: a second attachment (this or another process) is refused. */
	if (flock(fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		ret = -errno;
		if (ret == -EWOULDBLOCK)
			log_err("drive %s: already in use (locked by another attachment)",
				cfg->path);
		else
			log_err("drive %s: flock: %s", cfg->path, strerror(-ret));
		goto fail;
	}
	/*
	 * A tail shorter than a sector cannot be addressed by the guest: round
	 * down and say so, rather than refuse images made with odd sizes.
	 */
	if (size % BLK_SECTOR_BYTES)
		log_warn("drive %s: size %llu is not a multiple of 512; the last %llu bytes "
			 "are not visible to the guest",
			 cfg->path, (unsigned long long)size,
			 (unsigned long long)(size % BLK_SECTOR_BYTES));
	if (size < BLK_SECTOR_BYTES)
		log_warn("drive %s: smaller than one sector: every request will fail", cfg->path);
	b->path = strdup(cfg->path);
	if (!b->path) {
		ret = -ENOMEM;
		goto fail;
	}
	b->fd = fd;
	b->size_bytes = size;
	b->lim.capacity_sectors = size >> BLK_SECTOR_SHIFT;
	b->lim.seg_max = BLK_SEG_MAX;
	b->lim.read_only = cfg->read_only;
	b->cache_unsafe = cfg->cache_unsafe;
	b->direct = cfg->direct;
	b->is_root = cfg->is_root;
	blk_set_id(b, cfg);
	if (cfg->io_async) {
		ret = blk_aio_open(b);
		if (ret) {
			free(b->path);
			b->path = NULL;
			b->fd = -1;
			goto fail;
		}
	}
	return 0;
fail:
	close(fd);
	return ret;
}

int blk_open_limiter(struct blk_dev *b, const struct rl_config *cfg)
{
	int ret = ratelimiter_open(&b->rl, cfg);

	if (ret)
		log_err("drive %s: rate limiter timer: %s", b->path, strerror(-ret));
	return ret;
}

void blk_close(struct blk_dev *b)
{
	ratelimiter_close(&b->rl);
	blk_aio_close(b); /* before the fd: in-flight I/O holds references to it */
	if (b->fd >= 0)
		close(b->fd); /* drops the flock with the last reference */
	b->fd = -1;
	free(b->path);
	b->path = NULL;
}
