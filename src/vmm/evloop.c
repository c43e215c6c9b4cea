/* SPDX-License-Identifier: MIT */
#include "vmm/evloop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define EVLOOP_MAX_EVENTS 32

int evloop_init(struct evloop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

static int evloop_ctl(struct evloop *loop, int op, struct evloop_handler *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	return epoll_ctl(loop->epfd, op, h->fd, &ev) < 0 ? -errno : 0;
}

int evloop_add(struct evloop *loop, struct evloop_handler *h, uint32_t events)
{
	return evloop_ctl(loop, EPOLL_CTL_ADD, h, events);
}

int evloop_mod(struct evloop *loop, struct evloop_handler *h, uint32_t events)
{
	return evloop_ctl(loop, EPOLL_CTL_MOD, h, events);
}

void evloop_del(struct evloop *loop, struct evloop_handler *h)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[EVLOOP_MAX_EVENTS];
	int n = epoll_wait(loop->epfd, evs, EVLOOP_MAX_EVENTS, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct evloop_handler *h = evs[i].data.ptr;

		h->cb(h, evs[i].events);
	}
	return 0;
}

void evloop_close(struct evloop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

int evloop_timer_open(struct evloop_timer *t)
{
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	return t->fd < 0 ? -errno : 0;
}

static int evloop_timer_set(struct evloop_timer *t, uint64_t delay_ns)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(delay_ns / 1000000000ULL),
			 .tv_nsec = (long)(delay_ns % 1000000000ULL)},
	};

	if (t->fd < 0)
		return -EBADF;
	return timerfd_settime(t->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int evloop_timer_arm_ns(struct evloop_timer *t, uint64_t delay_ns)
{
	/* An all-zero it_value disarms: the shortest arming is 1 ns. */
	return evloop_timer_set(t, delay_ns ? delay_ns : 1);
}

int evloop_timer_disarm(struct evloop_timer *t)
{
	return evloop_timer_set(t, 0);
}

void evloop_timer_ack(struct evloop_timer *t)
{
	uint64_t expiries;
	ssize_t r;

	if (t->fd < 0)
		return;
	/* EAGAIN (a re-arm raced the wake-up) leaves nothing to clear. */
	r = read(t->fd, &expiries, sizeof(expiries));
	(void)r;
}

void evloop_timer_close(struct evloop_timer *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
