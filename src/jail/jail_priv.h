/* SPDX-License-Identifier: MIT */
/* What the jail steps share: the context they fill in order. Private to src/jail/. */
#ifndef KILN_JAIL_PRIV_H
#define KILN_JAIL_PRIV_H

#include <sys/stat.h>

#include "jail/jail.h"

#define JAIL_PATH_BYTES 1280
#define JAIL_NR_DEVS	4

struct jail_dev {
	const char *path; /* the same path on the host and inside the jail */
	bool required;
	bool present; /* found on the host */
	dev_t rdev;   /* the host's major:minor */
};

struct jail_ctx {
	const struct jail_opts *o;
	/*
	 * kiln started unprivileged: the namespaces step adds a user namespace in
	 * which --uid/--gid map to the caller's own uid/gid (outer_uid/outer_gid),
	 * and device nodes are the host's, bind-mounted, not mknod'ed.
	 */
	bool userns;
	uid_t outer_uid;
	gid_t outer_gid;
	char root[JAIL_PATH_BYTES]; /* <base>/kiln/<id>/root */
	struct stat root_st;	    /* what the pivot must land on */
	struct jail_dev devs[JAIL_NR_DEVS];
	char detail[3 * JAIL_PATH_BYTES]; /* what failed, for the error line */
};

int jail_write_file(struct jail_ctx *c, const char *path, const char *text);

/* Each step: 0 or a negative errno, with ctx->detail naming the object when useful. */
int jail_fs_host_devices(struct jail_ctx *c);
int jail_fs_make_dirs(struct jail_ctx *c);
int jail_fs_make_devices(struct jail_ctx *c);
int jail_fs_bind_devices(struct jail_ctx *c);
int jail_ns_userns_check(struct jail_ctx *c);
int jail_pidns_fork(struct jail_ctx *c);
int jail_ns_unshare(struct jail_ctx *c);
int jail_ns_slave(struct jail_ctx *c);
int jail_ns_pivot(struct jail_ctx *c);
int jail_ns_remount_nosuid_noexec(struct jail_ctx *c, const char *path);
int jail_cgroup_enter(struct jail_ctx *c);
int jail_caps_drop_bounding(struct jail_ctx *c);
int jail_caps_set_ids(struct jail_ctx *c);
int jail_caps_drop_all(struct jail_ctx *c);

#endif
