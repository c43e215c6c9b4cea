/* SPDX-License-Identifier: MIT */
/*
 * spawn_timer: fork+exec a VMM, read its stdout (the guest serial console)
 * through a pipe and time-stamp, with CLOCK_MONOTONIC, the first line that
 * starts with "KTEST", the "KTEST DONE" line, end of file on the pipe (the
 * child's exit has closed its fds) and the child's reaping by wait4(). CPU time and
 * peak RSS come from wait4()'s rusage. Used by bench/boot_bench.py so that
 * Python's own start-up and bookkeeping never fall inside a measurement.
 *
 *   spawn_timer [--stop-at-first MEM_MIB [--smaps-copy FILE]] [--timeout-ms N]
 *               [--serial FILE] -- CMD [ARG...]
 *
 * --stop-at-first: when the first KTEST line arrives, SIGSTOP the child, read
 * VmHWM/VmRSS from /proc/PID/status and the resident size of its guest-RAM
 * mapping(s) from /proc/PID/smaps (anonymous mappings of at least MEM_MIB MiB),
 * then SIGCONT it. Timings of such a run are disturbed by the pause, so the
 * benchmark does memory runs separately from timing runs.
 *
 * Prints one JSON object on stdout. Exit status 0 when the measurement ran
 * (whatever the child did), 2 on a usage or system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

struct mem_sample {
	int ok;
	long hwm_kib, rss_kib, guest_rss_kib, guest_size_kib;
	/* Over every mapping except the guest RAM: proportional and private sizes. */
	long pss_kib, private_kib, anon_kib;
};

struct result {
	int64_t first_ns, done_ns, eof_ns, exit_ns;
	int status, timed_out, ktest_lines, pass_lines, fail_lines;
	struct rusage ru;
	struct mem_sample mem;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long status_field_kib(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Sums Rss over anonymous mappings at least mem_mib MiB large: the guest RAM. */
static void smaps_guest_rss(pid_t pid, long mem_mib, struct mem_sample *m)
{
	char path[64], line[512];
	unsigned long start, end;
	int in_guest = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	m->guest_rss_kib = 0;
	m->guest_size_kib = 0;
	m->pss_kib = 0;
	m->private_kib = 0;
	m->anon_kib = 0;
	while (fgets(line, sizeof(line), f)) {
		char name[256] = "";

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &start, &end, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			int anon = name[0] == '\0' || strncmp(name, "[anon", 5) == 0 ||
				   strncmp(name, "/memfd:", 7) == 0 ||
				   strncmp(name, "/dev/zero", 9) == 0;

			in_guest = anon && (long)((end - start) >> 20) >= mem_mib;
			if (in_guest)
				m->guest_size_kib += (long)((end - start) >> 10);
			continue;
		}
		if (in_guest && strncmp(line, "Rss:", 4) == 0)
			m->guest_rss_kib += strtol(line + 4, NULL, 10);
		if (in_guest)
			continue;
		if (strncmp(line, "Pss:", 4) == 0)
			m->pss_kib += strtol(line + 4, NULL, 10);
		else if (strncmp(line, "Private_Clean:", 14) == 0)
			m->private_kib += strtol(line + 14, NULL, 10);
		else if (strncmp(line, "Private_Dirty:", 14) == 0)
			m->private_kib += strtol(line + 14, NULL, 10);
		else if (strncmp(line, "Anonymous:", 10) == 0)
			m->anon_kib += strtol(line + 10, NULL, 10);
	}
	fclose(f);
}

static const char *smaps_copy_path;

static void copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
}

static void sample_memory(pid_t pid, long mem_mib, struct mem_sample *m)
{
	char path[64];
	int st;

	if (kill(pid, SIGSTOP))
		return;
	if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
		return;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	m->hwm_kib = status_field_kib(path, "VmHWM:");
	m->rss_kib = status_field_kib(path, "VmRSS:");
	smaps_guest_rss(pid, mem_mib, m);
	if (smaps_copy_path) {
		snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
		copy_file(path, smaps_copy_path);
	}
	m->ok = m->hwm_kib >= 0 && m->guest_size_kib > 0;
	kill(pid, SIGCONT);
}

static void on_line(struct result *r, const char *line, int64_t t, pid_t pid, long stop_mib)
{
	if (strncmp(line, "KTEST", 5) != 0)
		return;
	r->ktest_lines++;
	if (r->first_ns < 0) {
		r->first_ns = t;
		if (stop_mib > 0)
			sample_memory(pid, stop_mib, &r->mem);
	}
	if (strcmp(line, "KTEST DONE") == 0 && r->done_ns < 0)
		r->done_ns = t;
	if (strstr(line, " PASS"))
		r->pass_lines++;
	if (strstr(line, " FAIL"))
		r->fail_lines++;
}

static void read_console(struct result *r, int fd, FILE *copy, pid_t pid, long stop_mib,
			 int64_t deadline)
{
	static char line[LINE_MAX_BYTES];
	size_t len = 0;
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ns();
		ssize_t n;
		int64_t t;

		if (left <= 0) {
			r->timed_out = 1;
			return;
		}
		if (poll(&p, 1, (int)(left / 1000000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!p.revents)
			continue;
		n = read(fd, buf, sizeof(buf));
		t = now_ns();
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->eof_ns = t;
			return;
		}
		if (copy)
			fwrite(buf, 1, (size_t)n, copy);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\r')
				continue;
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			on_line(r, line, t, pid, stop_mib);
			len = 0;
		}
	}
}

static int64_t rel_ns(int64_t t, int64_t t0)
{
	return t < 0 ? -1 : t - t0;
}

static void print_result(const struct result *r, int64_t t0)
{
	printf("{\"first_ktest_ns\": %" PRId64 ", \"done_ns\": %" PRId64 ", \"eof_ns\": %" PRId64
	       ", \"exit_ns\": %" PRId64 ", ",
	       rel_ns(r->first_ns, t0), rel_ns(r->done_ns, t0), rel_ns(r->eof_ns, t0),
	       rel_ns(r->exit_ns, t0));
	printf("\"exited\": %d, \"exit_code\": %d, \"signal\": %d, \"timed_out\": %d, ",
	       WIFEXITED(r->status), WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1,
	       WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->timed_out);
	printf("\"ktest_lines\": %d, \"pass_lines\": %d, \"fail_lines\": %d, ", r->ktest_lines,
	       r->pass_lines, r->fail_lines);
	printf("\"utime_us\": %ld, \"stime_us\": %ld, \"maxrss_kib\": %ld, ",
	       (long)r->ru.ru_utime.tv_sec * 1000000L + (long)r->ru.ru_utime.tv_usec,
	       (long)r->ru.ru_stime.tv_sec * 1000000L + (long)r->ru.ru_stime.tv_usec,
	       r->ru.ru_maxrss);
	printf("\"mem_ok\": %d, \"hwm_kib\": %ld, \"rss_kib\": %ld, \"guest_rss_kib\": %ld, "
	       "\"guest_size_kib\": %ld, ",
	       r->mem.ok, r->mem.hwm_kib, r->mem.rss_kib, r->mem.guest_rss_kib,
	       r->mem.guest_size_kib);
	printf("\"pss_kib\": %ld, \"private_kib\": %ld, \"anon_kib\": %ld}\n", r->mem.pss_kib,
	       r->mem.private_kib, r->mem.anon_kib);
}

static void usage(void)
{
	fprintf(stderr, "usage: spawn_timer [--stop-at-first MEM_MIB] [--timeout-ms N] "
			"[--smaps-copy FILE] [--serial FILE] -- CMD [ARG...]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	struct result r = {.first_ns = -1, .done_ns = -1, .eof_ns = -1, .exit_ns = -1};
	long stop_mib = 0, timeout_ms = 10000;
	int out[2], in[2], i;
	FILE *copy = NULL;
	int64_t t0;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--stop-at-first") == 0)
			stop_mib = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--smaps-copy") == 0)
			smaps_copy_path = argv[++i];
		else if (strcmp(argv[i], "--serial") == 0)
			copy = fopen(argv[++i], "w");
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	if (pipe2(out, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) {
		perror("spawn_timer: pipe");
		return 2;
	}
	fflush(NULL);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("spawn_timer: fork");
		return 2;
	}
	if (pid == 0) {
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[i + 1], &argv[i + 1]);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	read_console(&r, out[0], copy, pid, stop_mib, t0 + (int64_t)timeout_ms * 1000000LL);
	if (r.timed_out)
		kill(pid, SIGKILL);
	while (wait4(pid, &r.status, 0, &r.ru) < 0) {
		if (errno != EINTR) {
			perror("spawn_timer: wait4");
			return 2;
		}
	}
	r.exit_ns = now_ns();
	close(in[1]);
	close(out[0]);
	if (copy)
		fclose(copy);
	print_result(&r, t0);
	return 0;
}
