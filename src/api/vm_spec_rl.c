/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's RateLimiter object in both directions: {"bandwidth": bucket,
 * "ops": bucket}, each bucket {"size", "one_time_burst", "refill_time"}, all
 * non-negative integers. Used by drives and entropy (and network interfaces).
 */
#include "api/vm_spec.h"
#include "api/vm_spec_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct spec_field spec_rl_fields[] = {
    {"bandwidth", SF_ANY, false},
    {"ops", SF_ANY, false},
};

static const struct spec_field spec_tb_fields[] = {
    {"size", SF_UINT, true},
    {"one_time_burst", SF_UINT, false},
    {"refill_time", SF_UINT, true},
};

static uint64_t spec_rl_uint(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	/* spec_check_object proved it absent, null or a non-negative integer. */
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int spec_parse_bucket(const json_t *rl, const char *key, const char *what,
			     struct tb_config *out, char *err, size_t len)
{
	json_t *v = json_object_get(rl, key);
	char where[96];
	int ret;

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v))
		return 0;
	snprintf(where, sizeof(where), "%s '%s'", what, key);
	ret = spec_check_object(v, where, spec_tb_fields, 3, err, len);
	if (ret)
		return ret;
	out->set = true;
	out->size = spec_rl_uint(v, "size");
	out->one_time_burst = spec_rl_uint(v, "one_time_burst");
	out->refill_time_ms = spec_rl_uint(v, "refill_time");
	if (out->refill_time_ms > RL_MAX_REFILL_MS)
		return spec_fail(err, len, -EINVAL, "%s: refill_time must be at most %llu ms",
				 where, (unsigned long long)RL_MAX_REFILL_MS);
	return 0;
}

int spec_parse_rate_limiter(const json_t *v, const char *what, struct rl_config *out, char *err,
			    size_t len)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v))
		return 0;
	ret = spec_check_object(v, what, spec_rl_fields, 2, err, len);
	if (!ret)
		ret = spec_parse_bucket(v, "bandwidth", what, &out->bandwidth, err, len);
	if (!ret)
		ret = spec_parse_bucket(v, "ops", what, &out->ops, err, len);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

bool spec_rate_limiter_set(const struct rl_config *c)
{
	return c->bandwidth.set || c->ops.set;
}

static json_t *spec_bucket_to_json(const struct tb_config *tb)
{
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)tb->size, "one_time_burst",
			 (json_int_t)tb->one_time_burst, "refill_time",
			 (json_int_t)tb->refill_time_ms);
}

json_t *spec_rate_limiter_to_json(const struct rl_config *c)
{
	json_t *o = json_object();

	if (o && c->bandwidth.set)
		json_object_set_new(o, "bandwidth", spec_bucket_to_json(&c->bandwidth));
	if (o && c->ops.set)
		json_object_set_new(o, "ops", spec_bucket_to_json(&c->ops));
	return o;
}
