/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * subflowctl daemon: the userspace path manager of one network namespace.
 *
 *   main.c   setup (lock, guard against another path manager, the
 *            namespace's path manager switched to userspace and back),
 *            the event loop, signals, policy reloads
 *   host.c   links and addresses (rtnetlink), paths resolved to addresses
 *            and devices, path usability (link, address, route, probes)
 *   conn.c   the connections it manages, their subflows, and the decisions:
 *            what to open, close, flip to backup or announce, and why
 *   guard.c  lock file, state file, detection of other path managers
 *
 * Single-threaded: every input is a file descriptor in one epoll set, and
 * every timer a deadline the loop sleeps until.
 */
#ifndef SUBFLOW_DAEMON_H
#define SUBFLOW_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/types.h>
#include "internal.h"
#include "netlink.h"
#include "subflow_policy.h"

#define DAEMON_MAX_PATHS	SUBFLOW_POLICY_MAX_PATHS
#define DAEMON_MAX_SUBFLOWS	16	/* per connection, as the daemon tracks them */
#define DAEMON_MAX_POLICIES	64
#define DAEMON_BACKOFF_MIN_MS	100
#define DAEMON_BACKOFF_MAX_MS	30000
#define DAEMON_OPEN_TIMEOUT_MS	3000	/* a subflow not established by then is given up */
#define DAEMON_POLICY_POLL_MS	1000	/* policies are re-read this often (and on SIGHUP) */
#define DAEMON_BYTES_POLL_MS	100	/* `open ... after SIZE`: bytes sent read this often */

struct daemon_options {
	bool json;		/* decisions as JSON lines on stdout */
	bool verbose;
	const char *netns_name;	/* for messages: the -n argument, or NULL */
	gid_t control_gid;	/* group of the control socket */
};

uint64_t daemon_now_ms(void);

/* ---- host.c --------------------------------------------------------------------- */

/* An address of a path for one family: where a subflow on it starts. */
struct path_addr {
	uint8_t family;
	uint8_t addr[16];
	int ifindex;
};

/* Probes (ICMP echo from the path's address) to one remote address. */
struct probe {
	bool used;		/* some connection wants it (set each round) */
	int fd;
	int path;		/* index in the policy the probe was started for */
	struct path_addr from;
	uint8_t family;
	uint8_t to[16];
	uint16_t ident, seq;
	uint64_t next_send_ms, last_reply_ms, started_ms;
	uint32_t interval_ms, timeout_ms;
	bool answered;		/* a reply ever came: silence means something */
	bool silent;		/* answered before, not for timeout_ms now */
	uint64_t awaited_ms;	/* a reply at or after this is news (0: none awaited) */
};

#define DAEMON_MAX_PROBES 64

struct host {
	struct subflow_host snap;	/* links and addresses, refreshed on change */
	struct subflow_nl *rtnl_events;	/* rtnetlink changes */
	struct subflow_nl *rtnl;	/* route lookups, dumps */
	bool dirty;			/* something changed: re-read and reconcile */
	bool probes_changed;		/* a probe went silent or answers again */
	uint64_t generation;		/* bumped on every change */
	struct probe probes[DAEMON_MAX_PROBES];
};

extern int host_epoll_fd;	/* probe sockets join this epoll set */
int host_open(struct host *h);
void host_close(struct host *h);
/* Re-read links and addresses (one dump each). */
int host_refresh(struct host *h);
/* Handle what the rtnetlink socket has; sets h->dirty on changes. */
int host_on_rtnl(struct host *h);

/* The address of `path` of policy p for a connection of `family`, or false. */
bool host_path_addr(const struct host *h, const struct subflow_policy *p, int path, int family,
		    struct path_addr *out);
/* The path of p that local address addr (family) is on, or -1. */
int host_path_of(const struct host *h, const struct subflow_policy *p, int family,
		 const uint8_t *addr);

enum path_state {
	PATH_USABLE = 0,
	PATH_NO_LINK,		/* device down or no carrier */
	PATH_NO_ADDR,		/* no address of the connection's family */
	PATH_NO_ROUTE,		/* no route from it to the peer */
	PATH_SILENT,		/* probes unanswered for ack-timeout */
	PATH_STALLED,		/* data outstanding, no ACK for ack-timeout */
};
const char *path_state_name(enum path_state st);

/* Is the path usable to reach `remote` (link, address, route, probes)? */
enum path_state host_path_state(struct host *h, const struct subflow_policy *p, int path,
				int family, const uint8_t *remote, struct path_addr *addr);

/* Probes: host_probe_silent() marks the probe from `from` to `to` in use
 * for this round (starting it if needed: one echo every interval_ms) and
 * says whether it was answered before and not for timeout_ms now; probes
 * not used in a round are stopped by host_probe_sweep(). A probe's change
 * of heart sets probes_changed. */
bool host_probe_silent(struct host *h, const struct path_addr *from, int family,
		       const uint8_t *to, uint32_t timeout_ms, uint32_t interval_ms);
/* Whether the probe from `from` to `to` (started if needed, in use this
 * round) was answered at or after since_ms; if not, its next answer sets
 * probes_changed. */
bool host_probe_answered_since(struct host *h, const struct path_addr *from, int family,
			       const uint8_t *to, uint64_t since_ms);
void host_probe_begin_round(struct host *h);
void host_probe_sweep(struct host *h);
/* Send what is due; returns the next deadline (ms) or 0. */
uint64_t host_probe_tick(struct host *h, uint64_t now);
/* A probe socket is readable. */
void host_probe_on_reply(struct host *h, struct probe *pr);

/* ---- conn.c -------------------------------------------------------------------------- */

struct daemon;

int conns_init(struct daemon *d);
void conns_fini(struct daemon *d);
/* Adopt the connections that exist already (after a restart): the engine's
 * record plus the kernel's, without opening anything twice. */
int conns_adopt(struct daemon *d);
/* One mptcp_pm event. */
void conns_on_event(struct daemon *d, const struct subflow_pm_event *ev);
/* Re-decide every connection (after a host change or a reload). */
void conns_reconcile_all(struct daemon *d, const char *why);
/* Timers: act on what is due; returns the next deadline (ms), 0 if none. */
uint64_t conns_tick(struct daemon *d, uint64_t now);
/* A BPF report: subflow (token, id) retransmitted after a timeout. */
void conns_on_rto(struct daemon *d, uint32_t token, uint32_t id, uint32_t rtos, uint32_t ack_age_ms);

/* ---- policies (main.c) ---------------------------------------------------------------- */

struct daemon_policy {
	uint64_t cgroup_id;
	uint64_t generation;
	struct subflow_policy policy;
};

/* The policy in force for a cgroup (its nearest ancestor's), or NULL. */
const struct daemon_policy *daemon_policy_for(struct daemon *d, uint64_t cgroup_id);

/* A decision, logged (text or JSON) and published on the engine's event
 * ring (`subflowctl subflow monitor`). */
struct decision {
	const char *action;	/* "open", "close", "backup", "regular", "remove", "announce", ... */
	const char *reason;	/* "prefer wifi over lte: wifi usable" ... */
	uint32_t token;
	uint64_t cgroup_id;	/* of the connection, 0 when not known */
	uint32_t id;		/* subflow id, 0 when not (yet) known */
	const char *path;	/* path name, or NULL */
	struct path_addr local;
	uint8_t remote[16];
	uint16_t lport, rport;
	int result;		/* 0 or -errno of the action */
};
void daemon_decision(struct daemon *d, const struct decision *dec);

struct daemon {
	struct daemon_options opt;
	struct subflow_pm *pm;		/* commands */
	struct subflow_pm *pm_events;	/* mptcp_pm_events */
	struct subflow_nl *diag;	/* sock_diag: MPTCP connections, TCP sockets */
	struct host host;
	uint64_t netns_cookie;
	unsigned int netns_ino;

	struct daemon_policy *policies;
	size_t nr_policies;
	uint64_t policies_checked_ms;
	uint64_t cgroup_cache_gen;

	void *conns;			/* conn.c's table */
	int pmlog_fd;			/* the engine's decision logger program, or -1 */
	bool publish_failed;
	struct subflow_events *events;	/* the engine's events (RTO reports), or NULL */
	volatile int stop;
	unsigned long events_seen, events_bad, decisions, rtos_seen;
};

/* ---- control.c: the control socket for applications ------------------------------------ */

/* Serve the control socket of d's namespace (subflow_control.h), its
 * descriptors in epfd. */
int control_open(struct daemon *d, int epfd);
void control_close(struct daemon *d);
/* An epoll event of the control socket, a client or a finished request:
 * handled (true), or not the control socket's (false). */
bool control_on_epoll(struct daemon *d, void *tag, uint32_t events);
/* Each of the engine's events: to the subscribers of its connection. */
void control_on_engine_event(struct daemon *d, const struct subflow_event *ev);
/* The control socket's path, NULL when none is served. */
const char *control_path(void);

/* ---- guard.c --------------------------------------------------------------------------- */

/* The pid of another process subscribed to mptcp_pm events in this
 * namespace (a path manager such as mptcpd), its name in comm; 0 if none. */
int guard_find_other_pm(uint32_t events_group, char *comm, size_t size);
/* Take the namespace's daemon lock (/run/subflow/daemon-COOKIE.lock);
 * -EBUSY with the holder's pid in *holder when another daemon has it. */
int guard_lock(uint64_t netns_cookie, pid_t *holder);
void guard_unlock(void);
/* The pid of the daemon running for that namespace, or 0. */
pid_t guard_daemon_pid(uint64_t netns_cookie);
/* SIGHUP every running daemon (after a policy change); how many. */
int guard_notify_daemons(void);
/* Switch net.mptcp.path_manager to "userspace", remembering the previous
 * value in the state file (kept across a crash, so that the value restored
 * at the end is the one before the first daemon). */
int guard_switch_pm(uint64_t netns_cookie, char *previous, size_t size);
int guard_restore_pm(uint64_t netns_cookie);

int daemon_run(const struct daemon_options *opt);

#endif
