// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * opprof: the engine's sockops time per callback (see opprof.bpf.c).
 *
 *   opprof --cgroup CG [--cgroup CG]... --stage DIR
 *       attaches opprof_pre to each cgroup and creates DIR/pre; waits for
 *       DIR/go (the caller attaches the engine meanwhile, so that its
 *       programs come after opprof_pre), attaches opprof_post and creates
 *       DIR/ready; waits for DIR/stop, then prints one line per callback
 *       seen, summed over CPUs, and exits (its links detach with it):
 *           op NAME state S runs N ns T
 *       S is the new TCP state for STATE_CB, else "-". Every wait gives up
 *       after 10 minutes.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_common.h"
#include "opprof.skel.h"

#define MAX_CGROUPS 4
#define NR_OPS 16
#define NR_STATES 16
#define WAIT_MS (600 * 1000)

struct op_stat {
	uint64_t runs;
	uint64_t ns;
};

static const char *const op_names[NR_OPS] = {
	[1] = "TIMEOUT_INIT", [2] = "RWND_INIT", [3] = "TCP_CONNECT_CB",
	[4] = "ACTIVE_ESTABLISHED_CB", [5] = "PASSIVE_ESTABLISHED_CB", [6] = "NEEDS_ECN",
	[7] = "BASE_RTT", [8] = "RTO_CB", [9] = "RETRANS_CB", [10] = "STATE_CB",
	[11] = "TCP_LISTEN_CB", [12] = "RTT_CB", [13] = "PARSE_HDR_OPT_CB",
	[14] = "HDR_OPT_LEN_CB", [15] = "WRITE_HDR_OPT_CB",
};

static const char *const state_names[NR_STATES] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

static void stage(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

static void wait_stage(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		if (!stat(path, &st))
			return;
		sleep_ms(10);
	}
	die("no %s after %d s", path, WAIT_MS / 1000);
}

static struct bpf_link *attach(struct bpf_program *prog, const char *cgroup)
{
	int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct bpf_link *link;

	if (fd < 0)
		die("open %s: %s", cgroup, strerror(errno));
	link = bpf_program__attach_cgroup(prog, fd);
	if (!link)
		die("attach %s to %s: %s", bpf_program__name(prog), cgroup, strerror(errno));
	close(fd);
	return link;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "stage", required_argument, NULL, 's' },
		{}
	};
	struct bpf_link *pre[MAX_CGROUPS], *post[MAX_CGROUPS];
	const char *cgroups[MAX_CGROUPS], *dir = NULL;
	int nr_cgroups = 0, ncpus, c, i;
	struct opprof_bpf *skel;
	struct op_stat *percpu;

	bench_prog = "opprof";
	while ((c = getopt_long(argc, argv, "c:s:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (nr_cgroups == MAX_CGROUPS)
				die("at most %d --cgroup", MAX_CGROUPS);
			cgroups[nr_cgroups++] = optarg;
			break;
		case 's': dir = optarg; break;
		default:
			fprintf(stderr, "usage: opprof --cgroup CG [--cgroup CG]... --stage DIR\n");
			return 2;
		}
	}
	if (!nr_cgroups || !dir) {
		fprintf(stderr, "usage: opprof --cgroup CG [--cgroup CG]... --stage DIR\n");
		return 2;
	}
	skel = opprof_bpf__open_and_load();
	if (!skel)
		die("cannot load opprof.bpf.o: %s", strerror(errno));
	for (i = 0; i < nr_cgroups; i++)
		pre[i] = attach(skel->progs.opprof_pre, cgroups[i]);
	stage(dir, "pre");
	wait_stage(dir, "go");
	for (i = 0; i < nr_cgroups; i++)
		post[i] = attach(skel->progs.opprof_post, cgroups[i]);
	stage(dir, "ready");
	wait_stage(dir, "stop");
	for (i = 0; i < nr_cgroups; i++) {
		bpf_link__destroy(post[i]);
		bpf_link__destroy(pre[i]);
	}

	ncpus = libbpf_num_possible_cpus();
	percpu = calloc(ncpus > 0 ? ncpus : 1, sizeof(*percpu));
	if (ncpus <= 0 || !percpu)
		die("cannot size per-CPU values");
	for (uint32_t key = 0; key < NR_OPS * NR_STATES; key++) {
		uint64_t runs = 0, ns = 0;
		unsigned int op = key / NR_STATES, state = key % NR_STATES;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.op_stats), &key, percpu))
			die("read op_stats: %s", strerror(errno));
		for (int cpu = 0; cpu < ncpus; cpu++) {
			runs += percpu[cpu].runs;
			ns += percpu[cpu].ns;
		}
		if (!runs)
			continue;
		printf("op %s state %s runs %llu ns %llu\n",
		       op_names[op] ? op_names[op] : "UNKNOWN",
		       op == 10 ? (state_names[state] ? state_names[state] : "?") : "-",
		       (unsigned long long)runs, (unsigned long long)ns);
	}
	free(percpu);
	opprof_bpf__destroy(skel);
	return 0;
}
