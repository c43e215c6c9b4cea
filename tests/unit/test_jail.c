/* SPDX-License-Identifier: MIT */
/* The jail's pure validation: id charset, chroot base rules, --cgroup and --resource-limit. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "jail/jail.h"

static struct jail_opts jail_ok(void)
{
	struct jail_opts o;

	memset(&o, 0, sizeof(o));
	o.enabled = o.any_flag = true;
	o.id = "vm-1";
	o.uid = o.gid = 65534;
	o.uid_set = o.gid_set = true;
	return o;
}

static int parse_argv(char **argv, char *err)
{
	struct cli_opts o;
	int argc = 0;

	while (argv[argc])
		argc++;
	err[0] = 0;
	return cli_parse(argc, argv, &o, err, 256);
}

static void test_jail_id_charset(void **state)
{
	char long_id[JAIL_ID_MAX + 2];

	(void)state;
	assert_true(jail_id_valid("a"));
	assert_true(jail_id_valid("test-0123-ABC"));
	memset(long_id, 'x', sizeof(long_id));
	long_id[JAIL_ID_MAX] = 0;
	assert_true(jail_id_valid(long_id));
	long_id[JAIL_ID_MAX] = 'x';
	long_id[JAIL_ID_MAX + 1] = 0;
	assert_false(jail_id_valid(long_id));
	assert_false(jail_id_valid(""));
	assert_false(jail_id_valid(".."));
	assert_false(jail_id_valid("a/b"));
	assert_false(jail_id_valid("a_b"));
	assert_false(jail_id_valid("a b"));
	assert_false(jail_id_valid("a\nb"));
}

static void test_jail_validate_requires_id_uid_gid(void **state)
{
	struct jail_opts o = jail_ok();
	char err[256];

	(void)state;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), 0);
	o.id = NULL;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--id"));
	o = jail_ok();
	o.id = "../x";
	assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
	o = jail_ok();
	o.uid_set = false;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--uid"));
	o = jail_ok();
	o.new_pid_ns = true;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), 0);
	o = jail_ok();
	o.netns = "run/netns/x";
	assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
	o.enabled = false;
	o.netns = NULL;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "need --jail"));
	o.any_flag = false;
	assert_int_equal(jail_validate(&o, err, sizeof(err)), 0);
}

static void test_jail_chroot_base_rules(void **state)
{
	static const char *const bad[] = {
	    "srv/kiln", "/", "/srv/../etc", "/srv/./kiln", "/srv//kiln", "/srv/kiln/..", ""};
	static const char *const good[] = {"/srv/kiln", "/srv/kiln/", "/a", "/tmp/x.y/..z"};
	struct jail_opts o = jail_ok();
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.chroot_base = bad[i];
		assert_int_equal(jail_validate(&o, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "--chroot-base"));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		o.chroot_base = good[i];
		assert_int_equal(jail_validate(&o, err, sizeof(err)), 0);
	}
}

static void test_jail_cgroup_syntax(void **state)
{
	static const char *const bad[] = {"cpu.max",	     "=1",
					  "cpu=1",	     "cpu.max=",
					  ".max=1",	     "cpu.=1",
					  "cpu..max=1",	     "../cpu.max=1",
					  "cpu/max.x=1",     "CPU.max=1",
					  "cgroup.procs=0",  "cgroup.subtree_control=+cpu",
					  "cpu.max=1\n2",    "cgroup.kill=1",
					  "cgroup.threads=1"};
	struct jail_opts o = jail_ok();
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_parse_cgroup(&o, bad[i], err, sizeof(err)), -EINVAL);
	assert_int_equal(o.nr_cgroups, 0);
	assert_int_equal(jail_parse_cgroup(&o, "cpu.max=50000 100000", err, sizeof(err)), 0);
	assert_int_equal(jail_parse_cgroup(&o, "cgroup.max.descendants=0", err, sizeof(err)), 0);
	assert_int_equal(jail_parse_cgroup(&o, "memory.swap.max=0", err, sizeof(err)), 0);
	assert_string_equal(o.cgroups[0].file, "cpu.max");
	assert_string_equal(o.cgroups[0].value, "50000 100000");
	assert_int_equal(jail_parse_cgroup(&o, "cpu.max=max", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	while (o.nr_cgroups < JAIL_MAX_CGROUPS) {
		char kv[32];

		snprintf(kv, sizeof(kv), "x%u.y=1", o.nr_cgroups);
		assert_int_equal(jail_parse_cgroup(&o, kv, err, sizeof(err)), 0);
	}
	assert_int_equal(jail_parse_cgroup(&o, "pids.max=1", err, sizeof(err)), -EINVAL);
}

static void test_jail_resource_limit_syntax(void **state)
{
	static const char *const bad[] = {
	    "no-file", "no-file=", "no-file=0", "no-file=-1", "fsize=1k",
	    "fsize=0", "nofile=5", "fsize= 1",	"cpu=1",      "no-file=1073741825"};
	struct jail_opts o = jail_ok();
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jail_parse_rlimit(&o, bad[i], err, sizeof(err)), -EINVAL);
	assert_false(o.rlimit_nofile_set || o.rlimit_fsize_set);
	assert_int_equal(jail_parse_rlimit(&o, "no-file=1024", err, sizeof(err)), 0);
	assert_int_equal(jail_parse_rlimit(&o, "fsize=1", err, sizeof(err)), 0);
	assert_true(o.rlimit_nofile_set && o.rlimit_nofile == 1024);
	assert_true(o.rlimit_fsize_set && o.rlimit_fsize == 1);
}

static void test_jail_uid_gid_numbers(void **state)
{
	uint32_t v = 7;
	char err[256];

	(void)state;
	assert_int_equal(jail_parse_id_number("0", "--uid", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_parse_id_number("4294967295", "--uid", &v, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(jail_parse_id_number("-1", "--gid", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(jail_parse_id_number("nobody", "--gid", &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(v, 7);
	assert_int_equal(jail_parse_id_number("65534", "--uid", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 65534);
}

static void test_jail_cli_flags(void **state)
{
	char *ok[] = {"kiln",
		      "--jail",
		      "--id",
		      "vm-1",
		      "--uid",
		      "10",
		      "--gid",
		      "10",
		      "--chroot-base",
		      "/b",
		      "--cgroup",
		      "pids.max=8",
		      "--resource-limit",
		      "fsize=9",
		      "--api-sock",
		      "/s",
		      NULL};
	char *no_jail[] = {"kiln", "--uid", "10", "--kernel", "k", NULL};
	char *no_id[] = {"kiln", "--jail", "--uid", "1", "--gid", "1", "--kernel", "k", NULL};
	char *pidns[] = {"kiln",  "--jail", "--id",	    "a",	"--uid", "1",
			 "--gid", "1",	    "--new-pid-ns", "--kernel", "k",	 NULL};
	char *bad_id[] = {"kiln", "--jail", "--id", "a/b", "--kernel", "k", NULL};
	struct cli_opts o;
	char err[256];
	int argc = 0;

	(void)state;
	while (ok[argc])
		argc++;
	assert_int_equal(cli_parse(argc, ok, &o, err, sizeof(err)), 0);
	assert_true(o.jail.enabled);
	assert_string_equal(o.jail.id, "vm-1");
	assert_int_equal(o.jail.uid, 10);
	assert_string_equal(o.jail.chroot_base, "/b");
	assert_int_equal(o.jail.nr_cgroups, 1);
	assert_true(o.jail.rlimit_fsize_set);
	assert_int_equal(parse_argv(no_jail, err), -EINVAL);
	assert_non_null(strstr(err, "need --jail"));
	assert_int_equal(parse_argv(no_id, err), -EINVAL);
	assert_non_null(strstr(err, "--id"));
	argc = 0;
	while (pidns[argc])
		argc++;
	assert_int_equal(cli_parse(argc, pidns, &o, err, sizeof(err)), 0);
	assert_true(o.jail.new_pid_ns);
	assert_int_equal(o.jail.seccomp_level, 2); /* the parent's filter follows --seccomp-level */
	assert_int_equal(parse_argv(bad_id, err), -EINVAL);
	assert_non_null(strstr(err, "--id must match"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jail_id_charset),
	    cmocka_unit_test(test_jail_validate_requires_id_uid_gid),
	    cmocka_unit_test(test_jail_chroot_base_rules),
	    cmocka_unit_test(test_jail_cgroup_syntax),
	    cmocka_unit_test(test_jail_resource_limit_syntax),
	    cmocka_unit_test(test_jail_uid_gid_numbers),
	    cmocka_unit_test(test_jail_cli_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
