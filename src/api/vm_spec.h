/* SPDX-License-Identifier: MIT */
/*
 * The pre-boot configuration model: everything Firecracker's API (and kiln's
 * --config-file) can set before InstanceStart, its JSON form in both
 * directions, and its mapping onto struct vm_config. Pure: no file access.
 */
#ifndef KILN_API_VM_SPEC_H
#define KILN_API_VM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#include <jansson.h>

#include "devices/virtio/blk.h"
#include "vmm/ratelimit.h"
#include "vmm/vm.h"

#define SPEC_MAX_DRIVES	    VM_MAX_DRIVES
#define SPEC_ID_MAX	    64 /* drive ids: [A-Za-z0-9_]{1,64} */
#define SPEC_PATH_MAX	    4096
#define SPEC_MODULE_MAX	    128
#define SPEC_MAX_VCPUS	    KILN_MAX_VCPUS
#define SPEC_MIN_MEM_MIB    KILN_MIN_MEM_MIB
#define SPEC_MAX_MEM_MIB    (1ULL << 20) /* 1 TiB; the host's RAM is checked at start */
#define SPEC_ERR_BYTES	    256
#define SPEC_MAX_PROPS	    16 /* metrics "properties" entries */
#define SPEC_PROP_MAX_BYTES 128

/* Firecracker's logger levels; kiln maps them onto enum log_level. */
enum spec_log_level {
	SPEC_LOG_ERROR = 0,
	SPEC_LOG_WARNING,
	SPEC_LOG_INFO,
	SPEC_LOG_DEBUG,
	SPEC_LOG_TRACE,
	SPEC_LOG_OFF,
};

struct spec_boot {
	char *kernel_image_path; /* owned (malloc); NULL until boot-source is set */
	char *initrd_path;	 /* owned; NULL: none */
	char *boot_args;	 /* owned; NULL: VM_DEFAULT_BOOT_ARGS */
};

struct spec_machine {
	unsigned int vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum gm_backing backing; /* huge_pages: "None", "Transparent", "2M" */
};

struct spec_drive {
	char id[SPEC_ID_MAX + 1];
	char *path_on_host; /* owned */
	bool is_root_device;
	bool is_read_only;
	bool cache_unsafe; /* cache_type "Unsafe" (Firecracker's default) */
	bool direct;	   /* CLI-only (--drive ...,direct): O_DIRECT; not in the JSON */
	bool io_async;	   /* io_engine "Async" (io_uring) rather than "Sync" */
	struct rl_config rate_limiter;
};

#define SPEC_MAX_NETS	  VM_MAX_NETS
#define SPEC_IFNAME_BYTES 16 /* IFNAMSIZ: 15 bytes and the NUL */

struct spec_net {
	char id[SPEC_ID_MAX + 1];	       /* iface_id, [A-Za-z0-9_]{1,64} */
	char host_dev_name[SPEC_IFNAME_BYTES]; /* the tap */
	uint8_t mac[NET_MAC_BYTES];
	bool has_mac; /* guest_mac given */
	uint32_t mtu; /* 0: not given; else 68..65535 */
	int tap_fd;   /* CLI --net only: opened before privileges went; -1 otherwise */
	struct rl_config rx_rate_limiter;
	struct rl_config tx_rate_limiter;
};

struct spec_logger {
	bool set;
	char *log_path; /* owned; NULL: keep the current sink (stderr) */
	enum spec_log_level level;
	bool show_level;
	bool show_log_origin;
	char module[SPEC_MODULE_MAX + 1]; /* "" : no filter */
};

struct spec_metrics {
	bool set;
	char *metrics_path; /* owned */
	bool emit_id;
	unsigned int nr_props;
	char prop_key[SPEC_MAX_PROPS][SPEC_PROP_MAX_BYTES];
	char prop_val[SPEC_MAX_PROPS][SPEC_PROP_MAX_BYTES];
};

struct spec_vsock {
	uint64_t guest_cid;
	char *uds_path; /* owned; NULL: no vsock device */
};

struct vm_spec {
	struct spec_boot boot;
	struct spec_machine machine;
	struct spec_drive drives[SPEC_MAX_DRIVES];
	unsigned int nr_drives;
	bool entropy;
	struct rl_config entropy_rate_limiter;
	struct spec_vsock vsock;
	struct spec_net nets[SPEC_MAX_NETS];
	unsigned int nr_nets;
	char *serial_out_path; /* owned; NULL: stdout */
	struct spec_logger logger;
	struct spec_metrics metrics;
};

/* Defaults as Firecracker's: 1 vCPU, 128 MiB, no devices. */
void spec_init(struct vm_spec *s);
void spec_free(struct vm_spec *s);
/* Deep copy; 0 or -ENOMEM (then @dst holds nothing). */
int spec_copy(struct vm_spec *dst, const struct vm_spec *src);

bool spec_drive_id_valid(const char *id);
int spec_log_level_from_name(const char *name); /* case-insensitive; -1 if unknown */
const char *spec_log_level_name(enum spec_log_level l);

/*
 * Each parser validates one JSON body completely before changing @s, so a
 * refused request leaves the configuration as it was. They return 0, or
 * -EINVAL with one line in @err naming the field; -ENOTSUP marks a valid
 * request for something kiln does not do yet (also with a message).
 */
int spec_put_boot_source(struct vm_spec *s, const json_t *body, char *err, size_t len);
int spec_put_machine(struct vm_spec *s, const json_t *body, bool partial, char *err, size_t len);
int spec_put_drive(struct vm_spec *s, const char *path_id, const json_t *body, char *err,
		   size_t len);
/*
 * PATCH /drives/{id}: drive_id plus optional path_on_host (result in *new_path,
 * malloc'ed, or NULL) and rate_limiter (*rl: the buckets it sets).
 */
int spec_parse_drive_patch(const struct vm_spec *s, const char *path_id, const json_t *body,
			   char **new_path, struct rl_config *rl, char *err, size_t len);
int spec_put_net(struct vm_spec *s, const char *path_id, const json_t *body, char *err, size_t len);
/* PATCH /network-interfaces/{id}: only the rate limiters may change; *rx, *tx: the buckets set. */
int spec_parse_net_patch(const struct vm_spec *s, const char *path_id, const json_t *body,
			 struct rl_config *rx, struct rl_config *tx, char *err, size_t len);
/* "aa:bb:cc:dd:ee:ff" (hex, either case) into @mac; false if malformed. */
bool spec_parse_mac(const char *str, uint8_t mac[NET_MAC_BYTES]);
int spec_put_entropy(struct vm_spec *s, const json_t *body, char *err, size_t len);
/*
 * A RateLimiter object (absent or null: nothing set); @what names it in
 * messages ("drive rate_limiter"). 0, or -EINVAL naming the field; @out is
 * all unset then.
 */
int spec_parse_rate_limiter(const json_t *v, const char *what, struct rl_config *out, char *err,
			    size_t len);
bool spec_rate_limiter_set(const struct rl_config *c);
json_t *spec_rate_limiter_to_json(const struct rl_config *c);
/* PUT /vsock: guest_cid (3 .. 2^32-2) and uds_path (at most 96 bytes); vsock_id ignored. */
int spec_put_vsock(struct vm_spec *s, const json_t *body, char *err, size_t len);
int spec_put_serial(struct vm_spec *s, const json_t *body, char *err, size_t len);
/* Logger and metrics: parsed into @out only; the caller applies them, then stores. */
int spec_parse_logger(const json_t *body, struct spec_logger *out, char *err, size_t len);
int spec_parse_metrics(const json_t *body, struct spec_metrics *out, char *err, size_t len);
void spec_logger_free(struct spec_logger *l);
void spec_metrics_free(struct spec_metrics *m);

/* The whole document of --config-file / GET /vm/config (kebab-case sections). */
int spec_from_json(struct vm_spec *s, const json_t *doc, char *err, size_t len);
json_t *spec_to_json(const struct vm_spec *s);
json_t *spec_machine_to_json(const struct spec_machine *m);

/*
 * Fill @cfg (and @drives, SPEC_MAX_DRIVES entries) from @s; the pointers in
 * @cfg refer into @s, which must outlive the VM build. -EINVAL with @err if
 * no boot source is set. serial_out_fd and kvm_path are the caller's.
 */
int spec_to_vm_config(const struct vm_spec *s, struct vm_config *cfg, struct blk_config *drives,
		      char *err, size_t len);
/* After spec_to_vm_config: the network interfaces into @nets (SPEC_MAX_NETS entries). */
void spec_to_net_configs(const struct vm_spec *s, struct vm_config *cfg, struct net_config *nets);

#endif
