// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One-rule edits of a parsed policy, in memory: the rule text is parsed
 * against the policy's paths (errors said as places in the rule text,
 * "rule:1:COL"), then set, inserted or deleted at an index. No map is
 * touched: policy_store.c installs the result like any policy, and the
 * fuzzer (tests/fuzz) drives this alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "policy.h"

#define RULE_TEXT_NAME "rule"

static bool starts_with_word(const char *s, const char *word)
{
	size_t len = strlen(word);

	return !strncmp(s, word, len) && (s[len] == '\0' || s[len] == ' ' || s[len] == '\t');
}

/* The parser numbered errors in the whole text it saw (the policy's path
 * lines, then the rule); say them as places in rule_text, "rule:1:COL". */
static int rebase_rule_errors(struct subflow_policy_errors *errs, unsigned int rule_line,
			      unsigned int col_shift)
{
	struct subflow_policy_error *e;
	const char *msg;
	char *text;
	unsigned int col;

	for (unsigned int i = 0; errs && i < errs->count; i++) {
		e = &errs->items[i];
		if (e->line != rule_line)
			continue;
		msg = strstr(e->text, ": error: ");
		msg = msg ? msg + strlen(": error: ") : e->text;
		col = e->col > col_shift ? e->col - col_shift : 1;
		if (asprintf(&text, RULE_TEXT_NAME ":1:%u: error: %s", col, msg) < 0)
			return -ENOMEM;
		free(e->text);
		e->text = text;
		e->line = 1;
		e->col = col;
	}
	return 0;
}

/* Parse rule_text ("path lte deny" or "rule path lte deny") against the
 * paths of `policy`. */
static int parse_one_rule(const struct subflow_policy *policy, const char *rule_text,
			  struct subflow_policy_rule *rule, struct subflow_policy_errors *errs)
{
	struct subflow_policy *header = NULL, *parsed = NULL;
	const char *words = rule_text;
	unsigned int col_shift, header_lines, i;
	char *text = NULL;
	size_t len;
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (strchr(rule_text, '\n')) {
		subflow_policy_add_error(errs, RULE_TEXT_NAME, 1,
					 (unsigned int)(strchr(rule_text, '\n') - rule_text) + 1,
					 "expected one rule on one line, found a line break");
		return -EINVAL;
	}
	while (*words == ' ' || *words == '\t')
		words++;
	col_shift = starts_with_word(words, "rule") ? 0 : strlen("rule ");

	header = calloc(1, sizeof(*header));
	parsed = calloc(1, sizeof(*parsed));
	text = malloc(SUBFLOW_POLICY_TEXT_MAX + strlen(rule_text) + 8);
	err = -ENOMEM;
	if (!header || !parsed || !text)
		goto out;
	*header = *policy;
	header->nr_rules = 0;
	err = subflow_policy_format(header, text, SUBFLOW_POLICY_TEXT_MAX);
	if (err)
		goto out;
	for (header_lines = 0, i = 0; text[i]; i++)
		header_lines += text[i] == '\n';
	len = strlen(text);
	sprintf(text + len, "%s%s\n", col_shift ? "rule " : "", rule_text);
	err = subflow_policy_parse(text, strlen(text), RULE_TEXT_NAME, parsed, errs);
	if (err == -EINVAL)
		err = rebase_rule_errors(errs, header_lines + 1, col_shift) ?: -EINVAL;
	if (!err && parsed->nr_rules != 1)
		err = -EINVAL;
	if (!err)
		*rule = parsed->rules[0];
out:
	free(text);
	free(parsed);
	free(header);
	return err;
}

static int apply_edit(struct subflow_policy *policy, enum subflow_rule_edit op, unsigned int index,
		      const struct subflow_policy_rule *rule)
{
	unsigned int n = policy->nr_rules;

	if (op == SUBFLOW_RULE_INSERT) {
		if (index == SUBFLOW_POLICY_APPEND)
			index = n;
		if (index > n) {
			pr_err("rule index %u out of range: the policy has %u rules, insert at 0-%u\n",
			       index, n, n);
			return -ERANGE;
		}
		if (n == SUBFLOW_POLICY_MAX_RULES) {
			pr_err("the policy has %d rules already, the most it can hold\n",
			       SUBFLOW_POLICY_MAX_RULES);
			return -ENOSPC;
		}
		memmove(&policy->rules[index + 1], &policy->rules[index],
			(n - index) * sizeof(policy->rules[0]));
		policy->rules[index] = *rule;
		policy->nr_rules++;
		return 0;
	}
	if (index >= n) {
		if (n)
			pr_err("rule index %u out of range: the policy has %u rules (0-%u)\n",
			       index, n, n - 1);
		else
			pr_err("rule index %u out of range: the policy has no rules\n", index);
		return -ERANGE;
	}
	if (op == SUBFLOW_RULE_SET) {
		policy->rules[index] = *rule;
		return 0;
	}
	memmove(&policy->rules[index], &policy->rules[index + 1],
		(n - index - 1) * sizeof(policy->rules[0]));
	policy->nr_rules--;
	memset(&policy->rules[policy->nr_rules], 0, sizeof(policy->rules[0]));
	return 0;
}

int subflow_policy_edit(struct subflow_policy *policy, enum subflow_rule_edit op,
			unsigned int index, const char *rule_text,
			struct subflow_policy_errors *errs)
{
	struct subflow_policy_rule rule = {};
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!policy || (op != SUBFLOW_RULE_DELETE && !rule_text))
		return -EINVAL;
	if (op != SUBFLOW_RULE_DELETE) {
		err = parse_one_rule(policy, rule_text, &rule, errs);
		if (err)
			return err;
	}
	return apply_edit(policy, op, index, &rule);
}
