/* SPDX-License-Identifier: MIT */
/*
 * The API's hooks into a real VM (struct api_ops over struct vm): build and
 * start from a spec, Ctrl+Alt+Del, drive backing-file swaps, counters for the
 * metrics line. Kept apart from the routes so the fuzzer links without KVM.
 */
#ifndef KILN_API_VM_H
#define KILN_API_VM_H

#include <stdbool.h>

#include "api/api.h"
#include "vmm/evloop.h"
#include "vmm/vm.h"

struct api_vm {
	struct vm vm;
	struct evloop *loop;  /* the main loop the VM's queue eventfds join */
	const char *kvm_path; /* normally /dev/kvm */
	bool built;	      /* vm holds resources: vm_stop()/vm_destroy() at exit */
	bool prepared;	      /* vm_prepare() ran: KVM open, VM fd created, nothing built */
	/* vm.cfg.drives points here; the strings belong to the API's spec. */
	struct blk_config drives[VM_MAX_DRIVES];
	/* vm.cfg.nets points here; the strings belong to the API's spec. */
	struct net_config nets[VM_MAX_NETS];
	/* Main's hook once the vCPUs run (exit eventfd, stdin); non-zero fails the start. */
	int (*on_started)(void *ctx);
	void *ctx;
};

extern const struct api_ops api_vm_ops; /* opaque: struct api_vm */

/* Stop and free the VM if one was built. */
/* Open KVM and create the VM fd ahead of InstanceStart (see vm_prepare()). */
void api_vm_prepare(struct api_vm *av);
void api_vm_teardown(struct api_vm *av);

#endif
