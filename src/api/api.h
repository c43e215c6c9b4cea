/* SPDX-License-Identifier: MIT */
/*
 * The API's state and routes: the pre-boot configuration, whether the VM runs,
 * per-route request counters, and the hooks that reach the VM. The router is
 * the single http_handler_fn the HTTP server calls; everything that touches
 * KVM goes through struct api_ops, so the fuzzer and the unit tests stub it.
 */
#ifndef KILN_API_API_H
#define KILN_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/http.h"
#include "api/vm_spec.h"
#include "vmm/boot_timer.h"

#define API_ID_MAX    64 /* --id: [A-Za-z0-9-]{1,64} */
#define API_APP_NAME  "kiln"
#define API_NR_ROUTES 32 /* room in the request-counter table */

/* Status columns of the request counters. */
enum api_status_col { API_ST_200, API_ST_204, API_ST_400, API_ST_OTHER, API_ST_COLS };

struct api_ops {
	/*
	 * Build and start the VM from @spec; return only once the vCPUs run. @t0
	 * is the InstanceStart arrival stamp for the boot timer. 0, or -errno
	 * with one line in @err.
	 */
	int (*start)(void *opaque, const struct vm_spec *spec, const struct boot_timer *t0,
		     char *err, size_t len);
	int (*ctrl_alt_del)(void *opaque);
	/* Post-boot PATCH /drives: reopen drive @index from @path; 0 or -errno with @err. */
	int (*drive_update)(void *opaque, unsigned int index, const char *path, char *err,
			    size_t len);
	/* Add the VM's device and vCPU counters to a metrics object (after start). */
	void (*collect_metrics)(void *opaque, json_t *obj);
	/* Post-boot PATCH /drives rate_limiter: apply the buckets @upd sets; 0 or -errno + @err. */
	int (*drive_ratelimit)(void *opaque, unsigned int index, const struct rl_config *upd,
			       char *err, size_t len);
	/* Post-boot PATCH /network-interfaces: the same for interface @index's rx and tx. */
	int (*net_ratelimit)(void *opaque, unsigned int index, const struct rl_config *rx,
			     const struct rl_config *tx, char *err, size_t len);
};

struct api {
	struct vm_spec spec; /* owned: what InstanceStart builds; kept for GET /vm/config */
	bool started;
	char id[API_ID_MAX + 1];
	const struct api_ops *ops;
	void *opaque;
	uint64_t next_flush_ns;	  /* CLOCK_MONOTONIC of the next periodic metrics flush; 0: none */
	struct boot_timer req_t0; /* arrival stamp of the request being handled */
	/* Requests by route table row and status; the last row counts unmatched paths. */
	uint64_t requests[API_NR_ROUTES + 1][API_ST_COLS];
};

/* @id NULL: "anonymous-instance" (Firecracker's default). */
void api_init(struct api *a, const char *id, const struct api_ops *ops, void *opaque);
void api_destroy(struct api *a);
bool api_id_valid(const char *id);

/* The http_handler_fn: @opaque is the struct api. */
void api_handle(void *opaque, const struct http_request *req, struct http_response *resp);

/* A 4xx/5xx answer with {"fault_message": ...} (the server's helper, kept here for the fuzzer). */
void api_fault(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Apply and record a logger / metrics configuration (PUT, --config-file). 0 or -errno + @err. */
int api_set_logger(struct api *a, const struct spec_logger *l, char *err, size_t len);
int api_set_metrics(struct api *a, const struct spec_metrics *m, char *err, size_t len);
/*
 * Boot from the spec already in @a (--config-file, CLI flags): apply its
 * logger and metrics, then start with @t0 as the boot-timer origin.
 */
int api_boot_spec(struct api *a, const struct boot_timer *t0, char *err, size_t len);

/* Write one metrics line now (FlushMetrics, the 60 s tick); 0 or -errno. */
int api_flush_metrics(struct api *a);
/* Ms until the periodic flush is due (-1: no metrics sink); for the loop timeout. */
int api_next_timeout_ms(const struct api *a);
/* Flush if the period elapsed; call each loop iteration. */
void api_tick(struct api *a);

/* Route table lookups shared by the counters and the fuzzer (router.c). */
const char *api_route_name(unsigned int row);
unsigned int api_route_count(void);

#endif
