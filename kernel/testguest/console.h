/* SPDX-License-Identifier: MIT */
/*
 * COM1 output. Every port access is a VM exit (~37 us here), so bytes are
 * sent in FIFO-sized bursts with one LSR poll per burst.
 */
#ifndef TG_CONSOLE_H
#define TG_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib.h"

#define COM1_PORT     0x3f8
#define UART_THR      0 /* DLL with DLAB */
#define UART_IER      1 /* DLM with DLAB */
#define UART_IIR_FCR  2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_SCR      7
#define UART_LCR_DLAB 0x80
#define UART_IER_THRI 0x02
#define UART_MCR_OUT2 0x08
#define UART_LSR_THRE 0x20

void con_init(void);
void con_write(const char *s, size_t n);
/* Guest-chosen text (names, the command line): control bytes become '?'. */
void con_write_printable(const char *s, size_t n);
void con_puts(const char *s);
void con_put_str(const struct tg_str *s);
void con_dec(uint64_t v);
void con_hex(uint64_t v);
/* End a partial line (panic path), then push out everything buffered. */
void con_break_line(void);
void con_flush(void);

#endif
