/* SPDX-License-Identifier: MIT */
/*
 * CPL3 access to the machine: port I/O (IOPL 3 and the TSS I/O bitmap allow
 * it), MMIO and physical memory through the static identity map of 0-4 GiB,
 * CPUID (via CPL0), TSC. No cli/sti: see TG_USER_RFLAGS.
 */
#ifndef TG_IO_H
#define TG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_layout.h"

/* Everything below 4 GiB is identity mapped (tables.S); nothing above. */
#define TG_MAPPED_LIMIT 0x100000000ULL

static inline void tg_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

/* n bytes to one port in one instruction (KVM still exits per byte). */
static inline void tg_outsb(uint16_t port, const void *buf, size_t n)
{
	__asm__ volatile("rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

static inline uint8_t tg_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void tg_mmio_write8(uint64_t pa, uint8_t v)
{
	__asm__ volatile("movb %1, %0" : "=m"(*(volatile uint8_t *)(uintptr_t)pa) : "q"(v));
}

static inline void tg_mmio_write32(uint64_t pa, uint32_t v)
{
	__asm__ volatile("movl %1, %0" : "=m"(*(volatile uint32_t *)(uintptr_t)pa) : "r"(v));
}

static inline uint32_t tg_mmio_read32(uint64_t pa)
{
	uint32_t v;

	__asm__ volatile("movl %1, %0" : "=r"(v) : "m"(*(volatile uint32_t *)(uintptr_t)pa));
	return v;
}

/* The guest's CPUID, executed at CPL0 (entry.S tg_cpuid_cpl0 says why). */
static inline void tg_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	__asm__ volatile("call tg_cpuid_cpl0"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(subleaf)
			 : "memory");
}

/* SDM vol. 3 chapter 11 (APIC). */
#define LAPIC_ID_PA	   0xfee00020ULL
#define LAPIC_TPR_PA	   0xfee00080ULL
#define LAPIC_SVR_PA	   0xfee000f0ULL
#define LAPIC_LVT_LINT0_PA 0xfee00350ULL
#define LAPIC_SVR_ENABLE   0x100
#define LAPIC_LVT_MASKED   0x10000
#define LAPIC_DM_EXTINT	   0x700

/* 82093AA IOAPIC data sheet §3.2.4 (redirection table). */
#define IOAPIC_INDEX_PA	   0xfec00000ULL
#define IOAPIC_DATA_PA	   0xfec00010ULL
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))
#define IOAPIC_RTE_MASKED  0x10000 /* fixed, physical, edge, active high when clear */

static inline void tg_ioapic_write(uint32_t reg, uint32_t val)
{
	tg_mmio_write32(IOAPIC_INDEX_PA, reg);
	tg_mmio_write32(IOAPIC_DATA_PA, val);
}

/* Software-enable this CPU's LAPIC, LINT0 masked, TPR 0; returns its APIC id. */
static inline uint32_t tg_lapic_enable(void)
{
	tg_mmio_write32(LAPIC_SVR_PA, LAPIC_SVR_ENABLE | TG_SPURIOUS_VECTOR);
	tg_mmio_write32(LAPIC_LVT_LINT0_PA, LAPIC_LVT_MASKED | LAPIC_DM_EXTINT);
	tg_mmio_write32(LAPIC_TPR_PA, 0);
	return tg_mmio_read32(LAPIC_ID_PA) >> 24;
}

/* IOAPIC @pin -> @vector on the LAPIC tg_lapic_enable() set up (edge, active high). */
static inline void tg_ioapic_route(uint32_t pin, uint8_t vector, bool masked)
{
	tg_ioapic_write(IOAPIC_REDTBL(pin) + 1, (tg_mmio_read32(LAPIC_ID_PA) >> 24) << 24);
	tg_ioapic_write(IOAPIC_REDTBL(pin), vector | (masked ? IOAPIC_RTE_MASKED : 0));
}

/* Halt until an interrupt unless *p != seen (entry.S tg_wait_cpl0; CPL0, emulated on some hosts).
 */
static inline void tg_wait_while16(const volatile uint16_t *p, uint16_t seen)
{
	__asm__ volatile("call tg_wait_cpl0" : : "c"(p), "d"(seen) : "memory");
}

static inline uint64_t tg_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void tg_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* True if [pa, pa + len) lies wholly in the identity-mapped window. */
static inline bool tg_phys_ok(uint64_t pa, uint64_t len)
{
	uint64_t end;

	return !__builtin_add_overflow(pa, len, &end) && end <= TG_MAPPED_LIMIT;
}

static inline const uint8_t *tg_phys(uint64_t pa)
{
	return (const uint8_t *)(uintptr_t)pa;
}

/* Little-endian loads from byte pointers: tables are packed and unaligned. */
static inline uint16_t tg_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tg_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t tg_le64(const uint8_t *p)
{
	return (uint64_t)tg_le32(p) | ((uint64_t)tg_le32(p + 4) << 32);
}

#endif
