/* SPDX-License-Identifier: MIT */
/*
 * The API's listening socket: bound at mode 0600 before the first seccomp
 * filter, a stale socket at the path replaced (anything else refused), and
 * on close only the inode we bound unlinked, as the path may have changed.
 */
#include "api/http.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A socket at @path that nobody listens on is stale and goes; anything else stays. */
static int http_clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int probe, r, err;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	err = errno;
	close(probe);
	/* Connected, or EAGAIN (its backlog is full): another process serves it. */
	if (r == 0 || err != ECONNREFUSED)
		return -EEXIST;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int http_listen(const char *path, struct http_listener *l)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int err;

	l->fd = -1;
	if (!path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	memcpy(l->path, sa.sun_path, sizeof(l->path));
	err = http_clear_stale(&sa);
	if (err)
		return err;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -errno;
	/* The socket is born 0600: no window in which another user can connect. */
	old_mask = umask(0177);
	err = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_mask);
	if (err) {
		close(l->fd);
		l->fd = -1;
		return err;
	}
	l->dev = 0;
	l->ino = 0;
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0 ||
	    listen(l->fd, HTTP_LISTEN_BACKLOG) < 0) {
		err = -errno;
		unlink(path);
		close(l->fd);
		l->fd = -1;
		return err;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

/* Only the socket we bound goes: the path may have been replaced since. */
static void http_unlink_ours(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}

void http_listener_close(struct http_listener *l)
{
	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	http_unlink_ours(l->path, l->dev, l->ino);
}

struct http_server *http_server_create(const char *path, size_t max_body_bytes, struct evloop *loop,
				       http_handler_fn handler, void *opaque)
{
	struct http_listener l;
	int err = http_listen(path, &l);

	if (err) {
		errno = -err;
		return NULL;
	}
	return http_server_adopt(&l, max_body_bytes, loop, handler, opaque);
}
