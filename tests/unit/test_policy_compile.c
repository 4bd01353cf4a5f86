// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the policy compiler (loader/lib/policy_compile.c): what each
 * parsed rule and path becomes in the map ABI, bit by bit; how dev and addr
 * selectors resolve against the host's addresses; which errors and warnings
 * come out.
 *
 * Runs in a network namespace of its own (unshare), never the host's: lo is
 * brought up there, and veth t0 is given addresses to resolve, including a
 * link-local IPv4 one that must not become a bind address.
 *
 * Prints `ok NAME` or `FAIL NAME: why` per case, then `N passed, N failed`;
 * exits 1 when anything failed (77, a skip, when it cannot make the namespace).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"
#include "policy.h"

#define FILENAME "test.policy"

static unsigned int nr_passed, nr_failed;
static char failure[2048];

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
}

static void run(const char *name, void (*test)(void))
{
	failure[0] = '\0';
	test();
	if (failure[0]) {
		printf("FAIL %s: %s\n", name, failure);
		nr_failed++;
	} else {
		printf("ok %s\n", name);
		nr_passed++;
	}
}

#define EXPECT_EQ(what, got, want)                                                  \
	do {                                                                        \
		unsigned long long got_ = (got), want_ = (want);                    \
		if (got_ != want_)                                                  \
			fail("%s: got %llu (%#llx), expected %llu (%#llx)", what,   \
			     got_, got_, want_, want_);                             \
	} while (0)

/* Compile text; on an unexpected result, fail with the first error. */
static struct subflow_compiled_policy *compile(const char *text, int want_err,
					       struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		fail("out of memory");
		return NULL;
	}
	err = subflow_policy_compile_text(text, strlen(text), FILENAME, c, NULL, errs);
	if (err != want_err) {
		fail("compile returned %d, expected %d; first error: %s", err, want_err,
		     errs->count ? errs->items[0].text : "none");
		free(c);
		return NULL;
	}
	return c;
}

static bool prefix_is(const struct subflow_prefix *p, const char *addr, unsigned int len)
{
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	uint8_t want[16] = {};

	if (inet_pton(family, addr, want) != 1)
		return false;
	return p->family == family && p->len == len && !memcmp(p->addr, want, 16) &&
	       !p->pad[0] && !p->pad[1];
}

static bool all_zero(const void *p, size_t size)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i])
			return false;
	return true;
}

static void expect_prefix(const char *what, const struct subflow_prefix *p, const char *addr,
			  unsigned int len)
{
	char got[INET6_ADDRSTRLEN] = "?";

	if (prefix_is(p, addr, len))
		return;
	inet_ntop(p->family == AF_INET6 ? AF_INET6 : AF_INET, p->addr, got, sizeof(got));
	fail("%s: got %s/%u (family %u), expected %s/%u", what, got, p->len, p->family, addr, len);
}

static void expect_bind4(const struct subflow_path *p, unsigned int i, const char *addr)
{
	struct in_addr want;

	inet_pton(AF_INET, addr, &want);
	if (i >= p->nr_bind4 || p->bind4[i] != want.s_addr)
		fail("path %s: bind4[%u] is not %s (%u bind4 addresses)", p->name, i, addr,
		     p->nr_bind4);
}

static void expect_bind6(const struct subflow_path *p, unsigned int i, const char *addr)
{
	uint8_t want[16];

	inet_pton(AF_INET6, addr, want);
	if (i >= p->nr_bind6 || memcmp(p->bind6[i], want, 16))
		fail("path %s: bind6[%u] is not %s (%u bind6 addresses)", p->name, i, addr,
		     p->nr_bind6);
}

/* ---- the example policy, addr selectors only --------------------------- */

static const char example_policy[] =
	"mptcpify off\n"
	"path wifi addr 10.31.1.0/24 addr fd31:1::/64\n"
	"path lte  addr 10.31.2.0/24\n"
	"rule path lte dport 443 mark 0x20 cc reno pacing 2mbit\n"
	"rule path lte deny\n"
	"rule path wifi initial mark 0x10\n"
	"rule dst 10.0.0.0/8 family inet dport 8000-8080 join allow tos 0x10 priority 3 "
	"user-timeout 5s keepalive 10s 2s 3 nodelay\n"
	"rule dst fd00::/8 deny\n";

static void test_example_rules_compile_bit_by_bit(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile(example_policy, 0, &errs);
	const struct subflow_rule *r;

	if (!c)
		goto out;
	EXPECT_EQ("meta.nr_rules", c->meta.nr_rules, 5);
	EXPECT_EQ("meta.nr_paths", c->meta.nr_paths, 2);
	EXPECT_EQ("meta.mptcpify", c->meta.mptcpify, SUBFLOW_MPTCPIFY_OFF);
	EXPECT_EQ("meta.generation (set at install)", c->meta.generation, 0);

	r = &c->rules[0];
	EXPECT_EQ("rule 0 match", r->match, SUBFLOW_MATCH_PATH | SUBFLOW_MATCH_DPORT);
	EXPECT_EQ("rule 0 path", r->path, 1);
	EXPECT_EQ("rule 0 dport_lo", r->dport_lo, 443);
	EXPECT_EQ("rule 0 dport_hi", r->dport_hi, 443);
	EXPECT_EQ("rule 0 actions", r->actions, SUBFLOW_ACT_MARK | SUBFLOW_ACT_CC | SUBFLOW_ACT_PACING);
	EXPECT_EQ("rule 0 verdict", r->verdict, SUBFLOW_VERDICT_NONE);
	EXPECT_EQ("rule 0 mark", r->mark, 0x20);
	EXPECT_EQ("rule 0 pacing_rate", r->pacing_rate, 250000);
	EXPECT_EQ("rule 0 line", r->line, 4);
	EXPECT_EQ("rule 0 family", r->family, 0);
	if (strcmp(r->cc, "reno") || !all_zero(r->cc + 4, sizeof(r->cc) - 4))
		fail("rule 0 cc: '%.16s', expected 'reno' and zeros after it", r->cc);
	if (!all_zero(&r->dst, sizeof(r->dst)))
		fail("rule 0 dst: not zero without a dst match");

	r = &c->rules[1];
	EXPECT_EQ("rule 1 match", r->match, SUBFLOW_MATCH_PATH);
	EXPECT_EQ("rule 1 path", r->path, 1);
	EXPECT_EQ("rule 1 dport_lo", r->dport_lo, 0);
	EXPECT_EQ("rule 1 dport_hi", r->dport_hi, 65535);
	EXPECT_EQ("rule 1 actions", r->actions, SUBFLOW_ACT_VERDICT);
	EXPECT_EQ("rule 1 verdict", r->verdict, SUBFLOW_VERDICT_DENY);
	EXPECT_EQ("rule 1 line", r->line, 5);

	r = &c->rules[2];
	EXPECT_EQ("rule 2 match", r->match, SUBFLOW_MATCH_PATH | SUBFLOW_MATCH_INITIAL);
	EXPECT_EQ("rule 2 path", r->path, 0);
	EXPECT_EQ("rule 2 actions", r->actions, SUBFLOW_ACT_MARK);
	EXPECT_EQ("rule 2 mark", r->mark, 0x10);

	r = &c->rules[3];
	EXPECT_EQ("rule 3 match", r->match, SUBFLOW_MATCH_DST | SUBFLOW_MATCH_FAMILY |
					    SUBFLOW_MATCH_DPORT | SUBFLOW_MATCH_JOIN);
	EXPECT_EQ("rule 3 path (none)", r->path, SUBFLOW_NO_PATH);
	expect_prefix("rule 3 dst", &r->dst, "10.0.0.0", 8);
	EXPECT_EQ("rule 3 family", r->family, SUBFLOW_AF_INET);
	EXPECT_EQ("rule 3 dport_lo", r->dport_lo, 8000);
	EXPECT_EQ("rule 3 dport_hi", r->dport_hi, 8080);
	EXPECT_EQ("rule 3 actions", r->actions,
		  SUBFLOW_ACT_VERDICT | SUBFLOW_ACT_TOS | SUBFLOW_ACT_PRIORITY |
		  SUBFLOW_ACT_USER_TIMEOUT | SUBFLOW_ACT_KEEPALIVE | SUBFLOW_ACT_NODELAY);
	EXPECT_EQ("rule 3 verdict", r->verdict, SUBFLOW_VERDICT_ALLOW);
	EXPECT_EQ("rule 3 tos", r->tos, 0x10);
	EXPECT_EQ("rule 3 priority", r->priority, 3);
	EXPECT_EQ("rule 3 user_timeout_ms", r->user_timeout_ms, 5000);
	EXPECT_EQ("rule 3 keepalive_idle", r->keepalive_idle, 10);
	EXPECT_EQ("rule 3 keepalive_intvl", r->keepalive_intvl, 2);
	EXPECT_EQ("rule 3 keepalive_count", r->keepalive_count, 3);
	if (!all_zero(r->pad, sizeof(r->pad)))
		fail("rule 3 pad: not zero");

	r = &c->rules[4];
	EXPECT_EQ("rule 4 match", r->match, SUBFLOW_MATCH_DST);
	expect_prefix("rule 4 dst", &r->dst, "fd00::", 8);
	EXPECT_EQ("rule 4 verdict", r->verdict, SUBFLOW_VERDICT_DENY);

	for (unsigned int i = 5; i < SUBFLOW_POLICY_RULES; i++)
		if (!all_zero(&c->rules[i], sizeof(c->rules[i])))
			fail("unused rule %u is not all zero", i);
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

static void test_example_paths_hold_prefixes_and_no_devices(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile(example_policy, 0, &errs);
	const struct subflow_path *p;

	if (!c)
		goto out;
	p = &c->paths[0];
	if (strcmp(p->name, "wifi") || !all_zero(p->name + 4, sizeof(p->name) - 4))
		fail("path 0 name: '%.32s'", p->name);
	EXPECT_EQ("wifi nr_prefixes", p->nr_prefixes, 2);
	expect_prefix("wifi prefix 0", &p->prefixes[0], "10.31.1.0", 24);
	expect_prefix("wifi prefix 1", &p->prefixes[1], "fd31:1::", 64);
	EXPECT_EQ("wifi nr_ifindexes", p->nr_ifindexes, 0);
	if (!all_zero(&p->prefixes[2], sizeof(p->prefixes) - 2 * sizeof(p->prefixes[0])))
		fail("wifi: unused prefixes not zero");

	p = &c->paths[1];
	EXPECT_EQ("lte nr_prefixes", p->nr_prefixes, 1);
	expect_prefix("lte prefix 0", &p->prefixes[0], "10.31.2.0", 24);
	EXPECT_EQ("lte nr_ifindexes", p->nr_ifindexes, 0);

	for (unsigned int i = 2; i < SUBFLOW_POLICY_PATHS; i++)
		if (!all_zero(&c->paths[i], sizeof(c->paths[i])))
			fail("unused path %u is not all zero", i);
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

static void test_canonical_text_is_the_formatted_policy(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile(example_policy, 0, &errs);
	struct subflow_policy parsed = {};
	char want[SUBFLOW_POLICY_TEXT_MAX];

	if (!c)
		goto out;
	if (subflow_policy_parse(example_policy, strlen(example_policy), NULL, &parsed, NULL) ||
	    subflow_policy_format(&parsed, want, sizeof(want)))
		fail("the example does not parse or format");
	else if (strcmp(c->text, want))
		fail("text:\n%s\nexpected:\n%s", c->text, want);
	if (!strstr(c->text, "rule path lte deny\n"))
		fail("text lacks 'rule path lte deny'");
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

/* ---- resolution in the test's own namespace ----------------------------- */

static void test_addr_selector_binds_host_addresses_inside_it(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile(example_policy, 0, &errs);
	const struct subflow_path *p;

	if (!c)
		goto out;
	/* t0 has 10.31.1.1/24, fd31:1::1/64, 169.254.7.1/16 and a fe80:: address. */
	p = &c->paths[0];
	EXPECT_EQ("wifi nr_bind4", p->nr_bind4, 1);
	expect_bind4(p, 0, "10.31.1.1");
	EXPECT_EQ("wifi nr_bind6", p->nr_bind6, 1);
	expect_bind6(p, 0, "fd31:1::1");
	p = &c->paths[1];
	EXPECT_EQ("lte nr_bind4 (no host address on it)", p->nr_bind4, 0);
	EXPECT_EQ("lte nr_bind6", p->nr_bind6, 0);
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

static void test_dev_lo_is_ifindex_1_with_host_prefixes_and_no_bind(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile("path lo dev lo\nrule path lo allow\n", 0, &errs);
	const struct subflow_path *p;

	if (!c)
		goto out;
	p = &c->paths[0];
	EXPECT_EQ("lo nr_ifindexes", p->nr_ifindexes, 1);
	EXPECT_EQ("lo ifindexes[0]", p->ifindexes[0], 1);
	EXPECT_EQ("lo nr_prefixes", p->nr_prefixes, 2);
	expect_prefix("lo prefix 0", &p->prefixes[0], "127.0.0.1", 32);
	expect_prefix("lo prefix 1", &p->prefixes[1], "::1", 128);
	EXPECT_EQ("lo nr_bind4 (loopback excluded)", p->nr_bind4, 0);
	EXPECT_EQ("lo nr_bind6 (loopback excluded)", p->nr_bind6, 0);
	EXPECT_EQ("warnings", c->nr_warnings, 0);
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

static void test_dev_selector_binds_only_global_addresses(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile("path wifi dev t0\nrule path wifi allow\n", 0,
						    &errs);
	const struct subflow_path *p;
	bool has_fe80 = false;

	if (!c)
		goto out;
	p = &c->paths[0];
	EXPECT_EQ("t0 nr_ifindexes", p->nr_ifindexes, 1);
	EXPECT_EQ("t0 ifindex", p->ifindexes[0], if_nametoindex("t0"));
	/* Every address on the device is a host prefix, link-local included. */
	if (p->nr_prefixes < 3)
		fail("t0: %u prefixes, expected at least 10.31.1.1, 169.254.7.1, fd31:1::1",
		     p->nr_prefixes);
	for (unsigned int i = 0; i < p->nr_prefixes && i < SUBFLOW_PATH_PREFIXES; i++) {
		const struct subflow_prefix *q = &p->prefixes[i];

		if (q->len != (q->family == SUBFLOW_AF_INET ? 32 : 128))
			fail("t0 prefix %u: length %u, expected a host prefix", i, q->len);
		has_fe80 |= q->family == SUBFLOW_AF_INET6 && q->addr[0] == 0xfe &&
			    (q->addr[1] & 0xc0) == 0x80;
	}
	if (!has_fe80)
		fail("t0: its fe80:: address is not among the prefixes");
	EXPECT_EQ("t0 nr_bind4 (169.254/16 excluded)", p->nr_bind4, 1);
	expect_bind4(p, 0, "10.31.1.1");
	EXPECT_EQ("t0 nr_bind6 (fe80::/10 excluded)", p->nr_bind6, 1);
	expect_bind6(p, 0, "fd31:1::1");
out:
	subflow_policy_errors_free(&errs);
	free(c);
}

static void test_every_missing_device_is_an_error_at_its_name(void)
{
	static const char text[] =
		"path wifi dev t0\n"
		"# a comment\n"
		"path lte dev wwan0 dev wwan1\n"
		"path sat dev sat0\n"
		"rule path lte deny\n";
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c = compile(text, -EINVAL, &errs);
	static const char *const want[] = {
		FILENAME ":3:14: error: path lte: device 'wwan0' does not exist in this network namespace",
		FILENAME ":3:24: error: path lte: device 'wwan1' does not exist in this network namespace",
		FILENAME ":4:14: error: path sat: device 'sat0' does not exist in this network namespace",
	};
	static const unsigned int want_col[] = { 14, 24, 14 };	/* at the device name */

	free(c);
	if (failure[0])
		goto out;
	EXPECT_EQ("number of errors", errs.count, 3);
	for (unsigned int i = 0; i < errs.count && i < 3; i++) {
		if (strcmp(errs.items[i].text, want[i]))
			fail("error %u: '%s', expected '%s'", i, errs.items[i].text, want[i]);
		EXPECT_EQ("error col", errs.items[i].col, want_col[i]);
	}
out:
	subflow_policy_errors_free(&errs);
}

static void test_more_than_16_prefixes_after_resolution_is_an_error(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c;

	/* t2 holds 17 IPv4 addresses (and is down: no fe80::). */
	c = compile("path many dev t2\nrule path many allow\n", -EINVAL, &errs);
	free(c);
	if (failure[0])
		goto out;
	EXPECT_EQ("number of errors", errs.count, 1);
	if (errs.count &&
	    strcmp(errs.items[0].text, FILENAME ":1:1: error: path many: 17 address prefixes once its devices are resolved, expected at most 16"))
		fail("error: '%s'", errs.items[0].text);
out:
	subflow_policy_errors_free(&errs);
}

static void test_no_bind_address_warns_only_when_another_path_is_denied(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c;

	c = compile("path wifi addr 10.31.1.0/24\npath lte addr 10.99.0.0/16\n"
		    "rule path lte mark 1\n", 0, &errs);
	if (c && c->nr_warnings)
		fail("warned without a deny: %s", c->warnings[0]);
	free(c);
	c = compile("path wifi addr 10.31.1.0/24\npath lte addr 10.99.0.0/16\n"
		    "rule path lte deny\n", 0, &errs);
	if (c && c->nr_warnings)
		fail("warned although the path without address is the denied one: %s",
		     c->warnings[0]);
	free(c);
	c = compile("path wifi addr 10.31.1.0/24\npath lte addr 10.99.0.0/16\n"
		    "rule path wifi deny\n", 0, &errs);
	if (c && (c->nr_warnings != 1 ||
		  strncmp(c->warnings[0], FILENAME ":2:1: warning: path lte: no address", 40)))
		fail("expected one warning on path lte, got %u: %s", c->nr_warnings,
		     c->nr_warnings ? c->warnings[0] : "");
	free(c);
	subflow_policy_errors_free(&errs);
}

/* A file with syntax errors still has its paths' devices checked: one run
 * reports every error, in file order. */
static void test_parse_and_device_errors_reported_together(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c;

	c = compile("path lte dev nosuchdev0\nrule path ltx deny\n", -EINVAL, &errs);
	free(c);
	if (!failure[0] &&
	    (errs.count != 2 || !strstr(errs.items[0].text, ":1:14: error: path lte: device 'nosuchdev0'") ||
	     !strstr(errs.items[1].text, ":2:11: error: unknown path 'ltx'")))
		fail("got %u errors: %s | %s", errs.count, errs.count ? errs.items[0].text : "",
		     errs.count > 1 ? errs.items[1].text : "");
	subflow_policy_errors_free(&errs);
}

/* ---- setup ------------------------------------------------------------- */

static int sh(const char *cmd)
{
	int status = system(cmd);

	if (status)
		fprintf(stderr, "setup command failed (%d): %s\n", status, cmd);
	return status;
}

static int make_namespace(void)
{
	char cmd[256];

	if (unshare(CLONE_NEWNET)) {
		printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
		return 77;
	}
	if (sh("ip link set lo up") ||
	    sh("ip link add t0 type veth peer name t1") ||
	    sh("ip addr add 10.31.1.1/24 dev t0") ||
	    sh("ip addr add 169.254.7.1/16 dev t0") ||
	    sh("ip addr add fd31:1::1/64 dev t0 nodad") ||
	    sh("ip addr add fe80::31:1/64 dev t0 nodad") ||
	    sh("ip link set t0 up") ||
	    sh("ip link add t2 type veth peer name t3"))
		return 1;
	for (int i = 1; i <= 17; i++) {
		snprintf(cmd, sizeof(cmd), "ip addr add 10.32.0.%d/32 dev t2", i);
		if (sh(cmd))
			return 1;
	}
	return 0;
}

int main(void)
{
	int err = make_namespace();

	if (err)
		return err;
	run("example_rules_compile_bit_by_bit", test_example_rules_compile_bit_by_bit);
	run("example_paths_hold_prefixes_and_no_devices",
	    test_example_paths_hold_prefixes_and_no_devices);
	run("canonical_text_is_the_formatted_policy", test_canonical_text_is_the_formatted_policy);
	run("addr_selector_binds_host_addresses_inside_it",
	    test_addr_selector_binds_host_addresses_inside_it);
	run("dev_lo_is_ifindex_1_with_host_prefixes_and_no_bind",
	    test_dev_lo_is_ifindex_1_with_host_prefixes_and_no_bind);
	run("dev_selector_binds_only_global_addresses", test_dev_selector_binds_only_global_addresses);
	run("every_missing_device_is_an_error_at_its_name",
	    test_every_missing_device_is_an_error_at_its_name);
	run("more_than_16_prefixes_after_resolution_is_an_error",
	    test_more_than_16_prefixes_after_resolution_is_an_error);
	run("no_bind_address_warns_only_when_another_path_is_denied",
	    test_no_bind_address_warns_only_when_another_path_is_denied);
	run("parse_and_device_errors_reported_together",
	    test_parse_and_device_errors_reported_together);
	printf("%u passed, %u failed\n", nr_passed, nr_failed);
	return nr_failed ? 1 : 0;
}
