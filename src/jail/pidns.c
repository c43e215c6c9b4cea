/* SPDX-License-Identifier: MIT */
/*
 * --new-pid-ns: unshare(CLONE_NEWPID) in the namespaces step moves only the
 * children, so the last jail step forks once. The child returns from
 * jail_run() as PID 1 of the new namespace and runs the VM; the parent, as
 * confined as the child (jail root, jail uid, no capabilities, no_new_privs),
 * forwards SIGTERM/SIGINT to it and exits with its exit code. With
 * --daemonize the parent just exits 0.
 *
 * PID 1 gets from inside its namespace only the signals it handles; kiln
 * blocks SIGTERM/SIGINT (read from a signalfd) and handles every fatal
 * signal it reports (signals.c), so those still arrive. abort()'s SIGABRT is
 * dropped for PID 1: glibc's fallbacks still end kiln, with another exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail/jail_priv.h"
#include "jail/seccomp.h"

/* The exit status a shell would report for @status. */
static int jail_pidns_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * The parent's own filter, built now that the child's pid is known: wait for
 * signals, forward SIGTERM/SIGINT to that pid only, reap it, exit. A forbidden
 * call traps into the SIGSYS line of signals.c (exit 148).
 */
static int jail_pidns_filter(struct jail_ctx *c, pid_t child)
{
	const struct seccomp_rule rules[] = {
	    {"rt_sigtimedwait", {}, 0, "sigwaitinfo: SIGTERM, SIGINT, SIGCHLD"},
	    {"kill",
	     {SECCOMP_MASKED(0, 0xffffffffULL, (uint32_t)child), SECCOMP_EQ(1, SIGTERM)},
	     0,
	     "forward SIGTERM to the child, nobody else"},
	    {"kill",
	     {SECCOMP_MASKED(0, 0xffffffffULL, (uint32_t)child), SECCOMP_EQ(1, SIGINT)},
	     0,
	     "forward SIGINT to the child, nobody else"},
	    {"wait4", {SECCOMP_MASKED(0, 0xffffffffULL, (uint32_t)child)}, 0, "reap the child"},
	    {"exit_group", {}, 0, "exit with the child's code"},
	    {"write", {SECCOMP_EQ(0, STDERR_FILENO)}, 0, "a fatal signal's log line (signals.c)"},
	    {"rt_sigreturn", {}, 0, "return from a signal handler"},
	};
	const struct seccomp_policy policy = {"pidns-parent", rules,
					      sizeof(rules) / sizeof(rules[0]), NULL};
	void *insns = NULL;
	size_t nr = 0;
	int err;

	if (c->o->seccomp_level == SECCOMP_LEVEL_OFF)
		return 0;
	err = seccomp_compile(&policy, (enum seccomp_level)c->o->seccomp_level, &insns, &nr);
	if (!err)
		err = seccomp_load_prog(insns, nr, "kiln_pidns_parent");
	free(insns);
	if (err)
		snprintf(c->detail, sizeof(c->detail), "the parent's seccomp filter");
	return err;
}

__attribute__((noreturn)) static void jail_pidns_supervise(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si), status;

		if (sig == SIGTERM || sig == SIGINT) {
			kill(child, sig);
			continue;
		}
		/* SIGCHLD (or an interrupted wait): reap if it is over. */
		if (waitpid(child, &status, WNOHANG) == child)
			_exit(jail_pidns_exit_code(status));
	}
}

/*
 * The child dies with its parent (PR_SET_PDEATHSIG; it was not cleared by
 * the uid change, which came before). A pipe the parent never writes closes
 * the race of a parent that died before the prctl: its end then reads HUP.
 */
static int jail_pidns_child(int parent_end)
{
	struct pollfd pfd = {.fd = parent_end, .events = POLLIN};

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	if (poll(&pfd, 1, 0) != 0)
		_exit(1); /* the parent is gone already: nobody waits for this VM */
	close(parent_end);
	return 0;
}

int jail_pidns_fork(struct jail_ctx *c)
{
	sigset_t set, old;
	int p[2] = {-1, -1};
	pid_t pid;

	if (!c->o->new_pid_ns)
		return 0;
	/* SIGCHLD blocked before the fork: a child that exits at once is still seen. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0 || (!c->o->daemonize && pipe2(p, O_CLOEXEC) < 0))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (sigprocmask(SIG_SETMASK, &old, NULL) < 0)
			return -errno;
		if (c->o->daemonize)
			return 0;
		close(p[1]);
		return jail_pidns_child(p[0]);
	}
	if (c->o->daemonize)
		_exit(0);
	close(p[0]);
	/* On failure the step's exit ends the parent, and PR_SET_PDEATHSIG the child. */
	if (jail_pidns_filter(c, pid))
		return -EPERM;
	jail_pidns_supervise(pid, &set); /* p[1] stays open until the parent exits */
}
