/* SPDX-License-Identifier: MIT */
/*
 * kiln entry point: parse the command line, then either boot at once (CLI
 * flags or --config-file) or wait for InstanceStart on the API socket; run the
 * main event loop (signals, the API, serial input, the vCPUs' exit request)
 * and turn the outcome into an exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_vm.h"
#include "api/http.h"
#include "cli.h"
#include "jail/seccomp.h"
#include "jail/jail.h"
#include "jail/netdev.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* While the serial FIFO is full, stdin is polled again after this long. */
#define MAIN_INPUT_RETRY_MS 20
/* --config-file documents larger than this are refused before parsing. */
#define MAIN_MAX_CONFIG_BYTES (1U << 20)

struct main_ctx {
	struct api_vm av; /* the VM, once InstanceStart (or the CLI) built it */
	struct api api;
	struct http_server *http; /* NULL without --api-sock */
	struct evloop loop;
	struct evloop_handler sig_h, exit_h, stdin_h;
	int done;
	int stdin_paused;
};

static void main_on_signal(struct evloop_handler *h, uint32_t events)
{
	struct main_ctx *m = h->opaque;
	struct signalfd_siginfo si;

	(void)events;
	while (read(h->fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("received %s, stopping", strsignal((int)si.ssi_signo));
		if (m->av.built)
			vm_request_exit(&m->av.vm, KILN_EXIT_OK);
		else
			m->done = 1;
	}
}

static void main_on_exit_request(struct evloop_handler *h, uint32_t events)
{
	struct main_ctx *m = h->opaque;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("reading the exit eventfd: %s", strerror(errno));
	m->done = 1;
}

/* Read no more than the guest's FIFO can take, so input never piles up in kiln. */
static void main_on_stdin(struct evloop_handler *h, uint32_t events)
{
	struct main_ctx *m = h->opaque;
	uint8_t buf[SERIAL_RX_FIFO_BYTES];
	size_t space = serial_rx_space(&m->av.vm.serial);
	ssize_t n;

	if (space == 0) {
		evloop_mod(&m->loop, h, 0);
		m->stdin_paused = 1;
		return;
	}
	n = read(h->fd, buf, space);
	if (n > 0) {
		serial_push_input(&m->av.vm.serial, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR) || (events & EPOLLHUP)) {
		evloop_del(&m->loop, h);
		h->fd = -1;
	}
}

static void main_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * Block the stop signals first thing: one that arrives while the VM is being
 * built stays pending and is read from the signalfd, so kiln still stops
 * cleanly. Every vCPU thread inherits the mask.
 */
static void main_block_signals(void)
{
	sigset_t set;

	main_stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int main_setup_loop(struct main_ctx *m)
{
	sigset_t set;
	int err;

	main_stop_signals(&set);
	err = evloop_init(&m->loop);
	if (err)
		return err;
	m->sig_h = (struct evloop_handler){signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK),
					   main_on_signal, m};
	if (m->sig_h.fd < 0)
		return -errno;
	return evloop_add(&m->loop, &m->sig_h, EPOLLIN);
}

/* api_vm's hook once the vCPUs run: the exit request and the guest's stdin. */
static int main_on_started(void *ctx)
{
	struct main_ctx *m = ctx;
	int err;

	m->exit_h = (struct evloop_handler){m->av.vm.exit_evt, main_on_exit_request, m};
	err = evloop_add(&m->loop, &m->exit_h, EPOLLIN);
	if (err)
		return err;
	m->stdin_h = (struct evloop_handler){STDIN_FILENO, main_on_stdin, m};
	/* Regular files and /dev/null cannot be polled: the guest then gets no input. */
	if (evloop_add(&m->loop, &m->stdin_h, EPOLLIN) == 0)
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	else
		m->stdin_h.fd = -1;
	return 0;
}

static int main_min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int main_run_loop(struct main_ctx *m)
{
	while (!m->done) {
		int timeout = m->stdin_paused ? MAIN_INPUT_RETRY_MS : -1;
		int err;

		if (m->http)
			timeout = main_min_timeout(timeout, http_server_next_timeout_ms(m->http));
		timeout = main_min_timeout(timeout, api_next_timeout_ms(&m->api));
		err = evloop_run_once(&m->loop, timeout);
		if (err) {
			log_err("event loop: %s", strerror(-err));
			if (m->av.built)
				vm_request_exit(&m->av.vm, KILN_EXIT_VM_FAILURE);
			return KILN_EXIT_VM_FAILURE;
		}
		if (m->http)
			http_server_expire(m->http);
		api_tick(&m->api);
		if (m->stdin_paused && m->stdin_h.fd >= 0 && serial_rx_space(&m->av.vm.serial)) {
			m->stdin_paused = 0;
			evloop_mod(&m->loop, &m->stdin_h, EPOLLIN);
		}
	}
	return m->av.built ? vm_exit_code(&m->av.vm) : KILN_EXIT_OK;
}

/* The whole --config-file into the spec; one line in @err on failure. */
static int main_load_config(struct api *a, const char *path, char *err, size_t len)
{
	char inner[SPEC_ERR_BYTES];
	json_error_t jerr;
	struct stat st;
	json_t *doc;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAIN_MAX_CONFIG_BYTES) {
		snprintf(err, len, "--config-file %.200s: %s", path,
			 fd < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!doc) {
		snprintf(err, len, "--config-file %.200s: invalid JSON at line %d, column %d: %s",
			 path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	ret = spec_from_json(&a->spec, doc, inner, sizeof(inner));
	json_decref(doc);
	if (ret)
		snprintf(err, len, "--config-file %.200s: %s", path, inner);
	return ret;
}

/* Boot now from the CLI flags or --config-file; nothing to do in pure API mode. */
static int main_boot_now(struct main_ctx *m, const struct cli_opts *o,
			 const struct boot_timer *start)
{
	char err[2 * SPEC_ERR_BYTES];
	int ret;

	if (o->config_file) {
		ret = main_load_config(&m->api, o->config_file, err, sizeof(err));
	} else if (o->kernel) {
		spec_free(&m->api.spec);
		ret = cli_to_spec(o, &m->api.spec);
		if (ret)
			snprintf(err, sizeof(err), "out of memory");
	} else {
		return 0;
	}
	if (!ret)
		ret = api_boot_spec(&m->api, start, err, sizeof(err));
	if (ret)
		fprintf(stderr, "kiln: error: %s\n", err);
	return ret;
}

static int main_listen(const char *path, struct http_listener *l)
{
	int err = http_listen(path, l);

	if (err)
		fprintf(stderr, "kiln: error: cannot serve the API on %s: %s\n", path,
			strerror(-err));
	return err;
}

static struct main_ctx main_ctx;

int main(int argc, char *argv[])
{
	struct main_ctx *m = &main_ctx;
	struct boot_timer start;
	struct http_listener listener = {.fd = -1};
	struct cli_opts opts;
	char err_msg[256];
	int code = KILN_EXIT_BAD_CONFIG;

	boot_timer_stamp(&start);
	jail_signals_install();
	main_block_signals();
	if (cli_parse(argc, argv, &opts, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "kiln: error: %s (see kiln --help)\n", err_msg);
		return KILN_EXIT_BAD_CONFIG;
	}
	if (opts.action == CLI_HELP) {
		cli_usage(STDOUT_FILENO);
		return 0;
	}
	if (opts.action == CLI_VERSION) {
		printf("kiln %s\n", KILN_VERSION);
		return 0;
	}
	/* Before anything opens a file: every path from here on is inside the jail. */
	jail_run(&opts.jail);
	/* Unjailed: the --net taps now, while kiln may still create them (before any filter). */
	if (!opts.jail.enabled &&
	    netdev_prepare_all(&opts.taps, 0, 0, NULL, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "kiln: error: --net: %s\n", err_msg);
		return KILN_EXIT_BAD_CONFIG;
	}
#ifdef KILN_SECCOMP_SELFTEST
	seccomp_selftest_arm(opts.seccomp_selftest);
#endif
	/*
	 * The API socket is bound as the last act of the start-up that reads
	 * nothing untrusted (in the jail, as the jail user), so no filter ever
	 * allows socket, bind, listen, connect, umask or chmod.
	 */
	if (opts.api_sock && main_listen(opts.api_sock, &listener))
		return KILN_EXIT_BAD_CONFIG;
	/*
	 * DESIGN.md §2 / SECURITY.md: the startup filter goes on right after (for
	 * an unjailed kiln: right after argument parsing), so the log and event
	 * loop set-up and vm_prepare already run under it. The narrower preboot
	 * filter is stacked before the first byte of untrusted input.
	 */
	if (seccomp_setup((enum seccomp_level)opts.seccomp_level)) {
		fprintf(stderr, "kiln: error: cannot install the seccomp filter\n");
		http_listener_close(&listener);
		return KILN_EXIT_BAD_CONFIG;
	}
	api_init(&m->api, opts.id, &api_vm_ops, &m->av);
	log_setup(STDERR_FILENO, (enum log_level)opts.log_level, m->api.id);
	m->av.loop = &m->loop;
	m->av.kvm_path = opts.kvm_path;
	m->av.on_started = main_on_started;
	m->av.ctx = m;
	m->stdin_h.fd = -1;
	if (main_setup_loop(m)) {
		fprintf(stderr, "kiln: error: cannot set up the event loop: %s\n", strerror(errno));
		http_listener_close(&listener);
		goto out;
	}
	if (opts.api_sock) {
		m->http = http_server_adopt(&listener, (size_t)opts.max_payload, &m->loop,
					    api_handle, &m->api);
		if (!m->http) {
			fprintf(stderr, "kiln: error: cannot serve the API on %s: %s\n",
				opts.api_sock, strerror(errno));
			goto out;
		}
		/* For docs/PERFORMANCE.md: CPU since exec, wall since main() began. */
		log_info("API listening on %s: %llu us after main(), %llu CPU us since exec",
			 opts.api_sock,
			 (unsigned long long)(boot_timer_now_ns(CLOCK_MONOTONIC) - start.start_ns) /
			     1000,
			 (unsigned long long)boot_timer_now_ns(CLOCK_PROCESS_CPUTIME_ID) / 1000);
		/*
		 * While the client configures, do the KVM work that needs no
		 * configuration; a failure here is reported again by InstanceStart.
		 */
		if (!opts.config_file)
			api_vm_prepare(&m->av);
	}
	/* Set-up done: drop socket creation, bind, listen, ... before the first API byte. */
	if (seccomp_enter_preboot()) {
		fprintf(stderr, "kiln: error: cannot install the preboot seccomp filter\n");
		goto out;
	}
	if (main_boot_now(m, &opts, &start))
		goto out;
	code = main_run_loop(m);
out:
	api_vm_teardown(&m->av);
	if (m->http)
		http_server_destroy(m->http);
	api_destroy(&m->api);
	evloop_close(&m->loop);
	return code;
}
