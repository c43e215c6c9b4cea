/* SPDX-License-Identifier: MIT */
/*
 * One microVM: its configuration, KVM handles, guest memory, buses, legacy
 * devices and vCPUs, and the exit request the vCPUs raise.
 */
#ifndef KILN_VM_H
#define KILN_VM_H

#include <stdint.h>

#include "vmm/boot/boot.h"
#include "vmm/boot_timer.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/i8042.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/serial.h"
#include "vmm/vcpu.h"
#include "vmm/vm_virtio.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/vsock.h"

/* Process exit codes (also documented in README.md). */
enum kiln_exit {
	KILN_EXIT_OK = 0,	  /* guest reset/shut down, or stopped by SIGTERM/SIGINT */
	KILN_EXIT_BAD_CONFIG = 1, /* bad argument or start-up failure */
	KILN_EXIT_VM_FAILURE = 3, /* KVM or emulation failure while running */
};

#define VM_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off nomodule"

struct vm_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *boot_args;
	const char *kvm_path; /* normally /dev/kvm */
	int serial_out_fd;    /* where COM1 output goes */
	unsigned int vcpus;
	uint64_t mem_mib;
	enum gm_backing backing;	 /* machine-config huge_pages */
	bool track_dirty_pages;		 /* KVM dirty log on guest RAM (for snapshots) */
	const struct blk_config *drives; /* nr_drives entries, in guest order */
	unsigned int nr_drives;
	bool rng;
	struct rl_config rng_rate_limiter; /* entropy rate_limiter */
	struct vsock_config vsock;	   /* uds_path NULL: no vsock device */
	const struct net_config *nets;	   /* nr_nets entries, after the drives and the rng */
	unsigned int nr_nets;
};

#define VM_MAX_NETS 8

#define VM_MAX_DRIVES 16

struct vm {
	struct vm_config cfg;
	struct kvm kvm;
	struct guest_mem gm;
	struct bus pio;
	struct bus mmio;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	struct boot_image image;
	struct blk_dev blks[VM_MAX_DRIVES];
	unsigned int nr_blks; /* opened drives */
	struct rng_dev rng;
	struct vsock_dev *vsock; /* owned (calloc: ~6 KiB); NULL without a vsock device */
	struct net_dev nets[VM_MAX_NETS];
	unsigned int nr_nets; /* opened taps */
	struct vm_virtio virtio;
	char cmdline[CMDLINE_MAX_BYTES]; /* boot args + device announcements */
	struct vcpu vcpus[KILN_MAX_VCPUS];
	unsigned int nr_vcpus_created;
	int devices_ready;	  /* serial and i8042 initialised */
	int exit_evt;		  /* eventfd the main loop waits on; written on exit request */
	int exit_code;		  /* first requested exit code; -1 while running (atomic) */
	int stopping;		  /* set once; vCPU threads leave their loop (atomic) */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, owned; freed by vm_destroy */
	int initialised;	  /* vm_init() ran: fds valid or -1 */
	int kvm_ready;		  /* /dev/kvm open, VM fd created, cpuid read */
	char error[256];	  /* why vm_build() failed: one line naming the culprit */
};

/*
 * Optional, before the configuration is known (the API waiting for
 * InstanceStart): open KVM, create the VM fd and read the supported CPUID, so
 * InstanceStart does not pay for them. vm_build() does it itself otherwise.
 */
int vm_prepare(struct vm *vm, const char *kvm_path);

/*
 * Validate @cfg and build everything up to, not including, running vCPUs.
 * On failure vm->error says why in one line naming the culprit.
 */
int vm_build(struct vm *vm, const struct vm_config *cfg);
int vm_start(struct vm *vm);
/* Register the virtio queue notifications with the main loop. */
int vm_watch(struct vm *vm, struct evloop *loop);
/* Ask the main loop to stop the VM with @code; the first request wins. */
void vm_request_exit(struct vm *vm, int code);
int vm_is_stopping(struct vm *vm);
int vm_exit_code(struct vm *vm);
/* Stop and join every vCPU thread. */
void vm_stop(struct vm *vm);
void vm_destroy(struct vm *vm);

#endif
