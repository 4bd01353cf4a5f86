// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup v2 paths and ids. The id of a cgroup is the inode number of its
 * directory (what bpf_get_current_cgroup_id() and the kernel's kn->id give). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
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

/* nftw() has no context argument: the walk below is serialised by its
 * callers (CLI commands, attach/detach under the pin lock). */
static __thread uint64_t *walk_ids;
static __thread size_t walk_max, walk_count;

/* The kernel's file handle of a cgroup v2 directory (kernfs): its id. */
#define FILEID_KERNFS 0xfe

int subflow_cgroup_open_by_id(uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} handle = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS } };
	char root[PATH_MAX];
	int mount_fd, fd, err;

	err = subflow_cgroup2_root(root, sizeof(root));
	if (err)
		return err;
	mount_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return -errno;
	memcpy(handle.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &handle.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	close(mount_fd);
	/* A removed cgroup's handle is stale. */
	if (err == -ESTALE || err == -ENOENT)
		return -ENOENT;
	return err ? err : fd;
}

bool subflow_cgroup_exists(uint64_t id)
{
	int fd = subflow_cgroup_open_by_id(id);

	if (fd == -ENOENT)
		return false;
	if (fd >= 0)
		close(fd);
	return true;	/* when unsure (no privilege), not gone */
}

int subflow_cgroup_path_of(uint64_t id, char *buf, size_t size)
{
	char link[64];
	ssize_t n;
	int fd;

	fd = subflow_cgroup_open_by_id(id);
	if (fd < 0)
		return fd;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int subflow_cgroup_ancestors(uint64_t id, uint64_t *ids, size_t max, size_t *count)
{
	struct stat root_st, st;
	char root[PATH_MAX];
	int fd, parent, err;
	size_t n = 0;

	*count = 0;
	err = subflow_cgroup2_root(root, sizeof(root));
	if (err)
		return err;
	if (stat(root, &root_st))
		return -errno;
	fd = subflow_cgroup_open_by_id(id);
	if (fd < 0)
		return fd;
	for (;;) {
		if (fstat(fd, &st)) {
			err = -errno;
			break;
		}
		if (st.st_ino == root_st.st_ino && st.st_dev == root_st.st_dev)
			break;	/* the root is nobody's attachment target */
		parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0) {
			err = -errno;
			break;
		}
		close(fd);
		fd = parent;
		if (fstat(fd, &st)) {
			err = -errno;
			break;
		}
		if (n < max)
			ids[n] = st.st_ino;
		n++;
	}
	close(fd);
	*count = n;
	return err;
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

static int subtree_list_items(void *ctx, void *out, size_t max, size_t *count)
{
	return subflow_cgroup_subtree_ids(ctx, out, max, count);
}

int subflow_cgroup_subtree_ids_all(const char *path, uint64_t **ids, size_t *count)
{
	void *items;
	int err;

	err = subflow_list_all(subtree_list_items, (void *)path, sizeof(**ids), &items, count);
	*ids = items;
	return err;
}
