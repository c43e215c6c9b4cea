/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller, kept only for what a microVM needs: the guest
 * resets through it (command 0xFE) and the host asks for a graceful
 * shutdown by injecting Ctrl-Alt-Del.
 */
#ifndef KILN_I8042_H
#define KILN_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/bus.h"

#define I8042_BUF_BYTES 16
#define I8042_KBD_IRQ	1

struct i8042 {
	pthread_mutex_t lock;
	uint8_t cmd_byte;    /* controller configuration byte */
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	uint8_t outp;	     /* output port (0xD1 writes it) */
	uint8_t buf[I8042_BUF_BYTES];
	unsigned int head, count;
	void (*on_reset)(void *opaque); /* guest asked for a CPU reset */
	void (*kbd_irq)(void *opaque);	/* data ready for the guest */
	void *opaque;
};

void i8042_init(struct i8042 *k, void (*on_reset)(void *), void (*kbd_irq)(void *), void *opaque);
void i8042_destroy(struct i8042 *k);

/* Queue the scan codes for Ctrl-Alt-Del; -ENOSPC if the buffer is full. */
int i8042_inject_ctrl_alt_del(struct i8042 *k);

/* Registered over ports 0x60..0x64; offsets 0 (data) and 4 (status/command). */
extern const struct bus_dev_ops i8042_bus_ops;

#endif
