// SPDX-License-Identifier: GPL-2.0
/*
 * Attach-time snapshot. Hook: iter/tcp, run by the loader right after it
 * attaches the tracker to a cgroup, once per network namespace that the
 * cgroup's processes use (an iterator walks the namespace of the process
 * that creates it). Records the MPTCP subflows that already exist and belong
 * to an attached cgroup, the same way the tracker records new ones. It first
 * turns on their state callback, so that the tracker sees them close: a
 * subflow whose callback cannot be turned on would never be forgotten, so it
 * is counted (snapshot_no_close_cb) and not recorded.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "record.bpf.h"
#include "sockopts.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("iter/tcp")
int subflow_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct subflow_read rd = {};
	struct tcp_sock *tp;
	int cb_flags;

	if (!skc)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp || !tp->is_mptcp)
		return 0;
	if (tp->inet_conn.icsk_inet.sk.__sk_common.skc_state == TCP_CLOSE_STATE)
		return 0;
	if (!cgroup_nearest_value(cgroup_of(tp), &attached_cgroups))
		return 0;
	if (read_subflow(tp, &rd) || !read_has_key(&rd))
		return 0;
	cb_flags = tp->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG;
	if (bpf_setsockopt(tp, SOL_TCP_LEVEL, TCP_BPF_SOCK_OPS_CB_FLAGS, &cb_flags,
			   sizeof(cb_flags))) {
		stat_inc(SUBFLOW_STAT_SNAPSHOT_NO_CLOSE_CB);
		return 0;
	}
	rd.info.created_ns = bpf_ktime_get_boot_ns();
	rd.info.flags |= SUBFLOW_F_SNAPSHOT;
	if (record_subflow(&rd) == RECORD_ADDED) {
		stat_inc(SUBFLOW_STAT_SNAPSHOT_FOUND);
		emit_event(SUBFLOW_EVENT_UP, &rd.ckey, rd.cgroup_id, rd.conn_flags, &rd.info);
	}
	return 0;
}
