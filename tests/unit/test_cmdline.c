/* SPDX-License-Identifier: MIT */
/* Kernel command line: length limits, the guest copy and bounded appends. */
#include "unit.h"
#include "vmm/boot/boot.h"

static void test_cmdline_write_copies_with_nul(void **state)
{
	struct unit_gm *u = *state;

	memset(unit_gpa(u, CMDLINE_GPA), 0xff, 32);
	assert_int_equal(cmdline_write(&u->gm, "console=ttyS0", 100), BOOT_OK);
	assert_string_equal((const char *)unit_gpa(u, CMDLINE_GPA), "console=ttyS0");
}

static void test_cmdline_write_enforces_kernel_limit(void **state)
{
	struct unit_gm *u = *state;

	assert_int_equal(cmdline_write(&u->gm, "12345", 5), BOOT_OK);
	assert_int_equal(cmdline_write(&u->gm, "123456", 5), BOOT_ERR_CMDLINE_TOO_LONG);
	assert_int_equal(cmdline_write(&u->gm, "", 0), BOOT_OK);
}

static void test_cmdline_write_enforces_kiln_buffer(void **state)
{
	struct unit_gm *u = *state;
	static char line[CMDLINE_MAX_BYTES + 1];

	memset(line, 'a', CMDLINE_MAX_BYTES - 1);
	line[CMDLINE_MAX_BYTES - 1] = '\0';
	assert_int_equal(cmdline_write(&u->gm, line, UINT32_MAX), BOOT_OK);
	line[CMDLINE_MAX_BYTES - 1] = 'a';
	line[CMDLINE_MAX_BYTES] = '\0';
	assert_int_equal(cmdline_write(&u->gm, line, UINT32_MAX), BOOT_ERR_CMDLINE_TOO_LONG);
}

static void test_cmdline_write_fails_without_guest_ram(void **state)
{
	struct unit_gm *tiny = unit_gm_new(KiB(64)); /* ends below CMDLINE_GPA */

	(void)state;
	assert_int_equal(cmdline_write(&tiny->gm, "x", 10), BOOT_ERR_NO_MEMORY);
	unit_gm_free(tiny);
}

static void test_cmdline_append_adds_separator(void **state)
{
	char buf[32] = "";

	(void)state;
	assert_int_equal(cmdline_append(buf, sizeof(buf), "a=1"), 0);
	assert_string_equal(buf, "a=1");
	assert_int_equal(cmdline_append(buf, sizeof(buf), "b=2"), 0);
	assert_string_equal(buf, "a=1 b=2");
	assert_int_equal(cmdline_append(buf, sizeof(buf), ""), 0);
	assert_string_equal(buf, "a=1 b=2");
}

static void test_cmdline_append_refuses_overflow(void **state)
{
	char buf[8] = "abc";

	(void)state;
	assert_int_equal(cmdline_append(buf, sizeof(buf), "def"), 0); /* "abc def" + NUL = 8 */
	assert_int_equal(cmdline_append(buf, sizeof(buf), "g"), -ENOSPC);
	assert_string_equal(buf, "abc def");
}

static void test_cmdline_append_refuses_unterminated_buffer(void **state)
{
	char buf[4] = {'a', 'b', 'c', 'd'};

	(void)state;
	assert_int_equal(cmdline_append(buf, sizeof(buf), "x"), -EINVAL);
	assert_int_equal(cmdline_append(buf, 0, "x"), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_cmdline_write_copies_with_nul),
	    T(test_cmdline_write_enforces_kernel_limit),
	    T(test_cmdline_write_enforces_kiln_buffer),
	    cmocka_unit_test(test_cmdline_write_fails_without_guest_ram),
	    cmocka_unit_test(test_cmdline_append_adds_separator),
	    cmocka_unit_test(test_cmdline_append_refuses_overflow),
	    cmocka_unit_test(test_cmdline_append_refuses_unterminated_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
