/* SPDX-License-Identifier: MIT */
/*
 * A polling virtio-mmio (version 2) driver for the test guest: devices come
 * from `virtio_mmio.device=<size>@<base>:<irq>` on the command line, one
 * split queue each (virtio 1.2 §2.7, §4.2.2), rings in static guest RAM.
 * Requests are synchronous: a chain always starts at descriptor 0 and the
 * driver waits for it on the used ring before building the next one. Every
 * register access from CPL3 is a VM exit, so the driver makes few.
 */
#ifndef TG_VIRTIO_H
#define TG_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootinfo.h"
#include "lib.h"

/* §4.2.2 register offsets. */
#define VIO_MAGIC_VALUE		0x000
#define VIO_VERSION		0x004
#define VIO_DEVICE_ID		0x008
#define VIO_VENDOR_ID		0x00c
#define VIO_DEVICE_FEATURES	0x010
#define VIO_DEVICE_FEATURES_SEL 0x014
#define VIO_DRIVER_FEATURES	0x020
#define VIO_DRIVER_FEATURES_SEL 0x024
#define VIO_QUEUE_SEL		0x030
#define VIO_QUEUE_NUM_MAX	0x034
#define VIO_QUEUE_NUM		0x038
#define VIO_QUEUE_READY		0x044
#define VIO_QUEUE_NOTIFY	0x050
#define VIO_INTERRUPT_STATUS	0x060
#define VIO_INTERRUPT_ACK	0x064
#define VIO_STATUS		0x070
#define VIO_QUEUE_DESC_LOW	0x080
#define VIO_QUEUE_DESC_HIGH	0x084
#define VIO_QUEUE_DRIVER_LOW	0x090
#define VIO_QUEUE_DRIVER_HIGH	0x094
#define VIO_QUEUE_DEVICE_LOW	0x0a0
#define VIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIO_CONFIG_GENERATION	0x0fc
#define VIO_CONFIG		0x100

#define VIO_MAGIC 0x74726976 /* "virt" */

/* §2.1 status bits. */
#define VIO_S_ACK	  1
#define VIO_S_DRIVER	  2
#define VIO_S_DRIVER_OK	  4
#define VIO_S_FEATURES_OK 8
#define VIO_S_NEEDS_RESET 64
#define VIO_S_FAILED	  128

/* §6 reserved feature bits. */
#define VIO_F_INDIRECT_DESC (1ULL << 28)
#define VIO_F_EVENT_IDX	    (1ULL << 29)
#define VIO_F_VERSION_1	    (1ULL << 32)

/* §2.7.5 descriptor flags. */
#define VIO_DESC_NEXT	       1
#define VIO_DESC_WRITE	       2
#define VIO_DESC_INDIRECT      4
#define VIO_AVAIL_NO_INTERRUPT 1

#define VIO_ID_BLOCK 2
#define VIO_ID_RNG   4

/* §5.2.3 virtio-blk features, §5.2.6 request types and status. */
#define VIO_BLK_F_SIZE_MAX     (1ULL << 1)
#define VIO_BLK_F_SEG_MAX      (1ULL << 2)
#define VIO_BLK_F_GEOMETRY     (1ULL << 4)
#define VIO_BLK_F_RO	       (1ULL << 5)
#define VIO_BLK_F_BLK_SIZE     (1ULL << 6)
#define VIO_BLK_F_FLUSH	       (1ULL << 9)
#define VIO_BLK_F_TOPOLOGY     (1ULL << 10)
#define VIO_BLK_F_DISCARD      (1ULL << 13)
#define VIO_BLK_F_WRITE_ZEROES (1ULL << 14)
#define VIO_BLK_T_IN	       0
#define VIO_BLK_T_OUT	       1
#define VIO_BLK_T_FLUSH	       4
#define VIO_BLK_T_GET_ID       8
#define VIO_BLK_T_DISCARD      11
#define VIO_BLK_T_WRITE_ZEROES 13
#define VIO_BLK_S_OK	       0
#define VIO_BLK_S_IOERR	       1
#define VIO_BLK_S_UNSUPP       2
#define VIO_BLK_CFG_CAPACITY   0
#define VIO_BLK_CFG_SEG_MAX    12
#define VIO_BLK_ID_BYTES       20
#define VIO_SECTOR	       512

/* What the test guest's drivers accept of what a device offers. */
#define VIO_BLK_WANT                                                                               \
	(VIO_F_VERSION_1 | VIO_F_INDIRECT_DESC | VIO_F_EVENT_IDX | VIO_BLK_F_SIZE_MAX |            \
	 VIO_BLK_F_SEG_MAX | VIO_BLK_F_GEOMETRY | VIO_BLK_F_RO | VIO_BLK_F_BLK_SIZE |              \
	 VIO_BLK_F_FLUSH | VIO_BLK_F_TOPOLOGY | VIO_BLK_F_DISCARD | VIO_BLK_F_WRITE_ZEROES)
#define VIO_RNG_WANT (VIO_F_VERSION_1 | VIO_F_INDIRECT_DESC | VIO_F_EVENT_IDX)

#define VIO_MAX_DEVS	 8
#define VIO_QSIZE_MAX	 256
#define VIO_INDIRECT_MAX 512 /* entries in the static indirect table */

/* ~1 s at 3 GHz: a request kiln serves takes well under a millisecond. */
#define VIO_TIMEOUT_TSC 3000000000ULL
/* How long "nothing must happen" is watched. */
#define VIO_QUIET_TSC 300000000ULL

struct vio_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

struct vio_dev {
	unsigned int n; /* position on the command line */
	uint64_t base, size;
	uint32_t irq;
	uint32_t device_id; /* 0 if the window did not probe as virtio-mmio v2 */
	uint32_t version;
	uint64_t dev_features; /* offered */
	uint64_t features;     /* accepted by FEATURES_OK */
	uint16_t qsize;
	uint16_t num_max;
	volatile struct vio_desc *desc;
	volatile uint8_t *avail; /* flags, idx, ring[qsize], used_event */
	volatile uint8_t *used;	 /* flags, idx, {id, len}[qsize], avail_event */
	uint16_t avail_idx;	 /* next avail->idx to publish */
	uint16_t used_idx;	 /* next used entry expected */
};

/* A buffer of a chain; write means device-writable. */
struct vio_buf {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VIO_DESC_WRITE / VIO_DESC_INDIRECT, NEXT is added */
};

/* Parse the command line and probe each window once; later calls are free. */
unsigned int vio_discover(const struct tg_boot *b);
/* The idx-th probed device of @device_id, or NULL. */
struct vio_dev *vio_find(uint32_t device_id, unsigned int idx);
unsigned int vio_count(uint32_t device_id);

uint32_t vio_read(const struct vio_dev *d, uint32_t off);
void vio_write(const struct vio_dev *d, uint32_t off, uint32_t val);
uint32_t vio_config32(const struct vio_dev *d, uint32_t off);
uint64_t vio_config64(const struct vio_dev *d, uint32_t off);

/* Initialisation in steps, so that hostile tests can stop or deviate anywhere. */
void vio_reset(struct vio_dev *d);
void vio_read_features(struct vio_dev *d);
void vio_write_features(const struct vio_dev *d, uint64_t f);
/* ACK, DRIVER, offer & want, FEATURES_OK and re-read; false (with why) if refused. */
bool vio_negotiate(struct vio_dev *d, uint64_t want, struct tg_str *why);
/* Queue 0 at min(QueueNumMax, qsize), static rings, QueueReady; false if refused. */
bool vio_setup_queue(struct vio_dev *d, uint16_t qsize, struct tg_str *why);
/* The memory half of that: QueueSel 0, QueueNumMax, zeroed rings; the size or 0. */
uint16_t vio_rings_prepare(struct vio_dev *d, uint16_t qsize);
void vio_write_ring_addrs(const struct vio_dev *d, uint64_t desc, uint64_t avail, uint64_t used);
/* The whole sequence up to DRIVER_OK. */
bool vio_init(struct vio_dev *d, uint64_t want, struct tg_str *why);

/* Descriptor i (of the queue table) and the static indirect table. */
void vio_set_desc(struct vio_dev *d, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);
extern struct vio_desc vio_indirect[VIO_INDIRECT_MAX];
/* Write @n buffers as one chain at descriptor 0 (or as an indirect table). */
void vio_chain(struct vio_dev *d, const struct vio_buf *b, unsigned int n, bool indirect);

/* Put @head on the avail ring; publish writes avail->idx; notify queue @q. */
void vio_avail_put(struct vio_dev *d, uint16_t head);
void vio_avail_publish(struct vio_dev *d);
void vio_notify(const struct vio_dev *d, uint32_t q);
/* Wait for the next used entry; false on timeout. */
bool vio_wait_used(struct vio_dev *d, uint64_t timeout_tsc, uint32_t *id, uint32_t *len);
/* Poll Status until @bits are all set; returns the last value read. */
uint32_t vio_wait_status(const struct vio_dev *d, uint32_t bits, uint64_t timeout_tsc);
uint16_t vio_used_idx_now(const struct vio_dev *d);

/* chain + put + publish + notify + wait (id must be 0). False on timeout / wrong id. */
bool vio_xfer(struct vio_dev *d, const struct vio_buf *b, unsigned int n, bool indirect,
	      uint32_t *used_len, struct tg_str *why);

/*
 * One virtio-blk request: header, data split into @nseg equal segments
 * (direction from @type), status byte. *status is 0xff if the device did
 * not write it.
 */
bool vio_blk(struct vio_dev *d, uint32_t type, uint64_t sector, void *data, uint32_t bytes,
	     unsigned int nseg, bool indirect, uint8_t *status, uint32_t *used_len,
	     struct tg_str *why);

/* The request header and status byte the helpers use (static guest RAM). */
struct vio_blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};
extern struct vio_blk_hdr vio_hdr;
extern volatile uint8_t vio_status_byte;

#endif
