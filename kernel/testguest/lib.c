/* SPDX-License-Identifier: MIT */
/*
 * Freestanding helpers. Built with -fno-tree-loop-distribute-patterns so the
 * loops below are not turned back into calls to themselves.
 */
#include "lib.h"

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool tg_span_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

bool tg_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

void tg_str_add_span(struct tg_str *s, const char *t, size_t n)
{
	while (n-- && s->len + 1 < TG_STR_BYTES)
		s->buf[s->len++] = *t++;
	s->buf[s->len] = '\0';
}

void tg_str_add(struct tg_str *s, const char *t)
{
	tg_str_add_span(s, t, strlen(t));
}

void tg_str_add_dec(struct tg_str *s, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	tg_str_add_span(s, tmp + i, sizeof(tmp) - i);
}

void tg_str_add_hex(struct tg_str *s, uint64_t v)
{
	char tmp[18];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	tg_str_add_span(s, tmp + i, sizeof(tmp) - i);
}
