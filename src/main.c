/* SPDX-License-Identifier: MIT */
/*
 * kiln entry point: parse the command line, build the VM, run the main
 * event loop (signals, serial input, the vCPUs' exit request) and turn the
 * outcome into an exit status.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* While the serial FIFO is full, stdin is polled again after this long. */
#define MAIN_INPUT_RETRY_MS 20

struct main_ctx {
	struct vm vm;
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
		log_info("received %s, stopping the VM", strsignal((int)si.ssi_signo));
		vm_request_exit(&m->vm, KILN_EXIT_OK);
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
	size_t space = serial_rx_space(&m->vm.serial);
	ssize_t n;

	if (space == 0) {
		evloop_mod(&m->loop, h, 0);
		m->stdin_paused = 1;
		return;
	}
	n = read(h->fd, buf, space);
	if (n > 0) {
		serial_push_input(&m->vm.serial, buf, (size_t)n);
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
	m->exit_h = (struct evloop_handler){m->vm.exit_evt, main_on_exit_request, m};
	if (m->sig_h.fd < 0)
		return -errno;
	err = evloop_add(&m->loop, &m->sig_h, EPOLLIN);
	if (!err)
		err = evloop_add(&m->loop, &m->exit_h, EPOLLIN);
	if (err)
		return err;
	m->stdin_h = (struct evloop_handler){STDIN_FILENO, main_on_stdin, m};
	/* Regular files and /dev/null cannot be polled: the guest then gets no input. */
	err = vm_watch(&m->vm, &m->loop);
	if (err)
		return err;
	if (evloop_add(&m->loop, &m->stdin_h, EPOLLIN) == 0)
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	else
		m->stdin_h.fd = -1;
	return 0;
}

static int main_run_loop(struct main_ctx *m)
{
	while (!m->done) {
		int timeout = m->stdin_paused ? MAIN_INPUT_RETRY_MS : -1;
		int err = evloop_run_once(&m->loop, timeout);

		if (err) {
			log_err("event loop: %s", strerror(-err));
			vm_request_exit(&m->vm, KILN_EXIT_VM_FAILURE);
			return KILN_EXIT_VM_FAILURE;
		}
		if (m->stdin_paused && m->stdin_h.fd >= 0 && serial_rx_space(&m->vm.serial)) {
			m->stdin_paused = 0;
			evloop_mod(&m->loop, &m->stdin_h, EPOLLIN);
		}
	}
	return vm_exit_code(&m->vm);
}

static int main_open_serial_out(const char *path)
{
	int fd;

	if (!path)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, "kiln: error: cannot open --serial-out %s: %s\n", path,
			strerror(errno));
	return fd;
}

static int main_check_host_memory(uint64_t mem_mib)
{
	struct sysinfo si;

	if (sysinfo(&si) == 0 && mem_mib > ((uint64_t)si.totalram * si.mem_unit) >> 20) {
		fprintf(stderr, "kiln: error: --mem-mib %llu exceeds the host's %llu MiB of RAM\n",
			(unsigned long long)mem_mib,
			(unsigned long long)(((uint64_t)si.totalram * si.mem_unit) >> 20));
		return -ENOMEM;
	}
	return 0;
}

static int main_build_vm(struct main_ctx *m, const struct cli_opts *o)
{
	struct blk_config drives[CLI_MAX_DRIVES];
	struct vm_config cfg = {
	    .kernel_path = o->kernel,
	    .initrd_path = o->initrd,
	    .boot_args = o->boot_args,
	    .kvm_path = o->kvm_path,
	    .vcpus = o->vcpus,
	    .mem_mib = o->mem_mib,
	    .drives = drives,
	    .nr_drives = o->nr_drives,
	    .rng = o->rng,
	};
	int err;

	for (unsigned int i = 0; i < o->nr_drives; i++)
		drives[i] = (struct blk_config){
		    .path = o->drives[i].path,
		    .id = o->drives[i].id,
		    .index = i,
		    .read_only = o->drives[i].read_only,
		    .cache_unsafe = o->drives[i].cache_unsafe,
		    .direct = o->drives[i].direct,
		    .is_root = o->drives[i].is_root,
		};

	if (main_check_host_memory(o->mem_mib))
		return -ENOMEM;
	cfg.serial_out_fd = main_open_serial_out(o->serial_out);
	if (cfg.serial_out_fd < 0)
		return -EINVAL;
	err = vm_build(&m->vm, &cfg);
	if (err)
		fprintf(stderr, "kiln: error: %s\n", m->vm.error[0] ? m->vm.error : strerror(-err));
	return err;
}

static struct main_ctx main_ctx;

int main(int argc, char *argv[])
{
	struct main_ctx *m = &main_ctx;
	struct boot_timer start;
	struct cli_opts opts;
	char err_msg[256];
	int code;

	boot_timer_stamp(&start);
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
	log_setup(STDERR_FILENO, (enum log_level)opts.log_level, "kiln");
	if (main_build_vm(m, &opts)) {
		vm_destroy(&m->vm);
		return KILN_EXIT_BAD_CONFIG;
	}
	m->vm.boot_timer = start;
	if (main_setup_loop(m) || vm_start(&m->vm)) {
		fprintf(stderr, "kiln: error: cannot start the VM\n");
		vm_stop(&m->vm);
		vm_destroy(&m->vm);
		return KILN_EXIT_BAD_CONFIG;
	}
	code = main_run_loop(m);
	vm_stop(&m->vm);
	vm_destroy(&m->vm);
	evloop_close(&m->loop);
	return code;
}
