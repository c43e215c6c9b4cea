/* SPDX-License-Identifier: MIT */
/*
 * The jail's file-system steps: find the host's device numbers, create
 * <base>/kiln/<id>/root one component at a time without ever following a
 * symlink, refuse what a hostile caller could have planted there, and (after
 * pivot_root) create the only device nodes kiln needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jail/jail_priv.h"

#define JAIL_SCAN_MAX_DEPTH 16

/*
 * /dev/null is the API server's spare fd for EMFILE (src/api/http.c): it
 * closes it to accept and drop a connection when the fd table is full.
 */
static const char *const jail_fs_dev_paths[JAIL_NR_DEVS] = {"/dev/kvm", "/dev/net/tun",
							    "/dev/urandom", "/dev/null"};

/* Why openat(O_NOFOLLOW|O_DIRECTORY) failed on @name, in the words the operator needs. */
static int jail_fs_explain(struct jail_ctx *c, int dirfd, const char *name, const char *shown,
			   int err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(c->detail, sizeof(c->detail), "%s is a symbolic link (refused)", shown);
		return -ELOOP;
	}
	if (err == -ENOTDIR)
		snprintf(c->detail, sizeof(c->detail), "%s exists and is not a directory (refused)",
			 shown);
	else
		snprintf(c->detail, sizeof(c->detail), "%s", shown);
	return err;
}

/* Open (creating with @mode if missing) the directory @name under @dirfd, never via a symlink. */
static int jail_fs_open_dir(struct jail_ctx *c, int dirfd, const char *name, mode_t mode,
			    const char *shown)
{
	int fd;

	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return snprintf(c->detail, sizeof(c->detail), "mkdir %s", shown), -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return jail_fs_explain(c, dirfd, name, shown, -errno);
	return fd;
}

/* Walk the absolute @path from "/", component by component. Returns an fd or -errno. */
static int jail_fs_walk(struct jail_ctx *c, const char *path, mode_t mode)
{
	char buf[JAIL_PATH_BYTES], *save = NULL, *tok;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		int next = jail_fs_open_dir(c, fd, tok, mode, path);

		close(fd);
		if (next < 0)
			return next;
		fd = next;
	}
	return fd;
}

static bool jail_fs_is_dev_path(const char *rel)
{
	for (int i = 0; i < JAIL_NR_DEVS; i++)
		if (!strcmp(rel, jail_fs_dev_paths[i] + 1))
			return true;
	return false;
}

/*
 * Refuse what would let the jailed user reach a host object: a hard link (a
 * second name of a host file, e.g. one writable through the jail), and any
 * device node but the ones kiln recreates itself.
 */
static int jail_fs_scan(struct jail_ctx *c, int dirfd, const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > JAIL_SCAN_MAX_DEPTH)
		return snprintf(c->detail, sizeof(c->detail), "%s/%s: nested too deep", c->root,
				rel),
		       -ELOOP;
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	while (!ret && (de = readdir(d))) {
		char sub[JAIL_PATH_BYTES];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
		} else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			snprintf(c->detail, sizeof(c->detail),
				 "%s/%s is a hard link (%lu names): copy or bind-mount files into "
				 "the jail (refused)",
				 c->root, sub, (unsigned long)st.st_nlink);
			ret = -EMLINK;
		} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
			   !jail_fs_is_dev_path(sub)) {
			snprintf(c->detail, sizeof(c->detail), "%s/%s is a device node (refused)",
				 c->root, sub);
			ret = -EPERM;
		} else if (S_ISDIR(st.st_mode)) {
			int sfd = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			ret = sfd < 0 ? -errno : jail_fs_scan(c, sfd, sub, depth + 1);
		}
	}
	closedir(d);
	return ret;
}

int jail_fs_host_devices(struct jail_ctx *c)
{
	for (int i = 0; i < JAIL_NR_DEVS; i++) {
		struct jail_dev *d = &c->devs[i];
		struct stat st;

		d->path = jail_fs_dev_paths[i];
		d->required = i == 0; /* only KVM is indispensable */
		errno = 0;
		/* Unprivileged, the jail binds the host's node: the caller must be able to open it.
		 */
		if (stat(d->path, &st) == 0 && S_ISCHR(st.st_mode) &&
		    (!c->userns || access(d->path, R_OK | W_OK) == 0)) {
			d->present = true;
			d->rdev = st.st_rdev;
		} else if (d->required) {
			if (c->userns && errno == EACCES)
				snprintf(c->detail, sizeof(c->detail),
					 "%s is not readable and writable by uid %u (grant it with "
					 "a group or an ACL, or start kiln as root)",
					 d->path, c->outer_uid);
			else
				snprintf(c->detail, sizeof(c->detail), "%s", d->path);
			return errno ? -errno : -ENODEV;
		}
	}
	return 0;
}

int jail_fs_make_dirs(struct jail_ctx *c)
{
	const struct jail_opts *o = c->o;
	const char *base = o->chroot_base ? o->chroot_base : JAIL_DEFAULT_CHROOT_BASE;
	char shown[JAIL_PATH_BYTES];
	struct stat st;
	int fd, next;

	/* The base may be shared by many VMs: world-traversable, like /srv. */
	fd = jail_fs_walk(c, base, 0755);
	if (fd < 0)
		return fd;
	/*
	 * kiln/ and kiln/<id>/ are root's alone (unprivileged: the caller's, seen
	 * as --uid in the user namespace): nobody else may swap a name in them.
	 */
	snprintf(shown, sizeof(shown), "%s/kiln", base);
	next = jail_fs_open_dir(c, fd, "kiln", 0700, shown);
	close(fd);
	if (next < 0)
		return next;
	snprintf(shown, sizeof(shown), "%s/kiln/%s", base, o->id);
	fd = jail_fs_open_dir(c, next, o->id, 0700, shown);
	close(next);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_uid != (c->userns ? o->uid : 0) || (st.st_mode & 022)) {
		snprintf(c->detail, sizeof(c->detail),
			 "%s must be owned by %s and not group/other-writable", shown,
			 c->userns ? "the user starting kiln" : "root");
		close(fd);
		return -EPERM;
	}
	next = jail_fs_open_dir(c, fd, "root", 0700, c->root);
	close(fd);
	if (next < 0)
		return next;
	fd = next;
	if (fchown(fd, c->o->uid, c->o->gid) < 0 || fchmod(fd, 0700) < 0 ||
	    fstat(fd, &c->root_st) < 0) {
		close(fd);
		return snprintf(c->detail, sizeof(c->detail), "%s", c->root), -errno;
	}
	return jail_fs_scan(c, fd, "", 0);
}

/* Runs inside the jail, after pivot_root: "/" is the jail root. */
static int jail_fs_owned_dir(struct jail_ctx *c, const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return snprintf(c->detail, sizeof(c->detail), "mkdir %s", path), -errno;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return snprintf(c->detail, sizeof(c->detail), "%s is not a directory", path),
		       -ENOTDIR;
	if (lchown(path, c->o->uid, c->o->gid) < 0 || chmod(path, 0700) < 0)
		return snprintf(c->detail, sizeof(c->detail), "%s", path), -errno;
	return 0;
}

/* @rel under the jail root: a directory, created 0700 if missing, never a symlink. */
static int jail_fs_root_dir(struct jail_ctx *c, const char *rel)
{
	char path[JAIL_PATH_BYTES + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", c->root, rel);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return snprintf(c->detail, sizeof(c->detail), "mkdir %s", path), -errno;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return snprintf(c->detail, sizeof(c->detail), "%s is not a directory", path),
		       -ENOTDIR;
	return 0;
}

/* Bind the host's node @d onto an empty file (or an old node) of the same name in the jail. */
static int jail_fs_bind_one(struct jail_ctx *c, const struct jail_dev *d)
{
	char path[JAIL_PATH_BYTES + 16];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "%s%s", c->root, d->path);
	snprintf(c->detail, sizeof(c->detail), "%s", path);
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		close(fd);
	} else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		return -EEXIST;
	}
	if (mount(d->path, path, NULL, MS_BIND, NULL) < 0)
		return -errno;
	err = jail_ns_remount_nosuid_noexec(c, path);
	if (!err)
		c->detail[0] = 0;
	return err;
}

/*
 * Unprivileged (user namespace): mknod is not allowed, so the host's nodes
 * that the caller can open are bind-mounted into <root>/dev, after jail-dirs
 * scanned the tree and before pivot_root, while the host's /dev is visible.
 */
int jail_fs_bind_devices(struct jail_ctx *c)
{
	int err = jail_fs_root_dir(c, "dev");

	if (!err && c->devs[1].present)
		err = jail_fs_root_dir(c, "dev/net");
	for (int i = 0; !err && i < JAIL_NR_DEVS; i++)
		if (c->devs[i].present)
			err = jail_fs_bind_one(c, &c->devs[i]);
	return err;
}

int jail_fs_make_devices(struct jail_ctx *c)
{
	int err;

	if (c->userns)
		return 0; /* bound from the host by pivot-root: no mknod in a user namespace */
	err = jail_fs_owned_dir(c, "/dev");

	if (!err && c->devs[1].present)
		err = jail_fs_owned_dir(c, "/dev/net");
	for (int i = 0; !err && i < JAIL_NR_DEVS; i++) {
		const struct jail_dev *d = &c->devs[i];

		if (!d->present)
			continue;
		/* A node left by an earlier run is replaced, never trusted. */
		if ((unlink(d->path) < 0 && errno != ENOENT) ||
		    mknod(d->path, S_IFCHR | 0600, d->rdev) < 0 ||
		    lchown(d->path, c->o->uid, c->o->gid) < 0)
			return snprintf(c->detail, sizeof(c->detail), "%s", d->path), -errno;
	}
	return err;
}
