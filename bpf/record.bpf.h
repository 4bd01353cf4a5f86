/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recording subflows: add or remove one MPTCP subflow, as subflow_read.bpf.h
 * reads it, in the conns/subflows maps.
 * Shared by the sockops tracker (new subflows) and the iter/tcp snapshot
 * (subflows that existed before attach), so both record exactly the same way.
 *
 * Kernel structs are read with CO-RE probe reads: the same code works from
 * sockops, iterator and tracing context, and survives layout changes.
 */
#ifndef SUBFLOW_RECORD_BPF_H
#define SUBFLOW_RECORD_BPF_H

#include "maps.bpf.h"
#include "subflow_read.bpf.h"

static __always_inline void emit_event(__u32 type, const struct subflow_info *info)
{
	struct subflow_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(SUBFLOW_STAT_EVENTS_LOST);
		return;
	}
	ev->type = type;
	ev->pad = 0;
	ev->time_ns = bpf_ktime_get_boot_ns();
	ev->info = *info;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void conn_add_id(struct subflow_conn_info *conn, __u32 id)
{
	int i;

	for (i = 0; i < SUBFLOW_IDS_PER_CONN; i++)
		if (conn->subflow_ids[i] == id)
			return;
	for (i = 0; i < SUBFLOW_IDS_PER_CONN; i++)
		if (__sync_val_compare_and_swap(&conn->subflow_ids[i], 0, id) == 0)
			return;
	__sync_fetch_and_add(&conn->ids_overflow, 1);
}

static __always_inline void conn_remove_id(struct subflow_conn_info *conn, __u32 id)
{
	int i;

	for (i = 0; i < SUBFLOW_IDS_PER_CONN; i++)
		if (__sync_val_compare_and_swap(&conn->subflow_ids[i], id, 0) == id)
			return;
	if (conn->ids_overflow)
		__sync_fetch_and_add(&conn->ids_overflow, -1);
}

static __always_inline struct subflow_conn_info *conn_get_or_create(const struct subflow_info *info,
								    const struct subflow_conn_key *ckey,
								    struct net *net)
{
	struct subflow_conn_info *conn, fresh = {};

	conn = bpf_map_lookup_elem(&conns, ckey);
	if (conn)
		return conn;
	fresh.netns_cookie = info->netns_cookie;
	fresh.created_ns = info->created_ns;
	fresh.cgroup_id = info->cgroup_id;
	fresh.token = info->token;
	fresh.netns_ino = net->ns.inum;
	if (info->flags & SUBFLOW_F_SERVER)
		fresh.flags |= SUBFLOW_CONN_F_SERVER;
	/* NOEXIST: a sibling subflow on another CPU may have just created it. */
	if (bpf_map_update_elem(&conns, ckey, &fresh, BPF_NOEXIST) && 
	    !bpf_map_lookup_elem(&conns, ckey))
		stat_inc(SUBFLOW_STAT_MAP_FULL);
	return bpf_map_lookup_elem(&conns, ckey);
}

/* Record (or refresh) subflow `tp`, and return its key in *keyp. The
 * socket cookie comes from the caller: sockops and iterators reach
 * bpf_get_socket_cookie() with different arguments. Returns 1 when the
 * subflow is new to the maps, 0 when it was refreshed, -1 when it is not a
 * trackable subflow. */
static __always_inline int record_subflow(struct tcp_sock *tp, __u32 extra_flags,
					  __u64 sock_cookie, struct subflow_key *keyp)
{
	struct subflow_conn_key ckey = {};
	struct subflow_key key = {};
	struct subflow_conn_info *conn;
	struct subflow_info info = {}, *old;

	if (read_subflow(tp, &info))
		return -1;
	info.flags |= extra_flags;
	info.sock_cookie = sock_cookie;
	key.netns_cookie = info.netns_cookie;
	key.token = info.token;
	key.id = info.id;
	*keyp = key;

	old = bpf_map_lookup_elem(&subflows, &key);
	if (old) {
		/* Keep what was first seen: creation time, snapshot origin,
		 * and the policy rule the options program noted. */
		info.created_ns = old->created_ns;
		info.policy_rule = old->policy_rule;
		info.flags |= old->flags & (SUBFLOW_F_SNAPSHOT | SUBFLOW_F_ESTABLISHED);
		bpf_map_update_elem(&subflows, &key, &info, BPF_EXIST);
		return 0;
	}

	info.created_ns = bpf_ktime_get_boot_ns();
	ckey.netns_cookie = key.netns_cookie;
	ckey.token = key.token;
	conn = conn_get_or_create(&info, &ckey, tp->inet_conn.icsk_inet.sk.__sk_common.skc_net.net);
	if (!conn)
		return -1;
	if (bpf_map_update_elem(&subflows, &key, &info, BPF_NOEXIST)) {
		stat_inc(SUBFLOW_STAT_MAP_FULL);
		return -1;
	}
	conn_add_id(conn, key.id);
	__sync_fetch_and_add(&conn->nr_subflows, 1);
	stat_inc(SUBFLOW_STAT_SUBFLOWS_ADDED);
	emit_event(SUBFLOW_EVENT_UP, &info);
	return 1;
}

/* Forget the subflow recorded under `key` (it reached TCP_CLOSE). The
 * connection entry goes with its last subflow. */
static __always_inline void forget_subflow(struct subflow_key key)
{
	struct subflow_conn_key ckey = {};
	struct subflow_conn_info *conn;
	struct subflow_info info;
	struct subflow_info *entry;

	entry = bpf_map_lookup_elem(&subflows, &key);
	if (!entry)
		return;
	info = *entry;
	info.tcp_state = TCP_CLOSE_STATE;
	/* Only the caller whose delete succeeds updates the connection, so a
	 * subflow is counted down exactly once. */
	if (bpf_map_delete_elem(&subflows, &key))
		return;
	stat_inc(SUBFLOW_STAT_SUBFLOWS_REMOVED);
	emit_event(SUBFLOW_EVENT_DOWN, &info);

	ckey.netns_cookie = key.netns_cookie;
	ckey.token = key.token;
	conn = bpf_map_lookup_elem(&conns, &ckey);
	if (!conn)
		return;
	conn_remove_id(conn, key.id);
	if (__sync_fetch_and_add(&conn->nr_subflows, -1) <= 1)
		bpf_map_delete_elem(&conns, &ckey);
}

/* The key a subflow was recorded under, from sockops. At teardown the
 * kernel has already cleared msk->token, so the token comes from the MPTCP
 * socket's own storage (conn_sk_keys, written when its subflows were
 * recorded) and the id from the subflow context, which outlives the token.
 * This spares every subflow a storage of its own: creating one was the
 * largest single cost of recording a subflow. Subflows found by the
 * snapshot carry their key in subflow_sk_keys instead (an iterator cannot
 * create storage on the MPTCP socket). */
static __always_inline int sockops_subflow_key(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					       struct subflow_key *key)
{
	struct mptcp_subflow_context *sf = subflow_ctx_of(tp);
	struct bpf_sock *bsk = skops->sk;
	struct subflow_conn_key *ckey;
	struct subflow_key *sk_key;
	struct mptcp_sock *msk;

	if (!sf || !bsk)
		return -1;
	msk = bpf_skc_to_mptcp_sock(bsk);
	ckey = msk ? bpf_sk_storage_get(&conn_sk_keys, msk, 0, 0) : NULL;
	if (ckey && ckey->token && sf->subflow_id) {
		key->netns_cookie = ckey->netns_cookie;
		key->token = ckey->token;
		key->id = sf->subflow_id;
		return 0;
	}
	sk_key = bpf_sk_storage_get(&subflow_sk_keys, tp, 0, 0);
	if (!sk_key)
		return -1;
	*key = *sk_key;
	return 0;
}

#endif /* SUBFLOW_RECORD_BPF_H */
