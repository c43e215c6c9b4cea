/* SPDX-License-Identifier: MIT */
/*
 * ktest cpus: count the processors the firmware tables announce, from the
 * Intel MP table if there is one, else from the ACPI MADT (or only the one
 * named by ktest.cpus_source=mptable|acpi). Every pointer in
 * those tables is checked against the mapped window and every table's
 * checksum is verified before it is believed.
 */
#include "cmdline.h"
#include "console.h"
#include "io.h"
#include "ktest.h"

/* Intel MultiProcessor Specification 1.4, chapter 4. */
#define MPF_BYTES	    16
#define MPF_OFF_PHYSPTR	    4
#define MPF_OFF_LENGTH	    8
#define MPF_OFF_FEATURE1    11
#define MPC_HDR_BYTES	    44
#define MPC_OFF_LENGTH	    4
#define MPC_MAX_BYTES	    0x10000
#define MPC_PROCESSOR	    0
#define MPC_PROCESSOR_BYTES 20
#define MPC_OTHER_BYTES	    8 /* bus, IOAPIC, I/O and local interrupt entries */
#define MPC_LAST_BASE_TYPE  4
#define MPC_CPU_ENABLED	    0x01
#define MP_DEFAULT_CPUS	    2 /* §5: every default configuration has two */
#define BDA_EBDA_SEGMENT_PA 0x40e
#define EBDA_SEARCH_BYTES   1024
#define BASE_MEM_TOP_KIB_PA 0x9fc00 /* last KiB of 640 KiB base memory */
#define BIOS_ROM_PA	    0xf0000
#define BIOS_ROM_BYTES	    0x10000
#define LEGACY_AREA_END_PA  0xa0000

/* ACPI 6.5 §5.2.5 (RSDP), §5.2.6 (headers), §5.2.12 (MADT). */
#define RSDP_V1_BYTES	     20
#define RSDP_OFF_REVISION    15
#define RSDP_OFF_RSDT	     16
#define RSDP_OFF_LENGTH	     20
#define RSDP_OFF_XSDT	     24
#define RSDP_V2_MIN_BYTES    36
#define ACPI_HDR_BYTES	     36
#define ACPI_MAX_TABLE_BYTES 0x100000
#define ACPI_ROM_PA	     0xe0000
#define ACPI_ROM_BYTES	     0x20000
#define MADT_HDR_BYTES	     44
#define MADT_LAPIC	     0
#define MADT_X2APIC	     9
#define MADT_ENABLED	     0x01

enum cpus_source { CPUS_NONE, CPUS_MPTABLE, CPUS_ACPI };

static bool cpus_sum_ok(uint64_t pa, uint64_t len)
{
	const uint8_t *p = tg_phys(pa);
	uint8_t sum = 0;
	uint64_t i;

	if (!tg_phys_ok(pa, len))
		return false;
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

static bool cpus_sig_at(uint64_t pa, const char *sig, size_t len)
{
	return tg_phys_ok(pa, len) && memcmp(tg_phys(pa), sig, len) == 0;
}

/* Find a 16-byte-aligned, checksummed structure starting with @sig. */
static uint64_t cpus_scan(uint64_t pa, uint64_t len, const char *sig, uint64_t sum_len)
{
	uint64_t off;

	for (off = 0; off + 16 <= len; off += 16) {
		if (cpus_sig_at(pa + off, sig, strlen(sig)) && cpus_sum_ok(pa + off, sum_len))
			return pa + off;
	}
	return 0;
}

static uint64_t cpus_ebda_pa(void)
{
	uint64_t pa = (uint64_t)tg_le16(tg_phys(BDA_EBDA_SEGMENT_PA)) << 4;

	return pa != 0 && pa < LEGACY_AREA_END_PA ? pa : 0;
}

static uint64_t mp_find_floating(void)
{
	uint64_t ebda = cpus_ebda_pa(), pa = 0;

	if (ebda)
		pa = cpus_scan(ebda, EBDA_SEARCH_BYTES, "_MP_", MPF_BYTES);
	if (!pa)
		pa = cpus_scan(BASE_MEM_TOP_KIB_PA, EBDA_SEARCH_BYTES, "_MP_", MPF_BYTES);
	if (!pa)
		pa = cpus_scan(BIOS_ROM_PA, BIOS_ROM_BYTES, "_MP_", MPF_BYTES);
	return pa;
}

/* Returns the enabled-processor count, or -1 with a failure recorded. */
static long mp_count(uint64_t mpf, struct ktest_verdict *v)
{
	uint64_t mpc = tg_le32(tg_phys(mpf + MPF_OFF_PHYSPTR)), len, off;
	const uint8_t *p;
	long n = 0;

	if (tg_phys(mpf)[MPF_OFF_LENGTH] != 1 || !cpus_sum_ok(mpf, MPF_BYTES)) {
		ktest_fail(v, "bad MP floating pointer");
		return -1;
	}
	if (mpc == 0)
		return tg_phys(mpf)[MPF_OFF_FEATURE1] ? MP_DEFAULT_CPUS : -1;
	if (!cpus_sig_at(mpc, "PCMP", 4) || !tg_phys_ok(mpc, MPC_HDR_BYTES)) {
		ktest_fail(v, "MP config table signature");
		return -1;
	}
	p = tg_phys(mpc);
	len = tg_le16(p + MPC_OFF_LENGTH);
	if (len < MPC_HDR_BYTES || len > MPC_MAX_BYTES || !cpus_sum_ok(mpc, len)) {
		ktest_fail(v, "MP config table checksum or length");
		return -1;
	}
	for (off = MPC_HDR_BYTES; off < len;) {
		uint8_t type = p[off];
		uint64_t size = type == MPC_PROCESSOR ? MPC_PROCESSOR_BYTES : MPC_OTHER_BYTES;

		if (type > MPC_LAST_BASE_TYPE || off + size > len) {
			ktest_fail(v, "bad MP config entry");
			return -1;
		}
		if (type == MPC_PROCESSOR && (p[off + 3] & MPC_CPU_ENABLED))
			n++;
		off += size;
	}
	return n;
}

static uint64_t acpi_find_rsdp(const struct tg_boot *b)
{
	uint64_t ebda = cpus_ebda_pa(), pa = 0;

	if (b->rsdp_pa && cpus_sig_at(b->rsdp_pa, "RSD PTR ", 8) &&
	    cpus_sum_ok(b->rsdp_pa, RSDP_V1_BYTES))
		return b->rsdp_pa;
	if (ebda)
		pa = cpus_scan(ebda, EBDA_SEARCH_BYTES, "RSD PTR ", RSDP_V1_BYTES);
	if (!pa)
		pa = cpus_scan(ACPI_ROM_PA, ACPI_ROM_BYTES, "RSD PTR ", RSDP_V1_BYTES);
	return pa;
}

/* Length of a checksummed ACPI table at @pa, 0 if it is not one. */
static uint64_t acpi_table_len(uint64_t pa)
{
	uint64_t len;

	if (pa == 0 || !tg_phys_ok(pa, ACPI_HDR_BYTES))
		return 0;
	len = tg_le32(tg_phys(pa) + 4);
	if (len < ACPI_HDR_BYTES || len > ACPI_MAX_TABLE_BYTES || !cpus_sum_ok(pa, len))
		return 0;
	return len;
}

static uint64_t acpi_find_madt(uint64_t rsdp)
{
	const uint8_t *r = tg_phys(rsdp);
	uint64_t sdt = tg_le32(r + RSDP_OFF_RSDT), entry = 4, len, off;

	if (r[RSDP_OFF_REVISION] >= 2 && tg_phys_ok(rsdp, RSDP_V2_MIN_BYTES)) {
		uint64_t rlen = tg_le32(r + RSDP_OFF_LENGTH), xsdt = tg_le64(r + RSDP_OFF_XSDT);

		if (rlen >= RSDP_V2_MIN_BYTES && rlen <= 4096 && cpus_sum_ok(rsdp, rlen) && xsdt) {
			sdt = xsdt;
			entry = 8;
		}
	}
	len = acpi_table_len(sdt);
	if (!len)
		return 0;
	for (off = ACPI_HDR_BYTES; off + entry <= len; off += entry) {
		const uint8_t *e = tg_phys(sdt + off);
		uint64_t t = entry == 8 ? tg_le64(e) : tg_le32(e);

		if (cpus_sig_at(t, "APIC", 4) && acpi_table_len(t) >= MADT_HDR_BYTES)
			return t;
	}
	return 0;
}

static long acpi_count(uint64_t madt, struct ktest_verdict *v)
{
	uint64_t len = acpi_table_len(madt), off;
	const uint8_t *p = tg_phys(madt);
	long n = 0;

	for (off = MADT_HDR_BYTES; off + 2 <= len; off += p[off + 1]) {
		uint8_t type = p[off], elen = p[off + 1];

		if (elen < 2 || off + elen > len) {
			ktest_fail(v, "bad MADT entry");
			return -1;
		}
		if (type == MADT_LAPIC && elen >= 8 && (tg_le32(p + off + 4) & MADT_ENABLED))
			n++;
		if (type == MADT_X2APIC && elen >= 16 && (tg_le32(p + off + 8) & MADT_ENABLED))
			n++;
	}
	return n;
}

/* ktest.cpus_source=acpi|mptable restricts the search to one source. */
static bool cpus_source_allowed(const struct tg_boot *b, const char *name)
{
	const char *val;
	size_t len;

	return !cmdline_get(b->cmdline, "ktest.cpus_source=", &val, &len) ||
	       tg_span_eq(val, len, name);
}

void ktest_cpus(const struct tg_boot *b, struct ktest_verdict *v)
{
	enum cpus_source src = CPUS_NONE;
	uint64_t mpf = 0, rsdp = 0, madt = 0, want;
	long found = -1;

	if (cpus_source_allowed(b, "mptable"))
		mpf = mp_find_floating();
	if (!mpf && cpus_source_allowed(b, "acpi") && (rsdp = acpi_find_rsdp(b)) != 0)
		madt = acpi_find_madt(rsdp);
	if (mpf) {
		src = CPUS_MPTABLE;
		found = mp_count(mpf, v);
	} else if (madt) {
		src = CPUS_ACPI;
		found = acpi_count(madt, v);
	} else {
		ktest_fail(v, "no MP table or ACPI MADT");
		return;
	}
	if (found < 0) {
		if (!v->failed)
			ktest_fail(v, "MP default configuration without feature byte");
		return;
	}
	ktest_info("cpus");
	con_puts("found=");
	con_dec((uint64_t)found);
	con_puts(src == CPUS_MPTABLE ? " source=mptable\n" : " source=acpi\n");
	if (!ktest_expect(b, "ktest.cpus=", &want, v))
		return;
	if ((uint64_t)found != want) {
		struct tg_str *r = ktest_fail(v, "found ");

		tg_str_add_dec(r, (uint64_t)found);
		tg_str_add(r, " expected ");
		tg_str_add_dec(r, want);
	}
}
