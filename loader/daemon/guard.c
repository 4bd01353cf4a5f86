// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What keeps one path manager per network namespace:
 *   - a lock file of ours per namespace (/run/subflow/daemon-<cookie>.lock,
 *     flock'ed for the daemon's life, holding its pid): a second
 *     `subflowctl daemon` refuses and names the first;
 *   - for anyone else's path manager (mptcpd, or any program): a path
 *     manager must listen to the mptcp_pm_events group, so a process of this
 *     namespace holding a Generic Netlink socket subscribed to it is one
 *     (/proc/net/netlink lists each socket's groups and inode; the inode
 *     leads to the process). `ip mptcp monitor` subscribes too but manages
 *     nothing: it is not counted.
 * And the namespace's path manager setting: switched to "userspace" at
 * start, restored at exit; the value before is kept in a state file, so that
 * a daemon restarted after a crash still restores the original one.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon.h"

#define NETLINK_GENERIC_PROTO	16
#define PM_SYSCTL		"/proc/sys/net/mptcp/path_manager"
#define PM_TYPE_SYSCTL		"/proc/sys/net/mptcp/pm_type"	/* before Linux 6.15 */

static int lock_fd = -1;
static char lock_path[256];

/* ---- another path manager ------------------------------------------------------ */

/* The process that holds socket inode `ino`, or 0. */
static pid_t socket_owner(unsigned long ino)
{
	char want[64], link[64], path[PATH_MAX];
	struct dirent *de, *fe;
	DIR *proc, *fds;
	pid_t found = 0;

	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strcmp(link, want)) {
				found = atoi(de->d_name);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

static void read_proc_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* cmdline: arguments separated by NULs */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	while (n && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* `ip ... monitor` listens and decides nothing. */
static bool is_monitor(pid_t pid)
{
	char comm[64], cmdline[512];

	read_proc_file(pid, "comm", comm, sizeof(comm));
	read_proc_file(pid, "cmdline", cmdline, sizeof(cmdline));
	return !strcmp(comm, "ip") && strstr(cmdline, "monitor");
}

int guard_find_other_pm(uint32_t events_group, char *comm, size_t size)
{
	char line[512];
	pid_t self = getpid();
	FILE *f;

	if (!events_group || events_group > 32)
		return 0;	/* /proc/net/netlink shows the first 32 groups only */
	f = fopen("/proc/net/netlink", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long sk, groups, ino, proto;
		int fields;
		pid_t owner;

		fields = sscanf(line, "%lx %lu %*d %lx %*d %*d %*d %*d %*d %lu", &sk, &proto, &groups,
				&ino);
		if (fields != 4 || proto != NETLINK_GENERIC_PROTO)
			continue;
		if (!(groups & (1UL << (events_group - 1))))
			continue;
		owner = socket_owner(ino);
		if (!owner || owner == self || is_monitor(owner))
			continue;
		read_proc_file(owner, "comm", comm, size);
		fclose(f);
		return owner;
	}
	fclose(f);
	return 0;
}

/* ---- lock and state files ---------------------------------------------------------- */

static int open_run_file(const char *name, int flags, char *path, size_t size)
{
	int dir_fd, fd;

	snprintf(path, size, "%s/%s", SUBFLOW_RUN_DIR, name);
	dir_fd = subflow_open_run_dir(true, "daemon directory", SUBFLOW_LOG_ERROR);
	if (dir_fd < 0)
		return dir_fd;
	fd = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = -errno;
	close(dir_fd);
	return fd;
}

int guard_lock(uint64_t netns_cookie, pid_t *holder)
{
	char name[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "daemon-%llu.lock", (unsigned long long)netns_cookie);
	fd = open_run_file(name, O_RDWR | O_CREAT, lock_path, sizeof(lock_path));
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		*holder = atoi(buf);
		close(fd);
		return err;
	}
	if (ftruncate(fd, 0) == 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
		if (pwrite(fd, buf, n, 0) != n)
			pr_warn("cannot write our pid into %s\n", lock_path);
	}
	lock_fd = fd;
	return 0;
}

void guard_unlock(void)
{
	if (lock_fd < 0)
		return;
	/* Unlink while holding it: a newcomer then makes a new file. */
	unlink(lock_path);
	close(lock_fd);
	lock_fd = -1;
}

pid_t guard_daemon_pid(uint64_t netns_cookie)
{
	char name[64], path[256], buf[32];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "daemon-%llu.lock", (unsigned long long)netns_cookie);
	fd = open_run_file(name, O_RDONLY, path, sizeof(path));
	if (fd < 0)
		return 0;
	/* Locked means alive. */
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		close(fd);
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return atoi(buf);
}

int guard_notify_daemons(void)
{
	struct dirent *de;
	int dir_fd, count = 0;
	DIR *dir;

	dir_fd = subflow_open_run_dir(false, "daemon directory", SUBFLOW_LOG_DEBUG);
	if (dir_fd < 0)
		return 0;	/* none ever ran */
	dir = fdopendir(dir_fd);
	if (!dir) {
		close(dir_fd);
		return 0;
	}
	while ((de = readdir(dir))) {
		unsigned long long cookie;
		char tail[8];
		pid_t pid;

		if (sscanf(de->d_name, "daemon-%llu.%7s", &cookie, tail) != 2 || strcmp(tail, "lock"))
			continue;
		pid = guard_daemon_pid(cookie);
		if (pid > 0 && !kill(pid, SIGHUP))
			count++;
	}
	closedir(dir);
	return count;
}

/* ---- the namespace's path manager --------------------------------------------------- */

static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int write_text(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t len = strlen(value);

	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len)
		err = -errno;
	close(fd);
	return err;
}

/* "kernel" or "userspace", whichever knob this kernel has. */
static int pm_get(char *buf, size_t size)
{
	int err = read_text(PM_SYSCTL, buf, size);

	if (err == -ENOENT) {
		err = read_text(PM_TYPE_SYSCTL, buf, size);
		if (!err)
			snprintf(buf, size, "%s", atoi(buf) == 1 ? "userspace" : "kernel");
	}
	return err;
}

static int pm_set(const char *value)
{
	int err = write_text(PM_SYSCTL, value);

	if (err == -ENOENT)
		err = write_text(PM_TYPE_SYSCTL, !strcmp(value, "userspace") ? "1" : "0");
	return err;
}

static void state_name(uint64_t netns_cookie, char *name, size_t size)
{
	snprintf(name, size, "daemon-%llu.state", (unsigned long long)netns_cookie);
}

int guard_switch_pm(uint64_t netns_cookie, char *previous, size_t size)
{
	char name[64], path[256], saved[64];
	ssize_t n;
	int fd, err;

	state_name(netns_cookie, name, sizeof(name));
	err = pm_get(previous, size);
	if (err) {
		pr_err("cannot read net.mptcp.path_manager: %s\n", strerror(-err));
		return err;
	}
	/* A state file left by a daemon that did not exit cleanly holds the
	 * setting from before it: that is the one to restore. */
	fd = open_run_file(name, O_RDWR | O_CREAT, path, sizeof(path));
	if (fd < 0)
		return fd;
	n = pread(fd, saved, sizeof(saved) - 1, 0);
	if (n > 0) {
		saved[n] = '\0';
		saved[strcspn(saved, "\n")] = '\0';
		if (!strcmp(saved, "kernel") || !strcmp(saved, "userspace"))
			snprintf(previous, size, "%s", saved);
	} else {
		n = strlen(previous);
		if (pwrite(fd, previous, n, 0) != n) {
			err = -errno;
			close(fd);
			return err;
		}
		fsync(fd);
	}
	close(fd);
	err = pm_set("userspace");
	if (err)
		pr_err("cannot set net.mptcp.path_manager=userspace: %s\n", strerror(-err));
	return err;
}

int guard_restore_pm(uint64_t netns_cookie)
{
	char name[64], path[256], saved[64];
	ssize_t n;
	int fd, err;

	state_name(netns_cookie, name, sizeof(name));
	fd = open_run_file(name, O_RDONLY, path, sizeof(path));
	if (fd < 0)
		return fd;
	n = pread(fd, saved, sizeof(saved) - 1, 0);
	close(fd);
	if (n <= 0)
		return -ENODATA;
	saved[n] = '\0';
	saved[strcspn(saved, "\n")] = '\0';
	err = pm_set(saved);
	if (!err)
		unlink(path);
	return err;
}
