// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcp_app: an "unmodified" TCP program for the launcher's tests. It creates
 * plain TCP sockets, socket(AF_INET{,6}, SOCK_STREAM, 0), never asks for
 * MPTCP, and only observes what it got: SO_PROTOCOL of its socket and
 * whether getsockopt(SOL_MPTCP, MPTCP_INFO) answers (an MPTCP connection that
 * did not fall back to TCP). Built twice: dynamic (tests/tcp_app) and
 * `-static` (tests/tcp_app-static), which an LD_PRELOAD shim cannot reach.
 *
 *   tcp_app client -a ADDR -p PORT [-b BYTES] [--raw] [--fork] [--out FILE]
 *                  [--hold-until FILE] [--settle N]
 *       connect, send BYTES (default 65536) of a pattern, read them back from
 *       the echo server and check every byte. --raw: create the socket with
 *       syscall(SYS_socket) (as Go does), not libc's socket(). --fork: the
 *       work is done by a child, after the parent has exited (exit 0).
 *       --hold-until: keep the connection open until FILE exists (30 s).
 *       --settle N: before the rest, exchange byte 0, wait (10 s) until the
 *       connection has N subflows established and acknowledged by the peer,
 *       exchange byte 1 (on a TCP socket: byte 0 only, no wait): works
 *       around the kernel's MP_JOIN race (tests/tools/mptcp_settle.h).
 *       Then it half-closes and waits for the server's close, so that the
 *       server's report exists once the client has exited.
 *   tcp_app server -a ADDR -p PORT [-n CONNS] [--mptcp] [--out FILE]
 *                  [--ready-file FILE]
 *       echo server for CONNS connections (default 1), checking the pattern;
 *       --mptcp: listen with IPPROTO_MPTCP (an MPTCP-aware peer).
 *   tcp_app wait-signal --out FILE [--ready-file FILE]
 *       wait (30 s) for SIGINT, SIGTERM or SIGHUP; write its name to FILE and
 *       exit 100 + its number.
 *
 * --out FILE gets one JSON object per connection, one per line:
 *   {"role": "client"|"server", "pid": N, "ppid": N, "protocol": N,
 *    "mptcp_info": true|false, "bytes": N}
 * Every wait is bounded; any failure prints a reason and exits 1 (2: usage).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/mptcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mptcp_compat.h"
#include "mptcp_settle.h"
/* die(), sleep_ms(), parse_addr(), socket_protocol(): libc only, so the
 * static build needs nothing else. */
#include "../bench/bench_common.h"

#define WAIT_MS 30000

struct opts {
	const char *addr, *out, *ready, *hold;
	unsigned int port, conns, settle;
	size_t bytes;
	bool raw, fork, mptcp;
};

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 13 + (i >> 8));
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send: %s", n ? strerror(errno) : "nothing sent");
		buf += n;
		len -= n;
	}
}

/* An MPTCP connection that still is one answers MPTCP_INFO; a plain TCP
 * socket, or an MPTCP one that fell back to TCP, does not. */
static bool has_mptcp_info(int fd)
{
	struct mptcp_info info;
	socklen_t len = sizeof(info);

	return getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) == 0 && len > 0;
}

static void report(const struct opts *o, const char *role, int fd, size_t bytes)
{
	FILE *f;

	if (!o->out)
		return;
	f = fopen(o->out, "a");
	if (!f)
		die("%s: %s", o->out, strerror(errno));
	fprintf(f, "{\"role\": \"%s\", \"pid\": %d, \"ppid\": %d, \"protocol\": %d, "
		   "\"mptcp_info\": %s, \"bytes\": %zu}\n",
		role, getpid(), getppid(), socket_protocol(fd), has_mptcp_info(fd) ? "true" : "false",
		bytes);
	if (fclose(f))
		die("%s: %s", o->out, strerror(errno));
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "1\n", 2) != 2)
		die("%s: %s", path, strerror(errno));
	close(fd);
}

static void wait_file(const char *path)
{
	struct stat st;

	for (int waited = 0; stat(path, &st); waited += 50) {
		if (waited >= WAIT_MS)
			die("%s did not appear within %d ms", path, WAIT_MS);
		sleep_ms(50);
	}
}

/* ---- client ------------------------------------------------------------------ */

static void run_client(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_addr(o->addr, o->port, &ss);
	unsigned char *buf = malloc(o->bytes ? o->bytes : 1);
	size_t got = 0, sent = 0;
	int fd;

	if (!buf)
		die("out of memory");
	for (size_t i = 0; i < o->bytes; i++)
		buf[i] = pattern(i);
	/* What an unmodified program does: plain TCP, through libc or not. */
	if (o->raw)
		fd = syscall(SYS_socket, ss.ss_family, SOCK_STREAM, 0);
	else
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	set_io_timeout(fd);
	if (connect(fd, (struct sockaddr *)&ss, sl))
		die("connect %s port %u: %s", o->addr, o->port, strerror(errno));
	if (o->settle && o->bytes >= 2) {
		int err = mptcp_settle(fd, buf, o->settle, WAIT_MS / 3);

		if (err && err != -ENOPROTOOPT)
			die("--settle %u: %s", o->settle, strerror(-err));
		sent = got = err ? 1 : 2;
	}
	/* Send and read the echo at once: the peer echoes as it reads, so
	 * sending everything first would stall once both buffers are full. */
	while (got < o->bytes) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | (sent < o->bytes ? POLLOUT : 0) };
		unsigned char chunk[16384];
		ssize_t n;

		if (poll(&pfd, 1, BENCH_IO_TIMEOUT_S * 1000) != 1)
			die("no progress for %d s (sent %zu, echoed %zu of %zu)", BENCH_IO_TIMEOUT_S, sent,
			    got, o->bytes);
		if ((pfd.revents & POLLOUT) && sent < o->bytes) {
			size_t len = o->bytes - sent < sizeof(chunk) ? o->bytes - sent : sizeof(chunk);

			n = send(fd, buf + sent, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("send: %s", strerror(errno));
			if (n > 0)
				sent += n;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			die("echo ended after %zu of %zu bytes: %s", got, o->bytes,
			    n ? strerror(errno) : "EOF");
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != pattern(got + i))
				die("echo byte %zu is 0x%02x, expected 0x%02x", got + i, chunk[i],
				    pattern(got + i));
		got += n;
	}
	report(o, "client", fd, got);
	if (o->hold)
		wait_file(o->hold);
	/* Close in order: the server reports before it closes, so when this
	 * client has exited, the server's report is written. */
	if (shutdown(fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	for (;;) {
		unsigned char byte;
		ssize_t n = recv(fd, &byte, 1, 0);

		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		die("waiting for the server to close: %s", n < 0 ? strerror(errno) : "unexpected data");
	}
	close(fd);
	free(buf);
}

/* ---- server ------------------------------------------------------------------ */

static void serve_conn(const struct opts *o, int fd)
{
	unsigned char chunk[16384];
	size_t total = 0;

	set_timeouts(fd, WAIT_MS / 1000);	/* a client may hold (--hold-until) */
	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv: %s", strerror(errno));
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != pattern(total + i))
				die("byte %zu is 0x%02x, expected 0x%02x", total + i, chunk[i],
				    pattern(total + i));
		write_all(fd, chunk, n);
		total += n;
		/* Report while the connection is up: MPTCP_INFO then still
		 * describes it. The client half-closes only at its end. */
	}
	report(o, "server", fd, total);
	close(fd);
}

static void run_server(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_addr(o->addr, o->port, &ss);
	int one = 1, lfd;

	lfd = socket(ss.ss_family, SOCK_STREAM, o->mptcp ? IPPROTO_MPTCP : 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 16))
		die("bind/listen %s port %u: %s", o->addr, o->port, strerror(errno));
	if (o->ready)
		touch(o->ready);
	for (unsigned int c = 0; c < o->conns; c++) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, WAIT_MS) != 1)
			die("no connection %u within %d ms", c + 1, WAIT_MS);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		serve_conn(o, fd);
	}
	close(lfd);
}

/* ---- wait-signal ---------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void run_wait_signal(const struct opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *name;
	FILE *f;

	if (!o->out)
		die("wait-signal needs --out FILE");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (o->ready)
		touch(o->ready);
	for (int waited = 0; !got_signal; waited += 50) {
		if (waited >= WAIT_MS)
			die("no signal within %d ms", WAIT_MS);
		sleep_ms(50);
	}
	name = got_signal == SIGINT ? "SIGINT" : got_signal == SIGTERM ? "SIGTERM" : "SIGHUP";
	f = fopen(o->out, "w");
	if (!f || fprintf(f, "%s\n", name) < 0 || fclose(f))
		die("%s: %s", o->out, strerror(errno));
	exit(100 + got_signal);
}

/* ---- main ---------------------------------------------------------------------- */

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: tcp_app client -a ADDR -p PORT [-b BYTES] [--raw] [--fork] [--out FILE] [--hold-until FILE] [--settle N]\n"
		"       tcp_app server -a ADDR -p PORT [-n CONNS] [--mptcp] [--out FILE] [--ready-file FILE]\n"
		"       tcp_app wait-signal --out FILE [--ready-file FILE]\n");
	exit(2);
}

/* --fork: the parent exits at once; the child works once it has been
 * reparented, i.e. after the launcher's direct child is gone. */
static void fork_away(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0)
		exit(0);
	for (int waited = 0; getppid() == parent; waited += 10) {
		if (waited >= WAIT_MS)
			die("parent %d did not exit", parent);
		sleep_ms(10);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "fork", no_argument, NULL, 'f' },
		{ "mptcp", no_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "hold-until", required_argument, NULL, 'H' },
		{ "settle", required_argument, NULL, 's' },
		{ 0 },
	};
	struct opts o = { .conns = 1, .bytes = 65536 };
	const char *mode;
	char *end;
	int opt;

	bench_prog = "tcp_app";
	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "a:p:b:n:", longopts, NULL)) >= 0) {
		switch (opt) {
		case 'a': o.addr = optarg; break;
		case 'p':
			o.port = strtoul(optarg, &end, 10);
			if (*end || !o.port || o.port > 65535)
				usage();
			break;
		case 'b':
			o.bytes = strtoull(optarg, &end, 10);
			if (*end)
				usage();
			break;
		case 'n':
			o.conns = strtoul(optarg, &end, 10);
			if (*end || !o.conns)
				usage();
			break;
		case 'r': o.raw = true; break;
		case 'f': o.fork = true; break;
		case 'm': o.mptcp = true; break;
		case 'o': o.out = optarg; break;
		case 'R': o.ready = optarg; break;
		case 'H': o.hold = optarg; break;
		case 's':
			o.settle = strtoul(optarg, &end, 10);
			if (*end || !o.settle)
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (!strcmp(mode, "wait-signal")) {
		run_wait_signal(&o);
		return 0;
	}
	if (!o.addr || !o.port)
		usage();
	if (!strcmp(mode, "client")) {
		if (o.fork)
			fork_away();
		run_client(&o);
	} else if (!strcmp(mode, "server")) {
		run_server(&o);
	} else {
		usage();
	}
	return 0;
}
