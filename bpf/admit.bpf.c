// SPDX-License-Identifier: GPL-2.0
/*
 * Path admission. Hooks: cgroup connect4/connect6 and bind4/bind6, attached
 * to each cgroup the engine serves. They run before a subflow's SYN leaves:
 * for the initial subflow when the application connects, and for every
 * MP_JOIN subflow that the path manager creates (the kernel charges those to
 * the connection's cgroup). Returning 0 vetoes the subflow: connect() gets
 * EPERM for an initial subflow; the path manager counts MPJoinSynTx*Err for a
 * join and the connection goes on over its other subflows.
 *
 * - connect: the full decision. An unbound initial subflow has no path yet
 *   (no hook sees the route before the SYN): when the policy denies some
 *   path for this destination, it is bound (bpf_bind) to an address of the
 *   first allowed path, or refused when every path is denied.
 * - bind (joins only): decides early when the rule that matches needs no
 *   destination; otherwise connect decides.
 * Counters: a refused subflow counts one hit on the rule that refused it and
 * one denial on its path, here; an admitted one is counted by the options
 * program, on the rule that shapes it once its path is known.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ADMIT 1
#define REFUSE 0

/* Fill the parts of `desc` the socket knows: family, join, bound device and
 * local address. Returns the tcp_sock, or NULL for a non-MPTCP socket.
 * `family` is a compile-time constant in each program: a connect4 program may
 * not even read user_ip6, so the other family's code must not exist there. */
static __always_inline struct tcp_sock *describe_socket(struct bpf_sock_addr *ctx,
							struct subflow_desc *desc, int family)
{
	struct bpf_sock *bsk = ctx->sk;
	struct mptcp_subflow_context *sf;
	struct mptcp_sock *msk;
	struct tcp_sock *tp;

	if (!bsk)
		return NULL;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp || !tp->is_mptcp)
		return NULL;
	sf = subflow_ctx_of(tp);
	msk = sf ? msk_of(sf) : NULL;
	if (!msk)
		return NULL;
	desc->family = family;
	desc->is_join = subflow_is_join(tp, sf, msk);
	desc->bound_ifindex = bsk->bound_dev_if;
	desc->netns_cookie = tp->inet_conn.icsk_inet.sk.__sk_common.skc_net.net->net_cookie;
	if (family == SUBFLOW_AF_INET) {
		__u32 src = bsk->src_ip4;

		__builtin_memcpy(desc->local, &src, 4);
		desc->local_known = src != 0;
	} else {
		__u32 src[4];

		src[0] = bsk->src_ip6[0];
		src[1] = bsk->src_ip6[1];
		src[2] = bsk->src_ip6[2];
		src[3] = bsk->src_ip6[3];
		__builtin_memcpy(desc->local, src, 16);
		desc->local_known = src[0] | src[1] | src[2] | src[3];
	}
	return tp;
}

static __always_inline void describe_destination(struct bpf_sock_addr *ctx,
						 struct subflow_desc *desc, int family)
{
	desc->dport = bpf_ntohs((__u16)ctx->user_port);
	if (family == SUBFLOW_AF_INET) {
		__u32 dst = ctx->user_ip4;

		__builtin_memcpy(desc->remote, &dst, 4);
	} else {
		__u32 dst[4];

		dst[0] = ctx->user_ip6[0];
		dst[1] = ctx->user_ip6[1];
		dst[2] = ctx->user_ip6[2];
		dst[3] = ctx->user_ip6[3];
		__builtin_memcpy(desc->remote, dst, 16);
	}
}

/* Decide a subflow whose path is known; return ADMIT or REFUSE. Only a
 * refusal is counted here: an admitted subflow is counted once, by the
 * sockops program at TCP_CONNECT_CB, on the rule that shapes it there. */
static __always_inline int decide_on_path(struct subflow_policy_image *img,
					  const struct subflow_desc *desc, __u32 path_mask)
{
	const struct subflow_rule *rule;
	int index;

	index = policy_decide(img, desc, path_mask, DECIDE_FULL, NULL);
	rule = policy_rule(img, index);
	if (!rule_denies(rule))
		return ADMIT;
	count_rule_hit(img, index);
	count_denial(img, rule, path_mask);
	return REFUSE;
}

struct path_choice {
	struct subflow_policy_image *img;
	const struct subflow_desc *desc;
	int first_allowed;	/* first path with a bind address that is not denied */
	int first_denied;
	int denying_rule;	/* the rule that denied first_denied */
};

static long choose_path_one(__u32 index, void *data)
{
	struct path_choice *choice = data;
	const struct subflow_desc *desc = choice->desc;
	const struct subflow_path *path;
	int rule;

	if (index >= SUBFLOW_POLICY_PATHS)
		return 1;
	rule = policy_decide(choice->img, desc, 1U << index, DECIDE_FULL, NULL);
	barrier_var(index);	/* as in path_walk_one */
	if (rule_denies(policy_rule(choice->img, rule))) {
		if (choice->first_denied < 0) {
			choice->first_denied = index;
			choice->denying_rule = rule;
		}
		return 0;
	}
	if (choice->first_allowed >= 0)
		return 0;
	path = &choice->img->paths[index & (SUBFLOW_POLICY_PATHS - 1)];
	if ((desc->family == SUBFLOW_AF_INET && path->nr_bind4) ||
	    (desc->family == SUBFLOW_AF_INET6 && path->nr_bind6))
		choice->first_allowed = index;
	return 0;
}

static __always_inline int bind_to_path(struct bpf_sock_addr *ctx,
					const struct subflow_policy_image *img, int path_index,
					int family)
{
	const struct subflow_path *path;

	if (path_index < 0 || path_index >= SUBFLOW_POLICY_PATHS)
		return -1;
	path = &img->paths[path_index & (SUBFLOW_POLICY_PATHS - 1)];
	if (family == SUBFLOW_AF_INET) {
		struct sockaddr_in sin = { .sin_family = SUBFLOW_AF_INET };

		sin.sin_addr.s_addr = path->bind4[0];
		return bpf_bind(ctx, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = SUBFLOW_AF_INET6 };

		__builtin_memcpy(&sin6.sin6_addr, path->bind6[0], 16);
		return bpf_bind(ctx, (struct sockaddr *)&sin6, sizeof(sin6));
	}
}

static __always_inline int bind_to_unnamed(struct bpf_sock_addr *ctx,
					   const struct subflow_policy_meta *meta, int family)
{
	if (family == SUBFLOW_AF_INET) {
		struct sockaddr_in sin = { .sin_family = SUBFLOW_AF_INET };

		if (!meta->nr_unnamed4)
			return -1;
		sin.sin_addr.s_addr = meta->unnamed4[0];
		return bpf_bind(ctx, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = SUBFLOW_AF_INET6 };

		if (!meta->nr_unnamed6)
			return -1;
		__builtin_memcpy(&sin6.sin6_addr, meta->unnamed6[0], 16);
		return bpf_bind(ctx, (struct sockaddr *)&sin6, sizeof(sin6));
	}
}

/* An initial subflow the application did not bind: keep it off denied paths. */
static __always_inline int admit_unbound_initial(struct bpf_sock_addr *ctx,
						 struct subflow_policy_image *img,
						 struct subflow_desc *desc, int family)
{
	struct path_choice choice = {
		.img = img, .desc = desc,
		.first_allowed = -1, .first_denied = -1, .denying_rule = NO_RULE,
	};
	const struct subflow_rule *rule;
	__u32 nr = img->meta.nr_paths;

	if (nr > SUBFLOW_POLICY_PATHS)
		nr = SUBFLOW_POLICY_PATHS;
	bpf_loop(nr, choose_path_one, &choice, 0);

	if (choice.first_denied < 0)	/* no path denied: routing may choose */
		return decide_on_path(img, desc, 0);
	if (choice.first_allowed >= 0) {
		/* Fail closed: if the bind fails, the subflow could leave by a
		 * denied path. */
		if (bind_to_path(ctx, img, choice.first_allowed, family))
			return REFUSE;
		return decide_on_path(img, desc, 1U << choice.first_allowed);
	}
	/* Every named path is denied for this destination. A subflow on no
	 * path may still be allowed: then it leaves from an address no path
	 * names, bound so that routing cannot put it on a denied path. */
	if (!rule_denies(policy_rule(img, policy_decide(img, desc, 0, DECIDE_FULL, NULL))) &&
	    !bind_to_unnamed(ctx, &img->meta, family))
		return decide_on_path(img, desc, 0);
	count_rule_hit(img, choice.denying_rule);
	rule = policy_rule(img, choice.denying_rule);
	if (rule)
		count_denial(img, rule, 1U << choice.first_denied);
	return REFUSE;
}

/* The policy this subflow is admitted under: the one an earlier hook (bind)
 * noted for it, else the one in force, which is then noted, so that the
 * sockops program shapes it under the same one. NULL: no policy (the
 * callers have seen that some policy exists). */
static __always_inline struct subflow_policy_image *admission_policy(struct bpf_sock_addr *ctx,
								     struct tcp_sock *tp,
								     struct subflow_desc *desc)
{
	struct subflow_policy_image *img;
	__u64 cookie, generation;

	cookie = bpf_get_socket_cookie(ctx);
	generation = noted_generation(cookie);
	if (!generation) {
		generation = policy_generation_of_sock(tp);
		if (!generation)
			return NULL;
		note_generation(cookie, generation, 0);
	}
	img = policy_image(generation);
	if (img)
		desc_set_device(desc, desc->bound_ifindex, img);
	return img;
}

static __always_inline int admit_connect(struct bpf_sock_addr *ctx, int family)
{
	struct subflow_policy_image *img;
	struct subflow_desc desc = {};
	struct tcp_sock *tp;

	/* No policy anywhere: nothing to decide, so nothing of the socket is
	 * read. (Measured, bench a2: the run costs the same 400-900 ns either
	 * way at 160 connections/s; the program's own cold start is the cost.) */
	if (!policies_exist())
		return ADMIT;
	tp = describe_socket(ctx, &desc, family);
	if (!tp)
		return ADMIT;
	img = admission_policy(ctx, tp, &desc);
	/* A policy without deny rules refuses nothing: skip the evaluation
	 * (the sockops program counts and shapes the subflow). */
	if (!img || !(img->meta.flags & SUBFLOW_POLICY_F_HAS_DENY))
		return ADMIT;
	describe_destination(ctx, &desc, family);
	if (!desc.is_join && !desc.local_known && !desc.bound_ifindex)
		return admit_unbound_initial(ctx, img, &desc, family);
	return decide_on_path(img, &desc, path_mask_of(img, &desc));
}

static __always_inline int admit_bind(struct bpf_sock_addr *ctx, int family)
{
	struct subflow_policy_image *img;
	const struct subflow_rule *rule;
	struct subflow_desc desc = {};
	struct tcp_sock *tp;
	bool undecided;
	__u32 path_mask;
	int index;

	if (!policies_exist())
		return ADMIT;	/* as in admit_connect */
	tp = describe_socket(ctx, &desc, family);
	/* The application's own bind() of an initial subflow is judged at
	 * connect time, where it gets the documented EPERM. */
	if (!tp || !desc.is_join)
		return ADMIT;
	img = admission_policy(ctx, tp, &desc);
	if (!img || !(img->meta.flags & SUBFLOW_POLICY_F_HAS_DENY))
		return ADMIT;
	/* The address being bound is the subflow's local side. */
	describe_destination(ctx, &desc, family);
	__builtin_memcpy(desc.local, desc.remote, 16);
	desc.local_known = 1;
	path_mask = path_mask_of(img, &desc);
	index = policy_decide(img, &desc, path_mask, DECIDE_NO_DESTINATION, &undecided);
	rule = policy_rule(img, index);
	if (undecided || !rule_denies(rule))
		return ADMIT;	/* connect decides, and counts */
	count_rule_hit(img, index);
	count_denial(img, rule, path_mask);
	return REFUSE;
}

SEC("cgroup/connect4")
int subflow_connect4(struct bpf_sock_addr *ctx)
{
	return admit_connect(ctx, SUBFLOW_AF_INET);
}

SEC("cgroup/connect6")
int subflow_connect6(struct bpf_sock_addr *ctx)
{
	return admit_connect(ctx, SUBFLOW_AF_INET6);
}

SEC("cgroup/bind4")
int subflow_bind4(struct bpf_sock_addr *ctx)
{
	return admit_bind(ctx, SUBFLOW_AF_INET);
}

SEC("cgroup/bind6")
int subflow_bind6(struct bpf_sock_addr *ctx)
{
	return admit_bind(ctx, SUBFLOW_AF_INET6);
}
