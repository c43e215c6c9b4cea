/* SPDX-License-Identifier: MIT */
/*
 * Log sink. Lines are formatted into one buffer and written with a single
 * write(2) so lines from different threads never interleave.
 *
 * Runtime changes (PUT /logger) race with vCPU threads logging, so:
 * - the sink is a private descriptor whose number never changes; a new sink is
 *   dup3()'d onto it, which the kernel does atomically against concurrent
 *   writes (a writer lands in the old file or the new one, never a stale or
 *   reused descriptor number);
 * - level and format flags are single atomic ints;
 * - the module filter string is guarded by a mutex, taken only when a filter
 *   is set.
 */
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_SHOW_LEVEL	  1
#define LOG_SHOW_ORIGIN	  2
#define LOG_FILTER_MODULE 4

static struct {
	int fd;		 /* private duplicate once log_setup() ran; its number never changes */
	bool fd_private; /* fd is ours (closed never: it lives as long as the process) */
	int level;	 /* atomic: enum log_level or LOG_LEVEL_OFF */
	int flags;	 /* atomic: LOG_SHOW_* | LOG_FILTER_MODULE */
	const char *id;
	pthread_mutex_t module_lock;
	char module[129];
	uint64_t lost; /* atomic */
} log_cfg = {
    .fd = 2,
    .level = LOG_WARN,
    .flags = LOG_SHOW_LEVEL | LOG_SHOW_ORIGIN,
    .id = "anonymous-instance",
    .module_lock = PTHREAD_MUTEX_INITIALIZER,
};

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

/* Point the private descriptor at @fd's file; the caller keeps @fd. */
static int log_install_fd(int fd)
{
	int priv;

	if (log_cfg.fd_private) {
		if (fd == log_cfg.fd)
			return 0;
		return dup3(fd, log_cfg.fd, O_CLOEXEC) < 0 ? -errno : 0;
	}
	priv = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (priv < 0)
		return -errno;
	__atomic_store_n(&log_cfg.fd, priv, __ATOMIC_RELEASE);
	log_cfg.fd_private = true;
	return 0;
}

void log_setup(int fd, enum log_level level, const char *instance_id)
{
	/* Before threads exist; if duplicating fails, log to @fd directly. */
	if (log_install_fd(fd))
		log_cfg.fd = fd;
	__atomic_store_n(&log_cfg.level, (int)level, __ATOMIC_RELAXED);
	if (instance_id)
		log_cfg.id = instance_id;
}

enum log_level log_get_level(void)
{
	return (enum log_level)__atomic_load_n(&log_cfg.level, __ATOMIC_RELAXED);
}

int log_reconfigure(int new_fd, const struct log_options *opt)
{
	int flags =
	    (opt->show_level ? LOG_SHOW_LEVEL : 0) | (opt->show_origin ? LOG_SHOW_ORIGIN : 0);
	int err = 0;

	if (new_fd >= 0) {
		err = log_install_fd(new_fd);
		close(new_fd);
		if (err)
			return err;
	}
	pthread_mutex_lock(&log_cfg.module_lock);
	snprintf(log_cfg.module, sizeof(log_cfg.module), "%s", opt->module ? opt->module : "");
	if (log_cfg.module[0])
		flags |= LOG_FILTER_MODULE;
	pthread_mutex_unlock(&log_cfg.module_lock);
	__atomic_store_n(&log_cfg.flags, flags, __ATOMIC_RELAXED);
	__atomic_store_n(&log_cfg.level, opt->level, __ATOMIC_RELAXED);
	return 0;
}

uint64_t log_lost_count(void)
{
	return __atomic_load_n(&log_cfg.lost, __ATOMIC_RELAXED);
}

static bool log_module_allows(const char *origin)
{
	bool ok;

	pthread_mutex_lock(&log_cfg.module_lock);
	ok = !strncmp(origin, log_cfg.module, strlen(log_cfg.module));
	pthread_mutex_unlock(&log_cfg.module_lock);
	return ok;
}

void log_msg(enum log_level lvl, const char *origin, const char *fmt, ...)
{
	int level = __atomic_load_n(&log_cfg.level, __ATOMIC_RELAXED);
	int flags = __atomic_load_n(&log_cfg.flags, __ATOMIC_RELAXED);
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n, m;

	if ((int)lvl > level)
		return;
	if ((flags & LOG_FILTER_MODULE) && !log_module_allows(origin))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%06ld [%s%s%s%s%s] ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000, log_cfg.id, (flags & LOG_SHOW_LEVEL) ? ":" : "",
		     (flags & LOG_SHOW_LEVEL) ? log_level_names[lvl] : "",
		     (flags & LOG_SHOW_ORIGIN) ? ":" : "", (flags & LOG_SHOW_ORIGIN) ? origin : "");
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
	/* Best effort: a full or closed sink must never stop the VMM; the loss is counted. */
	if (write(__atomic_load_n(&log_cfg.fd, __ATOMIC_ACQUIRE), line, (size_t)n) != n)
		__atomic_add_fetch(&log_cfg.lost, 1, __ATOMIC_RELAXED);
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
