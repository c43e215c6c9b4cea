/* SPDX-License-Identifier: MIT */
/* bzImage loader: a synthetic image built here, and each setup-header defect. */
#include "unit.h"
#include "vmm/boot/boot.h"

#define SETUP_SECTS  1
#define PAYLOAD_OFF  ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_LEN  0x1000
#define BZ_LEN	     (PAYLOAD_OFF + PAYLOAD_LEN)
#define HDR_END	     0x268 /* protocol 2.15 header: kernel_info_offset is last */
#define PREF_ADDRESS 0x1000000ULL
#define INIT_SIZE    0x100000U
#define KERNEL_ALIGN 0x200000U

struct bz {
	uint8_t b[BZ_LEN + 0x1000];
	size_t len;
};

static void make_bz(struct bz *z)
{
	uint8_t *b = z->b;

	memset(z, 0, sizeof(*z));
	b[0x1f1] = SETUP_SECTS;
	unit_st32(b + 0x1f4, PAYLOAD_LEN / 16); /* syssize */
	unit_st16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb; /* jmp short over the header */
	b[0x201] = HDR_END - 0x202;
	memcpy(b + 0x202, "HdrS", 4);
	unit_st16(b + 0x206, 0x020f);
	b[0x211] = 0x01; /* LOADED_HIGH */
	unit_st32(b + 0x214, 0x100000);
	unit_st32(b + 0x22c, 0x7fffffff);
	unit_st32(b + 0x230, KERNEL_ALIGN);
	b[0x234] = 1;		      /* relocatable */
	unit_st16(b + 0x236, 0x0003); /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	unit_st32(b + 0x238, 2047);
	unit_st64(b + 0x258, PREF_ADDRESS);
	unit_st32(b + 0x260, INIT_SIZE);
	for (size_t i = 0; i < PAYLOAD_LEN; i++)
		b[PAYLOAD_OFF + i] = (uint8_t)(i * 7);
	z->len = BZ_LEN;
}

static enum boot_err load(void **state, struct bz *z, struct boot_image *out)
{
	struct unit_gm *u = *state;

	return bzimage_load(&u->gm, z->b, z->len, out);
}

static void expect_err(void **state, struct bz *z, enum boot_err want)
{
	struct boot_image out;

	assert_int_equal(load(state, z, &out), want);
}

static void test_bzimage_loads_at_pref_address_with_64bit_entry(void **state)
{
	struct unit_gm *u = *state;
	struct bz z;
	struct boot_image out;

	make_bz(&z);
	assert_int_equal(load(state, &z, &out), BOOT_OK);
	assert_int_equal(out.proto, BOOT_PROTO_LINUX64);
	assert_true(out.is_bzimage);
	assert_int_equal(out.load_start, PREF_ADDRESS);
	assert_int_equal(out.entry, PREF_ADDRESS + 0x200);
	/* init_size is larger than the payload: the kernel's working area counts. */
	assert_int_equal(out.load_end, PREF_ADDRESS + INIT_SIZE);
	assert_int_equal(out.cmdline_max, 2047);
	assert_memory_equal(unit_gpa(u, PREF_ADDRESS), z.b + PAYLOAD_OFF, PAYLOAD_LEN);
	assert_int_equal(out.setup_hdr_len, HDR_END - 0x1f1);
	assert_memory_equal(out.setup_hdr, z.b + 0x1f1, out.setup_hdr_len);
}

static void test_bzimage_treats_setup_sects_zero_as_four(void **state)
{
	struct unit_gm *u = *state;
	struct bz z;
	struct boot_image out;

	make_bz(&z);
	z.b[0x1f1] = 0;
	memmove(z.b + 5 * 512, z.b + PAYLOAD_OFF, PAYLOAD_LEN);
	z.len = 5 * 512 + PAYLOAD_LEN;
	assert_int_equal(load(state, &z, &out), BOOT_OK);
	assert_memory_equal(unit_gpa(u, PREF_ADDRESS), z.b + 5 * 512, PAYLOAD_LEN);
}

static void test_bzimage_relocatable_falls_back_to_aligned_low_address(void **state)
{
	struct bz z;
	struct boot_image out;

	make_bz(&z);
	unit_st64(z.b + 0x258, 0x1000); /* preferred address below 1 MiB: unusable */
	assert_int_equal(load(state, &z, &out), BOOT_OK);
	assert_int_equal(out.load_start, KERNEL_ALIGN); /* 1 MiB rounded up to 2 MiB */
	assert_int_equal(out.entry, KERNEL_ALIGN + 0x200);
	assert_int_equal(out.load_end, KERNEL_ALIGN + INIT_SIZE);
}

/* The decompressor would run at pref_address: that must be RAM too. */
static void test_bzimage_rejects_pref_address_outside_ram(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st64(z.b + 0x258, GiB(1));
	expect_err(state, &z, BOOT_ERR_BZ_PAYLOAD);
}

static void test_bzimage_clamps_cmdline_limit_to_kiln_buffer(void **state)
{
	struct bz z;
	struct boot_image out;

	make_bz(&z);
	unit_st32(z.b + 0x238, 0xffffffff);
	assert_int_equal(load(state, &z, &out), BOOT_OK);
	assert_int_equal(out.cmdline_max, CMDLINE_MAX_BYTES - 1);
}

static void test_bzimage_rejects_too_small_image(void **state)
{
	struct bz z;

	make_bz(&z);
	z.len = 0x263;
	expect_err(state, &z, BOOT_ERR_TOO_SMALL);
}

static void test_bzimage_rejects_bad_boot_flag(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st16(z.b + 0x1fe, 0x55aa);
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_bzimage_rejects_bad_hdrs_magic(void **state)
{
	struct bz z;

	make_bz(&z);
	memcpy(z.b + 0x202, "HdrZ", 4);
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_bzimage_rejects_protocol_before_2_12(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st16(z.b + 0x206, 0x020b);
	expect_err(state, &z, BOOT_ERR_BZ_VERSION);
}

static void test_bzimage_rejects_kernel_without_64bit_entry(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st16(z.b + 0x236, 0x0002);
	expect_err(state, &z, BOOT_ERR_BZ_NOT_64BIT);
}

static void test_bzimage_rejects_zimage_not_loaded_high(void **state)
{
	struct bz z;

	make_bz(&z);
	z.b[0x211] = 0;
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_bzimage_rejects_short_setup_header(void **state)
{
	struct bz z;

	make_bz(&z);
	z.b[0x201] = 0x10; /* header would end at 0x212, before init_size */
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_bzimage_rejects_huge_setup_sects(void **state)
{
	struct bz z;

	make_bz(&z);
	z.b[0x1f1] = 255; /* payload would start at 128 KiB, past the file */
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_bzimage_rejects_truncated_payload(void **state)
{
	struct bz z;

	make_bz(&z);
	z.len = BZ_LEN - 16; /* syssize promises 16 bytes more */
	expect_err(state, &z, BOOT_ERR_BZ_PAYLOAD);
}

static void test_bzimage_rejects_empty_payload(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st32(z.b + 0x1f4, 0);
	z.len = PAYLOAD_OFF;
	expect_err(state, &z, BOOT_ERR_BZ_PAYLOAD);
}

static void test_bzimage_rejects_init_size_beyond_ram(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st32(z.b + 0x260, 0xffffffff);
	expect_err(state, &z, BOOT_ERR_BZ_PAYLOAD);
}

static void test_bzimage_rejects_fixed_kernel_outside_ram(void **state)
{
	struct bz z;

	make_bz(&z);
	z.b[0x234] = 0; /* not relocatable: must run at pref_address */
	unit_st64(z.b + 0x258, GiB(1));
	expect_err(state, &z, BOOT_ERR_BZ_PAYLOAD);
}

static void test_bzimage_rejects_bad_kernel_alignment(void **state)
{
	struct bz z;

	make_bz(&z);
	unit_st32(z.b + 0x230, 0x300000); /* not a power of two */
	expect_err(state, &z, BOOT_ERR_BZ_HEADER);
}

static void test_boot_load_kernel_dispatches_bzimage(void **state)
{
	struct unit_gm *u = *state;
	struct bz z;
	struct boot_image out;

	make_bz(&z);
	assert_int_equal(boot_load_kernel(&u->gm, z.b, z.len, &out), BOOT_OK);
	assert_true(out.is_bzimage);
	unit_st16(z.b + 0x206, 0x0200); /* detected as bzImage, then refused in detail */
	assert_int_equal(boot_load_kernel(&u->gm, z.b, z.len, &out), BOOT_ERR_BZ_VERSION);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, unit_gm_setup, unit_gm_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_bzimage_loads_at_pref_address_with_64bit_entry),
	    T(test_bzimage_treats_setup_sects_zero_as_four),
	    T(test_bzimage_relocatable_falls_back_to_aligned_low_address),
	    T(test_bzimage_rejects_pref_address_outside_ram),
	    T(test_bzimage_clamps_cmdline_limit_to_kiln_buffer),
	    T(test_bzimage_rejects_too_small_image),
	    T(test_bzimage_rejects_bad_boot_flag),
	    T(test_bzimage_rejects_bad_hdrs_magic),
	    T(test_bzimage_rejects_protocol_before_2_12),
	    T(test_bzimage_rejects_kernel_without_64bit_entry),
	    T(test_bzimage_rejects_zimage_not_loaded_high),
	    T(test_bzimage_rejects_short_setup_header),
	    T(test_bzimage_rejects_huge_setup_sects),
	    T(test_bzimage_rejects_truncated_payload),
	    T(test_bzimage_rejects_empty_payload),
	    T(test_bzimage_rejects_init_size_beyond_ram),
	    T(test_bzimage_rejects_fixed_kernel_outside_ram),
	    T(test_bzimage_rejects_bad_kernel_alignment),
	    T(test_boot_load_kernel_dispatches_bzimage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
