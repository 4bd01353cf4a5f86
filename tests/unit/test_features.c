// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Feature probing (loader/lib/features.c): a kernel lacking what the engine
 * needs is named field by field, from BTF. Synthetic BTF stands for older
 * kernels; the running kernel's BTF must have every required feature. */
#include <errno.h>
#include <string.h>
#include <bpf/btf.h>
#include "internal.h"
#include "check.h"

#define MAX 32

static char logged[2048];

static int capture(enum subflow_print_level level, const char *fmt, va_list ap)
{
	if (level == SUBFLOW_PRINT_ERROR)
		vsnprintf(logged, sizeof(logged), fmt, ap);
	return 0;
}

/* A BTF with what an old kernel has: struct cgroup { ancestors },
 * mptcp_subflow_context without subflow_id (optionally with it, inside an
 * anonymous union as in 6.x), mptcp_full_info, bpf_skc_to_mptcp_sock; no
 * bpf_rdonly_cast. */
static struct btf *old_kernel_btf(bool with_subflow_id, bool with_rdonly_cast)
{
	struct btf *btf = btf__new_empty();
	int u32, inner, anon, proto;

	u32 = btf__add_int(btf, "u32", 4, 0);
	btf__add_struct(btf, "cgroup", 8);
	btf__add_field(btf, "ancestors", u32, 0, 0);
	inner = btf__add_struct(btf, "", 4);
	btf__add_field(btf, with_subflow_id ? "subflow_id" : "local_id", u32, 0, 0);
	anon = btf__add_union(btf, "", 4);
	btf__add_field(btf, "", inner, 0, 0);
	btf__add_struct(btf, "mptcp_subflow_context", 4);
	btf__add_field(btf, "", anon, 0, 0);
	btf__add_struct(btf, "mptcp_full_info", 4);
	btf__add_field(btf, "size_tcpinfo_kernel", u32, 0, 0);
	proto = btf__add_func_proto(btf, u32);
	btf__add_func(btf, "bpf_skc_to_mptcp_sock", BTF_FUNC_GLOBAL, proto);
	if (with_rdonly_cast)
		btf__add_func(btf, "bpf_rdonly_cast", BTF_FUNC_GLOBAL, proto);
	return btf;
}

int main(void)
{
	struct subflow_feature f[MAX];
	struct btf *btf;
	size_t n;

	subflow_set_print(capture);

	btf = old_kernel_btf(false, false);
	n = subflow_features_probe_btf(btf, f, MAX);
	CHECK("old_kernel_refused", subflow_features_check(f, n) == -EOPNOTSUPP);
	CHECK("names_subflow_id_and_since",
	      strstr(logged, "struct mptcp_subflow_context.subflow_id) (Linux 6.5)") != NULL);
	CHECK("names_rdonly_cast_and_since",
	      strstr(logged, "bpf_rdonly_cast kfunc) (Linux 6.2)") != NULL);
	CHECK("does_not_name_what_it_has", strstr(logged, "cgroup.ancestors") == NULL &&
	      strstr(logged, "MPTCP_FULL_INFO") == NULL);
	CHECK("names_the_minimum", strstr(logged, "needs Linux 6.5 or later") != NULL);
	btf__free(btf);

	/* subflow_id inside an anonymous struct in an anonymous union. */
	btf = old_kernel_btf(true, true);
	n = subflow_features_probe_btf(btf, f, MAX);
	logged[0] = '\0';
	CHECK("nested_member_found", subflow_features_check(f, n) == 0 && !logged[0]);
	btf__free(btf);

	CHECK("no_btf_refused", subflow_features_check(f, subflow_features_probe_btf(NULL, f, MAX)) ==
	      -EOPNOTSUPP);

	/* This kernel: everything the engine needs. */
	logged[0] = '\0';
	CHECK("running_kernel_has_every_required_feature", subflow_features_require() == 0);
	if (logged[0])
		printf("# %s", logged);
	return CHECK_SUMMARY();
}
