/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policies inside libsubflow: compile a parsed policy into the map layout of
 * include/subflow_abi.h (policy_compile.c), and install, remove and read it
 * back in the pinned maps (policy_store.c). Not installed.
 */
#ifndef SUBFLOW_POLICY_INTERNAL_H
#define SUBFLOW_POLICY_INTERNAL_H

#include <stdint.h>
#include "subflow_abi.h"
#include "subflow_policy.h"

#define SUBFLOW_POLICY_MAX_WARNINGS	32
#define SUBFLOW_POLICY_WARNING_BYTES	256

/* A policy as its image will hold it. meta.generation, loaded_ns,
 * cgroup_id and netns_cookie are filled in at install; unused rules and
 * paths are zero. */
struct subflow_compiled_policy {
	struct subflow_policy_meta meta;
	struct subflow_rule rules[SUBFLOW_POLICY_RULES];
	struct subflow_path paths[SUBFLOW_POLICY_PATHS];
	char text[SUBFLOW_POLICY_TEXT_BYTES];	/* canonical, NUL-terminated */
	/* "FILE:LINE:1: warning: ..." lines, for the caller to show. */
	unsigned int nr_warnings;
	char warnings[SUBFLOW_POLICY_MAX_WARNINGS][SUBFLOW_POLICY_WARNING_BYTES];
};

/* ---- policy_compile.c ---------------------------------------------------- */

/* Compile `p` (parsed from `filename`, for messages) for the caller's network
 * namespace: dev selectors become ifindexes and host prefixes, and each path
 * gets the host addresses on it to bind initial subflows to. On any error
 * returns -EINVAL (or -ENOMEM) with every error in errs (when not NULL), as
 * "FILE:LINE:1: error: path NAME: ...", and leaves *out undefined. */
int subflow_policy_compile(const struct subflow_policy *p, const char *filename,
			   struct subflow_compiled_policy *out,
			   struct subflow_policy_errors *errs);
/* The same against `host`'s links and addresses instead of this namespace's
 * (NULL: read them): the fuzzer's way to stub device lookup. */
struct subflow_host;
int subflow_policy_compile_host(const struct subflow_policy *p, const char *filename,
				struct subflow_compiled_policy *out,
				struct subflow_policy_errors *errs, const struct subflow_host *host);

/* Parse and compile in one step: what `policy check` and every load do, so
 * that check passes exactly when load would. `policy` (may be NULL) receives
 * the parsed form. */
int subflow_policy_compile_file(const char *file, struct subflow_compiled_policy *out,
				struct subflow_policy *policy,
				struct subflow_policy_errors *errs);
int subflow_policy_compile_text(const char *text, size_t len, const char *name,
				struct subflow_compiled_policy *out,
				struct subflow_policy *policy,
				struct subflow_policy_errors *errs);

/* ---- policy_store.c ------------------------------------------------------ */

/* Write `c` into a new image and swap it in for cgroup_id with one update of
 * cgroup_policy; *installed (may be NULL) receives that update's value. The
 * cgroup must be attached. Takes the pin directory lock; the _locked variant
 * is for a caller that holds it. */
int subflow_policy_install(uint64_t cgroup_id, const struct subflow_compiled_policy *c,
			   struct subflow_cgroup_policy *installed);
/* 0 when a policy can be installed for cgroup_id: the engine is loaded, with
 * its policy maps, and attached to that cgroup; else -ENOENT, with a message. */
int subflow_policy_require_attached(uint64_t cgroup_id);
int subflow_policy_install_locked(uint64_t cgroup_id, const struct subflow_compiled_policy *c,
				  struct subflow_cgroup_policy *installed);

/* Forget cgroup_id's policy (its image goes too). -ENOENT if it has none.
 * engine.c's detach holds the lock already: it calls the _locked variant. */
int subflow_policy_remove(uint64_t cgroup_id);
int subflow_policy_remove_locked(uint64_t cgroup_id);

/* One cgroup's policy as the maps hold it now, counters summed over CPUs. */
struct subflow_policy_state {
	uint64_t cgroup_id;
	struct subflow_policy_meta meta;
	struct subflow_rule rules[SUBFLOW_POLICY_RULES];
	struct subflow_path paths[SUBFLOW_POLICY_PATHS];
	uint64_t rule_hits[SUBFLOW_POLICY_RULES];
	uint64_t path_denials[SUBFLOW_POLICY_PATHS];
	uint64_t no_match;
	char text[SUBFLOW_POLICY_TEXT_BYTES];
};

/* -ENOENT when the engine is not loaded or the cgroup has no policy. The
 * read is consistent: retried when a load swapped the policy meanwhile. */
int subflow_policy_read(uint64_t cgroup_id, struct subflow_policy_state *out);

/* The ids of the cgroups that have a policy, ascending; *count is the total,
 * at most max written. */
int subflow_policy_list(uint64_t *ids, size_t max, size_t *count);
/* All of them, in an array the caller frees (NULL when there is none), from
 * one walk of the map. */
int subflow_policy_list_all(uint64_t **ids, size_t *count);

/* Append "FILE:LINE:COL: error: MSG" (line 0: "FILE: error: MSG") to errs,
 * the way the parser does. */
/* policy_edit.c: the one-rule edit of a parsed policy, in memory: rule_text
 * ("path lte deny" or "rule path lte deny") parsed against the policy's
 * paths, errors as "rule:1:COL: error: ..."; then set, insert (index ==
 * nr_rules or SUBFLOW_POLICY_APPEND appends) or delete (rule_text unused)
 * rule `index`. -EINVAL bad rule, -ERANGE no such index, -ENOSPC full. */
enum subflow_rule_edit { SUBFLOW_RULE_SET, SUBFLOW_RULE_INSERT, SUBFLOW_RULE_DELETE };
int subflow_policy_edit(struct subflow_policy *policy, enum subflow_rule_edit op,
			unsigned int index, const char *rule_text,
			struct subflow_policy_errors *errs);

int subflow_policy_add_error(struct subflow_policy_errors *errs, const char *filename,
			     unsigned int line, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif /* SUBFLOW_POLICY_INTERNAL_H */
