// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one network-namespace executor. Some work must happen inside a given
 * network namespace: a BPF iterator walks the namespace of the thread that
 * creates it (the attach snapshot, per-subflow operations), netlink talks to
 * the namespace of its socket, `subflowctl -n NETNS` runs a whole command
 * there. fn runs in a short-lived thread that entered the namespace with
 * setns(): only that thread changes namespace, never the caller's.
 *
 * While it runs, the caller's thread blocks every signal, and the worker
 * starts with the caller's signal mask: process-directed signals (SIGINT,
 * SIGCHLD) reach the thread doing the work, as they would have reached the
 * caller.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/nsfs.h>
#include <unistd.h>
#include "internal.h"

struct netns_job {
	int ns_fd;
	int (*fn)(void *);
	void *arg;
	sigset_t mask;
	int ret;
};

static void *netns_worker(void *p)
{
	struct netns_job *job = p;

	pthread_sigmask(SIG_SETMASK, &job->mask, NULL);
	if (job->ns_fd >= 0 && setns(job->ns_fd, CLONE_NEWNET)) {
		job->ret = -errno;
		return NULL;
	}
	job->ret = job->fn(job->arg);
	return NULL;
}

int subflow_netns_run_fd(int ns_fd, int (*fn)(void *), void *arg)
{
	struct netns_job job = { .ns_fd = ns_fd, .fn = fn, .arg = arg };
	pthread_t thread;
	sigset_t all;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &job.mask);
	err = pthread_create(&thread, NULL, netns_worker, &job);
	if (!err)
		pthread_join(thread, NULL);
	pthread_sigmask(SIG_SETMASK, &job.mask, NULL);
	return err ? -err : job.ret;
}

void subflow_netns_path(const char *name, char *buf, size_t size)
{
	/* A name, as `ip netns` makes them, or a path (/proc/PID/ns/net). */
	if (strchr(name, '/'))
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "/run/netns/%s", name);
}

int subflow_netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	subflow_netns_path(name, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Any file opens; only a network namespace can be entered (setns()
	 * would only say EINVAL). */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return -ENOTNAM;
	}
	return fd;
}

int subflow_netns_run_name(const char *name, int (*fn)(void *), void *arg)
{
	int fd = subflow_netns_open(name), err;
	char path[PATH_MAX];

	if (fd < 0) {
		subflow_netns_path(name, path, sizeof(path));
		pr_err("network namespace %s: %s%s%s\n", name, path,
		       fd == -ENOTNAM ? " is not a network namespace" : ": ",
		       fd == -ENOTNAM ? "" : strerror(-fd));
		return fd;
	}
	err = subflow_netns_run_fd(fd, fn, arg);
	close(fd);
	return err;
}

int subflow_netns_run_pid(pid_t pid, int (*fn)(void *), void *arg)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;	/* -ENOENT: the process has exited */
	err = subflow_netns_run_fd(fd, fn, arg);
	close(fd);
	return err;
}

/* An fd of the namespace whose inode is `ino`, from a file that names it:
 * our own thread's, a name under /run/netns, or a process's. -ENOENT if no
 * such file is found (the namespace is gone, or only a socket holds it). */
static int netns_fd_of_ino(ino_t ino)
{
	char path[PATH_MAX];
	struct dirent *ent;
	struct stat st;
	const char *const dirs[] = { "/run/netns", "/proc" };
	int fd = -ENOENT;
	DIR *dir;

	if (!stat("/proc/thread-self/ns/net", &st) && st.st_ino == ino) {
		fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	for (size_t d = 0; d < 2 && fd < 0; d++) {
		dir = opendir(dirs[d]);
		while (dir && fd < 0 && (ent = readdir(dir))) {
			if (ent->d_name[0] == '.')
				continue;
			if (d == 1 && (ent->d_name[0] < '0' || ent->d_name[0] > '9'))
				continue;	/* /proc: processes only */
			snprintf(path, sizeof(path), d ? "/proc/%s/ns/net" : "/run/netns/%s",
				 ent->d_name);
			if (!stat(path, &st) && st.st_ino == ino) {
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					fd = -ENOENT;	/* gone meanwhile: look on */
			}
		}
		if (dir)
			closedir(dir);
	}
	return fd;
}

int subflow_netns_run_ino(ino_t ino, int (*fn)(void *), void *arg)
{
	int fd = netns_fd_of_ino(ino), err;

	if (fd < 0) {
		pr_err("network namespace %lu: no process and no /run/netns name holds it\n",
		       (unsigned long)ino);
		return fd;
	}
	err = subflow_netns_run_fd(fd, fn, arg);
	close(fd);
	return err;
}
