// SPDX-License-Identifier: GPL-2.0
/*
 * mptcpify. Hook: fmod_ret on update_socket_protocol(), which the kernel
 * calls in socket(2) before creating the socket. For processes in a cgroup
 * whose policy says `mptcpify on`, socket(AF_INET{,6}, SOCK_STREAM, 0 or
 * IPPROTO_TCP) becomes an MPTCP socket, so unmodified programs (curl, iperf3)
 * use MPTCP there and nowhere else. The nearest cgroup with a policy decides.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SOCK_TYPE_MASK		0xf
#define SOCK_STREAM_TYPE	1
#define PROTO_TCP		6
#define PROTO_MPTCP		262

SEC("fmod_ret/update_socket_protocol")
int BPF_PROG(subflow_mptcpify, int family, int type, int protocol)
{
	struct subflow_policy_image *img;
	struct task_struct *task;
	struct cgroup *cgrp;

	if (family != SUBFLOW_AF_INET && family != SUBFLOW_AF_INET6)
		return protocol;
	if ((type & SOCK_TYPE_MASK) != SOCK_STREAM_TYPE)
		return protocol;
	if (protocol != 0 && protocol != PROTO_TCP)
		return protocol;
	task = bpf_get_current_task_btf();
	cgrp = BPF_CORE_READ(task, cgroups, dfl_cgrp);	/* __rcu: probe read */
	if (!cgrp)
		return protocol;
	img = policy_image(policy_generation_of_cgroup(bpf_rdonly_cast(cgrp,
					bpf_core_type_id_kernel(struct cgroup))));
	if (img && img->meta.mptcpify == SUBFLOW_MPTCPIFY_ON)
		return PROTO_MPTCP;
	return protocol;
}
