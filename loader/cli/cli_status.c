// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflowctl status: what is loaded, where it is attached, how full the maps
 * are, and which kernel features the engine found. subflowctl unload. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "subflow_cc.h"

struct prog_row {
	const char *pin;
	struct bpf_prog_info info;
	bool present;
};

struct map_row {
	const char *name;
	struct bpf_map_info info;
	long long entries;	/* -1: not countable (ring buffer, socket storage) */
	bool present;
};

static void read_sysctl(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	snprintf(buf, size, "?");
	if (!f)
		return;
	if (fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void read_prog(struct prog_row *row)
{
	__u32 len = sizeof(row->info);
	int fd;

	fd = subflow_pin_get(row->pin);
	if (fd < 0)
		return;
	row->present = !bpf_obj_get_info_by_fd(fd, &row->info, &len);
	close(fd);
}

static void read_map(struct map_row *row)
{
	char key[64], next[64];
	__u32 len = sizeof(row->info);
	void *prev = NULL;
	int fd;

	row->entries = -1;
	fd = subflow_pin_get(row->name);
	if (fd < 0)
		return;
	row->present = !bpf_obj_get_info_by_fd(fd, &row->info, &len);
	if (row->present && (row->info.type == BPF_MAP_TYPE_HASH ||
			     row->info.type == BPF_MAP_TYPE_PERCPU_ARRAY) &&
	    row->info.key_size <= sizeof(key)) {
		row->entries = 0;
		while (!bpf_map_get_next_key(fd, prev, next)) {
			row->entries++;
			memcpy(key, next, row->info.key_size);
			prev = key;
		}
	}
	close(fd);
}

/* The program pins of every object in the engine's table. */
static struct prog_row *read_progs(size_t *count)
{
	const struct subflow_object_pin *p;
	struct prog_row *rows;
	size_t n = 0, i;

	for (i = 0; i < subflow_nr_objects; i++)
		subflow_for_each_pin(&subflow_objects[i], p)
			n++;
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows)
		return NULL;
	n = 0;
	for (i = 0; i < subflow_nr_objects; i++) {
		subflow_for_each_pin(&subflow_objects[i], p) {
			if (!p->pin)
				continue;
			rows[n].pin = p->pin;
			read_prog(&rows[n++]);
		}
	}
	*count = n;
	return rows;
}

static bool object_present(const char *name)
{
	for (size_t i = 0; i < subflow_nr_objects; i++)
		if (!strcmp(subflow_objects[i].name, name))
			return subflow_object_present(&subflow_objects[i]);
	return false;
}

static const char *const object_kind_names[] = {
	[SUBFLOW_OBJ_CGROUP] = "cgroup",
	[SUBFLOW_OBJ_PINNED] = "pinned",
	[SUBFLOW_OBJ_GLOBAL] = "global",
	[SUBFLOW_OBJ_STRUCT_OPS] = "struct_ops",
};

static void json_objects(void)
{
	jsonw_name(json_wtr, "objects");
	jsonw_start_array(json_wtr);
	for (size_t i = 0; i < subflow_nr_objects; i++) {
		const struct subflow_object *o = &subflow_objects[i];

		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "name", o->name);
		jsonw_string_field(json_wtr, "kind", object_kind_names[o->kind]);
		jsonw_bool_field(json_wtr, "optional", o->optional);
		jsonw_bool_field(json_wtr, "loaded", subflow_object_present(o));
		if (o->needs)
			jsonw_string_field(json_wtr, "needs", o->needs);
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
}

/* Optional objects: one line each, loaded or not, and what they need. */
static void print_optional_objects(void)
{
	char what[128];

	for (size_t i = 0; i < subflow_nr_objects; i++) {
		const struct subflow_object *o = &subflow_objects[i];

		if (!o->optional)
			continue;
		snprintf(what, sizeof(what), "%s (optional: %s)", o->name, o->needs);
		printf("  %-62s %s\n", what, subflow_object_present(o) ? "loaded" :
		       "no (the kernel refused it: see the load warning)");
	}
}

/* The coupled congestion controls: who registered each name, and the
 * engine's counters for them. */
static const char *const cc_stat_names[SUBFLOW_CC_STAT_MAX] = {
	"coupled_subflows", "reno_sockets", "map_full", "slots_full",
};

struct cc_report {
	struct subflow_cc_state cc[8];
	size_t n;	/* at most the 8 of cc[] */
	uint64_t stats[SUBFLOW_CC_STAT_MAX];
	bool have_stats;
};

static void read_cc(struct cc_report *r, bool loaded)
{
	memset(r, 0, sizeof(*r));
	subflow_cc_list(r->cc, 8, &r->n);
	if (r->n > 8)
		r->n = 8;	/* the total, which may exceed what was written */
	r->have_stats = loaded && !subflow_percpu_sums(MAP_CC_STATS, SUBFLOW_CC_STAT_MAX, r->stats);
}

static void json_cc(bool loaded)
{
	struct cc_report r;
	struct subflow_cc_state *cc = r.cc;

	read_cc(&r, loaded);
	jsonw_name(json_wtr, "congestion_controls");
	jsonw_start_array(json_wtr);
	for (size_t i = 0; i < r.n; i++) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "name", cc[i].name);
		jsonw_bool_field(json_wtr, "registered", cc[i].registered);
		jsonw_bool_field(json_wtr, "by_this_engine", cc[i].by_this_engine);
		if (cc[i].by_this_engine) {
			jsonw_uint_field(json_wtr, "link_id", cc[i].link_id);
			jsonw_uint_field(json_wtr, "map_id", cc[i].map_id);
		} else if (cc[i].other_map_id) {
			jsonw_uint_field(json_wtr, "other_map_id", cc[i].other_map_id);
		}
		jsonw_bool_field(json_wtr, "unprivileged_allowed", cc[i].unprivileged);
		jsonw_end_object(json_wtr);
	}
	jsonw_end_array(json_wtr);
	jsonw_name(json_wtr, "cc_counters");
	jsonw_start_object(json_wtr);
	for (int i = 0; r.have_stats && i < SUBFLOW_CC_STAT_MAX; i++)
		jsonw_uint_field(json_wtr, cc_stat_names[i], r.stats[i]);
	jsonw_end_object(json_wtr);
}

static void print_cc(bool loaded)
{
	struct cc_report r;
	struct subflow_cc_state *cc = r.cc;

	read_cc(&r, loaded);
	printf("\ncongestion controls:\n");
	for (size_t i = 0; i < r.n; i++) {
		if (cc[i].by_this_engine)
			printf("  %-12s registered by this engine (link id %u, struct_ops map id %u)%s\n",
			       cc[i].name, cc[i].link_id, cc[i].map_id,
			       cc[i].unprivileged ? ", allowed to unprivileged users" : "");
		else if (cc[i].registered && cc[i].other_map_id)
			printf("  %-12s registered by ANOTHER engine instance or program (struct_ops map id %u), not this one\n",
			       cc[i].name, cc[i].other_map_id);
		else if (cc[i].registered)
			printf("  %-12s registered by something else, not this engine\n", cc[i].name);
		else
			printf("  %-12s not registered\n", cc[i].name);
	}
	if (r.have_stats) {
		printf("  counters:");
		for (int i = 0; i < SUBFLOW_CC_STAT_MAX; i++)
			printf(" %s %" PRIu64, cc_stat_names[i], r.stats[i]);
		printf("\n");
	}
}

/* Which mechanism turns unmodified programs' TCP sockets into MPTCP here:
 * fmod_ret (mptcpify) when the kernel lets it load and attach, else the
 * launcher; and why not fmod_ret, in the kernel's words. */
struct mechanism {
	bool fmod_ret;
	bool probed;		/* false: mptcpify attached, or not root */
	struct subflow_fmod_ret_probe probe;
	char reason[256];
	char lockdown[32];
};

static void find_mechanism(struct mechanism *m, bool mptcpify_active)
{
	memset(m, 0, sizeof(*m));
	if (subflow_lockdown_mode(m->lockdown, sizeof(m->lockdown)))
		m->lockdown[0] = '\0';
	if (mptcpify_active) {
		m->fmod_ret = true;
		snprintf(m->reason, sizeof(m->reason), "mptcpify is attached");
		return;
	}
	if (geteuid() != 0) {
		snprintf(m->reason, sizeof(m->reason), "not probed: loading a BPF program needs root");
		return;
	}
	m->probed = true;
	m->fmod_ret = !subflow_probe_fmod_ret(&m->probe);
	subflow_fmod_ret_reason(&m->probe, m->reason, sizeof(m->reason));
}

static void print_mechanism_json(const struct mechanism *m)
{
	jsonw_name(json_wtr, "tcp_to_mptcp");
	jsonw_start_object(json_wtr);
	jsonw_string_field(json_wtr, "mechanism", m->fmod_ret ? "fmod_ret" : "launcher");
	jsonw_name(json_wtr, "fmod_ret_available");
	if (m->probed || m->fmod_ret)
		jsonw_bool(json_wtr, m->fmod_ret);
	else
		jsonw_null(json_wtr);	/* not root: not probed */
	if (m->probed && m->probe.err) {
		jsonw_string_field(json_wtr, "fmod_ret_step", m->probe.step);
		jsonw_string_field(json_wtr, "fmod_ret_errno", strerrorname_np(-m->probe.err) ?: "?");
	}
	jsonw_string_field(json_wtr, "reason", m->reason);
	if (m->lockdown[0])
		jsonw_string_field(json_wtr, "lockdown", m->lockdown);
	jsonw_end_object(json_wtr);
}

static void print_mechanism_text(const struct mechanism *m, bool mptcpify_active)
{
	if (m->fmod_ret)
		printf("  %-62s fmod_ret (%s)\n", "TCP -> MPTCP for unmodified programs",
		       mptcpify_active ? "mptcpify attached: `mptcpify on` in a policy"
				       : "mptcpify attaches when the engine loads");
	else
		printf("  %-62s launcher: subflowctl run -- PROGRAM\n",
		       "TCP -> MPTCP for unmodified programs");
	if (!m->fmod_ret)
		printf("  %-62s %s\n", "  fmod_ret unavailable", m->reason);
}

static const char *prog_type_name(__u32 type)
{
	const char *name = libbpf_bpf_prog_type_str(type);

	return name ? name : "unknown";
}

/* "yes", "no", or "MISSING (required, since Linux 6.5)". */
static void print_feature(const struct subflow_feature *f)
{
	char why[64] = "no";

	if (f->found)
		snprintf(why, sizeof(why), "yes");
	else if (f->required)
		snprintf(why, sizeof(why), "MISSING (required%s%s)", f->since ? ", since " : "",
			 f->since ? f->since : "");
	printf("  %-62s %s\n", f->name, why);
}

#define MAX_FEATURES 32

int do_status(int argc, char **argv)
{
	struct subflow_feature features[MAX_FEATURES];
	size_t nr_features;
	static const char *const stat_names[] = {
		"subflows_added", "subflows_removed", "map_full", "events_lost", "snapshot_found",
		"snapshot_no_close_cb", "record_deferred", "pending_note_lost", "policy_gone",
	};
	_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == SUBFLOW_STAT_MAX,
		       "a name for every SUBFLOW_STAT_*");
	struct prog_row *progs = NULL;
	size_t nr_progs = 0;
	struct map_row maps[MAP__COUNT];
	struct subflow_attachment *att = NULL;
	uint64_t stats[SUBFLOW_STAT_MAX] = {};
	char enabled[16], pms[64], pm[32];
	bool loaded, have_stats, mptcpify_active;
	struct mechanism mech;
	size_t nr_att = 0;
	int err;

	if (argc > 0)
		return usage_error("'status': unexpected argument '%s'", argv[0]);
	err = subflow_pin_dir_check();
	if (err && err != -ENOENT)
		return fail_errno(err, "status");
	loaded = subflow_engine_loaded();
	progs = read_progs(&nr_progs);
	if (!progs)
		return fail("out of memory");
	mptcpify_active = object_present("mptcpify");
	for (int i = 0; i < MAP__COUNT; i++) {
		memset(&maps[i], 0, sizeof(maps[i]));
		maps[i].name = subflow_map_names[i];
		read_map(&maps[i]);
	}
	if (subflow_cgroup_list_all(&att, &nr_att))
		nr_att = 0;
	have_stats = loaded && !subflow_get_stats(stats);
	nr_features = 0;
	subflow_features_probe(features, MAX_FEATURES, &nr_features);
	if (nr_features > MAX_FEATURES)
		nr_features = MAX_FEATURES;
	find_mechanism(&mech, mptcpify_active);
	read_sysctl("/proc/sys/net/mptcp/enabled", enabled, sizeof(enabled));
	read_sysctl("/proc/sys/net/mptcp/available_path_managers", pms, sizeof(pms));
	read_sysctl("/proc/sys/net/mptcp/path_manager", pm, sizeof(pm));

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_bool_field(json_wtr, "loaded", loaded);
		jsonw_string_field(json_wtr, "pin_dir", subflow_pin_dir());
		jsonw_uint_field(json_wtr, "abi_version", SUBFLOW_ABI_VERSION);
		jsonw_name(json_wtr, "programs");
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < nr_progs; i++) {
			if (!progs[i].present)
				continue;
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "name", progs[i].info.name);
			jsonw_uint_field(json_wtr, "id", progs[i].info.id);
			jsonw_string_field(json_wtr, "type", prog_type_name(progs[i].info.type));
			jsonw_string_field(json_wtr, "pin", progs[i].pin);
			jsonw_end_object(json_wtr);
		}
		jsonw_end_array(json_wtr);
		json_objects();
		jsonw_name(json_wtr, "attachments");
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < nr_att; i++) {
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "cgroup", att[i].path);
			jsonw_uint_field(json_wtr, "cgroup_id", att[i].cgroup_id);
			jsonw_uint_field(json_wtr, "link_id", att[i].link_id);
			jsonw_uint_field(json_wtr, "prog_id", att[i].prog_id);
			jsonw_end_object(json_wtr);
		}
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "maps");
		jsonw_start_array(json_wtr);
		for (int i = 0; i < MAP__COUNT; i++) {
			if (!maps[i].present)
				continue;
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "name", maps[i].name);
			jsonw_uint_field(json_wtr, "id", maps[i].info.id);
			if (maps[i].entries >= 0 && maps[i].info.type == BPF_MAP_TYPE_HASH)
				jsonw_uint_field(json_wtr, "entries", maps[i].entries);
			jsonw_uint_field(json_wtr, "max_entries", maps[i].info.max_entries);
			jsonw_end_object(json_wtr);
		}
		jsonw_end_array(json_wtr);
		jsonw_name(json_wtr, "counters");
		jsonw_start_object(json_wtr);
		for (int i = 0; have_stats && i < SUBFLOW_STAT_MAX; i++)
			jsonw_uint_field(json_wtr, stat_names[i], stats[i]);
		jsonw_end_object(json_wtr);
		json_cc(loaded);
		jsonw_name(json_wtr, "kernel");
		jsonw_start_object(json_wtr);
		jsonw_bool_field(json_wtr, "mptcp_enabled", !strcmp(enabled, "1"));
		jsonw_bool_field(json_wtr, "mptcpify_active", mptcpify_active);
		jsonw_string_field(json_wtr, "path_manager", pm);
		jsonw_string_field(json_wtr, "available_path_managers", pms);
		print_mechanism_json(&mech);
		jsonw_name(json_wtr, "features");
		jsonw_start_object(json_wtr);
		for (size_t i = 0; i < nr_features; i++)
			jsonw_bool_field(json_wtr, features[i].btf_name, features[i].found);
		jsonw_end_object(json_wtr);
		jsonw_name(json_wtr, "missing_required");
		jsonw_start_array(json_wtr);
		for (size_t i = 0; i < nr_features; i++)
			if (features[i].required && !features[i].found)
				jsonw_string(json_wtr, features[i].name);
		jsonw_end_array(json_wtr);
		jsonw_end_object(json_wtr);
		cli_status_daemon();
		jsonw_end_object(json_wtr);
		free(att);
		free(progs);
		return 0;
	}

	printf("engine:      %s (pin dir %s, map ABI %d)\n", loaded ? "loaded" : "not loaded",
	       subflow_pin_dir(), SUBFLOW_ABI_VERSION);
	if (loaded) {
		printf("\nprograms:\n");
		for (size_t i = 0; i < nr_progs; i++)
			if (progs[i].present)
				printf("  %-18s id %-6u %s\n", progs[i].info.name, progs[i].info.id,
				       prog_type_name(progs[i].info.type));
		printf("\nattached to: %s\n", nr_att ? "" : "no cgroup");
		for (size_t i = 0; i < nr_att; i++)
			printf("  %s (cgroup id %" PRIu64 ", link id %u)\n",
			       att[i].path[0] ? att[i].path : "(removed cgroup)", att[i].cgroup_id,
			       att[i].link_id);
		printf("\nmaps:\n");
		for (int i = 0; i < MAP__COUNT; i++) {
			if (!maps[i].present)
				continue;
			if (maps[i].info.type == BPF_MAP_TYPE_HASH)
				printf("  %-18s id %-6u %lld / %u entries\n", maps[i].name,
				       maps[i].info.id, maps[i].entries, maps[i].info.max_entries);
			else if (maps[i].info.type == BPF_MAP_TYPE_RINGBUF)
				printf("  %-18s id %-6u %u KiB ring buffer\n", maps[i].name,
				       maps[i].info.id, maps[i].info.max_entries / 1024);
			else
				printf("  %-18s id %-6u\n", maps[i].name, maps[i].info.id);
		}
		if (have_stats) {
			printf("\ncounters:\n");
			for (int i = 0; i < SUBFLOW_STAT_MAX; i++)
				printf("  %-18s %" PRIu64 "\n", stat_names[i], stats[i]);
		}
	}
	print_cc(loaded);
	printf("\nkernel:\n  MPTCP %s, path manager %s (available: %s)\n",
	       !strcmp(enabled, "1") ? "enabled" : "DISABLED", pm, pms);
	if (loaded)
		print_optional_objects();
	print_mechanism_text(&mech, mptcpify_active);
	for (size_t i = 0; i < nr_features; i++)
		print_feature(&features[i]);
	cli_status_daemon();
	free(att);
	free(progs);
	return 0;
}

int do_unload(int argc, char **argv)
{
	int err;

	if (argc > 0)
		return usage_error("'unload': unexpected argument '%s'", argv[0]);
	err = subflow_engine_unload();
	if (err == -ENOENT && !lib_error_logged())
		return fail("nothing to unload: the engine is not loaded in %s", subflow_pin_dir());
	if (err)
		return fail_errno(err, "unload");
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_bool_field(json_wtr, "unloaded", true);
		jsonw_string_field(json_wtr, "pin_dir", subflow_pin_dir());
		jsonw_end_object(json_wtr);
	}
	return 0;
}
