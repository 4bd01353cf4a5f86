/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The connection table (layout: include/subflow_abi.h): add a subflow,
 * change its state, forget it at close. Shared by the sockops tracker (new
 * subflows) and the iter/tcp snapshot (subflows that existed before attach),
 * so both record exactly the same way.
 *
 * One allocation per connection: its entry in `conns` holds its first
 * SUBFLOW_CONN_INLINE live subflows; only more than that take an entry each
 * in `subflow_overflow`. The key of a subflow, at any time up to and
 * including its TCP_CLOSE, is (namespace cookie, subflow context's token,
 * subflow id): the context's token is the connection's local token on every
 * subflow (client and server, initial and join) and, unlike msk->token, the
 * kernel does not clear it at teardown. So nothing is stored on any socket.
 *
 * Concurrency: a subflow's own callbacks are serialised by its socket lock;
 * siblings run on other CPUs at the same time. The entry's bpf_spin_lock
 * covers its slots and counts. The subflow that empties a connection marks
 * the entry closed under the lock, then deletes it: a sibling being
 * recorded meanwhile sees the mark and is recorded again at its next
 * callback (into a new entry), never into the dying one.
 */
#ifndef SUBFLOW_RECORD_BPF_H
#define SUBFLOW_RECORD_BPF_H

#include "maps.bpf.h"
#include "subflow_read.bpf.h"
#include "events.bpf.h"

/* Zeroed: what a new entry starts as, before the subflow that made it
 * fills it in under its lock (readers skip entries not filled in yet). Not
 * built on the stack: BPF programs have 512 bytes of it. */
static const struct subflow_conn empty_conn;
static const struct subflow_overflow empty_overflow;

enum record_result {
	RECORD_ADDED,		/* new to the table */
	RECORD_REFRESHED,	/* it was there; its fields were updated */
	RECORD_FULL,		/* a map was full: not recorded (counted) */
	RECORD_LATER,		/* its connection's entry is being removed: try at the next callback */
};

/* What a refresh keeps of the recorded subflow: when it was first seen, how
 * it was found, and the policy that shaped it. */
static __always_inline void keep_recorded(struct subflow_info *fresh, const struct subflow_info *old)
{
	fresh->created_ns = old->created_ns;
	fresh->policy_generation = old->policy_generation;
	fresh->policy_rule = old->policy_rule;
	fresh->flags |= old->flags & (SUBFLOW_F_SNAPSHOT | SUBFLOW_F_ESTABLISHED);
}

static __always_inline void overflow_key_of(const struct subflow_read *rd, struct subflow_key *key)
{
	key->netns_cookie = rd->ckey.netns_cookie;
	key->token = rd->ckey.token;
	key->id = rd->info.id;
}

/* The inline slot holding subflow `info` (by id; else, where the entry may
 * hold a guessed id, the one with a guessed id and the same ports), or -1.
 * Under the entry's lock. */
static __always_inline int inline_slot(const struct subflow_conn *conn,
				       const struct subflow_info *info)
{
	int i;

	for (i = 0; i < SUBFLOW_CONN_INLINE; i++)
		if ((conn->inline_used & (1U << i)) && conn->inline_ids[i] == info->id)
			return i;
	if (!(conn->flags & SUBFLOW_CONN_F_GUESSED))
		return -1;
	for (i = 0; i < SUBFLOW_CONN_INLINE; i++) {
		const struct subflow_info *sf = &conn->subflows[i];

		if ((conn->inline_used & (1U << i)) && (sf->flags & SUBFLOW_F_ID_GUESSED) &&
		    sf->local.port == info->local.port && sf->remote.port == info->remote.port)
			return i;
	}
	return -1;
}

static __always_inline void fill_conn_header(struct subflow_conn *conn, const struct subflow_read *rd)
{
	conn->token = rd->ckey.token;
	conn->created_ns = rd->info.created_ns;
	conn->cgroup_id = rd->cgroup_id;
	conn->netns_ino = rd->netns_ino;
	conn->flags = rd->conn_flags;
}

/* Count one subflow (or a reserved place) out of the connection; the last
 * one out removes its entry. */
static __always_inline void conn_drop_one(struct subflow_conn *conn, const struct subflow_conn_key *ckey)
{
	bool last = false;

	bpf_spin_lock(&conn->lock);
	if (conn->nr_subflows)
		conn->nr_subflows--;
	if (!conn->nr_subflows) {
		conn->flags |= SUBFLOW_CONN_F_CLOSED;
		last = true;
	}
	bpf_spin_unlock(&conn->lock);
	if (last)
		bpf_map_delete_elem(&conns, ckey);
}

/* In an overflow entry, its place counted already (reserved) in `conn`:
 * refresh it if it is there, else add it. */
static __always_inline int record_overflow(struct subflow_conn *conn, struct subflow_read *rd)
{
	struct subflow_overflow *ov;
	struct subflow_key key;
	int result = RECORD_REFRESHED;

	overflow_key_of(rd, &key);
	ov = bpf_map_lookup_elem(&subflow_overflow, &key);
	if (!ov) {
		if (bpf_map_update_elem(&subflow_overflow, &key, &empty_overflow, BPF_NOEXIST)) {
			conn_drop_one(conn, &rd->ckey);
			stat_inc(SUBFLOW_STAT_MAP_FULL);
			return RECORD_FULL;
		}
		ov = bpf_map_lookup_elem(&subflow_overflow, &key);
		if (!ov)
			return RECORD_FULL;	/* cannot happen: only this subflow deletes it */
		result = RECORD_ADDED;
	}
	bpf_spin_lock(&ov->lock);
	if (result == RECORD_REFRESHED)
		keep_recorded(&rd->info, &ov->info);
	ov->info = rd->info;
	bpf_spin_unlock(&ov->lock);
	if (result == RECORD_REFRESHED)
		conn_drop_one(conn, &rd->ckey);	/* it was counted already */
	return result;
}

/* The connection's first subflow makes its entry whole in one insert: no
 * lookup before, no lock after. Returns an enum record_result, or -1 when
 * the entry exists already (a snapshot, or a join recorded first). */
static __always_inline int record_first(struct subflow_read *rd)
{
	struct subflow_conn fresh = {};

	fill_conn_header(&fresh, rd);
	fresh.inline_used = 1;
	fresh.nr_subflows = 1;
	fresh.inline_ids[0] = rd->info.id;
	fresh.subflows[0] = rd->info;
	if (!bpf_map_update_elem(&conns, &rd->ckey, &fresh, BPF_NOEXIST))
		return RECORD_ADDED;
	if (bpf_map_lookup_elem(&conns, &rd->ckey))
		return -1;
	stat_inc(SUBFLOW_STAT_MAP_FULL);
	return RECORD_FULL;
}

/* Record subflow `rd` (rd->info.created_ns set by the caller), or refresh
 * it when it is recorded already. Returns an enum record_result; the caller
 * emits the event of a new one (RECORD_ADDED). The table operations are
 * global functions: the verifier checks each once, on its own. */
__noinline int record_subflow(struct subflow_read *rd)
{
	struct subflow_info *info;
	struct subflow_conn *conn;
	int result = RECORD_FULL, slot = -1, i;
	bool overflow = false;
	__u16 nr_inline;

	if (!rd)
		return RECORD_FULL;
	info = &rd->info;
	if (rd->first) {
		result = record_first(rd);
		if (result == RECORD_ADDED)
			stat_inc(SUBFLOW_STAT_SUBFLOWS_ADDED);
		if (result >= 0)
			return result;
		result = RECORD_FULL;
	}
	conn = bpf_map_lookup_elem(&conns, &rd->ckey);
	if (!conn) {
		/* NOEXIST: a sibling on another CPU may have created it just now. */
		if (bpf_map_update_elem(&conns, &rd->ckey, &empty_conn, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&conns, &rd->ckey)) {
			stat_inc(SUBFLOW_STAT_MAP_FULL);
			return RECORD_FULL;
		}
		conn = bpf_map_lookup_elem(&conns, &rd->ckey);
		if (!conn)
			return RECORD_LATER;	/* deleted again at once: its last subflow closed */
	}

	bpf_spin_lock(&conn->lock);
	if (conn->flags & SUBFLOW_CONN_F_CLOSED) {
		bpf_spin_unlock(&conn->lock);
		stat_inc(SUBFLOW_STAT_RECORD_DEFERRED);
		return RECORD_LATER;
	}
	if (!conn->token)
		fill_conn_header(conn, rd);
	nr_inline = (conn->inline_used & 1) + ((conn->inline_used >> 1) & 1);
	slot = inline_slot(conn, info);
	if (slot >= 0)
		result = RECORD_REFRESHED;
	/* A free inline slot takes a new subflow only while the connection
	 * has none in overflow: there, this one may be recorded already. */
	if (slot < 0 && conn->nr_subflows == nr_inline) {
		for (i = 0; i < SUBFLOW_CONN_INLINE; i++) {
			if (!(conn->inline_used & (1U << i))) {
				slot = i;
				result = RECORD_ADDED;
				conn->inline_used |= 1U << i;
				conn->nr_subflows++;
				break;
			}
		}
	}
	if (slot == 0) {
		if (result == RECORD_REFRESHED)
			keep_recorded(info, &conn->subflows[0]);
		conn->subflows[0] = *info;
		conn->inline_ids[0] = info->id;
	} else if (slot == 1) {
		if (result == RECORD_REFRESHED)
			keep_recorded(info, &conn->subflows[1]);
		conn->subflows[1] = *info;
		conn->inline_ids[1] = info->id;
	} else if (info->flags & SUBFLOW_F_ID_GUESSED) {
		/* Found again by its ports only inline: wait for its id. */
		result = RECORD_LATER;
	} else if (conn->nr_subflows < 0xffff) {
		/* Reserve its place first, so that the entry cannot go while
		 * the overflow entry is being made. */
		conn->nr_subflows++;
		overflow = true;
	}
	if (slot >= 0 && (info->flags & SUBFLOW_F_ID_GUESSED))
		conn->flags |= SUBFLOW_CONN_F_GUESSED;
	bpf_spin_unlock(&conn->lock);

	if (overflow)
		result = record_overflow(conn, rd);
	if (result == RECORD_ADDED)
		stat_inc(SUBFLOW_STAT_SUBFLOWS_ADDED);
	return result;
}

/* Forget subflow rd->info.id (it reached TCP_CLOSE); the connection's entry
 * goes with its last subflow. Only the caller that takes the subflow out
 * counts it down, so a subflow is removed exactly once. Emits
 * SUBFLOW_EVENT_DOWN. Returns 1 when it was recorded, else 0. */
__noinline int forget_subflow(struct subflow_read *rd)
{
	struct subflow_key key = {};
	struct subflow_info *info;
	struct subflow_overflow *ov;
	struct subflow_conn *conn;
	bool found = false, last = false, readers;
	__u32 conn_flags = 0;
	__u64 cgroup_id = 0;
	int i;

	if (!rd)
		return 0;
	info = &rd->info;
	overflow_key_of(rd, &key);
	conn = bpf_map_lookup_elem(&conns, &rd->ckey);
	if (!conn)
		return 0;
	readers = events_wanted();
	bpf_spin_lock(&conn->lock);
	i = inline_slot(conn, info);
	found = i >= 0;
	/* The record itself only for an event: without readers, a close
	 * touches the header's cache line alone. */
	if (readers && i == 0)
		*info = conn->subflows[0];
	else if (readers && i == 1)
		*info = conn->subflows[1];
	if (found) {
		conn->inline_used &= ~(1U << i);
		conn->nr_subflows--;
	}
	if (found && !conn->nr_subflows) {
		conn->flags |= SUBFLOW_CONN_F_CLOSED;
		last = true;
	}
	conn_flags = conn->flags;
	cgroup_id = conn->cgroup_id;
	bpf_spin_unlock(&conn->lock);

	if (!found) {
		ov = bpf_map_lookup_elem(&subflow_overflow, &key);
		if (!ov)
			return 0;
		bpf_spin_lock(&ov->lock);
		*info = ov->info;
		bpf_spin_unlock(&ov->lock);
		if (bpf_map_delete_elem(&subflow_overflow, &key))
			return 0;	/* another caller took it out */
		conn_drop_one(conn, &rd->ckey);
	} else if (last) {
		bpf_map_delete_elem(&conns, &rd->ckey);
	}
	stat_inc(SUBFLOW_STAT_SUBFLOWS_REMOVED);
	info->tcp_state = TCP_CLOSE_STATE;
	emit_event(SUBFLOW_EVENT_DOWN, &rd->ckey, cgroup_id, conn_flags, info);
	return 1;
}

#endif /* SUBFLOW_RECORD_BPF_H */
