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
#include "policy.h"
#include "track.skel.h"
#include "snapshot.skel.h"
#include "admit.skel.h"
#include "options.skel.h"
#include "mptcpify.skel.h"

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

/* The hooks of one cgroup attachment, in the order they run: the tracker
 * first, so that the options program finds the subflow's entry. */
static const struct cgroup_hook {
	const char *prog_pin;
	enum bpf_attach_type type;
	const char *link_suffix;	/* "" for the tracker: its pin marks the attachment */
} cgroup_hooks[] = {
	{ PIN_PROG_TRACK, BPF_CGROUP_SOCK_OPS, "" },
	{ PIN_PROG_OPTIONS, BPF_CGROUP_SOCK_OPS, "_options" },
	{ PIN_PROG_CONNECT4, BPF_CGROUP_INET4_CONNECT, "_connect4" },
	{ PIN_PROG_CONNECT6, BPF_CGROUP_INET6_CONNECT, "_connect6" },
	{ PIN_PROG_BIND4, BPF_CGROUP_INET4_BIND, "_bind4" },
	{ PIN_PROG_BIND6, BPF_CGROUP_INET6_BIND, "_bind6" },
};
#define NR_CGROUP_HOOKS (sizeof(cgroup_hooks) / sizeof(cgroup_hooks[0]))

const char *const subflow_prog_pins[] = {
	PIN_PROG_TRACK, PIN_PROG_SNAPSHOT, PIN_PROG_OPTIONS, PIN_PROG_CONNECT4,
	PIN_PROG_CONNECT6, PIN_PROG_BIND4, PIN_PROG_BIND6, PIN_PROG_MPTCPIFY, NULL,
};

/* Load one object (its maps are created, or reused when pinned, through
 * pin_root_path) and pin its programs, except the tracker's, which
 * load_locked() pins last. */
static int load_object(struct bpf_object *obj, const char *what)
{
	struct bpf_program *prog;
	int err;

	err = bpf_object__load(obj);
	if (err) {
		pr_err("cannot load the %s BPF programs: %s (run with -d for the verifier log)\n",
		       what, strerror(-err));
		return err;
	}
	bpf_object__for_each_program(prog, obj) {
		char name[64];

		if (!strcmp(bpf_program__name(prog), "subflow_track"))
			continue;
		snprintf(name, sizeof(name), PIN_PROG_PREFIX "%s",
			 bpf_program__name(prog) + strlen("subflow_"));
		err = pin_program(prog, name);
		if (err)
			return err;
	}
	return 0;
}

/* mptcpify needs fmod_ret on update_socket_protocol (Linux 6.6+); without
 * it the rest of the engine works, and `status` says the feature is absent. */
static void load_mptcpify(const struct bpf_object_open_opts *opts)
{
	struct mptcpify_bpf *skel;
	struct bpf_link *link;
	char path[PATH_MAX];
	int err;

	subflow_log_libbpf(false);
	skel = mptcpify_bpf__open_opts(opts);
	err = skel ? mptcpify_bpf__load(skel) : -errno;
	subflow_log_libbpf(true);
	if (err) {
		pr_warn("mptcpify unavailable on this kernel (fmod_ret update_socket_protocol): %s\n",
			strerror(-err));
		goto out;
	}
	link = bpf_program__attach(skel->progs.subflow_mptcpify);
	if (!link) {
		pr_warn("mptcpify: cannot attach: %s\n", strerror(errno));
		goto out;
	}
	if (!subflow_pin_path(path, sizeof(path), PIN_LINK_MPTCPIFY) && !bpf_link__pin(link, path))
		pin_program(skel->progs.subflow_mptcpify, PIN_PROG_MPTCPIFY);
	else
		pr_warn("mptcpify: cannot pin its link: %s\n", strerror(errno));
	bpf_link__destroy(link);	/* the pin keeps it attached */
out:
	mptcpify_bpf__destroy(skel);
}

/* Load every object; maps are created, or reused when already pinned, by
 * libbpf's pin_root_path. Programs are pinned so that later processes attach
 * the very same programs (their ids never change while the engine lives). */
static int load_locked(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = subflow_pin_dir());
	bool had_map_pin[MAP__COUNT];
	struct snapshot_bpf *snap = NULL;
	struct options_bpf *options = NULL;
	struct admit_bpf *admit = NULL;
	struct track_bpf *track = NULL;
	int err, i;

	if (subflow_engine_loaded())
		return 0;
	for (i = 0; i < MAP__COUNT; i++)
		had_map_pin[i] = pin_exists(subflow_map_names[i]);

	track = track_bpf__open_opts(&opts);
	snap = snapshot_bpf__open_opts(&opts);
	admit = admit_bpf__open_opts(&opts);
	options = options_bpf__open_opts(&opts);
	if (!track || !snap || !admit || !options) {
		err = -errno;
		pr_err("cannot open the engine's BPF objects: %s\n", strerror(-err));
		goto cleanup;
	}
	err = load_object(track->obj, "tracker");
	if (!err)
		err = load_object(snap->obj, "snapshot");
	if (!err)
		err = load_object(admit->obj, "admission");
	if (!err)
		err = load_object(options->obj, "options");
	if (err)
		goto cleanup;
	load_mptcpify(&opts);
	/* The tracker's pin is what marks the engine as loaded: pin it last. */
	err = pin_program(track->progs.subflow_track, PIN_PROG_TRACK);

cleanup:
	if (err) {
		unpin(PIN_LINK_MPTCPIFY);
		for (i = 0; subflow_prog_pins[i]; i++)
			unpin(subflow_prog_pins[i]);
		for (i = 0; i < MAP__COUNT; i++)
			if (!had_map_pin[i])
				unpin(subflow_map_names[i]);
	}
	options_bpf__destroy(options);
	admit_bpf__destroy(admit);
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

/* Create the links of every hook (all or nothing), then pin them, the
 * tracker's last: a half-made attachment is never visible. */
static int attach_hooks(const char *cgroup_path, uint64_t cgroup_id)
{
	int link_fds[NR_CGROUP_HOOKS], cg_fd, err = 0;
	char name[96], path[PATH_MAX];
	size_t i, created = 0, pinned = 0;

	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		pr_err("cannot open cgroup %s: %s\n", cgroup_path, strerror(-err));
		return err;
	}
	for (i = 0; i < NR_CGROUP_HOOKS; i++) {
		int prog_fd;

		err = subflow_pin_path(path, sizeof(path), cgroup_hooks[i].prog_pin);
		if (err)
			goto out;
		prog_fd = bpf_obj_get(path);
		if (prog_fd < 0) {
			err = -errno;
			pr_err("cannot open pinned program %s: %s\n", path, strerror(-err));
			goto out;
		}
		link_fds[i] = bpf_link_create(prog_fd, cg_fd, cgroup_hooks[i].type, NULL);
		close(prog_fd);
		if (link_fds[i] < 0) {
			err = -errno;
			pr_err("cannot attach %s to cgroup %s: %s\n", cgroup_hooks[i].prog_pin,
			       cgroup_path, strerror(-err));
			goto out;
		}
		created++;
	}
	/* Reverse order: the tracker's link, which marks the attachment, last. */
	for (i = NR_CGROUP_HOOKS; i-- > 0;) {
		snprintf(name, sizeof(name), PIN_LINK_PREFIX "%" PRIu64 "%s", cgroup_id,
			 cgroup_hooks[i].link_suffix);
		err = subflow_pin_path(path, sizeof(path), name);
		if (!err && bpf_obj_pin(link_fds[i], path))
			err = -errno;
		if (err) {
			pr_err("cannot pin link at %s: %s\n", path, strerror(-err));
			goto out;
		}
		pinned++;
	}
out:
	if (err) {
		for (i = NR_CGROUP_HOOKS; pinned > 0; pinned--) {
			i--;
			snprintf(name, sizeof(name), PIN_LINK_PREFIX "%" PRIu64 "%s", cgroup_id,
				 cgroup_hooks[i].link_suffix);
			unpin(name);
		}
	}
	for (i = 0; i < created; i++)
		close(link_fds[i]);	/* pinned links stay attached; the others detach */
	close(cg_fd);
	return err;
}

/* Remove the pins of every hook of one attachment: the links detach. */
static void detach_hooks(uint64_t cgroup_id)
{
	char name[96];

	for (size_t i = 0; i < NR_CGROUP_HOOKS; i++) {
		snprintf(name, sizeof(name), PIN_LINK_PREFIX "%" PRIu64 "%s", cgroup_id,
			 cgroup_hooks[i].link_suffix);
		unpin(name);
	}
}

int subflow_cgroup_attach(const char *cgroup_path)
{
	char name[64];
	int lock_fd, map_fd, err;
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
	/* Recorded before the tracker runs, so that the snapshot can tell the
	 * cgroup's subflows from the others. */
	map_fd = subflow_map_fd(MAP_ATTACHED_CGROUPS);
	if (map_fd < 0 || bpf_map_update_elem(map_fd, &cgroup_id, &one, BPF_ANY)) {
		err = map_fd < 0 ? map_fd : -errno;
		pr_err("cannot record the attachment: %s\n", strerror(-err));
		goto out;
	}
	err = attach_hooks(cgroup_path, cgroup_id);
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
	detach_hooks(cgroup_id);	/* the pins were the last references */
	/* Its policy goes with it (none is fine). */
	subflow_policy_remove_locked(cgroup_id);
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
		if (strncmp(ent->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX)) ||
		    strchr(ent->d_name + strlen(PIN_LINK_PREFIX), '_'))
			continue;	/* not a link, or another hook of an attachment */
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
			if (!strncmp(ent->d_name, "link_", strlen("link_"))) {
				unpin(ent->d_name);
				had_any = true;
			}
		}
		closedir(dir);
	}
	for (i = 0; subflow_prog_pins[i]; i++) {
		had_any |= pin_exists(subflow_prog_pins[i]);
		unpin(subflow_prog_pins[i]);
	}
	for (i = 0; i < MAP__COUNT; i++) {
		had_any |= pin_exists(subflow_map_names[i]);
		unpin(subflow_map_names[i]);
	}
	/* What is left in an engine's directory came from another version of
	 * the engine (a map this binary does not know): the directory is the
	 * engine's, so it goes too. A directory that held none of our objects
	 * is left alone, in case --pin-dir named someone else's. */
	dir = had_any ? opendir(subflow_pin_dir()) : NULL;
	if (dir) {
		while ((ent = readdir(dir)))
			if (ent->d_name[0] != '.')
				unpin(ent->d_name);
		closedir(dir);
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
