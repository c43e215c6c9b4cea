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
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_priv.h"

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
	if (unshare(flags) < 0)
		return -errno;
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
 * pivot_root(".", ".") stacks the old root on top of the new one; detaching
 * "." then drops it, so no path and no fd (close-fds ran) reaches the host
 * tree. The jail root was validated by jail-dirs and every parent is root's,
 * so the name still leads to the same directory; the final fstat proves it.
 */
int jail_ns_pivot(struct jail_ctx *c)
{
	struct stat st;

	snprintf(c->detail, sizeof(c->detail), "%s", c->root);
	if (mount(c->root, c->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	/* Our own bind mount: never honour setuid bits, never exec (kiln execs nothing). */
	if (mount(NULL, c->root, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC, NULL) < 0)
		return -errno;
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
