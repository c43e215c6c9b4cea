/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device (virtio 1.2 §5.2) over one backing file or block device,
 * opened and locked once at configuration. Requests are parsed by blk_req.c
 * and executed here with synchronous preadv/pwritev/fallocate/fdatasync, or,
 * for a drive with io_engine "Async", reads, writes and flushes are started
 * on the drive's io_uring (blk_aio.c) and completed from the main loop.
 */
#ifndef KILN_VIRTIO_BLK_H
#define KILN_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/blk_req.h"
#include "devices/virtio/virtio.h"
#include "vmm/log.h"
#include "vmm/ratelimit.h"

/* §5.2.3 feature bits kiln may offer. */
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BLK_QUEUE_SIZE	 256
#define BLK_CONFIG_BYTES 60 /* struct virtio_blk_config up to write_zeroes_may_unmap + pad */

struct blk_config {
	const char *path;
	const char *id;	    /* GET_ID serial; NULL or "" -> "kiln<index>"; cut to 20 bytes */
	unsigned int index; /* drive number, for the default id */
	bool read_only;
	bool cache_unsafe; /* FLUSH not offered; a FLUSH that arrives anyway is a no-op */
	bool direct;	   /* O_DIRECT: guest buffers must meet the host's alignment */
	bool is_root;
	bool io_async;		       /* io_engine "Async": IN/OUT/FLUSH through io_uring */
	struct rl_config rate_limiter; /* applied by blk_open_limiter() */
};

/* Per-device counters for metrics; written by the main thread only. */
struct blk_stats {
	uint64_t requests;
	uint64_t read_bytes;
	uint64_t write_bytes;
	uint64_t flushes;
	uint64_t discards;
	uint64_t write_zeroes;
	uint64_t guest_errors; /* requests refused by the parser */
	uint64_t io_errors;    /* host I/O failures and short transfers */
	uint64_t resets;       /* chains that put the device in NEEDS_RESET */
};

struct blk_dev {
	int fd;		       /* owned: closed by blk_close() */
	char *path;	       /* owned: strdup'ed, freed by blk_close() */
	char id[BLK_ID_BYTES]; /* NUL-padded, not NUL-terminated when 20 long */
	uint64_t size_bytes;   /* as found at open; capacity is size / 512 rounded down */
	struct blk_limits lim;
	bool cache_unsafe;
	bool direct;
	bool is_root;
	struct blk_aio *aio;   /* owned: NULL for Sync drives; freed by blk_close() */
	struct ratelimiter rl; /* its timer fd is owned: closed by blk_close() */
	struct blk_stats stats;
	/* Scratch, too big for the stack; only the main thread touches it. */
	struct vq_chain chain;
	struct blk_req req;
};

/*
 * Open, check and lock @cfg->path (flock: exclusive, shared for read-only, so a
 * second kiln cannot attach the same image read-write). 0 or a negative errno
 * with the reason logged (naming the path). On failure @b holds nothing.
 */
int blk_open(struct blk_dev *b, const struct blk_config *cfg);
void blk_close(struct blk_dev *b);
/*
 * Set the drive's rate limiter from @cfg and create its pause timer (once,
 * at VM build: a timerfd cannot be made after the runtime filter is on).
 */
int blk_open_limiter(struct blk_dev *b, const struct rl_config *cfg);

/* Features to pass to vdev_init() for this drive (§5.2.3). */
uint64_t blk_features(const struct blk_dev *b);

/*
 * Run a request blk_req_parse() accepted against @b's file (blk_io.c): returns
 * the status byte; *written is the data bytes put in guest RAM, *host_err the
 * errno of a failed host call (0 if none).
 */
uint8_t blk_execute(struct blk_dev *b, struct blk_req *r, uint64_t *written, int *host_err);
/*
 * Parse and execute one chain; writes the status byte and returns the used
 * length (data bytes written to the guest + 1). Sets *needs_reset (and
 * returns 0) when the chain has no usable header or status. @rl limits the
 * log lines a guest can cause. Exposed for the fuzzer and unit tests.
 */
uint32_t blk_handle_chain(struct blk_dev *b, struct log_ratelimit *rl, const struct vq_chain *c,
			  bool *needs_reset);

/*
 * Finish (and push) every request in flight on an Async drive; no-op for Sync.
 * Device lock held. For callers that change the backing file under the device:
 * chains the driver added meanwhile wait for the queue pass this queues (a
 * kick of the queue's eventfd), which runs after the caller drops the lock.
 */
void blk_drain_inflight(struct vdev *d);

/* Device id 2, one queue of BLK_QUEUE_SIZE; priv is the struct blk_dev. */
extern const struct virtio_dev_ops blk_virtio_ops;

#endif
