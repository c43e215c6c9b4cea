/* SPDX-License-Identifier: MIT */
/*
 * Installs each real kiln policy (stacked the way kiln stacks them: startup,
 * then preboot, then runtime or vcpu) in a
 * forked child and proves (a) every allowed row can be called with allowed
 * arguments and the child survives, (b) forbidden calls and allowed calls
 * with disallowed arguments end the child by SIGSYS, (c) kiln's SIGSYS
 * handler logs the number and exits with KILN_EXIT_SECCOMP.
 * Usage: seccomp_check [counts]. Exit 0 when every case behaves.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "jail/seccomp.h"

enum stack { STACK_STARTUP, STACK_PREBOOT, STACK_RUNTIME, STACK_VCPU };

static const char *const stack_names[] = {"startup", "preboot", "runtime", "vcpu"};

static const struct seccomp_policy *stack_top(enum stack s)
{
	return s == STACK_STARTUP   ? &seccomp_policy_startup
	       : s == STACK_PREBOOT ? &seccomp_policy_preboot
	       : s == STACK_RUNTIME ? &seccomp_policy_runtime
				    : &seccomp_policy_vcpu;
}

static void compile_or_die(const struct seccomp_policy *p, void **insns, size_t *nr)
{
	if (seccomp_compile(p, SECCOMP_LEVEL_FULL, insns, nr)) {
		fprintf(stderr, "cannot compile the %s policy\n", p->name);
		_exit(100);
	}
}

static void load_or_die(void *insns, size_t nr, const char *thread)
{
	if (seccomp_load_prog(insns, nr, thread)) {
		fprintf(stderr, "cannot load a policy for %s\n", thread);
		_exit(100);
	}
}

/* As kiln does: startup first, then preboot, then the thread's narrower filter on top. */
static void enter_stack(enum stack s)
{
	void *start, *pre = NULL, *top = NULL;
	size_t nr_start, nr_pre = 0, nr_top = 0;

	/* Compile all first: libseccomp itself is not meant to run under the filters. */
	compile_or_die(&seccomp_policy_startup, &start, &nr_start);
	if (s != STACK_STARTUP)
		compile_or_die(&seccomp_policy_preboot, &pre, &nr_pre);
	if (s != STACK_STARTUP && s != STACK_PREBOOT)
		compile_or_die(stack_top(s), &top, &nr_top);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("no_new_privs");
		_exit(100);
	}
	load_or_die(start, nr_start, "kiln_main");
	if (pre)
		load_or_die(pre, nr_pre, "kiln_main");
	if (top)
		load_or_die(top, nr_top, s == STACK_VCPU ? "kiln_vcpu" : "kiln_main");
}

/* Calls that must not be probed blindly: they end, reshape or re-enter the caller. */
static int probe_skipped(const char *name)
{
	static const char *const skip[] = {"exit", "exit_group", "rt_sigreturn", "clone"};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strcmp(name, skip[i]) == 0)
			return 1;
	return 0;
}

/*
 * Each allowed row with its conditions met and every other argument -1
 * (a bad fd, a bad pointer, a bad length): the kernel refuses with an errno,
 * so nothing happens, but the filter has to let the call through.
 */
static int probe_allowed(const struct seccomp_policy *p)
{
	for (size_t i = 0; i < seccomp_policy_nr_rules(p); i++) {
		const struct seccomp_rule *r = seccomp_policy_rule(p, i);
		long a[6] = {-1, -1, -1, -1, -1, -1};
		int nr;

		if (r->err || probe_skipped(r->name))
			continue;
		nr = seccomp_syscall_resolve_name(r->name);
		for (int c = 0; c < SECCOMP_MAX_CONDS && r->conds[c].cmp; c++)
			a[r->conds[c].arg] = (long)r->conds[c].value;
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	return 0;
}

static void *thread_noop(void *arg)
{
	return arg;
}

/* The shape kiln really uses: clone3 answers ENOSYS, glibc falls back to clone. */
static int probe_thread(void)
{
	pthread_t t;

	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS) {
		fprintf(stderr, "clone3 did not fail with ENOSYS\n");
		return 1;
	}
	if (pthread_create(&t, NULL, thread_noop, NULL) || pthread_join(t, NULL)) {
		fprintf(stderr, "pthread_create under preboot failed\n");
		return 1;
	}
	return 0;
}

/* Returns the raw wait status of a child that entered @s and ran @fn. */
static int run_child(enum stack s, int with_handler, int (*fn)(const void *), const void *arg,
		     int err_fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		if (err_fd >= 0)
			dup2(err_fd, STDERR_FILENO);
		if (with_handler)
			seccomp_install_sigsys_handler();
		enter_stack(s);
		_exit(fn(arg));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static int do_probe(const void *arg)
{
	const enum stack *s = arg;

	if (probe_allowed(stack_top(*s)))
		return 1;
	return *s == STACK_PREBOOT || *s == STACK_STARTUP ? probe_thread() : 0;
}

struct bad_call {
	enum stack stack;
	const char *what;
	long nr, a0, a1, a2, a3;
};

#define TH_FLAGS                                                                                   \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |        \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

static const struct bad_call bad_calls[] = {
    {STACK_PREBOOT, "execve", SYS_execve, -1, -1, -1, 0},
    {STACK_PREBOOT, "ptrace", SYS_ptrace, 0, 0, 0, 0},
    {STACK_STARTUP, "execve", SYS_execve, -1, -1, -1, 0},
    {STACK_STARTUP, "socket AF_INET", SYS_socket, AF_INET,
     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0},
    {STACK_STARTUP, "socket AF_NETLINK", SYS_socket, AF_NETLINK, SOCK_RAW, 0, 0},
    /* The API socket is bound before the first filter: what only it needed is gone. */
    {STACK_STARTUP, "chmod 0600 (API socket bound before any filter)", SYS_chmod, -1, 0600, 0, 0},
    {STACK_STARTUP, "umask 0177 (API socket bound before any filter)", SYS_umask, 0177, 0, 0, 0},
    {STACK_STARTUP, "listen with kiln's backlog (API socket bound before any filter)", SYS_listen,
     -1, 128, 0, 0},
    {STACK_STARTUP, "signalfd4 re-arming an existing fd", SYS_signalfd4, 0, -1, 8,
     SFD_CLOEXEC | SFD_NONBLOCK},
    {STACK_STARTUP, "epoll_create1 without CLOEXEC", SYS_epoll_create1, 0, 0, 0, 0},
    {STACK_STARTUP, "ptrace", SYS_ptrace, 0, 0, 0, 0},
    {STACK_PREBOOT, "socket AF_INET", SYS_socket, AF_INET, SOCK_STREAM, 0, 0},
    {STACK_PREBOOT, "socket AF_UNIX datagram", SYS_socket, AF_UNIX,
     SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0},
    {STACK_PREBOOT, "connect with a sockaddr_in length", SYS_connect, -1, -1, 16, 0},
    {STACK_PREBOOT, "bind with a sockaddr_in length", SYS_bind, -1, -1, 16, 0},
    {STACK_PREBOOT, "listen with the API's backlog", SYS_listen, -1, 128, 0, 0},
    {STACK_RUNTIME, "bind (building is over; vsock bound at InstanceStart)", SYS_bind, -1, -1, 110,
     0},
    {STACK_RUNTIME, "listen with the vsock backlog (building is over)", SYS_listen, -1, 16, 0, 0},
    {STACK_RUNTIME, "epoll_create1 (building is over)", SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0},
    {STACK_RUNTIME, "socket AF_INET stream (vsock is AF_UNIX only)", SYS_socket, AF_INET,
     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0},
    {STACK_RUNTIME, "connect with a sockaddr_in length", SYS_connect, -1, -1, 16, 0},
    {STACK_RUNTIME, "shutdown (vsock passes on no half-close)", SYS_shutdown, -1, 1, 0, 0},
    {STACK_RUNTIME, "readv", SYS_readv, -1, -1, 1, 0},
    {STACK_PREBOOT, "chmod", SYS_chmod, -1, 0600, 0, 0},
    {STACK_PREBOOT, "umask", SYS_umask, 0177, 0, 0, 0},
    {STACK_PREBOOT, "epoll_create1 without CLOEXEC", SYS_epoll_create1, 0, 0, 0, 0},
    {STACK_PREBOOT, "signalfd4 (start-up is over)", SYS_signalfd4, -1, -1, 8,
     SFD_CLOEXEC | SFD_NONBLOCK},
    {STACK_PREBOOT, "clone with fork flags", SYS_clone, SIGCHLD, 0, 0, 0},
    {STACK_PREBOOT, "clone with thread flags plus CLONE_NEWNS", SYS_clone, TH_FLAGS | CLONE_NEWNS,
     -1, -1, -1},
    {STACK_PREBOOT, "ioctl TIOCSTI", SYS_ioctl, -1, TIOCSTI, 0, 0},
    {STACK_RUNTIME, "ioctl KVM_RUN (a vCPU thread's call only)", SYS_ioctl, -1, KVM_RUN, 0, 0},
    {STACK_PREBOOT, "mmap PROT_EXEC", SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC,
     MAP_PRIVATE | MAP_ANONYMOUS},
    {STACK_PREBOOT, "mprotect PROT_EXEC", SYS_mprotect, -1, 4096, PROT_READ | PROT_EXEC, 0},
    {STACK_PREBOOT, "openat relative to an fd", SYS_openat, 3, -1, O_RDONLY, 0},
    {STACK_PREBOOT, "fcntl F_SETFD", SYS_fcntl, -1, F_SETFD, 0, 0},
    {STACK_PREBOOT, "madvise MADV_REMOVE", SYS_madvise, -1, 4096, MADV_REMOVE, 0},
    {STACK_PREBOOT, "seccomp strict mode", SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, 0, 0},
    {STACK_PREBOOT, "tgkill SIGKILL", SYS_tgkill, -1, -1, SIGKILL, 0},
    {STACK_PREBOOT, "mount", SYS_mount, -1, -1, -1, 0},
    {STACK_PREBOOT, "unshare", SYS_unshare, CLONE_NEWUSER, 0, 0, 0},
    {STACK_PREBOOT, "setns", SYS_setns, -1, 0, 0, 0},
    {STACK_PREBOOT, "process_vm_writev", SYS_process_vm_writev, 1, -1, 1, -1},
    {STACK_PREBOOT, "bpf", SYS_bpf, 0, -1, 0, 0},
    {STACK_PREBOOT, "kill", SYS_kill, 1, SIGKILL, 0, 0},
    {STACK_RUNTIME, "ioctl KVM_CREATE_VM (building is over)", SYS_ioctl, -1, KVM_CREATE_VM, 0, 0},
    {STACK_RUNTIME, "ioctl KVM_SET_USER_MEMORY_REGION", SYS_ioctl, -1, KVM_SET_USER_MEMORY_REGION,
     0, 0},
    {STACK_RUNTIME, "ioctl KVM_CREATE_VCPU", SYS_ioctl, -1, KVM_CREATE_VCPU, 0, 0},
    {STACK_RUNTIME, "clone with thread flags (no threads after start)", SYS_clone, TH_FLAGS, -1, -1,
     -1},
    {STACK_RUNTIME, "seccomp (nothing to stack any more)", SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0,
     -1, 0},
    {STACK_RUNTIME, "eventfd2", SYS_eventfd2, 0, 0, 0, 0},
    {STACK_RUNTIME, "timerfd_create (pause timers are made at build)", SYS_timerfd_create,
     CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK, 0, 0},
    {STACK_PREBOOT, "timerfd_create CLOCK_REALTIME", SYS_timerfd_create, CLOCK_REALTIME,
     TFD_CLOEXEC | TFD_NONBLOCK, 0, 0},
    {STACK_PREBOOT, "timerfd_create without CLOEXEC", SYS_timerfd_create, CLOCK_MONOTONIC,
     TFD_NONBLOCK, 0, 0},
    {STACK_RUNTIME, "timerfd_settime absolute", SYS_timerfd_settime, -1, TFD_TIMER_ABSTIME, 0, 0},
    {STACK_VCPU, "timerfd_settime", SYS_timerfd_settime, -1, 0, 0, 0},
    {STACK_RUNTIME, "mprotect", SYS_mprotect, -1, 4096, PROT_READ, 0},
    {STACK_RUNTIME, "rt_sigaction", SYS_rt_sigaction, SIGUSR1, -1, -1, 8},
    {STACK_RUNTIME, "socket", SYS_socket, AF_UNIX, SOCK_STREAM, 0, 0},
    {STACK_VCPU, "openat", SYS_openat, AT_FDCWD, -1, O_RDONLY, 0},
    {STACK_VCPU, "read", SYS_read, -1, -1, 1, 0},
    {STACK_VCPU, "mmap", SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS},
    {STACK_VCPU, "ioctl KVM_CREATE_VCPU", SYS_ioctl, -1, KVM_CREATE_VCPU, 0, 0},
    {STACK_VCPU, "ioctl KVM_SET_REGS", SYS_ioctl, -1, KVM_SET_REGS, 0, 0},
    {STACK_VCPU, "ioctl KVM_SET_USER_MEMORY_REGION", SYS_ioctl, -1, KVM_SET_USER_MEMORY_REGION, 0,
     0},
    {STACK_VCPU, "clone with thread flags", SYS_clone, TH_FLAGS, -1, -1, -1},
    {STACK_VCPU, "tgkill", SYS_tgkill, -1, -1, 34, 0},
    {STACK_VCPU, "madvise MADV_DONTDUMP", SYS_madvise, -1, 4096, MADV_DONTDUMP, 0},
    {STACK_VCPU, "accept4", SYS_accept4, -1, 0, 0, 0},
    /* virtio-net: taps are attached while building; offloads are the main thread's. */
    {STACK_RUNTIME, "ioctl TUNSETIFF (taps are attached at build)", SYS_ioctl, -1, TUNSETIFF, 0, 0},
    {STACK_RUNTIME, "ioctl TUNSETVNETHDRSZ", SYS_ioctl, -1, TUNSETVNETHDRSZ, 0, 0},
    {STACK_PREBOOT, "ioctl TUNSETPERSIST", SYS_ioctl, -1, TUNSETPERSIST, 1, 0},
    {STACK_PREBOOT, "ioctl TUNSETOWNER", SYS_ioctl, -1, TUNSETOWNER, 0, 0},
    {STACK_VCPU, "ioctl TUNSETOFFLOAD (the main thread applies it)", SYS_ioctl, -1, TUNSETOFFLOAD,
     0, 0},
};

static int do_bad_call(const void *arg)
{
	const struct bad_call *b = arg;

	syscall(b->nr, b->a0, b->a1, b->a2, b->a3, 0L, 0L);
	return 0; /* survived: the filter let it through */
}

static const struct bad_call handler_case = {STACK_VCPU, "ptrace", SYS_ptrace, 0, 0, 0, 0};

/* kiln's handler: exit status KILN_EXIT_SECCOMP and the log line naming the number. */
static int check_handler(void)
{
	char buf[256] = {0}, want[128];
	int fds[2], status;
	ssize_t n;

	if (pipe(fds))
		return 1;
	status = run_child(STACK_VCPU, 1, do_bad_call, &handler_case, fds[1]);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	snprintf(want, sizeof(want),
		 "kiln: error: seccomp: thread kiln_vcpu made forbidden syscall %d\n",
		 (int)SYS_ptrace);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != KILN_EXIT_SECCOMP || n <= 0 ||
	    !strstr(buf, want)) {
		printf("FAIL handler: status %#x, stderr '%s'\n", status, buf);
		return 1;
	}
	printf("ok   handler: exit %d, '%.*s'\n", KILN_EXIT_SECCOMP, (int)strcspn(buf, "\n"), buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit no_core = {0, 0};
	int failures = 0;

	setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS deaths leave no core files */
	if (argc > 1 && strcmp(argv[1], "counts") == 0) {
		for (int s = STACK_STARTUP; s <= STACK_VCPU; s++)
			printf("%s %zu\n", stack_names[s], seccomp_policy_count(stack_top(s)));
		return 0;
	}
	for (int s = STACK_STARTUP; s <= STACK_VCPU; s++) {
		enum stack st = s;
		void *insns;
		size_t nr;
		int status;

		/* Level 1 (numbers only) must compile too. */
		if (seccomp_compile(stack_top(st), SECCOMP_LEVEL_NUMBERS, &insns, &nr)) {
			printf("FAIL %s: level 1 does not compile\n", stack_names[s]);
			failures++;
		} else {
			free(insns);
		}
		status = run_child(st, 1, do_probe, &st, -1);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok   %s: %zu allowed syscalls called, survived\n", stack_names[s],
			       seccomp_policy_count(stack_top(st)));
		} else {
			printf("FAIL %s: allowed calls: wait status %#x\n", stack_names[s], status);
			failures++;
		}
	}
	for (size_t i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
		const struct bad_call *b = &bad_calls[i];
		int status = run_child(b->stack, 0, do_bad_call, b, -1);
		int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;

		printf("%s %s: %s -> %s\n", ok ? "ok  " : "FAIL", stack_names[b->stack], b->what,
		       ok ? "SIGSYS" : "survived or other death");
		failures += !ok;
	}
	failures += check_handler();
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
