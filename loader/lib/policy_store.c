// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policies in the pinned maps: install (the atomic swap), remove, read back,
 * and the public API on top (load a file or text, unload, one-rule edits).
 *
 * Every load makes a new inner map holding the whole compiled policy (one
 * struct subflow_policy_image), puts it in `policies` under a new
 * generation, then swaps it in with one update of cgroup_policy[cgroup id].
 * Nothing rewrites an image once it is in `policies`, so a BPF program that
 * looked one up evaluates that policy whole: the old one or the new one,
 * never a mix, by construction (and an update of a map-in-map returns only
 * after every program that could still hold the old inner map finished).
 * Until the swap nothing visible has changed, so every failure before it
 * leaves the old policy in force.
 *
 * An update of a map-in-map waits for an RCU grace period in the kernel
 * (maybe_wait_bpf_programs: 8-20 ms on the project's VM, once per call, a
 * batch being one call), so that wait is kept off the way to "in force" and
 * off most changes altogether: SPARES_AHEAD spares, empty inner maps
 * already in `policies` under the next generations, which no cgroup_policy
 * entry names, so no program reads them. A load fills the next one (a plain
 * array update) and swaps at once. Only when SPARES_LOW or fewer are left
 * does a change, after its swap, put the missing ones back in one batch and
 * drop the retired images due (another batch, if any): one change in three
 * waits, for one or two grace periods. Retired images due wait for that, or
 * for RETIRED_BATCH of them; younger ones stay until a later change.
 *
 * A retired image stays SUBFLOW_POLICY_RETAIN_NS in `policies`, so that a
 * subflow admitted under it just before the swap is shaped under it too; it
 * goes at a later change (or sooner, oldest first, when `policies` is
 * full). policy_index keeps the book. Changes run under the pin directory's
 * lock; reads take no lock and retry when a swap raced them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "policy.h"

#define READ_ATTEMPTS 8
#define SPARES_AHEAD	4	/* spares kept under the next generations */
#define SPARES_LOW	1	/* put the missing ones back at this many */
#define RETIRED_BATCH	8	/* retired images due that are dropped without waiting for a refill */
#define SPARE_ROOM_AGE_NS (100ULL * 1000 * 1000)	/* retired images older may make room for spares */

struct policy_maps {
	int policies, index, text, cgroup_policy, count;
};

static int open_policy_maps(struct policy_maps *m)
{
	static const enum subflow_map_id ids[] = {
		MAP_POLICIES, MAP_POLICY_INDEX, MAP_POLICY_TEXT, MAP_CGROUP_POLICY, MAP_POLICY_COUNT,
	};
	int *fds[] = { &m->policies, &m->index, &m->text, &m->cgroup_policy, &m->count };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		*fds[i] = subflow_map_fd(ids[i]);
		if (*fds[i] < 0)
			return *fds[i];
	}
	return 0;
}

static void cgroup_name(uint64_t cgroup_id, char *buf, size_t size)
{
	if (subflow_cgroup_path_of(cgroup_id, buf, size))
		snprintf(buf, size, "with id %" PRIu64, cgroup_id);
}

/* A policy only acts where the engine's programs run. */
static int require_attached(uint64_t cgroup_id, struct policy_maps *maps)
{
	char why[1024], cg[PATH_MAX];
	int err;

	if (!subflow_engine_loaded()) {
		subflow_explain_not_loaded(why, sizeof(why));
		pr_err("%s\n", why);
		return -ENOENT;
	}
	if (!subflow_cgroup_covering(cgroup_id)) {
		cgroup_name(cgroup_id, cg, sizeof(cg));
		pr_err("cgroup %s is not attached, nor below an attached cgroup: use `subflowctl "
		       "cgroup attach CGROUP policy FILE`\n", cg);
		return -ENOENT;
	}
	err = open_policy_maps(maps);
	if (err)
		pr_err("the engine in %s has no policy maps (%s): unload and attach again\n",
		       subflow_pin_dir(), strerror(-err));
	return err;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- the images ------------------------------------------------------------ */

/* The type ids, in the BTF the engine's objects loaded with (that of
 * `policies`), that describe an image and its key: an inner map created
 * with them prints its fields in bpftool. Looked up once per BTF. */
struct image_btf {
	__u32 btf_id;
	__u32 key_type_id, value_type_id;
};

static int image_btf_of(int policies_fd, struct image_btf *out)
{
	static __thread struct image_btf cached;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct btf *btf;
	int id;

	memset(out, 0, sizeof(*out));
	if (bpf_obj_get_info_by_fd(policies_fd, &info, &len))
		return -errno;
	if (!info.btf_id)
		return -ENOENT;
	if (cached.btf_id == info.btf_id) {
		*out = cached;
		return 0;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "subflow_policy_image", BTF_KIND_STRUCT);
	out->value_type_id = id > 0 ? id : 0;
	id = btf__find_by_name_kind(btf, "__u32", BTF_KIND_TYPEDEF);
	out->key_type_id = id > 0 ? id : 0;
	btf__free(btf);
	if (!out->value_type_id || !out->key_type_id)
		return -ENOENT;
	out->btf_id = info.btf_id;
	cached = *out;
	return 0;
}

/* A new inner map holding `img`, with BTF when the engine's is found (the
 * kernel checks only type and sizes against `policies`' inner map). */
static int create_image_map(const struct policy_maps *m, const struct subflow_policy_image *img)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct image_btf ib;
	int fd, btf_fd = -1, err = 0;
	__u32 zero = 0;

	if (!image_btf_of(m->policies, &ib)) {
		btf_fd = bpf_btf_get_fd_by_id(ib.btf_id);
		if (btf_fd >= 0) {
			opts.btf_fd = btf_fd;
			opts.btf_key_type_id = ib.key_type_id;
			opts.btf_value_type_id = ib.value_type_id;
		}
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "subflow_policy", sizeof(__u32), sizeof(*img), 1,
			    &opts);
	if (fd < 0)
		err = -errno;
	if (btf_fd >= 0)
		close(btf_fd);
	if (err)
		return err;
	if (bpf_map_update_elem(fd, &zero, img, BPF_ANY)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Read the image of `generation` into *img. -ENOENT: no such image. */
static int read_image(const struct policy_maps *m, uint64_t generation,
		      struct subflow_policy_image *img)
{
	__u32 inner_id, zero = 0;
	int fd, err = 0;

	if (bpf_map_lookup_elem(m->policies, &generation, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, img))
		err = -errno;
	close(fd);
	return err;
}

/* Remove the image of `generation`, its text and its entry. */
static void drop_image(const struct policy_maps *m, uint64_t generation)
{
	bpf_map_delete_elem(m->policies, &generation);	/* waits for running programs */
	bpf_map_delete_elem(m->text, &generation);
	bpf_map_delete_elem(m->index, &generation);
}

/* Drop retired images, all in one batch (one grace period for all, not one
 * each): those retired SUBFLOW_POLICY_RETAIN_NS ago, once there are
 * `min_due` of them, and, while `room` more are needed in a full
 * `policies`, the oldest retired at least `evict_age_ns` ago. Returns
 * -ENOSPC when there is still no room. */
static int collect_retired(const struct policy_maps *m, unsigned int room, unsigned int min_due,
			   uint64_t evict_age_ns)
{
	uint64_t key, next, *prev = NULL, now = boottime_ns(), doomed[SUBFLOW_MAX_POLICIES];
	struct subflow_policy_entry e, retired[SUBFLOW_MAX_POLICIES];
	uint64_t retired_gen[SUBFLOW_MAX_POLICIES];
	unsigned int n = 0, nr_due = 0, nr_doomed, nr_retired = 0;

	while (!bpf_map_get_next_key(m->index, prev, &next)) {
		key = next;
		prev = &key;
		n++;
		if (bpf_map_lookup_elem(m->index, &key, &e) || !e.retired_ns)
			continue;
		if (now - e.retired_ns >= SUBFLOW_POLICY_RETAIN_NS && nr_due < SUBFLOW_MAX_POLICIES) {
			doomed[nr_due++] = key;
		} else if (nr_retired < SUBFLOW_MAX_POLICIES) {
			retired[nr_retired] = e;
			retired_gen[nr_retired++] = key;
		}
	}
	/* Too few due to be worth a wait: they stay (they are the oldest,
	 * so the first to go if room is short). */
	nr_doomed = nr_due >= min_due ? nr_due : 0;
	for (unsigned int i = 0; i < nr_due && !nr_doomed && nr_retired < SUBFLOW_MAX_POLICIES; i++) {
		if (bpf_map_lookup_elem(m->index, &doomed[i], &retired[nr_retired]))
			continue;
		retired_gen[nr_retired++] = doomed[i];
	}
	/* Still full: the oldest retired ones, in the order they retired. */
	while (n - nr_doomed + room > SUBFLOW_MAX_POLICIES && nr_retired) {
		unsigned int oldest = 0;

		for (unsigned int i = 1; i < nr_retired; i++)
			if (retired[i].retired_ns < retired[oldest].retired_ns)
				oldest = i;
		if (now - retired[oldest].retired_ns < evict_age_ns)
			break;
		pr_debug("evicting policy generation %" PRIu64 ", retired %" PRIu64 " ms ago\n",
			 retired_gen[oldest], (uint64_t)((now - retired[oldest].retired_ns) / 1000000));
		doomed[nr_doomed++] = retired_gen[oldest];
		retired[oldest] = retired[nr_retired - 1];
		retired_gen[oldest] = retired_gen[--nr_retired];
	}
	if (nr_doomed) {
		__u32 count = nr_doomed;

		if (bpf_map_delete_batch(m->policies, doomed, &count, NULL))
			for (unsigned int i = 0; i < nr_doomed; i++)
				bpf_map_delete_elem(m->policies, &doomed[i]);
		for (unsigned int i = 0; i < nr_doomed; i++)
			drop_image(m, doomed[i]);	/* text and index; the image is gone */
	}
	return n - nr_doomed + room > SUBFLOW_MAX_POLICIES ? -ENOSPC : 0;
}

/* policy_count: how many cgroups have a policy (so that new subflows skip
 * the cgroup walk while there is none), and the last generation given. */
static int write_policy_count(const struct policy_maps *m, uint64_t last_generation)
{
	struct subflow_policy_count pc = { .last_generation = last_generation };
	uint64_t key, next, *prev = NULL;
	__u32 zero = 0;

	while (!bpf_map_get_next_key(m->cgroup_policy, prev, &next)) {
		key = next;
		prev = &key;
		pc.nr_policies++;
	}
	return bpf_map_update_elem(m->count, &zero, &pc, BPF_ANY) ? -errno : 0;
}

static uint64_t last_generation(const struct policy_maps *m)
{
	struct subflow_policy_count pc = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(m->count, &zero, &pc);
	return pc.last_generation;
}

/* Whether any cgroup still has a policy. */
static bool policies_left(const struct policy_maps *m)
{
	uint64_t key;

	return !bpf_map_get_next_key(m->cgroup_policy, NULL, &key);
}

/* Whether a cgroup_policy entry names `generation`. */
static bool generation_in_use(const struct policy_maps *m, uint64_t generation)
{
	struct subflow_cgroup_policy cp;
	uint64_t key, next, *prev = NULL;

	while (!bpf_map_get_next_key(m->cgroup_policy, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(m->cgroup_policy, &key, &cp) && cp.generation == generation)
			return true;
	}
	return false;
}

/* The spare of `generation`, filled with img: its fd, or -ENOENT when there
 * is none. A spare is a key of `policies` with no policy_index entry that
 * no cgroup_policy entry names (one an orchestrator put there with bpftool
 * and pointed a cgroup at is a policy, never rewritten). */
static int fill_spare(const struct policy_maps *m, uint64_t generation,
		      const struct subflow_policy_image *img)
{
	struct subflow_policy_entry e;
	__u32 inner_id, zero = 0;
	int fd;

	if (!bpf_map_lookup_elem(m->index, &generation, &e) || generation_in_use(m, generation))
		return -ENOENT;	/* a policy's image: never rewritten */
	if (bpf_map_lookup_elem(m->policies, &generation, &inner_id))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -ENOENT;
	if (bpf_map_update_elem(fd, &zero, img, BPF_ANY)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* How many spares follow generation `last`: the generations after it that
 * are keys of `policies` with no policy_index entry, counted until the
 * first that is not (spares are put back in order, so they are consecutive). */
static unsigned int spares_after(const struct policy_maps *m, uint64_t last)
{
	struct subflow_policy_entry e;
	unsigned int n = 0;
	__u32 inner_id;

	for (uint64_t g = last + 1; g <= last + SPARES_AHEAD; g++) {
		/* An orchestrator's image that a cgroup names is no spare. */
		if (bpf_map_lookup_elem(m->policies, &g, &inner_id) ||
		    !bpf_map_lookup_elem(m->index, &g, &e) || generation_in_use(m, g))
			break;
		n++;
	}
	return n;
}

/* After a change that left SPARES_LOW spares or fewer after generation
 * `last`: put the missing ones in `policies`, in one batch (one grace
 * period for all), so that the next changes wait for none. Best effort: a
 * full `policies` takes as many as it has room for (the batch stops at the
 * first it cannot take), and a load with no spare makes its own. */
static void add_spares(const struct policy_maps *m, uint64_t last)
{
	struct subflow_policy_image *empty;
	unsigned int have = spares_after(m, last), n = 0, used = 0;
	uint64_t keys[SPARES_AHEAD];
	int fds[SPARES_AHEAD];
	__u32 count, inner_id;

	if (have > SPARES_LOW)
		return;
	/* As many as `policies` has room for: a batch that fails at its
	 * first element would still cost the maps made for it. */
	for (uint64_t key, next, *prev = NULL; !bpf_map_get_next_key(m->policies, prev, &next);
	     key = next, prev = &key)
		used++;
	if (used >= SUBFLOW_MAX_POLICIES)
		return;
	empty = calloc(1, sizeof(*empty));
	if (!empty)
		return;
	for (unsigned int i = have; i < SPARES_AHEAD && used + n < SUBFLOW_MAX_POLICIES; i++) {
		keys[n] = last + 1 + i;
		/* The batch takes no BPF_NOEXIST (only BPF_F_LOCK): a key
		 * taken already (an orchestrator's entry) ends the spares. */
		if (!bpf_map_lookup_elem(m->policies, &keys[n], &inner_id))
			break;
		fds[n] = create_image_map(m, empty);
		if (fds[n] < 0)
			break;
		n++;
	}
	free(empty);
	count = n;
	if (n && bpf_map_update_batch(m->policies, keys, fds, &count, NULL))
		pr_debug("%u of %u spare policy maps put in: %s\n", count, n, strerror(errno));
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);	/* `policies` holds those it took */
}

/* Drop the spares after generation `last`: when no policy is left, no
 * spare stays in the maps (retired images younger than
 * SUBFLOW_POLICY_RETAIN_NS go at a later change); a load whose generation
 * jumps past them would leave them behind. */
static void drop_spares(const struct policy_maps *m, uint64_t last)
{
	unsigned int n = spares_after(m, last);
	uint64_t keys[SPARES_AHEAD];
	__u32 count = n;

	for (unsigned int i = 0; i < n; i++)
		keys[i] = last + 1 + i;
	if (n && bpf_map_delete_batch(m->policies, keys, &count, NULL))
		for (unsigned int i = 0; i < n; i++)
			bpf_map_delete_elem(m->policies, &keys[i]);
}

int subflow_policy_install_locked(uint64_t cgroup_id, const struct subflow_compiled_policy *c,
				  struct subflow_cgroup_policy *installed)
{
	struct subflow_cgroup_policy old = {}, new = {};
	struct subflow_policy_entry entry = {};
	struct subflow_policy_image *img = NULL;
	struct subflow_policy_text *text = NULL;
	struct policy_maps m;
	uint64_t generation, netns_cookie = 0, now;
	bool had_old, spare;
	int inner_fd = -1, err;

	err = require_attached(cgroup_id, &m);
	if (err)
		return err;
	if (c->meta.nr_rules > SUBFLOW_POLICY_RULES || c->meta.nr_paths > SUBFLOW_POLICY_PATHS)
		return -EINVAL;
	img = calloc(1, sizeof(*img));
	text = calloc(1, sizeof(*text));
	if (!img || !text) {
		err = -ENOMEM;
		goto out;
	}
	had_old = !bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &old);
	generation = last_generation(&m) + 1;
	if (had_old && old.generation >= generation)
		generation = old.generation + 1;
	subflow_current_netns(&netns_cookie);	/* where the devices were resolved */
	now = boottime_ns();

	img->meta = c->meta;
	img->meta.generation = generation;
	img->meta.loaded_ns = now;
	img->meta.cgroup_id = cgroup_id;
	img->meta.netns_cookie = netns_cookie;
	memcpy(img->rules, c->rules, sizeof(img->rules));
	memcpy(img->paths, c->paths, sizeof(img->paths));
	snprintf(text->text, sizeof(text->text), "%s", c->text);
	entry.cgroup_id = cgroup_id;
	entry.loaded_ns = now;

	inner_fd = fill_spare(&m, generation, img);
	spare = inner_fd >= 0;
	if (!spare) {
		/* No spare (the first load, `policies` full, or a generation
		 * jump past the spares, which go first): make
		 * room, and an inner map, and wait for the grace period. */
		if (generation != last_generation(&m) + 1)
			drop_spares(&m, last_generation(&m));
		err = collect_retired(&m, 1, 1, 0);
		if (err) {
			pr_err("no room for a new policy: %d policies are in force already\n",
			       SUBFLOW_MAX_POLICIES);
			goto out;
		}
		inner_fd = create_image_map(&m, img);
		if (inner_fd < 0) {
			err = inner_fd;
			pr_err("cannot create the policy's map: %s\n", strerror(-err));
			goto out;
		}
	}
	if (bpf_map_update_elem(m.text, &generation, text, BPF_NOEXIST) ||
	    bpf_map_update_elem(m.index, &generation, &entry, BPF_NOEXIST) ||
	    (!spare && bpf_map_update_elem(m.policies, &generation, &inner_fd, BPF_NOEXIST))) {
		err = -errno;
		pr_err("cannot store policy generation %" PRIu64 ": %s\n", generation, strerror(-err));
		drop_image(&m, generation);
		goto out;
	}

	/* The swap: from this update on, the programs use the new policy. */
	new.generation = generation;
	if (bpf_map_update_elem(m.cgroup_policy, &cgroup_id, &new, BPF_ANY)) {
		err = -errno;
		pr_err("cannot switch the cgroup to its new policy: %s\n", strerror(-err));
		drop_image(&m, generation);
		goto out;
	}
	if (had_old && !bpf_map_lookup_elem(m.index, &old.generation, &entry)) {
		entry.retired_ns = boottime_ns();
		bpf_map_update_elem(m.index, &old.generation, &entry, BPF_EXIST);
	}
	err = write_policy_count(&m, generation);
	if (err)
		pr_warn("cannot count the policies (policy_count): %s\n", strerror(-err));
	err = 0;
	if (installed)
		*installed = new;
	pr_debug("policy generation %" PRIu64 " in force for cgroup %" PRIu64 "\n", generation,
		 cgroup_id);
	/* In force: now the waits, when they are due. */
	if (spares_after(&m, generation) <= SPARES_LOW) {
		/* Room for the spares too, from images retired long enough
		 * ago that no subflow can still be between its admission
		 * and its shaping (the same system call, or the kernel's
		 * worker, microseconds apart): under a burst of loads,
		 * retired images would fill `policies` and leave no room
		 * for spares. */
		collect_retired(&m, SPARES_AHEAD, 1, SPARE_ROOM_AGE_NS);
		add_spares(&m, generation);
	} else {
		collect_retired(&m, 0, RETIRED_BATCH, 0);
	}
out:
	if (inner_fd >= 0)
		close(inner_fd);	/* `policies` holds it */
	free(text);
	free(img);
	return err;
}

int subflow_policy_require_attached(uint64_t cgroup_id)
{
	struct policy_maps m;

	return require_attached(cgroup_id, &m);
}

int subflow_policy_install(uint64_t cgroup_id, const struct subflow_compiled_policy *c,
			   struct subflow_cgroup_policy *installed)
{
	int lock_fd, err;

	err = subflow_policy_require_attached(cgroup_id);
	if (err)
		return err;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	err = subflow_policy_install_locked(cgroup_id, c, installed);
	subflow_unlock(lock_fd);
	return err;
}

/* The cgroup's policy goes, and its image with it: a subflow admitted under
 * it in the last instant gets no options (counted, policy_gone). */
int subflow_policy_remove_locked(uint64_t cgroup_id)
{
	struct subflow_cgroup_policy cp;
	struct policy_maps m;
	int err;

	err = open_policy_maps(&m);
	if (err)
		return err;
	if (bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &cp))
		return -ENOENT;
	if (bpf_map_delete_elem(m.cgroup_policy, &cgroup_id))
		return errno == ENOENT ? -ENOENT : -errno;
	drop_image(&m, cp.generation);
	err = write_policy_count(&m, last_generation(&m));
	if (err)
		pr_warn("cannot count the policies (policy_count): %s\n", strerror(-err));
	collect_retired(&m, 0, 1, 0);
	if (!policies_left(&m))
		drop_spares(&m, last_generation(&m));
	return 0;
}

int subflow_policy_remove(uint64_t cgroup_id)
{
	int lock_fd, err;

	if (!subflow_engine_loaded())
		return -ENOENT;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	err = subflow_policy_remove_locked(cgroup_id);
	subflow_unlock(lock_fd);
	return err;
}

/* ---- reading back -------------------------------------------------------- */

int subflow_policy_read(uint64_t cgroup_id, struct subflow_policy_state *out)
{
	struct subflow_cgroup_policy cp, again;
	struct subflow_policy_image *img;
	struct subflow_policy_text *text;
	struct policy_maps m;
	int err, attempt;

	err = open_policy_maps(&m);
	if (err)
		return err;
	img = malloc(sizeof(*img));
	text = malloc(sizeof(*text));
	if (!img || !text) {
		err = -ENOMEM;
		goto out;
	}
	err = -EAGAIN;
	for (attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
		if (bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &cp)) {
			err = errno == ENOENT ? -ENOENT : -errno;
			break;
		}
		/* Gone meanwhile (a swap, then its collection): read again. */
		if (read_image(&m, cp.generation, img))
			continue;
		if (bpf_map_lookup_elem(m.text, &cp.generation, text))
			text->text[0] = '\0';
		if (bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &again) ||
		    again.generation != cp.generation)
			continue;
		out->cgroup_id = cgroup_id;
		out->meta = img->meta;
		memcpy(out->rules, img->rules, sizeof(out->rules));
		memcpy(out->paths, img->paths, sizeof(out->paths));
		memcpy(out->rule_hits, img->rule_hits, sizeof(out->rule_hits));
		memcpy(out->path_denials, img->path_denials, sizeof(out->path_denials));
		out->no_match = img->no_match;
		snprintf(out->text, sizeof(out->text), "%.*s", (int)sizeof(text->text), text->text);
		err = 0;
		break;
	}
out:
	free(text);
	free(img);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One walk of the map gives them all, in an array grown as it goes: no
 * count ahead, so nothing added meanwhile can outgrow it. */
int subflow_policy_list_all(uint64_t **ids, size_t *count)
{
	uint64_t key, next, *prev = NULL, *all = NULL, *grown;
	size_t n = 0, cap = 0;
	int fd = subflow_map_fd(MAP_CGROUP_POLICY);

	*ids = NULL;
	*count = 0;
	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(all, cap * sizeof(*all));
			if (!grown) {
				free(all);
				return -ENOMEM;
			}
			all = grown;
		}
		all[n++] = key;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_u64);
	else {
		free(all);
		all = NULL;
	}
	*ids = all;
	*count = n;
	return 0;
}

int subflow_policy_list(uint64_t *ids, size_t max, size_t *count)
{
	uint64_t *all;
	int err;

	err = subflow_policy_list_all(&all, count);
	if (err)
		return err;
	for (size_t i = 0; i < *count && i < max; i++)
		ids[i] = all[i];
	free(all);
	return 0;
}

/* ---- public API ---------------------------------------------------------- */

/* pr_warn says "warning" already: "FILE:LINE:1: path NAME: ..." */
static void log_warnings(const struct subflow_compiled_policy *c)
{
	const char *w, *tag;

	for (unsigned int i = 0; i < c->nr_warnings; i++) {
		w = c->warnings[i];
		tag = strstr(w, " warning: ");
		if (tag)
			pr_warn("%.*s %s\n", (int)(tag - w), w, tag + strlen(" warning: "));
		else
			pr_warn("%s\n", w);
	}
}

/* The target first, so that a load for a cgroup that is not attached says
 * so at once rather than after the policy's own errors. */
static int load_target(const char *cgroup_path, uint64_t *cgroup_id)
{
	int err;

	if (!cgroup_path)
		return -EINVAL;
	err = subflow_cgroup_id_of(cgroup_path, cgroup_id);
	return err ? err : subflow_policy_require_attached(*cgroup_id);
}

int subflow_policy_load_file(const char *cgroup_path, const char *file,
			     struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *c;
	uint64_t cgroup_id;
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!file)
		return -EINVAL;
	err = load_target(cgroup_path, &cgroup_id);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = subflow_policy_compile_file(file, c, NULL, errs);
	if (!err) {
		log_warnings(c);
		err = subflow_policy_install(cgroup_id, c, NULL);
	}
	free(c);
	return err;
}

int subflow_policy_load_text(const char *cgroup_path, const char *text, size_t len,
			     const char *name, struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *c;
	uint64_t cgroup_id;
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!text && len)
		return -EINVAL;
	err = load_target(cgroup_path, &cgroup_id);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = subflow_policy_compile_text(text, len, name, c, NULL, errs);
	if (!err) {
		log_warnings(c);
		err = subflow_policy_install(cgroup_id, c, NULL);
	}
	free(c);
	return err;
}

int subflow_policy_unload(const char *cgroup_path)
{
	uint64_t cgroup_id;
	int err;

	if (!cgroup_path)
		return -EINVAL;
	err = subflow_cgroup_id_of(cgroup_path, &cgroup_id);
	if (err)
		return err;
	if (!subflow_engine_loaded()) {
		char why[1024];

		subflow_explain_not_loaded(why, sizeof(why));
		pr_err("%s\n", why);
		return -ENOENT;
	}
	err = subflow_policy_remove(cgroup_id);
	if (err == -ENOENT)
		pr_err("cgroup %s has no policy\n", cgroup_path);
	return err;
}

/* ---- one-rule edits ------------------------------------------------------ */

/* Read the slot's canonical text, edit it, and install the result into a
 * new slot, all under the lock so that two editors cannot lose an update. */
static int edit_rule(const char *cgroup_path, enum subflow_rule_edit op, unsigned int index,
		     const char *rule_text, struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *compiled = NULL;
	struct subflow_policy_state *state = NULL;
	struct subflow_policy *policy = NULL;
	struct policy_maps m;
	char name[PATH_MAX + 16], *text = NULL;
	uint64_t cgroup_id;
	int lock_fd, err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!cgroup_path || (op != SUBFLOW_RULE_DELETE && !rule_text))
		return -EINVAL;
	err = load_target(cgroup_path, &cgroup_id);
	if (err)
		return err;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	err = require_attached(cgroup_id, &m);
	if (err)
		goto out;
	state = calloc(1, sizeof(*state));
	policy = calloc(1, sizeof(*policy));
	compiled = calloc(1, sizeof(*compiled));
	text = malloc(SUBFLOW_POLICY_TEXT_MAX);
	err = -ENOMEM;
	if (!state || !policy || !compiled || !text)
		goto out;
	err = subflow_policy_read(cgroup_id, state);
	if (err == -ENOENT)
		pr_err("cgroup %s has no policy to edit: load one with `subflowctl policy load %s FILE`\n",
		       cgroup_path, cgroup_path);
	if (err)
		goto out;
	snprintf(name, sizeof(name), "%s policy", cgroup_path);
	err = subflow_policy_parse(state->text, strlen(state->text), name, policy, NULL);
	if (err) {
		pr_err("the stored policy of cgroup %s does not parse (%s): load it again\n",
		       cgroup_path, strerror(-err));
		goto out;
	}
	err = subflow_policy_edit(policy, op, index, rule_text, errs);
	if (!err)
		err = subflow_policy_format(policy, text, SUBFLOW_POLICY_TEXT_MAX);
	if (!err)
		err = subflow_policy_compile_text(text, strlen(text), name, compiled, NULL, errs);
	if (!err)
		log_warnings(compiled);
	if (!err)
		err = subflow_policy_install_locked(cgroup_id, compiled, NULL);
out:
	free(text);
	free(compiled);
	free(policy);
	free(state);
	subflow_unlock(lock_fd);
	return err;
}

int subflow_policy_set_rule(const char *cgroup_path, unsigned int index, const char *rule_text,
			    struct subflow_policy_errors *errs)
{
	return edit_rule(cgroup_path, SUBFLOW_RULE_SET, index, rule_text, errs);
}

int subflow_policy_insert_rule(const char *cgroup_path, unsigned int index,
			       const char *rule_text, struct subflow_policy_errors *errs)
{
	return edit_rule(cgroup_path, SUBFLOW_RULE_INSERT, index, rule_text, errs);
}

int subflow_policy_delete_rule(const char *cgroup_path, unsigned int index)
{
	return edit_rule(cgroup_path, SUBFLOW_RULE_DELETE, index, NULL, NULL);
}
