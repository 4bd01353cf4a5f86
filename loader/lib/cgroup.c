// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup v2 paths and ids. The id of a cgroup is the inode number of its
 * directory (what bpf_get_current_cgroup_id() and the kernel's kn->id give). */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "internal.h"

int subflow_cgroup2_root(char *buf, size_t size)
{
	struct mntent *ent;
	FILE *mounts;
	int err = -ENOENT;

	mounts = setmntent("/proc/self/mounts", "r");
	if (!mounts)
		return -errno;
	while ((ent = getmntent(mounts))) {
		if (strcmp(ent->mnt_type, "cgroup2"))
			continue;
		snprintf(buf, size, "%s", ent->mnt_dir);
		err = 0;
		break;
	}
	endmntent(mounts);
	return err;
}

int subflow_cgroup_id_of(const char *path, uint64_t *id)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs)) {
		int err = -errno;

		pr_err("cgroup %s: %s\n", path, strerror(-err));
		return err;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		char root[PATH_MAX] = "(none)";

		subflow_cgroup2_root(root, sizeof(root));
		pr_err("cgroup %s: not a cgroup v2 directory (cgroup v2 is mounted at %s)\n",
		       path, root);
		return -EINVAL;
	}
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		pr_err("cgroup %s: not a directory\n", path);
		return -ENOTDIR;
	}
	*id = st.st_ino;
	return 0;
}

/* nftw() has no context argument: the walks below are serialised by the
 * callers (CLI commands, attach/detach under the pin lock). */
static __thread uint64_t walk_target;
static __thread char *walk_found;
static __thread size_t walk_found_size;
static __thread uint64_t *walk_ids;
static __thread size_t walk_max, walk_count;

static int find_by_id(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_D || (uint64_t)st->st_ino != walk_target)
		return 0;
	snprintf(walk_found, walk_found_size, "%s", path);
	return 1;
}

int subflow_cgroup_path_of(uint64_t id, char *buf, size_t size)
{
	char root[PATH_MAX];
	int err;

	err = subflow_cgroup2_root(root, sizeof(root));
	if (err)
		return err;
	walk_target = id;
	walk_found = buf;
	walk_found_size = size;
	buf[0] = '\0';
	err = nftw(root, find_by_id, 32, FTW_PHYS | FTW_MOUNT);
	return err == 1 ? 0 : -ENOENT;
}

static int collect_ids(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_D)
		return 0;
	if (walk_count < walk_max)
		walk_ids[walk_count] = st->st_ino;
	walk_count++;
	return 0;
}

int subflow_cgroup_subtree_ids(const char *path, uint64_t *ids, size_t max, size_t *count)
{
	walk_ids = ids;
	walk_max = max;
	walk_count = 0;
	if (nftw(path, collect_ids, 32, FTW_PHYS | FTW_MOUNT))
		return -errno;
	*count = walk_count;
	return 0;
}
