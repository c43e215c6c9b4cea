/* SPDX-License-Identifier: MIT */
/*
 * Rate limiters as Firecracker defines them: two token buckets per device
 * (bandwidth in bytes, ops in requests), each refilling `size` tokens per
 * `refill_time` ms, with a one-time burst that is never refilled. The bucket
 * arithmetic is pure (the caller passes the time); struct ratelimiter adds
 * the clock and a timerfd that ends a pause, so a drained device stops its
 * queue and resumes from the main loop: it never spins, never drops.
 */
#ifndef KILN_RATELIMIT_H
#define KILN_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/evloop.h"

/*
 * Longest refill_time accepted (about 35 years): keeps refill_time in ns
 * below 2^60, so every product in the arithmetic fits in 128 bits.
 */
#define RL_MAX_REFILL_MS (1ULL << 40)
/* Longest pause ever armed (about 146 years): a timerfd takes it whole. */
#define RL_MAX_WAIT_NS (1ULL << 62)

/* One bucket as configured; size 0 or refill_time_ms 0 means unlimited. */
struct tb_config {
	bool set; /* given in the request; a PATCH leaves an unset bucket as it is */
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

struct rl_config {
	struct tb_config bandwidth; /* bytes */
	struct tb_config ops;	    /* requests */
};

struct tbucket {
	uint64_t size;	    /* 0: unlimited */
	uint64_t refill_ns; /* time to refill size tokens from empty */
	uint64_t budget;    /* tokens available, <= size */
	uint64_t burst;	    /* one-time tokens left, spent before budget */
	uint64_t debt;	    /* tokens an oversize request took beyond a full bucket */
	uint64_t rem;	    /* refill carry, in token-ns (< refill_ns): no drift */
	uint64_t last_ns;   /* time of the last refill */
};

struct rl_buckets {
	struct tbucket bandwidth;
	struct tbucket ops;
};

/* ---- pure arithmetic (all times are the caller's clock, in ns) ---------- */

/* A fresh bucket from @cfg: full, with its one-time burst; unlimited if unset. */
void tbucket_init(struct tbucket *tb, const struct tb_config *cfg, uint64_t now_ns);
bool tbucket_unlimited(const struct tbucket *tb);
/*
 * Take @tokens if they are there (refilling first). A request bigger than the
 * bucket passes once the bucket is full; what it takes beyond the bucket is
 * owed and paid back by the refill before the bucket fills again, so the
 * long-run rate holds and nothing deadlocks.
 */
bool tbucket_consume(struct tbucket *tb, uint64_t tokens, uint64_t now_ns);
/* Ns until tbucket_consume(@tokens) can succeed (0: now), capped at RL_MAX_WAIT_NS. */
uint64_t tbucket_wait_ns(struct tbucket *tb, uint64_t tokens, uint64_t now_ns);

void rl_buckets_init(struct rl_buckets *b, const struct rl_config *cfg, uint64_t now_ns);
/* Replace the buckets @upd sets (a fresh bucket each), keep the others. */
void rl_buckets_update(struct rl_buckets *b, const struct rl_config *upd, uint64_t now_ns);
/* Both buckets or neither: @bytes from bandwidth and @ops from ops. */
bool rl_buckets_consume(struct rl_buckets *b, uint64_t bytes, uint64_t ops, uint64_t now_ns);
uint64_t rl_buckets_wait_ns(struct rl_buckets *b, uint64_t bytes, uint64_t ops, uint64_t now_ns);
bool rl_buckets_unlimited(const struct rl_buckets *b);

/* Merge a PATCH into a stored configuration: the buckets @upd sets replace @cfg's. */
void rl_config_merge(struct rl_config *cfg, const struct rl_config *upd);

/* ---- a device's limiter: buckets, clock, pause timer ------------------- */

typedef uint64_t (*rl_clock_fn)(void);

struct ratelimiter {
	struct rl_buckets buckets;
	struct evloop_timer timer; /* fd -1 until ratelimiter_open (unit tests may skip it) */
	bool blocked;		   /* a request waits for the timer; the queue is paused */
	rl_clock_fn clock;	   /* CLOCK_MONOTONIC ns; unit tests inject a fake */
	uint64_t throttled;	   /* times a request had to wait (metrics) */
};

/* Unlimited, no timer, the monotonic clock. */
void ratelimiter_init(struct ratelimiter *rl);
/* Configure and create the pause timer (pre-boot: timerfd_create). 0 or -errno. */
int ratelimiter_open(struct ratelimiter *rl, const struct rl_config *cfg);
void ratelimiter_close(struct ratelimiter *rl);
/*
 * May a request of @bytes and @ops go now? If not, the limiter arms its timer
 * for when it can, marks itself blocked and returns false: the device puts
 * the request back and stops its queue until ratelimiter_on_timer().
 */
bool ratelimiter_admit(struct ratelimiter *rl, uint64_t bytes, uint64_t ops);
/* The timer fired: clear the pause (the device then serves its queue again). */
void ratelimiter_on_timer(struct ratelimiter *rl);
/* ratelimiter_on_timer(), then @queues: a device's process_timer in one line. */
static inline uint32_t ratelimiter_resume(struct ratelimiter *rl, uint32_t queues)
{
	ratelimiter_on_timer(rl);
	return queues;
}
/* Run-time change (PATCH): apply @upd and lift any pause; the caller re-kicks. */
void ratelimiter_update(struct ratelimiter *rl, const struct rl_config *upd);
static inline bool ratelimiter_blocked(const struct ratelimiter *rl)
{
	return rl->blocked;
}
static inline int ratelimiter_fd(const struct ratelimiter *rl)
{
	return rl->timer.fd;
}

#endif
