// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One logging path for the library, with levels. Where messages go is the
 * host program's choice, libbpf style: subflow_set_print() installs its
 * callback and returns the previous one; by default errors and warnings go
 * to stderr. The library never calls libbpf_set_print(): libbpf's own
 * messages are the host's to route (subflowctl routes them into its debug
 * output).
 */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

_Static_assert((int)SUBFLOW_LOG_ERROR == (int)SUBFLOW_PRINT_ERROR &&
	       (int)SUBFLOW_LOG_WARN == (int)SUBFLOW_PRINT_WARN &&
	       (int)SUBFLOW_LOG_INFO == (int)SUBFLOW_PRINT_INFO &&
	       (int)SUBFLOW_LOG_DEBUG == (int)SUBFLOW_PRINT_DEBUG, "log levels");

static int print_stderr(enum subflow_print_level level, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "error: ", "warning: " };

	if (level > SUBFLOW_PRINT_WARN)
		return 0;
	fprintf(stderr, "subflow: %s", prefix[level]);
	return vfprintf(stderr, fmt, ap);
}

static subflow_print_fn_t print_fn = print_stderr;

subflow_print_fn_t subflow_set_print(subflow_print_fn_t fn)
{
	subflow_print_fn_t old = print_fn;

	print_fn = fn;
	return old;
}

void subflow_log(enum subflow_log_level level, const char *fmt, ...)
{
	subflow_print_fn_t fn = print_fn;
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	fn((enum subflow_print_level)level, fmt, ap);
	va_end(ap);
}
