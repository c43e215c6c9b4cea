/* SPDX-License-Identifier: MIT */
/*
 * Seccomp filters as data (DESIGN.md §2): each policy is a table of
 * {syscall, argument conditions, reason} rows, compiled with libseccomp to
 * classic BPF once, before the first filter goes on, and loaded per thread.
 */
#ifndef KILN_JAIL_SECCOMP_H
#define KILN_JAIL_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

/* Exit status when a thread makes a syscall its filter forbids (Firecracker uses 148 too). */
#define KILN_EXIT_SECCOMP 148

/* --seccomp-level: 0 no filters (debugging only), 1 syscall numbers only, 2 full (default). */
enum seccomp_level {
	SECCOMP_LEVEL_OFF = 0,
	SECCOMP_LEVEL_NUMBERS = 1,
	SECCOMP_LEVEL_FULL = 2,
};

enum seccomp_cmp {
	SECCOMP_CMP_EQ = 1,    /* arg == value */
	SECCOMP_CMP_MASKED_EQ, /* (arg & mask) == value */
	SECCOMP_CMP_LE,	       /* arg <= value */
};

struct seccomp_cond {
	uint8_t arg; /* 0..5 */
	uint8_t cmp; /* enum seccomp_cmp; 0 ends the list */
	uint64_t value;
	uint64_t mask;
};

#define SECCOMP_MAX_CONDS 3

/* One allowed shape of one syscall; rows for the same syscall are alternatives. */
struct seccomp_rule {
	const char *name;
	struct seccomp_cond conds[SECCOMP_MAX_CONDS];
	int err;	    /* 0: allow; else fail with this errno (clone3 -> ENOSYS) */
	const char *reason; /* why kiln needs it, and on which path */
};

struct seccomp_policy {
	const char *name; /* "startup", "preboot", "vcpu", "runtime" */
	const struct seccomp_rule *rules;
	size_t nr_rules;
	/* NULL, or a policy whose rows come first (one level: @base has no base itself). */
	const struct seccomp_policy *base;
};

#define SECCOMP_EQ(a, v)                                                                           \
	{                                                                                          \
		.arg = (a), .cmp = SECCOMP_CMP_EQ, .value = (uint64_t)(v)                          \
	}
#define SECCOMP_MASKED(a, m, v)                                                                    \
	{                                                                                          \
		.arg = (a), .cmp = SECCOMP_CMP_MASKED_EQ, .value = (uint64_t)(v),                  \
		.mask = (uint64_t)(m)                                                              \
	}
#define SECCOMP_LE(a, v)                                                                           \
	{                                                                                          \
		.arg = (a), .cmp = SECCOMP_CMP_LE, .value = (uint64_t)(v)                          \
	}

extern const struct seccomp_policy seccomp_policy_startup;
extern const struct seccomp_policy seccomp_policy_preboot;
extern const struct seccomp_policy seccomp_policy_runtime;
extern const struct seccomp_policy seccomp_policy_vcpu;

/* Distinct syscalls a policy allows, its base's rows included (errno rows not counted). */
size_t seccomp_policy_count(const struct seccomp_policy *p);
/* Rows of @p, its base's first: seccomp_policy_nr_rules() of them. */
size_t seccomp_policy_nr_rules(const struct seccomp_policy *p);
const struct seccomp_rule *seccomp_policy_rule(const struct seccomp_policy *p, size_t i);

/*
 * Compile @p at @level into a classic BPF program (malloc'd into *@insns,
 * *@nr_insns instructions) whose default action traps (SIGSYS). 0 or -errno.
 */
int seccomp_compile(const struct seccomp_policy *p, enum seccomp_level level, void **insns,
		    size_t *nr_insns);

/* Load a compiled program on the calling thread; @thread names it in the SIGSYS log line. */
int seccomp_load_prog(const void *insns, size_t nr_insns, const char *thread);

/*
 * SIGSYS handler for SECCOMP_RET_TRAP: writes "kiln: error: seccomp: thread
 * <name> made forbidden syscall <nr>" to stderr and _exit(KILN_EXIT_SECCOMP).
 */
int seccomp_install_sigsys_handler(void);

/*
 * Process-wide set-up for kiln itself: compile the four policies at @level,
 * install the SIGSYS handler, set no_new_privs and load the startup filter on
 * the calling (main) thread. Level 0 prints a warning and does nothing else.
 * Must run before any thread starts; the compiled programs are read-only after.
 */
int seccomp_setup(enum seccomp_level level);
/* Stack the preboot filter on the main thread once the API socket listens (no-op at level 0). */
int seccomp_enter_preboot(void);
/* Stack the vcpu filter on the calling vCPU thread (no-op at level 0). */
int seccomp_enter_vcpu(void);
/* Stack the runtime filter on the main thread once the vCPUs run (no-op at level 0). */
int seccomp_enter_runtime(void);

#ifdef KILN_SECCOMP_SELFTEST
/* Test-only build: after entering filter @where ("startup", "preboot", "vcpu", "runtime"),
 * misbehave. */
void seccomp_selftest_arm(const char *where);
#endif

#endif
