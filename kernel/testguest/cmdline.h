/* SPDX-License-Identifier: MIT */
/*
 * Command-line lookups: space-separated tokens, "key=value", first match wins.
 */
#ifndef TG_CMDLINE_H
#define TG_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cmdline_num {
	CMDLINE_NUM_OK,
	CMDLINE_NUM_ABSENT,
	CMDLINE_NUM_BAD, /* present but not a decimal number */
};

/* @key includes the '=' ("ktest="); on success *val spans the value. */
bool cmdline_get(const char *cmdline, const char *key, const char **val, size_t *len);
enum cmdline_num cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out);

#endif
