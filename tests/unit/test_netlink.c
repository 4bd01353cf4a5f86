// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the netlink layer's parsers (loader/lib/netlink.c) on
 * crafted messages: well-formed events and rtnetlink messages are read
 * field by field, and every malformed one (an attribute of the wrong size,
 * a missing token, an address of the other family, a truncated header) is
 * refused with -EBADMSG instead of being read past its end. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_addr.h>
#include <linux/mptcp.h>
#include <linux/rtnetlink.h>
#include "netlink.h"
#include "check.h"

#define FAMILY 0x1c

static char buf[8192];

static struct nlmsghdr *event(uint8_t type)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAMILY;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = type;
	g->version = 1;
	return nlh;
}

static void test_event_sub_established(void)
{
	struct nlmsghdr *nlh = event(MPTCP_EVENT_SUB_ESTABLISHED);
	struct subflow_pm_event ev;
	uint32_t s = inet_addr("10.31.2.1"), d = inet_addr("10.31.1.2");

	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 0xdeadbeef);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
	mnl_attr_put_u8(nlh, MPTCP_ATTR_LOC_ID, 3);
	mnl_attr_put_u8(nlh, MPTCP_ATTR_REM_ID, 0);
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR4, 4, &s);
	mnl_attr_put(nlh, MPTCP_ATTR_DADDR4, 4, &d);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_SPORT, htons(45749));
	mnl_attr_put_u16(nlh, MPTCP_ATTR_DPORT, htons(8080));
	mnl_attr_put_u8(nlh, MPTCP_ATTR_BACKUP, 1);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_IF_IDX, 7);
	mnl_attr_put_u32(nlh, 200, 1);	/* an attribute from the future: skipped */
	CHECK("event_parses", !subflow_pm_parse_event_for(FAMILY, nlh, &ev));
	CHECK("event_type", ev.type == MPTCP_EVENT_SUB_ESTABLISHED);
	CHECK("event_token", ev.token == 0xdeadbeef);
	CHECK("event_ids", ev.loc_id == 3 && ev.rem_id == 0 &&
			   (ev.present & SUBFLOW_PM_EV_HAS_LOC_ID) && (ev.present & SUBFLOW_PM_EV_HAS_REM_ID));
	CHECK("event_addrs", !memcmp(ev.saddr, &s, 4) && !memcmp(ev.daddr, &d, 4));
	CHECK("event_ports_host_order", ev.sport == 45749 && ev.dport == 8080);
	CHECK("event_backup_ifindex", ev.backup == 1 && ev.ifindex == 7);
	CHECK("event_name", !strcmp(subflow_pm_event_name(ev.type), "sub_established"));
}

static void test_event_malformed(void)
{
	struct subflow_pm_event ev;
	struct nlmsghdr *nlh;
	uint8_t addr6[16] = { 0xfd };
	uint32_t a4 = 1;

	nlh = event(MPTCP_EVENT_CREATED);
	CHECK("event_without_token_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_TOKEN, 1);	/* 2 bytes for a u32 */
	CHECK("event_short_token_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR6, 16, addr6);	/* v6 address, v4 family */
	CHECK("event_family_mismatch_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR4, 4, &a4);	/* address without family */
	CHECK("event_addr_without_family_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, AF_INET);
	mnl_attr_put(nlh, MPTCP_ATTR_SADDR4, 3, &a4);	/* 3-byte address */
	CHECK("event_short_addr_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	mnl_attr_put_u16(nlh, MPTCP_ATTR_FAMILY, 99);
	CHECK("event_unknown_family_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	/* An attribute whose length runs past the message. */
	{
		struct nlattr *a = mnl_nlmsg_get_payload_tail(nlh);

		mnl_attr_put_u32(nlh, MPTCP_ATTR_IF_IDX, 1);
		a->nla_len = 64;
	}
	CHECK("event_overlong_attr_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	nlh->nlmsg_type = FAMILY + 1;
	CHECK("event_other_family_skipped", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -ENOMSG);

	nlh = event(MPTCP_EVENT_CREATED);
	nlh->nlmsg_len = sizeof(*nlh) + 2;	/* shorter than a genl header */
	CHECK("event_truncated_header_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);

	nlh = event(0);
	mnl_attr_put_u32(nlh, MPTCP_ATTR_TOKEN, 1);
	CHECK("event_type_0_refused", subflow_pm_parse_event_for(FAMILY, nlh, &ev) == -EBADMSG);
}

static struct nlmsghdr *rtnl(uint16_t type, size_t extra, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	*hdr = mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static void test_rtnl_link(void)
{
	struct subflow_rtnl_msg msg;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	nlh = rtnl(RTM_NEWLINK, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = 4;
	ifi->ifi_flags = IFF_UP | IFF_RUNNING;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wlan0");
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, 6);
	CHECK("link_parses", !subflow_rtnl_parse(nlh, &msg) && msg.kind == SUBFLOW_RTNL_LINK &&
			     msg.link.ifindex == 4 && !strcmp(msg.link.name, "wlan0") &&
			     (msg.link.flags & IFF_UP) && msg.link.operstate == 6 && !msg.link.deleted);

	nlh = rtnl(RTM_DELLINK, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = 4;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wlan0");
	CHECK("dellink_deleted", !subflow_rtnl_parse(nlh, &msg) && msg.link.deleted);

	nlh = rtnl(RTM_NEWLINK, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = 4;
	mnl_attr_put(nlh, IFLA_IFNAME, 5, "wlan0");	/* no NUL */
	CHECK("link_unterminated_name_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWLINK, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = 4;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-name-longer-than-ifnamsiz");
	CHECK("link_overlong_name_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWLINK, sizeof(*ifi), (void **)&ifi);
	ifi->ifi_index = 4;
	CHECK("link_without_name_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWLINK, 4, (void **)&ifi);	/* header cut short */
	CHECK("link_truncated_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);
}

static void test_rtnl_addr_route(void)
{
	struct subflow_rtnl_msg msg;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;
	struct nlmsghdr *nlh;
	uint8_t a6[16] = { 0xfd, 0x31, 0, 1 };
	uint32_t a4 = inet_addr("10.31.1.1");

	nlh = rtnl(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 64;
	ifa->ifa_index = 3;
	mnl_attr_put(nlh, IFA_ADDRESS, 16, a6);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	CHECK("addr6_parses", !subflow_rtnl_parse(nlh, &msg) && msg.kind == SUBFLOW_RTNL_ADDR &&
			      msg.addr.family == AF_INET6 && !memcmp(msg.addr.addr, a6, 16) &&
			      msg.addr.prefixlen == 64 && msg.addr.flags == IFA_F_NODAD);

	nlh = rtnl(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = 3;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a4);
	CHECK("addr4_parses", !subflow_rtnl_parse(nlh, &msg) && !memcmp(msg.addr.addr, &a4, 4));

	nlh = rtnl(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = 3;
	mnl_attr_put(nlh, IFA_LOCAL, 16, a6);	/* v6-sized v4 address */
	CHECK("addr4_wrong_size_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 33;
	ifa->ifa_index = 3;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a4);
	CHECK("addr4_prefix_33_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWADDR, sizeof(*ifa), (void **)&ifa);
	ifa->ifa_family = AF_PACKET;
	CHECK("addr_other_family_skipped", subflow_rtnl_parse(nlh, &msg) == -ENOMSG);

	nlh = rtnl(RTM_NEWROUTE, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, &a4);
	mnl_attr_put_u32(nlh, RTA_OIF, 3);
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	CHECK("route_parses", !subflow_rtnl_parse(nlh, &msg) && msg.kind == SUBFLOW_RTNL_ROUTE &&
			      msg.route.oif == 3 && msg.route.table_id == 1000 &&
			      msg.route.dst_len == 24 && !memcmp(msg.route.dst, &a4, 4));

	nlh = rtnl(RTM_NEWROUTE, sizeof(*rtm), (void **)&rtm);
	rtm->rtm_family = AF_INET;
	mnl_attr_put_u16(nlh, RTA_OIF, 3);	/* 2-byte oif */
	CHECK("route_short_oif_refused", subflow_rtnl_parse(nlh, &msg) == -EBADMSG);

	nlh = rtnl(RTM_NEWNEIGH, sizeof(*rtm), (void **)&rtm);
	CHECK("other_rtnl_type_skipped", subflow_rtnl_parse(nlh, &msg) == -ENOMSG);
}

int main(void)
{
	test_event_sub_established();
	test_event_malformed();
	test_rtnl_link();
	test_rtnl_addr_route();
	return CHECK_SUMMARY();
}
