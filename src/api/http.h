/* SPDX-License-Identifier: MIT */
/*
 * Strict HTTP/1.1 server on a Unix stream socket, run from the main epoll
 * loop (non-blocking, no thread of its own). It parses requests within fixed
 * limits and hands each complete one to a single handler; it knows nothing
 * about routes or JSON.
 */
#ifndef KILN_API_HTTP_H
#define KILN_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "vmm/evloop.h"

#define HTTP_MAX_LINE_BYTES	    1024 /* request line, and each header line */
#define HTTP_MAX_HEADERS	    32
#define HTTP_DEFAULT_MAX_BODY_BYTES 51200
#define HTTP_MAX_CONNECTIONS	    16	  /* more get 503 and are closed */
#define HTTP_IDLE_TIMEOUT_MS	    10000 /* a connection idle or trickling this long is closed */
#define HTTP_MAX_PATH_BYTES	    256
#define HTTP_LISTEN_BACKLOG	    128

enum http_method {
	HTTP_GET = 1,
	HTTP_PUT,
	HTTP_PATCH,
};

/* One parsed request; pointers are valid only during the handler call. */
struct http_request {
	enum http_method method;
	char path[HTTP_MAX_PATH_BYTES]; /* NUL-terminated, no query string */
	const uint8_t *body;		/* NULL when there is no body */
	size_t body_len;
};

/* What the handler answers; the server adds the status line and headers. */
struct http_response {
	int status; /* 200, 204, 400, 404, 405, 500, ... */
	char *body; /* malloc'd JSON (owned by the response, freed by the server) or NULL */
	size_t body_len;
};

typedef void (*http_handler_fn)(void *opaque, const struct http_request *req,
				struct http_response *resp);

struct http_server; /* opaque; defined in http.c */

/*
 * The API's listening socket, bound before kiln's first seccomp filter (main.c):
 * afterwards no filter needs socket, bind, listen, connect, umask or chmod.
 */
struct http_listener {
	int fd; /* -1: none */
	dev_t dev;
	ino_t ino; /* the socket inode bound, so only ours is ever unlinked */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * Bind a Unix stream socket at @path (mode 0600; a stale socket there, one
 * nobody listens on, is replaced; anything else is refused) and listen.
 * 0 or -errno.
 */
int http_listen(const char *path, struct http_listener *l);
/* Close an unadopted listener and unlink its socket. */
void http_listener_close(struct http_listener *l);
/* Serve @l from @loop; takes it over (closed, socket unlinked, on failure). NULL + errno. */
struct http_server *http_server_adopt(struct http_listener *l, size_t max_body_bytes,
				      struct evloop *loop, http_handler_fn handler, void *opaque);

/*
 * Create the listening socket at @path (mode 0600; refuses a path that exists
 * and is not a stale socket) and register it with @loop. @max_body_bytes of
 * 0 means HTTP_DEFAULT_MAX_BODY_BYTES. Returns NULL with errno set.
 */
struct http_server *http_server_create(const char *path, size_t max_body_bytes, struct evloop *loop,
				       http_handler_fn handler, void *opaque);
/* Ms until the next idle deadline, for the loop's epoll timeout; -1 if none. */
int http_server_next_timeout_ms(const struct http_server *s);
/* Close connections past their deadline; call after each loop iteration. */
void http_server_expire(struct http_server *s);
/* Close everything and unlink the socket path. */
void http_server_destroy(struct http_server *s);

/* Helper for handlers: a 400-class answer with {"fault_message": msg}. */
void http_response_fault(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
