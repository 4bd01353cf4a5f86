// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy compiler: struct subflow_policy (the parser's output) to the map
 * layout of include/subflow_abi.h, resolved for the caller's network
 * namespace. A path's `dev` selectors become ifindexes plus a host prefix per
 * address on the device; each path gets the host's addresses on it (neither
 * loopback nor link-local) so that an initial subflow can be bound there.
 * Links and addresses come from one rtnetlink dump each (netlink.c), in the
 * namespace of the calling thread.
 *
 * Like the parser, it reports every error with its place and produces
 * nothing when there is one: a policy is loaded whole or not at all.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "internal.h"
#include "netlink.h"
#include "policy.h"

_Static_assert(SUBFLOW_POLICY_MAX_RULES == SUBFLOW_POLICY_RULES, "parser and ABI rule limits");
_Static_assert(SUBFLOW_POLICY_MAX_PATHS == SUBFLOW_POLICY_PATHS, "parser and ABI path limits");
_Static_assert(SUBFLOW_POLICY_NAME_MAX <= sizeof(((struct subflow_path *)0)->name), "path name");
_Static_assert(SUBFLOW_POLICY_CC_NAME_MAX <= sizeof(((struct subflow_rule *)0)->cc), "cc name");
_Static_assert(SUBFLOW_POLICY_ACT_VERDICT == SUBFLOW_ACT_VERDICT &&
	       SUBFLOW_POLICY_ACT_MARK == SUBFLOW_ACT_MARK &&
	       SUBFLOW_POLICY_ACT_CC == SUBFLOW_ACT_CC &&
	       SUBFLOW_POLICY_ACT_TOS == SUBFLOW_ACT_TOS &&
	       SUBFLOW_POLICY_ACT_PRIORITY == SUBFLOW_ACT_PRIORITY &&
	       SUBFLOW_POLICY_ACT_PACING == SUBFLOW_ACT_PACING &&
	       SUBFLOW_POLICY_ACT_USER_TIMEOUT == SUBFLOW_ACT_USER_TIMEOUT &&
	       SUBFLOW_POLICY_ACT_KEEPALIVE == SUBFLOW_ACT_KEEPALIVE &&
	       SUBFLOW_POLICY_ACT_NODELAY == SUBFLOW_ACT_NODELAY, "action bits");
_Static_assert(SUBFLOW_POLICY_VERDICT_NONE == SUBFLOW_VERDICT_NONE &&
	       SUBFLOW_POLICY_VERDICT_ALLOW == SUBFLOW_VERDICT_ALLOW &&
	       SUBFLOW_POLICY_VERDICT_DENY == SUBFLOW_VERDICT_DENY, "verdicts");
_Static_assert(SUBFLOW_POLICY_MPTCPIFY_ON == SUBFLOW_MPTCPIFY_ON &&
	       SUBFLOW_POLICY_MPTCPIFY_OFF == SUBFLOW_MPTCPIFY_OFF, "mptcpify");
_Static_assert(AF_INET == SUBFLOW_AF_INET && AF_INET6 == SUBFLOW_AF_INET6, "families");

int subflow_policy_add_error(struct subflow_policy_errors *errs, const char *filename,
			     unsigned int line, unsigned int col, const char *fmt, ...)
{
	struct subflow_policy_error *items;
	char *msg, *text;
	va_list ap;
	int n;

	if (!errs)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (line)
		n = asprintf(&text, "%s:%u:%u: error: %s", filename, line, col, msg);
	else
		n = asprintf(&text, "%s: error: %s", filename, msg);
	free(msg);
	if (n < 0)
		return -ENOMEM;
	items = realloc(errs->items, (errs->count + 1) * sizeof(*items));
	if (!items) {
		free(text);
		return -ENOMEM;
	}
	errs->items = items;
	items[errs->count].line = line;
	items[errs->count].col = col;
	items[errs->count].text = text;
	errs->count++;
	return 0;
}

struct compiler {
	const struct subflow_policy *policy;
	const char *filename;
	struct subflow_compiled_policy *out;
	struct subflow_policy_errors *errs;
	struct subflow_host host;	/* links and addresses, in the caller's namespace */
	unsigned int nr_errors;
	int fatal;
};

/* An error about a path, at column `col` of its line (1: the whole path). */
__attribute__((format(printf, 4, 5)))
static void path_error_at(struct compiler *c, const struct subflow_policy_path *path,
			  unsigned int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->nr_errors++;
	err = subflow_policy_add_error(c->errs, c->filename, path->line, col ? col : 1,
				       "path %s: %s", path->name, msg);
	if (err)
		c->fatal = err;
}

#define path_error(c, path, ...) path_error_at(c, path, 1, __VA_ARGS__)

static void vwarning_at(struct compiler *c, unsigned int line, unsigned int col,
			const char *prefix, const char *fmt, va_list ap)
{
	struct subflow_compiled_policy *out = c->out;
	char *warning;
	int len;

	if (out->nr_warnings == SUBFLOW_POLICY_MAX_WARNINGS)
		return;
	warning = out->warnings[out->nr_warnings++];
	len = snprintf(warning, SUBFLOW_POLICY_WARNING_BYTES, "%s:%u:%u: warning: %s",
		       c->filename, line, col, prefix);
	if (len < 0 || len >= SUBFLOW_POLICY_WARNING_BYTES)
		return;
	vsnprintf(warning + len, SUBFLOW_POLICY_WARNING_BYTES - len, fmt, ap);
}

__attribute__((format(printf, 4, 5)))
static void warning_at(struct compiler *c, unsigned int line, unsigned int col,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarning_at(c, line, col, "", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void path_warning(struct compiler *c, const struct subflow_policy_path *path,
			 const char *fmt, ...)
{
	char prefix[SUBFLOW_POLICY_NAME_MAX + 8];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "path %s: ", path->name);
	va_start(ap, fmt);
	vwarning_at(c, path->line, 1, prefix, fmt, ap);
	va_end(ap);
}

/* ---- addresses ----------------------------------------------------------- */

static size_t family_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool prefix_contains(const struct subflow_prefix *prefix, int family, const uint8_t *addr)
{
	unsigned int full = prefix->len / 8, rest = prefix->len % 8;

	if (prefix->family != family)
		return false;
	if (memcmp(prefix->addr, addr, full))
		return false;
	return !rest || !((prefix->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

/* Loopback and link-local addresses cannot carry a subflow to the peer. */
static bool usable_for_bind(const struct compiler *c, const struct subflow_nl_addr *ifa)
{
	const struct subflow_nl_link *link = subflow_host_link_by_index(&c->host, ifa->ifindex);
	const uint8_t *addr = ifa->addr;
	int family = ifa->family;

	if (link && (link->flags & IFF_LOOPBACK))
		return false;
	if (family == AF_INET)
		return addr[0] != 127 && !(addr[0] == 169 && addr[1] == 254);
	return !IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)addr) &&
	       !IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)addr) &&
	       !IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)addr);
}

static bool path_has_prefix(const struct subflow_path *path, int family, const uint8_t *addr,
			    unsigned int len)
{
	for (unsigned int i = 0; i < path->nr_prefixes && i < SUBFLOW_PATH_PREFIXES; i++)
		if (path->prefixes[i].family == family && path->prefixes[i].len == len &&
		    !memcmp(path->prefixes[i].addr, addr, family_addr_len(family)))
			return true;
	return false;
}

/* Counts past the capacity too, so that the error can say how many. */
static void add_prefix(struct subflow_path *path, int family, const uint8_t *addr,
		       unsigned int len)
{
	struct subflow_prefix *prefix;

	if (path_has_prefix(path, family, addr, len))
		return;
	if (path->nr_prefixes < SUBFLOW_PATH_PREFIXES) {
		prefix = &path->prefixes[path->nr_prefixes];
		memset(prefix, 0, sizeof(*prefix));
		memcpy(prefix->addr, addr, family_addr_len(family));
		prefix->family = family;
		prefix->len = len;
	}
	path->nr_prefixes++;
}

/* How many bind addresses a family wanted, beyond the capacity included. */
struct bind_count {
	unsigned int v4, v6;
};

static void add_bind(struct subflow_path *path, struct bind_count *wanted, int family,
		     const uint8_t *addr)
{
	unsigned int i;

	if (family == AF_INET) {
		for (i = 0; i < path->nr_bind4; i++)
			if (!memcmp(&path->bind4[i], addr, 4))
				return;
		wanted->v4++;
		if (path->nr_bind4 < SUBFLOW_PATH_BIND_ADDRS)
			memcpy(&path->bind4[path->nr_bind4++], addr, 4);
	} else {
		for (i = 0; i < path->nr_bind6; i++)
			if (!memcmp(path->bind6[i], addr, 16))
				return;
		wanted->v6++;
		if (path->nr_bind6 < SUBFLOW_PATH_BIND_ADDRS)
			memcpy(path->bind6[path->nr_bind6++], addr, 16);
	}
}

/* ---- paths --------------------------------------------------------------- */

static void compile_dev(struct compiler *c, const struct subflow_policy_path *src,
			const struct subflow_policy_selector *sel, struct subflow_path *path,
			struct bind_count *bind)
{
	const struct subflow_nl_link *link;
	const char *dev = sel->dev;
	unsigned int ifindex, i;

	link = subflow_host_link_by_name(&c->host, dev);
	if (!link) {
		path_error_at(c, src, sel->col, "device '%s' does not exist in this network namespace",
			      dev);
		return;
	}
	ifindex = link->ifindex;
	for (i = 0; i < path->nr_ifindexes && i < SUBFLOW_PATH_IFINDEXES; i++)
		if (path->ifindexes[i] == ifindex)
			return;
	if (path->nr_ifindexes < SUBFLOW_PATH_IFINDEXES)
		path->ifindexes[path->nr_ifindexes] = ifindex;
	path->nr_ifindexes++;

	for (i = 0; i < c->host.nr_addrs; i++) {
		const struct subflow_nl_addr *ifa = &c->host.addrs[i];

		if (ifa->ifindex != (int)ifindex)
			continue;
		add_prefix(path, ifa->family, ifa->addr, ifa->family == AF_INET ? 32 : 128);
		if (usable_for_bind(c, ifa))
			add_bind(path, bind, ifa->family, ifa->addr);
	}
}

static void compile_addr(struct compiler *c, const struct subflow_policy_prefix *sel,
			 struct subflow_path *path, struct bind_count *bind)
{
	struct subflow_prefix prefix = { .family = sel->family, .len = sel->len };

	memcpy(prefix.addr, sel->addr, sizeof(prefix.addr));
	add_prefix(path, sel->family, sel->addr, sel->len);
	for (size_t i = 0; i < c->host.nr_addrs; i++) {
		const struct subflow_nl_addr *ifa = &c->host.addrs[i];

		if (prefix_contains(&prefix, ifa->family, ifa->addr) && usable_for_bind(c, ifa))
			add_bind(path, bind, ifa->family, ifa->addr);
	}
}

static void compile_path(struct compiler *c, unsigned int index)
{
	const struct subflow_policy_path *src = &c->policy->paths[index];
	struct subflow_path *path = &c->out->paths[index];
	struct bind_count bind = {};
	unsigned int i, errors_before = c->nr_errors;

	memset(path, 0, sizeof(*path));
	snprintf(path->name, sizeof(path->name), "%s", src->name);
	for (i = 0; i < src->nr_selectors && i < SUBFLOW_POLICY_MAX_SELECTORS; i++) {
		const struct subflow_policy_selector *sel = &src->selectors[i];

		if (sel->kind == SUBFLOW_POLICY_SEL_DEV)
			compile_dev(c, src, sel, path, &bind);
		else
			compile_addr(c, &sel->addr, path, &bind);
	}
	if (c->nr_errors != errors_before)
		return;	/* a missing device: its counts say nothing */
	if (path->nr_prefixes > SUBFLOW_PATH_PREFIXES)
		path_error(c, src, "%u address prefixes once its devices are resolved, expected at most %d",
			   path->nr_prefixes, SUBFLOW_PATH_PREFIXES);
	if (path->nr_ifindexes > SUBFLOW_PATH_IFINDEXES)
		path_error(c, src, "%u devices, expected at most %d", path->nr_ifindexes,
			   SUBFLOW_PATH_IFINDEXES);
	if (bind.v4 > SUBFLOW_PATH_BIND_ADDRS || bind.v6 > SUBFLOW_PATH_BIND_ADDRS)
		path_warning(c, src, "%u IPv4 and %u IPv6 host addresses are on it; only the first %d of each are used to bind initial subflows",
			     bind.v4, bind.v6, SUBFLOW_PATH_BIND_ADDRS);
}

/* A path with no host address can still match joins; it matters only when a
 * rule denies another path, so that the engine would have to move an initial
 * subflow onto this one. */
static void warn_unbindable_paths(struct compiler *c)
{
	const struct subflow_policy *p = c->policy;
	unsigned int i, j;

	for (i = 0; i < p->nr_paths; i++) {
		const struct subflow_path *path = &c->out->paths[i];
		const struct subflow_policy_rule *deny = NULL;

		if (path->nr_bind4 || path->nr_bind6)
			continue;
		for (j = 0; j < p->nr_rules && !deny; j++) {
			const struct subflow_policy_rule *r = &p->rules[j];

			if ((r->actions & SUBFLOW_POLICY_ACT_VERDICT) &&
			    r->verdict == SUBFLOW_POLICY_VERDICT_DENY && r->path >= 0 &&
			    (unsigned int)r->path != i)
				deny = r;
		}
		if (deny)
			path_warning(c, &p->paths[i],
				     "no address of this host is on it: an initial subflow denied on path %s (line %u) cannot be moved onto it",
				     p->paths[deny->path].name, deny->line);
	}
}

/* ---- rules --------------------------------------------------------------- */

/* A congestion control this kernel does not offer would be refused by
 * bpf_setsockopt() on every subflow, silently leaving the default. */
static void check_rule_cc(struct compiler *c, const struct subflow_policy_rule *r)
{
	char offered[1024];

	if (!(r->actions & SUBFLOW_POLICY_ACT_CC) || subflow_cc_is_offered(r->cc))
		return;
	subflow_cc_offered(offered, sizeof(offered));
	c->nr_errors++;
	if (subflow_policy_add_error(c->errs, c->filename, r->line, r->cc_col ? r->cc_col : 1,
				     "congestion control '%s' is not offered by this kernel; offered: "
				     "%s", r->cc, offered[0] ? offered : "(none listed)"))
		c->fatal = -ENOMEM;
}

static void compile_rule(const struct subflow_policy_rule *src, struct subflow_rule *rule)
{
	memset(rule, 0, sizeof(*rule));
	rule->path = SUBFLOW_NO_PATH;
	if (src->path >= 0) {
		rule->match |= SUBFLOW_MATCH_PATH;
		rule->path = src->path;
	}
	if (src->dst.family) {
		rule->match |= SUBFLOW_MATCH_DST;
		memcpy(rule->dst.addr, src->dst.addr, sizeof(rule->dst.addr));
		rule->dst.family = src->dst.family;
		rule->dst.len = src->dst.len;
	}
	rule->dport_lo = src->dport_lo;
	rule->dport_hi = src->dport_hi;
	if (!(src->dport_lo == 0 && src->dport_hi == 65535))
		rule->match |= SUBFLOW_MATCH_DPORT;
	if (src->family) {
		rule->match |= SUBFLOW_MATCH_FAMILY;
		rule->family = src->family;
	}
	if (src->subflow == SUBFLOW_POLICY_SUBFLOW_INITIAL)
		rule->match |= SUBFLOW_MATCH_INITIAL;
	else if (src->subflow == SUBFLOW_POLICY_SUBFLOW_JOIN)
		rule->match |= SUBFLOW_MATCH_JOIN;

	rule->actions = src->actions;
	rule->verdict = (src->actions & SUBFLOW_POLICY_ACT_VERDICT) ? src->verdict
								     : SUBFLOW_VERDICT_NONE;
	rule->mark = src->mark;
	rule->tos = src->tos;
	rule->priority = src->priority;
	rule->pacing_rate = src->pacing_rate;
	rule->user_timeout_ms = src->user_timeout_ms;
	rule->keepalive_idle = src->keepalive_idle_s;
	rule->keepalive_intvl = src->keepalive_intvl_s;
	rule->keepalive_count = src->keepalive_count;
	memcpy(rule->cc, src->cc, sizeof(src->cc));
	rule->cc[sizeof(rule->cc) - 1] = '\0';
	rule->line = src->line;
}

/* True when a host address is on one of the compiled paths. */
static bool on_some_path(const struct compiler *c, const struct subflow_nl_addr *ifa)
{
	for (unsigned int i = 0; i < c->policy->nr_paths; i++) {
		const struct subflow_path *path = &c->out->paths[i];

		for (unsigned int j = 0; j < path->nr_ifindexes; j++)
			if (path->ifindexes[j] == (unsigned int)ifa->ifindex)
				return true;
		for (unsigned int j = 0; j < path->nr_prefixes; j++)
			if (prefix_contains(&path->prefixes[j], ifa->family, ifa->addr))
				return true;
	}
	return false;
}

/* The host's usable addresses that no path names (meta.unnamed4/6). */
static void collect_unnamed(struct compiler *c)
{
	struct subflow_policy_meta *meta = &c->out->meta;

	for (size_t i = 0; i < c->host.nr_addrs; i++) {
		const struct subflow_nl_addr *ifa = &c->host.addrs[i];

		if (!usable_for_bind(c, ifa) || on_some_path(c, ifa))
			continue;
		if (ifa->family == AF_INET && meta->nr_unnamed4 < SUBFLOW_PATH_BIND_ADDRS)
			memcpy(&meta->unnamed4[meta->nr_unnamed4++], ifa->addr, 4);
		else if (ifa->family == AF_INET6 && meta->nr_unnamed6 < SUBFLOW_PATH_BIND_ADDRS)
			memcpy(meta->unnamed6[meta->nr_unnamed6++], ifa->addr, 16);
	}
}

/* ---- path-management statements ------------------------------------------- */

/* The daemon carries them out; what can be known now is checked now: an
 * announced address must be one of this host's. */
static void check_statement(struct compiler *c, const struct subflow_policy_statement *st)
{
	char addr[INET6_ADDRSTRLEN];
	int err;

	if (st->kind != SUBFLOW_POLICY_STMT_ANNOUNCE ||
	    subflow_host_find_addr(&c->host, st->addr.family, st->addr.addr))
		return;
	inet_ntop(st->addr.family, st->addr.addr, addr, sizeof(addr));
	c->nr_errors++;
	err = subflow_policy_add_error(c->errs, c->filename, st->line, st->col,
				       "announce %s: not an address of this host (network namespace)",
				       addr);
	if (err)
		c->fatal = err;
}

/* ---- entry points -------------------------------------------------------- */

int subflow_policy_compile(const struct subflow_policy *p, const char *filename,
			   struct subflow_compiled_policy *out,
			   struct subflow_policy_errors *errs)
{
	return subflow_policy_compile_host(p, filename, out, errs, NULL);
}

int subflow_policy_compile_host(const struct subflow_policy *p, const char *filename,
				struct subflow_compiled_policy *out,
				struct subflow_policy_errors *errs, const struct subflow_host *host)
{
	struct compiler c = {
		.policy = p,
		.filename = filename ? filename : "<input>",
		.out = out,
		.errs = errs,
	};
	char *text = NULL;
	unsigned int i;
	int err;

	if (errs)
		subflow_policy_errors_free(errs);
	if (!p || !out || p->nr_paths > SUBFLOW_POLICY_PATHS || p->nr_rules > SUBFLOW_POLICY_RULES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));

	text = malloc(SUBFLOW_POLICY_TEXT_MAX);
	if (!text)
		return -ENOMEM;
	err = subflow_policy_format(p, text, SUBFLOW_POLICY_TEXT_MAX);
	if (err) {
		subflow_policy_add_error(errs, c.filename, 0, 0,
					 "cannot print the policy in canonical form: %s",
					 strerror(-err));
		goto out;
	}
	if (strlen(text) >= SUBFLOW_POLICY_TEXT_BYTES) {
		subflow_policy_add_error(errs, c.filename, 0, 0,
					 "policy too large: its canonical form takes %zu bytes, expected at most %d",
					 strlen(text), SUBFLOW_POLICY_TEXT_BYTES - 1);
		err = -EINVAL;
		goto out;
	}
	memcpy(out->text, text, strlen(text) + 1);

	if (host)
		c.host = *host;	/* given (the fuzzer's): not ours to free */
	else if ((p->nr_paths || p->nr_statements) && (err = subflow_host_read(&c.host))) {
		subflow_policy_add_error(errs, c.filename, 0, 0,
					 "cannot list this host's addresses: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < p->nr_paths; i++)
		compile_path(&c, i);
	for (i = 0; i < p->nr_rules; i++) {
		check_rule_cc(&c, &p->rules[i]);
		compile_rule(&p->rules[i], &out->rules[i]);
	}
	for (i = 0; i < p->nr_statements; i++)
		check_statement(&c, &p->statements[i]);
	if (!c.nr_errors) {
		warn_unbindable_paths(&c);
		collect_unnamed(&c);
	}
	if (!p->nr_paths && !p->nr_rules && !p->nr_statements &&
	    p->mptcpify == SUBFLOW_POLICY_MPTCPIFY_UNSET)
		warning_at(&c, 1, 1, "the policy is empty (no path, rule, statement or mptcpify): "
			   "loaded, it changes nothing for the cgroup's subflows");

	for (i = 0; i < p->nr_rules; i++)
		if (out->rules[i].verdict == SUBFLOW_VERDICT_DENY)
			out->meta.flags |= SUBFLOW_POLICY_F_HAS_DENY;
	out->meta.nr_rules = p->nr_rules;
	out->meta.nr_paths = p->nr_paths;
	out->meta.mptcpify = p->mptcpify;
	err = c.fatal ? c.fatal : c.nr_errors ? -EINVAL : 0;
out:
	if (!host)
		subflow_host_free(&c.host);
	free(text);
	return err;
}

static int cmp_error_position(const void *a, const void *b)
{
	const struct subflow_policy_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* The file did not parse: still check the paths that did (their devices),
 * so that one run reports every error, in file order. */
static void add_path_errors(const struct subflow_policy *partial, const char *name,
			    struct subflow_policy_errors *errs)
{
	struct subflow_compiled_policy *scratch;
	struct subflow_policy_errors path_errs = {};
	struct subflow_policy_error *items;
	struct subflow_policy *paths_only;

	if (!errs || errs->too_many)
		return;
	scratch = calloc(1, sizeof(*scratch));
	paths_only = calloc(1, sizeof(*paths_only));
	if (!scratch || !paths_only)
		goto out;
	/* A path the parser kept without a selector has its error already
	 * (and has no canonical form): the others may add device errors. */
	for (unsigned int i = 0; i < partial->nr_paths; i++)
		if (partial->paths[i].nr_selectors)
			paths_only->paths[paths_only->nr_paths++] = partial->paths[i];
	if (subflow_policy_compile(paths_only, name, scratch, &path_errs) != -EINVAL ||
	    !path_errs.count)
		goto out;
	items = realloc(errs->items, (errs->count + path_errs.count) * sizeof(*items));
	if (!items)
		goto out;
	memcpy(items + errs->count, path_errs.items, path_errs.count * sizeof(*items));
	errs->items = items;
	errs->count += path_errs.count;
	path_errs.count = 0;	/* the texts now belong to errs */
	qsort(errs->items, errs->count, sizeof(*items), cmp_error_position);
out:
	subflow_policy_errors_free(&path_errs);
	free(paths_only);
	free(scratch);
}

int subflow_policy_compile_text(const char *text, size_t len, const char *name,
				struct subflow_compiled_policy *out,
				struct subflow_policy *policy,
				struct subflow_policy_errors *errs)
{
	struct subflow_policy *parsed;
	int err;

	parsed = calloc(1, sizeof(*parsed));
	if (!parsed)
		return -ENOMEM;
	err = subflow_policy_parse_partial(text, len, name, parsed, errs);
	if (!err)
		err = subflow_policy_compile(parsed, name, out, errs);
	else if (err == -EINVAL)
		add_path_errors(parsed, name, errs);
	if (!err && policy)
		*policy = *parsed;
	free(parsed);
	return err;
}

int subflow_policy_compile_file(const char *file, struct subflow_compiled_policy *out,
				struct subflow_policy *policy,
				struct subflow_policy_errors *errs)
{
	struct subflow_policy *parsed;
	int err;

	parsed = calloc(1, sizeof(*parsed));
	if (!parsed)
		return -ENOMEM;
	err = subflow_policy_parse_file_partial(file, parsed, errs);
	if (!err)
		err = subflow_policy_compile(parsed, file, out, errs);
	else if (err == -EINVAL)
		add_path_errors(parsed, file, errs);
	if (!err && policy)
		*policy = *parsed;
	free(parsed);
	return err;
}
