// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * subflowctl subflow { open | close | set | getsockopt ... info }: path
 * management on one connection (OPEN_SUB_TUPLE, CLOSE_SUB_ID, MP_PRIO and
 * SUB_GETSOCKOPT of TCP_INFO), in the caller's network namespace (-n NETNS).
 * None of them needs the engine to be loaded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include "cli.h"
#include "ops.h"
#include "units.h"

/* "token T" and "id I" (any order) at the head of argv. */
struct conn_args {
	uint32_t token, id;
	bool have_token, have_id;
};

static int parse_conn_arg(struct conn_args *ca, const char *verb, int *argc, char ***argv)
{
	if (*argc < 2)
		return usage_error("'subflow %s %s' needs a value", verb, (*argv)[0]);
	if (is_prefix((*argv)[0], "token")) {
		if (subflow_parse_u32((*argv)[1], &ca->token))
			return usage_error("token: '%s' is not a 32-bit number (decimal or 0x-hex)",
					   (*argv)[1]);
		ca->have_token = true;
	} else {
		if (subflow_parse_u32((*argv)[1], &ca->id) || !ca->id)
			return usage_error("id: '%s' is not a subflow id (a number from 1)", (*argv)[1]);
		ca->have_id = true;
	}
	*argc -= 2;
	*argv += 2;
	return 0;
}

static bool is_conn_word(const char *word)
{
	return is_prefix(word, "token") || (!strcmp(word, "id"));
}

static int parse_ip(const char *what, const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return usage_error("%s: '%s' is not an IPv4 or IPv6 address", what, s);
}

static int parse_port(const char *what, const char *s, struct sockaddr_storage *ss)
{
	uint32_t port;

	if (subflow_parse_u32(s, &port) || !port || port > 65535)
		return usage_error("%s port: '%s' is not a port number (1-65535)", what, s);
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	return 0;
}

static void print_opened(uint32_t token, uint32_t id)
{
	struct cli_sf_conn conn = { .token = token };	/* the caller's namespace */
	struct subflow_oneshot_record sfs[64];
	size_t n = 0;

	subflow_ops_list(token, sfs, 64, &n);
	for (size_t i = 0; i < n && i < 64; i++) {
		struct timespec now;

		if (sfs[i].info.id != id)
			continue;
		/* The kernel's list has no creation time: it is new. */
		clock_gettime(CLOCK_BOOTTIME, &now);
		sfs[i].info.created_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
		if (json_output) {
			cli_json_subflow(&sfs[i].info, &conn);
		} else {
			cli_text_subflow_header(cli_endpoint_width(&sfs[i].info, 1));
			cli_text_subflow(&sfs[i].info, &conn, cli_endpoint_width(&sfs[i].info, 1));
		}
		return;
	}
	/* Gone again already: say what we know. */
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "id", id);
		jsonw_uint_field(json_wtr, "token", token);
		jsonw_end_object(json_wtr);
	} else {
		printf("subflow %u opened (closed again since)\n", id);
	}
}

/* subflow open token T local ADDR [port P] remote ADDR port P [backup] [timeout DUR] */
int cli_subflow_open(int argc, char **argv)
{
	struct sockaddr_storage local = {}, remote = {};
	bool have_local = false, have_remote = false, backup = false;
	struct conn_args ca = {};
	unsigned int flags = 0;
	uint32_t id = 0;
	int err;

	while (argc > 0) {
		if (is_prefix(argv[0], "token")) {
			err = parse_conn_arg(&ca, "open", &argc, &argv);
			if (err)
				return err;
		} else if (is_prefix(argv[0], "local") || is_prefix(argv[0], "remote")) {
			bool is_local = is_prefix(argv[0], "local");
			struct sockaddr_storage *ss = is_local ? &local : &remote;

			if (argc < 2)
				return usage_error("'subflow open %s' needs ADDR", argv[0]);
			err = parse_ip(argv[0], argv[1], ss);
			if (err)
				return err;
			*(is_local ? &have_local : &have_remote) = true;
			argc -= 2;
			argv += 2;
			if (argc >= 2 && is_prefix(argv[0], "port")) {
				err = parse_port(is_local ? "local" : "remote", argv[1], ss);
				if (err)
					return err;
				argc -= 2;
				argv += 2;
			} else if (!is_local) {
				return usage_error("'subflow open remote ADDR' needs port P");
			}
		} else if (is_prefix(argv[0], "backup")) {
			backup = true;
			NEXT_ARG();
		} else if (is_prefix(argv[0], "timeout") && argc >= 2) {
			uint64_t ms;
			bool exact;

			if (subflow_parse_with_unit(argv[1], subflow_duration_units,
						    subflow_nr_duration_units, &ms, &exact) ||
			    !ms || ms > 600000)
				return usage_error("timeout: '%s' is not a duration from 1ms to 10m (e.g. 2s, 500ms)",
						   argv[1]);
			subflow_set_open_timeout(ms);
			argc -= 2;
			argv += 2;
		} else {
			return usage_error("'subflow open': unexpected argument '%s'; see '%s subflow help'",
					   argv[0], bin_name);
		}
	}
	if (!ca.have_token || !have_local || !have_remote)
		return usage_error("'subflow open' needs token TOKEN local ADDR remote ADDR port PORT; see '%s subflow help'",
				   bin_name);
	if (local.ss_family != remote.ss_family)
		return usage_error("'subflow open': local and remote addresses of different families");
	if (backup)
		flags |= SUBFLOW_OPEN_BACKUP;
	err = subflow_open_by_token(0, ca.token, (struct sockaddr *)&local, (struct sockaddr *)&remote,
				    flags, &id);
	if (err)
		return fail_errno(err, "subflow open");
	print_opened(ca.token, id);
	return 0;
}

/* {"token", "id", KEY: VALUE}, or "subflow I of connection T: TEXT". */
static void print_done(const struct conn_args *ca, const char *key, bool value, const char *text)
{
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "token", ca->token);
		jsonw_uint_field(json_wtr, "id", ca->id);
		jsonw_bool_field(json_wtr, key, value);
		jsonw_end_object(json_wtr);
	} else {
		printf("subflow %u of connection 0x%08x: %s\n", ca->id, ca->token, text);
	}
}

/* subflow close token T id I */
int cli_subflow_close(int argc, char **argv)
{
	struct conn_args ca = {};
	int err;

	while (argc > 0) {
		if (!is_conn_word(argv[0]))
			return usage_error("'subflow close': unexpected argument '%s'", argv[0]);
		err = parse_conn_arg(&ca, "close", &argc, &argv);
		if (err)
			return err;
	}
	if (!ca.have_token || !ca.have_id)
		return usage_error("'subflow close' needs token TOKEN id ID");
	err = subflow_close_by_token(0, ca.token, ca.id);
	if (err)
		return fail_errno(err, "subflow close");
	print_done(&ca, "closed", true, "closed");
	return 0;
}

/* subflow set token T id I backup on|off */
int cli_subflow_set(int argc, char **argv)
{
	struct conn_args ca = {};
	int backup = -1, err;

	while (argc > 0) {
		if (is_conn_word(argv[0])) {
			err = parse_conn_arg(&ca, "set", &argc, &argv);
			if (err)
				return err;
		} else if (is_prefix(argv[0], "backup") && argc >= 2) {
			if (!strcmp(argv[1], "on"))
				backup = 1;
			else if (!strcmp(argv[1], "off"))
				backup = 0;
			else
				return usage_error("backup: '%s', expected on or off", argv[1]);
			argc -= 2;
			argv += 2;
		} else {
			return usage_error("'subflow set': unexpected argument '%s'", argv[0]);
		}
	}
	if (!ca.have_token || !ca.have_id || backup < 0)
		return usage_error("'subflow set' needs token TOKEN id ID backup on|off");
	err = subflow_set_backup_by_token(0, ca.token, ca.id, backup);
	if (err)
		return fail_errno(err, "subflow set");
	print_done(&ca, "backup", backup, backup ? "backup on (MP_PRIO sent)" : "backup off (MP_PRIO sent)");
	return 0;
}

static void text_ms(const char *name, uint32_t ms)
{
	if (ms == UINT32_MAX)
		printf("  %-18s unknown\n", name);
	else
		printf("  %-18s %u ms\n", name, ms);
}

/* subflow getsockopt token T id I info */
int cli_subflow_tcp_info(uint32_t token, uint32_t id)
{
	struct subflow_tcp_info ti;
	int err;

	err = subflow_get_tcp_info_by_token(0, token, id, &ti);
	if (err == -ESRCH)
		return fail("no MPTCP subflow with id %u in a connection with token 0x%08x (%u) in this network namespace",
			    id, token, token);
	if (err)
		return fail_errno(err, "subflow getsockopt info");
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "token", token);
		jsonw_uint_field(json_wtr, "id", id);
		jsonw_string_field(json_wtr, "option", "info");
		jsonw_name(json_wtr, "value");
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "state", subflow_tcp_state_name(ti.state));
		jsonw_uint_field(json_wtr, "ca_state", ti.ca_state);
		jsonw_uint_field(json_wtr, "rtt_us", ti.rtt_us);
		jsonw_uint_field(json_wtr, "rttvar_us", ti.rttvar_us);
		jsonw_uint_field(json_wtr, "min_rtt_us", ti.min_rtt_us);
		jsonw_uint_field(json_wtr, "rto_us", ti.rto_us);
		jsonw_uint_field(json_wtr, "snd_cwnd", ti.snd_cwnd);
		jsonw_uint_field(json_wtr, "snd_ssthresh", ti.snd_ssthresh);
		jsonw_uint_field(json_wtr, "snd_mss", ti.snd_mss);
		jsonw_uint_field(json_wtr, "unacked", ti.unacked);
		jsonw_uint_field(json_wtr, "retrans", ti.retrans_out);
		jsonw_uint_field(json_wtr, "lost", ti.lost_out);
		jsonw_uint_field(json_wtr, "retransmits", ti.retransmits);
		jsonw_uint_field(json_wtr, "total_retrans", ti.total_retrans);
		jsonw_uint_field(json_wtr, "bytes_sent", ti.bytes_sent);
		jsonw_uint_field(json_wtr, "bytes_retrans", ti.bytes_retrans);
		jsonw_uint_field(json_wtr, "bytes_acked", ti.bytes_acked);
		jsonw_uint_field(json_wtr, "bytes_received", ti.bytes_received);
		jsonw_name(json_wtr, "pacing_rate");	/* bytes/s; null: no limit */
		if (ti.pacing_rate == UINT64_MAX)
			jsonw_null(json_wtr);
		else
			jsonw_uint(json_wtr, ti.pacing_rate);
		jsonw_name(json_wtr, "last_ack_recv_ms");
		if (ti.last_ack_recv_ms == UINT32_MAX)
			jsonw_null(json_wtr);
		else
			jsonw_uint(json_wtr, ti.last_ack_recv_ms);
		jsonw_end_object(json_wtr);
		jsonw_end_object(json_wtr);
		return 0;
	}
	printf("subflow %u of connection 0x%08x: %s\n", id, token, subflow_tcp_state_name(ti.state));
	printf("  %-18s %u us (var %u us, min %u us)\n", "rtt", ti.rtt_us, ti.rttvar_us, ti.min_rtt_us);
	printf("  %-18s %u us\n", "rto", ti.rto_us);
	printf("  %-18s %u packets, ssthresh %u, mss %u\n", "cwnd", ti.snd_cwnd, ti.snd_ssthresh,
	       ti.snd_mss);
	printf("  %-18s %u (retransmitted %u, lost %u)\n", "unacked", ti.unacked, ti.retrans_out,
	       ti.lost_out);
	printf("  %-18s %u total, %u in a row\n", "retransmissions", ti.total_retrans, ti.retransmits);
	printf("  %-18s %llu (retransmitted %llu)\n", "bytes sent", (unsigned long long)ti.bytes_sent,
	       (unsigned long long)ti.bytes_retrans);
	printf("  %-18s %llu\n", "bytes acked", (unsigned long long)ti.bytes_acked);
	printf("  %-18s %llu\n", "bytes received", (unsigned long long)ti.bytes_received);
	if (ti.pacing_rate == UINT64_MAX)
		printf("  %-18s unlimited\n", "pacing rate");
	else
		printf("  %-18s %llu B/s\n", "pacing rate", (unsigned long long)ti.pacing_rate);
	text_ms("last ack", ti.last_ack_recv_ms);
	return 0;
}
