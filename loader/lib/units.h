/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Numbers, plain or with units, as the policy language and the command line
 * write them: the one number parser (decimal or 0x-hex), tc's rates
 * ("2mbit") and durations ("500ms"). Shared by the policy parser, the
 * per-subflow setsockopt value parser and subflowctl. Not installed. */
#ifndef SUBFLOW_UNITS_H
#define SUBFLOW_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal, or hex after 0x/0X; nothing else: no sign, no space, no octal
 * (010 is ten, as a reader expects). -EINVAL when not such a number,
 * -ERANGE above max. */
int subflow_parse_uint(const char *s, uint64_t max, uint64_t *out);

struct subflow_unit {
	const char *name;
	uint64_t factor;
};

/* tc's units, decimal; factors in bits per second. */
extern const struct subflow_unit subflow_rate_units[];
extern const size_t subflow_nr_rate_units;
#define SUBFLOW_RATE_UNITS_HELP "bit, kbit, mbit, gbit, bps, kbps, mbps, gbps"

/* Factors in milliseconds. */
extern const struct subflow_unit subflow_duration_units[];
extern const size_t subflow_nr_duration_units;
#define SUBFLOW_DURATION_UNITS_HELP "ms, s, m, h"

/* Sizes in bytes: decimal (kb = 1000 bytes) and binary (kib = 1024). */
extern const struct subflow_unit subflow_size_units[];
extern const size_t subflow_nr_size_units;
#define SUBFLOW_SIZE_UNITS_HELP "b, kb, mb, gb, kib, mib, gib"

/* "2mbit", "2.5s": a decimal number with an optional fraction, then a unit
 * (case-insensitive). *value is the number times the unit's factor, rounded
 * down; *exact says whether nothing was rounded away. -EINVAL: not a number;
 * -ENODATA: no unit; -ENOENT: unknown unit; -ERANGE: too large. */
int subflow_parse_with_unit(const char *s, const struct subflow_unit *units, size_t nr_units,
			    uint64_t *value, bool *exact);

#endif
