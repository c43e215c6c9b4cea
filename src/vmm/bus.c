/* SPDX-License-Identifier: MIT */
/*
 * Port I/O and MMIO dispatch. An access must lie wholly inside one range;
 * one that straddles two devices or runs off the end is treated as unmapped.
 */
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(addr, (uint64_t)len, &end))
		return NULL;
	for (unsigned int i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && end <= r->base + r->len)
			return r;
	}
	return NULL;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_dev_ops *ops,
		 void *opaque, const char *name)
{
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(base, len, &end))
		return -EINVAL;
	for (unsigned int i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < end)
			return -EEXIST;
	}
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nr_ranges++] = (struct bus_range){
	    .base = base, .len = len, .ops = ops, .opaque = opaque, .name = name};
	return 0;
}

int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->read) {
		memset(data, 0xff, len);
		return -ENOENT;
	}
	r->ops->read(r->opaque, addr - r->base, data, len);
	return 0;
}

int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r || !r->ops->write)
		return -ENOENT;
	r->ops->write(r->opaque, addr - r->base, data, len);
	return 0;
}
