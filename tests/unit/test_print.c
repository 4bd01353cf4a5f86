// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* subflow_set_print() behaves as libbpf_set_print(): it returns the previous
 * callback, NULL silences, messages carry their level; and the library
 * leaves libbpf's own print callback alone. Public API only. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "subflow.h"
#include "check.h"

static char got[1024];
static enum subflow_print_level got_level;
static int calls;

static int mine(enum subflow_print_level level, const char *fmt, va_list ap)
{
	calls++;
	got_level = level;
	vsnprintf(got, sizeof(got), fmt, ap);
	return 0;
}

static int other(enum subflow_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int host_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int main(void)
{
	libbpf_print_fn_t libbpf_before;
	subflow_print_fn_t def;

	libbpf_set_print(host_libbpf_print);
	def = subflow_set_print(mine);
	CHECK("default_callback_is_set", def != NULL);
	CHECK("returns_the_previous", subflow_set_print(other) == mine);
	CHECK("returns_the_previous_again", subflow_set_print(mine) == other);

	/* An error names its place and comes at error level. */
	CHECK("bad_cgroup_fails", subflow_cgroup_attach("/nonexistent/cgroup") < 0);
	CHECK("error_reached_the_callback", calls >= 1 && got_level == SUBFLOW_PRINT_ERROR &&
	      strstr(got, "/nonexistent/cgroup") != NULL);

	/* NULL: nothing printed at all. */
	CHECK("null_returns_mine", subflow_set_print(NULL) == mine);
	calls = 0;
	subflow_cgroup_attach("/nonexistent/cgroup");
	CHECK("null_silences", calls == 0);

	/* The library never replaced the host's libbpf callback. */
	libbpf_before = libbpf_set_print(NULL);
	CHECK("libbpf_print_left_alone", libbpf_before == host_libbpf_print);
	subflow_set_print(def);
	return CHECK_SUMMARY();
}
