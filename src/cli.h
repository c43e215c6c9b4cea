/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing into a validated option set. Pure: no file access,
 * so every bad-argument path is unit-tested without KVM.
 */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jail/jail.h"
#include "jail/netdev.h"
#include "vmm/guest_mem.h"

#define CLI_MAX_MEM_MIB (1ULL << 20) /* 1 TiB: far above any host kiln runs on */

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/* virtio-mmio devices get GSIs 5..23: at most 19, one of them maybe the rng. */
#define CLI_MAX_DRIVES	      16
#define CLI_DRIVE_ID_MAX      64
#define CLI_PATH_MAX	      4096
#define CLI_INSTANCE_ID_MAX   64
#define CLI_MAX_PAYLOAD_BYTES (16ULL << 20) /* --http-api-max-payload-size ceiling */

struct cli_drive {
	char path[CLI_PATH_MAX];
	char id[CLI_DRIVE_ID_MAX + 1]; /* [A-Za-z0-9_]{1,64}; default "drive<N>" */
	bool read_only;
	bool cache_unsafe; /* no FLUSH feature: the guest's flushes are not durable */
	bool direct;	   /* O_DIRECT on the backing file */
	bool is_root;	   /* append root=/dev/vdX to the kernel command line */
	bool io_async;	   /* aio=io_uring: io_engine "Async" */
};

/* --net TAP[,mac=MAC][,mtu=N][,id=ID] */
struct cli_net {
	char id[CLI_DRIVE_ID_MAX + 1]; /* iface_id; default "net<N>" */
	char tap[16];		       /* host_dev_name (IFNAMSIZ) */
	uint8_t mac[6];
	bool has_mac;
	uint32_t mtu; /* 0: not set */
};

struct cli_opts {
	enum cli_action action;
	const char *kernel;
	const char *initrd;
	const char *boot_args;
	const char *serial_out;
	const char *kvm_path;
	int log_level;
	int seccomp_level;	      /* --seccomp-level 0..2 (jail/seccomp.h) */
	const char *seccomp_selftest; /* kiln-selftest only: --seccomp-selftest */
	unsigned int vcpus;
	uint64_t mem_mib;
	enum gm_backing backing; /* --huge-pages */
	struct cli_drive drives[CLI_MAX_DRIVES];
	unsigned int nr_drives;
	bool rng;
	uint64_t vsock_cid;	/* --vsock CID,PATH; 0: no vsock device */
	const char *vsock_path; /* points into argv */
	struct cli_net nets[NETDEV_MAX_TAPS];
	unsigned int nr_nets;
	/* The --net taps, opened (or created) while kiln is still privileged: jail.taps points
	 * here. */
	struct netdev_set taps;
	/* API mode (issue 4). */
	const char *api_sock;	 /* --api-sock: serve the HTTP API there */
	const char *config_file; /* --config-file: boot from this JSON document at once */
	bool no_api;
	const char *id;	       /* --id, [A-Za-z0-9-]{1,64}; NULL: "anonymous-instance" */
	uint64_t max_payload;  /* --http-api-max-payload-size; 0: the server's default */
	bool vm_flags;	       /* any of --kernel/--drive/--rng/... was given */
	struct jail_opts jail; /* --jail and its flags (issue 5); jail.id is --id */
};

struct vm_spec;

/* 0 on success; -EINVAL with a one-line reason in @err otherwise. */
int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err, size_t err_len);
void cli_usage(int fd);
/* The VM part of @o as a spec (the same model the API and --config-file fill). 0 or -ENOMEM. */
int cli_to_spec(const struct cli_opts *o, struct vm_spec *s);

#endif
