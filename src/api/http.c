/* SPDX-License-Identifier: MIT */
/*
 * The API socket: accepts connections on a Unix stream socket, feeds each
 * one's bytes to http_parse, calls the handler once per complete request and
 * writes the answer without blocking. It owns the listening socket, a fixed
 * table of HTTP_MAX_CONNECTIONS connection slots and each connection's two
 * buffers; nothing here grows with what a client sends beyond those limits.
 *
 * Flow control: a connection reads only while it has nothing left to write,
 * so at most one answer per connection is ever buffered, however many
 * requests a client pipelines without reading.
 */
#include "api/http.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/http_parse.h"
#include "vmm/log.h"

#define HTTP_ACCEPT_BATCH	32  /* accepts per wakeup, so a flood cannot starve the loop */
#define HTTP_FAULT_MSG_BYTES	512 /* longer fault messages are truncated */
#define HTTP_RESP_HEAD_BYTES	256
#define HTTP_REJECT_DRAIN_BYTES 4096
#define HTTP_LOG_BURST_PER_SEC	5
static const char http_continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

struct http_conn {
	struct http_server *srv;
	struct evloop_handler h; /* h.fd < 0: the slot is free */
	uint32_t events;	 /* what the loop watches for this fd now */
	uint8_t *in;		 /* owned: allocated at accept, freed at close; srv->in_cap bytes */
	size_t in_len;
	struct http_parser parser;
	char *out; /* owned: the answer being written, freed once sent */
	size_t out_len, out_off;
	bool close_after; /* close once out is sent */
	bool peer_eof;
	uint64_t deadline_ms;
};

struct http_server {
	struct evloop *loop;
	struct evloop_handler listen_h;
	struct http_listener sock; /* path and inode bound, so destroy unlinks only ours */
	size_t max_body;
	size_t in_cap; /* HTTP_MAX_HEAD_BYTES + max_body: always holds one whole request */
	http_handler_fn handler;
	void *opaque;
	int spare_fd; /* kept open to shed a connection when the fd table is full */
	unsigned int nconns;
	struct log_ratelimit log_rl;
	struct http_conn conns[HTTP_MAX_CONNECTIONS];
};

static uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

/*
 * One malloc'd buffer with the status line, headers and body (RFC 9112 §4,
 * §6.2: no Content-Length on a 204). Takes the body; NULL on allocation failure.
 */
static char *http_format_response(struct http_response *resp, bool close_after, size_t *len)
{
	char head[HTTP_RESP_HEAD_BYTES];
	bool no_body = resp->status == 204;
	size_t blen = no_body || !resp->body ? 0 : resp->body_len;
	size_t total;
	char *out = NULL;
	int n;

	if (no_body)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 204 No Content\r\nServer: kiln\r\n%s\r\n",
			     close_after ? "Connection: close\r\n" : "");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: kiln\r\nContent-Length: %zu\r\n%s%s\r\n",
			     resp->status, http_reason(resp->status), blen,
			     blen ? "Content-Type: application/json\r\n" : "",
			     close_after ? "Connection: close\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) || __builtin_add_overflow((size_t)n, blen, &total))
		goto out;
	out = malloc(total);
	if (!out)
		goto out;
	memcpy(out, head, (size_t)n);
	if (blen)
		memcpy(out + n, resp->body, blen);
	*len = total;
out:
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	return out;
}

static void http_conn_set_events(struct http_conn *c, uint32_t events)
{
	if (c->events == events)
		return;
	if (evloop_mod(c->srv->loop, &c->h, events) == 0)
		c->events = events;
}

static void http_conn_close(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->h.fd < 0)
		return;
	evloop_del(s->loop, &c->h);
	close(c->h.fd);
	c->h.fd = -1;
	free(c->in);
	c->in = NULL;
	free(c->out);
	c->out = NULL;
	s->nconns--;
}

/* 1: everything sent; 0: the socket is full, wait for EPOLLOUT; -errno: drop the peer. */
static int http_conn_flush(struct http_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* Queue an answer; out is empty here. NULL (no memory): the connection just closes. */
static void http_conn_queue(struct http_conn *c, char *buf, size_t len)
{
	if (!buf) {
		c->close_after = true;
		return;
	}
	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
}

static void http_conn_answer(struct http_conn *c, struct http_response *resp)
{
	size_t len = 0;
	char *buf = http_format_response(resp, c->close_after, &len);

	http_conn_queue(c, buf, len);
}

static void http_conn_fault(struct http_conn *c, int status, const char *msg)
{
	struct http_response resp = {0};

	http_response_fault(&resp, status, "%s", msg);
	c->close_after = true;
	http_conn_answer(c, &resp);
}

static void http_conn_dispatch(struct http_conn *c, const struct http_request_raw *raw)
{
	struct http_server *s = c->srv;
	struct http_request req = {.method = raw->method};
	struct http_response resp = {0};

	memcpy(req.path, raw->path, sizeof(req.path));
	if (raw->body_len) {
		req.body = c->in + raw->body_off;
		req.body_len = raw->body_len;
	}
	s->handler(s->opaque, &req, &resp);
	if (resp.status < 200 || resp.status > 599) {
		log_err("handler answered status %d for %s; sending 500", resp.status, req.path);
		free(resp.body);
		resp.body = NULL;
		http_response_fault(&resp, 500, "internal error");
	}
	c->close_after = !raw->keep_alive;
	http_conn_answer(c, &resp);
}

/* Parse what is buffered; true if an answer was queued (or the connection must close). */
static bool http_conn_step(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct http_request_raw raw;
	enum http_parse_result r = http_parse(&c->parser, c->in, c->in_len, &raw);

	switch (r) {
	case HTTP_PARSE_NEED_MORE:
		if (c->peer_eof) {
			/* The peer left mid-request (or between requests): nothing to answer. */
			c->close_after = true;
			return true;
		}
		if (c->in_len == s->in_cap) {
			/* Cannot happen: the limits bound a request below in_cap. Fail closed. */
			log_err("API request does not fit its %zu-byte buffer", s->in_cap);
			http_conn_fault(c, 500, "internal error: request buffer full");
			return true;
		}
		return false;
	case HTTP_PARSE_CONTINUE:
		/* RFC 9110 §15.2.1: interim answer, then the body follows. */
		http_conn_queue(c, strdup(http_continue_line), sizeof(http_continue_line) - 1);
		return true;
	case HTTP_PARSE_ERROR:
		http_conn_fault(c, http_parse_err_status(c->parser.err),
				http_parse_err_str(c->parser.err));
		return true;
	case HTTP_PARSE_COMPLETE:
		break;
	}
	http_conn_dispatch(c, &raw);
	/* Keep the pipelined bytes that follow; they start the next request. */
	c->in_len -= raw.consumed;
	memmove(c->in, c->in + raw.consumed, c->in_len);
	http_parser_init(&c->parser, s->max_body);
	c->deadline_ms = http_now_ms() + HTTP_IDLE_TIMEOUT_MS;
	return true;
}

/* Write what is queued, then parse more, until the socket is full or input runs out. */
static void http_conn_kick(struct http_conn *c)
{
	for (;;) {
		if (c->out) {
			int r = http_conn_flush(c);

			if (r < 0) {
				http_conn_close(c);
				return;
			}
			if (r == 0) {
				http_conn_set_events(c, EPOLLOUT);
				return;
			}
		}
		if (c->close_after && !c->out) {
			http_conn_close(c);
			return;
		}
		if (!http_conn_step(c))
			break;
	}
	http_conn_set_events(c, EPOLLIN);
}

static void http_conn_cb(struct evloop_handler *h, uint32_t events)
{
	struct http_conn *c = h->opaque;
	struct http_server *s = c->srv;

	if (events & EPOLLERR) {
		http_conn_close(c);
		return;
	}
	if ((events & EPOLLIN) && c->in_len < s->in_cap) {
		ssize_t n = recv(c->h.fd, c->in + c->in_len, s->in_cap - c->in_len, MSG_DONTWAIT);

		if (n == 0)
			c->peer_eof = true;
		else if (n > 0)
			c->in_len += (size_t)n;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			http_conn_close(c);
			return;
		}
	} else if (events & EPOLLHUP) {
		/* Both directions are gone and nothing is left to read. */
		http_conn_close(c);
		return;
	}
	http_conn_kick(c);
}

/* Over the connection limit: a best-effort 503, then close. */
static void http_reject(struct http_server *s, int fd)
{
	struct http_response resp = {0};
	char drain[HTTP_REJECT_DRAIN_BYTES];
	size_t len = 0;
	char *buf;

	if (log_ratelimit_allow(&s->log_rl, HTTP_LOG_BURST_PER_SEC))
		log_warn("API connection refused: %u connections open", s->nconns);
	http_response_fault(&resp, 503, "too many API connections (at most %d)",
			    HTTP_MAX_CONNECTIONS);
	buf = http_format_response(&resp, true, &len);
	if (buf && send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("503 not delivered: %s", strerror(errno));
	free(buf);
	/*
	 * Read what the client already sent: closing a Unix socket with unread
	 * data makes the peer's reads fail with ECONNRESET after the 503.
	 */
	if (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) < 0)
		log_debug("drain: %s", strerror(errno));
	close(fd);
}

static void http_accept_one(struct http_server *s, int fd)
{
	struct http_conn *c = NULL;

	if (s->nconns >= HTTP_MAX_CONNECTIONS) {
		http_reject(s, fd);
		return;
	}
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		if (s->conns[i].h.fd < 0) {
			c = &s->conns[i];
			break;
		}
	}
	memset(c, 0, sizeof(*c));
	c->srv = s;
	c->h.fd = fd;
	c->h.cb = http_conn_cb;
	c->h.opaque = c;
	c->in = malloc(s->in_cap);
	c->events = EPOLLIN;
	c->deadline_ms = http_now_ms() + HTTP_IDLE_TIMEOUT_MS;
	http_parser_init(&c->parser, s->max_body);
	if (!c->in || evloop_add(s->loop, &c->h, c->events) < 0) {
		log_err("API connection dropped: out of memory or epoll failure");
		free(c->in);
		c->in = NULL;
		c->h.fd = -1;
		close(fd);
		return;
	}
	s->nconns++;
}

static void http_listen_cb(struct evloop_handler *h, uint32_t events)
{
	struct http_server *s = h->opaque;

	(void)events;
	for (int i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		int fd = accept4(s->listen_h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			http_accept_one(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
			/* Out of fds: take the client with the spare and shed it, else the
			 * listening socket stays readable and the loop spins. */
			close(s->spare_fd);
			fd = accept4(s->listen_h.fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (log_ratelimit_allow(&s->log_rl, HTTP_LOG_BURST_PER_SEC))
				log_warn("API connection shed: out of file descriptors");
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			log_warn("accept on the API socket: %s", strerror(errno));
		return;
	}
}

struct http_server *http_server_adopt(struct http_listener *l, size_t max_body_bytes,
				      struct evloop *loop, http_handler_fn handler, void *opaque)
{
	struct http_server *s = NULL;
	int err;

	if (l->fd < 0 || !loop || !handler) {
		err = -EINVAL;
		goto fail;
	}
	if (max_body_bytes == 0)
		max_body_bytes = HTTP_DEFAULT_MAX_BODY_BYTES;
	s = calloc(1, sizeof(*s)); /* owned by the caller until http_server_destroy() */
	if (!s) {
		err = -ENOMEM;
		goto fail;
	}
	if (__builtin_add_overflow((size_t)HTTP_MAX_HEAD_BYTES, max_body_bytes, &s->in_cap)) {
		err = -EINVAL;
		goto fail;
	}
	s->loop = loop;
	s->max_body = max_body_bytes;
	s->handler = handler;
	s->opaque = opaque;
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		s->conns[i].h.fd = -1;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->sock = *l; /* sock.fd is listen_h.fd: closed once, by http_listener_close() */
	s->listen_h.fd = l->fd;
	s->listen_h.cb = http_listen_cb;
	s->listen_h.opaque = s;
	err = evloop_add(loop, &s->listen_h, EPOLLIN);
	if (err)
		goto fail;
	l->fd = -1; /* the server's now */
	return s;
fail:
	http_listener_close(l);
	if (s && s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
	errno = -err;
	return NULL;
}

int http_server_next_timeout_ms(const struct http_server *s)
{
	uint64_t now = http_now_ms(), best = UINT64_MAX;

	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		const struct http_conn *c = &s->conns[i];

		if (c->h.fd >= 0 && c->deadline_ms < best)
			best = c->deadline_ms;
	}
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	return best - now > INT_MAX ? INT_MAX : (int)(best - now);
}

void http_server_expire(struct http_server *s)
{
	uint64_t now = http_now_ms();

	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		struct http_conn *c = &s->conns[i];

		if (c->h.fd >= 0 && c->deadline_ms <= now) {
			log_debug("API connection idle for %d ms: closed", HTTP_IDLE_TIMEOUT_MS);
			http_conn_close(c);
		}
	}
}

void http_server_destroy(struct http_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		http_conn_close(&s->conns[i]);
	evloop_del(s->loop, &s->listen_h);
	http_listener_close(&s->sock);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}

void http_response_fault(struct http_response *resp, int status, const char *fmt, ...)
{
	char msg[HTTP_FAULT_MSG_BYTES];
	json_t *obj;
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	free(resp->body);
	resp->status = status;
	resp->body = NULL;
	resp->body_len = 0;

	obj = json_pack("{s:s}", "fault_message", msg);
	if (!obj) {
		/* Not UTF-8 (client bytes, or truncation mid-character): keep ASCII only. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		obj = json_pack("{s:s}", "fault_message", msg);
	}
	if (!obj)
		return;
	resp->body = json_dumps(obj, JSON_COMPACT); /* malloc'd by jansson; the server frees it */
	json_decref(obj);
	if (resp->body)
		resp->body_len = strlen(resp->body);
}
