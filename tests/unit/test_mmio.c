/* SPDX-License-Identifier: MIT */
/* virtio-mmio transport: the register state machine of docs/VIRTIO.md, on a fake device. */
#include "unit.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"

#define FAKE_QUEUES	  2
#define FAKE_QUEUE_MAX	  16
#define FAKE_CONFIG_BYTES 8
#define FAKE_FEATURES	  ((1ULL << VIRTIO_F_EVENT_IDX) | (1ULL << VIRTIO_F_INDIRECT_DESC) | 1ULL)
#define VERSION_1	  (1ULL << VIRTIO_F_VERSION_1)

#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL

struct fake_dev {
	uint8_t config[FAKE_CONFIG_BYTES];
	int activate_ret;
	unsigned int activates, resets, processed[FAKE_QUEUES];
	bool pop_in_process; /* process_queue pops one chain and ignores errors */
};

struct mt {
	struct unit_gm *u;
	struct fake_dev f;
	struct vdev d;
	struct vq_chain chain;
};

static void fake_read_config(struct vdev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *f = d->priv;

	memcpy(data, f->config + off, len);
}

static void fake_write_config(struct vdev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *f = d->priv;

	memcpy(f->config + off, data, len);
}

static int fake_activate(struct vdev *d)
{
	struct fake_dev *f = d->priv;

	f->activates++;
	return f->activate_ret;
}

static void fake_reset(struct vdev *d)
{
	struct fake_dev *f = d->priv;

	f->resets++;
}

static void fake_process_queue(struct vdev *d, unsigned int q)
{
	struct fake_dev *f = d->priv;
	struct mt *t = (struct mt *)((uint8_t *)f - offsetof(struct mt, f));

	f->processed[q]++;
	if (f->pop_in_process)
		vq_pop(&d->vqs[q], &t->chain);
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fake",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = FAKE_QUEUES,
    .queue_max_size = FAKE_QUEUE_MAX,
    .config_len = FAKE_CONFIG_BYTES,
    .read_config = fake_read_config,
    .write_config = fake_write_config,
    .activate = fake_activate,
    .reset = fake_reset,
    .process_queue = fake_process_queue,
};

static int mt_setup(void **state)
{
	struct mt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->u = unit_gm_new(MiB(1));
	memcpy(t->f.config, "\x01\x02\x03\x04\x05\x06\x07\x08", FAKE_CONFIG_BYTES);
	vdev_init(&t->d, &fake_ops, &t->f, FAKE_FEATURES, &t->u->gm);
	*state = t;
	return 0;
}

static int mt_teardown(void **state)
{
	struct mt *t = *state;

	vdev_destroy(&t->d);
	unit_gm_free(t->u);
	free(t);
	return 0;
}

static uint32_t rd(struct mt *t, uint64_t off)
{
	uint8_t b[4];

	virtio_mmio_bus_ops.read(&t->d, off, b, 4);
	return unit_ld32(b);
}

static void wr(struct mt *t, uint64_t off, uint32_t val)
{
	uint8_t b[4];

	unit_st32(b, val);
	virtio_mmio_bus_ops.write(&t->d, off, b, 4);
}

static void write_driver_features(struct mt *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* §3.1.1 steps 1-5; returns the status the driver reads back. */
static uint32_t negotiate(struct mt *t, uint64_t features)
{
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	write_driver_features(t, features);
	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(t, VIRTIO_MMIO_STATUS);
}

static void program_queue(struct mt *t, uint32_t q, uint32_t num)
{
	wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(DESC_GPA + q * 0x4000));
	wr(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(AVAIL_GPA + q * 0x4000));
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(USED_GPA + q * 0x4000));
	wr(t, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
}

static void ready_queue(struct mt *t, uint32_t q)
{
	program_queue(t, q, 8);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* A driven device: features negotiated, both queues ready, DRIVER_OK. */
static void bring_up(struct mt *t)
{
	assert_true(negotiate(t, VERSION_1 | FAKE_FEATURES) & VIRTIO_STATUS_FEATURES_OK);
	ready_queue(t, 0);
	ready_queue(t, 1);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static uint64_t eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- identity and features ---------------------------------------------------- */

static void test_mmio_identity_registers(void **state)
{
	struct mt *t = *state;

	assert_int_equal(rd(t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(t, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(rd(t, VIRTIO_MMIO_VENDOR_ID_REG), VIRTIO_MMIO_VENDOR_ID);
}

static void test_mmio_device_features_by_selector(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)FAKE_FEATURES);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 always offered */
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	assert_int_equal(rd(t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_mmio_features_ok_accepts_offered_subset(void **state)
{
	struct mt *t = *state;

	assert_true(negotiate(t, VERSION_1 | (1ULL << VIRTIO_F_EVENT_IDX)) &
		    VIRTIO_STATUS_FEATURES_OK);
	assert_true(vdev_has_feature(&t->d, VIRTIO_F_EVENT_IDX));
	assert_false(vdev_has_feature(&t->d, VIRTIO_F_INDIRECT_DESC));
	assert_true(vdev_has_feature(&t->d, VIRTIO_F_VERSION_1));
	assert_false(vdev_has_feature(&t->d, 200));
}

static void test_mmio_features_ok_refused_without_version_1(void **state)
{
	struct mt *t = *state;
	uint32_t status = negotiate(t, FAKE_FEATURES);

	assert_false(status & VIRTIO_STATUS_FEATURES_OK);
	assert_true(status & VIRTIO_STATUS_DRIVER);
}

static void test_mmio_features_ok_refused_with_unoffered_feature(void **state)
{
	struct mt *t = *state;

	assert_false(negotiate(t, VERSION_1 | (1ULL << 5)) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_mmio_driver_features_ignored_before_driver(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	write_driver_features(t, VERSION_1);
	assert_int_equal(t->d.drv_features, 0);
}

static void test_mmio_driver_features_ignored_after_features_ok(void **state)
{
	struct mt *t = *state;

	assert_true(negotiate(t, VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	write_driver_features(t, VERSION_1 | FAKE_FEATURES);
	assert_int_equal(t->d.drv_features, VERSION_1);
	assert_false(vdev_has_feature(&t->d, VIRTIO_F_EVENT_IDX));
}

static void test_mmio_driver_features_sel_above_1_ignored(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(t, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	assert_int_equal(t->d.drv_features, 0);
}

/* ---- queue registers ----------------------------------------------------------------- */

static void test_mmio_queue_num_max_reports_device_max(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), FAKE_QUEUE_MAX);
}

static void test_mmio_queue_sel_out_of_range_reads_zero_and_ignores_writes(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, FAKE_QUEUES);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	program_queue(t, FAKE_QUEUES, 8);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	for (unsigned int q = FAKE_QUEUES; q < VDEV_MAX_QUEUES; q++) {
		assert_false(t->d.vqs[q].ready);
		assert_int_equal(t->d.vqs[q].desc_gpa, 0);
	}
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_mmio_queue_num_rejects_invalid_sizes(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 4);
	assert_int_equal(t->d.vqs[0].size, 4);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 6); /* not a power of two */
	assert_int_equal(t->d.vqs[0].size, 4);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 0);
	assert_int_equal(t->d.vqs[0].size, 4);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 2 * FAKE_QUEUE_MAX);
	assert_int_equal(t->d.vqs[0].size, 4);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 0x10004); /* truncation must not sneak 4 in */
	assert_int_equal(t->d.vqs[0].size, 4);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, FAKE_QUEUE_MAX);
	assert_int_equal(t->d.vqs[0].size, FAKE_QUEUE_MAX);
}

static void test_mmio_queue_ready_activates_with_negotiated_features(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1 | (1ULL << VIRTIO_F_INDIRECT_DESC));
	ready_queue(t, 1);
	assert_true(t->d.vqs[1].ready);
	assert_true(t->d.vqs[1].indirect);
	assert_false(t->d.vqs[1].event_idx);
	assert_int_equal(t->d.vqs[1].size, 8);
	assert_int_equal(t->d.vqs[1].desc_gpa, DESC_GPA + 0x4000);
	assert_false(t->d.vqs[0].ready);
}

static void test_mmio_queue_ready_before_features_ok_ignored(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	program_queue(t, 0, 8);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_mmio_queue_registers_frozen_when_ready(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	ready_queue(t, 0);
	wr(t, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 1);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, 0x6000);
	assert_int_equal(t->d.vqs[0].size, 8);
	assert_int_equal(t->d.vqs[0].desc_gpa, DESC_GPA);
	assert_int_equal(t->d.vqs[0].avail_gpa, AVAIL_GPA);
	assert_int_equal(t->d.vqs[0].used_gpa, USED_GPA);
	assert_ptr_equal(t->d.vqs[0].desc, unit_gpa(t->u, DESC_GPA));
}

static void test_mmio_queue_registers_frozen_after_driver_ok(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	ready_queue(t, 0);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	/* queue 1 was never made ready, and now can no longer be set up */
	program_queue(t, 1, 8);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(t->d.vqs[1].desc_gpa, 0);
	/* and queue 0 cannot be taken down behind the device's back */
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

static void test_mmio_queue_ready_bad_ring_sets_needs_reset(void **state)
{
	struct mt *t = *state;
	uint32_t gen = rd(t, VIRTIO_MMIO_CONFIG_GENERATION);

	negotiate(t, VERSION_1);
	program_queue(t, 0, 8);
	wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(t->u->size - 64)); /* 128-byte table */
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	assert_int_equal(rd(t, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
}

static void test_mmio_queue_ready_misaligned_ring_sets_needs_reset(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	program_queue(t, 0, 8);
	wr(t, VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA + 2);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_mmio_queue_ready_zero_resets_queue(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	ready_queue(t, 0);
	wr(t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(t->d.vqs[0].desc_gpa, 0);
	assert_int_equal(t->d.vqs[0].max_size, FAKE_QUEUE_MAX);
}

/* ---- notify, interrupts ------------------------------------------------------------- */

static void test_mmio_notify_signals_queue_eventfd(void **state)
{
	struct mt *t = *state;
	int evt = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(evt >= 0);
	t->d.queue_evt[1] = evt;
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(eventfd_count(evt), 1);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* queue 0 has no eventfd: nothing to do */
	assert_int_equal(eventfd_count(evt), 0);
	close(evt);
}

static void test_mmio_notify_nonexistent_queue_ignored(void **state)
{
	struct mt *t = *state;
	int evt[VDEV_MAX_QUEUES];

	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		evt[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(evt[q] >= 0);
		t->d.queue_evt[q] = evt[q];
	}
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, FAKE_QUEUES);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, VDEV_MAX_QUEUES);
	wr(t, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		assert_int_equal(eventfd_count(evt[q]), 0);
		close(evt[q]);
	}
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_mmio_interrupt_ack_clears_bits(void **state)
{
	struct mt *t = *state;

	t->d.interrupt_status = VIRTIO_INT_USED_RING | VIRTIO_INT_CONFIG;
	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED_RING);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	wr(t, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

static void test_mmio_notify_used_raises_interrupt_and_irqfd(void **state)
{
	struct mt *t = *state;
	int irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(irq >= 0);
	t->d.irqfd = irq;
	bring_up(t);
	vq_push(&t->d.vqs[0], 0, 0);
	vdev_notify_used(&t->d, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	assert_int_equal(eventfd_count(irq), 1);
	close(irq);
}

static void test_mmio_notify_used_respects_no_interrupt(void **state)
{
	struct mt *t = *state;
	int irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(irq >= 0);
	t->d.irqfd = irq;
	assert_true(negotiate(t, VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	ready_queue(t, 0);
	unit_st16(unit_gpa(t->u, AVAIL_GPA), VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&t->d.vqs[0], 0, 0);
	vdev_notify_used(&t->d, 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(eventfd_count(irq), 0);
	close(irq);
}

static void test_mmio_set_needs_reset_signals_config_interrupt(void **state)
{
	struct mt *t = *state;
	int irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(irq >= 0);
	t->d.irqfd = irq;
	bring_up(t);
	vdev_set_needs_reset(&t->d);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(eventfd_count(irq), 1);
	close(irq);
}

/* ---- access widths, undefined registers, config space --------------------------------- */

static void test_mmio_non_4_byte_register_access_ignored(void **state)
{
	struct mt *t = *state;
	uint8_t b[8];

	memset(b, 0xff, sizeof(b));
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	assert_int_equal(unit_ld16(b), 0);
	memset(b, 0xff, sizeof(b));
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_MAGIC_VALUE, b, 8);
	assert_int_equal(unit_ld64(b), 0);
	b[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_STATUS, b, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
	unit_st64(b, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_STATUS, b, 8);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
}

static void test_mmio_misaligned_register_access_ignored(void **state)
{
	struct mt *t = *state;

	assert_int_equal(rd(t, VIRTIO_MMIO_MAGIC_VALUE + 1), 0);
	wr(t, VIRTIO_MMIO_STATUS + 2, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
}

static void test_mmio_undefined_register_reads_zero(void **state)
{
	struct mt *t = *state;

	assert_int_equal(rd(t, 0x018), 0);
	assert_int_equal(rd(t, 0x0f8), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_QUEUE_NOTIFY), 0); /* write-only */
	wr(t, VIRTIO_MMIO_MAGIC_VALUE, 0);		      /* read-only */
	assert_int_equal(rd(t, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
}

static void test_mmio_config_access_in_bounds_served(void **state)
{
	struct mt *t = *state;
	uint8_t b[4];

	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_CONFIG + 7, b, 1);
	assert_int_equal(b[0], 8);
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_CONFIG + 2, b, 2);
	assert_int_equal(unit_ld16(b), 0x0403);
	assert_int_equal(rd(t, VIRTIO_MMIO_CONFIG + 4), 0x08070605);
	wr(t, VIRTIO_MMIO_CONFIG, 0xdeadbeef);
	assert_int_equal(unit_ld32(t->f.config), 0xdeadbeef);
}

static void test_mmio_config_access_out_of_bounds_ignored(void **state)
{
	struct mt *t = *state;
	uint8_t b[8];

	assert_int_equal(rd(t, VIRTIO_MMIO_CONFIG + FAKE_CONFIG_BYTES), 0);
	assert_int_equal(rd(t, 0xffc), 0);
	memset(b, 0xff, sizeof(b));
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_CONFIG + 8, b, 1);
	assert_int_equal(b[0], 0);
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_CONFIG + 1, b, 2); /* misaligned */
	assert_int_equal(unit_ld16(b), 0);
	virtio_mmio_bus_ops.read(&t->d, VIRTIO_MMIO_CONFIG, b, 8); /* width 8 */
	assert_int_equal(unit_ld64(b), 0);
	unit_st64(b, 0);
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_CONFIG, b, 8);
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_CONFIG + 6, b, 4); /* misaligned */
	virtio_mmio_bus_ops.write(&t->d, VIRTIO_MMIO_CONFIG + 8, b, 4);
	assert_memory_equal(t->f.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

/* ---- status ------------------------------------------------------------------------ */

static void test_mmio_status_bits_only_added(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_NEEDS_RESET); /* the device's bit */
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_mmio_status_zero_resets_device(void **state)
{
	struct mt *t = *state;

	bring_up(t);
	vdev_set_needs_reset(&t->d);
	wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(t, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(t->f.resets, 1);
	assert_int_equal(rd(t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(t->d.drv_features, 0);
	assert_int_equal(t->d.queue_sel, 0);
	assert_int_equal(t->d.dev_features_sel, 0);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		assert_false(t->d.vqs[q].ready);
		assert_int_equal(t->d.vqs[q].max_size, FAKE_QUEUE_MAX);
	}
	/* and the driver can start over */
	bring_up(t);
	assert_int_equal(t->f.activates, 2);
}

static void test_mmio_driver_ok_calls_activate(void **state)
{
	struct mt *t = *state;

	bring_up(t);
	assert_int_equal(t->f.activates, 1);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS)); /* rewriting is not re-activating */
	assert_int_equal(t->f.activates, 1);
}

static void test_mmio_driver_ok_before_features_ok_leaves_device_inactive(void **state)
{
	struct mt *t = *state;

	wr(t, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(t->f.activates, 0);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	assert_false(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FAILED);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 0);
}

static void test_mmio_activate_failure_sets_needs_reset(void **state)
{
	struct mt *t = *state;

	t->f.activate_ret = -5;
	bring_up(t);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 0);
}

/* ---- queue processing ------------------------------------------------------------------ */

static void test_mmio_process_queue_runs_when_live(void **state)
{
	struct mt *t = *state;

	bring_up(t);
	vdev_process_queue(&t->d, 1);
	assert_int_equal(t->f.processed[1], 1);
	assert_int_equal(t->f.processed[0], 0);
}

static void test_mmio_process_queue_skipped_before_driver_ok(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	ready_queue(t, 0);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 0);
}

static void test_mmio_process_queue_skipped_for_queue_not_ready(void **state)
{
	struct mt *t = *state;

	negotiate(t, VERSION_1);
	ready_queue(t, 0);
	wr(t, VIRTIO_MMIO_STATUS, rd(t, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	vdev_process_queue(&t->d, 1);
	vdev_process_queue(&t->d, FAKE_QUEUES);
	vdev_process_queue(&t->d, 1000);
	assert_int_equal(t->f.processed[1], 0);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 1);
}

static void test_mmio_process_queue_skipped_after_needs_reset(void **state)
{
	struct mt *t = *state;

	bring_up(t);
	vdev_set_needs_reset(&t->d);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 0);
}

/* A device that ignores a walker error still ends up in NEEDS_RESET (DESIGN.md §4.2). */
static void test_mmio_process_queue_broken_queue_sets_needs_reset(void **state)
{
	struct mt *t = *state;

	bring_up(t);
	t->f.pop_in_process = true;
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 4), 100); /* head out of range */
	unit_st16(unit_gpa(t->u, AVAIL_GPA + 2), 1);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 1);
	assert_true(t->d.vqs[0].broken);
	assert_true(rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	vdev_process_queue(&t->d, 0);
	assert_int_equal(t->f.processed[0], 1);
	vdev_process_queue(&t->d, 1); /* the whole device stops, not just the queue */
	assert_int_equal(t->f.processed[1], 0);
}

#define MT(fn) cmocka_unit_test_setup_teardown(fn, mt_setup, mt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    MT(test_mmio_identity_registers),
	    MT(test_mmio_device_features_by_selector),
	    MT(test_mmio_features_ok_accepts_offered_subset),
	    MT(test_mmio_features_ok_refused_without_version_1),
	    MT(test_mmio_features_ok_refused_with_unoffered_feature),
	    MT(test_mmio_driver_features_ignored_before_driver),
	    MT(test_mmio_driver_features_ignored_after_features_ok),
	    MT(test_mmio_driver_features_sel_above_1_ignored),
	    MT(test_mmio_queue_num_max_reports_device_max),
	    MT(test_mmio_queue_sel_out_of_range_reads_zero_and_ignores_writes),
	    MT(test_mmio_queue_num_rejects_invalid_sizes),
	    MT(test_mmio_queue_ready_activates_with_negotiated_features),
	    MT(test_mmio_queue_ready_before_features_ok_ignored),
	    MT(test_mmio_queue_registers_frozen_when_ready),
	    MT(test_mmio_queue_registers_frozen_after_driver_ok),
	    MT(test_mmio_queue_ready_bad_ring_sets_needs_reset),
	    MT(test_mmio_queue_ready_misaligned_ring_sets_needs_reset),
	    MT(test_mmio_queue_ready_zero_resets_queue),
	    MT(test_mmio_notify_signals_queue_eventfd),
	    MT(test_mmio_notify_nonexistent_queue_ignored),
	    MT(test_mmio_interrupt_ack_clears_bits),
	    MT(test_mmio_notify_used_raises_interrupt_and_irqfd),
	    MT(test_mmio_notify_used_respects_no_interrupt),
	    MT(test_mmio_set_needs_reset_signals_config_interrupt),
	    MT(test_mmio_non_4_byte_register_access_ignored),
	    MT(test_mmio_misaligned_register_access_ignored),
	    MT(test_mmio_undefined_register_reads_zero),
	    MT(test_mmio_config_access_in_bounds_served),
	    MT(test_mmio_config_access_out_of_bounds_ignored),
	    MT(test_mmio_status_bits_only_added),
	    MT(test_mmio_status_zero_resets_device),
	    MT(test_mmio_driver_ok_calls_activate),
	    MT(test_mmio_driver_ok_before_features_ok_leaves_device_inactive),
	    MT(test_mmio_activate_failure_sets_needs_reset),
	    MT(test_mmio_process_queue_runs_when_live),
	    MT(test_mmio_process_queue_skipped_before_driver_ok),
	    MT(test_mmio_process_queue_skipped_for_queue_not_ready),
	    MT(test_mmio_process_queue_skipped_after_needs_reset),
	    MT(test_mmio_process_queue_broken_queue_sets_needs_reset),
	};

	log_setup(2, LOG_ERROR, "test_mmio");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
