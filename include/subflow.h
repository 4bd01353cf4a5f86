/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libsubflow: the public C API of the subflow engine.
 *
 * Two kinds of calls:
 * - On the application's own MPTCP socket (subflow_get_ids, _get_tuple,
 *   _get_tuples, _conn_of_fd): answered by the kernel itself
 *   (getsockopt MPTCP_FULL_INFO, Linux 6.5+), in one system call, for any
 *   user, whether the engine is loaded or not, and inside `ip netns exec`
 *   (which hides the engine's pins). Only on kernels without MPTCP_FULL_INFO
 *   do they read the engine's maps (and then need its privileges).
 * - By (network namespace, token), for tools that do not own the socket,
 *   and everything else: the engine's state, in BPF maps pinned under one
 *   bpffs directory (default /sys/fs/bpf/subflow, or $SUBFLOW_PIN_DIR, or
 *   the directory given to subflow_set_pin_dir()). Any process with CAP_BPF
 *   (root) can query it; the process that loaded the engine may exit.
 *
 * Error convention (libbpf 1.x): int functions return 0 on success or a
 * negative errno; functions that return a pointer return NULL and set errno.
 * Frequent errors:
 *   -ENOENT      the engine is not loaded (no pins in the pin directory)
 *   -ESRCH       no such connection (token) or subflow (id) is tracked
 *   -EOPNOTSUPP  fd is not an MPTCP socket (or fell back to plain TCP)
 *   -EPERM       not privileged enough to open the pinned maps
 *
 * Without privileges: the calls that change a connection given by its
 * socket (subflow_open, _close, _set_backup, _setsockopt_fd,
 * _getsockopt_fd, _events_open_fd) also work for a process that cannot
 * reach the engine's pins (not root, or under `ip netns exec`): the library
 * then passes the socket itself (SCM_RIGHTS) to `subflowctl daemon` of the
 * socket's network namespace, over its control socket
 * (/run/subflow/control.sock in the host's namespace, else
 * /run/subflow/control-NETNS_COOKIE.sock; mode 0660, the daemon's
 * control-group), and the daemon acts on that connection only: possession
 * of the socket is the proof of ownership. Calls by token stay root's. The
 * same signatures and errors, and:
 *   -EHOSTDOWN   the daemon of the socket's namespace is not running
 *   -EACCES      the caller may not use its control socket (not in the group)
 *   -EXDEV       the socket is in a namespace that daemon does not manage
 *   -EPERM       a call by token from a process that is not root
 *   -EOPNOTSUPP  not an MPTCP socket, or one that fell back to TCP (the
 *                message says which)
 *   -EAGAIN      the daemon is at its limit of clients for this user
 * The daemon's explanation goes to the print callback, as the library's own.
 */
#ifndef SUBFLOW_H
#define SUBFLOW_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdbool.h>
#include "subflow_abi.h"
#include "subflow_oneshot.h"

#ifndef SUBFLOW_API
/* libsubflow.so is built with -fvisibility=hidden: only what is marked
 * SUBFLOW_API (and listed in loader/lib/libsubflow.map) is exported. */
#define SUBFLOW_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SUBFLOW_DEFAULT_PIN_DIR "/sys/fs/bpf/subflow"
#define SUBFLOW_PIN_DIR_ENV "SUBFLOW_PIN_DIR"

/* ---- Messages ------------------------------------------------------------
 *
 * The library explains its errors in words (which pin, which file:line:col,
 * which kernel feature); by default errors and warnings go to stderr. As with
 * libbpf_set_print(), a program decides where they go: subflow_set_print()
 * installs fn (NULL: print nothing) and returns the previous callback. The
 * library never calls libbpf_set_print(): libbpf's own messages are yours.
 */
enum subflow_print_level {
	SUBFLOW_PRINT_ERROR,
	SUBFLOW_PRINT_WARN,
	SUBFLOW_PRINT_INFO,
	SUBFLOW_PRINT_DEBUG,
};
typedef int (*subflow_print_fn_t)(enum subflow_print_level level, const char *fmt, va_list ap);
SUBFLOW_API subflow_print_fn_t subflow_set_print(subflow_print_fn_t fn);

/* ---- Choosing the engine instance ------------------------------------- */

/* Use pin directory `dir` (NULL: $SUBFLOW_PIN_DIR, else the default) for
 * every later call of this process. Closes maps opened from another one. */
SUBFLOW_API int subflow_set_pin_dir(const char *dir);

/* The pin directory in use (never NULL). */
SUBFLOW_API const char *subflow_pin_dir(void);

/* ---- GET_SUB_IDS / GET_SUB_TUPLE on the application's own socket ------- */

/* The subflow ids of the MPTCP connection behind socket `fd`, ascending.
 * On success *count is the number of subflows the connection has; at most
 * `max` of them are written to ids (max may be 0 to ask for the count).
 * Equivalent of MPTCP_GET_SUB_IDS. The kernel's own list (MPTCP_FULL_INFO)
 * less a first subflow it keeps after that one closed: every connected
 * subflow, from its SYN until the kernel lets it go. */
SUBFLOW_API int subflow_get_ids(int fd, uint32_t *ids, size_t max, size_t *count);

/* The local and remote address of subflow `id` of the connection behind
 * socket `fd`, as struct sockaddr_in or sockaddr_in6 (ports in network
 * order, as bind()/connect() use them). Equivalent of MPTCP_GET_SUB_TUPLE.
 * -ESRCH: the connection has no subflow `id`. */
SUBFLOW_API int subflow_get_tuple(int fd, uint32_t id, struct sockaddr_storage *local,
		      struct sockaddr_storage *remote);

/* Both at once, in the same one system call: every subflow's id and
 * addresses, ascending by id; *count and max as for subflow_get_ids. */
struct subflow_tuple {
	uint32_t id;
	uint32_t pad;
	struct sockaddr_storage local;
	struct sockaddr_storage remote;
};
SUBFLOW_API int subflow_get_tuples(int fd, struct subflow_tuple *tuples, size_t max, size_t *count);

/* The key of the connection behind `fd`: its network namespace cookie
 * (SO_NETNS_COOKIE) and its local MPTCP token (MPTCP_INFO). */
SUBFLOW_API int subflow_conn_of_fd(int fd, uint64_t *netns_cookie, uint32_t *token);

/* ---- The same, by (network namespace, token), for tools ---------------- */

/* netns_cookie: the namespace's SO_NETNS_COOKIE; 0 means the caller's own. */
SUBFLOW_API int subflow_get_ids_by_token(uint64_t netns_cookie, uint32_t token, uint32_t *ids,
			     size_t max, size_t *count);
SUBFLOW_API int subflow_get_tuple_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
			       struct sockaddr_storage *local,
			       struct sockaddr_storage *remote);
/* Every subflow's id and addresses, ascending by id, from one read of the
 * connection's entry (more for a connection with more subflows than its
 * entry holds inline, SUBFLOW_CONN_INLINE: those are found by a walk of
 * subflow_overflow). */
SUBFLOW_API int subflow_get_tuples_by_token(uint64_t netns_cookie, uint32_t token,
				struct subflow_tuple *tuples, size_t max, size_t *count);

/* A tracked connection (the header of its "conns" entry). */
struct subflow_conn_info {
	uint64_t netns_cookie;
	uint64_t created_ns;	/* CLOCK_BOOTTIME, when the engine saw its first subflow */
	uint64_t cgroup_id;	/* of the socket that created it: whose policy applies */
	uint32_t token;
	uint32_t netns_ino;	/* inode of the namespace (`ls -l /proc/PID/ns/net`) */
	uint32_t flags;		/* SUBFLOW_CONN_F_* */
	uint32_t nr_subflows;	/* live subflows */
};

/* Everything the engine knows of one connection or one subflow. */
SUBFLOW_API int subflow_get_conn_info(uint64_t netns_cookie, uint32_t token,
			  struct subflow_conn_info *conn);
SUBFLOW_API int subflow_get_info(uint64_t netns_cookie, uint32_t token, uint32_t id,
		     struct subflow_info *info);

/* Call `cb` once per tracked connection (netns_cookie 0: the caller's
 * namespace; SUBFLOW_ALL_NETNS: every namespace), with its subflows sorted by
 * id. A non-zero return from cb stops the walk and is returned. */
#define SUBFLOW_ALL_NETNS UINT64_MAX
typedef int (*subflow_conn_cb)(const struct subflow_conn_info *conn,
			       const struct subflow_info *subflows, size_t nr_subflows,
			       void *ctx);
SUBFLOW_API int subflow_foreach_conn(uint64_t netns_cookie, subflow_conn_cb cb, void *ctx);

/* The caller's network namespace cookie (SO_NETNS_COOKIE). */
SUBFLOW_API int subflow_current_netns(uint64_t *netns_cookie);

/* Convert an endpoint from the map ABI to a sockaddr (ports to network order). */
SUBFLOW_API void subflow_endpoint_to_sockaddr(const struct subflow_endpoint *ep,
				  struct sockaddr_storage *ss);

/* ---- Events ----------------------------------------------------------------
 *
 * Subflow up / established / down as they happen, for any number of readers
 * at once (up to SUBFLOW_EVENT_READERS: `subflowctl subflow monitor`s, the
 * path-manager daemon, your tool). Each reader gets every event in a ring
 * buffer of its own, from the moment it opened until it closes; the engine
 * writes nothing while no reader is open. Records: struct subflow_event
 * (include/subflow_abi.h); skip types you do not know, later versions add
 * some. Needs the engine loaded, and root.
 */
struct subflow_events;
/* Called for each event: return 0 to go on; a negative value stops
 * subflow_events_poll(), which returns it (as libbpf's ring buffer does). */
typedef int (*subflow_event_cb)(const struct subflow_event *event, void *ctx);

/* Start reading: create this reader's ring and claim a slot for it (-EBUSY
 * when every slot is held by a live reader). NULL with errno on failure. */
SUBFLOW_API struct subflow_events *subflow_events_open(subflow_event_cb cb, void *ctx);

/* A file descriptor that polls readable when events wait (for epoll). */
SUBFLOW_API int subflow_events_fd(const struct subflow_events *events);

/* Deliver the waiting events to cb, waiting up to timeout_ms (0: do not
 * wait, -1: forever) for the first. Returns how many were delivered (0 or
 * more), or cb's negative return, or -errno. Also renews the reader's lease: call it
 * at least once a second (a timeout of at most 1000 ms does), or the engine
 * stops writing after SUBFLOW_EVENT_LEASE_NS. */
SUBFLOW_API int subflow_events_poll(struct subflow_events *events, int timeout_ms);

/* Events the engine could not write because this reader's ring was full. */
SUBFLOW_API uint64_t subflow_events_lost(const struct subflow_events *events);

/* Release the slot and the ring. NULL is fine. */
SUBFLOW_API void subflow_events_close(struct subflow_events *events);

/* Only the events of the connection behind the application's socket `fd`,
 * while it lives: after the DOWN of its last subflow (conn_flags with
 * SUBFLOW_CONN_F_CLOSED) nothing more is delivered. The engine must track
 * the connection (its cgroup attached), else -ESRCH. Without the pins (not
 * root), through the daemon: the same records, one message each on a
 * socket that subflow_events_fd() returns; subflow_events_lost() counts
 * those the daemon could not send (the application did not read them in
 * time); a daemon's decision (SUBFLOW_EVENT_PM_DECISION) comes without its
 * text (size is sizeof(struct subflow_event)). Poll, lost and close as above. */
SUBFLOW_API struct subflow_events *subflow_events_open_fd(int fd, subflow_event_cb cb, void *ctx);

/* ---- Engine lifecycle --------------------------------------------------- */

/* Load the engine into the pin directory unless it is loaded already: maps,
 * programs, pins. Idempotent. */
SUBFLOW_API int subflow_engine_load(void);

/* The capacity of the connection table that the next load creates:
 * max_conns connections (default SUBFLOW_DEFAULT_MAX_CONNS, or
 * $SUBFLOW_MAX_CONNS), their first SUBFLOW_CONN_INLINE subflows each, and
 * max_conns / 4 more subflows beyond those. Memory grows with what is
 * tracked, up to that. -EINVAL for 0 or more than 2^24. A loaded engine
 * keeps its size until unloaded. */
SUBFLOW_API int subflow_set_max_conns(uint32_t max_conns);

/* Attach the engine to the cgroup v2 directory `cgroup_path` (loading it
 * first if needed), pin the link, and snapshot the MPTCP subflows that the
 * cgroup's processes already have. -EEXIST if attached there already, or
 * to an ancestor or a descendant of it (attachments do not nest: a cgroup
 * below an attached one is covered, and may have its own policy). */
SUBFLOW_API int subflow_cgroup_attach(const char *cgroup_path);

/* Detach from `cgroup_path` and forget the subflows only that attachment
 * tracked. -ENOENT if not attached there. */
SUBFLOW_API int subflow_cgroup_detach(const char *cgroup_path);

struct subflow_attachment {
	uint64_t cgroup_id;
	uint32_t link_id;
	uint32_t prog_id;
	char     path[4096];	/* cgroup directory, "" if it no longer exists */
};

/* List the cgroups the engine is attached to. *count is the total; at most
 * max are written. The total can exceed max when cgroups were attached
 * since the caller counted them: read no more than min(*count, max). */
SUBFLOW_API int subflow_cgroup_list(struct subflow_attachment *out, size_t max, size_t *count);

/* Reap what removed cgroups left: the attachment of a cgroup that no longer
 * exists (its links detached, its pins, its attached_cgroups entry), the
 * policy of any removed cgroup, and the tracked entries of removed cgroups.
 * A container runtime removes cgroups without telling us: call this from
 * time to time (subflowctl does before every command). The ids of the
 * removed cgroups reaped go to ids (at most max; ids may be NULL with max
 * 0), their number to *count. Waits for the lock like a change. */
SUBFLOW_API int subflow_cgroup_prune(uint64_t *ids, size_t max, size_t *count);

/* Detach everywhere and remove every program, link, map and pin the engine
 * created, and its pin directory. -ENOENT if nothing was loaded. */
SUBFLOW_API int subflow_engine_unload(void);

/* Counters of the engine (enum subflow_stat), summed over CPUs. */
SUBFLOW_API int subflow_get_stats(uint64_t stats[SUBFLOW_STAT_MAX]);

/* ---- SUB_GETSOCKOPT / SUB_SETSOCKOPT on one subflow ---------------------- */

/* Socket options of one subflow (draft-hesmans-mptcp-socket), acting on the
 * subflow's own TCP socket, so that one path can differ from the others.
 * These need no loaded engine: each call loads a short-lived iter/tcp
 * program, runs it once and releases it; nothing is left behind. The names
 * (subflow_sockopt_name) are the policy language's action names. */
enum subflow_sockopt {
	SUBFLOW_SOCKOPT_MARK = 1,	/* "mark": SO_MARK */
	SUBFLOW_SOCKOPT_PRIORITY,	/* "priority": SO_PRIORITY */
	SUBFLOW_SOCKOPT_PACING,		/* "pacing": SO_MAX_PACING_RATE, bytes per second */
	SUBFLOW_SOCKOPT_TOS,		/* "tos": IP_TOS (IPv4 subflow), IPV6_TCLASS (IPv6) */
	SUBFLOW_SOCKOPT_CC,		/* "cc": TCP_CONGESTION */
	SUBFLOW_SOCKOPT_USER_TIMEOUT,	/* "user-timeout": TCP_USER_TIMEOUT, ms; 0 = default */
	SUBFLOW_SOCKOPT_NODELAY,	/* "nodelay": TCP_NODELAY, 0 or 1 */
	SUBFLOW_SOCKOPT_KEEPALIVE,	/* "keepalive": SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT */
	SUBFLOW_SOCKOPT_MAX,
};

/* pacing: no limit (the kernel's ~0UL). Reading is exact (64 bits), but
 * bpf_setsockopt() takes the rate as an int, as a 4-byte setsockopt(2) does:
 * a limit set here must be below 4294967295 bytes per second (~34 Gbit/s). */
#define SUBFLOW_PACING_UNLIMITED UINT64_MAX
#define SUBFLOW_PACING_MAX (UINT32_MAX - 1ULL)

struct subflow_sockopt_value {
	/* mark, priority, tos, pacing (bytes/s or SUBFLOW_PACING_UNLIMITED),
	 * user timeout (ms), nodelay (0/1), keepalive (0 off, 1 on). */
	uint64_t value;
	char	 cc[16];		/* SUBFLOW_SOCKOPT_CC, NUL-terminated */
	/* SUBFLOW_SOCKOPT_KEEPALIVE: the values in force (the namespace's
	 * sysctls unless the socket set its own); all three are set together
	 * when value is 1, ignored when it is 0 (keepalive turned off). */
	uint32_t keepalive_idle_s;
	uint32_t keepalive_intvl_s;
	uint32_t keepalive_count;
};

/* Read option `opt` of subflow `id` of connection `token` (the local token)
 * in the caller's network namespace. -ESRCH: no such subflow; -EOPNOTSUPP:
 * the kernel does not offer this option on that subflow. */
SUBFLOW_API int subflow_getsockopt(uint32_t token, uint32_t id, enum subflow_sockopt opt,
		       struct subflow_sockopt_value *out);

/* Set it (keepalive: all four settings at once). subflow_getsockopt() then
 * tells what the kernel holds. -ESRCH as above; -EOPNOTSUPP: the kernel does
 * not offer this option on that subflow; -ENOENT: no such congestion control;
 * -EINVAL / -ERANGE / -EPERM: the kernel refused the value. */
SUBFLOW_API int subflow_setsockopt(uint32_t token, uint32_t id, enum subflow_sockopt opt,
		       const struct subflow_sockopt_value *in);

/* The same on subflow `id` of the connection behind the application's
 * socket `fd` (MPTCP_INFO gives the token; the socket must be in the
 * caller's namespace, else -EXDEV); without privileges, through the daemon. */
SUBFLOW_API int subflow_getsockopt_fd(int fd, uint32_t id, enum subflow_sockopt opt,
				      struct subflow_sockopt_value *out);
SUBFLOW_API int subflow_setsockopt_fd(int fd, uint32_t id, enum subflow_sockopt opt,
				      const struct subflow_sockopt_value *in);

/* "mark", "priority", "pacing", "tos", "cc", "user-timeout", "nodelay",
 * "keepalive"; NULL for an unknown value. */
SUBFLOW_API const char *subflow_sockopt_name(enum subflow_sockopt opt);

/* The option named `name` (exactly, or a unique prefix); -EINVAL if none. */
SUBFLOW_API int subflow_sockopt_parse_name(const char *name, enum subflow_sockopt *opt);

/* Parse the value words of `opt` as the policy language writes them:
 * mark 0x20, priority 3, tos 0x10, pacing 2mbit (or "unlimited"), cc reno,
 * user-timeout 500ms, nodelay on|off, keepalive IDLE INTVL COUNT (or "off").
 * On error returns -EINVAL or -ERANGE and, when err is not NULL, a message. */
SUBFLOW_API int subflow_sockopt_parse_value(enum subflow_sockopt opt, char *const *words, size_t nr_words,
				struct subflow_sockopt_value *out, char *err, size_t err_size);

/* The value as text: "0x20", "reno", "250000 B/s (2mbit)", "500ms",
 * "on idle 10s intvl 2s count 3", "off". Always NUL-terminated. */
SUBFLOW_API void subflow_sockopt_format_value(enum subflow_sockopt opt, const struct subflow_sockopt_value *v,
				  char *buf, size_t size);

/* ---- Path management on one connection ------------------------------------
 *
 * OPEN_SUB_TUPLE, CLOSE_SUB_ID, the backup priority and the TCP state of one
 * subflow (draft-hesmans-mptcp-socket), on the application's socket `fd` or
 * by (network namespace cookie, token) for tools; a cookie of 0 means the
 * caller's namespace. By token in another namespace, the operation runs
 * there (in a short-lived thread; the caller's thread stays where it is):
 * the engine must track the connection, which tells its namespace. By fd,
 * the caller must be in the socket's namespace. They need no loaded engine
 * otherwise. Errors, besides those at
 * the top of this file:
 *   -ESRCH            no such connection in that namespace, or no such subflow
 *   -EPROTONOSUPPORT  open, set_backup: the connection is not under the
 *                     userspace path manager (net.mptcp.path_manager must be
 *                     "userspace" when it is created; `subflowctl daemon`)
 *   -EADDRNOTAVAIL    open: the local address is not one of this host's
 *   -ECONNREFUSED     open: the peer refused the subflow (RST, MP_JOIN refused)
 *   -ETIMEDOUT        open: not established within the timeout
 *                     (subflow_set_open_timeout); nothing is left behind
 *   -EBUSY            close: it is the connection's only live subflow
 *   -EXDEV            by fd: the socket is in another namespace than the caller
 *   -ENOENT           by token: the connection's namespace is not tracked, or
 *                     no process or /run/netns name holds it any more
 */
#define SUBFLOW_OPEN_BACKUP	(1U << 0)	/* open it with backup priority (MP_JOIN B bit) */

/* Open a subflow from `local` (port 0: any) to `remote` (port 0: the
 * connection's own remote port) through the userspace path manager, with a
 * local address id chosen as the kernel's rules require; wait until it is
 * established and put its subflow id in *id (may be NULL). */
SUBFLOW_API int subflow_open(int fd, const struct sockaddr *local, const struct sockaddr *remote,
		 unsigned int flags, uint32_t *id);
SUBFLOW_API int subflow_open_by_token(uint64_t netns_cookie, uint32_t token,
			  const struct sockaddr *local, const struct sockaddr *remote,
			  unsigned int flags, uint32_t *id);

/* How long subflow_open waits for the handshake; default 5000 ms. */
SUBFLOW_API void subflow_set_open_timeout(unsigned int ms);

/* Close subflow `id` in the kernel (bpf_sock_destroy: the subflow is reset),
 * under either path manager. The connection goes on over its other
 * subflows; MPTCP sends again what the closed one had not delivered. */
SUBFLOW_API int subflow_close(int fd, uint32_t id);
SUBFLOW_API int subflow_close_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id);

/* Ask the peer to treat subflow `id` as backup (or not): MP_PRIO, through
 * the userspace path manager's SET_FLAGS. */
SUBFLOW_API int subflow_set_backup(int fd, uint32_t id, bool backup);
SUBFLOW_API int subflow_set_backup_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
				bool backup);

/* The TCP state and counters of subflow `id` (struct subflow_tcp_info in
 * subflow_oneshot.h: RTT, cwnd, ssthresh, bytes sent/acked/received,
 * retransmissions, pacing rate ...): SUB_GETSOCKOPT of TCP_INFO. */
SUBFLOW_API int subflow_get_tcp_info(int fd, uint32_t id, struct subflow_tcp_info *info);
SUBFLOW_API int subflow_get_tcp_info_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
				  struct subflow_tcp_info *info);

/* ---- Policies ------------------------------------------------------------
 *
 * A policy (the language: subflow_policy.h) is compiled for the caller's
 * network namespace (`dev` selectors resolved to ifindexes and the device's
 * addresses, each path given the host addresses on it) and written into a
 * free slot of the policy maps; one update of cgroup_policy then swaps it in.
 * Every call below is all or nothing: on any error the cgroup keeps the
 * policy it had, and nothing visible changed.
 *
 * The cgroup must be attached (subflow_cgroup_attach), else -ENOENT. A policy
 * that does not parse or compile gives -EINVAL, with every error in errs
 * ("FILE:LINE:COL: error: ..."), when errs is not NULL; zero it before first
 * use and release it with subflow_policy_errors_free() (subflow_policy.h).
 * -ENOSPC: every one of the SUBFLOW_POLICY_SLOTS slots is in use.
 */
struct subflow_policy_errors;

/* Load the policy in `file` for the cgroup v2 directory `cgroup_path`,
 * replacing its policy if it had one. */
SUBFLOW_API int subflow_policy_load_file(const char *cgroup_path, const char *file,
			     struct subflow_policy_errors *errs);

/* The same for the policy text[0..len); `name` names it in messages. */
SUBFLOW_API int subflow_policy_load_text(const char *cgroup_path, const char *text, size_t len,
			     const char *name, struct subflow_policy_errors *errs);

/* Remove the cgroup's policy; its subflows are then admitted and left as
 * they are. -ENOENT if it had none. Detaching the cgroup removes it too. */
SUBFLOW_API int subflow_policy_unload(const char *cgroup_path);

/* One-rule edits, for orchestrators: rule `index` (0-based, in the order
 * `subflowctl policy show` lists them) of the cgroup's policy is replaced by,
 * or the rule is inserted before it as, the rule in rule_text: one line of
 * the policy language, with or without the word `rule` ("path lte deny").
 * Errors in rule_text are reported as "rule:1:COL: error: ...", COL counted
 * in rule_text. insert appends with index == number of rules, or with
 * index SUBFLOW_POLICY_APPEND. The edited policy goes into a new slot and is
 * swapped in like a load: atomic too. -ERANGE: no such rule; -ENOSPC on
 * insert: the policy is full. */
#define SUBFLOW_POLICY_APPEND (~0U)
SUBFLOW_API int subflow_policy_set_rule(const char *cgroup_path, unsigned int index,
			    const char *rule_text, struct subflow_policy_errors *errs);
SUBFLOW_API int subflow_policy_insert_rule(const char *cgroup_path, unsigned int index,
			       const char *rule_text, struct subflow_policy_errors *errs);
SUBFLOW_API int subflow_policy_delete_rule(const char *cgroup_path, unsigned int index);

#ifndef __cplusplus
_Static_assert(sizeof(struct subflow_conn_info) == 40, "subflow_conn_info layout");
_Static_assert(sizeof(struct subflow_tuple) == 264, "subflow_tuple layout");
#endif

#ifdef __cplusplus
}
#endif
#endif /* SUBFLOW_H */
