/* SPDX-License-Identifier: MIT */
/*
 * Between the router (router.c) and the handlers (handlers.c): one handler
 * per route row. @param is the path's {id} part or NULL; @body is the parsed
 * JSON body for routes that take one, NULL otherwise.
 */
#ifndef KILN_API_PRIV_H
#define KILN_API_PRIV_H

#include "api/api.h"

typedef void (*api_route_fn)(struct api *a, const char *param, const json_t *body,
			     struct http_response *resp);

/* Answer 200 with @doc serialised (takes the reference). */
void api_reply_json(struct http_response *resp, json_t *doc);
/* 204, or 400 with @err when @ret is non-zero. */
void api_reply_result(struct http_response *resp, int ret, const char *err);

void api_get_root(struct api *a, const char *param, const json_t *body, struct http_response *resp);
void api_get_version(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_put_actions(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_put_boot_source(struct api *a, const char *param, const json_t *body,
			 struct http_response *resp);
void api_get_machine(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_put_machine(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_patch_machine(struct api *a, const char *param, const json_t *body,
		       struct http_response *resp);
void api_put_drive(struct api *a, const char *param, const json_t *body,
		   struct http_response *resp);
void api_patch_drive(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_put_vsock(struct api *a, const char *param, const json_t *body,
		   struct http_response *resp);
void api_put_net(struct api *a, const char *param, const json_t *body, struct http_response *resp);
void api_patch_net(struct api *a, const char *param, const json_t *body,
		   struct http_response *resp);
void api_put_entropy(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_put_serial(struct api *a, const char *param, const json_t *body,
		    struct http_response *resp);
void api_put_logger(struct api *a, const char *param, const json_t *body,
		    struct http_response *resp);
void api_put_metrics(struct api *a, const char *param, const json_t *body,
		     struct http_response *resp);
void api_get_vm_config(struct api *a, const char *param, const json_t *body,
		       struct http_response *resp);

#endif
