/* SPDX-License-Identifier: MIT */
/*
 * host_floor: what the host kernel alone costs for the I/O the blk and net
 * benchmarks ask of a VMM, with no VMM and no guest. Every VMM pays at least
 * this per request or frame inside its syscalls, so it is the floor under
 * any "CPU per request" comparison (docs/PERFORMANCE.md, "Host floor").
 *
 *   host_floor blk IMG direct|buffered [reads reads_deep writes writes_deep]
 *       4 KiB random reads at depth 1 (preadv) and 32 (io_uring), 64 KiB
 *       sequential writes at depth 1 (pwritev) and 32 (io_uring), the same
 *       offsets and sizes as the guest's blkbench; O_DIRECT for "direct".
 *   host_floor tap NAME BYTES FRAMES
 *       FRAMES writes of one BYTES-byte Ethernet frame (an EtherType nothing
 *       handles, after a zeroed 12-byte virtio-net header) to the existing
 *       vnet_hdr tap NAME: the guest-to-host direction of net_bench.
 *
 * Per workload one line: ops/s (wall clock) and CPU µs per op, from
 * CLOCK_PROCESS_CPUTIME_ID (every thread, io_uring workers included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEPTH	    32
#define READ_BYTES  4096u
#define WRITE_BYTES 65536u

struct meter {
	double wall0, cpu0;
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void meter_start(struct meter *m)
{
	m->wall0 = now(CLOCK_MONOTONIC);
	m->cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
}

static void meter_print(const struct meter *m, const char *name, uint64_t n)
{
	double wall = now(CLOCK_MONOTONIC) - m->wall0;
	double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - m->cpu0;

	printf("%-14s n=%-7llu ops/s=%.0f cpu_us_per_op=%.2f\n", name, (unsigned long long)n,
	       n / wall, cpu * 1e6 / n);
	fflush(stdout);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* xorshift64: the offsets only need to be spread, not secret. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t blk_offset(uint64_t i, uint64_t *seed, uint64_t cap, unsigned int bytes, bool rand)
{
	uint64_t slots = cap / bytes;

	return (rand ? rnd(seed) % slots : i % slots) * bytes;
}

static void blk_sync(int fd, uint8_t *buf, uint64_t cap, uint64_t n, bool write)
{
	unsigned int bytes = write ? WRITE_BYTES : READ_BYTES;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct meter m;

	meter_start(&m);
	for (uint64_t i = 0; i < n; i++) {
		off_t off = (off_t)blk_offset(i, &seed, cap, bytes, !write);
		ssize_t r = write ? pwrite(fd, buf, bytes, off) : pread(fd, buf, bytes, off);

		if (r != (ssize_t)bytes)
			die(write ? "pwrite" : "pread");
	}
	meter_print(&m, write ? "seqwrite_qd1" : "randread_qd1", n);
}

static void blk_queue(struct io_uring *ring, int fd, uint8_t *buf, uint64_t off, bool write,
		      unsigned int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	unsigned int bytes = write ? WRITE_BYTES : READ_BYTES;

	if (!sqe)
		die("io_uring_get_sqe");
	if (write)
		io_uring_prep_write(sqe, fd, buf + (size_t)slot * WRITE_BYTES, bytes, off);
	else
		io_uring_prep_read(sqe, fd, buf + (size_t)slot * WRITE_BYTES, bytes, off);
	io_uring_sqe_set_data64(sqe, slot);
}

/* @n requests, DEPTH in flight: wait for one, reap all that are done, refill, submit. */
static void blk_deep(int fd, uint8_t *buf, uint64_t cap, uint64_t n, bool write)
{
	unsigned int bytes = write ? WRITE_BYTES : READ_BYTES;
	uint64_t seed = 0x2545f4914f6cdd1dull, posted = 0, done = 0;
	struct io_uring ring;
	struct meter m;

	if (io_uring_queue_init(2 * DEPTH, &ring, 0))
		die("io_uring_queue_init");
	meter_start(&m);
	for (unsigned int s = 0; s < DEPTH && posted < n; s++, posted++)
		blk_queue(&ring, fd, buf, blk_offset(posted, &seed, cap, bytes, !write), write, s);
	while (done < n) {
		struct io_uring_cqe *cqe;

		if (io_uring_submit_and_wait(&ring, 1) < 0)
			die("io_uring_submit_and_wait");
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			unsigned int slot = (unsigned int)cqe->user_data;

			if (cqe->res != (int)bytes) {
				fprintf(stderr, "I/O result %d\n", cqe->res);
				exit(1);
			}
			io_uring_cqe_seen(&ring, cqe);
			done++;
			if (posted < n) {
				blk_queue(&ring, fd, buf,
					  blk_offset(posted, &seed, cap, bytes, !write), write,
					  slot);
				posted++;
			}
		}
	}
	meter_print(&m, write ? "seqwrite_qd32" : "randread_qd32", n);
	io_uring_queue_exit(&ring);
}

static int run_blk(int argc, char **argv)
{
	bool direct = !strcmp(argv[3], "direct");
	uint64_t cnt[4] = {10000, 60000, 4000, 16000};
	struct stat st;
	uint8_t *buf;
	int fd;

	for (int i = 0; i < 4 && 4 + i < argc; i++)
		cnt[i] = strtoull(argv[4 + i], NULL, 10);
	fd = open(argv[2], O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0 || fstat(fd, &st))
		die(argv[2]);
	/* 2 MiB-aligned and MADV_HUGEPAGE: the backing both VMMs' guest RAM has in the bench. */
	if (posix_memalign((void **)&buf, 2u << 20, (size_t)DEPTH * WRITE_BYTES))
		die("posix_memalign");
	madvise(buf, (size_t)DEPTH * WRITE_BYTES, MADV_HUGEPAGE);
	memset(buf, 0x5a, (size_t)DEPTH * WRITE_BYTES);
	printf("host_floor blk %s %s\n", argv[2], direct ? "direct" : "buffered");
	blk_sync(fd, buf, (uint64_t)st.st_size, cnt[0], false);
	blk_deep(fd, buf, (uint64_t)st.st_size, cnt[1], false);
	blk_sync(fd, buf, (uint64_t)st.st_size, cnt[2], true);
	blk_deep(fd, buf, (uint64_t)st.st_size, cnt[3], true);
	close(fd);
	free(buf);
	return 0;
}

static int run_tap(char **argv)
{
	unsigned long bytes = strtoul(argv[3], NULL, 10);
	uint64_t n = strtoull(argv[4], NULL, 10);
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	uint8_t frame[12 + 1514] = {0};
	struct meter m;
	int fd;

	if (bytes < 60 || bytes > 1514 || !n) {
		fprintf(stderr, "host_floor tap: BYTES 60-1514, FRAMES > 0\n");
		return 2;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[2]);
	if (ioctl(fd, TUNSETIFF, &ifr))
		die("TUNSETIFF");
	memset(frame + 12, 0xff, 6);			       /* broadcast */
	memcpy(frame + 12 + 6, "\x02\x4b\x49\x4c\x4e\x02", 6); /* locally administered */
	frame[12 + 12] = 0x88; /* EtherType 0x88b5: local experimental */
	frame[12 + 13] = 0xb5;
	printf("host_floor tap %s %lu bytes\n", argv[2], bytes);
	meter_start(&m);
	for (uint64_t i = 0; i < n; i++)
		if (write(fd, frame, 12 + bytes) != (ssize_t)(12 + bytes))
			die("write");
	meter_print(&m, "tap_write", n);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "blk") &&
	    (!strcmp(argv[3], "direct") || !strcmp(argv[3], "buffered")))
		return run_blk(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "tap"))
		return run_tap(argv);
	fprintf(stderr, "usage: host_floor blk IMG direct|buffered [reads reads_deep writes "
			"writes_deep]\n       host_floor tap NAME BYTES FRAMES\n");
	return 2;
}
