/* SPDX-License-Identifier: MIT */
/*
 * ktest cmdline: the command line arrived whole. A harness proves a specific
 * string survived by adding ktest.cmdline_magic=kiln-42.
 */
#include "cmdline.h"
#include "console.h"
#include "ktest.h"

#define CMDLINE_MAGIC "kiln-42"

void ktest_cmdline(const struct tg_boot *b, struct ktest_verdict *v)
{
	const char *val;
	size_t len;

	ktest_info("cmdline");
	con_write_printable(b->cmdline, strlen(b->cmdline));
	con_puts("\n");

	if (!b->cmdline_terminated)
		ktest_fail(v, "not NUL-terminated within 4096 bytes");
	if (!cmdline_get(b->cmdline, "ktest=", &val, &len))
		ktest_fail(v, "no ktest= token");
	if (cmdline_get(b->cmdline, "ktest.cmdline_magic=", &val, &len) &&
	    !tg_span_eq(val, len, CMDLINE_MAGIC))
		ktest_fail(v, "cmdline_magic mismatch");
}
