/* SPDX-License-Identifier: MIT */
/*
 * Building a VM from its configuration: KVM, guest memory, kernel and initrd,
 * boot tables, legacy devices on the buses, vCPUs. Each step logs its own
 * failure once and returns a negative errno; vm_destroy() undoes any prefix.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

/* Kernels and initrds larger than this are refused before mapping. */
#define VM_MAX_IMAGE_BYTES (1ULL << 30)

/* Record why the build failed (first reason wins); main() prints it once. */
__attribute__((format(printf, 3, 4))) static int vm_fail(struct vm *vm, int err, const char *fmt,
							 ...)
{
	va_list ap;

	if (!vm->error[0]) {
		va_start(ap, fmt);
		vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
		va_end(ap);
	}
	return err;
}

struct vm_file {
	const uint8_t *data;
	size_t len;
};

static int vm_map_file(struct vm *vm, const char *what, const char *path, struct vm_file *f)
{
	struct stat st;
	int fd, err = 0;
	void *p;

	f->data = NULL;
	f->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return vm_fail(vm, err, "cannot open %s %s: %s", what, path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = vm_fail(vm, -EINVAL, "%s %s is not a regular file", what, path);
	} else if (st.st_size == 0) {
		err = vm_fail(vm, -EINVAL, "%s %s is empty", what, path);
	} else if ((uint64_t)st.st_size > VM_MAX_IMAGE_BYTES) {
		err = vm_fail(vm, -EFBIG, "%s %s is larger than %llu bytes", what, path,
			      VM_MAX_IMAGE_BYTES);
	} else {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			err = vm_fail(vm, -errno, "cannot map %s %s: %s", what, path,
				      strerror(errno));
		} else {
			f->data = p;
			f->len = (size_t)st.st_size;
		}
	}
	close(fd);
	return err;
}

static void vm_unmap_file(struct vm_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->len);
	f->data = NULL;
}

static int vm_check_boot_err(struct vm *vm, enum boot_err e, const char *what, const char *path)
{
	if (e == BOOT_OK)
		return 0;
	return vm_fail(vm, -EINVAL, "%s %s: %s", what, path, boot_err_str(e));
}

/* Kernel, initrd, command line and the protocol's boot structures. */
static int vm_load_guest(struct vm *vm)
{
	struct vm_file kernel, initrd = {NULL, 0};
	struct boot_params_in in = {.cmdline_gpa = CMDLINE_GPA};
	const char *args = vm->cmdline;
	int err;

	err = vm_map_file(vm, "kernel", vm->cfg.kernel_path, &kernel);
	if (err)
		return err;
	/* The kernel is the first thing written into fresh RAM (see gm.untouched). */
	err = vm_check_boot_err(vm, boot_load_kernel(&vm->gm, kernel.data, kernel.len, &vm->image),
				"kernel", vm->cfg.kernel_path);
	vm->gm.untouched = false;
	vm_unmap_file(&kernel);
	if (!err && vm->cfg.initrd_path) {
		err = vm_map_file(vm, "initrd", vm->cfg.initrd_path, &initrd);
		if (!err)
			err = vm_check_boot_err(vm,
						initrd_place(&vm->gm, &vm->image, initrd.data,
							     initrd.len, &in.initrd_gpa),
						"initrd", vm->cfg.initrd_path);
		in.initrd_len = initrd.len;
		vm_unmap_file(&initrd);
	}
	if (!err)
		err = vm_check_boot_err(vm, cmdline_write(&vm->gm, args, vm->image.cmdline_max),
					"boot args for", vm->cfg.kernel_path);
	if (err)
		return err;
	in.cmdline_len = (uint32_t)strlen(args);
	if (vm->image.proto == BOOT_PROTO_PVH)
		err = vm_check_boot_err(vm, pvh_write_start_info(&vm->gm, &in),
					"PVH start info for", vm->cfg.kernel_path);
	else
		err = vm_check_boot_err(vm, linux64_write_zero_page(&vm->gm, &vm->image, &in),
					"zero page for", vm->cfg.kernel_path);
	if (!err)
		err = vm_check_boot_err(vm, linux64_write_page_tables(&vm->gm), "page tables for",
					vm->cfg.kernel_path);
	if (!err)
		err =
		    vm_check_boot_err(vm, boot_write_gdt(&vm->gm), "GDT for", vm->cfg.kernel_path);
	if (!err)
		err = vm_check_boot_err(vm, mptable_write(&vm->gm, vm->cfg.vcpus), "MP table for",
					vm->cfg.kernel_path);
	return err;
}

/* The vsock device: its listening socket exists from here on (docs/VIRTIO.md). */
static int vm_add_vsock(struct vm *vm, const struct vsock_config *cfg)
{
	struct vdev *d;
	int err;

	vm->vsock = calloc(1, sizeof(*vm->vsock));
	if (!vm->vsock)
		return vm_fail(vm, -ENOMEM, "out of memory for the vsock device");
	err = vsock_open(vm->vsock, cfg);
	if (err) {
		free(vm->vsock);
		vm->vsock = NULL;
		return vm_fail(vm, err, "cannot create the vsock socket %s: %s", cfg->uds_path,
			       strerror(-err));
	}
	d = vm_virtio_add(&vm->virtio, &vsock_virtio_ops, vm->vsock, vsock_features(), &vm->gm);
	if (!d)
		return vm_fail(vm, -ENOSPC, "too many virtio devices");
	vsock_attach(vm->vsock, d);
	return 0;
}

/* Open (or take the pre-opened fd of) every tap; one virtio-net slot each. */
static int vm_add_net_devices(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	char why[256];

	if (cfg->nr_nets > VM_MAX_NETS)
		return vm_fail(vm, -E2BIG, "at most %d network interfaces", VM_MAX_NETS);
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct net_dev *n = &vm->nets[i];
		int err = net_open(n, &cfg->nets[i], why, sizeof(why));

		if (err)
			return vm_fail(vm, err, "network interface %s: %s", cfg->nets[i].iface_id,
				       why);
		vm->nr_nets++;
		err = net_open_limiters(n, &cfg->nets[i]);
		if (err)
			return vm_fail(vm, err, "network interface %s: rate limiter timer: %s",
				       cfg->nets[i].iface_id, strerror(-err));
		if (!vm_virtio_add(&vm->virtio, &net_virtio_ops, n, net_features(n), &vm->gm))
			return vm_fail(vm, -ENOSPC, "too many virtio devices");
	}
	return 0;
}

/* Open every drive, the rng, vsock and the taps; a virtio-mmio slot each, in order. */
static int vm_add_virtio_devices(struct vm *vm)
{
	const struct vm_config *cfg = &vm->cfg;
	struct vdev *d;
	int err;

	if (cfg->nr_drives > VM_MAX_DRIVES)
		return vm_fail(vm, -E2BIG, "at most %d drives", VM_MAX_DRIVES);
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		struct blk_dev *b = &vm->blks[i];

		err = blk_open(b, &cfg->drives[i]);
		if (err)
			return vm_fail(vm, err, "cannot attach drive %s: %s", cfg->drives[i].path,
				       strerror(-err));
		vm->nr_blks++;
		err = blk_open_limiter(b, &cfg->drives[i].rate_limiter);
		if (err)
			return vm_fail(vm, err, "drive %s: rate limiter timer: %s",
				       cfg->drives[i].path, strerror(-err));
		d = vm_virtio_add(&vm->virtio, &blk_virtio_ops, b, blk_features(b), &vm->gm);
		if (!d)
			return vm_fail(vm, -ENOSPC, "too many virtio devices");
	}
	if (cfg->rng) {
		rng_init(&vm->rng);
		err = rng_open_limiter(&vm->rng, &cfg->rng_rate_limiter);
		if (err)
			return vm_fail(vm, err, "entropy: rate limiter timer: %s", strerror(-err));
		d = vm_virtio_add(&vm->virtio, &rng_virtio_ops, &vm->rng, rng_features(), &vm->gm);
		if (!d)
			return vm_fail(vm, -ENOSPC, "too many virtio devices");
	}
	if (cfg->vsock.uds_path) {
		err = vm_add_vsock(vm, &cfg->vsock);
		if (err)
			return err;
	}
	return vm_add_net_devices(vm);
}

/* Boot args, then one virtio_mmio.device= per device, then root= if asked. */
static int vm_build_cmdline(struct vm *vm)
{
	char root[32];

	if (strlen(vm->cfg.boot_args) >= sizeof(vm->cmdline))
		return vm_fail(vm, -ENOSPC, "boot args are longer than %zu bytes",
			       sizeof(vm->cmdline) - 1);
	snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", vm->cfg.boot_args);
	if (vm_virtio_cmdline(&vm->virtio, vm->cmdline, sizeof(vm->cmdline)))
		return vm_fail(vm, -ENOSPC, "boot args plus device announcements exceed %zu bytes",
			       sizeof(vm->cmdline) - 1);
	for (unsigned int i = 0; i < vm->nr_blks; i++) {
		if (!vm->blks[i].is_root)
			continue;
		/* Linux names virtio disks vda, vdb, ... in probe (command-line) order. */
		snprintf(root, sizeof(root), "root=/dev/vd%c %s", 'a' + i,
			 vm->blks[i].lim.read_only ? "ro" : "rw");
		if (cmdline_append(vm->cmdline, sizeof(vm->cmdline), root))
			return vm_fail(vm, -ENOSPC, "boot args plus root= exceed %zu bytes",
				       sizeof(vm->cmdline) - 1);
	}
	return 0;
}

static void vm_serial_irq(void *opaque)
{
	struct vm *vm = opaque;

	/* ISA interrupts are edge-triggered (MP table): pulse the line. */
	kvm_irq_line(&vm->kvm, SERIAL_COM1_IRQ, 1);
	kvm_irq_line(&vm->kvm, SERIAL_COM1_IRQ, 0);
}

static void vm_kbd_irq(void *opaque)
{
	struct vm *vm = opaque;

	kvm_irq_line(&vm->kvm, I8042_KBD_IRQ, 1);
	kvm_irq_line(&vm->kvm, I8042_KBD_IRQ, 0);
}

static void vm_guest_reset(void *opaque)
{
	struct vm *vm = opaque;

	log_info("guest requested a reset through the i8042, stopping");
	vm_request_exit(vm, KILN_EXIT_OK);
}

static int vm_add_devices(struct vm *vm)
{
	int err;

	serial_init(&vm->serial, vm->cfg.serial_out_fd, vm_serial_irq, vm);
	i8042_init(&vm->i8042, vm_guest_reset, vm_kbd_irq, vm);
	vm->devices_ready = 1;
	err = bus_register(&vm->pio, SERIAL_COM1_PORT, SERIAL_PORT_COUNT, &serial_bus_ops,
			   &vm->serial, "serial");
	if (!err)
		err = bus_register(&vm->pio, I8042_DATA_PORT, I8042_CMD_PORT - I8042_DATA_PORT + 1,
				   &i8042_bus_ops, &vm->i8042, "i8042");
	if (!err)
		err = bus_register(&vm->mmio, BOOT_TIMER_GPA, BOOT_TIMER_BYTES, &boot_timer_bus_ops,
				   &vm->boot_timer, "boot-timer");
	if (err)
		return vm_fail(vm, err, "registering legacy devices: %s", strerror(-err));
	return 0;
}

static int vm_create_vcpus(struct vm *vm)
{
	int err = 0;

	for (unsigned int i = 0; !err && i < vm->cfg.vcpus; i++) {
		err = vcpu_create(&vm->vcpus[i], vm, i);
		if (err)
			break;
		vm->nr_vcpus_created++;
		err = vcpu_configure(&vm->vcpus[i], vm->cpuid, vm->cfg.vcpus);
	}
	/* Only the boot CPU gets entry registers; APs wait for INIT/SIPI in KVM. */
	if (!err)
		err = vcpu_set_boot_regs(&vm->vcpus[0], &vm->image);
	return err;
}

static int vm_build_steps(struct vm *vm, const struct vm_config *cfg);

int vm_build(struct vm *vm, const struct vm_config *cfg)
{
	struct boot_timer t0;
	int err;

	boot_timer_stamp(&t0);
	err = vm_build_steps(vm, cfg);
	if (!err)
		log_debug("VM built in %llu us (%llu CPU us)",
			  (unsigned long long)(boot_timer_now_ns(CLOCK_MONOTONIC) - t0.start_ns) /
			      1000,
			  (unsigned long long)(boot_timer_now_ns(CLOCK_PROCESS_CPUTIME_ID) -
					       t0.start_cpu_ns) /
			      1000);
	return err;
}

static int vm_init(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm.kvm_fd = vm->kvm.vm_fd = -1;
	rng_init(&vm->rng); /* its timer fd is -1 until the rng is configured */
	vm->exit_code = -1;
	vm->exit_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_evt < 0)
		return vm_fail(vm, -errno, "eventfd: %s", strerror(errno));
	vm->initialised = 1;
	return 0;
}

/* The configuration-independent KVM work: device, VM fd, supported CPUID. */
static int vm_open_kvm(struct vm *vm, const char *kvm_path)
{
	int err = kvm_open(&vm->kvm, kvm_path);

	if (!err)
		err = kvm_create_vm(&vm->kvm);
	if (!err)
		err = kvm_get_supported_cpuid(&vm->kvm, &vm->cpuid);
	if (err)
		return vm_fail(vm, err, "cannot use the KVM device %s: %s", kvm_path,
			       strerror(-err));
	vm->kvm_ready = 1;
	return 0;
}

int vm_prepare(struct vm *vm, const char *kvm_path)
{
	int err = vm->initialised ? 0 : vm_init(vm);

	if (!err && !vm->kvm_ready)
		err = vm_open_kvm(vm, kvm_path);
	return err;
}

static int vm_build_steps(struct vm *vm, const struct vm_config *cfg)
{
	int err = vm->initialised ? 0 : vm_init(vm);

	if (err)
		return err;
	vm->cfg = *cfg;
	err = gm_map(&vm->gm, cfg->mem_mib << 20, cfg->backing);
	if (err == -ENOMEM && cfg->backing == GM_BACKING_HUGETLB_2M)
		return vm_fail(
		    vm, err,
		    "cannot map %llu MiB of guest memory in 2 MiB huge pages: not enough "
		    "reserved on the host (/proc/sys/vm/nr_hugepages)",
		    (unsigned long long)cfg->mem_mib);
	if (err)
		return vm_fail(vm, err, "cannot map %llu MiB of guest memory: %s",
			       (unsigned long long)cfg->mem_mib, strerror(-err));
	err = vm_add_virtio_devices(vm);
	if (!err)
		err = vm_build_cmdline(vm);
	if (!err)
		err = vm_load_guest(vm);
	/* A bad kernel or drive is reported before KVM is even needed. */
	if (!err && !vm->kvm_ready)
		err = vm_open_kvm(vm, cfg->kvm_path);
	if (err)
		return err;
	err = kvm_set_memory(&vm->kvm, &vm->gm, cfg->track_dirty_pages);
	if (!err)
		err = kvm_create_platform(&vm->kvm);
	if (!err)
		err = vm_add_devices(vm);
	if (!err)
		err = vm_virtio_wire(&vm->virtio, &vm->kvm, &vm->mmio);
	if (!err)
		err = vm_create_vcpus(vm);
	if (err)
		return vm_fail(vm, err, "KVM set-up failed: %s (see the log above)",
			       strerror(-err));
	return 0;
}

int vm_start(struct vm *vm)
{
	int err = vcpu_install_kick_handler();

	if (err) {
		log_err("installing the vCPU kick handler: %s", strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus_created; i++) {
		err = vcpu_start(&vm->vcpus[i]);
		if (err)
			return err;
	}
	return 0;
}

int vm_watch(struct vm *vm, struct evloop *loop)
{
	return vm_virtio_watch(&vm->virtio, loop);
}

void vm_request_exit(struct vm *vm, int code)
{
	int expected = -1;
	uint64_t one = 1;

	if (__atomic_compare_exchange_n(&vm->exit_code, &expected, code, 0, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST)) {
		__atomic_store_n(&vm->stopping, 1, __ATOMIC_SEQ_CST);
		if (write(vm->exit_evt, &one, sizeof(one)) < 0)
			log_err("cannot signal the exit request: %s", strerror(errno));
	}
}

int vm_is_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST);
}

int vm_exit_code(struct vm *vm)
{
	int code = __atomic_load_n(&vm->exit_code, __ATOMIC_SEQ_CST);

	return code < 0 ? KILN_EXIT_OK : code;
}

void vm_stop(struct vm *vm)
{
	__atomic_store_n(&vm->stopping, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < vm->nr_vcpus_created; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus_created; i++)
		vcpu_join(&vm->vcpus[i]);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus_created; i++)
		vcpu_destroy(&vm->vcpus[i]);
	vm->nr_vcpus_created = 0;
	vm_virtio_destroy(&vm->virtio);
	if (vm->vsock) {
		vsock_close(vm->vsock);
		free(vm->vsock);
		vm->vsock = NULL;
	}
	for (unsigned int i = 0; i < vm->nr_blks; i++)
		blk_close(&vm->blks[i]);
	vm->nr_blks = 0;
	rng_close(&vm->rng);
	for (unsigned int i = 0; i < vm->nr_nets; i++)
		net_close(&vm->nets[i]);
	vm->nr_nets = 0;
	if (vm->devices_ready) {
		serial_destroy(&vm->serial);
		i8042_destroy(&vm->i8042);
		vm->devices_ready = 0;
	}
	kvm_close(&vm->kvm);
	free(vm->cpuid);
	vm->cpuid = NULL;
	vm->kvm_ready = 0;
	vm->initialised = 0;
	gm_unmap(&vm->gm);
	if (vm->exit_evt >= 0)
		close(vm->exit_evt);
	vm->exit_evt = -1;
}
