/* SPDX-License-Identifier: MIT */
/*
 * Shared by the vm_spec parsers (vm_spec.c, vm_spec_dev.c, vm_spec_rl.c): the
 * per-object field tables, the one object check every parser starts with and
 * the field getters they all use.
 */
#ifndef KILN_API_VM_SPEC_PRIV_H
#define KILN_API_VM_SPEC_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum spec_type { SF_STR, SF_BOOL, SF_UINT, SF_ANY };

struct spec_field {
	const char *name;
	enum spec_type type;
	bool required;
};

/* vsnprintf the message into @err and return @code. */
int spec_fail(char *err, size_t len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * An object, no unknown field, every present field of the right type, every
 * required one present; a JSON null counts as absent.
 */
int spec_check_object(const json_t *o, const char *what, const struct spec_field *f, size_t n,
		      char *err, size_t len);

/* A present, non-null field, or NULL. */
json_t *spec_get(const json_t *o, const char *key);

/* A boolean field (type already checked), or @dflt when absent. */
bool spec_bool(const json_t *o, const char *key, bool dflt);

/*
 * A path field into a strdup'd @out (owned by the caller; NULL when absent):
 * non-empty, bounded, no NUL byte. The file itself is checked at VM build.
 */
int spec_path(const json_t *o, const char *key, const char *what, char **out, char *err,
	      size_t len);

/* -ENOTSUP naming @key when it is present in @o. */
int spec_not_yet(const json_t *o, const char *key, const char *what, char *err, size_t len);

#endif
