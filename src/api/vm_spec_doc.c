/* SPDX-License-Identifier: MIT */
/*
 * The whole-VM document: --config-file in, GET /vm/config out (the same
 * kebab-case sections as Firecracker's FullVmConfiguration), and the mapping
 * of a finished spec onto struct vm_config.
 */
#include "api/vm_spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Sections kiln does not implement yet: accepted only empty (null, [] or {}). */
static const char *const spec_doc_later[] = {
    "balloon", "mmds-config", "cpu-config", "memory-hotplug", "pmem",
};

static const char *const spec_doc_known[] = {
    "boot-source", "machine-config",	 "drives", "entropy", "serial", "logger", "metrics",
    "vsock",	   "network-interfaces",
};

static bool spec_doc_empty(const json_t *v)
{
	return json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

static int spec_doc_check_keys(const json_t *doc, char *err, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(doc)) {
		snprintf(err, len, "the configuration must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)doc, key, v)
	{
		size_t i;

		for (i = 0; i < sizeof(spec_doc_known) / sizeof(spec_doc_known[0]); i++)
			if (!strcmp(key, spec_doc_known[i]))
				break;
		if (i < sizeof(spec_doc_known) / sizeof(spec_doc_known[0]))
			continue;
		for (i = 0; i < sizeof(spec_doc_later) / sizeof(spec_doc_later[0]); i++)
			if (!strcmp(key, spec_doc_later[i]))
				break;
		if (i == sizeof(spec_doc_later) / sizeof(spec_doc_later[0])) {
			snprintf(err, len, "unknown section '%.64s' in the configuration", key);
			return -EINVAL;
		}
		if (!spec_doc_empty(v)) {
			snprintf(err, len, "'%s' is not supported yet", key);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* Run one section parser, prefixing its message with where it failed. */
static int spec_doc_section(int ret, const char *where, char *err, size_t len)
{
	char inner[SPEC_ERR_BYTES];

	if (!ret)
		return 0;
	snprintf(inner, sizeof(inner), "%s", err);
	snprintf(err, len, "%s: %s", where, inner);
	return ret;
}

/* One array section's entry: its id (the key @idkey) and how to add it. */
struct spec_doc_list {
	const char *section; /* "drives" */
	const char *idkey;   /* "drive_id" */
	int (*put)(struct vm_spec *s, const char *id, const json_t *body, char *err, size_t len);
	const char *(*id_at)(const struct vm_spec *s, unsigned int i);
	unsigned int (*count)(const struct vm_spec *s);
};

static const char *spec_doc_drive_id(const struct vm_spec *s, unsigned int i)
{
	return s->drives[i].id;
}

static unsigned int spec_doc_nr_drives(const struct vm_spec *s)
{
	return s->nr_drives;
}

static const char *spec_doc_net_id(const struct vm_spec *s, unsigned int i)
{
	return s->nets[i].id;
}

static unsigned int spec_doc_nr_nets(const struct vm_spec *s)
{
	return s->nr_nets;
}

static const struct spec_doc_list spec_doc_drive_list = {"drives", "drive_id", spec_put_drive,
							 spec_doc_drive_id, spec_doc_nr_drives};
static const struct spec_doc_list spec_doc_net_list = {
    "network-interfaces", "iface_id", spec_put_net, spec_doc_net_id, spec_doc_nr_nets};

/* An array of objects with unique ids, each added as its PUT would add it. */
static int spec_doc_array(struct vm_spec *s, const json_t *arr, const struct spec_doc_list *l,
			  char *err, size_t len)
{
	char where[48];
	size_t i;
	json_t *d;

	if (!json_is_array(arr)) {
		snprintf(err, len, "'%s' must be a JSON array", l->section);
		return -EINVAL;
	}
	json_array_foreach(arr, i, d)
	{
		json_t *id = json_object_get(d, l->idkey);
		int ret;

		snprintf(where, sizeof(where), "%s[%zu]", l->section, i);
		if (!json_is_object(d) || !json_is_string(id)) {
			snprintf(err, len, "%s: must be an object with a string %s", where,
				 l->idkey);
			return -EINVAL;
		}
		for (unsigned int k = 0; k < l->count(s); k++)
			if (!strcmp(l->id_at(s, k), json_string_value(id))) {
				snprintf(err, len, "%s: %s '%s' is used twice", where, l->idkey,
					 l->id_at(s, k));
				return -EINVAL;
			}
		ret = l->put(s, json_string_value(id), d, err, len);
		if (ret)
			return spec_doc_section(ret, where, err, len);
	}
	return 0;
}

int spec_from_json(struct vm_spec *out, const json_t *doc, char *err, size_t len)
{
	struct vm_spec s;
	json_t *v;
	int ret;

	spec_init(&s);
	ret = spec_doc_check_keys(doc, err, len);
	if (!ret && !(v = json_object_get(doc, "boot-source"))) {
		snprintf(err, len, "missing required section 'boot-source'");
		ret = -EINVAL;
	}
	if (!ret)
		ret = spec_doc_section(spec_put_boot_source(&s, v, err, len), "boot-source", err,
				       len);
	if (!ret && (v = json_object_get(doc, "machine-config")) && !json_is_null(v))
		ret = spec_doc_section(spec_put_machine(&s, v, false, err, len), "machine-config",
				       err, len);
	if (!ret && (v = json_object_get(doc, "drives")) && !json_is_null(v))
		ret = spec_doc_array(&s, v, &spec_doc_drive_list, err, len);
	if (!ret && (v = json_object_get(doc, "network-interfaces")) && !json_is_null(v))
		ret = spec_doc_array(&s, v, &spec_doc_net_list, err, len);
	if (!ret && (v = json_object_get(doc, "entropy")) && !json_is_null(v))
		ret = spec_doc_section(spec_put_entropy(&s, v, err, len), "entropy", err, len);
	if (!ret && (v = json_object_get(doc, "vsock")) && !json_is_null(v))
		ret = spec_doc_section(spec_put_vsock(&s, v, err, len), "vsock", err, len);
	if (!ret && (v = json_object_get(doc, "serial")) && !json_is_null(v))
		ret = spec_doc_section(spec_put_serial(&s, v, err, len), "serial", err, len);
	if (!ret && (v = json_object_get(doc, "logger")) && !json_is_null(v))
		ret =
		    spec_doc_section(spec_parse_logger(v, &s.logger, err, len), "logger", err, len);
	if (!ret && (v = json_object_get(doc, "metrics")) && !json_is_null(v))
		ret = spec_doc_section(spec_parse_metrics(v, &s.metrics, err, len), "metrics", err,
				       len);
	if (ret) {
		spec_free(&s);
		return ret;
	}
	spec_free(out);
	*out = s;
	return 0;
}

static json_t *spec_doc_boot(const struct spec_boot *b)
{
	json_t *o;

	if (!b->kernel_image_path)
		return json_null();
	o = json_pack("{s:s}", "kernel_image_path", b->kernel_image_path);
	if (o && b->initrd_path)
		json_object_set_new(o, "initrd_path", json_string(b->initrd_path));
	if (o && b->boot_args)
		json_object_set_new(o, "boot_args", json_string(b->boot_args));
	return o;
}

static json_t *spec_doc_drive(const struct spec_drive *d)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "drive_id", d->id, "path_on_host",
			      d->path_on_host ? d->path_on_host : "", "is_root_device",
			      d->is_root_device, "is_read_only", d->is_read_only, "cache_type",
			      d->cache_unsafe ? "Unsafe" : "Writeback", "io_engine",
			      d->io_async ? "Async" : "Sync");

	if (o && spec_rate_limiter_set(&d->rate_limiter))
		json_object_set_new(o, "rate_limiter", spec_rate_limiter_to_json(&d->rate_limiter));
	return o;
}

static json_t *spec_doc_entropy(const struct vm_spec *s)
{
	json_t *o;

	if (!s->entropy)
		return json_null();
	o = json_object();
	if (o && spec_rate_limiter_set(&s->entropy_rate_limiter))
		json_object_set_new(o, "rate_limiter",
				    spec_rate_limiter_to_json(&s->entropy_rate_limiter));
	return o;
}

static json_t *spec_doc_net(const struct spec_net *n)
{
	json_t *o = json_pack("{s:s, s:s}", "iface_id", n->id, "host_dev_name", n->host_dev_name);
	char mac[3 * NET_MAC_BYTES];

	if (o && n->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		json_object_set_new(o, "guest_mac", json_string(mac));
	}
	if (o && n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	if (o && spec_rate_limiter_set(&n->rx_rate_limiter))
		json_object_set_new(o, "rx_rate_limiter",
				    spec_rate_limiter_to_json(&n->rx_rate_limiter));
	if (o && spec_rate_limiter_set(&n->tx_rate_limiter))
		json_object_set_new(o, "tx_rate_limiter",
				    spec_rate_limiter_to_json(&n->tx_rate_limiter));
	return o;
}

static json_t *spec_doc_logger(const struct spec_logger *l)
{
	json_t *o;

	if (!l->set)
		return json_null();
	o = json_pack("{s:s, s:b, s:b}", "level", spec_log_level_name(l->level), "show_level",
		      l->show_level, "show_log_origin", l->show_log_origin);
	if (o && l->log_path)
		json_object_set_new(o, "log_path", json_string(l->log_path));
	if (o && l->module[0])
		json_object_set_new(o, "module", json_string(l->module));
	return o;
}

static json_t *spec_doc_metrics(const struct spec_metrics *m)
{
	json_t *o, *props;

	if (!m->set)
		return json_null();
	o = json_pack("{s:s, s:b}", "metrics_path", m->metrics_path ? m->metrics_path : "",
		      "emit_id", m->emit_id);
	if (o && m->nr_props) {
		props = json_object();
		for (unsigned int i = 0; props && i < m->nr_props; i++)
			json_object_set_new(props, m->prop_key[i], json_string(m->prop_val[i]));
		json_object_set_new(o, "properties", props);
	}
	return o;
}

json_t *spec_to_json(const struct vm_spec *s)
{
	json_t *doc = json_object(), *drives = json_array(), *nets = json_array();

	if (!doc || !drives || !nets) {
		json_decref(doc);
		json_decref(drives);
		json_decref(nets);
		return NULL;
	}
	for (unsigned int i = 0; i < s->nr_nets; i++)
		json_array_append_new(nets, spec_doc_net(&s->nets[i]));
	for (unsigned int i = 0; i < s->nr_drives; i++)
		json_array_append_new(drives, spec_doc_drive(&s->drives[i]));
	json_object_set_new(doc, "boot-source", spec_doc_boot(&s->boot));
	json_object_set_new(doc, "machine-config", spec_machine_to_json(&s->machine));
	json_object_set_new(doc, "drives", drives);
	json_object_set_new(doc, "network-interfaces", nets);
	json_object_set_new(doc, "entropy", spec_doc_entropy(s));
	json_object_set_new(doc, "serial",
			    s->serial_out_path
				? json_pack("{s:s}", "serial_out_path", s->serial_out_path)
				: json_null());
	json_object_set_new(doc, "vsock",
			    s->vsock.uds_path ? json_pack("{s:I, s:s}", "guest_cid",
							  (json_int_t)s->vsock.guest_cid,
							  "uds_path", s->vsock.uds_path)
					      : json_null());
	json_object_set_new(doc, "logger", spec_doc_logger(&s->logger));
	json_object_set_new(doc, "metrics", spec_doc_metrics(&s->metrics));
	return doc;
}

int spec_to_vm_config(const struct vm_spec *s, struct vm_config *cfg, struct blk_config *drives,
		      char *err, size_t len)
{
	if (!s->boot.kernel_image_path) {
		snprintf(err, len,
			 "no boot source: PUT /boot-source with a kernel_image_path first");
		return -EINVAL;
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->kernel_path = s->boot.kernel_image_path;
	cfg->initrd_path = s->boot.initrd_path;
	cfg->boot_args = s->boot.boot_args ? s->boot.boot_args : VM_DEFAULT_BOOT_ARGS;
	cfg->vcpus = s->machine.vcpu_count;
	cfg->mem_mib = s->machine.mem_size_mib;
	cfg->backing = s->machine.backing;
	cfg->track_dirty_pages = s->machine.track_dirty_pages;
	cfg->rng = s->entropy;
	cfg->rng_rate_limiter = s->entropy_rate_limiter;
	cfg->vsock = (struct vsock_config){s->vsock.guest_cid, s->vsock.uds_path};
	cfg->drives = drives;
	cfg->nr_drives = s->nr_drives;
	for (unsigned int i = 0; i < s->nr_drives; i++)
		drives[i] = (struct blk_config){
		    .path = s->drives[i].path_on_host,
		    .id = s->drives[i].id,
		    .index = i,
		    .read_only = s->drives[i].is_read_only,
		    .cache_unsafe = s->drives[i].cache_unsafe,
		    .direct = s->drives[i].direct,
		    .io_async = s->drives[i].io_async,
		    .is_root = s->drives[i].is_root_device,
		    .rate_limiter = s->drives[i].rate_limiter,
		};
	return 0;
}

void spec_to_net_configs(const struct vm_spec *s, struct vm_config *cfg, struct net_config *nets)
{
	cfg->nets = nets;
	cfg->nr_nets = s->nr_nets;
	for (unsigned int i = 0; i < s->nr_nets; i++) {
		const struct spec_net *n = &s->nets[i];

		nets[i] = (struct net_config){
		    .iface_id = n->id,
		    .host_dev_name = n->host_dev_name,
		    .has_mac = n->has_mac,
		    .mtu = n->mtu,
		    .tap_fd = n->tap_fd,
		    .rx_rate_limiter = n->rx_rate_limiter,
		    .tx_rate_limiter = n->tx_rate_limiter,
		};
		memcpy(nets[i].mac, n->mac, NET_MAC_BYTES);
	}
}
