// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's control socket: unprivileged applications control their own
 * connections by passing their socket (protocol: include/subflow_control.h).
 *
 * Who may act on what. The socket file is root's, mode 0660, group
 * control-group: who may connect is who may write it. A request about a
 * connection carries the connection's socket (SCM_RIGHTS); the daemon checks
 * the socket it received, not anything the request says: an MPTCP socket
 * (SO_PROTOCOL), in the namespace this daemon manages (SO_NETNS_COOKIE), not
 * fallen back to TCP, with a token (MPTCP_INFO); and acts on that connection
 * only, by the library's by-fd calls. Requests by token come from root peers
 * only (SO_PEERCRED). A subscription gets that connection's events only,
 * until its last subflow is down (the token is then free for another).
 *
 * Nobody stalls anybody. The loop never blocks on a client: sockets are
 * non-blocking, a response that does not fit in the client's socket gets the
 * client dropped (it did not read its answers), an event that does not fit
 * is counted lost for that subscriber. Every request with a descriptor runs
 * on a thread of its own (an open waits for a handshake; even close(2) of a
 * passed descriptor can block: the last reference to a socket with SO_LINGER,
 * or a file on a FUSE mount whose server never answers), so the loop only
 * reads, checks and answers. Limits: CONTROL_MAX_CLIENTS connections, of them
 * CONTROL_MAX_CLIENTS_PER_UID per user; CONTROL_MAX_JOBS requests carried
 * out at once, of them CONTROL_MAX_JOBS_PER_UID per user, and one per
 * connection. A connection with a request in progress or waiting is not read
 * (the kernel's socket buffer holds what it sends next: its sender blocks,
 * nobody else); per wakeup the loop reads at most CONTROL_MESSAGES_PER_ROUND
 * messages of a client and accepts at most CONTROL_ACCEPTS_PER_ROUND.
 * Malformed requests are answered at once (-EPROTO, -EINVAL) and counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/mptcp.h>
#include "daemon.h"
#include "mptcp_compat.h"
#include "ops.h"

#define CONTROL_MAX_CLIENTS		256
#define CONTROL_MAX_CLIENTS_PER_UID	32
#define CONTROL_MAX_JOBS		16
#define CONTROL_MAX_JOBS_PER_UID	4
#define CONTROL_MESSAGES_PER_ROUND	4
#define CONTROL_ACCEPTS_PER_ROUND	16
#define CONTROL_BACKLOG			64
/* The kernel's SCM_MAX_FD: all that one message can carry, so that none is
 * left for the kernel to release in this thread (the release of a FUSE file
 * may block). */
#define CONTROL_MAX_FDS			253

struct control_job;

struct control_client {
	int fd;			/* -1: free slot */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint32_t interest;	/* epoll events asked for now */
	struct control_job *job;	/* started, not finished */
	struct control_job *pending;	/* read, waiting for a limit */
	bool subscriber;
	struct subflow_conn_filter filter;
	uint64_t lost;
};

struct control;

struct control_job {
	struct control *ctl;		/* the threads' way to it (ctl may be gone) */
	struct control_client *client;	/* NULL once it left (main thread) */
	uid_t uid;
	bool discard;			/* only close the descriptors; resp is ready */
	struct subflow_control_request req;
	int fds[CONTROL_MAX_FDS];
	int nfds;
	uint64_t netns_cookie;		/* the daemon's */
	struct subflow_control_response resp;
	struct subflow_conn_filter filter;	/* SUBSCRIBE: the connection found */
	struct control_job *next;	/* running list (main thread) */
	struct control_job *next_done;	/* done list (under done_lock) */
};

struct control {
	struct daemon *d;
	int listen_fd, event_fd, epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;		/* the socket file we bound, removed at exit if still ours */
	gid_t gid;
	struct control_client clients[CONTROL_MAX_CLIENTS];
	size_t next_pending;	/* round robin over waiting clients */
	struct control_job *running;
	unsigned int nr_running;
	pthread_mutex_t done_lock;
	struct control_job *done;
	uint64_t requests, refused, limited;
	int tag_listen, tag_event;
};

static struct control *ctl;

/* ---- the library's messages, as the client's answer ------------------------------ */

/* A job's thread puts the first error the library reports into its
 * response: the client prints it as its own library would. */
static __thread char *capture;
static subflow_print_fn_t daemon_print;

static int control_print(enum subflow_print_level level, const char *fmt, va_list ap)
{
	size_t len;

	if (!capture)
		return daemon_print ? daemon_print(level, fmt, ap) : 0;
	if (level != SUBFLOW_PRINT_ERROR || capture[0])
		return 0;
	vsnprintf(capture, sizeof(((struct subflow_control_response *)0)->message), fmt, ap);
	len = strlen(capture);
	if (len && capture[len - 1] == '\n')
		capture[len - 1] = '\0';
	return 0;
}

static void set_message(struct subflow_control_response *resp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_message(struct subflow_control_response *resp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(resp->message, sizeof(resp->message), fmt, ap);
	va_end(ap);
}

static void response_init(struct subflow_control_response *resp, uint32_t op, uint64_t seq)
{
	memset(resp, 0, sizeof(*resp));
	resp->magic = SUBFLOW_CONTROL_MAGIC;
	resp->version = SUBFLOW_CONTROL_VERSION;
	resp->size = sizeof(*resp);
	resp->op = op;
	resp->seq = seq;
}

static const char *op_name(uint32_t op)
{
	static const char *const names[SUBFLOW_CONTROL_OP_MAX] = {
		[SUBFLOW_CONTROL_OPEN] = "open",
		[SUBFLOW_CONTROL_CLOSE] = "close",
		[SUBFLOW_CONTROL_SET_BACKUP] = "set backup",
		[SUBFLOW_CONTROL_SETSOCKOPT] = "setsockopt",
		[SUBFLOW_CONTROL_GETSOCKOPT] = "getsockopt",
		[SUBFLOW_CONTROL_SUBSCRIBE] = "subscribe",
		[SUBFLOW_CONTROL_STATUS] = "status",
	};

	return op > 0 && op < SUBFLOW_CONTROL_OP_MAX ? names[op] : "?";
}

/* ---- clients ------------------------------------------------------------------------- */

static bool is_client_tag(const void *tag)
{
	const char *p = tag, *base = (const char *)ctl->clients;

	return p >= base && p < base + sizeof(ctl->clients);
}

static unsigned int uid_clients(uid_t uid)
{
	unsigned int n = 0;

	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		n += ctl->clients[i].fd >= 0 && ctl->clients[i].uid == uid;
	return n;
}

static unsigned int uid_jobs(uid_t uid)
{
	unsigned int n = 0;

	for (struct control_job *j = ctl->running; j; j = j->next)
		n += j->uid == uid;
	return n;
}

/* Read a connection only while nothing of it is in progress or waiting. */
static void update_interest(struct control_client *cl)
{
	struct epoll_event ev = { .data.ptr = cl };
	uint32_t want = cl->job || cl->pending ? 0 : EPOLLIN;

	if (cl->fd < 0 || want == cl->interest)
		return;
	ev.events = want;
	if (!epoll_ctl(ctl->epfd, EPOLL_CTL_MOD, cl->fd, &ev))
		cl->interest = want;
}

static void start_job(struct control_job *j);

static void drop_client(struct control_client *cl)
{
	if (cl->fd < 0)
		return;
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);	/* our end of a Unix socket: never blocks */
	cl->fd = -1;
	if (cl->job)
		cl->job->client = NULL;
	if (cl->pending) {
		/* Its descriptors are closed on a thread all the same. */
		cl->pending->client = NULL;
		cl->pending->discard = true;
		start_job(cl->pending);
	}
	cl->job = cl->pending = NULL;
	cl->subscriber = false;
}

/* false: the client is gone (dropped: it does not read its answers). */
static bool send_response(struct control_client *cl, const struct subflow_control_response *resp)
{
	if (send(cl->fd, resp, sizeof(*resp), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(*resp))
		return true;
	if (errno == EAGAIN)
		pr_debug("control: dropping uid %u pid %d: it does not read its answers\n",
			 (unsigned int)cl->uid, (int)cl->pid);
	drop_client(cl);
	return false;
}

static void on_listen(void)
{
	for (int i = 0; i < CONTROL_ACCEPTS_PER_ROUND; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct control_client *cl = NULL;
		struct subflow_control_response resp;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd;

		fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;	/* EAGAIN, or out of descriptors: the next round */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			close(fd);
			continue;
		}
		for (size_t k = 0; k < CONTROL_MAX_CLIENTS && !cl; k++)
			if (ctl->clients[k].fd < 0)
				cl = &ctl->clients[k];
		if (!cl || uid_clients(cred.uid) >= CONTROL_MAX_CLIENTS_PER_UID) {
			ctl->limited++;
			response_init(&resp, 0, 0);
			resp.error = -EAGAIN;
			set_message(&resp, "the subflow daemon serves %u connections at most%s: try again later",
				    cl ? CONTROL_MAX_CLIENTS_PER_UID : CONTROL_MAX_CLIENTS,
				    cl ? " per user, and this user has as many" : "");
			send(fd, &resp, sizeof(resp), MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->uid = cred.uid;
		cl->gid = cred.gid;
		cl->pid = cred.pid;
		cl->interest = EPOLLIN;
		ev.data.ptr = cl;
		if (epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			cl->fd = -1;
		}
	}
}

/* ---- checking a request ------------------------------------------------------------------ */

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool endpoint_ok(const struct subflow_endpoint *ep)
{
	if (ep->family == SUBFLOW_AF_INET)
		return all_zero(ep->addr + 4, 12);
	return ep->family == SUBFLOW_AF_INET6;
}

static long read_sysctl_long(const char *path, long fallback)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	long v = fallback;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			v = strtol(buf, NULL, 10);
		fclose(f);
	}
	return v;
}

static bool cc_allowed(const char *name)
{
	char buf[1024] = "", *tok, *save = NULL;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "re");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, name))
			return true;
	return false;
}

/* What the kernel lets an unprivileged process do to its own socket, the
 * daemon lets it do to its own subflows, and no more: no SO_MARK (it steers
 * routing and firewalls: CAP_NET_ADMIN), SO_PRIORITY 0..6, only the
 * congestion controls of tcp_allowed_congestion_control, no local port
 * below ip_unprivileged_port_start. Root peers may do anything. */
static int check_privilege(const struct control_client *cl, const struct subflow_control_request *req,
			   struct subflow_control_response *resp)
{
	long first_port;

	if (cl->uid == 0)
		return 0;
	if (req->op == SUBFLOW_CONTROL_OPEN && req->local.port) {
		first_port = read_sysctl_long("/proc/sys/net/ipv4/ip_unprivileged_port_start", 1024);
		if (req->local.port < first_port) {
			set_message(resp, "open: local port %u is below net.ipv4.ip_unprivileged_port_start (%ld): only root may use it",
				    req->local.port, first_port);
			return -EACCES;
		}
	}
	if (req->op != SUBFLOW_CONTROL_SETSOCKOPT)
		return 0;
	switch (req->option) {
	case SUBFLOW_SOCKOPT_MARK:
		set_message(resp, "setsockopt mark: setting SO_MARK needs CAP_NET_ADMIN, on a subflow as on any socket");
		return -EPERM;
	case SUBFLOW_SOCKOPT_PRIORITY:
		if (req->value.value > 6) {
			set_message(resp, "setsockopt priority %llu: above 6 needs CAP_NET_ADMIN, on a subflow as on any socket",
				    (unsigned long long)req->value.value);
			return -EPERM;
		}
		return 0;
	case SUBFLOW_SOCKOPT_CC:
		if (!cc_allowed(req->value.cc)) {
			set_message(resp, "setsockopt cc %s: not in net.ipv4.tcp_allowed_congestion_control, so only root may choose it",
				    req->value.cc);
			return -EPERM;
		}
		return 0;
	default:
		return 0;
	}
}

/* 0, or -errno with the reason in resp->message: the message, its header,
 * the fields of the op (which are cleared in a copy: whatever is left must
 * be 0), what it is about (socket or token), the peer's privileges. */
static int check_request(const struct control_client *cl, const struct subflow_control_request *req,
			 ssize_t len, int msg_flags, int nfds, struct subflow_control_response *resp)
{
	bool by_token = req->flags & SUBFLOW_CONTROL_F_BY_TOKEN;
	struct subflow_control_request rest;

	if (len != (ssize_t)sizeof(*req) || (msg_flags & MSG_TRUNC)) {
		set_message(resp, "a control request is %zu bytes (struct subflow_control_request), not %zd",
			    sizeof(*req), len);
		return -EPROTO;
	}
	if (req->magic != SUBFLOW_CONTROL_MAGIC) {
		set_message(resp, "not a subflow control request (magic 0x%08x)", req->magic);
		return -EPROTO;
	}
	if (req->version != SUBFLOW_CONTROL_VERSION || req->size != sizeof(*req)) {
		set_message(resp, "control protocol version %u (size %u): this daemon speaks version %u (size %zu)",
			    req->version, req->size, SUBFLOW_CONTROL_VERSION, sizeof(*req));
		return -EPROTO;
	}
	if (msg_flags & MSG_CTRUNC) {
		set_message(resp, "a request carries one descriptor at most");
		return -EINVAL;
	}
	if (!req->op || req->op >= SUBFLOW_CONTROL_OP_MAX) {
		set_message(resp, "unknown control op %u", req->op);
		return -EINVAL;
	}
	if (req->flags & ~SUBFLOW_CONTROL_F_BY_TOKEN) {
		set_message(resp, "unknown control flags 0x%x", req->flags & ~SUBFLOW_CONTROL_F_BY_TOKEN);
		return -EINVAL;
	}
	if (cl->subscriber) {
		set_message(resp, "this connection carries a subscription's events: open another for requests");
		return -EINVAL;
	}
	rest = *req;
	memset(&rest, 0, offsetof(struct subflow_control_request, netns_cookie));
	rest.netns_cookie = 0;
	rest.token = 0;
	switch (req->op) {
	case SUBFLOW_CONTROL_OPEN:
		if (req->open_flags & ~SUBFLOW_OPEN_BACKUP) {
			set_message(resp, "open: unknown flags 0x%x", req->open_flags & ~SUBFLOW_OPEN_BACKUP);
			return -EINVAL;
		}
		if (req->timeout_ms > SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS) {
			set_message(resp, "open: timeout %u ms is more than %u ms", req->timeout_ms,
				    SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS);
			return -EINVAL;
		}
		if (!endpoint_ok(&req->local) || !endpoint_ok(&req->remote)) {
			set_message(resp, "open: addresses must be IPv4 (family %u, addr[4..15] 0) or IPv6 (family %u)",
				    SUBFLOW_AF_INET, SUBFLOW_AF_INET6);
			return -EAFNOSUPPORT;
		}
		if (req->local.family != req->remote.family) {
			set_message(resp, "open: the local and remote addresses are of different families");
			return -EINVAL;
		}
		rest.open_flags = rest.timeout_ms = 0;
		memset(&rest.local, 0, sizeof(rest.local));
		memset(&rest.remote, 0, sizeof(rest.remote));
		break;
	case SUBFLOW_CONTROL_SET_BACKUP:
		if (req->backup > 1) {
			set_message(resp, "set backup: backup is 0 or 1, not %u", req->backup);
			return -EINVAL;
		}
		rest.backup = 0;
		/* fall through */
	case SUBFLOW_CONTROL_CLOSE:
		rest.id = 0;
		break;
	case SUBFLOW_CONTROL_SETSOCKOPT:
		if (req->option == SUBFLOW_SOCKOPT_CC ? !memchr(req->value.cc, '\0', sizeof(req->value.cc))
						      : !all_zero(req->value.cc, sizeof(req->value.cc))) {
			set_message(resp, "setsockopt: cc must be NUL-terminated for option cc, and all 0 for the others");
			return -EINVAL;
		}
		if (req->option != SUBFLOW_SOCKOPT_KEEPALIVE &&
		    (req->value.keepalive_idle_s || req->value.keepalive_intvl_s || req->value.keepalive_count)) {
			set_message(resp, "setsockopt: the keepalive fields are for option keepalive only");
			return -EINVAL;
		}
		if (req->value.pad) {
			set_message(resp, "setsockopt: the value's pad is not 0");
			return -EINVAL;
		}
		memset(&rest.value, 0, sizeof(rest.value));
		/* fall through */
	case SUBFLOW_CONTROL_GETSOCKOPT:
		if (!subflow_sockopt_name(req->option)) {
			set_message(resp, "%s: unknown option %u", op_name(req->op), req->option);
			return -EINVAL;
		}
		rest.id = rest.option = 0;
		break;
	default:
		break;
	}
	if (!all_zero(&rest, sizeof(rest))) {
		set_message(resp, "%s: a field this request does not use is not 0 (reserved fields included)",
			    op_name(req->op));
		return -EINVAL;
	}

	/* What it is about: nothing, a token (root), or the socket passed. */
	if (req->op == SUBFLOW_CONTROL_STATUS) {
		if (by_token || nfds) {
			set_message(resp, "status takes no socket and no token");
			return -EINVAL;
		}
	} else if (by_token) {
		if (nfds) {
			set_message(resp, "a request by token carries no socket");
			return -EINVAL;
		}
		if (cl->uid != 0) {
			set_message(resp, "%s by token: only root may act on a connection by its token; pass the connection's socket instead",
				    op_name(req->op));
			return -EPERM;
		}
		if (!req->token) {
			set_message(resp, "%s by token: token 0 names no connection", op_name(req->op));
			return -EINVAL;
		}
		if (req->netns_cookie && req->netns_cookie != ctl->d->netns_cookie) {
			set_message(resp, "network namespace cookie %llu is not managed by this daemon (it manages %llu)",
				    (unsigned long long)req->netns_cookie,
				    (unsigned long long)ctl->d->netns_cookie);
			return -EXDEV;
		}
	} else {
		if (nfds != 1) {
			set_message(resp, "%s: a request about a connection carries its socket (SCM_RIGHTS, one descriptor), not %d",
				    op_name(req->op), nfds);
			return -EBADF;
		}
		if (req->token || req->netns_cookie) {
			set_message(resp, "%s: a request with a socket names no token nor namespace (the daemon reads them from the socket)",
				    op_name(req->op));
			return -EINVAL;
		}
	}
	return check_privilege(cl, req, resp);
}

/* ---- carrying a request out (on its own thread) --------------------------------------- */

/* The socket passed is an MPTCP socket of this namespace, still multipath:
 * its token. */
static int check_socket(int fd, uint64_t netns_cookie, char *msg, size_t size)
{
	struct mptcp_info info;
	int proto = 0, domain = 0;
	uint64_t cookie = 0;
	socklen_t len = sizeof(proto);

	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len)) {
		if (errno == ENOTSOCK) {
			snprintf(msg, size, "the descriptor passed is not a socket: pass the MPTCP connection's socket");
			return -ENOTSOCK;
		}
		snprintf(msg, size, "cannot read the protocol of the socket passed: %s", strerror(errno));
		return -errno;
	}
	len = sizeof(domain);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	if (proto != IPPROTO_MPTCP) {
		snprintf(msg, size, "not an MPTCP socket (domain %d, protocol %d%s): create it with socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)",
			 domain, proto, proto == IPPROTO_TCP ? ", TCP" : "");
		return -EOPNOTSUPP;
	}
	len = sizeof(cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len)) {
		snprintf(msg, size, "cannot read the socket's network namespace: %s", strerror(errno));
		return -errno;
	}
	if (cookie != netns_cookie) {
		snprintf(msg, size, "the socket is in network namespace cookie %llu, which this daemon does not manage (it manages %llu): ask that namespace's daemon",
			 (unsigned long long)cookie, (unsigned long long)netns_cookie);
		return -EXDEV;
	}
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) || !len ||
	    (info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK)) {
		snprintf(msg, size, "the connection fell back to plain TCP (the peer, or a middlebox, does not speak MPTCP): it has no subflows to control");
		return -EOPNOTSUPP;
	}
	if (!info.mptcpi_token) {
		snprintf(msg, size, "the MPTCP socket has no connection yet (not connected, or a listener)");
		return -ENOTCONN;
	}
	return 0;
}

static int carry_out(struct control_job *j, int fd)
{
	const struct subflow_control_request *r = &j->req;
	struct subflow_sockopt_value v;
	struct sockaddr_storage l, rem;
	struct subflow_conn_info ci;
	uint32_t token = r->token;
	int err;

	if (fd >= 0) {
		err = check_socket(fd, j->netns_cookie, j->resp.message, sizeof(j->resp.message));
		if (!err)
			err = subflow_ops_fd_conn(fd, &token);
		if (err)
			return err;
	}
	switch (r->op) {
	case SUBFLOW_CONTROL_OPEN:
		subflow_endpoint_to_sockaddr(&r->local, &l);
		subflow_endpoint_to_sockaddr(&r->remote, &rem);
		return subflow_ops_open(fd, 0, token, (struct sockaddr *)&l, (struct sockaddr *)&rem,
					r->open_flags, r->timeout_ms, &j->resp.id);
	case SUBFLOW_CONTROL_CLOSE:
		return fd >= 0 ? subflow_close(fd, r->id) : subflow_close_by_token(0, token, r->id);
	case SUBFLOW_CONTROL_SET_BACKUP:
		return fd >= 0 ? subflow_set_backup(fd, r->id, r->backup)
			       : subflow_set_backup_by_token(0, token, r->id, r->backup);
	case SUBFLOW_CONTROL_SETSOCKOPT:
		subflow_control_sockopt_from_wire(&r->value, &v);
		return fd >= 0 ? subflow_setsockopt_fd(fd, r->id, r->option, &v)
			       : subflow_setsockopt(token, r->id, r->option, &v);
	case SUBFLOW_CONTROL_GETSOCKOPT:
		err = fd >= 0 ? subflow_getsockopt_fd(fd, r->id, r->option, &v)
			      : subflow_getsockopt(token, r->id, r->option, &v);
		if (!err)
			subflow_control_sockopt_to_wire(&v, &j->resp.value);
		return err;
	case SUBFLOW_CONTROL_SUBSCRIBE:
		err = subflow_get_conn_info(j->netns_cookie, token, &ci);
		if (err == -ESRCH)
			snprintf(j->resp.message, sizeof(j->resp.message),
				 "connection 0x%08x is not tracked by the engine: its process's cgroup is not attached (subflowctl cgroup attach), so there are no events to subscribe to",
				 token);
		if (err)
			return err;
		j->filter.netns_cookie = j->netns_cookie;
		j->filter.token = token;
		return 0;
	}
	return -EINVAL;
}

static void *job_thread(void *arg)
{
	struct control_job *j = arg;
	uint64_t one = 1;

	if (!j->discard) {
		capture = j->resp.message;
		j->resp.error = carry_out(j, j->nfds ? j->fds[0] : -1);
		capture = NULL;
		if (j->resp.error && !j->resp.message[0])
			set_message(&j->resp, "%s: %s", op_name(j->req.op), strerror(-j->resp.error));
		if (!j->resp.error)
			j->resp.message[0] = '\0';
	}
	/* Here, not in the loop: the last close of what a client passed may block. */
	for (int i = 0; i < j->nfds; i++)
		close(j->fds[i]);
	pthread_mutex_lock(&j->ctl->done_lock);
	j->next_done = j->ctl->done;
	j->ctl->done = j;
	pthread_mutex_unlock(&j->ctl->done_lock);
	/* Fails only when the counter is full: the loop is reading it anyway. */
	(void)!write(j->ctl->event_fd, &one, sizeof(one));
	return NULL;
}

static void start_job(struct control_job *j)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	j->next = ctl->running;
	ctl->running = j;
	ctl->nr_running++;
	if (j->client) {
		j->client->job = j;
		update_interest(j->client);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, job_thread, j);
	pthread_attr_destroy(&attr);
	if (err) {
		/* No thread: answer now; the descriptors are closed here
		 * (rather than leaked), at the risk of the loop waiting. */
		j->resp.error = -err;
		set_message(&j->resp, "the subflow daemon cannot start a thread: %s", strerror(err));
		j->discard = true;
		job_thread(j);
	}
}

static bool may_start(uid_t uid)
{
	return ctl->nr_running < CONTROL_MAX_JOBS && uid_jobs(uid) < CONTROL_MAX_JOBS_PER_UID;
}

/* Start what waits, round robin over the clients, as far as the limits go. */
static void start_pending(void)
{
	for (size_t n = 0; n < CONTROL_MAX_CLIENTS && ctl->nr_running < CONTROL_MAX_JOBS; n++) {
		size_t i = (ctl->next_pending + n) % CONTROL_MAX_CLIENTS;
		struct control_client *cl = &ctl->clients[i];
		struct control_job *j = cl->pending;

		if (cl->fd < 0 || !j || !may_start(cl->uid))
			continue;
		cl->pending = NULL;
		start_job(j);
		ctl->next_pending = i + 1;
	}
}

static void on_done(void)
{
	struct control_job *list, *j, **pp;
	uint64_t count;

	(void)!read(ctl->event_fd, &count, sizeof(count));	/* the list tells what is done */
	pthread_mutex_lock(&ctl->done_lock);
	list = ctl->done;
	ctl->done = NULL;
	pthread_mutex_unlock(&ctl->done_lock);
	while ((j = list)) {
		struct control_client *cl = j->client;

		list = j->next_done;
		for (pp = &ctl->running; *pp; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		ctl->nr_running--;
		if (!j->discard)
			ctl->requests++;
		pr_debug("control: uid %u op %s: %s\n", (unsigned int)j->uid, op_name(j->req.op),
			 j->resp.error ? j->resp.message : "done");
		if (cl) {
			cl->job = NULL;
			if (!j->discard && j->req.op == SUBFLOW_CONTROL_SUBSCRIBE && !j->resp.error) {
				cl->subscriber = true;
				cl->filter = j->filter;
			}
			if (send_response(cl, &j->resp))
				update_interest(cl);
		}
		free(j);
	}
	start_pending();
}

/* ---- reading a client ---------------------------------------------------------------------- */

static void status_of(struct subflow_control_status *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	st->netns_cookie = ctl->d->netns_cookie;
	st->pid = getpid();
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		st->clients += ctl->clients[i].fd >= 0;
		st->subscriptions += ctl->clients[i].fd >= 0 && ctl->clients[i].subscriber;
	}
	st->jobs = ctl->nr_running;
	st->requests = ctl->requests;
	st->refused = ctl->refused;
	st->limited = ctl->limited;
	st->gid = ctl->gid;
	st->mode = 0660;
	if (!stat(ctl->path, &sb) && sb.st_ino == ctl->ino) {
		st->gid = sb.st_gid;
		st->mode = sb.st_mode & 07777;
	}
}

/* One message of cl: false when there is none (or cl is gone). */
static bool read_one(struct control_client *cl)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct control_job *j;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int err;

	j = calloc(1, sizeof(*j));
	if (!j)
		return false;
	iov.iov_base = &j->req;
	iov.iov_len = sizeof(j->req);
	n = recvmsg(cl->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && j->nfds < CONTROL_MAX_FDS; i++)
			memcpy(&j->fds[j->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n <= 0) {
		/* 0: end of file (or an empty message, which no client sends). */
		if (n == 0 || errno != EAGAIN)
			drop_client(cl);
		free(j);
		return false;
	}
	j->ctl = ctl;
	j->client = cl;
	j->uid = cl->uid;
	j->netns_cookie = ctl->d->netns_cookie;
	response_init(&j->resp, n >= (ssize_t)offsetof(struct subflow_control_request, netns_cookie) ?
				j->req.op : 0,
		      n >= (ssize_t)offsetof(struct subflow_control_request, netns_cookie) ? j->req.seq : 0);
	err = check_request(cl, &j->req, n, msg.msg_flags,
			    (msg.msg_flags & MSG_CTRUNC) ? j->nfds + 1 : j->nfds, &j->resp);
	if (err) {
		ctl->refused++;
		j->resp.error = err;
		pr_debug("control: uid %u pid %d: refused: %s\n", (unsigned int)cl->uid, (int)cl->pid,
			 j->resp.message);
		if (j->nfds) {
			j->discard = true;
			goto queue;	/* answered once the descriptors are closed */
		}
		send_response(cl, &j->resp);
		free(j);
		return cl->fd >= 0;
	}
	if (j->req.op == SUBFLOW_CONTROL_STATUS) {
		status_of(&j->resp.status);
		send_response(cl, &j->resp);
		free(j);
		return cl->fd >= 0;
	}
	if (j->req.op == SUBFLOW_CONTROL_SUBSCRIBE && !ctl->d->events) {
		j->resp.error = -EBUSY;
		set_message(&j->resp, "the subflow daemon reads no events (every event reader slot is taken): no subscriptions");
		j->discard = true;
	}
queue:
	if (may_start(cl->uid)) {
		start_job(j);
	} else {
		cl->pending = j;
		update_interest(cl);
	}
	return false;	/* one request in progress per connection */
}

static void on_client(struct control_client *cl, uint32_t events)
{
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
		drop_client(cl);
		return;
	}
	for (int i = 0; i < CONTROL_MESSAGES_PER_ROUND && cl->fd >= 0; i++)
		if (cl->job || cl->pending || !read_one(cl))
			break;
}

/* ---- events of the subscriptions ------------------------------------------------------------ */

void control_on_engine_event(struct daemon *d, const struct subflow_event *ev)
{
	static struct subflow_control_response resp;

	if (!ctl)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *cl = &ctl->clients[i];

		if (cl->fd < 0 || !cl->subscriber || !subflow_conn_filter_pass(&cl->filter, ev))
			continue;
		response_init(&resp, SUBFLOW_CONTROL_EVENT, 0);
		resp.events_lost = cl->lost;
		resp.event = *ev;
		resp.event.size = sizeof(resp.event);	/* what follows a decision stays here */
		if (send(cl->fd, &resp, sizeof(resp), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(resp))
			continue;
		if (errno == EAGAIN)
			cl->lost++;
		else
			drop_client(cl);
	}
}

bool control_on_epoll(struct daemon *d, void *tag, uint32_t events)
{
	if (!ctl)
		return false;
	if (tag == &ctl->tag_listen)
		on_listen();
	else if (tag == &ctl->tag_event)
		on_done();
	else if (is_client_tag(tag))
		on_client(tag, events);
	else
		return false;
	return true;
}

/* ---- the socket ------------------------------------------------------------------------------ */

/* Many descriptors may be in flight (CONTROL_MAX_FDS per request). */
static void raise_nofile(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static int bind_socket(struct control *c, int dir_fd, const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int err;

	/* A socket left by a daemon that died: ours to replace (we hold the
	 * namespace's lock); anything else there is not. */
	if (!fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("control socket %s: something that is not a socket is in the way\n", c->path);
			return -EEXIST;
		}
		if (unlinkat(dir_fd, name, 0))
			return -errno;
	}
	c->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->path);
	old = umask(0177);	/* born 0600: nobody connects before chown and chmod */
	err = bind(c->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
	umask(old);
	if (err)
		return err;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (fchownat(dir_fd, name, 0, c->gid, AT_SYMLINK_NOFOLLOW) || fchmodat(dir_fd, name, 0660, 0))
		return -errno;
	return listen(c->listen_fd, CONTROL_BACKLOG) ? -errno : 0;
}

static int epoll_tag(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int control_open(struct daemon *d, int epfd)
{
	struct control *c;
	const char *name;
	int dir_fd, err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->epfd = epfd;
	c->listen_fd = c->event_fd = -1;
	c->gid = d->opt.control_gid;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	pthread_mutex_init(&c->done_lock, NULL);
	err = subflow_control_socket_path(d->netns_cookie, subflow_control_host_netns(), c->path, sizeof(c->path));
	if (err)
		goto fail;
	name = strrchr(c->path, '/') + 1;
	dir_fd = subflow_open_run_dir(true, "daemon directory", SUBFLOW_LOG_ERROR);
	if (dir_fd < 0) {
		err = dir_fd;
		goto fail;
	}
	/* Reachable by name for the group's members, listable by nobody. */
	err = fchmod(dir_fd, 0711) ? -errno : bind_socket(c, dir_fd, name);
	close(dir_fd);
	if (err) {
		pr_err("cannot serve the control socket %s: %s\n", c->path, strerror(-err));
		goto fail;
	}
	c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->event_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = epoll_tag(epfd, c->listen_fd, &c->tag_listen);
	if (!err)
		err = epoll_tag(epfd, c->event_fd, &c->tag_event);
	if (err)
		goto fail;
	raise_nofile();
	/* This process acts itself: never through its own socket. */
	subflow_control_disable();
	daemon_print = subflow_set_print(control_print);
	ctl = c;
	pr_info("control socket %s (mode 0660, group %u): applications control their own connections there\n",
		c->path, (unsigned int)c->gid);
	return 0;
fail:
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		if (c->ino)
			unlink(c->path);
	}
	if (c->event_fd >= 0)
		close(c->event_fd);
	free(c);
	return err;
}

const char *control_path(void)
{
	return ctl ? ctl->path : NULL;
}

void control_close(struct daemon *d)
{
	struct control *c = ctl;
	struct stat st;

	if (!c)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		drop_client(&c->clients[i]);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->listen_fd, NULL);
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->event_fd, NULL);
	close(c->listen_fd);
	if (!stat(c->path, &st) && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	subflow_set_print(daemon_print);
	/* Threads still carrying requests out (an open waits up to 30 s, a
	 * close may hang) use c: it stays, the process exits. */
	if (!c->nr_running) {
		close(c->event_fd);
		pthread_mutex_destroy(&c->done_lock);
		free(c);
	}
	ctl = NULL;
}
