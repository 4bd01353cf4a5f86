// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pmops: latency of the path-management operations on one idle connection,
 * through libsubflow by fd, as an application would call them:
 * subflow_open() (until the new subflow is established), subflow_set_backup()
 * on and off (each sends MP_PRIO) and subflow_close(). The client must run
 * in a namespace whose connections get the userspace path manager; the
 * server is mptcp_stream in receive mode (this tool speaks its greeting).
 *
 *   pmops -a SERVER -p PORT -l LOCAL -r REMOTE [-n ROUNDS] [-t]
 *
 * With -t, the calls are the _by_token ones (as tools and the daemon make
 * them): they learn the connection's subflows from the engine's maps when
 * the engine tracks it, else from the one-shot iterator.
 *
 * Prints one JSON object: for "open", "set" (each of on and off) and "close",
 * {"min", "median", "p95", "max"} in milliseconds over ROUNDS rounds, and
 * "first_ms": the very first call of the process (it loads the one-shot
 * BPF iterator), which the rounds do not include.
 */
#include <getopt.h>
#include <stdbool.h>
#include "bench_common.h"
#include "subflow.h"

struct series {
	double *v;
	size_t n;
};

static void add(struct series *s, uint64_t ns)
{
	s->v[s->n++] = ns / 1e6;
}

static void print_series(const char *name, struct series *s, bool last)
{
	double p95;

	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	p95 = s->v[(size_t)((s->n - 1) * 0.95)];
	printf("\"%s\": {\"min\": %.3f, \"median\": %.3f, \"p95\": %.3f, \"max\": %.3f}%s", name,
	       s->v[0], median(s->v, s->n), p95, s->v[s->n - 1], last ? "" : ", ");
}

/* By fd (token 0), or by token in the caller's namespace. */
static int do_open(int fd, uint32_t token, struct sockaddr_storage *l, struct sockaddr_storage *r,
		   uint32_t *id)
{
	if (token)
		return subflow_open_by_token(0, token, (struct sockaddr *)l, (struct sockaddr *)r, 0, id);
	return subflow_open(fd, (struct sockaddr *)l, (struct sockaddr *)r, 0, id);
}

static int do_set(int fd, uint32_t token, uint32_t id, bool backup)
{
	return token ? subflow_set_backup_by_token(0, token, id, backup)
		     : subflow_set_backup(fd, id, backup);
}

static int do_close(int fd, uint32_t token, uint32_t id)
{
	return token ? subflow_close_by_token(0, token, id) : subflow_close(fd, id);
}

int main(int argc, char **argv)
{
	const char *server = NULL, *local_text = NULL, *remote_text = NULL;
	bool by_token = false;
	uint64_t cookie;
	uint32_t token = 0;
	struct series open_s = {}, set_s = {}, close_s = {};
	struct sockaddr_storage ss, local, remote;
	unsigned int port = 0;
	long rounds = 100;
	uint64_t t0, first_ns;
	socklen_t len;
	char c = 'C';
	int fd, opt, err;
	uint32_t id;

	bench_prog = "pmops";
	while ((opt = getopt(argc, argv, "a:p:l:r:n:t")) != -1) {
		switch (opt) {
		case 'a': server = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'l': local_text = optarg; break;
		case 'r': remote_text = optarg; break;
		case 'n': rounds = atol(optarg); break;
		case 't': by_token = true; break;
		default: die("usage: pmops -a SERVER -p PORT -l LOCAL -r REMOTE [-n ROUNDS]");
		}
	}
	if (!server || !port || !local_text || !remote_text || rounds < 1)
		die("usage: pmops -a SERVER -p PORT -l LOCAL -r REMOTE [-n ROUNDS]");
	open_s.v = calloc(rounds, sizeof(double));
	set_s.v = calloc(2 * rounds, sizeof(double));
	close_s.v = calloc(rounds, sizeof(double));
	if (!open_s.v || !set_s.v || !close_s.v)
		die("out of memory");

	len = parse_addr(server, port, &ss);
	parse_addr(local_text, 0, &local);
	parse_addr(remote_text, port, &remote);
	fd = mptcp_socket(ss.ss_family);
	set_io_timeout(fd);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect %s:%u: %s", server, port, strerror(errno));
	/* mptcp_stream's greeting: the connection is then fully established. */
	if (send(fd, &c, 1, 0) != 1 || recv(fd, &c, 1, 0) != 1)
		die("greeting: %s", strerror(errno));

	if (by_token && (err = subflow_conn_of_fd(fd, &cookie, &token)))
		die("subflow_conn_of_fd: %s", strerror(-err));

	/* The first call may load the iterator: timed alone. */
	t0 = now_ns();
	err = do_open(fd, token, &local, &remote, &id);
	first_ns = now_ns() - t0;
	if (err)
		die("subflow_open: %s", strerror(-err));
	if ((err = do_close(fd, token, id)))
		die("subflow_close: %s", strerror(-err));
	sleep_ms(20);

	for (long i = 0; i < rounds; i++) {
		t0 = now_ns();
		err = do_open(fd, token, &local, &remote, &id);
		if (err)
			die("round %ld: subflow_open: %s", i, strerror(-err));
		add(&open_s, now_ns() - t0);
		t0 = now_ns();
		if ((err = do_set(fd, token, id, true)))
			die("round %ld: subflow_set_backup: %s", i, strerror(-err));
		add(&set_s, now_ns() - t0);
		t0 = now_ns();
		if ((err = do_set(fd, token, id, false)))
			die("round %ld: subflow_set_backup: %s", i, strerror(-err));
		add(&set_s, now_ns() - t0);
		t0 = now_ns();
		if ((err = do_close(fd, token, id)))
			die("round %ld: subflow_close: %s", i, strerror(-err));
		add(&close_s, now_ns() - t0);
		/* Let the peer forget the closed subflow: a stock peer counts
		 * subflows against its limit until its worker has run. */
		sleep_ms(20);
	}
	printf("{");
	print_series("open", &open_s, false);
	print_series("set", &set_s, false);
	print_series("close", &close_s, false);
	printf("\"first_ms\": %.3f, \"rounds\": %ld, \"by\": \"%s\"}\n", first_ns / 1e6, rounds,
	       by_token ? "token" : "fd");
	shutdown(fd, SHUT_WR);
	close(fd);
	return 0;
}
