// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The number and unit parsers and the per-subflow option value parser. The
 * first byte picks the parser, the rest is its text (for option values:
 * space-separated words).
 *  - subflow_parse_uint accepts exactly decimal or 0x-hex digits, and its
 *    value is strtoull's in that base (never octal);
 *  - subflow_parse_with_unit accepts only digits [. digits] unit;
 *  - subflow_sockopt_parse_value never crashes, always says why it refuses,
 *    and what it accepts formats without overflowing.
 */
#include <errno.h>
#include <string.h>
#include "internal.h"
#include "units.h"
#include "fuzz_common.h"

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

static void check_uint(const char *s)
{
	uint64_t v = 0, max = UINT64_MAX;
	int err = subflow_parse_uint(s, max, &v);
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	bool wellformed = hex ? all_of(s + 2, "0123456789abcdefABCDEF") : all_of(s, "0123456789");

	REQUIRE(err == 0 || err == -EINVAL || err == -ERANGE);
	REQUIRE((err == -EINVAL) == !wellformed);
	if (!err)
		REQUIRE(v == strtoull(hex ? s + 2 : s, NULL, hex ? 16 : 10));
	if (!err && v) {
		REQUIRE(subflow_parse_uint(s, v - 1, &v) == -ERANGE);
	}
}

static void check_units(const char *s)
{
	const struct { const struct subflow_unit *u; size_t n; } tables[] = {
		{ subflow_rate_units, subflow_nr_rate_units },
		{ subflow_duration_units, subflow_nr_duration_units },
		{ subflow_size_units, subflow_nr_size_units },
	};

	for (size_t t = 0; t < 3; t++) {
		uint64_t v;
		bool exact;
		int err = subflow_parse_with_unit(s, tables[t].u, tables[t].n, &v, &exact);

		REQUIRE(err == 0 || err == -EINVAL || err == -ENODATA || err == -ENOENT ||
			err == -ERANGE);
		if (!err)
			REQUIRE(s[0] >= '0' && s[0] <= '9');
	}
}

static void check_sockopt(unsigned int which, char *s)
{
	enum subflow_sockopt opt = 1 + which % (SUBFLOW_SOCKOPT_MAX - 1);
	struct subflow_sockopt_value v;
	char *words[8], *save = NULL, *w, why[256], text[256];
	size_t n = 0;
	int err;

	for (w = strtok_r(s, " ", &save); w && n < 8; w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	memset(&v, 0, sizeof(v));
	why[0] = '\0';
	err = subflow_sockopt_parse_value(opt, words, n, &v, why, sizeof(why));
	REQUIRE(err == 0 || err == -EINVAL || err == -ERANGE);
	if (err) {
		REQUIRE(why[0]);
		return;
	}
	subflow_sockopt_format_value(opt, &v, text, sizeof(text));
	REQUIRE(memchr(text, '\0', sizeof(text)));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s;

	fuzz_init_once();
	if (size < 1)
		return 0;
	s = fuzz_text(data + 1, size - 1);
	if (!s || strlen(s) != size - 1) {	/* no NUL inside: C strings */
		free(s);
		return 0;
	}
	switch (data[0] % 3) {
	case 0:
		check_uint(s);
		break;
	case 1:
		check_units(s);
		break;
	default:
		check_sockopt(data[0] / 3, s);
		break;
	}
	free(s);
	return 0;
}
