// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one-rule edit path (subflowctl policy rule ... / subflow_policy_set_rule
 * and friends), in memory: byte 0 is the edit (set, insert, delete), byte 1
 * the index, the rest the rule text, applied to a fixed policy with paths.
 * An edit either fails naming a place inside the rule text ("rule:1:COL",
 * COL at most one past its end) and leaves the policy as it was, or gives a
 * policy whose canonical form parses back equal, with the rule count moved
 * by the edit.
 */
#include <errno.h>
#include <string.h>
#include "subflow_policy.h"
#include "policy.h"
#include "fuzz_common.h"

static const char base_text[] =
	"path wifi dev c1\n"
	"path lte addr 10.31.2.0/24 addr fd31:2::/64\n"
	"rule path lte dport 443 mark 0x20 cc reno pacing 2mbit\n"
	"rule path lte deny\n"
	"rule path wifi tos 0x10\n";

static struct subflow_policy base, edited, back;
static char canon[SUBFLOW_POLICY_TEXT_MAX];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct subflow_policy_errors errs = {};
	enum subflow_rule_edit op;
	unsigned int index, before;
	char *rule;
	int err;

	fuzz_init_once();
	if (size < 2)
		return 0;
	if (!base.nr_rules)
		REQUIRE(!subflow_policy_parse(base_text, strlen(base_text), "base", &base, NULL));
	rule = fuzz_text(data + 2, size - 2);
	if (!rule || strlen(rule) != size - 2) {
		free(rule);
		return 0;
	}
	op = data[0] % 3;
	index = data[1] == 0xff ? SUBFLOW_POLICY_APPEND : data[1] % 8;
	edited = base;
	before = edited.nr_rules;
	err = subflow_policy_edit(&edited, op, index, rule, &errs);
	if (err) {
		REQUIRE(err == -EINVAL || err == -ERANGE || err == -ENOSPC);
		for (unsigned int i = 0; i < errs.count; i++) {
			REQUIRE(!strncmp(errs.items[i].text, "rule:1:", 7));
			REQUIRE(errs.items[i].line == 1);
			REQUIRE(errs.items[i].col >= 1 && errs.items[i].col <= strlen(rule) + 6);
		}
		subflow_policy_errors_free(&errs);
		free(rule);
		return 0;
	}
	REQUIRE(edited.nr_rules == before + (op == SUBFLOW_RULE_INSERT) - (op == SUBFLOW_RULE_DELETE));
	REQUIRE(edited.nr_paths == base.nr_paths);
	REQUIRE(!subflow_policy_format(&edited, canon, sizeof(canon)));
	REQUIRE(!subflow_policy_parse(canon, strlen(canon), "edited", &back, NULL));
	REQUIRE(subflow_policy_equal(&edited, &back));
	free(rule);
	return 0;
}
