/* SPDX-License-Identifier: MIT */
/*
 * COM1 output in bursts: with the FIFO enabled (16550A data sheet: THRE set
 * means the whole 16-byte FIFO is empty) one LSR read covers 16 THR writes,
 * sent as one `rep outsb`. KVM still exits once per byte for OUTS (measured
 * here: ~40 us a byte), but it is one instruction to emulate rather than a
 * loop when the back end emulates after a trap. A UART without a FIFO
 * gets one LSR read per byte. Lines are flushed at '\n' so a hang never
 * hides a finished line.
 */
#include "console.h"

#include "io.h"

#define UART_FIFO_BYTES	   16
#define UART_FCR_ENABLE	   0x07 /* enable, clear RX and TX */
#define UART_IIR_FIFO_BITS 0xc0
/* A UART that never reports THRE must not hang the guest: write anyway. */
#define UART_THRE_POLLS 100000

static char con_buf[UART_FIFO_BYTES];
static size_t con_len;
static size_t con_burst = 1;
static int con_mid_line;

void con_init(void)
{
	tg_outb(COM1_PORT + UART_IIR_FCR, UART_FCR_ENABLE);
	if ((tg_inb(COM1_PORT + UART_IIR_FCR) & UART_IIR_FIFO_BITS) == UART_IIR_FIFO_BITS)
		con_burst = UART_FIFO_BYTES;
}

void con_flush(void)
{
	size_t i = 0, n, polls;

	while (i < con_len) {
		for (polls = 0; polls < UART_THRE_POLLS; polls++) {
			if (tg_inb(COM1_PORT + UART_LSR) & UART_LSR_THRE)
				break;
			tg_pause();
		}
		n = con_len - i < con_burst ? con_len - i : con_burst;
		tg_outsb(COM1_PORT + UART_THR, con_buf + i, n);
		i += n;
	}
	con_len = 0;
}

static void con_putc(char c)
{
	con_buf[con_len++] = c;
	con_mid_line = c != '\n';
	if (c == '\n' || con_len == con_burst || con_len == sizeof(con_buf))
		con_flush();
}

void con_write(const char *s, size_t n)
{
	while (n--)
		con_putc(*s++);
}

void con_write_printable(const char *s, size_t n)
{
	for (; n; n--, s++)
		con_putc(*s >= 0x20 && *s < 0x7f ? *s : '?');
}

void con_puts(const char *s)
{
	con_write(s, strlen(s));
}

void con_put_str(const struct tg_str *s)
{
	con_write(s->buf, s->len);
}

void con_dec(uint64_t v)
{
	struct tg_str s = {.len = 0};

	tg_str_add_dec(&s, v);
	con_put_str(&s);
}

void con_hex(uint64_t v)
{
	struct tg_str s = {.len = 0};

	tg_str_add_hex(&s, v);
	con_put_str(&s);
}

void con_break_line(void)
{
	if (con_mid_line)
		con_putc('\n');
	con_flush();
}
