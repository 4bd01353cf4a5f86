/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the bench's design prototypes (proto_*.bpf.c) share with the floor's
 * callbacks: they act when a subflow is established and when it closes,
 * and leave every other callback before any helper call.
 */
#ifndef SUBFLOW_BENCH_PROTO_BPF_H
#define SUBFLOW_BENCH_PROTO_BPF_H

#include "subflow_read.bpf.h"

/* The subflow of an established or TCP_CLOSE callback, else NULL. */
static __always_inline struct tcp_sock *proto_subflow(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != TCP_CLOSE_STATE)
			return NULL;
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		break;
	default:
		return NULL;
	}
	return sockops_subflow(skops);
}

#endif /* SUBFLOW_BENCH_PROTO_BPF_H */
