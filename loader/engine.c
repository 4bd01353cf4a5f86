// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Engine lifecycle: load (maps and programs, pinned), attach to and detach
 * from cgroups (one pinned link per cgroup), list attachments, unload.
 * Every change runs under the pin directory's lock, and a failure undoes
 * what the failing call created, so the pin directory is never half-made.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "track.skel.h"
#include "snapshot.skel.h"

static int pin_exists(const char *name)
{
	char path[PATH_MAX];

	return !subflow_pin_path(path, sizeof(path), name) && access(path, F_OK) == 0;
}

static void unpin(const char *name)
{
	char path[PATH_MAX];

	if (!subflow_pin_path(path, sizeof(path), name) && unlink(path) && errno != ENOENT)
		pr_warn("cannot remove pin %s: %s\n", path, strerror(errno));
}

static int pin_program(struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];
	int err;

	err = subflow_pin_path(path, sizeof(path), name);
	if (err)
		return err;
	err = bpf_program__pin(prog, path);
	if (err)
		pr_err("cannot pin program %s at %s: %s\n", bpf_program__name(prog), path,
		       strerror(-err));
	return err;
}

/* Load both objects; maps are created, or reused when already pinned, by
 * libbpf's pin_root_path. Programs are pinned so that later processes attach
 * the very same programs (their ids never change while the engine lives). */
static int load_locked(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = subflow_pin_dir());
	bool had_map_pin[MAP__COUNT];
	struct snapshot_bpf *snap = NULL;
	struct track_bpf *track = NULL;
	int err, i;

	if (subflow_engine_loaded())
		return 0;
	for (i = 0; i < MAP__COUNT; i++)
		had_map_pin[i] = pin_exists(subflow_map_names[i]);

	track = track_bpf__open_opts(&opts);
	if (!track) {
		err = -errno;
		pr_err("cannot open the tracker BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	err = track_bpf__load(track);
	if (err) {
		pr_err("cannot load the tracker BPF program: %s (run with -d for the verifier log)\n",
		       strerror(-err));
		goto cleanup;
	}
	snap = snapshot_bpf__open_opts(&opts);
	if (!snap) {
		err = -errno;
		pr_err("cannot open the snapshot BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	err = snapshot_bpf__load(snap);
	if (err) {
		pr_err("cannot load the snapshot iterator: %s (run with -d for the verifier log)\n",
		       strerror(-err));
		goto cleanup;
	}
	err = pin_program(snap->progs.subflow_iter, PIN_PROG_SNAPSHOT);
	if (err)
		goto cleanup;
	/* The tracker's pin is what marks the engine as loaded: pin it last. */
	err = pin_program(track->progs.subflow_track, PIN_PROG_TRACK);

cleanup:
	if (err) {
		unpin(PIN_PROG_SNAPSHOT);
		for (i = 0; i < MAP__COUNT; i++)
			if (!had_map_pin[i])
				unpin(subflow_map_names[i]);
	}
	snapshot_bpf__destroy(snap);
	track_bpf__destroy(track);
	return err;
}

int subflow_engine_load(void)
{
	int lock_fd, err;

	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	err = load_locked();
	subflow_unlock(lock_fd);
	return err;
}

static void link_pin_name(uint64_t cgroup_id, char *buf, size_t size)
{
	snprintf(buf, size, PIN_LINK_PREFIX "%" PRIu64, cgroup_id);
}

int subflow_cgroup_attach(const char *cgroup_path)
{
	char name[64], path[PATH_MAX];
	int lock_fd, prog_fd = -1, cg_fd = -1, link_fd = -1, map_fd, err;
	uint64_t cgroup_id;
	uint32_t one = 1;

	err = subflow_cgroup_id_of(cgroup_path, &cgroup_id);
	if (err)
		return err;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	err = load_locked();
	if (err)
		goto out;

	link_pin_name(cgroup_id, name, sizeof(name));
	if (pin_exists(name)) {
		pr_err("already attached to cgroup %s\n", cgroup_path);
		err = -EEXIST;
		goto out;
	}
	err = subflow_pin_path(path, sizeof(path), PIN_PROG_TRACK);
	if (err)
		goto out;
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0) {
		err = -errno;
		pr_err("cannot open pinned program %s: %s\n", path, strerror(-err));
		goto out;
	}
	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		pr_err("cannot open cgroup %s: %s\n", cgroup_path, strerror(-err));
		goto out;
	}
	link_fd = bpf_link_create(prog_fd, cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
	if (link_fd < 0) {
		err = -errno;
		pr_err("cannot attach sockops to cgroup %s: %s\n", cgroup_path, strerror(-err));
		goto out;
	}
	map_fd = subflow_map_fd(MAP_ATTACHED_CGROUPS);
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &cgroup_id, &one, BPF_ANY)) {
		err = map_fd < 0 ? map_fd : -errno;
		pr_err("cannot record the attachment: %s\n", strerror(-err));
		goto out;
	}
	err = subflow_pin_path(path, sizeof(path), name);
	if (!err && bpf_obj_pin(link_fd, path)) {
		err = -errno;
		pr_err("cannot pin link at %s: %s\n", path, strerror(-err));
	}
	if (err) {
		bpf_map_delete_elem(map_fd, &cgroup_id);
		goto out;
	}
	/* The tracker sees every new subflow from now on; the snapshot adds
	 * those that exist already. A failed snapshot leaves a working
	 * attachment, so it is a warning, not an error. */
	if (subflow_snapshot_cgroup(cgroup_path) < 0)
		pr_warn("snapshot of existing subflows in %s failed; new subflows are tracked\n",
			cgroup_path);
out:
	if (link_fd >= 0)
		close(link_fd);	/* the pin keeps it attached */
	if (cg_fd >= 0)
		close(cg_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	subflow_unlock(lock_fd);
	return err;
}

static bool path_is_under(const char *path, const char *ancestor)
{
	size_t len = strlen(ancestor);

	return !strncmp(path, ancestor, len) && (path[len] == '\0' || path[len] == '/');
}

/* Forget the entries that only the detached cgroup's attachment tracked:
 * its subtree, less the parts still covered by another attachment. */
static int purge_detached(const char *cgroup_path)
{
	struct subflow_attachment *att = NULL;
	uint64_t *ids = NULL, *sub = NULL;
	size_t nr_ids, nr_att, nr_sub, i, j, k, kept = 0;
	char real[PATH_MAX];
	int err;

	if (!realpath(cgroup_path, real))
		return -errno;
	err = subflow_cgroup_list(NULL, 0, &nr_att);
	if (err)
		return err;
	att = calloc(nr_att + 1, sizeof(*att));
	if (!att)
		return -ENOMEM;
	err = subflow_cgroup_list(att, nr_att, &nr_att);
	if (err)
		goto out;
	for (i = 0; i < nr_att; i++)
		if (att[i].path[0] && path_is_under(real, att[i].path))
			goto out;	/* an ancestor still tracks all of it */

	err = subflow_cgroup_subtree_ids(real, NULL, 0, &nr_ids);
	if (err)
		goto out;
	ids = calloc(nr_ids + 1, sizeof(*ids));
	sub = calloc(nr_ids + 1, sizeof(*sub));
	if (!ids || !sub) {
		err = -ENOMEM;
		goto out;
	}
	err = subflow_cgroup_subtree_ids(real, ids, nr_ids, &nr_ids);
	if (err)
		goto out;
	for (i = 0; i < nr_att; i++) {
		if (!att[i].path[0] || !path_is_under(att[i].path, real))
			continue;
		if (subflow_cgroup_subtree_ids(att[i].path, sub, nr_ids, &nr_sub))
			continue;
		for (j = 0; j < nr_sub && j < nr_ids; j++)
			for (k = 0; k < nr_ids; k++)
				if (ids[k] == sub[j])
					ids[k] = 0;
	}
	for (i = 0; i < nr_ids; i++)
		if (ids[i])
			ids[kept++] = ids[i];
	err = subflow_purge_cgroups(ids, kept);
out:
	free(sub);
	free(ids);
	free(att);
	return err;
}

int subflow_cgroup_detach(const char *cgroup_path)
{
	char name[64];
	uint64_t cgroup_id;
	int lock_fd, map_fd, err;

	err = subflow_cgroup_id_of(cgroup_path, &cgroup_id);
	if (err)
		return err;
	if (!subflow_engine_loaded()) {
		pr_err("not attached to cgroup %s (the engine is not loaded in %s)\n",
		       cgroup_path, subflow_pin_dir());
		return -ENOENT;
	}
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	link_pin_name(cgroup_id, name, sizeof(name));
	if (!pin_exists(name)) {
		pr_err("not attached to cgroup %s\n", cgroup_path);
		err = -ENOENT;
		goto out;
	}
	unpin(name);	/* the last reference: the link detaches */
	map_fd = subflow_map_fd(MAP_ATTACHED_CGROUPS);
	if (map_fd >= 0)
		bpf_map_delete_elem(map_fd, &cgroup_id);
	err = purge_detached(cgroup_path);
	if (err)
		pr_warn("detached, but could not forget the subflows of %s: %s\n", cgroup_path,
			strerror(-err));
	err = 0;
out:
	subflow_unlock(lock_fd);
	return err;
}

static int read_attachment(const char *name, struct subflow_attachment *att)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	memset(att, 0, sizeof(*att));
	att->cgroup_id = strtoull(name + strlen(PIN_LINK_PREFIX), NULL, 10);
	err = subflow_pin_path(path, sizeof(path), name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	att->link_id = info.id;
	att->prog_id = info.prog_id;
	if (info.cgroup.cgroup_id)
		att->cgroup_id = info.cgroup.cgroup_id;
	if (subflow_cgroup_path_of(att->cgroup_id, att->path, sizeof(att->path)))
		att->path[0] = '\0';
	return 0;
}

int subflow_cgroup_list(struct subflow_attachment *out, size_t max, size_t *count)
{
	struct dirent *ent;
	size_t n = 0;
	DIR *dir;

	*count = 0;
	dir = opendir(subflow_pin_dir());
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((ent = readdir(dir))) {
		if (strncmp(ent->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX)))
			continue;
		if (n < max && read_attachment(ent->d_name, &out[n]))
			continue;
		n++;
	}
	closedir(dir);
	*count = n;
	return 0;
}

int subflow_engine_unload(void)
{
	struct dirent *ent;
	bool had_any = false;
	int lock_fd, i;
	DIR *dir;

	if (access(subflow_pin_dir(), F_OK))
		return -ENOENT;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	/* Links first, so nothing runs while maps go away. */
	dir = opendir(subflow_pin_dir());
	if (dir) {
		while ((ent = readdir(dir))) {
			if (!strncmp(ent->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX))) {
				unpin(ent->d_name);
				had_any = true;
			}
		}
		closedir(dir);
	}
	had_any |= pin_exists(PIN_PROG_TRACK) || pin_exists(PIN_PROG_SNAPSHOT);
	unpin(PIN_PROG_TRACK);
	unpin(PIN_PROG_SNAPSHOT);
	for (i = 0; i < MAP__COUNT; i++) {
		had_any |= pin_exists(subflow_map_names[i]);
		unpin(subflow_map_names[i]);
	}
	subflow_maps_close();
	if (rmdir(subflow_pin_dir()) && errno != ENOENT)
		pr_warn("cannot remove %s: %s\n", subflow_pin_dir(), strerror(errno));
	subflow_unlock(lock_fd);
	return had_any ? 0 : -ENOENT;
}

int subflow_get_stats(uint64_t stats[SUBFLOW_STAT_MAX])
{
	int ncpus = libbpf_num_possible_cpus();
	int fd = subflow_map_fd(MAP_STATS);
	uint64_t *percpu;

	if (fd < 0)
		return fd;
	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t key = 0; key < SUBFLOW_STAT_MAX; key++) {
		stats[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++)
			stats[key] += percpu[cpu];
	}
	free(percpu);
	return 0;
}
