// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * subflowctl: command-line front end of the subflow engine, in bpftool /
 * iproute2 grammar: subflowctl [OPTIONS] OBJECT COMMAND [ARGS].
 * Objects and commands may be abbreviated to any unique prefix.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <bpf/libbpf.h>
#include "cli.h"

#define SUBFLOWCTL_VERSION "0.1.0"

const char *bin_name = "subflowctl";
const char *cli_object = "";
bool json_output;
bool pretty_output;
bool all_netns;
json_writer_t *json_wtr;

/* Last error the library logged: JSON mode reports it as {"error": ...},
 * text mode has printed it already and adds nothing. */
static char last_lib_error[1024];
static enum subflow_log_level log_level = SUBFLOW_LOG_WARN;

static bool lib_quiet;	/* drop the library's messages (implicit prune) */

/* The library's messages (subflow_set_print): errors are kept for JSON mode
 * and printed as "Error: ..." in text mode; warnings and, with -d, info and
 * debug lines go to stderr. */
static int cli_print(enum subflow_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	if (lib_quiet)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (level == SUBFLOW_PRINT_ERROR) {
		snprintf(last_lib_error, sizeof(last_lib_error), "%s", msg);
		len = strlen(last_lib_error);
		if (len && last_lib_error[len - 1] == '\n')
			last_lib_error[len - 1] = '\0';
		if (!json_output)
			fprintf(stderr, "Error: %s", msg);
		return 0;
	}
	if ((int)level > (int)log_level)
		return 0;
	fprintf(stderr, "%s%s", level == SUBFLOW_PRINT_WARN ? "Warning: " : "", msg);
	return 0;
}

/* libbpf's own messages (verifier logs included): debug output, with -d. */
static int cli_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (log_level < SUBFLOW_LOG_DEBUG)
		return 0;
	fputs("debug: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

/* JSON mode: a command writes into json_out (memory), printed when it
 * ends without error; an error prints {"error": ...} instead, so stdout is
 * always one JSON value, however much the command had written. */
static FILE *json_out;
static char *json_out_buf;
static size_t json_out_len;
static bool json_error_printed;

void json_flush(void)
{
	/* Drop the writer (no trailing newline when it wrote nothing); print
	 * what the command wrote unless it failed with an error. */
	if (json_wtr)
		jsonw_destroy(&json_wtr);
	if (json_out) {
		fclose(json_out);
		if (!json_error_printed)
			fwrite(json_out_buf, 1, json_out_len, stdout);
		free(json_out_buf);
		json_out = NULL;
	}
	fflush(stdout);
}

void cli_log_at_least(enum subflow_log_level level)
{
	if (level > log_level)
		log_level = level;
}

static void print_error(const char *msg)
{
	if (json_output) {
		json_writer_t *w;

		if (json_error_printed)
			return;	/* the first error is the one */
		json_error_printed = true;
		w = jsonw_new(stdout, pretty_output);

		if (!w)
			return;
		jsonw_start_object(w);
		jsonw_string_field(w, "error", msg);
		jsonw_end_object(w);
		jsonw_destroy(&w);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

static int verror(int status, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t len;

	vsnprintf(msg, sizeof(msg) / 2, fmt, ap);
	/* JSON mode printed nothing of what the library logged: its error,
	 * the precise one, goes with ours. */
	len = strlen(msg);
	if (json_output && last_lib_error[0] && !strstr(msg, last_lib_error))
		snprintf(msg + len, sizeof(msg) - len, ": %s", last_lib_error);
	print_error(msg);
	return status;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(EX_USAGE, fmt, ap);
	va_end(ap);
	return EX_USAGE;
}

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(1, fmt, ap);
	va_end(ap);
	return 1;
}

int fail_errno(int err, const char *what)
{
	if (json_output && last_lib_error[0])
		return fail("%s", last_lib_error);
	if (!json_output && last_lib_error[0])
		return 1;	/* the library already printed why */
	return fail("%s: %s", what, strerror(-err));
}

bool lib_error_logged(void)
{
	return last_lib_error[0] != '\0';
}

int fail_not_loaded(void)
{
	char why[1024];

	subflow_explain_not_loaded(why, sizeof(why));
	return fail("%s", why);
}

bool is_prefix(const char *prefix, const char *word)
{
	return *prefix && !strncmp(prefix, word, strlen(prefix));
}

int cmd_select(const struct cmd *cmds, int argc, char **argv, int (*help)(int, char **))
{
	const struct cmd *match = NULL;

	if (argc < 1) {
		help(argc, argv);
		return usage_error("missing command");
	}
	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name)) {
			match = c;
			break;
		}
		if (is_prefix(argv[0], c->name)) {
			if (match)
				return usage_error("'%s' is ambiguous: %s or %s?", argv[0],
						   match->name, c->name);
			match = c;
		}
	}
	if (!match)
		return usage_error("unknown command '%s'; try '%s%s%s help'", argv[0], bin_name,
				   *cli_object ? " " : "", cli_object);
	return match->func(argc - 1, argv + 1);
}

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %s version\n"
		"\n"
		"OBJECT := { cgroup | subflow | policy | run | daemon | status | unload }\n"
		"  cgroup  { attach CGROUP_PATH [policy FILE] | detach CGROUP_PATH | list | prune }\n"
		"  subflow { list [token TOKEN] [--all-netns] | show token TOKEN id ID |\n"
		"            monitor [count N] [--all-netns] | open token TOKEN local ADDR\n"
		"            remote ADDR port PORT [backup] | close token TOKEN id ID |\n"
		"            set token TOKEN id ID backup on|off | getsockopt ... | setsockopt ... }\n"
		"  policy  { check FILE | load CGROUP_PATH FILE | unload CGROUP_PATH |\n"
		"            show [CGROUP_PATH] | rule CGROUP_PATH { set INDEX | insert INDEX |\n"
		"            append | delete INDEX } [RULE WORDS...] }\n"
		"  run     [--cgroup CGROUP] [--] PROGRAM [ARGS...]: TCP sockets become MPTCP\n"
		"  daemon  the userspace path manager of the namespace (foreground)\n"
		"  status  engine, programs, attachments, maps and kernel features\n"
		"  unload  detach everywhere and remove every pinned object\n"
		"\n"
		"OPTIONS := { -j|--json  -p|--pretty  -d|--debug  -n|--netns NETNS\n"
		"             --pin-dir DIR  --all-netns  -h|--help  -V|--version }\n"
		"  -n NETNS runs the command in network namespace NETNS (a name under\n"
		"  /run/netns or a path), like `ip -n`.\n"
		"  --pin-dir defaults to $%s, else %s\n"
		"  TOKEN is decimal or 0x-hex.\n",
		bin_name, bin_name, SUBFLOW_PIN_DIR_ENV, SUBFLOW_DEFAULT_PIN_DIR);
	return 0;
}

static int do_version(int argc, char **argv)
{
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "version", SUBFLOWCTL_VERSION);
		jsonw_uint_field(json_wtr, "abi_version", SUBFLOW_ABI_VERSION);
		jsonw_end_object(json_wtr);
	} else {
		printf("%s %s (map ABI %d)\n", bin_name, SUBFLOWCTL_VERSION, SUBFLOW_ABI_VERSION);
	}
	return 0;
}

static const struct cmd main_cmds[] = {
	{ "cgroup", do_cgroup },
	{ "subflow", do_subflow },
	{ "policy", do_policy },
	{ "run", do_run },
	{ "status", do_status },
	{ "unload", do_unload },
	{ "daemon", do_daemon },
	{ "version", do_version },
	{ "help", do_help },
	{ 0 },
};

/* -n NETNS, as `ip -n`: only the network namespace changes, so the bpffs
 * pins stay visible (`ip netns exec` remounts /sys and hides them). The
 * command runs in the library's namespace executor: a thread that entered
 * NETNS. */
struct command {
	int argc;
	char **argv;
};

static int run_command(void *arg)
{
	struct command *cmd = arg;
	int status;

	cli_object = "";
	/* Containers remove cgroups without telling us: reap what they left
	 * first, quietly, and only if no change holds the lock right now. */
	lib_quiet = true;
	subflow_cgroup_prune_if_free();
	lib_quiet = false;
	status = cmd_select(main_cmds, cmd->argc, cmd->argv, do_help);
	json_flush();
	return status;
}

static int run_in_netns(const char *name, struct command *cmd)
{
	char path[4096];
	int fd, status;

	fd = subflow_netns_open(name);
	if (fd < 0) {
		subflow_netns_path(name, path, sizeof(path));
		if (fd == -ENOTNAM)
			return usage_error("-n %s: %s is not a network namespace", name, path);
		return usage_error("-n %s: cannot open %s: %s", name, path, strerror(-fd));
	}
	status = subflow_netns_run_fd(fd, run_command, cmd);
	close(fd);
	if (status < 0)
		return fail("-n %s: cannot enter the network namespace: %s", name,
			    strerror(-status));
	return status;
}

/* What getopt refused, named as the user wrote it: an option missing its
 * argument, an ambiguous abbreviation, or an unknown option. */
static int option_error(int opt, const char *arg, const struct option *options)
{
	char matches[256] = "";
	size_t len, n = 0;

	if (opt == ':')
		return usage_error("option '%s' needs an argument (%s); see '%s help'", arg,
				   optopt == 'P' ? "DIR" : "NETNS", bin_name);
	if (optopt)
		return usage_error("unknown option '-%c'; see '%s help'", optopt, bin_name);
	if (!strncmp(arg, "--", 2)) {
		len = strcspn(arg + 2, "=");
		for (const struct option *o = options; o->name; o++) {
			if (strncmp(o->name, arg + 2, len))
				continue;
			snprintf(matches + strlen(matches), sizeof(matches) - strlen(matches),
				 "%s--%s", n++ ? " or " : "", o->name);
		}
		if (n > 1)
			return usage_error("ambiguous option '%s': %s?", arg, matches);
	}
	return usage_error("unknown option '%s'; see '%s help'", arg, bin_name);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "all-netns", no_argument, NULL, 'A' },
		{ "netns", required_argument, NULL, 'n' },
		{ 0 },
	};
	static char *version_argv[] = { "version", NULL };
	struct command cmd;
	const char *pin_dir = NULL, *netns = NULL;
	bool debug = false, version = false;
	int opt, status;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:jpdhVn:", options, NULL)) >= 0) {
		switch (opt) {
		case 'j': json_output = true; break;
		case 'p': json_output = pretty_output = true; break;
		case 'd': debug = true; break;
		case 'h': do_help(0, NULL); return 0;
		case 'V': version = true; break;
		case 'P': pin_dir = optarg; break;
		case 'A': all_netns = true; break;
		case 'n': netns = optarg; break;
		default:
			/* Parse the rest first so JSON mode is known for the error. */
			for (int i = optind; i < argc; i++)
				if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
					json_output = true;
			status = option_error(opt, argv[optind - 1], options);
			do_help(0, NULL);
			return status;
		}
	}
	argc -= optind;
	argv += optind;

	log_level = debug ? SUBFLOW_LOG_DEBUG : SUBFLOW_LOG_WARN;
	subflow_set_print(cli_print);
	/* A program may route libbpf's messages; the library never does. */
	libbpf_set_print(cli_libbpf_print);
	if (pin_dir) {
		int err = subflow_set_pin_dir(pin_dir);

		if (err == -ENAMETOOLONG)
			return usage_error("--pin-dir: '%.64s...' is %zu bytes long, more than %d",
					   pin_dir, strlen(pin_dir), SUBFLOW_PIN_DIR_MAX);
		if (err)
			return usage_error("--pin-dir: '%s' is not an absolute path", pin_dir);
	}

	if (version) {
		argc = 1;
		argv = version_argv;
	}
	if (argc < 1) {
		do_help(0, NULL);
		return usage_error("missing OBJECT");
	}
	if (json_output) {
		json_out = open_memstream(&json_out_buf, &json_out_len);
		json_wtr = json_out ? jsonw_new(json_out, pretty_output) : NULL;
		if (!json_wtr)
			return fail("out of memory");
	}
	cmd = (struct command){ .argc = argc, .argv = argv };
	if (netns)
		return run_in_netns(netns, &cmd);
	return run_command(&cmd);
}
