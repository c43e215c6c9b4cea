/* SPDX-License-Identifier: MIT */
/* i8042: reset line, probe commands, Ctrl-Alt-Del injection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/i8042.h"

struct events {
	int resets, irqs;
};

static void on_reset(void *opaque)
{
	((struct events *)opaque)->resets++;
}

static void on_irq(void *opaque)
{
	((struct events *)opaque)->irqs++;
}

static uint8_t rd(struct i8042 *k, uint64_t off)
{
	uint8_t v;

	i8042_bus_ops.read(k, off, &v, 1);
	return v;
}

static void wr(struct i8042 *k, uint64_t off, uint8_t v)
{
	i8042_bus_ops.write(k, off, &v, 1);
}

static void test_i8042_pulse_reset_command_requests_reset(void **state)
{
	struct events ev = {0};
	struct i8042 k;

	(void)state;
	i8042_init(&k, on_reset, on_irq, &ev);
	wr(&k, 4, 0xfe);
	assert_int_equal(ev.resets, 1);
	i8042_destroy(&k);
}

static void test_i8042_output_port_reset_bit_requests_reset(void **state)
{
	struct events ev = {0};
	struct i8042 k;

	(void)state;
	i8042_init(&k, on_reset, on_irq, &ev);
	wr(&k, 4, 0xd1);
	wr(&k, 0, 0x02); /* bit 0 low: CPU reset */
	assert_int_equal(ev.resets, 1);
	i8042_destroy(&k);
}

static void test_i8042_self_test_and_command_byte(void **state)
{
	struct events ev = {0};
	struct i8042 k;

	(void)state;
	i8042_init(&k, on_reset, on_irq, &ev);
	wr(&k, 4, 0xaa);
	assert_int_equal(rd(&k, 4) & 0x01, 0x01);
	assert_int_equal(rd(&k, 0), 0x55);
	wr(&k, 4, 0x60);
	wr(&k, 0, 0x47);
	wr(&k, 4, 0x20);
	assert_int_equal(rd(&k, 0), 0x47);
	assert_int_equal(rd(&k, 4) & 0x01, 0x00);
	assert_int_equal(ev.resets, 0);
	i8042_destroy(&k);
}

static void test_i8042_ctrl_alt_del_queues_scancodes_and_irq(void **state)
{
	struct events ev = {0};
	struct i8042 k;
	const uint8_t want[] = {0x14, 0x11, 0xe0, 0x71};

	(void)state;
	i8042_init(&k, on_reset, on_irq, &ev);
	assert_int_equal(i8042_inject_ctrl_alt_del(&k), 0);
	assert_int_equal(ev.irqs, 1);
	for (unsigned int i = 0; i < sizeof(want); i++)
		assert_int_equal(rd(&k, 0), want[i]);
	i8042_destroy(&k);
}

static void test_i8042_injection_refused_when_buffer_full(void **state)
{
	struct events ev = {0};
	struct i8042 k;

	(void)state;
	i8042_init(&k, on_reset, on_irq, &ev);
	for (int i = 0; i < I8042_BUF_BYTES / 4; i++)
		assert_int_equal(i8042_inject_ctrl_alt_del(&k), 0);
	assert_int_equal(i8042_inject_ctrl_alt_del(&k), -ENOSPC);
	i8042_destroy(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_i8042_pulse_reset_command_requests_reset),
	    cmocka_unit_test(test_i8042_output_port_reset_bit_requests_reset),
	    cmocka_unit_test(test_i8042_self_test_and_command_byte),
	    cmocka_unit_test(test_i8042_ctrl_alt_del_queues_scancodes_and_irq),
	    cmocka_unit_test(test_i8042_injection_refused_when_buffer_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
