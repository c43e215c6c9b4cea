# kiln — build, test, fuzz and benchmark entry points. See README.md.
.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD ?= build
CC := gcc
CLANG ?= clang
PYTEST ?= /usr/bin/python3 -m pytest
KILN_VERSION := 0.1.0

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
	-Wstrict-prototypes -Wvla
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS ?= -O2 -g
# libnl-3 route: tap set-up (src/jail/netdev.c).
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0)
NL_LIBS := $(shell pkg-config --libs libnl-route-3.0)
KILN_CFLAGS := -std=gnu11 $(WARN) $(HARDEN) -Isrc -DKILN_VERSION=\"$(KILN_VERSION)\" \
	-D_GNU_SOURCE -MMD -MP $(NL_CFLAGS)
LDFLAGS_HARD := -static-pie -Wl,-z,relro,-z,now,-z,noexecstack
LDLIBS := -ljansson -luring -lcap -lseccomp $(NL_LIBS) -lpthread

SRC_ALL := $(shell find src -name '*.c' | sort)
SRC_LIB := $(filter-out src/main.c,$(SRC_ALL))
# What fuzzers link: the parsers and the devices they drive, no KVM. Targets
# that need a module add it to FUZZ_EXTRA_<target> below instead of growing this.
SRC_PURE := src/vmm/guest_mem.c src/vmm/log.c src/vmm/cpuid.c $(wildcard src/vmm/boot/*.c) \
	src/vmm/bus.c src/devices/virtio/queue.c src/devices/virtio/mmio.c \
	src/devices/virtio/blk_req.c src/devices/virtio/blk.c src/devices/virtio/blk_io.c \
	src/devices/virtio/blk_aio.c \
	src/vmm/ratelimit.c src/vmm/evloop.c
FUZZ_LIBS := -ljansson -luring -lcap -lseccomp -lpthread
# Per-target extra sources, e.g. FUZZ_EXTRA_fuzz_http := src/api/http_parse.c
FUZZ_EXTRA_fuzz_http = $(wildcard src/api/http_parse.c)
FUZZ_EXTRA_fuzz_vsock = src/devices/virtio/vsock.c src/devices/virtio/vsock_conn.c \
	src/devices/virtio/vsock_pkt.c
FUZZ_EXTRA_fuzz_api = $(filter-out src/api/http.c src/api/http_listen.c src/api/api_vm.c,$(wildcard src/api/*.c)) \
	$(wildcard src/vmm/metrics.c) src/vmm/boot_timer.c src/jail/tap.c
FUZZ_EXTRA_fuzz_net_tx = src/devices/virtio/net_tx.c src/devices/virtio/net.c src/jail/tap.c

OBJ_LIB := $(SRC_LIB:%.c=$(BUILD)/obj/%.o)
OBJ_MAIN := $(BUILD)/obj/src/main.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_AFL_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz-afl/%)
FUZZ_SMOKE_SECONDS ?= 30

TESTGUEST := $(BUILD)/testguest.elf $(BUILD)/testguest-linux64.elf

.SECONDEXPANSION:
.PHONY: all kiln testguest seccomp-test-bins deps test unit integration format format-check check-asan \
	fuzz fuzz-build fuzz-afl fuzz-smoke bench demo test-linux linux-kernel clean

all: kiln testguest seccomp-test-bins

kiln: $(BUILD)/kiln

$(BUILD)/kiln: $(OBJ_LIB) $(OBJ_MAIN)
	$(CC) $(LDFLAGS_HARD) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libkiln.a: $(OBJ_LIB)
	rm -f $@ && ar rcs $@ $^

testguest: $(TESTGUEST)

# One sub-make builds both images (grouped target): with plain "a b: deps" make -j
# ran the recipe once per image, and the two sub-makes raced on the same objects.
$(TESTGUEST) &: $(wildcard kernel/testguest/*)
	$(MAKE) -C kernel/testguest O=$(abspath $(BUILD))

# ---- tests -----------------------------------------------------------------
# Seccomp (issue 5): the policy checker, and kiln-selftest, a kiln whose
# --seccomp-selftest flag makes a forbidden syscall. Never installed or shipped.
SECCOMP_SELFTEST_SRC := src/cli.c src/jail/seccomp.c
SECCOMP_SELFTEST_OBJ := $(SECCOMP_SELFTEST_SRC:%.c=$(BUILD)/obj-selftest/%.o)
SECCOMP_TEST_BINS := $(BUILD)/tests/seccomp_check $(BUILD)/kiln-selftest
seccomp-test-bins: $(SECCOMP_TEST_BINS)

$(BUILD)/obj-selftest/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CFLAGS) -DKILN_SECCOMP_SELFTEST -c -o $@ $<

$(BUILD)/kiln-selftest: $(filter-out $(SECCOMP_SELFTEST_SRC:%.c=$(BUILD)/obj/%.o),$(OBJ_LIB)) \
		$(SECCOMP_SELFTEST_OBJ) $(BUILD)/obj-selftest/src/main.o
	$(CC) $(LDFLAGS_HARD) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/seccomp_check: tests/seccomp/seccomp_check.c $(BUILD)/libkiln.a
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libkiln.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libkiln.a
	@mkdir -p $(dir $@)
	$(CC) $(KILN_CFLAGS) $(CFLAGS) -Wno-missing-prototypes -Itests/unit -o $@ $< \
		$(BUILD)/libkiln.a -lcmocka $(LDLIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all
	$(PYTEST) -q tests/integration

test: format-check unit integration

check-asan:
	$(MAKE) BUILD=build-asan CC=gcc \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDLIBS="-ljansson -luring -lcap -lseccomp $(NL_LIBS) -lpthread -fsanitize=address,undefined" unit

FORMAT_FILES = $(shell find src tests/unit tests/seccomp fuzz kernel/testguest kernel/linux bench -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# ---- fuzzing ---------------------------------------------------------------
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Isrc -D_GNU_SOURCE -DKILN_VERSION=\"$(KILN_VERSION)\" \
	-DKILN_FUZZING
$(BUILD)/fuzz/%: fuzz/%.c $(SRC_PURE) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(SRC_PURE) \
		$(FUZZ_EXTRA_$*) $(FUZZ_LIBS)

$(BUILD)/fuzz-afl/%: fuzz/%.c $(SRC_PURE) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(dir $@)
	AFL_QUIET=1 afl-clang-fast $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(SRC_PURE) \
		$(FUZZ_EXTRA_$*) $(FUZZ_LIBS)


fuzz-build: $(FUZZ_BIN)
fuzz-afl: $(FUZZ_AFL_BIN)

fuzz-smoke: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "== $$n for $(FUZZ_SMOKE_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$n fuzz/corpus/$$n 2>&1 | tail -n 12; done

# ---- guests, demo, benchmarks ----------------------------------------------
demo: all
	$(BUILD)/kiln --kernel $(BUILD)/testguest.elf --vcpus 2 --mem-mib 128 \
		--boot-args "console=ttyS0 ktest=all"

bench: all
	/usr/bin/python3 bench/boot_bench.py --out docs/bench-boot.json
	/usr/bin/python3 bench/blk_bench.py --out docs/bench-blk.json
	/usr/bin/python3 bench/api_bench.py --out docs/bench-api.json
	/usr/bin/python3 bench/rss_after_virtio.py --out docs/bench-rss-virtio.json
	/usr/bin/python3 bench/vsock_bench.py --out docs/bench-vsock.json

linux-kernel:
	kernel/linux/build-kernel.sh

test-linux: all
	kernel/linux/build-kernel.sh && kernel/linux/build-rootfs.sh && \
		$(PYTEST) -q tests/linux

deps:
	.ci/deps.sh

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj $(BUILD)/obj-selftest -name '*.d' 2>/dev/null)
