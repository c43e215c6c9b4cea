/* SPDX-License-Identifier: MIT */
/*
 * vm_spec for the devices: drives, network interfaces, entropy and vsock. Each
 * PUT/PATCH body is checked against its field table, then against the devices
 * already configured (one root drive, unique tap names and MACs, limits).
 */
#include "api/vm_spec.h"
#include "api/vm_spec_priv.h"
#include "jail/netdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- drives ------------------------------------------------------------ */

static const struct spec_field spec_drive_fields[] = {
    {"drive_id", SF_STR, true},	    {"is_root_device", SF_BOOL, true},
    {"path_on_host", SF_STR, true}, {"is_read_only", SF_BOOL, false},
    {"cache_type", SF_STR, false},  {"io_engine", SF_STR, false},
    {"partuuid", SF_ANY, false},    {"rate_limiter", SF_ANY, false},
    {"socket", SF_ANY, false},
};

static int spec_find_drive(const struct vm_spec *s, const char *id)
{
	for (unsigned int i = 0; i < s->nr_drives; i++)
		if (!strcmp(s->drives[i].id, id))
			return (int)i;
	return -1;
}

/* @key ("drive_id", "iface_id") in the body: valid, and the same as the path's. */
static int spec_check_ids(const char *key, const char *path_id, const json_t *body, char *err,
			  size_t len)
{
	const char *id = json_string_value(json_object_get(body, key));

	if (!spec_drive_id_valid(path_id))
		return spec_fail(err, len, -EINVAL, "%s must match [A-Za-z0-9_]{1,64}",
				 strcmp(key, "drive_id") ? key : "drive id");
	if (strcmp(id, path_id))
		return spec_fail(err, len, -EINVAL,
				 "%s '%.64s' in the body differs from '%s' in the path", key, id,
				 path_id);
	return 0;
}

int spec_put_drive(struct vm_spec *s, const char *path_id, const json_t *body, char *err,
		   size_t len)
{
	struct spec_drive d;
	json_t *v;
	int idx, ret;

	ret = spec_check_object(body, "drive", spec_drive_fields, 9, err, len);
	if (!ret && spec_get(body, "socket"))
		ret = spec_fail(err, len, -ENOTSUP,
				"drive: vhost-user ('socket') is not "
				"supported yet");
	if (!ret)
		ret = spec_check_ids("drive_id", path_id, body, err, len);
	if (!ret)
		ret = spec_not_yet(body, "partuuid", "drive", err, len);
	if (ret)
		return ret;
	memset(&d, 0, sizeof(d));
	ret = spec_parse_rate_limiter(spec_get(body, "rate_limiter"), "drive rate_limiter",
				      &d.rate_limiter, err, len);
	if (ret)
		return ret;
	snprintf(d.id, sizeof(d.id), "%s", path_id);
	d.is_root_device = spec_bool(body, "is_root_device", false);
	d.is_read_only = spec_bool(body, "is_read_only", false);
	d.cache_unsafe = true;
	if ((v = spec_get(body, "cache_type"))) {
		if (!strcmp(json_string_value(v), "Writeback"))
			d.cache_unsafe = false;
		else if (strcmp(json_string_value(v), "Unsafe"))
			return spec_fail(err, len, -EINVAL,
					 "cache_type must be \"Unsafe\" or \"Writeback\"");
	}
	if ((v = spec_get(body, "io_engine"))) {
		if (!strcmp(json_string_value(v), "Async"))
			d.io_async = true;
		else if (strcmp(json_string_value(v), "Sync"))
			return spec_fail(err, len, -EINVAL,
					 "io_engine must be \"Sync\" or \"Async\"");
	}
	idx = spec_find_drive(s, path_id);
	for (unsigned int i = 0; i < s->nr_drives; i++)
		if (d.is_root_device && s->drives[i].is_root_device && (int)i != idx)
			return spec_fail(err, len, -EINVAL,
					 "drive '%s' is already the root device; only one may be",
					 s->drives[i].id);
	if (idx < 0 && s->nr_drives == SPEC_MAX_DRIVES)
		return spec_fail(err, len, -EINVAL, "at most %d drives", SPEC_MAX_DRIVES);
	ret = spec_path(body, "path_on_host", "drive", &d.path_on_host, err, len);
	if (ret)
		return ret;
	if (idx < 0) {
		idx = (int)s->nr_drives++;
	} else {
		d.direct = s->drives[idx].direct;
		free(s->drives[idx].path_on_host);
	}
	s->drives[idx] = d;
	return 0;
}

static const struct spec_field spec_drive_patch_fields[] = {
    {"drive_id", SF_STR, true},
    {"path_on_host", SF_STR, false},
    {"rate_limiter", SF_ANY, false},
};

int spec_parse_drive_patch(const struct vm_spec *s, const char *path_id, const json_t *body,
			   char **new_path, struct rl_config *rl, char *err, size_t len)
{
	int ret;

	*new_path = NULL;
	memset(rl, 0, sizeof(*rl));
	ret = spec_check_object(body, "drive", spec_drive_patch_fields, 3, err, len);
	if (!ret)
		ret = spec_check_ids("drive_id", path_id, body, err, len);
	if (!ret)
		ret = spec_parse_rate_limiter(spec_get(body, "rate_limiter"),
					      "drive update rate_limiter", rl, err, len);
	if (!ret && spec_find_drive(s, path_id) < 0)
		ret = spec_fail(err, len, -EINVAL, "no drive with id '%s'", path_id);
	if (!ret)
		ret = spec_path(body, "path_on_host", "drive", new_path, err, len);
	return ret;
}

/* ---- network interfaces -------------------------------------------------- */

static const struct spec_field spec_net_fields[] = {
    {"iface_id", SF_STR, true},		{"host_dev_name", SF_STR, true},
    {"guest_mac", SF_STR, false},	{"mtu", SF_UINT, false},
    {"rx_rate_limiter", SF_ANY, false}, {"tx_rate_limiter", SF_ANY, false},
};

static int spec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool spec_parse_mac(const char *str, uint8_t mac[NET_MAC_BYTES])
{
	if (!str || strlen(str) != 3 * NET_MAC_BYTES - 1)
		return false;
	for (unsigned int i = 0; i < NET_MAC_BYTES; i++) {
		int hi = spec_hexval(str[3 * i]), lo = spec_hexval(str[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < NET_MAC_BYTES - 1 && str[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int spec_find_net(const struct vm_spec *s, const char *id)
{
	for (unsigned int i = 0; i < s->nr_nets; i++)
		if (!strcmp(s->nets[i].id, id))
			return (int)i;
	return -1;
}

/* rx_rate_limiter and tx_rate_limiter into @rx, @tx (both unset when refused). */
static int spec_net_limiters(const json_t *body, const char *what, struct rl_config *rx,
			     struct rl_config *tx, char *err, size_t len)
{
	char where[64];
	int ret;

	snprintf(where, sizeof(where), "%s rx_rate_limiter", what);
	ret = spec_parse_rate_limiter(spec_get(body, "rx_rate_limiter"), where, rx, err, len);
	snprintf(where, sizeof(where), "%s tx_rate_limiter", what);
	if (!ret)
		ret =
		    spec_parse_rate_limiter(spec_get(body, "tx_rate_limiter"), where, tx, err, len);
	if (ret)
		memset(rx, 0, sizeof(*rx));
	return ret;
}

static int spec_net_fields_parse(const json_t *body, struct spec_net *n, char *err, size_t len)
{
	const char *dev = json_string_value(json_object_get(body, "host_dev_name"));
	json_t *v;

	if (strlen(dev) != json_string_length(json_object_get(body, "host_dev_name")) ||
	    !netdev_name_valid(dev))
		return spec_fail(err, len, -EINVAL,
				 "host_dev_name '%.64s' must be 1 to %d bytes without '/', ':' "
				 "or spaces (a Linux interface name)",
				 dev, SPEC_IFNAME_BYTES - 1);
	snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s", dev);
	if ((v = spec_get(body, "guest_mac"))) {
		if (!spec_parse_mac(json_string_value(v), n->mac))
			return spec_fail(err, len, -EINVAL,
					 "guest_mac '%.64s' must look like 12:34:56:78:9a:bc",
					 json_string_value(v));
		if (n->mac[0] & 1)
			return spec_fail(err, len, -EINVAL, "guest_mac '%s' is a multicast address",
					 json_string_value(v));
		n->has_mac = true;
	}
	if ((v = spec_get(body, "mtu"))) {
		json_int_t mtu = json_integer_value(v);

		if (mtu < NET_MIN_MTU || mtu > NET_MAX_MTU)
			return spec_fail(err, len, -EINVAL, "mtu must be %u to %u, got %lld",
					 NET_MIN_MTU, NET_MAX_MTU, (long long)mtu);
		n->mtu = (uint32_t)mtu;
	}
	return 0;
}

int spec_put_net(struct vm_spec *s, const char *path_id, const json_t *body, char *err, size_t len)
{
	struct spec_net n;
	int idx, ret;

	ret = spec_check_object(body, "network interface", spec_net_fields, 6, err, len);
	if (!ret)
		ret = spec_check_ids("iface_id", path_id, body, err, len);
	if (ret)
		return ret;
	memset(&n, 0, sizeof(n));
	n.tap_fd = -1;
	snprintf(n.id, sizeof(n.id), "%s", path_id);
	ret = spec_net_limiters(body, "network interface", &n.rx_rate_limiter, &n.tx_rate_limiter,
				err, len);
	if (!ret)
		ret = spec_net_fields_parse(body, &n, err, len);
	if (ret)
		return ret;
	idx = spec_find_net(s, path_id);
	for (unsigned int i = 0; i < s->nr_nets; i++) {
		if ((int)i == idx)
			continue;
		if (!strcmp(s->nets[i].host_dev_name, n.host_dev_name))
			return spec_fail(err, len, -EINVAL,
					 "host_dev_name '%s' is already used by '%s'",
					 n.host_dev_name, s->nets[i].id);
		if (n.has_mac && s->nets[i].has_mac &&
		    !memcmp(s->nets[i].mac, n.mac, NET_MAC_BYTES))
			return spec_fail(err, len, -EINVAL, "guest_mac is already used by '%s'",
					 s->nets[i].id);
	}
	if (idx < 0 && s->nr_nets == SPEC_MAX_NETS)
		return spec_fail(err, len, -EINVAL, "at most %d network interfaces", SPEC_MAX_NETS);
	if (idx < 0)
		idx = (int)s->nr_nets++;
	s->nets[idx] = n;
	return 0;
}

static const struct spec_field spec_net_patch_fields[] = {
    {"iface_id", SF_STR, true},
    {"rx_rate_limiter", SF_ANY, false},
    {"tx_rate_limiter", SF_ANY, false},
};

int spec_parse_net_patch(const struct vm_spec *s, const char *path_id, const json_t *body,
			 struct rl_config *rx, struct rl_config *tx, char *err, size_t len)
{
	int ret =
	    spec_check_object(body, "network interface update", spec_net_patch_fields, 3, err, len);

	memset(rx, 0, sizeof(*rx));
	memset(tx, 0, sizeof(*tx));
	if (!ret)
		ret = spec_check_ids("iface_id", path_id, body, err, len);
	if (!ret && spec_find_net(s, path_id) < 0)
		ret = spec_fail(err, len, -EINVAL, "no network interface with id '%s'", path_id);
	if (!ret)
		ret = spec_net_limiters(body, "network interface update", rx, tx, err, len);
	return ret;
}

/* ---- entropy ------------------------------------------------------------- */

static const struct spec_field spec_entropy_fields[] = {{"rate_limiter", SF_ANY, false}};

int spec_put_entropy(struct vm_spec *s, const json_t *body, char *err, size_t len)
{
	struct rl_config rl;
	int ret = spec_check_object(body, "entropy", spec_entropy_fields, 1, err, len);

	if (!ret)
		ret = spec_parse_rate_limiter(spec_get(body, "rate_limiter"),
					      "entropy rate_limiter", &rl, err, len);
	if (ret)
		return ret;
	s->entropy = true;
	s->entropy_rate_limiter = rl;
	return 0;
}

/* ---- vsock ------------------------------------------------------------------ */

static const struct spec_field spec_vsock_fields[] = {
    {"guest_cid", SF_UINT, true},
    {"uds_path", SF_STR, true},
    {"vsock_id", SF_STR, false}, /* deprecated by Firecracker; accepted and ignored */
};

int spec_put_vsock(struct vm_spec *s, const json_t *body, char *err, size_t len)
{
	json_t *cid;
	char *path;
	int ret = spec_check_object(body, "vsock", spec_vsock_fields, 3, err, len);

	if (ret)
		return ret;
	cid = spec_get(body, "guest_cid");
	if ((uint64_t)json_integer_value(cid) < VSOCK_MIN_GUEST_CID ||
	    (uint64_t)json_integer_value(cid) > VSOCK_MAX_GUEST_CID)
		return spec_fail(err, len, -EINVAL,
				 "guest_cid must be from 3 to 4294967294 (0-2 are reserved)");
	ret = spec_path(body, "uds_path", "vsock", &path, err, len);
	if (ret)
		return ret;
	if (strlen(path) > VSOCK_UDS_PATH_MAX) {
		free(path);
		return spec_fail(err, len, -EINVAL,
				 "uds_path must be at most %d bytes (a Unix socket path plus "
				 "\"_<port>\")",
				 VSOCK_UDS_PATH_MAX);
	}
	free(s->vsock.uds_path);
	s->vsock.uds_path = path;
	s->vsock.guest_cid = (uint64_t)json_integer_value(cid);
	return 0;
}
