/* SPDX-License-Identifier: MIT */
/*
 * ktest integrity: write numbered 4 KiB blocks and FLUSH them, so that a host
 * that kills the VMM at a random moment can check that everything a completed
 * FLUSH covered is on the backing file (tests/integration/test_integrity.py).
 *
 * Block n (n = 0, 1, ...) goes to sector n * 8, one OUT request each, written
 * one at a time in order. After every ktest.integ_every=K writes (default 8)
 * the guest sends FLUSH and, once it completed with OK, prints
 *
 *     KTEST-INFO flushed <n>      n = highest block number that FLUSH covered
 *
 * Block layout (little endian): 0 magic "KILNBLK1", 8 seed, 16 n, 24 CRC-32
 * (zlib's) of the whole 4096 bytes with this field zeroed, 28 zero, 32.. a
 * pattern of (seed, n). Knobs: ktest.integ_blocks=N (default 2048),
 * ktest.integ_seed=S (default: the TSC), ktest.integ_lie=1 makes a
 * deliberately broken guest, the harness's proof that it can see a lost
 * block: before writing each batch it prints a "flushed" line naming the end
 * of the *next* batch. (Announcing only the batch itself is not enough: most
 * of a batch's time is the FLUSH, i.e. the host's fdatasync(), so a kill
 * nearly always lands when the batch's writes are already done.)
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"
#include "virtio.h"

#define IG_BLOCK	  4096
#define IG_SECTORS	  (IG_BLOCK / VIO_SECTOR)
#define IG_MAGIC	  0x314b4c424e4c494bULL /* "KILNBLK1" */
#define IG_HDR_BYTES	  32
#define IG_DEFAULT_BLOCKS 2048
#define IG_DEFAULT_EVERY  8
#define IG_MAX_EVERY	  4096

static uint32_t ig_crc_table[256];
static uint8_t ig_block[IG_BLOCK] __attribute__((aligned(IG_BLOCK)));

static void ig_crc_init(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
		ig_crc_table[i] = c;
	}
}

/* zlib's crc32() of @n bytes. */
static uint32_t ig_crc32(const uint8_t *p, uint32_t n)
{
	uint32_t c = 0xffffffffU, i;

	for (i = 0; i < n; i++)
		c = ig_crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

static void ig_put64(uint8_t *p, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ig_make_block(uint64_t seed, uint64_t n)
{
	uint32_t crc;

	memset(ig_block, 0, IG_HDR_BYTES);
	ig_put64(ig_block, IG_MAGIC);
	ig_put64(ig_block + 8, seed);
	ig_put64(ig_block + 16, n);
	vt_pattern(ig_block + IG_HDR_BYTES, IG_BLOCK - IG_HDR_BYTES,
		   seed ^ ((n + 1) * 0x9e3779b97f4a7c15ULL));
	crc = ig_crc32(ig_block, IG_BLOCK);
	ig_block[24] = (uint8_t)crc;
	ig_block[25] = (uint8_t)(crc >> 8);
	ig_block[26] = (uint8_t)(crc >> 16);
	ig_block[27] = (uint8_t)(crc >> 24);
}

static uint64_t ig_knob(const struct tg_boot *b, const char *key, uint64_t def,
			struct ktest_verdict *v)
{
	uint64_t x;

	switch (cmdline_get_u64(b->cmdline, key, &x)) {
	case CMDLINE_NUM_OK:
		return x;
	case CMDLINE_NUM_ABSENT:
		return def;
	default:
		tg_str_add(ktest_fail(v, "bad "), key);
		return def;
	}
}

static void ig_flushed(uint64_t n)
{
	con_puts("KTEST-INFO flushed ");
	con_dec(n);
	con_puts("\n");
	/* The harness must see the mark as soon as it is true, not a burst later. */
	con_flush();
}

void ktest_integrity(const struct tg_boot *b, struct ktest_verdict *v)
{
	struct vio_dev *d = vt_blk_rw_dev(b);
	struct tg_str why = {.len = 0};
	uint64_t blocks, every, seed, lie, cap, n, flushes = 0;

	blocks = ig_knob(b, "ktest.integ_blocks=", IG_DEFAULT_BLOCKS, v);
	every = ig_knob(b, "ktest.integ_every=", IG_DEFAULT_EVERY, v);
	seed = ig_knob(b, "ktest.integ_seed=", tg_rdtsc(), v);
	lie = ig_knob(b, "ktest.integ_lie=", 0, v);
	if (v->failed)
		return;
	if (every == 0 || every > IG_MAX_EVERY) {
		ktest_fail(v, "ktest.integ_every out of range");
		return;
	}
	if (!d) {
		ktest_fail(v, "no writable blk device");
		return;
	}
	if (!vio_init(d, VIO_BLK_WANT, &why)) {
		tg_str_add(ktest_fail(v, "init: "), why.buf);
		return;
	}
	if (!(d->features & VIO_BLK_F_FLUSH)) {
		ktest_fail(v, "FLUSH not offered");
		return;
	}
	cap = vio_config64(d, VIO_BLK_CFG_CAPACITY);
	if (blocks > cap / IG_SECTORS) {
		ktest_fail(v, "disk smaller than ktest.integ_blocks");
		return;
	}
	ig_crc_init();
	ktest_info("integrity");
	con_puts("seed=");
	con_dec(seed);
	con_puts(" blocks=");
	con_dec(blocks);
	con_puts(" every=");
	con_dec(every);
	con_puts(lie ? " lie=1\n" : " lie=0\n");
	con_flush();

	for (n = 0; n < blocks; n++) {
		/* The broken variant announces a batch before any of it is written. */
		if (lie && n % every == 0)
			ig_flushed(n + 2 * every - 1 < blocks ? n + 2 * every - 1 : blocks - 1);
		ig_make_block(seed, n);
		if (!vt_blk_expect(d, "write", VIO_BLK_T_OUT, n * IG_SECTORS, ig_block, IG_BLOCK, 1,
				   false, VIO_BLK_S_OK, 1, v))
			return;
		if ((n + 1) % every != 0 && n + 1 != blocks)
			continue;
		if (!vt_blk_expect(d, "flush", VIO_BLK_T_FLUSH, 0, NULL, 0, 0, false, VIO_BLK_S_OK,
				   1, v))
			return;
		flushes++;
		if (!lie)
			ig_flushed(n);
	}
	ktest_info("integrity");
	con_puts("wrote=");
	con_dec(blocks);
	con_puts(" flushes=");
	con_dec(flushes);
	con_puts("\n");
}
