/* SPDX-License-Identifier: MIT */
/*
 * kiln-vsock: a tiny AF_VSOCK echo helper for kiln's Linux test guest.
 *
 *   kiln-vsock listen PORT        accept one connection on any CID, PORT
 *   kiln-vsock connect CID PORT   connect to CID:PORT (2 is the host)
 *
 * Either way it then echoes every byte it reads back to the peer until the
 * peer shuts its side down, and prints on stdout (the guest console):
 *
 *   KILN-VSOCK-LISTENING port=P                 (listen, once listening)
 *   KILN-VSOCK-ECHO mode=M port=P bytes=N       (at the end; exit 0)
 *   kiln-vsock: <what> failed: errno E          (on error; exit 1)
 *
 * SIGALRM (default action: terminate) ends it after TIMEOUT_S seconds so a
 * test guest never hangs in it.
 *
 * x86-64 Linux only, no C library (-nostdlib -static): a few KB instead of
 * ~700 KB of static glibc in an initramfs the guest kernel copies with
 * emulated instructions on our CI machines, and no dynamic loader needed.
 */
/* Headers for constants and types only: nothing is linked. */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/vm_sockets.h>

#define TIMEOUT_S 240

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static void put(const char *s)
{
	size_t len = str_len(s);

	while (len > 0) {
		long n = sys3(__NR_write, 1, (long)s, (long)len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Decimal digits of v into buf (at least 21 bytes), NUL-terminated. */
static const char *dec(unsigned long v, char *buf)
{
	char *p = buf + 20;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

/* Reports a failed syscall (ret = -errno); returns the exit status 1. */
static int fail(const char *what, long ret)
{
	char num[21];

	put("kiln-vsock: ");
	put(what);
	put(" failed: errno ");
	put(dec((unsigned long)-ret, num));
	put("\n");
	return 1;
}

/* Strict decimal in [0, 2^32 - 1]; -1 on anything else. */
static long parse_u32(const char *s)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0xffffffffUL)
			return -1;
	}
	return (long)v;
}

static long write_all(int fd, const char *buf, long len)
{
	while (len > 0) {
		long w = sys3(__NR_write, fd, (long)buf, len);

		if (w == -EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? w : -1;
		buf += w;
		len -= w;
	}
	return 0;
}

static int echo(int fd, const char *mode, unsigned int port)
{
	char buf[4096], num[21];
	unsigned long total = 0;

	for (;;) {
		long n = sys3(__NR_read, fd, (long)buf, sizeof(buf));
		long w;

		if (n == -EINTR)
			continue;
		if (n < 0)
			return fail("read", n);
		if (n == 0)
			break;
		w = write_all(fd, buf, n);
		if (w < 0)
			return fail("write", w);
		total += (unsigned long)n;
	}
	put("KILN-VSOCK-ECHO mode=");
	put(mode);
	put(" port=");
	put(dec(port, num));
	put(" bytes=");
	put(dec(total, num));
	put("\n");
	return 0;
}

static int do_listen(unsigned int port)
{
	struct sockaddr_vm addr = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	char num[21];
	long lfd, fd, ret;
	int rc;

	lfd = sys3(__NR_socket, AF_VSOCK, SOCK_STREAM, 0);
	if (lfd < 0)
		return fail("socket", lfd);
	ret = sys3(__NR_bind, lfd, (long)&addr, sizeof(addr));
	if (ret < 0)
		return fail("bind", ret);
	ret = sys3(__NR_listen, lfd, 1, 0);
	if (ret < 0)
		return fail("listen", ret);
	put("KILN-VSOCK-LISTENING port=");
	put(dec(port, num));
	put("\n");
	do
		fd = sys3(__NR_accept, lfd, 0, 0);
	while (fd == -EINTR);
	if (fd < 0)
		return fail("accept", fd);
	sys3(__NR_close, lfd, 0, 0);
	rc = echo((int)fd, "listen", port);
	sys3(__NR_close, fd, 0, 0);
	return rc;
}

static int do_connect(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	long fd, ret;
	int rc;

	fd = sys3(__NR_socket, AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", fd);
	ret = sys3(__NR_connect, fd, (long)&addr, sizeof(addr));
	if (ret < 0)
		return fail("connect", ret);
	rc = echo((int)fd, "connect", port);
	sys3(__NR_close, fd, 0, 0);
	return rc;
}

static int run(int argc, char **argv)
{
	long cid, port;

	sys3(__NR_alarm, TIMEOUT_S, 0, 0);
	if (argc == 3 && str_eq(argv[1], "listen")) {
		port = parse_u32(argv[2]);
		if (port >= 0)
			return do_listen((unsigned int)port);
	} else if (argc == 4 && str_eq(argv[1], "connect")) {
		cid = parse_u32(argv[2]);
		port = parse_u32(argv[3]);
		if (cid >= 0 && port >= 0)
			return do_connect((unsigned int)cid, (unsigned int)port);
	}
	put("usage: kiln-vsock listen PORT | kiln-vsock connect CID PORT\n");
	return 1;
}

/* Called from _start with the initial stack: argc, argv[], NULL, envp... */
__attribute__((used, noreturn)) void kiln_vsock_start(long *sp);
__attribute__((used, noreturn)) void kiln_vsock_start(long *sp)
{
	int status = run((int)sp[0], (char **)(sp + 1));

	for (;;)
		sys3(__NR_exit_group, status, 0, 0);
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call kiln_vsock_start\n");
