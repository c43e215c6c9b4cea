/* SPDX-License-Identifier: MIT */
/*
 * Address buses for port I/O and MMIO exits: a small fixed table of
 * non-overlapping ranges, each served by one device behind an ops table.
 * Filled before vCPUs start and read-only afterwards, so lookups need no lock.
 */
#ifndef KILN_BUS_H
#define KILN_BUS_H

#include <stdint.h>

#define BUS_MAX_RANGES 32

struct bus_dev_ops {
	/* @off is relative to the range base; @len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_dev_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned int nr_ranges;
};

/* 0, -EINVAL for an empty/wrapping range, -EEXIST on overlap, -ENOSPC if full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_dev_ops *ops,
		 void *opaque, const char *name);

/*
 * Dispatch an access. Returns 0 if a device took it, -ENOENT if nothing is
 * mapped there (reads then see all ones, as on real hardware).
 */
int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
