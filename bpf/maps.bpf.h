/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine's shared maps. Every BPF object that includes this header
 * declares them with LIBBPF_PIN_BY_NAME, so the loader (pin_root_path = the
 * engine's bpffs directory) creates them once and every later object, or a
 * later process, reuses the same pinned maps. Layouts: include/subflow_abi.h.
 */
#ifndef SUBFLOW_MAPS_BPF_H
#define SUBFLOW_MAPS_BPF_H

#include "subflow_abi.h"

/* BPF_F_NO_PREALLOC: memory grows with the number of tracked subflows
 * instead of reserving the whole capacity up front. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_DEFAULT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_conn_key);
	__type(value, struct subflow_conn_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_DEFAULT_MAX_SUBFLOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_key);
	__type(value, struct subflow_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subflows SEC(".maps");

/* cgroup id -> 1 for every cgroup the engine is attached to; the snapshot
 * iterator uses it to pick the subflows that belong to attached cgroups. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} attached_cgroups SEC(".maps");

/* Per subflow socket found by the attach-time snapshot: the key it was
 * recorded under. At teardown the kernel has already cleared msk->token;
 * the tracker rebuilds other subflows' keys from the MPTCP socket's storage
 * (conn_sk_keys) and the subflow id, but an iterator cannot create storage
 * on the MPTCP socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct subflow_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subflow_sk_keys SEC(".maps");

/* Per MPTCP socket (the application's own): its connection key. User space
 * looks it up with the application's socket fd as the key, one bpf() call
 * where getsockopt(MPTCP_INFO) + getsockopt(SO_NETNS_COOKIE) take two. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct subflow_conn_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conn_sk_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SUBFLOW_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* ---- Policies (layouts and slot scheme: include/subflow_abi.h) ---------- */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS * SUBFLOW_POLICY_RULES);
	__type(key, __u32);
	__type(value, struct subflow_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS * SUBFLOW_POLICY_PATHS);
	__type(key, __u32);
	__type(value, struct subflow_path);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct subflow_policy_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_meta SEC(".maps");

/* Canonical source of each slot's policy; a hash so that unused slots cost
 * no memory. Read by `policy show` and by one-rule edits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct subflow_policy_text);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_text SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct subflow_cgroup_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cgroup_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS * SUBFLOW_POLICY_RULES);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rule_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS * SUBFLOW_POLICY_PATHS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} path_denials SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_no_match SEC(".maps");

static __always_inline void counter_inc(void *map, __u32 index)
{
	__u64 *counter = bpf_map_lookup_elem(map, &index);

	if (counter)
		*counter += 1;	/* per-CPU slot: no atomic needed */
}

static __always_inline void stat_inc(enum subflow_stat which)
{
	__u32 key = which;
	__u64 *counter = bpf_map_lookup_elem(&stats, &key);

	if (counter)
		*counter += 1;	/* per-CPU slot: no atomic needed */
}

#endif /* SUBFLOW_MAPS_BPF_H */
