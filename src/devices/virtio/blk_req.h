/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request parser (virtio 1.2 §5.2.6): turns one walker chain into a
 * typed request, or into exactly one error value, before any I/O is done. Pure:
 * no syscalls, so unit tests and fuzzers link it alone.
 */
#ifndef KILN_VIRTIO_BLK_REQ_H
#define KILN_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/queue.h"

#define BLK_SECTOR_SHIFT  9
#define BLK_SECTOR_BYTES  512u
#define BLK_REQ_HDR_BYTES 16u /* struct virtio_blk_req: type, reserved, sector */
#define BLK_ID_BYTES	  20u /* §5.2.6: GET_ID serial, NUL-padded */
#define BLK_DWZ_SEG_BYTES 16u /* struct virtio_blk_discard_write_zeroes */

/* Data segments per request advertised in seg_max (header and status excluded). */
#define BLK_SEG_MAX 126u
/* Discard / write-zeroes limits advertised in config space and enforced here. */
#define BLK_MAX_DWZ_SEGS	  32u
#define BLK_MAX_DWZ_SECTORS	  (1u << 22) /* 2 GiB per range */
#define BLK_DISCARD_ALIGN_SECTORS 8u	     /* hint only: 4 KiB */

/* §5.2.6 request types. */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* §5.2.6 status byte values. */
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* §5.2.6: flags of a discard / write-zeroes range. */
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u

struct blk_limits {
	uint64_t capacity_sectors;
	uint32_t seg_max; /* data segments per request; at most VQ_MAX_SEGS */
	bool read_only;
};

/* One discard / write-zeroes range, copied out of guest memory. */
struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk_req {
	uint32_t type;
	uint64_t sector;	       /* IN/OUT only; 0 for the other types */
	unsigned int niov;	       /* IN/OUT/GET_ID data pieces */
	struct iovec iov[VQ_MAX_SEGS]; /* host pointers into guest RAM (the chain's) */
	uint64_t data_len;	       /* sum of iov lengths */
	unsigned int nranges;	       /* DISCARD/WRITE_ZEROES */
	struct blk_range ranges[BLK_MAX_DWZ_SEGS];
	uint8_t *status; /* last byte of the last writable segment */
};

/* Why a request was refused: one value per rule. */
enum blk_req_err {
	BLK_REQ_OK = 0,
	BLK_REQ_ERR_HDR,	   /* fewer than 16 readable bytes at the start */
	BLK_REQ_ERR_NO_STATUS,	   /* no writable byte at the end of the chain */
	BLK_REQ_ERR_UNSUPP_TYPE,   /* type kiln does not implement */
	BLK_REQ_ERR_DATA_ALIGN,	   /* IN/OUT data length not a multiple of 512 */
	BLK_REQ_ERR_RANGE,	   /* sector + length overflows or passes capacity */
	BLK_REQ_ERR_TOO_MANY_SEGS, /* more data segments than seg_max */
	BLK_REQ_ERR_DIRECTION,	   /* data buffer of the wrong direction for the type */
	BLK_REQ_ERR_READ_ONLY,	   /* OUT, DISCARD or WRITE_ZEROES on a read-only drive */
	BLK_REQ_ERR_ID_SHORT,	   /* GET_ID buffer shorter than 20 bytes */
	BLK_REQ_ERR_DWZ_LEN,	   /* range list empty or not a multiple of 16 bytes */
	BLK_REQ_ERR_DWZ_COUNT,	   /* more ranges than BLK_MAX_DWZ_SEGS */
	BLK_REQ_ERR_DWZ_SECTORS,   /* a range longer than BLK_MAX_DWZ_SECTORS */
	BLK_REQ_ERR_DWZ_RANGE,	   /* a range overflows or passes capacity */
	BLK_REQ_ERR_DWZ_FLAGS,	   /* unknown flag bits in a range (§5.2.6.2: IOERR) */
	BLK_REQ_ERR_DISCARD_UNMAP, /* DISCARD with the UNMAP flag (§5.2.6.2: UNSUPP) */
	BLK_REQ_ERR_COUNT
};

const char *blk_req_err_str(enum blk_req_err err);

/* True when the chain has no usable status byte: used len 0 and NEEDS_RESET. */
bool blk_req_err_needs_reset(enum blk_req_err err);

/* Status byte the device writes for @err (VIRTIO_BLK_S_*); OK for BLK_REQ_OK. */
uint8_t blk_req_err_status(enum blk_req_err err);

/*
 * Parse @c against @lim into @out. The header and the discard / write-zeroes
 * ranges are copied once; data stays in guest RAM (iov). On an error other
 * than HDR, out->status is valid so the caller can report the status byte.
 */
enum blk_req_err blk_req_parse(const struct vq_chain *c, const struct blk_limits *lim,
			       struct blk_req *out);

#endif
