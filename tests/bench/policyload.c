// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * policyload: how long a policy load takes to be in force.
 *
 *   policyload --cgroup CGROUP [--netns NAME] [-n LOADS] [--dev1 IF --dev2 IF]
 *              [--verify ADDR -p PORT [--verify-count V]]
 *
 * subflow_policy_load_text() parses, compiles (dev selectors resolved in the
 * caller's network namespace: --netns enters /run/netns/NAME first), fills
 * the spare image map (or makes one) and swaps cgroup_policy to it: from
 * that update on, the next subflow of the cgroup is decided by the new
 * policy. Then, when its spares run low (one load in three), it puts them
 * back in `policies` in one batch, which waits for an RCU grace period, and
 * returns. So "in force" is when a watcher thread, reading
 * the pinned cgroup_policy as a BPF program would, sees the new generation;
 * the call's own duration is reported too.
 *
 * Timed pass: LOADS times, a 64-rule and a 1-rule policy, each alternating
 * between two different versions (A, B) so that every load really replaces
 * the policy in force; which size goes first alternates too. Prints
 *   "inforce rules R calls N median_ms M p95_ms P max_ms X"  (R = 64 and 1)
 *   "load rules R calls N median_ms M p95_ms P max_ms X"     (the call)
 *   "parse rules R calls N median_ms M p95_ms P"          (parser alone)
 * Verification pass (--verify, not timed): after each of V loads, at once,
 * one MPTCP connection to ADDR:PORT (a connrate server), then the SO_MARK of
 * its initial subflow, read with subflow_getsockopt(): each policy version
 * marks the Wi-Fi path (--dev1) with its own value, so a stale policy shows.
 * This process must then be in the cgroup. Prints
 *   "verify loads V ok K stale S"
 * and at the end "loads_total T": how many loads succeeded (each one gives
 * the cgroup a new policy generation; the script checks that).
 */
#define _GNU_SOURCE	/* setns */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <subflow.h>
#include <subflow_abi.h>
#include <subflow_policy.h>
#include "bench_common.h"

#define MAX_TEXT 8192

struct options {
	const char *cgroup;
	const char *netns;
	const char *dev1, *dev2;
	const char *verify_addr;
	unsigned int port;
	unsigned int loads;
	unsigned int verify_count;
};

static unsigned long loads_total;

static void usage(void)
{
	fprintf(stderr,
		"usage: policyload --cgroup CGROUP [--netns NAME] [-n LOADS] [--dev1 IF --dev2 IF]\n"
		"                  [--verify ADDR -p PORT [--verify-count V]]\n");
	exit(2);
}

/* A policy of `rules` rules whose last rule(s) match: the others test a
 * destination no connection of the bench uses, so every rule is evaluated.
 * version picks the never-matching prefixes and the Wi-Fi mark. */
static size_t make_policy(char *buf, size_t size, const struct options *o, unsigned int rules,
			  int version, unsigned int wifi_mark)
{
	size_t n = 0;
	unsigned int i, filler = rules > 2 ? rules - 2 : 0;

	n += snprintf(buf + n, size - n, "# policyload %u rules, version %c\n"
		      "path wifi dev %s\npath lte dev %s\n", rules, 'A' + version, o->dev1, o->dev2);
	for (i = 1; i <= filler; i++)
		n += snprintf(buf + n, size - n, "rule dst %s.%u/32 mark 1\n",
			      version ? "198.51.100" : "192.0.2", i);
	n += snprintf(buf + n, size - n, "rule path wifi mark 0x%x\n", wifi_mark);
	if (rules >= 2)
		n += snprintf(buf + n, size - n, "rule path lte mark 0x20\n");
	if (n >= size)
		die("policy text too long");
	return n;
}

struct policy_text {
	unsigned int rules;
	unsigned int mark;	/* of the Wi-Fi path */
	char name[32];
	size_t len;
	char text[MAX_TEXT];
};

static void load(const struct options *o, const struct policy_text *p)
{
	struct subflow_policy_errors errs = {};
	int err;

	err = subflow_policy_load_text(o->cgroup, p->text, p->len, p->name, &errs);
	if (err) {
		for (unsigned int i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.items[i].text);
		subflow_policy_errors_free(&errs);
		die("load %s into %s: %s", p->name, o->cgroup, strerror(-err));
	}
	subflow_policy_errors_free(&errs);
	loads_total++;
}

/* The watcher: reads cgroup_policy[cgroup] in a loop while a load is armed,
 * and stamps the moment the generation changes. */
static struct {
	int map_fd;
	uint64_t cgroup_id;
	_Atomic uint64_t armed_generation;	/* the one before the load; 0: idle */
	_Atomic uint64_t seen_ns;
	_Atomic bool stop;
} watch;

static uint64_t generation_now(void)
{
	struct subflow_cgroup_policy cp = {};

	if (bpf_map_lookup_elem(watch.map_fd, &watch.cgroup_id, &cp))
		return 0;
	return cp.generation;
}

static void *watcher(void *arg)
{
	(void)arg;
	while (!atomic_load(&watch.stop)) {
		uint64_t before = atomic_load(&watch.armed_generation);

		if (!before || atomic_load(&watch.seen_ns))
			continue;
		if (generation_now() != before)
			atomic_store(&watch.seen_ns, now_ns());
	}
	return NULL;
}

static void watch_init(const char *cgroup)
{
	const char *dir = getenv("SUBFLOW_PIN_DIR");
	char path[512];
	struct stat st;
	pthread_t t;

	snprintf(path, sizeof(path), "%s/cgroup_policy", dir && *dir ? dir : "/sys/fs/bpf/subflow");
	watch.map_fd = bpf_obj_get(path);
	if (watch.map_fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (stat(cgroup, &st))
		die("stat %s: %s", cgroup, strerror(errno));
	watch.cgroup_id = st.st_ino;	/* a cgroup v2 directory's inode is its id */
	if (pthread_create(&t, NULL, watcher, NULL))
		die("pthread_create");
	pthread_detach(t);
}

/* One timed load: its time to in force and the call's, in ms. */
static void timed_load(const struct options *o, const struct policy_text *p, double *inforce_ms,
		       double *call_ms)
{
	uint64_t t0, before = generation_now();

	if (!before)
		die("cgroup %s has no policy to replace", o->cgroup);
	atomic_store(&watch.seen_ns, 0);
	t0 = now_ns();
	atomic_store(&watch.armed_generation, before);
	load(o, p);
	*call_ms = (now_ns() - t0) / 1e6;
	/* The swap happened inside the call: the watcher sees it at once. */
	for (unsigned int spin = 0; !atomic_load(&watch.seen_ns) && spin < 100000; spin++)
		usleep(10);
	atomic_store(&watch.armed_generation, 0);
	if (!atomic_load(&watch.seen_ns))
		die("the watcher never saw generation %llu replaced", (unsigned long long)before);
	*inforce_ms = (atomic_load(&watch.seen_ns) - t0) / 1e6;
}

static double percentile(double *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return 0;
	median(v, n);	/* sorts */
	k = (size_t)(q * n + 0.999999);
	return v[k ? k - 1 : 0];
}

static void report(const char *what, unsigned int rules, double *ms, size_t n, bool with_max)
{
	double p95 = percentile(ms, n, 0.95), max = ms[n - 1];

	printf("%s rules %u calls %zu median_ms %.3f p95_ms %.3f", what, rules, n,
	       median(ms, n), p95);
	if (with_max)
		printf(" max_ms %.3f", max);
	printf("\n");
}

/* The SO_MARK of the initial subflow of a new connection to ADDR:PORT. */
static uint64_t mark_of_new_connection(const struct options *o)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(o->verify_addr, o->port, &ss);
	struct subflow_sockopt_value v = {};
	uint32_t token, ids[8];
	uint64_t cookie;
	size_t count;
	char byte = 'x';
	int fd, err;

	fd = mptcp_socket(ss.ss_family);
	set_io_timeout(fd);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect %s:%u: %s", o->verify_addr, o->port, strerror(errno));
	err = subflow_conn_of_fd(fd, &cookie, &token);
	if (!err)
		err = subflow_get_ids(fd, ids, 8, &count);
	if (err)
		die("the engine does not track the new connection (is this process in %s?): %s",
		    o->cgroup, strerror(-err));
	if (!count)
		die("the new connection has no subflow");
	err = subflow_getsockopt(token, ids[0], SUBFLOW_SOCKOPT_MARK, &v);
	if (err)
		die("subflow_getsockopt(token %u id %u, mark): %s", token, ids[0], strerror(-err));
	if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1)
		die("exchange with %s:%u: %s", o->verify_addr, o->port, strerror(errno));
	close(fd);
	return v.value;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "netns", required_argument, NULL, 'N' },
		{ "loads", required_argument, NULL, 'n' },
		{ "dev1", required_argument, NULL, '1' },
		{ "dev2", required_argument, NULL, '2' },
		{ "verify", required_argument, NULL, 'v' },
		{ "port", required_argument, NULL, 'p' },
		{ "verify-count", required_argument, NULL, 'V' },
		{}
	};
	struct options o = { .dev1 = "c1", .dev2 = "c2", .loads = 200, .verify_count = 40 };
	/* [size][version]: size 0 = 64 rules, 1 = 1 rule. */
	static struct policy_text pol[2][2];
	static const unsigned int sizes[2] = { 64, 1 };
	double *ms[2], *inforce[2], *parse_ms;
	uint64_t t0;
	unsigned int i, s, v;
	int c;

	bench_prog = "policyload";
	while ((c = getopt_long(argc, argv, "c:N:n:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.cgroup = optarg; break;
		case 'N': o.netns = optarg; break;
		case 'n': o.loads = strtoul(optarg, NULL, 10); break;
		case '1': o.dev1 = optarg; break;
		case '2': o.dev2 = optarg; break;
		case 'v': o.verify_addr = optarg; break;
		case 'p': o.port = strtoul(optarg, NULL, 10); break;
		case 'V': o.verify_count = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!o.cgroup || !o.loads || optind != argc || (o.verify_addr && !o.port))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (o.netns) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s", o.netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			die("enter network namespace %s: %s", path, strerror(errno));
		close(fd);
	}

	for (s = 0; s < 2; s++)
		for (v = 0; v < 2; v++) {
			struct policy_text *p = &pol[s][v];

			p->rules = sizes[s];
			p->mark = 0x40 + 0x10 * s + v;	/* distinct for all four */
			snprintf(p->name, sizeof(p->name), "policy-%u%c", p->rules, 'A' + v);
			p->len = make_policy(p->text, sizeof(p->text), &o, p->rules, v, p->mark);
		}

	for (s = 0; s < 2; s++) {
		ms[s] = calloc(o.loads, sizeof(double));
		inforce[s] = calloc(o.loads, sizeof(double));
		if (!ms[s] || !inforce[s])
			die("out of memory");
	}
	parse_ms = calloc(o.loads, sizeof(double));
	if (!parse_ms)
		die("out of memory");

	/* Warm up: the first call opens the pinned maps (and leaves a spare). */
	load(&o, &pol[1][1]);
	watch_init(o.cgroup);

	/* Timed: A64 A1 | B1 B64 | A64 A1 | ...: every load replaces a
	 * different policy, and each size goes first half of the time. */
	for (i = 0; i < o.loads; i++) {
		v = i % 2;
		for (unsigned int k = 0; k < 2; k++) {
			s = v ? 1 - k : k;
			timed_load(&o, &pol[s][v], &inforce[s][i], &ms[s][i]);
		}
	}
	/* The parser alone (the public API), for the breakdown. */
	for (i = 0; i < o.loads; i++) {
		struct subflow_policy *parsed = malloc(sizeof(*parsed));

		if (!parsed)
			die("out of memory");
		t0 = now_ns();
		if (subflow_policy_parse(pol[0][i % 2].text, pol[0][i % 2].len, "parse", parsed, NULL))
			die("parse failed");
		parse_ms[i] = (now_ns() - t0) / 1e6;
		subflow_policy_free(parsed);
		free(parsed);
	}
	atomic_store(&watch.stop, true);
	report("inforce", 64, inforce[0], o.loads, true);
	report("inforce", 1, inforce[1], o.loads, true);
	report("load", 64, ms[0], o.loads, true);
	report("load", 1, ms[1], o.loads, true);
	report("parse", 64, parse_ms, o.loads, false);

	if (o.verify_addr) {
		unsigned int ok = 0, stale = 0;
		uint64_t mark;

		/* Prime: the first getsockopt loads its iterator program. */
		(void)mark_of_new_connection(&o);
		for (i = 0; i < o.verify_count; i++) {
			const struct policy_text *p = &pol[i % 2][(i / 2) % 2];

			load(&o, p);
			mark = mark_of_new_connection(&o);
			if (mark == p->mark) {
				ok++;
			} else {
				stale++;
				fprintf(stderr, "policyload: after loading %s the next subflow has "
					"mark 0x%llx, expected 0x%x\n", p->name,
					(unsigned long long)mark, p->mark);
			}
		}
		printf("verify loads %u ok %u stale %u\n", o.verify_count, ok, stale);
	}
	printf("loads_total %lu\n", loads_total);
	return 0;
}
