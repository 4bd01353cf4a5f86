// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One logging path for the library and the CLI, with levels. libbpf's own
 * messages come through here too, at debug level. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "internal.h"

static enum subflow_log_level max_level = SUBFLOW_LOG_WARN;
static subflow_log_sink sink;

void subflow_log_set_level(enum subflow_log_level level)
{
	max_level = level;
}

void subflow_log_set_sink(subflow_log_sink new_sink)
{
	sink = new_sink;
}

static void emit(enum subflow_log_level level, const char *msg)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

	if (sink) {
		sink(level, msg);
		return;
	}
	if (level > max_level)
		return;
	fprintf(stderr, "subflow: %s%s", prefix[level], msg);
}

static void vlog(enum subflow_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(level, msg);
}

void subflow_log(enum subflow_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (max_level < SUBFLOW_LOG_DEBUG)
		return 0;
	/* Verifier logs run to many kilobytes: no bounded buffer here. */
	fputs("subflow: debug: ", stderr);
	vfprintf(stderr, fmt, ap);
	return 0;
}

static int libbpf_silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

void subflow_log_libbpf(bool enabled)
{
	libbpf_set_print(enabled ? libbpf_print : libbpf_silent);
}
