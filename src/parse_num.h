/* SPDX-License-Identifier: MIT */
/*
 * The one strict decimal parser for command-line values (--vcpus, --mem-mib,
 * --uid, --resource-limit, ...). Pure: no side effects beyond errno.
 */
#ifndef KILN_PARSE_NUM_H
#define KILN_PARSE_NUM_H

#include <stdint.h>

/* Decimal digits only: no sign, spaces, prefix or trailing text; 0 or -EINVAL. */
int parse_u64_strict(const char *s, uint64_t *out);

#endif
