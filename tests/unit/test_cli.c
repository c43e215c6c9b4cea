/* SPDX-License-Identifier: MIT */
/* CLI parsing: every bad argument is refused with a reason, defaults hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/vm_spec.h"
#include "cli.h"
#include "vmm/log.h"

static int parse(struct cli_opts *o, char *err, const char *a1, const char *a2, const char *a3,
		 const char *a4)
{
	char *argv[6] = {"kiln", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
	int argc = 1;

	while (argc < 5 && argv[argc])
		argc++;
	err[0] = 0;
	return cli_parse(argc, argv, o, err, 256);
}

static void test_cli_defaults(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k.elf", NULL, NULL), 0);
	assert_int_equal(o.action, CLI_RUN);
	assert_string_equal(o.kernel, "k.elf");
	assert_int_equal(o.vcpus, 1);
	assert_int_equal(o.mem_mib, 128);
	assert_int_equal(o.log_level, LOG_WARN);
	assert_non_null(strstr(o.boot_args, "console=ttyS0"));
}

static void test_cli_requires_kernel(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_not_equal(parse(&o, err, "--vcpus", "2", NULL, NULL), 0);
	assert_non_null(strstr(err, "--kernel"));
}

static void test_cli_rejects_bad_vcpus(void **state)
{
	static const char *const bad[] = {
	    "0", "33", "abc", "-1", "", "2x", " 2", "+2", "99999999999999999999999"};
	struct cli_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--vcpus", bad[i]), 0);
		assert_non_null(strstr(err, "--vcpus"));
	}
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vcpus", "32"), 0);
	assert_int_equal(o.vcpus, 32);
}

static void test_cli_rejects_bad_mem(void **state)
{
	static const char *const bad[] = {"0", "1", "15", "abc", "-128", "1048577"};
	struct cli_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--mem-mib", bad[i]), 0);
		assert_non_null(strstr(err, "--mem-mib"));
	}
	assert_int_equal(parse(&o, err, "--kernel", "k", "--mem-mib", "4096"), 0);
	assert_int_equal(o.mem_mib, 4096);
}

static void test_cli_huge_pages(void **state)
{
	static const char *const bad[] = {"", "none", "2m", "Transparent2", "1G"};
	struct cli_opts o;
	struct vm_spec s;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", NULL, NULL), 0);
	assert_int_equal(o.backing, GM_BACKING_PAGES);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--huge-pages", "Transparent"), 0);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.machine.backing, GM_BACKING_TRANSPARENT);
	spec_free(&s);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--huge-pages", "2M"), 0);
	assert_int_equal(o.backing, GM_BACKING_HUGETLB_2M);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--huge-pages", "None"), 0);
	assert_int_equal(o.backing, GM_BACKING_PAGES);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--huge-pages", bad[i]), 0);
		assert_non_null(strstr(err, "--huge-pages"));
	}
	assert_int_not_equal(parse(&o, err, "--huge-pages", "2M", "--mem-mib", "129"), 0);
	assert_non_null(strstr(err, "even --mem-mib"));
}

static void test_cli_rejects_unknown_option_and_stray_argument(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_not_equal(parse(&o, err, "--kernel", "k", "--bogus", NULL), 0);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_not_equal(parse(&o, err, "--kernel", "k", "stray", NULL), 0);
	assert_non_null(strstr(err, "stray"));
	assert_int_not_equal(parse(&o, err, "--kernel", NULL, NULL, NULL), 0);
}

static void test_cli_rejects_overlong_boot_args(void **state)
{
	static char args[5000];
	struct cli_opts o;
	char err[256];

	(void)state;
	memset(args, 'a', sizeof(args) - 1);
	assert_int_not_equal(parse(&o, err, "--kernel", "k", "--boot-args", args), 0);
	assert_non_null(strstr(err, "--boot-args"));
	args[4095] = 0;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--boot-args", args), 0);
}

static void test_cli_log_level_and_actions(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--log-level", "Debug"), 0);
	assert_int_equal(o.log_level, LOG_DEBUG);
	assert_int_not_equal(parse(&o, err, "--kernel", "k", "--log-level", "loud"), 0);
	assert_int_equal(parse(&o, err, "--version", NULL, NULL, NULL), 0);
	assert_int_equal(o.action, CLI_VERSION);
	assert_int_equal(parse(&o, err, "--help", NULL, NULL, NULL), 0);
	assert_int_equal(o.action, CLI_HELP);
}

static void test_cli_drive_options_parsed(void **state)
{
	char *argv_rng[] = {"kiln",  "--kernel=k", "--drive", "/b,cache=unsafe,direct",
			    "--rng", NULL};
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--drive", "/tmp/a.img,id=root_1,ro,root"),
			 0);
	assert_int_equal(o.nr_drives, 1);
	assert_string_equal(o.drives[0].path, "/tmp/a.img");
	assert_string_equal(o.drives[0].id, "root_1");
	assert_true(o.drives[0].read_only);
	assert_true(o.drives[0].is_root);
	assert_false(o.drives[0].cache_unsafe);
	assert_int_equal(cli_parse(5, argv_rng, &o, err, sizeof(err)), 0);
	assert_true(o.drives[0].cache_unsafe);
	assert_true(o.drives[0].direct);
	assert_string_equal(o.drives[0].id, "drive0");
	assert_true(o.rng);
}

static void test_cli_rejects_bad_drives(void **state)
{
	static const char *const bad[] = {
	    "", ",ro", "/a,bogus", "/a,id=", "/a,id=bad-id!", "/a,cache=none", "/a,id=x/y"};
	struct cli_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--drive", bad[i]), 0);
		assert_non_null(strstr(err, "--drive"));
	}
}

static void test_cli_net_options(void **state)
{
	static const char *const bad[] = {"",
					  ",mac=02:00:00:00:00:01",
					  "0123456789abcdef",
					  "a/b",
					  "t0,mac=01:00:00:00:00:01",
					  "t0,mac=zz",
					  "t0,mtu=67",
					  "t0,mtu=65536",
					  "t0,bogus"};
	char *argv_dup[] = {"kiln", "--kernel", "k", "--net", "t0", "--net", "t0", NULL};
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(
	    parse(&o, err, "--kernel", "k", "--net", "tap0,mac=02:aa:bb:cc:dd:ee,mtu=9000"), 0);
	assert_int_equal(o.nr_nets, 1);
	assert_string_equal(o.nets[0].tap, "tap0");
	assert_string_equal(o.nets[0].id, "net0");
	assert_int_equal(o.nets[0].mtu, 9000);
	assert_int_equal(o.nets[0].mac[5], 0xee);
	assert_int_equal(o.taps.nr_taps, 1);
	assert_int_equal(o.taps.taps[0].fd, -1);
	assert_ptr_equal(o.jail.taps, &o.taps);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--net", bad[i]), 0);
		assert_non_null(strstr(err, "--net"));
	}
	assert_int_not_equal(cli_parse(7, argv_dup, &o, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "twice"));
}

static void test_cli_rejects_duplicate_ids_and_two_roots(void **state)
{
	char *argv_dup[] = {"kiln",    "--kernel", "k",	      "--drive",
			    "/a,id=x", "--drive",  "/b,id=x", NULL};
	char *argv_root[] = {"kiln",	"--kernel", "k",       "--drive",
			     "/a,root", "--drive",  "/b,root", NULL};
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_not_equal(cli_parse(7, argv_dup, &o, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "twice"));
	assert_int_not_equal(cli_parse(7, argv_root, &o, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "root"));
}

static void test_cli_api_modes(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--api-sock", "/tmp/s", NULL, NULL), 0);
	assert_string_equal(o.api_sock, "/tmp/s");
	assert_null(o.kernel);
	assert_int_equal(parse(&o, err, "--config-file", "/c.json", "--no-api", NULL), 0);
	assert_string_equal(o.config_file, "/c.json");
	assert_true(o.no_api);
	assert_int_equal(parse(&o, err, "--api-sock", "/s", "--kernel", "k"), 0);
	assert_int_not_equal(parse(&o, err, "--api-sock", "/s", "--no-api", NULL), 0);
	assert_non_null(strstr(err, "--no-api"));
	assert_int_not_equal(parse(&o, err, "--config-file", "/c", "--kernel", "k"), 0);
	assert_non_null(strstr(err, "--config-file"));
	assert_int_not_equal(parse(&o, err, "--api-sock", "/s", "--vcpus", "2"), 0);
	assert_non_null(strstr(err, "--kernel"));
	assert_int_not_equal(parse(&o, err, "--no-api", NULL, NULL, NULL), 0);
}

static void test_cli_id_and_payload_size(void **state)
{
	static const char *const bad_ids[] = {
	    "", "a_b", "a b", "a/b",
	    "x1234567890123456789012345678901234567890123456789012345678901234"};
	static const char *const bad_sizes[] = {"0", "-1", "abc", "99999999999"};
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--id", "vm-1"), 0);
	assert_string_equal(o.id, "vm-1");
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--id", bad_ids[i]), 0);
		assert_non_null(strstr(err, "--id"));
	}
	assert_int_equal(parse(&o, err, "--api-sock", "/s", "--http-api-max-payload-size", "1024"),
			 0);
	assert_int_equal(o.max_payload, 1024);
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		assert_int_not_equal(
		    parse(&o, err, "--api-sock", "/s", "--http-api-max-payload-size", bad_sizes[i]),
		    0);
		assert_non_null(strstr(err, "--http-api-max-payload-size"));
	}
}

/* The CLI flags are a thin way to fill the same spec the API and --config-file fill. */
static void test_cli_vsock(void **state)
{
	static const char *const bad[] = {
	    "",
	    "3",
	    ",/p",
	    "2,/p",
	    "x,/p",
	    "4294967295,/p",
	    "3,",
	    "12345678901234567,/p",
	    "3,"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	struct cli_opts o;
	struct vm_spec s;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vsock", "3,/run/v.sock"), 0);
	assert_int_equal(o.vsock_cid, 3);
	assert_string_equal(o.vsock_path, "/run/v.sock");
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.vsock.guest_cid, 3);
	assert_string_equal(s.vsock.uds_path, "/run/v.sock");
	spec_free(&s);
	/* A comma in the path belongs to the path. */
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vsock", "4294967294,/a,b"), 0);
	assert_string_equal(o.vsock_path, "/a,b");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&o, err, "--kernel", "k", "--vsock", bad[i]), 0);
		assert_non_null(strstr(err, "--vsock"));
	}
	assert_int_not_equal(parse(&o, err, "--vsock", "3,/a", "--vsock", "4,/b"), 0);
	assert_non_null(strstr(err, "twice"));
	assert_int_not_equal(parse(&o, err, "--api-sock", "/s", "--vsock", "3,/a"), 0);
	assert_non_null(strstr(err, "without --kernel"));
}

static void test_cli_builds_the_same_spec(void **state)
{
	char *argv[] = {
	    "kiln",    "--kernel",	  "/k",	   "--vcpus",  "2",  "--mem-mib",    "64",
	    "--drive", "/a,id=r,ro,root", "--rng", "--initrd", "/i", "--serial-out", "/s",
	    NULL};
	struct cli_opts o;
	struct vm_spec s;
	char err[256];

	(void)state;
	assert_int_equal(cli_parse(14, argv, &o, err, sizeof(err)), 0);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_string_equal(s.boot.kernel_image_path, "/k");
	assert_string_equal(s.boot.initrd_path, "/i");
	assert_non_null(strstr(s.boot.boot_args, "console=ttyS0"));
	assert_int_equal(s.machine.vcpu_count, 2);
	assert_int_equal(s.machine.mem_size_mib, 64);
	assert_int_equal(s.nr_drives, 1);
	assert_string_equal(s.drives[0].id, "r");
	assert_true(s.drives[0].is_read_only);
	assert_true(s.drives[0].is_root_device);
	assert_false(s.drives[0].cache_unsafe);
	assert_true(s.entropy);
	assert_string_equal(s.serial_out_path, "/s");
	spec_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_defaults),
	    cmocka_unit_test(test_cli_vsock),
	    cmocka_unit_test(test_cli_requires_kernel),
	    cmocka_unit_test(test_cli_rejects_bad_vcpus),
	    cmocka_unit_test(test_cli_rejects_bad_mem),
	    cmocka_unit_test(test_cli_huge_pages),
	    cmocka_unit_test(test_cli_rejects_unknown_option_and_stray_argument),
	    cmocka_unit_test(test_cli_rejects_overlong_boot_args),
	    cmocka_unit_test(test_cli_log_level_and_actions),
	    cmocka_unit_test(test_cli_drive_options_parsed),
	    cmocka_unit_test(test_cli_rejects_bad_drives),
	    cmocka_unit_test(test_cli_net_options),
	    cmocka_unit_test(test_cli_rejects_duplicate_ids_and_two_roots),
	    cmocka_unit_test(test_cli_api_modes),
	    cmocka_unit_test(test_cli_id_and_payload_size),
	    cmocka_unit_test(test_cli_builds_the_same_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
