/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * netlink.c: the one netlink layer of libsubflow, on libmnl. Used by the
 * library (policy compiler, subflow operations), the CLI and the daemon.
 *
 *   rtnetlink   link and address dumps, route lookups, change notifications
 *   mptcp_pm    the Generic Netlink family of the kernel's path managers:
 *               family and event group resolved at run time, the userspace
 *               PM's commands, its events parsed into a fixed struct
 *
 * A socket belongs to the network namespace of the thread that opened it.
 * Every reply and event is bad input until checked: each attribute's length
 * is validated before it is read, unknown attributes are skipped, a message
 * that lacks what it must carry is -EBADMSG. Requests carry NETLINK_EXT_ACK:
 * the kernel's own message for a refused request is kept on the socket
 * (subflow_nl_error()) and logged by callers. Not installed.
 *
 * Error convention: 0 or a negative errno; pointer functions NULL + errno.
 */
#ifndef SUBFLOW_NETLINK_H
#define SUBFLOW_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/netlink.h>

struct subflow_nl;

/* Open a socket of `protocol` (NETLINK_ROUTE, NETLINK_GENERIC) in the calling
 * thread's network namespace, with extended acks and capped acks. */
struct subflow_nl *subflow_nl_open(int protocol);
void subflow_nl_close(struct subflow_nl *nl);
int subflow_nl_fd(const struct subflow_nl *nl);
/* Join a multicast group (any number, also past 32). */
int subflow_nl_join(struct subflow_nl *nl, unsigned int group);
/* The kernel's extended-ack message of the last refused request ("" if it
 * gave none). */
const char *subflow_nl_error(const struct subflow_nl *nl);

/* Callback for each message a request or a receive delivers. Return 0 to go
 * on, a negative errno to stop with it. */
typedef int (*subflow_nl_msg_cb)(const struct nlmsghdr *nlh, void *ctx);

/* Send the request in nlh (seq and flags are filled in: NLM_F_REQUEST |
 * NLM_F_ACK, plus whatever the caller set, e.g. NLM_F_DUMP) and read the
 * answers until the ack or the end of the dump, calling cb (may be NULL) for
 * each data message. Returns the kernel's -errno for a refused request. */
int subflow_nl_request(struct subflow_nl *nl, struct nlmsghdr *nlh, subflow_nl_msg_cb cb,
		       void *ctx);

/* Read what is queued on a socket subscribed to groups, without blocking
 * (MSG_DONTWAIT), calling cb for each message of each datagram. Returns the
 * number of datagrams read (0: nothing was queued), -ENOBUFS when the kernel
 * dropped notifications (the caller must resynchronise with a dump), or
 * another -errno. */
int subflow_nl_receive(struct subflow_nl *nl, subflow_nl_msg_cb cb, void *ctx);

/* Wait up to timeout_ms (-1: forever) for the socket to be readable.
 * 0 readable, -ETIMEDOUT, or -errno. */
int subflow_nl_wait(struct subflow_nl *nl, int timeout_ms);

/* ---- rtnetlink --------------------------------------------------------------- */

struct subflow_nl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;	/* IFF_UP, IFF_LOWER_UP, IFF_RUNNING, IFF_LOOPBACK ... */
	uint8_t operstate;	/* IF_OPER_*; IF_OPER_UNKNOWN when not given */
	bool deleted;		/* a RTM_DELLINK notification */
};

struct subflow_nl_addr {
	int ifindex;
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t prefixlen;
	uint8_t scope;		/* RT_SCOPE_* */
	uint32_t flags;		/* IFA_F_* (IFA_FLAGS when given) */
	uint8_t addr[16];	/* network order; IPv4 in addr[0..3] */
	bool deleted;		/* a RTM_DELADDR notification */
};

struct subflow_nl_route {
	uint8_t family;
	uint8_t dst_len;
	uint8_t type;		/* RTN_UNICAST, RTN_UNREACHABLE ... */
	uint8_t table;		/* rtm_table (RT_TABLE_COMPAT: see table_id) */
	uint32_t table_id;	/* RTA_TABLE when given, else rtm_table */
	int oif;		/* 0 when not given */
	uint8_t dst[16];
	uint8_t gateway[16];
	uint8_t prefsrc[16];
	bool has_gateway, has_prefsrc;
	bool deleted;		/* a RTM_DELROUTE notification */
};

/* One parsed rtnetlink notification (or dump entry). */
enum subflow_rtnl_kind {
	SUBFLOW_RTNL_LINK = 1,
	SUBFLOW_RTNL_ADDR,
	SUBFLOW_RTNL_ROUTE,
};

struct subflow_rtnl_msg {
	enum subflow_rtnl_kind kind;
	union {
		struct subflow_nl_link link;
		struct subflow_nl_addr addr;
		struct subflow_nl_route route;
	};
};

/* Parse a RTM_{NEW,DEL}{LINK,ADDR,ROUTE} message. -ENOMSG for another type
 * (not an error: skip it), -EBADMSG for a malformed one. */
int subflow_rtnl_parse(const struct nlmsghdr *nlh, struct subflow_rtnl_msg *out);

/* The rtnetlink groups of link, IPv4/IPv6 address and route changes. */
int subflow_rtnl_join_changes(struct subflow_nl *nl);

typedef int (*subflow_rtnl_cb)(const struct subflow_rtnl_msg *msg, void *ctx);
/* Dump every link, or every address of `family` (AF_UNSPEC: both). */
int subflow_rtnl_dump_links(struct subflow_nl *nl, subflow_rtnl_cb cb, void *ctx);
int subflow_rtnl_dump_addrs(struct subflow_nl *nl, int family, subflow_rtnl_cb cb, void *ctx);

/* The route the kernel would use to reach dst (16 or 4 bytes by family),
 * from src when not NULL, out of oif when not 0 (`ip route get DST from SRC
 * oif DEV`). -ENETUNREACH, -EHOSTUNREACH ... when there is none. */
int subflow_rtnl_route_get(struct subflow_nl *nl, int family, const uint8_t *dst,
			   const uint8_t *src, int oif, struct subflow_nl_route *out);

/* A snapshot of the host's links and addresses (one dump each), for those
 * that resolve names and addresses at once, like the policy compiler. */
struct subflow_host {
	struct subflow_nl_link *links;
	size_t nr_links;
	struct subflow_nl_addr *addrs;
	size_t nr_addrs;
};
int subflow_host_read(struct subflow_host *host);
void subflow_host_free(struct subflow_host *host);
const struct subflow_nl_link *subflow_host_link_by_name(const struct subflow_host *host,
							const char *name);
const struct subflow_nl_link *subflow_host_link_by_index(const struct subflow_host *host,
							 int ifindex);
/* The address entry of addr (family's length), or NULL: is it this host's? */
const struct subflow_nl_addr *subflow_host_find_addr(const struct subflow_host *host, int family,
						     const uint8_t *addr);

/* ---- sock_diag ------------------------------------------------------------------------ */

/* A TCP socket's 4-tuple (ports in host order), as sock_diag finds it. */
struct subflow_diag_tuple {
	uint8_t family;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	int ifindex;		/* the device it is bound to, 0 if none */
};

/* A socket of NETLINK_SOCK_DIAG: subflow_nl_open(NETLINK_SOCK_DIAG). */

/* The kernel's struct tcp_info of the TCP socket with exactly this tuple
 * (an O(1) lookup, not a dump); *len is how many bytes the kernel gave (at
 * most size). -ENOENT: no such socket. */
int subflow_diag_tcp_info(struct subflow_nl *nl, const struct subflow_diag_tuple *t, void *info,
			  size_t size, size_t *len);

/* Reset the TCP socket with exactly this tuple (SOCK_DESTROY: the kernel's
 * tcp_abort, as `ss -K` and bpf_sock_destroy() do). -EOPNOTSUPP without
 * CONFIG_INET_DIAG_DESTROY; -ENOENT: no such socket. */
int subflow_diag_destroy(struct subflow_nl *nl, const struct subflow_diag_tuple *t);

/* One MPTCP connection as the MPTCP sock_diag reports it: its own addresses
 * (those of its initial subflow) and its struct mptcp_info. */
struct subflow_diag_mptcp {
	struct subflow_diag_tuple tuple;
	uint8_t state;
	uint32_t token;		/* from mptcp_info */
	uint64_t bytes_sent, bytes_received, bytes_acked;
	uint32_t last_data_sent_ms, last_data_recv_ms;
	uint8_t subflows;	/* extra subflows (mptcpi_subflows) */
	bool has_info;
};

/* The connection with this local token (an O(1) lookup). -ENOENT: none. */
int subflow_diag_mptcp_by_token(struct subflow_nl *nl, uint32_t token,
				struct subflow_diag_mptcp *out);
/* Every MPTCP connection of the namespace (both families). */
typedef int (*subflow_diag_mptcp_cb)(const struct subflow_diag_mptcp *conn, void *ctx);
int subflow_diag_mptcp_dump(struct subflow_nl *nl, subflow_diag_mptcp_cb cb, void *ctx);

/* Parse one answer of the MPTCP sock_diag (for tests). -EBADMSG: malformed. */
int subflow_diag_parse_mptcp(const struct nlmsghdr *nlh, struct subflow_diag_mptcp *out);

/* ---- Generic Netlink "mptcp_pm" --------------------------------------------------- */

/* A genl socket with the mptcp_pm family resolved (CTRL_CMD_GETFAMILY). */
struct subflow_pm;

/* Open it in the calling thread's namespace. -ENOENT (errno) when the kernel
 * has no mptcp_pm family (no MPTCP). With events, it also joins the
 * mptcp_pm_events group: use one socket for events and another for
 * commands, so that replies and events do not interleave. */
struct subflow_pm *subflow_pm_open(bool events);
void subflow_pm_close(struct subflow_pm *pm);
int subflow_pm_fd(const struct subflow_pm *pm);
struct subflow_nl *subflow_pm_nl(struct subflow_pm *pm);
uint16_t subflow_pm_family_id(const struct subflow_pm *pm);
uint32_t subflow_pm_events_group(const struct subflow_pm *pm);
const char *subflow_pm_error(const struct subflow_pm *pm);

/* An address as mptcp_pm carries it. port in host order (0: none). */
struct subflow_pm_addr {
	uint8_t family;		/* AF_INET, AF_INET6 */
	uint8_t id;		/* MPTCP address id; 0: none */
	uint16_t port;
	uint32_t flags;		/* MPTCP_PM_ADDR_FLAG_* */
	int32_t ifindex;	/* 0: none */
	uint8_t addr[16];
};

/* The userspace PM's commands (they fail with -EINVAL and the kernel's
 * message when the connection is not under the userspace PM). */
int subflow_pm_subflow_create(struct subflow_pm *pm, uint32_t token,
			      const struct subflow_pm_addr *local,
			      const struct subflow_pm_addr *remote);
int subflow_pm_subflow_destroy(struct subflow_pm *pm, uint32_t token,
			       const struct subflow_pm_addr *local,
			       const struct subflow_pm_addr *remote);
/* MP_PRIO on the subflows between local and remote (ports 0: any). */
int subflow_pm_set_backup(struct subflow_pm *pm, uint32_t token,
			  const struct subflow_pm_addr *local,
			  const struct subflow_pm_addr *remote, bool backup);
/* ADD_ADDR of addr (its id must be >= 1) / REMOVE_ADDR of address id. */
int subflow_pm_announce(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *addr);
int subflow_pm_remove(struct subflow_pm *pm, uint32_t token, uint8_t id);
/* The connection's local addresses as the userspace PM knows them (GET_ADDR
 * dump with the token); cb (may be NULL) is called once per address. */
typedef int (*subflow_pm_addr_cb)(const struct subflow_pm_addr *addr, void *ctx);
int subflow_pm_dump_addrs(struct subflow_pm *pm, uint32_t token, subflow_pm_addr_cb cb, void *ctx);

/* One event of the mptcp_pm_events group. */
#define SUBFLOW_PM_EV_HAS_LOC_ID	(1U << 0)
#define SUBFLOW_PM_EV_HAS_REM_ID	(1U << 1)
#define SUBFLOW_PM_EV_HAS_SADDR		(1U << 2)
#define SUBFLOW_PM_EV_HAS_DADDR		(1U << 3)
#define SUBFLOW_PM_EV_HAS_SPORT		(1U << 4)
#define SUBFLOW_PM_EV_HAS_DPORT		(1U << 5)
#define SUBFLOW_PM_EV_HAS_BACKUP	(1U << 6)
#define SUBFLOW_PM_EV_HAS_ERROR		(1U << 7)
#define SUBFLOW_PM_EV_HAS_IFINDEX	(1U << 8)
#define SUBFLOW_PM_EV_HAS_RESET		(1U << 9)
#define SUBFLOW_PM_EV_HAS_FLAGS		(1U << 10)

struct subflow_pm_event {
	uint8_t type;		/* MPTCP_EVENT_* (the genl command) */
	uint8_t family;		/* AF_INET, AF_INET6, 0 when not given */
	uint8_t loc_id, rem_id;
	uint32_t token;
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;	/* host order */
	uint8_t backup;
	uint8_t error;		/* errno of a failed subflow (SUB_CLOSED) */
	uint8_t server_side;
	uint16_t flags;		/* MPTCP_ATTR_FLAGS */
	int32_t ifindex;
	uint32_t timeout;
	uint32_t reset_reason, reset_flags;
	uint32_t present;	/* SUBFLOW_PM_EV_HAS_* */
};

/* Parse one message of the events group. -ENOMSG: not an mptcp_pm event
 * (another family); -EBADMSG: malformed (an attribute of the wrong size, no
 * token). */
int subflow_pm_parse_event(const struct subflow_pm *pm, const struct nlmsghdr *nlh,
			   struct subflow_pm_event *ev);
/* The same with the family id given, for tests. */
int subflow_pm_parse_event_for(uint16_t family_id, const struct nlmsghdr *nlh,
			       struct subflow_pm_event *ev);

/* "created", "sub_established", ...; "unknown" otherwise. */
const char *subflow_pm_event_name(uint8_t type);

#endif /* SUBFLOW_NETLINK_H */
