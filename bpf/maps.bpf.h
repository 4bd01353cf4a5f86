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

/* The connection table (include/subflow_abi.h). BPF_F_NO_PREALLOC: memory
 * grows with the connections tracked instead of reserving the whole
 * capacity up front. The loader may resize both (subflow_set_max_conns). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_DEFAULT_MAX_CONNS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_conn_key);
	__type(value, struct subflow_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_DEFAULT_MAX_CONNS / SUBFLOW_OVERFLOW_PER_CONN_DIV);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct subflow_key);
	__type(value, struct subflow_overflow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} subflow_overflow SEC(".maps");

/* cgroup id -> 1 for every cgroup the engine is attached to; the snapshot
 * iterator uses it to pick the subflows that belong to attached cgroups. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} attached_cgroups SEC(".maps");

/* Layouts: include/subflow_abi.h. Preallocated and small (96 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SUBFLOW_PENDING_SLOTS);
	__type(key, __u32);
	__type(value, struct subflow_pending);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pending_notes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct subflow_policy_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_count SEC(".maps");

/* Events: one ring buffer per reader, in the slot it claimed; the lease of
 * each slot in event_readers (layouts and protocol: include/subflow_abi.h).
 * The rings are created by their readers; this one only gives their shape. */
struct subflow_event_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SUBFLOW_EVENT_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SUBFLOW_EVENT_READERS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct subflow_event_ring);
} event_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SUBFLOW_EVENT_READERS);
	__type(key, __u32);
	__type(value, struct subflow_event_reader);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_readers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct subflow_event_active);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_active SEC(".maps");

/* Events a slot's full ring could not take, per slot; its reader zeroes
 * its slot when it claims it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_EVENT_READERS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} event_lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SUBFLOW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* ---- Policies (layouts and the swap: include/subflow_abi.h) ------------- */

/* The shape of every inner map of `policies`; the loader makes one per load
 * (with this object's BTF, so that bpftool prints its fields). */
struct subflow_policy_slot {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct subflow_policy_image);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, SUBFLOW_MAX_POLICIES);
	__type(key, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct subflow_policy_slot);
} policies SEC(".maps");

/* Not a map, and never loaded (libbpf skips the NOBITS section): it makes
 * the compiler describe the image in full in the object's BTF, which the
 * loader gives the inner maps it creates, so that bpftool prints their
 * fields. Through the inner map's definition alone it would be a forward
 * declaration. */
struct subflow_policy_image subflow_btf_policy_image SEC(".bss.btf_types");

/* The loader's book of the images in `policies`, by generation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_MAX_POLICIES);
	__type(key, __u64);
	__type(value, struct subflow_policy_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_index SEC(".maps");

/* Canonical source of each policy, by generation; read by `policy show`
 * and by one-rule edits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SUBFLOW_MAX_POLICIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
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
