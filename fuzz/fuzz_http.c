/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the HTTP request parser (http_parse.c) as an API client would drive
 * it: any bytes, pipelined requests, delivered whole or in pieces of any
 * size. Checked beyond ASan/UBSan:
 *  - the verdicts (result, error, consumed bytes, method, path, body) are the
 *    same whether the stream arrives at once or in pieces;
 *  - an accepted request respects every limit (path, head, body), and the
 *    parser never asks for more bytes than HTTP_MAX_HEAD_BYTES + max_body, so
 *    the server's fixed connection buffer always suffices.
 *
 * Input: 2-byte header | byte stream.
 *   header: u8 body limit selector (low 2 bits: 0, 1, 64, 51200 bytes),
 *           u8 seed for the piece sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http_parse.h"

#define FUZZ_HEADER_BYTES 2
#define FUZZ_MAX_VERDICTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct verdict {
	enum http_parse_result r;
	enum http_parse_err err;
	struct http_request_raw req;
	uint32_t body_hash;
};

static uint32_t fuzz_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void fuzz_check(const struct http_parser *p, enum http_parse_result r,
		       const struct http_request_raw *req, size_t len, size_t max_body)
{
	if (r == HTTP_PARSE_NEED_MORE || r == HTTP_PARSE_CONTINUE) {
		/* The server's buffer is this big: a request must never need more. */
		if (len >= HTTP_MAX_HEAD_BYTES + max_body)
			abort();
		return;
	}
	if (r == HTTP_PARSE_ERROR) {
		if (p->err <= HTTP_PARSE_OK || p->err >= HTTP_PARSE_ERR_COUNT)
			abort();
		return;
	}
	if (req->consumed > len || req->body_off + req->body_len != req->consumed ||
	    req->body_len > max_body || req->body_off > HTTP_MAX_HEAD_BYTES)
		abort();
	if (req->method != HTTP_GET && req->method != HTTP_PUT && req->method != HTTP_PATCH)
		abort();
	if (req->path[0] != '/' || strnlen(req->path, HTTP_MAX_PATH_BYTES) >= HTTP_MAX_PATH_BYTES ||
	    strchr(req->path, '?') || strchr(req->path, ' '))
		abort();
	if (req->version_minor > 1)
		abort();
}

/*
 * Run the stream through the parser the way a connection does: parse, drop
 * what a complete request consumed, start again. @seed 0 hands over all
 * bytes at once; otherwise pieces of pseudo-random size arrive one by one.
 */
static size_t fuzz_run(const uint8_t *s, size_t n, size_t max_body, uint32_t seed,
		       struct verdict *v)
{
	struct http_parser p;
	size_t start = 0, avail = seed ? 0 : n, nv = 0;

	http_parser_init(&p, max_body);
	while (nv < FUZZ_MAX_VERDICTS) {
		struct http_request_raw req;
		enum http_parse_result r;

		if (seed && avail < n) {
			seed = seed * 1103515245u + 12345u;
			avail += 1 + (seed >> 16) % 97;
			if (avail > n)
				avail = n;
		}
		r = http_parse(&p, s + start, avail - start, &req);
		fuzz_check(&p, r, &req, avail - start, max_body);
		if (r == HTTP_PARSE_NEED_MORE || r == HTTP_PARSE_CONTINUE) {
			if (avail == n) {
				if (r == HTTP_PARSE_CONTINUE)
					continue; /* answered; the same bytes again */
				v[nv++].r = HTTP_PARSE_NEED_MORE;
				break;
			}
			continue;
		}
		memset(&v[nv], 0, sizeof(v[nv]));
		v[nv].r = r;
		if (r == HTTP_PARSE_ERROR) {
			v[nv++].err = p.err;
			break;
		}
		v[nv].req = req;
		v[nv].body_hash = fuzz_hash(s + start + req.body_off, req.body_len);
		nv++;
		start += req.consumed;
		if (avail < start)
			abort();
		http_parser_init(&p, max_body);
	}
	return nv;
}

static bool fuzz_same(const struct verdict *a, const struct verdict *b)
{
	if (a->r != b->r)
		return false;
	if (a->r == HTTP_PARSE_ERROR)
		return a->err == b->err;
	if (a->r != HTTP_PARSE_COMPLETE)
		return true;
	return a->req.method == b->req.method && a->req.consumed == b->req.consumed &&
	       a->req.body_len == b->req.body_len && a->req.keep_alive == b->req.keep_alive &&
	       a->req.expect_continue == b->req.expect_continue &&
	       !strcmp(a->req.path, b->req.path) && a->body_hash == b->body_hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {0, 1, 64, HTTP_DEFAULT_MAX_BODY_BYTES};
	static struct verdict whole[FUZZ_MAX_VERDICTS], pieces[FUZZ_MAX_VERDICTS];
	size_t max_body, nw, np;
	uint32_t seed;

	if (size < FUZZ_HEADER_BYTES)
		return 0;
	max_body = limits[data[0] & 3];
	seed = data[1] | 0x100u; /* never 0: that is the whole-stream run */
	data += FUZZ_HEADER_BYTES;
	size -= FUZZ_HEADER_BYTES;

	nw = fuzz_run(data, size, max_body, 0, whole);
	np = fuzz_run(data, size, max_body, seed, pieces);
	if (nw != np)
		abort();
	for (size_t i = 0; i < nw; i++)
		if (!fuzz_same(&whole[i], &pieces[i]))
			abort();
	return 0;
}
