// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's control socket, client side (protocol: include/subflow_control.h).
 *
 * An application that cannot reach the engine's pins (it is not root, or
 * runs under `ip netns exec`, which hides bpffs) cannot open a subflow,
 * close one, flip its backup bit, set an option on one or read the engine's
 * events: all of that needs CAP_NET_ADMIN or CAP_BPF. The same calls then
 * pass the application's socket to `subflowctl daemon` of the socket's
 * network namespace, which acts on that connection alone. Nothing to set
 * up in the application: the library decides by itself (subflow_control_wanted).
 *
 * One connection to the daemon per call (connect, one request, one
 * response, close), so that threads and fork() need no care; a subscription
 * to events keeps its connection, whose descriptor the application polls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include "internal.h"
#include "ops.h"

/* How long a call waits for the daemon's answer, beyond an open's own wait. */
#define REPLY_TIMEOUT_MS	10000
/* How long connect() may wait while the daemon's accept queue is full. */
#define CONNECT_TIMEOUT_S	5

static bool control_disabled;

void subflow_control_disable(void)
{
	control_disabled = true;
}

int subflow_control_socket_path(uint64_t netns_cookie, bool host, char *buf, size_t size)
{
	int n;

	if (host)
		n = snprintf(buf, size, "%s", SUBFLOW_CONTROL_HOST_SOCK);
	else
		n = snprintf(buf, size, SUBFLOW_CONTROL_NETNS_SOCK, (unsigned long long)netns_cookie);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool subflow_control_host_netns(void)
{
	struct stat self, init;

	return !stat("/proc/self/ns/net", &self) && !stat("/proc/1/ns/net", &init) &&
	       self.st_dev == init.st_dev && self.st_ino == init.st_ino;
}

/* The engine's pins are out of reach: not ours to open (not root), or not
 * there (not loaded, or bpffs hidden by `ip netns exec`). */
static bool pins_unreachable(void)
{
	int fd = open(subflow_pin_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == EACCES || errno == EPERM || errno == ENOENT;
}

/* What acting on a connection ourselves needs: netlink commands and resets
 * (CAP_NET_ADMIN), the one-shot iterator (CAP_BPF). */
static bool privileged(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return (data[CAP_NET_ADMIN / 32].effective & (1U << (CAP_NET_ADMIN % 32))) &&
	       (data[CAP_BPF / 32].effective & (1U << (CAP_BPF % 32)));
}

/* The namespace a call is about: fd's, or netns_cookie (0: the caller's). */
static int call_netns(int fd, uint64_t netns_cookie, uint64_t *out)
{
	socklen_t len = sizeof(*out);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, out, &len) == 0)
			return 0;
		if (errno == EBADF)
			return -EBADF;
		/* Not a socket: the caller's daemon says so. */
		return subflow_current_netns(out);
	}
	if (netns_cookie) {
		*out = netns_cookie;
		return 0;
	}
	return subflow_current_netns(out);
}

bool subflow_control_wanted(int fd, uint64_t netns_cookie)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t netns;
	struct stat st;

	if (control_disabled || !pins_unreachable())
		return false;
	if (!privileged())
		return true;	/* the daemon, or a clear error that it is not there */
	/* Root without the pins (`ip netns exec`) can act itself, except on
	 * events: through the namespace's own daemon when it has one. */
	return !call_netns(fd, netns_cookie, &netns) &&
	       !subflow_control_socket_path(netns, false, path, sizeof(path)) &&
	       !stat(path, &st) && S_ISSOCK(st.st_mode);
}

static const char *group_name(gid_t gid, char *buf, size_t size)
{
	struct group gr, *res = NULL;
	char scratch[1024];

	if (!getgrgid_r(gid, &gr, scratch, sizeof(scratch), &res) && res)
		snprintf(buf, size, "%s", gr.gr_name);
	else
		snprintf(buf, size, "%u", (unsigned int)gid);
	return buf;
}

static int try_connect(int s, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	return connect(s, (struct sockaddr *)&sun, sizeof(sun)) ? -errno : 0;
}

/* A connection to the daemon of namespace `netns`: its own socket, else the
 * host's daemon (which refuses, by name, a namespace it does not manage). */
static int control_connect(uint64_t netns)
{
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_S };
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], grp[64];
	struct stat st;
	int s, err;

	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* connect() on a full accept queue waits this long at most. */
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	subflow_control_socket_path(netns, false, path, sizeof(path));
	err = try_connect(s, path);
	if (err == -ENOENT) {
		subflow_control_socket_path(netns, true, path, sizeof(path));
		err = try_connect(s, path);
	}
	if (!err)
		return s;
	close(s);
	/* A root-owned run directory of mode 0700, which we cannot search,
	 * holds only the engine's locks: a daemon makes it 0711 before it
	 * binds its socket. Any other refusal is reported as it is. */
	if (err == -EACCES && stat(path, &st) && errno == EACCES &&
	    !stat(SUBFLOW_CONTROL_DIR, &st) && st.st_uid == 0 && (st.st_mode & 07777) == 0700)
		err = -ENOENT;
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		pr_err("the subflow daemon of this network namespace is not running (no one listens on "
		       SUBFLOW_CONTROL_NETNS_SOCK " nor " SUBFLOW_CONTROL_HOST_SOCK
		       "): start `subflowctl daemon` there, or act as root\n",
		       (unsigned long long)netns);
		return -EHOSTDOWN;
	case -EACCES:
	case -EPERM:
		if (stat(path, &st))
			pr_err("permission denied on the subflow daemon's control socket %s\n", path);
		else
			pr_err("permission denied on the subflow daemon's control socket %s (mode %04o, group %s): only root and members of that group may use it\n",
			       path, (unsigned int)(st.st_mode & 07777), group_name(st.st_gid, grp, sizeof(grp)));
		return -EACCES;
	case -EAGAIN:
		pr_err("the subflow daemon accepts no more connections right now (%s: queue full for %d s)\n",
		       path, CONNECT_TIMEOUT_S);
		return -EAGAIN;
	default:
		pr_err("cannot connect to the subflow daemon's control socket %s: %s\n", path, strerror(-err));
		return err;
	}
}

static int control_send(int s, int fd, const struct subflow_control_request *req)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = sizeof(*req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	if (sendmsg(s, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		int err = errno ? -errno : -EIO;

		pr_err("cannot send the request to the subflow daemon: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int subflow_control_recv(int s, struct subflow_control_response *resp, int timeout_ms)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(s, resp, sizeof(*resp), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0) {
		pr_err("the subflow daemon closed the connection (it stopped, or refused this client)\n");
		return -ECONNRESET;
	}
	if (n != (ssize_t)sizeof(*resp) || resp->magic != SUBFLOW_CONTROL_MAGIC ||
	    resp->version != SUBFLOW_CONTROL_VERSION || resp->size != sizeof(*resp)) {
		pr_err("the subflow daemon's answer is not of this library's protocol (version %u, %zd bytes; expected version %u, %zu bytes): update both to the same release\n",
		       n >= 6 ? resp->version : 0, n, SUBFLOW_CONTROL_VERSION, sizeof(*resp));
		return -EPROTO;
	}
	resp->message[sizeof(resp->message) - 1] = '\0';
	return 0;
}

void subflow_control_request_init(struct subflow_control_request *req, enum subflow_control_op op)
{
	static __thread uint64_t seq;

	memset(req, 0, sizeof(*req));
	req->magic = SUBFLOW_CONTROL_MAGIC;
	req->version = SUBFLOW_CONTROL_VERSION;
	req->size = sizeof(*req);
	req->op = op;
	req->seq = ++seq;
}

/* Send req (with fd, if >= 0) to the daemon of the connection's namespace
 * over connection s, and wait for its response. */
static int exchange(int s, int fd, const struct subflow_control_request *req,
		    struct subflow_control_response *resp)
{
	int timeout = REPLY_TIMEOUT_MS, err;

	if (req->op == SUBFLOW_CONTROL_OPEN)
		timeout += req->timeout_ms ? req->timeout_ms : SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS;
	err = control_send(s, fd, req);
	if (err)
		return err;
	err = subflow_control_recv(s, resp, timeout);
	if (err == -ETIMEDOUT)
		pr_err("no answer from the subflow daemon within %d ms\n", timeout);
	if (err)
		return err;
	if (resp->op != req->op || resp->seq != req->seq) {
		pr_err("the subflow daemon answered another request (op %u seq %llu, not op %u seq %llu)\n",
		       resp->op, (unsigned long long)resp->seq, req->op, (unsigned long long)req->seq);
		return -EPROTO;
	}
	if (resp->error > 0 || resp->error < -4095) {
		pr_err("the subflow daemon answered a bad error code %d\n", resp->error);
		return -EPROTO;
	}
	if (resp->error && resp->message[0])
		pr_err("%s\n", resp->message);
	return resp->error;
}

int subflow_control_call(int fd, uint64_t netns_cookie, struct subflow_control_request *req,
			 struct subflow_control_response *resp)
{
	uint64_t netns;
	int s, err;

	err = call_netns(fd, netns_cookie, &netns);
	if (err)
		return err;
	s = control_connect(netns);
	if (s < 0)
		return s;
	err = exchange(s, fd, req, resp);
	close(s);
	return err;
}

int subflow_control_subscribe(int fd, uint64_t netns_cookie, uint32_t token)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;
	uint64_t netns;
	int s, err;

	err = call_netns(fd, netns_cookie, &netns);
	if (err)
		return err;
	subflow_control_request_init(&req, SUBFLOW_CONTROL_SUBSCRIBE);
	if (fd < 0) {
		req.flags = SUBFLOW_CONTROL_F_BY_TOKEN;
		req.netns_cookie = netns_cookie;
		req.token = token;
	}
	s = control_connect(netns);
	if (s < 0)
		return s;
	err = exchange(s, fd, &req, &resp);
	if (err) {
		close(s);
		return err;
	}
	return s;
}

/* ---- The calls, as requests --------------------------------------------------------- */

static void by_key(struct subflow_control_request *req, int fd, uint64_t netns_cookie,
		   uint32_t token)
{
	if (fd >= 0)
		return;
	req->flags = SUBFLOW_CONTROL_F_BY_TOKEN;
	req->netns_cookie = netns_cookie;
	req->token = token;
}

int subflow_control_open(int fd, uint64_t netns_cookie, uint32_t token, const struct sockaddr *local,
			 const struct sockaddr *remote, unsigned int flags, unsigned int timeout_ms,
			 uint32_t *id)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;
	int err;

	subflow_control_request_init(&req, SUBFLOW_CONTROL_OPEN);
	by_key(&req, fd, netns_cookie, token);
	if (!local || !remote || subflow_sockaddr_to_endpoint(local, &req.local) ||
	    subflow_sockaddr_to_endpoint(remote, &req.remote)) {
		pr_err("subflow open: addresses must be IPv4 or IPv6\n");
		return -EAFNOSUPPORT;
	}
	req.open_flags = flags;
	req.timeout_ms = timeout_ms < SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS ? timeout_ms
									   : SUBFLOW_CONTROL_OPEN_TIMEOUT_MAX_MS;
	err = subflow_control_call(fd, netns_cookie, &req, &resp);
	if (!err && id)
		*id = resp.id;
	return err;
}

int subflow_control_close(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;

	subflow_control_request_init(&req, SUBFLOW_CONTROL_CLOSE);
	by_key(&req, fd, netns_cookie, token);
	req.id = id;
	return subflow_control_call(fd, netns_cookie, &req, &resp);
}

int subflow_control_set_backup(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id,
			       bool backup)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;

	subflow_control_request_init(&req, SUBFLOW_CONTROL_SET_BACKUP);
	by_key(&req, fd, netns_cookie, token);
	req.id = id;
	req.backup = backup;
	return subflow_control_call(fd, netns_cookie, &req, &resp);
}

void subflow_control_sockopt_to_wire(const struct subflow_sockopt_value *v,
				     struct subflow_control_sockopt *w)
{
	memset(w, 0, sizeof(*w));
	w->value = v->value;
	memcpy(w->cc, v->cc, sizeof(w->cc));
	w->cc[sizeof(w->cc) - 1] = '\0';
	w->keepalive_idle_s = v->keepalive_idle_s;
	w->keepalive_intvl_s = v->keepalive_intvl_s;
	w->keepalive_count = v->keepalive_count;
}

void subflow_control_sockopt_from_wire(const struct subflow_control_sockopt *w,
				       struct subflow_sockopt_value *v)
{
	memset(v, 0, sizeof(*v));
	v->value = w->value;
	memcpy(v->cc, w->cc, sizeof(v->cc));
	v->cc[sizeof(v->cc) - 1] = '\0';
	v->keepalive_idle_s = w->keepalive_idle_s;
	v->keepalive_intvl_s = w->keepalive_intvl_s;
	v->keepalive_count = w->keepalive_count;
}

int subflow_control_sockopt(int fd, uint64_t netns_cookie, uint32_t token, uint32_t id,
			    enum subflow_sockopt opt, bool set, struct subflow_sockopt_value *v)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;
	int err;

	subflow_control_request_init(&req, set ? SUBFLOW_CONTROL_SETSOCKOPT : SUBFLOW_CONTROL_GETSOCKOPT);
	by_key(&req, fd, netns_cookie, token);
	req.id = id;
	req.option = opt;
	if (set) {
		/* Only what the option uses: the daemon refuses anything else. */
		subflow_control_sockopt_to_wire(v, &req.value);
		if (opt != SUBFLOW_SOCKOPT_CC)
			memset(req.value.cc, 0, sizeof(req.value.cc));
		if (opt != SUBFLOW_SOCKOPT_KEEPALIVE)
			req.value.keepalive_idle_s = req.value.keepalive_intvl_s =
				req.value.keepalive_count = 0;
	}
	err = subflow_control_call(fd, netns_cookie, &req, &resp);
	if (!err && !set)
		subflow_control_sockopt_from_wire(&resp.value, v);
	return err;
}
