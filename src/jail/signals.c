/* SPDX-License-Identifier: MIT */
/*
 * Fatal signals (issue 5 item 3): each of SIGSYS, SIGSEGV, SIGBUS, SIGXFSZ,
 * SIGXCPU, SIGILL and SIGHUP logs one line on stderr and exits with its own
 * code (the table is in README.md and SECURITY.md). The handler uses only
 * write() and _exit(): async-signal-safe, and both allowed by every seccomp
 * policy. SIGPIPE stays ignored (main.c).
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

struct jail_sig {
	int sig;
	const char *name;
	int code;
};

static const struct jail_sig jail_sigs[] = {
    {SIGSYS, "SIGSYS (seccomp: forbidden system call)", KILN_EXIT_SIGSYS},
    {SIGBUS, "SIGBUS", KILN_EXIT_SIGBUS},
    {SIGSEGV, "SIGSEGV", KILN_EXIT_SIGSEGV},
    {SIGXFSZ, "SIGXFSZ (file size limit exceeded)", KILN_EXIT_SIGXFSZ},
    {SIGXCPU, "SIGXCPU (CPU time limit exceeded)", KILN_EXIT_SIGXCPU},
    {SIGHUP, "SIGHUP", KILN_EXIT_SIGHUP},
    {SIGILL, "SIGILL", KILN_EXIT_SIGILL},
};

/* Append @v in decimal or hex at @p; no libc formatting in a signal handler. */
static char *jail_sig_num(char *p, unsigned long v, unsigned int base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *jail_sig_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static void jail_sig_handler(int sig, siginfo_t *si, void *uctx)
{
	const struct jail_sig *js = NULL;
	char line[192], *p = line;

	(void)uctx;
	for (size_t i = 0; i < sizeof(jail_sigs) / sizeof(jail_sigs[0]); i++)
		if (jail_sigs[i].sig == sig)
			js = &jail_sigs[i];
	if (!js)
		_exit(1);
	p = jail_sig_str(p, "kiln: error: fatal signal ");
	p = jail_sig_str(p, js->name);
	if (sig == SIGSYS) {
		p = jail_sig_str(p, ", syscall ");
		p = jail_sig_num(p, (unsigned long)si->si_syscall, 10);
	} else if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL) {
		p = jail_sig_str(p, ", address 0x");
		p = jail_sig_num(p, (unsigned long)si->si_addr, 16);
	}
	p = jail_sig_str(p, ", exit code ");
	p = jail_sig_num(p, (unsigned long)js->code, 10);
	*p++ = '\n';
	if (write(STDERR_FILENO, line, (size_t)(p - line)) < 0) {
		/* Nothing else to do: the exit code still tells. */
	}
	_exit(js->code);
}

void jail_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = jail_sig_handler;
	sa.sa_flags = SA_SIGINFO;
	/* Block the others while one is handled: one line, one exit code. */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(jail_sigs) / sizeof(jail_sigs[0]); i++)
		sigaddset(&sa.sa_mask, jail_sigs[i].sig);
	for (size_t i = 0; i < sizeof(jail_sigs) / sizeof(jail_sigs[0]); i++)
		sigaction(jail_sigs[i].sig, &sa, NULL);
}
