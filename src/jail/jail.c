/* SPDX-License-Identifier: MIT */
/*
 * The jail's ordered step table. Each row is {name, fn, why}; jail_run() runs
 * them top to bottom and exits on the first failure with the step's name, the
 * errno text and the exit code JAIL_EXIT_STEP_BASE + row, so kiln is never left
 * half-confined. The order is the argument: see the "why" of each row and
 * SECURITY.md, which repeats this table.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail_priv.h"
#include "jail/netdev.h"

extern char **environ;

/* Write @text to the existing file @path (a /proc or cgroup knob); never via a symlink. */
int jail_write_file(struct jail_ctx *c, const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW), err = 0;

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		snprintf(c->detail, sizeof(c->detail), "writing '%s' to %s", text, path);
	return err;
}

struct jail_step {
	const char *name;
	int (*fn)(struct jail_ctx *c);
	const char *why;
};

static int jail_step_validate(struct jail_ctx *c)
{
	char err[256];
	int n;

	if (jail_validate(c->o, err, sizeof(err))) {
		snprintf(c->detail, sizeof(c->detail), "%s", err);
		return -EINVAL;
	}
	c->outer_uid = geteuid();
	c->outer_gid = getegid();
	c->userns = c->outer_uid != 0;
	if (c->userns && jail_ns_userns_check(c))
		return -EPERM;
	n = snprintf(c->root, sizeof(c->root), "%s/kiln/%s/root",
		     c->o->chroot_base ? c->o->chroot_base : JAIL_DEFAULT_CHROOT_BASE, c->o->id);
	if (n < 0 || (size_t)n >= sizeof(c->root))
		return -ENAMETOOLONG;
	umask(077);
	return 0;
}

static int jail_step_close_fds(struct jail_ctx *c)
{
	(void)c;
	/* Nothing kiln did so far opened a file: every fd above 2 is inherited. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		return -errno;
	return 0;
}

static int jail_step_daemonize(struct jail_ctx *c)
{
	pid_t pid;
	int fd;

	if (!c->o->daemonize)
		return 0;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/*
 * clearenv() only drops the pointers: the strings stay on the stack and in
 * /proc/PID/environ. Zero them, then shrink the kernel's view of the block
 * to nothing (PR_SET_MM needs CAP_SYS_RESOURCE; without it, it reads as NULs).
 */
static int jail_step_clear_env(struct jail_ctx *c)
{
	char *start = environ && environ[0] ? environ[0] : NULL;
	char *end = start;

	(void)c;
	for (char **e = environ; e && *e; e++)
		if (*e + strlen(*e) + 1 > end)
			end = *e + strlen(*e) + 1;
	if (clearenv())
		return -ENOMEM;
	if (!start)
		return 0;
	memset(start, 0, (size_t)(end - start));
	/* Without CAP_SYS_RESOURCE (some containers) the zeroed block stays visible. */
	if (prctl(PR_SET_MM, PR_SET_MM_ENV_END, (unsigned long)start, 0, 0) && errno != EPERM)
		return -errno;
	return 0;
}

static int jail_step_rlimits(struct jail_ctx *c)
{
	const struct jail_opts *o = c->o;
	struct rlimit rl;

	if (o->rlimit_nofile_set) {
		rl.rlim_cur = rl.rlim_max = o->rlimit_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			return snprintf(c->detail, sizeof(c->detail), "no-file"), -errno;
	}
	if (o->rlimit_fsize_set) {
		rl.rlim_cur = rl.rlim_max = o->rlimit_fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl))
			return snprintf(c->detail, sizeof(c->detail), "fsize"), -errno;
	}
	return 0;
}

static int jail_step_no_new_privs(struct jail_ctx *c)
{
	(void)c;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return -errno ? -errno : -EPERM;
	return 0;
}

/* --net taps: opened, or created and moved into --netns, with CAP_NET_ADMIN still held. */
static int jail_step_net_devices(struct jail_ctx *c)
{
	if (!c->o->taps)
		return 0;
	return netdev_prepare_all(c->o->taps, c->o->uid, c->o->gid, c->o->netns, c->detail,
				  sizeof(c->detail));
}

/* The table. SECURITY.md "Jail steps" repeats it; keep them in step. */
static const struct jail_step jail_steps[] = {
    {"validate", jail_step_validate,
     "refuse a bad id, base or limit before touching anything; not root: can the caller "
     "create a user namespace, and is --cgroup/--netns (root only) absent"},
    {"close-fds", jail_step_close_fds,
     "an inherited fd (a host file, a socket) would cross every wall below"},
    {"daemonize", jail_step_daemonize,
     "--daemonize: fork, new session, stdio on /dev/null, before anything is per-process"},
    {"clear-env", jail_step_clear_env,
     "the launcher's environment may hold secrets; the guest must not read them back"},
    {"rlimits", jail_step_rlimits, "--resource-limit caps fds and file size for good"},
    {"host-devices", jail_fs_host_devices,
     "read the host's major:minor of /dev/kvm, net/tun, urandom, null while /dev is visible"},
    {"cgroup", jail_cgroup_enter,
     "CPU, memory and pids limits apply before the VM allocates anything"},
    {"net-devices", jail_step_net_devices,
     "--net taps: open, or create (owned by the jail user, MTU, up, moved into --netns) "
     "while CAP_NET_ADMIN is held and the host's network namespace is still ours"},
    {"namespaces", jail_ns_unshare,
     "private mount, IPC, UTS and network views: nothing the host shares leaks in; not "
     "root: a user namespace mapping --uid/--gid to the caller; --new-pid-ns: a PID "
     "namespace for the child forked last"},
    {"mount-propagation", jail_ns_slave,
     "MS_SLAVE|MS_REC on /: our mounts never propagate back to the host"},
    {"jail-dirs", jail_fs_make_dirs,
     "create <base>/kiln/<id>/root without following symlinks; refuse hard links, "
     "device nodes and non-directories planted there"},
    {"pivot-root", jail_ns_pivot,
     "bind the jail root (not root: the host's device nodes bound into it), pivot_root "
     "into it and detach the old root: the host file system is gone, not just hidden"},
    {"devices", jail_fs_make_devices,
     "only /dev/kvm, /dev/net/tun, /dev/urandom, /dev/null: 0600, owned by the jail user "
     "(not root: the bind mounts pivot-root made)"},
    {"bounding-set", jail_caps_drop_bounding,
     "empty the bounding set (needs CAP_SETPCAP, so before the uid change)"},
    {"ids", jail_caps_set_ids, "setgroups(0), setresgid, setresuid: the unprivileged user"},
    {"capabilities", jail_caps_drop_all,
     "clear effective, permitted, inheritable and ambient sets; verify they are empty"},
    {"no-new-privs", jail_step_no_new_privs,
     "no exec can ever regain privileges; seccomp filters need it"},
    {"pid-ns", jail_pidns_fork,
     "--new-pid-ns: fork last, so parent and child are both fully confined; the child "
     "runs the VM as PID 1, the parent forwards SIGTERM/SIGINT and exits with its code"},
};

void jail_run(const struct jail_opts *o)
{
	struct jail_ctx c;

	if (!o->enabled)
		return;
	memset(&c, 0, sizeof(c));
	c.o = o;
	for (size_t i = 0; i < sizeof(jail_steps) / sizeof(jail_steps[0]); i++) {
		int err;

		c.detail[0] = 0;
		errno = 0;
		err = jail_steps[i].fn(&c);
		if (!err)
			continue;
		if (c.detail[0])
			dprintf(STDERR_FILENO, "kiln: error: jail step %s: %s: %s\n",
				jail_steps[i].name, c.detail, strerror(-err));
		else
			dprintf(STDERR_FILENO, "kiln: error: jail step %s: %s\n",
				jail_steps[i].name, strerror(-err));
		_exit(JAIL_EXIT_STEP_BASE + (int)i);
	}
}
