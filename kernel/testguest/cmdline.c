/* SPDX-License-Identifier: MIT */
/*
 * Command-line lookups. A key matches only at the start of a token, so
 * "ktest=" never matches inside "xktest=" or "ktest.cpus=".
 */
#include "cmdline.h"

#include "lib.h"

static bool cmdline_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

bool cmdline_get(const char *cmdline, const char *key, const char **val, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		const char *tok;
		size_t n = 0;

		while (cmdline_is_space(*p))
			p++;
		tok = p;
		while (tok[n] && !cmdline_is_space(tok[n]))
			n++;
		if (n >= klen && memcmp(tok, key, klen) == 0) {
			*val = tok + klen;
			*len = n - klen;
			return true;
		}
		p = tok + n;
	}
	return false;
}

enum cmdline_num cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out)
{
	const char *v;
	size_t n;

	if (!cmdline_get(cmdline, key, &v, &n))
		return CMDLINE_NUM_ABSENT;
	return tg_parse_u64(v, n, out) ? CMDLINE_NUM_OK : CMDLINE_NUM_BAD;
}
