/* SPDX-License-Identifier: MIT */
#include "parse_num.h"

#include <errno.h>
#include <stdlib.h>

int parse_u64_strict(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull would accept leading spaces and a sign: refuse them first. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}
