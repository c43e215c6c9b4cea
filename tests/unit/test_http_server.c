/* SPDX-License-Identifier: MIT */
/*
 * HTTP server over a real Unix socket and the real epoll loop: socket
 * creation rules, keep-alive, pipelining, 100-continue, fault answers, the
 * connection limit and the idle deadline's bookkeeping. The test is both
 * client (blocking-free sockets) and server (the loop pumped in between).
 */
#include "unit.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"

#define PUMP_ROUNDS 20

struct tsrv {
	char dir[64];
	char path[128];
	struct evloop loop;
	struct http_server *s;
	unsigned int calls;
	enum http_method method;
	char path_seen[HTTP_MAX_PATH_BYTES];
	char body_seen[256];
	size_t body_len;
	int status; /* what the handler answers */
};

static void t_handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	struct tsrv *t = opaque;

	t->calls++;
	t->method = req->method;
	strcpy(t->path_seen, req->path);
	t->body_len = req->body_len;
	assert_true(req->body_len < sizeof(t->body_seen));
	if (req->body_len)
		memcpy(t->body_seen, req->body, req->body_len);
	t->body_seen[req->body_len] = '\0';
	if (t->status == 200) {
		resp->status = 200;
		resp->body = strdup("{\"ok\":true}");
		resp->body_len = strlen(resp->body);
	} else if (t->status == 400) {
		http_response_fault(resp, 400, "bad \"%s\"", req->path);
	} else {
		resp->status = t->status;
	}
}

static int t_setup(void **state)
{
	struct tsrv *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->dir, "/tmp/kiln-http-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/api.sock", t->dir);
	assert_int_equal(evloop_init(&t->loop), 0);
	t->status = 204;
	t->s = http_server_create(t->path, 64, &t->loop, t_handler, t);
	assert_non_null(t->s);
	*state = t;
	return 0;
}

static int t_teardown(void **state)
{
	struct tsrv *t = *state;

	http_server_destroy(t->s);
	assert_int_equal(access(t->path, F_OK), -1);
	evloop_close(&t->loop);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void pump(struct tsrv *t)
{
	for (int i = 0; i < PUMP_ROUNDS; i++)
		assert_int_equal(evloop_run_once(&t->loop, 1), 0);
}

static int t_connect(struct tsrv *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, t->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pump(t);
	return fd;
}

static void t_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Everything the server wrote so far; *eof when it closed its end. */
static size_t t_recv(struct tsrv *t, int fd, char *buf, size_t cap, bool *eof)
{
	size_t n = 0;

	*eof = false;
	pump(t);
	while (n < cap - 1) {
		ssize_t r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);

		if (r == 0)
			*eof = true;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

static void test_http_server_socket_is_0600(void **state)
{
	struct tsrv *t = *state;
	struct stat st;

	assert_int_equal(lstat(t->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_http_server_refuses_live_socket_and_files(void **state)
{
	struct tsrv *t = *state;
	char file[160];
	FILE *f;

	errno = 0;
	assert_null(http_server_create(t->path, 0, &t->loop, t_handler, t));
	assert_int_equal(errno, EEXIST);
	snprintf(file, sizeof(file), "%s/file", t->dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	errno = 0;
	assert_null(http_server_create(file, 0, &t->loop, t_handler, t));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);
}

static void test_http_server_replaces_stale_socket(void **state)
{
	struct tsrv *t = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct http_server *s2;
	char stale[160];
	int fd;

	snprintf(stale, sizeof(stale), "%s/stale.sock", t->dir);
	strcpy(sa.sun_path, stale);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* bound, never listened, owner gone: stale */
	s2 = http_server_create(stale, 0, &t->loop, t_handler, t);
	assert_non_null(s2);
	http_server_destroy(s2);
	assert_int_equal(access(stale, F_OK), -1);
}

static void test_http_server_keep_alive_get_and_put(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t->status = 200;
	t_send(fd, "GET /machine-config HTTP/1.1\r\nHost: localhost\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_false(eof);
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\nServer: kiln\r\nContent-Length: 11\r\n"
				 "Content-Type: application/json\r\n\r\n{\"ok\":true}");
	assert_int_equal(t->method, HTTP_GET);
	assert_string_equal(t->path_seen, "/machine-config");

	t->status = 204;
	t_send(fd, "PUT /boot-source HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_false(eof);
	assert_string_equal(buf, "HTTP/1.1 204 No Content\r\nServer: kiln\r\n\r\n");
	assert_int_equal(t->method, HTTP_PUT);
	assert_string_equal(t->body_seen, "{\"a\":1}");
	assert_int_equal(t->calls, 2);
	close(fd);
}

static void test_http_server_answers_pipelined_requests_in_order(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t_send(fd, "PUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /b HTTP/1.1\r\n\r\n"
		   "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_int_equal(t->calls, 3);
	assert_string_equal(t->path_seen, "/c");
	assert_string_equal(buf,
			    "HTTP/1.1 204 No Content\r\nServer: kiln\r\n\r\n"
			    "HTTP/1.1 204 No Content\r\nServer: kiln\r\n\r\n"
			    "HTTP/1.1 204 No Content\r\nServer: kiln\r\nConnection: close\r\n\r\n");
	close(fd);
}

static void test_http_server_sends_100_continue_before_body(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t_send(fd, "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\n"
		   "Content-Length: 4\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(t->calls, 0);
	t_send(fd, "abcd");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_string_equal(buf, "HTTP/1.1 204 No Content\r\nServer: kiln\r\n\r\n");
	assert_string_equal(t->body_seen, "abcd");
	close(fd);
}

static void test_http_server_parse_error_is_400_fault_then_close(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t_send(fd, "PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_int_equal(t->calls, 0);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_non_null(strstr(buf, "Connection: close\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n{\"fault_message\":"
				    "\"Transfer-Encoding is not supported\"}"));
	close(fd);
}

static void test_http_server_body_over_limit_is_refused_before_it_arrives(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t_send(fd, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 65\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_non_null(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	assert_null(strstr(buf, "100 Continue"));
	close(fd);
}

static void test_http_server_handler_fault_is_escaped_json(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t->status = 400;
	t_send(fd, "GET /x'y HTTP/1.1\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_false(eof); /* a handler's 400 keeps the connection */
	assert_non_null(strstr(buf, "\r\n\r\n{\"fault_message\":\"bad \\\"/x'y\\\"\"}"));
	close(fd);
}

static void test_http_server_bad_handler_status_is_500(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t->status = 0;
	t_send(fd, "GET / HTTP/1.1\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "HTTP/1.1 500 Internal Server Error\r\n"));
	close(fd);
}

static void test_http_server_http10_closes_after_answer(void **state)
{
	struct tsrv *t = *state;
	char buf[1024];
	bool eof;
	int fd = t_connect(t);

	t_send(fd, "GET / HTTP/1.0\r\n\r\n");
	t_recv(t, fd, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_string_equal(buf,
			    "HTTP/1.1 204 No Content\r\nServer: kiln\r\nConnection: close\r\n\r\n");
	close(fd);
}

static void test_http_server_drops_peer_closing_mid_body(void **state)
{
	struct tsrv *t = *state;
	int fd = t_connect(t);
	int fds[HTTP_MAX_CONNECTIONS];

	t_send(fd, "PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
	close(fd);
	pump(t);
	assert_int_equal(t->calls, 0);
	/* Its slot is free again: the full quota connects without a 503. */
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		fds[i] = t_connect(t);
	assert_int_equal(http_server_next_timeout_ms(t->s) > 0, 1);
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++) {
		char buf[64];
		bool eof;

		assert_int_equal(t_recv(t, fds[i], buf, sizeof(buf), &eof), 0);
		assert_false(eof);
		close(fds[i]);
	}
}

static void test_http_server_over_limit_gets_503(void **state)
{
	struct tsrv *t = *state;
	int fds[HTTP_MAX_CONNECTIONS], extra;
	char buf[1024];
	bool eof;

	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		fds[i] = t_connect(t);
	extra = t_connect(t);
	t_recv(t, extra, buf, sizeof(buf), &eof);
	assert_true(eof);
	assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr(buf, "\"fault_message\":\"too many API connections"));
	close(extra);
	/* The others still work. */
	t_send(fds[0], "GET / HTTP/1.1\r\n\r\n");
	t_recv(t, fds[0], buf, sizeof(buf), &eof);
	assert_non_null(strstr(buf, "HTTP/1.1 204 No Content\r\n"));
	for (int i = 0; i < HTTP_MAX_CONNECTIONS; i++)
		close(fds[i]);
}

static void test_http_server_idle_deadline_is_not_extended_by_trickling(void **state)
{
	struct tsrv *t = *state;
	int fd = t_connect(t), before, after;

	assert_int_equal(http_server_next_timeout_ms(t->s) <= HTTP_IDLE_TIMEOUT_MS, 1);
	before = http_server_next_timeout_ms(t->s);
	usleep(30000);
	t_send(fd, "G");
	pump(t);
	after = http_server_next_timeout_ms(t->s);
	/* A byte is not a request: the deadline stays where it was. */
	assert_true(after < before);
	assert_true(after > 0);
	http_server_expire(t->s);
	t_send(fd, "ET / HTTP/1.1\r\n\r\n");
	pump(t);
	assert_int_equal(t->calls, 1);
	/* A complete request moves it forward again. */
	assert_true(http_server_next_timeout_ms(t->s) > after);
	close(fd);
	pump(t);
	assert_int_equal(http_server_next_timeout_ms(t->s), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_http_server_socket_is_0600, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_refuses_live_socket_and_files, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_replaces_stale_socket, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_keep_alive_get_and_put, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_answers_pipelined_requests_in_order,
					    t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_sends_100_continue_before_body,
					    t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_parse_error_is_400_fault_then_close,
					    t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(
		test_http_server_body_over_limit_is_refused_before_it_arrives, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_handler_fault_is_escaped_json, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_bad_handler_status_is_500, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_http10_closes_after_answer, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_drops_peer_closing_mid_body, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(test_http_server_over_limit_gets_503, t_setup,
					    t_teardown),
	    cmocka_unit_test_setup_teardown(
		test_http_server_idle_deadline_is_not_extended_by_trickling, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
