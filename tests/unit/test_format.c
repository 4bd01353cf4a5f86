// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of libsubflow's pure helpers: token parsing, endpoint
 * conversion to sockaddrs, TCP state names, the ABI sizes, and listing
 * all of a list that grows while it is listed. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "check.h"

static void test_parse_u32(void)
{
	uint32_t v = 0;

	CHECK("parse_u32_decimal", !subflow_parse_u32("801755760", &v) && v == 801755760u);
	CHECK("parse_u32_hex", !subflow_parse_u32("0x2fc9d270", &v) && v == 0x2fc9d270u);
	CHECK("parse_u32_max", !subflow_parse_u32("4294967295", &v) && v == UINT32_MAX);
	CHECK("parse_u32_rejects_overflow", subflow_parse_u32("4294967296", &v) == -ERANGE);
	/* One number syntax everywhere: no octal, no space, no sign. */
	CHECK("parse_u32_010_is_ten", !subflow_parse_u32("010", &v) && v == 10);
	CHECK("parse_u32_upper_hex", !subflow_parse_u32("0X1F", &v) && v == 31);
	CHECK("parse_u32_rejects_leading_space", subflow_parse_u32(" 5", &v) == -EINVAL);
	CHECK("parse_u32_rejects_trailing_space", subflow_parse_u32("5 ", &v) == -EINVAL);
	CHECK("parse_u32_rejects_plus", subflow_parse_u32("+5", &v) == -EINVAL);
	CHECK("parse_u32_rejects_hex_without_0x", subflow_parse_u32("ff", &v) == -EINVAL);
	CHECK("parse_u32_rejects_negative", subflow_parse_u32("-1", &v) == -EINVAL);
	CHECK("parse_u32_rejects_trailing_junk", subflow_parse_u32("12abc", &v) == -EINVAL);
	CHECK("parse_u32_rejects_empty", subflow_parse_u32("", &v) == -EINVAL);
	CHECK("parse_u32_rejects_bare_0x", subflow_parse_u32("0x", &v) == -EINVAL);
}

static void test_endpoint_v4(void)
{
	struct subflow_endpoint ep = { .family = SUBFLOW_AF_INET, .port = 8080 };
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	char buf[64];

	inet_pton(AF_INET, "10.31.1.2", ep.addr);
	subflow_endpoint_to_sockaddr(&ep, &ss);
	CHECK("endpoint_v4_family", sin->sin_family == AF_INET);
	CHECK("endpoint_v4_port_network_order", sin->sin_port == htons(8080));
	CHECK("endpoint_v4_addr", sin->sin_addr.s_addr == inet_addr("10.31.1.2"));
	subflow_endpoint_addr_str(&ep, buf, sizeof(buf));
	CHECK("endpoint_v4_str", !strcmp(buf, "10.31.1.2"));
}

static void test_endpoint_v6(void)
{
	struct subflow_endpoint ep = { .family = SUBFLOW_AF_INET6, .port = 443 };
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct in6_addr want;
	char buf[64];

	inet_pton(AF_INET6, "fd31:2::1", ep.addr);
	inet_pton(AF_INET6, "fd31:2::1", &want);
	subflow_endpoint_to_sockaddr(&ep, &ss);
	CHECK("endpoint_v6_family", sin6->sin6_family == AF_INET6);
	CHECK("endpoint_v6_port_network_order", sin6->sin6_port == htons(443));
	CHECK("endpoint_v6_addr", !memcmp(&sin6->sin6_addr, &want, sizeof(want)));
	subflow_endpoint_addr_str(&ep, buf, sizeof(buf));
	CHECK("endpoint_v6_str", !strcmp(buf, "fd31:2::1"));
}

static void test_state_names(void)
{
	CHECK("state_established", !strcmp(subflow_tcp_state_name(1), "ESTABLISHED"));
	CHECK("state_close", !strcmp(subflow_tcp_state_name(7), "CLOSE"));
	CHECK("state_unknown_zero", !strcmp(subflow_tcp_state_name(0), "UNKNOWN"));
	CHECK("state_unknown_large", !strcmp(subflow_tcp_state_name(200), "UNKNOWN"));
}

static void test_abi_layout(void)
{
	/* Orchestrators and bpftool users rely on these offsets. */
	CHECK("abi_subflow_key_id_offset", offsetof(struct subflow_key, id) == 12);
	CHECK("abi_subflow_info_local_offset", offsetof(struct subflow_info, local) == 8);
	CHECK("abi_subflow_info_id_offset", offsetof(struct subflow_info, id) == 48);
	CHECK("abi_conn_lock_first", offsetof(struct subflow_conn, lock) == 0);
	CHECK("abi_conn_subflows_offset", offsetof(struct subflow_conn, subflows) == 40);
	CHECK("abi_overflow_info_offset", offsetof(struct subflow_overflow, info) == 8);
	CHECK("abi_event_info_offset", offsetof(struct subflow_event, info) == 40);
	/* README's bpftool example edits the mark at this offset. */
	CHECK("abi_rule_mark_offset", offsetof(struct subflow_rule, mark) == 44);
	CHECK("abi_policy_slots_keys", SUBFLOW_POLICY_RULES == 64 && SUBFLOW_POLICY_PATHS == 32);
}

static void test_pin_dir(void)
{
	char path[256];

	CHECK("pin_dir_rejects_relative", subflow_set_pin_dir("relative/dir") == -EINVAL);
	CHECK("pin_dir_strips_trailing_slash", !subflow_set_pin_dir("/sys/fs/bpf/x/") &&
						      !strcmp(subflow_pin_dir(), "/sys/fs/bpf/x"));
	CHECK("pin_path_joins", !subflow_pin_path(path, sizeof(path), "conns") &&
				       !strcmp(path, "/sys/fs/bpf/x/conns"));
	CHECK("pin_path_too_long", subflow_pin_path(path, 8, "conns") == -ENAMETOOLONG);
}

/* A list that gains `growth` items at each call, `calls_growing` times:
 * what attachments or policies made between two list calls look like. It
 * writes at most max items (each its index) and counts them all. */
static size_t fake_total, fake_growth, fake_calls_growing, fake_calls;

static int fake_list(void *ctx, void *out, size_t max, size_t *count)
{
	uint64_t *items = out;

	(void)ctx;

	if (fake_calls++ < fake_calls_growing)
		fake_total += fake_growth;
	for (size_t i = 0; i < fake_total && i < max; i++)
		items[i] = i;
	*count = fake_total;
	return 0;
}

static void fake_reset(size_t total, size_t growth, size_t calls_growing)
{
	fake_total = total;
	fake_growth = growth;
	fake_calls_growing = calls_growing;
	fake_calls = 0;
}

static void test_list_all(void)
{
	uint64_t *items = NULL;
	void *raw = NULL;
	size_t count = 99;
	bool whole = true;

	fake_reset(0, 0, 0);
	CHECK("list_all_empty", !subflow_list_all(fake_list, NULL, sizeof(*items), &raw, &count) &&
	      count == 0 && !raw);

	/* Grows by 20 at each of the first 3 calls: more than the slack. */
	fake_reset(5, 20, 3);
	CHECK("list_all_growing", !subflow_list_all(fake_list, NULL, sizeof(*items), &raw, &count));
	items = raw;
	CHECK("list_all_growing_count_is_the_final_total", count == 65);
	for (size_t i = 0; items && i < count; i++)
		whole = whole && items[i] == i;
	CHECK("list_all_growing_every_item_written", items && whole);
	free(items);
	items = NULL;

	/* Never stable: gives up, with nothing to free. */
	fake_reset(1, 100, 1000);
	CHECK("list_all_never_stable_is_eagain",
	      subflow_list_all(fake_list, NULL, sizeof(*items), &raw, &count) == -EAGAIN &&
	      !raw && count == 0);
}

int main(void)
{
	test_parse_u32();
	test_endpoint_v4();
	test_endpoint_v6();
	test_state_names();
	test_abi_layout();
	test_pin_dir();
	test_list_all();
	return CHECK_SUMMARY();
}
