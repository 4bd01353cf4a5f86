/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * MPTCP user API that Debian 12's linux-libc-dev (6.1) lacks, for tools that
 * read the kernel's own view of a connection: MPTCP_FULL_INFO (Linux 6.5+)
 * and struct mptcp_info as Linux 6.18 fills it (6.1's header stops at 48
 * bytes; the kernel copies min(user size, its size)). Layouts follow
 * include/uapi/linux/mptcp.h; sizes checked for x86_64. Include after
 * <linux/mptcp.h>.
 */
#ifndef SUBFLOW_MPTCP_COMPAT_H
#define SUBFLOW_MPTCP_COMPAT_H

#include <linux/mptcp.h>
#include <linux/types.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* struct mptcp_info of Linux 6.18, under our own name (6.1's is shorter). */
struct mptcp_info_v6_18 {
	__u8  mptcpi_subflows;		/* extra subflows: 1 means 2 in all */
	__u8  mptcpi_add_addr_signal;
	__u8  mptcpi_add_addr_accepted;
	__u8  mptcpi_subflows_max;
	__u8  mptcpi_add_addr_signal_max;
	__u8  mptcpi_add_addr_accepted_max;
	__u32 mptcpi_flags;
	__u32 mptcpi_token;
	__u64 mptcpi_write_seq;
	__u64 mptcpi_snd_una;
	__u64 mptcpi_rcv_nxt;
	__u8  mptcpi_local_addr_used;
	__u8  mptcpi_local_addr_max;
	__u8  mptcpi_csum_enabled;
	__u32 mptcpi_retransmits;
	__u64 mptcpi_bytes_retrans;
	__u64 mptcpi_bytes_sent;
	__u64 mptcpi_bytes_received;
	__u64 mptcpi_bytes_acked;
	__u8  mptcpi_subflows_total;	/* 0 on kernels before 6.10 */
	__u8  mptcpi_endp_laminar_max;
	__u8  reserved[2];
	__u32 mptcpi_last_data_sent;
	__u32 mptcpi_last_data_recv;
	__u32 mptcpi_last_ack_recv;
};
_Static_assert(sizeof(struct mptcp_info_v6_18) == 96, "mptcp_info as of Linux 6.18");

#ifndef MPTCP_FULL_INFO
#define MPTCP_FULL_INFO 4

struct mptcp_subflow_info {
	__u32 id;
	struct mptcp_subflow_addrs addrs;
};

/* Input header and output of getsockopt(SOL_MPTCP, MPTCP_FULL_INFO). */
struct mptcp_full_info {
	__u32 size_tcpinfo_kernel;	/* must be 0, set by kernel */
	__u32 size_tcpinfo_user;
	__u32 size_sfinfo_kernel;	/* must be 0, set by kernel */
	__u32 size_sfinfo_user;
	__u32 num_subflows;		/* must be 0, set by kernel (real subflow count) */
	__u32 size_arrays_user;		/* max subflows that userspace is interested in */
	__aligned_u64 subflow_info;	/* user pointer to mptcp_subflow_info[] */
	__aligned_u64 tcp_info;		/* user pointer to tcp_info[] */
	struct mptcp_info_v6_18 mptcp_info;
};
#endif

_Static_assert(sizeof(struct mptcp_subflow_addrs) == 256, "mptcp_subflow_addrs ABI");
_Static_assert(sizeof(struct mptcp_subflow_info) == 264, "mptcp_subflow_info ABI");
_Static_assert(sizeof(struct mptcp_full_info) == 136, "mptcp_full_info ABI");

#endif /* SUBFLOW_MPTCP_COMPAT_H */
