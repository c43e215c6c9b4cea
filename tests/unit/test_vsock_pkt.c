/* SPDX-License-Identifier: MIT */
/* virtio-vsock packet parser and CONNECT line parser: one test per refusal. */
#include "unit.h"

#include "devices/virtio/vsock_pkt.h"

#define CID 42

struct tpkt {
	struct vq_chain c;
	uint8_t mem[2 * VSOCK_MAX_PAYLOAD];
	size_t used;
};

static struct tpkt *tp_new(void)
{
	struct tpkt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

static void tp_seg(struct tpkt *t, const void *data, uint32_t len, bool writable)
{
	struct vq_seg *s = &t->c.segs[t->c.nsegs++];

	s->host = t->mem + t->used;
	s->len = len;
	s->writable = writable;
	if (data)
		memcpy(s->host, data, len);
	t->used += len;
	if (writable)
		t->c.writable_bytes += len;
	else
		t->c.readable_bytes += len;
}

static struct vsock_hdr good_hdr(uint16_t op, uint32_t len)
{
	return (struct vsock_hdr){.src_cid = CID,
				  .dst_cid = VSOCK_HOST_CID,
				  .src_port = 1000,
				  .dst_port = 2000,
				  .len = len,
				  .type = VSOCK_TYPE_STREAM,
				  .op = op,
				  .buf_alloc = 4096,
				  .fwd_cnt = 7};
}

/* Parse @h followed by @payload readable bytes, the header split at @split. */
static enum vsock_pkt_err parse(struct vsock_hdr h, uint32_t payload, uint32_t split,
				struct vsock_pkt *p)
{
	struct tpkt *t = tp_new();
	enum vsock_pkt_err err;

	if (split && split < VSOCK_HDR_BYTES) {
		tp_seg(t, &h, split, false);
		tp_seg(t, (uint8_t *)&h + split, VSOCK_HDR_BYTES - split, false);
	} else {
		tp_seg(t, &h, VSOCK_HDR_BYTES, false);
	}
	if (payload)
		tp_seg(t, NULL, payload, false);
	err = vsock_pkt_parse(&t->c, CID, p);
	free(t);
	return err;
}

static void test_vsock_pkt_accepts_request_and_rw(void **state)
{
	struct vsock_pkt p;

	(void)state;
	assert_int_equal(parse(good_hdr(VSOCK_OP_REQUEST, 0), 0, 0, &p), VSOCK_PKT_OK);
	assert_int_equal(p.hdr.src_port, 1000);
	assert_int_equal(p.hdr.fwd_cnt, 7);
	assert_int_equal(parse(good_hdr(VSOCK_OP_RW, 100), 100, 10, &p), VSOCK_PKT_OK);
	assert_int_equal(p.hdr.len, 100);
	/* More bytes than len is fine: only len of them are payload. */
	assert_int_equal(parse(good_hdr(VSOCK_OP_RW, 10), 100, 0, &p), VSOCK_PKT_OK);
	assert_int_equal(parse(good_hdr(VSOCK_OP_RW, VSOCK_MAX_PAYLOAD), VSOCK_MAX_PAYLOAD, 0, &p),
			 VSOCK_PKT_OK);
}

static void test_vsock_pkt_rejects_short_header(void **state)
{
	struct tpkt *t = tp_new();
	struct vsock_hdr h = good_hdr(VSOCK_OP_REQUEST, 0);
	struct vsock_pkt p;

	(void)state;
	tp_seg(t, &h, VSOCK_HDR_BYTES - 1, false);
	assert_int_equal(vsock_pkt_parse(&t->c, CID, &p), VSOCK_PKT_ERR_SHORT);
	assert_false(vsock_pkt_err_wants_rst(VSOCK_PKT_ERR_SHORT));
	assert_int_equal(p.hdr.src_port, 0); /* nothing half-read is left behind */
	free(t);
}

static void test_vsock_pkt_rejects_writable_buffer(void **state)
{
	struct tpkt *t = tp_new();
	struct vsock_hdr h = good_hdr(VSOCK_OP_REQUEST, 0);
	struct vsock_pkt p;

	(void)state;
	tp_seg(t, &h, VSOCK_HDR_BYTES, false);
	tp_seg(t, NULL, 16, true);
	assert_int_equal(vsock_pkt_parse(&t->c, CID, &p), VSOCK_PKT_ERR_WRITABLE);
	free(t);
}

static void test_vsock_pkt_rejects_spoofed_source_silently(void **state)
{
	struct vsock_hdr h = good_hdr(VSOCK_OP_REQUEST, 0);
	struct vsock_pkt p;

	(void)state;
	h.src_cid = CID + 1;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_SRC_CID);
	assert_false(vsock_pkt_err_wants_rst(VSOCK_PKT_ERR_SRC_CID));
	h.src_cid = CID | 1ULL << 32; /* upper bits are not ignored */
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_SRC_CID);
}

static void test_vsock_pkt_rejects_other_destination(void **state)
{
	struct vsock_hdr h = good_hdr(VSOCK_OP_REQUEST, 0);
	struct vsock_pkt p;

	(void)state;
	h.dst_cid = CID;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_DST_CID);
	assert_true(vsock_pkt_err_wants_rst(VSOCK_PKT_ERR_DST_CID));
	assert_int_equal(p.hdr.src_port, 1000); /* the RST can be addressed */
}

static void test_vsock_pkt_rejects_type_and_op(void **state)
{
	struct vsock_hdr h = good_hdr(VSOCK_OP_REQUEST, 0);
	struct vsock_pkt p;

	(void)state;
	h.type = 2;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_TYPE);
	h = good_hdr(0, 0);
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_OP);
	h = good_hdr(8, 0);
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_OP);
	h = good_hdr(0xffff, 5000); /* an unknown op stays "unknown op" whatever its len */
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_OP);
}

static void test_vsock_pkt_rejects_len_beyond_chain_or_cap(void **state)
{
	struct vsock_pkt p;

	(void)state;
	assert_int_equal(parse(good_hdr(VSOCK_OP_RW, 101), 100, 0, &p), VSOCK_PKT_ERR_LEN);
	assert_int_equal(parse(good_hdr(VSOCK_OP_RW, 0xffffffff), 100, 0, &p), VSOCK_PKT_ERR_LEN);
	assert_int_equal(
	    parse(good_hdr(VSOCK_OP_RW, VSOCK_MAX_PAYLOAD + 1), VSOCK_MAX_PAYLOAD + 1, 0, &p),
	    VSOCK_PKT_ERR_LEN);
	assert_int_equal(parse(good_hdr(VSOCK_OP_REQUEST, 8), 0, 0, &p), VSOCK_PKT_ERR_LEN);
}

static void test_vsock_pkt_rejects_payload_on_control_ops(void **state)
{
	static const uint16_t ops[] = {VSOCK_OP_REQUEST,       VSOCK_OP_RESPONSE,
				       VSOCK_OP_RST,	       VSOCK_OP_SHUTDOWN,
				       VSOCK_OP_CREDIT_UPDATE, VSOCK_OP_CREDIT_REQUEST};
	struct vsock_pkt p;

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_int_equal(parse(good_hdr(ops[i], 8), 8, 0, &p), VSOCK_PKT_ERR_CTRL_LEN);
}

static void test_vsock_pkt_rejects_bad_flags(void **state)
{
	struct vsock_hdr h = good_hdr(VSOCK_OP_SHUTDOWN, 0);
	struct vsock_pkt p;

	(void)state;
	h.flags = VSOCK_SHUTDOWN_ALL;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_OK);
	h.flags = 4;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_FLAGS);
	h = good_hdr(VSOCK_OP_RW, 0);
	h.flags = 1;
	assert_int_equal(parse(h, 0, 0, &p), VSOCK_PKT_ERR_FLAGS);
	for (int e = 0; e < VSOCK_PKT_ERR_COUNT; e++)
		assert_non_null(vsock_pkt_err_str((enum vsock_pkt_err)e));
}

static void test_vsock_hdr_to_guest(void **state)
{
	struct vsock_hdr h;

	(void)state;
	memset(&h, 0xaa, sizeof(h));
	vsock_hdr_to_guest(&h, CID, 5, 6, VSOCK_OP_RST);
	assert_int_equal(h.src_cid, VSOCK_HOST_CID);
	assert_int_equal(h.dst_cid, CID);
	assert_int_equal(h.src_port, 5);
	assert_int_equal(h.dst_port, 6);
	assert_int_equal(h.op, VSOCK_OP_RST);
	assert_int_equal(h.type, VSOCK_TYPE_STREAM);
	assert_int_equal(h.len, 0);
	assert_int_equal(h.flags, 0);
}

static int connect_line(const char *s, size_t n, uint32_t *port, size_t *line)
{
	return vsock_parse_connect(s, n, port, line);
}

static void test_vsock_connect_line(void **state)
{
	uint32_t port = 0;
	size_t line = 0;

	(void)state;
	assert_int_equal(connect_line("CONNECT 52\nxyz", 14, &port, &line), 1);
	assert_int_equal(port, 52);
	assert_int_equal(line, 11);
	assert_int_equal(connect_line("CONNECT 4294967295\n", 19, &port, &line), 1);
	assert_int_equal(port, 4294967295u);
	assert_int_equal(connect_line("CONNECT 0\n", 10, &port, &line), 1);
	assert_int_equal(port, 0);
	/* Incomplete: more bytes may come. */
	assert_int_equal(connect_line("", 0, &port, &line), 0);
	assert_int_equal(connect_line("CONN", 4, &port, &line), 0);
	assert_int_equal(connect_line("CONNECT ", 8, &port, &line), 0);
	assert_int_equal(connect_line("CONNECT 12", 10, &port, &line), 0);
}

static void test_vsock_connect_line_refusals(void **state)
{
	static const char *const bad[] = {
	    "connect 5\n",   "CONNECT\n",    "CONNECT \n",    "CONNECT 4294967296\n",
	    "CONNECT 01\n",  "CONNECT -1\n", "CONNECT 5 6\n", "CONNECT 12345678901",
	    "CONNECT 5\r\n", "HELLO",	     "CONNECTX",      "CONNECT +5\n",
	};
	uint32_t port;
	size_t line;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(connect_line(bad[i], strlen(bad[i]), &port, &line), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vsock_pkt_accepts_request_and_rw),
	    cmocka_unit_test(test_vsock_pkt_rejects_short_header),
	    cmocka_unit_test(test_vsock_pkt_rejects_writable_buffer),
	    cmocka_unit_test(test_vsock_pkt_rejects_spoofed_source_silently),
	    cmocka_unit_test(test_vsock_pkt_rejects_other_destination),
	    cmocka_unit_test(test_vsock_pkt_rejects_type_and_op),
	    cmocka_unit_test(test_vsock_pkt_rejects_len_beyond_chain_or_cap),
	    cmocka_unit_test(test_vsock_pkt_rejects_payload_on_control_ops),
	    cmocka_unit_test(test_vsock_pkt_rejects_bad_flags),
	    cmocka_unit_test(test_vsock_hdr_to_guest),
	    cmocka_unit_test(test_vsock_connect_line),
	    cmocka_unit_test(test_vsock_connect_line_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
