/* SPDX-License-Identifier: MIT */
/*
 * One function per route. Configuration routes validate through vm_spec and
 * change nothing on refusal; the actions reach the VM through struct api_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_priv.h"
#include "vmm/log.h"

void api_get_root(struct api *a, const char *param, const json_t *body, struct http_response *resp)
{
	(void)param;
	(void)body;
	api_reply_json(resp, json_pack("{s:s, s:s, s:s, s:s}", "id", a->id, "state",
				       a->started ? "Running" : "Not started", "vmm_version",
				       KILN_VERSION, "app_name", API_APP_NAME));
}

void api_get_version(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	(void)a;
	(void)param;
	(void)body;
	api_reply_json(resp, json_pack("{s:s}", "firecracker_version", KILN_VERSION));
}

static void api_instance_start(struct api *a, struct http_response *resp)
{
	char err[SPEC_ERR_BYTES] = "";
	int ret;

	if (a->started) {
		api_fault(resp, 400, "InstanceStart: the microVM is already running");
		return;
	}
	if (!a->spec.boot.kernel_image_path) {
		api_fault(resp, 400, "InstanceStart: no boot source; PUT /boot-source first");
		return;
	}
	ret = a->ops->start(a->opaque, &a->spec, &a->req_t0, err, sizeof(err));
	if (ret) {
		api_fault(resp, 400, "InstanceStart: %s", err[0] ? err : strerror(-ret));
		return;
	}
	a->started = true;
	log_info("microVM started from the API");
	api_reply_result(resp, 0, NULL);
}

void api_put_actions(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	json_t *type = json_object_get(body, "action_type");
	const char *key, *t;
	json_t *v;

	(void)param;
	if (!json_is_object(body)) {
		api_fault(resp, 400, "actions: the body must be a JSON object");
		return;
	}
	json_object_foreach((json_t *)body, key, v)
	{
		if (strcmp(key, "action_type")) {
			api_fault(resp, 400, "unknown field '%.64s' in actions", key);
			return;
		}
	}
	if (!json_is_string(type)) {
		api_fault(resp, 400,
			  "actions: field 'action_type' is required and must be a "
			  "string");
		return;
	}
	t = json_string_value(type);
	if (!strcmp(t, "InstanceStart")) {
		api_instance_start(a, resp);
	} else if (!strcmp(t, "SendCtrlAltDel")) {
		if (!a->started)
			api_fault(resp, 400,
				  "SendCtrlAltDel is only allowed after the microVM "
				  "has started");
		else
			api_reply_result(resp, a->ops->ctrl_alt_del(a->opaque),
					 "SendCtrlAltDel failed");
	} else if (!strcmp(t, "FlushMetrics")) {
		int ret = api_flush_metrics(a);

		if (ret == -EBADF)
			api_fault(resp, 400,
				  "FlushMetrics: metrics are not configured; PUT "
				  "/metrics first");
		else if (ret)
			api_fault(resp, 400, "FlushMetrics: the metrics sink refused the line: %s",
				  strerror(-ret));
		else
			api_reply_result(resp, 0, NULL);
	} else {
		api_fault(resp, 400,
			  "action_type must be InstanceStart, SendCtrlAltDel or FlushMetrics");
	}
}

void api_put_boot_source(struct api *a, const char *param, const json_t *body,
			 struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_boot_source(&a->spec, body, err, sizeof(err)), err);
}

void api_get_machine(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	(void)param;
	(void)body;
	api_reply_json(resp, spec_machine_to_json(&a->spec.machine));
}

void api_put_machine(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_machine(&a->spec, body, false, err, sizeof(err)), err);
}

void api_patch_machine(struct api *a, const char *param, const json_t *body,
		       struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_machine(&a->spec, body, true, err, sizeof(err)), err);
}

void api_put_drive(struct api *a, const char *param, const json_t *body, struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	api_reply_result(resp, spec_put_drive(&a->spec, param, body, err, sizeof(err)), err);
}

/*
 * Post-boot: a new backing file and/or new rate limits for a running drive.
 * The whole body is validated first; only drive_id given changes nothing, as
 * Firecracker accepts.
 */
void api_patch_drive(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	char err[SPEC_ERR_BYTES] = "";
	struct rl_config rl;
	char *path;
	unsigned int i;
	int ret;

	ret = spec_parse_drive_patch(&a->spec, param, body, &path, &rl, err, sizeof(err));
	if (ret) {
		api_reply_result(resp, ret, err);
		return;
	}
	for (i = 0; strcmp(a->spec.drives[i].id, param); i++)
		;
	if (path) {
		ret = a->ops->drive_update(a->opaque, i, path, err, sizeof(err));
		if (ret) {
			free(path);
			api_fault(resp, 400, "drive %s: %s", param, err[0] ? err : strerror(-ret));
			return;
		}
		free(a->spec.drives[i].path_on_host);
		a->spec.drives[i].path_on_host = path;
	}
	if (spec_rate_limiter_set(&rl)) {
		ret = a->ops->drive_ratelimit(a->opaque, i, &rl, err, sizeof(err));
		if (ret) {
			api_fault(resp, 400, "drive %s: %s", param, err[0] ? err : strerror(-ret));
			return;
		}
		rl_config_merge(&a->spec.drives[i].rate_limiter, &rl);
	}
	api_reply_result(resp, 0, NULL);
}

void api_put_net(struct api *a, const char *param, const json_t *body, struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	api_reply_result(resp, spec_put_net(&a->spec, param, body, err, sizeof(err)), err);
}

/*
 * Post-boot: only the rate limiters may change (Firecracker's
 * PartialNetworkInterface); the buckets given replace the running ones.
 */
void api_patch_net(struct api *a, const char *param, const json_t *body, struct http_response *resp)
{
	char err[SPEC_ERR_BYTES] = "";
	struct rl_config rx, tx;
	unsigned int i;
	int ret;

	ret = spec_parse_net_patch(&a->spec, param, body, &rx, &tx, err, sizeof(err));
	if (ret || (!spec_rate_limiter_set(&rx) && !spec_rate_limiter_set(&tx))) {
		api_reply_result(resp, ret, err);
		return;
	}
	for (i = 0; strcmp(a->spec.nets[i].id, param); i++)
		;
	ret = a->ops->net_ratelimit(a->opaque, i, &rx, &tx, err, sizeof(err));
	if (ret) {
		api_fault(resp, 400, "network interface %s: %s", param,
			  err[0] ? err : strerror(-ret));
		return;
	}
	rl_config_merge(&a->spec.nets[i].rx_rate_limiter, &rx);
	rl_config_merge(&a->spec.nets[i].tx_rate_limiter, &tx);
	api_reply_result(resp, 0, NULL);
}

void api_put_entropy(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_entropy(&a->spec, body, err, sizeof(err)), err);
}

void api_put_vsock(struct api *a, const char *param, const json_t *body, struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_vsock(&a->spec, body, err, sizeof(err)), err);
}

void api_put_serial(struct api *a, const char *param, const json_t *body,
		    struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];

	(void)param;
	api_reply_result(resp, spec_put_serial(&a->spec, body, err, sizeof(err)), err);
}

void api_put_logger(struct api *a, const char *param, const json_t *body,
		    struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];
	struct spec_logger l;
	int ret;

	(void)param;
	ret = spec_parse_logger(body, &l, err, sizeof(err));
	if (!ret)
		ret = api_set_logger(a, &l, err, sizeof(err));
	spec_logger_free(&l);
	api_reply_result(resp, ret, err);
}

void api_put_metrics(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp)
{
	char err[SPEC_ERR_BYTES];
	struct spec_metrics m;
	int ret;

	(void)param;
	ret = spec_parse_metrics(body, &m, err, sizeof(err));
	if (!ret)
		ret = api_set_metrics(a, &m, err, sizeof(err));
	spec_metrics_free(&m);
	api_reply_result(resp, ret, err);
}

void api_get_vm_config(struct api *a, const char *param, const json_t *body,
		       struct http_response *resp)
{
	(void)param;
	(void)body;
	api_reply_json(resp, spec_to_json(&a->spec));
}
