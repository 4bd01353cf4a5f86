/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Socket option levels and names (uapi values: vmlinux.h carries no
 * macros), for every program that calls bpf_setsockopt/bpf_getsockopt.
 */
#ifndef SUBFLOW_SOCKOPTS_BPF_H
#define SUBFLOW_SOCKOPTS_BPF_H

#define SOL_SOCKET_LEVEL	1
#define SOL_IP_LEVEL		0
#define SOL_IPV6_LEVEL		41
#define SOL_TCP_LEVEL		6

#define SO_KEEPALIVE_OPT	9
#define SO_PRIORITY_OPT		12
#define SO_MARK_OPT		36
#define SO_MAX_PACING_RATE_OPT	47
#define IP_TOS_OPT		1
#define IPV6_TCLASS_OPT		67
#define TCP_NODELAY_OPT		1
#define TCP_KEEPIDLE_OPT	4
#define TCP_KEEPINTVL_OPT	5
#define TCP_KEEPCNT_OPT		6
#define TCP_CONGESTION_OPT	13
#define TCP_USER_TIMEOUT_OPT	18

#define TCP_CA_NAME_MAX_LEN	16

#endif /* SUBFLOW_SOCKOPTS_BPF_H */
