/* SPDX-License-Identifier: MIT */
#include "vmm/boot_timer.h"

#include <string.h>
#include <time.h>

#include "vmm/layout.h"
#include "vmm/log.h"

uint64_t boot_timer_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void boot_timer_stamp(struct boot_timer *bt)
{
	bt->start_ns = boot_timer_now_ns(CLOCK_MONOTONIC);
	bt->start_cpu_ns = boot_timer_now_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void boot_timer_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static void boot_timer_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	const struct boot_timer *bt = opaque;
	uint64_t wall_us, cpu_us;

	(void)len;
	if (off != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	wall_us = (boot_timer_now_ns(CLOCK_MONOTONIC) - bt->start_ns) / 1000;
	cpu_us = (boot_timer_now_ns(CLOCK_PROCESS_CPUTIME_ID) - bt->start_cpu_ns) / 1000;
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)wall_us, (unsigned long long)(wall_us / 1000),
		 (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
}

const struct bus_dev_ops boot_timer_bus_ops = {
    .read = boot_timer_read,
    .write = boot_timer_write,
};
