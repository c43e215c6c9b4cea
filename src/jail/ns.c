/* SPDX-License-Identifier: MIT */
/*
 * The jail's namespace steps: new mount/IPC/UTS (and network, or join
 * --netns) namespaces, slave propagation, and the pivot_root into the jail
 * root with the old root detached.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_priv.h"

/* Read one small integer from a /proc/sys file; -1 if it is absent or unreadable. */
static long jail_ns_sysctl(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/*
 * kiln started unprivileged (validate): what a user namespace cannot do is
 * refused by name, and a host that forbids unprivileged user namespaces is
 * named before anything is touched.
 */
int jail_ns_userns_check(struct jail_ctx *c)
{
	if (c->o->nr_cgroups) {
		snprintf(
		    c->detail, sizeof(c->detail),
		    "--cgroup needs root: an unprivileged kiln cannot create kiln/%s under the "
		    "cgroup root; start it inside a cgroup delegated to uid %u with the limits "
		    "set (e.g. systemd-run --user --scope -p MemoryMax=...)",
		    c->o->id, c->outer_uid);
		return -EPERM;
	}
	if (c->o->netns) {
		snprintf(c->detail, sizeof(c->detail),
			 "--netns needs root (joining a network namespace needs CAP_SYS_ADMIN "
			 "over it); unprivileged, kiln gets a new, empty one");
		return -EPERM;
	}
	if (jail_ns_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0 ||
	    jail_ns_sysctl("/proc/sys/user/max_user_namespaces") == 0) {
		snprintf(c->detail, sizeof(c->detail),
			 "kiln runs as uid %u, not root, and this host does not allow unprivileged "
			 "user namespaces (kernel.unprivileged_userns_clone or "
			 "user.max_user_namespaces is 0): start kiln as root",
			 c->outer_uid);
		return -EPERM;
	}
	return 0;
}

/*
 * The user namespace's only ids: --uid and --gid inside are the caller's own
 * uid and gid outside, which is all an unprivileged process may map.
 * setgroups must be denied before gid_map (so supplementary groups, among
 * them one that grants /dev/kvm, stay as they are: the caller's own).
 */
static int jail_ns_write_maps(struct jail_ctx *c)
{
	char line[64];
	int err = jail_write_file(c, "/proc/self/setgroups", "deny");

	if (err)
		return err;
	snprintf(line, sizeof(line), "%u %u 1", c->o->uid, c->outer_uid);
	err = jail_write_file(c, "/proc/self/uid_map", line);
	if (err)
		return err;
	snprintf(line, sizeof(line), "%u %u 1", c->o->gid, c->outer_gid);
	return jail_write_file(c, "/proc/self/gid_map", line);
}

int jail_ns_unshare(struct jail_ctx *c)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

	if (c->o->netns) {
		int fd = open(c->o->netns, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			int err = -errno;

			if (fd >= 0)
				close(fd);
			snprintf(c->detail, sizeof(c->detail), "--netns %s", c->o->netns);
			return err;
		}
		close(fd);
	} else {
		/* No --netns: a new, empty network namespace (loopback down, no routes). */
		flags |= CLONE_NEWNET;
	}
	/* Only children enter a new PID namespace: the pid-ns step forks last. */
	if (c->o->new_pid_ns)
		flags |= CLONE_NEWPID;
	/* With CLONE_NEWUSER the user namespace comes first and owns the others. */
	if (c->userns)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) < 0)
		return -errno;
	if (c->userns) {
		int err = jail_ns_write_maps(c);

		if (err)
			return err;
	}
	/* The UTS namespace is ours: the VM's id is its host name. */
	if (sethostname(c->o->id, strlen(c->o->id)) < 0)
		return snprintf(c->detail, sizeof(c->detail), "sethostname"), -errno;
	return 0;
}

int jail_ns_slave(struct jail_ctx *c)
{
	(void)c;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Add nosuid and noexec to the bind mount at @path. In a user namespace the
 * flags the mount already has (nodev, ro, the atime mode) are locked and a
 * remount that drops one fails, so they are kept; root may and does clear
 * nodev, for the device nodes the devices step makes.
 */
int jail_ns_remount_nosuid_noexec(struct jail_ctx *c, const char *path)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = {{ST_NODEV, MS_NODEV},
		    {ST_RDONLY, MS_RDONLY},
		    {ST_NOATIME, MS_NOATIME},
		    {ST_NODIRATIME, MS_NODIRATIME},
		    {ST_RELATIME, MS_RELATIME}};
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC;
	struct statvfs sv;

	if (c->userns) {
		if (statvfs(path, &sv) < 0)
			return -errno;
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			if (sv.f_flag & keep[i].st)
				flags |= keep[i].ms;
	}
	if (mount(NULL, path, NULL, flags, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one; detaching
 * "." then drops it, so no path and no fd (close-fds ran) reaches the host
 * tree. The jail root was validated by jail-dirs and every parent is root's,
 * so the name still leads to the same directory; the final fstat proves it.
 */
int jail_ns_pivot(struct jail_ctx *c)
{
	struct stat st;

	int err;

	snprintf(c->detail, sizeof(c->detail), "%s", c->root);
	if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	/* Our own bind mount: never honour setuid bits, never exec (kiln execs nothing). */
	err = jail_ns_remount_nosuid_noexec(c, c->root);
	if (err)
		return err;
	if (c->userns) {
		err = jail_fs_bind_devices(c);
		if (err)
			return err;
		snprintf(c->detail, sizeof(c->detail), "%s", c->root);
	}
	if (chdir(c->root) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	if (stat("/", &st) < 0)
		return -errno;
	if (st.st_dev != c->root_st.st_dev || st.st_ino != c->root_st.st_ino) {
		snprintf(c->detail, sizeof(c->detail), "%s changed during the pivot (refused)",
			 c->root);
		return -EXDEV;
	}
	c->detail[0] = 0;
	return 0;
}
