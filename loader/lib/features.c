// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the running kernel offers the engine, read from its BTF
 * (/sys/kernel/btf/vmlinux): the fields and kfuncs the BPF programs need,
 * and the optional features status reports. Checked before loading, so that
 * a kernel too old for the engine gets a sentence naming what it lacks and
 * since when Linux has it, not a verifier log.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "internal.h"

#define MIN_KERNEL "Linux 6.5"

static const struct subflow_feature features[] = {
	/* Required: the engine's programs do not load without them. */
	{ "MPTCP subflow ids (struct mptcp_subflow_context.subflow_id)", "mptcp_subflow_context",
	  "subflow_id", SUBFLOW_FEATURE_MEMBER, true, "Linux 6.5" },
	{ "MPTCP_FULL_INFO (struct mptcp_full_info)", "mptcp_full_info", NULL,
	  SUBFLOW_FEATURE_STRUCT, true, "Linux 6.5" },
	{ "cgroup ancestors (struct cgroup.ancestors)", "cgroup", "ancestors",
	  SUBFLOW_FEATURE_MEMBER, true, "Linux 6.2" },
	{ "read-only casts (bpf_rdonly_cast kfunc)", "bpf_rdonly_cast", NULL, SUBFLOW_FEATURE_FUNC,
	  true, "Linux 6.2" },
	{ "sockops MPTCP subflows (bpf_skc_to_mptcp_sock)", "bpf_skc_to_mptcp_sock", NULL,
	  SUBFLOW_FEATURE_FUNC, true, "Linux 5.19" },
	/* Optional: one feature each, reported by status. */
	{ "state callback from iterators (TCP_BPF_SOCK_OPS_CB_FLAGS)", "TCP_BPF_SOCK_OPS_CB_FLAGS",
	  NULL, SUBFLOW_FEATURE_ENUMERATOR, false, NULL },
	{ "close one subflow (bpf_sock_destroy kfunc)", "bpf_sock_destroy", NULL,
	  SUBFLOW_FEATURE_FUNC, false, "Linux 6.5" },
	{ "coupled congestion control (tcp_congestion_ops struct_ops)",
	  "bpf_struct_ops_tcp_congestion_ops", NULL, SUBFLOW_FEATURE_STRUCT, false, NULL },
	{ "struct_ops links (BPF_STRUCT_OPS attach type)", "BPF_STRUCT_OPS", NULL,
	  SUBFLOW_FEATURE_ENUMERATOR, false, "Linux 6.4" },
	{ "BPF MPTCP path manager (mptcp_pm_ops struct_ops)", "bpf_struct_ops_mptcp_pm_ops", NULL,
	  SUBFLOW_FEATURE_STRUCT, false, NULL },
	{ "BPF MPTCP scheduler (mptcp_sched_ops struct_ops)", "bpf_struct_ops_mptcp_sched_ops", NULL,
	  SUBFLOW_FEATURE_STRUCT, false, NULL },
	{ "MPTCP subflow iterator kfuncs", "bpf_iter_mptcp_subflow_new", NULL, SUBFLOW_FEATURE_FUNC,
	  false, NULL },
};
#define NR_FEATURES (sizeof(features) / sizeof(features[0]))

/* An enumerator is found by scanning enums: btf__find_by_name_kind does
 * not look inside them. */
static bool has_enumerator(const struct btf *btf, const char *name)
{
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++)
			if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name))
				return true;
	}
	return false;
}

/* A member of struct/union type_id, or of one of its anonymous struct or
 * union members (as mptcp_subflow_context's fields are). */
static bool type_has_member(const struct btf *btf, __u32 type_id, const char *member, int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)) || depth > 8)
		return false;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(btf, m[i].name_off);

		if (name && !strcmp(name, member))
			return true;
		if ((!name || !*name) && type_has_member(btf, m[i].type, member, depth + 1))
			return true;
	}
	return false;
}

static bool has_member(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);

	return id > 0 && type_has_member(btf, id, member, 0);
}

static bool probe_one(const struct btf *btf, const struct subflow_feature *f)
{
	switch (f->kind) {
	case SUBFLOW_FEATURE_MEMBER:
		return has_member(btf, f->btf_name, f->member);
	case SUBFLOW_FEATURE_STRUCT:
		return btf__find_by_name_kind(btf, f->btf_name, BTF_KIND_STRUCT) > 0;
	case SUBFLOW_FEATURE_FUNC:
		return btf__find_by_name_kind(btf, f->btf_name, BTF_KIND_FUNC) > 0;
	case SUBFLOW_FEATURE_ENUMERATOR:
		return has_enumerator(btf, f->btf_name);
	}
	return false;
}

size_t subflow_features_probe_btf(const struct btf *btf, struct subflow_feature *out,
				  size_t max)
{
	for (size_t i = 0; i < NR_FEATURES && i < max; i++) {
		out[i] = features[i];
		out[i].found = btf && probe_one(btf, &features[i]);
	}
	return NR_FEATURES;
}

int subflow_features_probe(struct subflow_feature *out, size_t max, size_t *count)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int err = btf ? 0 : -errno;

	*count = subflow_features_probe_btf(btf, out, max);
	btf__free(btf);
	return err;
}

int subflow_features_check(const struct subflow_feature *f, size_t n)
{
	char missing[1024] = "";
	size_t len;

	for (size_t i = 0; i < n; i++) {
		if (!f[i].required || f[i].found)
			continue;
		len = strlen(missing);
		snprintf(missing + len, sizeof(missing) - len, "%s%s (%s)", len ? "; " : "",
			 f[i].name, f[i].since);
	}
	if (!missing[0])
		return 0;
	pr_err("this kernel lacks what the engine needs: %s; the engine needs %s or later\n",
	       missing, MIN_KERNEL);
	return -EOPNOTSUPP;
}

int subflow_features_require(void)
{
	struct subflow_feature f[NR_FEATURES];
	size_t n;
	int err;

	err = subflow_features_probe(f, NR_FEATURES, &n);
	if (err) {
		pr_err("cannot read the kernel's BTF (/sys/kernel/btf/vmlinux, "
		       "CONFIG_DEBUG_INFO_BTF): %s\n", strerror(-err));
		return err;
	}
	return subflow_features_check(f, n);
}
