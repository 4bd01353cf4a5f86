/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one-shot subflow operations iterator (bpf/oneshot.bpf.c): what it
 * writes for the loader, shared by BPF and user space. One iter/tcp program
 * serves every operation on chosen subflows that only a program in the
 * kernel can do: per-subflow getsockopt/setsockopt, TCP state and counters
 * (the draft's SUB_GETSOCKOPT of TCP_INFO), closing a subflow with
 * bpf_sock_destroy, and enabling sockops callbacks on a connection's
 * subflows. Fixed layouts, no implicit padding, sizes asserted.
 */
#ifndef SUBFLOW_ONESHOT_H
#define SUBFLOW_ONESHOT_H

#include "subflow_abi.h"

/* TCP state and counters of one subflow, read from its tcp_sock; the names
 * are those of struct tcp_info (tcpi_*), which reports the same values. */
struct subflow_tcp_info {
	__u8  state;		/* TCP_ESTABLISHED (1) ... */
	__u8  ca_state;		/* TCP_CA_Open (0) ... TCP_CA_Loss (4) */
	__u8  retransmits;	/* RTOs in a row on the oldest unacked segment */
	__u8  pad0;
	__u32 rtt_us;		/* smoothed RTT */
	__u32 rttvar_us;	/* RTT variation (tcpi_rttvar) */
	__u32 min_rtt_us;
	__u32 rto_us;		/* retransmission timeout; 0 when unknown */
	__u32 snd_cwnd;		/* packets */
	__u32 snd_ssthresh;	/* packets */
	__u32 unacked;		/* packets in flight (tcpi_unacked) */
	__u32 retrans_out;	/* retransmitted packets not yet acked (tcpi_retrans) */
	__u32 lost_out;		/* tcpi_lost */
	__u32 total_retrans;	/* retransmitted packets, ever */
	__u32 snd_mss;
	__u32 last_data_sent_ms; /* ms since: UINT32_MAX when unknown */
	__u32 last_data_recv_ms;
	__u32 last_ack_recv_ms;
	__u32 pad1;
	__u64 bytes_sent;	/* including retransmissions */
	__u64 bytes_retrans;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 pacing_rate;	/* bytes per second; UINT64_MAX: no limit */
	__u64 max_pacing_rate;	/* SO_MAX_PACING_RATE; UINT64_MAX: no limit */
};

/* What the program is asked to do (its `op` global). */
enum subflow_oneshot_op {
	SUBFLOW_ONESHOT_SOCKOPT = 1,	/* get (and set) one option of token/id */
	SUBFLOW_ONESHOT_LIST,		/* every subflow of token (0: of every connection) */
	SUBFLOW_ONESHOT_DESTROY,	/* bpf_sock_destroy() subflow token/id */
	SUBFLOW_ONESHOT_CB_FLAGS,	/* add sockops callback flags to token's subflows */
};

/* One record per subflow acted on, written with one bpf_seq_write. */
struct subflow_oneshot_record {
	__s32 err;		/* 0, or the kernel's -errno */
	__u32 token;		/* the subflow's connection */
	__u64 value;		/* SOCKOPT: the option's value */
	__u64 cgroup_id;	/* of the connection's socket */
	char  cc[16];		/* SOCKOPT of TCP_CONGESTION */
	struct subflow_info info;	/* the subflow, as the tracker records it */
	struct subflow_tcp_info tcp;	/* LIST: its TCP state and counters */
};

_Static_assert(sizeof(struct subflow_tcp_info) == 112, "subflow_tcp_info ABI");
_Static_assert(sizeof(struct subflow_oneshot_record) == 224, "subflow_oneshot_record ABI");

#endif /* SUBFLOW_ONESHOT_H */
