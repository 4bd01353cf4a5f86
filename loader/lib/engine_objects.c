// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The engine's BPF objects: the one place that says which skeletons make up
 * the engine, how each one is used (its kind) and what it pins. engine.c
 * loads, attaches, reports and unloads by walking this table; adding an
 * object is adding an entry here (and its skeleton header).
 *
 * Order matters: objects load in table order, and a cgroup attachment
 * creates its links in table order, so the tracker (first) runs before the
 * programs that read its entries. The table's first program is the marker:
 * its program pin says "the engine is loaded" and its per-cgroup link pin
 * says "this cgroup is attached"; both are pinned last.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "track.skel.h"
#include "snapshot.skel.h"
#include "admit.skel.h"
#include "mptcpify.skel.h"
#include "pmlog.skel.h"
#include "cc_coupled.skel.h"

/* Typed skeleton calls behind untyped pointers, for the table. */
#define SKELETON_OPS(name)							\
	static void *name##_open(const struct bpf_object_open_opts *opts)	\
	{									\
		return name##_bpf__open_opts(opts);				\
	}									\
	static int name##_load(void *skel)					\
	{									\
		return name##_bpf__load(skel);					\
	}									\
	static void name##_destroy(void *skel)					\
	{									\
		name##_bpf__destroy(skel);					\
	}									\
	static struct bpf_object *name##_object(void *skel)			\
	{									\
		return ((struct name##_bpf *)skel)->obj;			\
	}
#define SKELETON(name) \
	.open = name##_open, .load = name##_load, .destroy = name##_destroy, .object = name##_object

SKELETON_OPS(track)
SKELETON_OPS(snapshot)
SKELETON_OPS(admit)
SKELETON_OPS(mptcpify)
SKELETON_OPS(pmlog)
SKELETON_OPS(cc_coupled)

const struct subflow_object subflow_objects[] = {
	{
		.name = "tracker", .kind = SUBFLOW_OBJ_CGROUP, SKELETON(track),
		.pins = (const struct subflow_object_pin[]) {
			{ .prog = "subflow_track", .pin = PIN_PROG_TRACK,
			  .attach = BPF_CGROUP_SOCK_OPS, .link = "" },
			{ 0 },
		},
	},
	{
		.name = "snapshot", .kind = SUBFLOW_OBJ_PINNED, SKELETON(snapshot),
		.pins = (const struct subflow_object_pin[]) {
			{ .prog = "subflow_iter", .pin = PIN_PROG_SNAPSHOT },
			{ 0 },
		},
	},
	{
		.name = "admission", .kind = SUBFLOW_OBJ_CGROUP, SKELETON(admit),
		.pins = (const struct subflow_object_pin[]) {
			{ .prog = "subflow_connect4", .pin = "prog_connect4",
			  .attach = BPF_CGROUP_INET4_CONNECT, .link = "_connect4" },
			{ .prog = "subflow_connect6", .pin = "prog_connect6",
			  .attach = BPF_CGROUP_INET6_CONNECT, .link = "_connect6" },
			{ .prog = "subflow_bind4", .pin = "prog_bind4",
			  .attach = BPF_CGROUP_INET4_BIND, .link = "_bind4" },
			{ .prog = "subflow_bind6", .pin = "prog_bind6",
			  .attach = BPF_CGROUP_INET6_BIND, .link = "_bind6" },
			{ 0 },
		},
	},
	{
		/* The daemon's decisions onto the event ring (BPF_PROG_RUN). */
		.name = "path manager log", .kind = SUBFLOW_OBJ_PINNED, SKELETON(pmlog),
		.pins = (const struct subflow_object_pin[]) {
			{ .prog = "subflow_pmlog", .pin = "prog_pmlog" },
			{ 0 },
		},
	},
	{
		/* fmod_ret needs tracing trampolines, which some kernels
		 * (lockdown) refuse: the rest of the engine works without. */
		.name = "mptcpify", .kind = SUBFLOW_OBJ_GLOBAL, SKELETON(mptcpify),
		.optional = true, .needs = "fmod_ret on update_socket_protocol",
		.explain = subflow_fmod_ret_explain,
		.pins = (const struct subflow_object_pin[]) {
			{ .prog = "subflow_mptcpify", .pin = "prog_mptcpify",
			  .link = "link_mptcpify" },
			{ 0 },
		},
	},
	{
		/* Coupled congestion controls (cc.c). Each is registered
		 * through its pinned link: unpinning it (unload) unregisters
		 * it, and a loader that dies before pinning leaves nothing.
		 * A name another engine instance (or anything else) already
		 * registered is a warning, and the others go on. */
		.name = "coupled congestion control", .kind = SUBFLOW_OBJ_STRUCT_OPS,
		SKELETON(cc_coupled), .optional = true,
		.needs = "struct_ops tcp_congestion_ops",
		.pins = (const struct subflow_object_pin[]) {
			{ .map = "mptcp_lia", .link = "link_cc_mptcp_lia" },
			{ .map = "mptcp_olia", .link = "link_cc_mptcp_olia" },
			{ .map = "mptcp_balia", .link = "link_cc_mptcp_balia" },
			{ 0 },
		},
	},
};
const size_t subflow_nr_objects = sizeof(subflow_objects) / sizeof(subflow_objects[0]);

/* The map definitions of every object, by name, for checking pinned maps:
 * read once per process from the objects themselves (opened, never loaded),
 * so that the check follows bpf/maps.bpf.h without a copy of it here. */
static struct subflow_map_def *map_defs;
static size_t nr_map_defs;
static pthread_once_t map_defs_once = PTHREAD_ONCE_INIT;

static void add_map_defs(struct bpf_object *obj)
{
	struct subflow_map_def *grown;
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t i;

		if (bpf_map__is_internal(map) || bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		for (i = 0; i < nr_map_defs && strcmp(map_defs[i].name, name); i++)
			;
		if (i < nr_map_defs)
			continue;
		grown = realloc(map_defs, (nr_map_defs + 1) * sizeof(*map_defs));
		if (!grown)
			return;
		map_defs = grown;
		map_defs[nr_map_defs++] = (struct subflow_map_def){
			.type = bpf_map__type(map),
			.key_size = bpf_map__key_size(map),
			.value_size = bpf_map__value_size(map),
		};
		snprintf(map_defs[nr_map_defs - 1].name, sizeof(map_defs->name), "%s", name);
	}
}

static void read_map_defs(void)
{
	for (size_t i = 0; i < subflow_nr_objects; i++) {
		void *skel = subflow_objects[i].open(NULL);

		if (!skel)
			continue;
		add_map_defs(subflow_objects[i].object(skel));
		subflow_objects[i].destroy(skel);
	}
}

int subflow_object_map_def(const char *name, struct subflow_map_def *def)
{
	pthread_once(&map_defs_once, read_map_defs);
	for (size_t i = 0; i < nr_map_defs; i++) {
		if (!strcmp(map_defs[i].name, name)) {
			*def = map_defs[i];
			return 0;
		}
	}
	return -ENOENT;
}
