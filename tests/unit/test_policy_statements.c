// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the path-management statements of the policy language
 * (prefer, open, keep, mode, announce, ack-timeout): what each parses to,
 * that the canonical form parses back to the same policy, and that every
 * mistake is one error at its exact FILE:LINE:COL with nothing produced.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "subflow_policy.h"
#include "check.h"

#define PATHS "path wifi dev wlan0\npath lte dev wwan0\npath eth dev eth0\n"

static struct subflow_policy policy;

static int parse(const char *text, struct subflow_policy_errors *errs)
{
	return subflow_policy_parse(text, strlen(text), "t.policy", &policy, errs);
}

static void test_statements_parse(void)
{
	const char *text = PATHS
		"prefer wifi over lte\n"
		"prefer wifi over lte if eth down\n"
		"open lte after 1mb\n"
		"open eth after 10s\n"
		"keep 2 subflows\n"
		"announce 10.0.0.1 to 10.1.0.0/16\n"
		"announce fd00::1\n"
		"ack-timeout 250ms\n";
	const struct subflow_policy_statement *st = policy.statements;
	struct uint_addr { uint8_t b[16]; } a4 = { { 10, 0, 0, 1 } };

	CHECK("statements_parse", !parse(text, NULL));
	CHECK("statements_count", policy.nr_statements == 7);
	CHECK("prefer_plain", st[0].kind == SUBFLOW_POLICY_STMT_PREFER && st[0].path == 0 &&
				      st[0].other == 1 && st[0].unless_up == -1 && st[0].line == 4);
	CHECK("prefer_if_down", st[1].kind == SUBFLOW_POLICY_STMT_PREFER && st[1].unless_up == 2);
	CHECK("open_after_bytes", st[2].kind == SUBFLOW_POLICY_STMT_OPEN && st[2].path == 1 &&
					  st[2].after_bytes == 1000000 && !st[2].after_ms);
	CHECK("open_after_time", st[3].path == 2 && st[3].after_ms == 10000 && !st[3].after_bytes);
	CHECK("keep", st[4].kind == SUBFLOW_POLICY_STMT_KEEP && st[4].count == 2);
	CHECK("announce_to", st[5].kind == SUBFLOW_POLICY_STMT_ANNOUNCE &&
				     st[5].addr.family == AF_INET && st[5].addr.len == 32 &&
				     !memcmp(st[5].addr.addr, a4.b, 4) && st[5].to.len == 16);
	CHECK("announce_any", st[6].addr.family == AF_INET6 && !st[6].to.family);
	CHECK("ack_timeout", policy.ack_timeout_ms == 250);
}

static void test_modes(void)
{
	CHECK("mode_handover", !parse(PATHS "mode handover\n", NULL) &&
				       policy.mode == SUBFLOW_POLICY_MODE_HANDOVER);
	CHECK("mode_interactive", !parse(PATHS "mode interactive\n", NULL) &&
					  policy.mode == SUBFLOW_POLICY_MODE_INTERACTIVE);
	CHECK("mode_aggregate_with_open", !parse(PATHS "mode aggregate\nopen lte after 5s\n", NULL) &&
						  policy.mode == SUBFLOW_POLICY_MODE_AGGREGATE &&
						  policy.nr_statements == 1);
	CHECK("mode_names", !strcmp(subflow_policy_mode_name(SUBFLOW_POLICY_MODE_AGGREGATE),
				    "aggregate") && !subflow_policy_mode_name(0));
}

/* The canonical text parses back to an equal policy, and is stable. */
static void test_roundtrip(void)
{
	static const char *const texts[] = {
		PATHS "prefer wifi over lte if eth down\nopen lte after 1048576b\nkeep 1 subflow\n",
		PATHS "mode interactive\nack-timeout 1s\nannounce fd00::1 to fd00::/8\nopen eth after 90s\n",
		PATHS "open wifi after 1500b\nopen lte after 2kib\nopen eth after 3gb\n",
	};
	char buf[SUBFLOW_POLICY_TEXT_MAX], buf2[SUBFLOW_POLICY_TEXT_MAX];
	struct subflow_policy again;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK("roundtrip_parse", !parse(texts[i], NULL));
		CHECK("roundtrip_format", !subflow_policy_format(&policy, buf, sizeof(buf)));
		CHECK("roundtrip_reparse",
		      !subflow_policy_parse(buf, strlen(buf), "canon", &again, NULL));
		CHECK("roundtrip_equal", subflow_policy_equal(&policy, &again));
		CHECK("roundtrip_stable", !subflow_policy_format(&again, buf2, sizeof(buf2)) &&
						  !strcmp(buf, buf2));
	}
	parse(PATHS "open lte after 1048576b\nkeep 1 subflow\nopen eth after 90s\n", NULL);
	subflow_policy_format(&policy, buf, sizeof(buf));
	CHECK("canonical_units", strstr(buf, "open lte after 1mib\n") && strstr(buf, "keep 1 subflow\n") &&
				       strstr(buf, "open eth after 90s\n"));
	parse(PATHS "prefer wifi over lte\nmode\n", NULL);	/* error: policy unchanged */
	CHECK("bad_file_changes_nothing", strstr(buf, "open lte after 1mib"));
}

/* One error, at LINE:COL, containing `text`; nothing produced. */
static void expect_error(const char *name, const char *body, unsigned int line, unsigned int col,
			 const char *text)
{
	struct subflow_policy_errors errs = {};
	char where[32];
	int err;

	memset(&policy, 0x5a, sizeof(policy));
	err = parse(body, &errs);
	snprintf(where, sizeof(where), "t.policy:%u:%u: error: ", line, col);
	if (err != -EINVAL || errs.count != 1 || strncmp(errs.items[0].text, where, strlen(where)) ||
	    !strstr(errs.items[0].text, text)) {
		printf("  %s: got %d, %u errors: %s\n", name, err, errs.count,
		       errs.count ? errs.items[0].text : "-");
		CHECK(name, false);
	} else {
		CHECK(name, policy.nr_paths == 0x5a5a5a5a);	/* untouched */
	}
	subflow_policy_errors_free(&errs);
}

static void test_errors(void)
{
	expect_error("prefer_itself", PATHS "prefer wifi over wifi\n", 4, 18, "over itself");
	expect_error("prefer_typo", PATHS "prefer wifi ovr lte\n", 4, 13, "expected 'over'");
	expect_error("prefer_unknown_path", PATHS "prefer wlan over lte\n", 4, 8, "unknown path 'wlan'");
	expect_error("prefer_later_path", "path b dev y\nprefer a over b\npath a dev x\n", 2, 8,
		     "defined on an earlier line");
	expect_error("prefer_contradiction", PATHS "prefer lte over wifi\nprefer wifi over lte\n", 5, 8,
		     "contradicts 'prefer lte over wifi' at line 4");
	expect_error("prefer_twice", PATHS "prefer wifi over lte\nprefer wifi over lte\n", 5, 1,
		     "given twice");
	expect_error("prefer_if_own_path", PATHS "prefer wifi over lte if lte down\n", 4, 25,
		     "names a path of this preference");
	expect_error("prefer_if_without_down", PATHS "prefer wifi over lte if eth\n", 4, 28,
		     "expected 'down' after 'eth', found end of line");
	expect_error("prefer_if_up", PATHS "prefer wifi over lte if eth up\n", 4, 29, "expected 'down'");
	expect_error("prefer_trailing", PATHS "prefer wifi over lte if eth down now\n", 4, 34,
		     "expected end of line");
	expect_error("open_zero", PATHS "open lte after 0mb\n", 4, 16, "more than 0 bytes");
	expect_error("open_bad_unit", PATHS "open lte after 10q\n", 4, 16, "invalid size or duration");
	expect_error("open_no_unit", PATHS "open lte after 10\n", 4, 16, "invalid size or duration");
	expect_error("open_missing", PATHS "open lte after\n", 4, 15, "found end of line");
	expect_error("open_twice", PATHS "open lte after 1s\nopen lte after 2s\n", 5, 6, "given twice");
	expect_error("keep_range", PATHS "keep 9 subflows\n", 4, 6, "expected 1..8");
	expect_error("keep_zero", PATHS "keep 0 subflows\n", 4, 6, "expected 1..8");
	expect_error("keep_word", PATHS "keep 2 paths\n", 4, 8, "expected 'subflows'");
	expect_error("keep_singular", PATHS "keep 1 subflows\n", 4, 8, "expected 'subflow'");
	expect_error("mode_unknown", PATHS "mode fast\n", 4, 6, "unknown mode 'fast'");
	expect_error("mode_typo_hint", PATHS "mode handvoer\n", 4, 6, "did you mean 'handover'");
	expect_error("mode_after_prefer", PATHS "prefer wifi over lte\nmode handover\n", 5, 1,
		     "cannot be combined with 'prefer' at line 4");
	expect_error("keep_after_mode", PATHS "mode aggregate\nkeep 2 subflows\n", 5, 1,
		     "cannot be combined with 'mode aggregate' at line 4");
	expect_error("announce_prefix", PATHS "announce 10.0.0.0/8\n", 4, 10, "not a prefix");
	expect_error("announce_bad", PATHS "announce 10.0.0.300\n", 4, 10, "invalid address");
	expect_error("announce_family", PATHS "announce 10.0.0.1 to fd00::/8\n", 4, 22,
		     "another family");
	expect_error("announce_host_bits", PATHS "announce 10.0.0.1 to 10.1.2.3/16\n", 4, 22,
		     "host bits set");
	expect_error("ack_timeout_small", PATHS "ack-timeout 5ms\n", 4, 13, "out of range");
	expect_error("ack_timeout_twice", PATHS "ack-timeout 1s\nack-timeout 2s\n", 5, 1,
		     "given twice");
	expect_error("unknown_keyword_hint", PATHS "prefr wifi over lte\n", 4, 1,
		     "did you mean 'prefer'");
}

static void test_limits(void)
{
	char *text = malloc(65536);
	struct subflow_policy_errors errs = {};
	size_t len = 0;

	len += sprintf(text + len, "%s", PATHS);
	for (int i = 0; i < SUBFLOW_POLICY_MAX_STATEMENTS + 1; i++)
		len += sprintf(text + len, "announce 10.0.%d.1\n", i);
	CHECK("too_many_statements", parse(text, &errs) == -EINVAL && errs.count == 1 &&
					     strstr(errs.items[0].text, ":36:1: error: too many"));
	subflow_policy_errors_free(&errs);
	free(text);
}

int main(void)
{
	test_statements_parse();
	test_modes();
	test_roundtrip();
	test_errors();
	test_limits();
	return CHECK_SUMMARY();
}
