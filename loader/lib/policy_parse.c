// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy language: text to struct subflow_policy, and back to text.
 *
 * One pass, one line at a time. Every error is reported with its place and
 * parsing goes on, so that a user fixes a whole file in one round. Only an
 * unknown word ends its line early: how many arguments it had is unknown, so
 * whatever followed would only give false errors.
 *
 * Nothing is normalised silently: a value that is not exactly what it says
 * (host bits set in a prefix, a rate or duration without a unit) is an error
 * that says what was probably meant. The policy being built is scratch space;
 * it reaches the caller only when no error was found, so a bad file changes
 * nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "subflow_policy.h"
#include "subflow.h"
#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A rule with every match and action has about 30 words. */
#define MAX_WORDS_PER_LINE	128
#define MAX_POLICY_FILE_SIZE	(1 << 20)
/* Kernel bounds: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT; and
 * TCP_USER_TIMEOUT takes a non-negative int. */
#define MAX_KEEPALIVE_SECONDS	32767
#define MAX_KEEPALIVE_COUNT	127
#define MAX_USER_TIMEOUT_MS	2147483647U

struct token {
	const char *text;	/* NUL-terminated, in parser.line_buf */
	unsigned int col;	/* 1-based byte column */
};

struct parser {
	const char *filename;
	struct subflow_policy *policy;		/* scratch, see the top comment */
	struct subflow_policy_errors *errs;	/* may be NULL */
	unsigned int nr_errors;
	bool stopped;		/* too many errors */
	int fatal;		/* -ENOMEM while recording an error */

	unsigned int line;
	unsigned int nr_path_lines;
	unsigned int nr_rule_lines;
	unsigned int mptcpify_line;
	unsigned int mode_line, ack_timeout_line, keep_line;
	unsigned int nr_statement_lines;
	unsigned int first_prefer_line;

	char *line_buf;
	size_t line_buf_size;
	struct token tokens[MAX_WORDS_PER_LINE];
	unsigned int nr_tokens;
	unsigned int end_col;	/* just past the last token: where a missing word goes */
};

/* ---- errors ------------------------------------------------------------ */

static int append_error(struct subflow_policy_errors *errs, const char *filename,
			unsigned int line, unsigned int col, const char *msg)
{
	struct subflow_policy_error *items;
	char *text;
	int n;

	if (!(errs->count & (errs->count - 1))) {
		/* count is 0 or a power of two: grow by doubling */
		items = realloc(errs->items, (errs->count ? 2 * errs->count : 8) * sizeof(*items));
		if (!items)
			return -ENOMEM;
		errs->items = items;
	}
	if (line)
		n = asprintf(&text, "%s:%u:%u: error: %s", filename, line, col, msg);
	else
		n = asprintf(&text, "%s: error: %s", filename, msg);
	if (n < 0)
		return -ENOMEM;
	errs->items[errs->count].line = line;
	errs->items[errs->count].col = col;
	errs->items[errs->count].text = text;
	errs->count++;
	return 0;
}

static void record_error(struct parser *p, unsigned int col, const char *msg)
{
	int err;

	if (!p->errs)
		return;
	err = append_error(p->errs, p->filename, p->line, col, msg);
	if (err)
		p->fatal = err;
}

/* Report an error at column col of the current line. */
__attribute__((format(printf, 3, 4)))
static void error_at(struct parser *p, unsigned int col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (p->stopped)
		return;
	if (++p->nr_errors > SUBFLOW_POLICY_MAX_ERRORS) {
		/* A list of hundreds helps nobody; the first ones show the trouble. */
		p->stopped = true;
		if (p->errs)
			p->errs->too_many = true;
		record_error(p, col, "too many errors, stopping");
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		p->fatal = -ENOMEM;
		va_end(ap);
		return;
	}
	va_end(ap);
	record_error(p, col, msg);
	free(msg);
}

/* "found end of line": the missing word would go just past the last one. */
static void error_missing(struct parser *p, const char *expected, const char *after)
{
	error_at(p, p->end_col, "expected %s after '%s', found end of line", expected, after);
}

/* Optimal string alignment distance (Levenshtein plus transpositions, so
 * that `mrak` is one edit from `mark`). Words longer than 31 characters
 * are far from every keyword anyway. */
static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int d[32][32];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > 31 || lb > 31)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned int cost = a[i - 1] != b[j - 1];
			unsigned int best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The closest of words within 2 edits, or NULL. Fewer edits than the
 * keyword has letters, so that `x` does not suggest `cc`. */
static const char *closest_word(const char *word, const char *const *words, size_t nr_words)
{
	unsigned int best = 3, dist;
	const char *found = NULL;
	size_t i;

	for (i = 0; i < nr_words; i++) {
		dist = edit_distance(word, words[i]);
		if (dist < best && dist < strlen(words[i])) {
			best = dist;
			found = words[i];
		}
	}
	return found;
}

static void error_unknown_word(struct parser *p, const struct token *tok, const char *what,
			       const char *expected, const char *const *words, size_t nr_words)
{
	const char *hint = closest_word(tok->text, words, nr_words);

	if (hint)
		error_at(p, tok->col, "unknown %s '%.64s', expected %s; did you mean '%s'?",
			 what, tok->text, expected, hint);
	else
		error_at(p, tok->col, "unknown %s '%.64s', expected %s", what, tok->text, expected);
}

/* ---- values ------------------------------------------------------------ */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}


static int parse_u64(const char *s, uint64_t *out)
{
	return subflow_parse_uint(s, UINT64_MAX, out);
}

/* A number within [min, max]; what names it in messages. */
static int parse_number(struct parser *p, const struct token *tok, const char *what,
			uint64_t min, uint64_t max, uint64_t *out)
{
	int err = parse_u64(tok->text, out);

	if (err == -EINVAL) {
		error_at(p, tok->col, "invalid %s '%.64s', expected a number (decimal or 0x-hex)",
			 what, tok->text);
		return err;
	}
	if (err || *out < min || *out > max) {
		if (max > 0xffff)
			error_at(p, tok->col, "%s %.64s out of range, expected %#llx..%#llx",
				 what, tok->text, (unsigned long long)min, (unsigned long long)max);
		else
			error_at(p, tok->col, "%s %.64s out of range, expected %llu..%llu",
				 what, tok->text, (unsigned long long)min, (unsigned long long)max);
		return -ERANGE;
	}
	return 0;
}

static void error_bad_unit_value(struct parser *p, const struct token *tok, const char *what,
				 int err, const char *example, const char *units)
{
	switch (err) {
	case -ENODATA:
		error_at(p, tok->col, "%s '%.64s' has no unit, expected a unit such as %s (%s)",
			 what, tok->text, example, units);
		break;
	case -ENOENT:
		error_at(p, tok->col, "unknown unit in %s '%.64s', expected one of %s (e.g. %s)",
			 what, tok->text, units, example);
		break;
	case -ERANGE:
		error_at(p, tok->col, "%s '%.64s' is too large", what, tok->text);
		break;
	default:
		error_at(p, tok->col, "invalid %s '%.64s', expected a number and a unit such as %s (%s)",
			 what, tok->text, example, units);
		break;
	}
}

static int parse_rate(struct parser *p, const struct token *tok, uint64_t *bytes_per_second)
{
	uint64_t bits;
	bool exact;
	int err;

	err = subflow_parse_with_unit(tok->text, subflow_rate_units, subflow_nr_rate_units, &bits,
				      &exact);
	if (err) {
		error_bad_unit_value(p, tok, "pacing rate", err, "2mbit", SUBFLOW_RATE_UNITS_HELP);
		return err;
	}
	/* The kernel paces in bytes per second; a fraction of a byte is lost. */
	*bytes_per_second = bits / 8;
	if (!*bytes_per_second) {
		error_at(p, tok->col, "pacing rate '%.64s' is below 1 byte per second, expected at least 8bit",
			 tok->text);
		return -ERANGE;
	}
	/* bpf_setsockopt(SO_MAX_PACING_RATE) takes a u32 of bytes per second
	 * (~0 meaning unlimited): more would silently become no limit. */
	if (*bytes_per_second > SUBFLOW_PACING_MAX) {
		error_at(p, tok->col, "pacing rate '%.64s' is %llu bytes per second, above the most a "
			 "subflow can be paced to, %llu bytes per second (about %llumbit)", tok->text,
			 (unsigned long long)*bytes_per_second, (unsigned long long)SUBFLOW_PACING_MAX,
			 (unsigned long long)(SUBFLOW_PACING_MAX * 8 / 1000000));
		return -ERANGE;
	}
	return 0;
}

static int parse_duration_ms(struct parser *p, const struct token *tok, const char *what,
			     uint64_t *ms, bool *exact)
{
	int err;

	err = subflow_parse_with_unit(tok->text, subflow_duration_units, subflow_nr_duration_units,
				      ms, exact);
	if (err)
		error_bad_unit_value(p, tok, what, err, "500ms", SUBFLOW_DURATION_UNITS_HELP);
	return err;
}

/* Keepalive times are whole seconds in the kernel: round to the nearest. */
static int parse_keepalive_seconds(struct parser *p, const struct token *tok, const char *what,
				   uint32_t *seconds)
{
	uint64_t ms;
	bool exact;
	int err;

	err = parse_duration_ms(p, tok, what, &ms, &exact);
	if (err)
		return err;
	if (ms < 500 || ms >= MAX_KEEPALIVE_SECONDS * 1000ULL + 500) {
		error_at(p, tok->col, "%s '%.64s' out of range, expected 1s..%us (rounded to whole seconds)",
			 what, tok->text, MAX_KEEPALIVE_SECONDS);
		return -ERANGE;
	}
	*seconds = (ms + 500) / 1000;
	return 0;
}

/* Prefix bits past len cleared; true when some were set. */
static bool clear_host_bits(uint8_t *addr, unsigned int addr_len, unsigned int prefix_len)
{
	bool had_host_bits = false;
	unsigned int bit;

	for (bit = prefix_len; bit < addr_len * 8; bit++) {
		uint8_t mask = 0x80 >> (bit % 8);

		if (addr[bit / 8] & mask) {
			had_host_bits = true;
			addr[bit / 8] &= ~mask;
		}
	}
	return had_host_bits;
}

/* ADDR[/LEN], IPv4 or IPv6; no length means a single host. */
static int parse_prefix(struct parser *p, const struct token *tok, const char *what,
			struct subflow_policy_prefix *out)
{
	char addr[INET6_ADDRSTRLEN], shown[INET6_ADDRSTRLEN];
	const char *slash = strchr(tok->text, '/');
	size_t addr_len = slash ? (size_t)(slash - tok->text) : strlen(tok->text);
	unsigned int max_len, addr_bytes;
	struct subflow_policy_prefix prefix = {};
	uint64_t len;

	if (!addr_len || addr_len >= sizeof(addr))
		goto invalid;
	memcpy(addr, tok->text, addr_len);
	addr[addr_len] = '\0';
	prefix.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(prefix.family, addr, prefix.addr) != 1)
		goto invalid;
	max_len = prefix.family == AF_INET6 ? 128 : 32;
	addr_bytes = max_len / 8;
	len = max_len;
	if (slash) {
		/* Decimal only: a /0x18 would be a puzzle, not a prefix. */
		if (!is_digit(slash[1]) || strspn(slash + 1, "0123456789") != strlen(slash + 1))
			goto invalid;
		if (parse_u64(slash + 1, &len) || len > max_len) {
			error_at(p, tok->col, "prefix length in '%.64s' out of range, expected 0..%u for IPv%d",
				 tok->text, max_len, prefix.family == AF_INET6 ? 6 : 4);
			return -ERANGE;
		}
	}
	prefix.len = len;
	if (clear_host_bits(prefix.addr, addr_bytes, prefix.len)) {
		inet_ntop(prefix.family, prefix.addr, shown, sizeof(shown));
		error_at(p, tok->col, "host bits set in %s '%.64s', did you mean %s/%u?",
			 what, tok->text, shown, prefix.len);
		return -EINVAL;
	}
	*out = prefix;
	return 0;

invalid:
	error_at(p, tok->col, "invalid %s '%.64s', expected an IPv4 or IPv6 prefix such as 10.0.0.0/24 or fd00::/8",
		 what, tok->text);
	return -EINVAL;
}

/* The kernel's dev_valid_name(). */
static int parse_ifname(struct parser *p, const struct token *tok, char *out)
{
	size_t len = strlen(tok->text);

	if (len >= SUBFLOW_POLICY_IFNAME_MAX) {
		error_at(p, tok->col, "interface name '%.64s' is too long (%zu characters), expected at most %d",
			 tok->text, len, SUBFLOW_POLICY_IFNAME_MAX - 1);
		return -EINVAL;
	}
	if (!strcmp(tok->text, ".") || !strcmp(tok->text, "..") || strpbrk(tok->text, "/:")) {
		error_at(p, tok->col, "invalid interface name '%s', expected a name without '/' or ':'",
			 tok->text);
		return -EINVAL;
	}
	strcpy(out, tok->text);
	return 0;
}

static bool is_path_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	       c == '_' || c == '-' || c == '.';
}

static int check_path_name(struct parser *p, const struct token *tok)
{
	size_t len = strlen(tok->text), i;

	if (len >= SUBFLOW_POLICY_NAME_MAX) {
		error_at(p, tok->col, "path name '%.64s' is too long (%zu characters), expected at most %d",
			 tok->text, len, SUBFLOW_POLICY_NAME_MAX - 1);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!is_path_name_char(tok->text[i])) {
			error_at(p, tok->col, "invalid path name '%s', expected letters, digits, '_', '-' and '.'",
				 tok->text);
			return -EINVAL;
		}
	}
	return 0;
}

static int find_path(const struct subflow_policy *policy, const char *name)
{
	unsigned int i;

	for (i = 0; i < policy->nr_paths; i++)
		if (!strcmp(policy->paths[i].name, name))
			return i;
	return -1;
}

/* ---- path NAME SELECTOR... --------------------------------------------- */

static const char *const selector_words[] = { "dev", "addr" };

static bool selector_equal(const struct subflow_policy_selector *a,
			   const struct subflow_policy_selector *b);

static void parse_path_line(struct parser *p)
{
	struct subflow_policy_selector sel;
	struct subflow_policy_path path = {};
	const struct token *keyword = &p->tokens[0], *name, *word, *value;
	unsigned int i, j, nr_selector_words = 0;
	bool name_ok = true, duplicate;
	int other;

	if (++p->nr_path_lines > SUBFLOW_POLICY_MAX_PATHS)
		error_at(p, keyword->col, "too many paths, expected at most %d", SUBFLOW_POLICY_MAX_PATHS);
	if (p->nr_tokens < 2) {
		error_missing(p, "a path name", "path");
		return;
	}
	name = &p->tokens[1];
	if (check_path_name(p, name)) {
		name_ok = false;
	} else if ((other = find_path(p->policy, name->text)) >= 0) {
		error_at(p, name->col, "duplicate path '%s', already defined at line %u",
			 name->text, p->policy->paths[other].line);
		name_ok = false;
	}

	for (i = 2; i < p->nr_tokens; i += 2) {
		word = &p->tokens[i];
		memset(&sel, 0, sizeof(sel));
		if (!strcmp(word->text, "dev")) {
			sel.kind = SUBFLOW_POLICY_SEL_DEV;
		} else if (!strcmp(word->text, "addr")) {
			sel.kind = SUBFLOW_POLICY_SEL_ADDR;
		} else {
			error_unknown_word(p, word, "path selector", "'dev IFNAME' or 'addr PREFIX'",
					   selector_words, ARRAY_SIZE(selector_words));
			return;
		}
		nr_selector_words++;
		if (i + 1 >= p->nr_tokens) {
			error_missing(p, sel.kind == SUBFLOW_POLICY_SEL_DEV ? "an interface name" :
					 "an address prefix", word->text);
			return;
		}
		value = &p->tokens[i + 1];
		sel.col = value->col;
		if (sel.kind == SUBFLOW_POLICY_SEL_DEV ? parse_ifname(p, value, sel.dev) :
		    parse_prefix(p, value, "address prefix", &sel.addr))
			continue;
		duplicate = false;
		for (j = 0; j < path.nr_selectors; j++)
			duplicate |= selector_equal(&sel, &path.selectors[j]);
		if (duplicate) {
			error_at(p, word->col, "duplicate selector '%s %s' in path '%s'",
				 word->text, value->text, name->text);
		} else if (path.nr_selectors == SUBFLOW_POLICY_MAX_SELECTORS) {
			error_at(p, word->col, "too many selectors in path '%s', expected at most %d",
				 name->text, SUBFLOW_POLICY_MAX_SELECTORS);
		} else {
			path.selectors[path.nr_selectors++] = sel;
		}
	}
	if (!nr_selector_words)
		error_at(p, p->end_col, "path '%.64s' has no selector, expected 'dev IFNAME' or 'addr PREFIX'",
			 name->text);

	/* Kept even when a selector was wrong, so that rules naming the path
	 * do not add "unknown path" to the error that matters. */
	if (name_ok && p->policy->nr_paths < SUBFLOW_POLICY_MAX_PATHS) {
		strcpy(path.name, name->text);
		path.line = p->line;
		p->policy->paths[p->policy->nr_paths++] = path;
	}
}

/* ---- rule [MATCH...] ACTION... ----------------------------------------- */

struct rule_parse {
	struct subflow_policy_rule rule;
	unsigned int seen_col[32];		/* per rule_words[] entry, 0: not seen */
	const struct token *first_action;
	const struct token *first_option;	/* first action that sets an option */
	const struct token *family_value;
	const struct token *dst_value;
};

struct rule_word {
	const char *name;
	uint32_t action;		/* SUBFLOW_POLICY_ACT_*, 0 for a match */
	const char *conflicts_with;	/* the other word of an either-or pair */
	unsigned int nr_args;
	const char *args_help;		/* what the arguments are, for messages */
	int (*parse)(struct parser *p, struct rule_parse *rp, const struct token *args);
};

static const char *family_name(int family)
{
	return family == AF_INET6 ? "inet6" : "inet";
}

static int rule_path(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	const char *names[SUBFLOW_POLICY_MAX_PATHS];
	int index = find_path(p->policy, args[0].text);
	unsigned int i;

	if (index < 0) {
		for (i = 0; i < p->policy->nr_paths; i++)
			names[i] = p->policy->paths[i].name;
		error_unknown_word(p, &args[0], "path", "the name of a path defined on an earlier line",
				   names, p->policy->nr_paths);
		return -ENOENT;
	}
	rp->rule.path = index;
	return 0;
}

static int rule_dst(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	int err = parse_prefix(p, &args[0], "destination prefix", &rp->rule.dst);

	if (err)
		return err;
	rp->dst_value = &args[0];
	if (rp->family_value && rp->rule.family != rp->rule.dst.family) {
		error_at(p, args[0].col, "destination '%s' is an %s prefix, but the rule matches family %s at column %u",
			 args[0].text, family_name(rp->rule.dst.family), rp->family_value->text,
			 rp->family_value->col);
		return -EINVAL;
	}
	return 0;
}

static int rule_dport(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	const struct token *tok = &args[0];
	char lo_text[24], *hi_text;
	uint64_t lo = 0, hi = 0;
	int err_lo, err_hi;

	if (strlen(tok->text) >= sizeof(lo_text))
		goto invalid;
	strcpy(lo_text, tok->text);
	hi_text = strchr(lo_text, '-');
	if (hi_text)
		*hi_text++ = '\0';
	err_lo = parse_u64(lo_text, &lo);
	err_hi = hi_text ? parse_u64(hi_text, &hi) : (hi = lo, err_lo);
	if (err_lo == -EINVAL || err_hi == -EINVAL)
		goto invalid;
	/* Port 0 is never a destination: matching it would be a mistake. */
	if (err_lo || err_hi || lo < 1 || lo > 65535 || hi < 1 || hi > 65535) {
		error_at(p, tok->col, "port in '%.64s' out of range, expected 1..65535", tok->text);
		return -ERANGE;
	}
	if (lo > hi) {
		error_at(p, tok->col, "port range '%s' is empty, expected LOW-HIGH with LOW <= HIGH",
			 tok->text);
		return -ERANGE;
	}
	rp->rule.dport_lo = lo;
	rp->rule.dport_hi = hi;
	return 0;

invalid:
	error_at(p, tok->col, "invalid port '%.64s', expected PORT or PORT-PORT (1..65535)", tok->text);
	return -EINVAL;
}

static int rule_family(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	static const char *const families[] = { "inet", "inet6" };

	if (!strcmp(args[0].text, "inet")) {
		rp->rule.family = AF_INET;
	} else if (!strcmp(args[0].text, "inet6")) {
		rp->rule.family = AF_INET6;
	} else {
		error_unknown_word(p, &args[0], "family", "'inet' or 'inet6'",
				   families, ARRAY_SIZE(families));
		return -EINVAL;
	}
	rp->family_value = &args[0];
	if (rp->dst_value && rp->rule.dst.family != rp->rule.family) {
		error_at(p, args[0].col, "family %s conflicts with the %s destination '%s' at column %u",
			 args[0].text, family_name(rp->rule.dst.family), rp->dst_value->text,
			 rp->dst_value->col);
		return -EINVAL;
	}
	return 0;
}

static int rule_initial(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	rp->rule.subflow = SUBFLOW_POLICY_SUBFLOW_INITIAL;
	return 0;
}

static int rule_join(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	rp->rule.subflow = SUBFLOW_POLICY_SUBFLOW_JOIN;
	return 0;
}

static int rule_allow(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	rp->rule.verdict = SUBFLOW_POLICY_VERDICT_ALLOW;
	return 0;
}

static int rule_deny(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	rp->rule.verdict = SUBFLOW_POLICY_VERDICT_DENY;
	return 0;
}

static int rule_mark(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	uint64_t v = 0;
	int err = parse_number(p, &args[0], "mark", 0, UINT32_MAX, &v);

	rp->rule.mark = v;
	return err;
}

static int rule_cc(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	const char *name = args[0].text;
	size_t len = strlen(name);

	/* The names the kernel registers congestion controls under. */
	if (len >= SUBFLOW_POLICY_CC_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len) {
		error_at(p, args[0].col, "invalid congestion control '%.64s', expected at most %d characters of a-z, 0-9, '_' and '-'",
			 name, SUBFLOW_POLICY_CC_NAME_MAX - 1);
		return -EINVAL;
	}
	strcpy(rp->rule.cc, name);
	rp->rule.cc_col = args[0].col;
	return 0;
}

static int rule_tos(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	uint64_t v = 0;
	int err = parse_number(p, &args[0], "tos", 0, 255, &v);

	rp->rule.tos = v;
	return err;
}

static int rule_priority(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	uint64_t v = 0;
	int err = parse_number(p, &args[0], "priority", 0, UINT32_MAX, &v);

	rp->rule.priority = v;
	return err;
}

static int rule_pacing(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	return parse_rate(p, &args[0], &rp->rule.pacing_rate);
}

static int rule_user_timeout(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	uint64_t ms;
	bool exact;
	int err;

	err = parse_duration_ms(p, &args[0], "user-timeout", &ms, &exact);
	if (err)
		return err;
	if (!exact) {
		error_at(p, args[0].col, "user-timeout '%.64s' is not a whole number of milliseconds",
			 args[0].text);
		return -EINVAL;
	}
	if (ms > MAX_USER_TIMEOUT_MS) {
		error_at(p, args[0].col, "user-timeout '%.64s' out of range, expected at most %ums",
			 args[0].text, MAX_USER_TIMEOUT_MS);
		return -ERANGE;
	}
	rp->rule.user_timeout_ms = ms;
	return 0;
}

static int rule_keepalive(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	uint64_t count = 0;
	int err = 0;

	/* Check all three, each reporting its own error. */
	err |= parse_keepalive_seconds(p, &args[0], "keepalive idle", &rp->rule.keepalive_idle_s);
	err |= parse_keepalive_seconds(p, &args[1], "keepalive interval", &rp->rule.keepalive_intvl_s);
	err |= parse_number(p, &args[2], "keepalive count", 1, MAX_KEEPALIVE_COUNT, &count);
	rp->rule.keepalive_count = count;
	return err ? -EINVAL : 0;
}

static int rule_nodelay(struct parser *p, struct rule_parse *rp, const struct token *args)
{
	return 0;
}

static const struct rule_word rule_words[] = {
	/* matches, in canonical order */
	{ "path", 0, NULL, 1, "a path name", rule_path },
	{ "dst", 0, NULL, 1, "a destination prefix", rule_dst },
	{ "dport", 0, NULL, 1, "a port or port range", rule_dport },
	{ "family", 0, NULL, 1, "'inet' or 'inet6'", rule_family },
	{ "initial", 0, "join", 0, NULL, rule_initial },
	{ "join", 0, "initial", 0, NULL, rule_join },
	/* actions, in canonical order */
	{ "allow", SUBFLOW_POLICY_ACT_VERDICT, "deny", 0, NULL, rule_allow },
	{ "deny", SUBFLOW_POLICY_ACT_VERDICT, "allow", 0, NULL, rule_deny },
	{ "mark", SUBFLOW_POLICY_ACT_MARK, NULL, 1, "a mark value", rule_mark },
	{ "cc", SUBFLOW_POLICY_ACT_CC, NULL, 1, "a congestion control name", rule_cc },
	{ "tos", SUBFLOW_POLICY_ACT_TOS, NULL, 1, "a tos value", rule_tos },
	{ "priority", SUBFLOW_POLICY_ACT_PRIORITY, NULL, 1, "a priority value", rule_priority },
	{ "pacing", SUBFLOW_POLICY_ACT_PACING, NULL, 1, "a rate such as 2mbit", rule_pacing },
	{ "user-timeout", SUBFLOW_POLICY_ACT_USER_TIMEOUT, NULL, 1, "a duration such as 500ms",
	  rule_user_timeout },
	{ "keepalive", SUBFLOW_POLICY_ACT_KEEPALIVE, NULL, 3, "IDLE INTVL COUNT (e.g. 60s 10s 5)",
	  rule_keepalive },
	{ "nodelay", SUBFLOW_POLICY_ACT_NODELAY, NULL, 0, NULL, rule_nodelay },
};

_Static_assert(ARRAY_SIZE(rule_words) <= ARRAY_SIZE(((struct rule_parse *)0)->seen_col),
	       "rule_parse.seen_col too small");

#define RULE_WORDS_HELP \
	"a match (path, dst, dport, family, initial, join) or an action (allow, deny, mark, cc, " \
	"tos, priority, pacing, user-timeout, keepalive, nodelay)"

static int find_rule_word(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rule_words); i++)
		if (!strcmp(rule_words[i].name, name))
			return i;
	return -1;
}

static void error_unknown_rule_word(struct parser *p, const struct token *tok)
{
	const char *names[ARRAY_SIZE(rule_words)];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rule_words); i++)
		names[i] = rule_words[i].name;
	error_unknown_word(p, tok, "word", RULE_WORDS_HELP, names, ARRAY_SIZE(names));
}

/* The checks that concern how words combine, before the word's own. */
static bool rule_word_fits(struct parser *p, struct rule_parse *rp, int index,
			   const struct token *tok)
{
	const struct rule_word *w = &rule_words[index];
	bool is_option = w->action && w->action != SUBFLOW_POLICY_ACT_VERDICT;
	int other;

	if (rp->seen_col[index]) {
		error_at(p, tok->col, "duplicate '%s' in rule, already given at column %u",
			 w->name, rp->seen_col[index]);
		return false;
	}
	if (w->conflicts_with) {
		other = find_rule_word(w->conflicts_with);
		if (rp->seen_col[other]) {
			error_at(p, tok->col, "'%s' conflicts with '%s' at column %u, expected one of them",
				 w->name, w->conflicts_with, rp->seen_col[other]);
			return false;
		}
	}
	if (!w->action && rp->first_action) {
		error_at(p, tok->col, "match '%s' after action '%s' at column %u, expected matches before actions",
			 w->name, rp->first_action->text, rp->first_action->col);
		return false;
	}
	if (rp->rule.verdict == SUBFLOW_POLICY_VERDICT_DENY && is_option) {
		error_at(p, tok->col, "'%s' conflicts with 'deny' at column %u: a denied subflow gets no options",
			 w->name, rp->seen_col[find_rule_word("deny")]);
		return false;
	}
	if (!strcmp(w->name, "deny") && rp->first_option) {
		error_at(p, tok->col, "'deny' conflicts with '%s' at column %u: a denied subflow gets no options",
			 rp->first_option->text, rp->first_option->col);
		return false;
	}
	return true;
}

static void parse_rule_line(struct parser *p)
{
	struct rule_parse rp = {};
	const struct token *keyword = &p->tokens[0], *tok;
	const struct rule_word *w;
	unsigned int i = 1;
	int index;

	rp.rule.path = -1;
	rp.rule.dport_lo = 0;
	rp.rule.dport_hi = 65535;
	rp.rule.line = p->line;
	if (++p->nr_rule_lines > SUBFLOW_POLICY_MAX_RULES)
		error_at(p, keyword->col, "too many rules, expected at most %d", SUBFLOW_POLICY_MAX_RULES);

	while (i < p->nr_tokens) {
		tok = &p->tokens[i];
		index = find_rule_word(tok->text);
		if (index < 0) {
			error_unknown_rule_word(p, tok);
			return;
		}
		w = &rule_words[index];
		if (i + w->nr_args >= p->nr_tokens) {
			error_missing(p, w->args_help, w->name);
			return;
		}
		if (rule_word_fits(p, &rp, index, tok) && !w->parse(p, &rp, &p->tokens[i + 1]))
			rp.rule.actions |= w->action;
		if (!rp.seen_col[index])
			rp.seen_col[index] = tok->col;
		if (w->action && !rp.first_action)
			rp.first_action = tok;
		if (w->action && w->action != SUBFLOW_POLICY_ACT_VERDICT && !rp.first_option)
			rp.first_option = tok;
		i += 1 + w->nr_args;
	}
	if (!rp.first_action) {
		error_at(p, p->end_col, "rule has no action, expected an action (allow, deny, mark, cc, tos, priority, pacing, user-timeout, keepalive, nodelay)");
		return;
	}
	if (p->policy->nr_rules < SUBFLOW_POLICY_MAX_RULES)
		p->policy->rules[p->policy->nr_rules++] = rp.rule;
}

/* ---- mptcpify on|off --------------------------------------------------- */

static void parse_mptcpify_line(struct parser *p)
{
	static const char *const values[] = { "on", "off" };
	const struct token *keyword = &p->tokens[0], *value;

	if (p->mptcpify_line) {
		error_at(p, keyword->col, "'mptcpify' given twice, already set at line %u",
			 p->mptcpify_line);
		return;
	}
	p->mptcpify_line = p->line;
	if (p->nr_tokens < 2) {
		error_missing(p, "'on' or 'off'", "mptcpify");
		return;
	}
	value = &p->tokens[1];
	if (!strcmp(value->text, "on")) {
		p->policy->mptcpify = SUBFLOW_POLICY_MPTCPIFY_ON;
	} else if (!strcmp(value->text, "off")) {
		p->policy->mptcpify = SUBFLOW_POLICY_MPTCPIFY_OFF;
	} else {
		error_unknown_word(p, value, "mptcpify value", "'on' or 'off'", values, ARRAY_SIZE(values));
		return;
	}
	if (p->nr_tokens > 2)
		error_at(p, p->tokens[2].col, "unexpected '%.64s' after 'mptcpify %s', expected end of line",
			 p->tokens[2].text, value->text);
}

/* ---- path-management statements ---------------------------------------- */

/* A path named on an earlier line; its index, or -1 after an error. */
static int statement_path(struct parser *p, const struct token *tok)
{
	const char *names[SUBFLOW_POLICY_MAX_PATHS];
	int index = find_path(p->policy, tok->text);

	if (index >= 0)
		return index;
	for (unsigned int i = 0; i < p->policy->nr_paths; i++)
		names[i] = p->policy->paths[i].name;
	error_unknown_word(p, tok, "path", "the name of a path defined on an earlier line", names,
			   p->policy->nr_paths);
	return -1;
}

/* The word at tokens[i] must be `word`; else an error and false. */
static bool expect_word(struct parser *p, unsigned int i, const char *word, const char *after)
{
	char quoted[32];

	if (i >= p->nr_tokens) {
		snprintf(quoted, sizeof(quoted), "'%s'", word);
		error_missing(p, quoted, after);
		return false;
	}
	if (strcmp(p->tokens[i].text, word)) {
		error_at(p, p->tokens[i].col, "unexpected '%.64s' after '%s', expected '%s'",
			 p->tokens[i].text, after, word);
		return false;
	}
	return true;
}

/* Nothing may follow tokens[i - 1]. */
static bool expect_end(struct parser *p, unsigned int i, const char *after)
{
	if (i >= p->nr_tokens)
		return true;
	error_at(p, p->tokens[i].col, "unexpected '%.64s' after '%s', expected end of line",
		 p->tokens[i].text, after);
	return false;
}

static struct subflow_policy_statement *new_statement(struct parser *p,
						      enum subflow_policy_statement_kind kind)
{
	struct subflow_policy_statement *st;

	if (++p->nr_statement_lines > SUBFLOW_POLICY_MAX_STATEMENTS) {
		error_at(p, p->tokens[0].col, "too many path-management statements, expected at most %d",
			 SUBFLOW_POLICY_MAX_STATEMENTS);
		return NULL;
	}
	st = &p->policy->statements[p->policy->nr_statements];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->path = st->other = st->unless_up = -1;
	st->line = p->line;
	st->col = p->nr_tokens > 1 ? p->tokens[1].col : p->end_col;
	return st;
}

static void commit_statement(struct parser *p)
{
	p->policy->nr_statements++;
}

static bool mode_conflict(struct parser *p, const char *what)
{
	if (!p->mode_line)
		return false;
	error_at(p, p->tokens[0].col, "'%s' cannot be combined with 'mode %s' at line %u: the mode decides which paths to prefer and keep",
		 what, subflow_policy_mode_name(p->policy->mode), p->mode_line);
	return true;
}

/* prefer PATH over PATH [if PATH down] */
static void parse_prefer_line(struct parser *p)
{
	struct subflow_policy_statement *st;
	int path, other, unless = -1;

	if (mode_conflict(p, "prefer"))
		return;
	if (p->nr_tokens < 2) {
		error_missing(p, "a path name", "prefer");
		return;
	}
	path = statement_path(p, &p->tokens[1]);
	if (!expect_word(p, 2, "over", p->tokens[1].text))
		return;
	if (p->nr_tokens < 4) {
		error_missing(p, "a path name", "over");
		return;
	}
	other = statement_path(p, &p->tokens[3]);
	if (p->nr_tokens > 4) {
		if (!expect_word(p, 4, "if", p->tokens[3].text))
			return;
		if (p->nr_tokens < 6) {
			error_missing(p, "a path name", "if");
			return;
		}
		unless = statement_path(p, &p->tokens[5]);
		if (!expect_word(p, 6, "down", p->tokens[5].text) || !expect_end(p, 7, "down"))
			return;
		if (unless < 0)
			return;
	}
	if (path < 0 || other < 0)
		return;
	if (path == other) {
		error_at(p, p->tokens[3].col, "path '%s' preferred over itself, expected another path",
			 p->tokens[3].text);
		return;
	}
	if (unless == path || unless == other) {
		error_at(p, p->tokens[5].col, "'if %s down' names a path of this preference, expected a third path",
			 p->tokens[5].text);
		return;
	}
	for (unsigned int i = 0; i < p->policy->nr_statements; i++) {
		const struct subflow_policy_statement *o = &p->policy->statements[i];

		if (o->kind != SUBFLOW_POLICY_STMT_PREFER || o->unless_up != unless)
			continue;
		if (o->path == other && o->other == path) {
			error_at(p, p->tokens[1].col, "'prefer %s over %s' contradicts 'prefer %s over %s' at line %u",
				 p->tokens[1].text, p->tokens[3].text, p->tokens[3].text,
				 p->tokens[1].text, o->line);
			return;
		}
		if (o->path == path && o->other == other) {
			error_at(p, p->tokens[0].col, "'prefer %s over %s' given twice, already at line %u",
				 p->tokens[1].text, p->tokens[3].text, o->line);
			return;
		}
	}
	st = new_statement(p, SUBFLOW_POLICY_STMT_PREFER);
	if (!st)
		return;
	st->path = path;
	st->other = other;
	st->unless_up = unless;
	if (!p->first_prefer_line)
		p->first_prefer_line = p->line;
	commit_statement(p);
}

/* open PATH after SIZE|DURATION */
static void parse_open_line(struct parser *p)
{
	struct subflow_policy_statement *st;
	const struct token *value;
	uint64_t v;
	bool exact;
	int path, err;

	if (p->nr_tokens < 2) {
		error_missing(p, "a path name", "open");
		return;
	}
	path = statement_path(p, &p->tokens[1]);
	if (!expect_word(p, 2, "after", p->tokens[1].text))
		return;
	if (p->nr_tokens < 4) {
		error_missing(p, "a size (e.g. 1mb) or a duration (e.g. 10s)", "after");
		return;
	}
	value = &p->tokens[3];
	if (!expect_end(p, 4, value->text))
		return;
	st = new_statement(p, SUBFLOW_POLICY_STMT_OPEN);
	if (!st)
		return;
	/* Sizes and durations have distinct units: try sizes first. */
	err = subflow_parse_with_unit(value->text, subflow_size_units, subflow_nr_size_units, &v, &exact);
	if (!err) {
		if (!v) {
			error_at(p, value->col, "'open %s after %s': expected more than 0 bytes",
				 p->tokens[1].text, value->text);
			return;
		}
		st->after_bytes = v;
	} else {
		err = subflow_parse_with_unit(value->text, subflow_duration_units,
					      subflow_nr_duration_units, &v, &exact);
		if (err == -ENOENT || err == -ENODATA || err == -EINVAL) {
			error_at(p, value->col, "invalid size or duration '%.64s', expected e.g. 1mb (%s) or 10s (%s)",
				 value->text, SUBFLOW_SIZE_UNITS_HELP, SUBFLOW_DURATION_UNITS_HELP);
			return;
		}
		if (err || !v || v > UINT32_MAX) {
			error_at(p, value->col, "duration '%.64s' out of range, expected 1ms..49d",
				 value->text);
			return;
		}
		st->after_ms = v;
	}
	if (path < 0)
		return;
	for (unsigned int i = 0; i < p->policy->nr_statements; i++) {
		const struct subflow_policy_statement *o = &p->policy->statements[i];

		if (o->kind == SUBFLOW_POLICY_STMT_OPEN && o->path == path) {
			error_at(p, p->tokens[1].col, "'open %s' given twice, already at line %u",
				 p->tokens[1].text, o->line);
			return;
		}
	}
	st->path = path;
	commit_statement(p);
}

/* keep N subflows */
static void parse_keep_line(struct parser *p)
{
	struct subflow_policy_statement *st;
	uint64_t n;

	if (mode_conflict(p, "keep"))
		return;
	if (p->keep_line) {
		error_at(p, p->tokens[0].col, "'keep' given twice, already at line %u", p->keep_line);
		return;
	}
	p->keep_line = p->line;
	if (p->nr_tokens < 2) {
		error_missing(p, "a number of subflows", "keep");
		return;
	}
	if (parse_number(p, &p->tokens[1], "number of subflows", 1, SUBFLOW_POLICY_MAX_KEEP, &n))
		return;
	if (!expect_word(p, 2, n == 1 ? "subflow" : "subflows", p->tokens[1].text) ||
	    !expect_end(p, 3, p->tokens[2].text))
		return;
	st = new_statement(p, SUBFLOW_POLICY_STMT_KEEP);
	if (!st)
		return;
	st->count = n;
	commit_statement(p);
}

/* announce ADDR [to PREFIX] */
static void parse_announce_line(struct parser *p)
{
	struct subflow_policy_statement *st;
	struct subflow_policy_prefix addr, to = {};

	if (p->nr_tokens < 2) {
		error_missing(p, "an address", "announce");
		return;
	}
	if (parse_prefix(p, &p->tokens[1], "address", &addr))
		return;
	if (addr.len != (addr.family == AF_INET6 ? 128 : 32)) {
		error_at(p, p->tokens[1].col, "'announce %.64s': expected one address, not a prefix",
			 p->tokens[1].text);
		return;
	}
	if (p->nr_tokens > 2) {
		if (!expect_word(p, 2, "to", p->tokens[1].text))
			return;
		if (p->nr_tokens < 4) {
			error_missing(p, "a prefix of peers", "to");
			return;
		}
		if (parse_prefix(p, &p->tokens[3], "prefix", &to) || !expect_end(p, 4, p->tokens[3].text))
			return;
		if (to.family != addr.family) {
			error_at(p, p->tokens[3].col, "'to %.64s' is of another family than %.64s: an address is announced to peers of its family",
				 p->tokens[3].text, p->tokens[1].text);
			return;
		}
	}
	for (unsigned int i = 0; i < p->policy->nr_statements; i++) {
		const struct subflow_policy_statement *o = &p->policy->statements[i];

		if (o->kind == SUBFLOW_POLICY_STMT_ANNOUNCE && !memcmp(&o->addr, &addr, sizeof(addr)) &&
		    !memcmp(&o->to, &to, sizeof(to))) {
			error_at(p, p->tokens[1].col, "'announce %.64s' given twice, already at line %u",
				 p->tokens[1].text, o->line);
			return;
		}
	}
	st = new_statement(p, SUBFLOW_POLICY_STMT_ANNOUNCE);
	if (!st)
		return;
	st->addr = addr;
	st->to = to;
	commit_statement(p);
}

static const char *const mode_names[] = {
	[SUBFLOW_POLICY_MODE_HANDOVER] = "handover",
	[SUBFLOW_POLICY_MODE_INTERACTIVE] = "interactive",
	[SUBFLOW_POLICY_MODE_AGGREGATE] = "aggregate",
};

const char *subflow_policy_mode_name(enum subflow_policy_mode mode)
{
	if ((int)mode <= 0 || mode >= ARRAY_SIZE(mode_names))
		return NULL;
	return mode_names[mode];
}

/* mode handover|interactive|aggregate */
static void parse_mode_line(struct parser *p)
{
	static const char *const values[] = { "handover", "interactive", "aggregate" };
	const struct token *value;

	if (p->mode_line) {
		error_at(p, p->tokens[0].col, "'mode' given twice, already set at line %u", p->mode_line);
		return;
	}
	if (p->first_prefer_line || p->keep_line) {
		error_at(p, p->tokens[0].col, "'mode' cannot be combined with '%s' at line %u: the mode decides which paths to prefer and keep",
			 p->first_prefer_line ? "prefer" : "keep",
			 p->first_prefer_line ? p->first_prefer_line : p->keep_line);
		return;
	}
	p->mode_line = p->line;
	if (p->nr_tokens < 2) {
		error_missing(p, "handover, interactive or aggregate", "mode");
		return;
	}
	value = &p->tokens[1];
	for (unsigned int m = SUBFLOW_POLICY_MODE_HANDOVER; m <= SUBFLOW_POLICY_MODE_AGGREGATE; m++)
		if (!strcmp(value->text, mode_names[m])) {
			if (expect_end(p, 2, value->text))
				p->policy->mode = m;
			return;
		}
	error_unknown_word(p, value, "mode", "handover, interactive or aggregate", values,
			   ARRAY_SIZE(values));
}

/* ack-timeout DURATION */
static void parse_ack_timeout_line(struct parser *p)
{
	const struct token *value;
	uint64_t ms;
	bool exact;

	if (p->ack_timeout_line) {
		error_at(p, p->tokens[0].col, "'ack-timeout' given twice, already set at line %u",
			 p->ack_timeout_line);
		return;
	}
	p->ack_timeout_line = p->line;
	if (p->nr_tokens < 2) {
		error_missing(p, "a duration (e.g. 300ms)", "ack-timeout");
		return;
	}
	value = &p->tokens[1];
	if (parse_duration_ms(p, value, "ack-timeout", &ms, &exact))
		return;
	if (!exact || ms < 10 || ms > 60000) {
		error_at(p, value->col, "ack-timeout '%.64s' out of range, expected a whole number of milliseconds from 10ms to 60s",
			 value->text);
		return;
	}
	if (expect_end(p, 2, value->text))
		p->policy->ack_timeout_ms = ms;
}

/* ---- lines ------------------------------------------------------------- */

/* Split one line into NUL-terminated words in line_buf. Spaces, tabs and
 * the \r of CRLF files separate; `#` starts a comment. Returns -ENOMEM, or
 * 0 (with nr_tokens 0 when the line must be skipped). */
static int split_line(struct parser *p, const char *line, size_t len)
{
	bool in_word = false;
	unsigned char c;
	size_t i;
	char *buf;

	p->nr_tokens = 0;
	p->end_col = 1;
	if (len + 1 > p->line_buf_size) {
		buf = realloc(p->line_buf, len + 1);
		if (!buf)
			return -ENOMEM;
		p->line_buf = buf;
		p->line_buf_size = len + 1;
	}
	buf = p->line_buf;
	memcpy(buf, line, len);
	buf[len] = '\0';

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (c == '#') {
			buf[i] = '\0';
			break;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			buf[i] = '\0';
			in_word = false;
			continue;
		}
		if (c < 0x20 || c >= 0x7f) {
			/* Keeps every message printable; comments may hold anything. */
			error_at(p, i + 1, "invalid character 0x%02x, expected printable ASCII outside comments",
				 c);
			p->nr_tokens = 0;
			return 0;
		}
		if (!in_word) {
			if (p->nr_tokens == MAX_WORDS_PER_LINE) {
				error_at(p, i + 1, "too many words on one line, expected at most %d",
					 MAX_WORDS_PER_LINE);
				p->nr_tokens = 0;
				return 0;
			}
			p->tokens[p->nr_tokens].text = buf + i;
			p->tokens[p->nr_tokens].col = i + 1;
			p->nr_tokens++;
			in_word = true;
		}
		p->end_col = i + 2;
	}
	return 0;
}

static void parse_line(struct parser *p)
{
	static const char *const keywords[] = { "path", "rule", "mptcpify", "prefer", "open",
						"keep", "mode", "announce", "ack-timeout" };
	const char *keyword = p->tokens[0].text;

	if (!strcmp(keyword, "path"))
		parse_path_line(p);
	else if (!strcmp(keyword, "rule"))
		parse_rule_line(p);
	else if (!strcmp(keyword, "mptcpify"))
		parse_mptcpify_line(p);
	else if (!strcmp(keyword, "prefer"))
		parse_prefer_line(p);
	else if (!strcmp(keyword, "open"))
		parse_open_line(p);
	else if (!strcmp(keyword, "keep"))
		parse_keep_line(p);
	else if (!strcmp(keyword, "mode"))
		parse_mode_line(p);
	else if (!strcmp(keyword, "announce"))
		parse_announce_line(p);
	else if (!strcmp(keyword, "ack-timeout"))
		parse_ack_timeout_line(p);
	else
		error_unknown_word(p, &p->tokens[0], "keyword",
				   "'path', 'rule', 'mptcpify', 'prefer', 'open', 'keep', 'mode', 'announce' or 'ack-timeout'",
				   keywords, ARRAY_SIZE(keywords));
}

static int parse_text(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0, line_len;
	const char *eol;
	int err;

	while (pos < len && !p->stopped && !p->fatal) {
		eol = memchr(text + pos, '\n', len - pos);
		line_len = eol ? (size_t)(eol - (text + pos)) : len - pos;
		p->line++;
		err = split_line(p, text + pos, line_len);
		if (err)
			return err;
		if (p->nr_tokens)
			parse_line(p);
		pos += line_len + 1;
	}
	return p->fatal;
}

/* partial: on errors, *out still gets what parsed, so that callers can
 * check the rest (devices of the paths) and report every error at once. */
static int parse_policy(const char *text, size_t len, const char *filename,
			struct subflow_policy *out, struct subflow_policy_errors *errs, bool partial)
{
	struct parser p = {
		.filename = filename ? filename : "<input>",
		.errs = errs,
	};
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!out || (!text && len))
		return -EINVAL;
	p.policy = calloc(1, sizeof(*p.policy));
	if (!p.policy)
		return -ENOMEM;

	err = parse_text(&p, text, len);
	if (!err && p.nr_errors)
		err = -EINVAL;
	if (!err || (partial && err == -EINVAL))
		*out = *p.policy;
	free(p.policy);
	free(p.line_buf);
	return err;
}

int subflow_policy_parse(const char *text, size_t len, const char *filename,
			 struct subflow_policy *out, struct subflow_policy_errors *errs)
{
	return parse_policy(text, len, filename, out, errs, false);
}

int subflow_policy_parse_partial(const char *text, size_t len, const char *filename,
				 struct subflow_policy *out, struct subflow_policy_errors *errs)
{
	return parse_policy(text, len, filename, out, errs, true);
}

/* Not an errno: the file is a FIFO, device or directory. */
#define EFTYPE_POLICY 4096

static int file_error(struct subflow_policy_errors *errs, const char *path, int err)
{
	char msg[128];

	if (errs) {
		if (err == -EFBIG)
			snprintf(msg, sizeof(msg), "file too large, expected at most %d bytes",
				 MAX_POLICY_FILE_SIZE);
		else if (err == -EFTYPE_POLICY)
			snprintf(msg, sizeof(msg), "not a regular file (a FIFO, socket or device): "
				 "a policy is read from a regular file");
		else if (err == -EISDIR)
			snprintf(msg, sizeof(msg), "is a directory, expected a policy file");
		else
			snprintf(msg, sizeof(msg), "cannot read: %s", strerror(-err));
		if (append_error(errs, path, 0, 0, msg))
			return -ENOMEM;
	}
	return err;
}

static int parse_file(const char *path, struct subflow_policy *out,
		      struct subflow_policy_errors *errs, bool partial)
{
	size_t len = 0, n;
	struct stat st;
	char *text;
	FILE *f;
	int fd, err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!path || !out)
		return -EINVAL;
	/* O_NONBLOCK: opening a FIFO with no writer must not hang; then only
	 * a regular file is read. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return file_error(errs, path, -errno);
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return file_error(errs, path, err);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		err = file_error(errs, path, S_ISDIR(st.st_mode) ? -EISDIR : -EFTYPE_POLICY);
		return err == -ENOMEM ? err : -EINVAL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return file_error(errs, path, err);
	}
	/* One byte more than allowed, to tell a full file from a too large one. */
	text = malloc(MAX_POLICY_FILE_SIZE + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	errno = 0;
	while ((n = fread(text + len, 1, MAX_POLICY_FILE_SIZE + 1 - len, f)) > 0)
		len += n;
	if (ferror(f))
		err = file_error(errs, path, errno ? -errno : -EIO);
	else if (len > MAX_POLICY_FILE_SIZE)
		err = file_error(errs, path, -EFBIG);
	else
		err = parse_policy(text, len, path, out, errs, partial);
	fclose(f);
	free(text);
	return err;
}

int subflow_policy_parse_file(const char *path, struct subflow_policy *out,
			      struct subflow_policy_errors *errs)
{
	return parse_file(path, out, errs, false);
}

int subflow_policy_parse_file_partial(const char *path, struct subflow_policy *out,
				      struct subflow_policy_errors *errs)
{
	return parse_file(path, out, errs, true);
}

void subflow_policy_free(struct subflow_policy *policy)
{
	if (policy)
		memset(policy, 0, sizeof(*policy));
}

void subflow_policy_errors_free(struct subflow_policy_errors *errs)
{
	unsigned int i;

	if (!errs)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->items[i].text);
	free(errs->items);
	memset(errs, 0, sizeof(*errs));
}

/* ---- format ------------------------------------------------------------ */

struct text_out {
	char *buf;
	size_t size;
	size_t len;
	bool truncated;
};

__attribute__((format(printf, 2, 3)))
static void out_printf(struct text_out *o, const char *fmt, ...)
{
	size_t room = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + (o->len < o->size ? o->len : o->size), room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		o->truncated = true;
	o->len += n > 0 ? n : 0;
}

static bool string_fits(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int format_prefix(struct text_out *o, const struct subflow_policy_prefix *prefix)
{
	char addr[INET6_ADDRSTRLEN];

	if ((prefix->family != AF_INET && prefix->family != AF_INET6) ||
	    prefix->len > (prefix->family == AF_INET6 ? 128 : 32) ||
	    !inet_ntop(prefix->family, prefix->addr, addr, sizeof(addr)))
		return -EINVAL;
	out_printf(o, " %s/%u", addr, prefix->len);
	return 0;
}

static void format_rate(struct text_out *o, uint64_t bytes_per_second)
{
	static const struct subflow_unit bit_units[] = {
		{ "gbit", 1000000000 }, { "mbit", 1000000 }, { "kbit", 1000 }, { "bit", 1 },
	};
	uint64_t bits = bytes_per_second * 8;
	unsigned int i;

	if (bytes_per_second > UINT64_MAX / 8) {
		out_printf(o, " pacing %llubps", (unsigned long long)bytes_per_second);
		return;
	}
	for (i = 0; bits % bit_units[i].factor; i++)
		;
	out_printf(o, " pacing %llu%s", (unsigned long long)(bits / bit_units[i].factor),
		   bit_units[i].name);
}

/* The largest unit that says it exactly: 1m, not 60000ms. */
static void format_duration_ms(struct text_out *o, uint64_t ms)
{
	int i;

	for (i = subflow_nr_duration_units - 1; i > 0; i--)
		if (ms && ms % subflow_duration_units[i].factor == 0)
			break;
	out_printf(o, " %llu%s", (unsigned long long)(ms / subflow_duration_units[i].factor),
		   subflow_duration_units[i].name);
}

static int format_path(struct text_out *o, const struct subflow_policy_path *path)
{
	const struct subflow_policy_selector *sel;
	unsigned int i;

	if (!string_fits(path->name, sizeof(path->name)) || !path->name[0] ||
	    !path->nr_selectors || path->nr_selectors > SUBFLOW_POLICY_MAX_SELECTORS)
		return -EINVAL;
	out_printf(o, "path %s", path->name);
	for (i = 0; i < path->nr_selectors; i++) {
		sel = &path->selectors[i];
		if (sel->kind == SUBFLOW_POLICY_SEL_DEV && string_fits(sel->dev, sizeof(sel->dev)))
			out_printf(o, " dev %s", sel->dev);
		else if (sel->kind == SUBFLOW_POLICY_SEL_ADDR)
			out_printf(o, " addr");
		else
			return -EINVAL;
		if (sel->kind == SUBFLOW_POLICY_SEL_ADDR && format_prefix(o, &sel->addr))
			return -EINVAL;
	}
	out_printf(o, "\n");
	return 0;
}

static int format_rule(struct text_out *o, const struct subflow_policy *policy,
		       const struct subflow_policy_rule *rule)
{
	out_printf(o, "rule");
	if (rule->path >= (int)policy->nr_paths)
		return -EINVAL;
	if (rule->path >= 0)
		out_printf(o, " path %s", policy->paths[rule->path].name);
	if (rule->dst.family) {
		out_printf(o, " dst");
		if (format_prefix(o, &rule->dst))
			return -EINVAL;
	}
	if (rule->dport_lo == 0 && rule->dport_hi == 65535)
		;	/* any port */
	else if (rule->dport_lo < 1 || rule->dport_lo > rule->dport_hi)
		return -EINVAL;
	else if (rule->dport_lo == rule->dport_hi)
		out_printf(o, " dport %u", rule->dport_lo);
	else
		out_printf(o, " dport %u-%u", rule->dport_lo, rule->dport_hi);
	if (rule->family == AF_INET || rule->family == AF_INET6)
		out_printf(o, " family %s", family_name(rule->family));
	else if (rule->family)
		return -EINVAL;
	if (rule->subflow == SUBFLOW_POLICY_SUBFLOW_INITIAL)
		out_printf(o, " initial");
	else if (rule->subflow == SUBFLOW_POLICY_SUBFLOW_JOIN)
		out_printf(o, " join");

	if (!rule->actions)
		return -EINVAL;
	if (rule->actions & SUBFLOW_POLICY_ACT_VERDICT) {
		if (rule->verdict == SUBFLOW_POLICY_VERDICT_ALLOW)
			out_printf(o, " allow");
		else if (rule->verdict == SUBFLOW_POLICY_VERDICT_DENY)
			out_printf(o, " deny");
		else
			return -EINVAL;
	}
	if (rule->actions & SUBFLOW_POLICY_ACT_MARK)
		out_printf(o, " mark %#x", rule->mark);
	if (rule->actions & SUBFLOW_POLICY_ACT_CC) {
		if (!string_fits(rule->cc, sizeof(rule->cc)))
			return -EINVAL;
		out_printf(o, " cc %s", rule->cc);
	}
	if (rule->actions & SUBFLOW_POLICY_ACT_TOS)
		out_printf(o, " tos %#x", rule->tos);
	if (rule->actions & SUBFLOW_POLICY_ACT_PRIORITY)
		out_printf(o, " priority %u", rule->priority);
	if (rule->actions & SUBFLOW_POLICY_ACT_PACING)
		format_rate(o, rule->pacing_rate);
	if (rule->actions & SUBFLOW_POLICY_ACT_USER_TIMEOUT) {
		out_printf(o, " user-timeout");
		format_duration_ms(o, rule->user_timeout_ms);
	}
	if (rule->actions & SUBFLOW_POLICY_ACT_KEEPALIVE) {
		out_printf(o, " keepalive");
		format_duration_ms(o, rule->keepalive_idle_s * 1000ULL);
		format_duration_ms(o, rule->keepalive_intvl_s * 1000ULL);
		out_printf(o, " %u", rule->keepalive_count);
	}
	if (rule->actions & SUBFLOW_POLICY_ACT_NODELAY)
		out_printf(o, " nodelay");
	out_printf(o, "\n");
	return 0;
}

/* The largest unit that divides it exactly: decimal first, then binary. */
static void format_size(struct text_out *o, uint64_t bytes)
{
	static const char *const order[] = { "gb", "mb", "kb", "gib", "mib", "kib" };

	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		for (size_t u = 0; u < subflow_nr_size_units; u++)
			if (!strcmp(subflow_size_units[u].name, order[i]) &&
			    bytes % subflow_size_units[u].factor == 0) {
				out_printf(o, " %llu%s",
					   (unsigned long long)(bytes / subflow_size_units[u].factor),
					   order[i]);
				return;
			}
	out_printf(o, " %llub", (unsigned long long)bytes);
}

static bool path_index_valid(const struct subflow_policy *policy, int index)
{
	return index >= 0 && index < (int)policy->nr_paths;
}

static int format_statement(struct text_out *o, const struct subflow_policy *policy,
			    const struct subflow_policy_statement *st)
{
	switch (st->kind) {
	case SUBFLOW_POLICY_STMT_PREFER:
		if (!path_index_valid(policy, st->path) || !path_index_valid(policy, st->other) ||
		    (st->unless_up != -1 && !path_index_valid(policy, st->unless_up)))
			return -EINVAL;
		out_printf(o, "prefer %s over %s", policy->paths[st->path].name,
			   policy->paths[st->other].name);
		if (st->unless_up >= 0)
			out_printf(o, " if %s down", policy->paths[st->unless_up].name);
		break;
	case SUBFLOW_POLICY_STMT_OPEN:
		if (!path_index_valid(policy, st->path) || !st->after_bytes == !st->after_ms)
			return -EINVAL;
		out_printf(o, "open %s after", policy->paths[st->path].name);
		if (st->after_bytes)
			format_size(o, st->after_bytes);
		else
			format_duration_ms(o, st->after_ms);
		break;
	case SUBFLOW_POLICY_STMT_KEEP:
		if (!st->count || st->count > SUBFLOW_POLICY_MAX_KEEP)
			return -EINVAL;
		out_printf(o, "keep %u %s", st->count, st->count == 1 ? "subflow" : "subflows");
		break;
	case SUBFLOW_POLICY_STMT_ANNOUNCE:
		out_printf(o, "announce");
		if (st->addr.len != (st->addr.family == AF_INET6 ? 128 : 32) ||
		    format_prefix(o, &st->addr))
			return -EINVAL;
		if (st->to.family) {
			out_printf(o, " to");
			if (st->to.family != st->addr.family || format_prefix(o, &st->to))
				return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	out_printf(o, "\n");
	return 0;
}

int subflow_policy_format(const struct subflow_policy *policy, char *buf, size_t size)
{
	struct text_out o = { .buf = buf, .size = size };
	unsigned int i;
	int err = 0;

	if (!policy || !buf || !size)
		return -EINVAL;
	buf[0] = '\0';
	if (policy->nr_paths > SUBFLOW_POLICY_MAX_PATHS || policy->nr_rules > SUBFLOW_POLICY_MAX_RULES)
		return -EINVAL;
	if (policy->mptcpify == SUBFLOW_POLICY_MPTCPIFY_ON)
		out_printf(&o, "mptcpify on\n");
	else if (policy->mptcpify == SUBFLOW_POLICY_MPTCPIFY_OFF)
		out_printf(&o, "mptcpify off\n");
	else if (policy->mptcpify != SUBFLOW_POLICY_MPTCPIFY_UNSET)
		err = -EINVAL;
	for (i = 0; i < policy->nr_paths && !err; i++)
		err = format_path(&o, &policy->paths[i]);
	for (i = 0; i < policy->nr_rules && !err; i++)
		err = format_rule(&o, policy, &policy->rules[i]);
	if (!err && policy->mode) {
		if (!subflow_policy_mode_name(policy->mode))
			err = -EINVAL;
		else
			out_printf(&o, "mode %s\n", subflow_policy_mode_name(policy->mode));
	}
	if (!err && policy->ack_timeout_ms) {
		out_printf(&o, "ack-timeout");
		format_duration_ms(&o, policy->ack_timeout_ms);
		out_printf(&o, "\n");
	}
	if (policy->nr_statements > SUBFLOW_POLICY_MAX_STATEMENTS)
		err = -EINVAL;
	for (i = 0; i < policy->nr_statements && !err; i++)
		err = format_statement(&o, policy, &policy->statements[i]);
	if (err) {
		buf[0] = '\0';
		return err;
	}
	return o.truncated ? -ENOSPC : 0;
}

/* ---- equality ---------------------------------------------------------- */

static bool prefix_equal(const struct subflow_policy_prefix *a,
			 const struct subflow_policy_prefix *b)
{
	size_t addr_len = a->family == AF_INET6 ? 16 : a->family == AF_INET ? 4 : 0;

	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, addr_len);
}

static bool selector_equal(const struct subflow_policy_selector *a,
			   const struct subflow_policy_selector *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == SUBFLOW_POLICY_SEL_DEV)
		return !strncmp(a->dev, b->dev, sizeof(a->dev));
	return prefix_equal(&a->addr, &b->addr);
}

static bool path_equal(const struct subflow_policy_path *a, const struct subflow_policy_path *b)
{
	unsigned int i;

	if (strncmp(a->name, b->name, sizeof(a->name)) || a->nr_selectors != b->nr_selectors ||
	    a->nr_selectors > SUBFLOW_POLICY_MAX_SELECTORS)
		return false;
	for (i = 0; i < a->nr_selectors; i++)
		if (!selector_equal(&a->selectors[i], &b->selectors[i]))
			return false;
	return true;
}

static bool rule_equal(const struct subflow_policy_rule *a, const struct subflow_policy_rule *b)
{
	return a->path == b->path && prefix_equal(&a->dst, &b->dst) &&
	       a->dport_lo == b->dport_lo && a->dport_hi == b->dport_hi &&
	       a->family == b->family && a->subflow == b->subflow &&
	       a->actions == b->actions && a->verdict == b->verdict && a->mark == b->mark &&
	       !strncmp(a->cc, b->cc, sizeof(a->cc)) && a->tos == b->tos &&
	       a->priority == b->priority && a->pacing_rate == b->pacing_rate &&
	       a->user_timeout_ms == b->user_timeout_ms &&
	       a->keepalive_idle_s == b->keepalive_idle_s &&
	       a->keepalive_intvl_s == b->keepalive_intvl_s &&
	       a->keepalive_count == b->keepalive_count;
}

static bool statement_equal(const struct subflow_policy_statement *a,
			    const struct subflow_policy_statement *b)
{
	return a->kind == b->kind && a->path == b->path && a->other == b->other &&
	       a->unless_up == b->unless_up && a->after_bytes == b->after_bytes &&
	       a->after_ms == b->after_ms && a->count == b->count &&
	       prefix_equal(&a->addr, &b->addr) && prefix_equal(&a->to, &b->to);
}

bool subflow_policy_equal(const struct subflow_policy *a, const struct subflow_policy *b)
{
	unsigned int i;

	if (a->mptcpify != b->mptcpify || a->nr_paths != b->nr_paths ||
	    a->nr_rules != b->nr_rules || a->nr_paths > SUBFLOW_POLICY_MAX_PATHS ||
	    a->nr_rules > SUBFLOW_POLICY_MAX_RULES || a->mode != b->mode ||
	    a->ack_timeout_ms != b->ack_timeout_ms || a->nr_statements != b->nr_statements ||
	    a->nr_statements > SUBFLOW_POLICY_MAX_STATEMENTS)
		return false;
	for (i = 0; i < a->nr_statements; i++)
		if (!statement_equal(&a->statements[i], &b->statements[i]))
			return false;
	for (i = 0; i < a->nr_paths; i++)
		if (!path_equal(&a->paths[i], &b->paths[i]))
			return false;
	for (i = 0; i < a->nr_rules; i++)
		if (!rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}
