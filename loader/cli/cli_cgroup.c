// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl cgroup { attach | detach | list | prune } */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "cli.h"
#include "policy.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [OPTIONS] cgroup attach CGROUP_PATH [policy FILE]\n"
		"       %s [OPTIONS] cgroup detach CGROUP_PATH\n"
		"       %s [OPTIONS] cgroup list\n"
		"       %s [OPTIONS] cgroup prune\n"
		"\n"
		"  attach  load the engine if needed, attach it to the cgroup v2 directory\n"
		"          CGROUP_PATH (pinned: it stays after the command exits), and record\n"
		"          the MPTCP subflows its processes already have; with `policy FILE`,\n"
		"          check FILE first (a bad file attaches nothing), then load it\n"
		"  detach  detach from CGROUP_PATH, remove its policy and forget the\n"
		"          subflows it tracked\n"
		"  list    the cgroups the engine is attached to\n"
		"  prune   reap what removed cgroups left: attachments, policies, tracked\n"
		"          entries (every command does it first when nobody holds the lock)\n"
		"\n"
		"  Attachments do not nest: a cgroup below an attached one is covered and\n"
		"  may have its own policy (`policy load`), but is not attached itself.\n",
		bin_name, bin_name, bin_name, bin_name);
	return 0;
}

static int check_one_path(int argc, char **argv, const char *verb)
{
	if (argc < 1)
		return usage_error("'cgroup %s' needs CGROUP_PATH; see '%s cgroup help'", verb,
				   bin_name);
	if (argc > 1)
		return usage_error("'cgroup %s': unexpected argument '%s'", verb, argv[1]);
	return 0;
}

/* attach CGROUP_PATH [policy FILE]: the policy is parsed and compiled
 * before anything is attached, so that a bad file attaches nothing; if it
 * cannot be installed afterwards, the attachment is undone. */
static int do_attach(int argc, char **argv)
{
	struct subflow_compiled_policy *policy = NULL;
	const char *file = NULL;
	uint64_t cgroup_id;
	int err, status;

	if (argc >= 2 && is_prefix(argv[1], "policy")) {
		if (argc < 3)
			return usage_error("'cgroup attach %s policy' needs FILE", argv[0]);
		if (argc > 3)
			return usage_error("'cgroup attach': unexpected argument '%s'", argv[3]);
		file = argv[2];
	} else {
		err = check_one_path(argc, argv, "attach");
		if (err)
			return err;
	}
	err = subflow_cgroup_id_of(argv[0], &cgroup_id);
	if (err)
		return fail_errno(err, "cgroup attach");
	if (file) {
		policy = compile_policy_file(file, &status);
		if (!policy)
			return status;
	}
	err = subflow_cgroup_attach(argv[0]);
	if (err) {
		free(policy);
		return fail_errno(err, "cgroup attach");
	}
	if (policy) {
		err = subflow_policy_install(cgroup_id, policy, NULL);
		free(policy);
		if (err) {
			status = fail_errno(err, "cgroup attach: policy load");
			subflow_cgroup_detach(argv[0]);
			return status;
		}
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "cgroup", argv[0]);
		jsonw_uint_field(json_wtr, "cgroup_id", cgroup_id);
		jsonw_string_field(json_wtr, "pin_dir", subflow_pin_dir());
		if (file)
			jsonw_string_field(json_wtr, "policy", file);
		jsonw_end_object(json_wtr);
	}
	return 0;
}

static int do_detach(int argc, char **argv)
{
	int err;

	err = check_one_path(argc, argv, "detach");
	if (err)
		return err;
	err = subflow_cgroup_detach(argv[0]);
	if (err)
		return fail_errno(err, "cgroup detach");
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "cgroup", argv[0]);
		jsonw_bool_field(json_wtr, "detached", true);
		jsonw_end_object(json_wtr);
	}
	return 0;
}

static int do_list(int argc, char **argv)
{
	struct subflow_attachment *att;
	size_t n;
	int err;

	if (argc > 0)
		return usage_error("'cgroup list': unexpected argument '%s'", argv[0]);
	err = subflow_cgroup_list_all(&att, &n);
	if (err)
		return fail_errno(err, "cgroup list");
	if (json_output) {
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < n; i++) {
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "cgroup", att[i].path);
			jsonw_uint_field(json_wtr, "cgroup_id", att[i].cgroup_id);
			jsonw_uint_field(json_wtr, "link_id", att[i].link_id);
			jsonw_uint_field(json_wtr, "prog_id", att[i].prog_id);
			jsonw_end_object(json_wtr);
		}
		jsonw_end_array(json_wtr);
	} else if (n) {
		printf("%-10s %-8s %-8s %s\n", "CGROUP_ID", "LINK", "PROG", "CGROUP");
		for (size_t i = 0; i < n; i++)
			printf("%-10" PRIu64 " %-8u %-8u %s\n", att[i].cgroup_id, att[i].link_id,
			       att[i].prog_id, att[i].path[0] ? att[i].path : "(removed)");
	} else {
		printf("not attached to any cgroup\n");
	}
	free(att);
	return 0;
}

static int do_prune(int argc, char **argv)
{
	size_t n = 0, max = 4096;
	uint64_t *ids;
	int err;

	if (argc > 0)
		return usage_error("'cgroup prune': unexpected argument '%s'", argv[0]);
	ids = calloc(max, sizeof(*ids));
	if (!ids)
		return fail("out of memory");
	err = subflow_cgroup_prune(ids, max, &n);
	if (n > max)
		n = max;	/* reaped all the same; the first ones named */
	if (err) {
		free(ids);
		return fail_errno(err, "cgroup prune");
	}
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_name(json_wtr, "pruned");
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < n; i++)
			jsonw_uint(json_wtr, ids[i]);
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
	} else if (n) {
		printf("pruned %zu removed cgroup(s):", n);
		for (size_t i = 0; i < n; i++)
			printf(" %" PRIu64, ids[i]);
		printf("\n");
	} else {
		printf("nothing to prune\n");
	}
	free(ids);
	return 0;
}

int do_cgroup(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "attach", do_attach },
		{ "detach", do_detach },
		{ "list", do_list },
		{ "show", do_list },
		{ "prune", do_prune },
		{ "help", do_help },
		{ 0 },
	};

	cli_object = "cgroup";
	if (argc < 1) {
		do_help(0, NULL);
		return usage_error("'cgroup' needs a command");
	}
	return cmd_select(cmds, argc, argv, do_help);
}
