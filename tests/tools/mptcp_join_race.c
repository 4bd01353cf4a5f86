// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptcp_join_race: reproduces a Linux MPTCP receive-side data corruption with
 * nothing but IPPROTO_MPTCP sockets (no libsubflow, no launcher, no shim).
 * tests/kernel/mptcp_join_race.sh runs it in a two-path lab; README
 * ("Limits") says what it shows.
 *
 *   mptcp_join_race server -a ADDR -p PORT [-n CONNS] [--ready-file F]
 *       MPTCP echo server for CONNS connections (default 1000), one after the
 *       other: recv(), check every byte, echo it with a blocking send().
 *       The first wrong byte of a connection is reported ("conn K: stream
 *       offset X carries the bytes of offset Y") and ends that connection.
 *       Prints "corrupted: N of CONNS" and exits 1 if N > 0.
 *   mptcp_join_race client -a ADDR -p PORT [-n CONNS] [-b BYTES] [--settle N]
 *       CONNS connections, one after the other, each sending BYTES (default
 *       200000) in 16 KiB send(MSG_DONTWAIT) calls from a poll() loop while
 *       reading the echo. Every send() result is checked: the stream the
 *       client hands to the kernel is exactly bytes 0..BYTES-1, in order.
 *       --settle N: before the rest, exchange byte 0, wait until N subflows
 *       are established and acknowledged by the peer (MPTCP_FULL_INFO), and
 *       exchange byte 1 (tests/tools/mptcp_settle.h): the transfer then
 *       starts with no join pending at the peer.
 *       Prints "echo incomplete: N of CONNS" and exits 0 (the server judges).
 *
 * The stream is self-describing: every aligned 32-bit little-endian word is
 * 0x01000000 + (its offset / 4), so a wrong byte tells which offset it came
 * from. Every wait is bounded; usage errors exit 2, failures 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/mptcp.h>

#include "mptcp_compat.h"
#include "mptcp_settle.h"
/* die(), parse_addr(): libc only, like everything this file includes. */
#include "../bench/bench_common.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define WAIT_MS 10000
#define CHUNK 16384

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)((0x01000000 + (i >> 2)) >> (8 * (i & 3)));
}

/* The offset whose bytes sit at p (stream offset pos), from the first whole
 * aligned word at or after pos; -1 if none is in [p, end). */
static long long origin(const unsigned char *p, const unsigned char *end, uint64_t pos)
{
	unsigned int skip = (4 - (pos & 3)) & 3;
	const unsigned char *w = p + skip;
	uint32_t v;

	if (w + 4 > end)
		return -1;
	v = w[0] | w[1] << 8 | w[2] << 16 | (uint32_t)w[3] << 24;
	return ((long long)v - 0x01000000) * 4 - skip;
}

struct opts {
	const char *addr, *ready;
	unsigned int port, conns, settle;
	size_t bytes;
};

static int wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n = poll(&pfd, 1, WAIT_MS);

	if (n < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	return n > 0 ? pfd.revents : 0;
}

/* ---- server ---------------------------------------------------------------- */

/* Returns true if every byte of the connection was right. */
static bool serve_conn(int fd, unsigned int k)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	static unsigned char buf[CHUNK];
	uint64_t total = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n, i;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("conn %u: recv: %s", k, strerror(errno));
		if (n == 0)
			return true;
		for (i = 0; i < n; i++) {
			if (buf[i] == pattern(total + i))
				continue;
			printf("conn %u: stream offset %llu carries the bytes of offset %lld "
			       "(recv() of %zd bytes at offset %llu)\n",
			       k, (unsigned long long)(total + i),
			       origin(buf + i, buf + n, total + i), n, (unsigned long long)total);
			fflush(stdout);
			return false;
		}
		for (i = 0; i < n;) {
			ssize_t w = send(fd, buf + i, n - i, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				die("conn %u: echo: %s", k, w ? strerror(errno) : "nothing sent");
			i += w;
		}
		total += n;
	}
}

static int run_server(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_addr(o->addr, o->port, &ss);
	unsigned int bad = 0;
	int one = 1, lfd;

	lfd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (lfd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 16))
		die("bind/listen %s port %u: %s", o->addr, o->port, strerror(errno));
	if (o->ready) {
		FILE *f = fopen(o->ready, "w");

		if (!f || fclose(f))
			die("%s: %s", o->ready, strerror(errno));
	}
	for (unsigned int k = 0; k < o->conns; k++) {
		int fd;

		if (!wait_fd(lfd, POLLIN))
			die("no connection %u within %d ms", k + 1, WAIT_MS);
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept: %s", strerror(errno));
		bad += !serve_conn(fd, k);
		close(fd);
	}
	printf("corrupted: %u of %u\n", bad, o->conns);
	return bad ? 1 : 0;
}

/* ---- client ---------------------------------------------------------------- */

/* Returns true if the whole echo came back intact. */
static bool client_conn(const struct opts *o, const unsigned char *buf, unsigned int k)
{
	struct sockaddr_storage ss;
	socklen_t sl = parse_addr(o->addr, o->port, &ss);
	size_t sent = 0, got = 0;
	bool ok = true;
	int fd;

	fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, sl))
		die("conn %u: connect: %s", k, strerror(errno));
	if (o->settle) {
		int err = mptcp_settle(fd, buf, o->settle, WAIT_MS);

		if (err)
			die("conn %u: --settle %u: %s", k, o->settle, strerror(-err));
		sent = got = 2;
	}
	while (got < o->bytes) {
		unsigned char chunk[CHUNK];
		short ev = wait_fd(fd, POLLIN | (sent < o->bytes ? POLLOUT : 0));
		ssize_t n;

		if (!ev)
			die("conn %u: no progress for %d ms (sent %zu, echoed %zu)", k, WAIT_MS,
			    sent, got);
		if ((ev & POLLOUT) && sent < o->bytes) {
			size_t len = o->bytes - sent < CHUNK ? o->bytes - sent : CHUNK;

			n = send(fd, buf + sent, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				ok = false;	/* the server ended a corrupted stream */
				break;
			}
			if (n > (ssize_t)len)
				die("conn %u: send() of %zu returned %zd", k, len, n);
			if (n > 0)
				sent += n;
		}
		if (!(ev & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0 || memcmp(chunk, buf + got, n)) {
			ok = false;
			break;
		}
		got += n;
	}
	close(fd);
	return ok;
}

static int run_client(const struct opts *o)
{
	unsigned char *buf = malloc(o->bytes);
	unsigned int bad = 0;

	if (!buf)
		die("out of memory");
	for (size_t i = 0; i < o->bytes; i++)
		buf[i] = pattern(i);
	for (unsigned int k = 0; k < o->conns; k++)
		bad += !client_conn(o, buf, k);
	printf("echo incomplete: %u of %u\n", bad, o->conns);
	free(buf);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: mptcp_join_race server -a ADDR -p PORT [-n CONNS] [--ready-file F]\n"
		"       mptcp_join_race client -a ADDR -p PORT [-n CONNS] [-b BYTES] [--settle N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ready-file", required_argument, NULL, 'R' },
		{ "settle", required_argument, NULL, 's' },
		{ 0 },
	};
	struct opts o = { .conns = 1000, .bytes = 200000 };
	char *end;
	int opt;

	bench_prog = "mptcp_join_race";
	if (argc < 2)
		usage();
	optind = 2;
	while ((opt = getopt_long(argc, argv, "a:p:n:b:", longopts, NULL)) >= 0) {
		unsigned long v = 0;

		if (opt != 'a' && opt != 'R' && opt != '?') {
			v = strtoul(optarg, &end, 10);
			if (*end || !v)
				usage();
		}
		switch (opt) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = v; break;
		case 'n': o.conns = v; break;
		case 'b': o.bytes = v; break;
		case 's': o.settle = v; break;
		case 'R': o.ready = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !o.addr || !o.port || o.port > 65535 || o.bytes < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return run_server(&o);
	if (!strcmp(argv[1], "client"))
		return run_client(&o);
	usage();
}
