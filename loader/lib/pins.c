// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pin directory: where it is, that it is ours (private_dir.c), and the
 * pins in it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "internal.h"


static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static char pin_dir[PATH_MAX];
/* The pin directory this process checked: dev/ino of its fd. */
static bool pin_dir_checked;
static dev_t pin_dir_dev;
static ino_t pin_dir_ino;

static void pin_dir_init_locked(void)
{
	const char *env;

	if (pin_dir[0])
		return;
	/* Not from the environment of a set-user-ID caller. */
	env = secure_getenv(SUBFLOW_PIN_DIR_ENV);
	snprintf(pin_dir, sizeof(pin_dir), "%s", env && *env ? env : SUBFLOW_DEFAULT_PIN_DIR);
}

int subflow_set_pin_dir(const char *dir)
{
	const char *env = secure_getenv(SUBFLOW_PIN_DIR_ENV);

	if (!dir)
		dir = env && *env ? env : SUBFLOW_DEFAULT_PIN_DIR;
	if (dir[0] != '/')
		return -EINVAL;
	/* Room for the longest pin name after it. */
	if (strlen(dir) > SUBFLOW_PIN_DIR_MAX)
		return -ENAMETOOLONG;
	subflow_maps_close();
	pthread_mutex_lock(&pins_lock);
	pin_dir_checked = false;
	snprintf(pin_dir, sizeof(pin_dir), "%s", dir);
	/* Drop a trailing slash so pin paths print cleanly. */
	for (size_t len = strlen(pin_dir); len > 1 && pin_dir[len - 1] == '/'; len--)
		pin_dir[len - 1] = '\0';
	pthread_mutex_unlock(&pins_lock);
	return 0;
}

const char *subflow_pin_dir(void)
{
	pthread_mutex_lock(&pins_lock);
	pin_dir_init_locked();
	pthread_mutex_unlock(&pins_lock);
	return pin_dir;
}

int subflow_pin_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", subflow_pin_dir(), name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Open the pin directory and check that it is ours: -ENOENT if absent,
 * -EPERM (with a message naming owner and mode) if it is not ours. */
static int pin_dir_open(bool create, enum subflow_log_level level)
{
	return subflow_open_private_dir(subflow_pin_dir(), create, BPF_FS_MAGIC, "bpffs",
					"pin directory", level);
}

static int pin_dir_remember(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	pthread_mutex_lock(&pins_lock);
	pin_dir_checked = true;
	pin_dir_dev = st.st_dev;
	pin_dir_ino = st.st_ino;
	pthread_mutex_unlock(&pins_lock);
	return 0;
}

static int pin_dir_check(bool create, enum subflow_log_level level)
{
	int fd, err;

	fd = pin_dir_open(create, level);
	if (fd < 0)
		return fd;
	err = pin_dir_remember(fd);
	close(fd);
	return err;
}

int subflow_pin_dir_check(void)
{
	return pin_dir_check(false, SUBFLOW_LOG_ERROR);
}

/* Create the pin directory if needed (mounting bpffs at /sys/fs/bpf when it
 * is not), and check it is ours. */
int subflow_pin_dir_create(void)
{
	int err = subflow_ensure_bpffs();

	return err ? err : pin_dir_check(true, SUBFLOW_LOG_ERROR);
}

/* The pin directory was checked by this process, and is still the one it
 * checked (an unload and a new load make a new one). */
static int pin_dir_verified(enum subflow_log_level level)
{
	struct stat st;
	bool ok;

	if (stat(subflow_pin_dir(), &st))
		return -errno;
	pthread_mutex_lock(&pins_lock);
	ok = pin_dir_checked && st.st_dev == pin_dir_dev && st.st_ino == pin_dir_ino;
	pthread_mutex_unlock(&pins_lock);
	return ok ? 0 : pin_dir_check(false, level);
}

int subflow_pin_get(const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = pin_dir_verified(SUBFLOW_LOG_ERROR);
	if (err)
		return err;
	err = subflow_pin_path(path, sizeof(path), name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

DIR *subflow_pin_dir_opendir(void)
{
	DIR *dir;
	int fd;

	fd = pin_dir_open(false, SUBFLOW_LOG_ERROR);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	dir = fdopendir(fd);
	if (!dir)
		close(fd);
	return dir;
}

int subflow_pin_fd(int fd, const char *name, enum subflow_log_level level)
{
	char path[PATH_MAX];
	int err;

	err = subflow_pin_path(path, sizeof(path), name);
	if (!err && bpf_obj_pin(fd, path))
		err = -errno;
	if (err)
		subflow_log(level, "cannot pin %s: %s\n", path, strerror(-err));
	return err;
}

bool subflow_pin_exists(const char *name)
{
	char path[PATH_MAX];

	/* Quiet: "is it there" is no error; a command that needs it says why. */
	return !pin_dir_verified(SUBFLOW_LOG_DEBUG) && !subflow_pin_path(path, sizeof(path), name) &&
	       access(path, F_OK) == 0;
}

bool subflow_engine_loaded(void)
{
	return subflow_pin_exists(PIN_PROG_TRACK);
}

static bool parent_is_bpffs(void)
{
	char parent[PATH_MAX], *slash;
	struct statfs st;

	snprintf(parent, sizeof(parent), "%s", subflow_pin_dir());
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	return statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

void subflow_explain_not_loaded(char *buf, size_t size)
{
	int err = pin_dir_check(false, SUBFLOW_LOG_DEBUG);

	if (err == -EACCES)
		snprintf(buf, size, "permission denied: the pin directory %s is root's (mode "
			 "0700): run this as root (the engine's maps need CAP_BPF and "
			 "CAP_SYS_ADMIN)", subflow_pin_dir());
	else if (err == -EPERM)	/* not ours: the check says why, loudly now */
		snprintf(buf, size, "%s", pin_dir_check(false, SUBFLOW_LOG_ERROR) ?
			 "the pin directory is not the engine's" : "the pin directory changed");
	else if (err && err != -ENOENT)
		snprintf(buf, size, "the pin directory %s cannot be used: %s", subflow_pin_dir(),
			 strerror(-err));
	else if (!parent_is_bpffs())
		snprintf(buf, size,
			 "no bpffs is mounted above %s in this mount namespace (`ip netns exec` "
			 "remounts /sys and hides the pins: use `subflowctl -n NETNS` or "
			 "`nsenter --net=/run/netns/NETNS`)", subflow_pin_dir());
	else
		snprintf(buf, size, "the engine is not loaded (no pins in %s); attach it with "
			 "'subflowctl cgroup attach CGROUP_PATH'", subflow_pin_dir());
}

int subflow_ensure_bpffs(void)
{
	struct statfs st;
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", subflow_pin_dir());
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else if (slash)
		slash[1] = '\0';

	if (statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(parent, "/sys/fs/bpf")) {
		pr_err("%s is not on a bpffs mount\n", parent);
		return -EINVAL;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		pr_err("cannot mount bpffs at /sys/fs/bpf: %s\n", strerror(-err));
		return err;
	}
	pr_info("mounted bpffs at /sys/fs/bpf\n");
	return 0;
}
