/* SPDX-License-Identifier: MIT */
/*
 * Tap devices for virtio-net. Opening is plain tun ioctls (usable after the
 * jail, for a tap the jail user owns); creating goes through libnl-3 route
 * for MTU, up and the move into --netns, and must run while kiln still has
 * CAP_NET_ADMIN: a jail step before the namespaces, or before the startup
 * filter for an unjailed kiln. A tap kiln creates is not persistent: it
 * disappears with kiln's last fd on it.
 */
#include "jail/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/virtio/net_hdr.h"

/* Run with the netns at @path entered; *@saved gets the original. */
static int netdev_ns_enter(const char *path, int *saved)
{
	int fd, ret = 0;

	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret) {
		close(*saved);
		*saved = -1;
	}
	return ret;
}

static void netdev_ns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Back to where the jail's own namespace step expects to start. */
	if (setns(saved, CLONE_NEWNET) < 0)
		_exit(1);
	close(saved);
}

/* A route socket in the namespace at @netns (NULL: the current one). */
static struct nl_sock *netdev_nl_open(const char *netns)
{
	struct nl_sock *sk = nl_socket_alloc();
	int saved = -1;

	if (!sk)
		return NULL;
	if (netns && netdev_ns_enter(netns, &saved)) {
		nl_socket_free(sk);
		return NULL;
	}
	if (nl_connect(sk, NETLINK_ROUTE) < 0) {
		nl_socket_free(sk);
		sk = NULL;
	}
	netdev_ns_leave(saved);
	return sk;
}

/* Apply @change to the link @name seen by @sk; 0, or -EIO with libnl's reason in *@why. */
static int netdev_link_change(struct nl_sock *sk, const char *name, struct rtnl_link *change,
			      const char **why)
{
	struct rtnl_link *link = NULL;
	int ret = rtnl_link_get_kernel(sk, 0, name, &link);

	if (ret >= 0)
		ret = rtnl_link_change(sk, link, change, 0);
	if (link)
		rtnl_link_put(link);
	if (ret < 0) {
		*why = nl_geterror(ret);
		return -EIO;
	}
	return 0;
}

/* Create @t->name, set owner and MTU, move it to @netns, bring it up. */
static int netdev_tap_create(struct netdev_tap *t, uid_t uid, gid_t gid, struct nl_sock *host,
			     struct nl_sock *target, const char *netns, char *err, size_t len)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int fd, ns = -1, ret = 0;
	const char *what = "", *why = NULL;

	if (!change)
		return snprintf(err, len, "out of memory"), -ENOMEM;
	fd = netdev_tap_attach(t->name, IFF_TUN_EXCL, err, len);
	if (fd < 0) {
		rtnl_link_put(change);
		return fd;
	}
	if ((uid && ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0) ||
	    (gid && ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0)) {
		ret = -errno;
		what = "owner";
		why = strerror(errno);
	}
	if (!ret && t->mtu) {
		rtnl_link_set_mtu(change, t->mtu);
		ret = netdev_link_change(host, t->name, change, &why);
		what = "MTU";
	}
	if (!ret && netns) {
		ns = open(netns, O_RDONLY | O_CLOEXEC);
		rtnl_link_put(change);
		change = rtnl_link_alloc();
		if (ns < 0 || !change) {
			ret = ns < 0 ? -errno : -ENOMEM;
			why = strerror(-ret);
		} else {
			rtnl_link_set_ns_fd(change, (uint32_t)ns);
			ret = netdev_link_change(host, t->name, change, &why);
		}
		what = "move into --netns";
	}
	if (!ret) {
		/* Moving a link takes it down: bring it up where it now lives. */
		rtnl_link_put(change);
		change = rtnl_link_alloc();
		ret = change ? 0 : -ENOMEM;
		why = "out of memory";
		if (change) {
			rtnl_link_set_flags(change, IFF_UP);
			ret = netdev_link_change(target, t->name, change, &why);
		}
		what = "up";
	}
	if (ns >= 0)
		close(ns);
	if (change)
		rtnl_link_put(change);
	if (ret) {
		close(fd);
		snprintf(err, len, "tap %s: created, but setting %s failed: %s", t->name, what,
			 why ? why : strerror(-ret));
		return ret;
	}
	t->fd = fd;
	return 0;
}

/* @name exists in @sk's namespace: 1 (a tun/tap), 0 missing, -EEXIST another kind. */
static int netdev_lookup(struct nl_sock *sk, const char *name, char *kind, size_t kind_len)
{
	struct rtnl_link *link = NULL;
	const char *type;
	int ret;

	if (rtnl_link_get_kernel(sk, 0, name, &link) < 0)
		return 0;
	type = rtnl_link_get_type(link);
	snprintf(kind, kind_len, "%s", type ? type : "a plain device");
	ret = type && !strcmp(type, "tun") ? 1 : -EEXIST;
	rtnl_link_put(link);
	return ret;
}

/* Open an existing tap, from inside @netns when given. */
static int netdev_open_in(struct netdev_tap *t, const char *netns, char *err, size_t len)
{
	int saved = -1, fd, ret;

	if (netns && (ret = netdev_ns_enter(netns, &saved))) {
		snprintf(err, len, "tap %s: cannot enter --netns: %s", t->name, strerror(-ret));
		return ret;
	}
	fd = netdev_tap_open(t->name, err, len);
	netdev_ns_leave(saved);
	if (fd < 0)
		return fd;
	t->fd = fd;
	return 0;
}

int netdev_tap_prepare(struct netdev_tap *t, uid_t uid, gid_t gid, const char *netns, char *err,
		       size_t len)
{
	struct nl_sock *host, *target = NULL;
	char kind[32];
	int ret;

	t->fd = -1;
	if (!netdev_name_valid(t->name)) {
		snprintf(err, len,
			 "tap name '%.40s' must be 1 to %d bytes without '/', ':' or spaces",
			 t->name ? t->name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	host = netdev_nl_open(NULL);
	target = netns ? netdev_nl_open(netns) : host;
	if (!host || !target) {
		ret = -EIO;
		snprintf(err, len, "tap %s: cannot open a netlink route socket%s", t->name,
			 netns ? " (or enter --netns)" : "");
		goto out;
	}
	ret = netdev_lookup(target, t->name, kind, sizeof(kind));
	if (ret == -EEXIST) {
		snprintf(err, len, "%s exists and is not a tap (kind %s)", t->name, kind);
		goto out;
	}
	if (ret == 1)
		ret = netdev_open_in(t, netns, err, len);
	else
		ret = netdev_tap_create(t, uid, gid, host, target, netns, err, len);
out:
	if (target && target != host)
		nl_socket_free(target);
	if (host)
		nl_socket_free(host);
	return ret;
}

int netdev_prepare_all(struct netdev_set *s, uid_t uid, gid_t gid, const char *netns, char *err,
		       size_t len)
{
	for (unsigned int i = 0; i < s->nr_taps; i++) {
		int ret = netdev_tap_prepare(&s->taps[i], uid, gid, netns, err, len);

		if (ret)
			return ret;
	}
	return 0;
}
