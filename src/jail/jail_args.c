/* SPDX-License-Identifier: MIT */
/*
 * Pure validation of the jail flags: the id charset, the chroot base path
 * rules, --cgroup FILE=VALUE and --resource-limit syntax. No syscalls, so
 * tests/unit/test_jail.c covers every refusal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jail/jail.h"
#include "parse_num.h"

__attribute__((format(printf, 3, 4))) static int jail_args_fail(char *err, size_t len,
								const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A controller or knob name: lower-case letters, digits and '_' ("memory.swap_max"). */
static bool jail_args_knob_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * "ctrl.knob" ("memory.max", "cgroup.max.descendants"): [a-z0-9_] words joined
 * by single dots, at least two words, no '/' and no "..", so the name can only
 * ever address a file of the VM's own cgroup directory. cgroup.procs and the
 * other tree-shaping files are kiln's to write, not the caller's.
 */
static bool jail_args_cgroup_file_valid(const char *f)
{
	const char *dot = strchr(f, '.');
	size_t n = strlen(f);

	if (!dot || dot == f || n > JAIL_CGROUP_FILE_MAX || f[n - 1] == '.' || strstr(f, ".."))
		return false;
	for (const char *c = f; *c; c++)
		if (*c != '.' && !jail_args_knob_char(*c))
			return false;
	return strcmp(f, "cgroup.procs") && strcmp(f, "cgroup.threads") &&
	       strcmp(f, "cgroup.subtree_control") && strcmp(f, "cgroup.kill") &&
	       strcmp(f, "cgroup.type");
}

/* A value is one line of printable ASCII: no newline smuggling a second write. */
static bool jail_args_cgroup_value_valid(const char *v)
{
	if (!*v || strlen(v) > JAIL_CGROUP_VALUE_MAX)
		return false;
	for (const char *c = v; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return false;
	return true;
}

bool jail_id_valid(const char *id)
{
	size_t n = 0;

	for (const char *c = id; *c; c++, n++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return n >= 1 && n <= JAIL_ID_MAX;
}

int jail_parse_cgroup(struct jail_opts *o, const char *arg, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	struct jail_cgroup_kv *kv;
	size_t flen;

	if (o->nr_cgroups == JAIL_MAX_CGROUPS)
		return jail_args_fail(err, len, "at most %d --cgroup options", JAIL_MAX_CGROUPS);
	flen = eq ? (size_t)(eq - arg) : 0;
	if (!eq || flen == 0 || flen > JAIL_CGROUP_FILE_MAX)
		return jail_args_fail(err, len, "--cgroup needs FILE=VALUE, got '%.80s'", arg);
	kv = &o->cgroups[o->nr_cgroups];
	memcpy(kv->file, arg, flen);
	kv->file[flen] = 0;
	if (!jail_args_cgroup_file_valid(kv->file))
		return jail_args_fail(err, len,
				      "--cgroup file must be CONTROLLER.KNOB ([a-z0-9_]), not one "
				      "of kiln's own cgroup.* files, got '%s'",
				      kv->file);
	if (!jail_args_cgroup_value_valid(eq + 1))
		return jail_args_fail(err, len,
				      "--cgroup %s value must be 1-%d printable characters",
				      kv->file, JAIL_CGROUP_VALUE_MAX);
	snprintf(kv->value, sizeof(kv->value), "%s", eq + 1);
	for (unsigned int i = 0; i < o->nr_cgroups; i++)
		if (!strcmp(o->cgroups[i].file, kv->file))
			return jail_args_fail(err, len, "--cgroup %s is given twice", kv->file);
	o->nr_cgroups++;
	return 0;
}

int jail_parse_rlimit(struct jail_opts *o, const char *arg, char *err, size_t len)
{
	uint64_t v;

	if (!strncmp(arg, "no-file=", 8) && !parse_u64_strict(arg + 8, &v) && v >= 1 &&
	    v <= (1ULL << 30)) {
		o->rlimit_nofile = v;
		o->rlimit_nofile_set = true;
		return 0;
	}
	if (!strncmp(arg, "fsize=", 6) && !parse_u64_strict(arg + 6, &v) && v >= 1 &&
	    v <= (UINT64_MAX >> 1)) {
		o->rlimit_fsize = v;
		o->rlimit_fsize_set = true;
		return 0;
	}
	return jail_args_fail(err, len,
			      "--resource-limit must be no-file=N (1..2^30) or fsize=N (bytes, "
			      ">= 1), got '%.80s'",
			      arg);
}

int jail_parse_id_number(const char *arg, const char *flag, uint32_t *out, char *err, size_t len)
{
	uint64_t v;

	/* 0 is root; (uid_t)-1 means "unchanged" to setresuid(). */
	if (parse_u64_strict(arg, &v) || v == 0 || v >= UINT32_MAX)
		return jail_args_fail(err, len, "%s must be an integer from 1 to %u, got '%.40s'",
				      flag, UINT32_MAX - 1, arg);
	*out = (uint32_t)v;
	return 0;
}

/*
 * The chroot base: absolute, no "." or ".." component, no "//", and not "/"
 * itself. Symlinks are refused later by the walk that opens each component.
 */
static int jail_args_check_base(const char *b, char *err, size_t len)
{
	const char *p = b;

	if (b[0] != '/' || !b[1] || strlen(b) > 1024)
		return jail_args_fail(
		    err, len,
		    "--chroot-base must be an absolute path other than /, at most "
		    "1024 bytes, got '%.80s'",
		    b);
	while (*p) {
		const char *s = ++p;

		while (*p && *p != '/')
			p++;
		if ((p - s == 0 && *p) || (p - s == 1 && s[0] == '.') ||
		    (p - s == 2 && s[0] == '.' && s[1] == '.'))
			return jail_args_fail(err, len,
					      "--chroot-base must not contain '.', '..' or empty "
					      "components, got '%.80s'",
					      b);
	}
	return 0;
}

int jail_validate(const struct jail_opts *o, char *err, size_t len)
{
	if (!o->enabled) {
		if (o->any_flag)
			return jail_args_fail(
			    err, len, "%s",
			    "--uid, --gid, --chroot-base, --netns, --new-pid-ns, "
			    "--daemonize, --cgroup and --resource-limit need --jail");
		return 0;
	}
	if (!o->id)
		return jail_args_fail(err, len, "%s", "--jail needs --id ID ([A-Za-z0-9-]{1,64})");
	if (!jail_id_valid(o->id))
		return jail_args_fail(err, len, "%s", "--id must match [A-Za-z0-9-]{1,64}");
	if (!o->uid_set || !o->gid_set)
		return jail_args_fail(err, len, "%s", "--jail needs --uid N and --gid N (not 0)");
	if (o->netns && o->netns[0] != '/')
		return jail_args_fail(err, len, "--netns must be an absolute path, got '%.80s'",
				      o->netns);
	return jail_args_check_base(o->chroot_base ? o->chroot_base : JAIL_DEFAULT_CHROOT_BASE, err,
				    len);
}
