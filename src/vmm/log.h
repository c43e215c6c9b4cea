/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event with level, time and origin. The sink and level
 * are set once by main() before any thread starts and never change after, so
 * the only process-wide state here is effectively read-only.
 */
#ifndef KILN_LOG_H
#define KILN_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parse "error|warn|warning|info|debug" (case-insensitive); -1 if unknown. */
int log_level_parse(const char *s);
void log_setup(int fd, enum log_level level, const char *instance_id);
enum log_level log_get_level(void);

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
