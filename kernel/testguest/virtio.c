/* SPDX-License-Identifier: MIT */
/*
 * Polling virtio-mmio driver (virtio 1.2 §3.1 initialisation, §2.7 split
 * rings, §4.2.2 registers). The rings of device n live in vio_ring_mem[n],
 * in the image's .bss: identity mapped, so a pointer is its guest-physical
 * address. The device side is hostile-test material, so nothing it writes is
 * trusted beyond an index check.
 */
#include "virtio.h"

#include "console.h"
#include "io.h"
#include "tg_layout.h"

#define VIO_KEY	       "virtio_mmio.device="
#define VIO_RING_PAGES 3 /* desc (4 KiB at 256), avail, used */
#define VIO_PAGE       4096
#define VIO_WINDOW_MIN 0x100
#define VIO_AVAIL_RING 4
#define VIO_USED_RING  4
#define VIO_USED_ELEM  8

static struct vio_dev vio_devs[VIO_MAX_DEVS];
static unsigned int vio_ndevs;
static bool vio_discovered;
static uint8_t vio_ring_mem[VIO_MAX_DEVS][VIO_RING_PAGES][VIO_PAGE]
    __attribute__((aligned(VIO_PAGE)));
struct vio_desc vio_indirect[VIO_INDIRECT_MAX] __attribute__((aligned(VIO_PAGE)));
struct vio_blk_hdr vio_hdr __attribute__((aligned(16)));
volatile uint8_t vio_status_byte;

static inline void vio_barrier(void)
{
	/* x86 keeps stores in order; the compiler must too. */
	__asm__ volatile("" ::: "memory");
}

/* Linux memparse()/kstrtoull(base 0) subset: 0x hex or decimal, K/M/G suffix. */
static bool vio_parse_num(const char **p, const char *end, bool suffix, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0, base = 10;
	bool any = false;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; s < end; s++) {
		uint64_t dgt;

		if (*s >= '0' && *s <= '9')
			dgt = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			dgt = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			dgt = (uint64_t)(*s - 'A' + 10);
		else
			break;
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, dgt, &v))
			return false;
		any = true;
	}
	if (!any)
		return false;
	if (suffix && s < end) {
		unsigned int shift = 0;

		switch (*s) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		}
		if (shift) {
			if (v >> (64 - shift))
				return false;
			v <<= shift;
			s++;
		}
	}
	*p = s;
	*out = v;
	return true;
}

/* <size>@<base>:<irq>[:<id>] */
static bool vio_parse_dev(const char *s, const char *end, uint64_t *size, uint64_t *base,
			  uint64_t *irq)
{
	if (!vio_parse_num(&s, end, true, size) || s >= end || *s++ != '@')
		return false;
	if (!vio_parse_num(&s, end, false, base) || s >= end || *s++ != ':')
		return false;
	if (!vio_parse_num(&s, end, false, irq))
		return false;
	return s == end || *s == ':';
}

static void vio_probe(struct vio_dev *d)
{
	if (vio_read(d, VIO_MAGIC_VALUE) != VIO_MAGIC)
		return;
	d->version = vio_read(d, VIO_VERSION);
	if (d->version != 2)
		return;
	d->device_id = vio_read(d, VIO_DEVICE_ID);
	if (d->device_id)
		vio_read_features(d);
}

static void vio_info(const struct vio_dev *d)
{
	con_puts("KTEST-INFO virtio dev=");
	con_dec(d->n);
	con_puts(" base=");
	con_hex(d->base);
	con_puts(" size=");
	con_hex(d->size);
	con_puts(" irq=");
	con_dec(d->irq);
	con_puts(" version=");
	con_dec(d->version);
	con_puts(" device_id=");
	con_dec(d->device_id);
	con_puts(" features=");
	con_hex(d->dev_features);
	con_puts("\n");
}

unsigned int vio_discover(const struct tg_boot *b)
{
	const char *p = b->cmdline;
	size_t klen = strlen(VIO_KEY);

	if (vio_discovered)
		return vio_ndevs;
	vio_discovered = true;
	while (*p) {
		const char *tok;
		size_t n = 0;
		uint64_t size, base, irq;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		tok = p;
		while (tok[n] && tok[n] != ' ' && tok[n] != '\t' && tok[n] != '\n')
			n++;
		p = tok + n;
		if (n <= klen || memcmp(tok, VIO_KEY, klen) != 0 || vio_ndevs == VIO_MAX_DEVS)
			continue;
		if (!vio_parse_dev(tok + klen, tok + n, &size, &base, &irq))
			continue;
		/* Only windows inside the uncached MMIO part of the identity map. */
		if (size < VIO_WINDOW_MIN || base < 0xc0000000ULL || !tg_phys_ok(base, size))
			continue;
		vio_devs[vio_ndevs] = (struct vio_dev){
		    .n = vio_ndevs, .base = base, .size = size, .irq = (uint32_t)irq};
		vio_probe(&vio_devs[vio_ndevs]);
		vio_info(&vio_devs[vio_ndevs]);
		vio_ndevs++;
	}
	return vio_ndevs;
}

struct vio_dev *vio_find(uint32_t device_id, unsigned int idx)
{
	unsigned int i;

	for (i = 0; i < vio_ndevs; i++) {
		if (vio_devs[i].device_id == device_id && idx-- == 0)
			return &vio_devs[i];
	}
	return NULL;
}

unsigned int vio_count(uint32_t device_id)
{
	unsigned int i, n = 0;

	for (i = 0; i < vio_ndevs; i++)
		n += vio_devs[i].device_id == device_id;
	return n;
}

uint32_t vio_read(const struct vio_dev *d, uint32_t off)
{
	return tg_mmio_read32(d->base + off);
}

void vio_write(const struct vio_dev *d, uint32_t off, uint32_t val)
{
	tg_mmio_write32(d->base + off, val);
}

uint32_t vio_config32(const struct vio_dev *d, uint32_t off)
{
	return vio_read(d, VIO_CONFIG + off);
}

uint64_t vio_config64(const struct vio_dev *d, uint32_t off)
{
	uint32_t gen, lo, hi;
	int tries = 4;

	/* §4.2.2: two 32-bit reads, retried while the generation moves. */
	do {
		gen = vio_read(d, VIO_CONFIG_GENERATION);
		lo = vio_config32(d, off);
		hi = vio_config32(d, off + 4);
	} while (vio_read(d, VIO_CONFIG_GENERATION) != gen && --tries);
	return ((uint64_t)hi << 32) | lo;
}

void vio_reset(struct vio_dev *d)
{
	int tries = 1000;

	vio_write(d, VIO_STATUS, 0);
	/* §4.2.3.1.1 is satisfied by the write; a slow device gets a few reads. */
	while (vio_read(d, VIO_STATUS) != 0 && --tries)
		tg_pause();
	d->features = 0;
	d->qsize = 0;
	d->avail_idx = 0;
	d->used_idx = 0;
}

void vio_read_features(struct vio_dev *d)
{
	uint32_t lo, hi;

	vio_write(d, VIO_DEVICE_FEATURES_SEL, 0);
	lo = vio_read(d, VIO_DEVICE_FEATURES);
	vio_write(d, VIO_DEVICE_FEATURES_SEL, 1);
	hi = vio_read(d, VIO_DEVICE_FEATURES);
	d->dev_features = ((uint64_t)hi << 32) | lo;
}

void vio_write_features(const struct vio_dev *d, uint64_t f)
{
	vio_write(d, VIO_DRIVER_FEATURES_SEL, 0);
	vio_write(d, VIO_DRIVER_FEATURES, (uint32_t)f);
	vio_write(d, VIO_DRIVER_FEATURES_SEL, 1);
	vio_write(d, VIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

bool vio_negotiate(struct vio_dev *d, uint64_t want, struct tg_str *why)
{
	uint64_t f;
	uint32_t st;

	vio_write(d, VIO_STATUS, VIO_S_ACK);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER);
	vio_read_features(d);
	f = d->dev_features & want;
	if (!(f & VIO_F_VERSION_1)) {
		tg_str_add(why, "VERSION_1 not offered");
		return false;
	}
	vio_write_features(d, f);
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK);
	st = vio_read(d, VIO_STATUS);
	if (!(st & VIO_S_FEATURES_OK)) {
		tg_str_add(why, "FEATURES_OK refused, status ");
		tg_str_add_hex(why, st);
		return false;
	}
	d->features = f;
	return true;
}

void vio_write_ring_addrs(const struct vio_dev *d, uint64_t desc, uint64_t avail, uint64_t used)
{
	vio_write(d, VIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vio_write(d, VIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vio_write(d, VIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	vio_write(d, VIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	vio_write(d, VIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	vio_write(d, VIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
}

uint16_t vio_rings_prepare(struct vio_dev *d, uint16_t qsize)
{
	uint8_t(*mem)[VIO_PAGE] = vio_ring_mem[d->n];
	uint32_t max;

	vio_write(d, VIO_QUEUE_SEL, 0);
	max = vio_read(d, VIO_QUEUE_NUM_MAX);
	d->num_max = (uint16_t)(max > 0xffff ? 0xffff : max);
	if (max == 0)
		return 0;
	if (qsize > VIO_QSIZE_MAX)
		qsize = VIO_QSIZE_MAX;
	while (qsize > max)
		qsize >>= 1;
	memset(mem, 0, sizeof(vio_ring_mem[0]));
	d->qsize = qsize;
	d->desc = (volatile struct vio_desc *)mem[0];
	d->avail = mem[1];
	d->used = mem[2];
	d->avail_idx = 0;
	d->used_idx = 0;
	/* Polling driver: no used-buffer interrupts wanted. */
	d->avail[0] = VIO_AVAIL_NO_INTERRUPT;
	return qsize;
}

bool vio_setup_queue(struct vio_dev *d, uint16_t qsize, struct tg_str *why)
{
	uint32_t ready;

	if (!vio_rings_prepare(d, qsize)) {
		tg_str_add(why, "QueueNumMax 0");
		return false;
	}
	vio_write(d, VIO_QUEUE_NUM, d->qsize);
	vio_write_ring_addrs(d, (uintptr_t)d->desc, (uintptr_t)d->avail, (uintptr_t)d->used);
	vio_write(d, VIO_QUEUE_READY, 1);
	ready = vio_read(d, VIO_QUEUE_READY);
	if (ready != 1) {
		tg_str_add(why, "QueueReady reads ");
		tg_str_add_dec(why, ready);
		return false;
	}
	return true;
}

bool vio_init(struct vio_dev *d, uint64_t want, struct tg_str *why)
{
	uint32_t st;

	if (!d->device_id) {
		tg_str_add(why, "not a virtio-mmio v2 device");
		return false;
	}
	vio_reset(d);
	if (!vio_negotiate(d, want, why) || !vio_setup_queue(d, VIO_QSIZE_MAX, why))
		goto failed;
	vio_write(d, VIO_STATUS, VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
	st = vio_read(d, VIO_STATUS);
	if (st != (VIO_S_ACK | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK)) {
		tg_str_add(why, "status after DRIVER_OK ");
		tg_str_add_hex(why, st);
		return false;
	}
	return true;
failed:
	vio_write(d, VIO_STATUS, vio_read(d, VIO_STATUS) | VIO_S_FAILED);
	return false;
}

void vio_set_desc(struct vio_dev *d, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	volatile struct vio_desc *e = &d->desc[i];

	e->addr = addr;
	e->len = len;
	e->flags = flags;
	e->next = next;
}

static void vio_fill(volatile struct vio_desc *t, const struct vio_buf *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		t[i].addr = b[i].addr;
		t[i].len = b[i].len;
		t[i].flags = (uint16_t)(b[i].flags | (i + 1 < n ? VIO_DESC_NEXT : 0));
		t[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
	}
}

void vio_chain(struct vio_dev *d, const struct vio_buf *b, unsigned int n, bool indirect)
{
	if (indirect) {
		if (n > VIO_INDIRECT_MAX)
			n = VIO_INDIRECT_MAX;
		vio_fill(vio_indirect, b, n);
		vio_set_desc(d, 0, (uintptr_t)vio_indirect, n * (uint32_t)sizeof(struct vio_desc),
			     VIO_DESC_INDIRECT, 0);
	} else {
		if (n > d->qsize)
			n = d->qsize;
		vio_fill(d->desc, b, n);
	}
}

void vio_avail_put(struct vio_dev *d, uint16_t head)
{
	volatile uint16_t *slot =
	    (volatile uint16_t *)(d->avail + VIO_AVAIL_RING + 2 * (d->avail_idx % d->qsize));

	*slot = head;
	d->avail_idx++;
}

void vio_avail_publish(struct vio_dev *d)
{
	vio_barrier();
	*(volatile uint16_t *)(d->avail + 2) = d->avail_idx;
	vio_barrier();
}

void vio_notify(const struct vio_dev *d, uint32_t q)
{
	vio_write(d, VIO_QUEUE_NOTIFY, q);
}

uint16_t vio_used_idx_now(const struct vio_dev *d)
{
	return *(volatile uint16_t *)(d->used + 2);
}

bool vio_wait_used(struct vio_dev *d, uint64_t timeout_tsc, uint32_t *id, uint32_t *len)
{
	uint64_t start = tg_rdtsc();
	volatile uint8_t *e;

	while (vio_used_idx_now(d) == d->used_idx) {
		if (tg_rdtsc() - start > timeout_tsc)
			return false;
		tg_pause();
	}
	vio_barrier();
	e = d->used + VIO_USED_RING + VIO_USED_ELEM * (d->used_idx % d->qsize);
	*id = *(volatile uint32_t *)e;
	*len = *(volatile uint32_t *)(e + 4);
	d->used_idx++;
	return true;
}

uint32_t vio_wait_status(const struct vio_dev *d, uint32_t bits, uint64_t timeout_tsc)
{
	uint64_t start = tg_rdtsc();
	uint32_t st;

	for (;;) {
		st = vio_read(d, VIO_STATUS);
		if ((st & bits) == bits || tg_rdtsc() - start > timeout_tsc)
			return st;
	}
}

bool vio_xfer(struct vio_dev *d, const struct vio_buf *b, unsigned int n, bool indirect,
	      uint32_t *used_len, struct tg_str *why)
{
	uint32_t id;

	vio_chain(d, b, n, indirect);
	vio_avail_put(d, 0);
	vio_avail_publish(d);
	vio_notify(d, 0);
	if (!vio_wait_used(d, VIO_TIMEOUT_TSC, &id, used_len)) {
		tg_str_add(why, "no used entry (timeout), status ");
		tg_str_add_hex(why, vio_read(d, VIO_STATUS));
		return false;
	}
	if (id != 0) {
		tg_str_add(why, "used id ");
		tg_str_add_dec(why, id);
		return false;
	}
	return true;
}

#define VIO_BLK_MAX_BUFS (VIO_INDIRECT_MAX)
static struct vio_buf vio_blk_bufs[VIO_BLK_MAX_BUFS];

bool vio_blk(struct vio_dev *d, uint32_t type, uint64_t sector, void *data, uint32_t bytes,
	     unsigned int nseg, bool indirect, uint8_t *status, uint32_t *used_len,
	     struct tg_str *why)
{
	uint16_t dflags = (type == VIO_BLK_T_IN || type == VIO_BLK_T_GET_ID) ? VIO_DESC_WRITE : 0;
	unsigned int n = 0, i;
	uint32_t seg, off = 0;
	bool ok;

	if (nseg + 2 > VIO_BLK_MAX_BUFS)
		nseg = VIO_BLK_MAX_BUFS - 2;
	if (bytes == 0)
		nseg = 0;
	vio_hdr = (struct vio_blk_hdr){.type = type, .sector = sector};
	vio_status_byte = 0xff;
	vio_blk_bufs[n++] = (struct vio_buf){(uintptr_t)&vio_hdr, sizeof(vio_hdr), 0};
	for (i = 0; i < nseg; i++) {
		seg = (i + 1 == nseg) ? bytes - off : bytes / nseg;
		vio_blk_bufs[n++] = (struct vio_buf){(uintptr_t)data + off, seg, dflags};
		off += seg;
	}
	vio_blk_bufs[n++] = (struct vio_buf){(uintptr_t)&vio_status_byte, 1, VIO_DESC_WRITE};
	ok = vio_xfer(d, vio_blk_bufs, n, indirect, used_len, why);
	vio_barrier();
	*status = vio_status_byte;
	return ok;
}
