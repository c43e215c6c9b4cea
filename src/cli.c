/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/vm_spec.h"
#include "parse_num.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_BOOT_ARGS,
	OPT_VCPUS,
	OPT_MEM_MIB,
	OPT_SERIAL_OUT,
	OPT_LOG_LEVEL,
	OPT_SECCOMP_LEVEL,
#ifdef KILN_SECCOMP_SELFTEST
	OPT_SECCOMP_SELFTEST,
#endif
	OPT_KVM_DEV,
	OPT_DRIVE,
	OPT_RNG,
	OPT_VSOCK,
	OPT_NET,
	OPT_API_SOCK,
	OPT_CONFIG_FILE,
	OPT_NO_API,
	OPT_ID,
	OPT_MAX_PAYLOAD,
	OPT_JAIL,
	OPT_UID,
	OPT_GID,
	OPT_CHROOT_BASE,
	OPT_NETNS,
	OPT_NEW_PID_NS,
	OPT_DAEMONIZE,
	OPT_CGROUP,
	OPT_RESOURCE_LIMIT,
	OPT_HUGE_PAGES,
	OPT_VERSION,
	OPT_HELP,
};

static const struct option cli_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"boot-args", required_argument, NULL, OPT_BOOT_ARGS},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"mem-mib", required_argument, NULL, OPT_MEM_MIB},
    {"huge-pages", required_argument, NULL, OPT_HUGE_PAGES},
    {"serial-out", required_argument, NULL, OPT_SERIAL_OUT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"seccomp-level", required_argument, NULL, OPT_SECCOMP_LEVEL},
#ifdef KILN_SECCOMP_SELFTEST
    {"seccomp-selftest", required_argument, NULL, OPT_SECCOMP_SELFTEST},
#endif
    {"kvm-dev", required_argument, NULL, OPT_KVM_DEV},
    {"drive", required_argument, NULL, OPT_DRIVE},
    {"rng", no_argument, NULL, OPT_RNG},
    {"vsock", required_argument, NULL, OPT_VSOCK},
    {"net", required_argument, NULL, OPT_NET},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"id", required_argument, NULL, OPT_ID},
    {"http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD},
    {"jail", no_argument, NULL, OPT_JAIL},
    {"uid", required_argument, NULL, OPT_UID},
    {"gid", required_argument, NULL, OPT_GID},
    {"chroot-base", required_argument, NULL, OPT_CHROOT_BASE},
    {"netns", required_argument, NULL, OPT_NETNS},
    {"new-pid-ns", no_argument, NULL, OPT_NEW_PID_NS},
    {"daemonize", no_argument, NULL, OPT_DAEMONIZE},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {"resource-limit", required_argument, NULL, OPT_RESOURCE_LIMIT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

__attribute__((format(printf, 3, 4))) static int cli_fail(char *err, size_t err_len,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cli_set_value(struct cli_opts *o, int opt, const char *arg, char *err, size_t len)
{
	uint64_t v;

	switch (opt) {
	case OPT_VCPUS:
		if (parse_u64_strict(arg, &v) || v < 1 || v > KILN_MAX_VCPUS)
			return cli_fail(err, len,
					"--vcpus must be an integer from 1 to 32, got '%s'", arg);
		o->vcpus = (unsigned int)v;
		return 0;
	case OPT_MEM_MIB:
		if (parse_u64_strict(arg, &v) || v < KILN_MIN_MEM_MIB || v > CLI_MAX_MEM_MIB)
			return cli_fail(err, len,
					"--mem-mib must be an integer from 16 to %llu, got '%s'",
					(unsigned long long)CLI_MAX_MEM_MIB, arg);
		o->mem_mib = v;
		return 0;
	case OPT_HUGE_PAGES: /* machine-config's huge_pages, same names */
		if (!strcmp(arg, "None"))
			o->backing = GM_BACKING_PAGES;
		else if (!strcmp(arg, "Transparent"))
			o->backing = GM_BACKING_TRANSPARENT;
		else if (!strcmp(arg, "2M"))
			o->backing = GM_BACKING_HUGETLB_2M;
		else
			return cli_fail(err, len,
					"--huge-pages must be None, Transparent or 2M, got '%s'",
					arg);
		return 0;
	case OPT_MAX_PAYLOAD:
		if (parse_u64_strict(arg, &v) || v < 1 || v > CLI_MAX_PAYLOAD_BYTES)
			return cli_fail(err, len,
					"--http-api-max-payload-size must be an integer from 1 to "
					"%llu, got '%s'",
					CLI_MAX_PAYLOAD_BYTES, arg);
		o->max_payload = v;
		return 0;
	case OPT_ID:
		for (const char *c = arg; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '-'))
				arg = "";
		if (!*arg || strlen(arg) > CLI_INSTANCE_ID_MAX)
			return cli_fail(err, len, "%s", "--id must match [A-Za-z0-9-]{1,64}");
		o->id = arg;
		return 0;
	case OPT_SECCOMP_LEVEL:
		if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '2')
			return cli_fail(err, len, "--seccomp-level must be 0, 1 or 2, got '%s'",
					arg);
		o->seccomp_level = arg[0] - '0';
		return 0;
#ifdef KILN_SECCOMP_SELFTEST
	case OPT_SECCOMP_SELFTEST: /* test-only build: make a forbidden syscall there */
		if (strcmp(arg, "startup") && strcmp(arg, "preboot") && strcmp(arg, "vcpu") &&
		    strcmp(arg, "runtime"))
			return cli_fail(err, len, "%s",
					"--seccomp-selftest startup|preboot|vcpu|runtime");
		o->seccomp_selftest = arg;
		return 0;
#endif
	case OPT_LOG_LEVEL:
		o->log_level = log_level_parse(arg);
		if (o->log_level < 0)
			return cli_fail(err, len,
					"--log-level must be error, warn, info or debug, got '%s'",
					arg);
		return 0;
	default:
		return cli_fail(err, len, "%s", "internal error: unknown option");
	}
}

static int cli_drive_option(struct cli_drive *d, const char *opt, char *err, size_t len)
{
	if (!strcmp(opt, "ro"))
		d->read_only = true;
	else if (!strcmp(opt, "root"))
		d->is_root = true;
	else if (!strcmp(opt, "direct"))
		d->direct = true;
	else if (!strcmp(opt, "cache=unsafe"))
		d->cache_unsafe = true;
	else if (!strcmp(opt, "cache=writeback"))
		d->cache_unsafe = false;
	else if (!strcmp(opt, "aio=io_uring") || !strcmp(opt, "async"))
		d->io_async = true;
	else if (!strcmp(opt, "aio=sync"))
		d->io_async = false;
	else if (!strncmp(opt, "id=", 3) && spec_drive_id_valid(opt + 3))
		snprintf(d->id, sizeof(d->id), "%s", opt + 3);
	else if (!strncmp(opt, "id=", 3))
		return cli_fail(err, len, "--drive id must match [A-Za-z0-9_]{1,64}, got '%s'",
				opt + 3);
	else
		return cli_fail(err, len,
				"--drive option '%s' unknown (id=ID, ro, root, direct, "
				"cache=unsafe|writeback, aio=io_uring|sync)",
				opt);
	return 0;
}

/* PATH[,id=ID][,ro][,root][,direct][,cache=unsafe|writeback][,aio=io_uring|sync] */
static int cli_parse_drive(struct cli_opts *o, const char *arg, char *err, size_t len)
{
	char buf[CLI_PATH_MAX + 256];
	struct cli_drive *d;
	char *save = NULL, *tok;

	if (o->nr_drives == CLI_MAX_DRIVES)
		return cli_fail(err, len, "at most %d --drive options", CLI_MAX_DRIVES);
	if (strlen(arg) >= sizeof(buf) || arg[0] == ',' || arg[0] == 0)
		return cli_fail(err, len, "--drive needs PATH[,options], got '%.64s'", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	d = &o->drives[o->nr_drives];
	memset(d, 0, sizeof(*d));
	tok = strtok_r(buf, ",", &save);
	if (strlen(tok) >= sizeof(d->path))
		return cli_fail(err, len, "%s", "--drive path is too long");
	snprintf(d->path, sizeof(d->path), "%s", tok);
	snprintf(d->id, sizeof(d->id), "drive%u", o->nr_drives);
	while ((tok = strtok_r(NULL, ",", &save)))
		if (cli_drive_option(d, tok, err, len))
			return -EINVAL;
	for (unsigned int i = 0; i < o->nr_drives; i++) {
		if (!strcmp(o->drives[i].id, d->id))
			return cli_fail(err, len, "--drive id '%s' is used twice", d->id);
		if (d->is_root && o->drives[i].is_root)
			return cli_fail(err, len, "%s", "only one --drive may be the root");
	}
	o->nr_drives++;
	return 0;
}

static int cli_net_option(struct cli_net *n, const char *opt, char *err, size_t len)
{
	uint64_t v;

	if (!strncmp(opt, "mac=", 4)) {
		if (!spec_parse_mac(opt + 4, n->mac) || (n->mac[0] & 1))
			return cli_fail(
			    err, len, "--net mac must be a unicast aa:bb:cc:dd:ee:ff, got '%.32s'",
			    opt + 4);
		n->has_mac = true;
	} else if (!strncmp(opt, "mtu=", 4)) {
		if (parse_u64_strict(opt + 4, &v) || v < NET_MIN_MTU || v > NET_MAX_MTU)
			return cli_fail(err, len, "--net mtu must be %u to %u, got '%.32s'",
					NET_MIN_MTU, NET_MAX_MTU, opt + 4);
		n->mtu = (uint32_t)v;
	} else if (!strncmp(opt, "id=", 3) && spec_drive_id_valid(opt + 3)) {
		snprintf(n->id, sizeof(n->id), "%s", opt + 3);
	} else {
		return cli_fail(err, len, "--net option '%.64s' unknown (mac=MAC, mtu=N, id=ID)",
				opt);
	}
	return 0;
}

/* TAP[,mac=MAC][,mtu=N][,id=ID]: a virtio-net device on host tap TAP. */
static int cli_parse_net(struct cli_opts *o, const char *arg, char *err, size_t len)
{
	char buf[256];
	struct cli_net *n;
	char *save = NULL, *tok;

	if (o->nr_nets == NETDEV_MAX_TAPS)
		return cli_fail(err, len, "at most %d --net options", NETDEV_MAX_TAPS);
	if (strlen(arg) >= sizeof(buf) || arg[0] == ',' || arg[0] == 0)
		return cli_fail(err, len, "--net needs TAP[,options], got '%.64s'", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	n = &o->nets[o->nr_nets];
	memset(n, 0, sizeof(*n));
	tok = strtok_r(buf, ",", &save);
	if (!netdev_name_valid(tok))
		return cli_fail(err, len,
				"--net tap name '%.64s' must be 1 to 15 bytes without '/', ':' or "
				"spaces",
				tok);
	snprintf(n->tap, sizeof(n->tap), "%s", tok);
	snprintf(n->id, sizeof(n->id), "net%u", o->nr_nets);
	while ((tok = strtok_r(NULL, ",", &save)))
		if (cli_net_option(n, tok, err, len))
			return -EINVAL;
	for (unsigned int i = 0; i < o->nr_nets; i++)
		if (!strcmp(o->nets[i].id, n->id) || !strcmp(o->nets[i].tap, n->tap))
			return cli_fail(err, len, "--net '%s' (id %s) is given twice", n->tap,
					n->id);
	o->taps.taps[o->nr_nets] = (struct netdev_tap){n->tap, n->mtu, -1};
	o->taps.nr_taps = ++o->nr_nets;
	return 0;
}

/* --jail and its flags; the checks that need them all are in jail_validate(). */
static int cli_set_jail(struct jail_opts *j, int opt, const char *arg, char *err, size_t len)
{
	uint32_t v;

	j->any_flag = j->any_flag || opt != OPT_JAIL;
	switch (opt) {
	case OPT_JAIL:
		j->enabled = true;
		return 0;
	case OPT_UID:
		if (jail_parse_id_number(arg, "--uid", &v, err, len))
			return -EINVAL;
		j->uid = v;
		j->uid_set = true;
		return 0;
	case OPT_GID:
		if (jail_parse_id_number(arg, "--gid", &v, err, len))
			return -EINVAL;
		j->gid = v;
		j->gid_set = true;
		return 0;
	case OPT_CHROOT_BASE:
		j->chroot_base = arg;
		return 0;
	case OPT_NETNS:
		j->netns = arg;
		return 0;
	case OPT_NEW_PID_NS:
		j->new_pid_ns = true;
		return 0;
	case OPT_DAEMONIZE:
		j->daemonize = true;
		return 0;
	case OPT_CGROUP:
		return jail_parse_cgroup(j, arg, err, len);
	default:
		return jail_parse_rlimit(j, arg, err, len);
	}
}

/* Which of the three ways to configure the VM was asked for, and only one. */
/* --vsock CID,PATH: the same limits as PUT /vsock. */
static int cli_parse_vsock(struct cli_opts *o, const char *arg, char *err, size_t len)
{
	const char *comma = strchr(arg, ',');
	char cid[16];
	uint64_t v;

	if (o->vsock_path)
		return cli_fail(err, len, "%s", "--vsock given twice (one vsock device per VM)");
	if (!comma || (size_t)(comma - arg) >= sizeof(cid))
		return cli_fail(err, len, "--vsock must be CID,PATH, got '%s'", arg);
	memcpy(cid, arg, (size_t)(comma - arg));
	cid[comma - arg] = '\0';
	if (parse_u64_strict(cid, &v) || v < VSOCK_MIN_GUEST_CID || v > VSOCK_MAX_GUEST_CID)
		return cli_fail(err, len,
				"--vsock CID must be an integer from 3 to 4294967294, "
				"got '%s'",
				cid);
	if (!comma[1] || strlen(comma + 1) > VSOCK_UDS_PATH_MAX)
		return cli_fail(err, len, "--vsock PATH must be 1 to %d bytes", VSOCK_UDS_PATH_MAX);
	o->vsock_cid = v;
	o->vsock_path = comma + 1;
	return 0;
}

static int cli_check_modes(const struct cli_opts *o, char *err, size_t err_len)
{
	if (o->no_api && o->api_sock)
		return cli_fail(err, err_len, "%s", "--no-api and --api-sock exclude each other");
	if (o->config_file && o->vm_flags)
		return cli_fail(
		    err, err_len, "%s",
		    "--config-file excludes --kernel, --drive and the other VM options");
	if (!o->kernel && !o->config_file && !o->api_sock)
		return cli_fail(err, err_len, "%s",
				"--kernel PATH is required (or --config-file or --api-sock)");
	if (!o->kernel && o->vm_flags)
		return cli_fail(err, err_len, "%s", "VM options given without --kernel PATH");
	if (strlen(o->boot_args) >= CMDLINE_MAX_BYTES)
		return cli_fail(err, err_len, "--boot-args is longer than %u bytes",
				CMDLINE_MAX_BYTES - 1);
	return 0;
}

static void cli_defaults(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->action = CLI_RUN;
	o->boot_args = VM_DEFAULT_BOOT_ARGS;
	o->kvm_path = "/dev/kvm";
	o->log_level = LOG_WARN;
	o->seccomp_level = 2;
	o->vcpus = 1;
	o->mem_mib = 128;
}

int cli_parse(int argc, char *const argv[], struct cli_opts *o, char *err, size_t err_len)
{
	int opt;

	cli_defaults(o);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", cli_options, NULL)) != -1) {
		if (opt == OPT_KERNEL || opt == OPT_INITRD || opt == OPT_BOOT_ARGS ||
		    opt == OPT_SERIAL_OUT || opt == OPT_DRIVE || opt == OPT_RNG || opt == OPT_NET ||
		    opt == OPT_VSOCK || opt == OPT_VCPUS || opt == OPT_MEM_MIB ||
		    opt == OPT_HUGE_PAGES)
			o->vm_flags = true;
		switch (opt) {
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_INITRD:
			o->initrd = optarg;
			break;
		case OPT_BOOT_ARGS:
			o->boot_args = optarg;
			break;
		case OPT_SERIAL_OUT:
			o->serial_out = optarg;
			break;
		case OPT_KVM_DEV:
			o->kvm_path = optarg;
			break;
		case OPT_DRIVE:
			if (cli_parse_drive(o, optarg, err, err_len))
				return -EINVAL;
			break;
		case OPT_RNG:
			o->rng = true;
			break;
		case OPT_VSOCK:
			if (cli_parse_vsock(o, optarg, err, err_len))
				return -EINVAL;
			break;
		case OPT_NET:
			if (cli_parse_net(o, optarg, err, err_len))
				return -EINVAL;
			break;
		case OPT_API_SOCK:
			o->api_sock = optarg;
			break;
		case OPT_CONFIG_FILE:
			o->config_file = optarg;
			break;
		case OPT_NO_API:
			o->no_api = true;
			break;
		case OPT_JAIL:
		case OPT_UID:
		case OPT_GID:
		case OPT_CHROOT_BASE:
		case OPT_NETNS:
		case OPT_NEW_PID_NS:
		case OPT_DAEMONIZE:
		case OPT_CGROUP:
		case OPT_RESOURCE_LIMIT:
			if (cli_set_jail(&o->jail, opt, optarg, err, err_len))
				return -EINVAL;
			break;
		case OPT_VERSION:
			o->action = CLI_VERSION;
			return 0;
		case OPT_HELP:
			o->action = CLI_HELP;
			return 0;
		case '?':
			return cli_fail(err, err_len, "unknown or incomplete option '%s'",
					argv[optind - 1]);
		default:
			if (cli_set_value(o, opt, optarg, err, err_len))
				return -EINVAL;
		}
	}
	if (optind < argc)
		return cli_fail(err, err_len, "unexpected argument '%s'", argv[optind]);
	if (o->backing == GM_BACKING_HUGETLB_2M && o->mem_mib % 2)
		return cli_fail(err, err_len, "--huge-pages 2M needs an even --mem-mib, got %llu",
				(unsigned long long)o->mem_mib);
	o->jail.id = o->id;
	o->jail.seccomp_level = o->seccomp_level;
	o->jail.taps = &o->taps;
	if (jail_validate(&o->jail, err, err_len))
		return -EINVAL;
	return cli_check_modes(o, err, err_len);
}

void cli_usage(int fd)
{
	dprintf(fd,
		"usage: kiln --kernel PATH [options]\n"
		"       kiln --api-sock PATH | --config-file PATH [options]\n"
		"\n"
		"Boot a Linux kernel (ELF vmlinux with or without a PVH note, or bzImage)\n"
		"in a KVM microVM. The guest's COM1 is this process's stdin/stdout.\n"
		"\n"
		"  --kernel PATH       kernel image (required)\n"
		"  --initrd PATH       initial ramdisk\n"
		"  --boot-args STR     kernel command line (default: \"%s\")\n"
		"  --vcpus N           vCPUs, 1-32 (default 1)\n"
		"  --mem-mib N         guest RAM in MiB, >= 16 (default 128)\n"
		"  --huge-pages H      guest RAM backing: None (default), Transparent\n"
		"                      (MADV_HUGEPAGE) or 2M (reserved hugetlb pages;\n"
		"                      --mem-mib even)\n"
		"  --serial-out PATH   write the guest console to PATH instead of stdout\n"
		"  --log-level L       error, warn, info or debug (default warn)\n"
		"  --seccomp-level N   2: full seccomp filters (default); 1: syscall numbers\n"
		"                      only; 0: NO filters, debugging only (SECURITY.md)\n"
		"  --kvm-dev PATH      KVM device (default /dev/kvm)\n"
		"  --drive PATH[,id=ID][,ro][,root][,direct][,cache=unsafe][,aio=io_uring]\n"
		"                      virtio-blk drive (repeatable); root appends\n"
		"                      root=/dev/vdX to the command line; aio=io_uring\n"
		"                      (or async) serves it with the io_uring engine\n"
		"  --rng               virtio-rng device fed by getrandom()\n"
		"  --vsock CID,PATH    virtio-vsock with guest CID (>= 3); host processes\n"
		"                      connect to the Unix socket PATH (\"CONNECT <port>\"),\n"
		"                      guest connections to port P go to PATH_P\n"
		"  --net TAP[,mac=MAC][,mtu=N][,id=ID]\n"
		"                      virtio-net on host tap TAP (repeatable); kiln creates\n"
		"                      TAP (owned by --uid, MTU N, up, moved into --netns)\n"
		"                      when it is missing and kiln is privileged\n"
		"\n"
		"Firecracker-compatible configuration (docs/API.md):\n"
		"  --api-sock PATH     serve the HTTP API on this Unix socket; without\n"
		"                      --kernel or --config-file the VM starts on\n"
		"                      PUT /actions {\"action_type\": \"InstanceStart\"}\n"
		"  --config-file PATH  boot at once from this JSON document (the format\n"
		"                      GET /vm/config returns); excludes the VM options\n"
		"  --no-api            no API socket (the default without --api-sock)\n"
		"  --id ID             instance id for logs, metrics and GET /\n"
		"                      ([A-Za-z0-9-]{1,64}, default anonymous-instance)\n"
		"  --http-api-max-payload-size N  largest request body (default 51200)\n"
		"\n"
		"Jail (SECURITY.md; paths given afterwards resolve inside the jail root):\n"
		"  --jail              confine kiln before it opens anything: needs --id,\n"
		"                      --uid and --gid; started by a non-root user, kiln\n"
		"                      adds a user namespace (--uid/--gid map to that user)\n"
		"  --uid N, --gid N    the unprivileged user kiln becomes (not 0)\n"
		"  --chroot-base DIR   jail root is DIR/kiln/<id>/root (default /srv/kiln)\n"
		"  --netns PATH        join this network namespace (default: a new, empty one)\n"
		"  --new-pid-ns        run the VM as PID 1 of a new PID namespace (kiln forks;\n"
		"                      the parent forwards SIGTERM/SIGINT, exits with its code)\n"
		"  --daemonize         detach: new session, stdio on /dev/null\n"
		"  --cgroup FILE=VALUE cgroup v2 value for kiln/<id>, e.g. pids.max=64\n"
		"                      (repeatable)\n"
		"  --resource-limit no-file=N|fsize=N  RLIMIT_NOFILE / RLIMIT_FSIZE (bytes)\n"
		"  --version           print the version and exit\n"
		"  --help              print this help and exit\n"
		"\n"
		"Exit status: 0 guest reset or shut down (or SIGTERM/SIGINT), 1 bad\n"
		"argument or start-up failure, 3 VM failure while running, 40-57 a jail\n"
		"step failed (40 + its row in SECURITY.md), 148 SIGSYS, 149 SIGBUS,\n"
		"150 SIGSEGV, 151 SIGXFSZ, 154 SIGXCPU, 156 SIGHUP, 157 SIGILL.\n",
		VM_DEFAULT_BOOT_ARGS);
}

int cli_to_spec(const struct cli_opts *o, struct vm_spec *s)
{
	spec_init(s);
	s->boot.kernel_image_path = strdup(o->kernel);
	s->boot.initrd_path = o->initrd ? strdup(o->initrd) : NULL;
	s->boot.boot_args = strdup(o->boot_args);
	s->serial_out_path = o->serial_out ? strdup(o->serial_out) : NULL;
	if (!s->boot.kernel_image_path || !s->boot.boot_args ||
	    (o->initrd && !s->boot.initrd_path) || (o->serial_out && !s->serial_out_path))
		goto nomem;
	s->machine.vcpu_count = o->vcpus;
	s->machine.mem_size_mib = o->mem_mib;
	s->machine.backing = o->backing;
	s->entropy = o->rng;
	if (o->vsock_path) {
		s->vsock.guest_cid = o->vsock_cid;
		s->vsock.uds_path = strdup(o->vsock_path);
		if (!s->vsock.uds_path)
			goto nomem;
	}
	for (unsigned int i = 0; i < o->nr_drives; i++) {
		struct spec_drive *d = &s->drives[i];

		snprintf(d->id, sizeof(d->id), "%s", o->drives[i].id);
		d->path_on_host = strdup(o->drives[i].path);
		if (!d->path_on_host)
			goto nomem;
		s->nr_drives++;
		d->is_root_device = o->drives[i].is_root;
		d->is_read_only = o->drives[i].read_only;
		d->cache_unsafe = o->drives[i].cache_unsafe;
		d->direct = o->drives[i].direct;
		d->io_async = o->drives[i].io_async;
	}
	for (unsigned int i = 0; i < o->nr_nets; i++) {
		struct spec_net *n = &s->nets[i];

		snprintf(n->id, sizeof(n->id), "%s", o->nets[i].id);
		snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s", o->nets[i].tap);
		memcpy(n->mac, o->nets[i].mac, sizeof(n->mac));
		n->has_mac = o->nets[i].has_mac;
		n->mtu = o->nets[i].mtu;
		n->tap_fd = i < o->taps.nr_taps ? o->taps.taps[i].fd : -1;
		s->nr_nets++;
	}
	return 0;
nomem:
	spec_free(s);
	return -ENOMEM;
}
