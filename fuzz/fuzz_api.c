/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the API's route layer as a hostile client would, past the HTTP parser:
 * a sequence of (method, path, body) requests goes through api_handle() with
 * the VM replaced by stubs. Checked: no memory error (ASan, UBSan), every
 * answer is 200 with JSON, 204 without a body, or a 4xx/5xx whose body is
 * {"fault_message": string}; and GET /vm/config always answers a document
 * that spec_from_json() accepts and that serialises back identically.
 *
 * Input: repeated records  u8 op | path bytes | NUL | u16 LE body length | body
 *   op & 3: 0 GET, 1 PUT, 2 PATCH, 3 PUT; a record cut short ends the input.
 * /logger and /metrics are skipped: they open host files named by the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_start(void *opaque, const struct vm_spec *spec, const struct boot_timer *t0,
		      char *err, size_t len)
{
	struct blk_config drives[SPEC_MAX_DRIVES];
	struct vm_config cfg;

	(void)opaque;
	(void)t0;
	/* What the real start does first; fails without a boot source. */
	return spec_to_vm_config(spec, &cfg, drives, err, len);
}

static int fuzz_cad(void *opaque)
{
	(void)opaque;
	return 0;
}

static int fuzz_drive_update(void *opaque, unsigned int index, const char *path, char *err,
			     size_t len)
{
	(void)opaque;
	(void)index;
	if (path[0] != '/') {
		snprintf(err, len, "not an absolute path");
		return -22;
	}
	return 0;
}

static void fuzz_metrics(void *opaque, json_t *obj)
{
	(void)opaque;
	json_object_set_new(obj, "block", json_object());
}

static int fuzz_drive_ratelimit(void *opaque, unsigned int index, const struct rl_config *upd,
				char *err, size_t len)
{
	struct ratelimiter rl;

	(void)opaque;
	(void)index;
	(void)err;
	(void)len;
	/* What the real update does to the device's buckets, without a timer. */
	ratelimiter_init(&rl);
	ratelimiter_update(&rl, upd);
	ratelimiter_admit(&rl, 4096, 1);
	return 0;
}

static int fuzz_net_ratelimit(void *opaque, unsigned int index, const struct rl_config *rx,
			      const struct rl_config *tx, char *err, size_t len)
{
	fuzz_drive_ratelimit(opaque, index, rx, err, len);
	return fuzz_drive_ratelimit(opaque, index, tx, err, len);
}

static const struct api_ops fuzz_ops = {fuzz_start,	      fuzz_cad,
					fuzz_drive_update,    fuzz_metrics,
					fuzz_drive_ratelimit, fuzz_net_ratelimit};

static void fuzz_check_response(const struct http_response *r)
{
	json_t *doc;

	if (r->status == 204) {
		if (r->body)
			abort();
		return;
	}
	if (!r->body || strlen(r->body) != r->body_len)
		abort();
	doc = json_loads(r->body, 0, NULL);
	if (!doc)
		abort();
	if (r->status != 200 && !json_is_string(json_object_get(doc, "fault_message")))
		abort();
	json_decref(doc);
}

static void fuzz_check_config_round_trip(struct api *a)
{
	char err[SPEC_ERR_BYTES];
	json_t *out1, *out2;
	struct vm_spec s;

	if (!a->spec.boot.kernel_image_path)
		return;
	out1 = spec_to_json(&a->spec);
	spec_init(&s);
	if (!out1 || spec_from_json(&s, out1, err, sizeof(err))) {
		fprintf(stderr, "GET /vm/config not accepted back: %s\n", err);
		abort();
	}
	out2 = spec_to_json(&s);
	if (!json_equal(out1, out2))
		abort();
	json_decref(out1);
	json_decref(out2);
	spec_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_method methods[] = {HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_PUT};
	static bool quiet;
	struct api a;
	size_t off = 0;

	if (!quiet) {
		log_setup(2, LOG_ERROR, "fuzz");
		quiet = true;
	}
	api_init(&a, "fuzz", &fuzz_ops, NULL);
	while (off < size) {
		struct http_request req = {.method = methods[data[off] & 3]};
		struct http_response resp = {0};
		const uint8_t *nul = memchr(data + off + 1, 0, size - off - 1);
		size_t plen, blen;

		if (!nul)
			break;
		plen = (size_t)(nul - (data + off + 1));
		if (plen >= sizeof(req.path) || (size_t)(nul - data) + 3 > size)
			break;
		memcpy(req.path, data + off + 1, plen);
		req.path[plen] = 0;
		blen = (size_t)nul[1] | (size_t)nul[2] << 8;
		off = (size_t)(nul - data) + 3;
		if (blen > size - off)
			blen = size - off;
		req.body = blen ? data + off : NULL;
		req.body_len = blen;
		off += blen;
		if (!strcmp(req.path, "/logger") || !strcmp(req.path, "/metrics"))
			continue;
		api_handle(&a, &req, &resp);
		fuzz_check_response(&resp);
		free(resp.body);
	}
	fuzz_check_config_round_trip(&a);
	api_destroy(&a);
	return 0;
}
