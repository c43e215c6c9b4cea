/* SPDX-License-Identifier: MIT */
/*
 * Incremental, strict HTTP/1.1 request parser (RFC 9112) over one
 * connection's input buffer. Pure: no syscalls, no allocation, so the unit
 * tests and fuzz_http link it alone. Each refusal is one error value with the
 * status to answer; every length it accepts is bounded by the limits below.
 *
 * Use: http_parser_init(); then, each time bytes are appended to the buffer,
 * http_parse(p, buf, len, &req) with buf pointing at the request's first byte
 * and len covering everything received so far (the same bytes as the last
 * call plus new ones). Answers:
 *   NEED_MORE  nothing to do yet; read more.
 *   CONTINUE   the header block is complete, the client sent
 *              "Expect: 100-continue" and the body has not fully arrived:
 *              send "HTTP/1.1 100 Continue" and call again as usual. Given at
 *              most once per request, and never to an HTTP/1.0 client
 *              (RFC 9110 §10.1.1).
 *   COMPLETE   req is filled in; the request took req->consumed bytes, and a
 *              pipelined next request starts there: drop them, init again.
 *   ERROR      p->err says which rule; answer http_parse_err_status() with
 *              http_parse_err_str() as fault_message, then close. Sticky.
 *
 * Decisions (each has a unit test):
 *  - Lines end in CRLF only. A bare LF or a CR inside a line is an error:
 *    RFC 9112 §2.2 allows a server to accept bare LF, but every client kiln
 *    serves sends CRLF and one line-ending rule leaves nothing to disagree on.
 *  - Empty lines before the request line are skipped (RFC 9112 §2.2), but they
 *    count against the request line's 1 KiB.
 *  - Every refusal answers 400: the API contract is Firecracker's, "400 with a
 *    fault_message for every client error" (413, 405, 501, 505 and 417 would be
 *    the generic HTTP answers; the fault_message says which rule it was).
 *  - PUT and PATCH must carry Content-Length (RFC 9110 §8.6 lets a server
 *    require it; without it a body would be parsed as the next request).
 *    GET may carry one; the body is handed over and the route ignores it.
 *  - HTTP/1.0 requests are answered and then the connection is closed.
 *  - The request target is origin-form only, ASCII pchars (RFC 3986 §3.3),
 *    percent-escapes well-formed and never %00; the query is dropped.
 */
#ifndef KILN_API_HTTP_PARSE_H
#define KILN_API_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"

/*
 * The most a request head can take, leading empty lines included: the
 * request line and each header at most HTTP_MAX_LINE_BYTES plus CRLF, and the
 * empty line. A connection buffer of this plus the body limit always holds a
 * whole request.
 */
#define HTTP_MAX_HEAD_BYTES ((HTTP_MAX_HEADERS + 1) * (HTTP_MAX_LINE_BYTES + 2) + 2)

enum http_parse_result {
	HTTP_PARSE_NEED_MORE = 0,
	HTTP_PARSE_CONTINUE,
	HTTP_PARSE_COMPLETE,
	HTTP_PARSE_ERROR,
};

/* Why a request was refused: one value per rule. */
enum http_parse_err {
	HTTP_PARSE_OK = 0,
	HTTP_PARSE_ERR_LINE_ENDING,		/* bare LF, or CR not followed by LF */
	HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG,	/* more than HTTP_MAX_LINE_BYTES */
	HTTP_PARSE_ERR_REQUEST_LINE,		/* not "METHOD SP target SP version" */
	HTTP_PARSE_ERR_METHOD_NOT_ALLOWED,	/* a standard method other than GET/PUT/PATCH */
	HTTP_PARSE_ERR_METHOD_UNKNOWN,		/* any other token */
	HTTP_PARSE_ERR_PATH,			/* not origin-form, bad char or escape, %00 */
	HTTP_PARSE_ERR_PATH_TOO_LONG,		/* path of HTTP_MAX_PATH_BYTES or more */
	HTTP_PARSE_ERR_NO_VERSION,		/* HTTP/0.9-style "GET /" */
	HTTP_PARSE_ERR_VERSION,			/* HTTP/x.y other than 1.0 and 1.1 */
	HTTP_PARSE_ERR_HEADER_TOO_LONG,		/* header line over HTTP_MAX_LINE_BYTES */
	HTTP_PARSE_ERR_TOO_MANY_HEADERS,	/* more than HTTP_MAX_HEADERS */
	HTTP_PARSE_ERR_HEADER_NAME,		/* empty, non-token, no colon, space before it */
	HTTP_PARSE_ERR_HEADER_VALUE,		/* control character in a value */
	HTTP_PARSE_ERR_OBS_FOLD,		/* line starting with SP/HTAB (RFC 9112 §5.2) */
	HTTP_PARSE_ERR_CONTENT_LENGTH,		/* not 1*DIGIT */
	HTTP_PARSE_ERR_CONTENT_LENGTH_CONFLICT, /* repeated with a different value */
	HTTP_PARSE_ERR_LENGTH_REQUIRED,		/* PUT/PATCH without Content-Length */
	HTTP_PARSE_ERR_BODY_TOO_LARGE,		/* Content-Length above the body limit */
	HTTP_PARSE_ERR_TRANSFER_ENCODING,	/* any Transfer-Encoding (chunked included) */
	HTTP_PARSE_ERR_EXPECT,			/* an expectation other than 100-continue */
	HTTP_PARSE_ERR_COUNT,
};

/* A complete request; body_off/body_len index the caller's buffer. */
struct http_request_raw {
	enum http_method method;
	char path[HTTP_MAX_PATH_BYTES]; /* NUL-terminated, query removed */
	unsigned int version_minor;	/* HTTP/1.<minor>: 0 or 1 */
	size_t body_off;
	size_t body_len; /* 0: no body */
	size_t consumed; /* head + body: where the next request starts */
	bool keep_alive; /* false: close the connection after answering */
	bool expect_continue;
};

enum http_parse_phase {
	HTTP_PHASE_REQUEST_LINE = 0,
	HTTP_PHASE_HEADERS,
	HTTP_PHASE_BODY,
	HTTP_PHASE_DONE,
	HTTP_PHASE_ERROR,
};

/* Parser state; the fields are the parser's own, except err after ERROR. */
struct http_parser {
	enum http_parse_phase phase;
	enum http_parse_err err;
	size_t max_body;
	size_t scan;	   /* bytes of the buffer already examined */
	size_t line_start; /* first byte of the line being scanned */
	size_t head_len;   /* through the empty line, once the head is complete */
	unsigned int nheaders;
	bool have_content_length;
	bool continue_given;
	uint64_t content_length;
	struct http_request_raw req;
};

/* @max_body_bytes: the largest Content-Length accepted. */
void http_parser_init(struct http_parser *p, size_t max_body_bytes);
enum http_parse_result http_parse(struct http_parser *p, const uint8_t *buf, size_t len,
				  struct http_request_raw *out);

/* Status to answer for an error (400 for all, see above) and its fault_message. */
int http_parse_err_status(enum http_parse_err err);
const char *http_parse_err_str(enum http_parse_err err);

#endif
