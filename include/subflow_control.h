/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The control socket of `subflowctl daemon`: its wire protocol.
 *
 * libsubflow speaks it by itself (an application never needs this header):
 * when the caller cannot reach the engine's pins (not root, or under `ip
 * netns exec`), the calls that change a connection (subflow_open, _close,
 * _set_backup, _setsockopt_fd, _getsockopt_fd, _events_open_fd) pass the
 * application's socket to the daemon of the socket's network namespace,
 * which acts on that connection, and on no other.
 *
 * Where: one daemon per network namespace, so one socket each, in
 * SUBFLOW_CONTROL_DIR (root's, mode 0711: reachable, not listable):
 *   control.sock                   the daemon of the host's namespace (PID 1's)
 *   control-<NETNS_COOKIE>.sock     the daemon of any other namespace, named by
 *                                  the namespace's SO_NETNS_COOKIE, which any
 *                                  process reads from any socket it has
 * Mode 0660, owner root, group the daemon's `control-group` (default root's):
 * who may connect is who may write the file.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET, one request per message, one response
 * per request, in order. A request that acts on the caller's connection
 * carries the connection's socket as SCM_RIGHTS (exactly one descriptor);
 * the daemon never takes a descriptor number, a token or a namespace from
 * the request for it: it checks the socket it received (an MPTCP socket, not
 * fallen back to TCP, in the daemon's own namespace: SO_PROTOCOL, MPTCP_INFO,
 * SO_NETNS_COOKIE) and derives the connection's key from it. Requests by
 * token (SUBFLOW_CONTROL_F_BY_TOKEN, no descriptor) are served to root peers
 * only (SO_PEERCRED). SUBFLOW_CONTROL_SUBSCRIBE turns its connection into a
 * stream of SUBFLOW_CONTROL_EVENT responses about the subscribed connection;
 * that connection takes no other request.
 *
 * Every field is checked: magic, version, size (the message's and the size
 * field), op, flags, every field the op does not use must be 0, reserved
 * bytes 0. A bad request gets an error response (-EPROTO or -EINVAL, with a
 * message) and changes nothing. Layouts are fixed (explicit padding, sizes
 * asserted below); integers are in the host's byte order (a Unix socket
 * never leaves the host).
 */
#ifndef SUBFLOW_CONTROL_H
#define SUBFLOW_CONTROL_H

#include <linux/types.h>
#include "subflow_abi.h"

#define SUBFLOW_CONTROL_DIR		"/run/subflow"
#define SUBFLOW_CONTROL_HOST_SOCK	SUBFLOW_CONTROL_DIR "/control.sock"
/* printf format of a namespace's socket, with its cookie (unsigned long long) */
#define SUBFLOW_CONTROL_NETNS_SOCK	SUBFLOW_CONTROL_DIR "/control-%llu.sock"

#define SUBFLOW_CONTROL_MAGIC		0x53464354U	/* "SFCT" */
#define SUBFLOW_CONTROL_VERSION		1

enum subflow_control_op {
	SUBFLOW_CONTROL_OPEN = 1,	/* local, remote, open_flags, timeout_ms -> id */
	SUBFLOW_CONTROL_CLOSE = 2,	/* id */
	SUBFLOW_CONTROL_SET_BACKUP = 3,	/* id, backup */
	SUBFLOW_CONTROL_SETSOCKOPT = 4,	/* id, option, value */
	SUBFLOW_CONTROL_GETSOCKOPT = 5,	/* id, option -> value */
	SUBFLOW_CONTROL_SUBSCRIBE = 6,	/* -> then one EVENT response per event */
	SUBFLOW_CONTROL_STATUS = 7,	/* no socket -> status */
	SUBFLOW_CONTROL_OP_MAX,
	SUBFLOW_CONTROL_EVENT = 64,	/* responses only: an event of the subscription */
};

/* request.flags */
#define SUBFLOW_CONTROL_F_BY_TOKEN	(1U << 0)	/* netns_cookie + token, no socket: root only */

/* Longest open the daemon waits for (timeout_ms); 0 asks for its default. */
#define SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS 30000

/* struct subflow_sockopt_value (subflow.h), on the wire. */
struct subflow_control_sockopt {
	__u64 value;
	char  cc[16];			/* NUL-terminated */
	__u32 keepalive_idle_s;
	__u32 keepalive_intvl_s;
	__u32 keepalive_count;
	__u32 pad;			/* 0 */
};

struct subflow_control_request {
	__u32 magic;			/* SUBFLOW_CONTROL_MAGIC */
	__u16 version;			/* SUBFLOW_CONTROL_VERSION */
	__u16 size;			/* sizeof(struct subflow_control_request) */
	__u32 op;			/* enum subflow_control_op */
	__u32 flags;			/* SUBFLOW_CONTROL_F_* */
	__u64 seq;			/* the client's; echoed in the response */
	__u64 netns_cookie;		/* BY_TOKEN: 0 or the daemon's namespace; else 0 */
	__u32 token;			/* BY_TOKEN: the local token; else 0 */
	__u32 id;			/* CLOSE, SET_BACKUP, *SOCKOPT: the subflow id */
	__u32 option;			/* *SOCKOPT: enum subflow_sockopt */
	__u32 backup;			/* SET_BACKUP: 0 or 1 */
	__u32 open_flags;		/* OPEN: SUBFLOW_OPEN_BACKUP */
	__u32 timeout_ms;		/* OPEN: 0 (default) .. SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS */
	struct subflow_endpoint local;	/* OPEN: port 0 = any */
	struct subflow_endpoint remote;	/* OPEN: port 0 = the connection's */
	struct subflow_control_sockopt value;	/* SETSOCKOPT */
	__u8  reserved[24];		/* 0 */
};

/* The daemon's control socket, as STATUS reports it. */
struct subflow_control_status {
	__u64 netns_cookie;		/* the namespace the daemon manages */
	__u32 pid;			/* the daemon's */
	__u32 clients;			/* connected now, subscriptions included */
	__u32 subscriptions;
	__u32 jobs;			/* requests being carried out now */
	__u64 requests;			/* served since start */
	__u64 refused;			/* bad or not allowed */
	__u64 limited;			/* clients turned away by a limit */
	__u32 gid;			/* group of the socket file */
	__u32 mode;			/* its permission bits */
};

struct subflow_control_response {
	__u32 magic;			/* SUBFLOW_CONTROL_MAGIC */
	__u16 version;			/* SUBFLOW_CONTROL_VERSION */
	__u16 size;			/* sizeof(struct subflow_control_response) */
	__u32 op;			/* the request's, or SUBFLOW_CONTROL_EVENT */
	__s32 error;			/* 0 or -errno */
	__u64 seq;			/* the request's (EVENT: 0) */
	__u32 id;			/* OPEN: the new subflow's id */
	__u32 pad;
	__u64 events_lost;		/* EVENT: events of the subscription not sent so far */
	struct subflow_control_sockopt value;	/* GETSOCKOPT */
	struct subflow_control_status status;	/* STATUS */
	struct subflow_event event;	/* EVENT */
	char  message[160];		/* error: why, NUL-terminated ("" when none) */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct subflow_control_sockopt) == 40, "subflow_control_sockopt layout");
_Static_assert(sizeof(struct subflow_control_request) == 160, "subflow_control_request layout");
_Static_assert(sizeof(struct subflow_control_status) == 56, "subflow_control_status layout");
_Static_assert(sizeof(struct subflow_control_response) == 424, "subflow_control_response layout");
#endif

#endif /* SUBFLOW_CONTROL_H */
