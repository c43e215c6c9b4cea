/* SPDX-License-Identifier: MIT */
/* 16550A: register semantics the Linux 8250 driver and the test guest rely on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/serial.h"

struct edge_count {
	int edges;
};

static void count_edge(void *opaque)
{
	((struct edge_count *)opaque)->edges++;
}

static uint8_t rd(struct serial *s, uint64_t off)
{
	uint8_t v;

	serial_bus_ops.read(s, off, &v, 1);
	return v;
}

static void wr(struct serial *s, uint64_t off, uint8_t v)
{
	serial_bus_ops.write(s, off, &v, 1);
}

static void test_serial_thr_write_reaches_output_fd(void **state)
{
	struct serial s;
	int p[2];
	char buf[4] = {0};

	(void)state;
	assert_int_equal(pipe(p), 0);
	serial_init(&s, p[1], NULL, NULL);
	wr(&s, 0, 'o');
	wr(&s, 0, 'k');
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ok");
	serial_destroy(&s);
	close(p[0]);
	close(p[1]);
}

static void test_serial_scratch_and_divisor_latch_round_trip(void **state)
{
	struct serial s;

	(void)state;
	serial_init(&s, -1, NULL, NULL);
	wr(&s, 7, 0xa5);
	assert_int_equal(rd(&s, 7), 0xa5);
	wr(&s, 3, 0x83); /* DLAB on */
	wr(&s, 0, 0x01);
	wr(&s, 1, 0x02);
	assert_int_equal(rd(&s, 0), 0x01);
	assert_int_equal(rd(&s, 1), 0x02);
	wr(&s, 3, 0x03); /* DLAB off: IER visible again */
	assert_int_equal(rd(&s, 1), 0x00);
	serial_destroy(&s);
}

static void test_serial_lsr_reports_thr_empty_and_data_ready(void **state)
{
	struct serial s;
	const uint8_t in[] = {'x'};

	(void)state;
	serial_init(&s, -1, NULL, NULL);
	assert_int_equal(rd(&s, 5) & 0x61, 0x60);
	assert_int_equal(serial_push_input(&s, in, 1), 1);
	assert_int_equal(rd(&s, 5) & 0x01, 0x01);
	assert_int_equal(rd(&s, 0), 'x');
	assert_int_equal(rd(&s, 5) & 0x01, 0x00);
	serial_destroy(&s);
}

static void test_serial_enabling_thri_raises_one_edge_cleared_by_iir(void **state)
{
	struct edge_count ec = {0};
	struct serial s;

	(void)state;
	serial_init(&s, -1, count_edge, &ec);
	wr(&s, 1, 0x02);
	assert_int_equal(ec.edges, 1);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02); /* THRI pending */
	assert_int_equal(rd(&s, 2) & 0x0f, 0x01); /* cleared by the read */
	wr(&s, 0, 'a');				  /* THR empties again */
	assert_int_equal(ec.edges, 2);
	serial_destroy(&s);
}

static void test_serial_rx_interrupt_has_priority_over_thri(void **state)
{
	struct edge_count ec = {0};
	struct serial s;
	const uint8_t in[] = {'y'};

	(void)state;
	serial_init(&s, -1, count_edge, &ec);
	wr(&s, 1, 0x03);
	serial_push_input(&s, in, 1);
	assert_int_equal(rd(&s, 2) & 0x0f, 0x04);
	assert_int_equal(rd(&s, 0), 'y');
	assert_int_equal(rd(&s, 2) & 0x0f, 0x02);
	serial_destroy(&s);
}

static void test_serial_input_beyond_fifo_is_refused(void **state)
{
	struct serial s;
	uint8_t in[SERIAL_RX_FIFO_BYTES + 10];

	(void)state;
	memset(in, 'z', sizeof(in));
	serial_init(&s, -1, NULL, NULL);
	assert_int_equal(serial_push_input(&s, in, sizeof(in)), SERIAL_RX_FIFO_BYTES);
	assert_int_equal(serial_rx_space(&s), 0);
	rd(&s, 0);
	assert_int_equal(serial_rx_space(&s), 1);
	serial_destroy(&s);
}

static void test_serial_loopback_maps_mcr_to_msr(void **state)
{
	struct serial s;

	(void)state;
	serial_init(&s, -1, NULL, NULL);
	wr(&s, 4, 0x1a); /* loop | OUT2 | RTS: the 8250 probe's pattern */
	assert_int_equal(rd(&s, 6) & 0xf0, 0x90);
	wr(&s, 0, 'q'); /* looped back into RX */
	assert_int_equal(rd(&s, 0), 'q');
	serial_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial_thr_write_reaches_output_fd),
	    cmocka_unit_test(test_serial_scratch_and_divisor_latch_round_trip),
	    cmocka_unit_test(test_serial_lsr_reports_thr_empty_and_data_ready),
	    cmocka_unit_test(test_serial_enabling_thri_raises_one_edge_cleared_by_iir),
	    cmocka_unit_test(test_serial_rx_interrupt_has_priority_over_thri),
	    cmocka_unit_test(test_serial_input_beyond_fifo_is_refused),
	    cmocka_unit_test(test_serial_loopback_maps_mcr_to_msr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
