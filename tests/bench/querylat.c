// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * querylat: how long a GET_SUB_IDS + GET_SUB_TUPLE query costs through
 * libsubflow, against the kernel's own MPTCP_FULL_INFO on the same socket,
 * with many MPTCP connections open; and what the engine's maps cost per
 * tracked subflow.
 *
 *   querylat server -a ADDR -p PORT [--ready-file FILE]
 *       accepts any number of connections and holds them open, echoing each
 *       byte it reads, until killed (epoll, one thread).
 *   querylat client -a ADDR -p PORT --steps N1,N2,... [--calls C] [--no-query]
 *       opens connections up to N1, measures, grows to N2, measures, ...
 *       then closes them all (with a reset, so no TIME_WAIT is left behind)
 *       and checks that the engine forgets them.
 *
 * One query, per method, for one connection (its fd picked round robin over
 * every open connection, so a larger table is really exercised):
 *   fullinfo       getsockopt(MPTCP_FULL_INFO): ids, addresses, tcp_info of
 *                  each subflow and mptcp_info (what an app calls today)
 *   fullinfo_addrs the same asking only for ids and addresses (optlen 40,
 *                  no tcp_info): the kernel's cheapest equivalent
 *   lib_fd         subflow_get_tuples(fd): every id and both addresses at
 *                  once (one MPTCP_FULL_INFO call inside)
 *   lib_fd_ids     subflow_get_ids(fd) alone
 *   lib_fd_tuple   subflow_get_tuple(fd, id) alone, for the first id
 *   lib_fd_each    subflow_get_ids(fd) + subflow_get_tuple(fd, id) per id
 *                  (1 + subflows calls: what the draft's two options cost)
 *   lib_token      subflow_get_tuples_by_token(netns cookie, token): what a
 *                  tool that does not own the socket calls (it never
 *                  touches the fd); one read of the connection's entry
 *   lib_token_each subflow_get_ids_by_token() + subflow_get_tuple_by_token()
 *                  per id (1 + subflows reads)
 *   lib_token_ns0  lib_token with netns_cookie 0 ("the caller's namespace")
 * and, to show where the library's time goes, its two building blocks:
 *   conn_of_fd     subflow_conn_of_fd() alone (the fd -> key step of the
 *                  maps' path, on kernels without MPTCP_FULL_INFO)
 *   current_netns  subflow_current_netns() alone (what netns_cookie 0 costs)
 * Methods run in alternating batches of --batch calls; the result is the
 * median over batches of ns per query.
 *
 * Output, one fact per line, "key value" pairs for the bench script:
 *   step conns N joined J open_secs S
 *   check conns N compared C mismatches M
 *   query conns N method NAME ns X errors E
 *   mem conns N conn_entries A subflow_entries B memlock_conns C memlock_subflows D
 *       slab_kb E slab_used_kb F   (Slab of /proc/meminfo; objects in use, /proc/slabinfo)
 *   leftover conn_entries A subflow_entries B
 */
#define _GNU_SOURCE	/* accept4 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include "subflow.h"
#include "bench_common.h"
#include "mptcp_compat.h"

/* MPTCP_FULL_INFO and its structs: include/mptcp_compat.h. */
_Static_assert(offsetof(struct mptcp_full_info, mptcp_info) == 40, "mptcp_full_info header");

#define MAX_SUBFLOWS	8
#define OPEN_BATCH	250	/* connections opened before waiting for their joins */
#define JOIN_WAIT_MS	5000	/* per batch */
#define OPEN_DEADLINE_S	120	/* for all the connections of one run */
#define FORGET_WAIT_MS	5000

struct options {
	const char *mode;
	const char *addr;
	unsigned int port;
	const char *ready_file;
	const char *steps;
	long calls;
	long batch;
	int no_query;
};

struct conn {
	int fd;
	uint32_t token;
	uint32_t first_id;	/* the kernel's first subflow id (check_answers) */
	uint64_t netns_cookie;
};

static struct conn *conns;
static size_t nr_conns;

static void usage(void)
{
	fprintf(stderr,
		"usage: querylat server -a ADDR -p PORT [--ready-file FILE]\n"
		"       querylat client -a ADDR -p PORT --steps N1,N2,... [--calls C] [--batch B]\n"
		"                       [--no-query]\n");
	exit(2);
}

/* ---- Server: hold every connection, echo bytes ----------------------------- */

static void run_server(const struct options *o)
{
	struct epoll_event ev = { .events = EPOLLIN }, events[256];
	int lfd = mptcp_listen(o->addr, o->port), ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[64];

	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	if (fcntl(lfd, F_SETFL, O_NONBLOCK))
		die("fcntl(O_NONBLOCK): %s", strerror(errno));
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll_ctl: %s", strerror(errno));
	write_ready_file(o->ready_file);
	for (;;) {
		int n = epoll_wait(ep, events, 256, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					ev.data.fd = fd;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
						die("epoll_ctl: %s", strerror(errno));
				}
				if (errno != EAGAIN && errno != ECONNABORTED)
					die("accept: %s", strerror(errno));
				continue;
			}
			ssize_t got = read(fd, buf, sizeof(buf));

			if (got > 0)
				(void)!write(fd, buf, 1);
			else if (got == 0 || errno != EAGAIN)
				close(fd);	/* also removes it from the epoll set */
		}
	}
}

/* ---- Client: connections -------------------------------------------------- */

/* Extra subflows of the connection (mptcpi_subflows: 1 means 2 in all), or -1. */
static int extra_subflows(int fd)
{
	struct mptcp_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len))
		return -1;
	return info.mptcpi_subflows;
}

/* Open one connection and exchange a byte each way: on the client the path
 * manager adds the join only once the connection is fully established. */
static int open_one(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = mptcp_socket(ss->ss_family);
	char byte = 'q';

	set_io_timeout(fd);
	if (connect(fd, (const struct sockaddr *)ss, len))
		die("connect #%zu: %s", nr_conns + 1, strerror(errno));
	if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1)
		die("exchange on connection #%zu: %s", nr_conns + 1,
		    errno ? strerror(errno) : "EOF");
	return fd;
}

/* Wait (bounded) until conns[from..nr_conns) all have their join subflow.
 * Returns how many still lack it. */
static size_t wait_joins(size_t from)
{
	uint64_t deadline = now_ns() + JOIN_WAIT_MS * 1000000ULL;
	size_t missing;

	for (;;) {
		missing = 0;
		for (size_t i = from; i < nr_conns; i++)
			if (extra_subflows(conns[i].fd) < 1)
				missing++;
		if (!missing || now_ns() > deadline)
			return missing;
		sleep_ms(10);
	}
}

/* Grow to `target` connections, in batches, each batch waiting for its
 * joins so that the path manager's work does not pile up unbounded. */
static void open_conns(const struct options *o, size_t target, uint64_t run_deadline)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(o->addr, o->port, &ss);
	size_t joined = 0, unjoined = 0, from;
	uint64_t start = now_ns();

	while (nr_conns < target) {
		from = nr_conns;
		while (nr_conns < target && nr_conns - from < OPEN_BATCH) {
			conns[nr_conns].fd = open_one(&ss, len);
			nr_conns++;
		}
		unjoined += wait_joins(from);
		if (now_ns() > run_deadline)
			die("opening %zu connections took more than %d s (%zu open)", target,
			    OPEN_DEADLINE_S, nr_conns);
	}
	for (size_t i = 0; i < nr_conns; i++)
		if (extra_subflows(conns[i].fd) >= 1)
			joined++;
	(void)unjoined;
	printf("step conns %zu joined %zu open_secs %.2f\n", nr_conns, joined,
	       (now_ns() - start) / 1e9);
	fflush(stdout);
}

/* Close everything with a reset (SO_LINGER 0): the benchmark is done, and
 * thousands of TIME_WAIT subflows would only disturb what runs next. */
static void close_conns(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (size_t i = 0; i < nr_conns; i++) {
		setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(conns[i].fd);
	}
	nr_conns = 0;
}

/* ---- The queries ----------------------------------------------------------- */

static struct mptcp_subflow_info sfinfo[MAX_SUBFLOWS];
static struct tcp_info tcpinfo[MAX_SUBFLOWS];

/* MPTCP_FULL_INFO; with_tcp_info false asks for ids and addresses only. */
static int query_fullinfo(int fd, int with_tcp_info, uint32_t *nr)
{
	struct mptcp_full_info full;
	socklen_t len = with_tcp_info ? sizeof(full) : offsetof(struct mptcp_full_info, mptcp_info);

	memset(&full, 0, offsetof(struct mptcp_full_info, mptcp_info));
	full.size_sfinfo_user = sizeof(sfinfo[0]);
	full.size_tcpinfo_user = with_tcp_info ? sizeof(tcpinfo[0]) : 0;
	full.size_arrays_user = MAX_SUBFLOWS;
	full.subflow_info = (__u64)(unsigned long)sfinfo;
	full.tcp_info = (__u64)(unsigned long)tcpinfo;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &full, &len))
		return -errno;
	*nr = full.num_subflows;
	return 0;
}

static struct subflow_tuple tuples[MAX_SUBFLOWS];

static int query_lib_fd(int fd, size_t *nr)
{
	return subflow_get_tuples(fd, tuples, MAX_SUBFLOWS, nr);
}

static int query_lib_fd_each(int fd, uint32_t *ids, size_t *nr)
{
	struct sockaddr_storage local, remote;
	int err = subflow_get_ids(fd, ids, MAX_SUBFLOWS, nr);

	for (size_t i = 0; !err && i < *nr && i < MAX_SUBFLOWS; i++)
		err = subflow_get_tuple(fd, ids[i], &local, &remote);
	return err;
}

static int query_lib_fd_tuple(int fd, uint32_t id)
{
	struct sockaddr_storage local, remote;

	return subflow_get_tuple(fd, id, &local, &remote);
}

static int query_lib_token(uint64_t cookie, uint32_t token, size_t *nr)
{
	return subflow_get_tuples_by_token(cookie, token, tuples, MAX_SUBFLOWS, nr);
}

static int query_lib_token_each(uint64_t cookie, uint32_t token, uint32_t *ids, size_t *nr)
{
	struct sockaddr_storage local, remote;
	int err = subflow_get_ids_by_token(cookie, token, ids, MAX_SUBFLOWS, nr);

	for (size_t i = 0; !err && i < *nr && i < MAX_SUBFLOWS; i++)
		err = subflow_get_tuple_by_token(cookie, token, ids[i], &local, &remote);
	return err;
}

enum method {
	M_FULLINFO, M_FULLINFO_ADDRS, M_LIB_FD, M_LIB_FD_IDS, M_LIB_FD_TUPLE, M_LIB_FD_EACH,
	M_LIB_TOKEN, M_LIB_TOKEN_EACH, M_LIB_TOKEN_NS0, M_CONN_OF_FD, M_CURRENT_NETNS, M__COUNT
};
static const char *const method_names[M__COUNT] = {
	"fullinfo", "fullinfo_addrs", "lib_fd", "lib_fd_ids", "lib_fd_tuple", "lib_fd_each",
	"lib_token", "lib_token_each", "lib_token_ns0", "conn_of_fd", "current_netns",
};

static int run_query(enum method m, const struct conn *c)
{
	uint32_t ids[MAX_SUBFLOWS], n32, token;
	uint64_t cookie;
	size_t n;

	switch (m) {
	case M_FULLINFO:	return query_fullinfo(c->fd, 1, &n32);
	case M_FULLINFO_ADDRS:	return query_fullinfo(c->fd, 0, &n32);
	case M_LIB_FD:		return query_lib_fd(c->fd, &n);
	case M_LIB_FD_IDS:	return subflow_get_ids(c->fd, ids, MAX_SUBFLOWS, &n);
	case M_LIB_FD_TUPLE:	return query_lib_fd_tuple(c->fd, c->first_id);
	case M_LIB_FD_EACH:	return query_lib_fd_each(c->fd, ids, &n);
	case M_LIB_TOKEN:	return query_lib_token(c->netns_cookie, c->token, &n);
	case M_LIB_TOKEN_EACH:	return query_lib_token_each(c->netns_cookie, c->token, ids, &n);
	case M_LIB_TOKEN_NS0:	return query_lib_token(0, c->token, &n);
	case M_CONN_OF_FD:	return subflow_conn_of_fd(c->fd, &cookie, &token);
	case M_CURRENT_NETNS:	return subflow_current_netns(&cookie);
	default:		return -EINVAL;
	}
}

/* The engine must give the kernel's answer: same ids as MPTCP_FULL_INFO. */
static void check_answers(void)
{
	size_t mismatches = 0;

	for (size_t i = 0; i < nr_conns; i++) {
		uint32_t ids[MAX_SUBFLOWS], kernel_ids[MAX_SUBFLOWS], nr_kernel;
		size_t nr = 0, j, k;
		int err;

		err = subflow_conn_of_fd(conns[i].fd, &conns[i].netns_cookie, &conns[i].token);
		if (err)
			die("subflow_conn_of_fd: %s", strerror(-err));
		if (query_fullinfo(conns[i].fd, 0, &nr_kernel))
			die("MPTCP_FULL_INFO: %s", strerror(errno));
		for (j = 0; j < nr_kernel && j < MAX_SUBFLOWS; j++)
			kernel_ids[j] = sfinfo[j].id;
		conns[i].first_id = nr_kernel ? kernel_ids[0] : 0;
		err = query_lib_fd(conns[i].fd, &nr);
		for (j = 0; !err && j < nr && j < MAX_SUBFLOWS; j++)
			ids[j] = tuples[j].id;
		if (err || nr != nr_kernel) {
			mismatches++;
			continue;
		}
		for (j = 0; j < nr && j < MAX_SUBFLOWS; j++) {
			for (k = 0; k < nr_kernel && kernel_ids[k] != ids[j]; k++)
				;
			if (k == nr_kernel)
				break;
		}
		if (j < nr && j < MAX_SUBFLOWS)
			mismatches++;
	}
	printf("check conns %zu compared %zu mismatches %zu\n", nr_conns, nr_conns, mismatches);
}

static void measure(const struct options *o)
{
	long nr_batches = o->calls / o->batch;
	double *samples[M__COUNT];
	long errors[M__COUNT] = {};
	size_t next[M__COUNT] = {};

	for (int m = 0; m < M__COUNT; m++) {
		samples[m] = calloc(nr_batches, sizeof(double));
		if (!samples[m])
			die("out of memory");
	}
	/* Warm up every path (map fds opened, caches filled) before timing. */
	for (int m = 0; m < M__COUNT; m++)
		for (size_t i = 0; i < nr_conns && i < 100; i++)
			run_query(m, &conns[i]);
	for (long b = 0; b < nr_batches; b++) {
		for (int m = 0; m < M__COUNT; m++) {
			uint64_t start = now_ns();

			for (long j = 0; j < o->batch; j++) {
				if (run_query(m, &conns[next[m]]))
					errors[m]++;
				if (++next[m] == nr_conns)
					next[m] = 0;
			}
			samples[m][b] = (double)(now_ns() - start) / o->batch;
		}
	}
	for (int m = 0; m < M__COUNT; m++) {
		printf("query conns %zu method %s ns %.0f errors %ld\n", nr_conns, method_names[m],
		       median(samples[m], nr_batches), errors[m]);
		free(samples[m]);
	}
	fflush(stdout);
}

/* ---- Memory ------------------------------------------------------------------ */

/* Bytes of slab objects in use, summed over every cache of /proc/slabinfo:
 * unlike Slab in /proc/meminfo (whole pages), it does not hide new objects
 * in pages that earlier frees left partly empty. */
static long long slab_used_kb(void)
{
	char line[512], name[64];
	unsigned long long active, total, size, bytes = 0;
	FILE *f = fopen("/proc/slabinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu %llu %llu", name, &active, &total, &size) == 4)
			bytes += active * size;
	fclose(f);
	return bytes / 1024;
}

static long long slab_kb(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* bytes_memlock of a map, as bpftool shows it: the kernel's own account of
 * the map's memory (for a BPF_F_NO_PREALLOC hash it grows per element). */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long bytes = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

static long long map_entries(int fd, size_t key_size)
{
	unsigned char key[64], next[64];
	long long n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static int open_pinned(const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", subflow_pin_dir(), name);
	return bpf_obj_get(path);	/* -1 when the engine is not loaded */
}

/* The subflows the connection table holds: each connection's count (its
 * first ones inline, the others in subflow_overflow). */
static long long tracked_subflows(int fd)
{
	struct subflow_conn_key key, next;
	struct subflow_conn c;
	long long n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem_flags(fd, &key, &c, BPF_F_LOCK))
			n += c.nr_subflows;
	}
	return n;
}

/* memlock_subflows: the overflow table's (the inline subflows are in
 * memlock_conns). */
struct map_usage {
	long long conn_entries, subflow_entries, memlock_conns, memlock_subflows;
};

static struct map_usage map_usage(void)
{
	struct map_usage u = { -1, -1, -1, -1 };
	int cfd = open_pinned("conns"), sfd = open_pinned("subflow_overflow");

	if (cfd >= 0) {
		u.conn_entries = map_entries(cfd, sizeof(struct subflow_conn_key));
		u.subflow_entries = tracked_subflows(cfd);
		u.memlock_conns = map_memlock(cfd);
		close(cfd);
	}
	if (sfd >= 0) {
		u.memlock_subflows = map_memlock(sfd);
		close(sfd);
	}
	return u;
}

static void print_mem(void)
{
	struct map_usage u = map_usage();

	printf("mem conns %zu conn_entries %lld subflow_entries %lld memlock_conns %lld "
	       "memlock_subflows %lld slab_kb %lld slab_used_kb %lld\n", nr_conns, u.conn_entries,
	       u.subflow_entries, u.memlock_conns, u.memlock_subflows, slab_kb(), slab_used_kb());
	fflush(stdout);
}

/* After every connection closed, the engine's entries for them must go. */
static void check_forgotten(void)
{
	uint64_t deadline = now_ns() + FORGET_WAIT_MS * 1000000ULL;
	struct map_usage u;

	do {
		sleep_ms(50);
		u = map_usage();
	} while ((u.conn_entries > 0 || u.subflow_entries > 0) && now_ns() < deadline);
	printf("leftover conn_entries %lld subflow_entries %lld\n", u.conn_entries,
	       u.subflow_entries);
}

static void run_client(const struct options *o)
{
	uint64_t deadline = now_ns() + OPEN_DEADLINE_S * 1000000000ULL;
	size_t steps[16], nr_steps = 0, max = 0;
	char *copy = strdup(o->steps), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok && nr_steps < 16; tok = strtok_r(NULL, ",", &save)) {
		steps[nr_steps] = strtoul(tok, NULL, 10);
		if (!steps[nr_steps] || (nr_steps && steps[nr_steps] <= steps[nr_steps - 1]))
			die("--steps must be increasing positive counts: %s", o->steps);
		max = steps[nr_steps++];
	}
	free(copy);
	if (!nr_steps)
		usage();
	raise_nofile(max + 64);
	conns = calloc(max, sizeof(*conns));
	if (!conns)
		die("out of memory");

	print_mem();
	for (size_t s = 0; s < nr_steps; s++) {
		open_conns(o, steps[s], deadline);
		print_mem();
		if (o->no_query)
			continue;
		check_answers();
		measure(o);
	}
	close_conns();
	check_forgotten();
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "steps", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "no-query", no_argument, NULL, 'n' },
		{}
	};
	struct options o = { .calls = 20000, .batch = 100 };
	int c;

	bench_prog = "querylat";
	if (argc < 2)
		usage();
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:r:s:c:b:n", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = strtoul(optarg, NULL, 10); break;
		case 'r': o.ready_file = optarg; break;
		case 's': o.steps = optarg; break;
		case 'c': o.calls = strtol(optarg, NULL, 10); break;
		case 'b': o.batch = strtol(optarg, NULL, 10); break;
		case 'n': o.no_query = 1; break;
		default: usage();
		}
	}
	if (!o.addr || !o.port || o.calls < 1 || o.batch < 1 || o.calls < o.batch)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "server")) {
		raise_nofile(10000 + 1024);	/* the largest step, and a margin */
		run_server(&o);
	} else if (!strcmp(o.mode, "client")) {
		if (!o.steps)
			usage();
		run_client(&o);
	} else {
		usage();
	}
	return 0;
}
