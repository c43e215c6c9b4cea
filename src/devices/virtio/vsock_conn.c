/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock's host side (vsock.h): the Unix listener at uds_path, the
 * table of at most VSOCK_MAX_CONNS connections, "CONNECT <port>" from host
 * processes, guest connections to <uds_path>_<port>, and guest-to-host bytes
 * (straight from guest RAM, the rest into the connection's bounded buffer).
 * Every socket is non-blocking and edge-triggered in the device's own epoll
 * set; main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/vsock_priv.h"
#include "vmm/log.h"

#define VSOCK_EVENTS_BATCH 32

/* epoll tags: kind in bits 16..23, slot in 0..15, generation in 32..63. */
enum vsock_tag { VSOCK_TAG_KICK = 1, VSOCK_TAG_LISTEN, VSOCK_TAG_CONN, VSOCK_TAG_TIMER };

static uint64_t vsock_tag(enum vsock_tag kind, unsigned int slot, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)kind << 16 | slot;
}

void vsock_kick(struct vsock_dev *v)
{
	uint64_t one = 1;

	if (v->kick_fd >= 0 && write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("vsock: kick: %s", strerror(errno));
}

/* ---- deadlines of pending host connections -------------------------------- */

static uint64_t vsock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * @c is pending from now: closed after VSOCK_PENDING_TIMEOUT_NS. Every
 * deadline is now + the same constant, so a timer already armed fires no
 * later than this one and its sweep re-arms for what is left.
 */
static void vsock_conn_set_deadline(struct vsock_dev *v, struct vsock_conn *c)
{
	int err;

	c->deadline_ns = vsock_now_ns() + VSOCK_PENDING_TIMEOUT_NS;
	if (v->timer_armed)
		return;
	err = evloop_timer_arm_ns(&v->timer, VSOCK_PENDING_TIMEOUT_NS);
	if (err < 0 && log_ratelimit_allow(&v->vdev->rl, VSOCK_LOG_BURST))
		log_warn("vsock: arming the connect timer: %s", strerror(-err));
	v->timer_armed = err == 0;
}

static bool vsock_conn_is_pending(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_HOST_CMD || c->state == VSOCK_CONN_HOST_REQ;
}

void vsock_expire(struct vsock_dev *v, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;
	unsigned int expired = 0;
	int err;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (!vsock_conn_is_pending(c))
			continue;
		if (c->deadline_ns > now_ns) {
			next = c->deadline_ns < next ? c->deadline_ns : next;
			continue;
		}
		expired++;
		/* No RST for a REQUEST the guest never got. */
		if (c->pending & VSOCK_PEND_REQUEST)
			vsock_conn_free(v, c);
		else
			vsock_conn_reset(v, c);
	}
	v->stats.conns_timed_out += expired;
	if (expired && log_ratelimit_allow(&v->vdev->rl, VSOCK_LOG_BURST))
		log_warn("vsock: closed %u host connection(s) pending for over %llu ms", expired,
			 VSOCK_PENDING_TIMEOUT_NS / 1000000);
	v->timer_armed = false;
	if (next == UINT64_MAX)
		return;
	err = evloop_timer_arm_ns(&v->timer, next - now_ns);
	if (err < 0 && log_ratelimit_allow(&v->vdev->rl, VSOCK_LOG_BURST))
		log_warn("vsock: re-arming the connect timer: %s", strerror(-err));
	v->timer_armed = err == 0;
}

/* ---- the connection table ------------------------------------------------- */

struct vsock_conn *vsock_find(struct vsock_dev *v, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state > VSOCK_CONN_HOST_CMD && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return c;
	}
	return NULL;
}

/* A free slot holding @fd, watched edge-triggered; NULL (fd untouched) if none. */
static struct vsock_conn *vsock_conn_new(struct vsock_dev *v, int fd, enum vsock_conn_state st)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	unsigned int i;

	if (v->nconns >= VSOCK_MAX_CONNS)
		return NULL;
	for (i = 0; i < VSOCK_MAX_CONNS && v->conns[i].state != VSOCK_CONN_FREE; i++)
		;
	if (i == VSOCK_MAX_CONNS)
		return NULL;
	struct vsock_conn *c = &v->conns[i];
	uint8_t *buf = c->buf; /* kept across uses of the slot */

	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->fd = fd;
	c->state = st;
	c->gen = ++v->next_gen;
	ev.data.u64 = vsock_tag(VSOCK_TAG_CONN, i, c->gen);
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("vsock: watching a connection: %s", strerror(errno));
		c->state = VSOCK_CONN_FREE;
		return NULL;
	}
	v->nconns++;
	v->stats.conns_opened++;
	return c;
}

void vsock_conn_free(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_FREE)
		return;
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->state = VSOCK_CONN_FREE;
	c->buf_len = 0;
	v->nconns--;
}

void vsock_queue_rst(struct vsock_dev *v, uint32_t host_port, uint32_t guest_port)
{
	if (v->rst_len == VSOCK_RST_QUEUE)
		return; /* a guest flooding bad packets loses some answers, nothing else */
	v->rsts[(v->rst_head + v->rst_len) % VSOCK_RST_QUEUE] =
	    (struct vsock_rst){host_port, guest_port};
	v->rst_len++;
}

/* Drop the connection and tell the guest (RST), e.g. after a protocol violation. */
void vsock_conn_reset(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->state > VSOCK_CONN_HOST_CMD)
		vsock_queue_rst(v, c->host_port, c->guest_port);
	vsock_conn_free(v, c);
}

void vsock_violation(struct vsock_dev *v, struct vsock_conn *c, const char *why)
{
	v->stats.violations++;
	if (log_ratelimit_allow(&v->vdev->rl, VSOCK_LOG_BURST))
		log_warn("vsock: connection %u->%u reset: %s", c->guest_port, c->host_port, why);
	vsock_conn_reset(v, c);
}

/* Bytes the guest says it can still take (§5.10.6.3). */
uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Take the guest's buf_alloc/fwd_cnt; false if it claims more consumed than sent. */
bool vsock_take_credit(struct vsock_conn *c, const struct vsock_hdr *h)
{
	if ((uint32_t)(h->fwd_cnt - c->peer_fwd_cnt) > (uint32_t)(c->tx_cnt - c->peer_fwd_cnt))
		return false;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->peer_buf_alloc = h->buf_alloc;
	return true;
}

static void vsock_note_forwarded(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	if (c->fwd_cnt - c->fwd_reported >= VSOCK_CREDIT_UPDATE_BYTES)
		c->pending |= VSOCK_PEND_CREDIT;
}

/* The guest said SHUTDOWN: once its bytes are delivered, finish the connection. */
void vsock_conn_check_shutdown(struct vsock_dev *v, struct vsock_conn *c)
{
	if (c->buf_len || !(c->peer_shutdown & VSOCK_SHUTDOWN_SEND))
		return;
	/*
	 * §5.10.6.5: both sides done; RST completes the guest's close. A guest
	 * that only stops sending (SHUTDOWN SEND) is not passed on as a
	 * half-close: that would cost a shutdown(2) row in every filter.
	 */
	if ((c->peer_shutdown & VSOCK_SHUTDOWN_ALL) == VSOCK_SHUTDOWN_ALL || c->host_eof)
		vsock_conn_reset(v, c);
}

/* ---- guest -> host bytes ------------------------------------------------- */

/* Write the ring buffer to the host socket; false if the connection died. */
static bool vsock_conn_flush(struct vsock_dev *v, struct vsock_conn *c)
{
	while (c->buf_len) {
		uint32_t first = VSOCK_CONN_BUF_BYTES - c->buf_head;
		struct iovec iov[2] = {
		    {c->buf + c->buf_head, first < c->buf_len ? first : c->buf_len},
		    {c->buf, first < c->buf_len ? c->buf_len - first : 0}};
		ssize_t n = writev(c->fd, iov, iov[1].iov_len ? 2 : 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) {
			vsock_conn_reset(v, c);
			return false;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_CONN_BUF_BYTES;
		c->buf_len -= (uint32_t)n;
		vsock_note_forwarded(c, (uint32_t)n);
	}
	vsock_conn_check_shutdown(v, c);
	return true;
}

/* Copy chain bytes [off, off + len) into the ring buffer behind what is queued. */
static void vsock_conn_buffer(struct vsock_conn *c, const struct vq_chain *ch, uint64_t off,
			      uint32_t len)
{
	uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF_BYTES;
	uint32_t first = VSOCK_CONN_BUF_BYTES - tail;

	if (first > len)
		first = len;
	vq_chain_read(ch, off, c->buf + tail, first);
	vq_chain_read(ch, off + first, c->buf, len - first);
	c->buf_len += len;
}

/* The iovecs of chain bytes [off, off + len); returns how many. */
int vsock_chain_iov(const struct vq_chain *ch, uint64_t off, uint64_t len, struct iovec *iov,
		    int max)
{
	int n = 0;

	for (unsigned int i = 0; i < ch->nsegs && len && n < max; i++) {
		const struct vq_seg *s = &ch->segs[i];
		uint64_t take;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off < len ? s->len - off : len;
		iov[n++] = (struct iovec){s->host + off, take};
		len -= take;
		off = 0;
	}
	return n;
}

/* An RW packet's payload to the host: straight from guest RAM when nothing is queued. */
void vsock_conn_forward(struct vsock_dev *v, struct vsock_conn *c, const struct vsock_pkt *p)
{
	uint32_t len = p->hdr.len, done = 0;

	/* §5.10.6.3: the guest may not send more than we advertised room for. */
	if (len > VSOCK_CONN_BUF_BYTES - c->buf_len) {
		vsock_violation(v, c, "credit exceeded");
		return;
	}
	v->stats.tx_bytes += len;
	if (c->buf_len == 0 && len) {
		struct iovec iov[VQ_MAX_SEGS];
		int niov = vsock_chain_iov(p->chain, VSOCK_HDR_BYTES, len, iov, VQ_MAX_SEGS);
		ssize_t n;

		do {
			n = writev(c->fd, iov, niov);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			vsock_conn_reset(v, c);
			return;
		}
		done = n > 0 ? (uint32_t)n : 0;
		vsock_note_forwarded(c, done);
	}
	if (done == len)
		return;
	if (!c->buf && !(c->buf = malloc(VSOCK_CONN_BUF_BYTES))) { /* owned by the slot */
		vsock_conn_reset(v, c);
		return;
	}
	vsock_conn_buffer(c, p->chain, VSOCK_HDR_BYTES + done, len - done);
}

/*
 * read(2) segment by segment (a readv row would grow the seccomp policies for
 * nothing: RX buffers are one segment in practice). Bytes, or the first
 * read's result when nothing was read.
 */
ssize_t vsock_read_iov(int fd, const struct iovec *iov, int niov)
{
	ssize_t total = 0;

	for (int i = 0; i < niov; i++) {
		ssize_t n = read(fd, iov[i].iov_base, iov[i].iov_len);

		if (n < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (n <= 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return total;
}

/* ---- host side: listener, connections, events ----------------------------- */

void vsock_guest_connect(struct vsock_dev *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds_path, h->dst_port);
	fd = v->nconns < VSOCK_MAX_CONNS
		 ? socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
		 : -1;
	/* A Unix connect completes at once or fails (EAGAIN: the listener's backlog is full). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c = vsock_conn_new(v, fd, VSOCK_CONN_ESTABLISHED))) {
		if (fd >= 0)
			close(fd);
		v->stats.conns_refused++;
		vsock_queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending |= VSOCK_PEND_RESPONSE;
}

static void vsock_accept(struct vsock_dev *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    log_ratelimit_allow(&v->vdev->rl, VSOCK_LOG_BURST))
				log_warn("vsock: accept on %s: %s", v->uds_path, strerror(errno));
			if (errno != EINTR)
				return;
			continue;
		}
		struct vsock_conn *c = vsock_conn_new(v, fd, VSOCK_CONN_HOST_CMD);

		if (c) {
			vsock_conn_set_deadline(v, c);
		} else {
			v->stats.conns_refused++;
			close(fd);
		}
	}
}

static uint32_t vsock_local_port(struct vsock_dev *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_local_port++;

		if (v->next_local_port == 0)
			v->next_local_port = VSOCK_FIRST_LOCAL_PORT;
		if (!vsock_find(v, guest_port, p))
			return p;
	}
}

/* "CONNECT <port>\n": peeked until complete, then consumed exactly (data may follow). */
static void vsock_host_cmd(struct vsock_dev *v, struct vsock_conn *c, bool peer_done)
{
	char buf[VSOCK_CMD_MAX_BYTES];
	size_t line = 0;
	uint32_t port = 0;
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	r = n > 0 ? vsock_parse_connect(buf, (size_t)n, &port, &line) : -EINVAL;
	if (r == 0 && (size_t)n < sizeof(buf) && !peer_done)
		return;
	if (r <= 0 || recv(c->fd, buf, line, MSG_DONTWAIT) != (ssize_t)line) {
		/* Take the refused line, so the peer reads end of file, not a reset. */
		if (r < 0 && n > 0 && recv(c->fd, buf, (size_t)n, MSG_DONTWAIT) < 0)
			log_debug("vsock: dropping a refused CONNECT line: %s", strerror(errno));
		v->stats.conns_refused++;
		vsock_conn_free(v, c);
		return;
	}
	c->guest_port = port;
	c->host_port = vsock_local_port(v, port);
	c->state = VSOCK_CONN_HOST_REQ;
	c->pending |= VSOCK_PEND_REQUEST;
	vsock_conn_set_deadline(v, c); /* now for the guest's RESPONSE */
}

static void vsock_conn_event(struct vsock_dev *v, struct vsock_conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (c->state == VSOCK_CONN_HOST_CMD) {
		vsock_host_cmd(v, c, events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
		return;
	}
	if (c->host_hup && c->state != VSOCK_CONN_ESTABLISHED) {
		vsock_conn_reset(v, c);
		return;
	}
	if ((events & EPOLLOUT) && c->buf_len)
		vsock_conn_flush(v, c);
}

/* Status 0 came from a vCPU thread: close everything here, on the main thread. */
void vsock_apply_reset(struct vsock_dev *v)
{
	if (!v->reset_pending)
		return;
	v->reset_pending = false;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		vsock_conn_free(v, &v->conns[i]);
	v->rst_len = 0;
	v->rst_head = 0;
}

static void vsock_dispatch(struct vsock_dev *v, const struct epoll_event *e)
{
	unsigned int slot = (unsigned int)(e->data.u64 & 0xffff);
	uint32_t gen = (uint32_t)(e->data.u64 >> 32);
	uint64_t count;

	switch ((enum vsock_tag)((e->data.u64 >> 16) & 0xff)) {
	case VSOCK_TAG_KICK:
		if (read(v->kick_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_warn("vsock: reading the kick eventfd: %s", strerror(errno));
		return;
	case VSOCK_TAG_LISTEN:
		vsock_accept(v);
		return;
	case VSOCK_TAG_TIMER:
		evloop_timer_ack(&v->timer);
		vsock_expire(v, vsock_now_ns());
		return;
	case VSOCK_TAG_CONN:
		if (slot < VSOCK_MAX_CONNS && v->conns[slot].state != VSOCK_CONN_FREE &&
		    v->conns[slot].gen == gen)
			vsock_conn_event(v, &v->conns[slot], e->events);
		return;
	}
}

void vsock_host_events(struct vsock_dev *v)
{
	struct epoll_event evs[VSOCK_EVENTS_BATCH];
	int n;

	vsock_apply_reset(v);
	do {
		n = epoll_wait(v->epfd, evs, VSOCK_EVENTS_BATCH, 0);
	} while (n < 0 && errno == EINTR);
	for (int i = 0; i < n; i++)
		vsock_dispatch(v, &evs[i]);
}

/* ---- set-up and teardown ------------------------------------------------ */

static int vsock_watch(struct vsock_dev *v, int fd, enum vsock_tag kind)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = vsock_tag(kind, 0, 0)};

	return epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int vsock_listen(struct vsock_dev *v)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	memcpy(sa.sun_path, v->uds_path, strlen(v->uds_path) + 1);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return -errno;
	/* As Firecracker: the path must not exist (EADDRINUSE names the problem). */
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (lstat(v->uds_path, &st) < 0 || listen(v->listen_fd, VSOCK_LISTEN_BACKLOG) < 0) {
		int err = -errno;

		unlink(v->uds_path);
		return err;
	}
	v->sock_dev = st.st_dev;
	v->sock_ino = st.st_ino;
	return 0;
}

int vsock_open(struct vsock_dev *v, const struct vsock_config *cfg)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->epfd = v->listen_fd = v->kick_fd = v->timer.fd = -1;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	if (cfg->guest_cid < VSOCK_MIN_GUEST_CID || cfg->guest_cid > VSOCK_MAX_GUEST_CID)
		return -EINVAL;
	if (!cfg->uds_path || !cfg->uds_path[0] || strlen(cfg->uds_path) > VSOCK_UDS_PATH_MAX)
		return -ENAMETOOLONG;
	v->guest_cid = cfg->guest_cid;
	snprintf(v->uds_path, sizeof(v->uds_path), "%s", cfg->uds_path);
	v->next_local_port = VSOCK_FIRST_LOCAL_PORT;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->epfd < 0 || v->kick_fd < 0)
		err = -errno;
	else
		err = evloop_timer_open(&v->timer);
	if (!err)
		err = vsock_listen(v);
	if (!err)
		err = vsock_watch(v, v->kick_fd, VSOCK_TAG_KICK);
	if (!err)
		err = vsock_watch(v, v->listen_fd, VSOCK_TAG_LISTEN);
	if (!err)
		err = vsock_watch(v, v->timer.fd, VSOCK_TAG_TIMER);
	if (err) {
		bool bound = v->sock_ino != 0;

		if (bound)
			unlink(v->uds_path);
		v->sock_ino = 0;
		vsock_close(v);
	}
	return err;
}

void vsock_attach(struct vsock_dev *v, struct vdev *d)
{
	v->vdev = d;
}

void vsock_close(struct vsock_dev *v)
{
	struct stat st;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		vsock_conn_free(v, &v->conns[i]);
		free(v->conns[i].buf);
		v->conns[i].buf = NULL;
	}
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		/* Unlink only the socket we bound, not whatever replaced it since. */
		if (v->sock_ino && lstat(v->uds_path, &st) == 0 && st.st_dev == v->sock_dev &&
		    st.st_ino == v->sock_ino)
			unlink(v->uds_path);
	}
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	evloop_timer_close(&v->timer);
	v->timer_armed = false;
	if (v->epfd >= 0)
		close(v->epfd);
	v->listen_fd = v->kick_fd = v->epfd = -1;
}
