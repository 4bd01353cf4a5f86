// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bulk: MPTCP bulk throughput over all the connection's subflows.
 * (Debian 12's iperf3 3.12 has no --mptcp.)
 *
 *   bulk recv -a ADDR -p PORT [--ready-file FILE]
 *       per connection, one at a time: read until EOF, then write back what
 *       arrived (bytes, and nanoseconds from the first byte to EOF); forever.
 *   bulk send -a ADDR -p PORT -d SECONDS [--tcp] [--cc NAME] [--bind ADDR]
 *             [--bpf-prog-id ID]...
 *       connect, write for SECONDS, shut down writing, read the receiver's
 *       count; prints "bytes B secs S mbit M" from the RECEIVER's view, so
 *       that data still queued in socket buffers is not counted as sent.
 *       --tcp: a plain TCP socket instead of MPTCP; --cc: TCP_CONGESTION
 *       on the socket before connecting (an MPTCP socket passes it to every
 *       subflow); --bind: the local address. An MPTCP sender also prints,
 *       per subflow, "sf LOCAL_ADDR acked BYTES" (tcpi_bytes_acked, from
 *       MPTCP_FULL_INFO just before the end). --bpf-prog-id: BPF run-time
 *       statistics on during the transfer, and per program
 *       "bpf NAME runs N ns T" for the run.
 */
#define _GNU_SOURCE	/* accept4 */
#include <getopt.h>
#include <signal.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include "bench_common.h"
#include "mptcp_compat.h"

#define MAX_PROGS 16
#define MAX_SUBFLOWS 16

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
	const char *cc;
	const char *bind_addr;
	int tcp;
	unsigned int prog_ids[MAX_PROGS];
	int nr_progs;
};

static char buf[CHUNK];

static void usage(void)
{
	fprintf(stderr,
		"usage: bulk recv -a ADDR -p PORT [--ready-file FILE]\n"
		"       bulk send -a ADDR -p PORT -d SECONDS [--tcp] [--cc NAME] [--bind ADDR]\n"
		"                 [--bpf-prog-id ID]...\n");
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

/* Per subflow: local address and bytes ACKed, from MPTCP_FULL_INFO. */
static void print_subflows(int fd)
{
	struct mptcp_subflow_info sf[MAX_SUBFLOWS];
	struct tcp_info ti[MAX_SUBFLOWS];
	struct mptcp_full_info full;
	socklen_t len = sizeof(full);
	char addr[INET6_ADDRSTRLEN];

	memset(&full, 0, sizeof(full));
	memset(sf, 0, sizeof(sf));
	memset(ti, 0, sizeof(ti));
	full.size_tcpinfo_user = sizeof(ti[0]);
	full.size_sfinfo_user = sizeof(sf[0]);
	full.size_arrays_user = MAX_SUBFLOWS;
	full.subflow_info = (__u64)(unsigned long)sf;
	full.tcp_info = (__u64)(unsigned long)ti;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &full, &len) < 0)
		die("getsockopt(MPTCP_FULL_INFO): %s", strerror(errno));
	for (__u32 i = 0; i < full.num_subflows && i < MAX_SUBFLOWS; i++) {
		const struct sockaddr *sa = &sf[i].addrs.sa_local;

		if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &sf[i].addrs.sin6_local.sin6_addr, addr, sizeof(addr));
		else
			inet_ntop(AF_INET, &sf[i].addrs.sin_local.sin_addr, addr, sizeof(addr));
		printf(" sf %s acked %llu", addr, (unsigned long long)ti[i].tcpi_bytes_acked);
	}
}

static void prog_stats(unsigned int id, char *name, size_t size, uint64_t *runs, uint64_t *ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		die("BPF program id %u: %s", id, strerror(errno));
	close(fd);
	snprintf(name, size, "%s", info.name);
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
}

static void run_send(const struct options *o)
{
	struct sockaddr_storage ss, local;
	socklen_t len = parse_addr(o->addr, o->port, &ss);
	uint64_t deadline, runs0[MAX_PROGS], ns0[MAX_PROGS], runs1, ns1;
	char names[MAX_PROGS][BPF_OBJ_NAME_LEN];
	int fd, stats_fd = -1, i;
	struct result r;
	size_t got = 0;
	ssize_t n;

	memset(buf, 'b', sizeof(buf));
	fd = o->tcp ? socket(ss.ss_family, SOCK_STREAM, IPPROTO_TCP) : mptcp_socket(ss.ss_family);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	set_io_timeout(fd);
	if (o->cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, o->cc, strlen(o->cc)))
		die("setsockopt(TCP_CONGESTION, %s): %s", o->cc, strerror(errno));
	if (o->bind_addr) {
		socklen_t llen = parse_addr(o->bind_addr, 0, &local);

		if (bind(fd, (struct sockaddr *)&local, llen))
			die("bind %s: %s", o->bind_addr, strerror(errno));
	}
	if (o->nr_progs) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			die("BPF_ENABLE_STATS: %s", strerror(errno));
	}
	for (i = 0; i < o->nr_progs; i++)
		prog_stats(o->prog_ids[i], names[i], sizeof(names[i]), &runs0[i], &ns0[i]);
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
	if (!r.ns)
		die("the receiver got no data");
	printf("bytes %llu secs %.3f mbit %.2f", (unsigned long long)r.bytes, r.ns / 1e9,
	       r.bytes * 8 / (r.ns / 1e9) / 1e6);
	if (!o->tcp)
		print_subflows(fd);
	for (i = 0; i < o->nr_progs; i++) {
		char name[BPF_OBJ_NAME_LEN];

		prog_stats(o->prog_ids[i], name, sizeof(name), &runs1, &ns1);
		printf(" bpf %s runs %llu ns %llu", names[i], (unsigned long long)(runs1 - runs0[i]),
		       (unsigned long long)(ns1 - ns0[i]));
	}
	if (stats_fd >= 0)
		close(stats_fd);
	close(fd);
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "tcp", no_argument, NULL, 't' },
		{ "cc", required_argument, NULL, 'c' },
		{ "bind", required_argument, NULL, 'b' },
		{ "bpf-prog-id", required_argument, NULL, 'B' },
		{}
	};
	struct options o = { .seconds = 1 };
	int c;

	bench_prog = "bulk";
	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:d:r:tc:b:B:", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o.tcp = 1; break;
		case 'c': o.cc = optarg; break;
		case 'b': o.bind_addr = optarg; break;
		case 'B':
			if (o.nr_progs == MAX_PROGS)
				die("at most %d --bpf-prog-id", MAX_PROGS);
			o.prog_ids[o.nr_progs++] = strtoul(optarg, NULL, 10);
			break;
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
