/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Policy evaluation, shared by the admission hooks (cgroup connect/bind), the
 * sockops program (options) and mptcpify. A socket follows the policy of its
 * nearest cgroup ancestor that has one (cgroup_policy -> generation ->
 * `policies` -> one struct subflow_policy_image); its rules are evaluated in
 * order and the first match decides. The image is one map value that no one
 * rewrites: one lookup gives a whole policy (include/subflow_abi.h).
 *
 * Loops over rules and paths run under bpf_loop(), so the verifier checks
 * each callback once instead of unrolling 64 rules x 32 paths.
 */
#ifndef SUBFLOW_POLICY_BPF_H
#define SUBFLOW_POLICY_BPF_H

#include "maps.bpf.h"
#include "subflow_read.bpf.h"

#define NO_RULE (-1)

/* What a rule can match on, for one subflow. */
_Static_assert((SUBFLOW_POLICY_RULES & (SUBFLOW_POLICY_RULES - 1)) == 0 &&
	       (SUBFLOW_POLICY_PATHS & (SUBFLOW_POLICY_PATHS - 1)) == 0,
	       "rule and path indexes are bounded by masks");

struct subflow_desc {
	__u8  family;		/* SUBFLOW_AF_INET / SUBFLOW_AF_INET6 */
	__u8  is_join;
	__u8  local_known;	/* local address bound (or chosen) */
	__u8  pad;
	__u16 dport;		/* the connection's destination port, host order */
	__u16 pad2;
	__u32 bound_ifindex;	/* 0 when not bound, or not comparable (another namespace) */
	__u64 netns_cookie;	/* the socket's namespace */
	__u8  local[16];
	__u8  remote[16];
};

/* Whether any cgroup has a policy: without one, no hook even looks. */
static __always_inline bool policies_exist(void)
{
	__u32 zero = 0;
	struct subflow_policy_count *pc = bpf_map_lookup_elem(&policy_count, &zero);

	return pc && pc->nr_policies;
}

static __always_inline struct subflow_policy_image *policy_image(__u64 generation)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&policies, &generation);

	return inner ? bpf_map_lookup_elem(inner, &zero) : NULL;
}

/* The generation of the policy in force in cgroup `cgrp`: its nearest
 * ancestor's (itself first) that has one; 0 when none has. */
static __always_inline __u64 policy_generation_of_cgroup(struct cgroup *cgrp)
{
	struct subflow_cgroup_policy *cp = cgroup_nearest_value(cgrp, &cgroup_policy);

	return cp ? cp->generation : 0;
}

static __always_inline __u64 policy_generation_of_sock(struct tcp_sock *tp)
{
	return policy_generation_of_cgroup(cgroup_of(tp));
}

/* A device is the same device only in the namespace it was resolved in. */
static __always_inline void desc_set_device(struct subflow_desc *desc, __u32 bound_ifindex,
					    const struct subflow_policy_image *img)
{
	desc->bound_ifindex = desc->netns_cookie == img->meta.netns_cookie ? bound_ifindex : 0;
}

static __always_inline bool prefix_contains(const struct subflow_prefix *pfx, __u8 family,
					    const __u8 *addr)
{
	__u32 len = pfx->len;
	int i;

	if (pfx->family != family)
		return false;
	for (i = 0; i < 16; i++) {
		__u8 mask;

		if (len == 0)
			return true;
		mask = len >= 8 ? 0xff : (__u8)(0xff << (8 - len));
		if ((addr[i] ^ pfx->addr[i]) & mask)
			return false;
		len = len >= 8 ? len - 8 : 0;
	}
	return true;
}

/* ---- path membership: a bitmask of the policy's paths the subflow is on -- */

struct path_walk {
	const struct subflow_policy_image *img;
	__u32 mask;
	const struct subflow_desc *desc;
};

static long path_walk_one(__u32 index, void *data)
{
	struct path_walk *walk = data;
	const struct subflow_desc *desc = walk->desc;
	const struct subflow_path *path;
	int i;

	/* The barrier keeps the compiler from dropping the mask, which keeps
	 * the bound in the register the access uses. */
	barrier_var(index);
	path = &walk->img->paths[index & (SUBFLOW_POLICY_PATHS - 1)];
	if (desc->bound_ifindex) {
		for (i = 0; i < SUBFLOW_PATH_IFINDEXES; i++) {
			if (i >= path->nr_ifindexes)
				break;
			if (path->ifindexes[i] == desc->bound_ifindex) {
				walk->mask |= 1U << index;
				return 0;
			}
		}
	}
	if (!desc->local_known)
		return 0;
	for (i = 0; i < SUBFLOW_PATH_PREFIXES; i++) {
		if (i >= path->nr_prefixes)
			break;
		if (prefix_contains(&path->prefixes[i], desc->family, desc->local)) {
			walk->mask |= 1U << index;
			return 0;
		}
	}
	return 0;
}

static __always_inline __u32 path_mask_of(const struct subflow_policy_image *img,
					  const struct subflow_desc *desc)
{
	struct path_walk walk = { .img = img, .desc = desc };
	__u32 nr = img->meta.nr_paths;

	if (nr > SUBFLOW_POLICY_PATHS)
		nr = SUBFLOW_POLICY_PATHS;
	bpf_loop(nr, path_walk_one, &walk, 0);
	return walk.mask;
}

/* ---- rule evaluation --------------------------------------------------- */

/* How much of the subflow is known: at bind time the destination is not. */
enum decide_mode {
	DECIDE_FULL,
	DECIDE_NO_DESTINATION,
};

struct rule_walk {
	const struct subflow_policy_image *img;
	__u32 path_mask;
	enum decide_mode mode;
	const struct subflow_desc *desc;
	int rule;		/* result: the deciding rule, or NO_RULE */
	bool undecided;		/* DECIDE_NO_DESTINATION: a rule needs the destination */
};

static __always_inline bool rule_matches_subflow(const struct subflow_rule *rule,
						 const struct subflow_desc *desc, __u32 path_mask)
{
	if ((rule->match & SUBFLOW_MATCH_PATH) &&
	    (rule->path >= 32 || !(path_mask & (1U << rule->path))))
		return false;
	if ((rule->match & SUBFLOW_MATCH_FAMILY) && rule->family != desc->family)
		return false;
	if ((rule->match & SUBFLOW_MATCH_INITIAL) && desc->is_join)
		return false;
	if ((rule->match & SUBFLOW_MATCH_JOIN) && !desc->is_join)
		return false;
	return true;
}

static __always_inline bool rule_matches_destination(const struct subflow_rule *rule,
						     const struct subflow_desc *desc)
{
	if ((rule->match & SUBFLOW_MATCH_DST) &&
	    !prefix_contains(&rule->dst, desc->family, desc->remote))
		return false;
	if ((rule->match & SUBFLOW_MATCH_DPORT) &&
	    (desc->dport < rule->dport_lo || desc->dport > rule->dport_hi))
		return false;
	return true;
}

static long rule_walk_one(__u32 index, void *data)
{
	struct rule_walk *walk = data;
	const struct subflow_rule *rule;

	barrier_var(index);	/* as in path_walk_one */
	rule = &walk->img->rules[index & (SUBFLOW_POLICY_RULES - 1)];
	if (!rule_matches_subflow(rule, walk->desc, walk->path_mask))
		return 0;
	if (walk->mode == DECIDE_NO_DESTINATION &&
	    (rule->match & (SUBFLOW_MATCH_DST | SUBFLOW_MATCH_DPORT))) {
		walk->undecided = true;	/* only connect time can tell */
		return 1;
	}
	if (walk->mode == DECIDE_FULL && !rule_matches_destination(rule, walk->desc))
		return 0;
	walk->rule = index;
	return 1;
}

/* The index of the first rule of `img` matching the subflow, or NO_RULE.
 * With DECIDE_NO_DESTINATION, *undecided says a rule needing the
 * destination came first, so the caller must not decide yet. */
static __always_inline int policy_decide(const struct subflow_policy_image *img,
					 const struct subflow_desc *desc, __u32 path_mask,
					 enum decide_mode mode, bool *undecided)
{
	struct rule_walk walk = {
		.img = img, .path_mask = path_mask, .mode = mode, .desc = desc, .rule = NO_RULE,
	};
	__u32 nr = img->meta.nr_rules;

	if (nr > SUBFLOW_POLICY_RULES)
		nr = SUBFLOW_POLICY_RULES;
	bpf_loop(nr, rule_walk_one, &walk, 0);
	if (undecided)
		*undecided = walk.undecided;
	return walk.rule;
}

static __always_inline const struct subflow_rule *policy_rule(const struct subflow_policy_image *img,
							      int rule)
{
	if (rule < 0 || rule >= SUBFLOW_POLICY_RULES)
		return NULL;
	return &img->rules[rule & (SUBFLOW_POLICY_RULES - 1)];
}

static __always_inline void count_rule_hit(struct subflow_policy_image *img, int rule)
{
	if (rule == NO_RULE)
		__sync_fetch_and_add(&img->no_match, 1);
	else if (rule >= 0 && rule < SUBFLOW_POLICY_RULES)
		__sync_fetch_and_add(&img->rule_hits[rule & (SUBFLOW_POLICY_RULES - 1)], 1);
}

/* A denial is charged to the rule's path, else to the lowest path the
 * subflow is on, else to no path. */
static __always_inline void count_denial(struct subflow_policy_image *img,
					 const struct subflow_rule *rule, __u32 path_mask)
{
	__u32 path = SUBFLOW_NO_PATH;
	int i;

	if (rule->match & SUBFLOW_MATCH_PATH) {
		path = rule->path;
	} else {
		for (i = 0; i < SUBFLOW_POLICY_PATHS; i++) {
			if (path_mask & (1U << i)) {
				path = i;
				break;
			}
		}
	}
	if (path < SUBFLOW_POLICY_PATHS)
		__sync_fetch_and_add(&img->path_denials[path & (SUBFLOW_POLICY_PATHS - 1)], 1);
}

static __always_inline bool rule_denies(const struct subflow_rule *rule)
{
	return rule && (rule->actions & SUBFLOW_ACT_VERDICT) &&
	       rule->verdict == SUBFLOW_VERDICT_DENY;
}

/* ---- the admission note --------------------------------------------------- */

static __always_inline struct subflow_pending *pending_slot(__u64 cookie)
{
	__u32 index = cookie & (SUBFLOW_PENDING_SLOTS - 1);

	return bpf_map_lookup_elem(&pending_notes, &index);
}

/* The generation a subflow this side connects was admitted under (noted by
 * the first hook that decided for it), or 0. */
static __always_inline __u64 noted_generation(__u64 cookie)
{
	struct subflow_pending *note = pending_slot(cookie);

	return note && note->sock_cookie == cookie ? note->policy_generation : 0;
}

static __always_inline void note_generation(__u64 cookie, __u64 generation, __u32 rule)
{
	struct subflow_pending *note = pending_slot(cookie);

	if (!note)
		return;
	if (note->sock_cookie && note->sock_cookie != cookie)
		stat_inc(SUBFLOW_STAT_PENDING_NOTE_LOST);
	note->sock_cookie = cookie;
	note->policy_generation = generation;
	note->policy_rule = rule;
}

#endif /* SUBFLOW_POLICY_BPF_H */
