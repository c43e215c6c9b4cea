/* SPDX-License-Identifier: MIT */
/*
 * Host side of virtio-net: opening a tap (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR,
 * 12-byte vnet header, non-blocking), and, while kiln is still privileged,
 * creating a missing one through libnl-3 route (owner, MTU, up, --netns).
 */
#ifndef KILN_JAIL_NETDEV_H
#define KILN_JAIL_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NETDEV_MAX_TAPS 8

/* One tap named on the command line (--net), prepared before privileges go. */
struct netdev_tap {
	const char *name; /* host_dev_name, < IFNAMSIZ bytes */
	uint32_t mtu;	  /* 0: leave the kernel's default (1500) */
	int fd;		  /* -1 until prepared; then owned by whoever takes it (net_open) */
};

struct netdev_set {
	struct netdev_tap taps[NETDEV_MAX_TAPS];
	unsigned int nr_taps;
};

/* A tap name the kernel accepts: 1..15 bytes, no '/', ':' or whitespace. */
bool netdev_name_valid(const char *name);

/*
 * Attach to the existing tap @name in kiln's network namespace. Returns the
 * fd, or -errno with a one-line reason in @err ("does not exist or no
 * permission", "exists and is not a tap", ...).
 */
int netdev_tap_open(const char *name, char *err, size_t len);
/* netdev_tap_open with extra TUNSETIFF flags (IFF_TUN_EXCL: create, never attach). */
int netdev_tap_attach(const char *name, short extra, char *err, size_t len);

/*
 * Privileged set-up of @t, in kiln's (the host's) network namespace: if
 * @t->name exists (in @netns when given) only open it; otherwise create the
 * tap owned by @uid/@gid (when non-zero), set its MTU, move it into @netns
 * (if any) and bring it up. Fills @t->fd; 0 or -errno with @err.
 */
int netdev_tap_prepare(struct netdev_tap *t, uid_t uid, gid_t gid, const char *netns, char *err,
		       size_t len);

/* Every tap of @s: 0, or the first failure (@err names the tap). */
int netdev_prepare_all(struct netdev_set *s, uid_t uid, gid_t gid, const char *netns, char *err,
		       size_t len);

#endif
