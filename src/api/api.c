/* SPDX-License-Identifier: MIT */
/*
 * API state: set-up, the logger and metrics configuration it applies, booting
 * from a finished spec, and the metrics line (API counters here, device and
 * vCPU counters from the VM through api_ops.collect_metrics).
 */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/metrics.h"

static const char *const api_status_names[API_ST_COLS] = {"200", "204", "400", "other"};

bool api_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > API_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

void api_init(struct api *a, const char *id, const struct api_ops *ops, void *opaque)
{
	memset(a, 0, sizeof(*a));
	spec_init(&a->spec);
	snprintf(a->id, sizeof(a->id), "%s", id ? id : "anonymous-instance");
	a->ops = ops;
	a->opaque = opaque;
}

void api_destroy(struct api *a)
{
	spec_free(&a->spec);
	metrics_close();
}

static int api_log_level(enum spec_log_level l)
{
	static const int map[] = {LOG_ERROR, LOG_WARN,	LOG_INFO,
				  LOG_DEBUG, LOG_DEBUG, LOG_LEVEL_OFF};

	return l <= SPEC_LOG_OFF ? map[l] : LOG_INFO;
}

int api_set_logger(struct api *a, const struct spec_logger *l, char *err, size_t len)
{
	struct log_options opt = {api_log_level(l->level), l->show_level, l->show_log_origin,
				  l->module};
	char *path = NULL;
	int fd = -1, ret;

	if (l->log_path) {
		/* Firecracker's flags; O_NONBLOCK so a slow FIFO reader costs lines, not vCPUs. */
		fd = open(l->log_path,
			  O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_CREAT | O_NOCTTY, 0600);
		if (fd < 0 || !(path = strdup(l->log_path))) {
			ret = fd < 0 ? -errno : -ENOMEM;
			if (fd >= 0)
				close(fd);
			snprintf(err, len, "logger: cannot open log_path %s: %s", l->log_path,
				 strerror(-ret));
			return ret;
		}
	}
	ret = log_reconfigure(fd, &opt);
	if (ret) {
		free(path);
		snprintf(err, len, "logger: cannot switch to log_path: %s", strerror(-ret));
		return ret;
	}
	if (l != &a->spec.logger) {
		spec_logger_free(&a->spec.logger);
		a->spec.logger = *l;
		a->spec.logger.log_path = path;
	} else {
		free(path);
	}
	return 0;
}

int api_set_metrics(struct api *a, const struct spec_metrics *m, char *err, size_t len)
{
	char *path;
	int ret;

	if (metrics_is_open()) {
		snprintf(err, len, "metrics: already configured (Firecracker allows it once)");
		return -EINVAL;
	}
	ret = metrics_open(m->metrics_path);
	if (ret) {
		snprintf(err, len, "metrics: cannot open metrics_path %s: %s", m->metrics_path,
			 strerror(-ret));
		return ret;
	}
	a->next_flush_ns = boot_timer_now_ns(CLOCK_MONOTONIC) + METRICS_PERIOD_MS * 1000000ULL;
	if (m == &a->spec.metrics)
		return 0;
	path = strdup(m->metrics_path);
	if (!path) {
		metrics_close();
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	spec_metrics_free(&a->spec.metrics);
	a->spec.metrics = *m;
	a->spec.metrics.metrics_path = path;
	return 0;
}

int api_boot_spec(struct api *a, const struct boot_timer *t0, char *err, size_t len)
{
	int ret = 0;

	if (a->spec.logger.set)
		ret = api_set_logger(a, &a->spec.logger, err, len);
	if (!ret && a->spec.metrics.set)
		ret = api_set_metrics(a, &a->spec.metrics, err, len);
	if (!ret)
		ret = a->ops->start(a->opaque, &a->spec, t0, err, len);
	if (!ret)
		a->started = true;
	return ret;
}

static json_t *api_requests_json(const struct api *a)
{
	json_t *all = json_object();

	for (unsigned int row = 0; all && row <= API_NR_ROUTES; row++) {
		json_t *by_status = NULL;

		if (row < API_NR_ROUTES && row >= api_route_count())
			continue;
		for (unsigned int c = 0; c < API_ST_COLS; c++) {
			if (!a->requests[row][c])
				continue;
			if (!by_status)
				by_status = json_object();
			json_object_set_new(by_status, api_status_names[c],
					    json_integer((json_int_t)a->requests[row][c]));
		}
		if (by_status)
			json_object_set_new(all, api_route_name(row), by_status);
	}
	return all;
}

int api_flush_metrics(struct api *a)
{
	json_t *doc, *props;
	char *line;
	int ret;

	if (!metrics_is_open())
		return -EBADF;
	/* Counters are cumulative since start (Firecracker sends deltas; see docs/API.md). */
	doc = json_pack("{s:I, s:s, s:{s:o}, s:{s:I}, s:{s:I}}", "utc_timestamp_ms",
			(json_int_t)(boot_timer_now_ns(CLOCK_REALTIME) / 1000000), "id", a->id,
			"api_server", "requests", api_requests_json(a), "logger",
			"missed_log_count", (json_int_t)log_lost_count(), "metrics",
			"missed_metrics_count", (json_int_t)metrics_lost_count());
	if (!doc)
		return -ENOMEM;
	if (a->spec.metrics.nr_props && (props = json_object())) {
		for (unsigned int i = 0; i < a->spec.metrics.nr_props; i++)
			json_object_set_new(props, a->spec.metrics.prop_key[i],
					    json_string(a->spec.metrics.prop_val[i]));
		json_object_set_new(doc, "properties", props);
	}
	if (a->started && a->ops->collect_metrics)
		a->ops->collect_metrics(a->opaque, doc);
	line = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!line)
		return -ENOMEM;
	ret = metrics_write_line(line, strlen(line));
	free(line);
	return ret;
}

int api_next_timeout_ms(const struct api *a)
{
	uint64_t now;

	if (!a->next_flush_ns)
		return -1;
	now = boot_timer_now_ns(CLOCK_MONOTONIC);
	if (now >= a->next_flush_ns)
		return 0;
	return (int)((a->next_flush_ns - now + 999999) / 1000000);
}

void api_tick(struct api *a)
{
	uint64_t now;

	if (!a->next_flush_ns)
		return;
	now = boot_timer_now_ns(CLOCK_MONOTONIC);
	if (now < a->next_flush_ns)
		return;
	a->next_flush_ns = now + METRICS_PERIOD_MS * 1000000ULL;
	if (api_flush_metrics(a))
		log_debug("periodic metrics line lost (%llu so far)",
			  (unsigned long long)metrics_lost_count());
}
