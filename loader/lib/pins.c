// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pin directory: where it is, that it is ours (private_dir.c), and the
 * maps pinned in it (opened once per process and cached, so queries cost one
 * syscall each). */
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

const char *const subflow_map_names[MAP__COUNT] = {
	[MAP_CONNS] = "conns",
	[MAP_SUBFLOWS] = "subflows",
	[MAP_ATTACHED_CGROUPS] = "attached_cgroups",
	[MAP_SUBFLOW_SK_KEYS] = "subflow_sk_keys",
	[MAP_EVENTS] = "events",
	[MAP_STATS] = "stats",
	[MAP_POLICY_RULES] = "policy_rules",
	[MAP_POLICY_PATHS] = "policy_paths",
	[MAP_POLICY_META] = "policy_meta",
	[MAP_POLICY_TEXT] = "policy_text",
	[MAP_CGROUP_POLICY] = "cgroup_policy",
	[MAP_RULE_HITS] = "rule_hits",
	[MAP_PATH_DENIALS] = "path_denials",
	[MAP_POLICY_NO_MATCH] = "policy_no_match",
	[MAP_CONN_SK_KEYS] = "conn_sk_keys",
	[MAP_CC_CONNS] = "cc_conns",
	[MAP_CC_STATS] = "cc_stats",
};

static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static char pin_dir[PATH_MAX];
static int map_fds[MAP__COUNT];
static bool map_fds_ready;	/* map_fds[] filled with -1 */
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

static void maps_close_locked(void)
{
	for (int i = 0; i < MAP__COUNT; i++) {
		if (map_fds_ready && map_fds[i] >= 0)
			close(map_fds[i]);
		map_fds[i] = -1;
	}
	map_fds_ready = true;
	pin_dir_checked = false;
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
	pthread_mutex_lock(&pins_lock);
	maps_close_locked();
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

void subflow_maps_close(void)
{
	pthread_mutex_lock(&pins_lock);
	maps_close_locked();
	pthread_mutex_unlock(&pins_lock);
}

/* Open the pin directory and check that it is ours: -ENOENT if absent,
 * -EPERM (with a message naming owner and mode) if it is not ours. */
static int pin_dir_open(bool create)
{
	return subflow_open_private_dir(subflow_pin_dir(), create, BPF_FS_MAGIC, "bpffs",
					"pin directory");
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

static int pin_dir_check(bool create)
{
	int fd, err;

	fd = pin_dir_open(create);
	if (fd < 0)
		return fd;
	err = pin_dir_remember(fd);
	close(fd);
	return err;
}

int subflow_pin_dir_check(void)
{
	return pin_dir_check(false);
}

/* Create the pin directory if needed (mounting bpffs at /sys/fs/bpf when it
 * is not), and check it is ours. */
int subflow_pin_dir_create(void)
{
	int err = subflow_ensure_bpffs();

	return err ? err : pin_dir_check(true);
}

/* The pin directory was checked by this process, and is still the one it
 * checked (an unload and a new load make a new one). */
static int pin_dir_verified(void)
{
	struct stat st;
	bool ok;

	if (stat(subflow_pin_dir(), &st))
		return -errno;
	pthread_mutex_lock(&pins_lock);
	ok = pin_dir_checked && st.st_dev == pin_dir_dev && st.st_ino == pin_dir_ino;
	pthread_mutex_unlock(&pins_lock);
	return ok ? 0 : subflow_pin_dir_check();
}

int subflow_pin_get(const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = pin_dir_verified();
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

	fd = pin_dir_open(false);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	dir = fdopendir(fd);
	if (!dir)
		close(fd);
	return dir;
}

int subflow_map_fd(enum subflow_map_id map)
{
	int fd;

	pthread_mutex_lock(&pins_lock);
	if (!map_fds_ready)
		maps_close_locked();
	fd = map_fds[map];
	pthread_mutex_unlock(&pins_lock);
	if (fd >= 0)
		return fd;

	fd = subflow_pin_get(subflow_map_names[map]);
	if (fd < 0)
		return fd;

	pthread_mutex_lock(&pins_lock);
	if (map_fds[map] >= 0) {	/* another thread won the race */
		close(fd);
		fd = map_fds[map];
	} else {
		map_fds[map] = fd;
	}
	pthread_mutex_unlock(&pins_lock);
	return fd;
}

bool subflow_pin_exists(const char *name)
{
	char path[PATH_MAX];

	return !pin_dir_verified() && !subflow_pin_path(path, sizeof(path), name) &&
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
	if (!parent_is_bpffs())
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
