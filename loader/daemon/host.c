// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The daemon's view of the host: links and addresses (rtnetlink dumps,
 * refreshed on every change notification), the policy's paths resolved to
 * addresses and devices, and whether a path is usable to reach a peer:
 *   - its link is up with carrier,
 *   - it has an address of the connection's family,
 *   - the kernel has a route from that address to the peer out of its device,
 *   - it answers: ICMP echo probes from the path's address to the peer,
 *     every ack-timeout/3, stay unanswered for less than ack-timeout (a
 *     path whose probes were never answered is judged by the rest only:
 *     some peers do not answer pings).
 * Data outstanding without ACK progress (RTO reports) is judged in conn.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include "daemon.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

int host_epoll_fd = -1;	/* main.c's: probe sockets are added to it */

static size_t family_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int host_open(struct host *h)
{
	int err;

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < DAEMON_MAX_PROBES; i++)
		h->probes[i].fd = -1;
	h->rtnl = subflow_nl_open(NETLINK_ROUTE);
	h->rtnl_events = subflow_nl_open(NETLINK_ROUTE);
	if (!h->rtnl || !h->rtnl_events) {
		err = -errno;
		host_close(h);
		return err;
	}
	/* Subscribe before the first dump: no change falls in between. */
	err = subflow_rtnl_join_changes(h->rtnl_events);
	if (!err)
		err = host_refresh(h);
	if (err)
		host_close(h);
	return err;
}

void host_close(struct host *h)
{
	for (int i = 0; i < DAEMON_MAX_PROBES; i++)
		if (h->probes[i].fd >= 0)
			close(h->probes[i].fd);
	subflow_host_free(&h->snap);
	subflow_nl_close(h->rtnl);
	subflow_nl_close(h->rtnl_events);
	h->rtnl = h->rtnl_events = NULL;
}

struct refresh_ctx {
	struct subflow_host *snap;
};

static int collect(const struct subflow_rtnl_msg *msg, void *ctx)
{
	struct subflow_host *snap = ctx;
	void *p;

	if (msg->kind == SUBFLOW_RTNL_LINK) {
		p = realloc(snap->links, (snap->nr_links + 1) * sizeof(*snap->links));
		if (!p)
			return -ENOMEM;
		snap->links = p;
		snap->links[snap->nr_links++] = msg->link;
	} else if (msg->kind == SUBFLOW_RTNL_ADDR) {
		p = realloc(snap->addrs, (snap->nr_addrs + 1) * sizeof(*snap->addrs));
		if (!p)
			return -ENOMEM;
		snap->addrs = p;
		snap->addrs[snap->nr_addrs++] = msg->addr;
	}
	return 0;
}

int host_refresh(struct host *h)
{
	struct subflow_host snap = {};
	int err;

	/* One socket of ours, not subflow_host_read()'s own: the daemon's
	 * namespace never changes, and a socket per refresh costs. */
	err = subflow_rtnl_dump_links(h->rtnl, collect, &snap);
	if (!err)
		err = subflow_rtnl_dump_addrs(h->rtnl, AF_UNSPEC, collect, &snap);
	if (err) {
		subflow_host_free(&snap);
		return err;	/* keep the old view */
	}
	subflow_host_free(&h->snap);
	h->snap = snap;
	h->dirty = false;
	h->generation++;
	return 0;
}

static int on_change(const struct nlmsghdr *nlh, void *ctx)
{
	struct host *h = ctx;
	struct subflow_rtnl_msg msg;

	/* A malformed notification is skipped: the next dump is the truth. */
	if (!subflow_rtnl_parse(nlh, &msg))
		h->dirty = true;
	return 0;
}

int host_on_rtnl(struct host *h)
{
	int n = subflow_nl_receive(h->rtnl_events, on_change, h);

	if (n == -ENOBUFS) {
		/* Notifications were dropped: resynchronise from a dump. */
		h->dirty = true;
		return 0;
	}
	return n < 0 ? n : 0;
}

/* ---- paths ---------------------------------------------------------------------- */

static bool prefix_has(const struct subflow_policy_prefix *p, int family, const uint8_t *addr)
{
	unsigned int full = p->len / 8, rest = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, full))
		return false;
	return !rest || !((p->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

/* Can a subflow start from this address? Not loopback, link-local,
 * tentative or failed DAD. */
static bool addr_usable(const struct host *h, const struct subflow_nl_addr *a)
{
	const struct subflow_nl_link *link = subflow_host_link_by_index(&h->snap, a->ifindex);

	if (link && (link->flags & IFF_LOOPBACK))
		return false;
	if (a->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
		return false;
	if (a->family == AF_INET)
		return !(a->addr[0] == 169 && a->addr[1] == 254) && a->addr[0] != 127;
	return !IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a->addr) &&
	       !IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a->addr);
}

/* Is host address a on the path? */
static bool addr_on_path(const struct host *h, const struct subflow_policy_path *path,
			 const struct subflow_nl_addr *a)
{
	const struct subflow_nl_link *link = subflow_host_link_by_index(&h->snap, a->ifindex);

	for (unsigned int i = 0; i < path->nr_selectors && i < SUBFLOW_POLICY_MAX_SELECTORS; i++) {
		const struct subflow_policy_selector *sel = &path->selectors[i];

		if (sel->kind == SUBFLOW_POLICY_SEL_DEV && link && !strcmp(link->name, sel->dev))
			return true;
		if (sel->kind == SUBFLOW_POLICY_SEL_ADDR && prefix_has(&sel->addr, a->family, a->addr))
			return true;
	}
	return false;
}

bool host_path_addr(const struct host *h, const struct subflow_policy *p, int path, int family,
		    struct path_addr *out)
{
	if (path < 0 || path >= (int)p->nr_paths)
		return false;
	for (size_t i = 0; i < h->snap.nr_addrs; i++) {
		const struct subflow_nl_addr *a = &h->snap.addrs[i];

		if (a->family != family || !addr_usable(h, a) || !addr_on_path(h, &p->paths[path], a))
			continue;
		memset(out, 0, sizeof(*out));
		out->family = family;
		memcpy(out->addr, a->addr, family_len(family));
		out->ifindex = a->ifindex;
		return true;
	}
	return false;
}

int host_path_of(const struct host *h, const struct subflow_policy *p, int family,
		 const uint8_t *addr)
{
	const struct subflow_nl_addr *a = subflow_host_find_addr(&h->snap, family, addr);

	if (!a)
		return -1;
	for (unsigned int i = 0; i < p->nr_paths; i++)
		if (addr_on_path(h, &p->paths[i], a))
			return i;
	return -1;
}

const char *path_state_name(enum path_state st)
{
	static const char *const names[] = {
		[PATH_USABLE] = "usable", [PATH_NO_LINK] = "link down",
		[PATH_NO_ADDR] = "no address", [PATH_NO_ROUTE] = "no route to the peer",
		[PATH_SILENT] = "probes unanswered", [PATH_STALLED] = "no ACK progress",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* The link a path would use: the device of its first dev selector, or of
 * the first of its addresses. */
static const struct subflow_nl_link *path_link(const struct host *h,
					       const struct subflow_policy_path *path, int family)
{
	for (unsigned int i = 0; i < path->nr_selectors && i < SUBFLOW_POLICY_MAX_SELECTORS; i++)
		if (path->selectors[i].kind == SUBFLOW_POLICY_SEL_DEV)
			return subflow_host_link_by_name(&h->snap, path->selectors[i].dev);
	for (size_t i = 0; i < h->snap.nr_addrs; i++) {
		const struct subflow_nl_addr *a = &h->snap.addrs[i];

		if (a->family == family && addr_on_path(h, path, a))
			return subflow_host_link_by_index(&h->snap, a->ifindex);
	}
	return NULL;
}

/* Route lookups, remembered until the next link, address or route change:
 * every connection to the same peer asks the same question. */
struct route_memo {
	uint64_t generation;
	uint8_t family;
	int ifindex;
	uint8_t src[16], dst[16];
	bool ok;
};

#define ROUTE_MEMOS 256
static struct route_memo route_memo[ROUTE_MEMOS];
static unsigned int route_memo_next;

static bool route_ok(struct host *h, int family, const uint8_t *remote, const struct path_addr *a)
{
	size_t len = family_len(family);
	struct subflow_nl_route route;
	struct route_memo *m;

	for (int i = 0; i < ROUTE_MEMOS; i++) {
		m = &route_memo[i];
		if (m->generation == h->generation && m->family == family && m->ifindex == a->ifindex &&
		    !memcmp(m->src, a->addr, len) && !memcmp(m->dst, remote, len))
			return m->ok;
	}
	m = &route_memo[route_memo_next++ % ROUTE_MEMOS];
	memset(m, 0, sizeof(*m));
	m->generation = h->generation;
	m->family = family;
	m->ifindex = a->ifindex;
	memcpy(m->src, a->addr, len);
	memcpy(m->dst, remote, len);
	m->ok = !subflow_rtnl_route_get(h->rtnl, family, remote, a->addr, a->ifindex, &route) &&
		(!route.oif || route.oif == a->ifindex);
	/* IPv6 honours the output device of a lookup that has a source only
	 * when it has no better route elsewhere (RT6_LOOKUP_F_IFACE is set
	 * for a bound socket, as a subflow is, but not for RTM_GETROUTE with
	 * RTA_SRC): ask again as the bound subflow's lookup does, by device. */
	if (!m->ok && family == AF_INET6)
		m->ok = !subflow_rtnl_route_get(h->rtnl, family, remote, NULL, a->ifindex, &route) &&
			(!route.oif || route.oif == a->ifindex);
	return m->ok;
}

enum path_state host_path_state(struct host *h, const struct subflow_policy *p, int path,
				int family, const uint8_t *remote, struct path_addr *addr)
{
	const struct subflow_nl_link *link;
	struct path_addr a;

	if (path < 0 || path >= (int)p->nr_paths)
		return PATH_NO_ADDR;
	link = path_link(h, &p->paths[path], family);
	if (link && (!(link->flags & IFF_UP) || !(link->flags & (IFF_LOWER_UP | IFF_RUNNING))))
		return PATH_NO_LINK;
	if (!host_path_addr(h, p, path, family, &a))
		return link ? PATH_NO_ADDR : PATH_NO_LINK;
	if (addr)
		*addr = a;
	if (!route_ok(h, family, remote, &a))
		return PATH_NO_ROUTE;
	return PATH_USABLE;
}

/* ---- probes ----------------------------------------------------------------------- */

static uint16_t checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (p[i] << 8) | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

static struct probe *probe_find(struct host *h, const struct path_addr *from, int family,
				const uint8_t *to)
{
	size_t len = family_len(family);

	for (int i = 0; i < DAEMON_MAX_PROBES; i++) {
		struct probe *pr = &h->probes[i];

		if (pr->fd >= 0 && pr->family == family && pr->from.ifindex == from->ifindex &&
		    !memcmp(pr->from.addr, from->addr, len) && !memcmp(pr->to, to, len))
			return pr;
	}
	return NULL;
}

static void probe_stop(struct probe *pr)
{
	if (pr->fd < 0)
		return;
	if (host_epoll_fd >= 0)
		epoll_ctl(host_epoll_fd, EPOLL_CTL_DEL, pr->fd, NULL);
	close(pr->fd);
	memset(pr, 0, sizeof(*pr));
	pr->fd = -1;
}

static struct probe *probe_start(struct host *h, const struct path_addr *from, int family,
				 const uint8_t *to)
{
	const struct subflow_nl_link *link = subflow_host_link_by_index(&h->snap, from->ifindex);
	static uint16_t next_ident;
	struct sockaddr_storage ss = {};
	struct epoll_event ev = { .events = EPOLLIN };
	struct probe *pr = NULL;
	socklen_t len;
	int fd;

	for (int i = 0; i < DAEMON_MAX_PROBES && !pr; i++)
		if (h->probes[i].fd < 0)
			pr = &h->probes[i];
	if (!pr || !link)
		return NULL;
	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return NULL;
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		struct icmp6_filter filter;

		ICMP6_FILTER_SETBLOCKALL(&filter);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, from->addr, 16);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, from->addr, 4);
		len = sizeof(*sin);
	}
	/* From the path's address, out of the path's device: the probe takes
	 * the subflow's way, and only that path's answers come back here. */
	if (bind(fd, (struct sockaddr *)&ss, len) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, link->name, strlen(link->name) + 1)) {
		close(fd);
		return NULL;
	}
	memset(pr, 0, sizeof(*pr));
	pr->fd = fd;
	pr->from = *from;
	pr->family = family;
	memcpy(pr->to, to, family_len(family));
	pr->ident = (uint16_t)(getpid() * 64 + ++next_ident);
	pr->started_ms = daemon_now_ms();
	pr->next_send_ms = pr->started_ms;
	pr->interval_ms = 100;
	pr->timeout_ms = SUBFLOW_POLICY_DEFAULT_ACK_TIMEOUT_MS;
	ev.data.ptr = pr;
	if (host_epoll_fd >= 0 && epoll_ctl(host_epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
		probe_stop(pr);
		return NULL;
	}
	return pr;
}

void host_probe_begin_round(struct host *h)
{
	for (int i = 0; i < DAEMON_MAX_PROBES; i++)
		h->probes[i].used = false;
}

void host_probe_sweep(struct host *h)
{
	for (int i = 0; i < DAEMON_MAX_PROBES; i++)
		if (h->probes[i].fd >= 0 && !h->probes[i].used)
			probe_stop(&h->probes[i]);
}

bool host_probe_silent(struct host *h, const struct path_addr *from, int family,
		       const uint8_t *to, uint32_t timeout_ms, uint32_t interval_ms)
{
	struct probe *pr = probe_find(h, from, family, to);
	uint64_t now = daemon_now_ms();

	if (!pr)
		pr = probe_start(h, from, family, to);
	if (!pr)
		return false;	/* no probe (no socket): judged by the rest */
	/* The strictest wanter of the round decides. */
	if (!pr->used || timeout_ms < pr->timeout_ms)
		pr->timeout_ms = timeout_ms;
	if (!pr->used || interval_ms < pr->interval_ms)
		pr->interval_ms = interval_ms < 10 ? 10 : interval_ms;
	pr->used = true;
	pr->silent = pr->answered && now - pr->last_reply_ms > pr->timeout_ms;
	return pr->silent;
}

bool host_probe_answered_since(struct host *h, const struct path_addr *from, int family,
			       const uint8_t *to, uint64_t since_ms)
{
	struct probe *pr = probe_find(h, from, family, to);

	if (!pr)
		pr = probe_start(h, from, family, to);
	if (!pr)
		return false;	/* no probe: the hold's time limit decides */
	pr->used = true;
	if (pr->answered && pr->last_reply_ms >= since_ms)
		return true;
	pr->awaited_ms = since_ms;
	return false;
}

static void probe_send(struct probe *pr)
{
	struct sockaddr_storage ss = {};
	uint8_t buf[16] = {};
	socklen_t len;

	pr->seq++;
	if (pr->family == AF_INET6) {
		struct icmp6_hdr *icmp = (struct icmp6_hdr *)buf;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		icmp->icmp6_type = ICMP6_ECHO_REQUEST;
		icmp->icmp6_id = htons(pr->ident);
		icmp->icmp6_seq = htons(pr->seq);
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, pr->to, 16);
		len = sizeof(*sin6);	/* the kernel fills the ICMPv6 checksum */
	} else {
		struct icmphdr *icmp = (struct icmphdr *)buf;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		icmp->type = ICMP_ECHO;
		icmp->un.echo.id = htons(pr->ident);
		icmp->un.echo.sequence = htons(pr->seq);
		icmp->checksum = checksum(buf, sizeof(buf));
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, pr->to, 4);
		len = sizeof(*sin);
	}
	/* A full queue or an unreachable peer is silence, like a loss. */
	sendto(pr->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, len);
}

uint64_t host_probe_tick(struct host *h, uint64_t now)
{
	uint64_t next = 0;

	for (int i = 0; i < DAEMON_MAX_PROBES; i++) {
		struct probe *pr = &h->probes[i];

		if (pr->fd < 0)
			continue;
		if (now >= pr->next_send_ms) {
			probe_send(pr);
			pr->next_send_ms = now + pr->interval_ms;
		}
		if (!next || pr->next_send_ms < next)
			next = pr->next_send_ms;
		/* Going silent is an event too: when it happens, decide again. */
		if (pr->answered && !pr->silent) {
			uint64_t silent_at = pr->last_reply_ms + pr->timeout_ms + 1;

			if (now >= silent_at) {
				pr->silent = true;
				h->probes_changed = true;
			} else if (silent_at < next) {
				next = silent_at;
			}
		}
	}
	return next;
}

void host_probe_on_reply(struct host *h, struct probe *pr)
{
	uint8_t buf[512];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(pr->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		const uint8_t *icmp = buf;
		size_t left = n;

		if (n < 0)
			return;
		if (pr->family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&from;
			const struct iphdr *ip = (const struct iphdr *)buf;

			/* A raw IPv4 socket gets the IP header too. */
			if (flen < sizeof(*sin) || memcmp(&sin->sin_addr, pr->to, 4) ||
			    (size_t)n < sizeof(*ip) || (size_t)n < ip->ihl * 4u + sizeof(struct icmphdr))
				continue;
			icmp = buf + ip->ihl * 4;
			left = n - ip->ihl * 4;
			if (((const struct icmphdr *)icmp)->type != ICMP_ECHOREPLY ||
			    ntohs(((const struct icmphdr *)icmp)->un.echo.id) != pr->ident)
				continue;
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&from;
			const struct icmp6_hdr *i6 = (const struct icmp6_hdr *)buf;

			if (flen < sizeof(*sin6) || memcmp(&sin6->sin6_addr, pr->to, 16) ||
			    left < sizeof(*i6) || i6->icmp6_type != ICMP6_ECHO_REPLY ||
			    ntohs(i6->icmp6_id) != pr->ident)
				continue;
		}
		pr->answered = true;
		pr->last_reply_ms = daemon_now_ms();
		if (pr->awaited_ms && pr->last_reply_ms >= pr->awaited_ms) {
			pr->awaited_ms = 0;
			h->probes_changed = true;	/* a held path answers */
		}
		if (pr->silent) {
			pr->silent = false;
			h->probes_changed = true;	/* answering again */
		}
	}
}
