/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading one MPTCP subflow (a kernel tcp_sock) into a struct subflow_info,
 * with no map of its own: shared by the tracker and the attach-time snapshot
 * (through record.bpf.h) and by the one-shot subflow operations iterator
 * (sockopt.bpf.c), so that all of them read a subflow exactly the same way.
 *
 * Kernel structs are read with CO-RE probe reads: the same code works from
 * sockops, iterator and tracing context, and survives layout changes.
 */
#ifndef SUBFLOW_READ_BPF_H
#define SUBFLOW_READ_BPF_H

#include "subflow_abi.h"

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

#endif /* SUBFLOW_READ_BPF_H */
