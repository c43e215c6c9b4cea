/* SPDX-License-Identifier: MIT */
/*
 * The main thread's three filters. "startup" (preboot plus the event loop's
 * set-up) is on from the end of the jail steps and the API socket's bind
 * (main.c: no filter allows socket, bind or listen); "preboot" is stacked
 * once the loop serves the socket: the API is served and, at InstanceStart (or at once from
 * the CLI), the VM is built, so it allows the VM-building KVM ioctls, guest-RAM mmap, opening
 * kernel/drive/log files and creating the vCPU threads. "runtime" is stacked once the vCPUs run:
 * the event loop (devices, API, signals), PATCH /drives, PUT /logger and /metrics, and the exit
 * path. Found with `strace -f` over the integration suite plus a reading of the error paths.
 */
#include <linux/if_tun.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <sys/un.h>

#include "devices/virtio/vsock.h"
#include "jail/policy_common.h"

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* Rows both main-thread filters share; kept as a macro so each table stays flat data. */
#define POLICY_MAIN_COMMON_ROWS                                                                    \
	{"read", {}, 0, "API requests, signalfd, eventfds (ioeventfd, exit, io_uring), stdin"},    \
	    {"write", {}, 0, "log lines, serial output, irqfd/eventfd kicks, metrics"},            \
	    {"writev", {}, 0, "metrics lines (metrics.c: line + newline in one write)"},           \
	    {"close", {}, 0, "API connections, swapped drives, teardown at exit"},                 \
	    {"epoll_wait", {}, 0, "the main event loop (evloop.c)"},                               \
	    {"epoll_ctl", {}, 0, "API connections and device handlers join/leave the loop"},       \
	    {"accept4", {}, 0, "new API and vsock host connections on the listening sockets"},     \
	    {"recvfrom", {}, 0, "API request bytes (recv); vsock CONNECT lines (MSG_PEEK)"},       \
	    {"sendto", {}, 0, "API responses, vsock \"OK <port>\" (send, MSG_NOSIGNAL)"},          \
	    {"socket",                                                                             \
	     {SECCOMP_EQ(0, AF_UNIX), SECCOMP_EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC),   \
	      SECCOMP_EQ(2, 0)},                                                                   \
	     0,                                                                                    \
	     "AF_UNIX stream only: a vsock guest connection to <uds_path>_<port>; no network "     \
	     "sockets (the API socket is bound before the first filter)"},                         \
	    {"connect",                                                                            \
	     {SECCOMP_EQ(2, sizeof(struct sockaddr_un))},                                          \
	     0,                                                                                    \
	     "sockaddr_un only: vsock guest connections"},                                         \
	    {"openat",                                                                             \
	     {SECCOMP_MASKED(0, 0xffffffffULL, POLICY_AT_FDCWD_LOW32)},                            \
	     0,                                                                                    \
	     "PATCH /drives, PUT /logger, PUT /metrics open by path; never relative to an fd"},    \
	    {"newfstatat", {SECCOMP_EQ(3, AT_EMPTY_PATH)}, 0, "fstat of a new drive or log file"}, \
	    {"newfstatat",                                                                         \
	     {SECCOMP_EQ(3, AT_SYMLINK_NOFOLLOW)},                                                 \
	     0,                                                                                    \
	     "lstat of the API socket before it is unlinked at exit"},                             \
	    {"unlink",                                                                             \
	     {},                                                                                   \
	     0,                                                                                    \
	     "remove the API and vsock sockets at exit (only the ones we bound)"},                 \
	    {"fcntl", {SECCOMP_EQ(1, F_GETFL)}, 0, "stdin / drive status flags"},                  \
	    {"fcntl", {SECCOMP_EQ(1, F_SETFL)}, 0, "O_NONBLOCK on stdin, O_DIRECT/O_APPEND"},      \
	    {"fcntl", {SECCOMP_EQ(1, F_DUPFD_CLOEXEC)}, 0, "the log's private fd (log.c)"},        \
	    {"dup3", {}, 0, "PUT /logger switches the sink onto the log's fixed fd"},              \
	    {"flock", {}, 0, "a drive is locked (shared or exclusive) when opened"},               \
	    {"ioctl", {SECCOMP_EQ(1, BLKGETSIZE64)}, 0, "size of a block-device drive"},           \
	    POLICY_IOCTL(KVM_IRQ_LINE, "serial/i8042 interrupts raised from the main loop"),       \
	    POLICY_IOCTL(TUNSETOFFLOAD,                                                            \
			 "virtio-net: the driver's negotiated receive offloads at DRIVER_OK, "     \
			 "none at reset"),                                                         \
	    {"preadv", {}, 0, "virtio-blk reads (sync engine)"},                                   \
	    {"pwritev", {}, 0, "virtio-blk writes (sync engine)"},                                 \
	    {"fdatasync", {}, 0, "virtio-blk FLUSH"},                                              \
	    {"fallocate", {}, 0, "virtio-blk DISCARD / WRITE_ZEROES (punch/zero range)"},          \
	    {"io_uring_enter", {}, 0, "virtio-blk Async engine: submit and reap"},                 \
	    {"getrandom", {}, 0, "virtio-rng requests"},                                           \
	    {"timerfd_settime",                                                                    \
	     {SECCOMP_EQ(1, 0)},                                                                   \
	     0,                                                                                    \
	     "rate-limiter pause timers (ratelimit.c), the vsock connect timer: arm or disarm"},   \
	    {"clock_gettime", {}, 0, "log timestamps, API deadlines (vDSO fallback)"},             \
	    {"brk", {}, 0, "malloc (main arena): jansson, HTTP responses"},                        \
	    {"mmap", {POLICY_NO_EXEC(2)}, 0, "large mallocs; never executable"},                   \
	    {"mremap", {}, 0, "realloc of a large (mmap'd) buffer"},                               \
	    {"munmap", {}, 0, "free of large buffers, guest RAM and kvm_run at exit"},             \
	    {"madvise", {SECCOMP_EQ(2, MADV_DONTNEED)}, 0, "free() trimming the heap"},            \
	    {"futex", {}, 0, "device mutexes shared with the vCPUs, pthread_join"},                \
	    {"tgkill", {SECCOMP_EQ(2, POLICY_KICK_SIGNAL)}, 0, "kick a vCPU out of KVM_RUN"},      \
	    {"tgkill", {SECCOMP_EQ(2, SIGABRT)}, 0, "abort() reports itself"},                     \
	    {"getpid", {}, 0, "pthread_kill's tgkill needs the tgid"},                             \
	    {"rt_sigprocmask", {}, 0, "pthread_kill/pthread_create mask signals around clone"},    \
	    {"rt_sigreturn", {}, 0, "return from a signal handler"},                               \
	{                                                                                          \
		"exit_group", {}, 0, "exit with the VM's status; the SIGSYS handler's _exit"       \
	}

/* signalfd4's size argument: glibc passes the kernel's sigset size, _NSIG / 8. */
#define POLICY_KERNEL_SIGSET_BYTES 8

/*
 * startup = preboot + these rows: on from right after the API socket is bound
 * (main.c, after the jail steps) until the event loop is set up and
 * vm_prepare is done, i.e. before kiln reads a byte of untrusted input; then
 * preboot is stacked and these calls are gone.
 */
static const struct seccomp_rule policy_startup_rules[] = {
    /* main() start-up, right after the jail steps (main_setup_loop); epoll_create1 is in preboot.
     */
    {"signalfd4",
     {SECCOMP_MASKED(0, 0xffffffffULL, 0xffffffffULL), SECCOMP_EQ(2, POLICY_KERNEL_SIGSET_BYTES),
      SECCOMP_EQ(3, SFD_CLOEXEC | SFD_NONBLOCK)},
     0,
     "SIGTERM/SIGINT into the loop: a new signalfd (fd -1) only, never re-arming another"},
};

static const struct seccomp_rule policy_preboot_rules[] = {
    POLICY_MAIN_COMMON_ROWS,
    /* Building the VM (vm_prepare / vm_build / vcpu_configure), on the /dev/kvm, VM and vCPU fds.
     */
    POLICY_IOCTL(KVM_GET_API_VERSION, "vm_prepare: refuse an unexpected KVM API"),
    POLICY_IOCTL(KVM_CHECK_EXTENSION, "vm_prepare: required capabilities"),
    POLICY_IOCTL(KVM_GET_VCPU_MMAP_SIZE, "size of each vCPU's kvm_run mapping"),
    POLICY_IOCTL(KVM_GET_SUPPORTED_CPUID, "CPUID to normalise for the guest"),
    POLICY_IOCTL(KVM_CREATE_VM, "the VM fd (vm_prepare, again at InstanceStart after a failure)"),
    POLICY_IOCTL(KVM_SET_USER_MEMORY_REGION, "register guest RAM"),
    POLICY_IOCTL(KVM_SET_TSS_ADDR, "Intel VMX needs a TSS page"),
    POLICY_IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "Intel VMX identity-map page"),
    POLICY_IOCTL(KVM_CREATE_IRQCHIP, "in-kernel PIC + IOAPIC"),
    POLICY_IOCTL(KVM_CREATE_PIT2, "in-kernel PIT"),
    POLICY_IOCTL(KVM_IRQFD, "virtio interrupts through irqfds"),
    POLICY_IOCTL(KVM_IOEVENTFD, "virtio queue notifications through ioeventfds"),
    POLICY_IOCTL(KVM_CREATE_VCPU, "one fd per vCPU"),
    POLICY_IOCTL(KVM_SET_CPUID2, "vcpu_configure: normalised CPUID"),
    POLICY_IOCTL(KVM_SET_MSRS, "vcpu_configure: boot MSRs"),
    POLICY_IOCTL(KVM_SET_FPU, "vcpu_configure: FPU state"),
    POLICY_IOCTL(KVM_GET_LAPIC, "vcpu_configure: LINT0/LINT1 modes"),
    POLICY_IOCTL(KVM_SET_LAPIC, "vcpu_configure: LINT0/LINT1 modes"),
    POLICY_IOCTL(KVM_GET_SREGS, "vcpu_set_boot_regs"),
    POLICY_IOCTL(KVM_SET_SREGS, "vcpu_set_boot_regs"),
    POLICY_IOCTL(KVM_SET_REGS, "vcpu_set_boot_regs"),
    POLICY_IOCTL(TUNSETIFF, "virtio-net: attach an existing tap named by the API/config file"),
    POLICY_IOCTL(TUNSETVNETHDRSZ, "virtio-net: the tap's 12-byte virtio 1.x header"),
    {"timerfd_create",
     {SECCOMP_EQ(0, CLOCK_MONOTONIC), SECCOMP_EQ(1, TFD_CLOEXEC | TFD_NONBLOCK)},
     0,
     "rate-limiter pause timers (drive, entropy) and the vsock connect timer, at VM build"},
    {"eventfd2", {}, 0, "exit eventfd, per-queue ioeventfds and irqfds, io_uring, vsock kick"},
    {"epoll_create1",
     {SECCOMP_EQ(0, EPOLL_CLOEXEC)},
     0,
     "the main loop's epoll fd (start-up); the vsock device's own socket set (InstanceStart)"},
    {"bind",
     {SECCOMP_EQ(2, sizeof(struct sockaddr_un))},
     0,
     "the vsock uds_path (InstanceStart); the API socket is bound before any filter"},
    {"listen",
     {SECCOMP_EQ(1, VSOCK_LISTEN_BACKLOG)},
     0,
     "host processes connect to the vsock uds_path (its own backlog, not the API's)"},
    {"io_uring_setup", {}, 0, "virtio-blk Async engine: one ring per drive at InstanceStart"},
    {"io_uring_register", {}, 0, "the ring's completion eventfd"},
    {"pread64", {}, 0, "loading the kernel/initrd image"},
    {"lseek", {}, 0, "image and drive sizes"},
    {"sysinfo", {}, 0, "InstanceStart refuses more guest RAM than the host has"},
    {"mprotect", {POLICY_NO_EXEC(2)}, 0, "guard page of a vCPU thread's stack; never exec"},
    {"madvise", {SECCOMP_EQ(2, MADV_DONTDUMP)}, 0, "guest RAM stays out of core dumps"},
    {"madvise", {SECCOMP_EQ(2, MADV_HUGEPAGE)}, 0, "huge_pages Transparent"},
    {"clone", {SECCOMP_EQ(0, POLICY_THREAD_CLONE_FLAGS)}, 0, "vCPU threads, nothing else"},
    /* clone3's flags sit in memory BPF cannot read: make glibc fall back to clone. */
    {"clone3", {}, ENOSYS, "not allowed: ENOSYS so pthread_create uses clone(2)"},
    {"set_robust_list", {}, 0, "a new vCPU thread's start-up in glibc, before its own filter"},
    {"rseq", {}, 0, "a new vCPU thread's start-up in glibc, before its own filter"},
    {"rt_sigaction", {}, 0, "the vCPU kick handler (SIGRTMIN), installed at vm_start"},
    /* Stacked filters all have to allow a call: what the vCPU threads need is here too. */
    POLICY_IOCTL(KVM_RUN, "vCPU threads (their own filter narrows to it)"),
    POLICY_IOCTL(KVM_GET_REGS, "vCPU threads: vcpu_report_failure"),
    POLICY_IOCTL(KVM_TRANSLATE, "vCPU threads: vcpu_report_failure"),
    {"exit", {}, 0, "a vCPU thread ends (also one whose own filter failed to load)"},
    {"seccomp",
     {SECCOMP_EQ(0, SECCOMP_SET_MODE_FILTER), SECCOMP_EQ(1, 0)},
     0,
     "stack the vcpu and runtime filters (they only narrow)"},
};

static const struct seccomp_rule policy_runtime_rules[] = {
    POLICY_MAIN_COMMON_ROWS,
};

const struct seccomp_policy seccomp_policy_preboot = {"preboot", policy_preboot_rules,
						      ROWS(policy_preboot_rules), NULL};
const struct seccomp_policy seccomp_policy_startup = {
    "startup", policy_startup_rules, ROWS(policy_startup_rules), &seccomp_policy_preboot};
const struct seccomp_policy seccomp_policy_runtime = {"runtime", policy_runtime_rules,
						      ROWS(policy_runtime_rules), NULL};
