/* SPDX-License-Identifier: MIT */
#include "vmm/evloop.h"

#include <errno.h>
#include <sys/epoll.h>
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
