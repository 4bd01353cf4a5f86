// SPDX-License-Identifier: GPL-2.0
/*
 * The least a by-token index costs (tests/bench/run.sh, rows a and a2): one
 * insert into a global hash table when a connection's first subflow is
 * established, one delete when it closes, with an 8-byte value and the
 * engine's key and map flags. Any design whose queries by token are a map
 * look-up pays at least this on top of the floor (floor_sockops.bpf.c):
 * the kernel keeps its own token table, but a single-socket sock_diag
 * request by token does not return a socket's BPF storage (only a dump of
 * every socket does, ~0.85 ms here), so socket storage alone cannot answer
 * a query by token. Bench only, never part of the engine; attached alone.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "proto.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_DEFAULT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_conn_key);
	__type(value, __u64);
} proto_token_index SEC(".maps");

SEC("sockops")
int proto_index(struct bpf_sock_ops *skops)
{
	struct tcp_sock *tp = proto_subflow(skops);
	struct mptcp_subflow_context *sf;
	struct subflow_read rd = {};
	struct mptcp_sock *msk;
	__u64 created;

	if (!tp || read_subflow_key(tp, &rd))
		return 1;
	if (skops->op == BPF_SOCK_OPS_STATE_CB) {
		/* Only the first subflow was indexed: a join's delete misses. */
		if (rd.info.id <= 1)
			bpf_map_delete_elem(&proto_token_index, &rd.ckey);
		return 1;
	}
	sf = subflow_ctx_of(tp);
	msk = sf ? msk_of(sf) : NULL;
	if (msk && (void *)msk->first == (void *)tp) {
		created = bpf_ktime_get_boot_ns();
		bpf_map_update_elem(&proto_token_index, &rd.ckey, &created, BPF_NOEXIST);
	}
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}
