// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policies in the pinned maps: install (the atomic swap), remove, read back,
 * and the public API on top (load a file or text, unload, one-rule edits).
 *
 * A new policy is written into a slot that no cgroup references, then one
 * update of cgroup_policy[cgroup id] swaps it in: a BPF program looks the
 * cgroup's slot up once per decision, so it sees the old policy or the new
 * one, never a mix. Until that update nothing visible has changed, so every
 * failure before it leaves the old policy in force. Changes run under the pin
 * directory's lock; reads take no lock and retry when a swap raced them.
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
#include <bpf/libbpf.h>
#include "internal.h"
#include "policy.h"

#define READ_ATTEMPTS 8

struct policy_maps {
	int rules, paths, meta, text, cgroup_policy, rule_hits, path_denials, no_match;
};

static int open_policy_maps(struct policy_maps *m)
{
	static const enum subflow_map_id ids[] = {
		MAP_POLICY_RULES, MAP_POLICY_PATHS, MAP_POLICY_META, MAP_POLICY_TEXT,
		MAP_CGROUP_POLICY, MAP_RULE_HITS, MAP_PATH_DENIALS, MAP_POLICY_NO_MATCH,
	};
	int *fds[] = {
		&m->rules, &m->paths, &m->meta, &m->text,
		&m->cgroup_policy, &m->rule_hits, &m->path_denials, &m->no_match,
	};

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

/* ---- per-CPU counters ---------------------------------------------------- */

static int possible_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : -EINVAL;
}

static int zero_percpu(int fd, uint32_t first, uint32_t count)
{
	int ncpus = possible_cpus(), err = 0;
	uint64_t *zeros;

	if (ncpus < 0)
		return ncpus;
	zeros = calloc(ncpus, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	for (uint32_t key = first; key < first + count && !err; key++)
		if (bpf_map_update_elem(fd, &key, zeros, BPF_ANY))
			err = -errno;
	free(zeros);
	return err;
}

static int sum_percpu(int fd, uint32_t first, uint32_t count, uint64_t *sums)
{
	int ncpus = possible_cpus(), err = 0;
	uint64_t *values;

	if (ncpus < 0)
		return ncpus;
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t key = first + i;

		sums[i] = 0;
		if (bpf_map_lookup_elem(fd, &key, values)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpus; cpu++)
			sums[i] += values[cpu];
	}
	free(values);
	return err;
}

/* policy_count.nr_policies: how many cgroups have a policy, so that new
 * subflows skip the cgroup walk while there is none. Rewritten after every
 * change, under the lock. */
static int update_policy_count(const struct policy_maps *m)
{
	struct subflow_policy_count ps = {};
	uint64_t key, next, *prev = NULL;
	int fd = subflow_map_fd(MAP_POLICY_COUNT);
	__u32 zero = 0;

	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(m->cgroup_policy, prev, &next)) {
		key = next;
		prev = &key;
		ps.nr_policies++;
	}
	return bpf_map_update_elem(fd, &zero, &ps, BPF_ANY) ? -errno : 0;
}

/* ---- slots --------------------------------------------------------------- */

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Which slots cgroup_policy references. */
static int referenced_slots(const struct policy_maps *m, bool referenced[SUBFLOW_POLICY_SLOTS])
{
	struct subflow_cgroup_policy value;
	uint64_t key, next;
	uint64_t *prev = NULL;

	memset(referenced, 0, SUBFLOW_POLICY_SLOTS * sizeof(bool));
	while (!bpf_map_get_next_key(m->cgroup_policy, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(m->cgroup_policy, &key, &value) &&
		    value.slot < SUBFLOW_POLICY_SLOTS)
			referenced[value.slot] = true;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* A free slot: never used if any, else the unreferenced one retired longest
 * ago, so that the slot a swap just retired (which a BPF program may still be
 * reading) is the last to be rewritten. */
static int pick_slot(const struct policy_maps *m, uint32_t *slot, uint64_t *max_generation,
		     struct subflow_policy_meta *old_meta)
{
	struct subflow_policy_meta metas[SUBFLOW_POLICY_SLOTS];
	bool referenced[SUBFLOW_POLICY_SLOTS];
	int best = -1, err;

	err = referenced_slots(m, referenced);
	if (err)
		return err;
	*max_generation = 0;
	for (uint32_t s = 0; s < SUBFLOW_POLICY_SLOTS; s++) {
		if (bpf_map_lookup_elem(m->meta, &s, &metas[s]))
			return -errno;
		if (metas[s].generation > *max_generation)
			*max_generation = metas[s].generation;
	}
	for (int s = 0; s < SUBFLOW_POLICY_SLOTS; s++) {
		if (referenced[s])
			continue;
		if (!metas[s].generation) {
			best = s;
			break;
		}
		if (best < 0 || metas[s].generation < metas[best].generation)
			best = s;
	}
	if (best < 0) {
		pr_err("no free policy slot: %d cgroups have a policy already\n",
		       SUBFLOW_POLICY_SLOTS);
		return -ENOSPC;
	}
	*slot = best;
	*old_meta = metas[best];
	return 0;
}

static int write_slot(const struct policy_maps *m, uint32_t slot,
		      const struct subflow_compiled_policy *c)
{
	struct subflow_policy_text *text;
	uint32_t key, i;
	int err = 0;

	for (i = 0; i < SUBFLOW_POLICY_RULES && !err; i++) {
		key = slot * SUBFLOW_POLICY_RULES + i;
		if (bpf_map_update_elem(m->rules, &key, &c->rules[i], BPF_ANY))
			err = -errno;
	}
	for (i = 0; i < SUBFLOW_POLICY_PATHS && !err; i++) {
		key = slot * SUBFLOW_POLICY_PATHS + i;
		if (bpf_map_update_elem(m->paths, &key, &c->paths[i], BPF_ANY))
			err = -errno;
	}
	if (!err)
		err = zero_percpu(m->rule_hits, slot * SUBFLOW_POLICY_RULES, SUBFLOW_POLICY_RULES);
	if (!err)
		err = zero_percpu(m->path_denials, slot * SUBFLOW_POLICY_PATHS, SUBFLOW_POLICY_PATHS);
	if (!err)
		err = zero_percpu(m->no_match, slot, 1);
	if (err)
		return err;

	text = calloc(1, sizeof(*text));
	if (!text)
		return -ENOMEM;
	snprintf(text->text, sizeof(text->text), "%s", c->text);
	if (bpf_map_update_elem(m->text, &slot, text, BPF_ANY))
		err = -errno;
	free(text);
	return err;
}

int subflow_policy_install_locked(uint64_t cgroup_id, const struct subflow_compiled_policy *c,
				  struct subflow_cgroup_policy *installed)
{
	struct subflow_cgroup_policy old = {}, new = {};
	struct subflow_policy_meta meta, old_meta;
	struct policy_maps m;
	uint64_t max_generation;
	bool had_old;
	uint32_t slot;
	int err;

	err = require_attached(cgroup_id, &m);
	if (err)
		return err;
	if (c->meta.nr_rules > SUBFLOW_POLICY_RULES || c->meta.nr_paths > SUBFLOW_POLICY_PATHS)
		return -EINVAL;
	err = pick_slot(&m, &slot, &max_generation, &old_meta);
	if (err)
		return err;
	had_old = !bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &old);

	err = write_slot(&m, slot, c);
	if (err) {
		pr_err("cannot write policy slot %u: %s\n", slot, strerror(-err));
		goto undo_text;
	}
	meta = c->meta;
	meta.generation = max_generation + 1;
	meta.loaded_ns = boottime_ns();
	meta.cgroup_id = cgroup_id;
	if (bpf_map_update_elem(m.meta, &slot, &meta, BPF_ANY)) {
		err = -errno;
		pr_err("cannot write policy slot %u: %s\n", slot, strerror(-err));
		goto undo_text;
	}

	/* The swap: from this update on, the programs use the new policy. */
	new.slot = slot;
	new.generation = meta.generation;
	if (bpf_map_update_elem(m.cgroup_policy, &cgroup_id, &new, BPF_ANY)) {
		err = -errno;
		pr_err("cannot switch the cgroup to its new policy: %s\n", strerror(-err));
		bpf_map_update_elem(m.meta, &slot, &old_meta, BPF_ANY);
		goto undo_text;
	}
	if (had_old && old.slot != slot && old.slot < SUBFLOW_POLICY_SLOTS)
		bpf_map_delete_elem(m.text, &old.slot);	/* only `show` reads it */
	err = update_policy_count(&m);
	if (err)
		pr_warn("cannot count the policies (policy_count): %s\n", strerror(-err));
	if (installed)
		*installed = new;
	pr_debug("policy generation %" PRIu64 " in slot %u for cgroup %" PRIu64 "\n",
		 (uint64_t)meta.generation, slot, cgroup_id);
	return 0;

undo_text:
	bpf_map_delete_elem(m.text, &slot);
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
	if (cp.slot < SUBFLOW_POLICY_SLOTS)
		bpf_map_delete_elem(m.text, &cp.slot);
	err = update_policy_count(&m);
	if (err)
		pr_warn("cannot count the policies (policy_count): %s\n", strerror(-err));
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

static int read_slot(const struct policy_maps *m, uint32_t slot, struct subflow_policy_state *out)
{
	struct subflow_policy_text *text;
	uint32_t key, i;
	int err;

	memset(out->rules, 0, sizeof(out->rules));
	memset(out->paths, 0, sizeof(out->paths));
	for (i = 0; i < out->meta.nr_rules && i < SUBFLOW_POLICY_RULES; i++) {
		key = slot * SUBFLOW_POLICY_RULES + i;
		if (bpf_map_lookup_elem(m->rules, &key, &out->rules[i]))
			return -errno;
	}
	for (i = 0; i < out->meta.nr_paths && i < SUBFLOW_POLICY_PATHS; i++) {
		key = slot * SUBFLOW_POLICY_PATHS + i;
		if (bpf_map_lookup_elem(m->paths, &key, &out->paths[i]))
			return -errno;
	}
	err = sum_percpu(m->rule_hits, slot * SUBFLOW_POLICY_RULES, SUBFLOW_POLICY_RULES,
			 out->rule_hits);
	if (!err)
		err = sum_percpu(m->path_denials, slot * SUBFLOW_POLICY_PATHS, SUBFLOW_POLICY_PATHS,
				 out->path_denials);
	if (!err)
		err = sum_percpu(m->no_match, slot, 1, &out->no_match);
	if (err)
		return err;
	text = malloc(sizeof(*text));
	if (!text)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->text, &slot, text))
		out->text[0] = '\0';
	else
		snprintf(out->text, sizeof(out->text), "%.*s", (int)sizeof(text->text), text->text);
	free(text);
	return 0;
}

int subflow_policy_read(uint64_t cgroup_id, struct subflow_policy_state *out)
{
	struct subflow_cgroup_policy cp, again;
	struct subflow_policy_meta meta;
	struct policy_maps m;
	int err, attempt;

	err = open_policy_maps(&m);
	if (err)
		return err;
	for (attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
		if (bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &cp))
			return errno == ENOENT ? -ENOENT : -errno;
		if (cp.slot >= SUBFLOW_POLICY_SLOTS)
			return -EUCLEAN;	/* written by someone else */
		if (bpf_map_lookup_elem(m.meta, &cp.slot, &out->meta))
			return -errno;
		if (out->meta.generation != cp.generation)
			continue;	/* a load is rewriting that slot: read again */
		out->cgroup_id = cgroup_id;
		out->slot = cp.slot;
		err = read_slot(&m, cp.slot, out);
		if (err)
			return err;
		if (!bpf_map_lookup_elem(m.cgroup_policy, &cgroup_id, &again) &&
		    again.slot == cp.slot && again.generation == cp.generation &&
		    !bpf_map_lookup_elem(m.meta, &cp.slot, &meta) &&
		    meta.generation == cp.generation)
			return 0;
	}
	return -EAGAIN;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int subflow_policy_list(uint64_t *ids, size_t max, size_t *count)
{
	uint64_t key, next, *prev = NULL, *all = NULL, *grown;
	size_t n = 0, cap = 0;
	int fd = subflow_map_fd(MAP_CGROUP_POLICY);

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
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = all[i];
	*count = n;
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

enum rule_edit { RULE_SET, RULE_INSERT, RULE_DELETE };

#define RULE_TEXT_NAME "rule"

static bool starts_with_word(const char *s, const char *word)
{
	size_t len = strlen(word);

	return !strncmp(s, word, len) && (s[len] == '\0' || s[len] == ' ' || s[len] == '\t');
}

/* The parser numbered errors in the whole text it saw (the policy's path
 * lines, then the rule); say them as places in rule_text, "rule:1:COL". */
static int rebase_rule_errors(struct subflow_policy_errors *errs, unsigned int rule_line,
			      unsigned int col_shift)
{
	struct subflow_policy_error *e;
	const char *msg;
	char *text;
	unsigned int col;

	for (unsigned int i = 0; errs && i < errs->count; i++) {
		e = &errs->items[i];
		if (e->line != rule_line)
			continue;
		msg = strstr(e->text, ": error: ");
		msg = msg ? msg + strlen(": error: ") : e->text;
		col = e->col > col_shift ? e->col - col_shift : 1;
		if (asprintf(&text, RULE_TEXT_NAME ":1:%u: error: %s", col, msg) < 0)
			return -ENOMEM;
		free(e->text);
		e->text = text;
		e->line = 1;
		e->col = col;
	}
	return 0;
}

/* Parse rule_text ("path lte deny" or "rule path lte deny") against the
 * paths of `policy`. */
static int parse_one_rule(const struct subflow_policy *policy, const char *rule_text,
			  struct subflow_policy_rule *rule, struct subflow_policy_errors *errs)
{
	struct subflow_policy *header = NULL, *parsed = NULL;
	const char *words = rule_text;
	unsigned int col_shift, header_lines, i;
	char *text = NULL;
	size_t len;
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (strchr(rule_text, '\n')) {
		subflow_policy_add_error(errs, RULE_TEXT_NAME, 1,
					 (unsigned int)(strchr(rule_text, '\n') - rule_text) + 1,
					 "expected one rule on one line, found a line break");
		return -EINVAL;
	}
	while (*words == ' ' || *words == '\t')
		words++;
	col_shift = starts_with_word(words, "rule") ? 0 : strlen("rule ");

	header = calloc(1, sizeof(*header));
	parsed = calloc(1, sizeof(*parsed));
	text = malloc(SUBFLOW_POLICY_TEXT_MAX + strlen(rule_text) + 8);
	err = -ENOMEM;
	if (!header || !parsed || !text)
		goto out;
	*header = *policy;
	header->nr_rules = 0;
	err = subflow_policy_format(header, text, SUBFLOW_POLICY_TEXT_MAX);
	if (err)
		goto out;
	for (header_lines = 0, i = 0; text[i]; i++)
		header_lines += text[i] == '\n';
	len = strlen(text);
	sprintf(text + len, "%s%s\n", col_shift ? "rule " : "", rule_text);
	err = subflow_policy_parse(text, strlen(text), RULE_TEXT_NAME, parsed, errs);
	if (err == -EINVAL)
		err = rebase_rule_errors(errs, header_lines + 1, col_shift) ?: -EINVAL;
	if (!err && parsed->nr_rules != 1)
		err = -EINVAL;
	if (!err)
		*rule = parsed->rules[0];
out:
	free(text);
	free(parsed);
	free(header);
	return err;
}

static int apply_edit(struct subflow_policy *policy, enum rule_edit op, unsigned int index,
		      const struct subflow_policy_rule *rule)
{
	unsigned int n = policy->nr_rules;

	if (op == RULE_INSERT) {
		if (index == SUBFLOW_POLICY_APPEND)
			index = n;
		if (index > n) {
			pr_err("rule index %u out of range: the policy has %u rules, insert at 0-%u\n",
			       index, n, n);
			return -ERANGE;
		}
		if (n == SUBFLOW_POLICY_MAX_RULES) {
			pr_err("the policy has %d rules already, the most it can hold\n",
			       SUBFLOW_POLICY_MAX_RULES);
			return -ENOSPC;
		}
		memmove(&policy->rules[index + 1], &policy->rules[index],
			(n - index) * sizeof(policy->rules[0]));
		policy->rules[index] = *rule;
		policy->nr_rules++;
		return 0;
	}
	if (index >= n) {
		if (n)
			pr_err("rule index %u out of range: the policy has %u rules (0-%u)\n",
			       index, n, n - 1);
		else
			pr_err("rule index %u out of range: the policy has no rules\n", index);
		return -ERANGE;
	}
	if (op == RULE_SET) {
		policy->rules[index] = *rule;
		return 0;
	}
	memmove(&policy->rules[index], &policy->rules[index + 1],
		(n - index - 1) * sizeof(policy->rules[0]));
	policy->nr_rules--;
	memset(&policy->rules[policy->nr_rules], 0, sizeof(policy->rules[0]));
	return 0;
}

/* Read the slot's canonical text, edit it, and install the result into a
 * new slot, all under the lock so that two editors cannot lose an update. */
static int edit_rule(const char *cgroup_path, enum rule_edit op, unsigned int index,
		     const char *rule_text, struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *compiled = NULL;
	struct subflow_policy_state *state = NULL;
	struct subflow_policy *policy = NULL;
	struct subflow_policy_rule rule = {};
	struct policy_maps m;
	char name[PATH_MAX + 16], *text = NULL;
	uint64_t cgroup_id;
	int lock_fd, err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!cgroup_path || (op != RULE_DELETE && !rule_text))
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
	if (op != RULE_DELETE) {
		err = parse_one_rule(policy, rule_text, &rule, errs);
		if (err)
			goto out;
	}
	err = apply_edit(policy, op, index, &rule);
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
	return edit_rule(cgroup_path, RULE_SET, index, rule_text, errs);
}

int subflow_policy_insert_rule(const char *cgroup_path, unsigned int index,
			       const char *rule_text, struct subflow_policy_errors *errs)
{
	return edit_rule(cgroup_path, RULE_INSERT, index, rule_text, errs);
}

int subflow_policy_delete_rule(const char *cgroup_path, unsigned int index)
{
	return edit_rule(cgroup_path, RULE_DELETE, index, NULL, NULL);
}
