// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the policy language parser (loader/lib/policy_parse.c): what a
 * valid file parses to, where and how each kind of mistake is reported,
 * that format() gives text parsing back to the same policy, and that no
 * input, however mangled, crashes it or yields an error outside the input.
 *
 * Prints `ok NAME` or `FAIL NAME: why` per case, then `N passed, N failed`;
 * exits 1 when anything failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "subflow_policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FILENAME "test.policy"

static unsigned int nr_passed, nr_failed;
static char failure[2048];

/* Record why the current case fails; the first reason is the one shown. */
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

static void report(const char *name)
{
	if (failure[0]) {
		printf("FAIL %s: %s\n", name, failure);
		nr_failed++;
	} else {
		printf("ok %s\n", name);
		nr_passed++;
	}
	failure[0] = '\0';
}

static void run(const char *name, void (*test)(void))
{
	failure[0] = '\0';
	test();
	report(name);
}

static int parse_string(const char *text, struct subflow_policy *policy,
			struct subflow_policy_errors *errs)
{
	return subflow_policy_parse(text, strlen(text), FILENAME, policy, errs);
}

static void fail_with_errors(const char *what, const struct subflow_policy_errors *errs)
{
	fail("%s; first error: %s (%u errors)", what,
	     errs->count ? errs->items[0].text : "none", errs->count);
}

static void expect_valid(const char *text, struct subflow_policy *policy)
{
	struct subflow_policy_errors errs = {};
	int err = parse_string(text, policy, &errs);

	if (err || errs.count)
		fail_with_errors("expected a valid policy", &errs);
	subflow_policy_errors_free(&errs);
}

/* ---- valid input ------------------------------------------------------- */

static const char example_policy[] =
	"path wifi dev wlan0\n"
	"path lte  dev wwan0\n"
	"rule path lte dport 443 mark 0x20 cc reno pacing 2mbit\n"
	"rule path lte deny\n"
	"rule path wifi mark 0x10\n";

static struct subflow_policy_rule any_rule(unsigned int line)
{
	struct subflow_policy_rule rule = {
		.path = -1,
		.dport_lo = 0,
		.dport_hi = 65535,
		.line = line,
	};
	return rule;
}

static void test_example_parses_to_expected_structures(void)
{
	struct subflow_policy got = {}, want = {};
	struct subflow_policy_rule *r;
	unsigned int i;

	want.nr_paths = 2;
	strcpy(want.paths[0].name, "wifi");
	want.paths[0].nr_selectors = 1;
	want.paths[0].selectors[0].kind = SUBFLOW_POLICY_SEL_DEV;
	strcpy(want.paths[0].selectors[0].dev, "wlan0");
	want.paths[0].line = 1;
	strcpy(want.paths[1].name, "lte");
	want.paths[1].nr_selectors = 1;
	want.paths[1].selectors[0].kind = SUBFLOW_POLICY_SEL_DEV;
	strcpy(want.paths[1].selectors[0].dev, "wwan0");
	want.paths[1].line = 2;

	want.nr_rules = 3;
	r = &want.rules[0];
	*r = any_rule(3);
	r->path = 1;
	r->dport_lo = r->dport_hi = 443;
	r->actions = SUBFLOW_POLICY_ACT_MARK | SUBFLOW_POLICY_ACT_CC | SUBFLOW_POLICY_ACT_PACING;
	r->mark = 0x20;
	strcpy(r->cc, "reno");
	r->pacing_rate = 250000;
	r = &want.rules[1];
	*r = any_rule(4);
	r->path = 1;
	r->actions = SUBFLOW_POLICY_ACT_VERDICT;
	r->verdict = SUBFLOW_POLICY_VERDICT_DENY;
	r = &want.rules[2];
	*r = any_rule(5);
	r->path = 0;
	r->actions = SUBFLOW_POLICY_ACT_MARK;
	r->mark = 0x10;

	expect_valid(example_policy, &got);
	if (!subflow_policy_equal(&got, &want))
		fail("parsed policy differs from the expected structures");
	for (i = 0; i < got.nr_paths && i < 2; i++)
		if (got.paths[i].line != want.paths[i].line)
			fail("path %u: line %u, expected %u", i, got.paths[i].line, want.paths[i].line);
	for (i = 0; i < got.nr_rules && i < 3; i++)
		if (got.rules[i].line != want.rules[i].line)
			fail("rule %u: line %u, expected %u", i, got.rules[i].line, want.rules[i].line);
	if (got.mptcpify != SUBFLOW_POLICY_MPTCPIFY_UNSET)
		fail("mptcpify set without a mptcpify line");
	subflow_policy_free(&got);
}

static void test_empty_file_is_empty_policy(void)
{
	struct subflow_policy policy;
	static const char *const empties[] = { "", "\n", "\n\n  \t\n", "# only a comment", "   # x\n" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(empties); i++) {
		memset(&policy, 0xaa, sizeof(policy));
		expect_valid(empties[i], &policy);
		if (policy.nr_paths || policy.nr_rules || policy.mptcpify)
			fail("input %u is not the empty policy", i);
	}
	/* A NULL text of length 0 is an empty file too. */
	if (subflow_policy_parse(NULL, 0, NULL, &policy, NULL))
		fail("NULL text of length 0 rejected");
}

static void test_comments_blank_lines_and_whitespace_are_fine(void)
{
	const char *text =
		"# subflow policy\n"
		"\n"
		"   \n"
		"\tpath\twifi dev wlan0   # the home network\t \n"
		"path lte dev wwan0\r\n"
		"path any4 addr 0.0.0.0/0 addr 192.0.2.0/24\n"
		"rule path lte\tdeny#no space before the comment\n"
		"   rule   family inet6 dst fd00::/8   allow   \n"
		"mptcpify on   \n";
	struct subflow_policy policy = {};

	expect_valid(text, &policy);
	if (policy.nr_paths != 3 || policy.nr_rules != 2)
		fail("%u paths and %u rules, expected 3 and 2", policy.nr_paths, policy.nr_rules);
	else if (strcmp(policy.paths[0].selectors[0].dev, "wlan0") ||
		 strcmp(policy.paths[1].selectors[0].dev, "wwan0"))
		fail("tab or CR taken into a word");
	else if (policy.rules[0].line != 7 || policy.rules[1].line != 8)
		fail("rule lines %u, %u, expected 7, 8", policy.rules[0].line, policy.rules[1].line);
	else if (policy.mptcpify != SUBFLOW_POLICY_MPTCPIFY_ON)
		fail("mptcpify not on");
}

static void test_every_match_and_action_is_parsed(void)
{
	const char *text =
		"path v6 addr fd00::/8 addr 2001:db8::1\n"
		"rule path v6 dst 2001:db8::/32 dport 8000-8080 family inet6 join allow mark 4294967295 "
		"cc bbr tos 0xb8 priority 6 pacing 1.5mbit user-timeout 1.5s keepalive 1m 1500ms 127 nodelay\n"
		"rule initial dst 10.0.0.0/8 pacing 100kbps user-timeout 2s\n"
		"mptcpify off\n";
	struct subflow_policy p = {};
	const struct subflow_policy_rule *r = &p.rules[0];
	const struct subflow_policy_selector *s = &p.paths[0].selectors[0];

	expect_valid(text, &p);
	if (failure[0])
		return;
	if (s[0].kind != SUBFLOW_POLICY_SEL_ADDR || s[0].addr.family != AF_INET6 ||
	    s[0].addr.len != 8 || s[0].addr.addr[0] != 0xfd || s[0].addr.addr[1] != 0)
		fail("fd00::/8 parsed wrong");
	if (s[1].addr.len != 128 || s[1].addr.addr[15] != 1)
		fail("a prefix without a length is not a host prefix");
	if (r->path != 0 || r->dst.family != AF_INET6 || r->dst.len != 32 ||
	    r->dport_lo != 8000 || r->dport_hi != 8080 || r->family != AF_INET6 ||
	    r->subflow != SUBFLOW_POLICY_SUBFLOW_JOIN)
		fail("matches of rule 1 parsed wrong");
	if (r->actions != (SUBFLOW_POLICY_ACT_VERDICT | SUBFLOW_POLICY_ACT_MARK |
			   SUBFLOW_POLICY_ACT_CC | SUBFLOW_POLICY_ACT_TOS |
			   SUBFLOW_POLICY_ACT_PRIORITY | SUBFLOW_POLICY_ACT_PACING |
			   SUBFLOW_POLICY_ACT_USER_TIMEOUT | SUBFLOW_POLICY_ACT_KEEPALIVE |
			   SUBFLOW_POLICY_ACT_NODELAY))
		fail("action bits %#x", r->actions);
	if (r->verdict != SUBFLOW_POLICY_VERDICT_ALLOW || r->mark != 0xffffffff ||
	    strcmp(r->cc, "bbr") || r->tos != 0xb8 || r->priority != 6)
		fail("verdict, mark, cc, tos or priority parsed wrong");
	if (r->pacing_rate != 187500)
		fail("1.5mbit is %llu B/s, expected 187500", (unsigned long long)r->pacing_rate);
	if (r->user_timeout_ms != 1500)
		fail("1.5s is %u ms, expected 1500", r->user_timeout_ms);
	if (r->keepalive_idle_s != 60 || r->keepalive_intvl_s != 2 || r->keepalive_count != 127)
		fail("keepalive %u %u %u, expected 60 2 127 (1500ms rounds to 2s)",
		     r->keepalive_idle_s, r->keepalive_intvl_s, r->keepalive_count);
	r = &p.rules[1];
	if (r->subflow != SUBFLOW_POLICY_SUBFLOW_INITIAL || r->dst.family != AF_INET ||
	    r->dst.addr[0] != 10 || r->dst.len != 8)
		fail("matches of rule 2 parsed wrong");
	if (r->pacing_rate != 100000 || r->user_timeout_ms != 2000 ||
	    r->actions != (SUBFLOW_POLICY_ACT_PACING | SUBFLOW_POLICY_ACT_USER_TIMEOUT) ||
	    r->verdict != SUBFLOW_POLICY_VERDICT_NONE)
		fail("rule 2: %llu B/s, %u ms, actions %#x",
		     (unsigned long long)r->pacing_rate, r->user_timeout_ms, r->actions);
	if (p.mptcpify != SUBFLOW_POLICY_MPTCPIFY_OFF)
		fail("mptcpify not off");
}

static void test_rates_use_tc_units(void)
{
	static const struct {
		const char *rate;
		unsigned long long bytes_per_second;
	} cases[] = {
		{ "2mbit", 250000 },   { "8bit", 1 },         { "1kbit", 125 },
		{ "1gbit", 125000000 }, { "1bps", 1 },        { "3kbps", 3000 },
		{ "2mbps", 2000000 },  { "1gbps", 1000000000 }, { "2.5Mbit", 312500 },
		{ "0.5gbit", 62500000 }, { "2.50mbit", 312500 },
	};
	struct subflow_policy p;
	char text[64];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "rule pacing %s\n", cases[i].rate);
		expect_valid(text, &p);
		if (!failure[0] && p.rules[0].pacing_rate != cases[i].bytes_per_second)
			fail("%s is %llu B/s, expected %llu", cases[i].rate,
			     (unsigned long long)p.rules[0].pacing_rate, cases[i].bytes_per_second);
	}
}

static void test_numbers_are_decimal_or_hex(void)
{
	struct subflow_policy p;

	expect_valid("rule dport 0x1bb mark 0x10 priority 010 tos 0XfF\n", &p);
	if (failure[0])
		return;
	if (p.rules[0].mark != 16 || p.rules[0].priority != 10 || p.rules[0].tos != 255 ||
	    p.rules[0].dport_lo != 443)
		fail("mark %u priority %u tos %u dport %u", p.rules[0].mark, p.rules[0].priority,
		     p.rules[0].tos, p.rules[0].dport_lo);
}

static void test_failed_parse_leaves_output_unchanged(void)
{
	struct subflow_policy p, before;
	struct subflow_policy_errors errs = {};

	memset(&p, 0x5a, sizeof(p));
	before = p;
	if (parse_string("path a dev x\nrule path a mark 1\nrule bogus\n", &p, &errs) != -EINVAL)
		fail("expected -EINVAL");
	if (memcmp(&p, &before, sizeof(p)))
		fail("output changed by a failed parse");
	subflow_policy_errors_free(&errs);
	/* errs may be NULL: the result alone says the file is bad. */
	if (parse_string("rule bogus\n", &p, NULL) != -EINVAL)
		fail("expected -EINVAL without an error list");
}

/* ---- one error per case ------------------------------------------------ */

struct error_case {
	const char *name;
	const char *text;
	unsigned int line, col;
	const char *fragment;	/* must appear in the message */
};

static const struct error_case error_cases[] = {
	{ "error_unknown_path_in_rule", "path wifi dev wlan0\nrule path lte deny\n", 2, 11,
	  "unknown path 'lte', expected the name of a path defined on an earlier line" },
	{ "error_unknown_path_suggests_a_defined_one", "path wifi dev wlan0\nrule path wfi deny\n", 2, 11,
	  "unknown path 'wfi', expected the name of a path defined on an earlier line; did you mean 'wifi'?" },
	{ "error_path_used_before_its_definition", "rule path wifi deny\npath wifi dev wlan0\n", 1, 11,
	  "unknown path 'wifi'" },
	{ "error_duplicate_path_name", "path a dev x\npath a dev y\n", 2, 6,
	  "duplicate path 'a', already defined at line 1" },
	{ "error_path_without_selector", "path wifi\n", 1, 10,
	  "path 'wifi' has no selector, expected 'dev IFNAME' or 'addr PREFIX'" },
	{ "error_path_name_too_long", "path abcdefghijabcdefghijabcdefghijab dev x\n", 1, 6,
	  "is too long (32 characters), expected at most 31" },
	{ "error_path_name_bad_character", "path wi/fi dev x\n", 1, 6, "invalid path name 'wi/fi'" },
	{ "error_unknown_selector_suggests", "path a deb wlan0\n", 1, 8,
	  "unknown path selector 'deb', expected 'dev IFNAME' or 'addr PREFIX'; did you mean 'dev'?" },
	{ "error_duplicate_selector", "path a dev x dev x\n", 1, 14, "duplicate selector 'dev x'" },
	{ "error_too_many_selectors",
	  "path a dev a dev b dev c dev d dev e dev f dev g dev h dev i\n", 1, 56,
	  "too many selectors in path 'a', expected at most 8" },
	{ "error_interface_name_too_long", "path a dev abcdefghijklmnop\n", 1, 12,
	  "interface name 'abcdefghijklmnop' is too long (16 characters), expected at most 15" },
	{ "error_interface_name_with_slash", "path a dev a/b\n", 1, 12, "invalid interface name 'a/b'" },
	{ "error_allow_with_deny", "rule allow deny\n", 1, 12,
	  "'deny' conflicts with 'allow' at column 6" },
	{ "error_two_marks", "rule mark 1 mark 2\n", 1, 13,
	  "duplicate 'mark' in rule, already given at column 6" },
	{ "error_deny_then_option", "rule deny mark 1\n", 1, 11,
	  "'mark' conflicts with 'deny' at column 6: a denied subflow gets no options" },
	{ "error_option_then_deny", "rule cc reno deny\n", 1, 14,
	  "'deny' conflicts with 'cc' at column 6: a denied subflow gets no options" },
	{ "error_initial_with_join", "rule initial join allow\n", 1, 14,
	  "'join' conflicts with 'initial' at column 6" },
	{ "error_duplicate_match", "rule dport 80 dport 81 allow\n", 1, 15,
	  "duplicate 'dport' in rule, already given at column 6" },
	{ "error_match_after_action", "rule deny dport 80\n", 1, 11,
	  "match 'dport' after action 'deny' at column 6, expected matches before actions" },
	{ "error_rule_without_action", "path a dev x\nrule path a\n", 2, 12,
	  "rule has no action, expected an action (allow, deny, mark" },
	{ "error_empty_rule", "rule\n", 1, 5, "rule has no action" },
	{ "error_tos_above_255", "rule tos 256\n", 1, 10, "tos 256 out of range, expected 0..255" },
	{ "error_tos_not_a_number", "rule tos high\n", 1, 10,
	  "invalid tos 'high', expected a number (decimal or 0x-hex)" },
	{ "error_port_above_65535", "rule dport 65536 allow\n", 1, 12,
	  "port in '65536' out of range, expected 1..65535" },
	{ "error_port_zero", "rule dport 0 allow\n", 1, 12, "out of range, expected 1..65535" },
	{ "error_port_range_reversed", "rule dport 90-80 allow\n", 1, 12,
	  "port range '90-80' is empty, expected LOW-HIGH with LOW <= HIGH" },
	{ "error_port_range_malformed", "rule dport 80- allow\n", 1, 12,
	  "invalid port '80-', expected PORT or PORT-PORT" },
	{ "error_mark_above_u32", "rule mark 0x100000000\n", 1, 11,
	  "mark 0x100000000 out of range, expected 0..0xffffffff" },
	{ "error_mark_beyond_u64", "rule mark 99999999999999999999999\n", 1, 11,
	  "out of range, expected 0..0xffffffff" },
	{ "error_priority_negative", "rule priority -1\n", 1, 15, "invalid priority '-1'" },
	{ "error_prefix_length_33", "path a addr 10.0.0.0/33\n", 1, 13,
	  "prefix length in '10.0.0.0/33' out of range, expected 0..32 for IPv4" },
	{ "error_ipv6_prefix_length_129", "rule dst fd00::/129 allow\n", 1, 10,
	  "expected 0..128 for IPv6" },
	{ "error_host_bits_set", "path a addr 10.0.0.1/24\n", 1, 13,
	  "host bits set in address prefix '10.0.0.1/24', did you mean 10.0.0.0/24?" },
	{ "error_ipv6_host_bits_set", "rule dst fd00::1/8 allow\n", 1, 10,
	  "host bits set in destination prefix 'fd00::1/8', did you mean fd00::/8?" },
	{ "error_bad_address", "path a addr 10.0.0/8\n", 1, 13,
	  "invalid address prefix '10.0.0/8', expected an IPv4 or IPv6 prefix" },
	{ "error_family_then_other_family_dst", "rule family inet dst fd00::/8 allow\n", 1, 22,
	  "destination 'fd00::/8' is an inet6 prefix, but the rule matches family inet at column 13" },
	{ "error_dst_then_other_family", "rule dst 10.0.0.0/8 family inet6 allow\n", 1, 28,
	  "family inet6 conflicts with the inet destination '10.0.0.0/8' at column 10" },
	{ "error_unknown_family", "rule family inet4 allow\n", 1, 13,
	  "unknown family 'inet4', expected 'inet' or 'inet6'; did you mean 'inet'?" },
	{ "error_rate_without_unit", "rule pacing 2000\n", 1, 13,
	  "pacing rate '2000' has no unit, expected a unit such as 2mbit" },
	{ "error_rate_unknown_unit", "rule pacing 2mbits\n", 1, 13,
	  "unknown unit in pacing rate '2mbits', expected one of bit, kbit, mbit, gbit, bps" },
	{ "error_rate_below_one_byte", "rule pacing 7bit\n", 1, 13,
	  "is below 1 byte per second, expected at least 8bit" },
	{ "error_rate_too_large", "rule pacing 99999999999999gbps\n", 1, 13, "is too large" },
	{ "error_rate_above_u32_bytes", "rule pacing 100gbit\n", 1, 13, "above the most a subflow can be paced to, 4294967294 bytes per second" },
	{ "error_duration_without_unit", "rule user-timeout 500\n", 1, 19,
	  "user-timeout '500' has no unit, expected a unit such as 500ms (ms, s, m, h)" },
	{ "error_duration_fraction_of_ms", "rule user-timeout 1.5ms\n", 1, 19,
	  "is not a whole number of milliseconds" },
	{ "error_user_timeout_too_large", "rule user-timeout 1000h\n", 1, 19,
	  "out of range, expected at most 2147483647ms" },
	{ "error_keepalive_idle_below_1s", "rule keepalive 400ms 10s 5\n", 1, 16,
	  "keepalive idle '400ms' out of range, expected 1s..32767s (rounded to whole seconds)" },
	{ "error_keepalive_interval_without_unit", "rule keepalive 60s 10 5\n", 1, 20,
	  "keepalive interval '10' has no unit" },
	{ "error_keepalive_count_above_127", "rule keepalive 60s 10s 128\n", 1, 24,
	  "keepalive count 128 out of range, expected 1..127" },
	{ "error_keepalive_missing_count", "rule keepalive 60s 10s\n", 1, 23,
	  "expected IDLE INTVL COUNT (e.g. 60s 10s 5) after 'keepalive', found end of line" },
	{ "error_cc_uppercase", "rule cc Reno\n", 1, 9,
	  "invalid congestion control 'Reno', expected at most 15 characters of a-z, 0-9, '_' and '-'" },
	{ "error_cc_too_long", "rule cc abcdefghijklmnop\n", 1, 9, "invalid congestion control" },
	{ "error_mptcpify_twice", "mptcpify on\nmptcpify off\n", 2, 1,
	  "'mptcpify' given twice, already set at line 1" },
	{ "error_mptcpify_bad_value", "mptcpify yes\n", 1, 10,
	  "unknown mptcpify value 'yes', expected 'on' or 'off'" },
	{ "error_mptcpify_trailing_word", "mptcpify on now\n", 1, 13,
	  "unexpected 'now' after 'mptcpify on', expected end of line" },
	{ "error_unknown_keyword_suggests_rule", "rul path a deny\n", 1, 1,
	  "unknown keyword 'rul', expected 'path', 'rule', 'mptcpify', 'prefer', 'open', 'keep', 'mode', 'announce' or 'ack-timeout'; did you mean 'rule'?" },
	{ "error_unknown_action_suggests_mark", "rule mrak 0x20\n", 1, 6,
	  "unknown word 'mrak', expected a match (path, dst, dport, family, initial, join) or an "
	  "action (allow, deny, mark, cc, tos, priority, pacing, user-timeout, keepalive, nodelay); "
	  "did you mean 'mark'?" },
	{ "error_unknown_action_suggests_user_timeout", "rule user_timeout 5s\n", 1, 6,
	  "did you mean 'user-timeout'?" },
	{ "error_missing_value_points_past_last_token", "rule mark\n", 1, 10,
	  "expected a mark value after 'mark', found end of line" },
	{ "error_missing_value_ignores_trailing_blanks", "rule dport 80 mark  \t # c\n", 1, 19,
	  "after 'mark', found end of line" },
	{ "error_missing_path_name", "path\n", 1, 5, "expected a path name after 'path', found end of line" },
	{ "error_columns_count_tabs_as_one", "\trule\tmrak 1\n", 1, 7, "unknown word 'mrak'" },
	{ "error_control_character", "rule deny \001\n", 1, 11,
	  "invalid character 0x01, expected printable ASCII outside comments" },
	{ "error_non_ascii_outside_comment", "path caf\xc3\xa9 dev x # caf\xc3\xa9\n", 1, 9,
	  "invalid character 0xc3" },
};

/* The case for the one error not tied to a word in a literal. */
static char *repeat_lines(const char *line, unsigned int count)
{
	size_t len = strlen(line);
	char *text = malloc(len * count + 1);
	unsigned int i;

	if (!text)
		abort();
	for (i = 0; i < count; i++)
		memcpy(text + i * len, line, len);
	text[len * count] = '\0';
	return text;
}

static void check_single_error(const char *text, size_t len, unsigned int line, unsigned int col,
			       const char *fragment)
{
	struct subflow_policy_errors errs = {};
	struct subflow_policy p;
	char prefix[64];
	int err;

	err = subflow_policy_parse(text, len, FILENAME, &p, &errs);
	snprintf(prefix, sizeof(prefix), FILENAME ":%u:%u: error: ", line, col);
	if (err != -EINVAL)
		fail("returned %d, expected -EINVAL", err);
	else if (errs.count != 1)
		fail_with_errors("expected exactly one error", &errs);
	else if (errs.items[0].line != line || errs.items[0].col != col ||
		 strncmp(errs.items[0].text, prefix, strlen(prefix)))
		fail("got '%s', expected it at %u:%u", errs.items[0].text, line, col);
	else if (!strstr(errs.items[0].text, fragment))
		fail("got '%s', expected it to say '%s'", errs.items[0].text, fragment);
	subflow_policy_errors_free(&errs);
}

static void test_error_cases(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(error_cases); i++) {
		check_single_error(error_cases[i].text, strlen(error_cases[i].text),
				   error_cases[i].line, error_cases[i].col, error_cases[i].fragment);
		report(error_cases[i].name);
	}
}

static void test_error_nul_byte(void)
{
	static const char text[] = "rule deny\nrule \0deny\n";

	check_single_error(text, sizeof(text) - 1, 2, 6, "invalid character 0x00");
}

static void test_error_too_many_rules(void)
{
	char *text = repeat_lines("rule allow\n", SUBFLOW_POLICY_MAX_RULES + 1);

	check_single_error(text, strlen(text), SUBFLOW_POLICY_MAX_RULES + 1, 1,
			   "too many rules, expected at most 64");
	free(text);
	/* Exactly the limit is fine. */
	text = repeat_lines("rule allow\n", SUBFLOW_POLICY_MAX_RULES);
	if (subflow_policy_parse(text, strlen(text), FILENAME, &(struct subflow_policy){}, NULL))
		fail("64 rules rejected");
	free(text);
}

static void test_error_too_many_paths(void)
{
	char text[4096];
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < SUBFLOW_POLICY_MAX_PATHS + 1; i++)
		len += snprintf(text + len, sizeof(text) - len, "path p%u dev eth%u\n", i, i);
	check_single_error(text, len, SUBFLOW_POLICY_MAX_PATHS + 1, 1,
			   "too many paths, expected at most 32");
}

static void test_unknown_keyword_far_from_all_gets_no_suggestion(void)
{
	struct subflow_policy_errors errs = {};
	struct subflow_policy p;

	parse_string("frobnicate\nrule x\n", &p, &errs);
	if (errs.count != 2)
		fail_with_errors("expected two errors", &errs);
	else if (strstr(errs.items[0].text, "did you mean") || strstr(errs.items[1].text, "did you mean"))
		fail("suggested a keyword: %s / %s", errs.items[0].text, errs.items[1].text);
	subflow_policy_errors_free(&errs);
}

/* ---- several errors ---------------------------------------------------- */

static void test_several_errors_in_one_file_are_all_reported(void)
{
	const char *text =
		"path wifi dev wlan0\n"			/* 1 */
		"path wifi dev wlan1\n"			/* 2: duplicate name, col 6 */
		"path lte\n"				/* 3: no selector, col 9 */
		"rule path wifi tos 300 mark 1 mark 2\n"	/* 4: tos col 20, mark col 31 */
		"# fine\n"				/* 5 */
		"rul deny\n"				/* 6: unknown keyword, col 1 */
		"rule path nowhere pacing 2mbit user-timeout 5\n"	/* 7: cols 11, 45 */
		"rule deny cc reno\n"			/* 8: col 11 */
		"mptcpify on\n"				/* 9 */
		"mptcpify on\n";			/* 10: col 1 */
	static const struct { unsigned int line, col; } want[] = {
		{ 2, 6 }, { 3, 9 }, { 4, 20 }, { 4, 31 }, { 6, 1 }, { 7, 11 }, { 7, 45 },
		{ 8, 11 }, { 10, 1 },
	};
	struct subflow_policy_errors errs = {};
	struct subflow_policy p;
	unsigned int i;

	if (parse_string(text, &p, &errs) != -EINVAL)
		fail("expected -EINVAL");
	if (errs.count != ARRAY_SIZE(want)) {
		for (i = 0; i < errs.count; i++)
			fprintf(stderr, "  %s\n", errs.items[i].text);
		fail("%u errors, expected %zu", errs.count, ARRAY_SIZE(want));
	}
	for (i = 0; i < errs.count && i < ARRAY_SIZE(want); i++)
		if (errs.items[i].line != want[i].line || errs.items[i].col != want[i].col)
			fail("error %u is '%s', expected it at %u:%u", i, errs.items[i].text,
			     want[i].line, want[i].col);
	if (errs.too_many)
		fail("too_many set");
	subflow_policy_errors_free(&errs);
}

static void test_too_many_errors_stops_with_a_note(void)
{
	char *text = repeat_lines("bogus\n", 150);
	struct subflow_policy_errors errs = {};
	struct subflow_policy p;

	if (parse_string(text, &p, &errs) != -EINVAL)
		fail("expected -EINVAL");
	if (errs.count != SUBFLOW_POLICY_MAX_ERRORS + 1 || !errs.too_many)
		fail("%u errors (too_many %d), expected %d and a note", errs.count, errs.too_many,
		     SUBFLOW_POLICY_MAX_ERRORS + 1);
	else if (strcmp(errs.items[errs.count - 1].text,
			FILENAME ":101:1: error: too many errors, stopping"))
		fail("last error is '%s'", errs.items[errs.count - 1].text);
	/* Parsing again into the same list releases the old one (valgrind checks). */
	parse_string("bogus\n", &p, &errs);
	if (errs.count != 1 || errs.too_many)
		fail("list not reset by the next parse");
	subflow_policy_errors_free(&errs);
	free(text);
}

/* ---- format ------------------------------------------------------------ */

static void test_format_prints_canonical_text(void)
{
	const char *want =
		"path wifi dev wlan0\n"
		"path lte dev wwan0\n"
		"rule path lte dport 443 mark 0x20 cc reno pacing 2mbit\n"
		"rule path lte deny\n"
		"rule path wifi mark 0x10\n";
	char buf[SUBFLOW_POLICY_TEXT_MAX];
	struct subflow_policy p;
	int err;

	expect_valid(example_policy, &p);
	err = subflow_policy_format(&p, buf, sizeof(buf));
	if (err)
		fail("format returned %d", err);
	else if (strcmp(buf, want))
		fail("formatted as:\n%s", buf);
}

static void check_round_trip(const char *text)
{
	struct subflow_policy first, second;
	char *buf1 = malloc(SUBFLOW_POLICY_TEXT_MAX), *buf2 = malloc(SUBFLOW_POLICY_TEXT_MAX);
	struct subflow_policy_errors errs = {};
	int err;

	if (!buf1 || !buf2)
		abort();
	expect_valid(text, &first);
	if (failure[0])
		goto out;
	err = subflow_policy_format(&first, buf1, SUBFLOW_POLICY_TEXT_MAX);
	if (err) {
		fail("format returned %d", err);
		goto out;
	}
	if (parse_string(buf1, &second, &errs)) {
		fail_with_errors("formatted text does not parse", &errs);
		goto out;
	}
	if (!subflow_policy_equal(&first, &second))
		fail("parse(format(p)) differs from p; formatted:\n%s", buf1);
	if (subflow_policy_format(&second, buf2, SUBFLOW_POLICY_TEXT_MAX) || strcmp(buf1, buf2))
		fail("format is not stable");
out:
	subflow_policy_errors_free(&errs);
	free(buf1);
	free(buf2);
}

static void test_format_round_trips(void)
{
	check_round_trip(example_policy);
	check_round_trip("");
	check_round_trip(
		"# every feature\n"
		"rule nodelay\n"
		"path v6 addr fd00::/8 addr 2001:db8::1 dev eth0 addr 0.0.0.0/0\n"
		"path v4 addr 192.0.2.0/24\n"
		"rule path v6 dst 2001:db8::/32 dport 8000-8080 family inet6 join allow mark 4294967295 "
		"cc bbr tos 0xb8 priority 6 pacing 1.5mbit user-timeout 1.5s keepalive 1m 1500ms 127 nodelay\n"
		"rule initial dst 10.0.0.0/8 pacing 100kbps user-timeout 2s\n"
		"rule family inet pacing 1001bit user-timeout 0ms keepalive 2h 7200s 1\n"
		"rule dport 1-65535 pacing 4gbps user-timeout 3600001ms\n"
		"rule path v4 deny\n"
		"mptcpify off\n");
}

static void test_format_reports_small_buffer(void)
{
	struct subflow_policy p;
	char buf[16];

	expect_valid(example_policy, &p);
	if (subflow_policy_format(&p, buf, sizeof(buf)) != -ENOSPC)
		fail("expected -ENOSPC");
	if (strlen(buf) >= sizeof(buf))
		fail("buffer not NUL-terminated");
}

static void test_format_rejects_invalid_policy(void)
{
	struct subflow_policy p = {};
	char buf[256];

	p.nr_rules = 1;
	p.rules[0] = any_rule(1);
	p.rules[0].actions = SUBFLOW_POLICY_ACT_VERDICT;
	p.rules[0].verdict = SUBFLOW_POLICY_VERDICT_ALLOW;
	if (subflow_policy_format(&p, buf, sizeof(buf)) || strcmp(buf, "rule allow\n"))
		fail("a valid one-rule policy did not format: '%s'", buf);
	p.rules[0].path = 3;	/* no such path */
	if (subflow_policy_format(&p, buf, sizeof(buf)) != -EINVAL)
		fail("rule with a path index out of range formatted");
}

/* ---- files ------------------------------------------------------------- */

static void test_parse_file_reads_and_names_the_file(void)
{
	char path[] = "/tmp/test_policy_parse.XXXXXX";
	struct subflow_policy_errors errs = {};
	struct subflow_policy p;
	char want[128];
	int fd, err;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "rule allow\nrule mrak 1\n", 23) != 23) {
		fail("cannot write %s", path);
		goto out;
	}
	err = subflow_policy_parse_file(path, &p, &errs);
	snprintf(want, sizeof(want), "%s:2:6: error: unknown word 'mrak'", path);
	if (err != -EINVAL || errs.count != 1 || strncmp(errs.items[0].text, want, strlen(want)))
		fail_with_errors("expected the file's name, line and column", &errs);
	unlink(path);
	err = subflow_policy_parse_file(path, &p, &errs);
	if (err != -ENOENT || errs.count != 1 || !strstr(errs.items[0].text, "cannot read"))
		fail_with_errors("missing file not reported as -ENOENT", &errs);
out:
	if (fd >= 0)
		close(fd);
	subflow_policy_errors_free(&errs);
}

/* ---- robustness -------------------------------------------------------- */

static uint64_t rng_state = 0x5eed5eed12345678ULL;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic, so that a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 2685821657736338717ULL) >> 32;
}

static const char *const fuzz_lines[] = {
	"path wifi dev wlan0", "path lte dev wwan0 addr 10.1.0.0/16", "path v6 addr fd00::/8",
	"rule path lte dport 443 mark 0x20 cc reno pacing 2mbit", "rule path lte deny",
	"rule path wifi mark 0x10", "rule family inet6 dst 2001:db8::/32 join allow nodelay",
	"rule initial user-timeout 500ms keepalive 60s 10s 5 tos 0x10 priority 3",
	"mptcpify on", "# comment", "", "rule dport 8000-8080 allow",
};

static const char *const fuzz_words[] = {
	"path", "rule", "mptcpify", "dev", "addr", "dst", "dport", "family", "initial", "join",
	"allow", "deny", "mark", "cc", "tos", "priority", "pacing", "user-timeout", "keepalive",
	"nodelay", "on", "off", "inet", "inet6", "wifi", "lte", "v6", "wlan0", "0x20", "256",
	"65536", "1-2", "9-1", "10.0.0.0/33", "10.0.0.1/24", "fd00::/8", "::/0", "2mbit", "1.5s",
	"500", "0", "#", "-", "/", ".", "99999999999999999999", "abcdefghijklmnopqrstuvwxyz0123456789",
};

static const char fuzz_bytes[] = " \t\r\n#/-.:0x\0\001\177\200\377aZ9";

/* Append one line, maybe mangled, to text. */
static size_t fuzz_line(char *text, size_t len, size_t cap)
{
	char line[512];
	size_t n = 0, k, pos;
	unsigned int i, words;
	const char *src;

	if (rng() % 2) {
		src = fuzz_lines[rng() % ARRAY_SIZE(fuzz_lines)];
		n = strlen(src);
		memcpy(line, src, n);
	} else {
		words = rng() % 12;
		for (i = 0; i < words; i++) {
			src = fuzz_words[rng() % ARRAY_SIZE(fuzz_words)];
			k = strlen(src);
			if (n + k + 2 >= sizeof(line))
				break;
			memcpy(line + n, src, k);
			n += k;
			line[n++] = rng() % 4 ? ' ' : '\t';
		}
	}
	/* A few byte-level mutations: replace, insert, delete. */
	for (i = rng() % 4; i > 0 && n > 0; i--) {
		pos = rng() % n;
		switch (rng() % 3) {
		case 0:
			line[pos] = fuzz_bytes[rng() % (sizeof(fuzz_bytes) - 1)];
			break;
		case 1:
			if (n + 1 < sizeof(line)) {
				memmove(line + pos + 1, line + pos, n - pos);
				line[pos] = rng() % 2 ? fuzz_bytes[rng() % (sizeof(fuzz_bytes) - 1)] :
							(char)(rng() % 256);
				n++;
			}
			break;
		default:
			memmove(line + pos, line + pos + 1, n - pos - 1);
			n--;
			break;
		}
	}
	if (len + n + 1 > cap)
		return len;
	memcpy(text + len, line, n);
	len += n;
	if (rng() % 8)	/* sometimes no newline: the last line may lack one */
		text[len++] = '\n';
	return len;
}

/* Length of line `line` (1-based) of text, or -1 when there is no such line. */
static long line_length(const char *text, size_t len, unsigned int line)
{
	size_t pos = 0, start;
	unsigned int current = 1;

	while (current < line) {
		const char *eol = memchr(text + pos, '\n', len - pos);

		if (!eol)
			return -1;
		pos = eol - text + 1;
		current++;
	}
	if (pos >= len && line > 1)
		return -1;	/* nothing after the last newline: not a line */
	start = pos;
	while (pos < len && text[pos] != '\n')
		pos++;
	return pos - start;
}

static void check_fuzz_input(const char *text, size_t len, unsigned int round)
{
	struct subflow_policy_errors errs = {};
	struct subflow_policy p, again;
	char prefix[64];
	char *buf;
	unsigned int i;
	long line_len;
	int err;

	err = subflow_policy_parse(text, len, "fuzz", &p, &errs);
	if (err != 0 && err != -EINVAL) {
		fail("round %u: returned %d", round, err);
		goto out;
	}
	if ((err == 0) != (errs.count == 0)) {
		fail("round %u: returned %d with %u errors", round, err, errs.count);
		goto out;
	}
	for (i = 0; i < errs.count; i++) {
		const struct subflow_policy_error *e = &errs.items[i];

		line_len = line_length(text, len, e->line);
		if (e->line < 1 || line_len < 0 || e->col < 1 || e->col > line_len + 1) {
			fail("round %u: error outside the input (line %u, col %u): %s",
			     round, e->line, e->col, e->text);
			goto out;
		}
		snprintf(prefix, sizeof(prefix), "fuzz:%u:%u: error: ", e->line, e->col);
		if (strncmp(e->text, prefix, strlen(prefix))) {
			fail("round %u: text does not start with '%s': %s", round, prefix, e->text);
			goto out;
		}
		if (i && (e->line < errs.items[i - 1].line)) {
			fail("round %u: errors not in file order", round);
			goto out;
		}
	}
	if (err)
		goto out;
	/* Whatever was accepted must survive format and parse. */
	buf = malloc(SUBFLOW_POLICY_TEXT_MAX);
	if (!buf)
		abort();
	if (subflow_policy_format(&p, buf, SUBFLOW_POLICY_TEXT_MAX) ||
	    parse_string(buf, &again, &errs) || !subflow_policy_equal(&p, &again))
		fail("round %u: accepted policy does not round-trip", round);
	free(buf);
out:
	subflow_policy_errors_free(&errs);
}

static void test_fuzz_inputs_never_crash_or_misplace_errors(void)
{
	static char text[16384];
	unsigned int round, lines, i, nr_valid = 0;
	size_t len;

	for (round = 0; round < 2000 && !failure[0]; round++) {
		len = 0;
		lines = rng() % 16;
		for (i = 0; i < lines; i++)
			len = fuzz_line(text, len, sizeof(text));
		check_fuzz_input(text, len, round);
		if (!failure[0] && !subflow_policy_parse(text, len, NULL, &(struct subflow_policy){}, NULL))
			nr_valid++;
	}
	/* Both sides must be exercised, or the test proves little. */
	if (!failure[0] && (nr_valid < 50 || nr_valid > 1950))
		fail("%u of 2000 inputs valid: the generator is off balance", nr_valid);
}

int main(void)
{
	run("example_parses_to_expected_structures", test_example_parses_to_expected_structures);
	run("empty_file_is_empty_policy", test_empty_file_is_empty_policy);
	run("comments_blank_lines_and_whitespace_are_fine",
	    test_comments_blank_lines_and_whitespace_are_fine);
	run("every_match_and_action_is_parsed", test_every_match_and_action_is_parsed);
	run("rates_use_tc_units", test_rates_use_tc_units);
	run("numbers_are_decimal_or_hex", test_numbers_are_decimal_or_hex);
	run("failed_parse_leaves_output_unchanged", test_failed_parse_leaves_output_unchanged);
	test_error_cases();
	run("error_nul_byte", test_error_nul_byte);
	run("error_too_many_rules", test_error_too_many_rules);
	run("error_too_many_paths", test_error_too_many_paths);
	run("unknown_keyword_far_from_all_gets_no_suggestion",
	    test_unknown_keyword_far_from_all_gets_no_suggestion);
	run("several_errors_in_one_file_are_all_reported",
	    test_several_errors_in_one_file_are_all_reported);
	run("too_many_errors_stops_with_a_note", test_too_many_errors_stops_with_a_note);
	run("format_prints_canonical_text", test_format_prints_canonical_text);
	run("format_round_trips", test_format_round_trips);
	run("format_reports_small_buffer", test_format_reports_small_buffer);
	run("format_rejects_invalid_policy", test_format_rejects_invalid_policy);
	run("parse_file_reads_and_names_the_file", test_parse_file_reads_and_names_the_file);
	run("fuzz_inputs_never_crash_or_misplace_errors",
	    test_fuzz_inputs_never_crash_or_misplace_errors);

	printf("%u passed, %u failed\n", nr_passed, nr_failed);
	return nr_failed ? 1 : 0;
}
