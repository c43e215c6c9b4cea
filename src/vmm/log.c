/* SPDX-License-Identifier: MIT */
/*
 * Log sink. Lines are formatted into one buffer and written with a single
 * write(2) so lines from different threads never interleave.
 */
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Written once by log_setup() before threads exist; read-only afterwards. */
static struct {
	int fd;
	enum log_level level;
	const char *id;
} log_cfg = {2, LOG_WARN, "anonymous-instance"};

static const char *const log_level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

int log_level_parse(const char *s)
{
	if (!strcasecmp(s, "error"))
		return LOG_ERROR;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return LOG_WARN;
	if (!strcasecmp(s, "info"))
		return LOG_INFO;
	if (!strcasecmp(s, "debug") || !strcasecmp(s, "trace"))
		return LOG_DEBUG;
	return -1;
}

void log_setup(int fd, enum log_level level, const char *instance_id)
{
	log_cfg.fd = fd;
	log_cfg.level = level;
	if (instance_id)
		log_cfg.id = instance_id;
}

enum log_level log_get_level(void)
{
	return log_cfg.level;
}

void log_msg(enum log_level lvl, const char *origin, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n, m;

	if (lvl > log_cfg.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%06ld [%s:%s:%s] ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000, log_cfg.id, log_level_names[lvl], origin);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Best effort: a full or closed log sink must never stop the VMM. */
	if (write(log_cfg.fd, line, (size_t)n) < 0)
		return;
}

int log_ratelimit_allow(struct log_ratelimit *rl, unsigned int burst)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (now - rl->window_start_ns >= 1000000000ULL) {
		if (rl->suppressed)
			log_warn("%u similar messages suppressed", rl->suppressed);
		rl->window_start_ns = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window < burst) {
		rl->in_window++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}
