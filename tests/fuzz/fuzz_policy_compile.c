// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy compiler, with device lookup stubbed: a fixed host (lo, c1,
 * c2 with IPv4 and IPv6 addresses) stands for the namespace, so the fuzzer
 * reaches every path of dev and addr resolution without netlink. Whatever
 * parses either compiles, with as many rules and paths as it had, or fails
 * with its errors placed on the file's lines.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "subflow_policy.h"
#include "policy.h"
#include "netlink.h"
#include "fuzz_common.h"

#ifndef IFF_UP
#include <net/if.h>
#endif

static struct subflow_nl_link links[] = {
	{ .ifindex = 1, .name = "lo", .flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING },
	{ .ifindex = 2, .name = "c1", .flags = IFF_UP | 0x10000 /* IFF_LOWER_UP */ | IFF_RUNNING },
	{ .ifindex = 3, .name = "c2", .flags = IFF_UP | 0x10000 /* IFF_LOWER_UP */ | IFF_RUNNING },
	{ .ifindex = 4, .name = "down0", .flags = 0 },
};
static struct subflow_nl_addr addrs[] = {
	{ .ifindex = 1, .family = AF_INET, .prefixlen = 8, .scope = 254, .addr = { 127, 0, 0, 1 } },
	{ .ifindex = 2, .family = AF_INET, .prefixlen = 24, .addr = { 10, 31, 1, 1 } },
	{ .ifindex = 3, .family = AF_INET, .prefixlen = 24, .addr = { 10, 31, 2, 1 } },
	{ .ifindex = 2, .family = AF_INET6, .prefixlen = 64,
	  .addr = { 0xfd, 0x31, 0, 1, [15] = 1 } },
	{ .ifindex = 3, .family = AF_INET6, .prefixlen = 64,
	  .addr = { 0xfd, 0x31, 0, 2, [15] = 1 } },
};
static const struct subflow_host host = {
	.links = links, .nr_links = sizeof(links) / sizeof(links[0]),
	.addrs = addrs, .nr_addrs = sizeof(addrs) / sizeof(addrs[0]),
};

static struct subflow_policy p;
static struct subflow_compiled_policy out;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct subflow_policy_errors errs = {};
	int err;

	fuzz_init_once();
	if (subflow_policy_parse((const char *)data, size, "fuzz", &p, NULL))
		return 0;
	err = subflow_policy_compile_host(&p, "fuzz", &out, &errs, &host);
	if (err) {
		require_errors_placed(err, &errs, data, size);
		subflow_policy_errors_free(&errs);
		return 0;
	}
	REQUIRE(out.meta.nr_rules == p.nr_rules && out.meta.nr_paths == p.nr_paths);
	REQUIRE(memchr(out.text, '\0', sizeof(out.text)));
	return 0;
}
