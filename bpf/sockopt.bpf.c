// SPDX-License-Identifier: GPL-2.0
/*
 * SUB_GETSOCKOPT / SUB_SETSOCKOPT (draft-hesmans-mptcp-socket) on one subflow.
 * Hook: iter/tcp, run once by the loader per call in the caller's network
 * namespace (an iterator walks the namespace of the thread that creates it).
 * For the one MPTCP subflow whose connection token and subflow id match the
 * loader's constants, it sets the option (when asked) with bpf_setsockopt(),
 * reads it back with bpf_getsockopt() and writes one struct sockopt_record
 * to the iterator's output, which the loader reads. It creates no map of
 * its own beyond its read-only constants, and pins nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* The same numbers as enum subflow_sockopt in include/subflow.h. */
#define SOCKOPT_MARK		1
#define SOCKOPT_PRIORITY	2
#define SOCKOPT_PACING		3
#define SOCKOPT_TOS		4
#define SOCKOPT_CC		5
#define SOCKOPT_USER_TIMEOUT	6
#define SOCKOPT_NODELAY		7
#define SOCKOPT_KEEPALIVE	8

/* Keepalive travels packed in one value: on/off, then the three settings
 * (the kernel caps idle and interval at 32767 s and the count at 127).
 * The loader packs and unpacks the same way. */
#define KA_ON(v)	((v) & 0x1)
#define KA_COUNT(v)	(((v) >> 8) & 0xff)
#define KA_INTVL(v)	(((v) >> 16) & 0xffff)
#define KA_IDLE(v)	(((v) >> 32) & 0xffff)
#define KA_PACK(on, idle, intvl, cnt) \
	((__u64)((on) & 1) | ((__u64)((cnt) & 0xff) << 8) | \
	 ((__u64)((intvl) & 0xffff) << 16) | ((__u64)((idle) & 0xffff) << 32))

/* uapi values; vmlinux.h carries no macros. */
#define SOL_SOCKET_LEVEL	1
#define SOL_IP_LEVEL		0
#define SOL_IPV6_LEVEL		41
#define SOL_TCP_LEVEL		6
#define SO_KEEPALIVE_OPT	9
#define SO_PRIORITY_OPT		12
#define SO_MARK_OPT		36
#define SO_MAX_PACING_RATE_OPT	47
#define IP_TOS_OPT		1
#define IPV6_TCLASS_OPT		67
#define TCP_NODELAY_OPT		1
#define TCP_KEEPIDLE_OPT	4
#define TCP_KEEPINTVL_OPT	5
#define TCP_KEEPCNT_OPT		6
#define TCP_CONGESTION_OPT	13
#define TCP_USER_TIMEOUT_OPT	18

#define AF_INET6_FAMILY		10
#define TCP_CLOSE_STATE		7
#define CC_NAME_MAX		16

/* Set by the loader between open and load. */
const volatile __u32 target_token;
const volatile __u32 target_id;
const volatile __u32 option;
const volatile __u32 do_set;
const volatile __u64 set_value;
const volatile char set_cc[CC_NAME_MAX];

/* What the loader reads from the iterator: 32 bytes, no padding. */
struct sockopt_record {
	__s32 err;	/* 0, or the -errno of the kernel's answer */
	__u32 found;	/* 1: the subflow exists */
	__u64 value;
	char  cc[CC_NAME_MAX];
};

static __always_inline bool is_target(struct tcp_sock *tp)
{
	struct mptcp_subflow_context *sf;
	struct mptcp_sock *msk;
	__u32 token;

	if (!tp->is_mptcp)
		return false;
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_state == TCP_CLOSE_STATE)
		return false;
	sf = (struct mptcp_subflow_context *)BPF_CORE_READ(tp, inet_conn.icsk_ulp_data);
	if (!sf)
		return false;
	msk = (struct mptcp_sock *)BPF_CORE_READ(sf, conn);
	if (!msk)
		return false;
	token = BPF_CORE_READ(msk, token);
	return token && token == target_token && BPF_CORE_READ(sf, subflow_id) == target_id;
}

static __always_inline int get_int(struct tcp_sock *tp, int level, int optname, __u64 *out)
{
	int v = 0, err;

	err = bpf_getsockopt(tp, level, optname, &v, sizeof(v));
	if (!err)
		*out = (__u32)v;
	return err;
}

static __always_inline int set_int(struct tcp_sock *tp, int level, int optname, __u64 value)
{
	int v = (int)value;

	return bpf_setsockopt(tp, level, optname, &v, sizeof(v));
}

/* IP_TOS for IPv4 subflows, IPV6_TCLASS for IPv6 ones. */
static __always_inline void tos_option(struct tcp_sock *tp, int *level, int *optname)
{
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_family == AF_INET6_FAMILY) {
		*level = SOL_IPV6_LEVEL;
		*optname = IPV6_TCLASS_OPT;
	} else {
		*level = SOL_IP_LEVEL;
		*optname = IP_TOS_OPT;
	}
}

/* The single-int options: level and name. 0 for the others. */
static __always_inline int int_option(struct tcp_sock *tp, int *level, int *optname)
{
	switch (option) {
	case SOCKOPT_MARK:
		*level = SOL_SOCKET_LEVEL;
		*optname = SO_MARK_OPT;
		return 1;
	case SOCKOPT_PRIORITY:
		*level = SOL_SOCKET_LEVEL;
		*optname = SO_PRIORITY_OPT;
		return 1;
	case SOCKOPT_PACING:
		/* bpf_setsockopt() takes an int here: below ~0U bytes/s,
		 * and ~0U means unlimited, as for a 4-byte setsockopt(2). */
		*level = SOL_SOCKET_LEVEL;
		*optname = SO_MAX_PACING_RATE_OPT;
		return 1;
	case SOCKOPT_TOS:
		tos_option(tp, level, optname);
		return 1;
	case SOCKOPT_USER_TIMEOUT:
		*level = SOL_TCP_LEVEL;
		*optname = TCP_USER_TIMEOUT_OPT;
		return 1;
	case SOCKOPT_NODELAY:
		*level = SOL_TCP_LEVEL;
		*optname = TCP_NODELAY_OPT;
		return 1;
	}
	return 0;
}

static __always_inline int get_keepalive(struct tcp_sock *tp, __u64 *out)
{
	__u64 on = 0, idle = 0, intvl = 0, cnt = 0;
	int err;

	/* TCP_KEEP* answer the effective values (the namespace's sysctls
	 * when the socket set none), which is what the stack uses. */
	err = get_int(tp, SOL_SOCKET_LEVEL, SO_KEEPALIVE_OPT, &on);
	if (!err)
		err = get_int(tp, SOL_TCP_LEVEL, TCP_KEEPIDLE_OPT, &idle);
	if (!err)
		err = get_int(tp, SOL_TCP_LEVEL, TCP_KEEPINTVL_OPT, &intvl);
	if (!err)
		err = get_int(tp, SOL_TCP_LEVEL, TCP_KEEPCNT_OPT, &cnt);
	if (!err)
		*out = KA_PACK(on, idle, intvl, cnt);
	return err;
}

static __always_inline int set_keepalive(struct tcp_sock *tp, __u64 v)
{
	int err = 0;

	/* The timers first, so that enabling keepalive arms it with them. */
	if (KA_ON(v)) {
		err = set_int(tp, SOL_TCP_LEVEL, TCP_KEEPIDLE_OPT, KA_IDLE(v));
		if (!err)
			err = set_int(tp, SOL_TCP_LEVEL, TCP_KEEPINTVL_OPT, KA_INTVL(v));
		if (!err)
			err = set_int(tp, SOL_TCP_LEVEL, TCP_KEEPCNT_OPT, KA_COUNT(v));
	}
	if (!err)
		err = set_int(tp, SOL_SOCKET_LEVEL, SO_KEEPALIVE_OPT, KA_ON(v));
	return err;
}

static __always_inline int get_congestion(struct tcp_sock *tp, struct sockopt_record *rec)
{
	return bpf_getsockopt(tp, SOL_TCP_LEVEL, TCP_CONGESTION_OPT, rec->cc, sizeof(rec->cc));
}

static __always_inline int set_congestion(struct tcp_sock *tp)
{
	char name[CC_NAME_MAX];
	int i;

	for (i = 0; i < CC_NAME_MAX; i++)
		name[i] = set_cc[i];
	name[CC_NAME_MAX - 1] = 0;
	return bpf_setsockopt(tp, SOL_TCP_LEVEL, TCP_CONGESTION_OPT, name, sizeof(name));
}

SEC("iter/tcp")
int sockopt_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sockopt_record rec = {};
	int level = 0, optname = 0;
	struct tcp_sock *tp;
	int err = 0;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !is_target(tp))
		return 0;
	rec.found = 1;

	if (option == SOCKOPT_CC) {
		if (do_set)
			err = set_congestion(tp);
		if (!err)
			err = get_congestion(tp, &rec);
	} else if (option == SOCKOPT_KEEPALIVE) {
		if (do_set)
			err = set_keepalive(tp, set_value);
		if (!err)
			err = get_keepalive(tp, &rec.value);
	} else if (int_option(tp, &level, &optname)) {
		if (do_set)
			err = set_int(tp, level, optname, set_value);
		if (!err && option == SOCKOPT_PACING)
			/* bpf_getsockopt() answers min(rate, ~0U): a rate an
			 * application set above 4 GB/s would read as "no
			 * limit". The field itself is what the stack paces by. */
			rec.value = BPF_CORE_READ((struct sock *)tp, sk_max_pacing_rate);
		else if (!err)
			err = get_int(tp, level, optname, &rec.value);
	} else {
		err = -95;	/* -EOPNOTSUPP: an option this program does not know */
	}
	rec.err = err;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
