/* SPDX-License-Identifier: MIT */
/*
 * InstanceStart and the other actions against a real struct vm. A failed
 * start leaves nothing behind (vm_destroy), so the client may fix the
 * configuration and try again.
 */
#include "api/api_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "jail/seccomp.h"
#include "vmm/log.h"
#include "vmm/metrics.h"

static int api_vm_check_host_memory(uint64_t mem_mib, char *err, size_t len)
{
	struct sysinfo si;
	uint64_t host_mib;

	if (sysinfo(&si))
		return 0;
	host_mib = ((uint64_t)si.totalram * si.mem_unit) >> 20;
	if (mem_mib <= host_mib)
		return 0;
	snprintf(err, len, "mem_size_mib %llu exceeds the host's %llu MiB of RAM",
		 (unsigned long long)mem_mib, (unsigned long long)host_mib);
	return -ENOMEM;
}

static int api_vm_open_serial(const char *path, char *err, size_t len)
{
	int fd;

	if (!path)
		return STDOUT_FILENO;
	/* A FIFO without a reader must not hang the API: non-blocking open, then blocking. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0) {
		snprintf(err, len,
			 "cannot open the serial output %s (--serial-out, serial_out_path): %s",
			 path, strerror(errno));
		return -errno;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		close(fd);
		snprintf(err, len, "serial_out_path %s: %s", path, strerror(errno));
		return -EINVAL;
	}
	return fd;
}

/* Per-interface counters (struct net_stats), keyed by iface_id. */
static json_t *api_vm_net_metrics(const struct api_vm *av)
{
	json_t *nets = json_object();

	for (unsigned int i = 0; nets && i < av->vm.nr_nets; i++) {
		const struct net_stats *s = &av->vm.nets[i].stats;

		json_object_set_new(
		    nets, av->nets[i].iface_id,
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "rx_frames", (json_int_t)s->rx_frames, "rx_bytes",
			      (json_int_t)s->rx_bytes, "rx_dropped", (json_int_t)s->rx_dropped,
			      "rx_ring_full", (json_int_t)s->rx_ring_full, "rx_errors",
			      (json_int_t)s->rx_errors, "tx_frames", (json_int_t)s->tx_frames,
			      "tx_bytes", (json_int_t)s->tx_bytes, "tx_refused",
			      (json_int_t)s->tx_refused, "tx_errors", (json_int_t)s->tx_errors,
			      "resets", (json_int_t)s->resets, "rx_rate_limiter_throttled_events",
			      (json_int_t)av->vm.nets[i].rx_rl.throttled,
			      "tx_rate_limiter_throttled_events",
			      (json_int_t)av->vm.nets[i].tx_rl.throttled));
	}
	return nets;
}

static int api_vm_start(void *opaque, const struct vm_spec *spec, const struct boot_timer *t0,
			char *err, size_t len)
{
	struct api_vm *av = opaque;
	struct vm_config cfg;
	int ret;

	ret = spec_to_vm_config(spec, &cfg, av->drives, err, len);
	if (!ret)
		spec_to_net_configs(spec, &cfg, av->nets);
	if (!ret)
		ret = api_vm_check_host_memory(cfg.mem_mib, err, len);
	if (ret)
		return ret;
	cfg.kvm_path = av->kvm_path;
	cfg.serial_out_fd = api_vm_open_serial(spec->serial_out_path, err, len);
	if (cfg.serial_out_fd < 0)
		return cfg.serial_out_fd;
	ret = vm_build(&av->vm, &cfg);
	av->built = true;
	if (ret) {
		snprintf(err, len, "%s", av->vm.error[0] ? av->vm.error : strerror(-ret));
		goto fail;
	}
	av->vm.boot_timer = *t0;
	ret = vm_watch(&av->vm, av->loop);
	if (!ret)
		ret = vm_start(&av->vm);
	/* The exit eventfd and stdin join the loop after: both are level-triggered. */
	if (!ret && av->on_started)
		ret = av->on_started(av->ctx);
	/* Building is over: the main thread narrows to the runtime filter (DESIGN.md §2). */
	if (!ret)
		ret = seccomp_enter_runtime();
	if (!ret)
		return 0;
	snprintf(err, len, "cannot start the vCPUs: %s", strerror(-ret));
	vm_stop(&av->vm);
fail:
	api_vm_teardown(av);
	if (cfg.serial_out_fd != STDOUT_FILENO)
		close(cfg.serial_out_fd);
	return ret;
}

/* Firecracker's SendCtrlAltDel: the i8042 reports Ctrl+Alt+Del to the guest. */
static int api_vm_ctrl_alt_del(void *opaque)
{
	struct api_vm *av = opaque;

	return i8042_inject_ctrl_alt_del(&av->vm.i8042);
}

static struct vdev *api_vm_find_vdev(struct api_vm *av, void *priv)
{
	for (unsigned int i = 0; i < av->vm.virtio.nr_slots; i++)
		if (av->vm.virtio.slots[i].dev.priv == priv)
			return &av->vm.virtio.slots[i].dev;
	return NULL;
}

/*
 * Open the new backing file on a scratch blk_dev, swap the backing fields
 * under the device lock (the vCPUs read capacity from config space), then
 * tell the driver with a configuration-change interrupt (virtio 1.2 §4.2.2
 * InterruptStatus bit 1; §5.2.6.2: the driver re-reads capacity).
 */
static int api_vm_drive_update(void *opaque, unsigned int index, const char *path, char *err,
			       size_t len)
{
	struct api_vm *av = opaque;
	struct blk_dev *b, *fresh;
	struct blk_config cfg;
	struct vdev *d;
	uint64_t one = 1;
	int ret;

	if (index >= av->vm.nr_blks || !(d = api_vm_find_vdev(av, &av->vm.blks[index]))) {
		snprintf(err, len, "no such attached drive");
		return -ENODEV;
	}
	b = &av->vm.blks[index];
	cfg = av->drives[index];
	cfg.path = path;
	cfg.io_async = false; /* only the fd moves over; the drive keeps its own ring */
	fresh = calloc(1, sizeof(*fresh));
	if (!fresh) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	ret = blk_open(fresh, &cfg);
	if (ret) {
		snprintf(err, len, "cannot open %s: %s", path, strerror(-ret));
		free(fresh);
		return ret;
	}
	pthread_mutex_lock(&d->lock);
	/* Requests started on the old file finish on it before the swap. */
	blk_drain_inflight(d);
	{
		int fd = b->fd;
		char *old_path = b->path;
		uint64_t size = b->size_bytes;
		struct blk_limits lim = b->lim;

		b->fd = fresh->fd;
		b->path = fresh->path;
		b->size_bytes = fresh->size_bytes;
		b->lim = fresh->lim;
		fresh->fd = fd;
		fresh->path = old_path;
		fresh->size_bytes = size;
		fresh->lim = lim;
	}
	d->config_generation++;
	d->interrupt_status |= VIRTIO_INT_CONFIG;
	pthread_mutex_unlock(&d->lock);
	if (d->irqfd >= 0 && write(d->irqfd, &one, sizeof(one)) < 0)
		log_warn("drive %s: config interrupt: %s", path, strerror(errno));
	blk_close(fresh);
	free(fresh);
	/* @path becomes the spec's path_on_host once this returns 0. */
	av->drives[index].path = path;
	log_info("drive %u now backed by %s", index, path);
	return 0;
}

/*
 * New buckets under the device lock; a paused queue @q is then served again
 * at once, under the new limits.
 */
static void api_vm_limiter_update(struct vdev *d, struct ratelimiter *rl,
				  const struct rl_config *upd, unsigned int q)
{
	if (!spec_rate_limiter_set(upd))
		return;
	pthread_mutex_lock(&d->lock);
	ratelimiter_update(rl, upd);
	pthread_mutex_unlock(&d->lock);
	vdev_kick_queue(d, q);
}

/* PATCH /drives rate_limiter. */
static int api_vm_drive_ratelimit(void *opaque, unsigned int index, const struct rl_config *upd,
				  char *err, size_t len)
{
	struct api_vm *av = opaque;
	struct vdev *d;

	if (index >= av->vm.nr_blks || !(d = api_vm_find_vdev(av, &av->vm.blks[index]))) {
		snprintf(err, len, "no such attached drive");
		return -ENODEV;
	}
	api_vm_limiter_update(d, &av->vm.blks[index].rl, upd, 0);
	log_info("drive %u: rate limiter updated", index);
	return 0;
}

/* PATCH /network-interfaces rx_rate_limiter / tx_rate_limiter. */
static int api_vm_net_ratelimit(void *opaque, unsigned int index, const struct rl_config *rx,
				const struct rl_config *tx, char *err, size_t len)
{
	struct api_vm *av = opaque;
	struct vdev *d;

	if (index >= av->vm.nr_nets || !(d = api_vm_find_vdev(av, &av->vm.nets[index]))) {
		snprintf(err, len, "no such attached network interface");
		return -ENODEV;
	}
	api_vm_limiter_update(d, &av->vm.nets[index].rx_rl, rx, NET_RXQ);
	api_vm_limiter_update(d, &av->vm.nets[index].tx_rl, tx, NET_TXQ);
	log_info("network interface %u: rate limiters updated", index);
	return 0;
}

static void api_vm_metrics(void *opaque, json_t *obj)
{
	struct api_vm *av = opaque;
	struct vcpu_exit_stats sum = {0};
	json_t *blocks = json_object();

	for (unsigned int i = 0; blocks && i < av->vm.nr_blks; i++) {
		const struct blk_stats *s = &av->vm.blks[i].stats;

		json_object_set_new(
		    blocks, av->drives[i].id,
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
			      (json_int_t)s->requests, "read_bytes", (json_int_t)s->read_bytes,
			      "write_bytes", (json_int_t)s->write_bytes, "flushes",
			      (json_int_t)s->flushes, "discards", (json_int_t)s->discards,
			      "write_zeroes", (json_int_t)s->write_zeroes, "guest_errors",
			      (json_int_t)s->guest_errors, "io_errors", (json_int_t)s->io_errors,
			      "resets", (json_int_t)s->resets, "rate_limiter_throttled_events",
			      (json_int_t)av->vm.blks[i].rl.throttled));
	}
	json_object_set_new(obj, "block", blocks);
	json_object_set_new(obj, "net", api_vm_net_metrics(av));
	if (av->vm.cfg.rng)
		json_object_set_new(obj, "entropy",
				    json_pack("{s:I, s:I, s:I, s:I, s:I}", "requests",
					      (json_int_t)av->vm.rng.stats.requests, "bytes",
					      (json_int_t)av->vm.rng.stats.bytes, "errors",
					      (json_int_t)av->vm.rng.stats.errors, "resets",
					      (json_int_t)av->vm.rng.stats.resets,
					      "rate_limiter_throttled_events",
					      (json_int_t)av->vm.rng.rl.throttled));
	if (av->vm.vsock) {
		const struct vsock_stats *v = &av->vm.vsock->stats;

		json_object_set_new(
		    obj, "vsock",
		    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tx_packets",
			      (json_int_t)v->tx_packets, "rx_packets", (json_int_t)v->rx_packets,
			      "tx_bytes", (json_int_t)v->tx_bytes, "rx_bytes",
			      (json_int_t)v->rx_bytes, "bad_packets", (json_int_t)v->bad_packets,
			      "violations", (json_int_t)v->violations, "conns_opened",
			      (json_int_t)v->conns_opened, "conns_refused",
			      (json_int_t)v->conns_refused, "conns_timed_out",
			      (json_int_t)v->conns_timed_out, "resets", (json_int_t)v->resets));
	}
	for (unsigned int i = 0; i < av->vm.nr_vcpus_created; i++) {
		const struct vcpu_exit_stats *e = &av->vm.vcpus[i].exits;

		sum.io += metrics_read(&e->io);
		sum.mmio += metrics_read(&e->mmio);
		sum.shutdown += metrics_read(&e->shutdown);
		sum.system_event += metrics_read(&e->system_event);
		sum.internal_error += metrics_read(&e->internal_error);
		sum.fail_entry += metrics_read(&e->fail_entry);
		sum.interrupted += metrics_read(&e->interrupted);
		sum.other += metrics_read(&e->other);
	}
	json_object_set_new(
	    obj, "vcpu_exits",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "io", (json_int_t)sum.io, "mmio",
		      (json_int_t)sum.mmio, "shutdown", (json_int_t)sum.shutdown, "system_event",
		      (json_int_t)sum.system_event, "internal_error",
		      (json_int_t)sum.internal_error, "fail_entry", (json_int_t)sum.fail_entry,
		      "interrupted", (json_int_t)sum.interrupted, "other", (json_int_t)sum.other));
}

const struct api_ops api_vm_ops = {
    .start = api_vm_start,
    .ctrl_alt_del = api_vm_ctrl_alt_del,
    .drive_update = api_vm_drive_update,
    .collect_metrics = api_vm_metrics,
    .drive_ratelimit = api_vm_drive_ratelimit,
    .net_ratelimit = api_vm_net_ratelimit,
};

void api_vm_prepare(struct api_vm *av)
{
	av->prepared = true; /* vm_destroy() must run even if nothing is built */
	if (vm_prepare(&av->vm, av->kvm_path)) {
		log_debug("KVM preparation failed (%s); InstanceStart will retry", av->vm.error);
		api_vm_teardown(av);
	}
}

void api_vm_teardown(struct api_vm *av)
{
	if (!av->built && !av->prepared)
		return;
	vm_stop(&av->vm);
	vm_destroy(&av->vm);
	av->built = false;
	av->prepared = false;
}
