/* SPDX-License-Identifier: MIT */
/*
 * Argument values shared by the policy tables: the ioctl requests, the one
 * clone(2) shape glibc's pthread_create uses, and the masks that keep
 * executable mappings out of every filter.
 */
#ifndef KILN_JAIL_POLICY_COMMON_H
#define KILN_JAIL_POLICY_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>

#include "jail/seccomp.h"

/* glibc 2.36 pthread_create (sysdeps/unix/sysv/linux/createthread.c). */
#define POLICY_THREAD_CLONE_FLAGS                                                                  \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |        \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/* glibc's SIGRTMIN: kernel 32 and 33 are reserved by NPTL; vcpu.c kicks with SIGRTMIN. */
#define POLICY_KICK_SIGNAL 34

/* open(2)'s dirfd is an int: compare its low 32 bits only. */
#define POLICY_AT_FDCWD_LOW32 0xffffff9cULL

#define POLICY_IOCTL(req, why)                                                                     \
	{                                                                                          \
		"ioctl", {SECCOMP_EQ(1, req)}, 0, why                                              \
	}
#define POLICY_NO_EXEC(argi) SECCOMP_MASKED(argi, PROT_EXEC, 0)

#endif
