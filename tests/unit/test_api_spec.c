/* SPDX-License-Identifier: MIT */
/* vm_spec: every field's presence, type and range rule, and the document round trip. */
#include "unit.h"

#include "api/vm_spec.h"

static char err[SPEC_ERR_BYTES];

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(j);
	return j;
}

static void check_err(const char *needle)
{
	if (needle && !strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
}

/* Run @fn-style parser on @text and expect @want; the message must contain @needle. */
#define EXPECT(call, text, want, needle)                                                           \
	do {                                                                                       \
		json_t *b_ = js(text);                                                             \
		err[0] = 0;                                                                        \
		assert_int_equal((call), (want));                                                  \
		check_err(needle);                                                                 \
		json_decref(b_);                                                                   \
	} while (0)

static void test_spec_defaults_are_firecrackers(void **state)
{
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	assert_int_equal(s.machine.vcpu_count, 1);
	assert_int_equal(s.machine.mem_size_mib, 128);
	assert_null(s.boot.kernel_image_path);
	assert_int_equal(s.nr_drives, 0);
	spec_free(&s);
}

static void test_spec_boot_source_rules(void **state)
{
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)),
	       "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}", 0, NULL);
	assert_string_equal(s.boot.kernel_image_path, "/k");
	assert_string_equal(s.boot.boot_args, "console=ttyS0");
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)), "{\"boot_args\": \"x\"}", -EINVAL,
	       "missing required field 'kernel_image_path'");
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)), "{\"kernel_image_path\": 5}",
	       -EINVAL, "must be a string");
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)),
	       "{\"kernel_image_path\": \"/k\", \"kernel\": \"/k\"}", -EINVAL,
	       "unknown field 'kernel'");
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)), "{\"kernel_image_path\": \"\"}",
	       -EINVAL, "1 to");
	EXPECT(spec_put_boot_source(&s, b_, err, sizeof(err)), "[1]", -EINVAL, "JSON object");
	{
		/* A path with an embedded NUL (jansson loads it only with JSON_ALLOW_NUL). */
		json_t *b = json_pack("{s:s%}", "kernel_image_path", "/a\0b", (size_t)4);

		assert_int_equal(spec_put_boot_source(&s, b, err, sizeof(err)), -EINVAL);
		check_err("NUL");
		json_decref(b);
	}
	/* Refusals left the first configuration in place. */
	assert_string_equal(s.boot.kernel_image_path, "/k");
	spec_free(&s);
}

static void test_spec_machine_ranges(void **state)
{
	static const char *const bad[] = {
	    "{\"vcpu_count\": 0, \"mem_size_mib\": 128}",
	    "{\"vcpu_count\": 33, \"mem_size_mib\": 128}",
	    "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
	    "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
	    "{\"vcpu_count\": 1.5, \"mem_size_mib\": 128}",
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 15}",
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 99999999999}",
	    "{\"vcpu_count\": 1}",
	    "{\"mem_size_mib\": 128}",
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1}",
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}",
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpus\": 1}",
	};
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)), bad[i], -EINVAL, NULL);
	assert_int_equal(s.machine.vcpu_count, 1);
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true}", -ENOTSUP, "smt");
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}", -EINVAL,
	       "multiple of 2");
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}", -ENOTSUP,
	       "cpu_template");
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 32, \"mem_size_mib\": 256, \"track_dirty_pages\": true, "
	       "\"huge_pages\": \"None\", \"smt\": false}",
	       0, NULL);
	assert_int_equal(s.machine.vcpu_count, 32);
	assert_true(s.machine.track_dirty_pages);
	/* PATCH keeps what it does not name; PUT resets the optional fields. */
	EXPECT(spec_put_machine(&s, b_, true, err, sizeof(err)), "{\"vcpu_count\": 2}", 0, NULL);
	assert_int_equal(s.machine.vcpu_count, 2);
	assert_int_equal(s.machine.mem_size_mib, 256);
	assert_true(s.machine.track_dirty_pages);
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", 0, NULL);
	assert_false(s.machine.track_dirty_pages);
	spec_free(&s);
}

static void test_spec_machine_huge_pages(void **state)
{
	struct vm_spec s;
	json_t *j;

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}", 0, NULL);
	assert_int_equal(s.machine.backing, GM_BACKING_HUGETLB_2M);
	j = spec_machine_to_json(&s.machine);
	assert_string_equal(json_string_value(json_object_get(j, "huge_pages")), "2M");
	json_decref(j);
	EXPECT(spec_put_machine(&s, b_, true, err, sizeof(err)), "{\"vcpu_count\": 2}", 0, NULL);
	assert_int_equal(s.machine.backing, GM_BACKING_HUGETLB_2M);
	EXPECT(spec_put_machine(&s, b_, true, err, sizeof(err)),
	       "{\"huge_pages\": \"Transparent\"}", 0, NULL);
	assert_int_equal(s.machine.backing, GM_BACKING_TRANSPARENT);
	EXPECT(spec_put_machine(&s, b_, false, err, sizeof(err)),
	       "{\"vcpu_count\": 1, \"mem_size_mib\": 129}", 0, NULL);
	assert_int_equal(s.machine.backing, GM_BACKING_PAGES);
	spec_free(&s);
}

static void test_spec_drive_rules(void **state)
{
	struct vm_spec s;
	char body[256];

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_drive(&s, "rootfs", b_, err, sizeof(err)),
	       "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.img\", \"is_root_device\": true, "
	       "\"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"Sync\"}",
	       0, NULL);
	assert_int_equal(s.nr_drives, 1);
	assert_false(s.drives[0].cache_unsafe);
	assert_true(s.drives[0].is_root_device);
	EXPECT(spec_put_drive(&s, "bad-id", b_, err, sizeof(err)),
	       "{\"drive_id\": \"bad-id\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
	       -EINVAL, "[A-Za-z0-9_]");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"b\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
	       -EINVAL, "differs");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\"}", -EINVAL, "is_root_device");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"is_root_device\": false}", -EINVAL, "path_on_host");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"partuuid\": \"abc\"}",
	       -ENOTSUP, "partuuid");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"rate_limiter\": {\"ops\": {\"size\": 1.5, \"refill_time\": 10}}}",
	       -EINVAL, "non-negative integer");
	assert_int_equal(s.nr_drives, 1);
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"cache_type\": \"None\"}",
	       -EINVAL, "cache_type");
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"io_engine\": \"Uring\"}",
	       -EINVAL, "io_engine");
	EXPECT(spec_put_drive(&s, "rootfs", b_, err, sizeof(err)),
	       "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.img\", \"is_root_device\": true, "
	       "\"io_engine\": \"Async\"}",
	       0, NULL);
	assert_int_equal(s.nr_drives, 1);
	assert_true(s.drives[0].io_async);
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true}", -EINVAL,
	       "root");
	/* Replacing a drive keeps its slot; the table holds at most SPEC_MAX_DRIVES. */
	EXPECT(
	    spec_put_drive(&s, "rootfs", b_, err, sizeof(err)),
	    "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r2.img\", \"is_root_device\": true}",
	    0, NULL);
	assert_int_equal(s.nr_drives, 1);
	assert_string_equal(s.drives[0].path_on_host, "/r2.img");
	assert_true(s.drives[0].cache_unsafe);
	assert_false(s.drives[0].io_async); /* io_engine defaults to "Sync" */
	for (int i = 1; i < SPEC_MAX_DRIVES; i++) {
		char id[16];

		snprintf(id, sizeof(id), "d%d", i);
		snprintf(
		    body, sizeof(body),
		    "{\"drive_id\": \"%s\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
		    id);
		EXPECT(spec_put_drive(&s, id, b_, err, sizeof(err)), body, 0, NULL);
	}
	EXPECT(spec_put_drive(&s, "one_more", b_, err, sizeof(err)),
	       "{\"drive_id\": \"one_more\", \"path_on_host\": \"/x\", \"is_root_device\": false}",
	       -EINVAL, "at most");
	spec_free(&s);
}

static void test_spec_drive_patch_rules(void **state)
{
	struct vm_spec s;
	struct rl_config rl;
	char *path;

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_drive(&s, "d", b_, err, sizeof(err)),
	       "{\"drive_id\": \"d\", \"path_on_host\": \"/x\", \"is_root_device\": false}", 0,
	       NULL);
	EXPECT(spec_parse_drive_patch(&s, "d", b_, &path, &rl, err, sizeof(err)),
	       "{\"drive_id\": \"d\", \"path_on_host\": \"/y\"}", 0, NULL);
	assert_string_equal(path, "/y");
	free(path);
	EXPECT(spec_parse_drive_patch(&s, "e", b_, &path, &rl, err, sizeof(err)),
	       "{\"drive_id\": \"e\", \"path_on_host\": \"/y\"}", -EINVAL, "no drive");
	EXPECT(spec_parse_drive_patch(&s, "d", b_, &path, &rl, err, sizeof(err)),
	       "{\"drive_id\": \"d\", \"is_read_only\": true}", -EINVAL, "unknown field");
	EXPECT(spec_parse_drive_patch(&s, "d", b_, &path, &rl, err, sizeof(err)),
	       "{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": {}}}", -EINVAL,
	       "missing required field 'size'");
	assert_null(path);
	EXPECT(spec_parse_drive_patch(&s, "d", b_, &path, &rl, err, sizeof(err)),
	       "{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": {\"size\": 10, "
	       "\"refill_time\": 100, \"one_time_burst\": 5}}}",
	       0, NULL);
	assert_null(path);
	assert_true(rl.bandwidth.set);
	assert_false(rl.ops.set);
	assert_int_equal(rl.bandwidth.size, 10);
	assert_int_equal(rl.bandwidth.refill_time_ms, 100);
	assert_int_equal(rl.bandwidth.one_time_burst, 5);
	spec_free(&s);
}

static void test_spec_network_interface_rules(void **state)
{
	struct vm_spec s;
	struct vm_config cfg;
	struct blk_config drives[SPEC_MAX_DRIVES];
	struct net_config nets[SPEC_MAX_NETS];
	struct rl_config rx, tx;
	json_t *doc;

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_net(&s, "eth0", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
	       "\"02:AB:cd:00:00:01\", \"mtu\": 9000, \"rx_rate_limiter\": {\"bandwidth\": "
	       "{\"size\": 125000, \"refill_time\": 100}}, \"tx_rate_limiter\": {\"ops\": "
	       "{\"size\": 1000, \"one_time_burst\": 100, \"refill_time\": 1000}}}",
	       0, NULL);
	assert_int_equal(s.nets[0].rx_rate_limiter.bandwidth.size, 125000);
	assert_false(s.nets[0].rx_rate_limiter.ops.set);
	assert_int_equal(s.nets[0].tx_rate_limiter.ops.one_time_burst, 100);
	assert_int_equal(s.nr_nets, 1);
	assert_int_equal(s.nets[0].mac[1], 0xab);
	assert_int_equal(s.nets[0].mtu, 9000);
	assert_int_equal(s.nets[0].tap_fd, -1);
	EXPECT(spec_put_net(&s, "eth0", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}", -EINVAL, "differs");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}", -EINVAL, "already used");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"0123456789abcdef\"}", -EINVAL,
	       "host_dev_name");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"mtu\": 65536}", -EINVAL,
	       "mtu");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"guest_mac\": \"02:00\"}",
	       -EINVAL, "guest_mac");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"tx_rate_limiter\": "
	       "{\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
	       -EINVAL, "non-negative integer");
	check_err("network interface tx_rate_limiter 'ops'");
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"rx_rate_limiter\": "
	       "{\"bandwidth\": {\"size\": 1}}}",
	       -EINVAL, "missing required field 'refill_time'");
	assert_int_equal(s.nr_nets, 1);
	EXPECT(spec_put_net(&s, "eth1", b_, err, sizeof(err)),
	       "{\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"bogus\": 1}", -EINVAL,
	       "unknown field");
	EXPECT(spec_parse_net_patch(&s, "eth0", b_, &rx, &tx, err, sizeof(err)),
	       "{\"iface_id\": \"eth0\"}", 0, NULL);
	assert_false(spec_rate_limiter_set(&rx) || spec_rate_limiter_set(&tx));
	EXPECT(spec_parse_net_patch(&s, "eth9", b_, &rx, &tx, err, sizeof(err)),
	       "{\"iface_id\": \"eth9\"}", -EINVAL, "no network interface");
	EXPECT(spec_parse_net_patch(&s, "eth0", b_, &rx, &tx, err, sizeof(err)),
	       "{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}", -EINVAL, "unknown field");
	EXPECT(spec_parse_net_patch(&s, "eth0", b_, &rx, &tx, err, sizeof(err)),
	       "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 10, "
	       "\"refill_time\": 100}}}",
	       0, NULL);
	assert_false(spec_rate_limiter_set(&rx));
	assert_true(tx.ops.set);
	assert_int_equal(tx.ops.size, 10);
	doc = spec_to_json(&s);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(doc, "network-interfaces"), 0), "guest_mac")),
	    "02:ab:cd:00:00:01");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(
		    json_object_get(json_array_get(json_object_get(doc, "network-interfaces"), 0),
				    "tx_rate_limiter"),
		    "ops"),
		"one_time_burst")),
	    100);
	json_decref(doc);
	s.boot.kernel_image_path = strdup("/k");
	assert_int_equal(spec_to_vm_config(&s, &cfg, drives, err, sizeof(err)), 0);
	spec_to_net_configs(&s, &cfg, nets);
	assert_int_equal(cfg.nr_nets, 1);
	assert_string_equal(cfg.nets[0].host_dev_name, "tap0");
	assert_true(cfg.nets[0].has_mac);
	assert_int_equal(cfg.nets[0].tap_fd, -1);
	assert_int_equal(cfg.nets[0].rx_rate_limiter.bandwidth.refill_time_ms, 100);
	assert_int_equal(cfg.nets[0].tx_rate_limiter.ops.size, 1000);
	spec_free(&s);
}

static void test_spec_logger_metrics_entropy_serial(void **state)
{
	struct spec_logger l;
	struct spec_metrics m;
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	EXPECT(spec_parse_logger(b_, &l, err, sizeof(err)),
	       "{\"log_path\": \"/l\", \"level\": \"warning\", \"show_level\": true}", 0, NULL);
	assert_int_equal(l.level, SPEC_LOG_WARNING);
	assert_true(l.show_level);
	assert_false(l.show_log_origin);
	spec_logger_free(&l);
	EXPECT(spec_parse_logger(b_, &l, err, sizeof(err)), "{\"level\": \"Loud\"}", -EINVAL,
	       "level");
	spec_logger_free(&l);
	EXPECT(spec_parse_logger(b_, &l, err, sizeof(err)), "{\"show_level\": \"yes\"}", -EINVAL,
	       "boolean");
	spec_logger_free(&l);
	EXPECT(spec_parse_metrics(b_, &m, err, sizeof(err)),
	       "{\"metrics_path\": \"/m\", \"emit_id\": true, \"properties\": {\"k\": \"v\"}}", 0,
	       NULL);
	assert_int_equal(m.nr_props, 1);
	assert_string_equal(m.prop_val[0], "v");
	spec_metrics_free(&m);
	EXPECT(spec_parse_metrics(b_, &m, err, sizeof(err)), "{}", -EINVAL, "metrics_path");
	spec_metrics_free(&m);
	EXPECT(spec_parse_metrics(b_, &m, err, sizeof(err)),
	       "{\"metrics_path\": \"/m\", \"properties\": {\"k\": 1}}", -EINVAL, "string");
	spec_metrics_free(&m);
	EXPECT(spec_put_entropy(&s, b_, err, sizeof(err)), "{}", 0, NULL);
	assert_true(s.entropy);
	EXPECT(spec_put_entropy(&s, b_, err, sizeof(err)), "{\"rate_limiter\": {}}", 0, NULL);
	assert_false(spec_rate_limiter_set(&s.entropy_rate_limiter));
	EXPECT(spec_put_entropy(&s, b_, err, sizeof(err)),
	       "{\"rate_limiter\": {\"ops\": {\"size\": 100, \"refill_time\": 1000}}}", 0, NULL);
	assert_true(s.entropy_rate_limiter.ops.set);
	assert_int_equal(s.entropy_rate_limiter.ops.size, 100);
	/* A refused body leaves the previous limiter. */
	EXPECT(spec_put_entropy(&s, b_, err, sizeof(err)), "{\"rate_limiter\": {\"ops\": 5}}",
	       -EINVAL, "must be a JSON object");
	assert_int_equal(s.entropy_rate_limiter.ops.size, 100);
	EXPECT(spec_put_serial(&s, b_, err, sizeof(err)), "{\"serial_out_path\": \"/s\"}", 0, NULL);
	assert_string_equal(s.serial_out_path, "/s");
	EXPECT(spec_put_serial(&s, b_, err, sizeof(err)), "{\"serial_out_path\": 1}", -EINVAL,
	       "string");
	spec_free(&s);
}

/* Each refusal of a RateLimiter object, through PUT /drives. */
static void test_spec_rate_limiter_rules(void **state)
{
	static const struct {
		const char *rl, *needle;
	} bad[] = {
	    {"5", "must be a JSON object"},
	    {"{\"bytes\": {}}", "unknown field 'bytes'"},
	    {"{\"ops\": []}", "must be a JSON object"},
	    {"{\"ops\": {\"size\": 1}}", "missing required field 'refill_time'"},
	    {"{\"ops\": {\"refill_time\": 1}}", "missing required field 'size'"},
	    {"{\"ops\": {\"size\": -1, \"refill_time\": 1}}", "non-negative integer"},
	    {"{\"ops\": {\"size\": 1, \"refill_time\": -5}}", "non-negative integer"},
	    {"{\"ops\": {\"size\": \"1\", \"refill_time\": 1}}", "non-negative integer"},
	    {"{\"ops\": {\"size\": 1e3, \"refill_time\": 1}}", "non-negative integer"},
	    {"{\"ops\": {\"size\": true, \"refill_time\": 1}}", "non-negative integer"},
	    {"{\"ops\": {\"size\": 1, \"refill_time\": 1, \"one_time_burst\": -1}}",
	     "non-negative integer"},
	    {"{\"ops\": {\"size\": 1, \"refill_time\": 1, \"burst\": 1}}", "unknown field 'burst'"},
	    {"{\"bandwidth\": {\"size\": 1, \"refill_time\": 1099511627777}}",
	     "refill_time must be at most"},
	};
	char body[512];
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": "
			 "false, \"rate_limiter\": %s}",
			 bad[i].rl);
		EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)), body, -EINVAL, bad[i].needle);
		assert_int_equal(s.nr_drives, 0);
	}
	/* The largest values JSON integers carry are fine; size 0 is "unlimited", kept as given. */
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"rate_limiter\": {\"bandwidth\": {\"size\": 9223372036854775807, "
	       "\"one_time_burst\": 9223372036854775807, \"refill_time\": 1099511627776}, "
	       "\"ops\": {\"size\": 0, \"refill_time\": 0}}}",
	       0, NULL);
	assert_int_equal(s.drives[0].rate_limiter.bandwidth.size, INT64_MAX);
	assert_true(s.drives[0].rate_limiter.ops.set);
	assert_int_equal(s.drives[0].rate_limiter.ops.size, 0);
	/* null means absent, as for every other field. */
	EXPECT(spec_put_drive(&s, "a", b_, err, sizeof(err)),
	       "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": false, "
	       "\"rate_limiter\": {\"bandwidth\": null}}",
	       0, NULL);
	assert_false(spec_rate_limiter_set(&s.drives[0].rate_limiter));
	spec_free(&s);
}

static void test_spec_vsock_rules(void **state)
{
	char longpath[256];
	struct vm_spec s, t;

	(void)state;
	spec_init(&s);
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)),
	       "{\"guest_cid\": 3, \"uds_path\": \"/v.sock\", \"vsock_id\": \"old\"}", 0, NULL);
	assert_int_equal(s.vsock.guest_cid, 3);
	assert_string_equal(s.vsock.uds_path, "/v.sock");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)),
	       "{\"guest_cid\": 4294967294, \"uds_path\": \"/w\"}", 0, NULL);
	assert_string_equal(s.vsock.uds_path, "/w");
	assert_int_equal(spec_copy(&t, &s), 0);
	assert_string_equal(t.vsock.uds_path, "/w");
	assert_ptr_not_equal(t.vsock.uds_path, s.vsock.uds_path);
	spec_free(&t);
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)), "{\"guest_cid\": 2, \"uds_path\": \"/v\"}",
	       -EINVAL, "guest_cid must be from 3");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)),
	       "{\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}", -EINVAL, "guest_cid");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)),
	       "{\"guest_cid\": -3, \"uds_path\": \"/v\"}", -EINVAL, "non-negative integer");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)), "{\"uds_path\": \"/v\"}", -EINVAL,
	       "missing required field 'guest_cid'");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)), "{\"guest_cid\": 3}", -EINVAL,
	       "missing required field 'uds_path'");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)), "{\"guest_cid\": 3, \"uds_path\": \"\"}",
	       -EINVAL, "1 to");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)),
	       "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"bogus\": 1}", -EINVAL, "unknown field");
	memset(longpath, 0, sizeof(longpath));
	snprintf(longpath, sizeof(longpath), "{\"guest_cid\": 3, \"uds_path\": \"/");
	memset(longpath + strlen(longpath), 'a', VSOCK_UDS_PATH_MAX);
	strcat(longpath, "\"}");
	EXPECT(spec_put_vsock(&s, b_, err, sizeof(err)), longpath, -EINVAL, "at most 96 bytes");
	/* Refusals left the last good configuration in place. */
	assert_string_equal(s.vsock.uds_path, "/w");
	assert_int_equal(s.vsock.guest_cid, 4294967294u);
	spec_free(&s);
}

static const char *const full_doc =
    "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", "
    "\"boot_args\": \"console=ttyS0\"},"
    " \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256},"
    " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", \"is_root_device\": true,"
    " \"is_read_only\": true}, {\"drive_id\": \"data\", \"path_on_host\": \"/d\","
    " \"is_root_device\": false, \"cache_type\": \"Writeback\", \"rate_limiter\":"
    " {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000},"
    " \"ops\": {\"size\": 100, \"one_time_burst\": 50, \"refill_time\": 500}}}],"
    " \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 4096, \"refill_time\": 100}}},"
    " \"serial\": {\"serial_out_path\": \"/s\"},"
    " \"logger\": {\"log_path\": \"/l\", \"level\": \"Debug\", \"module\": \"vcpu\"},"
    " \"metrics\": {\"metrics_path\": \"/m\", \"properties\": {\"a\": \"b\"}},"
    " \"network-interfaces\": [], \"vsock\": {\"guest_cid\": 52, \"uds_path\": \"/v.sock\"},"
    " \"balloon\": null}";

static void test_spec_document_round_trips(void **state)
{
	struct vm_spec s, t;
	json_t *out1, *out2;

	(void)state;
	spec_init(&s);
	spec_init(&t);
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)), full_doc, 0, NULL);
	assert_int_equal(s.nr_drives, 2);
	assert_true(s.drives[0].is_read_only);
	assert_true(s.entropy);
	assert_int_equal(s.drives[1].rate_limiter.ops.one_time_burst, 50);
	assert_false(spec_rate_limiter_set(&s.drives[0].rate_limiter));
	assert_int_equal(s.entropy_rate_limiter.bandwidth.size, 4096);
	assert_int_equal(s.vsock.guest_cid, 52);
	out1 = spec_to_json(&s);
	assert_int_equal(spec_from_json(&t, out1, err, sizeof(err)), 0);
	out2 = spec_to_json(&t);
	assert_true(json_equal(out1, out2));
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(out1, "machine-config"), "huge_pages")),
			    "None");
	json_decref(out1);
	json_decref(out2);
	spec_free(&s);
	spec_free(&t);
}

static void test_spec_document_refusals(void **state)
{
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)), "{}", -EINVAL, "boot-source");
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)),
	       "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"bogus\": 1}", -EINVAL,
	       "unknown section 'bogus'");
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)),
	       "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"vsock\": {\"guest_cid\": 3}}",
	       -EINVAL, "vsock: missing required field 'uds_path'");
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)),
	       "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": {}}", -EINVAL,
	       "array");
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)),
	       "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"drives\": [{\"drive_id\": "
	       "\"a\", \"path_on_host\": \"/a\", \"is_root_device\": false}, {\"drive_id\": \"a\", "
	       "\"path_on_host\": \"/b\", \"is_root_device\": false}]}",
	       -EINVAL, "twice");
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)),
	       "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"machine-config\": "
	       "{\"vcpu_count\": 99, \"mem_size_mib\": 128}}",
	       -EINVAL, "machine-config: vcpu_count");
	assert_null(s.boot.kernel_image_path);
	spec_free(&s);
}

static void test_spec_maps_onto_vm_config(void **state)
{
	struct blk_config drives[SPEC_MAX_DRIVES];
	struct vm_config cfg;
	struct vm_spec s;

	(void)state;
	spec_init(&s);
	assert_int_equal(spec_to_vm_config(&s, &cfg, drives, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "boot-source"));
	EXPECT(spec_from_json(&s, b_, err, sizeof(err)), full_doc, 0, NULL);
	assert_int_equal(spec_to_vm_config(&s, &cfg, drives, err, sizeof(err)), 0);
	assert_string_equal(cfg.kernel_path, "/k");
	assert_string_equal(cfg.initrd_path, "/i");
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(cfg.mem_mib, 256);
	assert_true(cfg.rng);
	assert_int_equal(cfg.nr_drives, 2);
	assert_string_equal(drives[1].id, "data");
	assert_true(drives[0].read_only);
	assert_true(drives[0].is_root);
	assert_false(drives[1].cache_unsafe);
	assert_int_equal(drives[1].rate_limiter.bandwidth.size, 1048576);
	assert_int_equal(drives[1].rate_limiter.ops.refill_time_ms, 500);
	assert_false(drives[0].rate_limiter.ops.set);
	assert_int_equal(cfg.rng_rate_limiter.bandwidth.refill_time_ms, 100);
	assert_int_equal(cfg.vsock.guest_cid, 52);
	assert_string_equal(cfg.vsock.uds_path, "/v.sock");
	spec_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_defaults_are_firecrackers),
	    cmocka_unit_test(test_spec_boot_source_rules),
	    cmocka_unit_test(test_spec_machine_ranges),
	    cmocka_unit_test(test_spec_machine_huge_pages),
	    cmocka_unit_test(test_spec_drive_rules),
	    cmocka_unit_test(test_spec_drive_patch_rules),
	    cmocka_unit_test(test_spec_rate_limiter_rules),
	    cmocka_unit_test(test_spec_network_interface_rules),
	    cmocka_unit_test(test_spec_logger_metrics_entropy_serial),
	    cmocka_unit_test(test_spec_vsock_rules),
	    cmocka_unit_test(test_spec_document_round_trips),
	    cmocka_unit_test(test_spec_document_refusals),
	    cmocka_unit_test(test_spec_maps_onto_vm_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
