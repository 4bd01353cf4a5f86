// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's reference for the per-ACK cost of the coupled controls:
 * a struct_ops tcp_congestion_ops "sf_bench_reno" whose callbacks are the
 * kernel's own Reno functions (kfuncs). Its BPF run time per ACK is what
 * running the built-in reno through BPF costs; the coupled controls' time
 * beyond it is the coupling. Registered by tests/bench/run.sh only.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

SEC("struct_ops/ref_cong_avoid")
void BPF_PROG(ref_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/ref_ssthresh")
__u32 BPF_PROG(ref_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/ref_undo_cwnd")
__u32 BPF_PROG(ref_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops")
struct tcp_congestion_ops sf_bench_reno = {
	.cong_avoid = (void *)ref_cong_avoid,
	.ssthresh = (void *)ref_ssthresh,
	.undo_cwnd = (void *)ref_undo_cwnd,
	.name = "sf_bench_reno",
};
