/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk host I/O: runs a request blk_req_parse() has already checked
 * against the backing file. Data moves straight between the file and guest RAM
 * (the request's iovecs point into segments the queue walker bounded); host
 * errors come back as VIRTIO_BLK_S_IOERR, never retried-then-acknowledged.
 */
#include "devices/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLK_ZERO_CHUNK_BYTES 4096u
#define BLK_ZERO_IOVS	     64u

/* Read-only source for writing zeroes when fallocate cannot. */
static const uint8_t blk_zero_chunk[BLK_ZERO_CHUNK_BYTES];

/*
 * Move all of @iov to or from the file at @off, looping on short transfers.
 * A transfer of 0 bytes (EOF on read: the file shrank under us) is -EIO: the
 * guest never gets silently zero-filled or half-written data acknowledged.
 */
static int blk_rw(int fd, struct iovec *iov, unsigned int niov, uint64_t off, bool write)
{
	while (niov) {
		ssize_t n;

		if (!iov->iov_len) {
			iov++;
			niov--;
			continue;
		}
		if (write)
			n = pwritev(fd, iov, (int)niov, (off_t)off);
		else
			n = preadv(fd, iov, (int)niov, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		while (niov && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int blk_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	int r;

	do {
		r = fallocate(fd, mode, (off_t)off, (off_t)len);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int blk_write_zeroes_slow(int fd, uint64_t off, uint64_t len)
{
	struct iovec iov[BLK_ZERO_IOVS];

	while (len) {
		unsigned int n = 0;
		uint64_t chunk = 0;
		int r;

		while (n < BLK_ZERO_IOVS && chunk < len) {
			uint64_t piece =
			    len - chunk < BLK_ZERO_CHUNK_BYTES ? len - chunk : BLK_ZERO_CHUNK_BYTES;

			/* pwritev only reads the buffer: the const is honoured. */
			iov[n].iov_base = (void *)blk_zero_chunk;
			iov[n].iov_len = (size_t)piece;
			chunk += piece;
			n++;
		}
		r = blk_rw(fd, iov, n, off, true);
		if (r)
			return r;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

static bool blk_fallocate_unsupported(int r)
{
	return r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL;
}

/* §5.2.6: WRITE_ZEROES reads back as zeroes; UNMAP allows deallocation. */
static int blk_zero_range(const struct blk_dev *b, const struct blk_range *rg)
{
	uint64_t off = rg->sector << BLK_SECTOR_SHIFT;
	uint64_t len = (uint64_t)rg->num_sectors << BLK_SECTOR_SHIFT;
	int r = -EOPNOTSUPP;

	if (!(rg->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		r = blk_fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (blk_fallocate_unsupported(r))
		r = blk_fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (blk_fallocate_unsupported(r))
		r = blk_write_zeroes_slow(b->fd, off, len);
	return r;
}

/* Gather-write the 20-byte serial into the request's writable data. */
static uint32_t blk_write_id(const struct blk_dev *b, const struct blk_req *r)
{
	uint32_t done = 0;
	unsigned int i;

	for (i = 0; i < r->niov && done < BLK_ID_BYTES; i++) {
		size_t n = BLK_ID_BYTES - done;

		if (n > r->iov[i].iov_len)
			n = r->iov[i].iov_len;
		memcpy(r->iov[i].iov_base, b->id + done, n);
		done += (uint32_t)n;
	}
	return done;
}

/* Run a parsed request; returns the status byte and the data bytes written to the guest. */
uint8_t blk_execute(struct blk_dev *b, struct blk_req *r, uint64_t *written, int *host_err)
{
	uint64_t off = r->sector << BLK_SECTOR_SHIFT;
	unsigned int i;
	int ret = 0;

	*written = 0;
	*host_err = 0;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		ret = blk_rw(b->fd, r->iov, r->niov, off, false);
		if (!ret) {
			*written = r->data_len;
			b->stats.read_bytes += r->data_len;
		}
		break;
	case VIRTIO_BLK_T_OUT:
		ret = blk_rw(b->fd, r->iov, r->niov, off, true);
		if (!ret)
			b->stats.write_bytes += r->data_len;
		break;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		/* cache=unsafe: FLUSH is not offered, and one that arrives anyway is a no-op. */
		if (!b->cache_unsafe && fdatasync(b->fd) < 0)
			ret = -errno;
		break;
	case VIRTIO_BLK_T_GET_ID:
		*written = blk_write_id(b, r);
		break;
	case VIRTIO_BLK_T_DISCARD:
		b->stats.discards++;
		for (i = 0; i < r->nranges && !ret; i++) {
			const struct blk_range *rg = &r->ranges[i];

			if (!rg->num_sectors)
				continue;
			ret = blk_fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					    rg->sector << BLK_SECTOR_SHIFT,
					    (uint64_t)rg->num_sectors << BLK_SECTOR_SHIFT);
			/* §5.2.6.2: discard is a hint; a backend that cannot punch holes keeps
			 * data. */
			if (ret == -EOPNOTSUPP)
				ret = 0;
		}
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		b->stats.write_zeroes++;
		for (i = 0; i < r->nranges && !ret; i++) {
			if (r->ranges[i].num_sectors)
				ret = blk_zero_range(b, &r->ranges[i]);
		}
		break;
	default:
		/* blk_req_parse() only returns types handled above. */
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (ret) {
		*host_err = -ret;
		*written = 0;
		b->stats.io_errors++;
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}
