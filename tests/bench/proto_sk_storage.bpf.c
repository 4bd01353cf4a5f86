// SPDX-License-Identifier: GPL-2.0
/*
 * The socket-storage design, measured as a prototype (tests/bench/run.sh,
 * rows a and a2): what a tracker costs whose record lives in the MPTCP
 * socket's local storage instead of a global hash table. The kernel frees
 * that storage with the socket, so a connection's life makes no global
 * table write: one storage creation per connection (its first subflow),
 * a locked slot write per subflow at establishment and a locked slot clear
 * at TCP_CLOSE. It reads each subflow exactly as the engine's tracker does
 * (subflow_read.bpf.h) and writes the engine's record (struct subflow_conn).
 *
 * It is the least that design costs: it keeps no by-token index, which the
 * engine's queries by token, its listing and the daemon need (a walk of
 * every socket's storage with an iterator is the only way to them), and it
 * records at most SUBFLOW_CONN_INLINE subflows. Bench only, never part of
 * the engine; attached alone, like the floor (floor_sockops.bpf.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "proto.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct subflow_conn);
} proto_conn_storage SEC(".maps");

static __always_inline void proto_record(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					 struct mptcp_sock *msk)
{
	struct subflow_read rd = {};
	struct subflow_conn *conn;
	int i;

	if (read_subflow(tp, &rd))
		return;
	rd.info.created_ns = bpf_ktime_get_boot_ns();
	conn = bpf_sk_storage_get(&proto_conn_storage, msk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!conn)
		return;
	bpf_spin_lock(&conn->lock);
	if (!conn->token) {
		conn->token = rd.ckey.token;
		conn->created_ns = rd.info.created_ns;
		conn->cgroup_id = rd.cgroup_id;
		conn->netns_ino = rd.netns_ino;
		conn->flags = rd.conn_flags;
	}
	for (i = 0; i < SUBFLOW_CONN_INLINE; i++) {
		if (conn->inline_used & (1U << i))
			continue;
		conn->inline_used |= 1U << i;
		conn->inline_ids[i & (SUBFLOW_CONN_INLINE - 1)] = rd.info.id;
		conn->subflows[i & (SUBFLOW_CONN_INLINE - 1)] = rd.info;
		conn->nr_subflows++;
		break;
	}
	bpf_spin_unlock(&conn->lock);
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline void proto_forget(struct tcp_sock *tp, struct mptcp_sock *msk)
{
	struct subflow_read rd = {};
	struct subflow_conn *conn;
	int i;

	if (read_subflow_key(tp, &rd))
		return;
	conn = bpf_sk_storage_get(&proto_conn_storage, msk, NULL, 0);
	if (!conn)
		return;
	bpf_spin_lock(&conn->lock);
	for (i = 0; i < SUBFLOW_CONN_INLINE; i++) {
		if ((conn->inline_used & (1U << i)) && conn->inline_ids[i & (SUBFLOW_CONN_INLINE - 1)] == rd.info.id) {
			conn->inline_used &= ~(1U << i);
			conn->nr_subflows--;
			break;
		}
	}
	bpf_spin_unlock(&conn->lock);
}

SEC("sockops")
int proto_sk_storage(struct bpf_sock_ops *skops)
{
	struct tcp_sock *tp = proto_subflow(skops);
	struct mptcp_sock *msk;
	struct bpf_sock *bsk;

	if (!tp)
		return 1;
	/* The pointer the storage helper takes: from the socket itself (a
	 * cast one is refused, and so is tcp_sock as the argument). */
	bsk = skops->sk;
	if (!bsk)
		return 1;
	msk = bpf_skc_to_mptcp_sock(bsk);
	if (!msk)
		return 1;
	if (skops->op == BPF_SOCK_OPS_STATE_CB)
		proto_forget(tp, msk);
	else
		proto_record(skops, tp, msk);
	return 1;
}
