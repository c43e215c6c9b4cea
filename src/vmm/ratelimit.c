/* SPDX-License-Identifier: MIT */
/*
 * Token buckets (Firecracker's TokenBucket semantics) and the per-device
 * limiter built on them. Every size and time may be anything a client sends:
 * products are taken in 128 bits, refill_time is capped at RL_MAX_REFILL_MS,
 * and a clock that goes backwards refills nothing.
 */
#include "vmm/ratelimit.h"

#include <string.h>
#include <time.h>

#define RL_NS_PER_MS 1000000ULL

typedef unsigned __int128 rl_u128;

static uint64_t rl_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void tbucket_init(struct tbucket *tb, const struct tb_config *cfg, uint64_t now_ns)
{
	memset(tb, 0, sizeof(*tb));
	tb->last_ns = now_ns;
	/* Firecracker: a bucket of size 0 or refill time 0 does not limit. */
	if (!cfg->set || !cfg->size || !cfg->refill_time_ms)
		return;
	tb->size = cfg->size;
	tb->refill_ns = rl_min64(cfg->refill_time_ms, RL_MAX_REFILL_MS) * RL_NS_PER_MS;
	tb->budget = tb->size;
	tb->burst = cfg->one_time_burst;
}

bool tbucket_unlimited(const struct tbucket *tb)
{
	return tb->size == 0;
}

/* Add the tokens earned since last_ns: the debt is paid first, then the budget. */
static void tbucket_refill(struct tbucket *tb, uint64_t now_ns)
{
	rl_u128 acc, earned;
	uint64_t pay;

	if (now_ns <= tb->last_ns)
		return; /* same instant, or a clock that went back: nothing earned */
	acc = (rl_u128)(now_ns - tb->last_ns) * tb->size + tb->rem; /* < 2^128 - 2^64 + 2^60 */
	tb->last_ns = now_ns;
	earned = acc / tb->refill_ns;
	tb->rem = (uint64_t)(acc % tb->refill_ns);
	pay = earned < tb->debt ? (uint64_t)earned : tb->debt;
	tb->debt -= pay;
	earned -= pay;
	if (earned >= tb->size - tb->budget) {
		tb->budget = tb->size;
		tb->rem = 0; /* a full bucket keeps no fraction of a token */
	} else {
		tb->budget += (uint64_t)earned;
	}
}

/* Enough in burst + budget, or a full bucket that lets an oversize request through. */
static bool tbucket_fits(const struct tbucket *tb, uint64_t tokens)
{
	return (rl_u128)tb->burst + tb->budget >= tokens || tb->budget == tb->size;
}

static void tbucket_take(struct tbucket *tb, uint64_t tokens)
{
	uint64_t from_burst = rl_min64(tb->burst, tokens);
	uint64_t from_budget;

	tb->burst -= from_burst;
	tokens -= from_burst;
	from_budget = rl_min64(tb->budget, tokens);
	tb->budget -= from_budget;
	/* Only an oversize request on a full bucket gets here with tokens left. */
	tb->debt += tokens - from_budget;
}

bool tbucket_consume(struct tbucket *tb, uint64_t tokens, uint64_t now_ns)
{
	if (tbucket_unlimited(tb))
		return true;
	tbucket_refill(tb, now_ns);
	if (!tbucket_fits(tb, tokens))
		return false;
	tbucket_take(tb, tokens);
	return true;
}

uint64_t tbucket_wait_ns(struct tbucket *tb, uint64_t tokens, uint64_t now_ns)
{
	rl_u128 need, ns;

	if (tbucket_unlimited(tb))
		return 0;
	tbucket_refill(tb, now_ns);
	if (tbucket_fits(tb, tokens))
		return 0;
	/* Not fitting means tokens > burst + budget and budget < size. */
	need = (rl_u128)tb->debt + rl_min64(tokens - tb->burst, tb->size) - tb->budget;
	/* Earned tokens are floor((rem + t * size) / refill_ns): solve for t, rounding up. */
	ns = need * tb->refill_ns - tb->rem;
	ns = (ns + tb->size - 1) / tb->size;
	if (ns > RL_MAX_WAIT_NS)
		return RL_MAX_WAIT_NS;
	return ns ? (uint64_t)ns : 1;
}

void rl_buckets_init(struct rl_buckets *b, const struct rl_config *cfg, uint64_t now_ns)
{
	tbucket_init(&b->bandwidth, &cfg->bandwidth, now_ns);
	tbucket_init(&b->ops, &cfg->ops, now_ns);
}

void rl_buckets_update(struct rl_buckets *b, const struct rl_config *upd, uint64_t now_ns)
{
	if (upd->bandwidth.set)
		tbucket_init(&b->bandwidth, &upd->bandwidth, now_ns);
	if (upd->ops.set)
		tbucket_init(&b->ops, &upd->ops, now_ns);
}

bool rl_buckets_consume(struct rl_buckets *b, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	if (tbucket_wait_ns(&b->bandwidth, bytes, now_ns) || tbucket_wait_ns(&b->ops, ops, now_ns))
		return false;
	/* Both fit (and are refilled to now_ns): these cannot fail. */
	tbucket_consume(&b->bandwidth, bytes, now_ns);
	tbucket_consume(&b->ops, ops, now_ns);
	return true;
}

uint64_t rl_buckets_wait_ns(struct rl_buckets *b, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	uint64_t a = tbucket_wait_ns(&b->bandwidth, bytes, now_ns);
	uint64_t o = tbucket_wait_ns(&b->ops, ops, now_ns);

	return a > o ? a : o;
}

bool rl_buckets_unlimited(const struct rl_buckets *b)
{
	return tbucket_unlimited(&b->bandwidth) && tbucket_unlimited(&b->ops);
}

void rl_config_merge(struct rl_config *cfg, const struct rl_config *upd)
{
	if (upd->bandwidth.set)
		cfg->bandwidth = upd->bandwidth;
	if (upd->ops.set)
		cfg->ops = upd->ops;
}

/* ---- a device's limiter ------------------------------------------------- */

static uint64_t rl_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void ratelimiter_init(struct ratelimiter *rl)
{
	static const struct rl_config unlimited;

	memset(rl, 0, sizeof(*rl));
	rl->timer.fd = -1;
	rl->clock = rl_monotonic_ns;
	rl_buckets_init(&rl->buckets, &unlimited, 0);
}

int ratelimiter_open(struct ratelimiter *rl, const struct rl_config *cfg)
{
	rl_buckets_init(&rl->buckets, cfg, rl->clock());
	rl->blocked = false;
	/* Always: a PATCH may limit an unlimited device later, when no timerfd can be made. */
	return evloop_timer_open(&rl->timer);
}

void ratelimiter_close(struct ratelimiter *rl)
{
	evloop_timer_close(&rl->timer);
}

bool ratelimiter_admit(struct ratelimiter *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t now, wait;

	if (rl->blocked)
		return false;
	if (rl_buckets_unlimited(&rl->buckets))
		return true;
	now = rl->clock();
	if (rl_buckets_consume(&rl->buckets, bytes, ops, now))
		return true;
	wait = rl_buckets_wait_ns(&rl->buckets, bytes, ops, now);
	/*
	 * No timer (a unit test without one, or a failed settime): stay open
	 * rather than pause with nothing to end the pause.
	 */
	if (evloop_timer_arm_ns(&rl->timer, wait))
		return true;
	rl->blocked = true;
	rl->throttled++;
	return false;
}

void ratelimiter_on_timer(struct ratelimiter *rl)
{
	evloop_timer_ack(&rl->timer);
	rl->blocked = false;
}

void ratelimiter_update(struct ratelimiter *rl, const struct rl_config *upd)
{
	rl_buckets_update(&rl->buckets, upd, rl->clock());
	if (rl->blocked)
		evloop_timer_disarm(&rl->timer);
	rl->blocked = false;
}
