/* SPDX-License-Identifier: MIT */
/*
 * Kernel command line: bounded append while the VMM composes it, and the
 * copy to CMDLINE_GPA checked against both kiln's buffer and the kernel's
 * own limit (boot.rst cmdline_size).
 */
#include <errno.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

enum boot_err cmdline_write(const struct guest_mem *gm, const char *cmdline, uint32_t max_len)
{
	size_t len;

	if (!cmdline)
		cmdline = "";
	/* strnlen: a missing NUL must not walk past the slot we can use. */
	len = strnlen(cmdline, CMDLINE_MAX_BYTES);
	if (len > max_len || len > CMDLINE_MAX_BYTES - 1)
		return BOOT_ERR_CMDLINE_TOO_LONG;
	if (gm_write(gm, CMDLINE_GPA, cmdline, len + 1))
		return BOOT_ERR_NO_MEMORY;
	return BOOT_OK;
}

int cmdline_append(char *buf, size_t cap, const char *extra)
{
	size_t cur, add, need;

	if (!buf || !extra || cap == 0)
		return -EINVAL;
	cur = strnlen(buf, cap);
	if (cur == cap)
		return -EINVAL; /* not NUL-terminated within its buffer */
	add = strlen(extra);
	if (add == 0)
		return 0;
	/* cur + separator + extra + NUL */
	if (__builtin_add_overflow(cur, add, &need) ||
	    __builtin_add_overflow(need, (size_t)(cur ? 2 : 1), &need) || need > cap)
		return -ENOSPC;
	if (cur)
		buf[cur++] = ' ';
	memcpy(buf + cur, extra, add + 1);
	return 0;
}
