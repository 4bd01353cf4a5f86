// SPDX-License-Identifier: GPL-2.0
/*
 * The sockops program of the engine: tracking and per-subflow options in one
 * program, so that each callback runs one program. Hook: cgroup sockops,
 * attached to each cgroup the engine serves.
 *
 * - TCP_CONNECT_CB (before the SYN) and PASSIVE_ESTABLISHED_CB (accepted):
 *   a new subflow. Its cgroup's policy shapes it (options.bpf.h), it is
 *   recorded in the connection table (record.bpf.h), and its state
 *   callback is turned on so that the program sees it close.
 * - ACTIVE_ESTABLISHED_CB: the handshake's results (MP_JOIN, backup bits,
 *   address ids) refresh the record.
 * - STATE_CB: the state users see (connecting, established, closing,
 *   closed) is recorded; the record goes at TCP_CLOSE. Transitions in
 *   between (FIN_WAIT2, LAST_ACK, ...) leave before any helper call.
 * - RTT_CB / header option callbacks: only a subflow that could not be
 *   recorded yet asks for them (its next packet in either direction):
 *   a passive join still queued on its busy connection, not numbered yet,
 *   or one whose connection's entry was being removed. Once recorded they
 *   are off again. A full map is counted, never retried.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "record.bpf.h"
#include "options.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define RETRY_CB_FLAGS (BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG | \
			BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG)

/* A new subflow (or one retried): shape it once, record it, and choose
 * the callbacks it needs from now on. */
static __always_inline void new_subflow(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					struct subflow_read *rd, bool retry)
{
	int flags = skops->bpf_sock_ops_cb_flags, wanted;
	int result = RECORD_FULL;

	if (read_subflow(tp, rd))
		return;
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		/* Called just before the kernel moves it to ESTABLISHED. */
		rd->info.tcp_state = TCP_ESTABLISHED_STATE;
		rd->info.flags |= SUBFLOW_F_ESTABLISHED;
	}
	/* Options are applied once, when the subflow appears; a retry only
	 * finds the rule again for the record. */
	shape_subflow(skops, tp, &rd->info, !retry);
	rd->info.created_ns = bpf_ktime_get_boot_ns();
	if (read_has_key(rd))
		result = record_subflow(rd);
	else
		result = RECORD_LATER;

	wanted = flags & ~RETRY_CB_FLAGS;
	if (result == RECORD_ADDED || result == RECORD_REFRESHED)
		wanted |= BPF_SOCK_OPS_STATE_CB_FLAG;
	else if (result == RECORD_LATER)
		wanted |= RETRY_CB_FLAGS | BPF_SOCK_OPS_STATE_CB_FLAG;
	if (wanted != flags)
		bpf_sock_ops_cb_flags_set(skops, wanted);
}

SEC("sockops")
int subflow_track(struct bpf_sock_ops *skops)
{
	struct subflow_read rd = {};
	struct bpf_sock *bsk;
	__u32 op = skops->op, new_state = 0;
	struct tcp_sock *tp;

	/* Most callbacks are not ours: leave before any helper call. */
	switch (op) {
	case BPF_SOCK_OPS_STATE_CB:
		new_state = skops->args[1];
		if (new_state != TCP_CLOSE_STATE && new_state != TCP_FIN_WAIT1_STATE &&
		    new_state != TCP_CLOSE_WAIT_STATE)
			return 1;
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		break;
	default:
		return 1;
	}
	bsk = skops->sk;	/* one load: the verifier tracks its NULL check */
	if (!bsk)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp || !tp->is_mptcp)
		return 1;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		new_subflow(skops, tp, &rd, false);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		if (!read_subflow(tp, &rd))
			update_subflow(&rd, true);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (read_subflow_key(tp, &rd))
			break;
		rd.info.tcp_state = new_state;
		if (new_state == TCP_CLOSE_STATE)
			forget_subflow(&rd);
		else
			update_subflow(&rd, false);
		break;
	default:	/* only a subflow not recorded yet asks for these */
		new_subflow(skops, tp, &rd, true);
		break;
	}
	return 1;
}
