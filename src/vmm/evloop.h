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

#endif
