/* SPDX-License-Identifier: MIT */
/*
 * Policy tables -> libseccomp -> classic BPF, and the per-thread loading.
 * Programs are compiled once, before the first filter, so a vCPU thread only
 * issues one seccomp(2) call before its first KVM_RUN and libseccomp never
 * runs under a filter.
 */
#include "jail/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a SECCOMP_RET_TRAP (asm-generic/siginfo.h) */
#endif

struct seccomp_prog {
	void *insns; /* owned here; freed never (process lifetime) */
	size_t nr;
};

/*
 * Process-wide, like the log sink: written by seccomp_setup() on the main
 * thread before any other thread exists, read-only afterwards.
 */
static struct {
	enum seccomp_level level;
	struct seccomp_prog preboot, vcpu, runtime;
#ifdef KILN_SECCOMP_SELFTEST
	const char *selftest_where;
#endif
} seccomp_state;

/* The SIGSYS handler reads this: set by the thread that loads its filter. */
static __thread const char *seccomp_thread_name = "unfiltered";

static size_t seccomp_fmt_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Async-signal-safe: no stdio, no malloc; write(2) and exit_group(2) are in every policy. */
static void seccomp_on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	static const char pre[] = "kiln: error: seccomp: thread ";
	static const char mid[] = " made forbidden syscall ";
	char buf[160];
	size_t n = 0, len = strnlen(seccomp_thread_name, 32);

	(void)sig;
	(void)uctx;
	if (si->si_code != SYS_SECCOMP) {
		/* kill -SYS from outside: no syscall to name; same exit code as signals.c. */
		static const char ext[] = "kiln: error: fatal signal SIGSYS, exit code 148\n";

		if (write(STDERR_FILENO, ext, sizeof(ext) - 1) < 0) {
			/* nothing left to tell */
		}
		_exit(KILN_EXIT_SECCOMP);
	}
	memcpy(buf + n, pre, sizeof(pre) - 1);
	n += sizeof(pre) - 1;
	memcpy(buf + n, seccomp_thread_name, len);
	n += len;
	memcpy(buf + n, mid, sizeof(mid) - 1);
	n += sizeof(mid) - 1;
	n += seccomp_fmt_u64(buf + n, (uint64_t)(unsigned int)si->si_syscall);
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nothing left to tell */
	}
	_exit(KILN_EXIT_SECCOMP);
}

int seccomp_install_sigsys_handler(void)
{
	struct sigaction sa = {.sa_sigaction = seccomp_on_sigsys, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

size_t seccomp_policy_nr_rules(const struct seccomp_policy *p)
{
	return (p->base ? p->base->nr_rules : 0) + p->nr_rules;
}

const struct seccomp_rule *seccomp_policy_rule(const struct seccomp_policy *p, size_t i)
{
	size_t nr_base = p->base ? p->base->nr_rules : 0;

	return i < nr_base ? &p->base->rules[i] : &p->rules[i - nr_base];
}

size_t seccomp_policy_count(const struct seccomp_policy *p)
{
	size_t count = 0, nr = seccomp_policy_nr_rules(p);

	for (size_t i = 0; i < nr; i++) {
		const struct seccomp_rule *r = seccomp_policy_rule(p, i);
		size_t j;

		if (r->err)
			continue;
		for (j = 0; j < i; j++) {
			const struct seccomp_rule *q = seccomp_policy_rule(p, j);

			if (!q->err && strcmp(q->name, r->name) == 0)
				break;
		}
		count += j == i;
	}
	return count;
}

static int seccomp_add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r,
			    enum seccomp_level level)
{
	struct scmp_arg_cmp cmp[SECCOMP_MAX_CONDS];
	unsigned int n = 0;
	uint32_t action = r->err ? SCMP_ACT_ERRNO((uint32_t)r->err) : SCMP_ACT_ALLOW;
	int nr = seccomp_syscall_resolve_name(r->name);

	if (nr == __NR_SCMP_ERROR) {
		fprintf(stderr, "kiln: error: seccomp: unknown syscall %s\n", r->name);
		return -EINVAL;
	}
	for (; level == SECCOMP_LEVEL_FULL && n < SECCOMP_MAX_CONDS && r->conds[n].cmp; n++) {
		const struct seccomp_cond *c = &r->conds[n];

		cmp[n] = (struct scmp_arg_cmp){.arg = c->arg, .datum_a = c->value};
		switch (c->cmp) {
		case SECCOMP_CMP_EQ:
			cmp[n].op = SCMP_CMP_EQ;
			break;
		case SECCOMP_CMP_MASKED_EQ:
			cmp[n].op = SCMP_CMP_MASKED_EQ;
			cmp[n].datum_a = c->mask;
			cmp[n].datum_b = c->value;
			break;
		case SECCOMP_CMP_LE:
			cmp[n].op = SCMP_CMP_LE;
			break;
		default:
			return -EINVAL;
		}
	}
	/* At level 1, an errno row would shadow the allow row of the same syscall. */
	if (r->err && level != SECCOMP_LEVEL_FULL)
		return 0;
	return seccomp_rule_add_exact_array(ctx, action, nr, n, cmp);
}

/* A program is at most BPF_MAXINSNS * 8 = 32 KiB: it fits a pipe's default 64 KiB. */
#define SECCOMP_PROG_MAX_BYTES (BPF_MAXINSNS * sizeof(struct sock_filter))

int seccomp_compile(const struct seccomp_policy *p, enum seccomp_level level, void **insns,
		    size_t *nr_insns)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret, fds[2] = {-1, -1};
	size_t size = 0;
	uint8_t *buf = NULL;
	ssize_t n;

	if (!ctx)
		return -ENOMEM;
	/* kiln sets no_new_privs itself (the jail's last step); the filter only narrows. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; !ret && i < seccomp_policy_nr_rules(p); i++)
		ret = seccomp_add_rule(ctx, seccomp_policy_rule(p, i), level);
	if (ret)
		goto out;
	/*
	 * libseccomp 2.5 exports only to an fd. A pipe, not a file or memfd:
	 * RLIMIT_FSIZE (--resource-limit fsize=) does not apply to it.
	 */
	buf = malloc(SECCOMP_PROG_MAX_BYTES + 1);
	if (!buf || pipe2(fds, O_CLOEXEC) < 0) {
		ret = buf ? -errno : -ENOMEM;
		goto out;
	}
	ret = seccomp_export_bpf(ctx, fds[1]);
	close(fds[1]);
	fds[1] = -1;
	if (ret)
		goto out;
	while ((n = read(fds[0], buf + size, SECCOMP_PROG_MAX_BYTES + 1 - size)) > 0)
		size += (size_t)n;
	if (n < 0 || size == 0 || size > SECCOMP_PROG_MAX_BYTES ||
	    size % sizeof(struct sock_filter)) {
		ret = -E2BIG;
		goto out;
	}
	*insns = buf;
	*nr_insns = size / sizeof(struct sock_filter);
	buf = NULL;
out:
	free(buf);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	seccomp_release(ctx);
	if (ret)
		fprintf(stderr, "kiln: error: seccomp: cannot compile the %s filter: %s\n", p->name,
			strerror(-ret));
	return ret;
}

int seccomp_load_prog(const void *insns, size_t nr_insns, const char *thread)
{
	struct sock_fprog prog = {.len = (unsigned short)nr_insns,
				  .filter = (struct sock_filter *)insns};

	if (nr_insns == 0 || nr_insns > BPF_MAXINSNS)
		return -EINVAL;
	seccomp_thread_name = thread;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

#ifdef KILN_SECCOMP_SELFTEST
void seccomp_selftest_arm(const char *where)
{
	seccomp_state.selftest_where = where;
}

/* ptrace is in no policy: the filter must end kiln here. */
static void seccomp_selftest_maybe(const char *where)
{
	if (seccomp_state.selftest_where && strcmp(seccomp_state.selftest_where, where) == 0)
		syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
}
#else
static void seccomp_selftest_maybe(const char *where)
{
	(void)where;
}
#endif

int seccomp_setup(enum seccomp_level level)
{
	void *start = NULL;
	size_t nr_start = 0;
	int ret;

	seccomp_state.level = level;
	if (level == SECCOMP_LEVEL_OFF) {
		fprintf(stderr,
			"kiln: WARNING: --seccomp-level 0: NO SECCOMP FILTERS. A guest that "
			"breaks device emulation gets every syscall. Debugging only.\n");
		return 0;
	}
	ret = seccomp_compile(&seccomp_policy_startup, level, &start, &nr_start);
	if (!ret)
		ret = seccomp_compile(&seccomp_policy_preboot, level, &seccomp_state.preboot.insns,
				      &seccomp_state.preboot.nr);
	if (!ret)
		ret = seccomp_compile(&seccomp_policy_vcpu, level, &seccomp_state.vcpu.insns,
				      &seccomp_state.vcpu.nr);
	if (!ret)
		ret = seccomp_compile(&seccomp_policy_runtime, level, &seccomp_state.runtime.insns,
				      &seccomp_state.runtime.nr);
	if (!ret)
		ret = seccomp_install_sigsys_handler();
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ret = -errno;
	if (!ret)
		ret = seccomp_load_prog(start, nr_start, "kiln_main");
	free(start);
	if (ret)
		return ret;
	seccomp_selftest_maybe("startup");
	return 0;
}

int seccomp_enter_preboot(void)
{
	int ret;

	if (seccomp_state.level == SECCOMP_LEVEL_OFF)
		return 0;
	ret = seccomp_load_prog(seccomp_state.preboot.insns, seccomp_state.preboot.nr, "kiln_main");
	if (!ret)
		seccomp_selftest_maybe("preboot");
	return ret;
}

int seccomp_enter_vcpu(void)
{
	int ret;

	if (seccomp_state.level == SECCOMP_LEVEL_OFF)
		return 0;
	ret = seccomp_load_prog(seccomp_state.vcpu.insns, seccomp_state.vcpu.nr, "kiln_vcpu");
	if (!ret)
		seccomp_selftest_maybe("vcpu");
	return ret;
}

int seccomp_enter_runtime(void)
{
	int ret;

	if (seccomp_state.level == SECCOMP_LEVEL_OFF)
		return 0;
	ret = seccomp_load_prog(seccomp_state.runtime.insns, seccomp_state.runtime.nr, "kiln_main");
	if (!ret)
		seccomp_selftest_maybe("runtime");
	return ret;
}
