/* SPDX-License-Identifier: MIT */
/*
 * The route table and the one handler the HTTP server calls: match method and
 * path, enforce the pre-/post-boot rule, parse the JSON body, run the route,
 * count the answer. Every client error is a 400 with a fault_message, as in
 * Firecracker (unknown paths and methods included).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_priv.h"
#include "vmm/log.h"

enum api_when { API_ANY, API_PRE_BOOT, API_POST_BOOT };

struct api_route {
	enum http_method method;
	const char *path; /* exact, or the prefix before {id} when has_param */
	bool has_param;
	bool body; /* takes a JSON body (required) */
	enum api_when when;
	api_route_fn fn;
};

/* Firecracker's paths (firecracker.yaml), in the order of its file. */
static const struct api_route api_routes[] = {
    {HTTP_GET, "/", false, false, API_ANY, api_get_root},
    {HTTP_PUT, "/actions", false, true, API_ANY, api_put_actions},
    {HTTP_PUT, "/boot-source", false, true, API_PRE_BOOT, api_put_boot_source},
    {HTTP_PUT, "/drives/", true, true, API_PRE_BOOT, api_put_drive},
    {HTTP_PATCH, "/drives/", true, true, API_POST_BOOT, api_patch_drive},
    {HTTP_PUT, "/logger", false, true, API_ANY, api_put_logger},
    {HTTP_GET, "/machine-config", false, false, API_ANY, api_get_machine},
    {HTTP_PUT, "/machine-config", false, true, API_PRE_BOOT, api_put_machine},
    {HTTP_PATCH, "/machine-config", false, true, API_PRE_BOOT, api_patch_machine},
    {HTTP_PUT, "/metrics", false, true, API_ANY, api_put_metrics},
    {HTTP_PUT, "/network-interfaces/", true, true, API_PRE_BOOT, api_put_net},
    {HTTP_PATCH, "/network-interfaces/", true, true, API_POST_BOOT, api_patch_net},
    {HTTP_PUT, "/entropy", false, true, API_PRE_BOOT, api_put_entropy},
    {HTTP_PUT, "/serial", false, true, API_PRE_BOOT, api_put_serial},
    {HTTP_PUT, "/vsock", false, true, API_PRE_BOOT, api_put_vsock},
    {HTTP_GET, "/version", false, false, API_ANY, api_get_version},
    {HTTP_GET, "/vm/config", false, false, API_ANY, api_get_vm_config},
};

#define API_ROUTES	  (sizeof(api_routes) / sizeof(api_routes[0]))
#define API_ROW_UNMATCHED API_NR_ROUTES

_Static_assert(API_ROUTES <= API_NR_ROUTES, "grow API_NR_ROUTES");

/* Paths of features later issues add: a clear 400 instead of "unknown path". */
static const char *const api_later[] = {
    "/balloon", "/snapshot", "/vm", "/mmds", "/cpu-config", "/hotplug", "/pmem",
};

static const char *api_method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
		return "GET";
	case HTTP_PUT:
		return "PUT";
	case HTTP_PATCH:
		return "PATCH";
	default:
		return "?";
	}
}

void api_fault(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[512];
	json_t *doc;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->body = NULL;
	resp->body_len = 0;
	doc = json_pack("{s:s}", "fault_message", msg);
	if (doc) {
		/* The message may quote client bytes: jansson escapes them, or refuses non-UTF-8.
		 */
		resp->body = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
	if (!resp->body)
		resp->body = strdup("{\"fault_message\":\"request refused\"}");
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

void api_reply_json(struct http_response *resp, json_t *doc)
{
	resp->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!resp->body) {
		api_fault(resp, 500, "out of memory");
		return;
	}
	resp->status = 200;
	resp->body_len = strlen(resp->body);
}

void api_reply_result(struct http_response *resp, int ret, const char *err)
{
	if (ret) {
		api_fault(resp, 400, "%s", err);
		return;
	}
	resp->status = 204;
	resp->body = NULL;
	resp->body_len = 0;
}

static bool api_path_matches(const struct api_route *r, const char *path)
{
	if (!r->has_param)
		return !strcmp(r->path, path);
	return !strncmp(r->path, path, strlen(r->path));
}

static bool api_path_is_later(const char *path)
{
	for (size_t i = 0; i < sizeof(api_later) / sizeof(api_later[0]); i++) {
		size_t n = strlen(api_later[i]);

		if (!strncmp(path, api_later[i], n) && (path[n] == 0 || path[n] == '/'))
			return true;
	}
	return false;
}

/* The row for @req, or API_ROW_UNMATCHED with the 400 already written. */
static unsigned int api_route_find(const struct http_request *req, struct http_response *resp)
{
	bool path_known = false;

	for (unsigned int i = 0; i < API_ROUTES; i++) {
		if (!api_path_matches(&api_routes[i], req->path))
			continue;
		if (api_routes[i].method == req->method)
			return i;
		path_known = true;
	}
	if (path_known)
		api_fault(resp, 400, "method %s is not allowed on %s", api_method_name(req->method),
			  req->path);
	else if (api_path_is_later(req->path))
		api_fault(resp, 400, "%s %s is not supported yet", api_method_name(req->method),
			  req->path);
	else
		api_fault(resp, 400, "invalid request method and/or path: %s %s",
			  api_method_name(req->method), req->path);
	return API_ROW_UNMATCHED;
}

static bool api_when_ok(struct api *a, const struct api_route *r, const char *path,
			struct http_response *resp)
{
	if (r->when == API_PRE_BOOT && a->started) {
		api_fault(resp, 400, "%s %s is not allowed after the microVM has started",
			  api_method_name(r->method), path);
		return false;
	}
	if (r->when == API_POST_BOOT && !a->started) {
		api_fault(resp, 400, "%s %s is only allowed after the microVM has started",
			  api_method_name(r->method), path);
		return false;
	}
	return true;
}

/* NULL with the 400 written when the body is missing, extra or not JSON. */
static bool api_parse_body(const struct api_route *r, const struct http_request *req, json_t **body,
			   struct http_response *resp)
{
	json_error_t jerr;

	*body = NULL;
	if (!r->body) {
		if (req->body_len) {
			api_fault(resp, 400, "%s %s takes no request body",
				  api_method_name(req->method), req->path);
			return false;
		}
		return true;
	}
	if (!req->body || !req->body_len) {
		api_fault(resp, 400, "%s %s needs a JSON request body",
			  api_method_name(req->method), req->path);
		return false;
	}
	*body = json_loadb((const char *)req->body, req->body_len,
			   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!*body) {
		api_fault(resp, 400, "invalid JSON body at line %d, column %d: %s", jerr.line,
			  jerr.column, jerr.text);
		return false;
	}
	return true;
}

static unsigned int api_status_col(int status)
{
	switch (status) {
	case 200:
		return API_ST_200;
	case 204:
		return API_ST_204;
	case 400:
		return API_ST_400;
	default:
		return API_ST_OTHER;
	}
}

void api_handle(void *opaque, const struct http_request *req, struct http_response *resp)
{
	struct api *a = opaque;
	const struct api_route *r;
	const char *param = NULL;
	unsigned int row;
	json_t *body;

	/* InstanceStart's boot-timer origin: the moment its request is handed over. */
	boot_timer_stamp(&a->req_t0);
	resp->status = 500;
	resp->body = NULL;
	resp->body_len = 0;
	row = api_route_find(req, resp);
	if (row != API_ROW_UNMATCHED) {
		r = &api_routes[row];
		if (r->has_param)
			param = req->path + strlen(r->path);
		if (api_when_ok(a, r, req->path, resp) && api_parse_body(r, req, &body, resp)) {
			r->fn(a, param, body, resp);
			json_decref(body);
		}
	}
	a->requests[row][api_status_col(resp->status)]++;
	log_debug("API %s %s -> %d", api_method_name(req->method), req->path, resp->status);
}

const char *api_route_name(unsigned int row)
{
	static char names[API_NR_ROUTES][32];

	if (row >= API_ROUTES)
		return "unmatched";
	if (!names[row][0])
		snprintf(names[row], sizeof(names[row]), "%s %s%s",
			 api_method_name(api_routes[row].method), api_routes[row].path,
			 api_routes[row].has_param ? "{id}" : "");
	return names[row];
}

unsigned int api_route_count(void)
{
	return API_ROUTES;
}
