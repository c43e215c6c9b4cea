/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART emulation, enough for Linux's 8250 driver and the test guest:
 * divisor latch, FIFO control, RX data and THR-empty interrupts, loopback
 * modem-status mapping (the 8250 probe checks it). The line is signalled as
 * an edge on each 0 -> 1 transition of "interrupt pending".
 */
#include "vmm/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define UART_LCR_DLAB	   0x80
#define UART_IER_RDI	   0x01
#define UART_IER_THRI	   0x02
#define UART_IER_MASK	   0x0f
#define UART_IIR_NO_INT	   0x01
#define UART_IIR_THRI	   0x02
#define UART_IIR_RDI	   0x04
#define UART_IIR_FIFO_BITS 0xc0
#define UART_FCR_ENABLE	   0x01
#define UART_FCR_CLEAR_RX  0x02
#define UART_LSR_DR	   0x01
#define UART_LSR_THRE	   0x20
#define UART_LSR_TEMT	   0x40
#define UART_MCR_LOOP	   0x10
/* Not in loopback: carrier, data set ready and clear to send asserted. */
#define UART_MSR_IDLE 0xb0

static int serial_compute_irq(const struct serial *s)
{
	return ((s->ier & UART_IER_RDI) && s->rx_count) ||
	       ((s->ier & UART_IER_THRI) && s->thre_pending);
}

/* Called with the lock held after every state change. */
static void serial_update_irq(struct serial *s)
{
	int now = serial_compute_irq(s);

	if (now && !s->irq_pending && s->irq_edge)
		s->irq_edge(s->irq_opaque);
	s->irq_pending = now;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO_BYTES;
	s->rx_count--;
	return b;
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO_BYTES] = b;
	s->rx_count++;
}

static void serial_tx(struct serial *s, uint8_t b)
{
	ssize_t n;

	if (s->mcr & UART_MCR_LOOP) {
		if (s->rx_count < SERIAL_RX_FIFO_BYTES)
			serial_rx_push(s, b);
	} else if (s->out_fd >= 0) {
		/* A closed or broken sink drops output; it never stops the guest. */
		do {
			n = write(s->out_fd, &b, 1);
		} while (n < 0 && errno == EINTR);
	}
	s->thre_pending = 1;
}

static uint8_t serial_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO_BITS : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thre_pending) {
		/* 16550 data sheet: reading IIR clears a THRE interrupt. */
		s->thre_pending = 0;
		return fifo | UART_IIR_THRI;
	}
	return fifo | UART_IIR_NO_INT;
}

static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & UART_MCR_LOOP))
		return UART_MSR_IDLE;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4) |
			 ((s->mcr & 0x08) << 4));
}

static uint8_t serial_read_reg(struct serial *s, uint64_t off)
{
	int dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		return serial_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	int dlab = s->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI with the THR empty raises the interrupt at once. */
			if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thre_pending = 1;
			s->ier = v & UART_IER_MASK;
		}
		break;
	case UART_IIR_FCR:
		s->fcr = v;
		if (v & UART_FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_bus_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, off);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_bus_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	(void)len;
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off, data[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_dev_ops serial_bus_ops = {
    .read = serial_bus_read,
    .write = serial_bus_write,
};

void serial_init(struct serial *s, int out_fd, void (*irq_edge)(void *), void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq_edge = irq_edge;
	s->irq_opaque = irq_opaque;
	s->lcr = 0x03; /* 8N1 */
	s->mcr = 0x08; /* OUT2 */
	s->dll = 0x0c; /* 9600 baud */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = SERIAL_RX_FIFO_BYTES - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return space;
}

size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO_BYTES)
		serial_rx_push(s, buf[n++]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
