/* SPDX-License-Identifier: MIT */
/*
 * vm_spec: Firecracker-shaped JSON in, validated configuration out, and back.
 * Every field is checked for presence, type and range against a per-object
 * table; anything not in the table is refused by name.
 */
#include "api/vm_spec.h"
#include "api/vm_spec_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int spec_fail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

static const char *spec_type_name(enum spec_type t)
{
	switch (t) {
	case SF_STR:
		return "a string";
	case SF_BOOL:
		return "a boolean";
	case SF_UINT:
		return "a non-negative integer";
	default:
		return "a value";
	}
}

static bool spec_type_ok(const json_t *v, enum spec_type t)
{
	switch (t) {
	case SF_STR:
		return json_is_string(v);
	case SF_BOOL:
		return json_is_boolean(v);
	case SF_UINT:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	default:
		return true;
	}
}

/*
 * The object check every parser starts with: an object, no unknown field,
 * every present field of the right type, every required one present. A
 * JSON null counts as absent (serde's Option), as Firecracker accepts it.
 */
int spec_check_object(const json_t *o, const char *what, const struct spec_field *f, size_t n,
		      char *err, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return spec_fail(err, len, -EINVAL, "%s must be a JSON object", what);
	json_object_foreach((json_t *)o, key, v)
	{
		size_t i;

		for (i = 0; i < n && strcmp(f[i].name, key); i++)
			;
		if (i == n)
			return spec_fail(err, len, -EINVAL, "unknown field '%.64s' in %s", key,
					 what);
		if (!json_is_null(v) && !spec_type_ok(v, f[i].type))
			return spec_fail(err, len, -EINVAL, "field '%s' in %s must be %s", key,
					 what, spec_type_name(f[i].type));
	}
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(o, f[i].name);
		if (f[i].required && (!v || json_is_null(v)))
			return spec_fail(err, len, -EINVAL, "missing required field '%s' in %s",
					 f[i].name, what);
	}
	return 0;
}

/* A present, non-null field, or NULL. */
json_t *spec_get(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v && !json_is_null(v) ? v : NULL;
}

bool spec_bool(const json_t *o, const char *key, bool dflt)
{
	json_t *v = spec_get(o, key);

	return v ? json_is_true(v) : dflt;
}

/* Paths: non-empty, bounded; the file itself is checked when the VM is built. */
int spec_path(const json_t *o, const char *key, const char *what, char **out, char *err, size_t len)
{
	json_t *v = spec_get(o, key);
	size_t n;

	*out = NULL;
	if (!v)
		return 0;
	n = json_string_length(v);
	if (n == 0 || n >= SPEC_PATH_MAX)
		return spec_fail(err, len, -EINVAL, "field '%s' in %s must be 1 to %d bytes", key,
				 what, SPEC_PATH_MAX - 1);
	if (strlen(json_string_value(v)) != n)
		return spec_fail(err, len, -EINVAL, "field '%s' in %s contains a NUL byte", key,
				 what);
	*out = strdup(json_string_value(v));
	return *out ? 0 : spec_fail(err, len, -ENOMEM, "out of memory");
}

int spec_not_yet(const json_t *o, const char *key, const char *what, char *err, size_t len)
{
	if (spec_get(o, key))
		return spec_fail(err, len, -ENOTSUP, "%s: '%s' is not supported yet", what, key);
	return 0;
}

static char *spec_strdup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool spec_drive_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > SPEC_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Indexed by enum gm_backing. */
static const char *const spec_backing_names[] = {"None", "Transparent", "2M"};

static int spec_backing_from_name(const char *name)
{
	for (int i = 0; i < (int)(sizeof(spec_backing_names) / sizeof(spec_backing_names[0])); i++)
		if (!strcmp(name, spec_backing_names[i]))
			return i;
	return -1;
}

static const char *const spec_log_level_names[] = {"Error", "Warning", "Info",
						   "Debug", "Trace",   "Off"};

int spec_log_level_from_name(const char *name)
{
	for (int i = 0; i <= SPEC_LOG_OFF; i++)
		if (!strcasecmp(name, spec_log_level_names[i]))
			return i;
	return -1;
}

const char *spec_log_level_name(enum spec_log_level l)
{
	return l <= SPEC_LOG_OFF ? spec_log_level_names[l] : "Info";
}

void spec_init(struct vm_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->machine.vcpu_count = 1;
	s->machine.mem_size_mib = 128;
}

void spec_logger_free(struct spec_logger *l)
{
	free(l->log_path);
	l->log_path = NULL;
}

void spec_metrics_free(struct spec_metrics *m)
{
	free(m->metrics_path);
	m->metrics_path = NULL;
}

void spec_free(struct vm_spec *s)
{
	free(s->boot.kernel_image_path);
	free(s->boot.initrd_path);
	free(s->boot.boot_args);
	for (unsigned int i = 0; i < s->nr_drives; i++)
		free(s->drives[i].path_on_host);
	free(s->serial_out_path);
	free(s->vsock.uds_path);
	spec_logger_free(&s->logger);
	spec_metrics_free(&s->metrics);
	spec_init(s);
}

int spec_copy(struct vm_spec *dst, const struct vm_spec *src)
{
	bool ok = true;

	*dst = *src;
	dst->boot.kernel_image_path = spec_strdup_opt(src->boot.kernel_image_path);
	dst->boot.initrd_path = spec_strdup_opt(src->boot.initrd_path);
	dst->boot.boot_args = spec_strdup_opt(src->boot.boot_args);
	ok = (!src->boot.kernel_image_path || dst->boot.kernel_image_path) &&
	     (!src->boot.initrd_path || dst->boot.initrd_path) &&
	     (!src->boot.boot_args || dst->boot.boot_args);
	for (unsigned int i = 0; i < src->nr_drives; i++) {
		dst->drives[i].path_on_host = spec_strdup_opt(src->drives[i].path_on_host);
		ok = ok && (!src->drives[i].path_on_host || dst->drives[i].path_on_host);
	}
	dst->serial_out_path = spec_strdup_opt(src->serial_out_path);
	dst->vsock.uds_path = spec_strdup_opt(src->vsock.uds_path);
	ok = ok && (!src->vsock.uds_path || dst->vsock.uds_path);
	dst->logger.log_path = spec_strdup_opt(src->logger.log_path);
	dst->metrics.metrics_path = spec_strdup_opt(src->metrics.metrics_path);
	ok = ok && (!src->serial_out_path || dst->serial_out_path) &&
	     (!src->logger.log_path || dst->logger.log_path) &&
	     (!src->metrics.metrics_path || dst->metrics.metrics_path);
	if (!ok) {
		spec_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ---- boot-source ------------------------------------------------------- */

static const struct spec_field spec_boot_fields[] = {
    {"kernel_image_path", SF_STR, true},
    {"initrd_path", SF_STR, false},
    {"boot_args", SF_STR, false},
};

int spec_put_boot_source(struct vm_spec *s, const json_t *body, char *err, size_t len)
{
	struct spec_boot b = {NULL, NULL, NULL};
	json_t *args;
	int ret;

	ret = spec_check_object(body, "boot-source", spec_boot_fields, 3, err, len);
	if (!ret)
		ret = spec_path(body, "kernel_image_path", "boot-source", &b.kernel_image_path, err,
				len);
	if (!ret)
		ret = spec_path(body, "initrd_path", "boot-source", &b.initrd_path, err, len);
	args = spec_get(body, "boot_args");
	if (!ret && args) {
		/* The device announcements and root= are appended later; checked again then. */
		if (json_string_length(args) >= CMDLINE_MAX_BYTES ||
		    strlen(json_string_value(args)) != json_string_length(args))
			ret = spec_fail(err, len, -EINVAL,
					"boot_args must be shorter than %u bytes, without NUL",
					CMDLINE_MAX_BYTES);
		else if (!(b.boot_args = strdup(json_string_value(args))))
			ret = spec_fail(err, len, -ENOMEM, "out of memory");
	}
	if (ret) {
		free(b.kernel_image_path);
		free(b.initrd_path);
		free(b.boot_args);
		return ret;
	}
	free(s->boot.kernel_image_path);
	free(s->boot.initrd_path);
	free(s->boot.boot_args);
	s->boot = b;
	return 0;
}

/* ---- machine-config ---------------------------------------------------- */

static const struct spec_field spec_machine_fields[] = {
    {"vcpu_count", SF_UINT, true}, {"mem_size_mib", SF_UINT, true},
    {"smt", SF_BOOL, false},	   {"track_dirty_pages", SF_BOOL, false},
    {"huge_pages", SF_STR, false}, {"cpu_template", SF_STR, false},
};

/*
 * PUT resets the optional fields to their defaults (Firecracker's rule);
 * PATCH (@partial) keeps what is not given and requires nothing.
 */
int spec_put_machine(struct vm_spec *s, const json_t *body, bool partial, char *err, size_t len)
{
	struct spec_field f[6];
	struct spec_machine m = s->machine;
	json_t *v;
	int ret;

	memcpy(f, spec_machine_fields, sizeof(f));
	if (partial)
		f[0].required = f[1].required = false;
	else {
		m.smt = m.track_dirty_pages = false;
		m.backing = GM_BACKING_PAGES;
	}
	ret = spec_check_object(body, "machine-config", f, 6, err, len);
	if (ret)
		return ret;
	if ((v = spec_get(body, "vcpu_count"))) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > SPEC_MAX_VCPUS)
			return spec_fail(err, len, -EINVAL,
					 "vcpu_count must be from 1 to %d, got %lld",
					 SPEC_MAX_VCPUS, (long long)json_integer_value(v));
		m.vcpu_count = (unsigned int)json_integer_value(v);
	}
	if ((v = spec_get(body, "mem_size_mib"))) {
		if (json_integer_value(v) < SPEC_MIN_MEM_MIB ||
		    (uint64_t)json_integer_value(v) > SPEC_MAX_MEM_MIB)
			return spec_fail(
			    err, len, -EINVAL, "mem_size_mib must be from %d to %llu, got %lld",
			    SPEC_MIN_MEM_MIB, SPEC_MAX_MEM_MIB, (long long)json_integer_value(v));
		m.mem_size_mib = (uint64_t)json_integer_value(v);
	}
	if ((v = spec_get(body, "smt")))
		m.smt = json_is_true(v);
	if (m.smt)
		return spec_fail(err, len, -ENOTSUP,
				 "machine-config: smt=true is not supported (kiln exposes no "
				 "SMT siblings)");
	if ((v = spec_get(body, "track_dirty_pages")))
		m.track_dirty_pages = json_is_true(v);
	if ((v = spec_get(body, "huge_pages"))) {
		int backing = spec_backing_from_name(json_string_value(v));

		if (backing < 0)
			return spec_fail(err, len, -EINVAL,
					 "huge_pages must be \"None\", \"2M\" or \"Transparent\"");
		m.backing = (enum gm_backing)backing;
	}
	if (m.backing == GM_BACKING_HUGETLB_2M && m.mem_size_mib % 2)
		return spec_fail(
		    err, len, -EINVAL,
		    "mem_size_mib must be a multiple of 2 with huge_pages \"2M\", got %llu",
		    (unsigned long long)m.mem_size_mib);
	if ((v = spec_get(body, "cpu_template")) && strcmp(json_string_value(v), "None"))
		return spec_fail(err, len, -ENOTSUP,
				 "machine-config: cpu_template is not supported yet");
	s->machine = m;
	return 0;
}

json_t *spec_machine_to_json(const struct spec_machine *m)
{
	return json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)m->vcpu_count,
			 "mem_size_mib", (json_int_t)m->mem_size_mib, "smt", m->smt,
			 "track_dirty_pages", m->track_dirty_pages, "huge_pages",
			 spec_backing_names[m->backing]);
}

/* ---- serial ------------------------------------------------------------ */

static const struct spec_field spec_serial_fields[] = {
    {"serial_out_path", SF_STR, false},
    {"rate_limiter", SF_ANY, false},
};

int spec_put_serial(struct vm_spec *s, const json_t *body, char *err, size_t len)
{
	char *path;
	int ret = spec_check_object(body, "serial", spec_serial_fields, 2, err, len);

	if (!ret)
		ret = spec_not_yet(body, "rate_limiter", "serial", err, len);
	if (!ret)
		ret = spec_path(body, "serial_out_path", "serial", &path, err, len);
	if (ret)
		return ret;
	free(s->serial_out_path);
	s->serial_out_path = path;
	return 0;
}

/* ---- logger, metrics --------------------------------------------------- */

static const struct spec_field spec_logger_fields[] = {
    {"log_path", SF_STR, false},	 {"level", SF_STR, false},  {"show_level", SF_BOOL, false},
    {"show_log_origin", SF_BOOL, false}, {"module", SF_STR, false},
};

int spec_parse_logger(const json_t *body, struct spec_logger *out, char *err, size_t len)
{
	json_t *v;
	int ret;

	memset(out, 0, sizeof(*out));
	out->set = true;
	out->level = SPEC_LOG_INFO;
	ret = spec_check_object(body, "logger", spec_logger_fields, 5, err, len);
	if (ret)
		return ret;
	if ((v = spec_get(body, "level"))) {
		int l = spec_log_level_from_name(json_string_value(v));

		if (l < 0)
			return spec_fail(err, len, -EINVAL,
					 "level must be one of Error, Warning, Info, Debug, "
					 "Trace, Off");
		out->level = (enum spec_log_level)l;
	}
	out->show_level = spec_bool(body, "show_level", false);
	out->show_log_origin = spec_bool(body, "show_log_origin", false);
	if ((v = spec_get(body, "module"))) {
		if (json_string_length(v) > SPEC_MODULE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return spec_fail(err, len, -EINVAL, "module must be at most %d bytes",
					 SPEC_MODULE_MAX);
		snprintf(out->module, sizeof(out->module), "%s", json_string_value(v));
	}
	return spec_path(body, "log_path", "logger", &out->log_path, err, len);
}

static const struct spec_field spec_metrics_fields[] = {
    {"metrics_path", SF_STR, true},
    {"emit_id", SF_BOOL, false},
    {"properties", SF_ANY, false},
};

static int spec_parse_props(const json_t *props, struct spec_metrics *out, char *err, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(props))
		return spec_fail(err, len, -EINVAL, "metrics properties must be a JSON object");
	if (json_object_size(props) > SPEC_MAX_PROPS)
		return spec_fail(err, len, -EINVAL, "at most %d metrics properties",
				 SPEC_MAX_PROPS);
	json_object_foreach((json_t *)props, key, v)
	{
		if (!json_is_string(v))
			return spec_fail(err, len, -EINVAL,
					 "metrics property '%.64s' must be a string", key);
		if (strlen(key) >= SPEC_PROP_MAX_BYTES ||
		    json_string_length(v) >= SPEC_PROP_MAX_BYTES ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return spec_fail(err, len, -EINVAL,
					 "metrics property '%.64s' is longer than %d bytes", key,
					 SPEC_PROP_MAX_BYTES - 1);
		snprintf(out->prop_key[out->nr_props], SPEC_PROP_MAX_BYTES, "%s", key);
		snprintf(out->prop_val[out->nr_props], SPEC_PROP_MAX_BYTES, "%s",
			 json_string_value(v));
		out->nr_props++;
	}
	return 0;
}

int spec_parse_metrics(const json_t *body, struct spec_metrics *out, char *err, size_t len)
{
	json_t *v;
	int ret;

	memset(out, 0, sizeof(*out));
	out->set = true;
	ret = spec_check_object(body, "metrics", spec_metrics_fields, 3, err, len);
	if (ret)
		return ret;
	out->emit_id = spec_bool(body, "emit_id", false);
	if ((v = spec_get(body, "properties")) && (ret = spec_parse_props(v, out, err, len)))
		return ret;
	return spec_path(body, "metrics_path", "metrics", &out->metrics_path, err, len);
}
