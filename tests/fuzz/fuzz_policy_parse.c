// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy parser, with the round trip: any input either fails with
 * errors placed within the text (line >= 1, col >= 1, at most one line past
 * the last), or parses to a policy whose canonical form parses to an equal
 * policy and prints the same again.
 */
#include <string.h>
#include "subflow_policy.h"
#include "fuzz_common.h"

static char canon[SUBFLOW_POLICY_TEXT_MAX], again[SUBFLOW_POLICY_TEXT_MAX];
static struct subflow_policy p1, p2;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct subflow_policy_errors errs = {};
	int err;

	fuzz_init_once();
	err = subflow_policy_parse((const char *)data, size, "fuzz", &p1, &errs);
	if (err) {
		require_errors_placed(err, &errs, data, size);
		subflow_policy_errors_free(&errs);
		return 0;
	}
	REQUIRE(errs.count == 0);
	/* SUBFLOW_POLICY_TEXT_MAX always holds the canonical form. */
	REQUIRE(!subflow_policy_format(&p1, canon, sizeof(canon)));
	err = subflow_policy_parse(canon, strlen(canon), "canonical", &p2, &errs);
	if (err)
		fprintf(stderr, "canonical form does not parse:\n%s\n%s\n", canon,
			errs.count ? errs.items[0].text : "");
	REQUIRE(!err);
	REQUIRE(subflow_policy_equal(&p1, &p2));
	REQUIRE(!subflow_policy_format(&p2, again, sizeof(again)));
	REQUIRE(!strcmp(canon, again));
	return 0;
}
