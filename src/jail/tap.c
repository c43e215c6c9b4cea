/* SPDX-License-Identifier: MIT */
/*
 * Attaching to a tap: plain tun ioctls, no netlink, usable after the jail
 * for a tap the jail user owns (the API and --config-file path), and the
 * base of netdev.c's privileged creation.
 */
#include "jail/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/virtio/net_hdr.h"

#define NETDEV_TUN_PATH "/dev/net/tun"

bool netdev_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

__attribute__((format(printf, 4, 5))) static int netdev_fail(char *err, size_t len, int ret,
							     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

/* TUNSETIFF with our flags (+ @extra), then the 12-byte header; fd or -errno. */
int netdev_tap_attach(const char *name, short extra, char *err, size_t len)
{
	struct ifreq ifr;
	int hdr = NET_HDR_BYTES;
	int fd, ret;

	if (!netdev_name_valid(name)) {
		snprintf(err, len,
			 "tap name '%.40s' must be 1 to %d bytes without '/', ':' or spaces",
			 name ? name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open(NETDEV_TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return netdev_fail(err, len, -errno, "tap %s: cannot open " NETDEV_TUN_PATH ": %s",
				   name, strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | extra;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -EINVAL)
			return netdev_fail(err, len, ret, "%s exists and is not a tap (%s)", name,
					   strerror(-ret));
		if (ret == -EPERM)
			return netdev_fail(err, len, ret,
					   "tap %s: no permission (it is missing and kiln may not "
					   "create it, or another user owns it): %s",
					   name, strerror(-ret));
		if (ret == -EBUSY)
			return netdev_fail(err, len, ret, "tap %s already exists or is busy: %s",
					   name, strerror(-ret));
		return netdev_fail(err, len, ret, "tap %s: TUNSETIFF: %s", name, strerror(-ret));
	}
	/* virtio 1.x: the header always carries num_buffers (12 bytes, not the legacy 10). */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		ret = -errno;
		close(fd);
		return netdev_fail(err, len, ret, "tap %s: TUNSETVNETHDRSZ: %s", name,
				   strerror(-ret));
	}
	return fd;
}

int netdev_tap_open(const char *name, char *err, size_t len)
{
	return netdev_tap_attach(name, 0, err, len);
}
