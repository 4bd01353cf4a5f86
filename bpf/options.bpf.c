// SPDX-License-Identifier: GPL-2.0
/*
 * Per-subflow options. Hook: cgroup sockops, attached next to the tracker.
 * When a subflow is created (TCP_CONNECT_CB, before its SYN) or accepted
 * (PASSIVE_ESTABLISHED_CB), the first matching rule of the cgroup's policy
 * sets its options with bpf_setsockopt: SO_MARK, TCP_CONGESTION, IP_TOS /
 * IPV6_TCLASS, SO_PRIORITY, SO_MAX_PACING_RATE, TCP_USER_TIMEOUT, keepalive,
 * TCP_NODELAY. Only this subflow changes; its siblings keep theirs.
 *
 * Admission is decided at connect time (admit.bpf.c), which counts the
 * refusals; every admitted or accepted subflow counts one hit here, on the
 * rule that shapes it (or one no-match). The rule is noted in the tracker's
 * entry (subflow_info.policy_rule).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "record.bpf.h"
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SOL_SOCKET_LEVEL	1
#define SOL_IP_LEVEL		0
#define SOL_IPV6_LEVEL		41
#define SOL_TCP_LEVEL		6
#define OPT_SO_KEEPALIVE	9
#define OPT_SO_PRIORITY		12
#define OPT_SO_MARK		36
#define OPT_SO_MAX_PACING_RATE	47
#define OPT_IP_TOS		1
#define OPT_IPV6_TCLASS		67
#define OPT_TCP_NODELAY		1
#define OPT_TCP_KEEPIDLE	4
#define OPT_TCP_KEEPINTVL	5
#define OPT_TCP_KEEPCNT		6
#define OPT_TCP_CONGESTION	13
#define OPT_TCP_USER_TIMEOUT	18

static __always_inline void set_int(struct bpf_sock_ops *skops, int level, int opt, int value)
{
	bpf_setsockopt(skops, level, opt, &value, sizeof(value));
}

static __always_inline void apply_rule(struct bpf_sock_ops *skops, const struct subflow_rule *rule,
				       __u8 family)
{
	__u32 actions = rule->actions;

	if (actions & SUBFLOW_ACT_MARK)
		set_int(skops, SOL_SOCKET_LEVEL, OPT_SO_MARK, rule->mark);
	if (actions & SUBFLOW_ACT_TOS) {
		if (family == SUBFLOW_AF_INET6)
			set_int(skops, SOL_IPV6_LEVEL, OPT_IPV6_TCLASS, rule->tos);
		else
			set_int(skops, SOL_IP_LEVEL, OPT_IP_TOS, rule->tos);
	}
	/* After tos: setting IP_TOS resets sk_priority from the tos bits. */
	if (actions & SUBFLOW_ACT_PRIORITY)
		set_int(skops, SOL_SOCKET_LEVEL, OPT_SO_PRIORITY, rule->priority);
	if (actions & SUBFLOW_ACT_PACING) {
		/* The socket option is an int: rates above 4 GB/s mean "unlimited". */
		__u32 rate = rule->pacing_rate > 0xfffffffeULL ? ~0U : (__u32)rule->pacing_rate;

		set_int(skops, SOL_SOCKET_LEVEL, OPT_SO_MAX_PACING_RATE, rate);
	}
	if (actions & SUBFLOW_ACT_USER_TIMEOUT)
		set_int(skops, SOL_TCP_LEVEL, OPT_TCP_USER_TIMEOUT, rule->user_timeout_ms);
	if (actions & SUBFLOW_ACT_KEEPALIVE) {
		set_int(skops, SOL_SOCKET_LEVEL, OPT_SO_KEEPALIVE, 1);
		set_int(skops, SOL_TCP_LEVEL, OPT_TCP_KEEPIDLE, rule->keepalive_idle);
		set_int(skops, SOL_TCP_LEVEL, OPT_TCP_KEEPINTVL, rule->keepalive_intvl);
		set_int(skops, SOL_TCP_LEVEL, OPT_TCP_KEEPCNT, rule->keepalive_count);
	}
	if (actions & SUBFLOW_ACT_NODELAY)
		set_int(skops, SOL_TCP_LEVEL, OPT_TCP_NODELAY, 1);
	if (actions & SUBFLOW_ACT_CC) {
		char cc[16];

		__builtin_memcpy(cc, rule->cc, sizeof(cc));
		cc[15] = '\0';
		bpf_setsockopt(skops, SOL_TCP_LEVEL, OPT_TCP_CONGESTION, cc, sizeof(cc));
	}
}

/* Describe the subflow for rule matching from the tracker's view of it. */
static __always_inline void describe_subflow(const struct subflow_info *info,
					     struct subflow_desc *desc)
{
	desc->family = info->local.family;
	desc->is_join = !!(info->flags & SUBFLOW_F_JOIN);
	desc->local_known = 1;
	/* The destination port of the connection: the peer's when this host
	 * connected, our own when it accepted. */
	desc->dport = info->flags & SUBFLOW_F_SERVER ? info->local.port : info->remote.port;
	__builtin_memcpy(desc->local, info->local.addr, 16);
	__builtin_memcpy(desc->remote, info->remote.addr, 16);
}

static __always_inline void note_rule(struct bpf_sock_ops *skops, struct tcp_sock *tp, int rule)
{
	struct subflow_info *entry;
	struct subflow_key key;

	if (sockops_subflow_key(skops, tp, &key))
		return;
	entry = bpf_map_lookup_elem(&subflows, &key);
	if (entry)
		entry->policy_rule = rule + 1;
}

SEC("sockops")
int subflow_options(struct bpf_sock_ops *skops)
{
	struct subflow_policy_meta *meta;
	struct subflow_info info = {};
	struct subflow_desc desc = {};
	struct subflow_rule *rule;
	struct bpf_sock *bsk = skops->sk;
	struct tcp_sock *tp;
	bool passive;
	int slot, index;

	/* Most callbacks are not ours: leave before any helper call. */
	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	passive = skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB;
	if (!bsk)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp || !tp->is_mptcp)
		return 1;
	slot = policy_slot_of_sock((struct sock *)tp);
	if (slot < 0)
		return 1;
	meta = policy_meta_of(slot);
	if (!meta)
		return 1;
	/* A passive join may not be numbered yet: rules do not need its id. */
	if (read_subflow(tp, &info) && !info.local.family)
		return 1;
	if (passive)
		info.flags |= SUBFLOW_F_SERVER;
	describe_subflow(&info, &desc);
	desc.bound_ifindex = bsk->bound_dev_if;

	index = policy_decide(slot, meta, &desc, path_mask_of(slot, meta, &desc), DECIDE_FULL,
			      NULL);
	/* Every subflow that gets here was admitted: this is where its path is
	 * known for sure, so this is where it counts (refusals count in
	 * admit.bpf.c). */
	count_rule_hit(slot, index);
	rule = policy_rule(slot, index);
	if (!rule)
		return 1;
	/* A denied subflow gets no options: the parser refuses deny with
	 * options, and an accepted subflow cannot be refused here. */
	if (!rule_denies(rule))
		apply_rule(skops, rule, desc.family);
	note_rule(skops, tp, index);
	return 1;
}
