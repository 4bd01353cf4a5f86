// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl subflow { list | show | monitor }: GET_SUB_IDS and GET_SUB_TUPLE
 * from outside the connection, and the live event stream. */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "subflow_pm_abi.h"
#include "units.h"

static int do_help(int argc, char **argv)
{
	fprintf(stderr,
		"Usage: %s [OPTIONS] subflow list [token TOKEN] [--all-netns]\n"
		"       %s [OPTIONS] subflow show token TOKEN id ID\n"
		"       %s [OPTIONS] subflow monitor [count N] [--all-netns]\n"
		"       %s [OPTIONS] subflow getsockopt token TOKEN id ID OPTION\n"
		"       %s [OPTIONS] subflow setsockopt token TOKEN id ID OPTION VALUE...\n"
		"       %s [OPTIONS] subflow getsockopt token TOKEN id ID info\n"
		"       %s [OPTIONS] subflow open token TOKEN local ADDR [port PORT]\n"
		"                    remote ADDR port PORT [backup] [timeout DURATION]\n"
		"       %s [OPTIONS] subflow close token TOKEN id ID\n"
		"       %s [OPTIONS] subflow set token TOKEN id ID backup on|off\n"
		"\n"
		"  list     the tracked MPTCP connections of this network namespace (every\n"
		"           namespace with --all-netns) and their subflows (GET_SUB_IDS)\n"
		"  show     one subflow's endpoints and state (GET_SUB_TUPLE)\n"
		"  monitor  print subflow up / established / down / rto events and the path\n"
		"           manager daemon's decisions as they happen\n"
		"  getsockopt  read one socket option of one subflow (SUB_GETSOCKOPT)\n"
		"  setsockopt  set it on that subflow only (SUB_SETSOCKOPT), print what the\n"
		"              kernel then holds; neither needs the engine to be loaded\n"
		"  getsockopt ... info  the subflow's TCP state and counters (TCP_INFO)\n"
		"  open     OPEN_SUB_TUPLE through the userspace path manager; prints the\n"
		"           new subflow once established (timeout: 5s by default)\n"
		"  close    CLOSE_SUB_ID: reset that subflow in the kernel (either path\n"
		"           manager); the connection goes on over its other subflows\n"
		"  set      MP_PRIO: ask the peer to use the subflow as backup, or not\n"
		"  TOKEN is the connection's local MPTCP token, decimal or 0x-hex.\n"
		"  OPTION VALUE := mark 0x20 | priority 3 | tos 0x10 | cc reno\n"
		"                | pacing 2mbit|unlimited | user-timeout 500ms | nodelay on|off\n"
		"                | keepalive IDLE INTVL COUNT (e.g. 10s 2s 3) | keepalive off\n",
		bin_name, bin_name, bin_name, bin_name, bin_name, bin_name, bin_name, bin_name,
		bin_name);
	return 0;
}

static uint64_t caller_netns;

static void ifname_of(const struct subflow_info *sf, uint64_t netns_cookie, char *buf,
		      size_t size)
{
	char name[IF_NAMESIZE];

	if (!caller_netns)
		subflow_current_netns(&caller_netns);
	/* Interface names mean something only in the caller's namespace. */
	if (sf->ifindex && (!netns_cookie || netns_cookie == caller_netns) &&
	    if_indextoname(sf->ifindex, name))
		snprintf(buf, size, "%s", name);
	else if (sf->ifindex)
		snprintf(buf, size, "if%u", sf->ifindex);
	else
		snprintf(buf, size, "-");
}

static bool sf_backup(const struct subflow_info *sf)
{
	return sf->flags & (SUBFLOW_F_BACKUP_LOCAL | SUBFLOW_F_BACKUP_PEER);
}

static void json_endpoint(const char *name, const struct subflow_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	subflow_endpoint_addr_str(ep, addr, sizeof(addr));
	jsonw_name(json_wtr, name);
	jsonw_start_object(json_wtr);
	jsonw_string_field(json_wtr, "addr", addr);
	jsonw_uint_field(json_wtr, "port", ep->port);
	jsonw_end_object(json_wtr);
}

void cli_json_subflow(const struct subflow_info *sf, const struct cli_sf_conn *conn)
{
	char ifname[IF_NAMESIZE + 8];
	struct timespec now;
	uint64_t now_ns;

	clock_gettime(CLOCK_BOOTTIME, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	ifname_of(sf, conn->netns_cookie, ifname, sizeof(ifname));
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "id", sf->id);
	json_endpoint("local", &sf->local);
	json_endpoint("remote", &sf->remote);
	jsonw_string_field(json_wtr, "family", sf->local.family == SUBFLOW_AF_INET6 ? "inet6" : "inet");
	jsonw_bool_field(json_wtr, "backup", sf_backup(sf));
	jsonw_bool_field(json_wtr, "backup_local", sf->flags & SUBFLOW_F_BACKUP_LOCAL);
	jsonw_bool_field(json_wtr, "backup_peer", sf->flags & SUBFLOW_F_BACKUP_PEER);
	jsonw_bool_field(json_wtr, "initial", sf->flags & SUBFLOW_F_INITIAL);
	jsonw_string_field(json_wtr, "state", subflow_tcp_state_name(sf->tcp_state));
	jsonw_uint_field(json_wtr, "ifindex", sf->ifindex);
	jsonw_string_field(json_wtr, "ifname", ifname);
	if (sf->local_addr_id < 0)
		jsonw_name(json_wtr, "local_addr_id"), jsonw_null(json_wtr);	/* not known yet */
	else
		jsonw_uint_field(json_wtr, "local_addr_id", sf->local_addr_id);
	jsonw_uint_field(json_wtr, "remote_addr_id", sf->remote_addr_id);
	jsonw_uint_field(json_wtr, "token", conn->token);
	jsonw_uint_field(json_wtr, "cgroup_id", conn->cgroup_id);
	jsonw_uint_field(json_wtr, "age_ms", now_ns > sf->created_ns ?
					     (now_ns - sf->created_ns) / 1000000 : 0);
	jsonw_bool_field(json_wtr, "snapshot", sf->flags & SUBFLOW_F_SNAPSHOT);
	jsonw_uint_field(json_wtr, "policy_rule", sf->policy_rule);
	jsonw_uint_field(json_wtr, "policy_generation", sf->policy_generation);
	jsonw_end_object(json_wtr);
}

static void endpoint_text(const struct subflow_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	subflow_endpoint_addr_str(ep, addr, sizeof(addr));
	if (ep->family == SUBFLOW_AF_INET6)
		snprintf(buf, size, "[%s]:%u", addr, ep->port);
	else
		snprintf(buf, size, "%s:%u", addr, ep->port);
}

/* Endpoint columns are as wide as the widest endpoint of the table. */
int cli_endpoint_width(const struct subflow_info *sf, size_t n)
{
	char buf[64];
	int width = 21;	/* "255.255.255.255:65535" */

	for (size_t i = 0; i < n; i++) {
		endpoint_text(&sf[i].local, buf, sizeof(buf));
		width = (int)strlen(buf) > width ? (int)strlen(buf) : width;
		endpoint_text(&sf[i].remote, buf, sizeof(buf));
		width = (int)strlen(buf) > width ? (int)strlen(buf) : width;
	}
	return width;
}

void cli_text_subflow_header(int width)
{
	printf("  %-4s %-*s %-*s %-12s %-8s %s\n", "ID", width, "LOCAL", width, "REMOTE", "STATE",
	       "DEV", "FLAGS");
}

void cli_text_subflow(const struct subflow_info *sf, const struct cli_sf_conn *conn, int width)
{
	char local[64], remote[64], ifname[IF_NAMESIZE + 8], flags[80], rule[16] = "";

	endpoint_text(&sf->local, local, sizeof(local));
	endpoint_text(&sf->remote, remote, sizeof(remote));
	ifname_of(sf, conn->netns_cookie, ifname, sizeof(ifname));
	if (sf->policy_rule)	/* the index `policy show` prints */
		snprintf(rule, sizeof(rule), ",rule %u", sf->policy_rule - 1);
	snprintf(flags, sizeof(flags), "%s%s%s%s%s", sf->flags & SUBFLOW_F_INITIAL ? "initial" : "join",
		 sf->flags & SUBFLOW_F_BACKUP_LOCAL ? ",backup" : "",
		 sf->flags & SUBFLOW_F_BACKUP_PEER ? ",backup-peer" : "",
		 sf->flags & SUBFLOW_F_SNAPSHOT ? ",snapshot" : "", rule);
	printf("  %-4u %-*s %-*s %-12s %-8s %s\n", sf->id, width, local, width, remote,
	       subflow_tcp_state_name(sf->tcp_state), ifname, flags);
}

struct list_ctx {
	bool filter_token;
	uint32_t token;
	bool count_only;	/* a first pass that only counts matches */
	size_t shown;
};

static int print_conn(const struct subflow_conn_info *conn, const struct subflow_info *sf,
		      size_t n, void *data)
{
	struct cli_sf_conn key = {
		.netns_cookie = conn->netns_cookie, .cgroup_id = conn->cgroup_id, .token = conn->token,
	};
	struct list_ctx *ctx = data;

	if (ctx->filter_token && conn->token != ctx->token)
		return 0;
	ctx->shown++;
	if (ctx->count_only)
		return 0;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "token", conn->token);
		jsonw_uint_field(json_wtr, "netns", conn->netns_ino);
		jsonw_uint_field(json_wtr, "netns_cookie", conn->netns_cookie);
		jsonw_string_field(json_wtr, "side",
				   conn->flags & SUBFLOW_CONN_F_SERVER ? "server" : "client");
		jsonw_uint_field(json_wtr, "cgroup_id", conn->cgroup_id);
		jsonw_uint_field(json_wtr, "nr_subflows", conn->nr_subflows);
		jsonw_name(json_wtr, "subflows");
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < n; i++)
			cli_json_subflow(&sf[i], &key);
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
		return 0;
	}
	printf("%stoken 0x%08x (%u)  %s  netns %u  cgroup %llu  %u subflow%s\n",
	       ctx->shown > 1 ? "\n" : "", conn->token, conn->token,
	       conn->flags & SUBFLOW_CONN_F_SERVER ? "server" : "client", conn->netns_ino,
	       (unsigned long long)conn->cgroup_id, conn->nr_subflows, conn->nr_subflows == 1 ? "" : "s");
	cli_text_subflow_header(cli_endpoint_width(sf, n));
	for (size_t i = 0; i < n; i++)
		cli_text_subflow(&sf[i], &key, cli_endpoint_width(sf, n));
	return 0;
}

static int parse_token(const char *s, uint32_t *token)
{
	if (subflow_parse_u32(s, token))
		return usage_error("token: '%s' is not a 32-bit number (decimal or 0x-hex)", s);
	return 0;
}

static int do_list(int argc, char **argv)
{
	struct list_ctx ctx = {};
	uint64_t scope = 0;
	int err;

	while (argc > 0) {
		if (!strcmp(argv[0], "--all-netns")) {
			/* Also accepted after the command, as the usage shows it. */
			all_netns = true;
			NEXT_ARG();
		} else if (is_prefix(argv[0], "token")) {
			if (argc < 2)
				return usage_error("'subflow list token' needs TOKEN");
			err = parse_token(argv[1], &ctx.token);
			if (err)
				return err;
			ctx.filter_token = true;
			NEXT_ARG();
			NEXT_ARG();
		} else {
			return usage_error("'subflow list': unexpected argument '%s'; see '%s subflow help'",
					   argv[0], bin_name);
		}
	}
	if (!subflow_engine_loaded())
		return fail_not_loaded();
	subflow_current_netns(&caller_netns);
	if (all_netns)
		scope = SUBFLOW_ALL_NETNS;
	if (ctx.filter_token) {
		/* An unknown token is an error: find out before printing, so
		 * that stdout holds either the answer or the error. */
		ctx.count_only = true;
		err = subflow_foreach_conn(scope, print_conn, &ctx);
		if (err)
			return fail_errno(err, "subflow list");
		if (!ctx.shown)
			return fail("no connection with token 0x%08x (%u) is tracked in %s",
				    ctx.token, ctx.token,
				    all_netns ? "any network namespace" : "this network namespace");
		ctx.count_only = false;
		ctx.shown = 0;
	}
	if (json_output)
		jsonw_start_array(json_wtr);
	err = subflow_foreach_conn(scope, print_conn, &ctx);
	if (json_output)
		jsonw_end_array(json_wtr);
	if (err)
		return fail_errno(err, "subflow list");
	if (!json_output && !ctx.shown)
		printf("no MPTCP connection tracked in %s\n",
		       all_netns ? "any network namespace" : "this network namespace");
	return 0;
}

static int do_show(int argc, char **argv)
{
	bool have_token = false, have_id = false;
	struct subflow_conn_info conn;
	struct cli_sf_conn key;
	struct subflow_info sf;
	uint32_t token = 0, id = 0;
	int err;

	while (argc > 0) {
		if (argc < 2)
			return usage_error("'subflow show %s' needs a value", argv[0]);
		if (is_prefix(argv[0], "token")) {
			err = parse_token(argv[1], &token);
			if (err)
				return err;
			have_token = true;
		} else if (is_prefix(argv[0], "id")) {
			if (subflow_parse_u32(argv[1], &id))
				return usage_error("id: '%s' is not a number", argv[1]);
			have_id = true;
		} else {
			return usage_error("'subflow show': unexpected argument '%s'", argv[0]);
		}
		NEXT_ARG();
		NEXT_ARG();
	}
	if (!have_token || !have_id)
		return usage_error("'subflow show' needs token TOKEN id ID; see '%s subflow help'",
				   bin_name);
	if (!subflow_engine_loaded())
		return fail_not_loaded();
	subflow_current_netns(&caller_netns);
	err = subflow_get_conn_info(0, token, &conn);
	if (err == -ESRCH)
		return fail("no connection with token 0x%08x (%u) is tracked in this network namespace",
			    token, token);
	if (err)
		return fail_errno(err, "subflow show");
	err = subflow_get_info(0, token, id, &sf);
	if (err == -ESRCH)
		return fail("connection 0x%08x has no subflow with id %u", token, id);
	if (err)
		return fail_errno(err, "subflow show");
	key.netns_cookie = conn.netns_cookie;
	key.cgroup_id = conn.cgroup_id;
	key.token = token;
	if (json_output) {
		cli_json_subflow(&sf, &key);
	} else {
		cli_text_subflow_header(cli_endpoint_width(&sf, 1));
		cli_text_subflow(&sf, &key, cli_endpoint_width(&sf, 1));
	}
	return 0;
}

static volatile sig_atomic_t stop_monitor;

static void on_signal(int sig)
{
	stop_monitor = 1;
}

struct monitor_ctx {
	uint64_t limit, seen;
};

/* Returned by on_event to stop at once (negative: see subflow_events_poll). */
#define MONITOR_DONE (-ECANCELED)

/* A decision of the path manager daemon (subflow_pm_abi.h): its text. */
static void decision_text(const struct subflow_event *ev, char *buf, size_t size)
{
	const struct subflow_pm_decision *dec = (const void *)ev;
	char local[64], remote[64], action[sizeof(dec->action) + 1], path[sizeof(dec->path) + 1],
		reason[sizeof(dec->reason) + 1];

	snprintf(action, sizeof(action), "%.*s", (int)sizeof(dec->action), dec->action);
	snprintf(path, sizeof(path), "%.*s", (int)sizeof(dec->path), dec->path);
	snprintf(reason, sizeof(reason), "%.*s", (int)sizeof(dec->reason), dec->reason);
	endpoint_text(&ev->info.local, local, sizeof(local));
	endpoint_text(&ev->info.remote, remote, sizeof(remote));
	snprintf(buf, size, "%s%s%s %s -> %s: %s%s%s", action, path[0] ? " " : "", path, local, remote,
		 reason, ev->value[0] ? "; failed: " : "",
		 ev->value[0] ? strerror(-(int)(int64_t)ev->value[0]) : "");
}

static int on_event(const struct subflow_event *ev, void *data)
{
	static const char *const names[] = { [SUBFLOW_EVENT_UP] = "up",
					     [SUBFLOW_EVENT_ESTABLISHED] = "established",
					     [SUBFLOW_EVENT_DOWN] = "down",
					     [SUBFLOW_EVENT_RTO] = "rto",
					     [SUBFLOW_EVENT_PM_DECISION] = "decision" };
	const struct subflow_pm_decision *dec = (const void *)ev;
	struct cli_sf_conn conn = {
		.netns_cookie = ev->netns_cookie, .cgroup_id = ev->cgroup_id, .token = ev->token,
	};
	struct monitor_ctx *ctx = data;
	const char *name;

	/* Later versions add event types: skip those this one does not know. */
	if (ev->type > SUBFLOW_EVENT_PM_DECISION || !names[ev->type])
		return 0;
	if (ev->type == SUBFLOW_EVENT_PM_DECISION && ev->size < sizeof(*dec))
		return 0;	/* a decision without its text */
	/* Like `subflow list`: the caller's namespace unless --all-netns. */
	if (!all_netns && ev->netns_cookie != caller_netns)
		return 0;
	name = names[ev->type];
	if (json_output) {
		/* One JSON object per line, like `ip -j monitor`. */
		json_writer_t *w = json_wtr;

		json_wtr = jsonw_new(stdout, false);
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "event", name);
		jsonw_uint_field(json_wtr, "time_ns", ev->time_ns);
		if (ev->type == SUBFLOW_EVENT_PM_DECISION) {
			char text[sizeof(dec->reason) + 1];

			snprintf(text, sizeof(text), "%.*s", (int)sizeof(dec->action), dec->action);
			jsonw_string_field(json_wtr, "action", text);
			snprintf(text, sizeof(text), "%.*s", (int)sizeof(dec->path), dec->path);
			jsonw_string_field(json_wtr, "path", text);
			snprintf(text, sizeof(text), "%.*s", (int)sizeof(dec->reason), dec->reason);
			jsonw_string_field(json_wtr, "reason", text);
			jsonw_name(json_wtr, "error");
			if (ev->value[0])
				jsonw_string(json_wtr, strerror(-(int)(int64_t)ev->value[0]));
			else
				jsonw_null(json_wtr);
			jsonw_uint_field(json_wtr, "token", ev->token);
			jsonw_uint_field(json_wtr, "id", ev->info.id);
			json_endpoint("local", &ev->info.local);
			json_endpoint("remote", &ev->info.remote);
		} else {
			if (ev->type == SUBFLOW_EVENT_RTO)
				jsonw_uint_field(json_wtr, "timeouts", ev->value[0]);
			jsonw_name(json_wtr, "subflow");
			cli_json_subflow(&ev->info, &conn);
		}
		jsonw_end_object(json_wtr);
		jsonw_destroy(&json_wtr);
		json_wtr = w;
	} else {
		char local[64], remote[64];

		endpoint_text(&ev->info.local, local, sizeof(local));
		endpoint_text(&ev->info.remote, remote, sizeof(remote));
		if (ev->type == SUBFLOW_EVENT_PM_DECISION) {
			char text[320];

			decision_text(ev, text, sizeof(text));
			printf("%-12s token 0x%08x id %-3u %s\n", name, ev->token, ev->info.id, text);
		} else {
			printf("%-12s token 0x%08x id %-3u %s -> %s %s", name, ev->token,
			       ev->info.id, local, remote,
			       ev->info.flags & SUBFLOW_F_INITIAL ? "initial" : "join");
			if (ev->type == SUBFLOW_EVENT_RTO)
				printf(" (timeout %llu in a row)", (unsigned long long)ev->value[0]);
			printf("\n");
		}
	}
	fflush(stdout);
	ctx->seen++;
	if (ctx->limit && ctx->seen >= ctx->limit)
		return MONITOR_DONE;
	return 0;
}

static int do_monitor(int argc, char **argv)
{
	struct monitor_ctx ctx = {};
	struct subflow_events *events;
	int err = 0;

	while (argc > 0) {
		if (!strcmp(argv[0], "--all-netns")) {
			all_netns = true;
			NEXT_ARG();
		} else if (is_prefix(argv[0], "count")) {
			if (argc < 2)
				return usage_error("'subflow monitor count' needs N");
			if (subflow_parse_uint(argv[1], UINT64_MAX, &ctx.limit) || !ctx.limit)
				return usage_error("count: '%s' is not a positive number (decimal or "
						   "0x-hex)", argv[1]);
			NEXT_ARG();
			NEXT_ARG();
		} else {
			return usage_error("'subflow monitor': unexpected argument '%s'", argv[0]);
		}
	}
	if (!subflow_engine_loaded())
		return fail_not_loaded();
	subflow_current_netns(&caller_netns);
	events = subflow_events_open(on_event, &ctx);
	if (!events && errno == EBUSY)
		return fail("every one of the %d event reader slots is held by a live reader",
			    SUBFLOW_EVENT_READERS);
	if (!events)
		return fail("cannot read the engine's events: %s", strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* JSON mode prints one object per line, not one array. */
	if (json_output)
		jsonw_destroy(&json_wtr);
	while (!stop_monitor) {
		err = subflow_events_poll(events, 200);
		if (err == -EINTR || err == MONITOR_DONE) {
			err = 0;
			break;
		}
		if (err < 0)
			break;
		err = 0;
	}
	subflow_events_close(events);
	return err ? fail("monitor: %s", strerror(-err)) : 0;
}

/* subflow getsockopt|setsockopt token TOKEN id ID OPTION [VALUE...] */
static int sockopt_command(bool set, int argc, char **argv)
{
	const char *verb = set ? "setsockopt" : "getsockopt";
	bool have_token = false, have_id = false;
	struct subflow_sockopt_value value = {};
	char text[128], why[256], msg[512];
	enum subflow_sockopt opt;
	uint32_t token = 0, id = 0;
	const char *name;
	int err = 0;

	while (argc >= 2 && (is_prefix(argv[0], "token") || is_prefix(argv[0], "id"))) {
		if (is_prefix(argv[0], "token")) {
			err = parse_token(argv[1], &token);
			if (err)
				return err;
			have_token = true;
		} else {
			if (subflow_parse_u32(argv[1], &id))
				return usage_error("id: '%s' is not a number", argv[1]);
			have_id = true;
		}
		NEXT_ARG();
		NEXT_ARG();
	}
	if (!have_token || !have_id || argc < 1) {
		snprintf(msg, sizeof(msg), "'subflow %s' needs token TOKEN id ID OPTION%s", verb,
			 set ? " VALUE" : "");
		goto usage;
	}
	if (!set && !strcmp(argv[0], "info")) {
		if (argc > 1) {
			snprintf(msg, sizeof(msg), "'subflow getsockopt info': unexpected argument '%s'",
				 argv[1]);
			goto usage;
		}
		return cli_subflow_tcp_info(token, id);
	}
	if (subflow_sockopt_parse_name(argv[0], &opt)) {
		snprintf(msg, sizeof(msg), "'subflow %s': unknown option '%s', expected mark, "
			 "priority, pacing, tos, cc, user-timeout, nodelay%s", verb, argv[0],
			 set ? " or keepalive" : ", keepalive or info");
		goto usage;
	}
	name = subflow_sockopt_name(opt);
	NEXT_ARG();
	if (!set && argc > 0) {
		snprintf(msg, sizeof(msg), "'subflow getsockopt %s': unexpected argument '%s'", name,
			 argv[0]);
		goto usage;
	}
	if (set && subflow_sockopt_parse_value(opt, argv, argc, &value, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "'subflow setsockopt %s': %s", name, why);
		goto usage;
	}

	if (set) {
		err = subflow_setsockopt(token, id, opt, &value);
		if (err == -ENOENT && opt == SUBFLOW_SOCKOPT_CC)
			return fail("no congestion control '%s' in this kernel "
				    "(see net.ipv4.tcp_available_congestion_control)", value.cc);
		if (err == -EINVAL || err == -ERANGE || err == -EPERM)
			return fail("the kernel refused %s on subflow %u of connection 0x%08x: %s",
				    name, id, token, strerror(-err));
	}
	if (!err)
		err = subflow_getsockopt(token, id, opt, &value);
	if (err == -ESRCH)
		return fail("no MPTCP subflow with id %u in a connection with token 0x%08x (%u) "
			    "in this network namespace", id, token, token);
	if (err == -EOPNOTSUPP)
		return fail("the kernel does not offer %s on subflow %u of connection 0x%08x",
			    name, id, token);
	if (err)
		return fail_errno(err, verb);

	if (!json_output) {
		subflow_sockopt_format_value(opt, &value, text, sizeof(text));
		printf("%s %s\n", name, text);
		return 0;
	}
	jsonw_start_object(json_wtr);
	jsonw_uint_field(json_wtr, "token", token);
	jsonw_uint_field(json_wtr, "id", id);
	jsonw_string_field(json_wtr, "option", name);
	jsonw_name(json_wtr, "value");
	switch (opt) {
	case SUBFLOW_SOCKOPT_CC:
		jsonw_string(json_wtr, value.cc);
		break;
	case SUBFLOW_SOCKOPT_NODELAY:
		jsonw_bool(json_wtr, value.value);
		break;
	case SUBFLOW_SOCKOPT_PACING:	/* bytes per second; null: unlimited */
		if (value.value == SUBFLOW_PACING_UNLIMITED)
			jsonw_null(json_wtr);
		else
			jsonw_uint(json_wtr, value.value);
		break;
	case SUBFLOW_SOCKOPT_KEEPALIVE:
		jsonw_start_object(json_wtr);
		jsonw_bool_field(json_wtr, "on", value.value);
		jsonw_uint_field(json_wtr, "idle_s", value.keepalive_idle_s);
		jsonw_uint_field(json_wtr, "intvl_s", value.keepalive_intvl_s);
		jsonw_uint_field(json_wtr, "count", value.keepalive_count);
		jsonw_end_object(json_wtr);
		break;
	default:	/* user-timeout in ms, the others as plain numbers */
		jsonw_uint(json_wtr, value.value);
		break;
	}
	jsonw_end_object(json_wtr);
	return 0;

usage:
	do_help(0, NULL);
	return usage_error("%s", msg);
}

static int do_getsockopt(int argc, char **argv)
{
	return sockopt_command(false, argc, argv);
}

static int do_setsockopt(int argc, char **argv)
{
	return sockopt_command(true, argc, argv);
}

int do_subflow(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_list },
		{ "show", do_show },
		{ "monitor", do_monitor },
		{ "getsockopt", do_getsockopt },
		{ "setsockopt", do_setsockopt },
		{ "open", cli_subflow_open },
		{ "close", cli_subflow_close },
		{ "set", cli_subflow_set },
		{ "help", do_help },
		{ 0 },
	};

	cli_object = "subflow";
	if (argc < 1) {
		do_help(0, NULL);
		return usage_error("'subflow' needs a command");
	}
	return cmd_select(cmds, argc, argv, do_help);
}
