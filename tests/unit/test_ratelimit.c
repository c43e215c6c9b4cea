/* SPDX-License-Identifier: MIT */
/* Token buckets on a fake clock, and the limiter's pause timer on a real timerfd. */
#include "unit.h"

#include <poll.h>

#include "vmm/ratelimit.h"

#define MS 1000000ULL
#define S  1000000000ULL

static const struct tb_config *tb_cfg(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	static struct tb_config c;

	c = (struct tb_config){
	    .set = true, .size = size, .one_time_burst = burst, .refill_time_ms = refill_ms};
	return &c;
}

static void test_tbucket_starts_full_and_refills_at_its_rate(void **state)
{
	struct tbucket tb;

	(void)state;
	tbucket_init(&tb, tb_cfg(1000, 0, 100), 0);
	assert_true(tbucket_consume(&tb, 1000, 0));
	assert_false(tbucket_consume(&tb, 1, 0));
	/* 1000 tokens per 100 ms: 10 ms earn 100. */
	assert_false(tbucket_consume(&tb, 101, 10 * MS));
	assert_true(tbucket_consume(&tb, 100, 10 * MS));
	assert_false(tbucket_consume(&tb, 1, 10 * MS));
	/* Never above size, however long it waits. */
	assert_true(tbucket_consume(&tb, 0, 100 * S));
	assert_int_equal(tb.budget, 1000);
}

static void test_tbucket_refill_keeps_fractions(void **state)
{
	struct tbucket tb;
	uint64_t got = 0, t;

	(void)state;
	/* 3 tokens per 1000 ms: one every 333.3 ms; 1 ms steps must not lose the fraction. */
	tbucket_init(&tb, tb_cfg(3, 0, 1000), 0);
	assert_true(tbucket_consume(&tb, 3, 0));
	for (t = 1; t <= 10000; t++)
		got += tbucket_consume(&tb, 1, t * MS);
	assert_int_equal(got, 30);
}

static void test_tbucket_one_time_burst_is_spent_first_and_not_refilled(void **state)
{
	struct tbucket tb;

	(void)state;
	tbucket_init(&tb, tb_cfg(100, 500, 1000), 0);
	assert_true(tbucket_consume(&tb, 550, 0)); /* 500 burst + 50 budget */
	assert_int_equal(tb.burst, 0);
	assert_int_equal(tb.budget, 50);
	assert_true(tbucket_consume(&tb, 50, 0));
	assert_false(tbucket_consume(&tb, 1, 0));
	/* A full refill brings back size, never the burst. */
	assert_true(tbucket_consume(&tb, 100, 10 * S));
	assert_int_equal(tb.burst, 0);
	assert_false(tbucket_consume(&tb, 1, 10 * S));
}

static void test_tbucket_oversize_passes_when_full_then_is_paid_back(void **state)
{
	struct tbucket tb;

	(void)state;
	tbucket_init(&tb, tb_cfg(100, 0, 1000), 0);
	assert_true(tbucket_consume(&tb, 10, 0));
	/* Not full: an oversize request waits for the bucket to fill. */
	assert_false(tbucket_consume(&tb, 350, 0));
	assert_int_equal(tbucket_wait_ns(&tb, 350, 0), 100 * MS);
	assert_true(tbucket_consume(&tb, 350, 100 * MS));
	assert_int_equal(tb.debt, 250);
	/* 250 owed + 1: 2.51 s at 100 tokens/s before one more token. */
	assert_int_equal(tbucket_wait_ns(&tb, 1, 100 * MS), 2510 * MS);
	assert_false(tbucket_consume(&tb, 1, 2609 * MS));
	assert_true(tbucket_consume(&tb, 1, 2610 * MS));
}

static void test_tbucket_wait_is_exact(void **state)
{
	struct tbucket tb;
	uint64_t w;

	(void)state;
	tbucket_init(&tb, tb_cfg(7, 0, 3), 0);
	assert_true(tbucket_consume(&tb, 7, 0));
	w = tbucket_wait_ns(&tb, 5, 0);
	assert_false(tbucket_consume(&tb, 5, w - 1));
	assert_true(tbucket_consume(&tb, 5, w));
}

static void test_tbucket_zero_size_or_refill_is_unlimited(void **state)
{
	struct tbucket tb;
	struct tb_config unset = {0};

	(void)state;
	tbucket_init(&tb, tb_cfg(0, 100, 1000), 0);
	assert_true(tbucket_unlimited(&tb));
	assert_true(tbucket_consume(&tb, UINT64_MAX, 0));
	tbucket_init(&tb, tb_cfg(1000, 0, 0), 0);
	assert_true(tbucket_unlimited(&tb));
	tbucket_init(&tb, &unset, 0);
	assert_true(tbucket_unlimited(&tb));
	assert_int_equal(tbucket_wait_ns(&tb, UINT64_MAX, 0), 0);
}

static void test_tbucket_hostile_values_do_not_overflow(void **state)
{
	struct tbucket tb;
	uint64_t w;

	(void)state;
	/* Largest everything: refill capped, products in 128 bits. */
	tbucket_init(&tb, tb_cfg(UINT64_MAX, UINT64_MAX, UINT64_MAX), 0);
	assert_int_equal(tb.refill_ns, RL_MAX_REFILL_MS * MS);
	assert_true(tbucket_consume(&tb, UINT64_MAX, 0));
	assert_true(tbucket_consume(&tb, UINT64_MAX, 0));
	assert_false(tbucket_consume(&tb, UINT64_MAX, 0));
	assert_true(tbucket_consume(&tb, UINT64_MAX, UINT64_MAX)); /* any later time refills */
	/* One token per 2^40 ms and a 2^64 request: the wait saturates, never wraps. */
	tbucket_init(&tb, tb_cfg(1, 0, UINT64_MAX), 0);
	assert_true(tbucket_consume(&tb, UINT64_MAX, 0));
	w = tbucket_wait_ns(&tb, UINT64_MAX, 0);
	assert_int_equal(w, RL_MAX_WAIT_NS);
	/* A clock going backwards earns nothing. */
	tbucket_init(&tb, tb_cfg(10, 0, 1), 5 * S);
	assert_true(tbucket_consume(&tb, 10, 5 * S));
	assert_false(tbucket_consume(&tb, 1, 0));
	assert_false(tbucket_consume(&tb, 1, 5 * S));
}

static void test_buckets_take_both_or_neither(void **state)
{
	struct rl_config cfg = {.bandwidth = *tb_cfg(1000, 0, 1000)};
	struct rl_buckets b;

	(void)state;
	cfg.ops = *tb_cfg(2, 0, 1000);
	rl_buckets_init(&b, &cfg, 0);
	assert_true(rl_buckets_consume(&b, 100, 1, 0));
	assert_true(rl_buckets_consume(&b, 100, 1, 0));
	/* Ops empty: the bytes stay in their bucket. */
	assert_false(rl_buckets_consume(&b, 100, 1, 0));
	assert_int_equal(b.bandwidth.budget, 800);
	assert_int_equal(rl_buckets_wait_ns(&b, 100, 1, 0), 500 * MS);
	/* Bandwidth short: the op stays. */
	assert_true(rl_buckets_consume(&b, 800, 1, 500 * MS));
	assert_false(rl_buckets_consume(&b, 600, 0, 500 * MS));
	assert_int_equal(b.ops.budget, 0);
}

static void test_buckets_update_replaces_only_what_is_set(void **state)
{
	struct rl_config cfg = {.bandwidth = *tb_cfg(1000, 0, 1000)}, upd = {0};
	struct rl_buckets b;

	(void)state;
	cfg.ops = *tb_cfg(10, 0, 1000);
	rl_buckets_init(&b, &cfg, 0);
	assert_true(rl_buckets_consume(&b, 1000, 10, 0));
	upd.ops = *tb_cfg(0, 0, 0); /* set, size 0: ops become unlimited */
	rl_buckets_update(&b, &upd, 0);
	assert_true(tbucket_unlimited(&b.ops));
	assert_int_equal(b.bandwidth.budget, 0); /* untouched */
	upd = (struct rl_config){.bandwidth = *tb_cfg(50, 0, 10)};
	rl_buckets_update(&b, &upd, 0);
	assert_true(rl_buckets_consume(&b, 50, 1, 0)); /* a fresh, full bucket */
	rl_config_merge(&cfg, &upd);
	assert_int_equal(cfg.bandwidth.size, 50);
	assert_int_equal(cfg.ops.size, 10);
}

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1;
}

static void test_limiter_pauses_on_a_timer_and_resumes(void **state)
{
	struct rl_config cfg = {.ops = *tb_cfg(1, 0, 5)};
	struct ratelimiter rl;

	(void)state;
	ratelimiter_init(&rl);
	rl.clock = fake_clock;
	fake_now = 0;
	assert_int_equal(ratelimiter_open(&rl, &cfg), 0);
	assert_true(ratelimiter_fd(&rl) >= 0);
	assert_true(ratelimiter_admit(&rl, 4096, 1));
	assert_false(ratelimiter_admit(&rl, 4096, 1));
	assert_true(ratelimiter_blocked(&rl));
	assert_int_equal(rl.throttled, 1);
	/* Blocked: refused without looking at the buckets, however late it is. */
	fake_now = 10 * S;
	assert_false(ratelimiter_admit(&rl, 1, 1));
	/* The 5 ms timer really fires (generous bound: loaded machines). */
	assert_true(fd_readable(ratelimiter_fd(&rl), 5000));
	ratelimiter_on_timer(&rl);
	assert_false(ratelimiter_blocked(&rl));
	assert_false(fd_readable(ratelimiter_fd(&rl), 0));
	assert_true(ratelimiter_admit(&rl, 1, 1));
	ratelimiter_close(&rl);
	assert_int_equal(ratelimiter_fd(&rl), -1);
}

static void test_limiter_update_lifts_a_pause(void **state)
{
	struct rl_config cfg = {.bandwidth = *tb_cfg(100, 0, 100000)}, upd = {0};
	struct ratelimiter rl;

	(void)state;
	ratelimiter_init(&rl);
	rl.clock = fake_clock;
	fake_now = 0;
	assert_int_equal(ratelimiter_open(&rl, &cfg), 0);
	assert_true(ratelimiter_admit(&rl, 100, 1));
	assert_false(ratelimiter_admit(&rl, 100, 1));
	upd.bandwidth = *tb_cfg(0, 0, 0);
	ratelimiter_update(&rl, &upd);
	assert_false(ratelimiter_blocked(&rl));
	/* Disarmed: the 100 s pause will not fire later. */
	assert_false(fd_readable(ratelimiter_fd(&rl), 20));
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimiter_admit(&rl, 1 << 20, 1));
	ratelimiter_close(&rl);
}

static void test_limiter_without_limits_never_blocks(void **state)
{
	struct ratelimiter rl;

	(void)state;
	ratelimiter_init(&rl);
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimiter_admit(&rl, UINT64_MAX, UINT64_MAX));
	assert_int_equal(rl.throttled, 0);
	ratelimiter_close(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tbucket_starts_full_and_refills_at_its_rate),
	    cmocka_unit_test(test_tbucket_refill_keeps_fractions),
	    cmocka_unit_test(test_tbucket_one_time_burst_is_spent_first_and_not_refilled),
	    cmocka_unit_test(test_tbucket_oversize_passes_when_full_then_is_paid_back),
	    cmocka_unit_test(test_tbucket_wait_is_exact),
	    cmocka_unit_test(test_tbucket_zero_size_or_refill_is_unlimited),
	    cmocka_unit_test(test_tbucket_hostile_values_do_not_overflow),
	    cmocka_unit_test(test_buckets_take_both_or_neither),
	    cmocka_unit_test(test_buckets_update_replaces_only_what_is_set),
	    cmocka_unit_test(test_limiter_pauses_on_a_timer_and_resumes),
	    cmocka_unit_test(test_limiter_update_lifts_a_pause),
	    cmocka_unit_test(test_limiter_without_limits_never_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
