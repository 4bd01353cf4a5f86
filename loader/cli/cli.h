/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* subflowctl internals: command tables, output mode, error reporting. */
#ifndef SUBFLOW_CLI_H
#define SUBFLOW_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include "cli_json_writer.h"
#include "internal.h"

extern const char *bin_name;
extern bool json_output;
extern bool pretty_output;
extern bool all_netns;
extern json_writer_t *json_wtr;

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
};

/* Run the command of `cmds` that argv[0] names or abbreviates; `help`
 * prints the object's usage. Returns an exit status. */
int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int, char **));
bool is_prefix(const char *prefix, const char *word);

/* Errors: text on stderr, or {"error": "..."} on stdout in JSON mode.
 * usage_error() returns EX_USAGE (64), fail() returns 1. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library error (-errno), using its last logged message if any. */
int fail_errno(int err, const char *what);
/* JSON mode: end the command's output and print it (main() does; a
 * command that exits by itself calls it first). */
void json_flush(void);
/* The library logged an error during this command. */
bool lib_error_logged(void);
/* "the engine is not loaded", with the reason when the pins are hidden. */
int fail_not_loaded(void);

#define NEXT_ARG() ({ argc--; argv++; })
/* The object being run ("cgroup", "subflow"), for usage messages. */
extern const char *cli_object;

int do_cgroup(int argc, char **argv);
int do_subflow(int argc, char **argv);
int do_status(int argc, char **argv);
int do_unload(int argc, char **argv);
int do_policy(int argc, char **argv);
int do_daemon(int argc, char **argv);
/* Show library messages of at least this importance (the daemon: info). */
void cli_log_at_least(enum subflow_log_level level);
int do_run(int argc, char **argv);
/* cli_control.c: status of the namespace's daemon and its control socket
 * (the "daemon" member in JSON, a section in text). */
void cli_status_daemon(void);

/* cli_subflow.c: one subflow, printed as `subflow list` does, with the
 * connection it belongs to (a subflow record does not repeat it). */
struct cli_sf_conn {
	uint64_t netns_cookie;	/* 0: the caller's namespace */
	uint64_t cgroup_id;	/* 0: not known */
	uint32_t token;
};
void cli_json_subflow(const struct subflow_info *sf, const struct cli_sf_conn *conn);
int cli_endpoint_width(const struct subflow_info *sf, size_t n);
void cli_text_subflow_header(int width);
void cli_text_subflow(const struct subflow_info *sf, const struct cli_sf_conn *conn, int width);

/* cli_subflow_ops.c: subflow open | close | set | getsockopt ... info */
int cli_subflow_open(int argc, char **argv);
int cli_subflow_close(int argc, char **argv);
int cli_subflow_set(int argc, char **argv);
int cli_subflow_tcp_info(uint32_t token, uint32_t id);

/* cli_policy.c, also used by `cgroup attach ... policy FILE`. */
struct subflow_policy_errors;
struct subflow_compiled_policy;
/* Parse and compile FILE; NULL when it is not valid, after printing every
 * error, with the exit status in *status. Free the result. */
struct subflow_compiled_policy *compile_policy_file(const char *file, int *status);
/* Print every error (or {"error", "file", "errors"} in JSON mode); returns 1. */
int fail_policy_errors(const char *file, const struct subflow_policy_errors *errs, int err);
void print_policy_warnings(const struct subflow_compiled_policy *c);

#endif
