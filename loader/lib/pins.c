// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pin directory: where it is, the maps pinned in it (opened once per
 * process and cached, so queries cost one syscall each), and the lock that
 * serialises changes between concurrent subflowctl processes. */
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
};

static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static char pin_dir[PATH_MAX];
static int map_fds[MAP__COUNT];
static bool map_fds_ready;	/* map_fds[] filled with -1 */

static void pin_dir_init_locked(void)
{
	const char *env;

	if (pin_dir[0])
		return;
	env = getenv(SUBFLOW_PIN_DIR_ENV);
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
}

int subflow_set_pin_dir(const char *dir)
{
	const char *env = getenv(SUBFLOW_PIN_DIR_ENV);

	if (!dir)
		dir = env && *env ? env : SUBFLOW_DEFAULT_PIN_DIR;
	if (dir[0] != '/' || strlen(dir) >= sizeof(pin_dir) - 64)
		return -EINVAL;
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

int subflow_map_fd(enum subflow_map_id map)
{
	char path[PATH_MAX];
	int fd;

	pthread_mutex_lock(&pins_lock);
	if (!map_fds_ready)
		maps_close_locked();
	fd = map_fds[map];
	pthread_mutex_unlock(&pins_lock);
	if (fd >= 0)
		return fd;

	if (subflow_pin_path(path, sizeof(path), subflow_map_names[map]))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;

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

	return !subflow_pin_path(path, sizeof(path), name) && access(path, F_OK) == 0;
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

int subflow_lock(void)
{
	const char *dir = subflow_pin_dir();
	int fd, err;

	err = subflow_ensure_bpffs();
	if (err)
		return err;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("cannot create pin directory %s: %s\n", dir, strerror(-err));
		return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("cannot open pin directory %s: %s\n", dir, strerror(-err));
		return err;
	}
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
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
