// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * app_example: an application that steers the subflows of its own MPTCP
 * connection with libsubflow, as any user, no root needed. The README's
 * "Using subflow from an application" shows this file as it is (a test
 * checks that the two do not drift), and the tests run it as a throwaway
 * unprivileged user.
 *
 *   app_example SERVER PORT LOCAL REMOTE
 *
 * It connects to the echo server SERVER:PORT, lists its subflows
 * (GET_SUB_IDS / GET_SUB_TUPLE), watches their events, opens a subflow from
 * address LOCAL to address REMOTE (OPEN_SUB_TUPLE), makes it a backup and a
 * regular subflow again, sets its TOS (SUB_SETSOCKOPT), closes the first
 * subflow (CLOSE_SUB_ID), and checks that every byte it sends comes back.
 *
 * Build: cc -o app_example app_example.c $(pkg-config --cflags --libs libsubflow)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <subflow.h>

#define MAX_SUBFLOWS 8

static void check(int err, const char *what)
{
	if (err) {	/* libsubflow has printed why on stderr */
		fprintf(stderr, "app_example: %s: %s\n", what, strerror(-err));
		exit(1);
	}
}

static void parse_addr(const char *text, unsigned int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	} else {
		fprintf(stderr, "app_example: not an IPv4 or IPv6 address: %s\n", text);
		exit(2);
	}
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)),
			 ntohs(sin6->sin6_port));
	else
		snprintf(buf, size, "%s:%u", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
			 ntohs(sin->sin_port));
	return buf;
}

/* GET_SUB_IDS and GET_SUB_TUPLE at once: the kernel's answer, one syscall. */
static size_t list_subflows(int fd, struct subflow_tuple *t)
{
	char l[64], r[64];
	size_t n;

	check(subflow_get_tuples(fd, t, MAX_SUBFLOWS, &n), "subflow_get_tuples");
	for (size_t i = 0; i < n && i < MAX_SUBFLOWS; i++)
		printf("subflow %u %s -> %s\n", t[i].id, addr_text(&t[i].local, l, sizeof(l)),
		       addr_text(&t[i].remote, r, sizeof(r)));
	return n;
}

/* The events of our connection: which subflow came up or went down. */
struct seen {
	uint32_t type, id;	/* the event waited for */
	int found;
};

static int on_event(const struct subflow_event *ev, void *ctx)
{
	static const char *const names[] = {
		[SUBFLOW_EVENT_UP] = "up", [SUBFLOW_EVENT_ESTABLISHED] = "established",
		[SUBFLOW_EVENT_DOWN] = "down", [SUBFLOW_EVENT_RTO] = "rto",
		[SUBFLOW_EVENT_PM_DECISION] = "decision",
	};
	struct seen *seen = ctx;
	struct sockaddr_storage l, r;
	char ls[64], rs[64];

	if (ev->type >= sizeof(names) / sizeof(names[0]) || !names[ev->type])
		return 0;	/* a kind of event this program does not know */
	subflow_endpoint_to_sockaddr(&ev->info.local, &l);
	subflow_endpoint_to_sockaddr(&ev->info.remote, &r);
	printf("event %s subflow %u %s -> %s\n", names[ev->type], ev->info.id,
	       addr_text(&l, ls, sizeof(ls)), addr_text(&r, rs, sizeof(rs)));
	if (ev->type == seen->type && ev->info.id == seen->id)
		seen->found = 1;
	return 0;
}

static void wait_event(struct subflow_events *events, struct seen *seen, uint32_t type,
		       uint32_t id)
{
	seen->type = type;
	seen->id = id;
	seen->found = 0;
	for (int i = 0; i < 50 && !seen->found; i++) {	/* 5 s at most */
		int n = subflow_events_poll(events, 100);

		if (n < 0)
			check(n, "subflow_events_poll");
	}
	if (!seen->found) {
		fprintf(stderr, "app_example: no event %u of subflow %u within 5 s\n", type, id);
		exit(1);
	}
}

/* Send `len` bytes to the echo server and check every byte that comes back. */
static void echo(int fd, size_t len)
{
	static unsigned char out[65536], in[65536];
	static unsigned long long offset;

	for (size_t done = 0; done < len;) {
		size_t chunk = len - done < sizeof(out) ? len - done : sizeof(out);

		for (size_t i = 0; i < chunk; i++)
			out[i] = (unsigned char)((offset + i) * 7 + 3);
		if (send(fd, out, chunk, MSG_NOSIGNAL) != (ssize_t)chunk) {
			perror("app_example: send");
			exit(1);
		}
		for (size_t got = 0; got < chunk;) {
			ssize_t n = recv(fd, in + got, chunk - got, 0);

			if (n <= 0) {
				perror("app_example: recv");
				exit(1);
			}
			got += n;
		}
		if (memcmp(in, out, chunk)) {
			fprintf(stderr, "app_example: the echo differs after byte %llu\n", offset);
			exit(1);
		}
		offset += chunk;
		done += chunk;
	}
	printf("echo: %llu bytes sent and received intact\n", offset);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage server, local, remote;
	struct subflow_tuple t[MAX_SUBFLOWS];
	struct subflow_sockopt_value tos = { .value = 0x10 }, got;
	struct subflow_events *events;
	struct seen seen;
	uint32_t first, id;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: app_example SERVER PORT LOCAL REMOTE\n");
		return 2;
	}
	parse_addr(argv[1], atoi(argv[2]), &server);
	parse_addr(argv[3], 0, &local);		/* port 0: any */
	parse_addr(argv[4], 0, &remote);	/* port 0: the connection's */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* An MPTCP connection: the only change an application needs. */
	fd = socket(server.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof(server))) {
		perror("app_example: MPTCP connection");
		return 1;
	}
	/* Data acknowledged: the connection may have more subflows now. */
	echo(fd, 1000);

	events = subflow_events_open_fd(fd, on_event, &seen);
	if (!events)
		check(-errno, "subflow_events_open_fd");
	if (!list_subflows(fd, t))
		check(-ENOENT, "no subflow");
	first = t[0].id;

	/* OPEN_SUB_TUPLE: a subflow on the chosen pair of addresses. */
	check(subflow_open(fd, (struct sockaddr *)&local, (struct sockaddr *)&remote, 0, &id),
	      "subflow_open");
	printf("opened subflow %u\n", id);
	wait_event(events, &seen, SUBFLOW_EVENT_ESTABLISHED, id);

	/* MP_PRIO: backup, then regular again. */
	check(subflow_set_backup(fd, id, true), "subflow_set_backup on");
	printf("subflow %u: backup\n", id);
	check(subflow_set_backup(fd, id, false), "subflow_set_backup off");
	printf("subflow %u: regular\n", id);

	/* SUB_SETSOCKOPT / SUB_GETSOCKOPT on that subflow alone. */
	check(subflow_setsockopt_fd(fd, id, SUBFLOW_SOCKOPT_TOS, &tos), "subflow_setsockopt_fd");
	check(subflow_getsockopt_fd(fd, id, SUBFLOW_SOCKOPT_TOS, &got), "subflow_getsockopt_fd");
	printf("subflow %u: tos 0x%02llx\n", id, (unsigned long long)got.value);
	echo(fd, 256 * 1024);

	/* CLOSE_SUB_ID: the first subflow goes; the connection stays. */
	check(subflow_close(fd, first), "subflow_close");
	printf("closed subflow %u\n", first);
	wait_event(events, &seen, SUBFLOW_EVENT_DOWN, first);
	echo(fd, 256 * 1024);
	list_subflows(fd, t);

	subflow_events_close(events);
	close(fd);
	printf("done\n");
	return 0;
}
