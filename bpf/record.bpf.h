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

static __always_inline struct mptcp_subflow_context *subflow_ctx_of(struct tcp_sock *tp)
{
	return (struct mptcp_subflow_context *)BPF_CORE_READ(tp, inet_conn.icsk_ulp_data);
}

static __always_inline __u64 cgroup_id_of(struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

static __always_inline void read_endpoints(struct sock *sk, struct subflow_info *info)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	info->local.family = family;
	info->remote.family = family;
	info->local.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	info->remote.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == SUBFLOW_AF_INET6) {
		BPF_CORE_READ_INTO(&info->local.addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&info->remote.addr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)info->local.addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)info->remote.addr, sk, __sk_common.skc_daddr);
	}
}

/* The device the subflow's packets leave by: its cached route's device,
 * else the device it is bound to. */
static __always_inline __u32 ifindex_of(struct sock *sk)
{
	struct dst_entry *dst = BPF_CORE_READ(sk, sk_dst_cache);
	__u32 ifindex = 0;

	if (dst)
		ifindex = BPF_CORE_READ(dst, dev, ifindex);
	if (!ifindex)
		ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	return ifindex;
}

/* Fill `info` from subflow socket `tp`. Returns 0, or -1 when tp is not an
 * MPTCP subflow attached to a connection with a token. */
static __always_inline int read_subflow(struct tcp_sock *tp, struct subflow_info *info)
{
	struct sock *sk = (struct sock *)tp;
	struct mptcp_subflow_context *sf;
	struct mptcp_sock *msk;
	struct net *net;
	__u32 flags = 0;

	if (!BPF_CORE_READ(tp, is_mptcp))
		return -1;
	sf = subflow_ctx_of(tp);
	if (!sf)
		return -1;
	msk = (struct mptcp_sock *)BPF_CORE_READ(sf, conn);
	if (!msk)
		return -1;
	info->token = BPF_CORE_READ(msk, token);
	if (!info->token)
		return -1;

	net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	info->netns_cookie = BPF_CORE_READ(net, net_cookie);
	info->id = BPF_CORE_READ(sf, subflow_id);
	info->cgroup_id = cgroup_id_of(sk);
	info->ifindex = ifindex_of(sk);
	info->tcp_state = BPF_CORE_READ(sk, __sk_common.skc_state);
	info->local_addr_id = (__u8)BPF_CORE_READ(sf, local_id);
	info->remote_addr_id = BPF_CORE_READ(sf, remote_id);
	read_endpoints(sk, info);

	if (BPF_CORE_READ_BITFIELD_PROBED(sf, request_join) ||
	    BPF_CORE_READ_BITFIELD_PROBED(sf, mp_join))
		flags |= SUBFLOW_F_JOIN;
	else
		flags |= SUBFLOW_F_INITIAL;
	if (BPF_CORE_READ_BITFIELD_PROBED(sf, request_bkup))
		flags |= SUBFLOW_F_BACKUP_LOCAL;
	if (BPF_CORE_READ_BITFIELD_PROBED(sf, backup))
		flags |= SUBFLOW_F_BACKUP_PEER;
	if (BPF_CORE_READ(msk, pm.server_side))
		flags |= SUBFLOW_F_SERVER;
	if (info->tcp_state == TCP_ESTABLISHED_STATE)
		flags |= SUBFLOW_F_ESTABLISHED;
	info->flags = flags;
	return 0;
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
	fresh.netns_ino = BPF_CORE_READ(net, ns.inum);
	if (info->flags & SUBFLOW_F_SERVER)
		fresh.flags |= SUBFLOW_CONN_F_SERVER;
	/* NOEXIST: a sibling subflow on another CPU may have just created it. */
	if (bpf_map_update_elem(&conns, ckey, &fresh, BPF_NOEXIST) && 
	    !bpf_map_lookup_elem(&conns, ckey))
		stat_inc(SUBFLOW_STAT_MAP_FULL);
	return bpf_map_lookup_elem(&conns, ckey);
}

/* Record (or refresh) subflow `tp`. The socket cookie comes from the caller:
 * sockops and iterators reach bpf_get_socket_cookie() with different
 * arguments. Returns 1 when the subflow is new to the maps, 0 when it was
 * refreshed, -1 when it is not a trackable subflow. */
static __always_inline int record_subflow(struct tcp_sock *tp, __u32 extra_flags,
					  __u64 sock_cookie)
{
	struct subflow_conn_key ckey = {};
	struct subflow_key key = {};
	struct subflow_conn_info *conn;
	struct subflow_info info = {}, *old;
	struct subflow_key *sk_key;

	if (read_subflow(tp, &info))
		return -1;
	info.flags |= extra_flags;
	info.sock_cookie = sock_cookie;
	key.netns_cookie = info.netns_cookie;
	key.token = info.token;
	key.id = info.id;

	old = bpf_map_lookup_elem(&subflows, &key);
	if (old) {
		/* Keep what was first seen: creation time, snapshot origin. */
		info.created_ns = old->created_ns;
		info.flags |= old->flags & (SUBFLOW_F_SNAPSHOT | SUBFLOW_F_ESTABLISHED);
		bpf_map_update_elem(&subflows, &key, &info, BPF_EXIST);
		return 0;
	}

	info.created_ns = bpf_ktime_get_boot_ns();
	ckey.netns_cookie = key.netns_cookie;
	ckey.token = key.token;
	conn = conn_get_or_create(&info, &ckey,
				  BPF_CORE_READ((struct sock *)tp, __sk_common.skc_net.net));
	if (!conn)
		return -1;
	if (bpf_map_update_elem(&subflows, &key, &info, BPF_NOEXIST)) {
		stat_inc(SUBFLOW_STAT_MAP_FULL);
		return -1;
	}
	sk_key = bpf_sk_storage_get(&subflow_sk_keys, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (sk_key)
		*sk_key = key;
	conn_add_id(conn, key.id);
	__sync_fetch_and_add(&conn->nr_subflows, 1);
	stat_inc(SUBFLOW_STAT_SUBFLOWS_ADDED);
	emit_event(SUBFLOW_EVENT_UP, &info);
	return 1;
}

/* Forget subflow socket `sk` (it reached TCP_CLOSE). The connection entry
 * goes with its last subflow. */
static __always_inline void forget_subflow(void *sk)
{
	struct subflow_conn_key ckey = {};
	struct subflow_conn_info *conn;
	struct subflow_info info;
	struct subflow_key *sk_key, key;
	struct subflow_info *entry;

	sk_key = bpf_sk_storage_get(&subflow_sk_keys, sk, 0, 0);
	if (!sk_key)
		return;
	key = *sk_key;
	bpf_sk_storage_delete(&subflow_sk_keys, sk);

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

#endif /* SUBFLOW_RECORD_BPF_H */
