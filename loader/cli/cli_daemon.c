// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl [-n NETNS] daemon: the userspace path manager of one network
 * namespace, in the foreground (loader/daemon/). */
#include "cli.h"
#include "daemon.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [-n NETNS] [-j] [-d] daemon\n"
		"\n"
		"  Runs in the foreground as the userspace path manager of the network\n"
		"  namespace (the caller's, or NETNS): switches net.mptcp.path_manager to\n"
		"  \"userspace\" (restored at exit; connections opened before keep their path\n"
		"  manager) and carries out the path-management statements (prefer, open,\n"
		"  keep, mode, announce) of the policies of the attached cgroups for their\n"
		"  connections. Each decision is printed (one JSON object per line with -j)\n"
		"  and shown by `subflowctl subflow monitor`. SIGHUP reloads the policies\n"
		"  (so does `subflowctl policy load`); SIGTERM and SIGINT stop it and leave\n"
		"  every connection as it is. It refuses to start when another daemon or\n"
		"  another userspace path manager (mptcpd) runs in the namespace.\n",
		bin_name);
	return 0;
}

int do_daemon(int argc, char **argv)
{
	struct daemon_options opt = { .json = json_output };
	int err;

	cli_object = "daemon";
	if (argc > 0 && is_prefix(argv[0], "help"))
		return do_help(argc, argv);
	if (argc > 0) {
		do_help(0, NULL);
		return usage_error("'daemon': unexpected argument '%s'", argv[0]);
	}
	/* Decisions are lines, not one JSON value: stdout is the log. */
	if (json_wtr)
		jsonw_destroy(&json_wtr);
	cli_log_at_least(SUBFLOW_LOG_INFO);
	err = daemon_run(&opt);
	return err ? fail_errno(err, "daemon") : 0;
}
