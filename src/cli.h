/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing into a validated option set. Pure: no file access,
 * so every bad-argument path is unit-tested without KVM.
 */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_MEM_MIB (1ULL << 20) /* 1 TiB: far above any host kiln runs on */

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

struct cli_opts {
	enum cli_action action;
	const char *kernel;
	const char *initrd;
	const char *boot_args;
	const char *serial_out;
	const char *kvm_path;
	int log_level;
	unsigned int vcpus;
	uint64_t mem_mib;
};

/* 0 on success; -EINVAL with a one-line reason in @err otherwise. */
int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err, size_t err_len);
void cli_usage(int fd);

#endif
