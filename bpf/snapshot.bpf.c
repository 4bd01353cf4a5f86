// SPDX-License-Identifier: GPL-2.0
/*
 * Attach-time snapshot. Hook: iter/tcp, run by the loader right after it
 * attaches the tracker to a cgroup, once per network namespace that the
 * cgroup's processes use (an iterator walks the namespace of the process
 * that creates it). Records the MPTCP subflows that already exist and belong
 * to an attached cgroup, the same way the tracker records new ones, and turns
 * on their state callback so the tracker sees them close.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "record.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SOL_TCP_LEVEL 6
#define MAX_CGROUP_DEPTH 32

/* True when the socket's cgroup, or one of its ancestors, is attached. */
static __always_inline bool in_attached_cgroup(struct sock *sk)
{
	struct cgroup *cgrp = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	int level, i;

	if (!cgrp)
		return false;
	level = BPF_CORE_READ(cgrp, level);
	for (i = 0; i < MAX_CGROUP_DEPTH; i++) {
		struct cgroup *ancestor;
		__u64 id;

		if (i > level)
			break;
		ancestor = BPF_CORE_READ(cgrp, ancestors[i]);
		if (!ancestor)
			break;
		id = BPF_CORE_READ(ancestor, kn, id);
		if (bpf_map_lookup_elem(&attached_cgroups, &id))
			return true;
	}
	return false;
}

SEC("iter/tcp")
int subflow_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	struct subflow_key key, *sk_key;
	int cb_flags, err;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !tp->is_mptcp)
		return 0;
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_state == TCP_CLOSE_STATE)
		return 0;
	if (!in_attached_cgroup((struct sock *)tp))
		return 0;
	if (record_subflow(tp, SUBFLOW_F_SNAPSHOT, bpf_get_socket_cookie(tp), &key) < 0)
		return 0;
	/* The tracker finds a subflow's key at close through the MPTCP
	 * socket's storage, which an iterator cannot create: this subflow
	 * carries its key itself. */
	sk_key = bpf_sk_storage_get(&subflow_sk_keys, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (sk_key)
		*sk_key = key;

	cb_flags = tp->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG;
	err = bpf_setsockopt(tp, SOL_TCP_LEVEL, TCP_BPF_SOCK_OPS_CB_FLAGS, &cb_flags,
			     sizeof(cb_flags));
	if (err) {
		stat_inc(SUBFLOW_STAT_SNAPSHOT_NO_CLOSE_CB);
	}
	stat_inc(SUBFLOW_STAT_SNAPSHOT_FOUND);
	return 0;
}
