/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng / entropy device (virtio 1.2 §5.4): one request queue whose
 * writable buffers are filled from getrandom(). No config space.
 */
#ifndef KILN_VIRTIO_RNG_H
#define KILN_VIRTIO_RNG_H

#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/ratelimit.h"

#define RNG_QUEUE_SIZE	    256
#define RNG_MAX_CHAIN_BYTES (64u * 1024) /* docs/VIRTIO.md: at most 64 KiB per chain */

struct rng_stats {
	uint64_t requests;
	uint64_t bytes;
	uint64_t errors; /* getrandom failures: the chain got fewer bytes */
	uint64_t resets; /* malformed chains (walker errors) */
};

struct rng_dev {
	struct rng_stats stats;
	int last_err;	       /* errno of the last short fill, 0 if none */
	struct vq_chain chain; /* scratch, main thread only */
	struct ratelimiter rl; /* its timer fd is owned: closed by rng_close() */
};

void rng_init(struct rng_dev *r);
/* Rate limiter and its pause timer (VM build, like blk_open_limiter). 0 or -errno. */
int rng_open_limiter(struct rng_dev *r, const struct rl_config *cfg);
void rng_close(struct rng_dev *r);

/* Features for vdev_init(): VERSION_1 (added by the transport anyway), INDIRECT, EVENT_IDX. */
uint64_t rng_features(void);

/*
 * Fill @c's writable segments, in order, with at most RNG_MAX_CHAIN_BYTES of
 * randomness; returns the bytes written (the used length). Exposed for tests.
 */
uint32_t rng_fill_chain(struct rng_dev *r, const struct vq_chain *c);

/* Device id 4, one queue of RNG_QUEUE_SIZE; priv is the struct rng_dev. */
extern const struct virtio_dev_ops rng_virtio_ops;

#endif
