// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The capacity of the connection table, chosen before the engine loads:
 * every object that shares the maps must declare them with the same size
 * (libbpf reuses a pinned map only when it matches), so engine.c applies it
 * to each object between open and load.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

#define MAX_CONNS_LIMIT (1U << 24)

static uint32_t max_conns;	/* 0: $SUBFLOW_MAX_CONNS, else the default */

int subflow_set_max_conns(uint32_t n)
{
	if (!n || n > MAX_CONNS_LIMIT)
		return -EINVAL;
	max_conns = n;
	return 0;
}

static uint32_t chosen_max_conns(void)
{
	const char *env;
	char *end;
	unsigned long n;

	if (max_conns)
		return max_conns;
	env = secure_getenv(SUBFLOW_MAX_CONNS_ENV);
	if (env && *env) {
		errno = 0;
		n = strtoul(env, &end, 10);
		if (!errno && !*end && n && n <= MAX_CONNS_LIMIT)
			return n;
		pr_warn("ignoring %s=%s: not a number from 1 to %u\n", SUBFLOW_MAX_CONNS_ENV, env,
			MAX_CONNS_LIMIT);
	}
	return SUBFLOW_DEFAULT_MAX_CONNS;
}

int subflow_size_maps(struct bpf_object *obj)
{
	uint32_t conns = chosen_max_conns();
	struct bpf_map *map;
	int err;

	map = bpf_object__find_map_by_name(obj, "conns");
	if (map) {
		err = bpf_map__set_max_entries(map, conns);
		if (err)
			return err;
	}
	map = bpf_object__find_map_by_name(obj, "subflow_overflow");
	if (map) {
		uint32_t overflow = conns / SUBFLOW_OVERFLOW_PER_CONN_DIV;

		err = bpf_map__set_max_entries(map, overflow ? overflow : 1);
		if (err)
			return err;
	}
	return 0;
}
