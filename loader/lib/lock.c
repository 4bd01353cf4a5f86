// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock that serialises changes (load, attach, detach, policy, unload)
 * between processes using one pin directory.
 *
 * It is a file in /run/subflow (a root-only directory we create and check),
 * named after the pin directory, and not the pin directory itself: unload
 * removes the pin directory, and a lock on a directory that is gone
 * excludes nobody (the next process locks the new one); and on a mode 1777
 * /sys/fs/bpf anyone could flock() a directory there and stall us. The lock
 * file stays after unload for the same reason: removing a lock file others
 * may be waiting on breaks the exclusion.
 *
 * Waiting is bounded (SUBFLOW_LOCK_TIMEOUT_MS, default 30 s: loading the
 * engine verifies every program, which takes seconds on a busy machine); a timeout
 * names the lock file and the process holding it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

#define LOCK_TIMEOUT_MS_DEFAULT 30000

/* "/sys/fs/bpf/subflow" -> "sys-fs-bpf-subflow.lock": '/' becomes '-', and
 * every byte but [A-Za-z0-9_.-] becomes \xNN. ("a-b" and "a/b" share a lock
 * file: that serialises a little more, and excludes as it must.) */
int subflow_lock_file_name(const char *pin_dir, char *buf, size_t size)
{
	size_t n = 0;
	const char *p = pin_dir;
	int w;

	while (*p == '/')
		p++;
	for (; *p; p++) {
		unsigned char c = *p;

		if (c == '/')
			w = snprintf(buf + n, size - n, "-");
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && n))
			w = snprintf(buf + n, size - n, "%c", c);
		else
			w = snprintf(buf + n, size - n, "\\x%02x", c);
		if (w < 0 || (size_t)w >= size - n)
			return -ENAMETOOLONG;
		n += w;
	}
	w = snprintf(buf + n, size - n, ".lock");
	return w < 0 || (size_t)w >= size - n ? -ENAMETOOLONG : 0;
}

static long lock_timeout_ms(void)
{
	const char *env = secure_getenv("SUBFLOW_LOCK_TIMEOUT_MS");
	uint32_t ms;

	if (env && !subflow_parse_u32(env, &ms))
		return ms;
	return LOCK_TIMEOUT_MS_DEFAULT;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The PID holding a lock on fd's file, from /proc/locks; 0 if unknown. */
static long lock_holder(int fd)
{
	char line[256], dev_ino[64];
	long pid, holder = 0;
	struct stat st;
	FILE *f;

	if (fstat(fd, &st))
		return 0;
	snprintf(dev_ino, sizeof(dev_ino), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long)st.st_ino);
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!holder && fgets(line, sizeof(line), f)) {
		char id[64];

		if (!strstr(line, "->") &&
		    sscanf(line, "%*s %*s %*s %*s %ld %63s", &pid, id) == 2 && !strcmp(id, dev_ino))
			holder = pid;
	}
	fclose(f);
	return holder;
}

/* Open (creating) the lock file of the pin directory. /run/subflow may be
 * removed by a test's cleanup between our mkdir and open: try again. */
static int open_lock_file(char *path, size_t size)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dir_fd, fd = -1, err, tries;

	err = subflow_lock_file_name(subflow_pin_dir(), name, sizeof(name));
	if (err) {
		pr_err("pin directory %s: too long to name its lock file\n", subflow_pin_dir());
		return err;
	}
	snprintf(path, size, "%s/%s", SUBFLOW_RUN_DIR, name);
	for (tries = 0; fd < 0 && tries < 3; tries++) {
		dir_fd = subflow_open_run_dir(true, "lock directory", SUBFLOW_LOG_ERROR);
		if (dir_fd < 0)
			return dir_fd;
		fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		err = fd < 0 ? -errno : 0;
		close(dir_fd);
		if (err && err != -ENOENT) {
			pr_err("cannot open lock file %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	if (fd < 0)
		return err;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pr_err("refusing lock file %s: not a regular file\n", path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int subflow_lock(void)
{
	return subflow_lock_timeout(-1);
}

int subflow_lock_timeout(long timeout)
{
	long long deadline;
	char path[PATH_MAX];
	useconds_t wait_us = 1000;
	int fd, err;

	if (timeout < 0)
		timeout = lock_timeout_ms();

	fd = open_lock_file(path, sizeof(path));
	if (fd < 0)
		return fd;
	deadline = now_ms() + timeout;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = -errno;
			pr_err("cannot lock %s: %s\n", path, strerror(-err));
			close(fd);
			return err;
		}
		if (now_ms() >= deadline && !timeout) {
			close(fd);
			return -EBUSY;	/* only asked whether it is free */
		}
		if (now_ms() >= deadline) {
			long pid = lock_holder(fd);

			if (pid)
				pr_err("pin directory %s is busy: its lock %s, taken by process %ld, "
				       "has been held for more than %ld ms; try again later\n",
				       subflow_pin_dir(), path, pid, timeout);
			else
				pr_err("pin directory %s is busy: its lock %s has been held by "
				       "another process for more than %ld ms; try again later\n",
				       subflow_pin_dir(), path, timeout);
			close(fd);
			return -EBUSY;
		}
		usleep(wait_us);
		if (wait_us < 50000)
			wait_us *= 2;
	}
	/* Changes go only into a pin directory that is ours (or none yet). */
	err = subflow_pin_dir_check();
	if (err && err != -ENOENT) {
		subflow_unlock(fd);
		return err;
	}
	return fd;
}

void subflow_unlock(int lock_fd)
{
	if (lock_fd >= 0) {
		flock(lock_fd, LOCK_UN);
		close(lock_fd);
	}
}
