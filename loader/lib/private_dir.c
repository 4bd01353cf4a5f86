// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Directories only we control: the pin directory (on bpffs, where
 * /sys/fs/bpf is often mode 1777) and the lock directory /run/subflow.
 *
 * A directory that exists already in a place others can write to is
 * someone else's until its owner and mode say otherwise, and those are read
 * from the directory's fd, not its path: the path is walked one component
 * at a time from "/" with O_NOFOLLOW (no symbolic link anywhere), every
 * ancestor must be owned by root (or by us) and not writable by others
 * unless sticky (so nobody else can rename our directory away and put
 * theirs in its place), and the directory itself must be owned by root (or
 * us) with mode 0700. We create it with mkdir(0700) and then check the
 * directory we open, like one that existed.
 *
 * The run directory may also be 0711 (`subflowctl daemon` makes it so): its
 * control sockets must be reachable by others; nobody else can list it, nor
 * create, rename or remove anything in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include "internal.h"

static bool owner_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* An ancestor may be shared, but nobody else may replace its entries. */
static int check_ancestor(int fd, const char *path, const char *what,
			  enum subflow_log_level level)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!owner_trusted(st.st_uid)) {
		subflow_log(level, "refusing %s: its ancestor %s is owned by uid %u, not by root\n", what,
		       path, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		subflow_log(level, "refusing %s: its ancestor %s (mode %04o) is writable by others and not "
		       "sticky\n", what, path, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int check_private(int fd, const char *path, const char *what, long fs_magic,
			 const char *fs_name, bool searchable, enum subflow_log_level level)
{
	struct statfs sfs;
	struct stat st;

	if (fstat(fd, &st) || fstatfs(fd, &sfs))
		return -errno;
	if (!owner_trusted(st.st_uid) ||
	    ((st.st_mode & 07777) != 0700 && (!searchable || (st.st_mode & 07777) != 0711))) {
		subflow_log(level, "refusing %s %s: it is owned by uid %u with mode %04o, and must be owned "
		       "by root with mode 0700%s (someone else may have created it: inspect it, "
		       "remove it, and retry)\n", what, path, (unsigned int)st.st_uid,
		       (unsigned int)(st.st_mode & 07777), searchable ? " or 0711" : "");
		return -EPERM;
	}
	if (fs_magic && sfs.f_type != fs_magic) {
		subflow_log(level, "refusing %s %s: it is not on %s\n", what, path, fs_name);
		return -EPERM;
	}
	return 0;
}

static int open_dir(const char *path, bool create, long fs_magic, const char *fs_name,
		    bool searchable, const char *what, enum subflow_log_level level)
{
	char copy[PATH_MAX], sofar[PATH_MAX] = "";
	char *comp, *next, *save = NULL;
	int fd, nfd, err;

	if (path[0] != '/' || strlen(path) >= sizeof(copy)) {
		subflow_log(level, "%s %s: not an absolute path of at most %zu bytes\n", what, path,
		       sizeof(copy) - 1);
		return -EINVAL;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		bool created = false;

		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			subflow_log(level, "%s %s: '.' and '..' are not allowed in it\n", what, path);
			err = -EINVAL;
			goto fail;
		}
		err = check_ancestor(fd, sofar[0] ? sofar : "/", what, level);
		if (err)
			goto fail;
		strncat(sofar, "/", sizeof(sofar) - strlen(sofar) - 1);
		strncat(sofar, comp, sizeof(sofar) - strlen(sofar) - 1);
		if (!next && create) {
			if (!mkdirat(fd, comp, 0700))
				created = true;
			else if (errno != EEXIST) {
				err = -errno;
				subflow_log(level, "cannot create %s %s: %s\n", what, path, strerror(-err));
				goto fail;
			}
		}
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			err = -errno;
			if (err == -ELOOP || err == -ENOTDIR)
				subflow_log(level, "refusing %s %s: %s is a symbolic link or not a directory\n",
				       what, path, sofar);
			else if (err != -ENOENT || next)
				subflow_log(level, "cannot open %s %s: %s%s%s\n", what, path,
				       next ? sofar : "", next ? ": " : "", strerror(-err));
			goto fail;
		}
		close(fd);
		fd = nfd;
		/* umask may have taken bits off: the mode is ours to set. */
		if (created)
			fchmod(fd, 0700);
	}
	err = check_private(fd, path, what, fs_magic, fs_name, searchable, level);
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return err;
}

int subflow_open_private_dir(const char *path, bool create, long fs_magic, const char *fs_name,
			     const char *what, enum subflow_log_level level)
{
	return open_dir(path, create, fs_magic, fs_name, false, what, level);
}

int subflow_open_run_dir(bool create, const char *what, enum subflow_log_level level)
{
	return open_dir(SUBFLOW_RUN_DIR, create, 0, NULL, true, what, level);
}
