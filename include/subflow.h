/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libsubflow: the public C API of the subflow engine.
 *
 * The engine's state lives in BPF maps pinned under one bpffs directory
 * (default /sys/fs/bpf/subflow, or $SUBFLOW_PIN_DIR, or the directory given
 * to subflow_set_pin_dir()). Any process with CAP_BPF (root) can query it;
 * the process that loaded the engine may exit.
 *
 * Error convention (libbpf 1.x): int functions return 0 on success or a
 * negative errno. Frequent errors:
 *   -ENOENT      the engine is not loaded (no pins in the pin directory)
 *   -ESRCH       no such connection (token) or subflow (id) is tracked
 *   -EOPNOTSUPP  fd is not an MPTCP socket (or fell back to plain TCP)
 *   -EPERM       not privileged enough to open the pinned maps
 */
#ifndef SUBFLOW_H
#define SUBFLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "subflow_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SUBFLOW_DEFAULT_PIN_DIR "/sys/fs/bpf/subflow"
#define SUBFLOW_PIN_DIR_ENV "SUBFLOW_PIN_DIR"

/* ---- Choosing the engine instance ------------------------------------- */

/* Use pin directory `dir` (NULL: $SUBFLOW_PIN_DIR, else the default) for
 * every later call of this process. Closes maps opened from another one. */
int subflow_set_pin_dir(const char *dir);

/* The pin directory in use (never NULL). */
const char *subflow_pin_dir(void);

/* ---- GET_SUB_IDS / GET_SUB_TUPLE on the application's own socket ------- */

/* The subflow ids of the MPTCP connection behind socket `fd`, ascending.
 * On success *count is the number of live subflows the connection has; at
 * most `max` of them are written to ids (max may be 0 to ask for the count).
 * Equivalent of MPTCP_GET_SUB_IDS. */
int subflow_get_ids(int fd, uint32_t *ids, size_t max, size_t *count);

/* The local and remote address of subflow `id` of the connection behind
 * socket `fd`, as struct sockaddr_in or sockaddr_in6 (ports in network
 * order, as bind()/connect() use them). Equivalent of MPTCP_GET_SUB_TUPLE. */
int subflow_get_tuple(int fd, uint32_t id, struct sockaddr_storage *local,
		      struct sockaddr_storage *remote);

/* The key of the connection behind `fd`: its network namespace cookie
 * (SO_NETNS_COOKIE) and its local MPTCP token. */
int subflow_conn_of_fd(int fd, uint64_t *netns_cookie, uint32_t *token);

/* ---- The same, by (network namespace, token), for tools ---------------- */

/* netns_cookie: the namespace's SO_NETNS_COOKIE; 0 means the caller's own. */
int subflow_get_ids_by_token(uint64_t netns_cookie, uint32_t token, uint32_t *ids,
			     size_t max, size_t *count);
int subflow_get_tuple_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
			       struct sockaddr_storage *local,
			       struct sockaddr_storage *remote);

/* Everything the engine knows of one connection or one subflow. */
int subflow_get_conn_info(uint64_t netns_cookie, uint32_t token,
			  struct subflow_conn_info *conn);
int subflow_get_info(uint64_t netns_cookie, uint32_t token, uint32_t id,
		     struct subflow_info *info);

/* Call `cb` once per tracked connection (netns_cookie 0: the caller's
 * namespace; SUBFLOW_ALL_NETNS: every namespace), with its subflows sorted by
 * id. A non-zero return from cb stops the walk and is returned. */
#define SUBFLOW_ALL_NETNS UINT64_MAX
typedef int (*subflow_conn_cb)(const struct subflow_conn_info *conn,
			       const struct subflow_info *subflows, size_t nr_subflows,
			       void *ctx);
int subflow_foreach_conn(uint64_t netns_cookie, subflow_conn_cb cb, void *ctx);

/* The caller's network namespace cookie (SO_NETNS_COOKIE). */
int subflow_current_netns(uint64_t *netns_cookie);

/* Convert an endpoint from the map ABI to a sockaddr (ports to network order). */
void subflow_endpoint_to_sockaddr(const struct subflow_endpoint *ep,
				  struct sockaddr_storage *ss);

/* ---- Engine lifecycle --------------------------------------------------- */

/* Load the engine into the pin directory unless it is loaded already: maps,
 * programs, pins. Idempotent. */
int subflow_engine_load(void);

/* Attach the engine to the cgroup v2 directory `cgroup_path` (loading it
 * first if needed), pin the link, and snapshot the MPTCP subflows that the
 * cgroup's processes already have. -EEXIST if attached there already. */
int subflow_cgroup_attach(const char *cgroup_path);

/* Detach from `cgroup_path` and forget the subflows only that attachment
 * tracked. -ENOENT if not attached there. */
int subflow_cgroup_detach(const char *cgroup_path);

struct subflow_attachment {
	uint64_t cgroup_id;
	uint32_t link_id;
	uint32_t prog_id;
	char     path[4096];	/* cgroup directory, "" if it no longer exists */
};

/* List the cgroups the engine is attached to. *count is the total; at most
 * max are written. */
int subflow_cgroup_list(struct subflow_attachment *out, size_t max, size_t *count);

/* Detach everywhere and remove every program, link, map and pin the engine
 * created, and its pin directory. -ENOENT if nothing was loaded. */
int subflow_engine_unload(void);

/* Counters of the engine (enum subflow_stat), summed over CPUs. */
int subflow_get_stats(uint64_t stats[SUBFLOW_STAT_MAX]);

#ifdef __cplusplus
}
#endif
#endif /* SUBFLOW_H */
