/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The unit tests' one assertion: CHECK(name, cond) prints "ok NAME" or
 * "FAIL NAME: cond (file:line)"; CHECK_SUMMARY() prints the counts and is
 * main()'s exit status. */
#ifndef SUBFLOW_UNIT_CHECK_H
#define SUBFLOW_UNIT_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(name, cond)                                                      \
	do {                                                                   \
		if (cond) {                                                    \
			printf("ok %s\n", name);                               \
			passed++;                                              \
		} else {                                                       \
			printf("FAIL %s: %s (%s:%d)\n", name, #cond, __FILE__, __LINE__); \
			failed++;                                              \
		}                                                              \
	} while (0)

#define CHECK_SUMMARY() (printf("%d passed, %d failed\n", passed, failed), failed ? 1 : 0)

#endif
