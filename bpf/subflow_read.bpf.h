/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading an MPTCP subflow (a kernel tcp_sock) from BPF: its subflow context
 * and MPTCP socket, whether it is a join, its endpoints, and the cgroup walk
 * that finds the nearest ancestor with an entry in a map. It declares no
 * map, so every BPF program of the project can use it (sockops, cgroup
 * connect/bind, iterators, congestion controls): each question has one
 * answer.
 *
 * Kernel structs are reached through BTF pointers (bpf_skc_to_tcp_sock,
 * bpf_rdonly_cast): plain loads, no helper call, CO-RE relocated.
 */
#ifndef SUBFLOW_READ_BPF_H
#define SUBFLOW_READ_BPF_H

#include <bpf/bpf_endian.h>
#include "subflow_abi.h"

#define TCP_ESTABLISHED_STATE	1
#define TCP_SYN_SENT_STATE	2
#define TCP_SYN_RECV_STATE	3
#define TCP_FIN_WAIT1_STATE	4
#define TCP_CLOSE_STATE		7
#define TCP_CLOSE_WAIT_STATE	8

#define MAX_CGROUP_LEVELS 32

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
 * not enough: the path manager sets it only after bind(), where admission
 * asks already; mp_join is set only once the handshake completed. The
 * connection's first subflow is msk->first, until teardown clears it. */
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

		__builtin_memset(info->local.addr, 0, 16);
		__builtin_memset(info->remote.addr, 0, 16);
		__builtin_memcpy(info->local.addr, &saddr, 4);
		__builtin_memcpy(info->remote.addr, &daddr, 4);
	}
}

/* The device the subflow's packets leave by: its cached route's device,
 * else the device it is bound to. Plain loads: the route is RCU-protected
 * and BPF programs run under rcu_read_lock (a probe read per pointer cost
 * three helper calls). */
static __always_inline __u32 ifindex_of(struct tcp_sock *tp)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	struct dst_entry *dst = sk->sk_dst_cache;
	__u32 ifindex = 0;

	if (dst) {
		struct net_device *dev = dst->dev;

		if (dev)
			ifindex = dev->ifindex;
	}
	if (!ifindex)
		ifindex = sk->__sk_common.skc_bound_dev_if;
	return ifindex;
}

static __always_inline __u64 cgroup_id_of(struct cgroup *cgrp)
{
	return cgrp ? cgrp->kn->id : 0;
}

/* What `map` (keyed by cgroup id, __u64) holds for the nearest cgroup on
 * the way from cgrp to the root, cgrp itself first; NULL when none has an
 * entry. The one cgroup walk of the engine: policies follow the nearest
 * ancestor that has one, and a socket belongs to an attachment when any
 * ancestor is attached. */
static __always_inline void *cgroup_nearest_value(struct cgroup *cgrp, void *map)
{
	struct cgroup_subsys_state *parent;
	void *value;
	__u64 id;
	int i;

	for (i = 0; i < MAX_CGROUP_LEVELS && cgrp; i++) {
		id = cgrp->kn->id;
		value = bpf_map_lookup_elem(map, &id);
		if (value)
			return value;
		parent = cgrp->self.parent;	/* css is the first member of struct cgroup */
		if (!parent)
			break;
		cgrp = bpf_rdonly_cast(parent, bpf_core_type_id_kernel(struct cgroup));
	}
	return NULL;
}

static __always_inline struct cgroup *cgroup_of(struct tcp_sock *tp)
{
	return tp->inet_conn.icsk_inet.sk.sk_cgrp_data.cgroup;
}

/* The id the kernel will give a passive join that waits on its busy
 * connection's join list (its id is 0 until the connection's system call
 * returns and numbers the queue in order): the connection's next id, plus
 * the joins queued before it. A guess (a subflow this side opens meanwhile
 * takes an id first); 0 when it is not queued. The list is read without its
 * lock, with plain, fault-safe loads: a changing list only spoils the guess. */
static __always_inline __u32 queued_join_id(struct mptcp_subflow_context *sf,
					    struct mptcp_sock *msk)
{
	struct list_head *head = &msk->join_list, *pos = head->next;
	__u32 ahead = 0;
	int i;

	for (i = 0; i < 8; i++) {
		if (!pos || pos == head)
			return 0;
		if ((void *)pos == (void *)sf)	/* its `node` is its first member */
			return msk->subflow_id + ahead;
		ahead++;
		pos = pos->next;
	}
	return 0;
}

/* The MPTCP subflow a sockops callback runs for, or NULL (no full socket,
 * or plain TCP). skops->sk is loaded once: the verifier tracks the NULL
 * check of that one load. */
static __always_inline struct tcp_sock *sockops_subflow(struct bpf_sock_ops *skops)
{
	struct bpf_sock *bsk = skops->sk;
	struct tcp_sock *tp;

	if (!bsk)
		return NULL;
	tp = bpf_skc_to_tcp_sock(bsk);
	return tp && tp->is_mptcp ? tp : NULL;
}

/* A subflow as read from its socket, with what its connection's entry
 * needs when it is the first one recorded. */
struct subflow_read {
	struct subflow_conn_key ckey;
	__u64 cgroup_id;
	__u32 netns_ino;
	__u8  conn_flags;	/* SUBFLOW_CONN_F_SERVER */
	__u8  first;		/* the connection's first subflow (msk->first) */
	__u16 pad;
	struct subflow_info info;
};

/* Read subflow `tp`. Returns 0, or -1 when it is not an MPTCP subflow of a
 * connection with a token. */
static __always_inline int read_subflow(struct tcp_sock *tp, struct subflow_read *rd)
{
	struct sock *sk = &tp->inet_conn.icsk_inet.sk;
	struct mptcp_subflow_context *sf;
	struct subflow_info *info = &rd->info;
	struct mptcp_sock *msk;
	struct net *net;
	__u16 flags = 0;

	if (!tp->is_mptcp)
		return -1;
	sf = subflow_ctx_of(tp);
	if (!sf)
		return -1;
	msk = msk_of(sf);
	if (!msk)
		return -1;
	rd->ckey.token = sf->token;
	rd->ckey.pad = 0;
	if (!rd->ckey.token)
		return -1;
	net = sk->__sk_common.skc_net.net;
	rd->ckey.netns_cookie = net->net_cookie;
	rd->netns_ino = net->ns.inum;
	rd->cgroup_id = cgroup_id_of(cgroup_of(tp));
	rd->first = (void *)msk->first == (void *)tp;
	rd->conn_flags = msk->pm.server_side ? SUBFLOW_CONN_F_SERVER : 0;
	rd->pad = 0;

	info->id = sf->subflow_id;
	if (!info->id && !rd->first && msk->pm.server_side) {
		info->id = queued_join_id(sf, msk);
		if (info->id)
			flags |= SUBFLOW_F_ID_GUESSED;
	}
	info->ifindex = ifindex_of(tp);
	info->tcp_state = sk->__sk_common.skc_state;
	info->local_addr_id = sf->local_id;
	info->remote_addr_id = sf->remote_id;
	info->pad = 0;
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
	return 0;
}

/* Only the key of subflow `tp` (rd->ckey, rd->info.id), for its state
 * changes: the rest comes from its record. Returns 0 or -1 as read_subflow. */
static __always_inline int read_subflow_key(struct tcp_sock *tp, struct subflow_read *rd)
{
	struct mptcp_subflow_context *sf = subflow_ctx_of(tp);

	if (!sf)
		return -1;
	rd->ckey.token = sf->token;
	rd->ckey.pad = 0;
	rd->ckey.netns_cookie = tp->inet_conn.icsk_inet.sk.__sk_common.skc_net.net->net_cookie;
	rd->info.id = sf->subflow_id;
	/* The ports find a subflow recorded under a guessed id. */
	rd->info.local.port = tp->inet_conn.icsk_inet.sk.__sk_common.skc_num;
	rd->info.remote.port = bpf_ntohs(tp->inet_conn.icsk_inet.sk.__sk_common.skc_dport);
	return rd->ckey.token ? 0 : -1;
}

/* The subflow has its key: a subflow numbered 0 is either the first one of
 * a connection made again on its socket (the kernel numbers that one 0 for
 * good), or a passive join still queued on its busy connection, numbered
 * when the connection's system call returns. */
static __always_inline bool read_has_key(const struct subflow_read *rd)
{
	return rd->info.id || rd->first;
}

#endif /* SUBFLOW_READ_BPF_H */
