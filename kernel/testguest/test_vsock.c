/* SPDX-License-Identifier: MIT */
/*
 * ktest vsock_echo and the hostile vsock cases (ktest=vsock_hostile, each
 * "hostile_vsock_*"), against kiln's virtio-vsock (docs/VIRTIO.md). The host
 * side is the test harness: a Unix listener at <uds_path>_<ktest.vsock_port>
 * that echoes (or, for the hostile run, accepts and never reads), and a host
 * process that connects to uds_path once the guest prints that it listens on
 * ktest.vsock_listen. Each hostile case re-initialises the device and ends by
 * proving it still answers.
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "vsock.h"

#define TV_GUEST_PORT	   5001 /* source port of guest-initiated connections */
#define TV_WAIT_HOST_TSC   (60 * VIO_TIMEOUT_TSC)
#define TV_WAIT_TSC	   (10 * VIO_TIMEOUT_TSC)
#define TV_CONN_LIMIT	   64 /* kiln's VSOCK_MAX_CONNS */
#define TV_FLOOD_CONNS	   (TV_CONN_LIMIT + 6)
#define TV_CREDIT_PKT	   (32u * 1024)
#define TV_CREDIT_MAX_PKTS 256 /* 8 MiB: far beyond any socket buffer plus 64 KiB */

static const uint32_t tv_echo_sizes[] = {1, 1000, 4096, 30000, 65536};

struct tv_ctx {
	const struct tg_boot *b;
	struct tv_dev t;
	struct ktest_verdict *v;
	uint64_t port, listen; /* ktest.vsock_port / ktest.vsock_listen */
};

/* tv_send with the verdict as the place for a failure. */
static bool tv_tx(struct tv_ctx *x, struct tv_conn *c, enum tv_op op, uint32_t flags,
		  const void *data, uint32_t len)
{
	struct tg_str why = {.len = 0};

	if (tv_send(&x->t, c, op, flags, data, len, &why))
		return true;
	ktest_fail(x->v, why.buf);
	return false;
}

/* Wait for a packet on @c's ports, taking credit; skips credit updates. */
static bool tv_wait_op(struct tv_ctx *x, struct tv_conn *c, struct tv_pkt *p, uint64_t timeout)
{
	for (;;) {
		if (!tv_recv(&x->t, timeout, p)) {
			ktest_fail(x->v, "no RX packet (timeout)");
			return false;
		}
		if (p->hdr.src_port != c->rport || p->hdr.dst_port != c->lport ||
		    p->hdr.dst_cid != x->t.cid || p->hdr.src_cid != TV_HOST_CID) {
			tg_str_add_dec(ktest_fail(x->v, "packet for another port "),
				       p->hdr.dst_port);
			tv_rx_done(&x->t, p);
			return false;
		}
		tv_take_credit(c, &p->hdr);
		if (p->hdr.op != TV_OP_CREDIT_UPDATE)
			return true;
		tv_rx_done(&x->t, p);
	}
}

/* The next packet on @c must be @op. */
static bool tv_expect(struct tv_ctx *x, struct tv_conn *c, enum tv_op op, const char *what)
{
	struct tv_pkt p;

	if (!tv_wait_op(x, c, &p, TV_WAIT_TSC))
		return false;
	tv_rx_done(&x->t, &p);
	if (p.hdr.op == op)
		return true;
	tg_str_add(ktest_fail(x->v, what), " answered with op ");
	tg_str_add_dec(&x->v->reason, p.hdr.op);
	return false;
}

/* Receive @n echoed bytes on @c and compare them with @want. */
static bool tv_recv_echo(struct tv_ctx *x, struct tv_conn *c, const uint8_t *want, uint32_t n)
{
	uint32_t got = 0;
	struct tv_pkt p;

	while (got < n) {
		if (!tv_wait_op(x, c, &p, TV_WAIT_TSC))
			return false;
		if (p.hdr.op != TV_OP_RW || p.hdr.len > n - got ||
		    memcmp(p.data, want + got, p.hdr.len)) {
			tg_str_add_dec(ktest_fail(x->v, "bad echo: op "), p.hdr.op);
			tv_rx_done(&x->t, &p);
			return false;
		}
		got += p.hdr.len;
		c->fwd_cnt += p.hdr.len;
		tv_rx_done(&x->t, &p);
	}
	return true;
}

/* SHUTDOWN both ways, then kiln's RST ends the connection (§5.10.6.5). */
static bool tv_close(struct tv_ctx *x, struct tv_conn *c)
{
	return tv_tx(x, c, TV_OP_SHUTDOWN, 3, NULL, 0) && tv_expect(x, c, TV_OP_RST, "SHUTDOWN");
}

static bool tv_setup(struct tv_ctx *x, const struct tg_boot *b, struct ktest_verdict *v)
{
	struct tg_str why = {.len = 0};

	x->b = b;
	x->v = v;
	if (!ktest_expect(b, "ktest.vsock_port=", &x->port, v))
		return false;
	if (!tv_init(&x->t, b, &why)) {
		ktest_fail(v, why.buf);
		return false;
	}
	return true;
}

/* REQUEST to host port ktest.vsock_port from @lport: RESPONSE expected. */
static bool tv_connect(struct tv_ctx *x, struct tv_conn *c, uint32_t lport)
{
	*c = (struct tv_conn){.lport = lport, .rport = (uint32_t)x->port};
	return tv_tx(x, c, TV_OP_REQUEST, 0, NULL, 0) && tv_expect(x, c, TV_OP_RESPONSE, "REQUEST");
}

/* Guest-initiated: connect to the host's echo listener, echo each size, close. */
static uint64_t tv_echo_guest_initiated(struct tv_ctx *x)
{
	struct tv_conn c;
	uint64_t total = 0;

	if (!tv_connect(x, &c, TV_GUEST_PORT))
		return 0;
	for (size_t i = 0; i < sizeof(tv_echo_sizes) / sizeof(tv_echo_sizes[0]); i++) {
		uint32_t n = tv_echo_sizes[i];

		vt_pattern(vt_buf_a, n, tg_rdtsc());
		if (n > tv_credit(&c)) {
			ktest_fail(x->v, "no credit from kiln for one packet");
			return 0;
		}
		if (!tv_tx(x, &c, TV_OP_RW, 0, vt_buf_a, n) || !tv_recv_echo(x, &c, vt_buf_a, n))
			return 0;
		total += n;
	}
	return tv_close(x, &c) ? total : 0;
}

/* Host-initiated: wait for the host's REQUEST, then echo until it shuts down. */
static uint64_t tv_echo_host_initiated(struct tv_ctx *x)
{
	struct tv_conn c = {.lport = (uint32_t)x->listen};
	uint64_t total = 0;
	struct tv_pkt p;

	ktest_info("vsock_echo");
	con_puts("listening port=");
	con_dec(x->listen);
	con_puts("\n");
	if (!tv_recv(&x->t, TV_WAIT_HOST_TSC, &p)) {
		ktest_fail(x->v, "no host connection (timeout)");
		return 0;
	}
	tv_rx_done(&x->t, &p);
	if (p.hdr.op != TV_OP_REQUEST || p.hdr.dst_port != x->listen) {
		tg_str_add_dec(ktest_fail(x->v, "expected a REQUEST, got op "), p.hdr.op);
		return 0;
	}
	c.rport = p.hdr.src_port;
	tv_take_credit(&c, &p.hdr);
	if (!tv_tx(x, &c, TV_OP_RESPONSE, 0, NULL, 0))
		return 0;
	for (;;) {
		if (!tv_wait_op(x, &c, &p, TV_WAIT_TSC))
			return 0;
		if (p.hdr.op != TV_OP_RW)
			break;
		c.fwd_cnt += p.hdr.len;
		total += p.hdr.len;
		/* The harness sends a chunk and waits for its echo: credit suffices. */
		if (p.hdr.len > tv_credit(&c)) {
			ktest_fail(x->v, "echo beyond kiln's credit");
			tv_rx_done(&x->t, &p);
			return 0;
		}
		if (!tv_tx(x, &c, TV_OP_RW, 0, p.data, p.hdr.len)) {
			tv_rx_done(&x->t, &p);
			return 0;
		}
		tv_rx_done(&x->t, &p);
	}
	if (p.hdr.op != TV_OP_SHUTDOWN) {
		tg_str_add_dec(ktest_fail(x->v, "host side ended with op "), p.hdr.op);
		return 0;
	}
	return tv_close(x, &c) ? total : 0;
}

void ktest_vsock_echo(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct tv_ctx x;
	uint64_t cid, g2h, h2g;

	if (!tv_setup(&x, b, v) || !ktest_expect(b, "ktest.vsock_cid=", &cid, v) ||
	    !ktest_expect(b, "ktest.vsock_listen=", &x.listen, v))
		return;
	if (x.t.cid != cid) {
		tg_str_add_dec(ktest_fail(v, "config guest_cid "), x.t.cid);
		return;
	}
	g2h = tv_echo_guest_initiated(&x);
	if (v->failed)
		return;
	h2g = tv_echo_host_initiated(&x);
	if (v->failed)
		return;
	ktest_info("vsock_echo");
	con_puts("cid=");
	con_dec(x.t.cid);
	con_puts(" guest_initiated_bytes=");
	con_dec(g2h);
	con_puts(" host_initiated_bytes=");
	con_dec(h2g);
	con_puts("\n");
	if (!h2g)
		ktest_fail(v, "the host sent no bytes");
}

/* ---- hostile cases ------------------------------------------------------ */

static struct tv_hdr tv_bad __attribute__((aligned(64)));
static uint8_t tv_pad[64] __attribute__((aligned(64)));

/* A well-formed header from @lport to the holder port, for a case to spoil. */
static void tv_bad_init(struct tv_ctx *x, uint32_t lport, enum tv_op op)
{
	tv_bad = (struct tv_hdr){.src_cid = x->t.cid,
				 .dst_cid = TV_HOST_CID,
				 .src_port = lport,
				 .dst_port = (uint32_t)x->port,
				 .type = 1,
				 .op = (uint16_t)op,
				 .buf_alloc = TV_BUF_ALLOC};
}

static bool tv_bad_send(struct tv_ctx *x, uint32_t hlen, const void *data, uint32_t len)
{
	struct tg_str why = {.len = 0};

	if (tv_tx_raw(&x->t, &tv_bad, hlen, data, len, &why))
		return true;
	ktest_fail(x->v, why.buf);
	return false;
}

/* Nothing may arrive for a while (a packet kiln must drop). */
static void tv_expect_silence(struct tv_ctx *x, const char *what)
{
	struct tv_pkt p;

	if (!tv_recv(&x->t, VIO_QUIET_TSC, &p))
		return;
	tv_rx_done(&x->t, &p);
	tg_str_add(ktest_fail(x->v, what), ": answered with op ");
	tg_str_add_dec(&x->v->reason, p.hdr.op);
}

/* The spoiled packet from @lport must be answered with RST. */
static void tv_expect_rst(struct tv_ctx *x, uint32_t lport, const char *what)
{
	struct tv_conn c = {.lport = lport, .rport = (uint32_t)x->port};

	tv_expect(x, &c, TV_OP_RST, what);
}

static void hv_src_cid(struct tv_ctx *x)
{
	tv_bad_init(x, 6001, TV_OP_REQUEST);
	tv_bad.src_cid = x->t.cid + 1;
	if (tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		tv_expect_silence(x, "spoofed source CID");
}

static void hv_dst_cid(struct tv_ctx *x)
{
	tv_bad_init(x, 6002, TV_OP_REQUEST);
	tv_bad.dst_cid = 7;
	if (tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		tv_expect_rst(x, 6002, "destination CID 7");
}

static void hv_bad_op(struct tv_ctx *x)
{
	tv_bad_init(x, 6003, (enum tv_op)99);
	if (tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		tv_expect_rst(x, 6003, "op 99");
}

static void hv_bad_type(struct tv_ctx *x)
{
	tv_bad_init(x, 6004, TV_OP_REQUEST);
	tv_bad.type = 2; /* SEQPACKET, not offered */
	if (tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		tv_expect_rst(x, 6004, "type 2");
}

static void hv_len_beyond_chain(struct tv_ctx *x)
{
	tv_bad_init(x, 6005, TV_OP_RW);
	tv_bad.len = 1000;
	if (tv_bad_send(x, TV_HDR_BYTES, tv_pad, 10))
		tv_expect_rst(x, 6005, "len 1000 with 10 bytes");
}

static void hv_len_too_big(struct tv_ctx *x)
{
	tv_bad_init(x, 6006, TV_OP_RW);
	tv_bad.len = TV_MAX_PAYLOAD + 1;
	if (tv_bad_send(x, TV_HDR_BYTES, vt_buf_a, TV_MAX_PAYLOAD + 1))
		tv_expect_rst(x, 6006, "len 64 KiB + 1");
}

static void hv_ctrl_payload(struct tv_ctx *x)
{
	tv_bad_init(x, 6007, TV_OP_REQUEST);
	tv_bad.len = 8;
	if (tv_bad_send(x, TV_HDR_BYTES, tv_pad, 8))
		tv_expect_rst(x, 6007, "REQUEST with a payload");
}

static void hv_short_header(struct tv_ctx *x)
{
	tv_bad_init(x, 6008, TV_OP_REQUEST);
	if (tv_bad_send(x, 20, NULL, 0))
		tv_expect_silence(x, "20-byte header");
}

static void hv_unknown_conn(struct tv_ctx *x)
{
	tv_bad_init(x, 6009, TV_OP_RW);
	tv_bad.len = 10;
	if (tv_bad_send(x, TV_HDR_BYTES, tv_pad, 10))
		tv_expect_rst(x, 6009, "RW without a connection");
}

/* Ignore kiln's credit; the holder never reads, so kiln must reset us. */
static void hv_credit_overrun(struct tv_ctx *x)
{
	struct tv_conn c;
	struct tv_pkt p;

	if (!tv_connect(x, &c, 6010))
		return;
	for (unsigned int i = 0; i < TV_CREDIT_MAX_PKTS; i++) {
		if (!tv_tx(x, &c, TV_OP_RW, 0, vt_buf_a, TV_CREDIT_PKT))
			return;
		while (tv_recv(&x->t, VIO_QUIET_TSC / 16, &p)) {
			tv_rx_done(&x->t, &p);
			if (p.hdr.op == TV_OP_RST && p.hdr.dst_port == c.lport) {
				ktest_info("hostile_vsock_credit_overrun");
				con_puts("rst_after_bytes=");
				con_dec(c.tx_cnt);
				con_puts("\n");
				return;
			}
			if (p.hdr.op != TV_OP_CREDIT_UPDATE) {
				tg_str_add_dec(ktest_fail(x->v, "unexpected op "), p.hdr.op);
				return;
			}
		}
	}
	ktest_fail(x->v, "no RST after 8 MiB beyond the credit");
}

static void hv_fwd_cnt_ahead(struct tv_ctx *x)
{
	struct tv_conn c;

	if (!tv_connect(x, &c, 6011))
		return;
	c.fwd_cnt = 5000; /* kiln sent nothing: claiming 5000 consumed is a lie */
	if (tv_tx(x, &c, TV_OP_CREDIT_UPDATE, 0, NULL, 0))
		tv_expect(x, &c, TV_OP_RST, "fwd_cnt beyond what kiln sent");
}

/* At most TV_CONN_LIMIT connections; the rest are refused, then all work again. */
static void hv_conn_limit(struct tv_ctx *x)
{
	unsigned int ok = 0, refused = 0;
	struct tv_conn c;

	for (unsigned int i = 0; i < TV_FLOOD_CONNS && !x->v->failed; i++) {
		struct tv_pkt p;

		c = (struct tv_conn){.lport = 7000 + i, .rport = (uint32_t)x->port};
		if (!tv_tx(x, &c, TV_OP_REQUEST, 0, NULL, 0) || !tv_wait_op(x, &c, &p, TV_WAIT_TSC))
			return;
		tv_rx_done(&x->t, &p);
		ok += p.hdr.op == TV_OP_RESPONSE;
		refused += p.hdr.op == TV_OP_RST;
	}
	for (unsigned int i = 0; i < TV_FLOOD_CONNS && !x->v->failed; i++) {
		c = (struct tv_conn){.lport = 7000 + i, .rport = (uint32_t)x->port};
		tv_tx(x, &c, TV_OP_RST, 0, NULL, 0);
	}
	ktest_info("hostile_vsock_conn_limit");
	con_puts("accepted=");
	con_dec(ok);
	con_puts(" refused=");
	con_dec(refused);
	con_puts("\n");
	if (ok != TV_CONN_LIMIT || refused != TV_FLOOD_CONNS - TV_CONN_LIMIT)
		ktest_fail(x->v, "connection limit not enforced as documented");
	else if (tv_connect(x, &c, 7999))
		tv_close(x, &c);
}

/* An RX buffer the device could only read: NEEDS_RESET, then a re-init works. */
static void hv_rx_readable(struct tv_ctx *x)
{
	struct tg_str why = {.len = 0};
	struct tv_pkt p;
	uint32_t st;

	/* Use up every RX buffer (RSTs to unknown connections), keeping them. */
	for (unsigned int i = 0; i < TV_RX_BUFS; i++) {
		tv_bad_init(x, 6100 + i, TV_OP_RW);
		if (!tv_bad_send(x, TV_HDR_BYTES, NULL, 0) || !tv_recv(&x->t, TV_WAIT_TSC, &p)) {
			ktest_fail(x->v, "RST not received");
			return;
		}
	}
	tv_rx_post_readable(&x->t);
	tv_bad_init(x, 6200, TV_OP_RW);
	if (!tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		return;
	st = vio_wait_status(x->t.d, VIO_S_NEEDS_RESET, VIO_TIMEOUT_TSC);
	if (!(st & VIO_S_NEEDS_RESET)) {
		tg_str_add_hex(ktest_fail(x->v, "no NEEDS_RESET, status "), st);
		return;
	}
	if (!tv_init(&x->t, x->b, &why))
		ktest_fail(x->v, why.buf);
}

struct hv_case {
	const char *name;
	void (*run)(struct tv_ctx *x);
};

static const struct hv_case hv_cases[] = {
    {"hostile_vsock_src_cid", hv_src_cid},
    {"hostile_vsock_dst_cid", hv_dst_cid},
    {"hostile_vsock_bad_op", hv_bad_op},
    {"hostile_vsock_bad_type", hv_bad_type},
    {"hostile_vsock_len_beyond_chain", hv_len_beyond_chain},
    {"hostile_vsock_len_too_big", hv_len_too_big},
    {"hostile_vsock_ctrl_payload", hv_ctrl_payload},
    {"hostile_vsock_short_header", hv_short_header},
    {"hostile_vsock_unknown_conn", hv_unknown_conn},
    {"hostile_vsock_credit_overrun", hv_credit_overrun},
    {"hostile_vsock_fwd_cnt_ahead", hv_fwd_cnt_ahead},
    {"hostile_vsock_conn_limit", hv_conn_limit},
    {"hostile_vsock_rx_readable", hv_rx_readable},
};

/* After each case: the device still answers a packet of no connection with RST. */
static void hv_still_answers(struct tv_ctx *x)
{
	tv_bad_init(x, 6999, TV_OP_RW);
	if (tv_bad_send(x, TV_HDR_BYTES, NULL, 0))
		tv_expect_rst(x, 6999, "after the case, a packet of no connection");
}

static void hv_run(const struct tg_boot *b, const struct hv_case *hc)
{
	struct ktest_verdict v = {.failed = false};
	struct tv_ctx x;

	if (tv_setup(&x, b, &v)) {
		hc->run(&x);
		if (!v.failed)
			hv_still_answers(&x);
	}
	ktest_report(hc->name, strlen(hc->name), &v);
}

bool ktest_vsock_hostile(const struct tg_boot *b, const char *name, size_t len)
{
	bool all = tg_span_eq(name, len, "vsock_hostile");
	bool any = false;

	for (size_t i = 0; i < sizeof(hv_cases) / sizeof(hv_cases[0]); i++) {
		if (all || tg_span_eq(name, len, hv_cases[i].name)) {
			hv_run(b, &hv_cases[i]);
			any = true;
		}
	}
	return any;
}

/* ---- vsock_bench (bench/vsock_bench.py) ---------------------------------- */

static void tv_bench_mark(const char *what, const char *dir, uint64_t bytes)
{
	ktest_info("vsock_bench");
	con_puts(what);
	con_puts(" ");
	con_puts(dir);
	con_puts(" bytes=");
	con_dec(bytes);
	con_puts("\n");
}

/* Guest to host: @total bytes in packets of up to 64 KiB, as the credit allows. */
static bool tv_bench_g2h(struct tv_ctx *x, uint64_t total)
{
	struct tv_conn c;
	uint64_t sent = 0;
	struct tv_pkt p;

	if (!tv_connect(x, &c, TV_GUEST_PORT + 1))
		return false;
	tv_bench_mark("begin", "g2h", total);
	while (sent < total) {
		uint32_t n = tv_credit(&c);

		if (n == 0) {
			/* Out of credit: the next packet is kiln's CREDIT_UPDATE (or worse). */
			if (!tv_recv(&x->t, TV_WAIT_TSC, &p)) {
				ktest_fail(x->v, "no credit update (timeout)");
				return false;
			}
			tv_take_credit(&c, &p.hdr);
			tv_rx_done(&x->t, &p);
			if (p.hdr.op != TV_OP_CREDIT_UPDATE) {
				tg_str_add_dec(ktest_fail(x->v, "while sending: op "), p.hdr.op);
				return false;
			}
			continue;
		}
		if (n > TV_MAX_PAYLOAD)
			n = TV_MAX_PAYLOAD;
		if (n > total - sent)
			n = (uint32_t)(total - sent);
		if (!tv_tx(x, &c, TV_OP_RW, 0, vt_buf_a, n))
			return false;
		sent += n;
		while (tv_recv(&x->t, 0, &p)) { /* credit updates that already came */
			tv_take_credit(&c, &p.hdr);
			tv_rx_done(&x->t, &p);
		}
	}
	/* kiln answers SHUTDOWN with RST only once every byte is in the host socket. */
	if (!tv_close(x, &c))
		return false;
	tv_bench_mark("end", "g2h", sent);
	return true;
}

/* Host to guest: take what the host sends until @total bytes arrived. */
static bool tv_bench_h2g(struct tv_ctx *x, uint64_t total)
{
	struct tv_conn c = {.lport = (uint32_t)x->listen};
	uint64_t got = 0;
	struct tv_pkt p;

	tv_bench_mark("listening", "h2g", total);
	if (!tv_recv(&x->t, TV_WAIT_HOST_TSC, &p) || p.hdr.op != TV_OP_REQUEST) {
		ktest_fail(x->v, "no REQUEST from the host");
		return false;
	}
	tv_rx_done(&x->t, &p);
	c.rport = p.hdr.src_port;
	tv_take_credit(&c, &p.hdr);
	if (!tv_tx(x, &c, TV_OP_RESPONSE, 0, NULL, 0))
		return false;
	tv_bench_mark("begin", "h2g", total);
	while (got < total) {
		if (!tv_wait_op(x, &c, &p, TV_WAIT_TSC))
			return false;
		tv_rx_done(&x->t, &p);
		if (p.hdr.op != TV_OP_RW) {
			tg_str_add_dec(ktest_fail(x->v, "while receiving: op "), p.hdr.op);
			return false;
		}
		got += p.hdr.len;
		c.fwd_cnt += p.hdr.len;
		if (c.fwd_cnt - c.fwd_reported >= TV_BUF_ALLOC / 4 &&
		    !tv_tx(x, &c, TV_OP_CREDIT_UPDATE, 0, NULL, 0))
			return false;
	}
	tv_bench_mark("end", "h2g", got);
	return tv_tx(x, &c, TV_OP_RST, 0, NULL, 0);
}

void ktest_vsock_bench(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct tv_ctx x;
	uint64_t mib;

	if (!tv_setup(&x, b, v) || !ktest_expect(b, "ktest.vsock_listen=", &x.listen, v) ||
	    !ktest_expect(b, "ktest.vsock_bench_mib=", &mib, v))
		return;
	vt_pattern(vt_buf_a, TV_MAX_PAYLOAD, tg_rdtsc());
	if (tv_bench_g2h(&x, mib << 20))
		tv_bench_h2g(&x, mib << 20);
}
