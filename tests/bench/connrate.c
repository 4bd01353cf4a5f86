// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connrate: MPTCP connection setup rate, the workload the engine's sockops
 * program sees most often (every subflow costs it a connect or accept
 * callback, a state callback per transition, and map inserts and deletes).
 *
 *   connrate server -a ADDR -p PORT [-b BYTES] [--ready-file FILE]
 *       accept, read BYTES (default 1), write as many back, close; forever
 *       (until killed).
 *   connrate client -a ADDR -p PORT -d SECONDS [-b BYTES] [--bpf-prog PINNED_PROG]...
 *       connect, write BYTES (default 1), read as many, close, in a loop for
 *       SECONDS (client and server must agree on BYTES); every byte read back
 *       is checked against what was sent;
 *       prints "conns N errors E secs S rate R" (R in connections per second).
 *       With --bpf-prog (repeatable), also how often those programs ran and
 *       for how long: in total ("bpf_runs N bpf_ns T") and per program
 *       ("bpf_NAME_runs N bpf_NAME_ns T", NAME the pin's name without its
 *       "prog_" prefix). Kernel BPF run-time statistics are enabled
 *       through a BPF_ENABLE_STATS fd, so they switch off again when this
 *       process exits, however it exits. They cost a little per run (two
 *       clock reads): compare rounds that all have them on, or use them in a
 *       round of their own. The final statistics are read 200 ms after the
 *       last connection, or, with --bpf-wait DIR, once the caller says the
 *       sockets of both ends have closed: the client creates DIR/loop-done
 *       when its loop ends and reads them when DIR/read appears (the kernel
 *       may close a subflow long after the application closed its socket).
 *
 * One connection at a time on each side: the rate then measures the cost
 * of a connection's life, not how well the tools overlap work. Whether the
 * path manager's join subflow is created before a 1-byte connection ends
 * is up to the kernel (it rarely is); with -b 65536 the join establishes
 * while the data flows. The bench script counts joins with nstat.
 */
#define _GNU_SOURCE	/* accept4 */
#include <getopt.h>
#include <signal.h>
#include <bpf/bpf.h>
#include "bench_common.h"

#define MAX_PROGS 16
#define MAX_BYTES (16 << 20)

struct options {
	const char *mode;
	const char *addr;
	unsigned int port;
	double seconds;
	size_t bytes;
	const char *ready_file;
	const char *bpf_progs[MAX_PROGS];
	int nr_progs;
	const char *bpf_wait;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: connrate server -a ADDR -p PORT [-b BYTES] [--ready-file FILE]\n"
		"       connrate client -a ADDR -p PORT -d SECONDS [-b BYTES] [--bpf-prog PINNED_PROG]...\n"
		"                       [--bpf-wait DIR]\n");
	exit(2);
}

/* Read exactly len bytes (0), or fail (-1: error, timeout or early EOF). */
static int read_full(int fd, char *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static void run_server(const struct options *o)
{
	int lfd = mptcp_listen(o->addr, o->port);
	char *buf = malloc(o->bytes);

	if (!buf)
		die("out of memory");

	write_ready_file(o->ready_file);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		/* A client that vanished mid-exchange must not stall the
		 * server: bounded reads, and errors only end that connection. */
		set_io_timeout(fd);
		if (!read_full(fd, buf, o->bytes))
			(void)write_full(fd, buf, o->bytes);
		close(fd);
	}
}

/* One connection's life: send `out`, read it back into `in`, compare.
 * Returns 0, or -errno of the step that failed (-EBADMSG: wrong bytes). */
static int one_connection(const struct sockaddr_storage *ss, socklen_t len, const char *out,
			  char *in, size_t bytes)
{
	int fd = mptcp_socket(ss->ss_family), err = 0;

	set_io_timeout(fd);
	if (connect(fd, (const struct sockaddr *)ss, len))
		err = -errno;
	else if (write_full(fd, out, bytes))
		err = errno ? -errno : -EPIPE;
	else if (read_full(fd, in, bytes))
		err = errno ? -errno : -ECONNRESET;
	else if (memcmp(in, out, bytes))
		err = -EBADMSG;
	close(fd);
	return err;
}

/* Create DIR/loop-done, then wait (at most a minute) for DIR/read. */
static void wait_caller(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/loop-done", dir);
	f = fopen(path, "we");
	if (!f || fputs("1\n", f) < 0 || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/read", dir);
	for (int ms = 0; access(path, F_OK); ms += 10) {
		if (ms > 60000)
			die("no %s after 60 s", path);
		sleep_ms(10);
	}
}

/* run_cnt and run_time_ns of a program (0 while statistics are off). */
static void prog_stats(int prog_fd, uint64_t *runs, uint64_t *ns)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		die("bpf_obj_get_info_by_fd: %s", strerror(errno));
	*runs = info.run_cnt;
	*ns = info.run_time_ns;
}

/* The program's name for the output: its pin's, without "prog_". */
static const char *prog_label(const char *pin)
{
	const char *base = strrchr(pin, '/');

	base = base ? base + 1 : pin;
	return strncmp(base, "prog_", 5) ? base : base + 5;
}

static void run_client(const struct options *o)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(o->addr, o->port, &ss);
	uint64_t start, deadline, end;
	uint64_t runs0[MAX_PROGS] = {}, ns0[MAX_PROGS] = {}, runs1[MAX_PROGS], ns1[MAX_PROGS];
	unsigned long conns = 0, errors = 0;
	int err = 0, prog_fds[MAX_PROGS], stats_fd = -1, i;
	char *out = malloc(o->bytes), *in = malloc(o->bytes);

	if (!out || !in)
		die("out of memory");
	for (size_t b = 0; b < o->bytes; b++)
		out[b] = (char)(b * 7 + 1);

	for (i = 0; i < o->nr_progs; i++) {
		prog_fds[i] = bpf_obj_get(o->bpf_progs[i]);
		if (prog_fds[i] < 0)
			die("open %s: %s", o->bpf_progs[i], strerror(errno));
	}
	if (o->nr_progs) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			die("BPF_ENABLE_STATS: %s", strerror(errno));
	}
	for (i = 0; i < o->nr_progs; i++)
		prog_stats(prog_fds[i], &runs0[i], &ns0[i]);
	start = now_ns();
	deadline = start + (uint64_t)(o->seconds * 1e9);
	do {
		errno = 0;
		err = one_connection(&ss, len, out, in, o->bytes);
		if (err) {
			/* Rare resets are part of life at high rates; many mean
			 * a broken lab (ports exhausted, listener gone). */
			if (err == -EBADMSG)
				die("connection %lu: the bytes read back differ from those sent",
				    conns + errors);
			if (++errors > 100)
				die("%lu connections failed, last: %s", errors, strerror(-err));
			continue;
		}
		conns++;
	} while (now_ns() < deadline);
	end = now_ns();
	printf("conns %lu errors %lu secs %.3f rate %.1f", conns, errors,
	       (end - start) / 1e9, conns / ((end - start) / 1e9));
	if (o->nr_progs) {
		uint64_t runs = 0, ns = 0;

		/* Server-side subflows close a little after ours: let them. */
		if (o->bpf_wait)
			wait_caller(o->bpf_wait);
		else
			sleep_ms(200);
		for (i = 0; i < o->nr_progs; i++) {
			prog_stats(prog_fds[i], &runs1[i], &ns1[i]);
			runs += runs1[i] - runs0[i];
			ns += ns1[i] - ns0[i];
		}
		printf(" bpf_runs %llu bpf_ns %llu", (unsigned long long)runs,
		       (unsigned long long)ns);
		for (i = 0; i < o->nr_progs; i++) {
			const char *name = prog_label(o->bpf_progs[i]);

			printf(" bpf_%s_runs %llu bpf_%s_ns %llu",
			       name, (unsigned long long)(runs1[i] - runs0[i]),
			       name, (unsigned long long)(ns1[i] - ns0[i]));
			close(prog_fds[i]);
		}
		close(stats_fd);
	}
	printf("\n");
	free(out);
	free(in);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "bpf-prog", required_argument, NULL, 'B' },
		{ "bpf-wait", required_argument, NULL, 'W' },
		{}
	};
	struct options o = { .seconds = 1, .bytes = 1 };
	int c;

	bench_prog = "connrate";
	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:d:b:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = strtoul(optarg, NULL, 10); break;
		case 'd': o.seconds = strtod(optarg, NULL); break;
		case 'b': o.bytes = strtoul(optarg, NULL, 10); break;
		case 'r': o.ready_file = optarg; break;
		case 'B':
			if (o.nr_progs == MAX_PROGS)
				die("at most %d --bpf-prog", MAX_PROGS);
			o.bpf_progs[o.nr_progs++] = optarg;
			break;
		case 'W': o.bpf_wait = optarg; break;
		default: usage();
		}
	}
	if (!o.addr || !o.port || o.seconds <= 0 || !o.bytes || o.bytes > MAX_BYTES)
		usage();
	/* A peer that resets while we write must fail the call, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "server"))
		run_server(&o);
	else if (!strcmp(o.mode, "client"))
		run_client(&o);
	else
		usage();
	return 0;
}
