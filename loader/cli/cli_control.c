// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl status: the path manager daemon of the caller's namespace and
 * its control socket (path, mode, group, clients), asked over that socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "cli.h"
#include "daemon.h"

struct daemon_status {
	pid_t pid;			/* 0: no daemon runs here */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool present;			/* the socket file exists */
	unsigned int mode;
	gid_t gid;
	char group[64];
	bool answered;			/* STATUS over the socket */
	struct subflow_control_status st;
	char error[160];
};

static void read_daemon_status(struct daemon_status *ds)
{
	struct subflow_control_request req;
	struct subflow_control_response resp;
	struct group gr, *res = NULL;
	subflow_print_fn_t prev;
	char scratch[1024];
	uint64_t cookie = 0;
	struct stat st;
	int err;

	memset(ds, 0, sizeof(*ds));
	if (subflow_current_netns(&cookie))
		return;
	ds->pid = guard_daemon_pid(cookie);
	subflow_control_socket_path(cookie, subflow_control_host_netns(), ds->path, sizeof(ds->path));
	if (!stat(ds->path, &st) && S_ISSOCK(st.st_mode)) {
		ds->present = true;
		ds->mode = st.st_mode & 07777;
		ds->gid = st.st_gid;
		if (!getgrgid_r(st.st_gid, &gr, scratch, sizeof(scratch), &res) && res)
			snprintf(ds->group, sizeof(ds->group), "%s", gr.gr_name);
		else
			snprintf(ds->group, sizeof(ds->group), "%u", (unsigned int)st.st_gid);
	}
	if (!ds->pid || !ds->present)
		return;
	memset(&resp, 0, sizeof(resp));
	subflow_control_request_init(&req, SUBFLOW_CONTROL_STATUS);
	prev = subflow_set_print(NULL);	/* a status line, not an error */
	err = subflow_control_call(-1, 0, &req, &resp);
	subflow_set_print(prev);
	if (err)
		snprintf(ds->error, sizeof(ds->error), "%s", resp.message[0] ? resp.message : strerror(-err));
	else {
		ds->answered = true;
		ds->st = resp.status;
	}
}

void cli_status_daemon(void)
{
	struct daemon_status ds;

	read_daemon_status(&ds);
	if (json_output) {
		jsonw_name(json_wtr, "daemon");
		if (!ds.pid) {
			jsonw_null(json_wtr);
			return;
		}
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "pid", ds.pid);
		jsonw_name(json_wtr, "control_socket");
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "path", ds.path);
		jsonw_bool_field(json_wtr, "present", ds.present);
		if (ds.present) {
			char mode[8];

			snprintf(mode, sizeof(mode), "%04o", ds.mode);
			jsonw_string_field(json_wtr, "mode", mode);
			jsonw_string_field(json_wtr, "group", ds.group);
			jsonw_uint_field(json_wtr, "gid", ds.gid);
		}
		if (ds.answered) {
			jsonw_uint_field(json_wtr, "clients", ds.st.clients);
			jsonw_uint_field(json_wtr, "subscriptions", ds.st.subscriptions);
			jsonw_uint_field(json_wtr, "requests_in_progress", ds.st.jobs);
			jsonw_uint_field(json_wtr, "requests", ds.st.requests);
			jsonw_uint_field(json_wtr, "refused", ds.st.refused);
			jsonw_uint_field(json_wtr, "turned_away", ds.st.limited);
		} else if (ds.error[0]) {
			jsonw_string_field(json_wtr, "error", ds.error);
		}
		jsonw_end_object(json_wtr);
		jsonw_end_object(json_wtr);
		return;
	}
	printf("\ndaemon:\n");
	if (!ds.pid) {
		printf("  %-62s %s\n", "path manager daemon of this namespace", "not running");
		return;
	}
	printf("  %-62s pid %d\n", "path manager daemon of this namespace", (int)ds.pid);
	if (!ds.present) {
		printf("  %-62s %s missing\n", "control socket", ds.path);
		return;
	}
	printf("  %-62s %s (mode %04o, group %s)\n", "control socket", ds.path, ds.mode, ds.group);
	if (ds.answered)
		printf("  %-62s %u connected (%u subscriptions), %u in progress, %" PRIu64
		       " requests served, %" PRIu64 " refused, %" PRIu64 " turned away\n",
		       "  clients", ds.st.clients, ds.st.subscriptions, ds.st.jobs,
		       (uint64_t)ds.st.requests, (uint64_t)ds.st.refused, (uint64_t)ds.st.limited);
	else
		printf("  %-62s no answer: %s\n", "  clients", ds.error);
}
