/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART on COM1. Guest register accesses come from vCPU threads,
 * host input from the event loop; one mutex guards the state.
 */
#ifndef KILN_SERIAL_H
#define KILN_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define SERIAL_RX_FIFO_BYTES 64
#define SERIAL_PORT_COUNT    8

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, msr, scr, dll, dlm, fcr;
	int thre_pending; /* THR-empty interrupt waiting to be seen in IIR */
	int irq_pending;  /* last computed interrupt line state */
	uint8_t rx[SERIAL_RX_FIFO_BYTES];
	unsigned int rx_head, rx_count;
	int out_fd;			/* guest output sink; -1 discards */
	void (*irq_edge)(void *opaque); /* rising edge of the interrupt line */
	void *irq_opaque;
};

void serial_init(struct serial *s, int out_fd, void (*irq_edge)(void *), void *irq_opaque);
void serial_destroy(struct serial *s);

/* Queue host input for the guest; returns bytes accepted (FIFO may be full). */
size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive FIFO (the event loop reads no more than this). */
size_t serial_rx_space(struct serial *s);

extern const struct bus_dev_ops serial_bus_ops;

#endif
