// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unpriv_app: an application (run by the tests as a throwaway unprivileged
 * user) that controls its own MPTCP connection through libsubflow, one
 * command at a time, so that a test can check the kernel after each step.
 * Commands on stdin, one per line; one JSON object per line on stdout:
 * {"ok": true, ...} or {"ok": false, "errno": "EPERM", "error": "<the
 * library's message>"}.
 *
 *   connect ADDR PORT          an MPTCP connection (-> token, netns_cookie)
 *   tcp ADDR PORT              a plain TCP connection instead
 *   echo BYTES                 send BYTES, check that the echo server returns them
 *   tuples                     subflow_get_tuples (-> subflows: [{id, local, remote}])
 *   open LOCAL REMOTE [backup] subflow_open, ports 0 (-> id)
 *   close ID                   subflow_close
 *   backup ID on|off           subflow_set_backup
 *   setsockopt ID NAME VALUE.. subflow_setsockopt_fd (values as the policy language)
 *   getsockopt ID NAME         subflow_getsockopt_fd (-> value: text, raw: number)
 *   subscribe                  subflow_events_open_fd
 *   events MS                  poll the subscription for MS ms (-> events: [...], lost)
 *   token-close TOKEN ID       subflow_close_by_token(0, TOKEN, ID)
 *   token-backup TOKEN ID      subflow_set_backup_by_token(0, TOKEN, ID, true)
 *   token-get TOKEN ID NAME    subflow_getsockopt(TOKEN, ID, NAME)
 *   latency N ID NAME          N calls of subflow_getsockopt_fd, one after the other
 *                              (-> us: [each call's microseconds], errors)
 *   quit
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "subflow.h"

#define MAX_WORDS 16

static int fd = -1;
static struct subflow_events *events;
static char last_error[512];
static char out[1 << 16];
static size_t out_len;

static int capture(enum subflow_print_level level, const char *fmt, va_list ap)
{
	size_t len;

	if (level != SUBFLOW_PRINT_ERROR || last_error[0])
		return 0;
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	len = strlen(last_error);
	if (len && last_error[len - 1] == '\n')
		last_error[len - 1] = '\0';
	return 0;
}

static void emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		out_len += (size_t)n < sizeof(out) - out_len ? (size_t)n : sizeof(out) - out_len - 1;
}

static void json_string(const char *s)
{
	emit("\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			emit("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			emit("\\u%04x", *s);
		else
			emit("%c", *s);
	}
	emit("\"");
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EXDEV: return "EXDEV";
	case EINVAL: return "EINVAL";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EHOSTDOWN: return "EHOSTDOWN";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	case ENOTSOCK: return "ENOTSOCK";
	case EBADF: return "EBADF";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EPROTO: return "EPROTO";
	default: return "other";
	}
}

/* End the answer: ok, or the error with the library's message. */
static void answer(int err)
{
	if (err) {
		emit(", \"ok\": false, \"errno\": \"%s\", \"code\": %d, \"error\": ", errno_name(-err), err);
		json_string(last_error[0] ? last_error : strerror(-err));
	} else {
		emit(", \"ok\": true");
	}
	emit("}\n");
	fwrite(out, 1, out_len, stdout);
	fflush(stdout);
}

static int parse_addr(const char *text, unsigned int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

static void emit_endpoint(const char *name, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned int port;

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	emit("\"%s\": {\"addr\": \"%s\", \"port\": %u}", name, a, port);
}

static int do_connect(char **w, int n, int proto)
{
	struct sockaddr_storage ss;
	uint64_t cookie;
	uint32_t token;
	int err;

	if (n != 3 || parse_addr(w[1], atoi(w[2]), &ss))
		return -EINVAL;
	if (fd >= 0)
		close(fd);
	fd = socket(ss.ss_family, SOCK_STREAM, proto);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sizeof(ss)))
		return -errno;
	emit(", \"fd\": %d", fd);
	if (proto == IPPROTO_MPTCP) {
		err = subflow_conn_of_fd(fd, &cookie, &token);
		if (err)
			return err;
		emit(", \"token\": %u, \"netns_cookie\": %llu", token, (unsigned long long)cookie);
	}
	return 0;
}

static int do_echo(char **w, int n)
{
	static unsigned char a[65536], b[65536];
	static unsigned long long offset;
	long long len = n == 2 ? atoll(w[1]) : -1;

	if (len < 0)
		return -EINVAL;
	while (len > 0) {
		size_t chunk = len < (long long)sizeof(a) ? (size_t)len : sizeof(a);

		for (size_t i = 0; i < chunk; i++)
			a[i] = (unsigned char)((offset + i) * 13 + 5);
		if (send(fd, a, chunk, MSG_NOSIGNAL) != (ssize_t)chunk)
			return -errno;
		for (size_t got = 0; got < chunk;) {
			ssize_t r = recv(fd, b + got, chunk - got, 0);

			if (r <= 0)
				return r ? -errno : -ECONNRESET;
			got += r;
		}
		if (memcmp(a, b, chunk)) {
			snprintf(last_error, sizeof(last_error), "echo differs after byte %llu", offset);
			return -EPROTO;
		}
		offset += chunk;
		len -= chunk;
	}
	emit(", \"bytes\": %llu", offset);
	return 0;
}

static int do_tuples(void)
{
	struct subflow_tuple t[32];
	size_t count = 0;
	int err = subflow_get_tuples(fd, t, 32, &count);

	if (err)
		return err;
	emit(", \"subflows\": [");
	for (size_t i = 0; i < count && i < 32; i++) {
		emit("%s{\"id\": %u, ", i ? ", " : "", t[i].id);
		emit_endpoint("local", &t[i].local);
		emit(", ");
		emit_endpoint("remote", &t[i].remote);
		emit("}");
	}
	emit("]");
	return 0;
}

static int do_open(char **w, int n)
{
	struct sockaddr_storage l, r;
	uint32_t id = 0;
	int err;

	if (n < 3 || n > 4 || parse_addr(w[1], 0, &l) || parse_addr(w[2], 0, &r))
		return -EINVAL;
	err = subflow_open(fd, (struct sockaddr *)&l, (struct sockaddr *)&r,
			   n == 4 && !strcmp(w[3], "backup") ? SUBFLOW_OPEN_BACKUP : 0, &id);
	if (!err)
		emit(", \"id\": %u", id);
	return err;
}

static int sockopt_of(const char *name, enum subflow_sockopt *opt)
{
	return subflow_sockopt_parse_name(name, opt);
}

static int do_setsockopt(char **w, int n)
{
	struct subflow_sockopt_value v;
	enum subflow_sockopt opt;
	char err_text[256] = "";
	int err;

	if (n < 4 || sockopt_of(w[2], &opt))
		return -EINVAL;
	err = subflow_sockopt_parse_value(opt, w + 3, n - 3, &v, err_text, sizeof(err_text));
	if (err) {
		snprintf(last_error, sizeof(last_error), "%s", err_text);
		return err;
	}
	return subflow_setsockopt_fd(fd, atoi(w[1]), opt, &v);
}

static void emit_value(enum subflow_sockopt opt, const struct subflow_sockopt_value *v)
{
	char text[128];

	subflow_sockopt_format_value(opt, v, text, sizeof(text));
	emit(", \"value\": ");
	json_string(text);
	emit(", \"raw\": %llu", (unsigned long long)v->value);
}

static int do_getsockopt(char **w, int n)
{
	struct subflow_sockopt_value v;
	enum subflow_sockopt opt;
	int err;

	if (n != 3 || sockopt_of(w[2], &opt))
		return -EINVAL;
	err = subflow_getsockopt_fd(fd, atoi(w[1]), opt, &v);
	if (!err)
		emit_value(opt, &v);
	return err;
}

/* Events waiting to be printed by the next `events`. */
static char event_buf[1 << 15];
static size_t event_len;

static int on_event(const struct subflow_event *ev, void *ctx)
{
	struct sockaddr_storage l, r;
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
	int n;

	subflow_endpoint_to_sockaddr(&ev->info.local, &l);
	subflow_endpoint_to_sockaddr(&ev->info.remote, &r);
	if (l.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&l)->sin6_addr, la, sizeof(la));
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&r)->sin6_addr, ra, sizeof(ra));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&l)->sin_addr, la, sizeof(la));
		inet_ntop(AF_INET, &((struct sockaddr_in *)&r)->sin_addr, ra, sizeof(ra));
	}
	n = snprintf(event_buf + event_len, sizeof(event_buf) - event_len,
		     "%s{\"type\": %u, \"token\": %u, \"netns_cookie\": %llu, \"id\": %u, \"conn_flags\": %u, "
		     "\"local\": {\"addr\": \"%s\", \"port\": %u}, \"remote\": {\"addr\": \"%s\", \"port\": %u}}",
		     event_len ? ", " : "", ev->type, ev->token, (unsigned long long)ev->netns_cookie,
		     ev->info.id, ev->conn_flags, la, ev->info.local.port, ra, ev->info.remote.port);
	if (n > 0 && (size_t)n < sizeof(event_buf) - event_len)
		event_len += n;
	return 0;
}

static int do_events(char **w, int n)
{
	long ms = n == 2 ? atol(w[1]) : 0;
	struct timespec start, now;
	int r;

	if (!events)
		return -ENOENT;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left < 0)
			left = 0;
		r = subflow_events_poll(events, left > 100 ? 100 : left);
		if (r < 0)
			return r;
		if (!left)
			break;
	}
	emit(", \"events\": [%.*s], \"lost\": %llu", (int)event_len, event_buf,
	     (unsigned long long)subflow_events_lost(events));
	event_len = 0;
	return 0;
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) / 1e3;
}

static int do_latency(char **w, int n)
{
	struct subflow_sockopt_value v;
	enum subflow_sockopt opt;
	struct timespec a, b;
	long count, errors = 0;

	if (n != 4 || (count = atol(w[1])) <= 0 || count > 100000 || sockopt_of(w[3], &opt))
		return -EINVAL;
	emit(", \"us\": [");
	for (long i = 0; i < count; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (subflow_getsockopt_fd(fd, atoi(w[2]), opt, &v))
			errors++;
		clock_gettime(CLOCK_MONOTONIC, &b);
		emit("%s%.0f", i ? ", " : "", elapsed_us(&a, &b));
	}
	emit("], \"errors\": %ld", errors);
	return 0;
}

static int run(char **w, int n)
{
	struct subflow_sockopt_value v;
	enum subflow_sockopt opt;
	int err;

	if (!strcmp(w[0], "connect"))
		return do_connect(w, n, IPPROTO_MPTCP);
	if (!strcmp(w[0], "tcp"))
		return do_connect(w, n, IPPROTO_TCP);
	if (!strcmp(w[0], "echo"))
		return do_echo(w, n);
	if (!strcmp(w[0], "tuples"))
		return do_tuples();
	if (!strcmp(w[0], "open"))
		return do_open(w, n);
	if (!strcmp(w[0], "close") && n == 2)
		return subflow_close(fd, atoi(w[1]));
	if (!strcmp(w[0], "backup") && n == 3)
		return subflow_set_backup(fd, atoi(w[1]), !strcmp(w[2], "on"));
	if (!strcmp(w[0], "setsockopt"))
		return do_setsockopt(w, n);
	if (!strcmp(w[0], "getsockopt"))
		return do_getsockopt(w, n);
	if (!strcmp(w[0], "subscribe")) {
		events = subflow_events_open_fd(fd, on_event, NULL);
		return events ? 0 : -errno;
	}
	if (!strcmp(w[0], "events"))
		return do_events(w, n);
	if (!strcmp(w[0], "token-close") && n == 3)
		return subflow_close_by_token(0, strtoul(w[1], NULL, 0), atoi(w[2]));
	if (!strcmp(w[0], "token-backup") && n == 3)
		return subflow_set_backup_by_token(0, strtoul(w[1], NULL, 0), atoi(w[2]), true);
	if (!strcmp(w[0], "token-get") && n == 4) {
		if (sockopt_of(w[3], &opt))
			return -EINVAL;
		err = subflow_getsockopt(strtoul(w[1], NULL, 0), atoi(w[2]), opt, &v);
		if (!err)
			emit_value(opt, &v);
		return err;
	}
	if (!strcmp(w[0], "latency"))
		return do_latency(w, n);
	return -EINVAL;
}

int main(void)
{
	char line[1024], *w[MAX_WORDS], *save;
	int n;

	subflow_set_print(capture);
	while (fgets(line, sizeof(line), stdin)) {
		n = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < MAX_WORDS;
		     t = strtok_r(NULL, " \t\n", &save))
			w[n++] = t;
		if (!n)
			continue;
		if (!strcmp(w[0], "quit"))
			break;
		out_len = 0;
		last_error[0] = '\0';
		emit("{\"cmd\": ");
		json_string(w[0]);
		answer(run(w, n));
	}
	subflow_events_close(events);
	if (fd >= 0)
		close(fd);
	return 0;
}
