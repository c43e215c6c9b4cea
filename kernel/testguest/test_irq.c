/* SPDX-License-Identifier: MIT */
/*
 * ktest irq: one interrupt really travels serial -> in-kernel IOAPIC ->
 * LAPIC -> IDT. The 8259 PICs (masked in entry.S) and LAPIC LINT0 (masked
 * here) leave the IOAPIC as the only path. The handler (entry.S) counts per
 * vector and sends the EOI. CPL3 always runs with IF set (see
 * TG_USER_RFLAGS), so the source itself is what gets enabled and disabled.
 */
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "tg_layout.h"

#define SERIAL_IRQ_PIN 4
#define IRQ_VECTOR     0x24
/* ~200 ms on a 4 GHz TSC, up to ~800 ms on a 1 GHz one. */
#define IRQ_WAIT_TSC_CYCLES 800000000ULL

void ktest_irq(const struct tg_boot *b, struct ktest_verdict *v)
{
	uint32_t before, apic_id, spurious;
	uint64_t start, waited;
	uint8_t mcr;

	(void)b;

	apic_id = tg_lapic_enable();
	tg_ioapic_route(SERIAL_IRQ_PIN, IRQ_VECTOR, false);

	before = tg_irq_count[IRQ_VECTOR];
	spurious = tg_irq_count[TG_SPURIOUS_VECTOR];
	con_flush();
	mcr = tg_inb(COM1_PORT + UART_MCR);
	tg_outb(COM1_PORT + UART_MCR, mcr | UART_MCR_OUT2);
	/* 16550A: enabling ETBEI with the THR empty raises the interrupt at once. */
	tg_outb(COM1_PORT + UART_IER, UART_IER_THRI);
	start = tg_rdtsc();
	do {
		waited = tg_rdtsc() - start;
	} while (tg_irq_count[IRQ_VECTOR] == before && waited < IRQ_WAIT_TSC_CYCLES);
	tg_outb(COM1_PORT + UART_IER, 0);
	tg_outb(COM1_PORT + UART_MCR, mcr);
	tg_ioapic_route(SERIAL_IRQ_PIN, IRQ_VECTOR, true);

	ktest_info("irq");
	con_puts("vector=");
	con_hex(IRQ_VECTOR);
	con_puts(" count=");
	con_dec(tg_irq_count[IRQ_VECTOR] - before);
	con_puts(" spurious=");
	con_dec(tg_irq_count[TG_SPURIOUS_VECTOR] - spurious);
	con_puts(" dest_apic=");
	con_dec(apic_id);
	con_puts(" tsc_waited=");
	con_dec(waited);
	con_puts("\n");
	if (tg_irq_count[IRQ_VECTOR] == before)
		ktest_fail(v, "no interrupt");
}
