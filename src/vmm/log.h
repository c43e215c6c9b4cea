/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event with time, instance id and optionally level and
 * origin. main() sets the sink up before any thread starts; the API may later
 * switch the sink, level and format while vCPU threads log (log.c says how).
 */
#ifndef KILN_LOG_H
#define KILN_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
#define LOG_LEVEL_OFF (-1) /* for log_reconfigure(): nothing is written */

/* Parse "error|warn|warning|info|debug" (case-insensitive); -1 if unknown. */
int log_level_parse(const char *s);
/* Start-up sink: lines go to @fd (kept open by the caller), level and origin shown. */
void log_setup(int fd, enum log_level level, const char *instance_id);
enum log_level log_get_level(void);

struct log_options {
	int level; /* enum log_level or LOG_LEVEL_OFF */
	bool show_level;
	bool show_origin;
	const char *module; /* only origins starting with this; NULL or "": all */
};

/*
 * Runtime reconfiguration (main thread). @new_fd >= 0 replaces the sink: it is
 * duplicated onto the sink's private descriptor and closed. 0 or -errno.
 */
int log_reconfigure(int new_fd, const struct log_options *opt);
/* Lines dropped because the sink refused them (EAGAIN, full FIFO, errors). */
uint64_t log_lost_count(void);

void log_msg(enum log_level lvl, const char *origin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)   log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)

/*
 * Rate limiter for guest-triggered messages: at most @burst lines per
 * second per limiter; the caller owns the struct (one per device/event).
 */
struct log_ratelimit {
	uint64_t window_start_ns;
	unsigned int in_window;
	unsigned int suppressed;
};
int log_ratelimit_allow(struct log_ratelimit *rl, unsigned int burst);

#endif
