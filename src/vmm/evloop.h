/* SPDX-License-Identifier: MIT */
/*
 * The main thread's epoll loop. Each watched fd has a handler owned by the
 * module that registered it; the loop only dispatches.
 */
#ifndef KILN_EVLOOP_H
#define KILN_EVLOOP_H

#include <stdint.h>

struct evloop_handler {
	int fd;
	void (*cb)(struct evloop_handler *h, uint32_t events);
	void *opaque;
};

struct evloop {
	int epfd;
};

int evloop_init(struct evloop *loop);
int evloop_add(struct evloop *loop, struct evloop_handler *h, uint32_t events);
int evloop_mod(struct evloop *loop, struct evloop_handler *h, uint32_t events);
void evloop_del(struct evloop *loop, struct evloop_handler *h);
/* Wait up to @timeout_ms (-1: forever) and dispatch; 0 or -errno. */
int evloop_run_once(struct evloop *loop, int timeout_ms);
void evloop_close(struct evloop *loop);

/*
 * A one-shot CLOCK_MONOTONIC timer as an fd the loop can watch (timerfd): a
 * paused device waits on it instead of polling. The owner registers the fd
 * with its own handler and calls evloop_timer_ack() when it fires.
 */
struct evloop_timer {
	int fd; /* owned: -1 until evloop_timer_open(), closed by evloop_timer_close() */
};

/* Create the timerfd (pre-boot: timerfd_create is not allowed later). 0 or -errno. */
int evloop_timer_open(struct evloop_timer *t);
/* Fire once after @delay_ns (at least 1 ns), replacing any earlier arming. 0 or -errno. */
int evloop_timer_arm_ns(struct evloop_timer *t, uint64_t delay_ns);
int evloop_timer_disarm(struct evloop_timer *t);
/* Consume the expiry so the level-triggered fd goes quiet. */
void evloop_timer_ack(struct evloop_timer *t);
void evloop_timer_close(struct evloop_timer *t);

#endif
