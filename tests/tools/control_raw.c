// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * control_raw: a client of the daemon's control socket that does not use
 * libsubflow (include/subflow_control.h only): what a hostile local user
 * can send. The tests run it as an unprivileged user.
 *
 *   control_raw SOCK garbage
 *       every kind of malformed request, each on the same connection; one
 *       JSON line per case: {"case", "error", "message"} (the daemon's
 *       answer), then {"case": "alive", ...}: a STATUS after all of them
 *   control_raw SOCK pass KIND [ADDR PORT]
 *       a CLOSE of subflow 1 with a descriptor of KIND: none, two, pipe,
 *       file, unix, udp, tcp (connected to ADDR PORT), mptcp-unconnected,
 *       mptcp-listener, mptcp-fallback (connected to a plain TCP listener of
 *       its own on 127.0.0.1: fallen back to TCP), mptcp (connected to ADDR
 *       PORT: a real connection of the caller's namespace), fdnum (no
 *       descriptor, a descriptor number written into the request's fields);
 *       one JSON line
 *   control_raw SOCK token TOKEN
 *       CLOSE, SET_BACKUP, GETSOCKOPT and SUBSCRIBE by token
 *   control_raw SOCK linger ADDR PORT GO_FILE
 *       connect TCP to ADDR PORT, print {"case": "connected"}, wait for
 *       GO_FILE (the test blackholes the path meanwhile), fill the socket
 *       with data that cannot be acknowledged, set SO_LINGER 30 s, pass it
 *       and close our copy at once: the daemon's close is the last one, and
 *       blocks up to 30 s; then wait for the answer and print it
 *   control_raw SOCK flood SECONDS CONNECTIONS
 *       CONNECTIONS connections sending malformed requests (some with a
 *       descriptor) as fast as they can, half of them never reading the
 *       answers, plus connect/close churn, for SECONDS; prints counts
 *   control_raw - spin SECONDS PROCESSES
 *       PROCESSES busy loops for SECONDS: the CPU load of a flood without
 *       the socket (the benchmark's baseline)
 *   control_raw pidfd PID FD
 *       pidfd_getfd() of another process's descriptor (the kernel must refuse)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "subflow_control.h"
#include "mptcp_compat.h"

static const char *sock_path;

static void die(const char *what)
{
	fprintf(stderr, "control_raw: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)))
		die(sock_path);
	return s;
}

static void request(struct subflow_control_request *r, uint32_t op)
{
	static uint64_t seq;

	memset(r, 0, sizeof(*r));
	r->magic = SUBFLOW_CONTROL_MAGIC;
	r->version = SUBFLOW_CONTROL_VERSION;
	r->size = sizeof(*r);
	r->op = op;
	r->seq = ++seq;
}

static ssize_t send_fds(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(s, &msg, MSG_NOSIGNAL);
}

/* The answer, within 5 s; false if none came. */
static bool answer(int s, struct subflow_control_response *resp)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	ssize_t n;

	memset(resp, 0, sizeof(*resp));
	if (poll(&p, 1, 5000) != 1)
		return false;
	n = recv(s, resp, sizeof(*resp), 0);
	if (n != (ssize_t)sizeof(*resp))
		return false;
	resp->message[sizeof(resp->message) - 1] = '\0';
	return true;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void report(const char *name, bool answered, const struct subflow_control_response *resp)
{
	printf("{\"case\": \"%s\", \"answered\": %s, \"error\": %d, \"message\": ", name,
	       answered ? "true" : "false", answered ? resp->error : 0);
	print_json_string(answered ? resp->message : "");
	printf("}\n");
	fflush(stdout);
}

/* ---- garbage ---------------------------------------------------------------------- */

static void garbage(void)
{
	struct subflow_control_request r;
	struct subflow_control_response resp;
	unsigned char big[4096];
	int s = dial(), p[2], fds[3];
	bool ok;

#define CASE(name, buf, len, fdv, nfd)                                        \
	do {                                                                  \
		send_fds(s, buf, len, fdv, nfd);                              \
		ok = answer(s, &resp);                                        \
		report(name, ok, &resp);                                      \
	} while (0)

	CASE("short", "x", 1, NULL, 0);
	memset(big, 0xa5, sizeof(big));
	CASE("long", big, sizeof(big), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.magic = 0xdeadbeef;
	CASE("bad magic", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.version = 99;
	CASE("bad version", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.size = 12;
	CASE("bad size field", &r, sizeof(r), NULL, 0);
	request(&r, 0);
	CASE("op 0", &r, sizeof(r), NULL, 0);
	request(&r, 1000);
	CASE("unknown op", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_EVENT);
	CASE("op event", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.flags = 0x80;
	CASE("unknown flag", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_STATUS);
	r.reserved[7] = 1;
	CASE("reserved byte", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.option = 3;
	CASE("unused field set", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_OPEN);
	r.local.family = 77;
	r.remote.family = 77;
	CASE("bad family", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_OPEN);
	r.local.family = SUBFLOW_AF_INET;
	r.remote.family = SUBFLOW_AF_INET6;
	CASE("mixed families", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_OPEN);
	r.local.family = r.remote.family = SUBFLOW_AF_INET;
	r.timeout_ms = 1000000;
	CASE("open timeout too long", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_SET_BACKUP);
	r.backup = 7;
	CASE("backup 7", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_SETSOCKOPT);
	r.option = 999;
	CASE("unknown option", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_SETSOCKOPT);
	r.option = 5;	/* cc */
	memset(r.value.cc, 'a', sizeof(r.value.cc));
	CASE("cc not terminated", &r, sizeof(r), NULL, 0);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.token = 0x12345678;
	CASE("token without by-token flag", &r, sizeof(r), NULL, 0);
	if (pipe(p))
		die("pipe");
	fds[0] = p[0];
	fds[1] = p[1];
	fds[2] = p[0];
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.id = 1;
	CASE("three descriptors", &r, sizeof(r), fds, 3);
	request(&r, SUBFLOW_CONTROL_STATUS);
	CASE("status with descriptor", &r, sizeof(r), fds, 1);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.magic = 0;
	CASE("garbage with descriptor", &r, sizeof(r), fds, 1);
	close(p[0]);
	close(p[1]);
	request(&r, SUBFLOW_CONTROL_STATUS);
	CASE("alive", &r, sizeof(r), NULL, 0);
	close(s);
#undef CASE
}

/* ---- descriptors of every kind --------------------------------------------------------- */

static int connected(int family, int proto, const char *addr, int port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (void *)&ss;
	struct sockaddr_in6 *sin6 = (void *)&ss;
	int s;

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else {
		errno = EINVAL;
		die(addr);
	}
	s = socket(ss.ss_family, SOCK_STREAM, proto);
	if (s < 0 || connect(s, (struct sockaddr *)&ss, sizeof(ss)))
		die("connect");
	(void)family;
	return s;
}

static void pass(const char *kind, const char *addr, int port)
{
	struct subflow_control_request r;
	struct subflow_control_response resp;
	int s = dial(), fd = -1, nfd = 1, fds[2], p[2];

	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.id = 1;
	if (!strcmp(kind, "none")) {
		nfd = 0;
	} else if (!strcmp(kind, "fdnum")) {
		/* A descriptor number, as if naming one were enough: in every
		 * field a request has (the reserved bytes included). */
		nfd = 0;
		r.token = 3;
		r.reserved[0] = 3;
	} else if (!strcmp(kind, "two")) {
		if (pipe(p))
			die("pipe");
		fds[0] = p[0];
		fds[1] = p[1];
		nfd = 2;
	} else if (!strcmp(kind, "pipe")) {
		if (pipe(p))
			die("pipe");
		fd = p[0];
	} else if (!strcmp(kind, "file")) {
		fd = open("/dev/null", O_RDONLY);
	} else if (!strcmp(kind, "unix")) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
	} else if (!strcmp(kind, "udp")) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
	} else if (!strcmp(kind, "tcp")) {
		fd = connected(AF_INET, IPPROTO_TCP, addr, port);
	} else if (!strcmp(kind, "mptcp-unconnected")) {
		fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	} else if (!strcmp(kind, "mptcp-listener")) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 1))
			die("listener");
	} else if (!strcmp(kind, "mptcp-fallback")) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sin);
		int l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

		if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
		    getsockname(l, (struct sockaddr *)&sin, &len))
			die("plain TCP listener");
		fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) || accept(l, NULL, NULL) < 0)
			die("MPTCP to a plain TCP listener");
	} else if (!strcmp(kind, "mptcp")) {
		fd = connected(AF_INET, IPPROTO_MPTCP, addr, port);
	} else {
		fprintf(stderr, "control_raw: unknown kind %s\n", kind);
		exit(2);
	}
	if (nfd == 1) {
		if (fd < 0)
			die(kind);
		fds[0] = fd;
	}
	if (send_fds(s, &r, sizeof(r), fds, nfd) < 0)
		die("sendmsg");
	report(kind, answer(s, &resp), &resp);
	close(s);
}

static void by_token(uint32_t token)
{
	static const uint32_t ops[] = { SUBFLOW_CONTROL_CLOSE, SUBFLOW_CONTROL_SET_BACKUP,
					SUBFLOW_CONTROL_GETSOCKOPT, SUBFLOW_CONTROL_SUBSCRIBE };
	static const char *const names[] = { "close", "set backup", "getsockopt", "subscribe" };
	struct subflow_control_request r;
	struct subflow_control_response resp;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int s = dial();

		request(&r, ops[i]);
		r.flags = SUBFLOW_CONTROL_F_BY_TOKEN;
		r.token = token;
		if (ops[i] != SUBFLOW_CONTROL_SUBSCRIBE)
			r.id = 1;
		if (ops[i] == SUBFLOW_CONTROL_GETSOCKOPT)
			r.option = 1;
		if (ops[i] == SUBFLOW_CONTROL_SET_BACKUP)
			r.backup = 1;
		send_fds(s, &r, sizeof(r), NULL, 0);
		report(names[i], answer(s, &resp), &resp);
		close(s);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void linger_close(const char *addr, int port, const char *go)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 30 };
	struct subflow_control_request r;
	struct subflow_control_response resp;
	static char data[256 * 1024];
	int s = dial(), fd = connected(AF_INET, IPPROTO_TCP, addr, port), flags;
	struct pollfd p = { .events = POLLIN };
	double t0;
	ssize_t n;

	printf("{\"case\": \"connected\"}\n");
	fflush(stdout);
	for (int i = 0; access(go, F_OK); i++) {
		if (i > 1000)
			die("no go file");
		usleep(10000);
	}
	/* As much unacknowledged data as the socket takes (the path drops it). */
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	while ((n = send(fd, data, sizeof(data), MSG_NOSIGNAL)) > 0)
		;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		die("SO_LINGER");
	fcntl(fd, F_SETFL, flags);
	request(&r, SUBFLOW_CONTROL_CLOSE);
	r.id = 1;
	if (send_fds(s, &r, sizeof(r), &fd, 1) < 0)
		die("sendmsg");
	close(fd);	/* now the daemon holds the last reference */
	t0 = now_s();
	printf("{\"case\": \"passed\"}\n");
	fflush(stdout);
	/* The answer comes once the daemon's close of it ends. */
	p.fd = s;
	if (poll(&p, 1, 40000) != 1 || recv(s, &resp, sizeof(resp), 0) != sizeof(resp))
		die("no answer to the linger request");
	printf("{\"case\": \"answered\", \"after_s\": %.1f, \"error\": %d}\n", now_s() - t0, resp.error);
}

/* ---- flood ---------------------------------------------------------------------------- */

static void flood_one(double until, bool reader, bool churn)
{
	struct subflow_control_request r;
	struct subflow_control_response resp;
	unsigned long sent = 0, answers = 0, connects = 0;
	int s = churn ? -1 : dial(), p[2];

	if (pipe(p))
		die("pipe");
	while (now_s() < until) {
		if (churn) {
			struct sockaddr_un sun = { .sun_family = AF_UNIX };

			s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
			if (!connect(s, (struct sockaddr *)&sun, sizeof(sun)))
				connects++;
			close(s);
			continue;
		}
		request(&r, (sent % 3) ? SUBFLOW_CONTROL_CLOSE : 77);
		r.reserved[sent % sizeof(r.reserved)] = (unsigned char)sent;
		if (send_fds(s, &r, sizeof(r), sent % 5 == 0 ? &p[0] : NULL, sent % 5 == 0) < 0) {
			if (errno == EPIPE || errno == ECONNRESET) {	/* dropped: again */
				close(s);
				s = dial();
			}
			continue;
		}
		sent++;
		while (reader && recv(s, &resp, sizeof(resp), MSG_DONTWAIT) > 0)
			answers++;
	}
	printf("{\"flooder\": %d, \"reader\": %s, \"churn\": %s, \"sent\": %lu, \"answers\": %lu, \"connects\": %lu}\n",
	       getpid(), reader ? "true" : "false", churn ? "true" : "false", sent, answers, connects);
	fflush(stdout);
	exit(0);
}

static void spin(double secs, int procs)
{
	double until = now_s() + secs;

	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid) {
			while (now_s() < until)
				for (volatile int k = 0; k < 100000; k++)
					;
			exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
}

static void flood(double secs, int conns)
{
	double until = now_s() + secs;
	int status, failed = 0;

	for (int i = 0; i < conns + 1; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid)
			flood_one(until, i % 2 == 0, i == conns);
	}
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	if (failed)
		exit(1);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && !strcmp(argv[1], "pidfd")) {
		int pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0), fd;

		fd = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0);
		printf("{\"case\": \"pidfd_getfd\", \"pidfd\": %d, \"fd\": %d, \"errno\": %d}\n",
		       pidfd, fd, fd < 0 ? errno : 0);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: control_raw SOCK garbage | pass KIND [ADDR PORT] | token TOKEN | "
				"linger ADDR PORT GO_FILE | flood SECONDS CONNECTIONS; control_raw pidfd PID FD\n");
		return 2;
	}
	sock_path = argv[1];
	if (!strcmp(argv[2], "garbage"))
		garbage();
	else if (!strcmp(argv[2], "pass") && argc >= 4)
		pass(argv[3], argc >= 6 ? argv[4] : NULL, argc >= 6 ? atoi(argv[5]) : 0);
	else if (!strcmp(argv[2], "token") && argc == 4)
		by_token(strtoul(argv[3], NULL, 0));
	else if (!strcmp(argv[2], "linger") && argc == 6)
		linger_close(argv[3], atoi(argv[4]), argv[5]);
	else if (!strcmp(argv[2], "spin") && argc == 5)
		spin(atof(argv[3]), atoi(argv[4]));
	else if (!strcmp(argv[2], "flood") && argc == 5)
		flood(atof(argv[3]), atoi(argv[4]));
	else
		return 2;
	return 0;
}
