// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl [-n NETNS] daemon: the userspace path manager of one network
 * namespace, in the foreground (loader/daemon/). */
#include <grp.h>
#include "cli.h"
#include "daemon.h"
#include "units.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [-n NETNS] [-j] [-d] daemon [control-group GROUP]\n"
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
		"  another userspace path manager (mptcpd) runs in the namespace.\n"
		"\n"
		"  It serves applications on a control socket, " SUBFLOW_CONTROL_HOST_SOCK "\n"
		"  in the host's namespace, " SUBFLOW_CONTROL_DIR "/control-NETNS_COOKIE.sock in any\n"
		"  other (mode 0660): processes that may write it (root, and members of\n"
		"  GROUP, by name or number; default root's group) open, close, flip to\n"
		"  backup, set options on and watch the subflows of their OWN connections,\n"
		"  by passing the connection's socket (libsubflow does it by itself when\n"
		"  the caller is not root). Requests by token stay root's.\n",
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
	while (argc > 0) {
		if (is_prefix(argv[0], "control-group")) {
			struct group gr, *res = NULL;
			char scratch[4096];
			uint32_t gid;

			if (argc < 2)
				return usage_error("'daemon control-group': a group name or number is missing");
			if (!subflow_parse_u32(argv[1], &gid) && gid != (uint32_t)-1) {
				opt.control_gid = gid;
			} else if (!getgrnam_r(argv[1], &gr, scratch, sizeof(scratch), &res) && res) {
				opt.control_gid = gr.gr_gid;
			} else {
				return usage_error("'daemon control-group %s': no such group", argv[1]);
			}
			argc -= 2;
			argv += 2;
			continue;
		}
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
