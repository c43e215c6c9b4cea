/* SPDX-License-Identifier: MIT */
#include "ktest.h"
void ktest_hostile_all(const struct tg_boot *b)
{
	(void)b;
}
bool ktest_hostile_one(const struct tg_boot *b, const char *name, size_t len)
{
	(void)b;
	(void)name;
	(void)len;
	return false;
}
