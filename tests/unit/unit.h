/* SPDX-License-Identifier: MIT */
/*
 * Shared by the cmocka unit tests: cmocka's required includes and a guest
 * memory fixture backed by a calloc'd buffer (the test owns and frees it).
 */
#ifndef KILN_UNIT_H
#define KILN_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define UNIT_GM_DEFAULT_BYTES MiB(64)

struct unit_gm {
	struct guest_mem gm;
	uint8_t *buf; /* owned by the fixture: unit_gm_free() */
	uint64_t size;
};

/* calloc: pages stay untouched (and cheap) until a test writes them. */
static inline struct unit_gm *unit_gm_new(uint64_t size)
{
	struct unit_gm *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	u->buf = calloc(1, size);
	assert_non_null(u->buf);
	u->size = size;
	assert_int_equal(gm_init_from_buffer(&u->gm, u->buf, size), 0);
	return u;
}

static inline void unit_gm_free(struct unit_gm *u)
{
	if (!u)
		return;
	free(u->buf);
	free(u);
}

/* Pointer into the fixture for a GPA the test knows is in RAM. */
static inline uint8_t *unit_gpa(struct unit_gm *u, uint64_t gpa)
{
	assert_true(gpa < u->size);
	return u->buf + gpa;
}

static inline uint16_t unit_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t unit_ld32(const uint8_t *p)
{
	return (uint32_t)unit_ld16(p) | (uint32_t)unit_ld16(p + 2) << 16;
}

static inline uint64_t unit_ld64(const uint8_t *p)
{
	return (uint64_t)unit_ld32(p) | (uint64_t)unit_ld32(p + 4) << 32;
}

static inline void unit_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void unit_st32(uint8_t *p, uint32_t v)
{
	unit_st16(p, (uint16_t)v);
	unit_st16(p + 2, (uint16_t)(v >> 16));
}

static inline void unit_st64(uint8_t *p, uint64_t v)
{
	unit_st32(p, (uint32_t)v);
	unit_st32(p + 4, (uint32_t)(v >> 32));
}

/* Group setup/teardown that hands each test a fresh 64 MiB guest. */
static inline int unit_gm_setup(void **state)
{
	*state = unit_gm_new(UNIT_GM_DEFAULT_BYTES);
	return 0;
}

static inline int unit_gm_teardown(void **state)
{
	unit_gm_free(*state);
	return 0;
}

#endif
