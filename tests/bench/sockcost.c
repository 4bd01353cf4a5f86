// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sockcost: what a program pays for its TCP socket() calls, to compare
 * native calls with the LD_PRELOAD shim and with `subflowctl run` (the
 * script runs this very binary under each). It asks for plain TCP
 * (protocol 0), or for MPTCP itself with --mptcp (what a modified program
 * pays), and reports the protocol it got so that the script can check the
 * conversion really happened.
 *
 *   sockcost socket -n CALLS [--mptcp]
 *       CALLS times socket(AF_INET, SOCK_STREAM, 0) + close(), each timed;
 *       prints "calls N socket_ns MEDIAN socket_p90_ns P90 close_ns MEDIAN
 *       protocol P".
 *   sockcost conn -a ADDR -p PORT -d SECONDS [--mptcp]
 *       connect, write 1 byte, read 1 byte, close, in a loop (the server is
 *       connrate's); prints "conns N errors E rate R protocol P".
 */
#include <getopt.h>
#include "bench_common.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_socket(unsigned long calls, int proto)
{
	uint64_t *s_ns = calloc(calls, sizeof(*s_ns)), *c_ns = calloc(calls, sizeof(*c_ns));
	int got = -1;

	if (!s_ns || !c_ns)
		die("out of memory");
	for (unsigned long i = 0; i < calls; i++) {
		uint64_t t0 = now_ns(), t1, t2;
		int fd = socket(AF_INET, SOCK_STREAM, proto);

		t1 = now_ns();
		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (i == 0)
			got = socket_protocol(fd);
		close(fd);
		t2 = now_ns();
		s_ns[i] = t1 - t0;
		c_ns[i] = t2 - t1;
	}
	qsort(s_ns, calls, sizeof(*s_ns), cmp_u64);
	qsort(c_ns, calls, sizeof(*c_ns), cmp_u64);
	printf("calls %lu socket_ns %llu socket_p90_ns %llu close_ns %llu protocol %d\n", calls,
	       (unsigned long long)s_ns[calls / 2], (unsigned long long)s_ns[calls * 9 / 10],
	       (unsigned long long)c_ns[calls / 2], got);
	free(s_ns);
	free(c_ns);
}

static void bench_conn(const char *addr, unsigned int port, double secs, int proto)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(addr, port, &ss);
	unsigned long conns = 0, errors = 0;
	uint64_t start = now_ns(), deadline = start + (uint64_t)(secs * 1e9), end;
	int got = -1;

	do {
		int fd = socket(ss.ss_family, SOCK_STREAM, proto);
		char byte = 'x';

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (got < 0)
			got = socket_protocol(fd);
		set_io_timeout(fd);
		if (connect(fd, (struct sockaddr *)&ss, len) || write(fd, &byte, 1) != 1 ||
		    read(fd, &byte, 1) != 1)
			errors++;
		else
			conns++;
		close(fd);
		if (errors > 100 && errors > conns / 10)
			die("too many failed connections: %lu of %lu (%s)", errors, conns + errors,
			    strerror(errno));
		end = now_ns();
	} while (end < deadline);
	printf("conns %lu errors %lu rate %.1f protocol %d\n", conns, errors,
	       conns / ((end - start) / 1e9), got);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mptcp", no_argument, NULL, 'm' },
		{ 0 },
	};
	const char *mode, *addr = NULL;
	unsigned long calls = 10000;
	unsigned int port = 0;
	double secs = 1;
	int opt, proto = 0;

	bench_prog = "sockcost";
	if (argc < 2)
		die("usage: sockcost socket -n CALLS [--mptcp] | conn -a ADDR -p PORT -d SECONDS [--mptcp]");
	mode = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "n:a:p:d:", longopts, NULL)) >= 0) {
		switch (opt) {
		case 'n': calls = strtoul(optarg, NULL, 10); break;
		case 'a': addr = optarg; break;
		case 'p': port = strtoul(optarg, NULL, 10); break;
		case 'd': secs = strtod(optarg, NULL); break;
		case 'm': proto = IPPROTO_MPTCP; break;
		default: die("bad option");
		}
	}
	if (!strcmp(mode, "socket") && calls > 0)
		bench_socket(calls, proto);
	else if (!strcmp(mode, "conn") && addr && port && secs > 0)
		bench_conn(addr, port, secs, proto);
	else
		die("bad usage");
	return 0;
}
