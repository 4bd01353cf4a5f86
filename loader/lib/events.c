// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Event readers (protocol: include/subflow_abi.h, "Events"). Each reader
 * creates a ring buffer of its own and claims a slot of event_rings for it
 * under the pin directory's lock: the ring first, then the lease in
 * event_readers, so that BPF never writes a slot's events into a ring that
 * is not the slot's. The lease is renewed from subflow_events_poll() at
 * most once a second; a reader that stopped renewing (it died) loses its
 * slot to the next reader that needs one. event_active has the slot's bit
 * set after the lease and cleared before it. Closing clears the bit, the
 * lease, then the ring.
 *
 * One connection's events (subflow_events_open_fd): a reader as above whose
 * records are filtered by the connection's key; or, for a caller that
 * cannot reach the pins, a subscription through the daemon's control socket
 * (control.c), whose records arrive as messages on that socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

#define RENEW_EVERY_NS 1000000000ULL

struct subflow_events {
	int ring_fd;
	__u32 ring_id;		/* its map id: how we recognise our slot */
	int slot;		/* -1 while none is held */
	struct ring_buffer *rb;
	subflow_event_cb cb;
	void *ctx;
	int cb_ret;		/* the callback's negative return, for poll */
	int delivered;
	uint64_t renewed_ns;
	bool filtered;		/* only one connection's */
	struct subflow_conn_filter filter;
	int control_fd;		/* >= 0: a subscription through the daemon, else -1 */
	uint64_t control_lost;	/* as the daemon last counted them */
};

bool subflow_conn_filter_pass(struct subflow_conn_filter *f, const struct subflow_event *ev)
{
	if (f->ended || ev->netns_cookie != f->netns_cookie || ev->token != f->token)
		return false;
	if (ev->type == SUBFLOW_EVENT_DOWN && (ev->conn_flags & SUBFLOW_CONN_F_CLOSED))
		f->ended = true;	/* its last event: the token is free again */
	return true;
}

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_record(void *data, void *raw, size_t size)
{
	struct subflow_events *ev = data;
	const struct subflow_event *event = raw;
	struct subflow_event copy;

	/* A record from an older writer may be shorter: what it lacks is 0. */
	if (size < offsetof(struct subflow_event, info))
		return 0;
	if (size < sizeof(copy)) {
		memset(&copy, 0, sizeof(copy));
		memcpy(&copy, raw, size);
		event = &copy;
	}
	if (ev->filtered && !subflow_conn_filter_pass(&ev->filter, event))
		return 0;
	ev->delivered++;
	ev->cb_ret = ev->cb(event, ev->ctx);
	if (ev->cb_ret > 0)
		ev->cb_ret = 0;	/* only a negative return stops */
	/* Stop consuming at once: the callback asked to. */
	return ev->cb_ret ? -ECANCELED : 0;
}

/* The map id of the ring in event_rings[slot], 0 if none. */
static __u32 slot_ring_id(int rings_fd, int slot)
{
	__u32 key = slot, id = 0;

	if (bpf_map_lookup_elem(rings_fd, &key, &id))
		return 0;
	return id;
}

static int write_lease(int readers_fd, int slot, uint64_t expires_ns)
{
	struct subflow_event_reader r = { .expires_ns = expires_ns, .pid = getpid() };
	__u32 key = slot;

	if (!expires_ns)
		r.pid = 0;
	return bpf_map_update_elem(readers_fd, &key, &r, BPF_ANY) ? -errno : 0;
}

/* Set or clear bit `slot` of event_active. Under the lock. */
static int mark_active(int slot, bool on)
{
	int fd = subflow_map_fd(MAP_EVENT_ACTIVE);
	struct subflow_event_active a = {};
	__u32 zero = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, &a))
		return -errno;
	if (on)
		a.slots |= 1U << slot;
	else
		a.slots &= ~(1U << slot);
	return bpf_map_update_elem(fd, &zero, &a, BPF_ANY) ? -errno : 0;
}

static int zero_lost(int lost_fd, int slot)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 key = slot;
	uint64_t *zeros;
	int err = 0;

	if (ncpus <= 0)
		return -EINVAL;
	zeros = calloc(ncpus, sizeof(*zeros));
	if (!zeros)
		return -ENOMEM;
	if (bpf_map_update_elem(lost_fd, &key, zeros, BPF_ANY))
		err = -errno;
	free(zeros);
	return err;
}

/* Claim a free slot (or one whose lease ran out) for ev's ring, under the
 * pin directory's lock. */
static int claim_slot(struct subflow_events *ev)
{
	int rings_fd = subflow_map_fd(MAP_EVENT_RINGS);
	int readers_fd = subflow_map_fd(MAP_EVENT_READERS);
	int lost_fd = subflow_map_fd(MAP_EVENT_LOST);
	uint64_t now = boot_ns();
	int lock_fd, err = -EBUSY;

	if (rings_fd < 0 || readers_fd < 0 || lost_fd < 0)
		return rings_fd < 0 ? rings_fd : readers_fd < 0 ? readers_fd : lost_fd;
	lock_fd = subflow_lock();
	if (lock_fd < 0)
		return lock_fd;
	for (int slot = 0; slot < SUBFLOW_EVENT_READERS; slot++) {
		struct subflow_event_reader r;
		__u32 key = slot;

		if (bpf_map_lookup_elem(readers_fd, &key, &r)) {
			err = -errno;
			break;
		}
		if (r.expires_ns && r.expires_ns >= now)
			continue;	/* a live reader's */
		if (bpf_map_update_elem(rings_fd, &key, &ev->ring_fd, BPF_ANY)) {
			err = -errno;
			break;
		}
		err = zero_lost(lost_fd, slot);
		if (!err)
			err = write_lease(readers_fd, slot, now + SUBFLOW_EVENT_LEASE_NS);
		if (!err)
			err = mark_active(slot, true);
		if (err) {
			write_lease(readers_fd, slot, 0);
			bpf_map_delete_elem(rings_fd, &key);
			break;
		}
		ev->slot = slot;
		ev->renewed_ns = now;
		break;
	}
	subflow_unlock(lock_fd);
	return err;
}

/* Renew the lease; if it ran out and the slot went to another reader,
 * claim a slot again. */
static int renew(struct subflow_events *ev)
{
	int rings_fd = subflow_map_fd(MAP_EVENT_RINGS);
	int readers_fd = subflow_map_fd(MAP_EVENT_READERS);
	uint64_t now = boot_ns();

	if (now - ev->renewed_ns < RENEW_EVERY_NS)
		return 0;
	if (rings_fd < 0 || readers_fd < 0)
		return rings_fd < 0 ? rings_fd : readers_fd;
	if (ev->slot >= 0 && slot_ring_id(rings_fd, ev->slot) == ev->ring_id) {
		ev->renewed_ns = now;
		return write_lease(readers_fd, ev->slot, now + SUBFLOW_EVENT_LEASE_NS);
	}
	ev->slot = -1;
	return claim_slot(ev);
}

static struct subflow_events *events_new(subflow_event_cb cb, void *ctx)
{
	struct subflow_events *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		errno = ENOMEM;
		return NULL;
	}
	ev->slot = -1;
	ev->ring_fd = -1;
	ev->control_fd = -1;
	ev->cb = cb;
	ev->ctx = ctx;
	return ev;
}

struct subflow_events *subflow_events_open(subflow_event_cb cb, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct subflow_events *ev;
	int err;

	if (!cb) {
		errno = EINVAL;
		return NULL;
	}
	if (!subflow_engine_loaded()) {
		errno = ENOENT;
		return NULL;
	}
	ev = events_new(cb, ctx);
	if (!ev)
		return NULL;
	ev->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "subflow_events", 0, 0,
				     SUBFLOW_EVENT_RING_BYTES, NULL);
	if (ev->ring_fd < 0) {
		err = -errno;
		goto fail;
	}
	if (bpf_obj_get_info_by_fd(ev->ring_fd, &info, &len)) {
		err = -errno;
		goto fail;
	}
	ev->ring_id = info.id;
	ev->rb = ring_buffer__new(ev->ring_fd, on_record, ev, NULL);
	if (!ev->rb) {
		err = -errno;
		goto fail;
	}
	err = claim_slot(ev);
	if (err)
		goto fail;
	return ev;
fail:
	subflow_events_close(ev);
	errno = -err;
	return NULL;
}

struct subflow_events *subflow_events_open_fd(int fd, subflow_event_cb cb, void *ctx)
{
	struct subflow_events *ev;
	uint64_t netns_cookie;
	uint32_t token;
	int err, s;

	if (!cb) {
		errno = EINVAL;
		return NULL;
	}
	if (subflow_control_wanted(fd, 0)) {
		s = subflow_control_subscribe(fd, 0, 0);
		if (s < 0) {
			errno = -s;
			return NULL;
		}
		ev = events_new(cb, ctx);
		if (!ev) {
			close(s);
			return NULL;
		}
		ev->control_fd = s;
		return ev;
	}
	err = subflow_conn_of_fd(fd, &netns_cookie, &token);
	if (err) {
		errno = -err;
		return NULL;
	}
	ev = subflow_events_open(cb, ctx);
	if (!ev)
		return NULL;
	ev->filtered = true;
	ev->filter.netns_cookie = netns_cookie;
	ev->filter.token = token;
	return ev;
}

/* The daemon's messages: each an event of the subscribed connection. */
static int control_poll(struct subflow_events *ev, int timeout_ms)
{
	struct subflow_control_response resp;
	int err, r;

	ev->delivered = 0;
	for (;;) {
		err = subflow_control_recv(ev->control_fd, &resp, timeout_ms);
		if (err == -ETIMEDOUT)
			return ev->delivered;
		if (err)
			return err;
		timeout_ms = 0;	/* then only what waits already */
		if (resp.op != SUBFLOW_CONTROL_EVENT)
			continue;
		ev->control_lost = resp.events_lost;
		if (resp.event.size > sizeof(resp.event))
			resp.event.size = sizeof(resp.event);
		ev->delivered++;
		r = ev->cb(&resp.event, ev->ctx);
		if (r < 0)
			return r;
	}
}

int subflow_events_fd(const struct subflow_events *ev)
{
	if (!ev)
		return -EINVAL;
	return ev->control_fd >= 0 ? ev->control_fd : ring_buffer__epoll_fd(ev->rb);
}

int subflow_events_poll(struct subflow_events *ev, int timeout_ms)
{
	int err;

	if (!ev)
		return -EINVAL;
	if (ev->control_fd >= 0)
		return control_poll(ev, timeout_ms);
	err = renew(ev);
	if (err)
		return err;
	ev->delivered = 0;
	ev->cb_ret = 0;
	err = ring_buffer__poll(ev->rb, timeout_ms);
	if (ev->cb_ret)
		return ev->cb_ret;
	if (err < 0)
		return err;
	return ev->delivered;
}

uint64_t subflow_events_lost(const struct subflow_events *ev)
{
	uint64_t *values, sum = 0;
	int ncpus, fd;
	__u32 key;

	if (ev && ev->control_fd >= 0)
		return ev->control_lost;
	ncpus = libbpf_num_possible_cpus();
	fd = subflow_map_fd(MAP_EVENT_LOST);
	if (!ev || ev->slot < 0 || fd < 0 || ncpus <= 0)
		return 0;
	values = calloc(ncpus, sizeof(*values));
	if (!values)
		return 0;
	key = ev->slot;
	if (!bpf_map_lookup_elem(fd, &key, values))
		for (int cpu = 0; cpu < ncpus; cpu++)
			sum += values[cpu];
	free(values);
	return sum;
}

void subflow_events_close(struct subflow_events *ev)
{
	int rings_fd, readers_fd, lock_fd;

	if (!ev)
		return;
	if (ev->slot >= 0) {
		rings_fd = subflow_map_fd(MAP_EVENT_RINGS);
		readers_fd = subflow_map_fd(MAP_EVENT_READERS);
		lock_fd = subflow_lock();
		if (lock_fd >= 0 && rings_fd >= 0 && readers_fd >= 0 &&
		    slot_ring_id(rings_fd, ev->slot) == ev->ring_id) {
			__u32 key = ev->slot;

			mark_active(ev->slot, false);
			write_lease(readers_fd, ev->slot, 0);
			bpf_map_delete_elem(rings_fd, &key);
		}
		subflow_unlock(lock_fd);
	}
	ring_buffer__free(ev->rb);
	if (ev->ring_fd >= 0)
		close(ev->ring_fd);
	if (ev->control_fd >= 0)
		close(ev->control_fd);
	free(ev);
}
