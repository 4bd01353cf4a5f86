// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Operations on one connection's subflows: OPEN_SUB_TUPLE, CLOSE_SUB_ID,
 * the backup priority (MP_PRIO) and SUB_GETSOCKOPT of TCP_INFO.
 *
 *   open    SUBFLOW_CREATE through the userspace path manager (netlink.c),
 *           with a local address id chosen as the kernel requires (the one
 *           the PM already binds to that address, else a free one: without
 *           an id the subflow would get id 0 for good), then the wait for
 *           its SUB_ESTABLISHED or SUB_CLOSED event on a socket subscribed
 *           before the command, and its subflow id from the kernel's list.
 *   close   the kernel's reset of that one TCP socket (tcp_abort): through
 *           sock_diag's SOCK_DESTROY by its exact tuple, an O(1) lookup, or
 *           bpf_sock_destroy() from the one-shot iterator where the kernel
 *           lacks SOCK_DESTROY (or SUBFLOW_CLOSE_WITH_ITER=1 is set). Both
 *           work under either path manager; MPTCP goes on over the other
 *           subflows and sends again what the closed one had not delivered.
 *   backup  SET_FLAGS: the kernel sends MP_PRIO on the subflow.
 *   info    the subflow's struct tcp_info (MPTCP_FULL_INFO by fd, sock_diag
 *           by its exact tuple) or the iterator's reading of its tcp_sock.
 *
 * Which subflows a connection has (a "view"): MPTCP_FULL_INFO on the
 * application's socket when there is one, else the engine's maps when the
 * engine tracks the connection, else one run of the one-shot iterator. The
 * iterator walks every bucket of the kernel's TCP hash tables (262144 on
 * the project's VM: ~2.5 ms), the others cost microseconds.
 *
 * By fd it acts in the calling thread's network namespace (-EXDEV for a
 * socket of another one); by token on a connection of another namespace it
 * runs there, through the namespace executor (netns.c, in_conn_netns()).
 *
 * A caller that cannot do this itself (no CAP_NET_ADMIN and CAP_BPF: it
 * cannot reach the pins) has each public call that changes a connection
 * carried out by the daemon of the connection's namespace, to which it
 * passes its socket (control.c); the daemon runs the same code here.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include "mptcp_compat.h"
#include "internal.h"
#include "ops.h"
#include "oneshot.h"

#define MAX_SUBFLOWS		64	/* per connection, as listed here */
#define MAX_ADDR_ID		255
#define DEFAULT_OPEN_TIMEOUT_MS	5000

static unsigned int open_timeout_ms = DEFAULT_OPEN_TIMEOUT_MS;

void subflow_set_open_timeout(unsigned int ms)
{
	open_timeout_ms = ms ? ms : DEFAULT_OPEN_TIMEOUT_MS;
}

/* ---- helpers ------------------------------------------------------------------ */

void subflow_ops_addr_str(const struct subflow_pm_addr *a, char *buf, size_t size)
{
	if (!inet_ntop(a->family, a->addr, buf, size))
		snprintf(buf, size, "?");
}

int subflow_ops_pm_addr(const struct sockaddr *sa, struct subflow_pm_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!sa)
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		out->port = ntohs(sin->sin_port);
		memcpy(out->addr, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		out->family = AF_INET6;
		out->port = ntohs(sin6->sin6_port);
		memcpy(out->addr, &sin6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void subflow_ops_pm_addr_of(const struct subflow_endpoint *ep, struct subflow_pm_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = ep->family == SUBFLOW_AF_INET6 ? AF_INET6 : AF_INET;
	out->port = ep->port;
	memcpy(out->addr, ep->addr, out->family == AF_INET6 ? 16 : 4);
}

static bool same_addr(const struct subflow_pm_addr *a, const struct subflow_pm_addr *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4);
}

static bool endpoint_is(const struct subflow_endpoint *ep, const struct subflow_pm_addr *a)
{
	struct subflow_pm_addr e;

	subflow_ops_pm_addr_of(ep, &e);
	return same_addr(&e, a);
}

/* By fd: the calling thread's namespace, or -EXDEV with a message. */
static int require_netns(uint64_t netns_cookie, uint32_t token)
{
	uint64_t here;
	int err;

	if (!netns_cookie)
		return 0;
	err = subflow_current_netns(&here);
	if (err)
		return err;
	if (here == netns_cookie)
		return 0;
	pr_err("connection 0x%08x is in network namespace cookie %llu, not the caller's: run the command in it (subflowctl -n NETNS)\n",
	       token, (unsigned long long)netns_cookie);
	return -EXDEV;
}

/* A by-token operation, to be run in its connection's namespace. */
enum by_token_op { OP_OPEN, OP_CLOSE, OP_BACKUP, OP_TCP_INFO };
struct by_token {
	enum by_token_op op;
	uint32_t token, id;
	const struct sockaddr *local, *remote;
	unsigned int flags, timeout_ms;
	uint32_t *new_id;
	bool backup;
	struct subflow_tcp_info *info;
};

static int open_subflow(int fd, uint32_t token, const struct sockaddr *local,
			const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
			uint32_t *id);
static int close_subflow(int fd, uint32_t token, uint32_t id);
static int set_backup_opening_pm(int fd, uint32_t token, uint32_t id, bool backup);
static int tcp_info_of(int fd, uint32_t token, uint32_t id, struct subflow_tcp_info *info);

static int run_by_token(void *arg)
{
	struct by_token *b = arg;

	switch (b->op) {
	case OP_OPEN:
		return open_subflow(-1, b->token, b->local, b->remote, b->flags, b->timeout_ms,
				    b->new_id);
	case OP_CLOSE:
		return close_subflow(-1, b->token, b->id);
	case OP_BACKUP:
		return set_backup_opening_pm(-1, b->token, b->id, b->backup);
	case OP_TCP_INFO:
		return tcp_info_of(-1, b->token, b->id, b->info);
	}
	return -EINVAL;
}

/* Run b in the network namespace of connection (netns_cookie, b->token):
 * right here when that is the caller's (or netns_cookie is 0), else through
 * the namespace executor (netns.c), in the namespace the conns map records
 * for the connection: netlink and the one-shot iterators act there. */
static int in_conn_netns(uint64_t netns_cookie, struct by_token *b)
{
	struct subflow_conn_info conn;
	uint64_t here;
	int err;

	if (!netns_cookie)
		return run_by_token(b);
	err = subflow_current_netns(&here);
	if (err)
		return err;
	if (here == netns_cookie)
		return run_by_token(b);
	err = subflow_get_conn_info(netns_cookie, b->token, &conn);
	if (err) {
		pr_err("connection 0x%08x of network namespace cookie %llu is not tracked: "
		       "its namespace is unknown\n", b->token, (unsigned long long)netns_cookie);
		return err;
	}
	return subflow_netns_run_ino(conn.netns_ino, run_by_token, b);
}

static struct subflow_pm *open_pm(bool events)
{
	struct subflow_pm *pm = subflow_pm_open(events);

	if (!pm)
		pr_err("cannot open the mptcp_pm Generic Netlink family: %s%s\n", strerror(errno),
		       errno == ENOENT ? " (no MPTCP in this kernel)" : "");
	return pm;
}

int subflow_ops_pm_error(struct subflow_pm *pm, int err, uint32_t token, const char *what)
{
	const char *msg = subflow_pm_error(pm);

	if (strstr(msg, "invalid token")) {
		pr_err("%s: no MPTCP connection with token 0x%08x in this network namespace\n", what,
		       token);
		return -ESRCH;
	}
	if (strstr(msg, "userspace PM not selected")) {
		pr_err("%s: connection 0x%08x is not under the userspace path manager (net.mptcp.path_manager was not \"userspace\" when it was created)\n",
		       what, token);
		return -EPROTONOSUPPORT;
	}
	if (strstr(msg, "subflow not found")) {
		pr_err("%s: connection 0x%08x has no such subflow\n", what, token);
		return -ESRCH;
	}
	if (err == -ENOTCONN || strstr(msg, "error: -107")) {
		pr_err("%s: connection 0x%08x is not fully established yet (MPTCP allows more subflows once the peer has acknowledged data)\n",
		       what, token);
		return -ENOTCONN;
	}
	if (err == -EADDRNOTAVAIL || strstr(msg, "error: -99")) {
		pr_err("%s: the local address is not an address of this host (network namespace)\n",
		       what);
		return -EADDRNOTAVAIL;
	}
	pr_err("%s on connection 0x%08x: %s%s%s\n", what, token, strerror(-err), *msg ? ": " : "",
	       msg);
	return err;
}

/* ---- the connection's subflows -------------------------------------------------- */

struct list_ctx {
	struct subflow_oneshot_record *out;
	size_t max, count;
};

static int collect(const struct subflow_oneshot_record *rec, void *data)
{
	struct list_ctx *lc = data;

	if (lc->count < lc->max)
		lc->out[lc->count] = *rec;
	lc->count++;
	return 0;
}

int subflow_ops_list(uint32_t token, struct subflow_oneshot_record *out, size_t max,
		     size_t *count)
{
	struct subflow_oneshot_params p = { .op = SUBFLOW_ONESHOT_LIST, .token = token };
	struct list_ctx lc = { .out = out, .max = max };
	int n;

	if (!token)
		return -ESRCH;
	n = subflow_oneshot_run(&p, collect, &lc);
	if (n < 0)
		return n;
	*count = lc.count;
	return lc.count ? 0 : -ESRCH;
}

/* The connection's live subflows, from the fastest source there is. */
struct conn_view {
	size_t n;
	struct subflow_info sf[MAX_SUBFLOWS];
	bool from_kernel_list;	/* the iterator's, which also read tcp[] */
	struct subflow_tcp_info tcp[MAX_SUBFLOWS];
};

int subflow_sockaddr_to_endpoint(const struct sockaddr *sa, struct subflow_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		ep->family = SUBFLOW_AF_INET6;
		ep->port = ntohs(sin6->sin6_port);
		memcpy(ep->addr, &sin6->sin6_addr, 16);
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		ep->family = SUBFLOW_AF_INET;
		ep->port = ntohs(sin->sin_port);
		memcpy(ep->addr, &sin->sin_addr, 4);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static bool same_endpoint(const struct subflow_endpoint *a, const struct subflow_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->family == SUBFLOW_AF_INET6 ? 16 : 4);
}

/* MPTCP_FULL_INFO on the application's socket: ids, addresses, tcp_info.
 * The initial subflow is the one with the MPTCP socket's own addresses. */
static int view_from_fd(int fd, struct conn_view *v, struct tcp_info *ti)
{
	struct mptcp_subflow_info sfi[MAX_SUBFLOWS];
	struct mptcp_full_info full = {};
	struct sockaddr_storage self, peer;
	struct subflow_endpoint me, him;
	socklen_t len = sizeof(full), alen;

	memset(sfi, 0, sizeof(sfi));
	full.size_tcpinfo_user = sizeof(*ti);
	full.size_sfinfo_user = sizeof(sfi[0]);
	full.size_arrays_user = MAX_SUBFLOWS;
	full.subflow_info = (uint64_t)(unsigned long)sfi;
	full.tcp_info = (uint64_t)(unsigned long)ti;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_FULL_INFO, &full, &len))
		return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
	alen = sizeof(self);
	if (getsockname(fd, (struct sockaddr *)&self, &alen))
		return -errno;
	alen = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &alen))
		return -errno;
	subflow_sockaddr_to_endpoint((const struct sockaddr *)&self, &me);
	subflow_sockaddr_to_endpoint((const struct sockaddr *)&peer, &him);
	v->n = 0;
	for (unsigned int i = 0; i < full.num_subflows && i < MAX_SUBFLOWS; i++) {
		struct subflow_info *sf = &v->sf[v->n];

		/* A reset initial subflow stays listed, closed. */
		if (ti[i].tcpi_state == 7 /* TCP_CLOSE */)
			continue;
		memset(sf, 0, sizeof(*sf));
		sf->id = sfi[i].id;
		subflow_sockaddr_to_endpoint((const void *)&sfi[i].addrs.ss_local, &sf->local);
		subflow_sockaddr_to_endpoint((const void *)&sfi[i].addrs.ss_remote, &sf->remote);
		sf->tcp_state = ti[i].tcpi_state;
		sf->local_addr_id = -1;	/* not given: the PM's list has it */
		sf->flags = same_endpoint(&sf->local, &me) && same_endpoint(&sf->remote, &him) ?
			    SUBFLOW_F_INITIAL : SUBFLOW_F_JOIN;
		if (i != v->n)
			ti[v->n] = ti[i];
		v->n++;
	}
	return 0;
}

/* The engine's record of the connection, when it tracks it here. */
static int view_from_maps(uint32_t token, struct conn_view *v)
{
	uint32_t ids[MAX_SUBFLOWS];
	size_t count = 0;
	int err;

	if (!subflow_engine_loaded())
		return -ENOENT;
	err = subflow_get_ids_by_token(0, token, ids, MAX_SUBFLOWS, &count);
	if (err)
		return err;
	v->n = 0;
	for (size_t i = 0; i < count && i < MAX_SUBFLOWS; i++)
		if (!subflow_get_info(0, token, ids[i], &v->sf[v->n]) &&
		    v->sf[v->n].tcp_state != 7 /* TCP_CLOSE */)
			v->n++;
	return v->n ? 0 : -ESRCH;
}

static int view_from_iterator(uint32_t token, struct conn_view *v)
{
	struct subflow_oneshot_record recs[MAX_SUBFLOWS];
	size_t n = 0;
	int err;

	err = subflow_ops_list(token, recs, MAX_SUBFLOWS, &n);
	if (err)
		return err;
	v->n = n < MAX_SUBFLOWS ? n : MAX_SUBFLOWS;
	for (size_t i = 0; i < v->n; i++) {
		v->sf[i] = recs[i].info;
		v->tcp[i] = recs[i].tcp;
	}
	v->from_kernel_list = true;
	return 0;
}

/* fd < 0: by token. -ESRCH (with a message) when there is no connection. */
static int conn_view(int fd, uint32_t token, const char *what, struct conn_view *v,
		     struct tcp_info *ti)
{
	int err = -ENOENT;

	memset(v, 0, sizeof(*v));
	if (fd >= 0) {
		static __thread struct tcp_info scratch[MAX_SUBFLOWS];

		return view_from_fd(fd, v, ti ? ti : scratch);
	}
	if (!token)
		err = -ESRCH;
	else if (view_from_maps(token, v) && (err = view_from_iterator(token, v)) == -ESRCH)
		;
	else
		err = 0;
	if (err == -ESRCH)
		pr_err("%s: no MPTCP connection with token 0x%08x in this network namespace\n", what,
		       token);
	return err;
}

static const struct subflow_info *view_find(const struct conn_view *v, uint32_t id, size_t *index)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->sf[i].id == id) {
			if (index)
				*index = i;
			return &v->sf[i];
		}
	return NULL;
}

static void diag_tuple(const struct subflow_info *sf, struct subflow_diag_tuple *t)
{
	memset(t, 0, sizeof(*t));
	t->family = sf->local.family == SUBFLOW_AF_INET6 ? AF_INET6 : AF_INET;
	memcpy(t->saddr, sf->local.addr, 16);
	memcpy(t->daddr, sf->remote.addr, 16);
	t->sport = sf->local.port;
	t->dport = sf->remote.port;
}

/* ---- local address ids ------------------------------------------------------------ */

struct id_scan {
	const struct subflow_pm_addr *local;
	uint8_t used[(MAX_ADDR_ID + 1) / 8];
	int match;	/* the id bound to local, or -1 */
};

static int scan_pm_addr(const struct subflow_pm_addr *a, void *data)
{
	struct id_scan *scan = data;

	scan->used[a->id / 8] |= 1 << (a->id % 8);
	if (same_addr(a, scan->local))
		scan->match = a->id;
	return 0;
}

static int local_id(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *local,
		    const struct subflow_info *sfs, size_t nr, uint8_t *id)
{
	struct id_scan scan = { .local = local, .match = -1 };
	int err;

	err = subflow_pm_dump_addrs(pm, token, scan_pm_addr, &scan);
	if (err)
		return subflow_ops_pm_error(pm, err, token, "subflow open");
	if (scan.match >= 0) {
		*id = scan.match;	/* the kernel refuses another id for it */
		return 0;
	}
	for (size_t i = 0; i < nr; i++) {
		/* The initial subflow's address is id 0 on this side, while it
		 * lives: once it is closing, the address gets a new id (an id 0
		 * on a join could not be removed: REMOVE 0 finds the initial
		 * subflow only). */
		if ((sfs[i].flags & SUBFLOW_F_INITIAL) && sfs[i].tcp_state == 1 /* ESTABLISHED */ &&
		    endpoint_is(&sfs[i].local, local)) {
			*id = 0;
			return 0;
		}
		if (sfs[i].local_addr_id >= 0 && sfs[i].local_addr_id <= 255)	/* -1: not known */
			scan.used[sfs[i].local_addr_id / 8] |= 1 << (sfs[i].local_addr_id % 8);
	}
	for (unsigned int i = 1; i <= MAX_ADDR_ID; i++)
		if (!(scan.used[i / 8] & (1 << (i % 8)))) {
			*id = i;
			return 0;
		}
	pr_err("subflow open: connection 0x%08x uses every local address id\n", token);
	return -ENOSPC;
}

int subflow_ops_local_id(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *local,
			 const struct subflow_oneshot_record *recs, size_t nr, uint8_t *id)
{
	struct subflow_info sfs[MAX_SUBFLOWS];

	nr = nr < MAX_SUBFLOWS ? nr : MAX_SUBFLOWS;
	for (size_t i = 0; i < nr; i++)
		sfs[i] = recs[i].info;
	return local_id(pm, token, local, sfs, nr, id);
}

/* ---- open ----------------------------------------------------------------------- */

static int start_open(struct subflow_pm *pm, uint32_t token, const struct conn_view *v,
		      const struct subflow_pm_addr *local, const struct subflow_pm_addr *remote,
		      bool backup, struct subflow_pm_addr *local_out, struct subflow_pm_addr *remote_out)
{
	struct subflow_pm_addr l = *local, r = *remote;
	int err;

	if (l.family != r.family) {
		pr_err("subflow open: the local and remote addresses are of different families\n");
		return -EINVAL;
	}
	if (!r.port) {
		/* The connection's remote port: its initial subflow's. */
		for (size_t i = 0; i < v->n && !r.port; i++)
			if (v->sf[i].flags & SUBFLOW_F_INITIAL)
				r.port = v->sf[i].remote.port;
		for (size_t i = 0; i < v->n && !r.port; i++)
			r.port = v->sf[i].remote.port;
	}
	err = local_id(pm, token, &l, v->sf, v->n, &l.id);
	if (err)
		return err;
	l.flags = backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0;
	r.id = 0;
	r.flags = 0;
	err = subflow_pm_subflow_create(pm, token, &l, &r);
	if (err)
		return subflow_ops_pm_error(pm, err, token, "subflow open");
	if (local_out)
		*local_out = l;
	if (remote_out)
		*remote_out = r;
	return 0;
}

int subflow_ops_start_open(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *local,
			   const struct subflow_pm_addr *remote, bool backup,
			   struct subflow_pm_addr *local_out, struct subflow_pm_addr *remote_out)
{
	struct conn_view v;
	int err;

	err = conn_view(-1, token, "subflow open", &v, NULL);
	if (err)
		return err;
	return start_open(pm, token, &v, local, remote, backup, local_out, remote_out);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct wait_ctx {
	struct subflow_pm *events;
	uint32_t token;
	const struct subflow_pm_addr *local, *remote;
	struct subflow_pm_event established, closed;
	bool have_established, have_closed;
};

static bool event_matches(const struct wait_ctx *wc, const struct subflow_pm_event *ev)
{
	size_t len = wc->local->family == AF_INET6 ? 16 : 4;

	if (ev->token != wc->token || ev->family != wc->local->family)
		return false;
	if (!(ev->present & SUBFLOW_PM_EV_HAS_SADDR) || !(ev->present & SUBFLOW_PM_EV_HAS_DADDR))
		return false;
	if (memcmp(ev->saddr, wc->local->addr, len) || memcmp(ev->daddr, wc->remote->addr, len))
		return false;
	if (wc->remote->port && ev->dport != wc->remote->port)
		return false;
	return !wc->local->port || ev->sport == wc->local->port;
}

static int on_open_event(const struct nlmsghdr *nlh, void *data)
{
	struct wait_ctx *wc = data;
	struct subflow_pm_event ev;

	if (subflow_pm_parse_event(wc->events, nlh, &ev) || !event_matches(wc, &ev))
		return 0;	/* not ours, or malformed: not what we wait for */
	if (ev.type == MPTCP_EVENT_SUB_ESTABLISHED && !wc->have_established) {
		wc->established = ev;
		wc->have_established = true;
	} else if (ev.type == MPTCP_EVENT_SUB_CLOSED && !wc->have_closed) {
		wc->closed = ev;
		wc->have_closed = true;
	}
	return 0;
}

/* A subflow between these addresses that was not in `before`. */
static const struct subflow_info *new_subflow(const struct conn_view *now,
					      const struct conn_view *before,
					      const struct subflow_pm_addr *l,
					      const struct subflow_pm_addr *r)
{
	for (size_t i = 0; i < now->n; i++)
		if (!view_find(before, now->sf[i].id, NULL) && endpoint_is(&now->sf[i].local, l) &&
		    endpoint_is(&now->sf[i].remote, r))
			return &now->sf[i];
	return NULL;
}

/* Reset a subflow in the kernel. */
int subflow_ops_destroy(uint32_t token, const struct subflow_info *sf)
{
	struct subflow_oneshot_params p = { .op = SUBFLOW_ONESHOT_DESTROY, .token = token,
					    .id = sf->id };
	struct subflow_oneshot_record rec;
	struct subflow_diag_tuple t;
	const char *knob = getenv("SUBFLOW_CLOSE_WITH_ITER");
	struct subflow_nl *nl;
	int err = -EOPNOTSUPP, n;

	if (!knob || strcmp(knob, "1")) {
		nl = subflow_nl_open(NETLINK_SOCK_DIAG);
		if (!nl)
			return -errno;
		diag_tuple(sf, &t);
		err = subflow_diag_destroy(nl, &t);
		if (err == -ENOENT && sf->ifindex) {
			/* A subflow bound to its device is found with it. */
			t.ifindex = sf->ifindex;
			err = subflow_diag_destroy(nl, &t);
		}
		subflow_nl_close(nl);
	}
	if (err != -EOPNOTSUPP)
		return err == -ENOENT ? -ESRCH : err;
	/* No SOCK_DESTROY in this kernel: bpf_sock_destroy() from the iterator. */
	n = subflow_oneshot_run(&p, subflow_oneshot_keep_first, &rec);
	if (n < 0)
		return n;
	if (!n)
		return -ESRCH;
	return rec.err;
}

static int open_subflow(int fd, uint32_t token, const struct sockaddr *local,
			const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
			uint32_t *id)
{
	struct subflow_pm *pm = NULL, *events = NULL;
	struct subflow_pm_addr l, r, asked_l, asked_r;
	struct wait_ctx wc = { .token = token };
	static __thread struct conn_view before, after;
	const struct subflow_info *sf;
	char addr[INET6_ADDRSTRLEN];
	uint64_t deadline;
	int err, left;

	if (subflow_ops_pm_addr(local, &l) || subflow_ops_pm_addr(remote, &r)) {
		pr_err("subflow open: addresses must be IPv4 or IPv6\n");
		return -EAFNOSUPPORT;
	}
	pm = open_pm(false);
	events = pm ? open_pm(true) : NULL;	/* subscribed before the command */
	if (!events) {
		err = -errno;
		goto out;
	}
	err = conn_view(fd, token, "subflow open", &before, NULL);
	if (err)
		goto out;
	err = start_open(pm, token, &before, &l, &r, flags & SUBFLOW_OPEN_BACKUP, &asked_l, &asked_r);
	if (err)
		goto out;
	wc.events = events;
	wc.local = &asked_l;
	wc.remote = &asked_r;
	subflow_ops_addr_str(&asked_r, addr, sizeof(addr));
	deadline = now_ms() + timeout_ms;
	for (;;) {
		left = (int)(deadline - now_ms());
		if (left <= 0 || subflow_nl_wait(subflow_pm_nl(events), left) == -ETIMEDOUT) {
			pr_err("subflow open: no answer from %s port %u within %u ms\n", addr, asked_r.port,
			       timeout_ms);
			/* Undo the SYN: nothing must stay behind. */
			if (!conn_view(fd, token, "subflow open", &after, NULL) &&
			    (sf = new_subflow(&after, &before, &asked_l, &asked_r)))
				subflow_ops_destroy(token, sf);
			err = -ETIMEDOUT;
			goto out;
		}
		err = subflow_nl_receive(subflow_pm_nl(events), on_open_event, &wc);
		if (err == -ENOBUFS)
			err = 0;	/* events dropped: ours may come, or the timeout */
		if (err < 0)
			goto out;
		if (wc.have_established)
			break;
		/* A close between the same addresses may be the late report
		 * of an earlier subflow's (closes are reported
		 * asynchronously): ours failed only if it is gone. */
		if (wc.have_closed && (conn_view(fd, token, "subflow open", &after, NULL) ||
				       !new_subflow(&after, &before, &asked_l, &asked_r)))
			break;
		wc.have_closed = false;
	}
	if (!wc.have_established) {
		err = wc.closed.error ? -wc.closed.error : -ECONNREFUSED;
		if (err == -ECONNRESET || err == -EPIPE)
			err = -ECONNREFUSED;
		pr_err("subflow open: %s port %u refused the subflow: %s%s\n", addr, asked_r.port,
		       strerror(-err), wc.closed.present & SUBFLOW_PM_EV_HAS_RESET ? " (MPTCP reset)" : "");
		goto out;
	}
	/* Established: its id, from the kernel's (or the engine's) list. */
	err = conn_view(fd, token, "subflow open", &after, NULL);
	if (err)
		goto out;
	err = -ESRCH;
	for (size_t i = 0; i < after.n; i++) {
		sf = &after.sf[i];
		if (sf->local.port == wc.established.sport && sf->remote.port == wc.established.dport &&
		    endpoint_is(&sf->local, &asked_l) && endpoint_is(&sf->remote, &asked_r)) {
			if (id)
				*id = sf->id;
			err = 0;
			break;
		}
	}
	if (err) {
		/* Reset by the peer right after its handshake: a peer past its
		 * subflow limit accepts the handshake, then resets. */
		pr_err("subflow open: %s port %u reset the subflow right after its handshake (a limit of the peer's path manager?)\n",
		       addr, asked_r.port);
		err = -ECONNREFUSED;
	}
out:
	subflow_pm_close(events);
	subflow_pm_close(pm);
	return err;
}

/* By fd: the application's own socket, in its own namespace. */
int subflow_ops_fd_conn(int fd, uint32_t *token)
{
	uint64_t netns_cookie;
	int err;

	err = subflow_conn_of_fd(fd, &netns_cookie, token);
	if (err)
		return err;
	return require_netns(netns_cookie, *token);
}

int subflow_ops_open(int fd, uint64_t netns_cookie, uint32_t token, const struct sockaddr *local,
		     const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
		     uint32_t *id)
{
	struct by_token b = { .op = OP_OPEN, .token = token, .local = local, .remote = remote,
			      .flags = flags, .timeout_ms = timeout_ms ? timeout_ms : open_timeout_ms,
			      .new_id = id };
	int err;

	if (flags & ~SUBFLOW_OPEN_BACKUP)
		return -EINVAL;
	if (fd < 0)
		return in_conn_netns(netns_cookie, &b);
	err = subflow_ops_fd_conn(fd, &token);
	if (err)
		return err;
	return open_subflow(fd, token, local, remote, flags, b.timeout_ms, id);
}

int subflow_open_by_token(uint64_t netns_cookie, uint32_t token, const struct sockaddr *local,
			  const struct sockaddr *remote, unsigned int flags, uint32_t *id)
{
	if (subflow_control_wanted(-1, netns_cookie))
		return subflow_control_open(-1, netns_cookie, token, local, remote, flags,
					    open_timeout_ms, id);
	return subflow_ops_open(-1, netns_cookie, token, local, remote, flags, 0, id);
}

int subflow_open(int fd, const struct sockaddr *local, const struct sockaddr *remote,
		 unsigned int flags, uint32_t *id)
{
	if (subflow_control_wanted(fd, 0))
		return subflow_control_open(fd, 0, 0, local, remote, flags, open_timeout_ms, id);
	return subflow_ops_open(fd, 0, 0, local, remote, flags, 0, id);
}

/* ---- close ---------------------------------------------------------------------- */

static int close_subflow(int fd, uint32_t token, uint32_t id)
{
	static __thread struct conn_view v;
	const struct subflow_info *sf;
	size_t live = 0;
	int err;

	err = conn_view(fd, token, "subflow close", &v, NULL);
	if (err)
		return err;
	sf = view_find(&v, id, NULL);
	if (!sf) {
		pr_err("subflow close: connection 0x%08x has no live subflow with id %u\n", token, id);
		return -ESRCH;
	}
	for (size_t i = 0; i < v.n; i++)
		if (v.sf[i].tcp_state == 1 /* TCP_ESTABLISHED */ && v.sf[i].id != id)
			live++;
	if (!live) {
		pr_err("subflow close: subflow %u is the only established subflow of connection 0x%08x; closing it would end the connection\n",
		       id, token);
		return -EBUSY;
	}
	err = subflow_ops_destroy(token, sf);
	if (err == -ESRCH)
		pr_err("subflow close: subflow %u of connection 0x%08x closed meanwhile\n", id, token);
	else if (err)
		pr_err("subflow close: the kernel refused to reset subflow %u: %s\n", id, strerror(-err));
	return err;
}

int subflow_ops_close(uint32_t token, uint32_t id)
{
	return close_subflow(-1, token, id);
}

int subflow_close_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id)
{
	struct by_token b = { .op = OP_CLOSE, .token = token, .id = id };

	if (subflow_control_wanted(-1, netns_cookie))
		return subflow_control_close(-1, netns_cookie, token, id);
	return in_conn_netns(netns_cookie, &b);
}

static int close_by_fd(int fd, uint32_t id)
{
	uint32_t token;
	int err = subflow_ops_fd_conn(fd, &token);

	return err ? err : close_subflow(fd, token, id);
}

int subflow_close(int fd, uint32_t id)
{
	if (subflow_control_wanted(fd, 0))
		return subflow_control_close(fd, 0, 0, id);
	return close_by_fd(fd, id);
}

/* ---- backup --------------------------------------------------------------------- */

static int set_backup(struct subflow_pm *pm, int fd, uint32_t token, uint32_t id, bool backup)
{
	static __thread struct conn_view v;
	const struct subflow_info *sf;
	struct subflow_pm_addr l, r;
	int err;

	err = conn_view(fd, token, "subflow set", &v, NULL);
	if (err)
		return err;
	sf = view_find(&v, id, NULL);
	if (!sf) {
		pr_err("subflow set: connection 0x%08x has no live subflow with id %u\n", token, id);
		return -ESRCH;
	}
	subflow_ops_pm_addr_of(&sf->local, &l);
	subflow_ops_pm_addr_of(&sf->remote, &r);
	err = subflow_pm_set_backup(pm, token, &l, &r, backup);
	return err ? subflow_ops_pm_error(pm, err, token, "subflow set backup") : 0;
}

int subflow_ops_set_backup(struct subflow_pm *pm, uint32_t token, uint32_t id, bool backup)
{
	return set_backup(pm, -1, token, id, backup);
}

static int set_backup_opening_pm(int fd, uint32_t token, uint32_t id, bool backup)
{
	struct subflow_pm *pm = open_pm(false);
	int err;

	if (!pm)
		return -errno;
	err = set_backup(pm, fd, token, id, backup);
	subflow_pm_close(pm);
	return err;
}

int subflow_set_backup_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id, bool backup)
{
	struct by_token b = { .op = OP_BACKUP, .token = token, .id = id, .backup = backup };

	if (subflow_control_wanted(-1, netns_cookie))
		return subflow_control_set_backup(-1, netns_cookie, token, id, backup);
	return in_conn_netns(netns_cookie, &b);
}

static int set_backup_by_fd(int fd, uint32_t id, bool backup)
{
	uint32_t token;
	int err = subflow_ops_fd_conn(fd, &token);

	return err ? err : set_backup_opening_pm(fd, token, id, backup);
}

int subflow_set_backup(int fd, uint32_t id, bool backup)
{
	if (subflow_control_wanted(fd, 0))
		return subflow_control_set_backup(fd, 0, 0, id, backup);
	return set_backup_by_fd(fd, id, backup);
}

/* ---- TCP info ------------------------------------------------------------------- */

static uint64_t rate_or_max(uint64_t rate)
{
	return rate == ~0ULL || rate == (uint64_t)(unsigned long)~0UL ? UINT64_MAX : rate;
}

/* struct tcp_info (the kernel's, as MPTCP_FULL_INFO and sock_diag give it)
 * to ours: the same values under the same names. */
static void from_tcp_info(const struct tcp_info *k, struct subflow_tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	ti->state = k->tcpi_state;
	ti->ca_state = k->tcpi_ca_state;
	ti->retransmits = k->tcpi_retransmits;
	ti->rtt_us = k->tcpi_rtt;
	ti->rttvar_us = k->tcpi_rttvar;
	ti->min_rtt_us = k->tcpi_min_rtt;
	ti->rto_us = k->tcpi_rto;
	ti->snd_cwnd = k->tcpi_snd_cwnd;
	ti->snd_ssthresh = k->tcpi_snd_ssthresh;
	ti->unacked = k->tcpi_unacked;
	ti->retrans_out = k->tcpi_retrans;
	ti->lost_out = k->tcpi_lost;
	ti->total_retrans = k->tcpi_total_retrans;
	ti->snd_mss = k->tcpi_snd_mss;
	ti->last_data_sent_ms = k->tcpi_last_data_sent;
	ti->last_data_recv_ms = k->tcpi_last_data_recv;
	ti->last_ack_recv_ms = k->tcpi_last_ack_recv;
	ti->bytes_sent = k->tcpi_bytes_sent;
	ti->bytes_retrans = k->tcpi_bytes_retrans;
	ti->bytes_acked = k->tcpi_bytes_acked;
	ti->bytes_received = k->tcpi_bytes_received;
	ti->pacing_rate = rate_or_max(k->tcpi_pacing_rate);
	ti->max_pacing_rate = rate_or_max(k->tcpi_max_pacing_rate);
}

static int tcp_info_of(int fd, uint32_t token, uint32_t id, struct subflow_tcp_info *info)
{
	static __thread struct tcp_info kti[MAX_SUBFLOWS];
	static __thread struct conn_view v;
	const struct subflow_info *sf;
	struct subflow_diag_tuple t;
	struct tcp_info one;
	struct subflow_nl *nl;
	size_t index = 0;
	int err;

	if (!info)
		return -EINVAL;
	err = conn_view(fd, token, "subflow getsockopt info", &v, kti);
	if (err)
		return err;
	sf = view_find(&v, id, &index);
	if (!sf)
		return -ESRCH;
	if (fd >= 0) {
		from_tcp_info(&kti[index], info);
		return 0;
	}
	if (v.from_kernel_list) {
		*info = v.tcp[index];
		return 0;
	}
	/* From the engine's maps: the tuple, then the kernel's tcp_info of
	 * exactly that socket. */
	nl = subflow_nl_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	diag_tuple(sf, &t);
	err = subflow_diag_tcp_info(nl, &t, &one, sizeof(one), NULL);
	if (err == -ENOENT && sf->ifindex) {
		t.ifindex = sf->ifindex;
		err = subflow_diag_tcp_info(nl, &t, &one, sizeof(one), NULL);
	}
	subflow_nl_close(nl);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	from_tcp_info(&one, info);
	return 0;
}

int subflow_get_tcp_info_by_token(uint64_t netns_cookie, uint32_t token, uint32_t id,
				  struct subflow_tcp_info *info)
{
	struct by_token b = { .op = OP_TCP_INFO, .token = token, .id = id, .info = info };

	return in_conn_netns(netns_cookie, &b);
}

int subflow_get_tcp_info(int fd, uint32_t id, struct subflow_tcp_info *info)
{
	uint32_t token;
	int err = subflow_ops_fd_conn(fd, &token);

	return err ? err : tcp_info_of(fd, token, id, info);
}
