// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the coupled congestion control arithmetic
 * (include/subflow_cc.h, the very code bpf/cc_coupled.bpf.c runs):
 *   - hand-computed alpha and per-ACK increases for RFC 6356 (LIA), OLIA
 *     and BALIA, and BALIA's decrease;
 *   - one subflow is Reno for all three;
 *   - subflows without an RTT sample, idle (stale) slots, the ACKed
 *     subflow without a slot;
 *   - very large windows, microsecond RTTs, and random inputs over the
 *     whole range of every field, against a long double reference written
 *     from the papers' formulas, with every intermediate product of the
 *     integer code recomputed in 128 bits to prove it fits in 64;
 *   - the credit accumulator (scc_cwnd_ai): Reno's one packet per window,
 *     fractions, decrease, clamp, floor, no overflow.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "subflow_cc.h"
#include "check.h"

#define ONE ((double)SCC_ONE)

struct path {
	uint32_t cwnd, mss, srtt, loss;
};

/* An input whose ACKed subflow is p[0] (slot 0) and whose other slots are
 * p[1..n-1], all fresh. */
static struct scc_input input_of(const struct path *p, int n)
{
	struct scc_input in;

	memset(&in, 0, sizeof(in));
	in.now_ms = 100000;
	for (int i = 0; i < n; i++) {
		struct subflow_cc_path *s = i ? &in.paths[i] : &in.self;

		s->id = i + 1;
		s->cwnd = p[i].cwnd;
		s->mss = p[i].mss;
		s->srtt = p[i].srtt;
		s->loss_pkts = p[i].loss;
		s->stamp_ms = in.now_ms;
	}
	in.paths[0] = in.self;
	in.self_slot = 0;
	return in;
}

static struct scc_view view_of(const struct path *p, int n)
{
	struct scc_input in = input_of(p, n);
	struct scc_view v;

	scc_view_build(&v, &in);
	return v;
}

static double k_lia(const struct path *p, int n)
{
	struct scc_view v = view_of(p, n);

	return scc_lia_k(&v) / ONE;
}

static double k_olia(const struct path *p, int n)
{
	struct scc_view v = view_of(p, n);

	return scc_olia_k(&v) / ONE;
}

static double k_balia(const struct path *p, int n)
{
	struct scc_view v = view_of(p, n);

	return scc_balia_k(&v) / ONE;
}

static double alpha_lia(const struct path *p, int n)
{
	struct scc_view v = view_of(p, n);

	return scc_lia_alpha(&v) / ONE;
}

static int near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

/* ---- References, straight from the papers (floating point) -------------- */

/* RFC 6356 eq. (2): alpha = cwnd_total * max(cwnd_i/rtt_i^2) / (sum cwnd_i/rtt_i)^2,
 * per ACK on i: min(alpha * MSS_i / cwnd_total, MSS_i / cwnd_i) bytes per byte
 * ACKed; k = that / Reno's = min(alpha * cwnd_i / cwnd_total, 1). */
static long double ref_lia_alpha(const struct path *p, int n)
{
	long double tot = 0, best = 0, sum = 0;

	for (int i = 0; i < n; i++) {
		long double w = (long double)p[i].cwnd * p[i].mss, r = p[i].srtt;

		tot += w;
		if (w / (r * r) > best)
			best = w / (r * r);
		sum += w / r;
	}
	return tot * best / (sum * sum);
}

static long double ref_lia_k(const struct path *p, int n)
{
	long double tot = 0, k;

	for (int i = 0; i < n; i++)
		tot += (long double)p[i].cwnd * p[i].mss;
	k = ref_lia_alpha(p, n) * p[0].cwnd * p[0].mss / tot;
	return k < 1 ? k : 1;
}

/* OLIA (Khalili et al.): per ACK on r, w_r/rtt_r^2 / (sum w_p/rtt_p)^2 + a_r/w_r
 * (windows in MSS units: here bytes, times MSS_r for Reno's unit). */
static long double ref_olia_k(const struct path *p, int n)
{
	long double sum = 0, w0 = (long double)p[0].cwnd * p[0].mss, r0 = p[0].srtt;
	long double best = -1, wmax = 0, a = 0;
	int nm = 0, nbm = 0, self_best = 0;

	for (int i = 0; i < n; i++) {
		long double w = (long double)p[i].cwnd * p[i].mss, r = p[i].srtt;

		sum += w / r;
		if (w > wmax)
			wmax = w;
		if (p[i].loss / (r * r) > best)
			best = p[i].loss / (r * r);
	}
	for (int i = 0; i < n; i++) {
		long double w = (long double)p[i].cwnd * p[i].mss, r = p[i].srtt;

		if (w == wmax)
			nm++;
		else if (p[i].loss / (r * r) == best) {
			nbm++;
			self_best |= i == 0;
		}
	}
	if (nbm && self_best)
		a = 1.0L / (n * nbm);
	else if (nbm && w0 == wmax)
		a = -1.0L / (n * nm);
	return (w0 / (r0 * r0)) / (sum * sum) * w0 + a;
}

/* BALIA (Peng et al.): per ACK on r, x_r / (tau_r (sum x)^2) * (1 + a)/2 * (4 + a)/5,
 * x = w/tau, a = max x / x_r; times w_r for k. Decrease: w/2 * min(a, 1.5). */
static long double ref_balia_k(const struct path *p, int n)
{
	long double sum = 0, xmax = 0, x0 = (long double)p[0].cwnd * p[0].mss / p[0].srtt, a;

	for (int i = 0; i < n; i++) {
		long double x = (long double)p[i].cwnd * p[i].mss / p[i].srtt;

		sum += x;
		if (x > xmax)
			xmax = x;
	}
	a = xmax / x0;
	return x0 / (p[0].srtt * sum * sum) * (1 + a) / 2 * (4 + a) / 5 * p[0].cwnd * p[0].mss;
}

/* ---- Hand-computed cases ----------------------------------------------------- */

static void test_lia_equal_rtt(void)
{
	/* cwnd 10 and 30 packets of 1000 bytes, same RTT: W = 10000, 30000.
	 * best = the 30000 one; alpha = 40000 * 30000 / 40000^2 = 0.75.
	 * k(10) = 0.75 * 10000 / 40000 = 0.1875; k(30) = 0.5625. */
	struct path a[] = { { 10, 1000, 80000, 0 }, { 30, 1000, 80000, 0 } };
	struct path b[] = { { 30, 1000, 80000, 0 }, { 10, 1000, 80000, 0 } };
	struct scc_view v = view_of(a, 2);

	CHECK("lia_equal_rtt_alpha_exact", scc_lia_alpha(&v) == (uint64_t)(0.75 * SCC_ONE));
	CHECK("lia_equal_rtt_k_small_exact", scc_lia_k(&v) == (int64_t)(0.1875 * SCC_ONE));
	CHECK("lia_equal_rtt_k_large", near(k_lia(b, 2), 0.5625, 1e-6));
	CHECK("lia_equal_rtt_alpha_same_from_either_side", near(alpha_lia(b, 2), 0.75, 1e-6));
}

static void test_lia_unequal_rtt(void)
{
	/* A: 20 x 1448 B at 10 ms, B: 10 x 1448 B at 40 ms (srtt_us = 8x us).
	 * W/r^2: A 289.6, B 9.05 (per ms^2): best A.
	 * alpha = 43440 * 289.6 / (2896 + 362)^2 = 12580224 / 10614564 = 1.185185...
	 * k_A = alpha * 28960 / 43440 = 0.790123..., k_B = 0.395061... */
	struct path a[] = { { 20, 1448, 80000, 0 }, { 10, 1448, 320000, 0 } };
	struct path b[] = { { 10, 1448, 320000, 0 }, { 20, 1448, 80000, 0 } };

	CHECK("lia_unequal_rtt_alpha", near(alpha_lia(a, 2), 12580224.0 / 10614564.0, 1e-5));
	CHECK("lia_unequal_rtt_k_fast_path", near(k_lia(a, 2), 0.790123, 1e-5));
	CHECK("lia_unequal_rtt_k_slow_path", near(k_lia(b, 2), 0.395061, 1e-5));
	/* Goal 1/2 of RFC 6356: the sum of increases per RTT (k_i/w_i * w_i/rtt_i
	 * ACKs...) never exceeds one TCP on the best path; here alpha > 1 but
	 * each k stays <= 1. */
	CHECK("lia_k_capped_at_reno", k_lia(a, 2) <= 1.0 && k_lia(b, 2) <= 1.0);
}

static void test_lia_cap(void)
{
	/* A tiny window on a very fast path next to a big slow one: alpha is
	 * large and the big one's increase is capped at Reno's. */
	struct path p[] = { { 1000, 1448, 800000, 0 }, { 2, 1448, 800, 0 } };

	CHECK("lia_alpha_large", alpha_lia(p, 2) > 2.0);
	CHECK("lia_k_capped_at_one", k_lia(p, 2) == 1.0);
}

static void test_olia(void)
{
	/* Same RTT, w 10 and 30, loss distances 1000 and 500 packets: best
	 * (l/rtt^2) is path 1, M (largest window) is path 2, B\M = {path 1}.
	 * a_1 = +1/(2*1), a_2 = -1/(2*1); first term (w_r/(w_1+w_2))^2.
	 * k_1 = (10/40)^2 + 0.5 = 0.5625; k_2 = (30/40)^2 - 0.5 = 0.0625. */
	struct path a[] = { { 10, 1000, 80000, 1000 }, { 30, 1000, 80000, 500 } };
	struct path b[] = { { 30, 1000, 80000, 500 }, { 10, 1000, 80000, 1000 } };
	/* The best path has the largest window too: B\M empty, a = 0. */
	struct path c[] = { { 30, 1000, 80000, 1000 }, { 10, 1000, 80000, 500 } };
	/* Equal windows: M = both, B\M empty: (20/40)^2 = 0.25. */
	struct path d[] = { { 20, 1000, 80000, 1000 }, { 20, 1000, 80000, 500 } };
	/* Three paths, two best without the largest window: a = 1/(3*2). */
	struct path e[] = { { 10, 1000, 80000, 900 }, { 10, 1000, 80000, 900 },
			    { 40, 1000, 80000, 100 } };

	CHECK("olia_best_not_max_gets_more", near(k_olia(a, 2), 0.5625, 1e-6));
	CHECK("olia_max_not_best_gets_less", near(k_olia(b, 2), 0.0625, 1e-6));
	CHECK("olia_best_is_max_no_alpha", near(k_olia(c, 2), 0.5625, 1e-6));
	CHECK("olia_equal_windows_no_alpha", near(k_olia(d, 2), 0.25, 1e-6));
	CHECK("olia_three_paths_two_best", near(k_olia(e, 3), (10.0 / 60) * (10.0 / 60) + 1.0 / 6, 1e-5));
	CHECK("olia_three_paths_max", near(k_olia((struct path[]){ e[2], e[0], e[1] }, 3),
					   (40.0 / 60) * (40.0 / 60) - 1.0 / 3, 1e-5));
}

static void test_olia_can_shrink(void)
{
	/* The largest window, a negative a larger than its first term: k < 0. */
	struct path p[] = { { 30, 1000, 800000, 10 }, { 29, 1000, 8000, 1000 }, { 29, 1000, 8000, 1000 } };

	CHECK("olia_negative_k", k_olia(p, 3) < 0);
	CHECK("olia_negative_k_matches_reference", near(k_olia(p, 3), (double)ref_olia_k(p, 3), 1e-5));
}

static void test_balia(void)
{
	/* Same RTT, w 10 and 30: u = 0.25, m = 0.75 for path 1:
	 * k = (u + m)(4u + m)/10 = 1.0 * 1.75 / 10 = 0.175; path 2: 1.5 * 3.75 / 10. */
	struct path a[] = { { 10, 1000, 80000, 0 }, { 30, 1000, 80000, 0 } };
	struct path b[] = { { 30, 1000, 80000, 0 }, { 10, 1000, 80000, 0 } };
	struct scc_view va = view_of(a, 2), vb = view_of(b, 2);

	CHECK("balia_k_slow", near(k_balia(a, 2), 0.175, 1e-6));
	CHECK("balia_k_fast", near(k_balia(b, 2), 0.5625, 1e-6));
	CHECK("balia_k_matches_paper_form", near(k_balia(a, 2), (double)ref_balia_k(a, 2), 1e-6));
	/* Decrease: alpha = 3 on path 1 -> min(3, 1.5): 10 - 5 * 1.5 = 2.5 -> 3
	 * (the integer cwnd - floor(7.5)); alpha = 1 on path 2: 30 - 15. */
	CHECK("balia_ssthresh_slow", scc_balia_ssthresh(&va, 10) == 3);
	CHECK("balia_ssthresh_fast", scc_balia_ssthresh(&vb, 30) == 15);
	CHECK("balia_ssthresh_floor_2", scc_balia_ssthresh(&va, 3) == 2);
}

static void test_one_subflow_is_reno(void)
{
	struct path p[] = { { 37, 1448, 123456, 999 } };
	struct scc_view v = view_of(p, 1);

	CHECK("one_subflow_lia_alpha_1", scc_lia_alpha(&v) == (uint64_t)SCC_ONE);
	CHECK("one_subflow_lia_reno", scc_lia_k(&v) == SCC_ONE);
	CHECK("one_subflow_olia_reno", scc_olia_k(&v) == SCC_ONE);
	CHECK("one_subflow_balia_reno", scc_balia_k(&v) == SCC_ONE);
	CHECK("one_subflow_balia_halves", scc_balia_ssthresh(&v, 37) == 18);
	CHECK("reno_ssthresh", scc_reno_ssthresh(37) == 18 && scc_reno_ssthresh(3) == 2);
}

static void test_rtt_samples_and_staleness(void)
{
	struct path p[] = { { 10, 1000, 80000, 0 }, { 30, 1000, 80000, 0 }, { 50, 1000, 0, 0 } };
	struct scc_input in = input_of(p, 3);
	struct scc_view v;

	/* The third path has no RTT sample: left out, as if absent. */
	scc_view_build(&v, &in);
	CHECK("no_rtt_other_left_out_n", v.n == 2);
	CHECK("no_rtt_other_left_out_k", near(scc_lia_k(&v) / ONE, 0.1875, 1e-6));
	/* The ACKed subflow without a sample: one share of Reno. */
	in.self.srtt = 0;
	in.paths[0] = in.self;
	in.paths[2].srtt = 80000;
	scc_view_build(&v, &in);
	CHECK("no_rtt_self_share_lia", scc_lia_k(&v) == SCC_ONE / 3);
	CHECK("no_rtt_self_share_olia", scc_olia_k(&v) == SCC_ONE / 3);
	CHECK("no_rtt_self_share_balia", scc_balia_k(&v) == SCC_ONE / 3);
	/* A slot not updated for 2 RTTs + 200 ms is idle: left out. */
	in = input_of(p, 2);
	in.paths[1].stamp_ms = in.now_ms - SCC_STALE_MS(80000) - 1;
	scc_view_build(&v, &in);
	CHECK("stale_slot_left_out", v.n == 1 && scc_lia_k(&v) == SCC_ONE);
	in.paths[1].stamp_ms = in.now_ms - SCC_STALE_MS(80000);
	scc_view_build(&v, &in);
	CHECK("fresh_slot_kept", v.n == 2);
	/* The tcp clock wraps (u32 ms): still fresh. */
	in.now_ms = 5;
	in.paths[1].stamp_ms = (uint32_t)-5;
	scc_view_build(&v, &in);
	CHECK("stamp_wraps", v.n == 2);
	/* The ACKed subflow has no slot (ninth subflow): its own values still
	 * count, and every published slot too. */
	in = input_of(p, 2);
	in.self_slot = SUBFLOW_CC_MAX_PATHS;
	in.paths[0].id = 9;	/* someone else's slot */
	scc_view_build(&v, &in);
	CHECK("self_without_slot_sees_all", v.n == 3);
	/* Free slots are not paths. */
	in = input_of(p, 2);
	in.paths[1].id = 0;
	scc_view_build(&v, &in);
	CHECK("free_slot_ignored", v.n == 1);
}

/* ---- Extremes ------------------------------------------------------------------ */

/* Every product of the integer code, recomputed in 128 bits from the view
 * (the normalised values), fits in 64 bits: the bounds of subflow_cc.h. */
static int products_fit(const struct scc_view *v)
{
	const unsigned __int128 lim = (unsigned __int128)1 << 64;
	unsigned __int128 d = 0, e = 0, sum = 0, x, u, m, xmax = 0;
	uint32_t b = scc_lia_best(v);

	for (uint32_t i = 0; i < v->n; i++) {
		if (v->wnd[i] > 1u << SCC_NORM_BITS || v->rtt[i] > 1u << SCC_NORM_BITS ||
		    v->loss[i] > 1u << SCC_NORM_BITS)
			return 0;
		if ((unsigned __int128)v->wnd[i] * v->rtt[b] * v->rtt[b] >= lim ||
		    (unsigned __int128)v->loss[i] * v->rtt[b] * v->rtt[b] >= lim)
			return 0;
		d += (unsigned __int128)v->wnd[i] * v->rtt[b] / v->rtt[i];
		e += (unsigned __int128)v->wnd[i] * v->rtt[0] / v->rtt[i];
		x = ((unsigned __int128)v->wnd[i] << SCC_SHIFT) / v->rtt[i];
		sum += x;
		if (x > xmax)
			xmax = x;
	}
	if (d * d >= lim || ((unsigned __int128)v->wnd[b] * v->wnd[0] << SCC_SHIFT) >= lim)
		return 0;
	if (d >= (unsigned __int128)SUBFLOW_CC_MAX_PATHS << (SCC_NORM_BITS + 1))
		return 0;
	if (e >= (unsigned __int128)1 << 44 || (xmax << SCC_SHIFT) >= lim)
		return 0;
	u = ((unsigned __int128)(((unsigned __int128)v->wnd[0] << SCC_SHIFT) / v->rtt[0]) << SCC_SHIFT) / sum;
	m = (xmax << SCC_SHIFT) / sum;
	return (u + m) * (4 * u + m) < lim;
}

static void test_extremes(void)
{
	/* Windows of 2^32 - 1 packets of 65535 bytes (2^48 bytes). */
	struct path big[] = { { UINT32_MAX, 65535, 8000, 10 }, { UINT32_MAX / 3, 65535, 16000, 5 } };
	/* Microsecond RTTs (srtt_us = 8 is 1 us), and 1 us next to 1 s. */
	struct path us[] = { { 10, 1448, 8, 100 }, { 10, 1448, 8, 100 } };
	struct path spread[] = { { 10, 1448, 8, 100 }, { 100000, 1448, 8000000, 100 } };
	struct path spread2[] = { { 100000, 1448, 8000000, 100 }, { 10, 1448, 8, 100 } };
	/* The largest srtt the kernel can hold. */
	struct path slow[] = { { 5, 536, UINT32_MAX, UINT32_MAX }, { 7, 536, UINT32_MAX - 1, 1 } };
	struct scc_view v;

	v = view_of(big, 2);
	CHECK("big_windows_fit", products_fit(&v));
	CHECK("big_windows_lia", near(k_lia(big, 2), (double)ref_lia_k(big, 2), 1e-5));
	CHECK("big_windows_olia", near(k_olia(big, 2), (double)ref_olia_k(big, 2), 1e-5));
	CHECK("big_windows_balia", near(k_balia(big, 2), (double)ref_balia_k(big, 2), 1e-5));
	CHECK("big_windows_lia_alpha", near(alpha_lia(big, 2), (double)ref_lia_alpha(big, 2), 1e-5));

	v = view_of(us, 2);
	CHECK("us_rtt_fit", products_fit(&v));
	CHECK("us_rtt_lia_half", near(k_lia(us, 2), 0.25, 1e-6));	/* equal: alpha 1/2, k 1/4 */
	CHECK("us_rtt_balia", near(k_balia(us, 2), (double)ref_balia_k(us, 2), 1e-6));
	/* Windows 10^4 apart: the small one keeps 20 - 13 = 7 bits (<1%),
	 * twice in LIA's W_b * W_0 here. */
	v = view_of(spread, 2);
	CHECK("us_vs_s_fit", products_fit(&v));
	CHECK("us_vs_s_lia", near(k_lia(spread, 2), (double)ref_lia_k(spread, 2), 3e-2 * ref_lia_k(spread, 2)));
	CHECK("us_vs_s_lia_other", near(k_lia(spread2, 2), (double)ref_lia_k(spread2, 2), 1e-4));
	CHECK("us_vs_s_olia", near(k_olia(spread, 2), (double)ref_olia_k(spread, 2), 2e-2 * fabs((double)ref_olia_k(spread, 2))));
	CHECK("us_vs_s_balia", near(k_balia(spread, 2), (double)ref_balia_k(spread, 2), 2e-2 * ref_balia_k(spread, 2)));
	v = view_of(slow, 2);
	CHECK("max_srtt_fit", products_fit(&v));
	CHECK("max_srtt_lia", near(k_lia(slow, 2), (double)ref_lia_k(slow, 2), 1e-4));
	CHECK("max_srtt_balia", near(k_balia(slow, 2), (double)ref_balia_k(slow, 2), 1e-4));
}

static uint32_t rnd32(void)
{
	return ((uint32_t)rand() << 16) ^ (uint32_t)rand();
}

/* A value spread over every order of magnitude up to 2^bits - 1. */
static uint32_t rnd_log(int bits)
{
	int b = 1 + rand() % bits;

	return (rnd32() & (b >= 32 ? UINT32_MAX : (1u << b) - 1)) | 1;
}

static void test_random(void)
{
	double worst_lia = 0, worst_olia = 0, worst_balia = 0, worst_near = 0;
	int fit = 1, ranges = 1;

	/* Any input: every product fits and every k is in its range (LIA and
	 * BALIA never exceed Reno). Close range (windows and RTTs within
	 * 2^10 of each other, ~10 bits left for each): within 5e-4 of the
	 * reference. Wider ranges are only as precise as the smallest value's
	 * remaining bits (subflow_cc.h, Bounds). */

	srand(6356);
	for (int iter = 0; iter < 200000; iter++) {
		struct path p[SUBFLOW_CC_MAX_PATHS];
		int n = 1 + rand() % SUBFLOW_CC_MAX_PATHS, close_range = iter & 1;
		struct scc_view v;
		double k;

		for (int i = 0; i < n; i++) {
			if (close_range) {
				/* Windows and RTTs within 2^10 of each other: the
				 * usual case, where 20 bits leave ~10 per path. */
				p[i].cwnd = 10 + rnd32() % 10000;
				p[i].mss = 536 + rnd32() % 9000;
				p[i].srtt = 8000 + rnd32() % 800000;
				p[i].loss = rnd32() % 100000;
			} else {
				p[i].cwnd = rnd_log(32);
				p[i].mss = rnd_log(16);
				p[i].srtt = rnd_log(32);
				p[i].loss = rnd_log(32);
			}
		}
		v = view_of(p, n);
		fit &= products_fit(&v);
		k = k_lia(p, n);
		ranges &= k >= 0 && k <= 1;
		if (close_range && fabs(k - (double)ref_lia_k(p, n)) > worst_near)
			worst_near = fabs(k - (double)ref_lia_k(p, n));
		if (fabs(k - (double)ref_lia_k(p, n)) > worst_lia)
			worst_lia = fabs(k - (double)ref_lia_k(p, n));
		k = k_balia(p, n);
		ranges &= k >= 0 && k <= 1;
		if (close_range && fabs(k - (double)ref_balia_k(p, n)) > worst_balia)
			worst_balia = fabs(k - (double)ref_balia_k(p, n));
		k = k_olia(p, n);
		ranges &= k >= -1 && k < 2;
		/* OLIA's sets depend on exact ties: compare its smooth term
		 * only when the sets agree, i.e. in the close range with
		 * distinct loss distances (ties of 20-bit values are rare). */
		if (close_range && fabs(k - (double)ref_olia_k(p, n)) > worst_olia)
			worst_olia = fabs(k - (double)ref_olia_k(p, n));
	}
	printf("# random: worst |k - reference| lia %.2e close range, %.2e any range; olia %.2e, balia %.2e close range\n",
	       worst_near, worst_lia, worst_olia, worst_balia);
	CHECK("random_every_product_fits_64_bits", fit);
	CHECK("random_k_in_range", ranges);
	CHECK("random_lia_close_range_5e-4", worst_near < 5e-4);
	CHECK("random_balia_close_range_5e-4", worst_balia < 5e-4);
	CHECK("random_olia_close_range_5e-4", worst_olia < 5e-4);
}

/* ---- The credit accumulator ------------------------------------------------------ */

static void test_cwnd_ai(void)
{
	__s64 credits = 0;
	uint32_t cwnd = 10;
	int i;

	for (i = 0; i < 9; i++)
		cwnd = scc_cwnd_ai(cwnd, &credits, 1, SCC_ONE, 1000);
	CHECK("ai_reno_not_before_a_window", cwnd == 10);
	cwnd = scc_cwnd_ai(cwnd, &credits, 1, SCC_ONE, 1000);
	CHECK("ai_reno_one_per_window", cwnd == 11 && credits == 0);
	for (i = 0; i < 22; i++)
		cwnd = scc_cwnd_ai(cwnd, &credits, 1, SCC_ONE / 2, 1000);
	CHECK("ai_half_one_per_two_windows", cwnd == 12 && credits == 0);
	cwnd = scc_cwnd_ai(cwnd, &credits, 36, SCC_ONE, 1000);
	CHECK("ai_stretch_ack_three_windows", cwnd == 15 && credits == 0);
	cwnd = scc_cwnd_ai(cwnd, &credits, 15, -SCC_ONE, 1000);
	CHECK("ai_negative_one_less", cwnd == 14 && credits == 0);
	cwnd = scc_cwnd_ai(2, &credits, 1000, -SCC_ONE, 1000);
	CHECK("ai_negative_floor", cwnd == SCC_MIN_CWND);
	credits = 0;
	cwnd = scc_cwnd_ai(999, &credits, 100000, SCC_ONE, 1000);
	CHECK("ai_clamp", cwnd == 1000);
	credits = 0;
	cwnd = scc_cwnd_ai(UINT32_MAX, &credits, UINT32_MAX, 2 * SCC_ONE, UINT32_MAX);
	CHECK("ai_extreme_no_overflow", cwnd == UINT32_MAX && credits >= 0 &&
	      (uint64_t)credits < (uint64_t)UINT32_MAX << SCC_SHIFT);
	credits = 0;
	cwnd = scc_cwnd_ai(1, &credits, UINT32_MAX, 2 * SCC_ONE, UINT32_MAX);
	CHECK("ai_extreme_from_one", cwnd == UINT32_MAX);
	credits = 0;
	cwnd = scc_cwnd_ai(0, &credits, 1, SCC_ONE, 10);
	CHECK("ai_zero_cwnd_is_one", cwnd == 2);
}

static void test_fls(void)
{
	CHECK("fls_0", scc_fls64(0) == 0);
	CHECK("fls_1", scc_fls64(1) == 1);
	CHECK("fls_2^20", scc_fls64(1u << 20) == 21);
	CHECK("fls_max", scc_fls64(UINT64_MAX) == 64);
	CHECK("norm_shift_small", scc_norm_shift((1u << 20) - 1) == 0);
	CHECK("norm_shift_big", scc_norm_shift(1ULL << 47) == 28);
}

int main(void)
{
	test_fls();
	test_lia_equal_rtt();
	test_lia_unequal_rtt();
	test_lia_cap();
	test_olia();
	test_olia_can_shrink();
	test_balia();
	test_one_subflow_is_reno();
	test_rtt_samples_and_staleness();
	test_extremes();
	test_random();
	test_cwnd_ai();
	return CHECK_SUMMARY();
}
