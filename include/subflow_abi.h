/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * subflow map ABI: the keys and values of the maps pinned under the engine's
 * bpffs directory (default /sys/fs/bpf/subflow). Shared by the BPF programs,
 * libsubflow, and every orchestrator or bpftool user that reads the maps.
 *
 * Rules: plain __u8..__u64 fields only, no implicit padding (hash keys with
 * holes make lookups fail at random), a _Static_assert on every size. A layout
 * change is an ABI change: bump SUBFLOW_ABI_VERSION.
 */
#ifndef SUBFLOW_ABI_H
#define SUBFLOW_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SUBFLOW_ABI_VERSION 1

/* How many subflow ids a connection entry lists inline. The in-kernel path
 * manager allows at most 8 subflows; the userspace one may create more: those
 * still get a subflow entry, and the connection counts them in ids_overflow. */
#define SUBFLOW_IDS_PER_CONN 16

/* Address families, as in <sys/socket.h>; repeated so BPF code needs no libc. */
#define SUBFLOW_AF_INET  2
#define SUBFLOW_AF_INET6 10

/* Key of the "conns" map: one MPTCP connection. Tokens are unique only within
 * one network namespace, so the namespace's cookie (SO_NETNS_COOKIE, never
 * reused while the machine runs) is part of the key. */
struct subflow_conn_key {
	__u64 netns_cookie;
	__u32 token;
	__u32 pad;		/* always 0 */
};

/* Key of the "subflows" map: one subflow of one connection. `id` is the
 * kernel's subflow id, the same one MPTCP_FULL_INFO reports. */
struct subflow_key {
	__u64 netns_cookie;
	__u32 token;
	__u32 id;
};

/* One endpoint. IPv4 uses addr[0..3]; family says which. port is in host order. */
struct subflow_endpoint {
	__u8  addr[16];
	__u16 family;		/* SUBFLOW_AF_INET or SUBFLOW_AF_INET6 */
	__u16 port;
};

/* subflow_info.flags */
#define SUBFLOW_F_INITIAL	(1U << 0)	/* the connection's first subflow (MP_CAPABLE) */
#define SUBFLOW_F_JOIN		(1U << 1)	/* an additional subflow (MP_JOIN) */
#define SUBFLOW_F_BACKUP_LOCAL	(1U << 2)	/* this side asked for backup priority */
#define SUBFLOW_F_BACKUP_PEER	(1U << 3)	/* the peer asked for backup priority */
#define SUBFLOW_F_SERVER	(1U << 4)	/* passive side: accepted, not connected */
#define SUBFLOW_F_SNAPSHOT	(1U << 5)	/* found by the attach-time snapshot */
#define SUBFLOW_F_ESTABLISHED	(1U << 6)	/* reached TCP_ESTABLISHED at least once */

/* Value of the "subflows" map. */
struct subflow_info {
	__u64 netns_cookie;
	__u64 created_ns;	/* CLOCK_BOOTTIME, when the engine first saw it */
	__u64 cgroup_id;	/* cgroup v2 id of the owning socket */
	__u64 sock_cookie;	/* SO_COOKIE of the subflow's TCP socket */
	struct subflow_endpoint local;
	struct subflow_endpoint remote;
	__u32 token;
	__u32 id;
	__u32 ifindex;		/* output device of the subflow's route, 0 if unknown */
	__u32 flags;		/* SUBFLOW_F_* */
	__u8  tcp_state;	/* TCP_ESTABLISHED (1) ... as in the kernel */
	__u8  local_addr_id;	/* MPTCP address id of the local endpoint */
	__u8  remote_addr_id;	/* MPTCP address id of the remote endpoint */
	__u8  pad[5];
};

/* conn_info.flags */
#define SUBFLOW_CONN_F_SERVER	(1U << 0)	/* this side accepted the connection */

/* Value of the "conns" map. The ids of live subflows sit in subflow_ids[];
 * an unused slot holds 0 (the kernel numbers subflows from 1). */
struct subflow_conn_info {
	__u64 netns_cookie;
	__u64 created_ns;	/* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u32 token;
	__u32 netns_ino;	/* inode of the namespace, as `ls -l /proc/PID/ns/net` shows */
	__u32 flags;		/* SUBFLOW_CONN_F_* */
	__u32 nr_subflows;	/* live subflows, including those past the inline list */
	__u32 ids_overflow;	/* live subflows not listed in subflow_ids[] */
	__u32 pad;
	__u32 subflow_ids[SUBFLOW_IDS_PER_CONN];
};

/* Records on the "events" ring buffer. */
enum subflow_event_type {
	SUBFLOW_EVENT_UP = 1,		/* a subflow started connecting or was accepted */
	SUBFLOW_EVENT_ESTABLISHED = 2,	/* handshake done */
	SUBFLOW_EVENT_DOWN = 3,		/* a subflow closed; its entry is gone */
};

struct subflow_event {
	__u32 type;		/* enum subflow_event_type */
	__u32 pad;
	__u64 time_ns;		/* CLOCK_BOOTTIME */
	struct subflow_info info;
};

/* Counters in the "stats" per-CPU array, one slot each. */
enum subflow_stat {
	SUBFLOW_STAT_SUBFLOWS_ADDED,	/* subflow entries created */
	SUBFLOW_STAT_SUBFLOWS_REMOVED,	/* subflow entries deleted on close */
	SUBFLOW_STAT_MAP_FULL,		/* inserts refused: a map was full */
	SUBFLOW_STAT_EVENTS_LOST,	/* ring buffer full: event dropped */
	SUBFLOW_STAT_SNAPSHOT_FOUND,	/* subflows recorded by the attach snapshot */
	SUBFLOW_STAT_SNAPSHOT_NO_CLOSE_CB, /* snapshot could not enable the state callback */
	SUBFLOW_STAT_MAX,
};

/* Capacities; the loader may raise them before load (--max-conns). */
#define SUBFLOW_DEFAULT_MAX_CONNS	65536
#define SUBFLOW_DEFAULT_MAX_SUBFLOWS	(4 * SUBFLOW_DEFAULT_MAX_CONNS)
#define SUBFLOW_EVENTS_BYTES		(256 * 1024)

_Static_assert(sizeof(struct subflow_conn_key) == 16, "subflow_conn_key ABI");
_Static_assert(sizeof(struct subflow_key) == 16, "subflow_key ABI");
_Static_assert(sizeof(struct subflow_endpoint) == 20, "subflow_endpoint ABI");
_Static_assert(sizeof(struct subflow_info) == 96, "subflow_info ABI");
_Static_assert(sizeof(struct subflow_conn_info) == 112, "subflow_conn_info ABI");
_Static_assert(sizeof(struct subflow_event) == 112, "subflow_event ABI");

#endif /* SUBFLOW_ABI_H */
