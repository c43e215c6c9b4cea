/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request parser (virtio 1.2 §5.2.6). A chain is framed by bytes,
 * not by descriptors (§2.6.4: the device must not assume a layout): the first
 * 16 bytes are the header, the last byte of the last writable segment is the
 * status, and everything between is data. The header and any range list are
 * copied out of guest RAM exactly once; every later decision uses the copies.
 */
#include "devices/virtio/blk_req.h"

#include <string.h>

static const char *const blk_req_err_names[BLK_REQ_ERR_COUNT] = {
    [BLK_REQ_OK] = "ok",
    [BLK_REQ_ERR_HDR] = "header shorter than 16 bytes or not readable",
    [BLK_REQ_ERR_NO_STATUS] = "no writable status byte at the end of the chain",
    [BLK_REQ_ERR_UNSUPP_TYPE] = "unsupported request type",
    [BLK_REQ_ERR_DATA_ALIGN] = "data length not a multiple of 512",
    [BLK_REQ_ERR_RANGE] = "sector range beyond capacity",
    [BLK_REQ_ERR_TOO_MANY_SEGS] = "more data segments than seg_max",
    [BLK_REQ_ERR_DIRECTION] = "data buffer of the wrong direction",
    [BLK_REQ_ERR_READ_ONLY] = "write to a read-only drive",
    [BLK_REQ_ERR_ID_SHORT] = "GET_ID buffer shorter than 20 bytes",
    [BLK_REQ_ERR_DWZ_LEN] = "range list empty or not a multiple of 16 bytes",
    [BLK_REQ_ERR_DWZ_COUNT] = "too many discard/write-zeroes ranges",
    [BLK_REQ_ERR_DWZ_SECTORS] = "discard/write-zeroes range too long",
    [BLK_REQ_ERR_DWZ_RANGE] = "discard/write-zeroes range beyond capacity",
    [BLK_REQ_ERR_DWZ_FLAGS] = "unknown discard/write-zeroes flags",
    [BLK_REQ_ERR_DISCARD_UNMAP] = "discard with the unmap flag",
};

static uint32_t blk_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t blk_ld64(const uint8_t *p)
{
	return (uint64_t)blk_ld32(p) | (uint64_t)blk_ld32(p + 4) << 32;
}

/* Does [sector, sector + n) fit in the drive? Overflow-checked: both are guest values. */
static bool blk_range_fits(uint64_t sector, uint64_t n, uint64_t capacity)
{
	uint64_t end;

	if (__builtin_add_overflow(sector, n, &end))
		return false;
	return end <= capacity;
}

/* Copy @len bytes of the data pieces into @dst (caller checked data_len >= len). */
static void blk_iov_copy(const struct blk_req *r, uint8_t *dst, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < r->niov && len; i++) {
		uint64_t n = r->iov[i].iov_len < len ? r->iov[i].iov_len : len;

		memcpy(dst, r->iov[i].iov_base, n);
		dst += n;
		len -= n;
	}
}

/*
 * Find the status byte: the last byte of the last non-empty segment, which
 * must be writable. Returns the total chain length in *total.
 */
static enum blk_req_err blk_find_status(const struct vq_chain *c, struct blk_req *out,
					uint64_t *total)
{
	const struct vq_seg *last = NULL;
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < c->nsegs; i++) {
		if (!c->segs[i].len)
			continue;
		if (__builtin_add_overflow(sum, (uint64_t)c->segs[i].len, &sum))
			return BLK_REQ_ERR_NO_STATUS;
		last = &c->segs[i];
	}
	if (!last || !last->writable)
		return BLK_REQ_ERR_NO_STATUS;
	out->status = last->host + last->len - 1;
	*total = sum;
	return BLK_REQ_OK;
}

/* Copy the first 16 bytes of the chain, which must all be readable (§5.2.6). */
static enum blk_req_err blk_copy_header(const struct vq_chain *c, uint64_t total,
					uint8_t hdr[BLK_REQ_HDR_BYTES])
{
	uint32_t got = 0;
	unsigned int i;

	/* The status byte sits after the header: a chain of 16 bytes has none of its own. */
	if (total < BLK_REQ_HDR_BYTES + 1)
		return BLK_REQ_ERR_HDR;
	for (i = 0; i < c->nsegs && got < BLK_REQ_HDR_BYTES; i++) {
		const struct vq_seg *s = &c->segs[i];
		uint32_t n = BLK_REQ_HDR_BYTES - got;

		if (!s->len)
			continue;
		if (s->writable)
			return BLK_REQ_ERR_HDR;
		if (n > s->len)
			n = s->len;
		memcpy(hdr + got, s->host, n);
		got += n;
	}
	return got == BLK_REQ_HDR_BYTES ? BLK_REQ_OK : BLK_REQ_ERR_HDR;
}

/*
 * Split the bytes in [16, total - 1) into iov pieces; all must have direction
 * @want_writable. More than @max pieces is refused.
 */
static enum blk_req_err blk_collect_data(const struct vq_chain *c, uint64_t total,
					 bool want_writable, uint32_t max, struct blk_req *out)
{
	const uint64_t start = BLK_REQ_HDR_BYTES, end = total - 1;
	uint64_t off = 0;
	unsigned int i;

	for (i = 0; i < c->nsegs && off < end; i++) {
		const struct vq_seg *s = &c->segs[i];
		uint64_t s_end = off + s->len, lo, hi;

		lo = off > start ? off : start;
		hi = s_end < end ? s_end : end;
		if (lo < hi) {
			if (s->writable != want_writable)
				return BLK_REQ_ERR_DIRECTION;
			if (out->niov >= max)
				return BLK_REQ_ERR_TOO_MANY_SEGS;
			out->iov[out->niov].iov_base = s->host + (lo - off);
			out->iov[out->niov].iov_len = (size_t)(hi - lo);
			out->niov++;
			out->data_len += hi - lo;
		}
		off = s_end;
	}
	return BLK_REQ_OK;
}

static enum blk_req_err blk_parse_ranges(const struct blk_limits *lim, struct blk_req *out)
{
	uint8_t raw[BLK_MAX_DWZ_SEGS * BLK_DWZ_SEG_BYTES];
	uint32_t allowed = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	unsigned int i, n;

	if (!out->data_len || out->data_len % BLK_DWZ_SEG_BYTES)
		return BLK_REQ_ERR_DWZ_LEN;
	if (out->data_len / BLK_DWZ_SEG_BYTES > BLK_MAX_DWZ_SEGS)
		return BLK_REQ_ERR_DWZ_COUNT;
	n = (unsigned int)(out->data_len / BLK_DWZ_SEG_BYTES);
	blk_iov_copy(out, raw, out->data_len);
	for (i = 0; i < n; i++) {
		const uint8_t *p = raw + i * BLK_DWZ_SEG_BYTES;
		struct blk_range *r = &out->ranges[i];

		r->sector = blk_ld64(p);
		r->num_sectors = blk_ld32(p + 8);
		r->flags = blk_ld32(p + 12);
		/* §5.2.6.2: unknown flags are IOERR; UNMAP on a discard is UNSUPP. */
		if (r->flags & ~allowed)
			return BLK_REQ_ERR_DWZ_FLAGS;
		if (out->type == VIRTIO_BLK_T_DISCARD &&
		    (r->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
			return BLK_REQ_ERR_DISCARD_UNMAP;
		if (r->num_sectors > BLK_MAX_DWZ_SECTORS)
			return BLK_REQ_ERR_DWZ_SECTORS;
		if (!blk_range_fits(r->sector, r->num_sectors, lim->capacity_sectors))
			return BLK_REQ_ERR_DWZ_RANGE;
	}
	out->nranges = n;
	/* The guest's list is copied into ranges[]; nothing may read it again. */
	out->niov = 0;
	out->data_len = 0;
	return BLK_REQ_OK;
}

const char *blk_req_err_str(enum blk_req_err err)
{
	if ((unsigned int)err >= BLK_REQ_ERR_COUNT)
		return "unknown error";
	return blk_req_err_names[err];
}

bool blk_req_err_needs_reset(enum blk_req_err err)
{
	return err == BLK_REQ_ERR_HDR || err == BLK_REQ_ERR_NO_STATUS;
}

uint8_t blk_req_err_status(enum blk_req_err err)
{
	switch (err) {
	case BLK_REQ_OK:
		return VIRTIO_BLK_S_OK;
	case BLK_REQ_ERR_UNSUPP_TYPE:
	case BLK_REQ_ERR_DISCARD_UNMAP:
		return VIRTIO_BLK_S_UNSUPP;
	default:
		return VIRTIO_BLK_S_IOERR;
	}
}

enum blk_req_err blk_req_parse(const struct vq_chain *c, const struct blk_limits *lim,
			       struct blk_req *out)
{
	uint8_t hdr[BLK_REQ_HDR_BYTES];
	enum blk_req_err err;
	uint32_t seg_max;
	uint64_t total = 0;
	bool want_writable;

	out->type = 0;
	out->sector = 0;
	out->niov = 0;
	out->data_len = 0;
	out->nranges = 0;
	out->status = NULL;
	/* The array bounds the walker's contract; a bigger count is not a chain we can frame. */
	if (c->nsegs > VQ_MAX_SEGS)
		return BLK_REQ_ERR_NO_STATUS;
	err = blk_find_status(c, out, &total);
	if (err)
		return err;
	err = blk_copy_header(c, total, hdr);
	if (err)
		return err;
	out->type = blk_ld32(hdr);
	/* hdr[4..8) is "reserved" (ioprio for Linux): ignored. */

	switch (out->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		want_writable = true;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (lim->read_only)
			return BLK_REQ_ERR_READ_ONLY;
		want_writable = false;
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* §5.2.6: no data; anything the driver adds is left untouched. */
		return BLK_REQ_OK;
	default:
		return BLK_REQ_ERR_UNSUPP_TYPE;
	}

	seg_max = lim->seg_max < VQ_MAX_SEGS ? lim->seg_max : VQ_MAX_SEGS;
	err = blk_collect_data(c, total, want_writable, seg_max, out);
	if (err)
		return err;

	switch (out->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		/* §5.2.6.1: the data length is a multiple of 512. */
		if (out->data_len % BLK_SECTOR_BYTES)
			return BLK_REQ_ERR_DATA_ALIGN;
		out->sector = blk_ld64(hdr + 8);
		if (!blk_range_fits(out->sector, out->data_len >> BLK_SECTOR_SHIFT,
				    lim->capacity_sectors))
			return BLK_REQ_ERR_RANGE;
		return BLK_REQ_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (out->data_len < BLK_ID_BYTES)
			return BLK_REQ_ERR_ID_SHORT;
		return BLK_REQ_OK;
	default:
		return blk_parse_ranges(lim, out);
	}
}
