/* SPDX-License-Identifier: MIT */
/* virtio-blk request parser: one test per error value, and every good request type. */
#include "unit.h"

#include "devices/virtio/blk_req.h"

#define CAP_SECTORS 2048u

/* A chain whose segments point into a local buffer, as the walker would hand it over. */
struct tchain {
	struct vq_chain c;
	uint8_t mem[64 * 1024];
	size_t used;
};

static struct tchain *tc_new(void)
{
	struct tchain *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	return t;
}

static uint8_t *tc_add(struct tchain *t, uint32_t len, bool writable)
{
	struct vq_seg *s;

	assert_true(t->c.nsegs < VQ_MAX_SEGS);
	assert_true(t->used + len <= sizeof(t->mem));
	s = &t->c.segs[t->c.nsegs++];
	s->host = t->mem + t->used;
	s->len = len;
	s->writable = writable;
	t->used += len;
	if (writable)
		t->c.writable_bytes += len;
	else
		t->c.readable_bytes += len;
	return s->host;
}

static void tc_hdr(struct tchain *t, uint32_t type, uint64_t sector)
{
	uint8_t *h = tc_add(t, 16, false);

	unit_st32(h, type);
	unit_st32(h + 4, 0);
	unit_st64(h + 8, sector);
}

static uint8_t *tc_status(struct tchain *t)
{
	uint8_t *s = tc_add(t, 1, true);

	*s = 0xff;
	return s;
}

static void tc_range(uint8_t *p, uint64_t sector, uint32_t n, uint32_t flags)
{
	unit_st64(p, sector);
	unit_st32(p + 8, n);
	unit_st32(p + 12, flags);
}

static const struct blk_limits rw_lim = {CAP_SECTORS, BLK_SEG_MAX, false};
static const struct blk_limits ro_lim = {CAP_SECTORS, BLK_SEG_MAX, true};

static enum blk_req_err parse(struct tchain *t, const struct blk_limits *lim, struct blk_req *r)
{
	return blk_req_parse(&t->c, lim, r);
}

/* ---- good requests ---- */

static void test_blk_req_parses_read_into_writable_segments(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *d0, *d1, *st;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 7);
	d0 = tc_add(t, 512, true);
	d1 = tc_add(t, 1024, true);
	st = tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 7);
	assert_int_equal(r.niov, 2);
	assert_ptr_equal(r.iov[0].iov_base, d0);
	assert_ptr_equal(r.iov[1].iov_base, d1);
	assert_int_equal(r.data_len, 1536);
	assert_ptr_equal(r.status, st);
	free(t);
}

static void test_blk_req_parses_write_from_readable_segments(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_OUT, CAP_SECTORS - 1);
	tc_add(t, 512, false);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(r.sector, CAP_SECTORS - 1);
	assert_int_equal(r.data_len, 512);
	free(t);
}

static void test_blk_req_frames_by_bytes_not_descriptors(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *h, *tail;

	(void)state;
	/* Header split 10 + 6, the write data following in the second buffer. */
	h = tc_add(t, 10, false);
	tail = tc_add(t, 6 + 512, false);
	unit_st32(h, VIRTIO_BLK_T_OUT);
	memset(h + 4, 0, 6);
	memset(tail, 0, 6);
	h[8] = 3;
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.sector, 3);
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, tail + 6);
	assert_int_equal(r.data_len, 512);
	free(t);
}

static void test_blk_req_status_may_end_a_data_buffer(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *d;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	d = tc_add(t, 513, true);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.data_len, 512);
	assert_ptr_equal(r.status, d + 512);
	free(t);
}

static void test_blk_req_parses_flush_and_ignores_sector(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_FLUSH, UINT64_MAX);
	tc_status(t);
	assert_int_equal(parse(t, &ro_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_FLUSH);
	assert_int_equal(r.sector, 0);
	assert_int_equal(r.niov, 0);
	free(t);
}

static void test_blk_req_parses_get_id(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_GET_ID, 0);
	tc_add(t, BLK_ID_BYTES, true);
	tc_status(t);
	assert_int_equal(parse(t, &ro_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_GET_ID);
	assert_int_equal(r.data_len, BLK_ID_BYTES);
	free(t);
}

static void test_blk_req_parses_discard_ranges_by_copy(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *l;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	l = tc_add(t, 32, false);
	tc_range(l, 8, 16, 0);
	tc_range(l + 16, CAP_SECTORS - 1, 1, 0);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.nranges, 2);
	assert_int_equal(r.niov, 0);
	/* The guest rewriting its list after the parse changes nothing. */
	memset(l, 0xff, 32);
	assert_int_equal(r.ranges[0].sector, 8);
	assert_int_equal(r.ranges[0].num_sectors, 16);
	assert_int_equal(r.ranges[1].sector, CAP_SECTORS - 1);
	free(t);
}

static void test_blk_req_parses_write_zeroes_with_unmap_split_list(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t raw[16];
	uint8_t *a, *b;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	tc_range(raw, 100, 50, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	a = tc_add(t, 5, false);
	b = tc_add(t, 11, false);
	memcpy(a, raw, 5);
	memcpy(b, raw + 5, 11);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_OK);
	assert_int_equal(r.nranges, 1);
	assert_int_equal(r.ranges[0].sector, 100);
	assert_int_equal(r.ranges[0].num_sectors, 50);
	assert_int_equal(r.ranges[0].flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	free(t);
}

/* ---- one test per error value ---- */

static void test_blk_req_rejects_header_too_short(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_add(t, 8, false);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_HDR);
	assert_true(blk_req_err_needs_reset(BLK_REQ_ERR_HDR));
	free(t);
}

static void test_blk_req_rejects_writable_header(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_add(t, 16, true);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_HDR);
	free(t);
}

static void test_blk_req_rejects_chain_without_status(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	tc_add(t, 512, true);
	tc_add(t, 1, false);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_NO_STATUS);
	assert_null(r.status);
	assert_true(blk_req_err_needs_reset(BLK_REQ_ERR_NO_STATUS));
	free(t);

	t = tc_new(); /* empty chain */
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_NO_STATUS);
	free(t);

	t = tc_new(); /* a count beyond the segment array is never trusted */
	t->c.nsegs = VQ_MAX_SEGS + 1;
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_NO_STATUS);
	free(t);
}

static void test_blk_req_unknown_type_is_unsupp(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *st;

	(void)state;
	tc_hdr(t, 10 /* GET_LIFETIME: not offered */, 0);
	st = tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_UNSUPP_TYPE);
	assert_ptr_equal(r.status, st);
	assert_int_equal(blk_req_err_status(BLK_REQ_ERR_UNSUPP_TYPE), VIRTIO_BLK_S_UNSUPP);
	assert_false(blk_req_err_needs_reset(BLK_REQ_ERR_UNSUPP_TYPE));
	free(t);
}

static void test_blk_req_rejects_data_not_sector_multiple(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	tc_add(t, 100, true);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DATA_ALIGN);
	assert_int_equal(blk_req_err_status(BLK_REQ_ERR_DATA_ALIGN), VIRTIO_BLK_S_IOERR);
	free(t);
}

static void test_blk_req_rejects_range_beyond_capacity(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, CAP_SECTORS - 1);
	tc_add(t, 1024, true);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_RANGE);
	free(t);
}

static void test_blk_req_rejects_sector_overflow(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_OUT, UINT64_MAX);
	tc_add(t, 512, false);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_RANGE);
	free(t);
}

static void test_blk_req_rejects_more_segments_than_seg_max(void **state)
{
	const struct blk_limits lim = {CAP_SECTORS, 2, false};
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	tc_add(t, 512, true);
	tc_add(t, 512, true);
	tc_status(t);
	assert_int_equal(parse(t, &lim, &r), BLK_REQ_OK);
	free(t);

	t = tc_new();
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	for (int i = 0; i < 3; i++)
		tc_add(t, 512, true);
	tc_status(t);
	assert_int_equal(parse(t, &lim, &r), BLK_REQ_ERR_TOO_MANY_SEGS);
	free(t);
}

static void test_blk_req_rejects_read_into_readable_buffer(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_IN, 0);
	tc_add(t, 512, false);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DIRECTION);
	free(t);
}

static void test_blk_req_rejects_write_from_writable_buffer(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_OUT, 0);
	tc_add(t, 512, true);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DIRECTION);
	free(t);
}

static void test_blk_req_rejects_writes_on_read_only(void **state)
{
	static const uint32_t types[] = {VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD,
					 VIRTIO_BLK_T_WRITE_ZEROES};
	struct blk_req r;

	(void)state;
	for (unsigned int i = 0; i < 3; i++) {
		struct tchain *t = tc_new();

		tc_hdr(t, types[i], 0);
		tc_range(tc_add(t, 16, false), 0, 1, 0);
		tc_status(t);
		assert_int_equal(parse(t, &ro_lim, &r), BLK_REQ_ERR_READ_ONLY);
		assert_int_equal(blk_req_err_status(BLK_REQ_ERR_READ_ONLY), VIRTIO_BLK_S_IOERR);
		free(t);
	}
}

static void test_blk_req_rejects_short_get_id_buffer(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_GET_ID, 0);
	tc_add(t, BLK_ID_BYTES - 1, true);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_ID_SHORT);
	free(t);
}

static void test_blk_req_rejects_malformed_range_list(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_LEN); /* empty */
	free(t);

	t = tc_new();
	tc_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	tc_add(t, 20, false);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_LEN);
	free(t);
}

static void test_blk_req_rejects_too_many_ranges(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *l;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	l = tc_add(t, (BLK_MAX_DWZ_SEGS + 1) * BLK_DWZ_SEG_BYTES, false);
	for (unsigned int i = 0; i <= BLK_MAX_DWZ_SEGS; i++)
		tc_range(l + i * BLK_DWZ_SEG_BYTES, i, 1, 0);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_COUNT);
	free(t);
}

static void test_blk_req_rejects_range_too_long(void **state)
{
	const struct blk_limits big = {UINT64_MAX, BLK_SEG_MAX, false};
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	tc_range(tc_add(t, 16, false), 0, BLK_MAX_DWZ_SECTORS + 1, 0);
	tc_status(t);
	assert_int_equal(parse(t, &big, &r), BLK_REQ_ERR_DWZ_SECTORS);
	free(t);
}

static void test_blk_req_rejects_range_list_beyond_capacity(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;
	uint8_t *l;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	l = tc_add(t, 32, false);
	tc_range(l, 0, 1, 0);
	tc_range(l + 16, UINT64_MAX, 2, 0); /* wraps */
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_RANGE);
	free(t);

	t = tc_new();
	tc_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	tc_range(tc_add(t, 16, false), CAP_SECTORS, 1, 0);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_RANGE);
	free(t);
}

static void test_blk_req_rejects_unknown_range_flags(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	tc_range(tc_add(t, 16, false), 0, 1, 2);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DWZ_FLAGS);
	assert_int_equal(blk_req_err_status(BLK_REQ_ERR_DWZ_FLAGS), VIRTIO_BLK_S_IOERR);
	free(t);
}

static void test_blk_req_discard_with_unmap_is_unsupp(void **state)
{
	struct tchain *t = tc_new();
	struct blk_req r;

	(void)state;
	tc_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	tc_range(tc_add(t, 16, false), 0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	tc_status(t);
	assert_int_equal(parse(t, &rw_lim, &r), BLK_REQ_ERR_DISCARD_UNMAP);
	assert_int_equal(blk_req_err_status(BLK_REQ_ERR_DISCARD_UNMAP), VIRTIO_BLK_S_UNSUPP);
	free(t);
}

static void test_blk_req_every_error_has_a_name(void **state)
{
	(void)state;
	for (int e = 0; e < BLK_REQ_ERR_COUNT; e++)
		assert_non_null(blk_req_err_str((enum blk_req_err)e));
	assert_string_equal(blk_req_err_str(BLK_REQ_ERR_COUNT), "unknown error");
	assert_int_equal(blk_req_err_status(BLK_REQ_OK), VIRTIO_BLK_S_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blk_req_parses_read_into_writable_segments),
	    cmocka_unit_test(test_blk_req_parses_write_from_readable_segments),
	    cmocka_unit_test(test_blk_req_frames_by_bytes_not_descriptors),
	    cmocka_unit_test(test_blk_req_status_may_end_a_data_buffer),
	    cmocka_unit_test(test_blk_req_parses_flush_and_ignores_sector),
	    cmocka_unit_test(test_blk_req_parses_get_id),
	    cmocka_unit_test(test_blk_req_parses_discard_ranges_by_copy),
	    cmocka_unit_test(test_blk_req_parses_write_zeroes_with_unmap_split_list),
	    cmocka_unit_test(test_blk_req_rejects_header_too_short),
	    cmocka_unit_test(test_blk_req_rejects_writable_header),
	    cmocka_unit_test(test_blk_req_rejects_chain_without_status),
	    cmocka_unit_test(test_blk_req_unknown_type_is_unsupp),
	    cmocka_unit_test(test_blk_req_rejects_data_not_sector_multiple),
	    cmocka_unit_test(test_blk_req_rejects_range_beyond_capacity),
	    cmocka_unit_test(test_blk_req_rejects_sector_overflow),
	    cmocka_unit_test(test_blk_req_rejects_more_segments_than_seg_max),
	    cmocka_unit_test(test_blk_req_rejects_read_into_readable_buffer),
	    cmocka_unit_test(test_blk_req_rejects_write_from_writable_buffer),
	    cmocka_unit_test(test_blk_req_rejects_writes_on_read_only),
	    cmocka_unit_test(test_blk_req_rejects_short_get_id_buffer),
	    cmocka_unit_test(test_blk_req_rejects_malformed_range_list),
	    cmocka_unit_test(test_blk_req_rejects_too_many_ranges),
	    cmocka_unit_test(test_blk_req_rejects_range_too_long),
	    cmocka_unit_test(test_blk_req_rejects_range_list_beyond_capacity),
	    cmocka_unit_test(test_blk_req_rejects_unknown_range_flags),
	    cmocka_unit_test(test_blk_req_discard_with_unmap_is_unsupp),
	    cmocka_unit_test(test_blk_req_every_error_has_a_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
