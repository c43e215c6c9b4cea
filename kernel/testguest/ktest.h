/* SPDX-License-Identifier: MIT */
/*
 * The test protocol: each test fills a verdict, the runner prints
 * "KTEST <name> PASS" or "KTEST <name> FAIL <reason>". Also the state shared
 * with the CPL0 stubs in entry.S.
 */
#ifndef TG_KTEST_H
#define TG_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "bootinfo.h"
#include "lib.h"

struct ktest_verdict {
	bool failed;
	struct tg_str reason;
};

/* Mark failed and start (or extend, after "; ") the reason; append more to the result. */
struct tg_str *ktest_fail(struct ktest_verdict *v, const char *why);

/*
 * Read expectation @key ("ktest.cpus="). Fails the verdict and returns false
 * if it is absent ("no expectation given") or malformed.
 */
bool ktest_expect(const struct tg_boot *b, const char *key, uint64_t *out, struct ktest_verdict *v);

/* Start a "KTEST-INFO <test> " line; the caller ends it with "\n". */
void ktest_info(const char *test);

void ktest_serial(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_memsize(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cpus(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cmdline(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cpuid(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_boottimer(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_irq(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_panic(const struct tg_boot *b, struct ktest_verdict *v);

/* Shared with entry.S: interrupt counts per vector and the last exception. */
extern volatile uint32_t tg_irq_count[256];
extern volatile uint64_t tg_panic_vector, tg_panic_err, tg_panic_rip;

#endif
