/* SPDX-License-Identifier: MIT */
/*
 * The test protocol: each test fills a verdict, the runner prints
 * "KTEST <name> PASS" or "KTEST <name> FAIL <reason>". Also the state shared
 * with the CPL0 stubs in entry.S.
 */
#ifndef TG_KTEST_H
#define TG_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "bootinfo.h"
#include "lib.h"

struct ktest_verdict {
	bool failed;
	struct tg_str reason;
};

/* Mark failed and start (or extend, after "; ") the reason; append more to the result. */
struct tg_str *ktest_fail(struct ktest_verdict *v, const char *why);

/*
 * Read expectation @key ("ktest.cpus="). Fails the verdict and returns false
 * if it is absent ("no expectation given") or malformed.
 */
bool ktest_expect(const struct tg_boot *b, const char *key, uint64_t *out, struct ktest_verdict *v);

/* Print "KTEST <name> PASS" or "KTEST <name> FAIL <reason>". */
void ktest_report(const char *name, size_t name_len, const struct ktest_verdict *v);

/* Start a "KTEST-INFO <test> " line; the caller ends it with "\n". */
void ktest_info(const char *test);

void ktest_serial(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_memsize(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cpus(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cmdline(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_cpuid(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_boottimer(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_irq(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_panic(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_blk_rw(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_blk_ro(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_blk_big(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_rng(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_integrity(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_blkbench(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_vsock_echo(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_vsock_bench(const struct tg_boot *b, struct ktest_verdict *v);
/* "vsock_hostile" runs every hostile_vsock_* case (test_vsock.c); true if @name matched. */
bool ktest_vsock_hostile(const struct tg_boot *b, const char *name, size_t len);
void ktest_ratelimit(const struct tg_boot *b, struct ktest_verdict *v);
/* virtio-net (test_net.c): need a host responder on the tap, so never in `all`. */
void ktest_net_echo(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_hostile_net_tx_oversized(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_hostile_net_tx_bogus_hdr(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_hostile_net_tx_writable(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_hostile_net_rx_tiny(const struct tg_boot *b, struct ktest_verdict *v);
void ktest_netbench(const struct tg_boot *b, struct ktest_verdict *v);
/*
 * test_net.c's driver, for test_netbench.c and test_ratelimit.c: open with
 * queues of @qsize, per-queue views; send one echo request frame and wait
 * for its used entry; put RX buffer @id back.
 */
struct vio_dev *tn_open_q(const struct tg_boot *b, uint16_t qsize, uint32_t rx_len,
			  struct ktest_verdict *v);
struct vio_dev *tn_queue_view(unsigned int q);
uint8_t *tn_rx_buf(uint16_t id);
const uint8_t *tn_guest_mac(void);
bool tn_send(uint32_t seq, uint32_t frame_len, struct tg_str *why);
void tn_rx_repost(uint16_t id);

/* virtio device choice (test_virtio.c): which device each test uses. */
struct vio_dev;
struct vio_dev *vt_blk_rw_dev(const struct tg_boot *b);
struct vio_dev *vt_blk_ro_dev(const struct tg_boot *b);
bool vt_have_blk_rw(const struct tg_boot *b);
bool vt_have_blk_ro(const struct tg_boot *b);
bool vt_have_rng(const struct tg_boot *b);
/* A blk request that must end with @want_status and used length @want_len. */
bool vt_blk_expect(struct vio_dev *d, const char *what, uint32_t type, uint64_t sector, void *data,
		   uint32_t bytes, unsigned int nseg, bool indirect, uint8_t want_status,
		   uint32_t want_len, struct ktest_verdict *v);
void vt_pattern(uint8_t *p, uint32_t n, uint64_t seed);
extern uint8_t vt_buf_a[1 << 20], vt_buf_b[1 << 20];

/* Hostile virtio tests (test_hostile.c): "hostile" runs them all. */
void ktest_hostile_all(const struct tg_boot *b);
bool ktest_hostile_one(const struct tg_boot *b, const char *name, size_t len);

/* Shared with entry.S: interrupt counts per vector and the last exception. */
extern volatile uint32_t tg_irq_count[256];
extern volatile uint64_t tg_panic_vector, tg_panic_err, tg_panic_rip;

#endif
