// SPDX-License-Identifier: GPL-2.0
/*
 * Subflow tracker. Hook: cgroup sockops, attached to each cgroup the engine
 * serves. Decides nothing; records: every MPTCP subflow of the cgroup's
 * sockets gets an entry in `subflows` (and its connection one in `conns`)
 * when it starts connecting (TCP_CONNECT_CB) or is accepted
 * (PASSIVE_ESTABLISHED_CB), is refreshed when the handshake completes and on
 * every state change, and is removed when it reaches TCP_CLOSE. Up, established
 * and down are reported on the `events` ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "record.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void report_established(const struct subflow_key *key)
{
	struct subflow_info *entry = bpf_map_lookup_elem(&subflows, key);

	if (entry)
		emit_event(SUBFLOW_EVENT_ESTABLISHED, entry);
}

static __always_inline void refresh_state(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					  __u32 new_state)
{
	struct subflow_info *entry;
	struct subflow_key key;

	if (sockops_subflow_key(skops, tp, &key))
		return;
	entry = bpf_map_lookup_elem(&subflows, &key);
	if (entry)
		entry->tcp_state = new_state;
}

/* Note the connection key on the MPTCP socket itself: for queries by the
 * application's fd, and for its subflows' close, when the token is gone. */
static __always_inline void note_conn_key(struct bpf_sock_ops *skops, const struct subflow_key *key)
{
	struct bpf_sock *bsk = skops->sk;
	struct subflow_conn_key *ckey;
	struct mptcp_sock *msk;

	if (!bsk)
		return;
	msk = bpf_skc_to_mptcp_sock(bsk);
	if (!msk)
		return;
	ckey = bpf_sk_storage_get(&conn_sk_keys, msk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!ckey || ckey->token == key->token)
		return;
	ckey->netns_cookie = key->netns_cookie;
	ckey->token = key->token;
	ckey->pad = 0;
}

/* Callbacks that fire on the next packet in either direction (RTT sample,
 * any received segment, any sent segment): how a not-yet-numbered passive
 * join gets recorded as soon as the kernel has given it its id. */
#define RETRY_CB_FLAGS (BPF_SOCK_OPS_RTT_CB_FLAG | BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG | \
			BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG)

/* Record the subflow and ask for its state changes. A passive join that
 * the kernel has not numbered yet (its connection was busy in a system call,
 * so the join waits on the join list until that call returns) is recorded
 * at its next packet instead, when it has its id. */
static __always_inline void start_tracking(struct bpf_sock_ops *skops, struct tcp_sock *tp,
					   __u32 extra_flags)
{
	int flags = skops->bpf_sock_ops_cb_flags;

	struct subflow_key key;

	if (record_subflow(tp, extra_flags, bpf_get_socket_cookie(skops), &key) >= 0) {
		note_conn_key(skops, &key);
		flags |= BPF_SOCK_OPS_STATE_CB_FLAG;
		flags &= ~RETRY_CB_FLAGS;
	} else if (tp->is_mptcp) {
		flags |= RETRY_CB_FLAGS;	/* try again on the next packet */
	}
	if (flags != skops->bpf_sock_ops_cb_flags)
		bpf_sock_ops_cb_flags_set(skops, flags);
}

SEC("sockops")
int subflow_track(struct bpf_sock_ops *skops)
{
	struct subflow_key key;
	struct bpf_sock *bsk;
	__u32 op = skops->op;
	struct tcp_sock *tp;

	/* Most callbacks are not ours: leave before any helper call. */
	if (op != BPF_SOCK_OPS_TCP_CONNECT_CB && op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_STATE_CB &&
	    op != BPF_SOCK_OPS_RTT_CB && op != BPF_SOCK_OPS_PARSE_HDR_OPT_CB &&
	    op != BPF_SOCK_OPS_HDR_OPT_LEN_CB && op != BPF_SOCK_OPS_WRITE_HDR_OPT_CB)
		return 1;
	bsk = skops->sk;	/* one load: the verifier tracks its NULL check */
	if (!bsk)
		return 1;
	tp = bpf_skc_to_tcp_sock(bsk);
	if (!tp || !tp->is_mptcp)
		return 1;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		start_tracking(skops, tp, 0);
		break;
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
	case BPF_SOCK_OPS_HDR_OPT_LEN_CB:
	case BPF_SOCK_OPS_WRITE_HDR_OPT_CB:
		/* Only a queued passive join asks for these (RETRY_CB_FLAGS);
		 * no header option is written. */
		start_tracking(skops, tp, SUBFLOW_F_ESTABLISHED);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		/* Backup bits and MP_JOIN/MP_CAPABLE are final only now. */
		if (record_subflow(tp, SUBFLOW_F_ESTABLISHED, bpf_get_socket_cookie(skops), &key) >= 0)
			report_established(&key);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != TCP_CLOSE_STATE)
			refresh_state(skops, tp, skops->args[1]);
		else if (!sockops_subflow_key(skops, tp, &key))
			forget_subflow(key);
		break;
	}
	return 1;
}
