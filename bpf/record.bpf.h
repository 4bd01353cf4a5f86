/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recording subflows: read one MPTCP subflow (a kernel tcp_sock) into a
 * struct subflow_info, and add or remove it in the conns/subflows maps.
 * Shared by the sockops tracker (new subflows) and the iter/tcp snapshot
 * (subflows that existed before attach), so both record exactly the same way.
 *
 * Kernel structs are read with CO-RE probe reads: the same code works from
 * sockops, iterator and tracing context, and survives layout changes.
 */
#ifndef SUBFLOW_RECORD_BPF_H
#define SUBFLOW_RECORD_BPF_H

#include "maps.bpf.h"

#define TCP_ESTABLISHED_STATE 1
#define TCP_CLOSE_STATE 7

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The MPTCP subflow context of `tp`, readable with plain loads. */
static __always_inline struct mptcp_subflow_context *subflow_ctx_of(struct tcp_sock *tp)
{
	void *ulp = tp->inet_conn.icsk_ulp_data;

	if (!ulp)
		return NULL;
	return bpf_rdonly_cast(ulp, bpf_core_type_id_kernel(struct mptcp_subflow_context));
}

static __always_inline struct mptcp_sock *msk_of(struct mptcp_subflow_context *sf)
{
	struct sock *conn = sf->conn;

	if (!conn)
		return NULL;
	return bpf_rdonly_cast(conn, bpf_core_type_id_kernel(struct mptcp_sock));
}

/* A join is any subflow but the connection's first. request_join alone is
 * not enough: the path manager sets it only after bind(). */
static __always_inline bool subflow_is_join(struct tcp_sock *tp, struct mptcp_subflow_context *sf,
					    struct mptcp_sock *msk)
{
	struct sock *first;

	if (BPF_CORE_READ_BITFIELD(sf, request_join) || BPF_CORE_READ_BITFIELD(sf, mp_join))
		return true;
	first = msk->first;
	return first && (void *)first != (void *)tp;
}

static __always_inline void read_endpoints(struct tcp_sock *tp, struct subflow_info *info)
{
	struct sock_common *skc = &tp->inet_conn.icsk_inet.sk.__sk_common;
	__u16 family = skc->skc_family;

	info->local.family = family;
	info->remote.family = family;
	info->local.port = skc->skc_num;
	info->remote.port = bpf_ntohs(skc->skc_dport);
	if (family == SUBFLOW_AF_INET6) {
		__builtin_memcpy(info->local.addr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(info->remote.addr, &skc->skc_v6_daddr, 16);
	} else {
		__u32 saddr = skc->skc_rcv_saddr, daddr = skc->skc_daddr;

		__builtin_memcpy(info->local.addr, &saddr, 4);
		__builtin_memcpy(info->remote.addr, &daddr, 4);
	}
}

/* The device the subflow's packets leave by: its cached route's device,
 * else the device it is bound to. */
static __always_inline __u32 ifindex_of(struct tcp_sock *tp)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	struct dst_entry *dst = BPF_CORE_READ(sk, sk_dst_cache);	/* __rcu: probe read */
	__u32 ifindex = 0;

	if (dst)
		ifindex = BPF_CORE_READ(dst, dev, ifindex);
	if (!ifindex)
		ifindex = sk->__sk_common.skc_bound_dev_if;
	return ifindex;
}

/* Fill `info` from subflow socket `tp` (a BTF pointer: sockops and
 * iterators both get one from bpf_skc_to_tcp_sock). Plain loads throughout:
 * this runs for every subflow event. Returns 0, or -1 when tp is not an
 * MPTCP subflow of a connection with a token and a subflow id (with info
 * filled in but for the id when only the id is missing). */
static __always_inline int read_subflow(struct tcp_sock *tp, struct subflow_info *info)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	struct mptcp_subflow_context *sf;
	struct cgroup *cgrp;
	struct mptcp_sock *msk;
	__u32 flags = 0;

	if (!tp->is_mptcp)
		return -1;
	sf = subflow_ctx_of(tp);
	if (!sf)
		return -1;
	msk = msk_of(sf);
	if (!msk)
		return -1;
	info->token = msk->token;
	info->id = sf->subflow_id;
	if (!info->token)
		return -1;

	info->netns_cookie = sk->__sk_common.skc_net.net->net_cookie;
	cgrp = sk->sk_cgrp_data.cgroup;
	info->cgroup_id = cgrp ? cgrp->kn->id : 0;
	info->ifindex = ifindex_of(tp);
	info->tcp_state = sk->__sk_common.skc_state;
	info->local_addr_id = (__u8)sf->local_id;
	info->remote_addr_id = sf->remote_id;
	read_endpoints(tp, info);

	flags |= subflow_is_join(tp, sf, msk) ? SUBFLOW_F_JOIN : SUBFLOW_F_INITIAL;
	if (BPF_CORE_READ_BITFIELD(sf, request_bkup))
		flags |= SUBFLOW_F_BACKUP_LOCAL;
	if (BPF_CORE_READ_BITFIELD(sf, backup))
		flags |= SUBFLOW_F_BACKUP_PEER;
	if (msk->pm.server_side)
		flags |= SUBFLOW_F_SERVER;
	if (info->tcp_state == TCP_ESTABLISHED_STATE)
		flags |= SUBFLOW_F_ESTABLISHED;
	info->flags = flags;
	/* Subflows are numbered from 1; 0 means a passive join still queued
	 * on its busy connection: everything but the id is known. */
	return info->id ? 0 : -1;
}

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
