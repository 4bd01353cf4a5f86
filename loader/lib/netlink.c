// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one netlink layer of libsubflow (libmnl): rtnetlink and the Generic
 * Netlink family "mptcp_pm". See netlink.h for what each part offers.
 *
 * Trust: nothing the kernel (or anyone able to send to our socket) sends is
 * read before it is checked. libmnl checks each message's header length and
 * our sequence number and port id; each attribute is validated for its type's
 * length (mnl_attr_validate / _validate2) before its payload is read, and a
 * message without the attributes its kind requires is rejected as -EBADMSG.
 * Notifications are only accepted from the kernel (nl_pid 0).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include "internal.h"
#include "netlink.h"
#include "mptcp_compat.h"

#ifndef IF_OPER_UNKNOWN
#define IF_OPER_UNKNOWN 0	/* <linux/if.h> clashes with <net/if.h> */
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

/* Big enough for any one datagram of a dump (the kernel fills up to 32 KiB
 * per recvmsg for a large buffer). */
#define NL_BUF_SIZE		(64 * 1024)
/* A request whose answer does not come within this is abandoned. */
#define NL_REPLY_TIMEOUT_MS	5000

struct subflow_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	int protocol;
	char error[256];
	char *buf;
};

struct subflow_nl *subflow_nl_open(int protocol)
{
	struct timeval tv = { .tv_sec = NL_REPLY_TIMEOUT_MS / 1000,
			      .tv_usec = (NL_REPLY_TIMEOUT_MS % 1000) * 1000 };
	struct subflow_nl *nl;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	nl->buf = malloc(NL_BUF_SIZE);
	nl->sock = mnl_socket_open2(protocol, SOCK_CLOEXEC);
	if (!nl->buf || !nl->sock)
		goto fail;
	/* Without these the kernel's reason for a refusal is lost, and a
	 * refused big request would be echoed back whole. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		goto fail;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->protocol = protocol;
	nl->seq = (unsigned int)time(NULL);
	return nl;
fail:
	err = errno;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
	errno = err;
	return NULL;
}

void subflow_nl_close(struct subflow_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
}

int subflow_nl_fd(const struct subflow_nl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

int subflow_nl_join(struct subflow_nl *nl, unsigned int group)
{
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

const char *subflow_nl_error(const struct subflow_nl *nl)
{
	return nl->error;
}

int subflow_nl_wait(struct subflow_nl *nl, int timeout_ms)
{
	struct pollfd pfd = { .fd = subflow_nl_fd(nl), .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* ---- acks, errors and the request loop ---------------------------------------- */

struct request_ctx {
	struct subflow_nl *nl;
	subflow_nl_msg_cb cb;
	void *ctx;
	int err;	/* the kernel's answer, or the callback's */
	bool done;
};

static int extack_attr(const struct nlattr *attr, void *data)
{
	struct subflow_nl *nl = data;
	const char *msg;
	size_t len;

	if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_STRING) < 0)
		return MNL_CB_OK;	/* a malformed message is no message */
	msg = mnl_attr_get_str(attr);
	len = strnlen(msg, mnl_attr_get_payload_len(attr));
	if (len >= sizeof(nl->error))
		len = sizeof(nl->error) - 1;
	memcpy(nl->error, msg, len);
	nl->error[len] = '\0';
	return MNL_CB_OK;
}

/* The extended ack's TLVs, at `offset` of the payload. */
static void read_extack_at(struct subflow_nl *nl, const struct nlmsghdr *nlh, size_t offset)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (offset > mnl_nlmsg_get_payload_len(nlh))
		return;
	mnl_attr_parse(nlh, offset, extack_attr, nl);
}

/* In an error, they follow the nlmsgerr and, unless capped, the request. */
static void read_extack(struct subflow_nl *nl, const struct nlmsghdr *nlh,
			const struct nlmsgerr *e)
{
	size_t offset = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(e->msg))
			return;
		offset += NLMSG_ALIGN(e->msg.nlmsg_len) - sizeof(e->msg);
	}
	read_extack_at(nl, nlh, offset);
}

static int on_error_msg(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *rc = data;
	const struct nlmsgerr *e;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		rc->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	e = mnl_nlmsg_get_payload(nlh);
	read_extack(rc->nl, nlh, e);
	/* error 0 is the ack; a positive value is nonsense from a peer */
	rc->err = e->error > 0 ? -EBADMSG : e->error;
	rc->done = true;
	return MNL_CB_STOP;
}

static int on_done_msg(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *rc = data;
	int err = 0;

	/* A dump ends with NLMSG_DONE carrying its error code, as an int. */
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		if (err < 0) {
			read_extack_at(rc->nl, nlh, sizeof(int));
			rc->err = err;
		}
	}
	rc->done = true;
	return MNL_CB_STOP;
}

static int on_noop_msg(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int on_data_msg(const struct nlmsghdr *nlh, void *data)
{
	struct request_ctx *rc = data;
	int err;

	if (!rc->cb)
		return MNL_CB_OK;
	err = rc->cb(nlh, rc->ctx);
	if (err < 0) {
		/* Keep reading to the end of the answer, but remember why. */
		if (!rc->err)
			rc->err = err;
		rc->cb = NULL;
	}
	return MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_NOOP] = on_noop_msg,
	[NLMSG_ERROR] = on_error_msg,
	[NLMSG_DONE] = on_done_msg,
	[NLMSG_OVERRUN] = on_noop_msg,
};

int subflow_nl_request(struct subflow_nl *nl, struct nlmsghdr *nlh, subflow_nl_msg_cb cb,
		       void *ctx)
{
	struct request_ctx rc = { .nl = nl, .cb = cb, .ctx = ctx };
	unsigned int seq;
	ssize_t n;
	int ret;

	nl->error[0] = '\0';
	seq = ++nl->seq;
	if (!seq)
		seq = ++nl->seq;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!rc.done) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* SO_RCVTIMEO: no answer */
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, on_data_msg, &rc, ctl_cbs,
				  NLMSG_MIN_TYPE);
		if (ret < 0 && rc.err)
			return rc.err;
		if (ret < 0) {
			/* libmnl refused the datagram: wrong seq (a stale
			 * answer, skip it), or a malformed one. */
			if (errno == EPROTO || errno == ESRCH)
				continue;
			return errno == EINTR ? -EINTR : -EBADMSG;
		}
	}
	return rc.err;
}

struct receive_ctx {
	subflow_nl_msg_cb cb;
	void *ctx;
	int err;
};

static int on_notification(const struct nlmsghdr *nlh, void *data)
{
	struct receive_ctx *rc = data;
	int err;

	/* Only the kernel sends notifications. */
	if (nlh->nlmsg_pid != 0)
		return MNL_CB_OK;
	err = rc->cb(nlh, rc->ctx);
	if (err < 0 && !rc->err)
		rc->err = err;
	return MNL_CB_OK;
}

int subflow_nl_receive(struct subflow_nl *nl, subflow_nl_msg_cb cb, void *ctx)
{
	struct receive_ctx rc = { .cb = cb, .ctx = ctx };
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = nl->buf, .iov_len = NL_BUF_SIZE };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from),
			      .msg_iov = &iov, .msg_iovlen = 1 };
	int datagrams = 0;
	ssize_t n;

	for (;;) {
		n = recvmsg(subflow_nl_fd(nl), &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;	/* -ENOBUFS: notifications were lost */
		}
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
			continue;	/* not from the kernel, or cut short */
		datagrams++;
		/* Control messages (errors) are not expected here: skipped. */
		mnl_cb_run2(nl->buf, n, 0, 0, on_notification, &rc, NULL, 0);
		if (rc.err)
			return rc.err;
	}
	return datagrams;
}

/* ---- rtnetlink -------------------------------------------------------------------- */

static size_t family_len(int family)
{
	return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0;
}

/* Copy a binary attribute of exactly `len` bytes; false when its size differs. */
static bool attr_copy(const struct nlattr *attr, void *out, size_t len)
{
	if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, len) < 0)
		return false;
	memcpy(out, mnl_attr_get_payload(attr), len);
	return true;
}

static bool attr_u32(const struct nlattr *attr, uint32_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(attr);
	return true;
}

static bool attr_u16(const struct nlattr *attr, uint16_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
		return false;
	*out = mnl_attr_get_u16(attr);
	return true;
}

static bool attr_u8(const struct nlattr *attr, uint8_t *out)
{
	if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return false;
	*out = mnl_attr_get_u8(attr);
	return true;
}

/* A NUL-terminated string that fits size (with its NUL). */
static bool attr_str(const struct nlattr *attr, char *out, size_t size)
{
	size_t len;

	if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return false;
	len = strnlen(mnl_attr_get_str(attr), mnl_attr_get_payload_len(attr));
	if (len >= size)
		return false;
	memcpy(out, mnl_attr_get_str(attr), len);
	out[len] = '\0';
	return true;
}

/* Walk the attributes in [start, start + len): anything left that is not a
 * whole attribute (one running past the end, a stray byte) is malformed;
 * libmnl's own walk would stop there silently. */
static int walk_attrs(const void *start, int len, const struct nlattr **tb, unsigned int max)
{
	const struct nlattr *attr = start;
	unsigned int type;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (mnl_attr_ok(attr, len)) {
		type = mnl_attr_get_type(attr);
		if (type <= max)
			tb[type] = attr;	/* the last one wins, as in the kernel */
		len -= MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	return len > 0 ? -EBADMSG : 0;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t offset, const struct nlattr **tb,
		       unsigned int max)
{
	size_t payload = mnl_nlmsg_get_payload_len(nlh);

	if (offset > payload)
		return -EBADMSG;
	return walk_attrs((const char *)mnl_nlmsg_get_payload(nlh) + MNL_ALIGN(offset),
			  (int)payload - (int)MNL_ALIGN(offset), tb, max);
}

static int parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned int max)
{
	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return -EBADMSG;
	return walk_attrs(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), tb, max);
}

static int parse_link(const struct nlmsghdr *nlh, struct subflow_nl_link *out)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifi->ifi_index;
	out->flags = ifi->ifi_flags;
	out->operstate = IF_OPER_UNKNOWN;
	out->deleted = nlh->nlmsg_type == RTM_DELLINK;
	if (ifi->ifi_index <= 0)
		return -EBADMSG;
	if (!tb[IFLA_IFNAME] || !attr_str(tb[IFLA_IFNAME], out->name, sizeof(out->name)))
		return -EBADMSG;
	if (tb[IFLA_OPERSTATE] && !attr_u8(tb[IFLA_OPERSTATE], &out->operstate))
		return -EBADMSG;
	return 0;
}

static int parse_addr(const struct nlmsghdr *nlh, struct subflow_nl_addr *out)
{
	const struct nlattr *tb[IFA_MAX + 1], *a;
	const struct ifaddrmsg *ifa;
	size_t len;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	ifa = mnl_nlmsg_get_payload(nlh);
	len = family_len(ifa->ifa_family);
	if (!len)
		return -ENOMSG;	/* not IP */
	if (parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->ifindex = ifa->ifa_index;
	out->family = ifa->ifa_family;
	out->prefixlen = ifa->ifa_prefixlen;
	out->scope = ifa->ifa_scope;
	out->flags = ifa->ifa_flags;
	out->deleted = nlh->nlmsg_type == RTM_DELADDR;
	if (out->prefixlen > len * 8 || ifa->ifa_index == 0)
		return -EBADMSG;
	/* IFA_LOCAL is the host's own address (IFA_ADDRESS the peer's on a
	 * point-to-point link); IPv6 gives only IFA_ADDRESS. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || !attr_copy(a, out->addr, len))
		return -EBADMSG;
	if (tb[IFA_FLAGS] && !attr_u32(tb[IFA_FLAGS], &out->flags))
		return -EBADMSG;
	return 0;
}

static int parse_route(const struct nlmsghdr *nlh, struct subflow_nl_route *out)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t oif = 0;
	size_t len;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	rtm = mnl_nlmsg_get_payload(nlh);
	len = family_len(rtm->rtm_family);
	if (!len)
		return -ENOMSG;
	if (parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->family = rtm->rtm_family;
	out->dst_len = rtm->rtm_dst_len;
	out->type = rtm->rtm_type;
	out->table = rtm->rtm_table;
	out->table_id = rtm->rtm_table;
	out->deleted = nlh->nlmsg_type == RTM_DELROUTE;
	if (out->dst_len > len * 8)
		return -EBADMSG;
	if (tb[RTA_DST] && !attr_copy(tb[RTA_DST], out->dst, len))
		return -EBADMSG;
	if (tb[RTA_GATEWAY]) {
		if (!attr_copy(tb[RTA_GATEWAY], out->gateway, len))
			return -EBADMSG;
		out->has_gateway = true;
	}
	if (tb[RTA_PREFSRC]) {
		if (!attr_copy(tb[RTA_PREFSRC], out->prefsrc, len))
			return -EBADMSG;
		out->has_prefsrc = true;
	}
	if (tb[RTA_OIF]) {
		if (!attr_u32(tb[RTA_OIF], &oif) || oif > INT32_MAX)
			return -EBADMSG;
		out->oif = oif;
	}
	if (tb[RTA_TABLE] && !attr_u32(tb[RTA_TABLE], &out->table_id))
		return -EBADMSG;
	return 0;
}

int subflow_rtnl_parse(const struct nlmsghdr *nlh, struct subflow_rtnl_msg *out)
{
	memset(out, 0, sizeof(*out));
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		out->kind = SUBFLOW_RTNL_LINK;
		return parse_link(nlh, &out->link);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		out->kind = SUBFLOW_RTNL_ADDR;
		return parse_addr(nlh, &out->addr);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		out->kind = SUBFLOW_RTNL_ROUTE;
		return parse_route(nlh, &out->route);
	default:
		return -ENOMSG;
	}
}

int subflow_rtnl_join_changes(struct subflow_nl *nl)
{
	static const unsigned int groups[] = {
		RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
	};
	int err;

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		err = subflow_nl_join(nl, groups[i]);
		if (err)
			return err;
	}
	return 0;
}

struct dump_ctx {
	subflow_rtnl_cb cb;
	void *ctx;
};

static int on_dump_msg(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *dc = data;
	struct subflow_rtnl_msg msg;
	int err;

	err = subflow_rtnl_parse(nlh, &msg);
	if (err == -ENOMSG)
		return 0;
	if (err)
		return err;
	return dc->cb(&msg, dc->ctx);
}

/* A dump of `type`: both ifinfomsg and ifaddrmsg begin with the family. */
static int rtnl_dump(struct subflow_nl *nl, uint16_t type, size_t header, int family,
		     subflow_rtnl_cb cb, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx dc = { .cb = cb, .ctx = ctx };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint8_t *family_byte;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_DUMP;
	family_byte = mnl_nlmsg_put_extra_header(nlh, header);
	*family_byte = family;
	return subflow_nl_request(nl, nlh, on_dump_msg, &dc);
}

int subflow_rtnl_dump_links(struct subflow_nl *nl, subflow_rtnl_cb cb, void *ctx)
{
	return rtnl_dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC, cb, ctx);
}

int subflow_rtnl_dump_addrs(struct subflow_nl *nl, int family, subflow_rtnl_cb cb, void *ctx)
{
	return rtnl_dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), family, cb, ctx);
}

struct route_get_ctx {
	struct subflow_nl_route *out;
	bool found;
};

static int on_route(const struct subflow_rtnl_msg *msg, void *data)
{
	struct route_get_ctx *rg = data;

	if (msg->kind != SUBFLOW_RTNL_ROUTE)
		return 0;
	*rg->out = msg->route;
	rg->found = true;
	return 0;
}

int subflow_rtnl_route_get(struct subflow_nl *nl, int family, const uint8_t *dst,
			   const uint8_t *src, int oif, struct subflow_nl_route *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct route_get_ctx rg = { .out = out };
	struct dump_ctx dc = { .cb = on_route, .ctx = &rg };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	size_t len = family_len(family);
	struct rtmsg *rtm;
	int err;

	if (!len || !dst || !out)
		return -EINVAL;
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = len * 8;
	mnl_attr_put(nlh, RTA_DST, len, dst);
	if (src) {
		rtm->rtm_src_len = len * 8;
		mnl_attr_put(nlh, RTA_SRC, len, src);
	}
	if (oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, oif);
	err = subflow_nl_request(nl, nlh, on_dump_msg, &dc);
	if (err)
		return err;
	if (!rg.found)
		return -EBADMSG;
	/* Only a unicast route reaches the peer. */
	return out->type == RTN_UNICAST || out->type == RTN_LOCAL ? 0 : -ENETUNREACH;
}

/* ---- host snapshot ------------------------------------------------------------------ */

static int grow(void **array, size_t count, size_t elem)
{
	void *p;

	/* count is a power of two (or 0) when the array is full */
	if (count & (count - 1))
		return 0;
	p = realloc(*array, (count ? 2 * count : 16) * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	return 0;
}

static int collect_host(const struct subflow_rtnl_msg *msg, void *ctx)
{
	struct subflow_host *host = ctx;

	if (msg->kind == SUBFLOW_RTNL_LINK) {
		if (grow((void **)&host->links, host->nr_links, sizeof(*host->links)))
			return -ENOMEM;
		host->links[host->nr_links++] = msg->link;
	} else if (msg->kind == SUBFLOW_RTNL_ADDR) {
		if (grow((void **)&host->addrs, host->nr_addrs, sizeof(*host->addrs)))
			return -ENOMEM;
		host->addrs[host->nr_addrs++] = msg->addr;
	}
	return 0;
}

int subflow_host_read(struct subflow_host *host)
{
	struct subflow_nl *nl;
	int err;

	memset(host, 0, sizeof(*host));
	nl = subflow_nl_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	err = subflow_rtnl_dump_links(nl, collect_host, host);
	if (!err)
		err = subflow_rtnl_dump_addrs(nl, AF_UNSPEC, collect_host, host);
	subflow_nl_close(nl);
	if (err)
		subflow_host_free(host);
	return err;
}

void subflow_host_free(struct subflow_host *host)
{
	free(host->links);
	free(host->addrs);
	memset(host, 0, sizeof(*host));
}

const struct subflow_nl_link *subflow_host_link_by_name(const struct subflow_host *host,
							const char *name)
{
	for (size_t i = 0; i < host->nr_links; i++)
		if (!strcmp(host->links[i].name, name))
			return &host->links[i];
	return NULL;
}

const struct subflow_nl_link *subflow_host_link_by_index(const struct subflow_host *host,
							 int ifindex)
{
	for (size_t i = 0; i < host->nr_links; i++)
		if (host->links[i].ifindex == ifindex)
			return &host->links[i];
	return NULL;
}

const struct subflow_nl_addr *subflow_host_find_addr(const struct subflow_host *host, int family,
						     const uint8_t *addr)
{
	size_t len = family_len(family);

	for (size_t i = 0; len && i < host->nr_addrs; i++)
		if (host->addrs[i].family == family && !memcmp(host->addrs[i].addr, addr, len))
			return &host->addrs[i];
	return NULL;
}

/* ---- sock_diag ---------------------------------------------------------------------- */

static void diag_id(struct inet_diag_sockid *id, const struct subflow_diag_tuple *t)
{
	size_t len = family_len(t->family);

	memset(id, 0, sizeof(*id));
	id->idiag_sport = htons(t->sport);
	id->idiag_dport = htons(t->dport);
	memcpy(id->idiag_src, t->saddr, len);
	memcpy(id->idiag_dst, t->daddr, len);
	id->idiag_if = t->ifindex;
	id->idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

static struct nlmsghdr *diag_request(char *buf, uint16_t type, uint8_t family, int protocol,
				     struct inet_diag_req_v2 **req)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	*req = mnl_nlmsg_put_extra_header(nlh, sizeof(**req));
	(*req)->sdiag_family = family;
	if (protocol > 255) {
		/* IPPROTO_MPTCP does not fit the header's byte. */
		(*req)->sdiag_protocol = 0;
		mnl_attr_put_u32(nlh, INET_DIAG_REQ_PROTOCOL, protocol);
	} else {
		(*req)->sdiag_protocol = protocol;
	}
	return nlh;
}

struct diag_info_ctx {
	void *info;
	size_t size, len;
	bool found;
};

static int on_diag_tcp(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1];
	struct diag_info_ctx *dc = data;
	size_t len;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg))
		return -EBADMSG;
	if (parse_attrs(nlh, sizeof(struct inet_diag_msg), tb, INET_DIAG_MAX))
		return -EBADMSG;
	dc->found = true;
	if (!tb[INET_DIAG_INFO])
		return -EBADMSG;
	if (mnl_attr_validate(tb[INET_DIAG_INFO], MNL_TYPE_BINARY) < 0)
		return -EBADMSG;
	len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);
	if (len > dc->size)
		len = dc->size;	/* a newer kernel's longer struct: its head is ours */
	memset(dc->info, 0, dc->size);
	memcpy(dc->info, mnl_attr_get_payload(tb[INET_DIAG_INFO]), len);
	dc->len = len;
	return 0;
}

int subflow_diag_tcp_info(struct subflow_nl *nl, const struct subflow_diag_tuple *t, void *info,
			  size_t size, size_t *len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct diag_info_ctx dc = { .info = info, .size = size };
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	int err;

	if (!family_len(t->family))
		return -EAFNOSUPPORT;
	nlh = diag_request(buf, SOCK_DIAG_BY_FAMILY, t->family, IPPROTO_TCP, &req);
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0U;
	diag_id(&req->id, t);
	err = subflow_nl_request(nl, nlh, on_diag_tcp, &dc);
	if (err)
		return err;
	if (!dc.found)
		return -ENOENT;
	if (len)
		*len = dc.len;
	return 0;
}

int subflow_diag_destroy(struct subflow_nl *nl, const struct subflow_diag_tuple *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;

	if (!family_len(t->family))
		return -EAFNOSUPPORT;
	nlh = diag_request(buf, SOCK_DESTROY, t->family, IPPROTO_TCP, &req);
	req->idiag_states = ~0U;
	diag_id(&req->id, t);
	return subflow_nl_request(nl, nlh, NULL, NULL);
}

int subflow_diag_parse_mptcp(const struct nlmsghdr *nlh, struct subflow_diag_mptcp *out)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *msg;
	struct mptcp_info_v6_18 info = {};
	size_t len;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*msg))
		return -EBADMSG;
	msg = mnl_nlmsg_get_payload(nlh);
	len = family_len(msg->idiag_family);
	if (!len)
		return -EBADMSG;
	if (parse_attrs(nlh, sizeof(*msg), tb, INET_DIAG_MAX))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	out->tuple.family = msg->idiag_family;
	memcpy(out->tuple.saddr, msg->id.idiag_src, len);
	memcpy(out->tuple.daddr, msg->id.idiag_dst, len);
	out->tuple.sport = ntohs(msg->id.idiag_sport);
	out->tuple.dport = ntohs(msg->id.idiag_dport);
	out->tuple.ifindex = msg->id.idiag_if;
	out->state = msg->idiag_state;
	if (tb[INET_DIAG_INFO]) {
		if (mnl_attr_validate(tb[INET_DIAG_INFO], MNL_TYPE_BINARY) < 0)
			return -EBADMSG;
		len = mnl_attr_get_payload_len(tb[INET_DIAG_INFO]);
		/* The fields used here are in every kernel's struct since 5.x. */
		if (len < offsetof(struct mptcp_info_v6_18, mptcpi_bytes_acked) + 8)
			return -EBADMSG;
		memcpy(&info, mnl_attr_get_payload(tb[INET_DIAG_INFO]),
		       len < sizeof(info) ? len : sizeof(info));
		out->token = info.mptcpi_token;
		out->bytes_sent = info.mptcpi_bytes_sent;
		out->bytes_received = info.mptcpi_bytes_received;
		out->bytes_acked = info.mptcpi_bytes_acked;
		out->subflows = info.mptcpi_subflows;
		out->last_data_sent_ms = len >= sizeof(info) ? info.mptcpi_last_data_sent : UINT32_MAX;
		out->last_data_recv_ms = len >= sizeof(info) ? info.mptcpi_last_data_recv : UINT32_MAX;
		out->has_info = true;
	}
	return 0;
}

struct diag_mptcp_ctx {
	subflow_diag_mptcp_cb cb;
	void *ctx;
	struct subflow_diag_mptcp *one;
	bool found;
};

static int on_diag_mptcp(const struct nlmsghdr *nlh, void *data)
{
	struct diag_mptcp_ctx *dc = data;
	struct subflow_diag_mptcp conn;
	int err;

	err = subflow_diag_parse_mptcp(nlh, &conn);
	if (err)
		return err;
	dc->found = true;
	if (dc->one) {
		*dc->one = conn;
		return 0;
	}
	return dc->cb(&conn, dc->ctx);
}

int subflow_diag_mptcp_by_token(struct subflow_nl *nl, uint32_t token,
				struct subflow_diag_mptcp *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct diag_mptcp_ctx dc = { .one = out };
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	int err;

	/* The MPTCP diag finds one connection by its token, given as the
	 * cookie; the family only routes the request. */
	nlh = diag_request(buf, SOCK_DIAG_BY_FAMILY, AF_INET, IPPROTO_MPTCP, &req);
	req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	req->idiag_states = ~0U;
	req->id.idiag_cookie[0] = token;
	err = subflow_nl_request(nl, nlh, on_diag_mptcp, &dc);
	if (err)
		return err;
	if (!dc.found || !out->has_info || out->token != token)
		return -ENOENT;
	return 0;
}

int subflow_diag_mptcp_dump(struct subflow_nl *nl, subflow_diag_mptcp_cb cb, void *ctx)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct diag_mptcp_ctx dc = { .cb = cb, .ctx = ctx };
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	int err;

	for (size_t i = 0; i < sizeof(families); i++) {
		nlh = diag_request(buf, SOCK_DIAG_BY_FAMILY, families[i], IPPROTO_MPTCP, &req);
		nlh->nlmsg_flags = NLM_F_DUMP;
		req->idiag_ext = 1 << (INET_DIAG_INFO - 1);
		req->idiag_states = ~0U;
		err = subflow_nl_request(nl, nlh, on_diag_mptcp, &dc);
		if (err)
			return err;
	}
	return 0;
}

/* ---- Generic Netlink "mptcp_pm" ----------------------------------------------------- */

struct subflow_pm {
	struct subflow_nl *nl;
	uint16_t family;
	uint32_t events_group;
};

struct family_ctx {
	const char *name;
	uint16_t id;
	uint32_t group;
	const char *group_name;
};

static int on_mcast_group(const struct nlattr *nest, struct family_ctx *fc)
{
	const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1];
	char name[GENL_NAMSIZ];
	uint32_t id;

	if (parse_nested(nest, tb, CTRL_ATTR_MCAST_GRP_MAX))
		return -EBADMSG;
	if (!tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID])
		return -EBADMSG;
	if (!attr_str(tb[CTRL_ATTR_MCAST_GRP_NAME], name, sizeof(name)) ||
	    !attr_u32(tb[CTRL_ATTR_MCAST_GRP_ID], &id))
		return -EBADMSG;
	if (!strcmp(name, fc->group_name))
		fc->group = id;
	return 0;
}

static int on_family(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *group;
	struct family_ctx *fc = data;
	char name[GENL_NAMSIZ];
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EBADMSG;
	if (parse_attrs(nlh, sizeof(struct genlmsghdr), tb, CTRL_ATTR_MAX))
		return -EBADMSG;
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_FAMILY_NAME] ||
	    !attr_u16(tb[CTRL_ATTR_FAMILY_ID], &fc->id) ||
	    !attr_str(tb[CTRL_ATTR_FAMILY_NAME], name, sizeof(name)))
		return -EBADMSG;
	if (strcmp(name, fc->name))
		return -EBADMSG;	/* an answer about another family */
	if (tb[CTRL_ATTR_MCAST_GROUPS]) {
		if (mnl_attr_validate(tb[CTRL_ATTR_MCAST_GROUPS], MNL_TYPE_NESTED) < 0)
			return -EBADMSG;
		int len = mnl_attr_get_payload_len(tb[CTRL_ATTR_MCAST_GROUPS]);

		for (group = mnl_attr_get_payload(tb[CTRL_ATTR_MCAST_GROUPS]); mnl_attr_ok(group, len);
		     group = mnl_attr_next(group)) {
			len -= MNL_ALIGN(group->nla_len);
			err = on_mcast_group(group, fc);
			if (err)
				return err;
		}
		if (len > 0)
			return -EBADMSG;
	}
	return 0;
}

static struct nlmsghdr *genl_header(char *buf, uint16_t family, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = family;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = MPTCP_PM_VER;
	return nlh;
}

struct subflow_pm *subflow_pm_open(bool events)
{
	struct family_ctx fc = { .name = MPTCP_PM_NAME, .group_name = MPTCP_PM_EV_GRP_NAME };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct subflow_pm *pm;
	struct nlmsghdr *nlh;
	int err;

	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->nl = subflow_nl_open(NETLINK_GENERIC);
	if (!pm->nl) {
		err = -errno;
		goto fail;
	}
	nlh = genl_header(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	err = subflow_nl_request(pm->nl, nlh, on_family, &fc);
	if (err)
		goto fail;	/* -ENOENT: no such family */
	if (!fc.id) {
		err = -EBADMSG;
		goto fail;
	}
	pm->family = fc.id;
	pm->events_group = fc.group;
	if (events) {
		if (!fc.group) {
			err = -ENOENT;
			goto fail;
		}
		err = subflow_nl_join(pm->nl, fc.group);
		if (err)
			goto fail;
	}
	return pm;
fail:
	subflow_pm_close(pm);
	errno = -err;
	return NULL;
}

void subflow_pm_close(struct subflow_pm *pm)
{
	if (!pm)
		return;
	subflow_nl_close(pm->nl);
	free(pm);
}

int subflow_pm_fd(const struct subflow_pm *pm)
{
	return subflow_nl_fd(pm->nl);
}

struct subflow_nl *subflow_pm_nl(struct subflow_pm *pm)
{
	return pm->nl;
}

uint16_t subflow_pm_family_id(const struct subflow_pm *pm)
{
	return pm->family;
}

uint32_t subflow_pm_events_group(const struct subflow_pm *pm)
{
	return pm->events_group;
}

const char *subflow_pm_error(const struct subflow_pm *pm)
{
	return subflow_nl_error(pm->nl);
}

static int put_addr(struct nlmsghdr *nlh, uint16_t type, const struct subflow_pm_addr *a)
{
	struct nlattr *nest;
	size_t len = family_len(a->family);

	if (!len)
		return -EAFNOSUPPORT;
	nest = mnl_attr_nest_start(nlh, type);	/* sets NLA_F_NESTED */
	mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_FAMILY, a->family);
	if (a->id)
		mnl_attr_put_u8(nlh, MPTCP_PM_ADDR_ATTR_ID, a->id);
	mnl_attr_put(nlh, a->family == AF_INET ? MPTCP_PM_ADDR_ATTR_ADDR4 : MPTCP_PM_ADDR_ATTR_ADDR6,
		     len, a->addr);
	if (a->port)	/* host order, unlike the events' ports */
		mnl_attr_put_u16(nlh, MPTCP_PM_ADDR_ATTR_PORT, a->port);
	if (a->flags)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_FLAGS, a->flags);
	if (a->ifindex)
		mnl_attr_put_u32(nlh, MPTCP_PM_ADDR_ATTR_IF_IDX, (uint32_t)a->ifindex);
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

static int pm_command(struct subflow_pm *pm, uint8_t cmd, uint32_t token,
		      const struct subflow_pm_addr *local, const struct subflow_pm_addr *remote,
		      int loc_id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = genl_header(buf, pm->family, cmd);
	int err;

	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, token);
	if (loc_id >= 0)
		mnl_attr_put_u8(nlh, MPTCP_PM_ATTR_LOC_ID, loc_id);
	if (local && (err = put_addr(nlh, MPTCP_PM_ATTR_ADDR, local)))
		return err;
	if (remote && (err = put_addr(nlh, MPTCP_PM_ATTR_ADDR_REMOTE, remote)))
		return err;
	return subflow_nl_request(pm->nl, nlh, NULL, NULL);
}

int subflow_pm_subflow_create(struct subflow_pm *pm, uint32_t token,
			      const struct subflow_pm_addr *local,
			      const struct subflow_pm_addr *remote)
{
	return pm_command(pm, MPTCP_PM_CMD_SUBFLOW_CREATE, token, local, remote, -1);
}

int subflow_pm_subflow_destroy(struct subflow_pm *pm, uint32_t token,
			       const struct subflow_pm_addr *local,
			       const struct subflow_pm_addr *remote)
{
	return pm_command(pm, MPTCP_PM_CMD_SUBFLOW_DESTROY, token, local, remote, -1);
}

int subflow_pm_set_backup(struct subflow_pm *pm, uint32_t token,
			  const struct subflow_pm_addr *local,
			  const struct subflow_pm_addr *remote, bool backup)
{
	struct subflow_pm_addr l = *local, r = *remote;

	/* The local address carries the new flags; ids are not looked at. */
	l.flags = backup ? MPTCP_PM_ADDR_FLAG_BACKUP : 0;
	l.id = 0;
	l.ifindex = 0;
	r.flags = 0;
	r.id = 0;
	r.ifindex = 0;
	return pm_command(pm, MPTCP_PM_CMD_SET_FLAGS, token, &l, &r, -1);
}

int subflow_pm_announce(struct subflow_pm *pm, uint32_t token, const struct subflow_pm_addr *addr)
{
	struct subflow_pm_addr a = *addr;

	a.flags |= MPTCP_PM_ADDR_FLAG_SIGNAL;
	return pm_command(pm, MPTCP_PM_CMD_ANNOUNCE, token, &a, NULL, -1);
}

int subflow_pm_remove(struct subflow_pm *pm, uint32_t token, uint8_t id)
{
	return pm_command(pm, MPTCP_PM_CMD_REMOVE, token, NULL, NULL, id);
}

/* Parse a nested MPTCP_PM_ATTR_ADDR as the kernel fills it. */
static int parse_pm_addr(const struct nlattr *nest, struct subflow_pm_addr *out)
{
	const struct nlattr *tb[MPTCP_PM_ADDR_ATTR_MAX + 1];
	uint16_t family = 0;
	uint32_t ifindex = 0;

	if (parse_nested(nest, tb, MPTCP_PM_ADDR_ATTR_MAX))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	if (!tb[MPTCP_PM_ADDR_ATTR_FAMILY] || !attr_u16(tb[MPTCP_PM_ADDR_ATTR_FAMILY], &family))
		return -EBADMSG;
	if (family != AF_INET && family != AF_INET6)
		return -EBADMSG;
	out->family = family;
	if (tb[MPTCP_PM_ADDR_ATTR_ID] && !attr_u8(tb[MPTCP_PM_ADDR_ATTR_ID], &out->id))
		return -EBADMSG;
	if (family == AF_INET) {
		if (!tb[MPTCP_PM_ADDR_ATTR_ADDR4] || !attr_copy(tb[MPTCP_PM_ADDR_ATTR_ADDR4], out->addr, 4))
			return -EBADMSG;
	} else if (!tb[MPTCP_PM_ADDR_ATTR_ADDR6] ||
		   !attr_copy(tb[MPTCP_PM_ADDR_ATTR_ADDR6], out->addr, 16)) {
		return -EBADMSG;
	}
	if (tb[MPTCP_PM_ADDR_ATTR_PORT] && !attr_u16(tb[MPTCP_PM_ADDR_ATTR_PORT], &out->port))
		return -EBADMSG;
	if (tb[MPTCP_PM_ADDR_ATTR_FLAGS] && !attr_u32(tb[MPTCP_PM_ADDR_ATTR_FLAGS], &out->flags))
		return -EBADMSG;
	if (tb[MPTCP_PM_ADDR_ATTR_IF_IDX]) {
		if (!attr_u32(tb[MPTCP_PM_ADDR_ATTR_IF_IDX], &ifindex) || ifindex > INT32_MAX)
			return -EBADMSG;
		out->ifindex = ifindex;
	}
	return 0;
}

struct addr_dump_ctx {
	const struct subflow_pm *pm;
	subflow_pm_addr_cb cb;
	void *ctx;
};

static int on_addr_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[MPTCP_PM_ATTR_MAX + 1];
	struct addr_dump_ctx *ad = data;
	struct subflow_pm_addr addr;
	int err;

	if (nlh->nlmsg_type != ad->pm->family)
		return -EBADMSG;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EBADMSG;
	if (parse_attrs(nlh, sizeof(struct genlmsghdr), tb, MPTCP_PM_ATTR_MAX))
		return -EBADMSG;
	if (!tb[MPTCP_PM_ATTR_ADDR])
		return -EBADMSG;
	err = parse_pm_addr(tb[MPTCP_PM_ATTR_ADDR], &addr);
	if (err)
		return err;
	return ad->cb ? ad->cb(&addr, ad->ctx) : 0;
}

int subflow_pm_dump_addrs(struct subflow_pm *pm, uint32_t token, subflow_pm_addr_cb cb, void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct addr_dump_ctx ad = { .pm = pm, .cb = cb, .ctx = ctx };
	struct nlmsghdr *nlh = genl_header(buf, pm->family, MPTCP_PM_CMD_GET_ADDR);

	nlh->nlmsg_flags = NLM_F_DUMP;
	mnl_attr_put_u32(nlh, MPTCP_PM_ATTR_TOKEN, token);
	return subflow_nl_request(pm->nl, nlh, on_addr_msg, &ad);
}

/* ---- events ------------------------------------------------------------------------ */

int subflow_pm_parse_event_for(uint16_t family_id, const struct nlmsghdr *nlh,
			       struct subflow_pm_event *ev)
{
	const struct nlattr *tb[MPTCP_ATTR_MAX + 1];
	const struct genlmsghdr *genl;
	uint16_t family = 0, port;
	uint32_t ifindex;
	size_t len;

	if (nlh->nlmsg_type != family_id)
		return -ENOMSG;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl))
		return -EBADMSG;
	genl = mnl_nlmsg_get_payload(nlh);
	if (parse_attrs(nlh, sizeof(*genl), tb, MPTCP_ATTR_MAX))
		return -EBADMSG;
	memset(ev, 0, sizeof(*ev));
	ev->type = genl->cmd;
	if (!ev->type)
		return -EBADMSG;
	/* Every event names its connection; listener events carry token 0. */
	if (!tb[MPTCP_ATTR_TOKEN] || !attr_u32(tb[MPTCP_ATTR_TOKEN], &ev->token))
		return -EBADMSG;
	if (tb[MPTCP_ATTR_FAMILY]) {
		if (!attr_u16(tb[MPTCP_ATTR_FAMILY], &family) ||
		    (family != AF_INET && family != AF_INET6))
			return -EBADMSG;
		ev->family = family;
	}
	if (tb[MPTCP_ATTR_LOC_ID]) {
		if (!attr_u8(tb[MPTCP_ATTR_LOC_ID], &ev->loc_id))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_LOC_ID;
	}
	if (tb[MPTCP_ATTR_REM_ID]) {
		if (!attr_u8(tb[MPTCP_ATTR_REM_ID], &ev->rem_id))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_REM_ID;
	}
	/* Addresses of the announced family only: an IPv4 event with a
	 * 16-byte address (or no family at all) is malformed. */
	len = family_len(ev->family);
	if (tb[MPTCP_ATTR_SADDR4] || tb[MPTCP_ATTR_SADDR6]) {
		const struct nlattr *a = ev->family == AF_INET ? tb[MPTCP_ATTR_SADDR4]
							       : tb[MPTCP_ATTR_SADDR6];

		if (!len || !a || !attr_copy(a, ev->saddr, len))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_SADDR;
	}
	if (tb[MPTCP_ATTR_DADDR4] || tb[MPTCP_ATTR_DADDR6]) {
		const struct nlattr *a = ev->family == AF_INET ? tb[MPTCP_ATTR_DADDR4]
							       : tb[MPTCP_ATTR_DADDR6];

		if (!len || !a || !attr_copy(a, ev->daddr, len))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_DADDR;
	}
	if (tb[MPTCP_ATTR_SPORT]) {	/* network order in events */
		if (!attr_u16(tb[MPTCP_ATTR_SPORT], &port))
			return -EBADMSG;
		ev->sport = ntohs(port);
		ev->present |= SUBFLOW_PM_EV_HAS_SPORT;
	}
	if (tb[MPTCP_ATTR_DPORT]) {
		if (!attr_u16(tb[MPTCP_ATTR_DPORT], &port))
			return -EBADMSG;
		ev->dport = ntohs(port);
		ev->present |= SUBFLOW_PM_EV_HAS_DPORT;
	}
	if (tb[MPTCP_ATTR_BACKUP]) {
		if (!attr_u8(tb[MPTCP_ATTR_BACKUP], &ev->backup))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_BACKUP;
	}
	if (tb[MPTCP_ATTR_ERROR]) {
		if (!attr_u8(tb[MPTCP_ATTR_ERROR], &ev->error))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_ERROR;
	}
	if (tb[MPTCP_ATTR_FLAGS]) {
		if (!attr_u16(tb[MPTCP_ATTR_FLAGS], &ev->flags))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_FLAGS;
	}
	if (tb[MPTCP_ATTR_TIMEOUT] && !attr_u32(tb[MPTCP_ATTR_TIMEOUT], &ev->timeout))
		return -EBADMSG;
	if (tb[MPTCP_ATTR_IF_IDX]) {
		if (!attr_u32(tb[MPTCP_ATTR_IF_IDX], &ifindex) || ifindex > INT32_MAX)
			return -EBADMSG;
		ev->ifindex = ifindex;
		ev->present |= SUBFLOW_PM_EV_HAS_IFINDEX;
	}
	if (tb[MPTCP_ATTR_RESET_REASON]) {
		if (!attr_u32(tb[MPTCP_ATTR_RESET_REASON], &ev->reset_reason))
			return -EBADMSG;
		ev->present |= SUBFLOW_PM_EV_HAS_RESET;
	}
	if (tb[MPTCP_ATTR_RESET_FLAGS] && !attr_u32(tb[MPTCP_ATTR_RESET_FLAGS], &ev->reset_flags))
		return -EBADMSG;
	if (tb[MPTCP_ATTR_SERVER_SIDE] && !attr_u8(tb[MPTCP_ATTR_SERVER_SIDE], &ev->server_side))
		return -EBADMSG;
	return 0;
}

int subflow_pm_parse_event(const struct subflow_pm *pm, const struct nlmsghdr *nlh,
			   struct subflow_pm_event *ev)
{
	return subflow_pm_parse_event_for(pm->family, nlh, ev);
}

const char *subflow_pm_event_name(uint8_t type)
{
	static const char *const names[] = {
		[MPTCP_EVENT_CREATED] = "created",
		[MPTCP_EVENT_ESTABLISHED] = "established",
		[MPTCP_EVENT_CLOSED] = "closed",
		[MPTCP_EVENT_ANNOUNCED] = "announced",
		[MPTCP_EVENT_REMOVED] = "removed",
		[MPTCP_EVENT_SUB_ESTABLISHED] = "sub_established",
		[MPTCP_EVENT_SUB_CLOSED] = "sub_closed",
		[MPTCP_EVENT_SUB_PRIORITY] = "sub_priority",
		[15] = "listener_created",	/* MPTCP_EVENT_LISTENER_CREATED, 6.3+ */
		[16] = "listener_closed",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}
