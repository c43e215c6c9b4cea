/* SPDX-License-Identifier: MIT */
/*
 * ktest blk_rw, blk_ro, blk_big, rng: the well-behaved side of kiln's virtio
 * devices (docs/VIRTIO.md), driven by the polling driver in virtio.c.
 *
 * Disk areas written: sectors 8-39 (blk_rw), 2048-4095 (blk_big, needs a
 * disk of at least 2 MiB); blk_ro only reads. Data is vt_pattern() of the TSC,
 * or of ktest.blk_pattern_seed=S + k when given, so that a host can check its
 * file: blk_rw uses k = 0 (sectors 8-23 end up zero, 24-39 hold bytes
 * 8192-16383 of the pattern), blk_big k = 1, 2, 3 per round (2048-4095 end up
 * holding the k = 3 pattern).
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define RW_SECTOR    8
#define RW_SECTORS   32
#define RW_BYTES     (RW_SECTORS * VIO_SECTOR)
#define BIG_SECTOR   2048
#define BIG_BYTES    (1U << 20)
#define BIG_SECTORS  (BIG_BYTES / VIO_SECTOR)
#define BIG_SEGS     64
#define ZERO_SECTORS 8
#define RNG_BYTES    64

/* Shared with test_hostile.c through ktest.h. */
uint8_t vt_buf_a[BIG_BYTES] __attribute__((aligned(4096)));
uint8_t vt_buf_b[BIG_BYTES] __attribute__((aligned(4096)));

struct vio_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
static struct vio_dwz vt_dwz __attribute__((aligned(16)));

/* A pattern that differs per run (TSC seed) so stale disk data cannot pass. */
void vt_pattern(uint8_t *p, uint32_t n, uint64_t seed)
{
	uint64_t x = seed | 1;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if ((i & 7) == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		p[i] = (uint8_t)(x >> ((i & 7) * 8));
	}
}

/* ktest.blk_pattern_seed + @salt if given, else the TSC. */
static uint64_t vt_seed(const struct tg_boot *b, uint64_t salt)
{
	uint64_t seed;

	if (cmdline_get_u64(b->cmdline, "ktest.blk_pattern_seed=", &seed) == CMDLINE_NUM_OK)
		return seed + salt;
	return tg_rdtsc();
}

static bool vt_all(const uint8_t *p, uint32_t n, uint8_t c)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != c)
			return false;
	}
	return true;
}

/* The index among blk devices given by ktest.blk_ro_index=, else the first offering RO. */
struct vio_dev *vt_blk_ro_dev(const struct tg_boot *b)
{
	uint64_t idx;
	unsigned int i;
	struct vio_dev *d;

	vio_discover(b);
	if (cmdline_get_u64(b->cmdline, "ktest.blk_ro_index=", &idx) == CMDLINE_NUM_OK)
		return idx < VIO_MAX_DEVS ? vio_find(VIO_ID_BLOCK, (unsigned int)idx) : NULL;
	for (i = 0; (d = vio_find(VIO_ID_BLOCK, i)) != NULL; i++) {
		if (d->dev_features & VIO_BLK_F_RO)
			return d;
	}
	return NULL;
}

/* The first blk device that is neither offering RO nor the blk_ro_index one. */
struct vio_dev *vt_blk_rw_dev(const struct tg_boot *b)
{
	struct vio_dev *ro = vt_blk_ro_dev(b), *d;
	unsigned int i;

	for (i = 0; (d = vio_find(VIO_ID_BLOCK, i)) != NULL; i++) {
		if (d != ro && !(d->dev_features & VIO_BLK_F_RO))
			return d;
	}
	return NULL;
}

bool vt_have_blk_rw(const struct tg_boot *b)
{
	return vt_blk_rw_dev(b) != NULL;
}

bool vt_have_blk_ro(const struct tg_boot *b)
{
	return vt_blk_ro_dev(b) != NULL;
}

bool vt_have_rng(const struct tg_boot *b)
{
	vio_discover(b);
	return vio_find(VIO_ID_RNG, 0) != NULL;
}

/* One request that must complete with @want_status and @want_len; false + reason if not. */
bool vt_blk_expect(struct vio_dev *d, const char *what, uint32_t type, uint64_t sector, void *data,
		   uint32_t bytes, unsigned int nseg, bool indirect, uint8_t want_status,
		   uint32_t want_len, struct ktest_verdict *v)
{
	struct tg_str why = {.len = 0};
	uint8_t st;
	uint32_t len = 0;
	struct tg_str *r;

	if (!vio_blk(d, type, sector, data, bytes, nseg, indirect, &st, &len, &why)) {
		r = ktest_fail(v, what);
		tg_str_add(r, ": ");
		tg_str_add(r, why.buf);
		return false;
	}
	if (st != want_status || len != want_len) {
		r = ktest_fail(v, what);
		tg_str_add(r, " status ");
		tg_str_add_dec(r, st);
		tg_str_add(r, " len ");
		tg_str_add_dec(r, len);
		tg_str_add(r, " want ");
		tg_str_add_dec(r, want_status);
		tg_str_add(r, "/");
		tg_str_add_dec(r, want_len);
		return false;
	}
	return true;
}

static struct vio_dev *vt_open(struct vio_dev *d, const char *type, uint64_t want,
			       struct ktest_verdict *v)
{
	struct tg_str why = {.len = 0};

	if (!d) {
		tg_str_add(ktest_fail(v, "no "), type);
		tg_str_add(&v->reason, " device");
		return NULL;
	}
	if (!vio_init(d, want, &why)) {
		tg_str_add(ktest_fail(v, "init: "), why.buf);
		return NULL;
	}
	return d;
}

static void vt_blk_info(const char *test, const struct vio_dev *d, uint64_t cap)
{
	ktest_info(test);
	con_puts("dev=");
	con_dec(d->n);
	con_puts(" base=");
	con_hex(d->base);
	con_puts(" capacity=");
	con_dec(cap);
	con_puts(" features=");
	con_hex(d->dev_features);
	con_puts(" negotiated=");
	con_hex(d->features);
	con_puts(" qsize=");
	con_dec(d->qsize);
	con_puts(" seg_max=");
	con_dec(d->features & VIO_BLK_F_SEG_MAX ? vio_config32(d, VIO_BLK_CFG_SEG_MAX) : 0);
	con_puts("\n");
}

/* DISCARD or WRITE_ZEROES of ZERO_SECTORS at @sector, then read back zeros. */
static void vt_zero_range(struct vio_dev *d, uint32_t type, const char *what, uint64_t sector,
			  struct ktest_verdict *v)
{
	vt_dwz = (struct vio_dwz){.sector = sector, .num_sectors = ZERO_SECTORS};
	if (!vt_blk_expect(d, what, type, 0, &vt_dwz, sizeof(vt_dwz), 1, false, VIO_BLK_S_OK, 1, v))
		return;
	memset(vt_buf_b, 0xa5, ZERO_SECTORS * VIO_SECTOR);
	if (!vt_blk_expect(d, "read after zeroing", VIO_BLK_T_IN, sector, vt_buf_b,
			   ZERO_SECTORS * VIO_SECTOR, 1, false, VIO_BLK_S_OK,
			   ZERO_SECTORS * VIO_SECTOR + 1, v))
		return;
	if (!vt_all(vt_buf_b, ZERO_SECTORS * VIO_SECTOR, 0))
		tg_str_add(ktest_fail(v, "not zero after "), what);
}

void ktest_blk_rw(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d = vt_open(vt_blk_rw_dev(b), "writable blk", VIO_BLK_WANT, v);
	static uint8_t id[VIO_BLK_ID_BYTES + 4];
	const char *want_id;
	size_t want_len;
	uint64_t cap;

	if (!d)
		return;
	cap = vio_config64(d, VIO_BLK_CFG_CAPACITY);
	vt_blk_info("blk_rw", d, cap);
	ktest_info("blk");
	con_puts("capacity=");
	con_dec(cap);
	con_puts(" features=");
	con_hex(d->dev_features);
	con_puts("\n");
	if (cap < RW_SECTOR + RW_SECTORS) {
		ktest_fail(v, "disk too small");
		return;
	}

	vt_pattern(vt_buf_a, RW_BYTES, vt_seed(b, 0));
	if (!vt_blk_expect(d, "write", VIO_BLK_T_OUT, RW_SECTOR, vt_buf_a, RW_BYTES, 4, false,
			   VIO_BLK_S_OK, 1, v))
		return;
	memset(vt_buf_b, 0x5a, RW_BYTES);
	if (!vt_blk_expect(d, "read", VIO_BLK_T_IN, RW_SECTOR, vt_buf_b, RW_BYTES, 3, false,
			   VIO_BLK_S_OK, RW_BYTES + 1, v))
		return;
	if (memcmp(vt_buf_a, vt_buf_b, RW_BYTES) != 0)
		ktest_fail(v, "read back differs");

	if (d->features & VIO_BLK_F_FLUSH)
		vt_blk_expect(d, "flush", VIO_BLK_T_FLUSH, 0, NULL, 0, 0, false, VIO_BLK_S_OK, 1,
			      v);

	memset(id, 0xee, sizeof(id));
	if (vt_blk_expect(d, "get_id", VIO_BLK_T_GET_ID, 0, id, VIO_BLK_ID_BYTES, 1, false,
			  VIO_BLK_S_OK, VIO_BLK_ID_BYTES + 1, v)) {
		size_t n = 0;

		while (n < VIO_BLK_ID_BYTES && id[n])
			n++;
		ktest_info("blk_rw");
		con_puts("id=");
		con_write_printable((const char *)id, n);
		/* §5.2.6: NUL-terminated unless 20 bytes long; VIRTIO.md: NUL-padded. */
		con_puts(n < VIO_BLK_ID_BYTES && vt_all(id + n, VIO_BLK_ID_BYTES - (uint32_t)n, 0)
			     ? " padded=1\n"
			     : " padded=0\n");
		if (id[VIO_BLK_ID_BYTES] != 0xee)
			ktest_fail(v, "get_id wrote past 20 bytes");
		if (cmdline_get(b->cmdline, "ktest.blk_id=", &want_id, &want_len) &&
		    (want_len > VIO_BLK_ID_BYTES || n != want_len ||
		     memcmp(id, want_id, want_len) != 0))
			ktest_fail(v, "id differs from ktest.blk_id");
	}

	if (d->features & VIO_BLK_F_DISCARD)
		vt_zero_range(d, VIO_BLK_T_DISCARD, "discard", RW_SECTOR, v);
	else
		con_puts("KTEST-INFO blk_rw discard not offered\n");
	if (d->features & VIO_BLK_F_WRITE_ZEROES)
		vt_zero_range(d, VIO_BLK_T_WRITE_ZEROES, "write_zeroes", RW_SECTOR + ZERO_SECTORS,
			      v);
	else
		con_puts("KTEST-INFO blk_rw write_zeroes not offered\n");
	/* The rest of the area is untouched. */
	if (!v->failed &&
	    vt_blk_expect(d, "read rest", VIO_BLK_T_IN, RW_SECTOR + 2 * ZERO_SECTORS, vt_buf_b,
			  RW_BYTES - 2 * ZERO_SECTORS * VIO_SECTOR, 2, false, VIO_BLK_S_OK,
			  RW_BYTES - 2 * ZERO_SECTORS * VIO_SECTOR + 1, v) &&
	    memcmp(vt_buf_a + 2 * ZERO_SECTORS * VIO_SECTOR, vt_buf_b,
		   RW_BYTES - 2 * ZERO_SECTORS * VIO_SECTOR) != 0)
		ktest_fail(v, "zeroing touched other sectors");
}

void ktest_blk_ro(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d = vt_open(vt_blk_ro_dev(b), "read-only blk", VIO_BLK_WANT, v);
	uint64_t cap;

	if (!d)
		return;
	cap = vio_config64(d, VIO_BLK_CFG_CAPACITY);
	vt_blk_info("blk_ro", d, cap);
	if (!(d->dev_features & VIO_BLK_F_RO))
		ktest_fail(v, "RO not offered");
	if (cap < 1) {
		ktest_fail(v, "disk too small");
		return;
	}
	memset(vt_buf_a, 0x11, VIO_SECTOR);
	if (!vt_blk_expect(d, "read", VIO_BLK_T_IN, 0, vt_buf_a, VIO_SECTOR, 1, false, VIO_BLK_S_OK,
			   VIO_SECTOR + 1, v))
		return;
	memcpy(vt_buf_b, vt_buf_a, VIO_SECTOR);
	for (uint32_t i = 0; i < VIO_SECTOR; i++)
		vt_buf_b[i] ^= 0xff;
	vt_blk_expect(d, "write", VIO_BLK_T_OUT, 0, vt_buf_b, VIO_SECTOR, 1, false, VIO_BLK_S_IOERR,
		      1, v);
	if (d->dev_features & VIO_BLK_F_DISCARD) {
		vt_dwz = (struct vio_dwz){.sector = 0, .num_sectors = 1};
		vt_blk_expect(d, "discard", VIO_BLK_T_DISCARD, 0, &vt_dwz, sizeof(vt_dwz), 1, false,
			      VIO_BLK_S_IOERR, 1, v);
	}
	if (d->dev_features & VIO_BLK_F_WRITE_ZEROES) {
		vt_dwz = (struct vio_dwz){.sector = 0, .num_sectors = 1};
		vt_blk_expect(d, "write_zeroes", VIO_BLK_T_WRITE_ZEROES, 0, &vt_dwz, sizeof(vt_dwz),
			      1, false, VIO_BLK_S_IOERR, 1, v);
	}
	memset(vt_buf_b, 0x22, VIO_SECTOR);
	if (vt_blk_expect(d, "read again", VIO_BLK_T_IN, 0, vt_buf_b, VIO_SECTOR, 1, false,
			  VIO_BLK_S_OK, VIO_SECTOR + 1, v) &&
	    memcmp(vt_buf_a, vt_buf_b, VIO_SECTOR) != 0)
		ktest_fail(v, "sector 0 changed");
}

/* Write @wsegs, read back with @rsegs, compare. */
static void vt_big_round(struct vio_dev *d, uint64_t seed, const char *what, unsigned int wsegs,
			 bool wind, unsigned int rsegs, bool rind, struct ktest_verdict *v)
{
	uint64_t t0, t1, t2;

	vt_pattern(vt_buf_a, BIG_BYTES, seed);
	memset(vt_buf_b, 0, BIG_BYTES);
	t0 = tg_rdtsc();
	if (!vt_blk_expect(d, what, VIO_BLK_T_OUT, BIG_SECTOR, vt_buf_a, BIG_BYTES, wsegs, wind,
			   VIO_BLK_S_OK, 1, v))
		return;
	t1 = tg_rdtsc();
	if (!vt_blk_expect(d, what, VIO_BLK_T_IN, BIG_SECTOR, vt_buf_b, BIG_BYTES, rsegs, rind,
			   VIO_BLK_S_OK, BIG_BYTES + 1, v))
		return;
	t2 = tg_rdtsc();
	if (memcmp(vt_buf_a, vt_buf_b, BIG_BYTES) != 0)
		tg_str_add(ktest_fail(v, "data differs: "), what);
	ktest_info("blk_big");
	con_puts(what);
	con_puts(" write_segs=");
	con_dec(wsegs);
	con_puts(wind ? " indirect" : " direct");
	con_puts(" read_segs=");
	con_dec(rsegs);
	con_puts(rind ? " indirect" : " direct");
	con_puts(" write_tsc=");
	con_dec(t1 - t0);
	con_puts(" read_tsc=");
	con_dec(t2 - t1);
	con_puts("\n");
}

void ktest_blk_big(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d = vt_open(vt_blk_rw_dev(b), "writable blk", VIO_BLK_WANT, v);
	uint64_t cap;
	uint32_t seg_max = 0;
	unsigned int many;

	if (!d)
		return;
	cap = vio_config64(d, VIO_BLK_CFG_CAPACITY);
	if (d->features & VIO_BLK_F_SEG_MAX)
		seg_max = vio_config32(d, VIO_BLK_CFG_SEG_MAX);
	vt_blk_info("blk_big", d, cap);
	if (cap < BIG_SECTOR + BIG_SECTORS) {
		ktest_fail(v, "disk smaller than 2 MiB");
		return;
	}
	/* Direct: 64 data segments + header + status fit a queue of 128 or more. */
	if (d->qsize >= BIG_SEGS + 2)
		vt_big_round(d, vt_seed(b, 1), "direct", BIG_SEGS, false, BIG_SEGS, false, v);
	else
		ktest_fail(v, "queue too small for 64 direct segments");
	if (!(d->features & VIO_F_INDIRECT_DESC)) {
		ktest_fail(v, "INDIRECT_DESC not offered");
		return;
	}
	/* Indirect: 64 segments out, as many as seg_max allows (odd sizes) back. */
	many = seg_max ? seg_max : 126;
	if (many > 126)
		many = 126;
	if (many + 2 > d->qsize)
		many = d->qsize - 2;
	vt_big_round(d, vt_seed(b, 2), "indirect", BIG_SEGS, true, many, true, v);
	/* Mixed: direct single segment out, indirect 8 back. */
	vt_big_round(d, vt_seed(b, 3), "single", 1, false, 8, true, v);
}

void ktest_rng(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d;
	struct vio_buf buf;
	struct tg_str why = {.len = 0};
	uint32_t len1 = 0, len2 = 0;

	vio_discover(b);
	d = vt_open(vio_find(VIO_ID_RNG, 0), "rng", VIO_RNG_WANT, v);
	if (!d)
		return;
	memset(vt_buf_a, 0, RNG_BYTES);
	memset(vt_buf_b, 0, RNG_BYTES);
	buf = (struct vio_buf){(uintptr_t)vt_buf_a, RNG_BYTES, VIO_DESC_WRITE};
	if (!vio_xfer(d, &buf, 1, false, &len1, &why)) {
		tg_str_add(ktest_fail(v, "first: "), why.buf);
		return;
	}
	buf.addr = (uintptr_t)vt_buf_b;
	if (!vio_xfer(d, &buf, 1, d->features & VIO_F_INDIRECT_DESC, &len2, &why)) {
		tg_str_add(ktest_fail(v, "second: "), why.buf);
		return;
	}
	ktest_info("rng");
	con_puts("dev=");
	con_dec(d->n);
	con_puts(" features=");
	con_hex(d->dev_features);
	con_puts(" len1=");
	con_dec(len1);
	con_puts(" len2=");
	con_dec(len2);
	con_puts(" first8=");
	con_hex(tg_le64(vt_buf_a));
	con_puts("\n");
	if (len1 != RNG_BYTES || len2 != RNG_BYTES)
		ktest_fail(v, "used len not 64");
	if (vt_all(vt_buf_a, RNG_BYTES, 0) || vt_all(vt_buf_b, RNG_BYTES, 0))
		ktest_fail(v, "all zero");
	if (memcmp(vt_buf_a, vt_buf_b, RNG_BYTES) == 0)
		ktest_fail(v, "both requests returned the same bytes");
}
