/* SPDX-License-Identifier: MIT */
/*
 * Boot timer: a guest write of BOOT_TIMER_MAGIC at BOOT_TIMER_GPA logs the
 * wall-clock and process-CPU time since the start stamp, as Firecracker does.
 */
#ifndef KILN_BOOT_TIMER_H
#define KILN_BOOT_TIMER_H

#include <stdint.h>

#include "vmm/bus.h"

struct boot_timer {
	uint64_t start_ns;     /* CLOCK_MONOTONIC at the start stamp */
	uint64_t start_cpu_ns; /* CLOCK_PROCESS_CPUTIME_ID at the start stamp */
};

uint64_t boot_timer_now_ns(int clock);
void boot_timer_stamp(struct boot_timer *bt);

extern const struct bus_dev_ops boot_timer_bus_ops;

#endif
