/* SPDX-License-Identifier: MIT */
/*
 * KVM VM setup (Documentation/virt/kvm/api.rst). Order matters: the TSS and
 * identity-map pages and the irqchip must exist before any vCPU does.
 */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/log.h"

#define KVM_EXPECTED_API_VERSION 12
#define KVM_CPUID_MAX_ENTRIES	 1024

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

int kvm_open(struct kvm *k, const char *dev_path)
{
	int version, mmap_bytes;

	k->vm_fd = -1;
	k->kvm_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (k->kvm_fd < 0) {
		int err = -errno;

		log_err("cannot open %s: %s", dev_path, strerror(errno));
		return err;
	}
	version = ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		log_err("%s is not a KVM device: %s", dev_path, strerror(errno));
		return -ENOTTY;
	}
	if (version != KVM_EXPECTED_API_VERSION) {
		log_err("KVM API version %d, need %d", version, KVM_EXPECTED_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			log_err("KVM lacks %s", kvm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	mmap_bytes = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_bytes < (int)sizeof(struct kvm_run)) {
		log_err("KVM_GET_VCPU_MMAP_SIZE returned %d", mmap_bytes);
		return -ENOTSUP;
	}
	k->run_mmap_bytes = (size_t)mmap_bytes;
	return 0;
}

static int kvm_vm_ioctl(struct kvm *k, unsigned long req, unsigned long arg, const char *what)
{
	if (ioctl(k->vm_fd, req, arg) < 0) {
		int err = -errno;

		log_err("%s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

int kvm_create_vm(struct kvm *k)
{
	k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		int err = -errno;

		log_err("KVM_CREATE_VM: %s", strerror(errno));
		return err;
	}
	return 0;
}

int kvm_create_platform(struct kvm *k)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t identity = KVM_IDENTITY_MAP_GPA;
	int err;

	err = kvm_vm_ioctl(k, KVM_SET_TSS_ADDR, KVM_TSS_GPA, "KVM_SET_TSS_ADDR");
	if (!err && ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0)
		err = kvm_vm_ioctl(k, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&identity,
				   "KVM_SET_IDENTITY_MAP_ADDR");
	if (!err)
		err = kvm_vm_ioctl(k, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	if (!err)
		err = kvm_vm_ioctl(k, KVM_CREATE_PIT2, (unsigned long)&pit, "KVM_CREATE_PIT2");
	return err;
}

int kvm_set_memory(struct kvm *k, const struct guest_mem *gm, bool log_dirty)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
		    .slot = i,
		    .flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		    .guest_phys_addr = gm->regions[i].gpa,
		    .memory_size = gm->regions[i].size,
		    .userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].host,
		};
		int err = kvm_vm_ioctl(k, KVM_SET_USER_MEMORY_REGION, (unsigned long)&r,
				       "KVM_SET_USER_MEMORY_REGION");

		if (err)
			return err;
	}
	return 0;
}

int kvm_get_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out)
{
	size_t bytes =
	    sizeof(struct kvm_cpuid2) + KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, bytes);

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int err = -errno;

		log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(cpuid);
		return err;
	}
	*out = cpuid;
	return 0;
}

int kvm_irq_line(const struct kvm *k, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	return ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	k->vm_fd = k->kvm_fd = -1;
}
