// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The launcher: run an unmodified program with its TCP sockets created as
 * MPTCP, where the kernel refuses fmod_ret on update_socket_protocol.
 *
 * Mechanism: seccomp user notification. The child installs a filter that
 * sends socket(AF_INET|AF_INET6, SOCK_STREAM[|SOCK_NONBLOCK|SOCK_CLOEXEC],
 * 0|IPPROTO_TCP) of x86_64 to a listener, allows everything else, passes the
 * listener to the parent (SCM_RIGHTS) and execs the program. For each such
 * call the parent (the supervisor) creates socket(family, type,
 * IPPROTO_MPTCP) in the caller's network namespace and installs it as the
 * call's result with SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND
 * (atomic: the new fd is what socket() returns). When MPTCP cannot be created
 * (net.mptcp.enabled=0, no CONFIG_MPTCP, no fds left here) it answers
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE and the kernel makes the plain TCP socket
 * the program asked for. socket() takes no pointers, so CONTINUE is safe.
 *
 * The filter is inherited across fork, clone and execve: every descendant is
 * covered. Statically linked programs and raw syscalls (Go) are covered too:
 * the kernel, not libc, sees the call. 32-bit calls (i386 binaries, int 0x80)
 * and x32 are not matched and stay plain TCP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "mptcp_compat.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#if defined(__x86_64__)
#define LAUNCH_AUDIT_ARCH AUDIT_ARCH_X86_64
#endif

#define SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)

/* ---- The filter ------------------------------------------------------------ */

#ifdef LAUNCH_AUDIT_ARCH
#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]))	/* little endian: low half first */

/* socket(2) takes ints: the kernel ignores the upper halves of the three
 * arguments, and so does the filter. */
static const struct sock_filter launch_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, LAUNCH_AUDIT_ARCH, 0, 10),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 8),	/* x32's has bit 30 set */
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t)SOCK_FLAGS),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 0, 2),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
};
#endif

static int seccomp_call(unsigned int op, unsigned int flags, void *arg)
{
	return syscall(__NR_seccomp, op, flags, arg);
}

/* Install the filter on the calling thread and return its listener fd
 * (close-on-exec), or -errno. Without CAP_SYS_ADMIN the kernel requires
 * no_new_privs: it is set then, and *nnp says so. */
static int install_filter(bool *nnp)
{
#ifdef LAUNCH_AUDIT_ARCH
	struct sock_fprog prog = {
		.len = sizeof(launch_filter) / sizeof(launch_filter[0]),
		.filter = (struct sock_filter *)launch_filter,
	};
	unsigned int flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	int fd;

	*nnp = false;
	for (;;) {
		fd = seccomp_call(SECCOMP_SET_MODE_FILTER, flags, &prog);
		if (fd >= 0)
			return fd;
		/* Before 5.19: non-fatal signals may interrupt a served call
		 * (it is restarted), which is correct, only slower. */
		if (errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
			flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
			continue;
		}
		if (errno == EACCES && !*nnp) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
				return -errno;
			*nnp = true;
			continue;
		}
		return -errno;
	}
#else
	*nnp = false;
	return -EOPNOTSUPP;
#endif
}

/* ---- Passing the listener to the parent -------------------------------------- */

/* One record {step, err}; with the listener attached as SCM_RIGHTS when
 * fd >= 0. */
static int send_report(int sock, const void *rep, size_t len, int fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = (void *)rep, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		msg.msg_control = ctrl;
		msg.msg_controllen = sizeof(ctrl);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* What the child reports: {STEP_LISTENER, no_new_privs} with the listener
 * attached, then nothing (EOF: execvp() succeeded, the socket is
 * close-on-exec) or {STEP_EXEC, errno}; or {step, errno} for an earlier
 * failure. */
struct child_report {
	int32_t step;		/* enum launch_step, 0: the listener follows */
	int32_t err;		/* errno, or no_new_privs for step 0 */
};

enum launch_step {
	STEP_LISTENER,
	STEP_SETUP,
	STEP_SECCOMP,
	STEP_EXEC,
};

static int recv_report(int sock, struct child_report *rep, int *fd)
{
	char ctrl[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl, .msg_controllen = sizeof(ctrl),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;	/* EOF: the program was executed */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	if (n != sizeof(*rep))
		return -EPROTO;
	return 1;
}

static void child_report(int sock, enum launch_step step, int err)
{
	struct child_report rep = { .step = step, .err = err };

	if (send_report(sock, &rep, sizeof(rep), -1))
		_exit(125);
}

static void __attribute__((noreturn))
run_child(int sock, char *const argv[], const struct subflow_launch_opts *opts)
{
	struct child_report rep = {};
	bool nnp;
	int fd, err;

	if (opts && opts->child_setup) {
		err = opts->child_setup(opts->child_setup_ctx);
		if (err) {
			child_report(sock, STEP_SETUP, -err);
			_exit(125);
		}
	}
	fd = install_filter(&nnp);
	if (fd < 0) {
		child_report(sock, STEP_SECCOMP, -fd);
		_exit(125);
	}
	rep.err = nnp;
	/* From here on this process is filtered; nothing below creates a
	 * TCP socket, and the parent answers in any case. */
	if (send_report(sock, &rep, sizeof(rep), fd))
		_exit(125);
	close(fd);
	execvp(argv[0], argv);
	err = errno;
	child_report(sock, STEP_EXEC, err);
	_exit(err == ENOENT ? 127 : 126);
}

/* ---- Starting ----------------------------------------------------------------- */

static const char *const step_names[] = {
	[STEP_LISTENER] = "receive the seccomp listener",
	[STEP_SETUP] = "prepare the child",
	[STEP_SECCOMP] = "install the seccomp filter",
	[STEP_EXEC] = "execute",
};

static int alloc_notif_buffers(struct subflow_launch *l)
{
	struct seccomp_notif_sizes sizes;

	if (seccomp_call(SECCOMP_GET_NOTIF_SIZES, 0, &sizes))
		return -errno;
	/* The kernel may know a larger struct than our headers do. */
	l->req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ?
		      sizes.seccomp_notif : sizeof(struct seccomp_notif);
	l->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ?
		       sizes.seccomp_notif_resp : sizeof(struct seccomp_notif_resp);
	l->req = calloc(1, l->req_size);
	l->resp = calloc(1, l->resp_size);
	if (!l->req || !l->resp)
		return -ENOMEM;
	return 0;
}

static int own_netns(struct subflow_launch *l)
{
	ssize_t n;

	/* thread-self: under `subflowctl -n` this thread is in NETNS, the
	 * main thread is not. */
	l->own_netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (l->own_netns_fd < 0)
		return -errno;
	n = readlink("/proc/thread-self/ns/net", l->own_netns, sizeof(l->own_netns) - 1);
	if (n < 0)
		return -errno;
	l->own_netns[n] = '\0';
	return 0;
}

static int move_to_cgroup(const char *cgroup)
{
	char path[PATH_MAX];
	uint64_t id;
	int fd, err;

	err = subflow_cgroup_id_of(cgroup, &id);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		err = -errno;
		pr_err("cannot move into cgroup %s: %s\n", cgroup, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	close(fd);
	return 0;
}

void subflow_launch_init(struct subflow_launch *l)
{
	memset(l, 0, sizeof(*l));
	l->pid = -1;
	l->listener = -1;
	l->own_netns_fd = -1;
}

int subflow_launch_start(struct subflow_launch *l, char *const argv[],
			 const struct subflow_launch_opts *opts)
{
	struct child_report rep;
	int sv[2], err, fd, status;

#ifndef LAUNCH_AUDIT_ARCH
	pr_err("the launcher supports x86_64 only\n");
	return -EOPNOTSUPP;
#endif
	if (!argv || !argv[0])
		return -EINVAL;
	err = alloc_notif_buffers(l);
	if (!err)
		err = own_netns(l);
	if (err) {
		pr_err("cannot prepare the supervisor: %s\n", strerror(-err));
		return err;
	}
	/* Sockets are charged to the cgroup of the process that creates
	 * them: the supervisor goes first, the child follows by fork. */
	if (opts && opts->cgroup) {
		err = move_to_cgroup(opts->cgroup);
		if (err) {
			l->failed_step = "move into the cgroup";
			return err;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	l->pid = fork();
	if (l->pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		pr_err("fork: %s\n", strerror(-err));
		return err;
	}
	if (l->pid == 0) {
		close(sv[0]);
		run_child(sv[1], argv, opts);
	}
	close(sv[1]);

	err = recv_report(sv[0], &rep, &fd);
	if (err == 0)
		err = -EPROTO;	/* the child died without a word */
	if (err > 0 && rep.step == STEP_LISTENER) {
		l->listener = fd;
		l->no_new_privs = rep.err;
		err = fd < 0 ? -EPROTO : recv_report(sv[0], &rep, &fd);
		if (err == 0) {
			close(sv[0]);
			return 0;	/* the program runs */
		}
	}
	close(sv[0]);
	if (err > 0) {
		if (fd >= 0 && fd != l->listener)
			close(fd);
		l->failed_step = step_names[rep.step <= STEP_EXEC ? rep.step : STEP_SETUP];
		l->exec_failed = rep.step == STEP_EXEC;
		err = -(rep.err > 0 ? rep.err : EPROTO);
	} else {
		l->failed_step = step_names[STEP_LISTENER];
	}
	while (waitpid(l->pid, &status, 0) < 0 && errno == EINTR)
		;
	l->pid = -1;
	if (l->listener >= 0)
		close(l->listener);
	l->listener = -1;
	return err;
}

/* ---- Serving ------------------------------------------------------------------- */

static int respond_continue(struct subflow_launch *l, uint64_t id)
{
	struct seccomp_notif_resp *resp = l->resp;

	memset(resp, 0, l->resp_size);
	resp->id = id;
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (ioctl(l->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) && errno != ENOENT)
		return -errno;
	return 0;
}

/* The caller's network namespace, if it is not ours: an fd to setns() to,
 * -1 if it is ours, or -errno (the task is gone: -ENOENT). The namespace is
 * looked up before the notification is checked for validity: the pid still
 * named the caller when it was looked up (pids are reused only after the
 * task is gone, which invalidates the notification). The common case, our
 * own namespace, is told by the link's text ("net:[INODE]", unique to one
 * namespace): readlink() costs half a stat() of the link and opens nothing. */
static int caller_netns(struct subflow_launch *l, const struct seccomp_notif *req)
{
	char path[64], link[64];
	ssize_t n;
	int fd;

	if (req->pid <= 0)
		return -ESRCH;	/* not visible in our pid namespace */
	snprintf(path, sizeof(path), "/proc/%u/ns/net", req->pid);
	n = readlink(path, link, sizeof(link));
	if (n < 0)
		return -errno;
	if (ioctl(l->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id))
		return -ENOENT;
	if ((size_t)n == strlen(l->own_netns) && !memcmp(link, l->own_netns, n))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(l->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id)) {
		close(fd);
		return -ENOENT;
	}
	return fd;	/* the caller's, whichever it moved to meanwhile */
}

/* socket(family, type, IPPROTO_MPTCP) in the caller's network namespace, or
 * -errno. */
static int create_mptcp(struct subflow_launch *l, const struct seccomp_notif *req, int family,
			int type)
{
	int ns, fd, err;

	ns = caller_netns(l, req);
	if (ns < -1)
		return ns;
	if (ns >= 0 && setns(ns, CLONE_NEWNET)) {
		err = -errno;
		close(ns);
		return err;
	}
	fd = socket(family, type | SOCK_CLOEXEC, IPPROTO_MPTCP);
	err = fd < 0 ? -errno : 0;
	if (ns >= 0) {
		close(ns);
		/* Creating anything later in the wrong namespace is worse
		 * than stopping. */
		if (setns(l->own_netns_fd, CLONE_NEWNET)) {
			pr_err("cannot return to the supervisor's network namespace: %s\n",
			       strerror(errno));
			abort();
		}
		l->stats.other_netns++;
	}
	return err ? err : fd;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "AF_INET" : "AF_INET6";
}

static void note_fallback(struct subflow_launch *l, const struct seccomp_notif *req, int err)
{
	l->stats.tcp++;
	pr_debug("pid %u socket(%s, SOCK_STREAM): plain TCP (MPTCP socket: %s)\n", req->pid,
		 family_name((int)req->data.args[0]), strerror(-err));
	if (l->fallback_errno != -err) {
		l->fallback_errno = -err;
		pr_warn("pid %u: socket(%s, SOCK_STREAM) stays plain TCP: cannot create an MPTCP socket in its network namespace: %s\n",
			req->pid, family_name((int)req->data.args[0]), strerror(-err));
	}
}

static int serve_socket(struct subflow_launch *l, const struct seccomp_notif *req)
{
	struct seccomp_notif_addfd addfd = {};
	int family = (int)req->data.args[0];
	int type = (int)req->data.args[1];
	int fd, ret, err;

	fd = create_mptcp(l, req, family, type);
	if (fd == -ENOENT || fd == -ESRCH) {
		l->stats.interrupted++;	/* the caller is gone or was interrupted */
		return 0;
	}
	if (fd < 0) {
		note_fallback(l, req, fd);
		return respond_continue(l, req->id);
	}
	addfd.id = req->id;
	addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
	addfd.srcfd = fd;
	addfd.newfd_flags = (type & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
	ret = ioctl(l->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	err = errno;
	close(fd);
	if (ret >= 0) {
		l->stats.mptcp++;
		pr_debug("pid %u socket(%s, SOCK_STREAM): MPTCP, fd %d\n", req->pid,
			 family_name(family), ret);
		return 0;
	}
	if (err == ENOENT || err == ESRCH) {
		/* Interrupted before the fd went in: the kernel restarts
		 * the call (a new notification) or the task is dying. */
		l->stats.interrupted++;
		return 0;
	}
	/* The fd could not be installed in the caller (EMFILE, ...): let the
	 * kernel run the call itself, which fails the same way it would have
	 * without us. */
	note_fallback(l, req, -err);
	return respond_continue(l, req->id);
}

int subflow_launch_serve(struct subflow_launch *l)
{
	struct seccomp_notif *req = l->req;

	memset(req, 0, l->req_size);
	if (ioctl(l->listener, SECCOMP_IOCTL_NOTIF_RECV, req)) {
		/* ENOENT: the caller was interrupted before we read it. */
		if (errno == EINTR || errno == ENOENT)
			return 0;
		return -errno;
	}
#ifdef LAUNCH_AUDIT_ARCH
	if (req->data.arch == LAUNCH_AUDIT_ARCH && req->data.nr == __NR_socket)
		return serve_socket(l, req);
#endif
	return respond_continue(l, req->id);	/* the filter sends nothing else */
}

void subflow_launch_close(struct subflow_launch *l)
{
	if (l->listener >= 0)
		close(l->listener);
	if (l->own_netns_fd >= 0)
		close(l->own_netns_fd);
	free(l->req);
	free(l->resp);
	l->listener = l->own_netns_fd = -1;
	l->req = l->resp = NULL;
}
