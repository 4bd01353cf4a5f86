// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Numbers, plain or with units; see units.h. */
#include <errno.h>
#include <strings.h>
#include "units.h"

const struct subflow_unit subflow_rate_units[] = {
	{ "bit", 1 },   { "kbit", 1000 },      { "mbit", 1000000 },      { "gbit", 1000000000 },
	{ "bps", 8 },   { "kbps", 8000 },      { "mbps", 8000000 },      { "gbps", 8000000000ULL },
};
const size_t subflow_nr_rate_units = sizeof(subflow_rate_units) / sizeof(subflow_rate_units[0]);

const struct subflow_unit subflow_duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
};
const size_t subflow_nr_duration_units =
	sizeof(subflow_duration_units) / sizeof(subflow_duration_units[0]);

const struct subflow_unit subflow_size_units[] = {
	{ "b", 1 }, { "kb", 1000 }, { "mb", 1000000 }, { "gb", 1000000000 },
	{ "kib", 1024 }, { "mib", 1048576 }, { "gib", 1073741824 },
};
const size_t subflow_nr_size_units = sizeof(subflow_size_units) / sizeof(subflow_size_units[0]);

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_digit(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int subflow_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;
	int digit;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	/* Not a number at all is said so even when its digits would overflow. */
	for (const char *p = s; *p; p++)
		if (base == 16 ? hex_digit(*p) < 0 : !is_digit(*p))
			return -EINVAL;
	for (; *s; s++) {
		digit = base == 16 ? hex_digit(*s) : *s - '0';
		if (v > (UINT64_MAX - digit) / base)
			return -ERANGE;
		v = v * base + digit;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int subflow_parse_with_unit(const char *s, const struct subflow_unit *units, size_t nr_units,
			    uint64_t *value, bool *exact)
{
	uint64_t mantissa = 0, divisor = 1, product;
	const char *frac, *frac_end;
	size_t i;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (mantissa > (UINT64_MAX - (*s - '0')) / 10)
			return -ERANGE;
		mantissa = mantissa * 10 + (*s - '0');
	}
	if (*s == '.') {
		frac = ++s;
		if (!is_digit(*s))
			return -EINVAL;
		while (is_digit(*s))
			s++;
		/* 2.50mbit is 2.5mbit: trailing zeros only cost range */
		for (frac_end = s; frac_end > frac && frac_end[-1] == '0'; frac_end--)
			;
		for (; frac < frac_end; frac++) {
			if (mantissa > (UINT64_MAX - (*frac - '0')) / 10 || divisor > UINT64_MAX / 10)
				return -ERANGE;
			mantissa = mantissa * 10 + (*frac - '0');
			divisor *= 10;
		}
	}
	if (!*s)
		return -ENODATA;
	for (i = 0; i < nr_units; i++)
		if (!strcasecmp(s, units[i].name))
			break;
	if (i == nr_units)
		return -ENOENT;
	if (mantissa && units[i].factor > UINT64_MAX / mantissa)
		return -ERANGE;
	product = mantissa * units[i].factor;
	*value = product / divisor;
	*exact = product % divisor == 0;
	return 0;
}

