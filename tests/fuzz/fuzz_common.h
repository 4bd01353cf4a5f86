/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the libFuzzer harnesses share: a property that must hold, and the
 * library's messages silenced (they are expected, by the thousand). */
#ifndef SUBFLOW_FUZZ_COMMON_H
#define SUBFLOW_FUZZ_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "subflow.h"
#include "subflow_policy.h"

/* A broken property is a crash, for libFuzzer to save the input. */
#define REQUIRE(cond)                                                           \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #cond,  \
				__FILE__, __LINE__);                            \
			abort();                                                \
		}                                                               \
	} while (0)

static int fuzz_silent(enum subflow_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static void fuzz_init_once(void)
{
	static int done;

	if (!done) {
		subflow_set_print(fuzz_silent);
		done = 1;
	}
}

/* A NUL-terminated copy of the input. */
static char *fuzz_text(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text) {
		for (size_t i = 0; i < size; i++)
			text[i] = data[i];
		text[size] = '\0';
	}
	return text;
}

/* A refused policy text: the error says so, and every error is placed on
 * a line of the text (or the line after its last, for "unexpected end"). */
static inline void require_errors_placed(int err, const struct subflow_policy_errors *errs,
					 const unsigned char *data, size_t size)
{
	unsigned int lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	REQUIRE(err == -EINVAL || err == -ENOMEM || err == -EFBIG);
	REQUIRE(err != -EINVAL || errs->count > 0);
	for (unsigned int i = 0; i < errs->count; i++) {
		REQUIRE(errs->items[i].line <= lines + 1);
		REQUIRE(errs->items[i].text && strstr(errs->items[i].text, "fuzz:"));
	}
}

#endif
