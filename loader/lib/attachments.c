// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which cgroups the engine covers, as containers come and go.
 *
 * - Attachments do not nest: attaching to a descendant or an ancestor of
 *   an attached cgroup is refused, because both attachments' programs
 *   would run for the inner cgroup's sockets (tracked and counted twice).
 *   A cgroup below an attached one is covered already: it may have its own
 *   policy (the nearest ancestor with a policy decides).
 * - Removed cgroups: an attachment whose cgroup is gone is reaped (its
 *   links detached and unpinned, its policy, its attached_cgroups entry and
 *   the tracked entries of removed cgroups forgotten), and so is the policy
 *   of any removed cgroup. subflowctl does it before every command; the
 *   daemon calls subflow_cgroup_prune().
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "internal.h"
#include "policy.h"

#define MAX_DEPTH 64

/* The attachment covering cgroup `id`: itself or its nearest attached
 * ancestor (0 if none). */
uint64_t subflow_cgroup_covering(uint64_t id)
{
	uint64_t up[MAX_DEPTH];
	size_t n;

	if (subflow_cgroup_is_attached(id))
		return id;
	if (subflow_cgroup_ancestors(id, up, MAX_DEPTH, &n))
		return 0;
	for (size_t i = 0; i < n && i < MAX_DEPTH; i++)
		if (subflow_cgroup_is_attached(up[i]))
			return up[i];
	return 0;
}

/* Call fn for the cgroup id of every attachment (its marker link pin). */
static int for_each_attachment(int (*fn)(uint64_t id, void *ctx), void *ctx)
{
	struct dirent *ent;
	int err = 0;
	DIR *dir;

	dir = subflow_pin_dir_opendir();
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (ent = readdir(dir))) {
		const char *num = ent->d_name + strlen(PIN_LINK_PREFIX);
		char *end;
		uint64_t id;

		if (strncmp(ent->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX)))
			continue;
		id = strtoull(num, &end, 10);
		if (end == num || *end)
			continue;	/* another hook's link: "_suffix" */
		err = fn(id, ctx);
	}
	closedir(dir);
	return err;
}

struct nesting {
	uint64_t id;
	const uint64_t *up;	/* the new cgroup's ancestors */
	size_t nr_up;
	const char *path;
};

static int check_nesting(uint64_t att, void *ctx)
{
	struct nesting *n = ctx;
	uint64_t up[MAX_DEPTH];
	char other[4096];
	size_t nr;

	if (!subflow_cgroup_exists(att))
		return 0;	/* gone: pruned, not in the way */
	if (subflow_cgroup_path_of(att, other, sizeof(other)))
		snprintf(other, sizeof(other), "with id %" PRIu64, att);
	for (size_t i = 0; i < n->nr_up && i < MAX_DEPTH; i++) {
		if (n->up[i] == att) {
			pr_err("cannot attach to cgroup %s: its ancestor %s is attached, and its "
			       "programs run for %s already (attachments do not nest); to give it "
			       "its own policy: subflowctl policy load %s FILE\n", n->path, other,
			       n->path, n->path);
			return -EEXIST;
		}
	}
	if (subflow_cgroup_ancestors(att, up, MAX_DEPTH, &nr))
		return 0;
	for (size_t i = 0; i < nr && i < MAX_DEPTH; i++) {
		if (up[i] == n->id) {
			pr_err("cannot attach to cgroup %s: its descendant %s is attached "
			       "(attachments do not nest): detach %s first\n", n->path, other,
			       other);
			return -EEXIST;
		}
	}
	return 0;
}

int subflow_cgroup_check_nesting(uint64_t id, const char *path)
{
	uint64_t up[MAX_DEPTH];
	struct nesting n = { .id = id, .up = up, .path = path };
	int err;

	err = subflow_cgroup_ancestors(id, up, MAX_DEPTH, &n.nr_up);
	if (err)
		return err;
	return for_each_attachment(check_nesting, &n);
}

/* ---- reaping what removed cgroups left ------------------------------------- */

struct id_set {
	uint64_t *ids;
	size_t n, cap;
};

static int id_set_add(struct id_set *s, uint64_t id)
{
	uint64_t *grown;

	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		grown = realloc(s->ids, s->cap * sizeof(*s->ids));
		if (!grown)
			return -ENOMEM;
		s->ids = grown;
	}
	s->ids[s->n++] = id;
	return 0;
}

static int add_if_gone(uint64_t id, void *ctx)
{
	return subflow_cgroup_exists(id) ? 0 : id_set_add(ctx, id);
}

/* Removed cgroups that still have an attachment or a policy. */
static int find_gone(struct id_set *gone)
{
	uint64_t *policies = NULL;
	size_t n = 0;
	int err;

	err = for_each_attachment(add_if_gone, gone);
	if (err)
		return err;
	err = subflow_policy_list_all(&policies, &n);
	if (err == -ENOMEM || err == -EAGAIN)
		return err;
	if (err)
		return 0;	/* no policy map: no policy to check */
	for (size_t i = 0; !err && i < n; i++)
		err = add_if_gone(policies[i], gone);
	free(policies);
	return err;
}

/* The cgroup ids of tracked entries (map `map`, cgroup id at value offset
 * `off`) whose cgroup is removed. */
static void add_gone_entry_cgroups(enum subflow_map_id map, size_t key_size, size_t value_size,
				   size_t off, struct id_set *gone, struct id_set *alive)
{
	char key[64], next[64], value[256];
	void *prev = NULL;
	uint64_t id;
	int fd = subflow_map_fd(map);

	if (fd < 0 || key_size > sizeof(key) || value_size > sizeof(value))
		return;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value))
			continue;
		memcpy(&id, value + off, sizeof(id));
		bool known = false;

		for (size_t i = 0; i < alive->n && !known; i++)
			known = alive->ids[i] == id;
		for (size_t i = 0; i < gone->n && !known; i++)
			known = gone->ids[i] == id;
		if (!known)
			id_set_add(subflow_cgroup_exists(id) ? alive : gone, id);
	}
}

static void reap_locked(const struct id_set *gone_in)
{
	struct id_set gone = {}, alive = {};
	int map_fd = subflow_map_fd(MAP_ATTACHED_CGROUPS);
	int err;

	for (size_t i = 0; i < gone_in->n; i++) {
		uint64_t id = gone_in->ids[i];

		id_set_add(&gone, id);
		if (subflow_cgroup_is_attached(id)) {
			subflow_detach_hooks_locked(id);
			if (map_fd >= 0)
				bpf_map_delete_elem(map_fd, &id);
		}
		err = subflow_policy_remove_locked(id);
		if (err && err != -ENOENT)
			pr_warn("cannot remove the policy of removed cgroup %" PRIu64 ": %s\n", id,
				strerror(-err));
		pr_debug("pruned removed cgroup %" PRIu64 "\n", id);
	}
	/* Entries of removed cgroups: the reaped ones and their descendants,
	 * whose sockets no program of ours sees close any more. */
	add_gone_entry_cgroups(MAP_CONNS, sizeof(struct subflow_conn_key),
			       sizeof(struct subflow_conn), offsetof(struct subflow_conn, cgroup_id),
			       &gone, &alive);
	err = subflow_purge_cgroups(gone.ids, gone.n);
	if (err)
		pr_warn("cannot forget the subflows of removed cgroups: %s\n", strerror(-err));
	free(alive.ids);
	free(gone.ids);
}

static int prune(long lock_timeout_ms, uint64_t *ids, size_t max, size_t *count)
{
	struct id_set gone = {};
	int lock_fd, err;

	*count = 0;
	if (!subflow_engine_loaded())
		return 0;
	/* Without the lock first: nearly always, nothing is gone. */
	err = find_gone(&gone);
	if (err || !gone.n)
		goto out;
	free(gone.ids);
	gone = (struct id_set){};
	lock_fd = subflow_lock_timeout(lock_timeout_ms);
	if (lock_fd < 0) {
		err = lock_fd;
		goto out;
	}
	err = find_gone(&gone);
	if (!err && gone.n)
		reap_locked(&gone);
	subflow_unlock(lock_fd);
	for (size_t i = 0; !err && i < gone.n && i < max; i++)
		ids[i] = gone.ids[i];
	if (!err)
		*count = gone.n;
out:
	free(gone.ids);
	return err;
}

int subflow_cgroup_prune(uint64_t *ids, size_t max, size_t *count)
{
	return prune(-1, ids, max, count);
}

int subflow_cgroup_prune_if_free(void)
{
	size_t n;

	return prune(0, NULL, 0, &n);
}

/* Policies of cgroups that `detached` covered, and nothing covers now. */
void subflow_remove_uncovered_policies_locked(uint64_t detached)
{
	uint64_t *ids, up[MAX_DEPTH];
	size_t n = 0, nr_up;

	if (subflow_policy_list_all(&ids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (subflow_cgroup_ancestors(ids[i], up, MAX_DEPTH, &nr_up))
			continue;
		for (size_t j = 0; j < nr_up && j < MAX_DEPTH; j++) {
			if (up[j] == detached) {
				subflow_policy_remove_locked(ids[i]);
				break;
			}
		}
	}
	free(ids);
}
