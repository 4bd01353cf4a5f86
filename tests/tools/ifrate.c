// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ifrate: sample the byte counters of network devices every millisecond,
 * through rtnetlink (IFLA_STATS64: the caller's network namespace, unlike
 * /sys/class/net under nsenter), for the failover measurements: which path
 * carries the traffic, and from when.
 *
 *   ifrate -o FILE [-i INTERVAL_US] DEV...
 *
 * Writes one line per sample: CLOCK_REALTIME ns, then rx and tx bytes of
 * each device in argument order. Runs until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#define MAX_DEVS 8

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct sample {
	int ifindex;
	uint64_t rx, tx;
	int found;
};

static int on_attr(const struct nlattr *attr, void *data)
{
	struct sample *s = data;
	struct rtnl_link_stats64 st;

	if (mnl_attr_get_type(attr) != IFLA_STATS64 ||
	    mnl_attr_validate2(attr, MNL_TYPE_UNSPEC, sizeof(st)) < 0)
		return MNL_CB_OK;
	memcpy(&st, mnl_attr_get_payload(attr), sizeof(st));
	s->rx = st.rx_bytes;
	s->tx = st.tx_bytes;
	s->found = 1;
	return MNL_CB_OK;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), on_attr, data);
	return MNL_CB_OK;
}

static int get_stats(struct mnl_socket *nl, unsigned int portid, unsigned int seq, struct sample *s)
{
	char buf[16384];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	int n;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = s->ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);	/* no VF stats */
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	s->found = 0;
	mnl_cb_run(buf, n, seq, portid, on_msg, s);
	return s->found ? 0 : -ENOENT;
}

int main(int argc, char **argv)
{
	struct sample s[MAX_DEVS];
	const char *out = NULL;
	long interval_us = 1000;
	struct mnl_socket *nl;
	unsigned int portid, seq = 1;
	int ndev, opt;
	FILE *f;

	while ((opt = getopt(argc, argv, "o:i:")) != -1) {
		if (opt == 'o')
			out = optarg;
		else if (opt == 'i')
			interval_us = atol(optarg);
		else
			return 2;
	}
	ndev = argc - optind;
	if (!out || ndev < 1 || ndev > MAX_DEVS || interval_us < 100) {
		fprintf(stderr, "usage: ifrate -o FILE [-i INTERVAL_US] DEV...\n");
		return 2;
	}
	for (int i = 0; i < ndev; i++) {
		s[i].ifindex = if_nametoindex(argv[optind + i]);
		if (!s[i].ifindex) {
			fprintf(stderr, "ifrate: no device %s\n", argv[optind + i]);
			return 1;
		}
	}
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("ifrate: netlink");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		struct timespec now, next;

		clock_gettime(CLOCK_REALTIME, &now);
		fprintf(f, "%llu", (unsigned long long)now.tv_sec * 1000000000ULL + now.tv_nsec);
		for (int i = 0; i < ndev; i++) {
			if (get_stats(nl, portid, seq++, &s[i]))
				s[i].rx = s[i].tx = 0;
			fprintf(f, " %llu %llu", (unsigned long long)s[i].rx, (unsigned long long)s[i].tx);
		}
		fputc('\n', f);
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_nsec += interval_us * 1000;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	fclose(f);
	mnl_socket_close(nl);
	return 0;
}
