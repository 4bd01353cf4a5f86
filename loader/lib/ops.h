/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ops.c: operations on one connection's subflows (open, close, backup,
 * TCP info), as the library's public calls and as building blocks for the
 * daemon, which drives the same steps from its own event loop. Everything
 * here acts in the calling thread's network namespace. Not installed.
 */
#ifndef SUBFLOW_OPS_H
#define SUBFLOW_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "netlink.h"
#include "subflow_oneshot.h"

/* The connection's live subflows as the kernel has them (one iterator run):
 * at most max records; *count is how many there are. -ESRCH: no subflow
 * has that token. */
int subflow_ops_list(uint32_t token, struct subflow_oneshot_record *out, size_t max,
		     size_t *count);

/* An address of a sockaddr (AF_INET/AF_INET6), port in host order. */
int subflow_ops_pm_addr(const struct sockaddr *sa, struct subflow_pm_addr *out);
/* The same for an endpoint of the map ABI. */
void subflow_ops_pm_addr_of(const struct subflow_endpoint *ep, struct subflow_pm_addr *out);

/* The MPTCP address id for a new subflow from `local` (port ignored): the
 * id the userspace PM already binds to that address for this connection,
 * 0 for the address of the initial subflow, else the lowest id >= 1 that
 * neither the PM's list nor any subflow of the connection uses. */
int subflow_ops_local_id(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *local,
			 const struct subflow_oneshot_record *sfs, size_t nr, uint8_t *id);

/* SUBFLOW_CREATE with a properly chosen local id, not waiting for the
 * handshake. remote->port 0 means the connection's own remote port. On
 * success *local_out / *remote_out (may be NULL) hold what was asked. */
int subflow_ops_start_open(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *local,
			   const struct subflow_pm_addr *remote, bool backup,
			   struct subflow_pm_addr *local_out, struct subflow_pm_addr *remote_out);

/* Turn the kernel's answer to a userspace-PM command into our errno, with
 * a message naming the connection: -ESRCH (no such connection or subflow),
 * -EPROTONOSUPPORT (not under the userspace PM), -EADDRNOTAVAIL (the local
 * address is not this host's), or err itself. */
int subflow_ops_pm_error(struct subflow_pm *pm, int err, uint32_t token, const char *what);

/* Reset the subflow described by sf (its tuple; its id for the iterator's
 * fallback) in the kernel. -ESRCH when it is not there. */
struct subflow_info;
int subflow_ops_destroy(uint32_t token, const struct subflow_info *sf);

/* By (token, id) in the calling thread's namespace: the public calls'
 * bodies, also used by the daemon. */
int subflow_ops_close(uint32_t token, uint32_t id);
int subflow_ops_set_backup(struct subflow_pm *pm, uint32_t token, uint32_t id, bool backup);

/* The token of the connection behind socket fd, which must be in the
 * calling thread's namespace (-EXDEV with a message otherwise). */
int subflow_ops_fd_conn(int fd, uint32_t *token);

/* subflow_open (fd >= 0) or subflow_open_by_token (fd < 0) acting itself,
 * never through the daemon's control socket, waiting timeout_ms (0: the
 * process's subflow_set_open_timeout) for the handshake: the daemon serves
 * its clients with it, each with the client's own timeout. */
int subflow_ops_open(int fd, uint64_t netns_cookie, uint32_t token, const struct sockaddr *local,
		     const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
		     uint32_t *id);

/* An endpoint of the map ABI from a sockaddr (AF_INET/AF_INET6, port to host
 * order): the inverse of subflow_endpoint_to_sockaddr. -EAFNOSUPPORT otherwise. */
struct subflow_endpoint;
int subflow_sockaddr_to_endpoint(const struct sockaddr *sa, struct subflow_endpoint *ep);

/* "10.0.0.1" / "fd00::1" of a pm address. */
void subflow_ops_addr_str(const struct subflow_pm_addr *a, char *buf, size_t size);

#endif
