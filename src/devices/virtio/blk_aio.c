/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk async engine: IN/OUT become one READV/WRITEV each and FLUSH one
 * drained FSYNC on a per-drive io_uring, submitted once per queue pass; the
 * main loop completes them when the ring's eventfd fires. Every started
 * request owns a slot (head, status byte, expected length, its iovecs) until
 * its CQE is reaped, so nothing the kernel reads lives on a stack.
 */
#include "devices/virtio/blk_aio.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/blk.h"

#define BLK_AIO_LOG_BURST 10

struct blk_aio_slot {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint8_t *status;   /* host pointer into guest RAM, found by the parser */
	uint64_t expect;   /* bytes the kernel must move for OK */
	uint64_t sector;   /* for the log line */
	unsigned int niov; /* at most BLK_SEG_MAX (the parser's seg_max) */
	struct iovec iov[BLK_SEG_MAX];
};

struct blk_aio {
	struct io_uring ring;
	int evfd;		    /* owned: closed by blk_aio_close() */
	struct blk_aio_slot *slots; /* owned: BLK_QUEUE_SIZE of them, only for Async drives */
	uint16_t *free;		    /* owned: stack of free slot numbers */
	unsigned int nfree;
	unsigned int inflight;	  /* started and not yet reaped */
	unsigned int unsubmitted; /* SQEs prepared since the last submit */
};

int blk_aio_fd(const struct blk_aio *a)
{
	return a->evfd;
}

unsigned int blk_aio_inflight(const struct blk_aio *a)
{
	return a->inflight;
}

static void blk_aio_complete(struct blk_dev *b, struct vdev *d, const struct io_uring_cqe *cqe,
			     bool push)
{
	struct blk_aio *a = b->aio;
	uint64_t n = cqe->user_data;
	struct blk_aio_slot *s;
	uint8_t status = VIRTIO_BLK_S_OK;
	uint32_t used = 1;

	/* user_data is ours, never the guest's; stay safe if it is not a slot. */
	if (n >= BLK_QUEUE_SIZE || !a->slots[n].busy)
		return;
	s = &a->slots[n];
	if (cqe->res < 0 || (uint64_t)cqe->res != s->expect) {
		/* A short transfer is an error: it is never acknowledged as done. */
		status = VIRTIO_BLK_S_IOERR;
		b->stats.io_errors++;
		if (push && log_ratelimit_allow(&d->rl, BLK_AIO_LOG_BURST))
			log_warn("virtio-blk %s: type %u sector %llu: %s", b->path, s->type,
				 (unsigned long long)s->sector,
				 cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
	} else if (s->type == VIRTIO_BLK_T_IN) {
		b->stats.read_bytes += s->expect;
		/* Saturate: overlapping guest buffers can claim more than 32 bits. */
		used = s->expect >= UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)s->expect + 1;
	} else if (s->type == VIRTIO_BLK_T_OUT) {
		b->stats.write_bytes += s->expect;
	}
	if (push) {
		*s->status = status;
		vq_push(&d->vqs[0], s->head, used);
	}
	s->busy = false;
	a->free[a->nfree++] = (uint16_t)n;
	a->inflight--;
}

/*
 * Requests the kernel has: waiting for more than these would block forever
 * when a submit failed and its SQEs are still queued in the ring.
 */
static unsigned int blk_aio_submitted(const struct blk_aio *a)
{
	return a->inflight > a->unsubmitted ? a->inflight - a->unsubmitted : 0;
}

void blk_aio_reap(struct blk_dev *b, struct vdev *d, bool wait, bool push)
{
	struct blk_aio *a = b->aio;
	struct io_uring_cqe *cqe;
	bool pushed = false;

	if (!a)
		return;
	if (wait && a->unsubmitted)
		blk_aio_submit(b, d);
	while (a->inflight) {
		int r = io_uring_peek_cqe(&a->ring, &cqe);

		if (r == -EAGAIN && wait && blk_aio_submitted(a))
			r = io_uring_wait_cqe(&a->ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			if (r != -EAGAIN)
				log_warn("virtio-blk %s: io_uring wait: %s", b->path, strerror(-r));
			break;
		}
		blk_aio_complete(b, d, cqe, push);
		io_uring_cqe_seen(&a->ring, cqe);
		pushed |= push;
	}
	if (pushed)
		vdev_notify_used(d, 0);
}

void blk_aio_submit(struct blk_dev *b, struct vdev *d)
{
	struct blk_aio *a = b->aio;
	int r;

	if (!a || !a->unsubmitted)
		return;
	do {
		r = io_uring_submit(&a->ring);
	} while (r == -EINTR);
	if (r < 0) {
		/*
		 * The SQEs stay in the ring: come back through the queue eventfd and
		 * submit again once the loop has served everything else.
		 */
		if (log_ratelimit_allow(&d->rl, BLK_AIO_LOG_BURST))
			log_warn("virtio-blk %s: io_uring submit: %s", b->path, strerror(-r));
		if (d->queue_evt[0] >= 0) {
			uint64_t one = 1;

			if (write(d->queue_evt[0], &one, sizeof(one)) < 0)
				log_warn("virtio-blk %s: requeue: %s", b->path, strerror(errno));
		}
		return;
	}
	a->unsubmitted = (unsigned int)r >= a->unsubmitted ? 0 : a->unsubmitted - (unsigned int)r;
}

int blk_aio_start(struct blk_dev *b, struct vdev *d, uint16_t head, const struct blk_req *r)
{
	struct blk_aio *a = b->aio;
	struct io_uring_sqe *sqe;
	struct blk_aio_slot *s;
	uint16_t n;

	if (r->niov > BLK_SEG_MAX)
		return -E2BIG; /* the parser's seg_max makes this unreachable */
	/*
	 * Every slot busy means the driver reused descriptors still in flight
	 * (§2.7.13.1 allows at most queue-size chains): finish everything in flight
	 * first, the slow way.
	 */
	if (!a->nfree)
		blk_aio_reap(b, d, true, true);
	if (!a->nfree)
		return -EBUSY;
	sqe = io_uring_get_sqe(&a->ring);
	if (!sqe) {
		blk_aio_submit(b, d);
		sqe = io_uring_get_sqe(&a->ring);
		if (!sqe)
			return -EBUSY;
	}
	n = a->free[--a->nfree];
	s = &a->slots[n];
	s->busy = true;
	s->head = head;
	s->type = r->type;
	s->status = r->status;
	s->sector = r->sector;
	s->niov = r->niov;
	memcpy(s->iov, r->iov, r->niov * sizeof(r->iov[0]));
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		s->expect = r->data_len;
		io_uring_prep_readv(sqe, b->fd, s->iov, s->niov, r->sector << BLK_SECTOR_SHIFT);
		break;
	case VIRTIO_BLK_T_OUT:
		s->expect = r->data_len;
		io_uring_prep_writev(sqe, b->fd, s->iov, s->niov, r->sector << BLK_SECTOR_SHIFT);
		break;
	default: /* FLUSH: covers every write started before it */
		s->expect = 0;
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		if (a->inflight)
			io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
		break;
	}
	io_uring_sqe_set_data64(sqe, n);
	a->inflight++;
	a->unsubmitted++;
	return 0;
}

int blk_aio_open(struct blk_dev *b)
{
	struct blk_aio *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->evfd = -1;
	a->slots = calloc(BLK_QUEUE_SIZE, sizeof(*a->slots));
	a->free = calloc(BLK_QUEUE_SIZE, sizeof(*a->free));
	if (!a->slots || !a->free) {
		r = -ENOMEM;
		goto fail_mem;
	}
	for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++)
		a->free[a->nfree++] = (uint16_t)(BLK_QUEUE_SIZE - 1 - i);
	r = io_uring_queue_init(BLK_AIO_RING_ENTRIES, &a->ring, 0);
	if (r < 0) {
		log_err("drive %s: io_uring_queue_init: %s", b->path, strerror(-r));
		goto fail_mem;
	}
	a->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->evfd < 0) {
		r = -errno;
		log_err("drive %s: eventfd: %s", b->path, strerror(-r));
		goto fail_ring;
	}
	r = io_uring_register_eventfd(&a->ring, a->evfd);
	if (r < 0) {
		log_err("drive %s: io_uring_register_eventfd: %s", b->path, strerror(-r));
		goto fail_ring;
	}
	b->aio = a;
	return 0;
fail_ring:
	if (a->evfd >= 0)
		close(a->evfd);
	io_uring_queue_exit(&a->ring);
fail_mem:
	free(a->slots);
	free(a->free);
	free(a);
	return r;
}

void blk_aio_close(struct blk_dev *b)
{
	struct blk_aio *a = b->aio;
	struct io_uring_cqe *cqe;

	if (!a)
		return;
	if (a->unsubmitted) {
		int r = io_uring_submit(&a->ring);

		if (r > 0)
			a->unsubmitted -=
			    (unsigned int)r < a->unsubmitted ? (unsigned int)r : a->unsubmitted;
	}
	/* No vdev here: reap by hand, pushing nothing; ring exit drops unsubmitted SQEs. */
	while (blk_aio_submitted(a)) {
		int r = io_uring_wait_cqe(&a->ring, &cqe);

		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		io_uring_cqe_seen(&a->ring, cqe);
		a->inflight--;
	}
	io_uring_queue_exit(&a->ring);
	close(a->evfd);
	free(a->slots);
	free(a->free);
	free(a);
	b->aio = NULL;
}
