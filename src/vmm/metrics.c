/* SPDX-License-Identifier: MIT */
/*
 * Metrics sink. Only the main thread opens, writes and closes it; the lost
 * counter is atomic so any thread may read it.
 */
#include "vmm/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static int metrics_fd = -1;   /* owned by this module: metrics_close() */
static uint64_t metrics_lost; /* atomic */

int metrics_open(const char *path)
{
	/* O_NONBLOCK: a FIFO without a reader fails here (ENXIO) instead of hanging. */
	int fd =
	    open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_CREAT | O_NOCTTY, 0600);

	if (fd < 0)
		return -errno;
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = fd;
	return 0;
}

bool metrics_is_open(void)
{
	return metrics_fd >= 0;
}

int metrics_write_line(const char *json, size_t len)
{
	struct iovec iov[2] = {{(void *)json, len}, {"\n", 1}};
	ssize_t n;

	if (metrics_fd < 0)
		return -EBADF;
	n = writev(metrics_fd, iov, 2);
	if (n == (ssize_t)(len + 1))
		return 0;
	/* A short write to a FIFO leaves a torn line; the reader sees it unterminated. */
	__atomic_add_fetch(&metrics_lost, 1, __ATOMIC_RELAXED);
	return n < 0 ? -errno : -EAGAIN;
}

uint64_t metrics_lost_count(void)
{
	return __atomic_load_n(&metrics_lost, __ATOMIC_RELAXED);
}

void metrics_close(void)
{
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = -1;
}
