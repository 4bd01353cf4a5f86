// SPDX-License-Identifier: GPL-2.0
/*
 * One-shot operations on chosen MPTCP subflows, from outside their
 * connection. Hook: iter/tcp, run by the loader on demand in the caller's
 * network namespace (an iterator walks the namespace of the thread that
 * creates it); one program for every such operation, chosen by `op`
 * (include/subflow_oneshot.h):
 *   SOCKOPT   SUB_GETSOCKOPT / SUB_SETSOCKOPT (draft-hesmans-mptcp-socket):
 *             bpf_setsockopt() when asked, then bpf_getsockopt()
 *   LIST      the subflows of a connection (or of every connection) with
 *             their TCP state and counters: SUB_GETSOCKOPT of TCP_INFO
 *   DESTROY   CLOSE_SUB_ID: bpf_sock_destroy() on one subflow (it is reset;
 *             the connection goes on over its other subflows)
 *   CB_FLAGS  add sockops callback flags (e.g. RTO) to a connection's subflows
 * Its parameters are globals the loader writes before each run (the
 * program stays loaded between runs); each subflow acted on gets one
 * struct subflow_oneshot_record in the iterator's output. It uses no map
 * beyond its globals and pins nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "subflow_oneshot.h"
#include "sockopts.bpf.h"
#include "subflow_read.bpf.h"

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

#define CC_NAME_MAX		TCP_CA_NAME_MAX_LEN

/* Written by the loader before each run (.bss: the program stays loaded). */
__u32 op;		/* enum subflow_oneshot_op */
__u32 target_token;	/* LIST: 0 for every connection */
__u32 target_id;	/* LIST, CB_FLAGS: 0 for every subflow of the connection */
__u32 option;		/* SOCKOPT */
__u32 do_set;
__u64 set_value;
char set_cc[CC_NAME_MAX];
__u32 add_cb_flags;	/* CB_FLAGS */

/* 0 when the kernel's config is not readable: ages are then unknown. */
extern unsigned long CONFIG_HZ __kconfig __weak;

/* The operation's subflow: an MPTCP subflow, not closed, of the target
 * connection (any, for LIST with token 0), with the target id (any with
 * id 0, except for the operations on one subflow). */
static __always_inline bool is_target(struct tcp_sock *tp)
{
	struct mptcp_subflow_context *sf;
	struct mptcp_sock *msk;
	__u32 token, id;

	if (!tp->is_mptcp)
		return false;
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_state == TCP_CLOSE_STATE)
		return false;
	sf = subflow_ctx_of(tp);
	if (!sf)
		return false;
	msk = msk_of(sf);
	if (!msk)
		return false;
	token = msk->token;
	id = sf->subflow_id;
	if (!token || !id)
		return false;
	if (target_token && token != target_token)
		return false;
	if (!target_token && op != SUBFLOW_ONESHOT_LIST)
		return false;
	if (target_id && id != target_id)
		return false;
	return target_id || op == SUBFLOW_ONESHOT_LIST || op == SUBFLOW_ONESHOT_CB_FLAGS;
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
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_family == SUBFLOW_AF_INET6) {
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

static __always_inline int get_congestion(struct tcp_sock *tp, struct subflow_oneshot_record *rec)
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

static __always_inline int do_sockopt(struct tcp_sock *tp, struct subflow_oneshot_record *rec)
{
	int level = 0, optname = 0;
	int err = 0;

	if (option == SOCKOPT_CC) {
		if (do_set)
			err = set_congestion(tp);
		if (!err)
			err = get_congestion(tp, rec);
	} else if (option == SOCKOPT_KEEPALIVE) {
		if (do_set)
			err = set_keepalive(tp, set_value);
		if (!err)
			err = get_keepalive(tp, &rec->value);
	} else if (int_option(tp, &level, &optname)) {
		if (do_set)
			err = set_int(tp, level, optname, set_value);
		if (!err && option == SOCKOPT_PACING)
			/* bpf_getsockopt() answers min(rate, ~0U): a rate an
			 * application set above 4 GB/s would read as "no
			 * limit". The field itself is what the stack paces by. */
			rec->value = BPF_CORE_READ((struct sock *)tp, sk_max_pacing_rate);
		else if (!err)
			err = get_int(tp, level, optname, &rec->value);
	} else {
		err = -95;	/* -EOPNOTSUPP: an option this program does not know */
	}
	return err;
}

/* Milliseconds since a jiffies stamp; UINT32_MAX when HZ is unknown. */
static __always_inline __u32 ms_since(__u32 stamp)
{
	unsigned long hz = CONFIG_HZ;
	__u32 delta;

	if (!hz)
		return 0xffffffff;
	delta = (__u32)bpf_jiffies64() - stamp;
	return (__u64)delta * 1000 / hz;
}

static __always_inline void read_tcp_info(struct tcp_sock *tp, struct subflow_tcp_info *ti)
{
	struct inet_connection_sock *icsk = &tp->inet_conn;
	struct sock *sk = &icsk->icsk_inet.sk;
	unsigned long hz = CONFIG_HZ;
	unsigned long rate;

	ti->state = sk->__sk_common.skc_state;
	ti->ca_state = BPF_CORE_READ_BITFIELD(icsk, icsk_ca_state);
	ti->retransmits = icsk->icsk_retransmits;
	ti->rtt_us = tp->srtt_us >> 3;
	ti->rttvar_us = tp->mdev_us >> 2;
	ti->min_rtt_us = tp->rtt_min.s[0].v;
	ti->rto_us = hz ? (__u64)icsk->icsk_rto * 1000000 / hz : 0;
	ti->snd_cwnd = tp->snd_cwnd;
	ti->snd_ssthresh = tp->snd_ssthresh;
	ti->unacked = tp->packets_out;
	ti->retrans_out = tp->retrans_out;
	ti->lost_out = tp->lost_out;
	ti->total_retrans = tp->total_retrans;
	ti->snd_mss = tp->mss_cache;
	ti->last_data_sent_ms = ms_since(tp->lsndtime);
	ti->last_data_recv_ms = ms_since(icsk->icsk_ack.lrcvtime);
	ti->last_ack_recv_ms = ms_since(tp->rcv_tstamp);
	ti->bytes_sent = tp->bytes_sent;
	ti->bytes_retrans = tp->bytes_retrans;
	ti->bytes_acked = tp->bytes_acked;
	ti->bytes_received = tp->bytes_received;
	rate = sk->sk_pacing_rate;
	ti->pacing_rate = rate == ~0UL ? ~0ULL : rate;
	rate = sk->sk_max_pacing_rate;
	ti->max_pacing_rate = rate == ~0UL ? ~0ULL : rate;
}

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

SEC("iter/tcp")
int subflow_oneshot(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct subflow_oneshot_record rec = {};
	struct subflow_read rd = {};
	struct tcp_sock *tp;
	int flags;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !is_target(tp))
		return 0;
	read_subflow(tp, &rd);
	rec.info = rd.info;
	rec.token = rd.ckey.token;
	rec.cgroup_id = rd.cgroup_id;

	switch (op) {
	case SUBFLOW_ONESHOT_SOCKOPT:
		rec.err = do_sockopt(tp, &rec);
		break;
	case SUBFLOW_ONESHOT_LIST:
		read_tcp_info(tp, &rec.tcp);
		break;
	case SUBFLOW_ONESHOT_DESTROY:
		/* The socket is reset (ECONNABORTED); MPTCP closes it and
		 * goes on over the connection's other subflows, which take
		 * over whatever data it had not delivered. */
		rec.err = bpf_sock_destroy(skc);
		break;
	case SUBFLOW_ONESHOT_CB_FLAGS:
		flags = tp->bpf_sock_ops_cb_flags | add_cb_flags;
		rec.err = bpf_setsockopt(tp, SOL_TCP_LEVEL, TCP_BPF_SOCK_OPS_CB_FLAGS, &flags,
					 sizeof(flags));
		break;
	default:
		return 0;
	}
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
