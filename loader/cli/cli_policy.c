// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl policy { check | load | unload | show | rule } */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include "cli.h"
#include "daemon.h"
#include "policy.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [OPTIONS] policy check FILE\n"
		"       %s [OPTIONS] policy load CGROUP_PATH FILE\n"
		"       %s [OPTIONS] policy unload CGROUP_PATH\n"
		"       %s [OPTIONS] policy show [CGROUP_PATH]\n"
		"       %s [OPTIONS] policy rule CGROUP_PATH { set INDEX | insert INDEX | append |\n"
		"                                          delete INDEX } [RULE WORDS...]\n"
		"\n"
		"  check   parse FILE and resolve its devices in this network namespace;\n"
		"          passes exactly when load would, else prints every error\n"
		"  load    compile FILE and swap it in for the attached cgroup, atomically:\n"
		"          a bad file prints every error and changes nothing\n"
		"  unload  remove the cgroup's policy\n"
		"  show    each policy: its lines, rule hits, paths as resolved (prefixes,\n"
		"          devices, bind addresses, denials), subflows no rule matched\n"
		"  rule    replace, insert or delete one rule (INDEX from 0, as show lists\n"
		"          them), e.g. `policy rule CGROUP set 1 path lte deny`; atomic too\n"
		"\n"
		"  `%s cgroup attach CGROUP_PATH policy FILE` attaches and loads at once.\n"
		"  The policy language: include/subflow_policy.h, examples in policies/.\n",
		bin_name, bin_name, bin_name, bin_name, bin_name, bin_name);
	return 0;
}

/* ---- errors and warnings ------------------------------------------------- */

/* "FILE:1:2: error: MSG" -> "MSG" */
static const char *error_message(const struct subflow_policy_error *e)
{
	const char *msg = strstr(e->text, ": error: ");

	return msg ? msg + strlen(": error: ") : e->text;
}

static void json_errors(const struct subflow_policy_errors *errs)
{
	jsonw_name(json_wtr, "errors");
	jsonw_start_array(json_wtr);
	for (unsigned int i = 0; i < errs->count; i++) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "line", errs->items[i].line);
		jsonw_uint_field(json_wtr, "col", errs->items[i].col);
		jsonw_string_field(json_wtr, "message", error_message(&errs->items[i]));
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
}

static void json_warnings(const struct subflow_compiled_policy *c)
{
	jsonw_name(json_wtr, "warnings");
	jsonw_start_array(json_wtr);
	for (unsigned int i = 0; c && i < c->nr_warnings; i++)
		jsonw_string(json_wtr, c->warnings[i]);
	jsonw_end_array(json_wtr);
}

void print_policy_warnings(const struct subflow_compiled_policy *c)
{
	for (unsigned int i = 0; i < c->nr_warnings; i++)
		fprintf(stderr, "%s\n", c->warnings[i]);
}

/* A policy that did not parse or compile: every error, then exit 1. In JSON
 * mode stdout is {"error": ..., "file": ..., "errors": [...]}. */
int fail_policy_errors(const char *file, const struct subflow_policy_errors *errs, int err)
{
	if (!errs->count)
		return fail_errno(err, file);
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "error", "invalid policy");
		jsonw_string_field(json_wtr, "file", file);
		json_errors(errs);
		jsonw_end_object(json_wtr);
		return 1;
	}
	for (unsigned int i = 0; i < errs->count; i++)
		fprintf(stderr, "%s\n", errs->items[i].text);
	return 1;
}

/* Parse and compile FILE; on failure the errors are printed and *status is
 * the exit status. */
struct subflow_compiled_policy *compile_policy_file(const char *file, int *status)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c) {
		*status = fail("out of memory");
		return NULL;
	}
	err = subflow_policy_compile_file(file, c, NULL, &errs);
	if (err) {
		*status = fail_policy_errors(file, &errs, err);
		subflow_policy_errors_free(&errs);
		free(c);
		return NULL;
	}
	subflow_policy_errors_free(&errs);
	if (!json_output)
		print_policy_warnings(c);
	*status = 0;
	return c;
}

/* ---- check / load / unload ----------------------------------------------- */

/* Path-management lines of a compiled policy: those of its canonical text
 * after the mptcpify, path and rule lines. */
static unsigned int pm_line_count(const struct subflow_compiled_policy *c)
{
	unsigned int lines = 0, before;

	for (const char *t = c->text; *t; t++)
		lines += *t == '\n';
	before = (c->meta.mptcpify != SUBFLOW_MPTCPIFY_UNSET) + c->meta.nr_paths + c->meta.nr_rules;
	return lines > before ? lines - before : 0;
}

static int do_check(int argc, char **argv)
{
	struct subflow_policy_errors errs = {};
	struct subflow_compiled_policy *c;
	const char *file;
	int err;

	if (argc < 1)
		return usage_error("'policy check' needs FILE; see '%s policy help'", bin_name);
	if (argc > 1)
		return usage_error("'policy check': unexpected argument '%s'", argv[1]);
	file = argv[0];
	c = calloc(1, sizeof(*c));
	if (!c)
		return fail("out of memory");
	err = subflow_policy_compile_file(file, c, NULL, &errs);
	if (err && !errs.count) {
		free(c);
		return fail_errno(err, file);
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "file", file);
		jsonw_bool_field(json_wtr, "valid", !err);
		if (err) {
			json_errors(&errs);
		} else {
			jsonw_uint_field(json_wtr, "paths", c->meta.nr_paths);
			jsonw_uint_field(json_wtr, "rules", c->meta.nr_rules);
			jsonw_uint_field(json_wtr, "path_management", pm_line_count(c));
			json_warnings(c);
		}
		jsonw_end_object(json_wtr);
	} else if (err) {
		for (unsigned int i = 0; i < errs.count; i++)
			fprintf(stderr, "%s\n", errs.items[i].text);
	} else {
		print_policy_warnings(c);
		printf("%s: ok (%u path%s, %u rule%s, %u path-management line%s)\n", file,
		       c->meta.nr_paths, c->meta.nr_paths == 1 ? "" : "s", c->meta.nr_rules,
		       c->meta.nr_rules == 1 ? "" : "s", pm_line_count(c), pm_line_count(c) == 1 ? "" : "s");
	}
	subflow_policy_errors_free(&errs);
	free(c);
	return err ? 1 : 0;
}

/* {"cgroup", "cgroup_id", "slot", "generation", "paths", "rules"} of the
 * policy now in force, for JSON replies to changes. */
static int json_installed(const char *cgroup_path, uint64_t cgroup_id)
{
	struct subflow_policy_state *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	err = subflow_policy_read(cgroup_id, st);
	if (!err) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "cgroup", cgroup_path);
		jsonw_uint_field(json_wtr, "cgroup_id", cgroup_id);
		jsonw_uint_field(json_wtr, "generation", st->meta.generation);
		jsonw_uint_field(json_wtr, "paths", st->meta.nr_paths);
		jsonw_uint_field(json_wtr, "rules", st->meta.nr_rules);
		jsonw_end_object(json_wtr);
	}
	free(st);
	return err;
}

static int do_load(int argc, char **argv)
{
	struct subflow_cgroup_policy installed;
	struct subflow_compiled_policy *c;
	uint64_t cgroup_id;
	int status, err;

	if (argc < 2)
		return usage_error("'policy load' needs CGROUP_PATH FILE; see '%s policy help'",
				   bin_name);
	if (argc > 2)
		return usage_error("'policy load': unexpected argument '%s'", argv[2]);
	err = subflow_cgroup_id_of(argv[0], &cgroup_id);
	if (!err)
		err = subflow_policy_require_attached(cgroup_id);
	if (err)
		return fail_errno(err, "policy load");
	c = compile_policy_file(argv[1], &status);
	if (!c)
		return status;
	err = subflow_policy_install(cgroup_id, c, &installed);
	if (!err)
		guard_notify_daemons();	/* path managers re-read the policies now */
	if (!err && json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "cgroup", argv[0]);
		jsonw_uint_field(json_wtr, "cgroup_id", cgroup_id);
		jsonw_uint_field(json_wtr, "generation", installed.generation);
		jsonw_uint_field(json_wtr, "paths", c->meta.nr_paths);
		jsonw_uint_field(json_wtr, "rules", c->meta.nr_rules);
		json_warnings(c);
		jsonw_end_object(json_wtr);
	}
	free(c);
	return err ? fail_errno(err, "policy load") : 0;
}

static int do_unload_policy(int argc, char **argv)
{
	int err;

	if (argc < 1)
		return usage_error("'policy unload' needs CGROUP_PATH; see '%s policy help'",
				   bin_name);
	if (argc > 1)
		return usage_error("'policy unload': unexpected argument '%s'", argv[1]);
	err = subflow_policy_unload(argv[0]);
	if (err)
		return fail_errno(err, "policy unload");
	guard_notify_daemons();
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "cgroup", argv[0]);
		jsonw_bool_field(json_wtr, "unloaded", true);
		jsonw_end_object(json_wtr);
	}
	return 0;
}

/* ---- show ---------------------------------------------------------------- */

static const char *mptcpify_name(uint32_t v)
{
	return v == SUBFLOW_MPTCPIFY_ON ? "on" : v == SUBFLOW_MPTCPIFY_OFF ? "off" : "unset";
}

static const char *verdict_name(uint32_t v)
{
	return v == SUBFLOW_VERDICT_ALLOW ? "allow" : v == SUBFLOW_VERDICT_DENY ? "deny" : "none";
}

static void prefix_str(const struct subflow_prefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->family == SUBFLOW_AF_INET6 ? AF_INET6 : AF_INET, p->addr, addr, sizeof(addr));
	snprintf(buf, size, "%s/%u", addr, p->len);
}

/* The name of the path's device number `j`: its `dev` selector. An ifindex
 * means something only in the namespace the policy was loaded from, which
 * may not be the caller's, so it is not looked up here. */
static void device_str(const struct subflow_policy *parsed, unsigned int path, unsigned int j,
		       uint32_t ifindex, char *buf, size_t size)
{
	const struct subflow_policy_path *p;
	unsigned int i, n = 0;

	if (parsed && path < parsed->nr_paths) {
		p = &parsed->paths[path];
		for (i = 0; i < p->nr_selectors; i++) {
			if (p->selectors[i].kind != SUBFLOW_POLICY_SEL_DEV)
				continue;
			if (n++ == j) {
				snprintf(buf, size, "%s", p->selectors[i].dev);
				return;
			}
		}
	}
	snprintf(buf, size, "#%u", ifindex);
}

/* The canonical text, one line per mptcpify, path and rule, then the
 * path-management lines (mode, ack-timeout, statements), in that order
 * (subflow_policy_format): lines[] points into text, which is modified. */
struct text_lines {
	char *line[1 + SUBFLOW_POLICY_PATHS + SUBFLOW_POLICY_RULES + 2 + SUBFLOW_POLICY_MAX_STATEMENTS];
	unsigned int count;
	unsigned int first_path, first_rule;
	bool usable;
};

static void split_text(char *text, const struct subflow_policy_meta *meta, struct text_lines *tl)
{
	char *s = text, *nl;

	memset(tl, 0, sizeof(*tl));
	while (*s && tl->count < sizeof(tl->line) / sizeof(tl->line[0])) {
		tl->line[tl->count++] = s;
		nl = strchr(s, '\n');
		if (!nl)
			break;
		*nl = '\0';
		s = nl + 1;
	}
	tl->first_path = meta->mptcpify != SUBFLOW_MPTCPIFY_UNSET;
	tl->first_rule = tl->first_path + meta->nr_paths;
	tl->usable = tl->count >= tl->first_rule + meta->nr_rules;
}

/* The path-management lines: those after the rules. */
static unsigned int pm_lines(const struct text_lines *tl, const struct subflow_policy_meta *meta)
{
	return tl->usable ? tl->count - (tl->first_rule + meta->nr_rules) : 0;
}

static const char *pm_line(const struct text_lines *tl, const struct subflow_policy_meta *meta,
			   unsigned int i)
{
	return tl->line[tl->first_rule + meta->nr_rules + i];
}

static const char *path_line(const struct text_lines *tl, unsigned int i)
{
	return tl->usable ? tl->line[tl->first_path + i] : "";
}

static const char *rule_line(const struct text_lines *tl, unsigned int i)
{
	return tl->usable ? tl->line[tl->first_rule + i] : "";
}

static void bind_addrs(const struct subflow_path *p, char out[][INET6_ADDRSTRLEN],
		       unsigned int *n)
{
	*n = 0;
	for (unsigned int i = 0; i < p->nr_bind4 && i < SUBFLOW_PATH_BIND_ADDRS; i++)
		inet_ntop(AF_INET, &p->bind4[i], out[(*n)++], INET6_ADDRSTRLEN);
	for (unsigned int i = 0; i < p->nr_bind6 && i < SUBFLOW_PATH_BIND_ADDRS; i++)
		inet_ntop(AF_INET6, p->bind6[i], out[(*n)++], INET6_ADDRSTRLEN);
}

static void show_json(const char *cgroup, struct subflow_policy_state *st,
		      const struct text_lines *tl, const char *text,
		      const struct subflow_policy *parsed)
{
	char buf[64], binds[2 * SUBFLOW_PATH_BIND_ADDRS][INET6_ADDRSTRLEN];
	unsigned int i, j, n;

	jsonw_start_object(json_wtr);
	jsonw_string_field(json_wtr, "cgroup", cgroup);
	jsonw_uint_field(json_wtr, "cgroup_id", st->cgroup_id);
	jsonw_uint_field(json_wtr, "generation", st->meta.generation);
	jsonw_uint_field(json_wtr, "loaded_ns", st->meta.loaded_ns);
	jsonw_string_field(json_wtr, "mptcpify", mptcpify_name(st->meta.mptcpify));
	jsonw_name(json_wtr, "paths");
	jsonw_start_array(json_wtr);
	for (i = 0; i < st->meta.nr_paths && i < SUBFLOW_POLICY_PATHS; i++) {
		const struct subflow_path *p = &st->paths[i];

		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "index", i);
		jsonw_string_field(json_wtr, "name", p->name);
		jsonw_string_field(json_wtr, "text", path_line(tl, i));
		jsonw_name(json_wtr, "prefixes");
		jsonw_start_array(json_wtr);
		for (j = 0; j < p->nr_prefixes && j < SUBFLOW_PATH_PREFIXES; j++) {
			prefix_str(&p->prefixes[j], buf, sizeof(buf));
			jsonw_string(json_wtr, buf);
		}
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "ifindexes");
		jsonw_start_array(json_wtr);
		for (j = 0; j < p->nr_ifindexes && j < SUBFLOW_PATH_IFINDEXES; j++)
			jsonw_uint(json_wtr, p->ifindexes[j]);
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "devices");
		jsonw_start_array(json_wtr);
		for (j = 0; j < p->nr_ifindexes && j < SUBFLOW_PATH_IFINDEXES; j++) {
			device_str(parsed, i, j, p->ifindexes[j], buf, sizeof(buf));
			jsonw_string(json_wtr, buf);
		}
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "bind");
		jsonw_start_array(json_wtr);
		bind_addrs(p, binds, &n);
		for (j = 0; j < n; j++)
			jsonw_string(json_wtr, binds[j]);
		jsonw_end_array(json_wtr);
		jsonw_uint_field(json_wtr, "denials", st->path_denials[i]);
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
	jsonw_name(json_wtr, "rules");
	jsonw_start_array(json_wtr);
	for (i = 0; i < st->meta.nr_rules && i < SUBFLOW_POLICY_RULES; i++) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "index", i);
		jsonw_uint_field(json_wtr, "line", st->rules[i].line);
		jsonw_string_field(json_wtr, "text", rule_line(tl, i));
		jsonw_uint_field(json_wtr, "hits", st->rule_hits[i]);
		jsonw_string_field(json_wtr, "verdict", verdict_name(st->rules[i].verdict));
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
	jsonw_uint_field(json_wtr, "no_match", st->no_match);
	/* Carried out by `subflowctl daemon`, not by the BPF programs. */
	jsonw_name(json_wtr, "path_management");
	jsonw_start_array(json_wtr);
	for (unsigned int i = 0; i < pm_lines(tl, &st->meta); i++)
		jsonw_string(json_wtr, pm_line(tl, &st->meta, i));
	jsonw_end_array(json_wtr);
	jsonw_string_field(json_wtr, "text", text);
	jsonw_end_object(json_wtr);
}

static void loaded_str(uint64_t loaded_ns, char *buf, size_t size)
{
	struct timespec boot, real;
	uint64_t boot_ns, age_ns;
	time_t when;
	struct tm tm;
	char date[32];

	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	boot_ns = (uint64_t)boot.tv_sec * 1000000000ULL + boot.tv_nsec;
	age_ns = boot_ns > loaded_ns ? boot_ns - loaded_ns : 0;
	when = real.tv_sec - (time_t)((uint64_t)(age_ns / 1000000000));
	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	if (age_ns < 120 * 1000000000ULL)
		snprintf(buf, size, "%s (%" PRIu64 "s ago)", date, (uint64_t)(age_ns / 1000000000));
	else if (age_ns < 7200 * 1000000000ULL)
		snprintf(buf, size, "%s (%" PRIu64 "min ago)", date, (uint64_t)(age_ns / 60000000000));
	else
		snprintf(buf, size, "%s (%" PRIu64 "h ago)", date, (uint64_t)(age_ns / 3600000000000));
}

static void show_text(const char *cgroup, struct subflow_policy_state *st,
		      const struct text_lines *tl, const struct subflow_policy *parsed)
{
	char buf[64], when[64], binds[2 * SUBFLOW_PATH_BIND_ADDRS][INET6_ADDRSTRLEN];
	unsigned int i, j, n;

	loaded_str(st->meta.loaded_ns, when, sizeof(when));
	printf("cgroup %s  id %" PRIu64 "  generation %" PRIu64 "  loaded %s\n",
	       cgroup, st->cgroup_id, (uint64_t)st->meta.generation, when);
	if (st->meta.mptcpify != SUBFLOW_MPTCPIFY_UNSET)
		printf("  mptcpify %s\n", mptcpify_name(st->meta.mptcpify));
	for (i = 0; i < st->meta.nr_paths && i < SUBFLOW_POLICY_PATHS; i++) {
		const struct subflow_path *p = &st->paths[i];

		printf("  %s\n", tl->usable ? path_line(tl, i) : p->name);
		printf("      prefixes");
		for (j = 0; j < p->nr_prefixes && j < SUBFLOW_PATH_PREFIXES; j++) {
			prefix_str(&p->prefixes[j], buf, sizeof(buf));
			printf(" %s", buf);
		}
		if (!p->nr_prefixes)
			printf(" -");
		printf("  devices");
		for (j = 0; j < p->nr_ifindexes && j < SUBFLOW_PATH_IFINDEXES; j++) {
			device_str(parsed, i, j, p->ifindexes[j], buf, sizeof(buf));
			printf(" %s(%u)", buf, p->ifindexes[j]);
		}
		if (!p->nr_ifindexes)
			printf(" -");
		printf("  bind");
		bind_addrs(p, binds, &n);
		for (j = 0; j < n; j++)
			printf(" %s", binds[j]);
		if (!n)
			printf(" -");
		printf("  denied %" PRIu64 "\n", st->path_denials[i]);
	}
	if (st->meta.nr_rules) {
		printf("  %-4s  %-5s  %10s  %s\n", "RULE", "LINE", "HITS", "TEXT");
		for (i = 0; i < st->meta.nr_rules && i < SUBFLOW_POLICY_RULES; i++)
			printf("  %-4u  %-5u  %10" PRIu64 "  %s\n", i, st->rules[i].line,
			       st->rule_hits[i], rule_line(tl, i));
	} else {
		printf("  no rules\n");
	}
	printf("  no rule matched: %" PRIu64 " subflow%s\n", st->no_match,
	       st->no_match == 1 ? "" : "s");
	if (pm_lines(tl, &st->meta)) {
		printf("  path management (subflowctl daemon):\n");
		for (i = 0; i < pm_lines(tl, &st->meta); i++)
			printf("    %s\n", pm_line(tl, &st->meta, i));
	}
}

static int show_one(uint64_t cgroup_id, const char *cgroup_path, bool first)
{
	struct subflow_policy_state *st;
	struct text_lines tl;
	struct subflow_policy *parsed = NULL;
	char path[PATH_MAX], *text = NULL;
	int err;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	err = subflow_policy_read(cgroup_id, st);
	if (err)
		goto out;
	if (!cgroup_path) {
		if (subflow_cgroup_path_of(cgroup_id, path, sizeof(path)))
			snprintf(path, sizeof(path), "(removed)");
		cgroup_path = path;
	}
	text = strdup(st->text);
	parsed = calloc(1, sizeof(*parsed));
	if (!text || !parsed) {
		err = -ENOMEM;
		goto out;
	}
	if (subflow_policy_parse(text, strlen(text), NULL, parsed, NULL)) {
		free(parsed);
		parsed = NULL;
	}
	split_text(st->text, &st->meta, &tl);
	if (json_output) {
		show_json(cgroup_path, st, &tl, text, parsed);
	} else {
		if (!first)
			printf("\n");
		show_text(cgroup_path, st, &tl, parsed);
	}
out:
	free(parsed);
	free(text);
	free(st);
	return err;
}

static int do_show(int argc, char **argv)
{
	uint64_t cgroup_id, *ids = NULL;
	size_t n, i;
	int err;

	if (argc > 1)
		return usage_error("'policy show': unexpected argument '%s'", argv[1]);
	if (argc == 1) {
		err = subflow_cgroup_id_of(argv[0], &cgroup_id);
		if (err)
			return fail_errno(err, argv[0]);
	}
	if (!subflow_engine_loaded())
		return fail_not_loaded();

	if (argc == 1) {
		if (json_output)
			jsonw_start_array(json_wtr);
		err = show_one(cgroup_id, argv[0], true);
		if (err == -ENOENT)
			return fail("cgroup %s has no policy", argv[0]);
		if (err)
			return fail("cannot read the policy of %s: %s", argv[0], strerror(-err));
		if (json_output)
			jsonw_end_array(json_wtr);
		return 0;
	}

	err = subflow_policy_list_all(&ids, &n);
	if (err)
		return fail("cannot list policies: %s", strerror(-err));
	if (json_output)
		jsonw_start_array(json_wtr);
	else if (!n)
		printf("no policy loaded\n");
	for (i = 0; i < n; i++) {
		err = show_one(ids[i], NULL, i == 0);
		if (err == -ENOENT)
			continue;	/* unloaded meanwhile */
		if (err) {
			uint64_t id = ids[i];

			free(ids);
			return fail("cannot read the policy of cgroup %" PRIu64 ": %s", id,
				    strerror(-err));
		}
	}
	if (json_output)
		jsonw_end_array(json_wtr);
	free(ids);
	return 0;
}

/* ---- rule ---------------------------------------------------------------- */

static int parse_index(const char *s, unsigned int *index)
{
	uint32_t v;

	if (subflow_parse_u32(s, &v) || v >= SUBFLOW_POLICY_RULES)
		return usage_error("'%s' is not a rule index, expected 0-%d", s,
				   SUBFLOW_POLICY_RULES - 1);
	*index = v;
	return 0;
}

static char *join_words(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* Errors in the rule words: each with the rule and a caret under its place. */
static int fail_rule_errors(const char *rule, const struct subflow_policy_errors *errs, int err)
{
	if (json_output || !errs->count)
		return fail_policy_errors("rule", errs, err);
	for (unsigned int i = 0; i < errs->count; i++) {
		fprintf(stderr, "%s\n    %s\n", errs->items[i].text, rule);
		if (errs->items[i].col)
			fprintf(stderr, "    %*s^\n", (int)errs->items[i].col - 1, "");
	}
	return 1;
}

static int do_rule(int argc, char **argv)
{
	static const char *const verbs[] = { "set", "insert", "append", "delete" };
	struct subflow_policy_errors errs = {};
	const char *cgroup_path, *verb = NULL;
	unsigned int index = 0;
	uint64_t cgroup_id;
	char *rule = NULL;
	int err, status;

	if (argc < 2)
		return usage_error("'policy rule' needs CGROUP_PATH and one of set INDEX, insert INDEX, append, delete INDEX; see '%s policy help'",
				   bin_name);
	cgroup_path = argv[0];
	NEXT_ARG();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!is_prefix(argv[0], verbs[i]))
			continue;
		if (verb)
			return usage_error("'%s' is ambiguous: %s or %s?", argv[0], verb, verbs[i]);
		verb = verbs[i];
	}
	if (!verb)
		return usage_error("unknown rule command '%s', expected set, insert, append or delete",
				   argv[0]);
	NEXT_ARG();
	if (strcmp(verb, "append")) {
		if (argc < 1)
			return usage_error("'policy rule %s' needs INDEX", verb);
		status = parse_index(argv[0], &index);
		if (status)
			return status;
		NEXT_ARG();
	}
	if (!strcmp(verb, "delete")) {
		if (argc > 0)
			return usage_error("'policy rule delete': unexpected argument '%s'", argv[0]);
	} else if (argc < 1) {
		return usage_error("'policy rule %s' needs the rule's words, e.g. 'path lte deny'",
				   verb);
	}
	err = subflow_cgroup_id_of(cgroup_path, &cgroup_id);
	if (err)
		return fail_errno(err, cgroup_path);

	if (!strcmp(verb, "delete")) {
		err = subflow_policy_delete_rule(cgroup_path, index);
	} else {
		rule = join_words(argc, argv);
		if (!rule)
			return fail("out of memory");
		if (!strcmp(verb, "set"))
			err = subflow_policy_set_rule(cgroup_path, index, rule, &errs);
		else if (!strcmp(verb, "insert"))
			err = subflow_policy_insert_rule(cgroup_path, index, rule, &errs);
		else
			err = subflow_policy_insert_rule(cgroup_path, SUBFLOW_POLICY_APPEND, rule,
							 &errs);
	}
	if (err == -EINVAL && errs.count) {
		status = fail_rule_errors(rule, &errs, err);
		goto out;
	}
	status = err ? fail_errno(err, "policy rule") : 0;
	if (!err)
		guard_notify_daemons();
	if (!err && json_output && json_installed(cgroup_path, cgroup_id))
		status = fail("rule changed, but cannot read the policy back");
out:
	subflow_policy_errors_free(&errs);
	free(rule);
	return status;
}

int do_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "check", do_check },
		{ "load", do_load },
		{ "unload", do_unload_policy },
		{ "show", do_show },
		{ "list", do_show },
		{ "rule", do_rule },
		{ "help", do_help },
		{ 0 },
	};

	cli_object = "policy";
	if (argc < 1) {
		do_help(0, NULL);
		return usage_error("'policy' needs a command");
	}
	return cmd_select(cmds, argc, argv, do_help);
}
