// SPDX-License-Identifier: GPL-2.0
/*
 * The least that any sockops tracker must run, as the benchmark's floor
 * (tests/bench/run.sh, rows a and a2): it sees every MPTCP subflow come up
 * (its established callback) and turns its state callback on, so that it
 * would see it go, and does nothing else. The kernel runs it on the same
 * callbacks as the engine's tracker; its BPF time per connection is what a
 * tracker of any design costs on this machine before it records anything.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("sockops")
int floor_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	}
	return 1;
}
