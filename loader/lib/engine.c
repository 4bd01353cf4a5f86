// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Engine lifecycle: load (maps and programs, pinned), attach to and detach
 * from cgroups (one pinned link per cgroup hook), list attachments, unload.
 * What is loaded, pinned and attached comes from the object table
 * (engine_objects.c). Every change runs under the pin directory's lock, and
 * a failure undoes what the failing call created, so the pin directory is
 * never half-made.
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

/* Linux 6.4 uapi, absent from Debian 12's linux-libc-dev 6.1: a struct_ops
 * map created with BPF_F_LINK registers only through a BPF_STRUCT_OPS link,
 * and unregisters when the link goes (not left behind by a dead loader). */
#define SUBFLOW_BPF_F_LINK	(1U << 13)
#define SUBFLOW_BPF_STRUCT_OPS	44

static void unpin(const char *name)
{
	char path[PATH_MAX];

	if (!subflow_pin_path(path, sizeof(path), name) && unlink(path) && errno != ENOENT)
		pr_warn("cannot remove pin %s: %s\n", path, strerror(errno));
}

/* The table's first program: pinned last at load, its cgroup link pinned
 * last at attach, so that its pins mean "loaded" and "attached". */
static const struct subflow_object_pin *marker(void)
{
	return &subflow_objects[0].pins[0];
}

static bool has_global_link(const struct subflow_object *o)
{
	return o->kind == SUBFLOW_OBJ_GLOBAL || o->kind == SUBFLOW_OBJ_STRUCT_OPS;
}

bool subflow_object_present(const struct subflow_object *o)
{
	const struct subflow_object_pin *p;

	/* struct_ops: each map registers alone (a name may be taken). */
	if (o->kind == SUBFLOW_OBJ_STRUCT_OPS) {
		subflow_for_each_pin(o, p)
			if (subflow_pin_exists(p->link))
				return true;
		return false;
	}
	subflow_for_each_pin(o, p) {
		if (p->pin && !subflow_pin_exists(p->pin))
			return false;
		if (has_global_link(o) && !subflow_pin_exists(p->link))
			return false;
	}
	return true;
}

/* Remove what load_object() pinned for o. */
static void unpin_object(const struct subflow_object *o)
{
	const struct subflow_object_pin *p;

	subflow_for_each_pin(o, p) {
		if (has_global_link(o))
			unpin(p->link);	/* links first: they hold the programs */
		if (p->pin)
			unpin(p->pin);
	}
}

static int attach_global(const struct subflow_object *o, struct bpf_program *prog,
			 const struct subflow_object_pin *p, enum subflow_log_level level)
{
	struct bpf_link *link;
	int err;

	link = bpf_program__attach(prog);
	if (!link) {
		err = -errno;
		subflow_log(level, "%s: cannot attach %s: %s\n", o->name, p->prog, strerror(-err));
		return err;
	}
	err = subflow_pin_fd(bpf_link__fd(link), p->link, level);
	bpf_link__destroy(link);	/* the pin keeps it attached */
	return err;
}

/* Register struct_ops map p->map through a link, pinned at p->link. */
static int register_struct_ops(const struct subflow_object *o, struct bpf_object *obj,
			       const struct subflow_object_pin *p, enum subflow_log_level level)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, p->map);
	struct bpf_link *staged;
	int link_fd, err;

	if (!map) {
		subflow_log(level, "%s: no struct_ops map %s\n", o->name, p->map);
		return -ENOENT;
	}
	/* Fills the map's value (the programs); with BPF_F_LINK this does not
	 * register yet: the link below does. */
	staged = bpf_map__attach_struct_ops(map);
	if (!staged) {
		err = -errno;
		goto fail;
	}
	bpf_link__disconnect(staged);
	bpf_link__destroy(staged);
	link_fd = bpf_link_create(bpf_map__fd(map), 0, SUBFLOW_BPF_STRUCT_OPS, NULL);
	if (link_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = subflow_pin_fd(link_fd, p->link, level);
	close(link_fd);
	return err;
fail:
	/* The kernel refuses a name it knows, when the map is filled or when
	 * the link registers it. */
	if (err == -EEXIST)
		pr_warn("%s: %s is already registered (by another engine instance or "
			"program: bpftool struct_ops show); going on without registering it\n",
			o->name, p->map);
	else
		subflow_log(level, "%s: cannot register struct_ops %s: %s\n", o->name, p->map,
			    strerror(-err));
	return err;
}

/* Pin the programs of a loaded object (except the marker, which
 * load_locked() pins last) and attach its global links. */
static int pin_object(const struct subflow_object *o, void *skel, enum subflow_log_level level)
{
	struct bpf_object *obj = o->object(skel);
	const struct subflow_object_pin *p;
	struct bpf_program *prog;
	int err = 0;

	subflow_for_each_pin(o, p) {
		if (p->map) {
			err = register_struct_ops(o, obj, p, level);
			if (err == -EEXIST)
				err = 0;	/* taken: the others go on */
			if (err)
				return err;
			continue;
		}
		prog = bpf_object__find_program_by_name(obj, p->prog);
		if (!prog) {
			subflow_log(level, "%s: no program %s\n", o->name, p->prog);
			return -ENOENT;
		}
		if (p != marker())
			err = subflow_pin_fd(bpf_program__fd(prog), p->pin, level);
		if (!err && o->kind == SUBFLOW_OBJ_GLOBAL)
			err = attach_global(o, prog, p, level);
		if (err)
			return err;
	}
	return 0;
}

static int struct_ops_use_links(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		err = bpf_map__set_map_flags(map, bpf_map__map_flags(map) | SUBFLOW_BPF_F_LINK);
		if (err)
			return err;
	}
	return 0;
}

/* The pins one load made or reused: recorded in the engine record. */
struct pin_list {
	char names[SUBFLOW_ENGINE_MAX_PINS][SUBFLOW_PIN_NAME_LEN];
	size_t n;
};

static int pin_list_add(struct pin_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return 0;
	if (l->n == SUBFLOW_ENGINE_MAX_PINS || strlen(name) >= SUBFLOW_PIN_NAME_LEN) {
		pr_err("pin %s does not fit in the engine record\n", name);
		return -E2BIG;
	}
	snprintf(l->names[l->n++], SUBFLOW_PIN_NAME_LEN, "%s", name);
	return 0;
}

static const char *pin_name_of(const struct bpf_map *map)
{
	const char *path = bpf_map__pin_path(map), *slash;

	if (!path)
		return NULL;
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Maps already pinned (left by an earlier engine) are reused by libbpf if
 * compatible: say clearly which one is not, rather than libbpf's EINVAL.
 * Those that are not pinned yet will be created: noted in *created. */
static int check_pinned_maps(struct bpf_object *obj, struct pin_list *created)
{
	struct bpf_map *map;
	const char *name;
	int fd, err;

	bpf_object__for_each_map(map, obj) {
		name = pin_name_of(map);
		if (!name)
			continue;
		fd = subflow_pin_get(name);
		if (fd == -ENOENT) {
			err = pin_list_add(created, name);
			if (err)
				return err;
			continue;
		}
		if (fd < 0)
			return fd;
		err = subflow_map_check(fd, name);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

/* Everything object o pinned (or reused), for the record. */
static int list_object_pins(const struct subflow_object *o, void *skel, struct pin_list *pins)
{
	const struct subflow_object_pin *p;
	struct bpf_map *map;
	int err = 0;

	bpf_object__for_each_map(map, o->object(skel))
		if (!err && bpf_map__is_pinned(map))
			err = pin_list_add(pins, pin_name_of(map));
	subflow_for_each_pin(o, p) {
		if (!err && p->pin)
			err = pin_list_add(pins, p->pin);
		if (!err && has_global_link(o))
			err = pin_list_add(pins, p->link);
	}
	return err;
}

/* Open, prepare, load and pin one object. A required object's failure is
 * returned; an optional one's is a warning (its pins are removed). */
static int load_object(const struct subflow_object *o, const struct bpf_object_open_opts *opts,
		       void **skelp, struct pin_list *pins, struct pin_list *created_maps)
{
	enum subflow_log_level level = o->optional ? SUBFLOW_LOG_WARN : SUBFLOW_LOG_ERROR;
	bool loaded = false;
	void *skel;
	int err;

	*skelp = skel = o->open(opts);
	err = skel ? 0 : -errno;
	if (!err)
		err = check_pinned_maps(o->object(skel), created_maps);
	if (!err && o->kind == SUBFLOW_OBJ_STRUCT_OPS)
		err = struct_ops_use_links(o->object(skel));
	if (!err)
		err = subflow_size_maps(o->object(skel));	/* same sizes in every object */
	if (!err && o->prepare)
		err = o->prepare(skel);
	if (!err)
		err = o->load(skel);
	if (!err) {
		loaded = true;
		err = pin_object(o, skel, level);
	}
	if (!err)
		err = list_object_pins(o, skel, pins);
	if (!err)
		return 0;
	unpin_object(o);
	if (o->optional && err != -EPROTO && o->explain) {
		char why[512];

		o->explain(err, loaded ? "attach" : "load", why, sizeof(why));
		pr_warn("%s unavailable: %s\n", o->name, why);
		return 0;
	}
	if (o->optional && err != -EPROTO) {
		pr_warn("%s unavailable on this kernel (needs %s): %s\n", o->name, o->needs,
			strerror(-err));
		return 0;
	}
	if (!loaded && err != -EPROTO)
		pr_err("cannot load the %s BPF programs: %s (run with -d for the verifier log)\n",
		       o->name, strerror(-err));
	return err;
}

/* Load every object; maps are created, or reused when already pinned, by
 * libbpf's pin_root_path. Programs are pinned so that later processes attach
 * the very same programs (their ids never change while the engine lives).
 * The engine record, then the marker, are pinned last. */
static int load_locked(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = subflow_pin_dir());
	struct pin_list *pins = NULL, *created_maps = NULL;
	struct bpf_program *prog;
	void **skels;
	size_t i;
	int err = 0;

	err = subflow_pin_dir_create();
	if (err)
		return err;
	if (subflow_engine_loaded())
		return subflow_engine_abi_check();
	/* Say what an old kernel lacks rather than show a verifier log. */
	err = subflow_features_require();
	if (err)
		return err;
	skels = calloc(subflow_nr_objects, sizeof(*skels));
	pins = calloc(1, sizeof(*pins));
	created_maps = calloc(1, sizeof(*created_maps));
	if (!skels || !pins || !created_maps) {
		err = -ENOMEM;
		goto out;
	}

	for (i = 0; i < subflow_nr_objects && !err; i++)
		err = load_object(&subflow_objects[i], &opts, &skels[i], pins, created_maps);
	if (!err)
		err = subflow_record_write(pins->names, pins->n);
	if (!err) {
		/* The marker's pin says the engine is loaded: pin it last. */
		prog = bpf_object__find_program_by_name(subflow_objects[0].object(skels[0]),
							marker()->prog);
		err = prog ? subflow_pin_fd(bpf_program__fd(prog), marker()->pin, SUBFLOW_LOG_ERROR)
			   : -ENOENT;
	}
	if (err) {
		unpin(SUBFLOW_ENGINE_RECORD_PIN);
		for (i = subflow_nr_objects; i-- > 0;)
			unpin_object(&subflow_objects[i]);
		for (i = 0; i < created_maps->n; i++)
			unpin(created_maps->names[i]);
	}
out:
	for (i = subflow_nr_objects; skels && i-- > 0;)
		if (skels[i])
			subflow_objects[i].destroy(skels[i]);
	free(created_maps);
	free(pins);
	free(skels);
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

static void cgroup_link_name(char *buf, size_t size, uint64_t cgroup_id,
			     const struct subflow_object_pin *p)
{
	snprintf(buf, size, PIN_LINK_PREFIX "%" PRIu64 "%s", cgroup_id, p->link);
}

bool subflow_cgroup_is_attached(uint64_t cgroup_id)
{
	char name[96];

	cgroup_link_name(name, sizeof(name), cgroup_id, marker());
	return subflow_pin_exists(name);
}

/* The hooks of one cgroup attachment, in table order: the programs of every
 * cgroup object that is loaded (an optional one may not be). */
struct hook {
	const struct subflow_object_pin *pin;
	int link_fd;
};

static size_t collect_hooks(struct hook *hooks)
{
	const struct subflow_object_pin *p;
	size_t n = 0;

	for (size_t i = 0; i < subflow_nr_objects; i++) {
		const struct subflow_object *o = &subflow_objects[i];

		if (o->kind != SUBFLOW_OBJ_CGROUP || (o->optional && !subflow_object_present(o)))
			continue;
		subflow_for_each_pin(o, p) {
			if (hooks)
				hooks[n] = (struct hook){ .pin = p, .link_fd = -1 };
			n++;
		}
	}
	return n;
}

/* Create the links of every hook (all or nothing), then pin them, the
 * marker's last: a half-made attachment is never visible. */
static int attach_hooks(const char *cgroup_path, uint64_t cgroup_id)
{
	size_t i, nr_hooks = collect_hooks(NULL), pinned = 0;
	char name[96], path[PATH_MAX];
	struct hook *hooks;
	int cg_fd, err = 0;

	hooks = calloc(nr_hooks, sizeof(*hooks));
	if (!hooks)
		return -ENOMEM;
	collect_hooks(hooks);
	cg_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		pr_err("cannot open cgroup %s: %s\n", cgroup_path, strerror(-err));
		free(hooks);
		return err;
	}
	for (i = 0; i < nr_hooks; i++) {
		int prog_fd = subflow_pin_get(hooks[i].pin->pin);

		if (prog_fd < 0) {
			err = prog_fd;
			subflow_pin_path(path, sizeof(path), hooks[i].pin->pin);
			pr_err("cannot open pinned program %s: %s\n", path, strerror(-err));
			goto out;
		}
		hooks[i].link_fd = bpf_link_create(prog_fd, cg_fd, hooks[i].pin->attach, NULL);
		close(prog_fd);
		if (hooks[i].link_fd < 0) {
			err = -errno;
			pr_err("cannot attach %s to cgroup %s: %s\n", hooks[i].pin->pin,
			       cgroup_path, strerror(-err));
			goto out;
		}
	}
	/* Reverse order: the marker's link, which marks the attachment, last. */
	for (i = nr_hooks; i-- > 0; pinned++) {
		cgroup_link_name(name, sizeof(name), cgroup_id, hooks[i].pin);
		err = subflow_pin_fd(hooks[i].link_fd, name, SUBFLOW_LOG_ERROR);
		if (err)
			goto out;
	}
out:
	for (i = nr_hooks; err && pinned > 0; pinned--) {
		cgroup_link_name(name, sizeof(name), cgroup_id, hooks[--i].pin);
		unpin(name);
	}
	for (i = 0; i < nr_hooks; i++)
		if (hooks[i].link_fd >= 0)
			close(hooks[i].link_fd);	/* pinned links stay attached */
	close(cg_fd);
	free(hooks);
	return err;
}

/* Detach the link pinned as `name` (bpf_link_detach: whoever else holds
 * the link, it stops running) and remove its pin. Only a link is touched. */
static void detach_link(const char *name)
{
	int fd = subflow_pin_get(name);

	if (fd < 0)
		return;
	if (subflow_bpf_fd_kind(fd) == SUBFLOW_BPF_LINK) {
		if (bpf_link_detach(fd) && errno != EOPNOTSUPP)
			pr_warn("cannot detach link %s: %s\n", name, strerror(errno));
		unpin(name);
	} else {
		pr_warn("left pin %s in place: it is %s, not a link\n", name,
			subflow_bpf_kind_name(subflow_bpf_fd_kind(fd)));
	}
	close(fd);
}

/* Detach every hook of one attachment and remove their pins; the marker's
 * last, so that "attached" holds until nothing is. */
void subflow_detach_hooks_locked(uint64_t cgroup_id)
{
	const struct subflow_object_pin *p;
	char name[96];

	for (size_t i = 0; i < subflow_nr_objects; i++) {
		if (subflow_objects[i].kind != SUBFLOW_OBJ_CGROUP)
			continue;
		subflow_for_each_pin(&subflow_objects[i], p) {
			if (p == marker())
				continue;
			cgroup_link_name(name, sizeof(name), cgroup_id, p);
			detach_link(name);
		}
	}
	cgroup_link_name(name, sizeof(name), cgroup_id, marker());
	detach_link(name);
}

int subflow_cgroup_attach(const char *cgroup_path)
{
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

	if (subflow_cgroup_is_attached(cgroup_id)) {
		pr_err("already attached to cgroup %s\n", cgroup_path);
		err = -EEXIST;
		goto out;
	}
	err = subflow_cgroup_check_nesting(cgroup_id, cgroup_path);
	if (err)
		goto out;
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
	size_t nr_ids = 0, nr_att, nr_sub, i, j, k, kept = 0;
	char real[PATH_MAX];
	int err;

	if (!realpath(cgroup_path, real))
		return -errno;
	err = subflow_cgroup_list_all(&att, &nr_att);
	if (err)
		goto out;
	for (i = 0; i < nr_att; i++)
		if (att[i].path[0] && path_is_under(real, att[i].path))
			goto out;	/* an ancestor still tracks all of it */

	err = subflow_cgroup_subtree_ids_all(real, &ids, &nr_ids);
	if (err)
		goto out;
	for (i = 0; i < nr_att; i++) {
		if (!att[i].path[0] || !path_is_under(att[i].path, real))
			continue;
		/* An attachment below still covers its own subtree: keep it. */
		if (subflow_cgroup_subtree_ids_all(att[i].path, &sub, &nr_sub))
			continue;
		for (j = 0; j < nr_sub; j++)
			for (k = 0; k < nr_ids; k++)
				if (ids[k] == sub[j])
					ids[k] = 0;
		free(sub);
		sub = NULL;
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
	if (!subflow_cgroup_is_attached(cgroup_id)) {
		pr_err("not attached to cgroup %s\n", cgroup_path);
		err = -ENOENT;
		goto out;
	}
	subflow_detach_hooks_locked(cgroup_id);
	/* Its policy goes with it (none is fine), and those of the cgroups
	 * below it, which nothing covers any more. */
	subflow_policy_remove_locked(cgroup_id);
	subflow_remove_uncovered_policies_locked(cgroup_id);
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
	int fd, err;

	memset(att, 0, sizeof(*att));
	att->cgroup_id = strtoull(name + strlen(PIN_LINK_PREFIX), NULL, 10);
	fd = subflow_pin_get(name);
	if (fd < 0)
		return fd;
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
	dir = subflow_pin_dir_opendir();
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

int subflow_list_all(subflow_list_fn list, void *ctx, size_t item_size, void **out,
		     size_t *count)
{
	size_t room = 0, total;
	void *items = NULL, *bigger;
	int err, tries;

	*out = NULL;
	*count = 0;
	/* Each try makes room for what the one before counted, plus some:
	 * only items added meanwhile can outgrow it. */
	for (tries = 0; tries < 8; tries++) {
		err = list(ctx, items, room, &total);
		if (err)
			break;
		if (total <= room) {
			*out = items;
			*count = total;
			return 0;
		}
		room = total + 8;
		bigger = realloc(items, room * item_size);
		if (!bigger) {
			err = -ENOMEM;
			break;
		}
		items = bigger;
	}
	free(items);
	return err ? err : -EAGAIN;
}

static int cgroup_list_items(void *ctx, void *out, size_t max, size_t *count)
{
	(void)ctx;
	return subflow_cgroup_list(out, max, count);
}

int subflow_cgroup_list_all(struct subflow_attachment **out, size_t *count)
{
	void *items;
	int err;

	err = subflow_list_all(cgroup_list_items, NULL, sizeof(**out), &items, count);
	*out = items;
	return err;
}

/* A pin directory made before engine records existed: its marker is our
 * tracker program. Its pins are then the ones this version makes. */
static int legacy_record(struct subflow_engine_record *rec)
{
	struct bpf_prog_info info = {};
	const struct subflow_object_pin *p;
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	fd = subflow_pin_get(marker()->pin);
	if (fd < 0)
		return fd;
	ours = subflow_bpf_fd_kind(fd) == SUBFLOW_BPF_PROG &&
	       !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       !strncmp(info.name, marker()->prog, sizeof(info.name) - 1);
	close(fd);
	if (!ours)
		return -ENOENT;
	memset(rec, 0, sizeof(*rec));
	for (size_t i = 0; i < subflow_nr_objects; i++) {
		subflow_for_each_pin(&subflow_objects[i], p) {
			if (p->pin && rec->nr_pins < SUBFLOW_ENGINE_MAX_PINS)
				snprintf(rec->pins[rec->nr_pins++], SUBFLOW_PIN_NAME_LEN, "%s", p->pin);
			if (has_global_link(&subflow_objects[i]) &&
			    rec->nr_pins < SUBFLOW_ENGINE_MAX_PINS)
				snprintf(rec->pins[rec->nr_pins++], SUBFLOW_PIN_NAME_LEN, "%s", p->link);
		}
	}
	for (int i = 0; i < MAP__COUNT && rec->nr_pins < SUBFLOW_ENGINE_MAX_PINS; i++)
		snprintf(rec->pins[rec->nr_pins++], SUBFLOW_PIN_NAME_LEN, "%s", subflow_map_names[i]);
	return 0;
}

/* What our naming says a recorded pin is. */
static enum subflow_bpf_kind recorded_kind(const char *name)
{
	if (!strncmp(name, "link_", strlen("link_")))
		return SUBFLOW_BPF_LINK;
	if (!strncmp(name, PIN_PROG_PREFIX, strlen(PIN_PROG_PREFIX)))
		return SUBFLOW_BPF_PROG;
	return SUBFLOW_BPF_MAP;
}

/* The ids of the engine's programs, from its recorded program pins. */
static size_t recorded_prog_ids(const struct subflow_engine_record *rec, __u32 *ids)
{
	size_t n = 0;

	for (__u32 i = 0; i < rec->nr_pins; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd;

		if (recorded_kind(rec->pins[i]) != SUBFLOW_BPF_PROG)
			continue;
		fd = subflow_pin_get(rec->pins[i]);
		if (fd < 0)
			continue;
		if (subflow_bpf_fd_kind(fd) == SUBFLOW_BPF_PROG &&
		    !bpf_obj_get_info_by_fd(fd, &info, &len))
			ids[n++] = info.id;
		close(fd);
	}
	return n;
}

/* Detach and unpin the cgroup links of the engine's programs (their pins
 * are named link_cgroup_*; a pin of that name whose link runs another
 * program is left alone). */
static void detach_cgroup_links(const __u32 *prog_ids, size_t nr_ids)
{
	struct dirent *ent;
	DIR *dir = subflow_pin_dir_opendir();

	while (dir && (ent = readdir(dir))) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		bool ours = false;
		int fd;

		if (strncmp(ent->d_name, PIN_LINK_PREFIX, strlen(PIN_LINK_PREFIX)))
			continue;
		fd = subflow_pin_get(ent->d_name);
		if (fd < 0)
			continue;
		if (subflow_bpf_fd_kind(fd) == SUBFLOW_BPF_LINK &&
		    !bpf_obj_get_info_by_fd(fd, &info, &len))
			for (size_t i = 0; i < nr_ids; i++)
				ours |= info.prog_id == prog_ids[i];
		close(fd);
		if (ours)
			detach_link(ent->d_name);
	}
	if (dir)
		closedir(dir);
}

/* Remove a recorded pin if it is the kind of object we pinned there. */
static void remove_recorded(const char *name)
{
	enum subflow_bpf_kind want = recorded_kind(name), kind;
	int fd;

	if (want == SUBFLOW_BPF_LINK) {
		detach_link(name);
		return;
	}
	fd = subflow_pin_get(name);
	if (fd < 0)
		return;
	kind = subflow_bpf_fd_kind(fd);
	close(fd);
	if (kind == want)
		unpin(name);
	else
		pr_warn("left pin %s/%s in place: it is %s, and the engine pinned %s there\n",
			subflow_pin_dir(), name, subflow_bpf_kind_name(kind),
			subflow_bpf_kind_name(want));
}

/* Name what stops the directory from going: nothing the engine made. */
static void report_leftovers(void)
{
	char names[512] = "";
	struct dirent *ent;
	DIR *dir = subflow_pin_dir_opendir();

	while (dir && (ent = readdir(dir))) {
		if (ent->d_name[0] == '.')
			continue;
		if (names[0])
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, ent->d_name, sizeof(names) - strlen(names) - 1);
	}
	if (dir)
		closedir(dir);
	pr_warn("left %s in place: it holds what the engine did not create (%s)\n",
		subflow_pin_dir(), names);
}

int subflow_engine_unload(void)
{
	struct subflow_engine_record *rec;
	__u32 prog_ids[SUBFLOW_ENGINE_MAX_PINS];
	size_t nr_ids;
	int lock_fd, err;

	err = subflow_pin_dir_check();
	if (err)
		return err;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	lock_fd = subflow_lock();
	if (lock_fd < 0) {
		free(rec);
		return lock_fd;
	}
	/* Only an engine's directory, and only what its load created. */
	err = subflow_record_read(rec);
	if (err == -ENOENT)
		err = legacy_record(rec);
	if (err == -ENOENT)
		pr_err("%s holds no subflow engine (no engine record, no tracker program): "
		       "nothing removed\n", subflow_pin_dir());
	if (err)
		goto out;
	/* Links first, so nothing runs while maps go away; the record last. */
	nr_ids = recorded_prog_ids(rec, prog_ids);
	detach_cgroup_links(prog_ids, nr_ids);
	for (int pass = SUBFLOW_BPF_LINK; pass >= SUBFLOW_BPF_MAP; pass--)
		for (__u32 i = 0; i < rec->nr_pins; i++)
			if ((int)recorded_kind(rec->pins[i]) == pass)
				remove_recorded(rec->pins[i]);
	remove_recorded(SUBFLOW_ENGINE_RECORD_PIN);
	subflow_maps_close();
	if (rmdir(subflow_pin_dir())) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			report_leftovers();
		else if (errno != ENOENT)
			pr_warn("cannot remove %s: %s\n", subflow_pin_dir(), strerror(errno));
	}
out:
	subflow_unlock(lock_fd);
	free(rec);
	return err;
}

int subflow_percpu_sums(enum subflow_map_id map, uint32_t n, uint64_t *sums)
{
	int ncpus = libbpf_num_possible_cpus();
	int fd = subflow_map_fd(map);
	uint64_t *percpu;

	if (fd < 0)
		return fd;
	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t key = 0; key < n; key++) {
		sums[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, percpu))
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++)
			sums[key] += percpu[cpu];
	}
	free(percpu);
	return 0;
}

int subflow_get_stats(uint64_t stats[SUBFLOW_STAT_MAX])
{
	return subflow_percpu_sums(MAP_STATS, SUBFLOW_STAT_MAX, stats);
}
