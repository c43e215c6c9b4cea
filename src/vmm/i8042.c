/* SPDX-License-Identifier: MIT */
/*
 * Minimal i8042: status/data registers, the controller commands Linux's
 * probe issues, the 0xFE pulse-reset line, and a small output buffer for
 * injected keyboard scan codes (set 2, as the controller reports them before
 * translation is configured).
 */
#include "vmm/i8042.h"

#include <errno.h>
#include <string.h>

#define I8042_STATUS_OBF      0x01
#define I8042_STATUS_SYS      0x04
#define I8042_STATUS_CMD      0x08
#define I8042_CMD_READ_CTR    0x20
#define I8042_CMD_WRITE_CTR   0x60
#define I8042_CMD_SELF_TEST   0xaa
#define I8042_CMD_KBD_TEST    0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE  0xae
#define I8042_CMD_READ_OUTP   0xd0
#define I8042_CMD_WRITE_OUTP  0xd1
#define I8042_CMD_PULSE_RESET 0xfe
#define I8042_CTR_KBD_INT     0x01
#define I8042_SELF_TEST_OK    0x55

static int i8042_push(struct i8042 *k, uint8_t b)
{
	if (k->count == I8042_BUF_BYTES)
		return -ENOSPC;
	k->buf[(k->head + k->count) % I8042_BUF_BYTES] = b;
	k->count++;
	return 0;
}

static uint8_t i8042_pop(struct i8042 *k)
{
	uint8_t b;

	if (!k->count)
		return 0;
	b = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF_BYTES;
	k->count--;
	return b;
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		i8042_push(k, k->cmd_byte);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTP:
		k->pending_cmd = cmd;
		break;
	case I8042_CMD_SELF_TEST:
		i8042_push(k, I8042_SELF_TEST_OK);
		break;
	case I8042_CMD_KBD_TEST:
		i8042_push(k, 0x00);
		break;
	case I8042_CMD_READ_OUTP:
		i8042_push(k, k->outp);
		break;
	case I8042_CMD_KBD_DISABLE:
	case I8042_CMD_KBD_ENABLE:
		break;
	case I8042_CMD_PULSE_RESET:
		if (k->on_reset)
			k->on_reset(k->opaque);
		break;
	default:
		break;
	}
}

static void i8042_data_write(struct i8042 *k, uint8_t v)
{
	switch (k->pending_cmd) {
	case I8042_CMD_WRITE_CTR:
		k->cmd_byte = v;
		break;
	case I8042_CMD_WRITE_OUTP:
		k->outp = v;
		/* Output port bit 0 low is the CPU reset line. */
		if (!(v & 0x01) && k->on_reset)
			k->on_reset(k->opaque);
		break;
	default:
		/* Keyboard commands: acknowledge them so the driver moves on. */
		i8042_push(k, 0xfa);
		break;
	}
	k->pending_cmd = 0;
}

static void i8042_bus_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	if (off == 0)
		data[0] = i8042_pop(k);
	else if (off == 4)
		data[0] = I8042_STATUS_SYS | (k->count ? I8042_STATUS_OBF : 0);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_bus_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)len;
	pthread_mutex_lock(&k->lock);
	if (off == 0)
		i8042_data_write(k, data[0]);
	else if (off == 4)
		i8042_command(k, data[0]);
	pthread_mutex_unlock(&k->lock);
}

const struct bus_dev_ops i8042_bus_ops = {
    .read = i8042_bus_read,
    .write = i8042_bus_write,
};

void i8042_init(struct i8042 *k, void (*on_reset)(void *), void (*kbd_irq)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->cmd_byte = I8042_CTR_KBD_INT;
	k->outp = 0x01;
	k->on_reset = on_reset;
	k->kbd_irq = kbd_irq;
	k->opaque = opaque;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

int i8042_inject_ctrl_alt_del(struct i8042 *k)
{
	/* Scan code set 2: Ctrl make, Alt make, Delete (E0 71) make. */
	static const uint8_t seq[] = {0x14, 0x11, 0xe0, 0x71};
	int err = 0;

	pthread_mutex_lock(&k->lock);
	if (k->count + sizeof(seq) > I8042_BUF_BYTES) {
		err = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(seq); i++)
			i8042_push(k, seq[i]);
	}
	pthread_mutex_unlock(&k->lock);
	if (!err && k->kbd_irq)
		k->kbd_irq(k->opaque);
	return err;
}
