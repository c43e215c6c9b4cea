/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables: how the guest finds its
 * vCPUs (one processor entry each, APIC id = index), the IOAPIC and the
 * routing of ISA IRQs 0-15 and the virtio GSIs up to 23 onto IOAPIC pins.
 */
#include <stddef.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/layout.h"

#define MP_SPEC_REV	   4	/* MP 1.4 */
#define MP_APIC_VERSION	   0x14 /* integrated local APIC, as KVM reports */
#define MP_IOAPIC_VERSION  0x11 /* 82093AA, as KVM's in-kernel IOAPIC reports */
#define MP_IOAPIC_PINS	   24
#define MP_ISA_BUS_ID	   0
#define MP_LAPIC_ALL	   0xff
#define MP_MAX_CPUS	   254	 /* 8-bit APIC ids; 0xff is the broadcast id */
#define MP_CPU_SIGNATURE   0x600 /* family 6: only informative, CPUID is authoritative */
#define MP_CPU_FEATURE_FPU 0x001
#define MP_CPU_FEATURE_APC 0x200

enum mp_entry_type {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_IOINTR = 3,
	MP_LINTR = 4,
};

enum mp_int_type { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

/* MP 1.4 §4.1 floating pointer structure. */
struct mpf {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* feature[1] bit 7 clear: virtual wire mode, no IMCR */
} __attribute__((packed));

/* MP 1.4 §4.2 configuration table header. */
struct mpc_header {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* §4.3.1 */
struct mpc_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02

/* §4.3.2 */
struct mpc_bus {
	uint8_t type, bus_id;
	char bus_type[6];
} __attribute__((packed));

/* §4.3.3 */
struct mpc_ioapic {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t addr;
} __attribute__((packed));

/* §4.3.4 and §4.3.5 share this layout. flags 0: polarity/trigger conform to the bus. */
struct mpc_intr {
	uint8_t type, irq_type;
	uint16_t flags;
	uint8_t src_bus, src_irq, dst_apic, dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "MP floating pointer layout");
_Static_assert(sizeof(struct mpc_header) == 44, "MP config header layout");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry layout");
_Static_assert(sizeof(struct mpc_bus) == 8 && sizeof(struct mpc_ioapic) == 8 &&
		   sizeof(struct mpc_intr) == 8,
	       "MP 8-byte entry layouts");

/* Worst case: header, all CPUs, bus, IOAPIC, every pin and both LINTs. */
#define MP_BUF_BYTES                                                                               \
	(sizeof(struct mpf) + sizeof(struct mpc_header) + MP_MAX_CPUS * sizeof(struct mpc_cpu) +   \
	 sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +                                      \
	 (MP_IOAPIC_PINS + 2) * sizeof(struct mpc_intr))

struct mp_builder {
	uint8_t buf[MP_BUF_BYTES];
	size_t used;
	uint16_t entries;
};

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum; /* MP 1.4 §4.1, §4.2: all bytes sum to zero */
}

/* Sizes are static: MP_BUF_BYTES covers the largest table mptable_write builds. */
static void mp_put(struct mp_builder *b, const void *entry, size_t len)
{
	memcpy(b->buf + b->used, entry, len);
	b->used += len;
	b->entries++;
}

static void mp_put_cpus(struct mp_builder *b, unsigned int nr_vcpus)
{
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct mpc_cpu c = {
		    .type = MP_PROCESSOR,
		    .apic_id = (uint8_t)i,
		    .apic_ver = MP_APIC_VERSION,
		    .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .signature = MP_CPU_SIGNATURE,
		    .features = MP_CPU_FEATURE_FPU | MP_CPU_FEATURE_APC,
		};

		mp_put(b, &c, sizeof(c));
	}
}

/*
 * One ISA bus and one IOAPIC. Every pin gets an INT entry with pin = IRQ, the
 * identity routing KVM's default GSI table uses; pins 16-23 carry virtio-mmio
 * GSIs. LINT0 is ExtINT from the PIC and LINT1 NMI (§5.1 virtual wire mode).
 */
static void mp_put_io(struct mp_builder *b, uint8_t ioapic_id)
{
	struct mpc_bus bus = {.type = MP_BUS, .bus_id = MP_ISA_BUS_ID};
	struct mpc_ioapic io = {.type = MP_IOAPIC,
				.apic_id = ioapic_id,
				.apic_ver = MP_IOAPIC_VERSION,
				.flags = 1, /* enabled */
				.addr = (uint32_t)IOAPIC_GPA};
	struct mpc_intr lint0 = {MP_LINTR, MP_EXTINT, 0, MP_ISA_BUS_ID, 0, MP_LAPIC_ALL, 0};
	struct mpc_intr lint1 = {MP_LINTR, MP_NMI, 0, MP_ISA_BUS_ID, 0, MP_LAPIC_ALL, 1};

	memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
	mp_put(b, &bus, sizeof(bus));
	mp_put(b, &io, sizeof(io));
	for (uint8_t pin = 0; pin < MP_IOAPIC_PINS; pin++) {
		struct mpc_intr in = {MP_IOINTR, MP_INT, 0, MP_ISA_BUS_ID, pin, ioapic_id, pin};

		mp_put(b, &in, sizeof(in));
	}
	mp_put(b, &lint0, sizeof(lint0));
	mp_put(b, &lint1, sizeof(lint1));
}

/* Fill in both headers last: they carry the length, count and checksums. */
static void mp_finish(struct mp_builder *b)
{
	struct mpf mpf = {.length = 1, .spec_rev = MP_SPEC_REV};
	struct mpc_header h = {.spec_rev = MP_SPEC_REV, .lapic_addr = (uint32_t)LAPIC_GPA};
	uint8_t *table = b->buf + sizeof(mpf);
	size_t table_len = b->used - sizeof(mpf);

	memcpy(mpf.signature, "_MP_", sizeof(mpf.signature));
	mpf.physptr = (uint32_t)(MPTABLE_GPA + sizeof(mpf));
	mpf.checksum = mp_checksum((const uint8_t *)&mpf, sizeof(mpf));
	memcpy(b->buf, &mpf, sizeof(mpf));

	memcpy(h.signature, "PCMP", sizeof(h.signature));
	memcpy(h.oem, "KILN    ", sizeof(h.oem));
	memcpy(h.product, "MICROVM     ", sizeof(h.product));
	h.length = (uint16_t)table_len;
	h.entry_count = b->entries;
	memcpy(table, &h, sizeof(h));
	/* Checksum over the whole base table, computed with the field still zero. */
	table[offsetof(struct mpc_header, checksum)] = mp_checksum(table, table_len);
}

/*
 * Floating pointer at 0x9fc00, the last KiB of base memory that MP 1.4 §4
 * tells the OS to search; the configuration table follows it. All of it must
 * stay inside the reserved window below 1 MiB (e820.c).
 */
enum boot_err mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus)
{
	struct mp_builder b;
	uint64_t end;

	memset(&b, 0, sizeof(b));
	if (nr_vcpus == 0 || nr_vcpus > MP_MAX_CPUS)
		return BOOT_ERR_NO_MEMORY;
	b.used = sizeof(struct mpf) + sizeof(struct mpc_header);
	mp_put_cpus(&b, nr_vcpus);
	/* IOAPIC id follows the CPUs' APIC ids so that no two APICs share one. */
	mp_put_io(&b, (uint8_t)nr_vcpus);
	mp_finish(&b);
	if (__builtin_add_overflow(MPTABLE_GPA, (uint64_t)b.used, &end) || end > HIGH_MEMORY_GPA)
		return BOOT_ERR_NO_MEMORY;
	if (gm_write(gm, MPTABLE_GPA, b.buf, b.used))
		return BOOT_ERR_NO_MEMORY;
	return BOOT_OK;
}
