/* SPDX-License-Identifier: MIT */
/* HTTP request parser: one test per error value, and the good requests whole, split and pipelined.
 */
#include "unit.h"

#include <stdio.h>

#include "api/http_parse.h"

#define MAX_BODY 64u

struct tparse {
	struct http_parser p;
	struct http_request_raw req;
	enum http_parse_result r;
};

/* The whole request in one call. */
static enum http_parse_result tp_whole(struct tparse *t, const char *s)
{
	http_parser_init(&t->p, MAX_BODY);
	memset(&t->req, 0, sizeof(t->req));
	t->r = http_parse(&t->p, (const uint8_t *)s, strlen(s), &t->req);
	if (t->r == HTTP_PARSE_CONTINUE)
		t->r = http_parse(&t->p, (const uint8_t *)s, strlen(s), &t->req);
	return t->r;
}

/* One byte more per call, as a slow client sends it; stops at the first final answer. */
static enum http_parse_result tp_bytewise(struct tparse *t, const char *s, size_t *continues)
{
	size_t n = strlen(s);

	http_parser_init(&t->p, MAX_BODY);
	*continues = 0;
	for (size_t i = 1; i <= n; i++) {
		t->r = http_parse(&t->p, (const uint8_t *)s, i, &t->req);
		if (t->r == HTTP_PARSE_CONTINUE)
			(*continues)++;
		else if (t->r != HTTP_PARSE_NEED_MORE)
			return t->r;
	}
	return t->r;
}

static void expect_err(const char *s, enum http_parse_err err)
{
	struct tparse t;
	size_t conts;

	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_ERROR);
	assert_int_equal(t.p.err, err);
	/* The same verdict however the bytes arrive. */
	assert_int_equal(tp_bytewise(&t, s, &conts), HTTP_PARSE_ERROR);
	assert_int_equal(t.p.err, err);
	assert_int_equal(http_parse_err_status(err), 400);
}

static void test_http_parses_get_without_body(void **state)
{
	const char *s = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_COMPLETE);
	assert_int_equal(t.req.method, HTTP_GET);
	assert_string_equal(t.req.path, "/machine-config");
	assert_int_equal(t.req.version_minor, 1);
	assert_int_equal(t.req.body_len, 0);
	assert_int_equal(t.req.consumed, strlen(s));
	assert_true(t.req.keep_alive);
	assert_false(t.req.expect_continue);
}

static void test_http_parses_put_with_body(void **state)
{
	const char *s = "PUT /boot-source HTTP/1.1\r\nHost: localhost\r\n"
			"Content-Type: application/x-www-form-urlencoded\r\n"
			"Content-Length: 7\r\n\r\n{\"a\":1}";
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_COMPLETE);
	assert_int_equal(t.req.method, HTTP_PUT);
	assert_string_equal(t.req.path, "/boot-source");
	assert_int_equal(t.req.body_len, 7);
	assert_memory_equal(s + t.req.body_off, "{\"a\":1}", 7);
	assert_int_equal(t.req.consumed, strlen(s));
}

static void test_http_parses_patch_and_zero_length_body(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "PATCH /drives/rootfs HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(t.req.method, HTTP_PATCH);
	assert_string_equal(t.req.path, "/drives/rootfs");
	assert_int_equal(t.req.body_len, 0);
}

static void test_http_parses_request_split_byte_by_byte(void **state)
{
	const char *s = "PUT /actions HTTP/1.1\r\nContent-Length: 32\r\n\r\n"
			"{\"action_type\": \"InstanceStart\"}";
	struct tparse t;
	size_t conts;

	(void)state;
	assert_int_equal(tp_bytewise(&t, s, &conts), HTTP_PARSE_COMPLETE);
	assert_int_equal(conts, 0);
	assert_int_equal(t.req.consumed, strlen(s));
	assert_int_equal(t.req.body_len, 32);
	assert_memory_equal(s + t.req.body_off, "{\"action_type\": \"InstanceStart\"}", 32);
	/* Nothing is rescanned: the parser remembers where it stopped. */
	assert_int_equal(t.p.scan, strlen(s) - 1);
}

static void test_http_parses_pipelined_requests(void **state)
{
	const char *s = "PUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
			"GET /b HTTP/1.1\r\n\r\nGET /c";
	const uint8_t *b = (const uint8_t *)s;
	size_t len = strlen(s);
	struct tparse t;

	(void)state;
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p, b, len, &t.req), HTTP_PARSE_COMPLETE);
	assert_string_equal(t.req.path, "/a");
	b += t.req.consumed;
	len -= t.req.consumed;
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p, b, len, &t.req), HTTP_PARSE_COMPLETE);
	assert_string_equal(t.req.path, "/b");
	assert_int_equal(t.req.body_len, 0);
	b += t.req.consumed;
	len -= t.req.consumed;
	assert_int_equal(len, 6);
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p, b, len, &t.req), HTTP_PARSE_NEED_MORE);
}

static void test_http_expect_continue_is_signalled_once(void **state)
{
	const char *s = "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\n"
			"Content-Length: 4\r\n\r\nabcd";
	size_t head = strlen(s) - 4;
	struct tparse t;
	size_t conts;

	(void)state;
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)s, head, &t.req), HTTP_PARSE_CONTINUE);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)s, head, &t.req), HTTP_PARSE_NEED_MORE);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)s, head + 2, &t.req),
			 HTTP_PARSE_NEED_MORE);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)s, head + 4, &t.req),
			 HTTP_PARSE_COMPLETE);
	assert_true(t.req.expect_continue);

	assert_int_equal(tp_bytewise(&t, s, &conts), HTTP_PARSE_COMPLETE);
	assert_int_equal(conts, 1);
}

static void test_http_expect_continue_not_given_when_body_is_there(void **state)
{
	const char *s = "PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n{}";
	struct tparse t;

	(void)state;
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)s, strlen(s), &t.req),
			 HTTP_PARSE_COMPLETE);
}

static void test_http_expect_continue_ignored_for_http10(void **state)
{
	const char *s = "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}";
	struct tparse t;
	size_t conts;

	(void)state;
	assert_int_equal(tp_bytewise(&t, s, &conts), HTTP_PARSE_COMPLETE);
	assert_int_equal(conts, 0);
}

static void test_http_strips_query(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "GET /vm/config?pretty=1&x=/a?b HTTP/1.1\r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
	assert_string_equal(t.req.path, "/vm/config");
	assert_int_equal(tp_whole(&t, "GET /?a HTTP/1.1\r\n\r\n"), HTTP_PARSE_COMPLETE);
	assert_string_equal(t.req.path, "/");
}

static void test_http10_closes_after_answer(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_COMPLETE);
	assert_int_equal(t.req.version_minor, 0);
	assert_false(t.req.keep_alive);
	/* Even when it asks for keep-alive: one answer, then close. */
	assert_int_equal(tp_whole(&t, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
	assert_false(t.req.keep_alive);
}

static void test_http_connection_close_is_honoured(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE \r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
	assert_false(t.req.keep_alive);
	assert_int_equal(tp_whole(&t, "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
	assert_true(t.req.keep_alive);
}

static void test_http_skips_leading_empty_lines(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "\r\n\r\nGET / HTTP/1.1\r\n\r\n"), HTTP_PARSE_COMPLETE);
	assert_string_equal(t.req.path, "/");
}

static void test_http_accepts_limits_exactly(void **state)
{
	/* A 1024-byte request line, 32 headers of 1024 bytes, a body of MAX_BODY. */
	static char s[HTTP_MAX_HEAD_BYTES + MAX_BODY + 1];
	struct tparse t;
	size_t n = 0, conts;

	(void)state;
	n += (size_t)sprintf(s, "GET /");
	memset(s + n, 'a', HTTP_MAX_PATH_BYTES - 2);
	n += HTTP_MAX_PATH_BYTES - 2;
	n += (size_t)sprintf(s + n, "?");
	memset(s + n, 'q', HTTP_MAX_LINE_BYTES - n - 9);
	n = HTTP_MAX_LINE_BYTES - 9;
	n += (size_t)sprintf(s + n, " HTTP/1.1\r\n");
	assert_int_equal(n, HTTP_MAX_LINE_BYTES + 2);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
		size_t start = n;

		if (i == 0) {
			n += (size_t)sprintf(s + n, "Content-Length: %u", MAX_BODY);
		} else {
			n += (size_t)sprintf(s + n, "X-%02d: ", i);
			memset(s + n, 'v', HTTP_MAX_LINE_BYTES - (n - start));
			n = start + HTTP_MAX_LINE_BYTES;
		}
		n += (size_t)sprintf(s + n, "\r\n");
	}
	n += (size_t)sprintf(s + n, "\r\n");
	memset(s + n, 'b', MAX_BODY);
	n += MAX_BODY;
	s[n] = '\0';
	assert_true(n <= HTTP_MAX_HEAD_BYTES + MAX_BODY);
	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_COMPLETE);
	assert_int_equal(strlen(t.req.path), HTTP_MAX_PATH_BYTES - 1);
	assert_int_equal(t.req.body_len, MAX_BODY);
	assert_int_equal(tp_bytewise(&t, s, &conts), HTTP_PARSE_COMPLETE);
}

static void test_http_duplicate_equal_content_length_is_accepted(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "PUT /x HTTP/1.1\r\nContent-Length: 2\r\n"
				      "content-length: 002\r\n\r\n{}"),
			 HTTP_PARSE_COMPLETE);
	assert_int_equal(t.req.body_len, 2);
}

static void test_http_accepts_any_content_type_and_obs_text(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "PUT /x HTTP/1.1\r\nContent-Type: text/plain\r\n"
				      "X-Note: caf\xc3\xa9\tok\r\nContent-Length: 0\r\n\r\n"),
			 HTTP_PARSE_COMPLETE);
}

static void test_http_rejects_bare_lf(void **state)
{
	(void)state;
	expect_err("GET / HTTP/1.1\n\n", HTTP_PARSE_ERR_LINE_ENDING);
	expect_err("GET / HTTP/1.1\r\nHost: x\n\r\n", HTTP_PARSE_ERR_LINE_ENDING);
	expect_err("GET / HTTP/1.1\r\n\n", HTTP_PARSE_ERR_LINE_ENDING);
	expect_err("\nGET / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_LINE_ENDING);
}

static void test_http_rejects_bare_cr(void **state)
{
	(void)state;
	expect_err("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_PARSE_ERR_LINE_ENDING);
	expect_err("GET /\r HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_LINE_ENDING);
}

static void test_http_rejects_request_line_too_long(void **state)
{
	static char s[HTTP_MAX_LINE_BYTES + 64];
	struct tparse t;

	(void)state;
	/* 1025 bytes before the CRLF. */
	strcpy(s, "GET /?");
	memset(s + 6, 'a', HTTP_MAX_LINE_BYTES + 1 - 6 - 9);
	strcpy(s + HTTP_MAX_LINE_BYTES + 1 - 9, " HTTP/1.1\r\n\r\n");
	expect_err(s, HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG);
	/* Without any line end, the parser gives up after 1 KiB + CR, not at the buffer's end. */
	memset(s, 'G', HTTP_MAX_LINE_BYTES + 2);
	s[HTTP_MAX_LINE_BYTES + 2] = '\0';
	expect_err(s, HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG);
	s[HTTP_MAX_LINE_BYTES + 1] = '\0';
	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_NEED_MORE);
}

static void test_http_long_line_verdict_does_not_depend_on_arrival(void **state)
{
	static char s[2 * HTTP_MAX_LINE_BYTES];

	(void)state;
	/* 1100 bytes then a bare LF: too long, whether the LF comes with them or later. */
	strcpy(s, "GET / HTTP/1.1\r\nX: ");
	memset(s + strlen(s), 'v', 1100);
	strcat(s, "\n\r\n");
	expect_err(s, HTTP_PARSE_ERR_HEADER_TOO_LONG);
	memset(s, 'G', 1100);
	strcpy(s + 1100, "\n");
	expect_err(s, HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG);
	/* At exactly 1024 bytes the line is short enough, and the bare LF is the fault. */
	memset(s, 'G', HTTP_MAX_LINE_BYTES + 1);
	strcpy(s + HTTP_MAX_LINE_BYTES + 1, "\n");
	expect_err(s, HTTP_PARSE_ERR_LINE_ENDING);
}

static void test_http_leading_empty_lines_count_against_line_limit(void **state)
{
	static char s[2 * HTTP_MAX_LINE_BYTES];
	size_t n = 0;

	(void)state;
	while (n < HTTP_MAX_LINE_BYTES) {
		memcpy(s + n, "\r\n", 2);
		n += 2;
	}
	strcpy(s + n, "GET / HTTP/1.1\r\n\r\n");
	expect_err(s, HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG);
}

static void test_http_rejects_malformed_request_line(void **state)
{
	(void)state;
	expect_err("GET  / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET / HTTP/1.1 \r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err(" GET / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET \r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET\t/ HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET / http/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET / HTTP/1.10\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET / HTTP/1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("GET /a b HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("G\x01T / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
	expect_err("{\"a\":1}\r\n\r\n", HTTP_PARSE_ERR_REQUEST_LINE);
}

static void test_http_rejects_methods_not_served(void **state)
{
	(void)state;
	expect_err("POST / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_NOT_ALLOWED);
	expect_err("DELETE /drives/x HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_NOT_ALLOWED);
	expect_err("HEAD / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_NOT_ALLOWED);
	expect_err("OPTIONS * HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_NOT_ALLOWED);
}

static void test_http_rejects_unknown_method(void **state)
{
	(void)state;
	expect_err("get / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_UNKNOWN);
	expect_err("BREW /pot HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_UNKNOWN);
	expect_err("PUTS / HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_METHOD_UNKNOWN);
}

static void test_http_rejects_bad_path(void **state)
{
	(void)state;
	expect_err("GET http://localhost/ HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET * HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a%00b HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a?x=%00 HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a%4 HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a%zz HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a\x01 HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a\x7f HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a#frag HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
	expect_err("GET /a\tb HTTP/1.1\r\n\r\n", HTTP_PARSE_ERR_PATH);
}

static void test_http_rejects_path_too_long(void **state)
{
	char s[HTTP_MAX_PATH_BYTES + 64];
	struct tparse t;

	(void)state;
	s[0] = '/';
	memset(s + 1, 'p', HTTP_MAX_PATH_BYTES - 1);
	s[HTTP_MAX_PATH_BYTES] = '\0';
	{
		char req[HTTP_MAX_PATH_BYTES + 128];

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", s);
		expect_err(req, HTTP_PARSE_ERR_PATH_TOO_LONG);
		s[HTTP_MAX_PATH_BYTES - 1] = '\0';
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", s);
		assert_int_equal(tp_whole(&t, req), HTTP_PARSE_COMPLETE);
	}
}

static void test_http_rejects_http09(void **state)
{
	(void)state;
	expect_err("GET /\r\n\r\n", HTTP_PARSE_ERR_NO_VERSION);
	expect_err("GET /machine-config\r\n", HTTP_PARSE_ERR_NO_VERSION);
}

static void test_http_rejects_other_versions(void **state)
{
	(void)state;
	expect_err("GET / HTTP/2.0\r\n\r\n", HTTP_PARSE_ERR_VERSION);
	expect_err("GET / HTTP/1.2\r\n\r\n", HTTP_PARSE_ERR_VERSION);
	expect_err("GET / HTTP/0.9\r\n\r\n", HTTP_PARSE_ERR_VERSION);
	expect_err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_PARSE_ERR_METHOD_UNKNOWN);
}

static void test_http_rejects_header_too_long(void **state)
{
	static char s[3 * HTTP_MAX_LINE_BYTES];
	size_t n;
	struct tparse t;

	(void)state;
	n = (size_t)sprintf(s, "GET / HTTP/1.1\r\nX-Long: ");
	memset(s + n, 'v', HTTP_MAX_LINE_BYTES);
	strcpy(s + n + HTTP_MAX_LINE_BYTES, "\r\n\r\n");
	expect_err(s, HTTP_PARSE_ERR_HEADER_TOO_LONG);
	/* A header line that never ends is refused too. */
	s[n + HTTP_MAX_LINE_BYTES] = '\0';
	assert_int_equal(tp_whole(&t, s), HTTP_PARSE_ERROR);
	assert_int_equal(t.p.err, HTTP_PARSE_ERR_HEADER_TOO_LONG);
}

static void test_http_rejects_too_many_headers(void **state)
{
	static char s[64 * 16];
	size_t n;

	(void)state;
	n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(s + n, "X-%d: v\r\n", i);
	sprintf(s + n, "\r\n");
	expect_err(s, HTTP_PARSE_ERR_TOO_MANY_HEADERS);
}

static void test_http_rejects_bad_header_name(void **state)
{
	(void)state;
	expect_err("GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP_PARSE_ERR_HEADER_NAME);
	expect_err("GET / HTTP/1.1\r\n: x\r\n\r\n", HTTP_PARSE_ERR_HEADER_NAME);
	expect_err("GET / HTTP/1.1\r\nNoColon\r\n\r\n", HTTP_PARSE_ERR_HEADER_NAME);
	expect_err("GET / HTTP/1.1\r\nX(y): z\r\n\r\n", HTTP_PARSE_ERR_HEADER_NAME);
	expect_err("GET / HTTP/1.1\r\nX\x80: z\r\n\r\n", HTTP_PARSE_ERR_HEADER_NAME);
}

static void test_http_rejects_control_char_in_value(void **state)
{
	(void)state;
	expect_err("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", HTTP_PARSE_ERR_HEADER_VALUE);
	expect_err("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", HTTP_PARSE_ERR_HEADER_VALUE);
	{
		static const char s[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
		struct tparse t;

		http_parser_init(&t.p, MAX_BODY);
		assert_int_equal(http_parse(&t.p, (const uint8_t *)s, sizeof(s) - 1, &t.req),
				 HTTP_PARSE_ERROR);
		assert_int_equal(t.p.err, HTTP_PARSE_ERR_HEADER_VALUE);
	}
}

static void test_http_rejects_obs_fold(void **state)
{
	(void)state;
	expect_err("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HTTP_PARSE_ERR_OBS_FOLD);
	expect_err("GET / HTTP/1.1\r\n\tX: a\r\n\r\n", HTTP_PARSE_ERR_OBS_FOLD);
}

static void test_http_rejects_bad_content_length(void **state)
{
	(void)state;
	expect_err("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}",
		   HTTP_PARSE_ERR_CONTENT_LENGTH);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 1.0\r\n\r\n", HTTP_PARSE_ERR_CONTENT_LENGTH);
}

static void test_http_rejects_conflicting_content_length(void **state)
{
	(void)state;
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
		   HTTP_PARSE_ERR_CONTENT_LENGTH_CONFLICT);
}

static void test_http_requires_content_length_for_put_and_patch(void **state)
{
	(void)state;
	expect_err("PUT /actions HTTP/1.1\r\n\r\n{}", HTTP_PARSE_ERR_LENGTH_REQUIRED);
	expect_err("PATCH /vm HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_PARSE_ERR_LENGTH_REQUIRED);
}

static void test_http_rejects_body_too_large(void **state)
{
	struct tparse t;

	(void)state;
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", HTTP_PARSE_ERR_BODY_TOO_LARGE);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
		   HTTP_PARSE_ERR_BODY_TOO_LARGE);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 999999999999999999999999999999\r\n\r\n",
		   HTTP_PARSE_ERR_BODY_TOO_LARGE);
	/* Refused from the header alone: the body is never waited for. */
	http_parser_init(&t.p, MAX_BODY);
	assert_int_equal(http_parse(&t.p,
				    (const uint8_t *)"PUT / HTTP/1.1\r\nContent-Length: 100\r\n",
				    37, &t.req),
			 HTTP_PARSE_ERROR);
}

static void test_http_rejects_transfer_encoding(void **state)
{
	(void)state;
	expect_err("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		   HTTP_PARSE_ERR_TRANSFER_ENCODING);
	expect_err("PUT / HTTP/1.1\r\nContent-Length: 2\r\ntransfer-encoding: identity\r\n\r\n{}",
		   HTTP_PARSE_ERR_TRANSFER_ENCODING);
}

static void test_http_rejects_unknown_expectation(void **state)
{
	(void)state;
	expect_err("PUT / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n",
		   HTTP_PARSE_ERR_EXPECT);
}

static void test_http_error_is_sticky(void **state)
{
	struct tparse t;

	(void)state;
	assert_int_equal(tp_whole(&t, "POST / HTTP/1.1\r\n\r\n"), HTTP_PARSE_ERROR);
	assert_int_equal(http_parse(&t.p, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, &t.req),
			 HTTP_PARSE_ERROR);
	assert_int_equal(t.p.err, HTTP_PARSE_ERR_METHOD_NOT_ALLOWED);
}

static void test_http_every_error_has_a_message_and_400(void **state)
{
	(void)state;
	for (int e = HTTP_PARSE_ERR_LINE_ENDING; e < HTTP_PARSE_ERR_COUNT; e++) {
		const char *m = http_parse_err_str((enum http_parse_err)e);

		assert_non_null(m);
		assert_true(strlen(m) > 5);
		assert_string_not_equal(m, http_parse_err_str(HTTP_PARSE_OK));
		assert_int_equal(http_parse_err_status((enum http_parse_err)e), 400);
	}
	assert_string_equal(http_parse_err_str(HTTP_PARSE_ERR_COUNT), "invalid request");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_parses_get_without_body),
	    cmocka_unit_test(test_http_parses_put_with_body),
	    cmocka_unit_test(test_http_parses_patch_and_zero_length_body),
	    cmocka_unit_test(test_http_parses_request_split_byte_by_byte),
	    cmocka_unit_test(test_http_parses_pipelined_requests),
	    cmocka_unit_test(test_http_expect_continue_is_signalled_once),
	    cmocka_unit_test(test_http_expect_continue_not_given_when_body_is_there),
	    cmocka_unit_test(test_http_expect_continue_ignored_for_http10),
	    cmocka_unit_test(test_http_strips_query),
	    cmocka_unit_test(test_http10_closes_after_answer),
	    cmocka_unit_test(test_http_connection_close_is_honoured),
	    cmocka_unit_test(test_http_skips_leading_empty_lines),
	    cmocka_unit_test(test_http_accepts_limits_exactly),
	    cmocka_unit_test(test_http_duplicate_equal_content_length_is_accepted),
	    cmocka_unit_test(test_http_accepts_any_content_type_and_obs_text),
	    cmocka_unit_test(test_http_rejects_bare_lf),
	    cmocka_unit_test(test_http_rejects_bare_cr),
	    cmocka_unit_test(test_http_rejects_request_line_too_long),
	    cmocka_unit_test(test_http_long_line_verdict_does_not_depend_on_arrival),
	    cmocka_unit_test(test_http_leading_empty_lines_count_against_line_limit),
	    cmocka_unit_test(test_http_rejects_malformed_request_line),
	    cmocka_unit_test(test_http_rejects_methods_not_served),
	    cmocka_unit_test(test_http_rejects_unknown_method),
	    cmocka_unit_test(test_http_rejects_bad_path),
	    cmocka_unit_test(test_http_rejects_path_too_long),
	    cmocka_unit_test(test_http_rejects_http09),
	    cmocka_unit_test(test_http_rejects_other_versions),
	    cmocka_unit_test(test_http_rejects_header_too_long),
	    cmocka_unit_test(test_http_rejects_too_many_headers),
	    cmocka_unit_test(test_http_rejects_bad_header_name),
	    cmocka_unit_test(test_http_rejects_control_char_in_value),
	    cmocka_unit_test(test_http_rejects_obs_fold),
	    cmocka_unit_test(test_http_rejects_bad_content_length),
	    cmocka_unit_test(test_http_rejects_conflicting_content_length),
	    cmocka_unit_test(test_http_requires_content_length_for_put_and_patch),
	    cmocka_unit_test(test_http_rejects_body_too_large),
	    cmocka_unit_test(test_http_rejects_transfer_encoding),
	    cmocka_unit_test(test_http_rejects_unknown_expectation),
	    cmocka_unit_test(test_http_error_is_sticky),
	    cmocka_unit_test(test_http_every_error_has_a_message_and_400),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
