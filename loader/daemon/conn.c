// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The connections the daemon manages and what it decides for them.
 *
 * A connection is managed when the policy of its cgroup (the engine's
 * record says which cgroup) has path-management statements and it is under
 * the userspace path manager. Its subflows are learnt from mptcp_pm events
 * (and, after a restart, from the kernel's own list), each put on a path of
 * the policy by its local address.
 *
 * Deciding (reconcile) is a pure function of the policy, the paths' state
 * and the subflows, so it can run after any change: each path the policy
 * names gets a role (regular, backup, none) and the subflows are made to
 * match, in an order that never leaves a connection without a regular
 * subflow when it can have one:
 *   1. flips to regular (MP_PRIO) of subflows that must now carry traffic;
 *   2. closes of subflows on unusable paths: the subflow is reset in the
 *      kernel, then REMOVE_ADDR of its address goes over the surviving
 *      subflows, so that the peer too stops using it at once;
 *   3. flips to backup, only once a regular subflow is established
 *      (make before break);
 *   4. opens of missing subflows (after a backoff where one just failed or
 *      broke: 100 ms, doubling up to 30 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>
#include "daemon.h"
#include "ops.h"
#include "oneshot.h"

#define CONN_BUCKETS	1024
#define MAX_ADOPT	65536
#define CGROUP_RETRIES	5	/* the engine's record of a new connection, looked for */

enum want { WANT_NONE = 0, WANT_REGULAR, WANT_BACKUP };

struct sub {
	bool used;
	bool established;
	bool pending;		/* opened by us, handshake not done */
	bool closing;		/* closed by us: its SUB_CLOSED is no breakage */
	bool backup;		/* our request (MP_PRIO / MP_JOIN B bit) as last set */
	bool initial;
	uint8_t family;
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint8_t loc_id;
	int ifindex;
	int path;		/* in the connection's policy, -1 if on none */
	uint32_t id;		/* kernel subflow id, 0 until learnt */
	uint64_t since_ms;
	uint64_t stall_check_ms;	/* an RTO was reported: look again then */
};

struct conn {
	struct conn *next;
	uint32_t token;
	bool fully_established;
	bool server_side;
	bool foreign;		/* another path manager's: left alone */
	bool unmanaged;		/* no statements for it */
	int cgroup_tries;
	uint64_t cgroup_retry_ms;
	uint64_t cgroup_id;
	uint8_t family;
	uint8_t raddr[16];
	uint16_t rport;
	uint64_t created_ms;
	struct sub subs[DAEMON_MAX_SUBFLOWS];
	uint32_t backoff_ms[DAEMON_MAX_PATHS];
	uint64_t retry_at_ms[DAEMON_MAX_PATHS];
	bool stalled[DAEMON_MAX_PATHS];
	/* When a path was found without ACK progress: it stays unusable until
	 * its probe answers after that (or STALL_HOLD_ACK_TIMEOUTS pass, for a
	 * path whose probes never get an answer). */
	uint64_t stalled_since_ms[DAEMON_MAX_PATHS];
	enum path_state state[DAEMON_MAX_PATHS];
	uint64_t open_fired;	/* bit i: statement i (open ... after) fired */
	uint64_t announced;	/* bit i: statement i (announce) done */
	uint64_t next_bytes_ms;
	uint64_t reconcile_at_ms;	/* a timer wants a new decision then */
};

struct table {
	struct conn *bucket[CONN_BUCKETS];
	size_t count;
};

static size_t family_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static struct table *table_of(struct daemon *d)
{
	return d->conns;
}

int conns_init(struct daemon *d)
{
	d->conns = calloc(1, sizeof(struct table));
	return d->conns ? 0 : -ENOMEM;
}

void conns_fini(struct daemon *d)
{
	struct table *t = table_of(d);

	if (!t)
		return;
	for (size_t b = 0; b < CONN_BUCKETS; b++)
		while (t->bucket[b]) {
			struct conn *c = t->bucket[b];

			t->bucket[b] = c->next;
			free(c);
		}
	free(t);
	d->conns = NULL;
}

static struct conn *conn_find(struct daemon *d, uint32_t token)
{
	struct conn *c;

	for (c = table_of(d)->bucket[token % CONN_BUCKETS]; c; c = c->next)
		if (c->token == token)
			return c;
	return NULL;
}

static struct conn *conn_new(struct daemon *d, uint32_t token)
{
	struct table *t = table_of(d);
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->token = token;
	c->created_ms = daemon_now_ms();
	c->next = t->bucket[token % CONN_BUCKETS];
	t->bucket[token % CONN_BUCKETS] = c;
	t->count++;
	return c;
}

static void conn_drop(struct daemon *d, uint32_t token)
{
	struct table *t = table_of(d);
	struct conn **pp = &t->bucket[token % CONN_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->token == token) {
			struct conn *c = *pp;

			*pp = c->next;
			free(c);
			t->count--;
			return;
		}
}

#define for_each_conn(t, b, c) \
	for ((b) = 0; (b) < CONN_BUCKETS; (b)++) for ((c) = (t)->bucket[b]; (c); (c) = (c)->next)

/* ---- subflows --------------------------------------------------------------------- */

static struct sub *sub_find(struct conn *c, int family, const uint8_t *laddr, uint16_t lport,
			    const uint8_t *raddr, uint16_t rport)
{
	size_t len = family_len(family);

	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		struct sub *s = &c->subs[i];

		if (s->used && s->family == family && s->lport == lport && s->rport == rport &&
		    !memcmp(s->laddr, laddr, len) && !memcmp(s->raddr, raddr, len))
			return s;
	}
	return NULL;
}

/* A pending open of ours between these addresses (its port is not known). */
static struct sub *sub_pending(struct conn *c, int family, const uint8_t *laddr,
			       const uint8_t *raddr, uint16_t rport)
{
	size_t len = family_len(family);

	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		struct sub *s = &c->subs[i];

		if (s->used && s->pending && s->family == family && s->rport == rport &&
		    !memcmp(s->laddr, laddr, len) && !memcmp(s->raddr, raddr, len))
			return s;
	}
	return NULL;
}

static struct sub *sub_alloc(struct conn *c)
{
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++)
		if (!c->subs[i].used) {
			memset(&c->subs[i], 0, sizeof(c->subs[i]));
			c->subs[i].used = true;
			c->subs[i].path = -1;
			c->subs[i].since_ms = daemon_now_ms();
			return &c->subs[i];
		}
	return NULL;
}

/* The kernel's id of a subflow, from the engine's record (tuple match). */
static uint32_t sub_id(struct conn *c, struct sub *s)
{
	uint32_t ids[64];
	size_t n = 0;

	if (s->id || !s->lport)
		return s->id;
	if (subflow_get_ids_by_token(0, c->token, ids, 64, &n))
		return 0;
	for (size_t i = 0; i < n && i < 64; i++) {
		struct subflow_info info;

		if (subflow_get_info(0, c->token, ids[i], &info))
			continue;
		if (info.local.port == s->lport && info.remote.port == s->rport &&
		    !memcmp(info.local.addr, s->laddr, family_len(s->family))) {
			s->id = info.id;
			break;
		}
	}
	return s->id;
}

/* ---- policies ---------------------------------------------------------------------- */

static const struct subflow_policy *policy_of(struct daemon *d, const struct conn *c)
{
	const struct daemon_policy *dp = daemon_policy_for(d, c->cgroup_id);

	if (!dp)
		return NULL;
	if (!dp->policy.nr_statements && !dp->policy.mode)
		return NULL;
	return &dp->policy;
}

static uint32_t ack_timeout_of(const struct subflow_policy *p)
{
	if (p->ack_timeout_ms)
		return p->ack_timeout_ms;
	/* interactive: dead paths set aside faster */
	return p->mode == SUBFLOW_POLICY_MODE_INTERACTIVE ? 200 : SUBFLOW_POLICY_DEFAULT_ACK_TIMEOUT_MS;
}

/* The paths the policy manages: named by a statement, or all with a mode. */
static void involved_paths(const struct subflow_policy *p, bool *involved)
{
	memset(involved, 0, DAEMON_MAX_PATHS * sizeof(*involved));
	for (unsigned int i = 0; i < p->nr_paths && p->mode; i++)
		involved[i] = true;
	for (unsigned int i = 0; i < p->nr_statements; i++) {
		const struct subflow_policy_statement *st = &p->statements[i];

		if (st->path >= 0)
			involved[st->path] = true;
		if (st->other >= 0)
			involved[st->other] = true;
		if (st->unless_up >= 0)
			involved[st->unless_up] = true;
	}
}

/* ---- decisions ------------------------------------------------------------------- */

static void log_sub(struct daemon *d, struct conn *c, struct sub *s, const char *action,
		    const char *reason, const struct subflow_policy *p, int result)
{
	struct decision dec = {
		.action = action, .reason = reason, .token = c->token, .result = result,
		.cgroup_id = c->cgroup_id,
		.lport = s->lport, .rport = s->rport,
		.path = p && s->path >= 0 ? p->paths[s->path].name : NULL,
	};

	dec.id = sub_id(c, s);
	dec.local.family = s->family;
	memcpy(dec.local.addr, s->laddr, 16);
	dec.local.ifindex = s->ifindex;
	memcpy(dec.remote, s->raddr, 16);
	daemon_decision(d, &dec);
}

static int set_backup(struct daemon *d, struct conn *c, struct sub *s, bool backup,
		      const char *reason, const struct subflow_policy *p)
{
	struct subflow_pm_addr l = { .family = s->family, .port = s->lport },
			       r = { .family = s->family, .port = s->rport };
	int err;

	memcpy(l.addr, s->laddr, 16);
	memcpy(r.addr, s->raddr, 16);
	err = subflow_pm_set_backup(d->pm, c->token, &l, &r, backup);
	if (!err)
		s->backup = backup;
	log_sub(d, c, s, backup ? "backup" : "regular", reason, p, err);
	return err;
}

/* Take the subflow out of service, then tell the peer its address is gone
 * (RM_ADDR). The kernel sends RM_ADDR on the first subflow that can still
 * send, so the dead one must not be able to any more, yet keep its address
 * id until the REMOVE command has read it:
 *   - a join is reset (sock_diag SOCK_DESTROY): closed at once, and its
 *     address stays in the userspace PM's list for REMOVE to find;
 *   - the initial subflow is shut down (SUBFLOW_DESTROY): resetting it
 *     would let the MPTCP worker clear its id 0 before REMOVE reads it.
 * Not when another live subflow of ours still uses that address id. */
static void close_sub(struct daemon *d, struct conn *c, struct sub *s, const char *reason,
		      const struct subflow_policy *p)
{
	struct subflow_info info = {};
	bool id_in_use = false;
	int err;

	if (s->loc_id == 0) {
		struct subflow_pm_addr l = { .family = s->family, .port = s->lport },
				       r = { .family = s->family, .port = s->rport };

		memcpy(l.addr, s->laddr, 16);
		memcpy(r.addr, s->raddr, 16);
		err = subflow_pm_subflow_destroy(d->pm, c->token, &l, &r);
	} else {
		info.id = sub_id(c, s);
		info.local.family = info.remote.family =
			s->family == AF_INET6 ? SUBFLOW_AF_INET6 : SUBFLOW_AF_INET;
		memcpy(info.local.addr, s->laddr, 16);
		memcpy(info.remote.addr, s->raddr, 16);
		info.local.port = s->lport;
		info.remote.port = s->rport;
		info.ifindex = s->ifindex;
		err = subflow_ops_destroy(c->token, &info);
	}
	s->closing = true;
	s->established = false;
	log_sub(d, c, s, "close", reason, p, err);
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		const struct sub *o = &c->subs[i];

		if (o != s && o->used && !o->closing && o->loc_id == s->loc_id &&
		    !memcmp(o->laddr, s->laddr, 16))
			id_in_use = true;
	}
	if (id_in_use)
		return;
	err = subflow_pm_remove(d->pm, c->token, s->loc_id);
	if (err) {
		char why[192];

		snprintf(why, sizeof(why), "RM_ADDR of address id %u: %s", s->loc_id,
			 subflow_pm_error(d->pm));
		log_sub(d, c, s, "remove", why, p, err);
		return;
	}
	log_sub(d, c, s, "remove", "RM_ADDR: the peer drops the address at once", p, err);
}

/* A subflow of slot just broke or could not be opened: double the slot's
 * backoff (100 ms first, at most 30 s) and re-create no sooner. now is
 * truncated to the millisecond, so the deadline is one more: the event may
 * have been up to 1 ms after now, and the wait must be at least the backoff. */
static void backoff_next(struct conn *c, int slot, uint64_t now)
{
	uint32_t *b = &c->backoff_ms[slot];

	*b = *b ? *b * 2 : DAEMON_BACKOFF_MIN_MS;
	if (*b > DAEMON_BACKOFF_MAX_MS)
		*b = DAEMON_BACKOFF_MAX_MS;
	c->retry_at_ms[slot] = now + *b + 1;
}

/* Open a subflow from a onto path (-1: on no path; slot then names the
 * backoff to use). */
static void open_sub(struct daemon *d, struct conn *c, int path, int slot, const struct path_addr *a,
		     bool backup, const char *reason, const struct subflow_policy *p)
{
	struct subflow_pm_addr l = { .family = a->family, .ifindex = a->ifindex },
			       r = { .family = c->family, .port = c->rport }, asked_l;
	struct sub *s = sub_alloc(c);
	int err;

	if (!s)
		return;
	memcpy(l.addr, a->addr, 16);
	memcpy(r.addr, c->raddr, 16);
	s->family = c->family;
	memcpy(s->laddr, a->addr, 16);
	memcpy(s->raddr, c->raddr, 16);
	s->rport = c->rport;
	s->ifindex = a->ifindex;
	s->path = path;
	s->backup = backup;
	s->pending = true;
	err = subflow_ops_start_open(d->pm, c->token, &l, &r, backup, &asked_l, NULL);
	if (!err)
		s->loc_id = asked_l.id;
	log_sub(d, c, s, backup ? "open backup" : "open", reason, p, err);
	if (err) {
		s->used = false;
		backoff_next(c, slot, daemon_now_ms());
		if (err == -EPROTONOSUPPORT)
			c->foreign = true;	/* another path manager's connection */
	}
}

/* A subflow on that path, not being closed (pending counts). */
static bool path_has_sub(const struct conn *c, int path, bool established_only)
{
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		const struct sub *s = &c->subs[i];

		if (s->used && !s->closing && s->path == path &&
		    (s->established || (!established_only && s->pending)))
			return true;
	}
	return false;
}

static bool stmt_open_fired(struct daemon *d, struct conn *c, unsigned int i,
			    const struct subflow_policy_statement *st, uint64_t now)
{
	struct subflow_diag_mptcp info;

	if (c->open_fired & (1ULL << i))
		return true;
	if (st->after_ms && now - c->created_ms >= st->after_ms)
		c->open_fired |= 1ULL << i;
	if (st->after_bytes && now >= c->next_bytes_ms) {
		/* The connection's own count (MPTCP sock_diag), looked up
		 * by token: no per-packet work anywhere. */
		c->next_bytes_ms = now + DAEMON_BYTES_POLL_MS;
		if (!subflow_diag_mptcp_by_token(d->diag, c->token, &info) &&
		    info.bytes_sent >= st->after_bytes)
			c->open_fired |= 1ULL << i;
	}
	return c->open_fired & (1ULL << i);
}

struct plan {
	enum want want[DAEMON_MAX_PATHS];
	bool decided[DAEMON_MAX_PATHS];
	const char *why[DAEMON_MAX_PATHS];
	char why_buf[DAEMON_MAX_PATHS][320];
};

static void plan_set(struct plan *pl, int path, enum want w, const char *fmt, const char *a,
		     const char *b)
{
	if (path < 0 || pl->decided[path])
		return;
	pl->decided[path] = true;
	pl->want[path] = w;
	snprintf(pl->why_buf[path], sizeof(pl->why_buf[path]), fmt, a, b);
	pl->why[path] = pl->why_buf[path];
}

/* A path closed for no ACK progress is not opened again on its link,
 * address and route alone: a silent blackhole keeps all three, and a
 * subflow opened into it waits out its SYN retransmissions (seconds) after
 * the path heals. It is usable again once its probe answers after the
 * stall, or after STALL_HOLD_ACK_TIMEOUTS ack-timeouts (probes may be
 * filtered where TCP passes); a decision is due then. */
#define STALL_HOLD_ACK_TIMEOUTS 10

static enum path_state stall_held(struct daemon *d, struct conn *c, int path,
				  const struct path_addr *addr, uint32_t ack_timeout, uint64_t now)
{
	uint64_t until = c->stalled_since_ms[path] + (uint64_t)STALL_HOLD_ACK_TIMEOUTS * ack_timeout;

	if (now >= until || host_probe_answered_since(&d->host, addr, c->family, c->raddr,
						      c->stalled_since_ms[path])) {
		c->stalled_since_ms[path] = 0;
		return PATH_USABLE;
	}
	if (!c->reconcile_at_ms || until < c->reconcile_at_ms)
		c->reconcile_at_ms = until;
	return PATH_STALLED;
}

static void reconcile(struct daemon *d, struct conn *c, const char *trigger)
{
	const struct subflow_policy *p;
	struct path_addr addr[DAEMON_MAX_PATHS];
	bool involved[DAEMON_MAX_PATHS], usable[DAEMON_MAX_PATHS], regular_established = false;
	uint64_t now = daemon_now_ms();
	uint32_t ack_timeout;
	struct plan pl;
	char why[128];
	int first = -1;

	if (c->foreign || c->unmanaged || !c->fully_established)
		return;
	p = policy_of(d, c);
	if (!p)
		return;
	ack_timeout = ack_timeout_of(p);
	memset(&pl, 0, sizeof(pl));
	memset(addr, 0, sizeof(addr));
	involved_paths(p, involved);

	/* The paths' state, for this connection's peer. */
	for (unsigned int i = 0; i < p->nr_paths; i++) {
		usable[i] = false;
		if (!involved[i])
			continue;
		c->state[i] = host_path_state(&d->host, p, i, c->family, c->raddr, &addr[i]);
		/* aggregate: a path with link, address and route keeps its
		 * subflow through a stall (MPTCP reinjects meanwhile); no probes. */
		if (p->mode == SUBFLOW_POLICY_MODE_AGGREGATE) {
			usable[i] = c->state[i] == PATH_USABLE;
			continue;
		}
		if (c->state[i] == PATH_USABLE &&
		    host_probe_silent(&d->host, &addr[i], c->family, c->raddr, ack_timeout,
				      ack_timeout / 3))
			c->state[i] = PATH_SILENT;
		if (c->state[i] == PATH_USABLE && c->stalled[i])
			c->state[i] = PATH_STALLED;
		if (c->state[i] == PATH_USABLE && c->stalled_since_ms[i])
			c->state[i] = stall_held(d, c, i, &addr[i], ack_timeout, now);
		usable[i] = c->state[i] == PATH_USABLE;
		pr_debug("connection 0x%08x (%s): path %s %s\n", c->token, trigger, p->paths[i].name,
			 path_state_name(c->state[i]));
	}

	/* Roles. */
	switch (p->mode) {
	case SUBFLOW_POLICY_MODE_HANDOVER:
		for (unsigned int i = 0; i < p->nr_paths; i++) {
			if (!usable[i]) {
				plan_set(&pl, i, WANT_NONE, "handover: %s %s", p->paths[i].name,
					 path_state_name(c->state[i]));
			} else if (first < 0) {
				first = i;
				plan_set(&pl, i, WANT_REGULAR, "handover: %s is the first usable path%s",
					 p->paths[i].name, "");
			} else {
				plan_set(&pl, i, WANT_BACKUP, "handover: backup behind %s%s",
					 p->paths[first].name, "");
			}
		}
		break;
	case SUBFLOW_POLICY_MODE_INTERACTIVE:
	case SUBFLOW_POLICY_MODE_AGGREGATE:
		for (unsigned int i = 0; i < p->nr_paths; i++)
			plan_set(&pl, i, usable[i] ? WANT_REGULAR : WANT_NONE, "%s: %s",
				 subflow_policy_mode_name(p->mode),
				 usable[i] ? "every usable path carries traffic" : path_state_name(c->state[i]));
		break;
	default:
		break;
	}
	for (unsigned int i = 0; i < p->nr_statements; i++) {
		const struct subflow_policy_statement *st = &p->statements[i];
		const char *a, *b;

		if (st->kind != SUBFLOW_POLICY_STMT_PREFER)
			continue;
		if (st->unless_up >= 0 && usable[st->unless_up])
			continue;	/* "if C down": C is up */
		a = p->paths[st->path].name;
		b = p->paths[st->other].name;
		snprintf(why, sizeof(why), "prefer %s over %s", a, b);
		if (usable[st->path]) {
			plan_set(&pl, st->path, WANT_REGULAR, "%s: %s usable", why, a);
			plan_set(&pl, st->other, usable[st->other] ? WANT_BACKUP : WANT_NONE,
				 usable[st->other] ? "%s: backup while %s is usable" : "%s: %s unusable",
				 why, usable[st->other] ? a : b);
		} else {
			plan_set(&pl, st->path, WANT_NONE, "%s: %s", why, path_state_name(c->state[st->path]));
			plan_set(&pl, st->other, usable[st->other] ? WANT_REGULAR : WANT_NONE,
				 usable[st->other] ? "%s: %s unusable, failing over" : "%s: %s unusable too",
				 why, usable[st->other] ? a : b);
		}
	}
	for (unsigned int i = 0; i < p->nr_statements; i++) {
		const struct subflow_policy_statement *st = &p->statements[i];

		if (st->kind != SUBFLOW_POLICY_STMT_OPEN || !stmt_open_fired(d, c, i, st, now))
			continue;
		plan_set(&pl, st->path, usable[st->path] ? WANT_REGULAR : WANT_NONE,
			 st->after_bytes ? "open %s after: the connection has sent enough%s"
					 : "open %s after: the connection is old enough%s",
			 p->paths[st->path].name, "");
	}
	for (unsigned int i = 0; i < p->nr_paths; i++)
		if (pl.decided[i] && pl.want[i] == WANT_REGULAR && path_has_sub(c, i, true))
			regular_established = true;

	/* 1. Flips to regular: whatever must carry traffic does first. A
	 * backup-to-be stays regular until a regular subflow is up. */
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		struct sub *s = &c->subs[i];
		enum want w;

		if (!s->used || !s->established || s->closing || s->path < 0 || !pl.decided[s->path])
			continue;
		w = pl.want[s->path];
		if (w == WANT_BACKUP && !regular_established)
			w = WANT_REGULAR;
		if (w == WANT_REGULAR && s->backup)
			set_backup(d, c, s, false, pl.why[s->path], p);
	}
	/* 2. Closes of subflows on unusable paths, then RM_ADDR. */
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		struct sub *s = &c->subs[i];

		if (!s->used || s->closing || s->path < 0 || !pl.decided[s->path] ||
		    pl.want[s->path] != WANT_NONE || usable[s->path] || !s->established)
			continue;
		close_sub(d, c, s, pl.why[s->path], p);
	}
	/* 3. Flips to backup, once something regular is established. */
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS && regular_established; i++) {
		struct sub *s = &c->subs[i];

		if (s->used && s->established && !s->closing && s->path >= 0 && pl.decided[s->path] &&
		    pl.want[s->path] == WANT_BACKUP && !s->backup)
			set_backup(d, c, s, true, pl.why[s->path], p);
	}
	/* 4. Opens. */
	for (unsigned int i = 0; i < p->nr_paths; i++) {
		if (!pl.decided[i] || pl.want[i] == WANT_NONE || path_has_sub(c, i, false))
			continue;
		if (now < c->retry_at_ms[i]) {
			if (!c->reconcile_at_ms || c->retry_at_ms[i] < c->reconcile_at_ms)
				c->reconcile_at_ms = c->retry_at_ms[i];
			continue;
		}
		open_sub(d, c, i, i, &addr[i], pl.want[i] == WANT_BACKUP && regular_established,
			 pl.why[i], p);
	}
	/* A stall has been acted on: the path is judged afresh next time. */
	for (unsigned int i = 0; i < p->nr_paths; i++)
		c->stalled[i] = false;
	(void)trigger;
}

/* keep N subflows: re-create closed or broken ones, on the paths with the
 * fewest (in policy order), or beside the first subflow when the policy has
 * no usable path. */
static void keep_subflows(struct daemon *d, struct conn *c)
{
	const struct subflow_policy *p = policy_of(d, c);
	const struct subflow_policy_statement *keep = NULL;
	unsigned int live = 0, best_count = ~0U;
	struct path_addr best_addr;
	uint64_t now = daemon_now_ms();
	int best = -1;

	if (!p || c->foreign || c->unmanaged || !c->fully_established)
		return;
	for (unsigned int i = 0; i < p->nr_statements; i++)
		if (p->statements[i].kind == SUBFLOW_POLICY_STMT_KEEP)
			keep = &p->statements[i];
	if (!keep)
		return;
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++)
		if (c->subs[i].used && !c->subs[i].closing && (c->subs[i].established || c->subs[i].pending))
			live++;
	if (live >= keep->count)
		return;
	for (unsigned int i = 0; i < p->nr_paths; i++) {
		struct path_addr a;
		unsigned int n = 0;

		if (host_path_state(&d->host, p, i, c->family, c->raddr, &a) != PATH_USABLE)
			continue;
		for (int j = 0; j < DAEMON_MAX_SUBFLOWS; j++)
			if (c->subs[j].used && !c->subs[j].closing && c->subs[j].path == (int)i)
				n++;
		if (n < best_count) {
			best = i;
			best_count = n;
			best_addr = a;
		}
	}
	if (best < 0) {
		/* No path of the policy: beside the first live subflow. */
		for (int j = 0; j < DAEMON_MAX_SUBFLOWS && best < 0; j++) {
			const struct sub *s = &c->subs[j];

			if (s->used && s->established && !s->closing) {
				memset(&best_addr, 0, sizeof(best_addr));
				best_addr.family = s->family;
				memcpy(best_addr.addr, s->laddr, 16);
				best_addr.ifindex = s->ifindex;
				best = DAEMON_MAX_PATHS - 1;	/* a slot for its backoff */
			}
		}
		if (best < 0)
			return;
	}
	/* Where a subflow just broke, it is re-created after its backoff. */
	if (now < c->retry_at_ms[best]) {
		if (!c->reconcile_at_ms || c->retry_at_ms[best] < c->reconcile_at_ms)
			c->reconcile_at_ms = c->retry_at_ms[best];
		return;
	}
	open_sub(d, c, best < (int)p->nr_paths ? best : -1, best, &best_addr, false,
		 "keep: fewer subflows than the policy keeps", p);
}

/* announce ADDR [to PREFIX]: ADD_ADDR once per connection whose peer is in
 * PREFIX. */
static void announce(struct daemon *d, struct conn *c)
{
	const struct subflow_policy *p = policy_of(d, c);

	if (!p || c->foreign || c->unmanaged || !c->fully_established)
		return;
	for (unsigned int i = 0; i < p->nr_statements; i++) {
		const struct subflow_policy_statement *st = &p->statements[i];
		struct subflow_oneshot_record none[1];
		struct subflow_pm_addr a = { .family = st->addr.family };
		struct decision dec = { .action = "announce", .token = c->token,
					.cgroup_id = c->cgroup_id };
		unsigned int full, rest;
		int err;

		if (st->kind != SUBFLOW_POLICY_STMT_ANNOUNCE || (c->announced & (1ULL << i)) ||
		    st->addr.family != c->family)
			continue;
		if (st->to.family) {
			full = st->to.len / 8;
			rest = st->to.len % 8;
			if (memcmp(st->to.addr, c->raddr, full) ||
			    (rest && ((st->to.addr[full] ^ c->raddr[full]) & (0xff00 >> rest))))
				continue;
		}
		c->announced |= 1ULL << i;
		memcpy(a.addr, st->addr.addr, 16);
		err = subflow_ops_local_id(d->pm, c->token, &a, none, 0, &a.id);
		if (!err && !a.id)
			a.id = 1;	/* ADD_ADDR needs an id: 0 is the initial address */
		if (!err)
			err = subflow_pm_announce(d->pm, c->token, &a);
		dec.reason = "announce: the peer is in its prefix";
		dec.result = err;
		dec.local.family = a.family;
		memcpy(dec.local.addr, a.addr, 16);
		memcpy(dec.remote, c->raddr, 16);
		dec.rport = c->rport;
		daemon_decision(d, &dec);
	}
}

static void decide(struct daemon *d, struct conn *c, const char *why)
{
	reconcile(d, c, why);
	keep_subflows(d, c);
	announce(d, c);
}

void conns_reconcile_all(struct daemon *d, const char *why)
{
	struct table *t = table_of(d);
	struct conn *c;
	size_t b;

	host_probe_begin_round(&d->host);
	for_each_conn(t, b, c)
		decide(d, c, why);
	host_probe_sweep(&d->host);
}

/* ---- events ------------------------------------------------------------------------- */

/* The cgroup of a connection, from the engine's record. */
static void learn_cgroup(struct daemon *d, struct conn *c)
{
	struct subflow_conn_info info;

	if (c->cgroup_id || c->unmanaged)
		return;
	if (!subflow_get_conn_info(0, c->token, &info)) {
		c->cgroup_id = info.cgroup_id;
		c->server_side = info.flags & SUBFLOW_CONN_F_SERVER;
		if (!policy_of(d, c))
			c->unmanaged = true;
		return;
	}
	/* Not tracked (yet): the tracker may not have recorded it. */
	if (++c->cgroup_tries >= CGROUP_RETRIES)
		c->unmanaged = true;
	else
		c->cgroup_retry_ms = daemon_now_ms() + 20 * c->cgroup_tries;
}

static void sub_from_event(struct conn *c, struct sub *s, const struct subflow_pm_event *ev)
{
	s->family = ev->family;
	memcpy(s->laddr, ev->saddr, 16);
	memcpy(s->raddr, ev->daddr, 16);
	s->lport = ev->sport;
	s->rport = ev->dport;
	if (ev->present & SUBFLOW_PM_EV_HAS_LOC_ID)
		s->loc_id = ev->loc_id;
	if (ev->present & SUBFLOW_PM_EV_HAS_IFINDEX)
		s->ifindex = ev->ifindex;
}

static void place_sub(struct daemon *d, struct conn *c, struct sub *s)
{
	const struct subflow_policy *p = policy_of(d, c);

	if (p && s->path < 0)
		s->path = host_path_of(&d->host, p, s->family, s->laddr);
}

void conns_on_event(struct daemon *d, const struct subflow_pm_event *ev)
{
	const bool addrs = (ev->present & SUBFLOW_PM_EV_HAS_SADDR) && (ev->present & SUBFLOW_PM_EV_HAS_DADDR);
	struct conn *c = conn_find(d, ev->token);
	struct sub *s;

	switch (ev->type) {
	case MPTCP_EVENT_CREATED:
		if (c || !addrs)
			return;
		c = conn_new(d, ev->token);
		if (!c)
			return;
		c->family = ev->family;
		memcpy(c->raddr, ev->daddr, 16);
		c->rport = ev->dport;
		c->server_side = ev->server_side;
		s = sub_alloc(c);
		if (s) {
			sub_from_event(c, s, ev);
			s->initial = true;
		}
		return;
	case MPTCP_EVENT_ESTABLISHED:
		if (!c)
			return;
		c->fully_established = true;
		learn_cgroup(d, c);
		for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++)
			if (c->subs[i].used && c->subs[i].initial) {
				c->subs[i].established = true;
				place_sub(d, c, &c->subs[i]);
			}
		if (c->unmanaged) {
			conn_drop(d, ev->token);
			return;
		}
		host_probe_begin_round(&d->host);
		decide(d, c, "connection established");
		return;
	case MPTCP_EVENT_CLOSED:
		if (c)
			conn_drop(d, ev->token);
		return;
	case MPTCP_EVENT_SUB_ESTABLISHED:
		if (!c || !addrs)
			return;
		s = sub_find(c, ev->family, ev->saddr, ev->sport, ev->daddr, ev->dport);
		if (!s)
			s = sub_pending(c, ev->family, ev->saddr, ev->daddr, ev->dport);
		if (!s) {
			s = sub_alloc(c);	/* the peer's, or a tool's */
			if (!s)
				return;
			s->backup = ev->backup;
		}
		sub_from_event(c, s, ev);
		s->pending = false;
		s->established = true;
		s->since_ms = daemon_now_ms();
		place_sub(d, c, s);
		host_probe_begin_round(&d->host);
		decide(d, c, "subflow established");
		return;
	case MPTCP_EVENT_SUB_CLOSED:
		if (!c || !addrs)
			return;
		s = sub_find(c, ev->family, ev->saddr, ev->sport, ev->daddr, ev->dport);
		if (!s)
			s = sub_pending(c, ev->family, ev->saddr, ev->daddr, ev->dport);
		if (!s)
			return;
		if (!s->closing) {
			/* Broken, or refused: try again after a backoff that
			 * doubles while re-created subflows keep breaking, and
			 * starts again at 100 ms after one that lasted. */
			int slot = s->path >= 0 ? s->path : DAEMON_MAX_PATHS - 1;
			uint32_t *b = &c->backoff_ms[slot];
			uint64_t now = daemon_now_ms();

			if (s->established && now - s->since_ms >= DAEMON_BACKOFF_MAX_MS)
				*b = 0;
			backoff_next(c, slot, now);
			if (s->established || s->pending) {
				char why[96];

				snprintf(why, sizeof(why), "%s (error %u); again in %u ms",
					 s->pending ? "not established" : "closed by the peer or the network",
					 ev->error, *b);
				log_sub(d, c, s, "lost", why, policy_of(d, c), 0);
			}
		}
		s->used = false;
		host_probe_begin_round(&d->host);
		decide(d, c, "subflow closed");
		return;
	case MPTCP_EVENT_SUB_PRIORITY:
		/* The peer's MP_PRIO: shown beside our decisions. */
		if (c && addrs && (s = sub_find(c, ev->family, ev->saddr, ev->sport, ev->daddr, ev->dport)))
			log_sub(d, c, s, ev->backup ? "peer backup" : "peer regular",
				"MP_PRIO from the peer", policy_of(d, c), 0);
		return;
	default:
		return;
	}
}

/* ---- RTO reports ---------------------------------------------------------------------- */

/* Is the subflow without ACK progress for ack-timeout, data outstanding? */
static bool stalled_now(struct daemon *d, struct sub *s, uint32_t ack_timeout, uint32_t *age)
{
	struct subflow_diag_tuple t = { .family = s->family, .sport = s->lport, .dport = s->rport,
					.ifindex = 0 };
	struct tcp_info ti;
	size_t len = 0;
	int err;

	memcpy(t.saddr, s->laddr, 16);
	memcpy(t.daddr, s->raddr, 16);
	err = subflow_diag_tcp_info(d->diag, &t, &ti, sizeof(ti), &len);
	if (err == -ENOENT && s->ifindex) {
		t.ifindex = s->ifindex;
		err = subflow_diag_tcp_info(d->diag, &t, &ti, sizeof(ti), &len);
	}
	if (err || len < offsetof(struct tcp_info, tcpi_last_ack_recv) + 4)
		return false;
	*age = ti.tcpi_last_ack_recv;
	return ti.tcpi_unacked > 0 && ti.tcpi_last_ack_recv >= ack_timeout;
}

static void check_stall(struct daemon *d, struct conn *c, struct sub *s)
{
	const struct subflow_policy *p = policy_of(d, c);
	uint32_t timeout, age = 0;

	s->stall_check_ms = 0;
	if (!p || s->path < 0 || !s->established || s->closing)
		return;
	timeout = ack_timeout_of(p);
	if (stalled_now(d, s, timeout, &age)) {
		c->stalled[s->path] = true;
		c->stalled_since_ms[s->path] = daemon_now_ms();
		host_probe_begin_round(&d->host);
		decide(d, c, "no ACK progress");
	} else if (age < timeout) {
		/* Not yet: look again when it would be. */
		s->stall_check_ms = daemon_now_ms() + (timeout - age) + 1;
	}
}

void conns_on_rto(struct daemon *d, uint32_t token, uint32_t id, uint32_t rtos, uint32_t ack_age_ms)
{
	struct conn *c = conn_find(d, token);

	if (!c)
		return;
	for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
		struct sub *s = &c->subs[i];

		if (s->used && s->established && sub_id(c, s) == id) {
			check_stall(d, c, s);
			return;
		}
	}
	(void)rtos;
	(void)ack_age_ms;
}

/* ---- timers ---------------------------------------------------------------------------- */

static void min_deadline(uint64_t *next, uint64_t at)
{
	if (at && (!*next || at < *next))
		*next = at;
}

uint64_t conns_tick(struct daemon *d, uint64_t now)
{
	struct table *t = table_of(d);
	uint64_t next = 0;
	struct conn *c, *cn;
	bool any = false;
	size_t b;

	host_probe_begin_round(&d->host);
	for (b = 0; b < CONN_BUCKETS; b++) {
		for (c = t->bucket[b]; c; c = cn) {
			const struct subflow_policy *p;
			bool again = false;

			cn = c->next;
			if (c->cgroup_retry_ms && now >= c->cgroup_retry_ms) {
				c->cgroup_retry_ms = 0;
				learn_cgroup(d, c);
				if (c->unmanaged) {
					conn_drop(d, c->token);
					continue;
				}
				again = true;
			}
			min_deadline(&next, c->cgroup_retry_ms);
			for (int i = 0; i < DAEMON_MAX_SUBFLOWS; i++) {
				struct sub *s = &c->subs[i];

				if (!s->used)
					continue;
				if (s->stall_check_ms && now >= s->stall_check_ms)
					check_stall(d, c, s);
				min_deadline(&next, s->stall_check_ms);
				if (s->pending && now - s->since_ms >= DAEMON_OPEN_TIMEOUT_MS) {
					/* Never answered: given up, tried again later. */
					log_sub(d, c, s, "lost", "no answer to the subflow's SYN", policy_of(d, c),
						-ETIMEDOUT);
					s->used = false;
					backoff_next(c, s->path >= 0 ? s->path : DAEMON_MAX_PATHS - 1, now);
					again = true;
				} else if (s->pending) {
					min_deadline(&next, s->since_ms + DAEMON_OPEN_TIMEOUT_MS);
				}
			}
			if (c->reconcile_at_ms && now >= c->reconcile_at_ms) {
				c->reconcile_at_ms = 0;
				again = true;
			}
			/* open ... after: the age, or the next look at the bytes. */
			p = policy_of(d, c);
			for (unsigned int i = 0; p && i < p->nr_statements; i++) {
				const struct subflow_policy_statement *st = &p->statements[i];

				if (st->kind != SUBFLOW_POLICY_STMT_OPEN || (c->open_fired & (1ULL << i)))
					continue;
				if (st->after_ms) {
					if (now - c->created_ms >= st->after_ms)
						again = true;
					else
						min_deadline(&next, c->created_ms + st->after_ms);
				}
				if (st->after_bytes) {
					if (now >= c->next_bytes_ms)
						again = true;
					else
						min_deadline(&next, c->next_bytes_ms);
				}
			}
			if (again)
				decide(d, c, "timer");
			any = true;
			min_deadline(&next, c->reconcile_at_ms);
		}
	}
	(void)any;
	return next;
}

/* ---- restart: adopt what exists ---------------------------------------------------- */

struct adopt_ctx {
	struct subflow_oneshot_record *recs;
	size_t n, max;
};

static int adopt_collect(const struct subflow_oneshot_record *rec, void *data)
{
	struct adopt_ctx *ac = data;

	if (ac->n < ac->max)
		ac->recs[ac->n++] = *rec;
	return 0;
}

int conns_adopt(struct daemon *d)
{
	struct subflow_oneshot_params params = { .op = SUBFLOW_ONESHOT_LIST, .token = 0 };
	struct adopt_ctx ac = { .max = MAX_ADOPT };
	size_t adopted = 0;
	int n;

	ac.recs = calloc(MAX_ADOPT, sizeof(*ac.recs));
	if (!ac.recs)
		return -ENOMEM;
	/* Every MPTCP subflow of the namespace, in one walk. */
	n = subflow_oneshot_run(&params, adopt_collect, &ac);
	if (n < 0) {
		free(ac.recs);
		return n;
	}
	for (size_t i = 0; i < ac.n; i++) {
		const struct subflow_info *info = &ac.recs[i].info;
		uint32_t token = ac.recs[i].token;
		struct conn *c = conn_find(d, token);
		struct sub *s;

		if (!c) {
			struct daemon_policy const *dp = daemon_policy_for(d, ac.recs[i].cgroup_id);

			if (!dp || (!dp->policy.nr_statements && !dp->policy.mode))
				continue;
			c = conn_new(d, token);
			if (!c)
				break;
			c->cgroup_id = ac.recs[i].cgroup_id;
			c->family = info->remote.family == SUBFLOW_AF_INET6 ? AF_INET6 : AF_INET;
			c->server_side = info->flags & SUBFLOW_F_SERVER;
			/* Under another path manager (connections opened before
			 * the switch): left alone. */
			if (subflow_pm_dump_addrs(d->pm, c->token, NULL, NULL) &&
			    strstr(subflow_pm_error(d->pm), "userspace PM not selected"))
				c->foreign = true;
			adopted++;
		}
		if (sub_find(c, c->family, info->local.addr, info->local.port, info->remote.addr,
			     info->remote.port))
			continue;
		s = sub_alloc(c);
		if (!s)
			continue;
		s->family = c->family;
		memcpy(s->laddr, info->local.addr, 16);
		memcpy(s->raddr, info->remote.addr, 16);
		s->lport = info->local.port;
		s->rport = info->remote.port;
		s->loc_id = info->local_addr_id;
		s->ifindex = info->ifindex;
		s->id = info->id;
		s->initial = info->flags & SUBFLOW_F_INITIAL;
		s->backup = info->flags & SUBFLOW_F_BACKUP_LOCAL;
		s->established = info->tcp_state == 1;
		s->pending = info->tcp_state == 2;	/* SYN_SENT: someone's open in flight */
		if (s->established)
			c->fully_established = true;
		if (s->initial || !c->rport) {
			memcpy(c->raddr, info->remote.addr, 16);
			c->rport = info->remote.port;
		}
		place_sub(d, c, s);
	}
	free(ac.recs);
	/* Connections that already have their `open` path count as opened. */
	{
		struct table *t = table_of(d);
		struct conn *c;
		size_t b;

		for_each_conn(t, b, c) {
			const struct subflow_policy *p = policy_of(d, c);

			for (unsigned int i = 0; p && i < p->nr_statements; i++)
				if (p->statements[i].kind == SUBFLOW_POLICY_STMT_OPEN &&
				    path_has_sub(c, p->statements[i].path, false))
					c->open_fired |= 1ULL << i;
			/* Announcements were made by the daemon before. */
			for (unsigned int i = 0; p && i < p->nr_statements; i++)
				if (p->statements[i].kind == SUBFLOW_POLICY_STMT_ANNOUNCE)
					c->announced |= 1ULL << i;
		}
	}
	if (adopted)
		pr_info("adopted %zu existing connection%s\n", adopted, adopted == 1 ? "" : "s");
	return 0;
}
