/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers shared by the benchmark tools in tests/bench/: errors,
 * clocks, addresses, MPTCP sockets with bounded I/O, the ready file the
 * bench script waits for, and medians. Header-only so that the Makefile's
 * one-source-per-tool rule builds every tool unchanged.
 */
#ifndef SUBFLOW_BENCH_COMMON_H
#define SUBFLOW_BENCH_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/* Every blocking socket call of the tools gives up after this long, so a
 * broken peer makes the tool fail with a reason instead of hanging. */
#define BENCH_IO_TIMEOUT_S 10

static const char *bench_prog = "bench";

static inline void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline socklen_t parse_addr(const char *text, unsigned int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	die("not an IPv4 or IPv6 address: %s", text);
}

static inline void set_io_timeout(int fd)
{
	struct timeval tv = { .tv_sec = BENCH_IO_TIMEOUT_S };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO): %s", strerror(errno));
}

/* SO_PROTOCOL: IPPROTO_MPTCP (262) or IPPROTO_TCP (6) for a stream socket. */
static inline int socket_protocol(int fd)
{
	int proto = -1;
	socklen_t len = sizeof(proto);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len))
		die("getsockopt(SO_PROTOCOL): %s", strerror(errno));
	return proto;
}

/* An MPTCP socket; no silent fallback to TCP: the benchmarks are about
 * MPTCP, a kernel without it must fail loudly. */
static inline int mptcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_MPTCP);

	if (fd < 0)
		die("socket(IPPROTO_MPTCP): %s%s", strerror(errno),
		    errno == EPROTONOSUPPORT || errno == ENOPROTOOPT ?
		    " (is net.mptcp.enabled=1?)" : "");
	return fd;
}

/* An MPTCP listener on ADDR:PORT with the largest backlog the kernel allows. */
static inline int mptcp_listen(const char *addr, unsigned int port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	int one = 1, fd = mptcp_socket(ss.ss_family);

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("setsockopt(SO_REUSEADDR): %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind %s:%u: %s", addr, port, strerror(errno));
	if (listen(fd, 4096))
		die("listen: %s", strerror(errno));
	return fd;
}

/* Tell the bench script that the listener is up: it polls for this file. */
static inline void write_ready_file(const char *path)
{
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
		die("ready file %s: %s", path, strerror(errno));
}

/* Raise the open-file limit to at least n: 10000 connections need more
 * descriptors than the usual default. The hard limit can only grow with
 * CAP_SYS_RESOURCE, which even root may lack (containers): then the soft
 * limit goes up to the hard one, and that must be enough. */
static inline void raise_nofile(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur >= n)
		return;
	if (rl.rlim_max < n) {
		struct rlimit want = { .rlim_cur = n, .rlim_max = n };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
		if (errno != EPERM)
			die("setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)n,
			    strerror(errno));
		die("need %llu open files, the hard limit is %llu and cannot be raised "
		    "(no CAP_SYS_RESOURCE)", (unsigned long long)n,
		    (unsigned long long)rl.rlim_max);
	}
	rl.rlim_cur = n;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)n, strerror(errno));
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n-1]; sorts v. */
static inline double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* SUBFLOW_BENCH_COMMON_H */
