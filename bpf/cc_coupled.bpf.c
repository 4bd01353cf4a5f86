// SPDX-License-Identifier: GPL-2.0
/*
 * Coupled multipath congestion control. Hook: struct_ops tcp_congestion_ops,
 * three of them: mptcp_lia (RFC 6356), mptcp_olia (Khalili et al. 2013) and
 * mptcp_balia (Peng et al. 2016). Chosen per subflow (policy `cc NAME`:
 * bpf_setsockopt(TCP_CONGESTION) from sockops) or per connection (the
 * application's setsockopt(TCP_CONGESTION) on its MPTCP socket, which the
 * kernel copies to every subflow).
 *
 * Every subflow of a connection publishes its window, MSS, RTT and loss
 * distance in the connection's entry of cc_conns (key: netns cookie, token
 * of this side's MPTCP socket), one slot per subflow id, under the entry's
 * bpf_spin_lock, and copies the other slots out in the same critical
 * section; the increase is then computed from that copy with the arithmetic
 * of include/subflow_cc.h, again when the subflow's window changed or an
 * RTT passed (ACKs in between reuse it). Slow start, fast recovery and undo
 * are Reno's.
 * A socket that is not an MPTCP subflow runs the kernel's Reno functions.
 *
 * The MPTCP socket is read-only from here (bpf_rdonly_cast of the subflow
 * context's conn); per-subflow state lives in icsk_ca_priv.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
/* The arithmetic's steps as global functions (see subflow_cc.h). */
#define SCC_STEP __attribute__((noinline))
#include "subflow_cc.h"
#include "subflow_read.bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;
extern __u32 tcp_slow_start(struct tcp_sock *tp, __u32 acked) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_CC_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_conn_key);
	__type(value, struct subflow_cc_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cc_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_CC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cc_stats SEC(".maps");

enum scc_algo { SCC_LIA, SCC_OLIA, SCC_BALIA };

enum scc_mode {
	SCC_MODE_UNKNOWN,	/* not yet resolved (MPTCP socket without a token yet) */
	SCC_MODE_COUPLED,	/* an MPTCP subflow: coupled */
	SCC_MODE_RENO,		/* not an MPTCP subflow: the kernel's Reno */
};

/* Per subflow, in icsk_ca_priv (zeroed by the kernel before init). */
struct scc_sock {
	__u64 netns_cookie;
	__s64 credits;		/* congestion avoidance credits, see scc_cwnd_ai */
	__u64 loss_last;	/* tp->bytes_acked at the last congestion event */
	__u64 loss_prev;	/* ... and at the one before */
	__u32 token;
	__u32 id;
	__u8  mode;		/* enum scc_mode */
	__s64 k;		/* increase relative to Reno (SCC_ONE), from the last view */
	__u32 k_cwnd;		/* the window it was computed for */
	__u32 k_stamp_ms;	/* and when */
	__u8  slot;		/* where our slot was last found */
	__u8  slots_full;	/* found no free slot (counted once) */
	__u8  k_valid;
	__u8  pad[5];
};
_Static_assert(sizeof(struct scc_sock) <= sizeof(((struct inet_connection_sock *)0)->icsk_ca_priv),
	       "icsk_ca_priv");

static __always_inline struct tcp_sock *tcp_of(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

static __always_inline struct scc_sock *ca_of(struct sock *sk)
{
	return (struct scc_sock *)tcp_of(sk)->inet_conn.icsk_ca_priv;
}

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&cc_stats, &stat);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Identify the connection: MPTCP subflow (token + subflow id + netns), or
 * plain TCP. Returns true for a coupled subflow. */
static __always_inline bool scc_resolve(struct sock *sk, struct scc_sock *ca)
{
	struct tcp_sock *tp = tcp_of(sk);
	struct mptcp_subflow_context *sf;
	struct mptcp_sock *msk;
	__u32 token;

	if (ca->mode)
		return ca->mode == SCC_MODE_COUPLED;
	if (!tp->is_mptcp) {
		ca->mode = SCC_MODE_RENO;
		count(SUBFLOW_CC_STAT_RENO);
		return false;
	}
	sf = subflow_ctx_of(tp);
	msk = sf ? msk_of(sf) : NULL;
	if (!msk)
		return false;
	token = msk->token;
	if (!token || !sf->subflow_id)
		return false;	/* not yet: try again on the next ACK */
	ca->token = token;
	ca->id = sf->subflow_id;
	ca->netns_cookie = sk->__sk_common.skc_net.net->net_cookie;
	ca->mode = SCC_MODE_COUPLED;
	count(SUBFLOW_CC_STAT_COUPLED);
	return true;
}

/* The connection's entry, created empty when absent. Not inlined: its
 * zeroed value would add to the caller's stack. */
static __noinline struct subflow_cc_conn *scc_conn_create(__u64 netns_cookie, __u32 token)
{
	struct subflow_conn_key key = { .netns_cookie = netns_cookie, .token = token };
	struct subflow_cc_conn zero = {};
	struct subflow_cc_conn *c;

	c = bpf_map_lookup_elem(&cc_conns, &key);
	if (c)
		return c;
	if (bpf_map_update_elem(&cc_conns, &key, &zero, BPF_NOEXIST) == -17 /* EEXIST: a sibling won */)
		return bpf_map_lookup_elem(&cc_conns, &key);
	c = bpf_map_lookup_elem(&cc_conns, &key);
	if (!c)
		count(SUBFLOW_CC_STAT_MAP_FULL);
	return c;
}

static __always_inline __u32 scc_now_ms(struct tcp_sock *tp)
{
	return (__u32)(tp->tcp_mstamp / 1000);
}

/* OLIA's inter-loss distance: the larger of the bytes ACKed since the last
 * congestion event and between the last two, in packets. */
static __always_inline __u32 scc_loss_pkts(struct tcp_sock *tp, struct scc_sock *ca)
{
	__u64 since = tp->bytes_acked - ca->loss_last, between = ca->loss_last - ca->loss_prev;
	__u64 l = since > between ? since : between;
	__u32 mss = tp->mss_cache ? tp->mss_cache : 1;

	l /= mss;
	return l > 0xffffffffULL ? 0xffffffffU : (__u32)l;
}

/* Publish this subflow's values (cwnd as given) in the connection's entry
 * and copy every slot out in the same critical section, into `in`. Returns
 * false when the connection has no entry (map full): the caller then runs
 * uncoupled. */
static __always_inline bool scc_publish(struct sock *sk, struct scc_sock *ca, __u32 cwnd,
					struct scc_input *in)
{
	struct tcp_sock *tp = tcp_of(sk);
	struct subflow_cc_conn *c;
	__u32 i, slot, free = SUBFLOW_CC_MAX_PATHS;

	in->self.id = ca->id;
	in->self.cwnd = cwnd;
	in->self.srtt = tp->srtt_us;
	in->self.loss_pkts = scc_loss_pkts(tp, ca);
	in->self.stamp_ms = in->now_ms = scc_now_ms(tp);
	in->self.mss = tp->mss_cache > 0xffff ? 0xffff : tp->mss_cache;
	in->self.flags = 0;

	c = scc_conn_create(ca->netns_cookie, ca->token);
	if (!c)
		return false;
	bpf_spin_lock(&c->lock);
	slot = ca->slot & (SUBFLOW_CC_MAX_PATHS - 1);
	if (c->paths[slot].id != in->self.id) {
		slot = SUBFLOW_CC_MAX_PATHS;
		SCC_LOOP
		for (i = 0; i < SUBFLOW_CC_MAX_PATHS; i++) {
			if (c->paths[i].id == in->self.id) {
				slot = i;
				break;
			}
			/* A free slot, or an idle one: a subflow the kernel
			 * keeps after closing it (the first one stays until the
			 * connection closes) publishes nothing any more. */
			if (free == SUBFLOW_CC_MAX_PATHS &&
			    (!c->paths[i].id || !scc_slot_fresh(&c->paths[i], in->now_ms)))
				free = i;
		}
		if (slot == SUBFLOW_CC_MAX_PATHS && free < SUBFLOW_CC_MAX_PATHS) {
			slot = free;
			if (!c->paths[free].id)
				c->nr_paths++;
		}
	}
	if (slot < SUBFLOW_CC_MAX_PATHS)
		c->paths[slot] = in->self;
	SCC_LOOP
	for (i = 0; i < SUBFLOW_CC_MAX_PATHS; i++)
		in->paths[i] = c->paths[i];
	bpf_spin_unlock(&c->lock);

	in->self_slot = slot;
	if (slot < SUBFLOW_CC_MAX_PATHS) {
		ca->slot = slot;
	} else if (!ca->slots_full) {
		ca->slots_full = 1;
		count(SUBFLOW_CC_STAT_SLOTS_FULL);
	}
	return true;
}

/* The arithmetic, as global functions: the verifier checks each once, with
 * the input unknown, instead of once per path through the caller. */
__noinline __s64 scc_increase(struct scc_input *in, __u32 algo)
{
	struct scc_view v;

	if (!in)
		return SCC_ONE;
	scc_view_build(&v, in);
	if (algo == SCC_LIA)
		return scc_lia_k(&v);
	if (algo == SCC_OLIA)
		return scc_olia_k(&v);
	return scc_balia_k(&v);
}

__noinline __u32 scc_balia_decrease(struct scc_input *in, __u32 cwnd)
{
	struct scc_view v;

	if (!in)
		return scc_reno_ssthresh(cwnd);
	scc_view_build(&v, in);
	return scc_balia_ssthresh(&v, cwnd);
}

static __always_inline bool scc_cwnd_limited(struct tcp_sock *tp)
{
	if (BPF_CORE_READ_BITFIELD(tp, is_cwnd_limited))
		return true;
	if (tp->snd_cwnd < tp->snd_ssthresh)
		return tp->snd_cwnd < 2 * tp->max_packets_out;
	return false;
}

static __always_inline void scc_init(struct sock *sk)
{
	struct scc_sock *ca = ca_of(sk);

	__builtin_memset(ca, 0, sizeof(*ca));
	ca->loss_last = ca->loss_prev = tcp_of(sk)->bytes_acked;
	scc_resolve(sk, ca);
}

/* Publish and recompute k when our window changed or an RTT passed
 * (RFC 6356 section 4: alpha once per window of data, not per ACK);
 * other ACKs reuse the last k. Returns false when the connection has no
 * entry (cc_conns full): the caller runs uncoupled Reno. */
static __always_inline bool scc_refresh(struct sock *sk, struct scc_sock *ca, enum scc_algo algo)
{
	struct tcp_sock *tp = tcp_of(sk);
	struct scc_input in;
	__u32 now = scc_now_ms(tp);

	if (ca->k_valid && ca->k_cwnd == tp->snd_cwnd &&
	    (__u32)(now - ca->k_stamp_ms) <= tp->srtt_us / 8000)
		return true;
	if (!scc_publish(sk, ca, tp->snd_cwnd, &in)) {
		ca->k_valid = 0;
		return false;
	}
	ca->k = scc_increase(&in, algo);
	ca->k_cwnd = tp->snd_cwnd;
	ca->k_stamp_ms = now;
	ca->k_valid = 1;
	return true;
}

static __always_inline void scc_cong_avoid(struct sock *sk, __u32 ack, __u32 acked,
					   enum scc_algo algo)
{
	struct tcp_sock *tp = tcp_of(sk);
	struct scc_sock *ca = ca_of(sk);
	__s64 credits;

	if (!scc_resolve(sk, ca) || !scc_refresh(sk, ca, algo)) {
		tcp_reno_cong_avoid(sk, ack, acked);
		return;
	}
	if (!scc_cwnd_limited(tp))
		return;
	if (tp->snd_cwnd < tp->snd_ssthresh) {
		acked = tcp_slow_start(tp, acked);
		if (!acked)
			return;
	}
	credits = ca->credits;
	tp->snd_cwnd = scc_cwnd_ai(tp->snd_cwnd, &credits, acked, ca->k, tp->snd_cwnd_clamp);
	ca->credits = credits;
}

static __always_inline __u32 scc_ssthresh(struct sock *sk, enum scc_algo algo)
{
	struct tcp_sock *tp = tcp_of(sk);
	struct scc_sock *ca = ca_of(sk);
	struct scc_input in;
	__u32 ssthresh;

	if (!scc_resolve(sk, ca))
		return tcp_reno_ssthresh(sk);
	ca->credits = 0;
	ca->k_valid = 0;
	if (tp->bytes_acked != ca->loss_last) {
		ca->loss_prev = ca->loss_last;
		ca->loss_last = tp->bytes_acked;
	}
	ssthresh = scc_reno_ssthresh(tp->snd_cwnd);
	if (algo == SCC_BALIA) {
		/* The view with our window before the decrease. */
		if (scc_publish(sk, ca, tp->snd_cwnd, &in))
			ssthresh = scc_balia_decrease(&in, tp->snd_cwnd);
	}
	scc_publish(sk, ca, ssthresh, &in);
	return ssthresh;
}

/* Leave the connection's entry; the last subflow removes it. */
static __always_inline void scc_release(struct sock *sk)
{
	struct scc_sock *ca = ca_of(sk);
	struct subflow_conn_key key = { .netns_cookie = ca->netns_cookie, .token = ca->token };
	struct subflow_cc_conn *c;
	__u32 i, left;

	if (ca->mode != SCC_MODE_COUPLED)
		return;
	c = bpf_map_lookup_elem(&cc_conns, &key);
	if (!c)
		return;
	bpf_spin_lock(&c->lock);
	SCC_LOOP
	for (i = 0; i < SUBFLOW_CC_MAX_PATHS; i++) {
		if (c->paths[i].id == ca->id) {
			c->paths[i].id = 0;
			c->nr_paths--;
			break;
		}
	}
	left = c->nr_paths;
	bpf_spin_unlock(&c->lock);
	/* A sibling that claims a slot right now finds no entry on its next
	 * ACK and creates it again. */
	if (!left)
		bpf_map_delete_elem(&cc_conns, &key);
}

/* One tcp_congestion_ops per control; the programs differ only in algo. */
#define SCC_OPS(cc, algo)							\
	SEC("struct_ops/" #cc "_init")					\
	void BPF_PROG(cc##_init, struct sock *sk)				\
	{									\
		scc_init(sk);							\
	}									\
	SEC("struct_ops/" #cc "_release")					\
	void BPF_PROG(cc##_release, struct sock *sk)				\
	{									\
		scc_release(sk);						\
	}									\
	SEC("struct_ops/" #cc "_cong_avoid")					\
	void BPF_PROG(cc##_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) \
	{									\
		scc_cong_avoid(sk, ack, acked, algo);				\
	}									\
	SEC("struct_ops/" #cc "_ssthresh")					\
	__u32 BPF_PROG(cc##_ssthresh, struct sock *sk)			\
	{									\
		return scc_ssthresh(sk, algo);					\
	}									\
	SEC("struct_ops/" #cc "_undo_cwnd")					\
	__u32 BPF_PROG(cc##_undo_cwnd, struct sock *sk)			\
	{									\
		return tcp_reno_undo_cwnd(sk);					\
	}									\
	SEC(".struct_ops")							\
	struct tcp_congestion_ops mptcp_##cc = {				\
		.init		= (void *)cc##_init,				\
		.release	= (void *)cc##_release,			\
		.cong_avoid	= (void *)cc##_cong_avoid,			\
		.ssthresh	= (void *)cc##_ssthresh,			\
		.undo_cwnd	= (void *)cc##_undo_cwnd,			\
		.name		= "mptcp_" #cc,				\
	};

SCC_OPS(lia, SCC_LIA)
SCC_OPS(olia, SCC_OLIA)
SCC_OPS(balia, SCC_BALIA)
