/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Coupled multipath congestion control: the arithmetic of LIA (RFC 6356),
 * OLIA (Khalili et al., IEEE/ACM ToN 2013) and BALIA (Peng, Walid, Hwang,
 * Low, IEEE/ACM ToN 2016), and the layout of the per-connection state map
 * (cc_conns) that the BPF congestion controls share. Plain integer math,
 * explicit fixed point, no floats: the same code runs in BPF
 * (bpf/cc_coupled.bpf.c) and in the user-space unit test
 * (tests/unit/test_cc_math.c).
 *
 * Units. A window is in bytes (cwnd * MSS: subflows may differ in MSS, as
 * RFC 6356 allows); an RTT is the kernel's srtt_us (microseconds * 8).
 * Every control is written as k, its increase per ACKed packet *relative to
 * Reno's* 1/cwnd_i, in fixed point SCC_ONE = 1.0. Reno is k = SCC_ONE:
 *   LIA    k = min(alpha * cwnd_i / cwnd_total, 1)          RFC 6356 eq. (2)
 *            = min(W_b * W_i / D^2, 1)   with b = argmax W_j / rtt_j^2
 *              and D = sum_j W_j * rtt_b / rtt_j
 *              (alpha = W_total * W_b / D^2, the RFC's formula multiplied out)
 *   OLIA   k = (W_i / E_i)^2 + a_i      E_i = sum_p W_p * rtt_i / rtt_p
 *              (w_r/rtt_r^2 / (sum w_p/rtt_p)^2 + a_r/w_r, times w_r)
 *              a_i = +1/(n |B\M|) on a best path without the largest window,
 *                    -1/(n |M|) on a largest-window path when B\M is not
 *                    empty, 0 otherwise; best = max inter-loss distance l/rtt^2
 *   BALIA  k = (x_i/S)^2 * (1 + a)(4 + a)/10 = (u + m)(4u + m)/10
 *              with x = W/rtt, S = sum x, a = max x / x_i, u = x_i/S, m = max x/S
 * and cwnd_i grows by k/SCC_ONE packets per window of ACKed packets
 * (scc_cwnd_ai, the kernel's tcp_cong_avoid_ai with weighted credits).
 * Decrease: Reno (cwnd/2) for LIA and OLIA; BALIA removes
 * cwnd/2 * min(a, 1.5).
 *
 * Bounds (why no product below overflows 64 bits). scc_view_build()
 * shifts every window of a connection right by one common amount so that
 * the largest has at most SCC_NORM_BITS (20) bits, and every RTT likewise
 * (each value at least 1). The controls depend only on ratios, so a common
 * shift changes nothing but the precision: 20 significant bits relative to
 * the largest value of the connection (a path whose window is below 2^-10
 * of the largest keeps fewer than 10 bits; its weight in every sum is that
 * small too). With W, r <= 2^20 (rounding may reach it) and n <= 9 paths
 * (the ACKed subflow and SUBFLOW_CC_MAX_PATHS slots):
 *   W * r^2 <= 2^60 (argmax compares), W * r <= 2^40 (D and E terms);
 *   each D term is <= max(W_j, W_b) (b maximises W/r^2), so D <= 9 * 2^20
 *   < 2^24, D^2 < 2^48, W_b * W_i * 2^20 <= 2^60, W_tot * W_b * 2^20 <=
 *   9 * 2^60 < 2^64; E_i <= 9 * 2^40 < 2^44 and W_i <= E_i, so
 *   (W_i << 20) / E_i <= 2^20; x = (W << 20) / r <= 2^40, S < 2^44,
 *   (x << 20) <= 2^60; (u + m)(4u + m) <= 2^21 * 5 * 2^20 < 2^44.
 * scc_cwnd_ai: cwnd < 2^32 so one window of credits is < 2^52, and
 * acked * |k| < 2^32 * 2^21 = 2^53: the signed 64-bit accumulator never
 * overflows. tests/unit/test_cc_math.c checks every function at the
 * extremes against 128-bit / long double references.
 *
 * Subflows without an RTT sample (srtt 0) are left out of the sums; if the
 * ACKed subflow itself has none, it grows by SCC_ONE / n (an equal share of
 * one Reno flow). A subflow that processed no ACK for 2 RTTs + 200 ms (an
 * idle backup, a dead path) is left out too, until its next ACK.
 */
#ifndef SUBFLOW_CC_H
#define SUBFLOW_CC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include "subflow_abi.h"

/* The congestion controls the engine registers (tcp_congestion_ops names). */
#define SUBFLOW_CC_LIA		"mptcp_lia"
#define SUBFLOW_CC_OLIA		"mptcp_olia"
#define SUBFLOW_CC_BALIA	"mptcp_balia"

/* Subflows of one connection the coupling sees at once. A ninth live
 * subflow still computes its own increase from the eight published ones
 * and its own values; it is just not seen by the others (cc_stats counts
 * it in SUBFLOW_CC_STAT_SLOTS_FULL). */
#define SUBFLOW_CC_MAX_PATHS	8
#define SUBFLOW_CC_MAX_CONNS	65536

/* ---- cc_conns: the state shared by a connection's subflows ---------------
 * Key: struct subflow_conn_key {netns cookie, token of this side's MPTCP
 * socket}. Each subflow publishes its window, MSS, RTT and loss distance
 * in its own slot (found by subflow id) on every ACK, under the lock, and
 * copies the others' out in the same critical section. */
struct subflow_cc_path {
	__u32 id;		/* the kernel's subflow id; 0: free slot */
	__u32 cwnd;		/* packets (ssthresh while in recovery) */
	__u32 srtt;		/* tp->srtt_us: microseconds * 8; 0: no sample yet */
	__u32 loss_pkts;	/* OLIA: packets ACKed between the last two losses, or since the last, the larger */
	__u32 stamp_ms;		/* tcp clock (ms, wrapping) of the last update */
	__u16 mss;		/* bytes */
	__u16 flags;		/* 0 */
};

struct subflow_cc_conn {
#ifdef __VMLINUX_H__
	struct bpf_spin_lock lock;
#else
	__u32 lock;		/* struct bpf_spin_lock */
#endif
	__u32 nr_paths;		/* slots in use */
	struct subflow_cc_path paths[SUBFLOW_CC_MAX_PATHS];
};

/* Counters in the "cc_stats" per-CPU array. */
enum subflow_cc_stat {
	SUBFLOW_CC_STAT_COUPLED,	/* MPTCP subflows that started a coupled control */
	SUBFLOW_CC_STAT_RENO,		/* sockets that are no MPTCP subflow: run as Reno */
	SUBFLOW_CC_STAT_MAP_FULL,	/* cc_conns full: the subflow ran uncoupled */
	SUBFLOW_CC_STAT_SLOTS_FULL,	/* more than SUBFLOW_CC_MAX_PATHS live subflows */
	SUBFLOW_CC_STAT_MAX,
};

_Static_assert(sizeof(struct subflow_cc_path) == 24, "subflow_cc_path ABI");
_Static_assert(sizeof(struct subflow_cc_conn) == 8 + 24 * SUBFLOW_CC_MAX_PATHS, "subflow_cc_conn ABI");

/* ---- The arithmetic ------------------------------------------------------ */

#define SCC_SHIFT	20
#define SCC_ONE		(1LL << SCC_SHIFT)	/* k of one Reno flow */
#define SCC_NORM_BITS	20
#define SCC_MIN_CWND	1U	/* OLIA may shrink a window on ACKs; never below this */
#define SCC_STALE_MS(srtt) ((srtt) / 4000 + 200)	/* 2 RTTs + 200 ms; srtt in us*8 */

#define SCC_INLINE static inline __attribute__((always_inline))
/* Keeps the compiler from turning an index known to be small into an OR
 * of the stack address, which the BPF verifier refuses. */
#define SCC_OPAQUE(v) __asm__ __volatile__("" : "+r"(v))
/* Loops stay loops in BPF: unrolled, every path through the branches of
 * every iteration is a separate state for the verifier. */
#if defined(__clang__) && defined(__bpf__)
#define SCC_LOOP _Pragma("clang loop unroll(disable)")
#else
#define SCC_LOOP
#endif
/* The steps below. BPF code defines SCC_STEP as a global (noinline)
 * function: the verifier checks a global function once, with its
 * arguments unknown, instead of once per state of every caller; its
 * pointer arguments may be NULL, hence the checks. */
#ifndef SCC_STEP
#define SCC_STEP SCC_INLINE
#endif

/* What one ACK knows: the ACKed subflow's own current values, and a copy of
 * the connection's slots taken in the same critical section (self_slot:
 * where its own slot is among them, SUBFLOW_CC_MAX_PATHS if it has none). */
struct scc_input {
	struct subflow_cc_path self;
	struct subflow_cc_path paths[SUBFLOW_CC_MAX_PATHS];
	__u32 self_slot;
	__u32 now_ms;		/* the ACKed subflow's tcp clock, ms */
};

/* The paths that take part, normalised (see Bounds): the ACKed subflow at
 * index 0, then every other fresh slot. */
#define SCC_VIEW_MAX (SUBFLOW_CC_MAX_PATHS + 1)
struct scc_view {
	__u32 wnd[SCC_VIEW_MAX];	/* bytes >> common shift, in [1, 2^20] */
	__u32 rtt[SCC_VIEW_MAX];	/* srtt >> common shift, in [1, 2^20]; index 0 may be 0: no sample */
	__u32 loss[SCC_VIEW_MAX];	/* OLIA loss distance >> common shift, <= 2^20 */
	__u32 n;
};

/* Number of significant bits of x (0 for 0). */
SCC_INLINE int scc_fls64(__u64 x)
{
	int n = 0;

	if (x >> 32) { n += 32; x >>= 32; }
	if (x >> 16) { n += 16; x >>= 16; }
	if (x >> 8) { n += 8; x >>= 8; }
	if (x >> 4) { n += 4; x >>= 4; }
	if (x >> 2) { n += 2; x >>= 2; }
	if (x >> 1) { n += 1; x >>= 1; }
	return n + (int)x;
}

/* The right shift that leaves max with at most SCC_NORM_BITS bits. */
SCC_STEP int scc_norm_shift(__u64 max)
{
	int bits = scc_fls64(max);

	return bits > SCC_NORM_BITS ? bits - SCC_NORM_BITS : 0;
}

/* v / 2^shift rounded to nearest, but never 0 for a non-zero v; at most
 * 2^SCC_NORM_BITS when shift is scc_norm_shift() of a maximum >= v. */
SCC_INLINE __u32 scc_shift_keep(__u64 v, int shift)
{
	__u64 r = shift ? (v + (1ULL << (shift - 1))) >> shift : v;

	return (__u32)(r ? r : v ? 1 : 0);
}

SCC_INLINE __u64 scc_path_wnd(const struct subflow_cc_path *p)
{
	return (__u64)(p->cwnd ? p->cwnd : 1) * (p->mss ? p->mss : 1);
}

/* Whether a published slot takes part: it has an RTT sample and processed
 * an ACK recently. */
SCC_INLINE int scc_slot_fresh(const struct subflow_cc_path *p, __u32 now_ms)
{
	return p->id && p->srtt && (__u32)(now_ms - p->stamp_ms) <= SCC_STALE_MS(p->srtt);
}

SCC_INLINE int scc_input_takes(const struct scc_input *in, __u32 i)
{
	return i != in->self_slot && scc_slot_fresh(&in->paths[i], in->now_ms);
}

/* Build the normalised view of one ACK. */
SCC_STEP int scc_view_build(struct scc_view *v, const struct scc_input *in)
{
	__u64 wmax, rmax, lmax;
	int sw, sr, sl;
	__u32 i, n = 1;

	if (!v || !in)
		return -1;
	wmax = scc_path_wnd(&in->self);
	rmax = in->self.srtt;
	lmax = in->self.loss_pkts;

	SCC_LOOP
	for (i = 0; i < SUBFLOW_CC_MAX_PATHS; i++) {
		const struct subflow_cc_path *p = &in->paths[i];

		if (!scc_input_takes(in, i))
			continue;
		if (scc_path_wnd(p) > wmax) wmax = scc_path_wnd(p);
		if (p->srtt > rmax) rmax = p->srtt;
		if (p->loss_pkts > lmax) lmax = p->loss_pkts;
	}
	sw = scc_norm_shift(wmax);
	sr = scc_norm_shift(rmax);
	sl = scc_norm_shift(lmax);
	v->wnd[0] = scc_shift_keep(scc_path_wnd(&in->self), sw);
	v->rtt[0] = scc_shift_keep(in->self.srtt, sr);
	v->loss[0] = scc_shift_keep(in->self.loss_pkts, sl);
	SCC_LOOP
	for (i = 0; i < SUBFLOW_CC_MAX_PATHS; i++) {
		const struct subflow_cc_path *p = &in->paths[i];

		if (!scc_input_takes(in, i) || n >= SCC_VIEW_MAX)
			continue;
		v->wnd[n] = scc_shift_keep(scc_path_wnd(p), sw);
		v->rtt[n] = scc_shift_keep(p->srtt, sr);
		v->loss[n] = scc_shift_keep(p->loss_pkts, sl);
		n++;
	}
	v->n = n;
	return 0;
}

/* Every control without an RTT sample on the ACKed subflow: one share. */
SCC_INLINE __s64 scc_no_rtt_k(const struct scc_view *v)
{
	return SCC_ONE / (v->n ? v->n : 1);
}

/* x * rtt_b^2 > y * rtt_i^2, the comparison of x/rtt_i^2 and y/rtt_b^2
 * (every factor < 2^20: < 2^60). */
SCC_INLINE int scc_more_per_rtt2(__u32 x, __u32 rtt_i, __u32 y, __u32 rtt_b)
{
	return (__u64)x * rtt_b * rtt_b > (__u64)y * rtt_i * rtt_i;
}

SCC_INLINE int scc_same_per_rtt2(__u32 x, __u32 rtt_i, __u32 y, __u32 rtt_b)
{
	return (__u64)x * rtt_b * rtt_b == (__u64)y * rtt_i * rtt_i;
}

/* LIA: index of the path with the largest W/rtt^2. */
SCC_STEP __u32 scc_lia_best(const struct scc_view *v)
{
	__u32 b = 0, i;

	if (!v)
		return 0;
	SCC_LOOP
	for (i = 1; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		if (scc_more_per_rtt2(v->wnd[i], v->rtt[i], v->wnd[b], v->rtt[b]))
			b = i;
		SCC_OPAQUE(b);
	}
	return b;
}

/* LIA: D = sum_j W_j * rtt_b / rtt_j, in [W_b, 8 * 2^20). */
SCC_STEP __u64 scc_lia_denominator(const struct scc_view *v, __u32 b)
{
	__u64 d = 0;
	__u32 j;

	if (!v || b >= SCC_VIEW_MAX)
		return 1;
	SCC_LOOP
	for (j = 0; j < SCC_VIEW_MAX; j++) {
		if (j >= v->n)
			break;
		d += (__u64)v->wnd[j] * v->rtt[b] / v->rtt[j];
	}
	return d ? d : 1;
}

/* LIA alpha (RFC 6356 eq. 2) in SCC_ONE units, for display and tests;
 * the per-ACK increase uses scc_lia_k. Needs an RTT on index 0. */
SCC_INLINE __u64 scc_lia_alpha(const struct scc_view *v)
{
	__u64 tot = 0, d;
	__u32 b = scc_lia_best(v), j;

	if (b >= SCC_VIEW_MAX)
		b = 0;
	SCC_LOOP
	for (j = 0; j < SCC_VIEW_MAX; j++) {
		if (j >= v->n)
			break;
		tot += v->wnd[j];
	}
	d = scc_lia_denominator(v, b);
	return (tot * v->wnd[b] << SCC_SHIFT) / (d * d);
}

/* LIA: k of the ACKed subflow (index 0), in [0, SCC_ONE]. */
SCC_INLINE __s64 scc_lia_k(const struct scc_view *v)
{
	__u64 d, k;
	__u32 b;

	if (!v->rtt[0])
		return scc_no_rtt_k(v);
	b = scc_lia_best(v);
	if (b >= SCC_VIEW_MAX)
		b = 0;
	d = scc_lia_denominator(v, b);
	k = ((__u64)v->wnd[b] * v->wnd[0] << SCC_SHIFT) / (d * d);
	return k > (__u64)SCC_ONE ? SCC_ONE : (__s64)k;
}

/* OLIA: (W_0 / E_0)^2 in SCC_ONE units, E_0 = sum_p W_p * rtt_0 / rtt_p. */
SCC_STEP __u64 scc_olia_term(const struct scc_view *v)
{
	__u64 e = 0, q;
	__u32 i;

	if (!v)
		return 0;
	SCC_LOOP
	for (i = 0; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		e += (__u64)v->wnd[i] * v->rtt[0] / v->rtt[i];
	}
	q = ((__u64)v->wnd[0] << SCC_SHIFT) / (e ? e : 1);
	return (q * q) >> SCC_SHIFT;
}

/* OLIA: index of a best path, largest inter-loss distance l / rtt^2. */
SCC_STEP __u32 scc_olia_best(const struct scc_view *v)
{
	__u32 b = 0, i;

	if (!v)
		return 0;
	SCC_LOOP
	for (i = 1; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		if (scc_more_per_rtt2(v->loss[i], v->rtt[i], v->loss[b], v->rtt[b]))
			b = i;
		SCC_OPAQUE(b);
	}
	return b;
}

/* OLIA: a_0 in SCC_ONE units. M: the paths with the largest window; B\M:
 * the best paths (ties with b included) without it. */
SCC_STEP __s64 scc_olia_alpha(const struct scc_view *v, __u32 b)
{
	__u32 i, wmax = 0, n_m = 0, n_bm = 0;
	int self_best = 0;

	if (!v || b >= SCC_VIEW_MAX)
		return 0;
	SCC_LOOP
	for (i = 0; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		if (v->wnd[i] > wmax)
			wmax = v->wnd[i];
	}
	SCC_LOOP
	for (i = 0; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		if (v->wnd[i] == wmax) {
			n_m++;
		} else if (scc_same_per_rtt2(v->loss[i], v->rtt[i], v->loss[b], v->rtt[b])) {
			n_bm++;
			if (i == 0)
				self_best = 1;
		}
	}
	if (!n_bm)
		return 0;
	if (self_best)
		return SCC_ONE / (__s64)(v->n * n_bm);
	if (v->wnd[0] == wmax)
		return -(SCC_ONE / (__s64)(v->n * n_m));
	return 0;
}

/* OLIA: k of the ACKed subflow (index 0), in [-SCC_ONE, 2 * SCC_ONE). */
SCC_INLINE __s64 scc_olia_k(const struct scc_view *v)
{
	__u32 b;

	if (!v->rtt[0])
		return scc_no_rtt_k(v);
	b = scc_olia_best(v);
	if (b >= SCC_VIEW_MAX)
		b = 0;
	return (__s64)scc_olia_term(v) + scc_olia_alpha(v, b);
}

/* BALIA: u = x_i / S and m = max x / S, in SCC_ONE units (x = W / rtt). */
SCC_STEP int scc_balia_shares(const struct scc_view *v, __u64 *u, __u64 *m)
{
	__u64 x, x0 = 0, xmax = 0, sum = 0;
	__u32 i;

	if (!v || !u || !m)
		return -1;
	SCC_LOOP
	for (i = 0; i < SCC_VIEW_MAX; i++) {
		if (i >= v->n)
			break;
		x = ((__u64)v->wnd[i] << SCC_SHIFT) / v->rtt[i];
		if (!i)
			x0 = x;
		if (x > xmax)
			xmax = x;
		sum += x;
	}
	if (!sum)
		sum = 1;
	*u = (x0 << SCC_SHIFT) / sum;
	*m = (xmax << SCC_SHIFT) / sum;
	return 0;
}

/* BALIA: k of the ACKed subflow (index 0), in [0, SCC_ONE]. */
SCC_INLINE __s64 scc_balia_k(const struct scc_view *v)
{
	__u64 u = 0, m = 0;

	if (!v->rtt[0])
		return scc_no_rtt_k(v);
	scc_balia_shares(v, &u, &m);
	return (__s64)((u + m) * (4 * u + m) / (10ULL << SCC_SHIFT));
}

SCC_INLINE __u32 scc_reno_ssthresh(__u32 cwnd)
{
	return cwnd >> 1 > 2 ? cwnd >> 1 : 2;
}

/* BALIA's decrease: cwnd - cwnd/2 * min(max x / x_i, 1.5), at least 2. */
SCC_INLINE __u32 scc_balia_ssthresh(const struct scc_view *v, __u32 cwnd)
{
	__u64 u = 0, m = 0, a10 = 1536, dec;	/* min(alpha, 1.5) in 1/1024 */

	if (!v->rtt[0] || v->n < 2)
		return scc_reno_ssthresh(cwnd);
	scc_balia_shares(v, &u, &m);
	if (u && (m << 10) / u < a10)
		a10 = (m << 10) / u;
	dec = ((__u64)(cwnd >> 1) * a10) >> 10;
	return cwnd - dec > 2 ? (__u32)(cwnd - dec) : 2;
}

/* Congestion avoidance: each ACKed packet earns k credits; one window of
 * credits (cwnd * SCC_ONE) is one packet more (k < 0: one packet less).
 * With k = SCC_ONE this is the kernel's tcp_cong_avoid_ai(tp, cwnd, acked). */
SCC_INLINE __u32 scc_cwnd_ai(__u32 cwnd, __s64 *credits, __u32 acked, __s64 k, __u32 clamp)
{
	__u64 unit, d;
	__s64 c;

	if (!cwnd)
		cwnd = 1;
	unit = (__u64)cwnd << SCC_SHIFT;
	c = *credits + (__s64)acked * k;
	if (c >= 0 && (__u64)c >= unit) {
		d = (__u64)c / unit;
		c -= (__s64)(d * unit);
		d += cwnd;
		cwnd = d < clamp ? (__u32)d : clamp;
	} else if (c < 0 && (__u64)(-c) >= unit) {
		d = (__u64)(-c) / unit;
		c += (__s64)(d * unit);
		cwnd = (__u64)cwnd > d + SCC_MIN_CWND ? (__u32)(cwnd - d) : SCC_MIN_CWND;
	}
	*credits = c;
	return cwnd;
}

#endif /* SUBFLOW_CC_H */
