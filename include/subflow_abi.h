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
#include <linux/bpf.h>	/* struct bpf_spin_lock */
#endif

/* 2: one record per connection with its subflows inline (conns), the rest
 *    in subflow_overflow; per-reader event rings.
 * 3: a policy is one inner map of `policies` (a new one per load), keyed
 *    by its generation; no more slots. */
#define SUBFLOW_ABI_VERSION 3

/* Address families, as in <sys/socket.h>; repeated so BPF code needs no libc. */
#define SUBFLOW_AF_INET  2
#define SUBFLOW_AF_INET6 10

/* ---- The connection table ---------------------------------------------------
 *
 * One entry per MPTCP connection in `conns`, keyed by (network namespace
 * cookie, local token): tokens are unique only within a namespace. Its
 * value holds the connection and its first SUBFLOW_CONN_INLINE live
 * subflows; a connection with more keeps the others in `subflow_overflow`,
 * keyed by (namespace, token, subflow id). Both values start with a
 * bpf_spin_lock that BPF holds while it changes them: read them with
 * BPF_F_LOCK (bpf_map_lookup_elem_flags) to get an untorn copy.
 *
 * A subflow is added when its handshake completes (ACTIVE_ESTABLISHED_CB on
 * the side that connected, PASSIVE_ESTABLISHED_CB on the side that
 * accepted) or when the attach-time snapshot finds it, and removed when it
 * reaches TCP_CLOSE; the connection's entry goes with its last subflow.
 * Nothing is written in between: a subflow's tcp_state is the one it had
 * when recorded (ESTABLISHED, or what the snapshot saw). A subflow still
 * connecting is not listed; events report it (SUBFLOW_EVENT_UP). Each
 * table write costs a cache miss or two per connection, multiplied by the
 * connection rate: the engine writes only what users need.
 */

/* Subflows held in the connection's own entry. Two fill the entry to the
 * 256-byte allocation class of the kernel's hash map; most connections have
 * one or two. */
#define SUBFLOW_CONN_INLINE 2

/* Key of "conns". */
struct subflow_conn_key {
	__u64 netns_cookie;	/* SO_NETNS_COOKIE of the namespace, never reused while the machine runs */
	__u32 token;		/* the connection's local MPTCP token */
	__u32 pad;		/* always 0 */
};

/* Key of "subflow_overflow": one subflow of one connection. */
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
#define SUBFLOW_F_ID_GUESSED	(1U << 7)	/* a passive join recorded while queued, before the
						 * kernel numbered it: id is the one it was due (see
						 * "How it works" in the README) */

/* One subflow, as recorded. `id` is the kernel's subflow id, the one
 * MPTCP_FULL_INFO reports: 1, 2, ... in creation order, never reused within
 * a connection. The kernel numbers 0 the first subflow of a connection made
 * again on the same socket (connect(AF_UNSPEC), then connect()): so does
 * the engine. */
struct subflow_info {
	__u64 created_ns;		/* CLOCK_BOOTTIME, when the engine first saw it */
	struct subflow_endpoint local;
	struct subflow_endpoint remote;
	__u32 id;
	__u32 ifindex;			/* output device of its route when recorded, 0 if unknown */
	__u64 policy_generation;	/* of the policy that shaped it; 0: none */
	__u16 flags;			/* SUBFLOW_F_* */
	__u8  tcp_state;		/* TCP_ESTABLISHED (1) ... as in the kernel; see above */
	__u8  policy_rule;		/* 1 + index of the rule that shaped it; 0: none */
	__s16 local_addr_id;		/* MPTCP address id of the local endpoint; -1: not known yet */
	__u8  remote_addr_id;		/* MPTCP address id of the remote endpoint */
	__u8  pad;
};

/* subflow_conn.flags */
#define SUBFLOW_CONN_F_SERVER	(1U << 0)	/* this side accepted the connection */
#define SUBFLOW_CONN_F_CLOSED	(1U << 1)	/* its last subflow closed: being removed */
#define SUBFLOW_CONN_F_GUESSED	(1U << 2)	/* an inline subflow may have a guessed id */

/* Value of "conns". The header fits in one cache line with the lock and
 * the inline subflows' ids, so that a close touches only that line (and
 * the key's). The namespace cookie is the key's. */
struct subflow_conn {
	struct bpf_spin_lock lock;	/* BPF only; user space reads with BPF_F_LOCK */
	__u32 token;
	__u64 created_ns;	/* CLOCK_BOOTTIME */
	__u64 cgroup_id;	/* cgroup v2 id of the socket that created the connection */
	__u32 netns_ino;	/* inode of the namespace, as `ls -l /proc/PID/ns/net` shows */
	__u8  flags;		/* SUBFLOW_CONN_F_* */
	__u8  inline_used;	/* bit i: subflows[i] holds a live subflow */
	__u16 nr_subflows;	/* live subflows: inline, and the rest in subflow_overflow */
	__u32 inline_ids[SUBFLOW_CONN_INLINE];	/* subflows[i].id, for a look-up without them */
	struct subflow_info subflows[SUBFLOW_CONN_INLINE];
};

/* Value of "subflow_overflow". */
struct subflow_overflow {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct subflow_info info;
};

/* What was decided for a subflow this side connects, until it is recorded:
 * "pending_notes", an array indexed by the low bits of the socket's cookie.
 * Admission (cgroup bind/connect) notes the policy generation it decided
 * under; the sockops program shapes the subflow under that generation at
 * TCP_CONNECT_CB and adds the rule; the record takes both when the
 * handshake completes. A collision (another subflow connecting at the same
 * moment with the same low bits) loses the note: the subflow is then shaped
 * under the policy in force, and its record may name no rule (counted:
 * pending_note_lost). */
#define SUBFLOW_PENDING_SLOTS 4096

struct subflow_pending {
	__u64 sock_cookie;	/* 0: empty */
	__u64 policy_generation;
	__u32 policy_rule;	/* 1 + rule index; 0: none (yet) */
	__u32 pad;
};

/* "policy_count", one entry, written by the loader under the pin
 * directory's lock: how many cgroups have a policy (with none, new subflows
 * skip the cgroup walk), and the last generation given out (generations
 * only grow, even when every policy was removed). */
struct subflow_policy_count {
	__u32 nr_policies;
	__u32 pad;
	__u64 last_generation;
};

/* ---- Events -------------------------------------------------------------------
 *
 * Every reader has a ring buffer of its own: up to SUBFLOW_EVENT_READERS at
 * once, each in one slot of `event_rings` (an array of ring buffers). A
 * reader creates its ring, and claims a free slot (or one whose lease
 * expired) under the pin directory's lock: it stores its ring there, then
 * sets event_readers[slot].expires_ns; it renews that lease while it reads
 * (libsubflow: every second, for SUBFLOW_EVENT_LEASE_NS). BPF writes an
 * event into every slot whose lease is live, and into nothing when no slot
 * is: no reader, no cost beyond reading the leases. A reader that dies
 * stops receiving when its lease runs out; its slot is reused later.
 * event_lost[slot] (per-CPU) counts the events a slot's full ring refused.
 * event_active (one entry) has bit `slot` set while a slot is claimed (set
 * after the lease, cleared before it, under the lock): BPF reads that one
 * word first, and the leases only when it is not 0.
 *
 * Records are struct subflow_event. `type` says what happened and `size` how
 * many bytes the writer filled: later versions add types and may grow the
 * record at its end (never change what is there), so a reader skips types
 * it does not know and reads only the fields it knows.
 */
#define SUBFLOW_EVENT_READERS		8
#define SUBFLOW_EVENT_RING_BYTES	(256 * 1024)	/* each reader's ring */
#define SUBFLOW_EVENT_LEASE_NS		(5ULL * 1000000000ULL)

/* Value of "event_readers" (an array, one entry per slot). */
struct subflow_event_reader {
	__u64 expires_ns;	/* CLOCK_BOOTTIME; 0: the slot is free */
	__u32 pid;		/* of the reader, for `status` */
	__u32 pad;
};

/* Value of "event_active". */
struct subflow_event_active {
	__u32 slots;		/* bit i: slot i is claimed */
	__u32 pad;
};

/* Event types. 1-63: the tracker. 64 and up are reserved for conditions the
 * path manager watches (an RTO fired, a streak of retransmissions, no ACK
 * progress, a byte count crossed); they will carry their numbers in
 * value[] and, for a close, its reason in `reason`. */
enum subflow_event_type {
	SUBFLOW_EVENT_UP = 1,		/* a subflow started connecting or was accepted */
	SUBFLOW_EVENT_ESTABLISHED = 2,	/* its handshake completed */
	SUBFLOW_EVENT_DOWN = 3,		/* it closed; it is no longer listed */
	SUBFLOW_EVENT_RTO = 4,		/* its retransmission timer fired (data outstanding,
					 * no ACK for an RTO): value[0] = timeouts in a row,
					 * this one included (then TCP_INFO tcpi_backoff) */
	SUBFLOW_EVENT_PM_DECISION = 5,	/* a decision of the path manager daemon: a longer
					 * record, struct subflow_pm_decision (subflow_pm_abi.h) */
};

struct subflow_event {
	__u16 type;		/* enum subflow_event_type */
	__u16 size;		/* bytes the writer filled in: sizeof(struct subflow_event) today */
	__u32 reason;		/* DOWN: why it closed, 0: not known (reserved) */
	__u64 time_ns;		/* CLOCK_BOOTTIME */
	__u64 netns_cookie;	/* the connection's key, with token */
	__u64 cgroup_id;
	__u32 token;
	__u32 conn_flags;	/* SUBFLOW_CONN_F_* of its connection */
	struct subflow_info info;	/* the subflow as recorded (DOWN: at its close) */
	__u64 value[2];		/* numbers of the event type; 0 for UP, ESTABLISHED, DOWN */
};

/* Counters in the "stats" per-CPU array, one slot each. */
enum subflow_stat {
	SUBFLOW_STAT_SUBFLOWS_ADDED,	/* subflows recorded */
	SUBFLOW_STAT_SUBFLOWS_REMOVED,	/* subflows forgotten on close */
	SUBFLOW_STAT_MAP_FULL,		/* subflows not recorded: conns or subflow_overflow full */
	SUBFLOW_STAT_EVENTS_LOST,	/* events a reader's full ring could not take */
	SUBFLOW_STAT_SNAPSHOT_FOUND,	/* subflows recorded by the attach snapshot */
	SUBFLOW_STAT_SNAPSHOT_NO_CLOSE_CB, /* found by the snapshot, not recorded: no state callback */
	SUBFLOW_STAT_RECORD_DEFERRED,	/* recorded at a later callback: its connection was closing */
	SUBFLOW_STAT_PENDING_NOTE_LOST,	/* a connecting subflow's policy note was overwritten */
	SUBFLOW_STAT_POLICY_GONE,	/* shaped by no policy: its admission's image was evicted */
	SUBFLOW_STAT_MAX,
};

/* ---- Policies --------------------------------------------------------------
 *
 * A policy is compiled by the loader into one struct subflow_policy_image:
 * its header, rules, paths and counters. Every load makes a new inner map
 * holding one image (key 0), stores it in `policies` under the policy's
 * generation (machine-wide, increasing), and then swaps it in with one update
 * of cgroup_policy[cgroup id] = generation. An image is never written again
 * once in `policies` (BPF only adds to its counters), so a program sees one
 * policy whole, old or new, never a mix: atomic by construction.
 *
 * A socket follows the policy of its nearest cgroup ancestor that has one.
 * A subflow keeps the generation it was admitted under (cgroup
 * connect/bind notes it in pending_notes) and is shaped under that one at
 * TCP_CONNECT_CB, even if a new policy came in between. Retired images stay
 * in `policies` for SUBFLOW_POLICY_RETAIN_NS so that such a subflow still
 * finds its own; one that does not (evicted because `policies` was full:
 * oldest first, and those retired 100 ms ago or more to make room for the
 * loader's spare image maps) gets no options, and is counted (policy_gone).
 *
 * Devices (`dev` selectors) are resolved when the policy is loaded, in the
 * loader's network namespace (meta.netns_cookie): to their ifindexes and to
 * their addresses. Ifindexes are compared only for sockets of that
 * namespace; elsewhere a dev path matches by those addresses.
 */
#define SUBFLOW_MAX_POLICIES		64	/* images in `policies`, retired ones included */
#define SUBFLOW_POLICY_RETAIN_NS	(1000ULL * 1000 * 1000)
#define SUBFLOW_POLICY_RULES		64	/* rules per policy */
#define SUBFLOW_POLICY_PATHS		32	/* paths per policy */
#define SUBFLOW_PATH_PREFIXES		16	/* local prefixes that put a subflow on a path */
#define SUBFLOW_PATH_IFINDEXES		8	/* devices (bound_dev_if) that do */
#define SUBFLOW_PATH_BIND_ADDRS		4	/* host addresses per family to bind an initial subflow to */
#define SUBFLOW_POLICY_TEXT_BYTES	16384	/* canonical source kept for show / edit */
#define SUBFLOW_NO_PATH			0xffffffffU

struct subflow_prefix {
	__u8  addr[16];		/* network order; IPv4 in addr[0..3] */
	__u8  family;		/* SUBFLOW_AF_INET or SUBFLOW_AF_INET6 */
	__u8  len;		/* prefix length in bits */
	__u8  pad[2];
};

/* A rule. Matches are ANDed; a zero `match` matches anything. */
#define SUBFLOW_MATCH_PATH	(1U << 0)	/* the subflow's local side is on `path` */
#define SUBFLOW_MATCH_DST	(1U << 1)	/* the peer's address is in `dst` */
#define SUBFLOW_MATCH_DPORT	(1U << 2)	/* destination port in [dport_lo, dport_hi] */
#define SUBFLOW_MATCH_FAMILY	(1U << 3)	/* address family is `family` */
#define SUBFLOW_MATCH_INITIAL	(1U << 4)	/* the connection's first subflow */
#define SUBFLOW_MATCH_JOIN	(1U << 5)	/* an MP_JOIN subflow */

/* Actions: the same bits as the parser's SUBFLOW_POLICY_ACT_*. */
#define SUBFLOW_ACT_VERDICT	(1U << 0)
#define SUBFLOW_ACT_MARK	(1U << 1)
#define SUBFLOW_ACT_CC		(1U << 2)
#define SUBFLOW_ACT_TOS		(1U << 3)
#define SUBFLOW_ACT_PRIORITY	(1U << 4)
#define SUBFLOW_ACT_PACING	(1U << 5)
#define SUBFLOW_ACT_USER_TIMEOUT (1U << 6)
#define SUBFLOW_ACT_KEEPALIVE	(1U << 7)
#define SUBFLOW_ACT_NODELAY	(1U << 8)

#define SUBFLOW_VERDICT_NONE	0	/* options only: admitted */
#define SUBFLOW_VERDICT_ALLOW	1
#define SUBFLOW_VERDICT_DENY	2

struct subflow_rule {
	__u32 match;		/* SUBFLOW_MATCH_* */
	__u32 path;		/* index within the policy's paths */
	struct subflow_prefix dst;
	__u16 dport_lo;
	__u16 dport_hi;
	__u8  family;
	__u8  tos;		/* IP_TOS / IPV6_TCLASS */
	__u8  pad[2];
	__u32 actions;		/* SUBFLOW_ACT_* */
	__u32 verdict;		/* SUBFLOW_VERDICT_* */
	__u32 mark;		/* SO_MARK */
	__u32 priority;		/* SO_PRIORITY */
	__u32 user_timeout_ms;	/* TCP_USER_TIMEOUT */
	__u32 keepalive_idle;	/* TCP_KEEPIDLE, seconds (with SO_KEEPALIVE) */
	__u32 keepalive_intvl;	/* TCP_KEEPINTVL, seconds */
	__u32 keepalive_count;	/* TCP_KEEPCNT */
	__u32 line;		/* source line, for messages */
	__u64 pacing_rate;	/* SO_MAX_PACING_RATE, bytes per second */
	char  cc[16];		/* TCP_CONGESTION */
};

/* A path: what puts a subflow's local side on the path, and the host's
 * addresses on it (resolved by the loader, dev selectors through
 * rtnetlink, in the network namespace the policy was loaded from). */
struct subflow_path {
	char  name[32];
	__u32 nr_prefixes;
	__u32 nr_ifindexes;
	__u32 ifindexes[SUBFLOW_PATH_IFINDEXES];
	struct subflow_prefix prefixes[SUBFLOW_PATH_PREFIXES];
	__u32 nr_bind4;
	__u32 nr_bind6;
	__u32 bind4[SUBFLOW_PATH_BIND_ADDRS];		/* IPv4, network order */
	__u8  bind6[SUBFLOW_PATH_BIND_ADDRS][16];	/* IPv6 */
};

/* The image's header. */
#define SUBFLOW_MPTCPIFY_UNSET	0
#define SUBFLOW_MPTCPIFY_ON	1
#define SUBFLOW_MPTCPIFY_OFF	2

/* subflow_policy_meta.flags */
#define SUBFLOW_POLICY_F_HAS_DENY (1U << 0)	/* some rule denies: admission must look */

struct subflow_policy_meta {
	__u32 nr_rules;
	__u32 nr_paths;
	__u32 mptcpify;		/* SUBFLOW_MPTCPIFY_* */
	__u32 flags;		/* SUBFLOW_POLICY_F_* */
	__u64 generation;	/* increases with every load, machine-wide */
	__u64 loaded_ns;	/* CLOCK_BOOTTIME */
	__u64 cgroup_id;	/* the cgroup it was loaded for */
	__u64 netns_cookie;	/* the namespace its devices were resolved in */
	/* Host addresses on no path: where an initial subflow goes when every
	 * named path is denied for its destination but subflows on no path
	 * are not (a policy that names only the path it restricts). */
	__u32 nr_unnamed4;
	__u32 nr_unnamed6;
	__u32 unnamed4[SUBFLOW_PATH_BIND_ADDRS];
	__u8  unnamed6[SUBFLOW_PATH_BIND_ADDRS][16];
};

/* Value of the inner maps of `policies` (an array of one, key 0). The
 * counters are BPF's to add to (atomically); the rest is written once,
 * before the image is published. */
struct subflow_policy_image {
	struct subflow_policy_meta meta;
	struct subflow_rule rules[SUBFLOW_POLICY_RULES];
	struct subflow_path paths[SUBFLOW_POLICY_PATHS];
	__u64 rule_hits[SUBFLOW_POLICY_RULES];		/* subflows each rule decided */
	__u64 path_denials[SUBFLOW_POLICY_PATHS];	/* subflows refused on each path */
	__u64 no_match;					/* subflows that matched no rule */
};

/* cgroup_policy value (key: cgroup id, __u64). */
struct subflow_cgroup_policy {
	__u64 generation;	/* the key of its image in `policies` */
};

/* policy_index value (key: generation, __u64): the loader's book of the
 * images in `policies`, to retire them. */
struct subflow_policy_entry {
	__u64 cgroup_id;
	__u64 loaded_ns;	/* CLOCK_BOOTTIME */
	__u64 retired_ns;	/* 0 while in force */
};

/* policy_text value (key: generation): the canonical text of that policy. */
struct subflow_policy_text {
	char text[SUBFLOW_POLICY_TEXT_BYTES];
};

_Static_assert(sizeof(struct subflow_prefix) == 20, "subflow_prefix ABI");
_Static_assert(sizeof(struct subflow_rule) == 96, "subflow_rule ABI");
_Static_assert(sizeof(struct subflow_path) == 480, "subflow_path ABI");
_Static_assert(sizeof(struct subflow_policy_meta) == 136, "subflow_policy_meta ABI");
_Static_assert(sizeof(struct subflow_cgroup_policy) == 8, "subflow_cgroup_policy ABI");
_Static_assert(sizeof(struct subflow_policy_entry) == 24, "subflow_policy_entry ABI");
_Static_assert(sizeof(struct subflow_policy_image) ==
	       136 + 64 * 96 + 32 * 480 + 64 * 8 + 32 * 8 + 8, "subflow_policy_image ABI");

/* ---- The engine record ------------------------------------------------------
 *
 * Pinned as "engine" in the pin directory: a one-entry array (key 0) that the
 * loader writes when it makes the directory. It says which map ABI the maps
 * there follow (a loader of another ABI refuses them) and which pins that
 * load created, so that `unload`, of any version, removes those and nothing
 * else. abi_version and nr_pins stay first in every future layout.
 */
#define SUBFLOW_ENGINE_RECORD_PIN	"engine"
#define SUBFLOW_ENGINE_MAX_PINS		64
#define SUBFLOW_PIN_NAME_LEN		32

struct subflow_engine_record {
	__u32 abi_version;	/* SUBFLOW_ABI_VERSION of the maps in this directory */
	__u32 nr_pins;		/* entries used in pins[] */
	__u64 loaded_ns;	/* CLOCK_REALTIME of the load, in ns */
	/* Every pin the load created (maps, programs, global links), by name
	 * in the pin directory, NUL-padded. Per-cgroup link pins come and go
	 * with attachments: they are the links of these programs. */
	char  pins[SUBFLOW_ENGINE_MAX_PINS][SUBFLOW_PIN_NAME_LEN];
};

_Static_assert(sizeof(struct subflow_engine_record) == 16 + 64 * 32, "subflow_engine_record ABI");

/* Capacities: subflow_set_max_conns() (or $SUBFLOW_MAX_CONNS) changes them
 * for the next load; the overflow table holds a quarter as many subflows. */
#define SUBFLOW_DEFAULT_MAX_CONNS	65536
#define SUBFLOW_OVERFLOW_PER_CONN_DIV	4

_Static_assert(sizeof(struct subflow_conn_key) == 16, "subflow_conn_key ABI");
_Static_assert(sizeof(struct subflow_key) == 16, "subflow_key ABI");
_Static_assert(sizeof(struct subflow_endpoint) == 20, "subflow_endpoint ABI");
_Static_assert(sizeof(struct subflow_info) == 72, "subflow_info ABI");
_Static_assert(__builtin_offsetof(struct subflow_info, policy_generation) == 56, "subflow_info ABI");
_Static_assert(sizeof(struct subflow_conn) == 40 + SUBFLOW_CONN_INLINE * 72, "subflow_conn ABI");
/* conns entry = 48 B of kernel element header + 16 B key + value + 8 B of
 * allocator header: within the kernel's 256-byte size class. */
_Static_assert(48 + 16 + sizeof(struct subflow_conn) + 8 <= 256, "conns entry size class");
_Static_assert(sizeof(struct subflow_overflow) == 80, "subflow_overflow ABI");
_Static_assert(sizeof(struct subflow_event_reader) == 16, "subflow_event_reader ABI");
_Static_assert(sizeof(struct subflow_event_active) == 8, "subflow_event_active ABI");
_Static_assert(sizeof(struct subflow_event) == 128, "subflow_event ABI");
_Static_assert(sizeof(struct subflow_pending) == 24, "subflow_pending ABI");
_Static_assert(sizeof(struct subflow_policy_count) == 16, "subflow_policy_count ABI");

#endif /* SUBFLOW_ABI_H */
