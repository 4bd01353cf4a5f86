// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bulk: MPTCP bulk throughput over all the connection's subflows.
 * (Debian 12's iperf3 3.12 has no --mptcp.)
 *
 *   bulk recv -a ADDR -p PORT [--ready-file FILE]
 *       per connection, one at a time: read until EOF, then write back what
 *       arrived (bytes, and nanoseconds from the first byte to EOF); forever.
 *   bulk send -a ADDR -p PORT -d SECONDS
 *       connect, write for SECONDS, shut down writing, read the receiver's
 *       count; prints "bytes B secs S mbit M" from the RECEIVER's view, so
 *       that data still queued in socket buffers is not counted as sent.
 */
#define _GNU_SOURCE	/* accept4 */
#include <getopt.h>
#include <signal.h>
#include "bench_common.h"

#define CHUNK (256 * 1024)

struct result {
	uint64_t bytes;
	uint64_t ns;
};

struct options {
	const char *mode;
	const char *addr;
	unsigned int port;
	double seconds;
	const char *ready_file;
};

static char buf[CHUNK];

static void usage(void)
{
	fprintf(stderr,
		"usage: bulk recv -a ADDR -p PORT [--ready-file FILE]\n"
		"       bulk send -a ADDR -p PORT -d SECONDS\n");
	exit(2);
}

static void serve_one(int fd)
{
	struct result r = {};
	uint64_t first = 0;
	ssize_t n;

	set_io_timeout(fd);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!first)
			first = now_ns();
		r.bytes += n;
	}
	if (n < 0) {
		fprintf(stderr, "bulk recv: read: %s (connection dropped)\n", strerror(errno));
		return;
	}
	r.ns = first ? now_ns() - first : 0;
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		fprintf(stderr, "bulk recv: write result: %s\n", strerror(errno));
}

static void run_recv(const struct options *o)
{
	int lfd = mptcp_listen(o->addr, o->port);

	write_ready_file(o->ready_file);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		serve_one(fd);
		close(fd);
	}
}

static void run_send(const struct options *o)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(o->addr, o->port, &ss);
	int fd = mptcp_socket(ss.ss_family);
	uint64_t deadline;
	struct result r;
	size_t got = 0;
	ssize_t n;

	memset(buf, 'b', sizeof(buf));
	set_io_timeout(fd);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect %s:%u: %s", o->addr, o->port, strerror(errno));
	deadline = now_ns() + (uint64_t)(o->seconds * 1e9);
	while (now_ns() < deadline) {
		n = write(fd, buf, sizeof(buf));
		if (n < 0 && errno != EINTR)
			die("write: %s", strerror(errno));
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	while (got < sizeof(r)) {
		n = read(fd, (char *)&r + got, sizeof(r) - got);
		if (n <= 0)
			die("reading the receiver's count: %s", n ? strerror(errno) : "EOF");
		got += n;
	}
	close(fd);
	if (!r.ns)
		die("the receiver got no data");
	printf("bytes %llu secs %.3f mbit %.2f\n", (unsigned long long)r.bytes, r.ns / 1e9,
	       r.bytes * 8 / (r.ns / 1e9) / 1e6);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{}
	};
	struct options o = { .seconds = 1 };
	int c;

	bench_prog = "bulk";
	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:d:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = strtoul(optarg, NULL, 10); break;
		case 'd': o.seconds = strtod(optarg, NULL); break;
		case 'r': o.ready_file = optarg; break;
		default: usage();
		}
	}
	if (!o.addr || !o.port || o.seconds <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "recv"))
		run_recv(&o);
	else if (!strcmp(o.mode, "send"))
		run_send(&o);
	else
		usage();
	return 0;
}
