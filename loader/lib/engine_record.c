// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The engine record (struct subflow_engine_record, include/subflow_abi.h):
 * a one-entry array pinned as "engine" that says which map ABI the pin
 * directory follows and which pins its load created. It is created here,
 * with BTF, so that `bpftool map dump pinned DIR/engine` prints its fields.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "internal.h"

/* BTF of the record: key __u32, value struct subflow_engine_record. Returns
 * a BTF fd (and the type ids), or -errno: then the map has no BTF. */
static int record_btf(__u32 *key_id, __u32 *value_id)
{
	struct btf *btf = btf__new_empty();
	int u32, u64, chr, name, names, rec, fd;

	if (!btf)
		return -errno;
	u32 = btf__add_int(btf, "__u32", 4, 0);
	u64 = btf__add_int(btf, "__u64", 8, 0);
	chr = btf__add_int(btf, "char", 1, BTF_INT_SIGNED);
	name = btf__add_array(btf, u32, chr, SUBFLOW_PIN_NAME_LEN);
	names = btf__add_array(btf, u32, name, SUBFLOW_ENGINE_MAX_PINS);
	rec = btf__add_struct(btf, "subflow_engine_record", sizeof(struct subflow_engine_record));
	if (u32 < 0 || u64 < 0 || chr < 0 || name < 0 || names < 0 || rec < 0 ||
	    btf__add_field(btf, "abi_version", u32,
			   offsetof(struct subflow_engine_record, abi_version) * 8, 0) ||
	    btf__add_field(btf, "nr_pins", u32,
			   offsetof(struct subflow_engine_record, nr_pins) * 8, 0) ||
	    btf__add_field(btf, "loaded_ns", u64,
			   offsetof(struct subflow_engine_record, loaded_ns) * 8, 0) ||
	    btf__add_field(btf, "pins", names,
			   offsetof(struct subflow_engine_record, pins) * 8, 0) ||
	    btf__load_into_kernel(btf)) {
		btf__free(btf);
		return -EINVAL;
	}
	fd = dup(btf__fd(btf));
	btf__free(btf);
	*key_id = u32;
	*value_id = rec;
	return fd < 0 ? -errno : fd;
}

int subflow_record_write(char (*pins)[SUBFLOW_PIN_NAME_LEN], size_t nr_pins)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct subflow_engine_record *rec;
	struct timespec now;
	int btf_fd, map_fd, err;
	__u32 zero = 0;

	if (nr_pins > SUBFLOW_ENGINE_MAX_PINS) {
		pr_err("the engine has %zu pins, more than an engine record holds (%d)\n", nr_pins,
		       SUBFLOW_ENGINE_MAX_PINS);
		return -E2BIG;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->abi_version = SUBFLOW_ABI_VERSION;
	rec->nr_pins = nr_pins;
	clock_gettime(CLOCK_REALTIME, &now);
	rec->loaded_ns = now.tv_sec * 1000000000ULL + now.tv_nsec;
	memcpy(rec->pins, pins, nr_pins * SUBFLOW_PIN_NAME_LEN);

	btf_fd = record_btf(&opts.btf_key_type_id, &opts.btf_value_type_id);
	if (btf_fd >= 0)
		opts.btf_fd = btf_fd;
	else
		opts.btf_key_type_id = opts.btf_value_type_id = 0;
	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "subflow_engine", sizeof(__u32), sizeof(*rec),
				1, &opts);
	err = map_fd < 0 ? -errno : 0;
	if (!err && bpf_map_update_elem(map_fd, &zero, rec, BPF_ANY))
		err = -errno;
	if (!err)
		err = subflow_pin_fd(map_fd, SUBFLOW_ENGINE_RECORD_PIN, SUBFLOW_LOG_ERROR);
	else
		pr_err("cannot create the engine record: %s\n", strerror(-err));
	if (map_fd >= 0)
		close(map_fd);
	if (btf_fd >= 0)
		close(btf_fd);
	free(rec);
	return err;
}

int subflow_record_read(struct subflow_engine_record *rec)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	enum subflow_bpf_kind kind;
	char path[4096];
	void *value;
	int fd, err = 0;

	memset(rec, 0, sizeof(*rec));
	fd = subflow_pin_get(SUBFLOW_ENGINE_RECORD_PIN);
	if (fd < 0)
		return fd;
	subflow_pin_path(path, sizeof(path), SUBFLOW_ENGINE_RECORD_PIN);
	kind = subflow_bpf_fd_kind(fd);
	if (kind != SUBFLOW_BPF_MAP || bpf_obj_get_info_by_fd(fd, &info, &len) ||
	    info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
	    info.value_size < offsetof(struct subflow_engine_record, pins)) {
		pr_err("refusing %s: it is %s, not an engine record\n", path,
		       kind == SUBFLOW_BPF_MAP ? "a map of another kind" : subflow_bpf_kind_name(kind));
		close(fd);
		return -EPROTO;
	}
	/* A later layout only grows at its end: read ours from its start. */
	value = calloc(1, info.value_size > sizeof(*rec) ? info.value_size : sizeof(*rec));
	if (!value)
		err = -ENOMEM;
	else if (bpf_map_lookup_elem(fd, &zero, value))
		err = -errno;
	if (!err) {
		memcpy(rec, value, info.value_size < sizeof(*rec) ? info.value_size : sizeof(*rec));
		if (rec->nr_pins > SUBFLOW_ENGINE_MAX_PINS)
			rec->nr_pins = SUBFLOW_ENGINE_MAX_PINS;
		for (__u32 i = 0; i < rec->nr_pins; i++)
			rec->pins[i][SUBFLOW_PIN_NAME_LEN - 1] = '\0';
	}
	free(value);
	close(fd);
	return err;
}
