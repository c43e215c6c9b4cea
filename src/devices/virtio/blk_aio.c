/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk async engine: IN/OUT become one READV/WRITEV each and FLUSH one
 * drained FSYNC on a per-drive io_uring, submitted once per queue pass and
 * reaped right after (completions that are already there cost no wake-up);
 * the rest complete when the ring's eventfd fires. Every started request owns
 * a slot (head, status byte, expected length, its iovecs) until its CQE is
 * reaped, so nothing the kernel reads lives on a stack.
 *
 * A submit the kernel refuses (out of memory, CQ overflow) leaves SQEs in the
 * SQ ring, which the kernel would run on the next io_uring_enter, whenever
 * that is. So they never outlive the call that could not submit them unless a
 * completion of ours is still to come (its handler retries): otherwise, and
 * always before a reset, teardown or drain waits, each is rewritten in place
 * to a NOP the completion path ignores and its request fails with IOERR.
 */
#include "devices/virtio/blk_aio.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/blk.h"

#define BLK_AIO_LOG_BURST    10
#define BLK_AIO_SUBMIT_TRIES 4
/* user_data of an SQE whose request was failed before the kernel took it. */
#define BLK_AIO_NOP_DATA UINT64_MAX
/* An entry of the SQ order for such an SQE. */
#define BLK_AIO_NOP_SLOT UINT16_MAX

struct blk_aio_slot {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint8_t *status;	  /* host pointer into guest RAM, found by the parser */
	struct io_uring_sqe *sqe; /* ours to rewrite until the kernel consumes it */
	uint64_t expect;	  /* bytes the kernel must move for OK */
	uint64_t sector;	  /* for the log line */
	unsigned int niov;	  /* at most BLK_SEG_MAX (the parser's seg_max) */
	struct iovec iov[BLK_SEG_MAX];
};

struct blk_aio {
	struct io_uring ring;
	int evfd;		    /* owned: closed by blk_aio_close() */
	struct blk_aio_slot *slots; /* owned: BLK_QUEUE_SIZE of them, only for Async drives */
	uint16_t *free;		    /* owned: stack of free slot numbers */
	unsigned int nfree;
	unsigned int inflight;	  /* started and not yet completed */
	unsigned int unsubmitted; /* of those, still in the SQ ring */
	/*
	 * Every SQE in the SQ ring the kernel has not consumed, oldest first:
	 * its slot, or BLK_AIO_NOP_SLOT. The kernel consumes in this order.
	 */
	uint16_t sq_order[BLK_AIO_RING_ENTRIES];
	unsigned int sq_first, sq_len;
	int submit_err; /* the kernel's last refusal, for the log line */
};

int blk_aio_fd(const struct blk_aio *a)
{
	return a->evfd;
}

unsigned int blk_aio_inflight(const struct blk_aio *a)
{
	return a->inflight;
}

bool blk_aio_completion_due(const struct blk_aio *a)
{
	return a->inflight > a->unsubmitted;
}

static void blk_aio_sq_append(struct blk_aio *a, uint16_t n)
{
	a->sq_order[(a->sq_first + a->sq_len) % BLK_AIO_RING_ENTRIES] = n;
	a->sq_len++;
}

/* The kernel took the @n oldest SQEs. */
static void blk_aio_sq_consumed(struct blk_aio *a, unsigned int n)
{
	if (n > a->sq_len)
		n = a->sq_len; /* cannot happen: the kernel reads only what we queued */
	for (; n; n--) {
		if (a->sq_order[a->sq_first] != BLK_AIO_NOP_SLOT)
			a->unsubmitted--;
		a->sq_first = (a->sq_first + 1) % BLK_AIO_RING_ENTRIES;
		a->sq_len--;
	}
}

/* Free slot @n: its request is finished, pushed or not. */
static void blk_aio_release(struct blk_aio *a, uint16_t n)
{
	a->slots[n].busy = false;
	a->free[a->nfree++] = n;
	a->inflight--;
}

/* Report slot @s's outcome to the guest (with @push) and count it. */
static void blk_aio_finish(struct blk_dev *b, struct vdev *d, const struct blk_aio_slot *s, int res,
			   bool push)
{
	uint8_t status = VIRTIO_BLK_S_OK;
	uint32_t used = 1;

	if (res < 0 || (uint64_t)res != s->expect) {
		/* A short transfer is an error: it is never acknowledged as done. */
		status = VIRTIO_BLK_S_IOERR;
		b->stats.io_errors++;
		if (push && log_ratelimit_allow(&d->rl, BLK_AIO_LOG_BURST))
			log_warn("virtio-blk %s: type %u sector %llu: %s", b->path, s->type,
				 (unsigned long long)s->sector,
				 res < 0 ? strerror(-res) : "short transfer");
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
}

/* Returns whether the CQE finished a request of ours. */
static bool blk_aio_complete(struct blk_dev *b, struct vdev *d, const struct io_uring_cqe *cqe,
			     bool push)
{
	struct blk_aio *a = b->aio;
	uint64_t n = cqe->user_data;

	/* user_data is ours, never the guest's; a NOP or anything else not a slot is dropped. */
	if (n >= BLK_QUEUE_SIZE || !a->slots[n].busy)
		return false;
	blk_aio_finish(b, d, &a->slots[n], cqe->res, push);
	blk_aio_release(a, (uint16_t)n);
	return true;
}

/* Requests the kernel has: a completion will come for each of them. */
static unsigned int blk_aio_submitted(const struct blk_aio *a)
{
	return a->inflight - a->unsubmitted;
}

/*
 * Fail every request still in the SQ ring with IOERR (pushed with @push) and
 * turn its SQE into a NOP, so whatever io_uring_enter comes next does no I/O
 * for it. Returns whether anything was pushed.
 */
static bool blk_aio_cancel_queued(struct blk_dev *b, struct vdev *d, bool push)
{
	struct blk_aio *a = b->aio;
	unsigned int failed = 0;

	for (unsigned int i = 0; i < a->sq_len; i++) {
		uint16_t *e = &a->sq_order[(a->sq_first + i) % BLK_AIO_RING_ENTRIES];
		struct blk_aio_slot *s;

		if (*e == BLK_AIO_NOP_SLOT)
			continue;
		s = &a->slots[*e];
		io_uring_prep_nop(s->sqe);
		io_uring_sqe_set_data64(s->sqe, BLK_AIO_NOP_DATA);
		blk_aio_finish(b, d, s, -EAGAIN, false);
		if (push) {
			*s->status = VIRTIO_BLK_S_IOERR;
			vq_push(&d->vqs[0], s->head, 1);
		}
		blk_aio_release(a, *e);
		*e = BLK_AIO_NOP_SLOT;
		a->unsubmitted--;
		failed++;
	}
	if (failed && d && log_ratelimit_allow(&d->rl, BLK_AIO_LOG_BURST))
		log_warn("virtio-blk %s: io_uring submit: %s: %u request(s) failed with IOERR",
			 b->path, strerror(-a->submit_err), failed);
	return failed && push;
}

/* Complete what is ready (and with @wait, what the kernel has); true if anything was pushed. */
static bool blk_aio_reap_ring(struct blk_dev *b, struct vdev *d, bool wait, bool push)
{
	struct blk_aio *a = b->aio;
	struct io_uring_cqe *cqe;
	bool pushed = false;

	for (;;) {
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
		pushed |= blk_aio_complete(b, d, cqe, push) && push;
		io_uring_cqe_seen(&a->ring, cqe);
	}
	return pushed;
}

/*
 * Hand the SQ ring to the kernel, retrying a refusal after reaping what is
 * ready (a full CQ is one reason). Returns whether anything was pushed.
 */
static bool blk_aio_flush(struct blk_dev *b, struct vdev *d, bool push)
{
	struct blk_aio *a = b->aio;
	bool pushed = false;
	int r = 0;

	for (unsigned int tries = 0; a->sq_len && tries < BLK_AIO_SUBMIT_TRIES;) {
		unsigned int before = io_uring_sq_ready(&a->ring);

		r = io_uring_submit(&a->ring);
		blk_aio_sq_consumed(a, before - io_uring_sq_ready(&a->ring));
		if (r == -EINTR)
			continue;
		if (r > 0)
			continue;
		a->submit_err = r < 0 ? r : -EAGAIN;
		tries++;
		pushed |= blk_aio_reap_ring(b, d, false, push);
	}
	return pushed;
}

void blk_aio_reap(struct blk_dev *b, struct vdev *d, bool wait, bool push)
{
	struct blk_aio *a = b->aio;
	bool pushed;

	if (!a)
		return;
	pushed = blk_aio_flush(b, d, push);
	/* Whatever is done already: no wake-up, no epoll round for it. */
	pushed |= blk_aio_reap_ring(b, d, false, push);
	/*
	 * What the kernel would not take waits for the retry that our next
	 * completion brings, unless none will come or the caller is about to wait.
	 */
	if (a->unsubmitted && (wait || !blk_aio_submitted(a))) {
		pushed |= blk_aio_flush(b, d, push);
		if (a->unsubmitted)
			pushed |= blk_aio_cancel_queued(b, d, push);
	}
	if (wait)
		pushed |= blk_aio_reap_ring(b, d, true, push);
	if (pushed)
		vdev_notify_used(d, 0);
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
		/* The SQ ring holds NOPs of failed requests, or the kernel is behind. */
		blk_aio_reap(b, d, false, true);
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
	s->sqe = sqe;
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
	blk_aio_sq_append(a, n);
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

	if (!a)
		return;
	/* No vdev here: nothing is pushed, so nothing needs one. */
	blk_aio_reap(b, NULL, true, false);
	io_uring_queue_exit(&a->ring);
	close(a->evfd);
	free(a->slots);
	free(a->free);
	free(a);
	b->aio = NULL;
}
