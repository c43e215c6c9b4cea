/* SPDX-License-Identifier: MIT */
/*
 * The jail: kiln confines itself, in one process, before it opens anything.
 * jail.c owns the ordered step table; ns.c, fs.c, cgroup.c and caps.c hold the
 * steps; jail_args.c is the pure validation the unit tests and the CLI share.
 */
#ifndef KILN_JAIL_H
#define KILN_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netdev_set;

#define JAIL_ID_MAX		 64
#define JAIL_MAX_CGROUPS	 16
#define JAIL_CGROUP_FILE_MAX	 64
#define JAIL_CGROUP_VALUE_MAX	 128
#define JAIL_DEFAULT_CHROOT_BASE "/srv/kiln"
/* A failed jail step i exits with JAIL_EXIT_STEP_BASE + i (SECURITY.md lists them). */
#define JAIL_EXIT_STEP_BASE 40

struct jail_cgroup_kv {
	char file[JAIL_CGROUP_FILE_MAX + 1];   /* "cpu.max": controller "." knob */
	char value[JAIL_CGROUP_VALUE_MAX + 1]; /* written as is */
};

struct jail_opts {
	bool enabled;	/* --jail */
	const char *id; /* --id, [A-Za-z0-9-]{1,64} */
	uid_t uid;	/* --uid, non-zero */
	gid_t gid;	/* --gid, non-zero */
	bool uid_set, gid_set;
	const char *chroot_base; /* --chroot-base, absolute; default /srv/kiln */
	const char *netns;	 /* --netns PATH: join it; NULL: a new, empty one */
	bool new_pid_ns;	 /* --new-pid-ns: kiln forks and runs as PID 1 of a new one */
	bool daemonize;		 /* --daemonize */
	int seccomp_level;	 /* --seccomp-level: also the --new-pid-ns parent's filter */
	struct jail_cgroup_kv cgroups[JAIL_MAX_CGROUPS];
	unsigned int nr_cgroups;
	uint64_t rlimit_nofile, rlimit_fsize; /* --resource-limit no-file=N|fsize=N */
	bool rlimit_nofile_set, rlimit_fsize_set;
	bool any_flag; /* a jail flag was given (refused without --jail) */
	/* --net taps to open or create before the namespaces (owned by cli_opts); may be NULL. */
	struct netdev_set *taps;
};

/* Pure validation (jail_args.c): 0 or -EINVAL with a one-line reason in @err. */
bool jail_id_valid(const char *id);
int jail_parse_cgroup(struct jail_opts *o, const char *arg, char *err, size_t len);
int jail_parse_rlimit(struct jail_opts *o, const char *arg, char *err, size_t len);
int jail_parse_id_number(const char *arg, const char *flag, uint32_t *out, char *err, size_t len);
int jail_validate(const struct jail_opts *o, char *err, size_t len);

/*
 * Run every step of the table in order; on the first failure print
 * "kiln: error: jail step <name>: ..." and _exit(JAIL_EXIT_STEP_BASE + step).
 * Returns only when kiln is fully confined. Does nothing without --jail.
 */
void jail_run(const struct jail_opts *o);

/* Item 3: log SIGSYS, SIGSEGV, SIGBUS, SIGXFSZ, SIGXCPU, SIGILL, SIGHUP; distinct exits. */
enum jail_sig_exit {
	KILN_EXIT_SIGSYS = 148,
	KILN_EXIT_SIGBUS = 149,
	KILN_EXIT_SIGSEGV = 150,
	KILN_EXIT_SIGXFSZ = 151,
	KILN_EXIT_SIGXCPU = 154,
	KILN_EXIT_SIGHUP = 156,
	KILN_EXIT_SIGILL = 157,
};
void jail_signals_install(void);

#endif
