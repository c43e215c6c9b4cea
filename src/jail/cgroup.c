/* SPDX-License-Identifier: MIT */
/*
 * The jail's cgroup v2 step: <mount>/kiln/<id>, each --cgroup controller
 * enabled down the tree through cgroup.subtree_control, the values written,
 * then kiln moves itself in. The mount is /sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid (v1 + v2) host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "jail/jail_priv.h"

static const char *const jail_cgroup_mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};

static int jail_cgroup_write(struct jail_ctx *c, const char *dir, const char *file,
			     const char *value)
{
	char path[JAIL_PATH_BYTES + JAIL_CGROUP_FILE_MAX + 2];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return jail_write_file(c, path, value);
}

/* "+cpu" into the root's and kiln/'s subtree_control, so kiln/<id>/ has cpu.* files. */
static int jail_cgroup_enable(struct jail_ctx *c, const char *mnt, const char *kiln_dir,
			      const char *file)
{
	char ctl[JAIL_CGROUP_FILE_MAX + 2];
	const char *dot = strchr(file, '.');
	int err;

	if ((size_t)(dot - file) == strlen("cgroup") && !strncmp(file, "cgroup", 6))
		return 0; /* core files: no controller */
	snprintf(ctl, sizeof(ctl), "+%.*s", (int)(dot - file), file);
	err = jail_cgroup_write(c, mnt, "cgroup.subtree_control", ctl);
	if (!err)
		err = jail_cgroup_write(c, kiln_dir, "cgroup.subtree_control", ctl);
	return err;
}

int jail_cgroup_enter(struct jail_ctx *c)
{
	const struct jail_opts *o = c->o;
	char kiln_dir[JAIL_PATH_BYTES], vm_dir[JAIL_PATH_BYTES];
	const char *mnt = NULL;
	struct statfs sf;
	int err = 0;

	if (!o->nr_cgroups)
		return 0; /* no limits asked: kiln stays in the launcher's cgroup */
	for (size_t i = 0; i < sizeof(jail_cgroup_mounts) / sizeof(jail_cgroup_mounts[0]); i++)
		if (statfs(jail_cgroup_mounts[i], &sf) == 0 &&
		    sf.f_type == (typeof(sf.f_type))CGROUP2_SUPER_MAGIC) {
			mnt = jail_cgroup_mounts[i];
			break;
		}
	if (!mnt)
		return snprintf(c->detail, sizeof(c->detail),
				"no cgroup v2 file system at /sys/fs/cgroup(/unified)"),
		       -ENOENT;
	snprintf(kiln_dir, sizeof(kiln_dir), "%s/kiln", mnt);
	snprintf(vm_dir, sizeof(vm_dir), "%s/kiln/%s", mnt, o->id);
	if (mkdir(kiln_dir, 0755) < 0 && errno != EEXIST)
		return snprintf(c->detail, sizeof(c->detail), "mkdir %s", kiln_dir), -errno;
	for (unsigned int i = 0; !err && i < o->nr_cgroups; i++)
		err = jail_cgroup_enable(c, mnt, kiln_dir, o->cgroups[i].file);
	if (err)
		return err;
	if (mkdir(vm_dir, 0755) < 0 && errno != EEXIST)
		return snprintf(c->detail, sizeof(c->detail), "mkdir %s", vm_dir), -errno;
	for (unsigned int i = 0; !err && i < o->nr_cgroups; i++)
		err = jail_cgroup_write(c, vm_dir, o->cgroups[i].file, o->cgroups[i].value);
	if (!err)
		err = jail_cgroup_write(c, vm_dir, "cgroup.procs", "0");
	return err;
}
