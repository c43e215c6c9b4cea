/* SPDX-License-Identifier: MIT */
/*
 * ktest serial: the 16550A registers a driver relies on (scratch, LSR, the
 * DLAB-switched divisor latch). Each access is an exit, so ~16 in all.
 */
#include "console.h"
#include "io.h"
#include "ktest.h"

#define UART_DLL	  0
#define UART_DLM	  1
#define SERIAL_DIV_115200 0x0001

static bool serial_scratch_ok(uint8_t pattern)
{
	tg_outb(COM1_PORT + UART_SCR, pattern);
	return tg_inb(COM1_PORT + UART_SCR) == pattern;
}

void ktest_serial(const struct tg_boot *b, struct ktest_verdict *v)
{
	uint8_t lcr, dll, dlm, got_dll, got_dlm;

	(void)b;
	if (!serial_scratch_ok(0x5a) || !serial_scratch_ok(0xa5))
		ktest_fail(v, "scratch register lost its value");
	if (!(tg_inb(COM1_PORT + UART_LSR) & UART_LSR_THRE))
		ktest_fail(v, "LSR THR empty bit clear");

	/* 16550A data sheet: DLAB=1 maps DLL/DLM over THR/IER. No output meanwhile. */
	con_flush();
	lcr = tg_inb(COM1_PORT + UART_LCR) & (uint8_t)~UART_LCR_DLAB;
	tg_outb(COM1_PORT + UART_LCR, lcr | UART_LCR_DLAB);
	dll = tg_inb(COM1_PORT + UART_DLL);
	dlm = tg_inb(COM1_PORT + UART_DLM);
	tg_outb(COM1_PORT + UART_DLL, SERIAL_DIV_115200 & 0xff);
	tg_outb(COM1_PORT + UART_DLM, SERIAL_DIV_115200 >> 8);
	got_dll = tg_inb(COM1_PORT + UART_DLL);
	got_dlm = tg_inb(COM1_PORT + UART_DLM);
	tg_outb(COM1_PORT + UART_DLL, dll);
	tg_outb(COM1_PORT + UART_DLM, dlm);
	tg_outb(COM1_PORT + UART_LCR, lcr);
	if (got_dll != (SERIAL_DIV_115200 & 0xff) || got_dlm != (SERIAL_DIV_115200 >> 8)) {
		struct tg_str *r = ktest_fail(v, "divisor latch read back ");

		tg_str_add_hex(r, (uint64_t)got_dlm << 8 | got_dll);
	}
}
