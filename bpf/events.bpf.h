/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events to the readers attached at the moment: one copy into the ring of
 * every slot of event_rings whose lease (event_readers) is live. With no
 * reader the cost is reading the eight leases; nothing is written anywhere.
 * Protocol and layouts: include/subflow_abi.h ("Events").
 */
#ifndef SUBFLOW_EVENTS_BPF_H
#define SUBFLOW_EVENTS_BPF_H

#include "maps.bpf.h"

/* True when some slot is claimed: the caller may then read what an event
 * needs. Without a reader: one word read, nothing more. */
static __always_inline bool events_wanted(void)
{
	__u32 zero = 0;
	struct subflow_event_active *active = bpf_map_lookup_elem(&event_active, &zero);

	return active && active->slots;
}

/* One copy of a record built by the caller (a struct subflow_event, or a
 * longer record that begins with one) into every live reader's ring. */
static __always_inline void emit_record(const void *rec, __u32 size)
{
	__u64 now = 0;
	int slot;

	/* The loop counter stays in a register (its copy `key` goes to the
	 * helpers), so that the verifier knows the loop's bound. */
	for (slot = 0; slot < SUBFLOW_EVENT_READERS; slot++) {
		__u32 key = slot;
		struct subflow_event_reader *reader = bpf_map_lookup_elem(&event_readers, &key);
		void *ring;

		if (!reader || !reader->expires_ns)
			continue;	/* free slot: no clock read */
		if (!now)
			now = bpf_ktime_get_boot_ns();
		if (now > reader->expires_ns)
			continue;	/* a reader that stopped renewing (it died) */
		ring = bpf_map_lookup_elem(&event_rings, &key);
		if (ring && bpf_ringbuf_output(ring, (void *)rec, size, 0)) {
			stat_inc(SUBFLOW_STAT_EVENTS_LOST);
			counter_inc(&event_lost, key);
		}
	}
}

/* The event of `type` about one subflow, with the type's numbers. */
static __always_inline void build_event(struct subflow_event *ev, __u16 type,
					const struct subflow_conn_key *ckey, __u64 cgroup_id,
					__u32 conn_flags, const struct subflow_info *info)
{
	ev->type = type;
	ev->size = sizeof(*ev);
	ev->reason = 0;
	ev->time_ns = bpf_ktime_get_boot_ns();
	ev->netns_cookie = ckey->netns_cookie;
	ev->cgroup_id = cgroup_id;
	ev->token = ckey->token;
	ev->conn_flags = conn_flags;
	ev->info = *info;
	ev->value[0] = 0;
	ev->value[1] = 0;
}

/* A global function: the verifier checks it once, on its own, instead of
 * again at every place that emits. Returns 0. */
__noinline int emit_event(__u16 type, const struct subflow_conn_key *ckey, __u64 cgroup_id,
			  __u32 conn_flags, const struct subflow_info *info)
{
	struct subflow_event ev;

	if (!ckey || !info || !events_wanted())
		return 0;
	build_event(&ev, type, ckey, cgroup_id, conn_flags, info);
	emit_record(&ev, sizeof(ev));
	return 0;
}

#endif /* SUBFLOW_EVENTS_BPF_H */
