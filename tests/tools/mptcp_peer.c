// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptcp_peer: the MPTCP traffic tool of the tests. It opens real MPTCP
 * connections and writes what the kernel itself says about them
 * (MPTCP_INFO, MPTCP_FULL_INFO on the application's own socket) next to what
 * libsubflow reports, so that tests can compare the two.
 *
 *   mptcp_peer server -a ADDR -p PORT [-n CONNS] [--hold] [--info-json FILE]
 *                     [--subflows N] [--ready-file FILE] [--echo]
 *   mptcp_peer client -a ADDR -p PORT [-b BYTES] [--subflows N] [--info-json FILE]
 *                     [--hold-until FILE] [--repeat N [--gap-ms MS] [--ready-file FILE]]
 *                     [--cc NAME]
 *                     [--pattern [--duration SECONDS]] [--reconnect N]
 *   mptcp_peer token TOKEN [--netns-cookie N]
 *
 * The view (--info-json) is one JSON object:
 *   {"token": N, "netns_cookie": N, "subflows_total": N,
 *    "kernel":    [{"id": N, "local": {"addr": A, "port": N},
 *                   "remote": {...}, "tcp_state": N}, ...],   MPTCP_FULL_INFO
 *    "lib_fd":    [{"id", "local", "remote"}, ...],  subflow_get_ids/_tuple(fd)
 *    "lib_token": [...],              subflow_get_ids/_tuple_by_token(0, token)
 *                 (each also checked against the one-call subflow_get_tuples /
 *                 _tuples_by_token: an error EPROTO when they differ)
 *    "lib_fd_error": "...", "lib_token_error": "..."   when a library call failed}
 * Arrays are sorted by subflow id; ports in host order. The `token` mode
 * prints {"token": N, "lib_token": [...]} for any token of the caller's netns.
 *
 * --reconnect N (client): one socket, connected N times: after each
 * connection's view is written (FILE.R for the R-th, from 0) and FILE_GO.R
 * (the --hold-until file's name with .R) appears, it is disconnected with
 * connect(AF_UNSPEC) and connected again; the last one closes. The kernel
 * numbers 0 the first subflow of every connection after the first.
 *
 * --pattern (both sides): the client's bytes follow a pattern of their offset
 * (pattern_byte), the server checks every byte it receives, and answers the
 * client's end of data with "OK <bytes>\n", or exits 1 naming the first
 * wrong offset; the client checks the count it gets back against what it
 * sent. With --duration the client streams for that long (its view is
 * written as soon as it is connected). --cc: setsockopt(TCP_CONGESTION) on
 * the MPTCP socket before connect (the kernel applies it to every subflow).
 *
 * --echo (server): every byte received is sent back, until the client's end
 * of data (tests/tools/app_example.c checks them).
 *
 * Every wait is bounded; any failure prints a reason on stderr and exits 1
 * (2 on bad usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "subflow.h"

#include "mptcp_compat.h"

#define MAX_SUBFLOWS	 32
#define TCP_STATE_ESTABLISHED 1
#define SUBFLOW_WAIT_MS	 5000
#define HOLD_WAIT_MS	 30000
#define IO_TIMEOUT_S	 10

struct endpoint {
	char addr[INET6_ADDRSTRLEN];
	unsigned int port;
};

struct subflow_view {
	uint32_t id;
	struct endpoint local, remote;
	int tcp_state;			/* -1: not known */
};

struct conn_view {
	uint32_t token;
	uint64_t netns_cookie;
	unsigned int subflows_total;
	struct subflow_view kernel[MAX_SUBFLOWS];
	size_t nr_kernel;
	struct subflow_view lib_fd[MAX_SUBFLOWS];
	size_t nr_lib_fd;
	int lib_fd_err;
	struct subflow_view lib_token[MAX_SUBFLOWS];
	size_t nr_lib_token;
	int lib_token_err;
};

struct options {
	const char *mode;
	const char *addr;
	unsigned int port;
	long conns;
	unsigned long long bytes;
	unsigned int subflows;
	const char *info_json;
	const char *hold_until;
	const char *ready_file;
	bool hold;
	long repeat;
	long gap_ms;
	long reconnect;
	const char *cc;
	bool pattern;
	bool echo;
	double duration;
};

static struct options opt = {
	.conns = 1,
	.bytes = 1,
	.subflows = 2,
};

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mptcp_peer %s: ", opt.mode ? opt.mode : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mptcp_peer server -a ADDR -p PORT [-n CONNS (0: forever)] [--hold]\n"
		"                         [--info-json FILE] [--subflows N] [--ready-file FILE] [--echo]\n"
		"       mptcp_peer client -a ADDR -p PORT [-b BYTES] [--subflows N]\n"
		"                         [--info-json FILE|-] [--hold-until FILE] [--repeat N [--gap-ms MS] [--ready-file FILE]]\n"
		"                         [--reconnect N]\n"
		"                         [--cc NAME] [--pattern [--duration SECONDS]]\n"
		"       mptcp_peer token TOKEN\n");
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- Addresses ----------------------------------------------------------- */

static socklen_t parse_addr(const char *text, unsigned int port, struct sockaddr_storage *ss)
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
	return 0;
}

/* Fill ep from a sockaddr (port to host order); false for another family. */
static bool endpoint_from(const struct sockaddr *sa, struct endpoint *ep)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(ep, 0, sizeof(*ep));
	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, ep->addr, sizeof(ep->addr));
		ep->port = ntohs(sin->sin_port);
		return true;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, ep->addr, sizeof(ep->addr));
		ep->port = ntohs(sin6->sin6_port);
		return true;
	default:
		snprintf(ep->addr, sizeof(ep->addr), "family-%u", sa->sa_family);
		return false;
	}
}

/* ---- What the kernel says ------------------------------------------------- */

static int get_mptcp_info(int fd, struct mptcp_info_v6_18 *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, info, &len) < 0)
		return -errno;
	return 0;
}

static int cmp_subflow_id(const void *a, const void *b)
{
	const struct subflow_view *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* MPTCP_FULL_INFO: ids, addresses and TCP state of every subflow. */
static int get_kernel_subflows(int fd, struct subflow_view *out, size_t *nr)
{
	struct mptcp_subflow_info sfinfo[MAX_SUBFLOWS];
	struct tcp_info tcpinfo[MAX_SUBFLOWS];
	struct mptcp_full_info full;
	socklen_t len = sizeof(full);
	size_t i, n;

	memset(&full, 0, sizeof(full));
	memset(sfinfo, 0, sizeof(sfinfo));
	memset(tcpinfo, 0, sizeof(tcpinfo));
	full.size_tcpinfo_user = sizeof(tcpinfo[0]);
	full.size_sfinfo_user = sizeof(sfinfo[0]);
	full.size_arrays_user = MAX_SUBFLOWS;
	full.subflow_info = (__u64)(unsigned long)sfinfo;
	full.tcp_info = (__u64)(unsigned long)tcpinfo;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &full, &len) < 0)
		return -errno;

	n = full.num_subflows < MAX_SUBFLOWS ? full.num_subflows : MAX_SUBFLOWS;
	for (i = 0; i < n; i++) {
		out[i].id = sfinfo[i].id;
		endpoint_from(&sfinfo[i].addrs.sa_local, &out[i].local);
		endpoint_from(&sfinfo[i].addrs.sa_remote, &out[i].remote);
		out[i].tcp_state = tcpinfo[i].tcpi_state;
	}
	qsort(out, n, sizeof(out[0]), cmp_subflow_id);
	*nr = n;
	return 0;
}

static uint64_t get_netns_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		die("getsockopt(SO_NETNS_COOKIE): %s", strerror(errno));
	return cookie;
}

/* ---- What libsubflow says -------------------------------------------------- */

/* The one-call answers (subflow_get_tuples, _by_token) must be the
 * per-id calls' answer: -EPROTO when they are not. */
static struct subflow_tuple tuples[MAX_SUBFLOWS];
static size_t tuples_n;

static int same_as_tuples(const struct subflow_view *v, size_t n, const struct subflow_tuple *t,
			  size_t nt)
{
	struct endpoint local, remote;

	if (n != nt)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		endpoint_from((const struct sockaddr *)&t[i].local, &local);
		endpoint_from((const struct sockaddr *)&t[i].remote, &remote);
		if (t[i].id != v[i].id || strcmp(local.addr, v[i].local.addr) ||
		    local.port != v[i].local.port || strcmp(remote.addr, v[i].remote.addr) ||
		    remote.port != v[i].remote.port)
			return -EPROTO;
	}
	return 0;
}

static int lib_subflows_by_fd(int fd, struct subflow_view *out, size_t *nr)
{
	struct sockaddr_storage local, remote;
	uint32_t ids[MAX_SUBFLOWS];
	size_t count = 0, i;
	int err;

	*nr = 0;
	err = subflow_get_ids(fd, ids, MAX_SUBFLOWS, &count);
	if (err)
		return err;
	if (count > MAX_SUBFLOWS)
		count = MAX_SUBFLOWS;
	for (i = 0; i < count; i++) {
		err = subflow_get_tuple(fd, ids[i], &local, &remote);
		if (err)
			return err;
		out[i].id = ids[i];
		out[i].tcp_state = -1;
		endpoint_from((struct sockaddr *)&local, &out[i].local);
		endpoint_from((struct sockaddr *)&remote, &out[i].remote);
	}
	qsort(out, count, sizeof(out[0]), cmp_subflow_id);
	*nr = count;
	tuples_n = 0;
	err = subflow_get_tuples(fd, tuples, MAX_SUBFLOWS, &tuples_n);
	return err ? err : same_as_tuples(out, count, tuples, tuples_n);
}

static int lib_subflows_by_token(uint64_t netns_cookie, uint32_t token,
				 struct subflow_view *out, size_t *nr)
{
	struct sockaddr_storage local, remote;
	uint32_t ids[MAX_SUBFLOWS];
	size_t count = 0, i;
	int err;

	*nr = 0;
	err = subflow_get_ids_by_token(netns_cookie, token, ids, MAX_SUBFLOWS, &count);
	if (err)
		return err;
	if (count > MAX_SUBFLOWS)
		count = MAX_SUBFLOWS;
	for (i = 0; i < count; i++) {
		err = subflow_get_tuple_by_token(netns_cookie, token, ids[i], &local, &remote);
		if (err)
			return err;
		out[i].id = ids[i];
		out[i].tcp_state = -1;
		endpoint_from((struct sockaddr *)&local, &out[i].local);
		endpoint_from((struct sockaddr *)&remote, &out[i].remote);
	}
	qsort(out, count, sizeof(out[0]), cmp_subflow_id);
	*nr = count;
	tuples_n = 0;
	err = subflow_get_tuples_by_token(netns_cookie, token, tuples, MAX_SUBFLOWS, &tuples_n);
	return err ? err : same_as_tuples(out, count, tuples, tuples_n);
}

/* ---- The view as JSON ------------------------------------------------------ */

static void print_endpoint(FILE *f, const char *name, const struct endpoint *ep)
{
	fprintf(f, "\"%s\": {\"addr\": \"%s\", \"port\": %u}", name, ep->addr, ep->port);
}

static void print_subflows(FILE *f, const char *name, const struct subflow_view *sf, size_t n)
{
	size_t i;

	fprintf(f, ",\n  \"%s\": [", name);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s\n    {\"id\": %u, ", i ? "," : "", sf[i].id);
		print_endpoint(f, "local", &sf[i].local);
		fprintf(f, ", ");
		print_endpoint(f, "remote", &sf[i].remote);
		if (sf[i].tcp_state >= 0)
			fprintf(f, ", \"tcp_state\": %d", sf[i].tcp_state);
		fprintf(f, "}");
	}
	fprintf(f, "%s]", n ? "\n  " : "");
}

static void print_error(FILE *f, const char *name, int err)
{
	if (err)
		fprintf(f, ",\n  \"%s\": \"%s (%d)\"", name, strerror(-err), err);
}

static void print_view(FILE *f, const struct conn_view *v)
{
	fprintf(f, "{\"token\": %u, \"netns_cookie\": %llu, \"subflows_total\": %u",
		v->token, (unsigned long long)v->netns_cookie, v->subflows_total);
	print_subflows(f, "kernel", v->kernel, v->nr_kernel);
	print_subflows(f, "lib_fd", v->lib_fd, v->nr_lib_fd);
	print_error(f, "lib_fd_error", v->lib_fd_err);
	print_subflows(f, "lib_token", v->lib_token, v->nr_lib_token);
	print_error(f, "lib_token_error", v->lib_token_err);
	fprintf(f, "\n}\n");
}

/* Write the view to path ("-": stdout) through a temporary file and a
 * rename, so that a test polling for the file never reads half of it. */
static void write_view(const char *path, const struct conn_view *v)
{
	char tmp[4096];
	FILE *f;

	if (!strcmp(path, "-")) {
		print_view(stdout, v);
		fflush(stdout);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	print_view(f, v);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

/* ---- Waiting for the subflows ---------------------------------------------- */

static size_t established_count(const struct subflow_view *sf, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		count += sf[i].tcp_state == TCP_STATE_ESTABLISHED;
	return count;
}

/* Collect the view of fd once the kernel reports `want` subflows in all, all
 * of them established (bounded wait). Returns false on timeout; the view
 * then holds the last state seen. */
static bool collect_view(int fd, unsigned int want, struct conn_view *v)
{
	long long deadline = now_ms() + SUBFLOW_WAIT_MS;
	struct mptcp_info_v6_18 info;
	bool reached;
	int err;

	memset(v, 0, sizeof(*v));
	for (;;) {
		err = get_mptcp_info(fd, &info);
		if (err)
			die("getsockopt(MPTCP_INFO): %s (did the connection fall back to TCP?)",
			    strerror(-err));
		err = get_kernel_subflows(fd, v->kernel, &v->nr_kernel);
		if (err)
			die("getsockopt(MPTCP_FULL_INFO): %s", strerror(-err));
		v->subflows_total = info.mptcpi_subflows + 1u;
		reached = v->subflows_total >= want &&
			  established_count(v->kernel, v->nr_kernel) >= want;
		if (reached || now_ms() >= deadline)
			break;
		sleep_ms(10);
	}
	v->token = info.mptcpi_token;
	v->netns_cookie = get_netns_cookie(fd);
	v->lib_fd_err = lib_subflows_by_fd(fd, v->lib_fd, &v->nr_lib_fd);
	v->lib_token_err = lib_subflows_by_token(0, v->token, v->lib_token, &v->nr_lib_token);
	return reached;
}

/* ---- Data ---------------------------------------------------------------- */

static void set_io_timeout(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int send_bytes(int fd, unsigned long long bytes)
{
	static char buf[64 * 1024];
	ssize_t n;

	memset(buf, 'x', sizeof(buf));
	while (bytes > 0) {
		n = send(fd, buf, bytes < sizeof(buf) ? bytes : sizeof(buf), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		bytes -= n;
	}
	return 0;
}

/* Read until EOF; returns the byte count or -errno. */
static long long drain(int fd)
{
	static __thread char buf[64 * 1024];
	long long total = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return total;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		total += n;
	}
}

/* ---- Checked data (--pattern) -------------------------------------------------- */

/* The byte at offset off of a --pattern stream: never periodic within any
 * realistic transfer, so a lost, repeated or reordered chunk shows. */
static inline unsigned char pattern_byte(unsigned long long off)
{
	unsigned long long x = (off + 1) * 0x9E3779B97F4A7C15ULL;

	return (unsigned char)(x >> 56 ^ x >> 29);
}

static void pattern_fill(unsigned char *buf, size_t n, unsigned long long off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern_byte(off + i);
}

/* Send the pattern for `secs` seconds, or `bytes` bytes when secs is 0;
 * returns the bytes sent. */
static unsigned long long send_pattern(int fd, double secs, unsigned long long bytes)
{
	static unsigned char buf[64 * 1024];
	long long deadline = now_ms() + (long long)(secs * 1000);
	unsigned long long off = 0;
	size_t pos = sizeof(buf);
	ssize_t n;

	while (secs > 0 ? now_ms() < deadline : off < bytes) {
		if (pos == sizeof(buf)) {
			pattern_fill(buf, sizeof(buf), off);
			pos = 0;
		}
		n = send(fd, buf + pos, secs > 0 || bytes - off >= sizeof(buf) - pos ?
			 sizeof(buf) - pos : bytes - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("send at offset %llu: %s", off, strerror(errno));
		}
		pos += n;
		off += n;
	}
	return off;
}

/* Read until EOF checking every byte; returns the count, or exits 1 at the
 * first wrong byte. */
static long long drain_checked(int fd, long index)
{
	static __thread unsigned char buf[64 * 1024];
	unsigned long long off = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			return (long long)off;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern_byte(off + i)) {
				fprintf(stderr, "mptcp_peer server: connection %ld: byte at offset %llu is 0x%02x, expected 0x%02x\n",
					index, off + i, buf[i], pattern_byte(off + i));
				exit(1);
			}
		off += n;
	}
}

/* Send back everything until EOF. */
static void echo_all(int fd, long index)
{
	static __thread char buf[64 * 1024];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) != 0) {
		ssize_t sent = 0, k;

		if (n < 0 && errno == EINTR)
			continue;
		while (n > 0 && sent < n && (k = send(fd, buf + sent, n - sent, MSG_NOSIGNAL)) > 0)
			sent += k;
		if (n < 0 || sent < n) {
			fprintf(stderr, "mptcp_peer server: connection %ld: echo: %s\n", index,
				strerror(errno));
			return;
		}
	}
}

/* ---- Server ---------------------------------------------------------------- */

struct server_conn {
	int fd;
	long index;
};

static void *serve_conn(void *arg)
{
	struct server_conn *c = arg;
	struct conn_view view;
	long long got;
	char path[4096];

	set_io_timeout(c->fd);
	if (opt.echo) {
		/* An echo server waits for its client as long as the client
		 * likes (the control tests keep one connection for a whole
		 * test); only a send that cannot progress gives up. */
		struct timeval forever = { 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	}
	if (opt.info_json) {
		if (c->index == 0)
			snprintf(path, sizeof(path), "%s", opt.info_json);
		else
			snprintf(path, sizeof(path), "%s.%ld", opt.info_json, c->index);
		if (!collect_view(c->fd, opt.subflows, &view))
			fprintf(stderr, "mptcp_peer server: connection %ld has %u subflows "
				"(%zu established), not %u, after %d ms\n", c->index,
				view.subflows_total, established_count(view.kernel, view.nr_kernel),
				opt.subflows, SUBFLOW_WAIT_MS);
		write_view(path, &view);
	}
	if (opt.echo) {
		echo_all(c->fd, c->index);
		close(c->fd);
		free(c);
		return NULL;
	}
	got = opt.pattern ? drain_checked(c->fd, c->index) : drain(c->fd);
	if (got < 0) {
		fprintf(stderr, "mptcp_peer server: connection %ld: recv: %s\n", c->index,
			strerror((int)-got));
	} else if (opt.pattern) {
		char reply[64];
		int len = snprintf(reply, sizeof(reply), "OK %lld\n", got);

		if (send(c->fd, reply, len, MSG_NOSIGNAL) != len)
			fprintf(stderr, "mptcp_peer server: connection %ld: reply: %s\n", c->index,
				strerror(errno));
	} else if (!opt.hold) {
		send_bytes(c->fd, 1);
	}
	close(c->fd);
	free(c);
	return NULL;
}

static int run_server(void)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(opt.addr, opt.port, &ss);
	int one = 1, lfd;
	long i;

	lfd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (lfd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0)
		die("bind %s port %u: %s", opt.addr, opt.port, strerror(errno));
	if (listen(lfd, 128) < 0)
		die("listen: %s", strerror(errno));
	if (opt.ready_file) {
		FILE *f = fopen(opt.ready_file, "w");

		if (!f || fclose(f) != 0)
			die("cannot create %s: %s", opt.ready_file, strerror(errno));
	}

	pthread_t *threads = calloc(opt.conns > 0 ? opt.conns : 1, sizeof(*threads));
	if (!threads)
		die("out of memory");
	for (i = 0; opt.conns == 0 || i < opt.conns; i++) {
		struct server_conn *c = calloc(1, sizeof(*c));
		int fd, err;

		if (!c)
			die("out of memory");
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		c->fd = fd;
		c->index = i;
		err = pthread_create(opt.conns ? &threads[i] : &threads[0], NULL, serve_conn, c);
		if (err)
			die("pthread_create: %s", strerror(err));
		if (!opt.conns)
			pthread_detach(threads[0]);
	}
	for (i = 0; i < opt.conns; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	close(lfd);
	return 0;
}

/* ---- Client ---------------------------------------------------------------- */

static int client_connect(void)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(opt.addr, opt.port, &ss);
	int fd;

	fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	set_io_timeout(fd);
	if (opt.cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, opt.cc, strlen(opt.cc)) < 0)
		die("setsockopt(TCP_CONGESTION, %s): %s", opt.cc, strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect %s port %u: %s", opt.addr, opt.port, strerror(errno));
	return fd;
}

/* Close our side and read the server's reply up to its EOF. */
static void client_finish(int fd)
{
	long long got;

	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown: %s", strerror(errno));
	got = drain(fd);
	if (got < 0)
		die("waiting for the server's reply: %s", strerror((int)-got));
	close(fd);
}

static bool wait_for_file(const char *path, long ms)
{
	long long deadline = now_ms() + ms;
	struct stat st;

	while (stat(path, &st) != 0) {
		if (now_ms() >= deadline)
			return false;
		sleep_ms(20);
	}
	return true;
}

static bool wait_for_file(const char *path, long ms);

/* --repeat N: N connections, one after the other (--gap-ms apart); each
 * closes at once, or, with --hold-until, all stay open until that file
 * appears (--ready-file is created once all N are connected). */
static int run_client_repeat(void)
{
	int *fds = NULL, fd, err;
	long i;

	if (opt.hold_until && !(fds = calloc(opt.repeat, sizeof(*fds))))
		die("out of memory");
	for (i = 0; i < opt.repeat; i++) {
		fd = client_connect();
		err = send_bytes(fd, 1);
		if (err)
			die("connection %ld: send: %s", i, strerror(-err));
		if (fds)
			fds[i] = fd;
		else
			client_finish(fd);
		if (opt.gap_ms)
			sleep_ms(opt.gap_ms);
	}
	if (!fds)
		return 0;
	if (opt.ready_file) {
		FILE *f = fopen(opt.ready_file, "w");

		if (!f || fclose(f) != 0)
			die("cannot create %s: %s", opt.ready_file, strerror(errno));
	}
	if (!wait_for_file(opt.hold_until, HOLD_WAIT_MS))
		die("%s did not appear within %d ms", opt.hold_until, HOLD_WAIT_MS);
	for (i = 0; i < opt.repeat; i++)
		client_finish(fds[i]);
	free(fds);
	return 0;
}

/* --reconnect: the same socket, disconnected and connected again. */
static int run_client_reconnect(void)
{
	struct sockaddr disconnect = { .sa_family = AF_UNSPEC };
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(opt.addr, opt.port, &ss);
	char path[4096], go[4096];
	struct conn_view view;
	int fd = -1, err;

	if (!opt.info_json || !opt.hold_until)
		die("--reconnect needs --info-json and --hold-until");
	for (long r = 0; r < opt.reconnect; r++) {
		if (r == 0) {
			fd = client_connect();
		} else if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
			die("connection %ld: connect again: %s", r, strerror(errno));
		}
		err = send_bytes(fd, 1);
		if (err)
			die("connection %ld: send: %s", r, strerror(-err));
		if (!collect_view(fd, opt.subflows, &view))
			die("connection %ld has %u subflows, not %u, after %d ms", r,
			    view.subflows_total, opt.subflows, SUBFLOW_WAIT_MS);
		snprintf(path, sizeof(path), "%s.%ld", opt.info_json, r);
		write_view(path, &view);
		snprintf(go, sizeof(go), "%s.%ld", opt.hold_until, r);
		if (!wait_for_file(go, HOLD_WAIT_MS))
			die("%s did not appear within %d ms", go, HOLD_WAIT_MS);
		if (r + 1 < opt.reconnect && connect(fd, &disconnect, sizeof(disconnect)) < 0)
			die("connection %ld: connect(AF_UNSPEC): %s", r, strerror(errno));
	}
	client_finish(fd);
	return 0;
}

/* --pattern: stream checked bytes, then compare the server's count. */
static int run_client_pattern(void)
{
	unsigned long long sent, got;
	struct conn_view view;
	char reply[64] = "";
	ssize_t n, len = 0;
	int fd;

	fd = client_connect();
	if (opt.duration > 0) {
		collect_view(fd, opt.subflows, &view);
		if (opt.info_json)
			write_view(opt.info_json, &view);
		sent = send_pattern(fd, opt.duration, 0);
	} else {
		sent = send_pattern(fd, 0, opt.bytes);
	}
	if (shutdown(fd, SHUT_WR) < 0)
		die("shutdown: %s", strerror(errno));
	while (len < (ssize_t)sizeof(reply) - 1 && !strchr(reply, '\n')) {
		n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
		if (n <= 0)
			die("no answer from the server after %llu bytes: %s", sent,
			    n ? strerror(errno) : "EOF (it found a wrong byte?)");
		len += n;
		reply[len] = '\0';
	}
	if (sscanf(reply, "OK %llu", &got) != 1 || got != sent)
		die("the server checked %s bytes, %llu were sent", reply, sent);
	printf("{\"sent\": %llu, \"checked\": %llu}\n", sent, got);
	close(fd);
	return 0;
}

static int run_client(void)
{
	struct conn_view view;
	bool reached;
	int fd, err;

	if (opt.repeat > 0)
		return run_client_repeat();
	if (opt.reconnect > 0)
		return run_client_reconnect();
	if (opt.pattern)
		return run_client_pattern();

	fd = client_connect();
	err = send_bytes(fd, opt.bytes);
	if (err)
		die("send: %s", strerror(-err));
	reached = collect_view(fd, opt.subflows, &view);
	if (opt.info_json)
		write_view(opt.info_json, &view);
	if (!reached)
		die("the connection has %u subflows (%zu established), not %u, after %d ms",
		    view.subflows_total, established_count(view.kernel, view.nr_kernel),
		    opt.subflows, SUBFLOW_WAIT_MS);
	if (opt.hold_until && !wait_for_file(opt.hold_until, HOLD_WAIT_MS))
		die("%s did not appear within %d ms", opt.hold_until, HOLD_WAIT_MS);
	client_finish(fd);
	return 0;
}

/* ---- Token lookup ---------------------------------------------------------- */

static int run_token(const char *text, uint64_t netns_cookie)
{
	struct conn_view view;
	char *end;
	unsigned long token;

	memset(&view, 0, sizeof(view));
	errno = 0;
	token = strtoul(text, &end, 0);
	if (errno || *end || token > UINT32_MAX)
		die("not a token: %s", text);
	view.lib_token_err = lib_subflows_by_token(netns_cookie, (uint32_t)token,
						   view.lib_token, &view.nr_lib_token);
	printf("{\"token\": %lu", token);
	print_subflows(stdout, "lib_token", view.lib_token, view.nr_lib_token);
	print_error(stdout, "lib_token_error", view.lib_token_err);
	printf("\n}\n");
	return view.lib_token_err ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------ */

static unsigned long long parse_num(const char *text, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || end == text || *end)
		die("%s: not a number: %s", what, text);
	return v;
}

int main(int argc, char **argv)
{
	enum { OPT_SUBFLOWS = 256, OPT_INFO_JSON, OPT_HOLD, OPT_HOLD_UNTIL, OPT_REPEAT, OPT_RECONNECT,
	       OPT_READY_FILE, OPT_NETNS_COOKIE, OPT_CC, OPT_PATTERN, OPT_DURATION,
	       OPT_GAP_MS, OPT_ECHO };
	static const struct option longopts[] = {
		{ "addr",	  required_argument, NULL, 'a' },
		{ "port",	  required_argument, NULL, 'p' },
		{ "conns",	  required_argument, NULL, 'n' },
		{ "bytes",	  required_argument, NULL, 'b' },
		{ "subflows",	  required_argument, NULL, OPT_SUBFLOWS },
		{ "info-json",	  required_argument, NULL, OPT_INFO_JSON },
		{ "hold",	  no_argument,	     NULL, OPT_HOLD },
		{ "hold-until",	  required_argument, NULL, OPT_HOLD_UNTIL },
		{ "repeat",	  required_argument, NULL, OPT_REPEAT },
		{ "gap-ms",	  required_argument, NULL, OPT_GAP_MS },
		{ "reconnect",	  required_argument, NULL, OPT_RECONNECT },
		{ "ready-file",	  required_argument, NULL, OPT_READY_FILE },
		{ "netns-cookie", required_argument, NULL, OPT_NETNS_COOKIE },
		{ "cc",		  required_argument, NULL, OPT_CC },
		{ "pattern",	  no_argument,	     NULL, OPT_PATTERN },
		{ "echo",	  no_argument,	     NULL, OPT_ECHO },
		{ "duration",	  required_argument, NULL, OPT_DURATION },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ 0 }
	};
	uint64_t netns_cookie = 0;
	int c;

	if (argc < 2)
		usage();
	opt.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:n:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': opt.addr = optarg; break;
		case 'p': opt.port = parse_num(optarg, "port"); break;
		case 'n': opt.conns = parse_num(optarg, "conns"); break;
		case 'b': opt.bytes = parse_num(optarg, "bytes"); break;
		case OPT_SUBFLOWS: opt.subflows = parse_num(optarg, "subflows"); break;
		case OPT_INFO_JSON: opt.info_json = optarg; break;
		case OPT_HOLD: opt.hold = true; break;
		case OPT_HOLD_UNTIL: opt.hold_until = optarg; break;
		case OPT_REPEAT: opt.repeat = parse_num(optarg, "repeat"); break;
		case OPT_GAP_MS: opt.gap_ms = parse_num(optarg, "gap"); break;
		case OPT_RECONNECT: opt.reconnect = parse_num(optarg, "reconnect"); break;
		case OPT_READY_FILE: opt.ready_file = optarg; break;
		case OPT_NETNS_COOKIE: netns_cookie = parse_num(optarg, "netns cookie"); break;
		case OPT_CC: opt.cc = optarg; break;
		case OPT_PATTERN: opt.pattern = true; break;
		case OPT_ECHO: opt.echo = true; break;
		case OPT_DURATION: opt.duration = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(opt.mode, "token")) {
		if (optind != argc - 1)
			usage();
		return run_token(argv[optind], netns_cookie);
	}
	if (optind != argc || !opt.addr || !opt.port || opt.port > 65535)
		usage();
	if (!strcmp(opt.mode, "server"))
		return run_server();
	if (!strcmp(opt.mode, "client"))
		return run_client();
	usage();
	return 2;
}
