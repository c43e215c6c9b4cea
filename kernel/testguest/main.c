/* SPDX-License-Identifier: MIT */
/*
 * CPL3 side of the test guest: tg_main() is where entry.S iretq's to. It
 * announces the boot, runs the tests named by ktest=, prints KTEST DONE and
 * resets through the i8042. tg_panic() is where exceptions end up.
 */
#include "bootinfo.h"
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "lib.h"
#include "tg_layout.h"

#define I8042_CMD_PORT	0x64
#define I8042_CMD_RESET 0xfe
#define KTEST_NAME_MAX	64

struct ktest {
	const char *name;
	void (*run)(const struct tg_boot *b, struct ktest_verdict *v);
	bool in_all;
	/* In `all` only if this says the device it needs is there. */
	bool (*present)(const struct tg_boot *b);
};

static const struct ktest ktest_table[] = {
    {"serial", ktest_serial, true, NULL},
    {"memsize", ktest_memsize, true, NULL},
    {"cpus", ktest_cpus, true, NULL},
    {"cmdline", ktest_cmdline, true, NULL},
    {"cpuid", ktest_cpuid, true, NULL},
    {"boottimer", ktest_boottimer, true, NULL},
    {"irq", ktest_irq, true, NULL},
    {"panic", ktest_panic, false, NULL}, /* ends the run */
    {"blk_rw", ktest_blk_rw, true, vt_have_blk_rw},
    {"blk_ro", ktest_blk_ro, true, vt_have_blk_ro},
    {"blk_big", ktest_blk_big, true, vt_have_blk_rw},
    {"rng", ktest_rng, true, vt_have_rng},
    {"integrity", ktest_integrity, false, NULL},     /* for test_integrity.py */
    {"blkbench", ktest_blkbench, false, NULL},	     /* for bench/blk_bench.py */
    {"vsock_echo", ktest_vsock_echo, false, NULL},   /* needs a host side: test_vsock.py */
    {"vsock_bench", ktest_vsock_bench, false, NULL}, /* for bench/vsock_bench.py */
    {"ratelimit", ktest_ratelimit, false, NULL},     /* for test_ratelimit.py */
    /* virtio-net: a host responder echoes (tests/integration/test_net.py). */
    {"net_echo", ktest_net_echo, false, NULL},
    {"hostile_net_tx_oversized", ktest_hostile_net_tx_oversized, false, NULL},
    {"hostile_net_tx_bogus_hdr", ktest_hostile_net_tx_bogus_hdr, false, NULL},
    {"hostile_net_tx_writable", ktest_hostile_net_tx_writable, false, NULL},
    {"hostile_net_rx_tiny", ktest_hostile_net_rx_tiny, false, NULL},
    {"netbench", ktest_netbench, false, NULL}, /* for bench/net_bench.py */
};

volatile uint32_t tg_irq_count[TG_NR_VECTORS];
volatile uint64_t tg_panic_vector, tg_panic_err, tg_panic_rip;

/* Large: kept out of the 16 KiB user stack. */
static struct tg_boot tg_boot_info;

void tg_main(uint64_t kind, uint64_t info_pa) __attribute__((noreturn, used));
void tg_panic(void) __attribute__((noreturn, used));

static __attribute__((noreturn)) void tg_reset(void)
{
	con_flush();
	tg_outb(I8042_CMD_PORT, I8042_CMD_RESET);
	/* A VMM without the i8042 reset: park at CPL3, where hlt would fault. */
	for (;;)
		tg_pause();
}

struct tg_str *ktest_fail(struct ktest_verdict *v, const char *why)
{
	if (v->failed)
		tg_str_add(&v->reason, "; ");
	v->failed = true;
	tg_str_add(&v->reason, why);
	return &v->reason;
}

bool ktest_expect(const struct tg_boot *b, const char *key, uint64_t *out, struct ktest_verdict *v)
{
	switch (cmdline_get_u64(b->cmdline, key, out)) {
	case CMDLINE_NUM_OK:
		return true;
	case CMDLINE_NUM_ABSENT:
		ktest_fail(v, "no expectation given");
		return false;
	default:
		tg_str_add(ktest_fail(v, "bad expectation "), key);
		return false;
	}
}

void ktest_info(const char *test)
{
	con_puts("KTEST-INFO ");
	con_puts(test);
	con_puts(" ");
}

void ktest_report(const char *name, size_t name_len, const struct ktest_verdict *v)
{
	if (name_len > KTEST_NAME_MAX)
		name_len = KTEST_NAME_MAX;
	con_puts("KTEST ");
	con_write_printable(name, name_len);
	if (v->failed) {
		con_puts(" FAIL ");
		con_put_str(&v->reason);
		con_puts("\n");
	} else {
		con_puts(" PASS\n");
	}
}

static void ktest_run_one(const struct tg_boot *b, const struct ktest *t, const char *name,
			  size_t name_len)
{
	struct ktest_verdict v = {.failed = false};

	if (t)
		t->run(b, &v);
	else
		ktest_fail(&v, "unknown test");
	ktest_report(name, name_len, &v);
}

static void ktest_run_name(const struct tg_boot *b, const char *name, size_t len)
{
	size_t i;

	if (tg_span_eq(name, len, "all")) {
		for (i = 0; i < sizeof(ktest_table) / sizeof(ktest_table[0]); i++) {
			if (ktest_table[i].in_all &&
			    (!ktest_table[i].present || ktest_table[i].present(b)))
				ktest_run_one(b, &ktest_table[i], ktest_table[i].name,
					      strlen(ktest_table[i].name));
		}
		return;
	}
	if (tg_span_eq(name, len, "hostile")) {
		ktest_hostile_all(b);
		return;
	}
	for (i = 0; i < sizeof(ktest_table) / sizeof(ktest_table[0]); i++) {
		if (tg_span_eq(name, len, ktest_table[i].name)) {
			ktest_run_one(b, &ktest_table[i], name, len);
			return;
		}
	}
	if (ktest_hostile_one(b, name, len) || ktest_vsock_hostile(b, name, len))
		return;
	ktest_run_one(b, NULL, name, len);
}

static void ktest_run_list(const struct tg_boot *b)
{
	const char *list;
	size_t len, start = 0, end;

	if (!cmdline_get(b->cmdline, "ktest=", &list, &len)) {
		con_puts("KTEST-INFO no ktest= on the command line\n");
		return;
	}
	while (start < len) {
		for (end = start; end < len && list[end] != ','; end++)
			;
		if (end > start)
			ktest_run_name(b, list + start, end - start);
		start = end + 1;
	}
}

void tg_main(uint64_t kind, uint64_t info_pa)
{
	const char *hold;
	size_t hold_len;

	/*
	 * .bss is not cleared here: the ELF/PVH contract has the loader present
	 * p_memsz as zeros (kiln and QEMU both do), and touching 2 MiB of
	 * buffers up front would fault in every page before the first line.
	 */
	con_init();
	con_puts(kind == TG_BOOT_PVH ? "KTEST BOOT pvh\n" : "KTEST BOOT linux64\n");

	boot_parse(&tg_boot_info, (int)kind, info_pa);
	if (tg_boot_info.problem) {
		con_puts("KTEST-INFO boot ");
		con_puts(tg_boot_info.problem);
		con_puts("\n");
	}
	ktest_run_list(&tg_boot_info);
	con_puts("KTEST DONE\n");
	/* ktest.hold=1: stay up after the tests so the host can measure the VMM. */
	if (cmdline_get(tg_boot_info.cmdline, "ktest.hold=", &hold, &hold_len) && hold_len == 1 &&
	    hold[0] == '1') {
		con_puts("KTEST HOLD\n");
		con_flush();
		for (;;)
			tg_pause();
	}
	tg_reset();
}

void tg_panic(void)
{
	static unsigned int depth;

	/* A fault while reporting one: try the reset once more, then park. */
	if (depth++) {
		if (depth == 2)
			tg_outb(I8042_CMD_PORT, I8042_CMD_RESET);
		for (;;)
			tg_pause();
	}
	con_break_line();
	con_puts("KTEST PANIC vector=");
	con_dec(tg_panic_vector);
	con_puts(" rip=");
	con_hex(tg_panic_rip);
	con_puts(" err=");
	con_hex(tg_panic_err);
	con_puts("\n");
	tg_reset();
}

/* Proves the panic path: #UD at CPL3. Never returns. */
void ktest_panic(const struct tg_boot *b, struct ktest_verdict *v)
{
	(void)b;
	(void)v;
	__asm__ volatile("ud2");
}
