/* SPDX-License-Identifier: MIT */
/*
 * The router and each handler, called directly with a struct http_request:
 * status codes, fault messages, pre-/post-boot rules and the hooks reached,
 * with the VM replaced by a recording stub.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "api/api.h"
#include "vmm/log.h"

struct stub {
	int starts, cad, updates, rl_updates;
	int start_ret;
	struct rl_config last_rl, last_tx_rl;
	char last_path[64];
	unsigned int last_index;
	uint64_t t0_ns;
};

static int stub_start(void *opaque, const struct vm_spec *spec, const struct boot_timer *t0,
		      char *err, size_t len)
{
	struct stub *s = opaque;

	(void)spec;
	s->starts++;
	s->t0_ns = t0->start_ns;
	if (s->start_ret)
		snprintf(err, len, "kernel /nope: cannot open");
	return s->start_ret;
}

static int stub_cad(void *opaque)
{
	((struct stub *)opaque)->cad++;
	return 0;
}

static int stub_update(void *opaque, unsigned int index, const char *path, char *err, size_t len)
{
	struct stub *s = opaque;

	(void)err;
	(void)len;
	s->updates++;
	s->last_index = index;
	snprintf(s->last_path, sizeof(s->last_path), "%s", path);
	return 0;
}

static void stub_metrics(void *opaque, json_t *obj)
{
	(void)opaque;
	json_object_set_new(obj, "block", json_object());
}

static int stub_ratelimit(void *opaque, unsigned int index, const struct rl_config *upd, char *err,
			  size_t len)
{
	struct stub *s = opaque;

	(void)err;
	(void)len;
	s->rl_updates++;
	s->last_index = index;
	s->last_rl = *upd;
	return 0;
}

static int stub_net_ratelimit(void *opaque, unsigned int index, const struct rl_config *rx,
			      const struct rl_config *tx, char *err, size_t len)
{
	struct stub *s = opaque;

	(void)err;
	(void)len;
	s->rl_updates++;
	s->last_index = index;
	s->last_rl = *rx;
	s->last_tx_rl = *tx;
	return 0;
}

static const struct api_ops stub_ops = {stub_start,   stub_cad,	      stub_update,
					stub_metrics, stub_ratelimit, stub_net_ratelimit};

struct fixture {
	struct api api;
	struct stub stub;
	struct http_response resp;
	json_t *json; /* the last answer's body, parsed */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	api_init(&f->api, "test-vm", &stub_ops, &f->stub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->resp.body);
	json_decref(f->json);
	api_destroy(&f->api);
	free(f);
	return 0;
}

/* Send one request; returns the status and keeps the parsed body in f->json. */
static int req(struct fixture *f, enum http_method m, const char *path, const char *body)
{
	struct http_request r = {.method = m};

	snprintf(r.path, sizeof(r.path), "%s", path);
	r.body = (const uint8_t *)body;
	r.body_len = body ? strlen(body) : 0;
	free(f->resp.body);
	json_decref(f->json);
	f->json = NULL;
	memset(&f->resp, 0, sizeof(f->resp));
	api_handle(&f->api, &r, &f->resp);
	if (f->resp.body) {
		assert_int_equal(strlen(f->resp.body), f->resp.body_len);
		f->json = json_loads(f->resp.body, 0, NULL);
		assert_non_null(f->json);
	}
	if (f->resp.status == 204)
		assert_null(f->resp.body);
	return f->resp.status;
}

/* The last answer was a 400 whose fault_message contains @needle. */
static void fault_has(struct fixture *f, const char *needle)
{
	const char *msg = json_string_value(json_object_get(f->json, "fault_message"));

	assert_int_equal(f->resp.status, 400);
	if (!msg || !strstr(msg, needle))
		fail_msg("fault_message '%s' lacks '%s'", msg ? msg : "(none)", needle);
}

static const char *str_at(struct fixture *f, const char *key)
{
	return json_string_value(json_object_get(f->json, key));
}

#define KERNEL_BODY "{\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"}"
#define START_BODY  "{\"action_type\": \"InstanceStart\"}"

static void test_api_root_and_version(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_GET, "/", NULL), 200);
	assert_string_equal(str_at(f, "id"), "test-vm");
	assert_string_equal(str_at(f, "state"), "Not started");
	assert_string_equal(str_at(f, "app_name"), "kiln");
	assert_string_equal(str_at(f, "vmm_version"), KILN_VERSION);
	assert_int_equal(req(f, HTTP_GET, "/version", NULL), 200);
	assert_string_equal(str_at(f, "firecracker_version"), KILN_VERSION);
}

static void test_api_unknown_paths_and_methods_are_400(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_GET, "/nope", NULL), 400);
	fault_has(f, "invalid request method and/or path");
	assert_int_equal(req(f, HTTP_GET, "/machine-config/", NULL), 400);
	assert_int_equal(req(f, HTTP_PATCH, "/version", "{}"), 400);
	fault_has(f, "not allowed");
	assert_int_equal(req(f, HTTP_GET, "/actions", NULL), 400);
	fault_has(f, "not allowed");
	assert_int_equal(req(f, HTTP_PUT, "/network-interfaces/eth0", "{}"), 400);
	fault_has(f, "iface_id");
	assert_int_equal(req(f, HTTP_PUT, "/vsock", "{}"), 400);
	fault_has(f, "missing required field");
	assert_int_equal(req(f, HTTP_PATCH, "/vm", "{\"state\": \"Paused\"}"), 400);
	fault_has(f, "not supported yet");
	assert_int_equal(req(f, HTTP_PUT, "/snapshot/create", "{}"), 400);
	fault_has(f, "not supported yet");
	/* A path that is not valid UTF-8 still gets a JSON fault. */
	assert_int_equal(req(f, HTTP_GET, "/\xff\xfe", NULL), 400);
	assert_non_null(json_object_get(f->json, "fault_message"));
}

static void test_api_bodies_checked_before_routes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_PUT, "/boot-source", NULL), 400);
	fault_has(f, "needs a JSON request body");
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", "{\"kernel_image_path\": "), 400);
	fault_has(f, "invalid JSON");
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", "{\"a\": 1, \"a\": 2}"), 400);
	fault_has(f, "invalid JSON");
	assert_int_equal(req(f, HTTP_GET, "/", "{}"), 400);
	fault_has(f, "takes no request body");
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", "[]"), 400);
	fault_has(f, "JSON object");
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", "\"just a string\""), 400);
}

static void test_api_configuration_routes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 204);
	assert_int_equal(req(f, HTTP_GET, "/machine-config", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->json, "vcpu_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(f->json, "mem_size_mib")), 128);
	assert_int_equal(
	    req(f, HTTP_PUT, "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"), 204);
	assert_int_equal(req(f, HTTP_PATCH, "/machine-config", "{\"vcpu_count\": 4}"), 204);
	assert_int_equal(req(f, HTTP_PATCH, "/machine-config", "{\"vcpu_count\": 40}"), 400);
	fault_has(f, "vcpu_count");
	assert_int_equal(req(f, HTTP_GET, "/machine-config", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->json, "vcpu_count")), 4);
	assert_int_equal(json_integer_value(json_object_get(f->json, "mem_size_mib")), 256);
	assert_int_equal(req(f, HTTP_PUT, "/drives/rootfs",
			     "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", "
			     "\"is_root_device\": true, \"is_read_only\": false}"),
			 204);
	assert_int_equal(req(f, HTTP_PUT, "/drives/bad.id",
			     "{\"drive_id\": \"bad.id\", \"path_on_host\": \"/r\", "
			     "\"is_root_device\": false}"),
			 400);
	fault_has(f, "drive id");
	assert_int_equal(req(f, HTTP_PUT, "/drives/", "{\"drive_id\": \"\"}"), 400);
	assert_int_equal(req(f, HTTP_PUT, "/entropy", "{}"), 204);
	assert_int_equal(req(f, HTTP_PUT, "/serial", "{\"serial_out_path\": \"/s\"}"), 204);
	assert_int_equal(req(f, HTTP_GET, "/vm/config", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->json, "drives")), 1);
	assert_non_null(json_object_get(f->json, "boot-source"));
	{
		/* What GET /vm/config answers is what --config-file accepts. */
		struct vm_spec s;
		char err[SPEC_ERR_BYTES];

		spec_init(&s);
		assert_int_equal(spec_from_json(&s, f->json, err, sizeof(err)), 0);
		assert_int_equal(s.machine.vcpu_count, 4);
		spec_free(&s);
	}
}

static void test_api_instance_start_rules(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 400);
	fault_has(f, "boot source");
	assert_int_equal(f->stub.starts, 0);
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{\"action_type\": \"Reboot\"}"), 400);
	fault_has(f, "action_type");
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{}"), 400);
	fault_has(f, "action_type");
	assert_int_equal(
	    req(f, HTTP_PUT, "/actions", "{\"action_type\": \"InstanceStart\", \"x\": 1}"), 400);
	fault_has(f, "unknown field");
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"),
			 400);
	fault_has(f, "after the microVM has started");
	assert_int_equal(req(f, HTTP_PATCH, "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"), 400);
	fault_has(f, "only allowed after");
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 204);
	f->stub.start_ret = -ENOENT;
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 400);
	fault_has(f, "kernel /nope");
	assert_false(f->api.started);
	f->stub.start_ret = 0;
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 204);
	assert_int_equal(f->stub.starts, 2);
	assert_true(f->stub.t0_ns > 0);
	assert_int_equal(req(f, HTTP_GET, "/", NULL), 200);
	assert_string_equal(str_at(f, "state"), "Running");
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 400);
	fault_has(f, "already running");
	assert_int_equal(f->stub.starts, 2);
	/* Pre-boot routes are closed now; GETs and actions stay open. */
	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 400);
	fault_has(f, "after the microVM has started");
	assert_int_equal(
	    req(f, HTTP_PUT, "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"), 400);
	assert_int_equal(req(f, HTTP_PATCH, "/machine-config", "{\"vcpu_count\": 2}"), 400);
	assert_int_equal(req(f, HTTP_PUT, "/entropy", "{}"), 400);
	assert_int_equal(req(f, HTTP_GET, "/machine-config", NULL), 200);
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"),
			 204);
	assert_int_equal(f->stub.cad, 1);
}

static void test_api_drive_patch_rate_limiter_after_start(void **state)
{
	struct fixture *f = *state;
	json_t *rl;

	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 204);
	assert_int_equal(req(f, HTTP_PUT, "/drives/a",
			     "{\"drive_id\": \"a\", \"path_on_host\": \"/a\", "
			     "\"is_root_device\": false, \"rate_limiter\": {\"bandwidth\": "
			     "{\"size\": 1000, \"refill_time\": 100}}}"),
			 204);
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 204);
	/* A bad body changes nothing and reaches no device. */
	assert_int_equal(req(f, HTTP_PATCH, "/drives/a",
			     "{\"drive_id\": \"a\", \"rate_limiter\": {\"ops\": {\"size\": -1, "
			     "\"refill_time\": 10}}}"),
			 400);
	fault_has(f, "non-negative integer");
	assert_int_equal(f->stub.rl_updates, 0);
	assert_int_equal(req(f, HTTP_PATCH, "/drives/a",
			     "{\"drive_id\": \"a\", \"rate_limiter\": {\"ops\": {\"size\": 50, "
			     "\"refill_time\": 1000}}}"),
			 204);
	assert_int_equal(f->stub.rl_updates, 1);
	assert_int_equal(f->stub.updates, 0); /* no path: the backing file stays */
	assert_true(f->stub.last_rl.ops.set);
	assert_false(f->stub.last_rl.bandwidth.set);
	assert_int_equal(f->stub.last_rl.ops.size, 50);
	/* GET /vm/config shows the merge: bandwidth as PUT, ops as PATCHed. */
	assert_int_equal(req(f, HTTP_GET, "/vm/config", NULL), 200);
	rl = json_object_get(json_array_get(json_object_get(f->json, "drives"), 0), "rate_limiter");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(rl, "bandwidth"), "size")), 1000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rl, "ops"), "size")),
			 50);
}

static void test_api_net_patch_rate_limiters_after_start(void **state)
{
	struct fixture *f = *state;
	json_t *nic;

	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 204);
	assert_int_equal(
	    req(f, HTTP_PUT, "/network-interfaces/eth0",
		"{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
		"\"rx_rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": 100}}}"),
	    204);
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 204);
	assert_int_equal(req(f, HTTP_PATCH, "/network-interfaces/eth0",
			     "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"bandwidth\": "
			     "{\"size\": 1, \"refill_time\": 1099511627777}}}"),
			 400);
	fault_has(f, "refill_time");
	assert_int_equal(f->stub.rl_updates, 0);
	assert_int_equal(req(f, HTTP_PATCH, "/network-interfaces/eth0",
			     "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"bandwidth\": "
			     "{\"size\": 5000, \"refill_time\": 10}}}"),
			 204);
	assert_int_equal(f->stub.rl_updates, 1);
	assert_false(spec_rate_limiter_set(&f->stub.last_rl));
	assert_int_equal(f->stub.last_tx_rl.bandwidth.size, 5000);
	assert_int_equal(req(f, HTTP_GET, "/vm/config", NULL), 200);
	nic = json_array_get(json_object_get(f->json, "network-interfaces"), 0);
	assert_non_null(json_object_get(nic, "rx_rate_limiter"));
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(nic, "tx_rate_limiter"), "bandwidth"), "size")),
	    5000);
}

static void test_api_drive_patch_after_start(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(req(f, HTTP_PUT, "/boot-source", KERNEL_BODY), 204);
	assert_int_equal(req(f, HTTP_PUT, "/drives/a",
			     "{\"drive_id\": \"a\", \"path_on_host\": \"/a\", "
			     "\"is_root_device\": false}"),
			 204);
	assert_int_equal(req(f, HTTP_PUT, "/drives/b",
			     "{\"drive_id\": \"b\", \"path_on_host\": \"/b\", "
			     "\"is_root_device\": false}"),
			 204);
	assert_int_equal(req(f, HTTP_PUT, "/actions", START_BODY), 204);
	assert_int_equal(
	    req(f, HTTP_PATCH, "/drives/b", "{\"drive_id\": \"b\", \"path_on_host\": \"/b2\"}"),
	    204);
	assert_int_equal(f->stub.updates, 1);
	assert_int_equal(f->stub.last_index, 1);
	assert_string_equal(f->stub.last_path, "/b2");
	assert_string_equal(f->api.spec.drives[1].path_on_host, "/b2");
	assert_int_equal(
	    req(f, HTTP_PATCH, "/drives/c", "{\"drive_id\": \"c\", \"path_on_host\": \"/c\"}"),
	    400);
	fault_has(f, "no drive");
	assert_int_equal(req(f, HTTP_PATCH, "/drives/b", "{\"drive_id\": \"b\"}"), 204);
	assert_int_equal(f->stub.updates, 1);
	assert_int_equal(req(f, HTTP_PUT, "/drives/b",
			     "{\"drive_id\": \"b\", \"path_on_host\": \"/b\", "
			     "\"is_root_device\": false}"),
			 400);
}

static void test_api_logger_and_metrics(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/kiln-api-XXXXXX", body[256], path[128], line[4096];
	json_t *m;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}"), 400);
	fault_has(f, "PUT /metrics first");
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s/nodir/m\"}", dir);
	assert_int_equal(req(f, HTTP_PUT, "/metrics", body), 400);
	fault_has(f, "cannot open");
	snprintf(body, sizeof(body),
		 "{\"metrics_path\": \"%s/metrics\", \"properties\": {\"team\": \"kiln\"}}", dir);
	assert_int_equal(req(f, HTTP_PUT, "/metrics", body), 204);
	assert_int_equal(req(f, HTTP_PUT, "/metrics", body), 400);
	fault_has(f, "already configured");
	assert_int_equal(api_next_timeout_ms(&f->api) > 0, 1);
	assert_int_equal(req(f, HTTP_PUT, "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);
	snprintf(path, sizeof(path), "%s/metrics", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	m = json_loads(line, 0, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "id")), "test-vm");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(m, "properties"), "team")), "kiln");
	/* The request counters saw the refused FlushMetrics and the two PUT /metrics. */
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(json_object_get(m, "api_server"), "requests"),
				"PUT /metrics"),
		"204")),
	    1);
	assert_non_null(json_object_get(json_object_get(m, "logger"), "missed_log_count"));
	json_decref(m);

	snprintf(body, sizeof(body), "{\"log_path\": \"%s/nodir/log\"}", dir);
	assert_int_equal(req(f, HTTP_PUT, "/logger", body), 400);
	fault_has(f, "log_path");
	snprintf(body, sizeof(body),
		 "{\"log_path\": \"%s/log\", \"level\": \"Info\", \"show_level\": true, "
		 "\"show_log_origin\": false}",
		 dir);
	assert_int_equal(req(f, HTTP_PUT, "/logger", body), 204);
	log_info("marker-%d", 42);
	snprintf(path, sizeof(path), "%s/log", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_non_null(strstr(line, "[test-vm:INFO] marker-42"));
	assert_int_equal(req(f, HTTP_PUT, "/logger", "{\"level\": \"Off\"}"), 204);
	assert_int_equal(req(f, HTTP_GET, "/vm/config", NULL), 200);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f->json, "logger"), "level")), "Off");
	{
		struct log_options back = {LOG_ERROR, true, true, NULL};

		assert_int_equal(log_reconfigure(dup(2), &back), 0);
	}
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void test_api_counts_every_answer(void **state)
{
	struct fixture *f = *state;

	req(f, HTTP_GET, "/", NULL);
	req(f, HTTP_GET, "/", NULL);
	req(f, HTTP_GET, "/nope", NULL);
	assert_int_equal(f->api.requests[0][API_ST_200], 2);
	assert_int_equal(f->api.requests[API_NR_ROUTES][API_ST_400], 1);
	assert_string_equal(api_route_name(0), "GET /");
	assert_string_equal(api_route_name(API_NR_ROUTES), "unmatched");
}

static void test_api_instance_ids(void **state)
{
	(void)state;
	assert_true(api_id_valid("my-vm-1"));
	assert_false(api_id_valid(""));
	assert_false(api_id_valid("a_b"));
	assert_false(api_id_valid("a b"));
	assert_false(api_id_valid("x123456789012345678901234567890123456789012345678901234567890123"
				  "45"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_api_root_and_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_unknown_paths_and_methods_are_400, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_bodies_checked_before_routes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_configuration_routes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_instance_start_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_drive_patch_after_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_net_patch_rate_limiters_after_start, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_drive_patch_rate_limiter_after_start, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_logger_and_metrics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_counts_every_answer, setup, teardown),
	    cmocka_unit_test(test_api_instance_ids),
	};

	log_setup(2, LOG_ERROR, "test-vm");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
