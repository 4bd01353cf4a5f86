/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-subflow options, from the sockops tracker: when a subflow is created
 * (TCP_CONNECT_CB, before its SYN) or accepted (PASSIVE_ESTABLISHED_CB), the
 * first matching rule of its cgroup's policy sets its options with
 * bpf_setsockopt: SO_MARK, TCP_CONGESTION, IP_TOS / IPV6_TCLASS, SO_PRIORITY,
 * SO_MAX_PACING_RATE, TCP_USER_TIMEOUT, keepalive, TCP_NODELAY. Only this
 * subflow changes; its siblings keep theirs.
 *
 * Admission is decided at connect time (admit.bpf.c), which counts the
 * refusals; every admitted or accepted subflow counts one hit here, on the
 * rule that shapes it (or one no-match). The rule and the policy's
 * generation are noted in the subflow's record.
 */
#ifndef SUBFLOW_OPTIONS_BPF_H
#define SUBFLOW_OPTIONS_BPF_H

#include "policy.bpf.h"
#include "sockopts.bpf.h"

static __always_inline void set_int(struct bpf_sock_ops *skops, int level, int opt, int value)
{
	bpf_setsockopt(skops, level, opt, &value, sizeof(value));
}

static __always_inline void apply_rule(struct bpf_sock_ops *skops, const struct subflow_rule *rule,
				       __u16 family)
{
	__u32 actions = rule->actions;

	if (actions & SUBFLOW_ACT_MARK)
		set_int(skops, SOL_SOCKET_LEVEL, SO_MARK_OPT, rule->mark);
	if (actions & SUBFLOW_ACT_TOS) {
		if (family == SUBFLOW_AF_INET6)
			set_int(skops, SOL_IPV6_LEVEL, IPV6_TCLASS_OPT, rule->tos);
		else
			set_int(skops, SOL_IP_LEVEL, IP_TOS_OPT, rule->tos);
	}
	/* After tos: setting IP_TOS resets sk_priority from the tos bits. */
	if (actions & SUBFLOW_ACT_PRIORITY)
		set_int(skops, SOL_SOCKET_LEVEL, SO_PRIORITY_OPT, rule->priority);
	if (actions & SUBFLOW_ACT_PACING) {
		/* The socket option is an int: rates above 4 GB/s mean "unlimited". */
		__u32 rate = rule->pacing_rate > 0xfffffffeULL ? ~0U : (__u32)rule->pacing_rate;

		set_int(skops, SOL_SOCKET_LEVEL, SO_MAX_PACING_RATE_OPT, rate);
	}
	if (actions & SUBFLOW_ACT_USER_TIMEOUT)
		set_int(skops, SOL_TCP_LEVEL, TCP_USER_TIMEOUT_OPT, rule->user_timeout_ms);
	if (actions & SUBFLOW_ACT_KEEPALIVE) {
		set_int(skops, SOL_SOCKET_LEVEL, SO_KEEPALIVE_OPT, 1);
		set_int(skops, SOL_TCP_LEVEL, TCP_KEEPIDLE_OPT, rule->keepalive_idle);
		set_int(skops, SOL_TCP_LEVEL, TCP_KEEPINTVL_OPT, rule->keepalive_intvl);
		set_int(skops, SOL_TCP_LEVEL, TCP_KEEPCNT_OPT, rule->keepalive_count);
	}
	if (actions & SUBFLOW_ACT_NODELAY)
		set_int(skops, SOL_TCP_LEVEL, TCP_NODELAY_OPT, 1);
	if (actions & SUBFLOW_ACT_CC) {
		char cc[TCP_CA_NAME_MAX_LEN];

		__builtin_memcpy(cc, rule->cc, sizeof(cc));
		cc[TCP_CA_NAME_MAX_LEN - 1] = '\0';
		bpf_setsockopt(skops, SOL_TCP_LEVEL, TCP_CONGESTION_OPT, cc, sizeof(cc));
	}
}

/* Describe the subflow for rule matching from what was read of it. */
static __always_inline void describe_subflow(const struct subflow_read *rd, __u32 bound_ifindex,
					     const struct subflow_policy_image *img,
					     struct subflow_desc *desc)
{
	const struct subflow_info *info = &rd->info;

	desc->family = info->local.family;
	desc->is_join = !!(info->flags & SUBFLOW_F_JOIN);
	desc->local_known = 1;
	desc->netns_cookie = rd->ckey.netns_cookie;
	desc_set_device(desc, bound_ifindex, img);
	/* The destination port of the connection: the peer's when this host
	 * connected, our own when it accepted. */
	desc->dport = info->flags & SUBFLOW_F_SERVER ? info->local.port : info->remote.port;
	__builtin_memcpy(desc->local, info->local.addr, 16);
	__builtin_memcpy(desc->remote, info->remote.addr, 16);
}

/* Shape a new subflow by policy `generation` (when `apply`; else only find
 * the rule) and note the rule and the generation in rd->info. A generation
 * whose image is gone (evicted from a full `policies`) shapes nothing: the
 * subflow never gets options from a policy it was not admitted under. A
 * global function: the verifier checks the policy evaluation once, not at
 * each of its callers. Returns 0. */
__noinline int shape_subflow(struct bpf_sock_ops *skops, struct subflow_read *rd, __u64 generation,
			     int apply)
{
	struct subflow_policy_image *img;
	struct subflow_desc desc = {};
	const struct subflow_rule *rule;
	struct bpf_sock *bsk;
	int index;

	if (!skops || !rd || !generation)
		return 0;
	bsk = skops->sk;
	if (!bsk)
		return 0;
	img = policy_image(generation);
	if (!img) {
		stat_inc(SUBFLOW_STAT_POLICY_GONE);
		return 0;
	}
	describe_subflow(rd, bsk->bound_dev_if, img, &desc);
	index = policy_decide(img, &desc, path_mask_of(img, &desc), DECIDE_FULL, NULL);
	rule = policy_rule(img, index);
	rd->info.policy_generation = generation;
	rd->info.policy_rule = rule ? index + 1 : 0;
	if (!apply)
		return 0;
	/* Every subflow that gets here was admitted: this is where its path is
	 * known for sure, so this is where it counts (refusals count in
	 * admit.bpf.c). A denied subflow gets no options: the parser refuses
	 * deny with options, and an accepted subflow cannot be refused here. */
	count_rule_hit(img, index);
	if (rule && !rule_denies(rule))
		apply_rule(skops, rule, desc.family);
	return 0;
}

#endif /* SUBFLOW_OPTIONS_BPF_H */
