/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 §5.4). Each chain's writable buffers get bytes from
 * getrandom(flags 0: blocks only until the host pool is first initialised,
 * which has long happened by the time a guest runs). Readable buffers are
 * ignored; a chain with none writable is a valid request answered with 0.
 */
#include "devices/virtio/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio/mmio.h"
#include "vmm/log.h"

#define RNG_LOG_BURST 10

/* getrandom() into @buf until @len bytes or an error; returns the bytes filled. */
static size_t rng_getrandom(uint8_t *buf, size_t len, int *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*err = errno;
			break;
		}
		if (n == 0) {
			*err = EIO;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

uint32_t rng_fill_chain(struct rng_dev *r, const struct vq_chain *c)
{
	uint32_t total = 0;
	unsigned int i, n = c->nsegs < VQ_MAX_SEGS ? c->nsegs : VQ_MAX_SEGS;
	int err = 0;

	r->stats.requests++;
	for (i = 0; i < n && total < RNG_MAX_CHAIN_BYTES; i++) {
		const struct vq_seg *s = &c->segs[i];
		size_t want, got;

		if (!s->writable || !s->len)
			continue;
		want = s->len;
		if (want > RNG_MAX_CHAIN_BYTES - total)
			want = RNG_MAX_CHAIN_BYTES - total;
		got = rng_getrandom(s->host, want, &err);
		total += (uint32_t)got;
		if (got < want) {
			r->stats.errors++;
			/* Used len stays a prefix: later buffers are not filled after a gap. */
			break;
		}
	}
	r->stats.bytes += total;
	r->last_err = err;
	return total;
}

static uint32_t rng_chain(struct vdev *d, const struct vq_chain *c, bool *needs_reset)
{
	struct rng_dev *r = d->priv;
	uint64_t want = c->writable_bytes;
	uint32_t len;

	/* Charged what the chain asks for, up to the per-chain cap: one op, its bytes. */
	if (!ratelimiter_admit(&r->rl, want < RNG_MAX_CHAIN_BYTES ? want : RNG_MAX_CHAIN_BYTES, 1))
		return VDEV_USED_RETRY;
	len = rng_fill_chain(r, c);
	(void)needs_reset; /* a chain with nothing writable is useless, not malformed */
	if (r->last_err && log_ratelimit_allow(&d->rl, RNG_LOG_BURST))
		log_warn("virtio-rng: getrandom: %s", strerror(r->last_err));
	return len;
}

static void rng_process_queue(struct vdev *d, unsigned int q)
{
	struct rng_dev *r = d->priv;

	/* Paused by the rate limiter: the timer brings us back (docs/VIRTIO.md). */
	if (q != 0 || ratelimiter_blocked(&r->rl))
		return;
	if (vdev_drain_queue(d, q, &r->chain, rng_chain) != VQ_OK)
		r->stats.resets++;
}

static int rng_timer_fd(struct vdev *d, unsigned int i)
{
	const struct rng_dev *r = d->priv;

	return i == 0 ? ratelimiter_fd(&r->rl) : -1;
}

static uint32_t rng_process_timer(struct vdev *d, unsigned int i)
{
	struct rng_dev *r = d->priv;

	return i == 0 ? ratelimiter_resume(&r->rl, 1u << 0) : 0;
}

const struct virtio_dev_ops rng_virtio_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max_size = RNG_QUEUE_SIZE,
    .config_len = 0, /* §5.4.4: no configuration space */
    .read_config = NULL,
    .write_config = NULL,
    .activate = NULL,
    .reset = NULL, /* nothing is ever in flight */
    .process_queue = rng_process_queue,
    .timer_fd = rng_timer_fd,
    .process_timer = rng_process_timer,
};

uint64_t rng_features(void)
{
	return 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC |
	       1ULL << VIRTIO_F_EVENT_IDX;
}

void rng_init(struct rng_dev *r)
{
	memset(r, 0, sizeof(*r));
	ratelimiter_init(&r->rl);
}

int rng_open_limiter(struct rng_dev *r, const struct rl_config *cfg)
{
	int ret = ratelimiter_open(&r->rl, cfg);

	if (ret)
		log_err("entropy: rate limiter timer: %s", strerror(-ret));
	return ret;
}

void rng_close(struct rng_dev *r)
{
	ratelimiter_close(&r->rl);
}
