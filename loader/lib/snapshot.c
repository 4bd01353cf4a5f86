// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Attach-time snapshot: run the iter/tcp program once in every network
 * namespace that the attached cgroup's processes use. A BPF iterator walks
 * the namespace of the thread that creates it: the namespace executor
 * (netns.c) runs it in each, the caller's own thread never changes
 * namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "internal.h"

#define MAX_NAMESPACES 4096

struct netns_set {
	ino_t ino[MAX_NAMESPACES];
	pid_t pid[MAX_NAMESPACES];	/* a process inside it; 0 = ourselves */
	size_t count;
};

static void netns_add(struct netns_set *set, pid_t pid)
{
	char path[64];
	struct stat st;

	/* thread-self: under `subflowctl -n`, this thread's namespace is not
	 * the main thread's. */
	snprintf(path, sizeof(path), pid ? "/proc/%d/ns/net" : "/proc/thread-self/ns/net", pid);
	if (stat(path, &st))
		return;	/* the process has exited */
	for (size_t i = 0; i < set->count; i++)
		if (set->ino[i] == st.st_ino)
			return;
	if (set->count == MAX_NAMESPACES)
		return;
	set->ino[set->count] = st.st_ino;
	set->pid[set->count] = pid;
	set->count++;
}

static __thread struct netns_set *walk_set;

static int add_procs_of(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char procs[PATH_MAX];
	FILE *f;
	int pid;

	if (type != FTW_D)
		return 0;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	f = fopen(procs, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1)
		netns_add(walk_set, pid);
	fclose(f);
	return 0;
}

static int run_iter(void *arg)
{
	int link_fd = *(int *)arg;
	char buf[256];
	ssize_t n;
	int fd;

	fd = bpf_iter_create(link_fd);
	if (fd < 0)
		return -errno;
	/* The program prints nothing; reading drives the walk to its end. */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Run the iterator in every namespace of the set; the last error, if any. */
static int iterate_all(const struct netns_set *set, int link_fd)
{
	int err, last = 0;

	for (size_t i = 0; i < set->count; i++) {
		err = set->pid[i] ? subflow_netns_run_pid(set->pid[i], run_iter, &link_fd)
				  : subflow_netns_run_fd(-1, run_iter, &link_fd);
		if (err == -ENOENT && set->pid[i])
			continue;	/* exited since: its sockets went with it or are elsewhere */
		if (err) {
			last = err;
			pr_warn("snapshot: iterator in the network namespace of pid %d failed: %s\n",
				set->pid[i] ? set->pid[i] : getpid(), strerror(-err));
		}
	}
	return last;
}

int subflow_snapshot_cgroup(const char *cgroup_path)
{
	uint64_t before[SUBFLOW_STAT_MAX], after[SUBFLOW_STAT_MAX];
	struct netns_set *set;
	int prog_fd = -1, link_fd = -1, err;

	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	netns_add(set, 0);	/* our own namespace first */
	walk_set = set;
	nftw(cgroup_path, add_procs_of, 32, FTW_PHYS | FTW_MOUNT);

	prog_fd = subflow_pin_get(PIN_PROG_SNAPSHOT);
	if (prog_fd < 0) {
		err = prog_fd;
		goto out;
	}
	link_fd = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, NULL);
	if (link_fd < 0) {
		err = -errno;
		pr_warn("snapshot: cannot create the iterator link: %s\n", strerror(-err));
		goto out;
	}
	if (subflow_get_stats(before))
		memset(before, 0, sizeof(before));
	err = iterate_all(set, link_fd);
	if (subflow_get_stats(after))
		memset(after, 0, sizeof(after));
	if (!err)
		err = (int)(after[SUBFLOW_STAT_SNAPSHOT_FOUND] - before[SUBFLOW_STAT_SNAPSHOT_FOUND]);
	pr_debug("snapshot of %s: %zu namespace(s), %d subflow(s)\n", cgroup_path, set->count, err);
out:
	if (link_fd >= 0)
		close(link_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	free(set);
	return err;
}
