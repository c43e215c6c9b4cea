/* SPDX-License-Identifier: MIT */
/*
 * Freestanding helpers: the mem* functions GCC may call on its own, string
 * comparison, and a bounded string builder for result lines.
 */
#ifndef TG_LIB_H
#define TG_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* True if the n bytes at s equal the NUL-terminated lit exactly. */
bool tg_span_eq(const char *s, size_t n, const char *lit);

/* Parse a whole span as decimal; false on empty, junk or overflow. */
bool tg_parse_u64(const char *s, size_t n, uint64_t *out);

/* A line fragment that silently truncates; buf is always NUL-terminated. */
#define TG_STR_BYTES 160
struct tg_str {
	char buf[TG_STR_BYTES];
	size_t len;
};

void tg_str_add(struct tg_str *s, const char *t);
void tg_str_add_span(struct tg_str *s, const char *t, size_t n);
void tg_str_add_dec(struct tg_str *s, uint64_t v);
void tg_str_add_hex(struct tg_str *s, uint64_t v); /* with 0x prefix */

#endif
