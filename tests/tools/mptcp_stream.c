// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mptcp_stream: one MPTCP connection carrying a checked byte stream, for the
 * path-management tests and the failover benchmark. One side sends a
 * deterministic pattern (byte i is a function of i alone) for a while, the
 * other checks every byte it receives (after a one-byte greeting each way,
 * which makes the connection fully established) and keeps a timeline of how many
 * bytes arrived in each millisecond. At the end the receiver sends its byte
 * count back, so that both sides know that nothing was lost.
 *
 *   mptcp_stream server -a ADDR -p PORT [--send-for SECONDS] [--ready-file F]
 *                       [--json F] [--timeline F]
 *   mptcp_stream client -a ADDR -p PORT [--send-for SECONDS] [--json F]
 *                       [--timeline F] [--token-file F] [--start-after F]
 *                       [--info-json F]
 *
 * With --info-json F, SIGUSR1 makes it write what the kernel says of its
 * connection to F (MPTCP_FULL_INFO on its own socket): {"token", "subflows":
 * [{"id", "local", "remote", "tcp": {"state", "rtt_us", ...}}]} (tcp_info).
 *
 * Exactly one side has --send-for (client: upload, server: download). The
 * client writes its connection's token to --token-file once connected and,
 * with --start-after, waits for that file before the transfer starts.
 * --json gets {"role", "bytes", "ok", ...}: the sender's bytes sent and the
 * count the receiver confirmed; the receiver's bytes received and the offset
 * of the first wrong byte (-1: none). --timeline gets the CLOCK_REALTIME of
 * the first bucket in ns, then one line per millisecond with the bytes
 * received in it. Exit status 0 only when every byte arrived intact.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/mptcp.h>
#include <linux/tcp.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mptcp_compat.h"


#define IO_TIMEOUT_S	30
#define MAX_TIMELINE_MS	(10 * 60 * 1000)
#define CHUNK		(64 * 1024)
#define MAX_SUBFLOWS	32

static volatile sig_atomic_t info_requested;
static int conn_fd = -1;

static void dump_info(void);

static struct {
	const char *mode, *addr, *ready_file, *json, *timeline, *token_file, *start_after, *info_json;
	unsigned int port;
	double send_for;
} opt;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mptcp_stream %s: ", opt.mode ? opt.mode : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The pattern: 8-byte blocks of splitmix64(block index). */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void fill_pattern(uint8_t *buf, size_t len, uint64_t offset)
{
	uint64_t block = UINT64_MAX, value = 0;

	for (size_t i = 0; i < len; i++) {
		if ((offset + i) / 8 != block) {
			block = (offset + i) / 8;
			value = splitmix64(block);
		}
		buf[i] = value >> (8 * ((offset + i) % 8));
	}
}

/* Index of the first byte that is not the pattern's, or -1. */
static ssize_t check_pattern(const uint8_t *buf, size_t len, uint64_t offset)
{
	uint8_t expect[CHUNK];

	for (size_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		fill_pattern(expect, n, offset + done);
		if (memcmp(expect, buf + done, n))
			for (size_t i = 0; i < n; i++)
				if (expect[i] != buf[done + i])
					return done + i;
	}
	return -1;
}

static socklen_t parse_addr(struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, opt.addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(opt.port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, opt.addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(opt.port);
		return sizeof(*sin6);
	}
	die("not an address: %s", opt.addr);
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fclose(f))
		die("cannot create %s: %s", path, strerror(errno));
}

static void write_token(int fd)
{
	struct mptcp_info info = {};
	socklen_t len = sizeof(info);
	char tmp[4096];
	FILE *f;

	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len))
		die("MPTCP_INFO: %s (not an MPTCP connection?)", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.token_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", info.mptcpi_token) < 0 || fclose(f) || rename(tmp, opt.token_file))
		die("cannot write %s: %s", opt.token_file, strerror(errno));
}

static void wait_file(const char *path)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + 60ull * 1000000000ull;
	struct stat st;

	while (stat(path, &st)) {
		if (info_requested)
			dump_info();
		if (clock_ns(CLOCK_MONOTONIC) > deadline)
			die("%s did not appear within 60 s", path);
		usleep(10000);
	}
}

static void on_sigusr1(int sig)
{
	info_requested = 1;
}

static void endpoint_json(FILE *f, const char *name, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		port = ntohs(sin6->sin6_port);
	}
	fprintf(f, "\"%s\": {\"addr\": \"%s\", \"port\": %u}", name, addr, port);
}

/* The kernel's own view of the connection (MPTCP_FULL_INFO), on request. */
static void dump_info(void)
{
	struct mptcp_subflow_info sf[MAX_SUBFLOWS];
	struct tcp_info ti[MAX_SUBFLOWS];
	struct mptcp_full_info full = {};
	socklen_t len = sizeof(full);
	char tmp[4096];
	FILE *f;

	info_requested = 0;
	if (!opt.info_json || conn_fd < 0)
		return;
	memset(sf, 0, sizeof(sf));
	memset(ti, 0, sizeof(ti));
	full.size_tcpinfo_user = sizeof(ti[0]);
	full.size_sfinfo_user = sizeof(sf[0]);
	full.size_arrays_user = MAX_SUBFLOWS;
	full.subflow_info = (__u64)(unsigned long)sf;
	full.tcp_info = (__u64)(unsigned long)ti;
	if (getsockopt(conn_fd, SOL_MPTCP, MPTCP_FULL_INFO, &full, &len))
		die("MPTCP_FULL_INFO: %s", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.info_json);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "{\"token\": %u, \"subflows\": [", full.mptcp_info.mptcpi_token);
	for (unsigned int i = 0; i < full.num_subflows && i < MAX_SUBFLOWS; i++) {
		const struct mptcp_subflow_addrs *a = &sf[i].addrs;

		fprintf(f, "%s{\"id\": %u, ", i ? ", " : "", sf[i].id);
		endpoint_json(f, "local", (const struct sockaddr *)&a->ss_local);
		fprintf(f, ", ");
		endpoint_json(f, "remote", (const struct sockaddr *)&a->ss_remote);
		fprintf(f, ", \"tcp\": {\"state\": %u, "
			   "\"rtt_us\": %u, \"rttvar_us\": %u, \"snd_cwnd\": %u, \"snd_ssthresh\": %u, "
			   "\"snd_mss\": %u, \"total_retrans\": %u, \"bytes_sent\": %llu, "
			   "\"bytes_retrans\": %llu, \"bytes_acked\": %llu, \"bytes_received\": %llu, "
			   "\"pacing_rate\": %llu}}",
			ti[i].tcpi_state, ti[i].tcpi_rtt, ti[i].tcpi_rttvar, ti[i].tcpi_snd_cwnd,
			ti[i].tcpi_snd_ssthresh, ti[i].tcpi_snd_mss, ti[i].tcpi_total_retrans,
			(unsigned long long)ti[i].tcpi_bytes_sent,
			(unsigned long long)ti[i].tcpi_bytes_retrans,
			(unsigned long long)ti[i].tcpi_bytes_acked,
			(unsigned long long)ti[i].tcpi_bytes_received,
			(unsigned long long)ti[i].tcpi_pacing_rate);
	}
	fprintf(f, "]}\n");
	if (fclose(f) || rename(tmp, opt.info_json))
		die("cannot write %s: %s", opt.info_json, strerror(errno));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Send the pattern for opt.send_for seconds, then close our half and read
 * the receiver's count. */
static int run_sender(int fd)
{
	static uint8_t buf[CHUNK];
	uint64_t sent = 0, confirmed = 0, end;
	int err = 0;
	FILE *f;

	end = clock_ns(CLOCK_MONOTONIC) + (uint64_t)(opt.send_for * 1e9);
	while (clock_ns(CLOCK_MONOTONIC) < end) {
		if (info_requested)
			dump_info();
		fill_pattern(buf, sizeof(buf), sent);
		err = write_all(fd, buf, sizeof(buf));
		if (err)
			break;
		sent += sizeof(buf);
	}
	if (!err && shutdown(fd, SHUT_WR))
		err = -errno;
	if (!err)
		err = read_all(fd, &confirmed, sizeof(confirmed));
	if (opt.json) {
		f = fopen(opt.json, "w");
		if (f) {
			fprintf(f, "{\"role\": \"sender\", \"bytes\": %llu, \"confirmed\": %llu, \"ok\": %s, \"error\": \"%s\"}\n",
				(unsigned long long)sent, (unsigned long long)confirmed,
				!err && confirmed == sent ? "true" : "false", err ? strerror(-err) : "");
			fclose(f);
		}
	}
	if (err)
		die("after %llu bytes: %s", (unsigned long long)sent, strerror(-err));
	if (confirmed != sent)
		die("sent %llu bytes, the receiver got %llu", (unsigned long long)sent,
		    (unsigned long long)confirmed);
	return 0;
}

/* Check every byte; count arrivals per millisecond. */
static int run_receiver(int fd)
{
	static uint8_t buf[CHUNK];
	uint32_t *timeline = calloc(MAX_TIMELINE_MS, sizeof(*timeline));
	uint64_t got = 0, start_mono, start_real, last_ms = 0;
	int64_t first_bad = -1;
	int err = 0;
	FILE *f;

	if (!timeline)
		die("out of memory");
	start_real = clock_ns(CLOCK_REALTIME);
	start_mono = clock_ns(CLOCK_MONOTONIC);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		uint64_t ms;

		if (info_requested)
			dump_info();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		ms = (clock_ns(CLOCK_MONOTONIC) - start_mono) / 1000000;
		if (ms < MAX_TIMELINE_MS) {
			timeline[ms] += n;
			last_ms = ms;
		}
		if (first_bad < 0) {
			ssize_t bad = check_pattern(buf, n, got);

			if (bad >= 0)
				first_bad = got + bad;
		}
		got += n;
	}
	if (!err)
		err = write_all(fd, &got, sizeof(got));
	if (opt.timeline) {
		f = fopen(opt.timeline, "w");
		if (!f)
			die("cannot write %s: %s", opt.timeline, strerror(errno));
		fprintf(f, "%llu\n", (unsigned long long)start_real);
		for (uint64_t i = 0; i <= last_ms; i++)
			fprintf(f, "%u\n", timeline[i]);
		fclose(f);
	}
	if (opt.json) {
		f = fopen(opt.json, "w");
		if (f) {
			fprintf(f, "{\"role\": \"receiver\", \"bytes\": %llu, \"first_bad_offset\": %lld, \"ok\": %s, \"error\": \"%s\"}\n",
				(unsigned long long)got, (long long)first_bad,
				!err && first_bad < 0 ? "true" : "false", err ? strerror(-err) : "");
			fclose(f);
		}
	}
	free(timeline);
	if (err)
		die("after %llu bytes: %s", (unsigned long long)got, strerror(-err));
	if (first_bad >= 0)
		die("byte %lld is wrong", (long long)first_bad);
	return 0;
}

/* One byte each way first: an MPTCP connection is fully established (and
 * can get more subflows) only once data has been acknowledged. */
static void greet(int fd, bool client)
{
	char c = client ? 'C' : 'S', peer;
	int err;

	if (client)
		err = write_all(fd, &c, 1) ?: read_all(fd, &peer, 1);
	else
		err = read_all(fd, &peer, 1) ?: write_all(fd, &c, 1);
	if (err)
		die("greeting: %s", strerror(-err));
	if (peer != (client ? 'S' : 'C'))
		die("greeting: the peer is not mptcp_stream");
}

static int transfer(int fd)
{
	conn_fd = fd;
	return opt.send_for > 0 ? run_sender(fd) : run_receiver(fd);
}

static int run_server(void)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(&ss);
	int one = 1, lfd, fd;

	lfd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (lfd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, len) || listen(lfd, 8))
		die("bind/listen %s port %u: %s", opt.addr, opt.port, strerror(errno));
	if (opt.ready_file)
		touch(opt.ready_file);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	/* The listener stays: the peer's MP_JOINs are accepted through it. */
	set_timeouts(fd);
	greet(fd, false);
	return transfer(fd);
}

static int run_client(void)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(&ss);
	int fd;

	fd = socket(ss.ss_family, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0)
		die("socket(IPPROTO_MPTCP): %s", strerror(errno));
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect %s port %u: %s", opt.addr, opt.port, strerror(errno));
	conn_fd = fd;
	greet(fd, true);
	if (opt.token_file)
		write_token(fd);
	if (opt.start_after)
		wait_file(opt.start_after);
	return transfer(fd);
}

int main(int argc, char **argv)
{
	enum { OPT_SEND_FOR = 256, OPT_READY, OPT_JSON, OPT_TIMELINE, OPT_TOKEN, OPT_START, OPT_INFO };
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART: I/O wakes up */
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "send-for", required_argument, NULL, OPT_SEND_FOR },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "timeline", required_argument, NULL, OPT_TIMELINE },
		{ "token-file", required_argument, NULL, OPT_TOKEN },
		{ "start-after", required_argument, NULL, OPT_START },
		{ "info-json", required_argument, NULL, OPT_INFO },
		{ 0 }
	};
	char *end;
	int c;

	if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		fprintf(stderr, "usage: mptcp_stream server|client -a ADDR -p PORT [--send-for SECONDS]\n"
				"       [--ready-file F] [--json F] [--timeline F] [--token-file F]\n"
				"       [--start-after F] [--info-json F]\n");
		return 2;
	}
	opt.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "a:p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': opt.addr = optarg; break;
		case 'p': opt.port = strtoul(optarg, &end, 10); if (*end || !opt.port) die("bad port"); break;
		case OPT_SEND_FOR: opt.send_for = strtod(optarg, &end); if (*end || opt.send_for <= 0) die("bad --send-for"); break;
		case OPT_READY: opt.ready_file = optarg; break;
		case OPT_JSON: opt.json = optarg; break;
		case OPT_TIMELINE: opt.timeline = optarg; break;
		case OPT_TOKEN: opt.token_file = optarg; break;
		case OPT_START: opt.start_after = optarg; break;
		case OPT_INFO: opt.info_json = optarg; break;
		default: return 2;
		}
	}
	if (!opt.addr || !opt.port)
		die("-a ADDR and -p PORT are required");
	sigaction(SIGUSR1, &sa, NULL);
	return !strcmp(opt.mode, "server") ? run_server() : run_client();
}
