/* SPDX-License-Identifier: MIT */
/*
 * Strict incremental HTTP/1.1 request parser (see http_parse.h for the
 * contract and the decisions). Each input byte is examined once: the parser
 * remembers how far it scanned, so a request trickled in one byte at a time
 * costs the same as one that arrives whole.
 */
#include "api/http_parse.h"

#include <string.h>

/* Case-insensitive compare of a counted string with a lower-case literal. */
static bool http_lit_ieq(const uint8_t *s, size_t n, const char *lit)
{
	size_t ln = strlen(lit);

	if (n != ln)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)lit[i])
			return false;
	}
	return true;
}

static bool http_lit_eq(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool http_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool http_is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool http_is_hex(uint8_t c)
{
	return http_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 9110 §5.6.2 tchar. */
static bool http_is_tchar(uint8_t c)
{
	return http_is_alpha(c) || http_is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 3986 §3.3 pchar without pct-encoded (checked apart), plus "/". */
static bool http_is_path_char(uint8_t c)
{
	return http_is_alpha(c) || http_is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=:@/", c));
}

/* RFC 9110 §5.5 field-vchar, SP and HTAB; obs-text allowed, controls not. */
static bool http_is_value_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool http_is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static enum http_parse_result http_fail(struct http_parser *p, enum http_parse_err err)
{
	p->phase = HTTP_PHASE_ERROR;
	p->err = err;
	return HTTP_PARSE_ERROR;
}

static enum http_parse_err http_parse_method(const uint8_t *m, size_t n, enum http_method *out)
{
	/* RFC 9110 §9.3: the registered methods kiln does not serve. */
	static const char *const refused[] = {"HEAD",	 "POST",    "DELETE",
					      "CONNECT", "OPTIONS", "TRACE"};

	if (http_lit_eq(m, n, "GET"))
		*out = HTTP_GET;
	else if (http_lit_eq(m, n, "PUT"))
		*out = HTTP_PUT;
	else if (http_lit_eq(m, n, "PATCH"))
		*out = HTTP_PATCH;
	else {
		for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (http_lit_eq(m, n, refused[i]))
				return HTTP_PARSE_ERR_METHOD_NOT_ALLOWED;
		return HTTP_PARSE_ERR_METHOD_UNKNOWN;
	}
	return HTTP_PARSE_OK;
}

/* origin-form = absolute-path [ "?" query ] (RFC 9112 §3.2.1); the query is dropped. */
static enum http_parse_err http_parse_target(const uint8_t *t, size_t n, char *path)
{
	size_t path_len = n;

	if (n == 0 || t[0] != '/')
		return HTTP_PARSE_ERR_PATH;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = t[i];

		if (c == '?' && path_len == n) {
			path_len = i;
			continue;
		}
		if (c == '%') {
			if (i + 2 >= n || !http_is_hex(t[i + 1]) || !http_is_hex(t[i + 2]))
				return HTTP_PARSE_ERR_PATH;
			if (t[i + 1] == '0' && t[i + 2] == '0')
				return HTTP_PARSE_ERR_PATH;
			i += 2;
			continue;
		}
		/* RFC 3986 §3.4: the query also allows "?" after the first. */
		if (!http_is_path_char(c) && !(c == '?' && path_len < n))
			return HTTP_PARSE_ERR_PATH;
	}
	if (path_len >= HTTP_MAX_PATH_BYTES)
		return HTTP_PARSE_ERR_PATH_TOO_LONG;
	memcpy(path, t, path_len);
	path[path_len] = '\0';
	return HTTP_PARSE_OK;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). */
static enum http_parse_err http_parse_version(const uint8_t *v, size_t n, unsigned int *minor)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !http_is_digit(v[5]) || v[6] != '.' ||
	    !http_is_digit(v[7]))
		return HTTP_PARSE_ERR_REQUEST_LINE;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return HTTP_PARSE_ERR_VERSION;
	*minor = (unsigned int)(v[7] - '0');
	return HTTP_PARSE_OK;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces. */
static enum http_parse_err http_parse_request_line(struct http_parser *p, const uint8_t *l,
						   size_t n)
{
	const uint8_t *sp1, *sp2;
	enum http_parse_err err;
	size_t mlen, tlen;

	sp1 = memchr(l, ' ', n);
	if (!sp1 || sp1 == l)
		return HTTP_PARSE_ERR_REQUEST_LINE;
	mlen = (size_t)(sp1 - l);
	for (size_t i = 0; i < mlen; i++)
		if (!http_is_tchar(l[i]))
			return HTTP_PARSE_ERR_REQUEST_LINE;
	err = http_parse_method(l, mlen, &p->req.method);
	if (err)
		return err;

	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2) {
		/* "GET /path": an HTTP/0.9 request, or a path with no version at all. */
		tlen = n - mlen - 1;
		if (tlen == 0)
			return HTTP_PARSE_ERR_REQUEST_LINE;
		return HTTP_PARSE_ERR_NO_VERSION;
	}
	tlen = (size_t)(sp2 - sp1 - 1);
	if (tlen == 0)
		return HTTP_PARSE_ERR_REQUEST_LINE;
	err = http_parse_target(sp1 + 1, tlen, p->req.path);
	if (err)
		return err;
	return http_parse_version(sp2 + 1, n - mlen - tlen - 2, &p->req.version_minor);
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6); saturates instead of overflowing. */
static enum http_parse_err http_parse_content_length(struct http_parser *p, const uint8_t *v,
						     size_t n)
{
	uint64_t val = 0;

	if (n == 0)
		return HTTP_PARSE_ERR_CONTENT_LENGTH;
	for (size_t i = 0; i < n; i++) {
		if (!http_is_digit(v[i]))
			return HTTP_PARSE_ERR_CONTENT_LENGTH;
		if (__builtin_mul_overflow(val, 10, &val) ||
		    __builtin_add_overflow(val, (uint64_t)(v[i] - '0'), &val))
			val = UINT64_MAX;
	}
	if (p->have_content_length && p->content_length != val)
		return HTTP_PARSE_ERR_CONTENT_LENGTH_CONFLICT;
	if (val > p->max_body)
		return HTTP_PARSE_ERR_BODY_TOO_LARGE;
	p->have_content_length = true;
	p->content_length = val;
	return HTTP_PARSE_OK;
}

/* Connection = #connection-option (RFC 9110 §7.6.1); only "close" matters here. */
static void http_parse_connection(struct http_parser *p, const uint8_t *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (http_is_ows(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && http_is_ows(v[e - 1]))
			e--;
		if (http_lit_ieq(v + s, e - s, "close"))
			p->req.keep_alive = false;
	}
}

static enum http_parse_err http_parse_header(struct http_parser *p, const uint8_t *l, size_t n)
{
	const uint8_t *colon, *v;
	size_t nlen, vlen;

	if (http_is_ows(l[0]))
		return HTTP_PARSE_ERR_OBS_FOLD;
	if (++p->nheaders > HTTP_MAX_HEADERS)
		return HTTP_PARSE_ERR_TOO_MANY_HEADERS;
	colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return HTTP_PARSE_ERR_HEADER_NAME;
	nlen = (size_t)(colon - l);
	/* RFC 9112 §5.1: no whitespace between the name and the colon. */
	for (size_t i = 0; i < nlen; i++)
		if (!http_is_tchar(l[i]))
			return HTTP_PARSE_ERR_HEADER_NAME;

	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && http_is_ows(v[0])) {
		v++;
		vlen--;
	}
	while (vlen && http_is_ows(v[vlen - 1]))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if (!http_is_value_char(v[i]))
			return HTTP_PARSE_ERR_HEADER_VALUE;

	if (http_lit_ieq(l, nlen, "content-length"))
		return http_parse_content_length(p, v, vlen);
	/* RFC 9112 §6.1: kiln implements no transfer coding, so none is accepted. */
	if (http_lit_ieq(l, nlen, "transfer-encoding"))
		return HTTP_PARSE_ERR_TRANSFER_ENCODING;
	if (http_lit_ieq(l, nlen, "expect")) {
		/* RFC 9110 §10.1.1: 100-continue is the only expectation defined. */
		if (!http_lit_ieq(v, vlen, "100-continue"))
			return HTTP_PARSE_ERR_EXPECT;
		p->req.expect_continue = true;
		return HTTP_PARSE_OK;
	}
	if (http_lit_ieq(l, nlen, "connection"))
		http_parse_connection(p, v, vlen);
	return HTTP_PARSE_OK;
}

/* The empty line ended the head: settle the body's length. */
static enum http_parse_err http_finish_head(struct http_parser *p, size_t head_len)
{
	if (!p->have_content_length && (p->req.method == HTTP_PUT || p->req.method == HTTP_PATCH))
		return HTTP_PARSE_ERR_LENGTH_REQUIRED;
	/* RFC 9112 §9.3: an HTTP/1.0 client gets one answer, then the close. */
	if (p->req.version_minor == 0)
		p->req.keep_alive = false;
	p->head_len = head_len;
	p->req.body_off = head_len;
	p->req.body_len = (size_t)p->content_length; /* <= max_body, a size_t */
	p->phase = HTTP_PHASE_BODY;
	return HTTP_PARSE_OK;
}

/* One line, CR and LF removed; @end is the offset just past its LF. */
static enum http_parse_err http_parse_line(struct http_parser *p, const uint8_t *l, size_t n,
					   size_t end)
{
	if (memchr(l, '\r', n))
		return HTTP_PARSE_ERR_LINE_ENDING;
	if (p->phase == HTTP_PHASE_REQUEST_LINE) {
		if (n == 0)
			return HTTP_PARSE_OK; /* leading empty line, RFC 9112 §2.2 */
		p->phase = HTTP_PHASE_HEADERS;
		return http_parse_request_line(p, l, n);
	}
	if (n == 0)
		return http_finish_head(p, end);
	return http_parse_header(p, l, n);
}

/* Scan for complete lines in the head; stops when the head ends or bytes run out. */
static enum http_parse_result http_scan_head(struct http_parser *p, const uint8_t *buf, size_t len)
{
	while (p->scan < len &&
	       (p->phase == HTTP_PHASE_REQUEST_LINE || p->phase == HTTP_PHASE_HEADERS)) {
		const uint8_t *lf = memchr(buf + p->scan, '\n', len - p->scan);
		/* The request line's budget starts at byte 0, so leading empty lines count. */
		size_t base = p->phase == HTTP_PHASE_REQUEST_LINE ? 0 : p->line_start;
		size_t lf_off, n;
		enum http_parse_err err;

		if (!lf) {
			p->scan = len;
			/* A line of HTTP_MAX_LINE_BYTES still needs its CR: one byte more. */
			if (len - base > HTTP_MAX_LINE_BYTES + 1)
				return http_fail(p, p->phase == HTTP_PHASE_REQUEST_LINE
							? HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG
							: HTTP_PARSE_ERR_HEADER_TOO_LONG);
			return HTTP_PARSE_NEED_MORE;
		}
		lf_off = (size_t)(lf - buf);
		p->scan = lf_off + 1;
		/*
		 * Length before line ending: a long line without CR must get the
		 * same verdict whether its LF arrives with it or after the limit.
		 */
		if (lf_off - base > HTTP_MAX_LINE_BYTES + 1)
			return http_fail(p, p->phase == HTTP_PHASE_REQUEST_LINE
						? HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG
						: HTTP_PARSE_ERR_HEADER_TOO_LONG);
		if (lf_off == p->line_start || buf[lf_off - 1] != '\r')
			return http_fail(p, HTTP_PARSE_ERR_LINE_ENDING);
		n = lf_off - 1 - p->line_start;
		err = http_parse_line(p, buf + p->line_start, n, p->scan);
		if (err)
			return http_fail(p, err);
		p->line_start = p->scan;
	}
	return HTTP_PARSE_NEED_MORE;
}

void http_parser_init(struct http_parser *p, size_t max_body_bytes)
{
	memset(p, 0, sizeof(*p));
	p->max_body = max_body_bytes;
	p->req.keep_alive = true;
}

enum http_parse_result http_parse(struct http_parser *p, const uint8_t *buf, size_t len,
				  struct http_request_raw *out)
{
	enum http_parse_result r;

	if (p->phase == HTTP_PHASE_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->phase == HTTP_PHASE_DONE || len < p->scan) {
		/* Misuse: a finished parser, or a buffer that shrank. Refuse, never guess. */
		return http_fail(p, HTTP_PARSE_ERR_REQUEST_LINE);
	}
	r = http_scan_head(p, buf, len);
	if (r != HTTP_PARSE_NEED_MORE || p->phase != HTTP_PHASE_BODY)
		return r;

	if (len - p->head_len >= p->req.body_len) {
		p->phase = HTTP_PHASE_DONE;
		p->req.consumed = p->head_len + p->req.body_len;
		*out = p->req;
		return HTTP_PARSE_COMPLETE;
	}
	p->scan = len;
	if (p->req.expect_continue && !p->continue_given && p->req.version_minor == 1) {
		p->continue_given = true;
		return HTTP_PARSE_CONTINUE;
	}
	return HTTP_PARSE_NEED_MORE;
}

static const char *const http_parse_err_strs[HTTP_PARSE_ERR_COUNT] = {
    [HTTP_PARSE_OK] = "no error",
    [HTTP_PARSE_ERR_LINE_ENDING] = "lines must end with CRLF",
    [HTTP_PARSE_ERR_REQUEST_LINE_TOO_LONG] = "request line longer than 1024 bytes",
    [HTTP_PARSE_ERR_REQUEST_LINE] = "malformed request line",
    [HTTP_PARSE_ERR_METHOD_NOT_ALLOWED] = "method not allowed: only GET, PUT and PATCH",
    [HTTP_PARSE_ERR_METHOD_UNKNOWN] = "unknown method",
    [HTTP_PARSE_ERR_PATH] = "invalid request path",
    [HTTP_PARSE_ERR_PATH_TOO_LONG] = "request path too long",
    [HTTP_PARSE_ERR_NO_VERSION] = "missing HTTP version (HTTP/0.9 is not supported)",
    [HTTP_PARSE_ERR_VERSION] = "unsupported HTTP version: only HTTP/1.1 and HTTP/1.0",
    [HTTP_PARSE_ERR_HEADER_TOO_LONG] = "header line longer than 1024 bytes",
    [HTTP_PARSE_ERR_TOO_MANY_HEADERS] = "more than 32 headers",
    [HTTP_PARSE_ERR_HEADER_NAME] = "invalid header name",
    [HTTP_PARSE_ERR_HEADER_VALUE] = "invalid character in header value",
    [HTTP_PARSE_ERR_OBS_FOLD] = "folded header lines are not accepted",
    [HTTP_PARSE_ERR_CONTENT_LENGTH] = "invalid Content-Length",
    [HTTP_PARSE_ERR_CONTENT_LENGTH_CONFLICT] = "conflicting Content-Length headers",
    [HTTP_PARSE_ERR_LENGTH_REQUIRED] = "Content-Length required for PUT and PATCH",
    [HTTP_PARSE_ERR_BODY_TOO_LARGE] = "request body larger than the payload limit",
    [HTTP_PARSE_ERR_TRANSFER_ENCODING] = "Transfer-Encoding is not supported",
    [HTTP_PARSE_ERR_EXPECT] = "unsupported expectation: only 100-continue",
};

int http_parse_err_status(enum http_parse_err err)
{
	(void)err;
	return 400;
}

const char *http_parse_err_str(enum http_parse_err err)
{
	if ((unsigned int)err >= HTTP_PARSE_ERR_COUNT)
		return "invalid request";
	return http_parse_err_strs[err];
}
