/* SPDX-License-Identifier: MIT */
/*
 * Metrics sink: one JSON object per line, written non-blocking to a file or
 * FIFO; a line that cannot be written whole is dropped and counted. The
 * counters themselves live in the structs that own them (blk_stats,
 * vcpu_exit_stats, the API's request table); the API layer gathers them.
 */
#ifndef KILN_METRICS_H
#define KILN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_PERIOD_MS 60000 /* periodic flush, as Firecracker's */

/* vCPU exits by reason; each counter has one writer (its vCPU thread). */
struct vcpu_exit_stats {
	uint64_t io;
	uint64_t mmio;
	uint64_t shutdown;
	uint64_t system_event;
	uint64_t internal_error;
	uint64_t fail_entry;
	uint64_t interrupted; /* KVM_RUN returned EINTR/EAGAIN (kicks, signals) */
	uint64_t other;
};

/* Single writer; readers on other threads use metrics_read(). */
static inline void metrics_inc(uint64_t *counter)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline uint64_t metrics_read(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/*
 * Open @path for appending (O_WRONLY|O_APPEND|O_NONBLOCK|O_CLOEXEC, created
 * 0600 if missing) as the sink. 0 or -errno; an existing sink stays if it fails.
 */
int metrics_open(const char *path);
bool metrics_is_open(void);
/* Write @json plus a newline in one write(2); -EAGAIN etc. count a lost line. */
int metrics_write_line(const char *json, size_t len);
uint64_t metrics_lost_count(void);
void metrics_close(void);

#endif
