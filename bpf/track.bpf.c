// SPDX-License-Identifier: GPL-2.0
/*
 * The sockops program of the engine: per-subflow options and tracking in one
 * program, so that each callback runs one program. Hook: cgroup sockops,
 * attached to each cgroup the engine serves.
 *
 * - TCP_CONNECT_CB (before the SYN): the cgroup's policy shapes the new
 *   subflow (options.bpf.h); the rule and generation that did are noted in
 *   pending_notes until the handshake completes.
 * - ACTIVE_ESTABLISHED_CB, PASSIVE_ESTABLISHED_CB (the side that accepted:
 *   shaped here): the subflow is recorded in the connection table
 *   (record.bpf.h), with its final MP_JOIN, backup bits and address ids,
 *   and its state callback is turned on.
 * - STATE_CB: at TCP_CLOSE the record goes. Every other transition leaves
 *   before any helper call.
 * - RTT_CB / header option callbacks: only a subflow that could not be
 *   recorded for good yet asks for them (its next packet in either
 *   direction): a passive join still queued on its busy connection, which
 *   the kernel numbers only when the connection's system call returns (it
 *   is recorded at once under the id it is due, SUBFLOW_F_ID_GUESSED, and
 *   confirmed then), or one whose connection's entry was being removed.
 *   Once recorded they are off again. A full map is counted, never retried.
 *
 * Each table write costs cache misses that every connection pays, so the
 * table is written twice in a subflow's life (recorded, forgotten), and
 * policy and event work is skipped when no policy or no reader exists.
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

/* What TCP_CONNECT_CB decided, back into the record (and the slot freed). */
static __always_inline void take_pending_note(struct bpf_sock_ops *skops, struct subflow_info *info)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct subflow_pending *note = pending_slot(cookie);

	if (!note || note->sock_cookie != cookie)
		return;
	info->policy_generation = note->policy_generation;
	info->policy_rule = note->policy_rule;
	note->sock_cookie = 0;
}

static __always_inline void set_cb_flags(struct bpf_sock_ops *skops, int wanted)
{
	if (wanted != skops->bpf_sock_ops_cb_flags)
		bpf_sock_ops_cb_flags_set(skops, wanted);
}

/* A subflow that starts connecting: shaped under the policy it was
 * admitted under (cgroup connect noted it), else the one in force. */
static __always_inline void connecting(struct bpf_sock_ops *skops, struct tcp_sock *tp,
				       struct subflow_read *rd)
{
	bool readers = events_wanted(), policies = policies_exist();
	__u64 cookie = 0, generation = 0;

	if (!readers && !policies)
		return;	/* nothing to decide, nobody to tell */
	if (read_subflow(tp, rd))
		return;
	if (policies) {
		cookie = bpf_get_socket_cookie(skops);
		generation = noted_generation(cookie);
		if (!generation)
			generation = policy_generation_of_sock(tp);
		shape_subflow(skops, rd, generation, 1);
		if (generation)
			note_generation(cookie, generation, rd->info.policy_rule);
	}
	if (readers) {
		rd->info.created_ns = bpf_ktime_get_boot_ns();
		emit_event(SUBFLOW_EVENT_UP, &rd->ckey, rd->cgroup_id, rd->conn_flags, &rd->info);
		/* So that a reader also hears of it if it never establishes. */
		set_cb_flags(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	}
}

/* A subflow whose handshake completed, or one retried: record it. */
static __always_inline void established(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					struct subflow_read *rd, __u32 op)
{
	int flags = skops->bpf_sock_ops_cb_flags & ~RETRY_CB_FLAGS;
	__u16 event = SUBFLOW_EVENT_ESTABLISHED;
	int result;

	if (read_subflow(tp, rd))
		return;
	/* Closed already: the kernel's SYN-ACK handling can reset a join
	 * (tcp_done) whose connection no longer takes it, and then still runs
	 * ACTIVE_ESTABLISHED_CB (seen in CI: a join recorded in state CLOSE,
	 * local port 0, its address ids from the SYN-ACK, never removed).
	 * Recorded, it would see no other callback. Only its note of
	 * TCP_CONNECT_CB is to free; its TCP_CLOSE came first, so a reader
	 * that heard it come up heard it go, and a record of it made by an
	 * earlier callback was forgotten then. */
	if (rd->info.tcp_state == TCP_CLOSE_STATE) {
		if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && policies_exist())
			take_pending_note(skops, &rd->info);
		return;
	}
	if (op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		/* Called just before the kernel moves it to ESTABLISHED. The
		 * side that accepts shapes here: its first callback. */
		rd->info.tcp_state = TCP_ESTABLISHED_STATE;
		rd->info.flags |= SUBFLOW_F_ESTABLISHED;
		if (policies_exist())
			shape_subflow(skops, rd, policy_generation_of_sock(tp), 1);
		event = SUBFLOW_EVENT_UP;
	} else if (op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB) {
		if (policies_exist())
			take_pending_note(skops, &rd->info);
	} else if (policies_exist()) {
		/* A retry: options were applied when it appeared; find the
		 * rule again for the record. */
		if (rd->info.flags & SUBFLOW_F_SERVER)
			shape_subflow(skops, rd, policy_generation_of_sock(tp), 0);
		else
			take_pending_note(skops, &rd->info);
	}
	rd->info.created_ns = bpf_ktime_get_boot_ns();
	result = read_has_key(rd) ? record_subflow(rd) : RECORD_LATER;
	if (result == RECORD_ADDED)
		emit_event(event, &rd->ckey, rd->cgroup_id, rd->conn_flags, &rd->info);
	/* RTO_CB costs nothing until a retransmission timer fires: then the
	 * path manager daemon (or any reader) hears of a stalled path at once. */
	if (result == RECORD_ADDED || result == RECORD_REFRESHED)
		flags |= BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTO_CB_FLAG;
	/* Later again: not recorded yet, or under a guessed id (its next
	 * packet confirms the id the kernel gave it). */
	if (result == RECORD_LATER || (rd->info.flags & SUBFLOW_F_ID_GUESSED))
		flags |= RETRY_CB_FLAGS | BPF_SOCK_OPS_STATE_CB_FLAG;
	set_cb_flags(skops, flags);
}

static __always_inline void closed(struct tcp_sock *tp, struct subflow_read *rd)
{
	if (read_subflow_key(tp, rd))
		return;
	if (forget_subflow(rd))
		return;
	/* Never recorded (it closed while connecting): a reader that heard
	 * it come up hears it go. */
	if (events_wanted() && !read_subflow(tp, rd)) {
		rd->info.tcp_state = TCP_CLOSE_STATE;
		emit_event(SUBFLOW_EVENT_DOWN, &rd->ckey, rd->cgroup_id, rd->conn_flags, &rd->info);
	}
}

/* A retransmission timeout: told to the readers with its count. */
static __always_inline void rto_fired(struct bpf_sock_ops *skops, struct tcp_sock *tp,
				      struct subflow_read *rd)
{
	struct subflow_event ev;

	if (!events_wanted() || read_subflow(tp, rd))
		return;
	build_event(&ev, SUBFLOW_EVENT_RTO, &rd->ckey, rd->cgroup_id, rd->conn_flags, &rd->info);
	/* icsk_retransmits, before this one: it is counted after the callback */
	ev.value[0] = skops->args[0] + 1;
	emit_record(&ev, sizeof(ev));
}

SEC("sockops")
int subflow_track(struct bpf_sock_ops *skops)
{
	struct subflow_read rd = {};
	__u32 op = skops->op;
	struct tcp_sock *tp;

	/* Most callbacks are not ours: leave before any helper call. */
	switch (op) {
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != TCP_CLOSE_STATE)
			return 1;
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
	case BPF_SOCK_OPS_RTO_CB:
		break;
	default:
		return 1;
	}
	tp = sockops_subflow(skops);
	if (!tp)
		return 1;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		connecting(skops, tp, &rd);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		closed(tp, &rd);
		break;
	case BPF_SOCK_OPS_RTO_CB:
		rto_fired(skops, tp, &rd);
		break;
	default:	/* established, or a retry (only a subflow not recorded yet asks) */
		established(skops, tp, &rd, op);
		break;
	}
	return 1;
}
