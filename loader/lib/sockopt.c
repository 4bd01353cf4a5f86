// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * SUB_GETSOCKOPT / SUB_SETSOCKOPT on one subflow: one run of the one-shot
 * operations iterator (oneshot.c) in the calling thread's network namespace,
 * which sets the option when asked, reads it back and prints one record.
 * The engine's pinned maps are not involved, so these work whether or not
 * the engine is loaded.
 *
 * Values are parsed and printed as the policy language writes them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "units.h"
#include "oneshot.h"
#include "ops.h"

/* The kernel's limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT). */
#define MAX_KEEPALIVE_SECONDS	32767
#define MAX_KEEPALIVE_COUNT	127
#define MAX_USER_TIMEOUT_MS	2147483647U
/* The kernel's "not supported" that never reaches user space as such. */
#define KERNEL_ENOTSUPP		524

/* Keepalive packed in one value, the same way as bpf/sockopt.bpf.c. */
static uint64_t keepalive_pack(const struct subflow_sockopt_value *v)
{
	return (v->value ? 1 : 0) | ((uint64_t)(v->keepalive_count & 0xff) << 8) |
	       ((uint64_t)(v->keepalive_intvl_s & 0xffff) << 16) |
	       ((uint64_t)(v->keepalive_idle_s & 0xffff) << 32);
}

static void keepalive_unpack(uint64_t packed, struct subflow_sockopt_value *v)
{
	v->value = packed & 1;
	v->keepalive_count = (packed >> 8) & 0xff;
	v->keepalive_intvl_s = (packed >> 16) & 0xffff;
	v->keepalive_idle_s = (packed >> 32) & 0xffff;
}

static const char *const sockopt_names[SUBFLOW_SOCKOPT_MAX] = {
	[SUBFLOW_SOCKOPT_MARK] = "mark",
	[SUBFLOW_SOCKOPT_PRIORITY] = "priority",
	[SUBFLOW_SOCKOPT_PACING] = "pacing",
	[SUBFLOW_SOCKOPT_TOS] = "tos",
	[SUBFLOW_SOCKOPT_CC] = "cc",
	[SUBFLOW_SOCKOPT_USER_TIMEOUT] = "user-timeout",
	[SUBFLOW_SOCKOPT_NODELAY] = "nodelay",
	[SUBFLOW_SOCKOPT_KEEPALIVE] = "keepalive",
};

const char *subflow_sockopt_name(enum subflow_sockopt opt)
{
	if ((int)opt <= 0 || opt >= SUBFLOW_SOCKOPT_MAX)
		return NULL;
	return sockopt_names[opt];
}

int subflow_sockopt_parse_name(const char *name, enum subflow_sockopt *opt)
{
	size_t len = name ? strlen(name) : 0;
	int found = 0, i;

	if (!len)
		return -EINVAL;
	for (i = 1; i < SUBFLOW_SOCKOPT_MAX; i++) {
		if (!strcmp(name, sockopt_names[i])) {
			*opt = i;
			return 0;
		}
		if (!strncmp(name, sockopt_names[i], len)) {
			if (found)
				return -EINVAL;	/* ambiguous prefix */
			found = i;
		}
	}
	if (!found)
		return -EINVAL;
	*opt = found;
	return 0;
}

/* ---- Running the iterator ---------------------------------------------------- */

static int run_iter(uint32_t token, uint32_t id, enum subflow_sockopt opt, bool set,
		    uint64_t set_value, const char *set_cc, struct subflow_oneshot_record *rec)
{
	struct subflow_oneshot_params p = {
		.op = SUBFLOW_ONESHOT_SOCKOPT, .token = token, .id = id, .option = opt,
		.do_set = set, .set_value = set_value,
	};
	int n;

	if (!token || !id)
		return -ESRCH;
	if (set_cc)
		snprintf(p.cc, sizeof(p.cc), "%s", set_cc);
	n = subflow_oneshot_run(&p, subflow_oneshot_keep_first, rec);
	if (n < 0)
		return n;
	return n == 1 ? 0 : -ESRCH;
}

/* The kernel's answer as our error convention. bpf_getsockopt() answers
 * -EINVAL for an option it does not offer; a refused value is the caller's
 * concern and keeps its errno. */
static int kernel_err(int err, bool set)
{
	if (err == -ENOPROTOOPT || err == -KERNEL_ENOTSUPP || (!set && err == -EINVAL))
		return -EOPNOTSUPP;
	return err;
}

static bool valid_opt(enum subflow_sockopt opt)
{
	return subflow_sockopt_name(opt) != NULL;
}

static int getsockopt_here(uint32_t token, uint32_t id, enum subflow_sockopt opt,
			   struct subflow_sockopt_value *out)
{
	struct subflow_oneshot_record rec = {};
	int err;

	if (!valid_opt(opt) || !out)
		return -EINVAL;
	err = run_iter(token, id, opt, false, 0, NULL, &rec);
	if (err)
		return err;
	if (rec.err)
		return kernel_err(rec.err, false);
	memset(out, 0, sizeof(*out));
	switch (opt) {
	case SUBFLOW_SOCKOPT_CC:
		memcpy(out->cc, rec.cc, sizeof(out->cc));
		out->cc[sizeof(out->cc) - 1] = '\0';
		break;
	case SUBFLOW_SOCKOPT_KEEPALIVE:
		keepalive_unpack(rec.value, out);
		break;
	case SUBFLOW_SOCKOPT_PACING:
		/* Read from the socket itself, a 64-bit unsigned long; ~0UL
		 * is no limit. A 32-bit kernel's ~0UL means the same. */
		out->value = rec.value >= (uint64_t)(unsigned long)~0UL ? SUBFLOW_PACING_UNLIMITED
									 : rec.value;
		break;
	default:
		out->value = rec.value;
		break;
	}
	return 0;
}

static int setsockopt_here(uint32_t token, uint32_t id, enum subflow_sockopt opt,
			   const struct subflow_sockopt_value *in)
{
	struct subflow_oneshot_record rec = {};
	uint64_t value;
	int err;

	if (!valid_opt(opt) || !in)
		return -EINVAL;
	value = in->value;
	switch (opt) {
	case SUBFLOW_SOCKOPT_CC:
		if (!in->cc[0] || strnlen(in->cc, sizeof(in->cc)) == sizeof(in->cc))
			return -EINVAL;
		break;
	case SUBFLOW_SOCKOPT_KEEPALIVE:
		if (in->value && (!in->keepalive_idle_s || in->keepalive_idle_s > MAX_KEEPALIVE_SECONDS ||
				  !in->keepalive_intvl_s || in->keepalive_intvl_s > MAX_KEEPALIVE_SECONDS ||
				  !in->keepalive_count || in->keepalive_count > MAX_KEEPALIVE_COUNT))
			return -ERANGE;
		value = keepalive_pack(in);
		break;
	case SUBFLOW_SOCKOPT_PACING:
		if (value == SUBFLOW_PACING_UNLIMITED)
			value = UINT32_MAX;
		else if (value > SUBFLOW_PACING_MAX)
			return -ERANGE;
		break;
	case SUBFLOW_SOCKOPT_TOS:
		if (value > 255)
			return -ERANGE;
		break;
	case SUBFLOW_SOCKOPT_NODELAY:
		if (value > 1)
			return -ERANGE;
		break;
	case SUBFLOW_SOCKOPT_USER_TIMEOUT:
		if (value > MAX_USER_TIMEOUT_MS)
			return -ERANGE;
		break;
	default:
		if (value > UINT32_MAX)
			return -ERANGE;
		break;
	}
	err = run_iter(token, id, opt, true, value, opt == SUBFLOW_SOCKOPT_CC ? in->cc : NULL, &rec);
	if (err)
		return err;
	return rec.err ? kernel_err(rec.err, true) : 0;
}

/* By token, in the caller's namespace; by the application's socket `fd`,
 * in its namespace, which must be the caller's. A caller that cannot run
 * the iterator (not root) has them carried out by the daemon, by fd only
 * (by token: root only, the daemon refuses). */
int subflow_getsockopt(uint32_t token, uint32_t id, enum subflow_sockopt opt,
		       struct subflow_sockopt_value *out)
{
	if (!valid_opt(opt) || !out)
		return -EINVAL;
	if (subflow_control_wanted(-1, 0))
		return subflow_control_sockopt(-1, 0, token, id, opt, false, out);
	return getsockopt_here(token, id, opt, out);
}

int subflow_setsockopt(uint32_t token, uint32_t id, enum subflow_sockopt opt,
		       const struct subflow_sockopt_value *in)
{
	struct subflow_sockopt_value v;

	if (!valid_opt(opt) || !in)
		return -EINVAL;
	if (subflow_control_wanted(-1, 0)) {
		v = *in;
		return subflow_control_sockopt(-1, 0, token, id, opt, true, &v);
	}
	return setsockopt_here(token, id, opt, in);
}

int subflow_getsockopt_fd(int fd, uint32_t id, enum subflow_sockopt opt,
			  struct subflow_sockopt_value *out)
{
	uint32_t token;
	int err;

	if (!valid_opt(opt) || !out)
		return -EINVAL;
	if (subflow_control_wanted(fd, 0))
		return subflow_control_sockopt(fd, 0, 0, id, opt, false, out);
	err = subflow_ops_fd_conn(fd, &token);
	return err ? err : getsockopt_here(token, id, opt, out);
}

int subflow_setsockopt_fd(int fd, uint32_t id, enum subflow_sockopt opt,
			  const struct subflow_sockopt_value *in)
{
	struct subflow_sockopt_value v;
	uint32_t token;
	int err;

	if (!valid_opt(opt) || !in)
		return -EINVAL;
	if (subflow_control_wanted(fd, 0)) {
		v = *in;
		return subflow_control_sockopt(fd, 0, 0, id, opt, true, &v);
	}
	err = subflow_ops_fd_conn(fd, &token);
	return err ? err : setsockopt_here(token, id, opt, in);
}

/* ---- Values as the policy language writes them -------------------------------- */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int parse_error(char *err, size_t size, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int parse_error(char *err, size_t size, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && size) {
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int unit_error(char *err, size_t size, int code, const char *what, const char *word,
		      const char *example, const char *units)
{
	switch (code) {
	case -ENODATA:
		return parse_error(err, size, -EINVAL, "%s '%s' has no unit, expected e.g. %s (%s)",
				   what, word, example, units);
	case -ENOENT:
		return parse_error(err, size, -EINVAL, "unknown unit in %s '%s', expected one of %s",
				   what, word, units);
	case -ERANGE:
		return parse_error(err, size, -ERANGE, "%s '%s' is too large", what, word);
	default:
		return parse_error(err, size, -EINVAL, "invalid %s '%s', expected e.g. %s (%s)",
				   what, word, example, units);
	}
}

#define RATE_UNITS "bit, kbit, mbit, gbit, bps, kbps, mbps, gbps"
#define DURATION_UNITS "ms, s, m, h"

static int parse_pacing(const char *word, uint64_t *bytes, char *err, size_t size)
{
	uint64_t bits;
	bool exact;
	int code;

	if (!strcmp(word, "unlimited")) {
		*bytes = SUBFLOW_PACING_UNLIMITED;
		return 0;
	}
	code = subflow_parse_with_unit(word, subflow_rate_units, subflow_nr_rate_units, &bits,
				       &exact);
	if (code)
		return unit_error(err, size, code, "pacing rate", word, "2mbit", RATE_UNITS);
	*bytes = bits / 8;
	if (!*bytes)
		return parse_error(err, size, -ERANGE,
				   "pacing rate '%s' is below 1 byte per second, expected at least 8bit", word);
	if (*bytes > SUBFLOW_PACING_MAX)
		return parse_error(err, size, -ERANGE,
				   "pacing rate '%s' is too large, expected at most %llu bytes/s (or 'unlimited')",
				   word, (unsigned long long)SUBFLOW_PACING_MAX);
	return 0;
}

static int parse_keepalive_seconds(const char *word, const char *what, uint32_t *seconds,
				   char *err, size_t size)
{
	uint64_t ms;
	bool exact;
	int code;

	code = subflow_parse_with_unit(word, subflow_duration_units,
				       subflow_nr_duration_units, &ms, &exact);
	if (code)
		return unit_error(err, size, code, what, word, "10s", DURATION_UNITS);
	/* Whole seconds in the kernel: round to the nearest, as the policy does. */
	if (ms < 500 || ms >= MAX_KEEPALIVE_SECONDS * 1000ULL + 500)
		return parse_error(err, size, -ERANGE, "%s '%s' out of range, expected 1s..%us",
				   what, word, MAX_KEEPALIVE_SECONDS);
	*seconds = (ms + 500) / 1000;
	return 0;
}

static int parse_keepalive(char *const *words, size_t n, struct subflow_sockopt_value *out,
			   char *err, size_t size)
{
	uint64_t count;
	int code;

	if (n == 1 && !strcmp(words[0], "off")) {
		out->value = 0;
		return 0;
	}
	if (n != 3)
		return parse_error(err, size, -EINVAL,
				   "keepalive needs IDLE INTVL COUNT (e.g. 10s 2s 3) or 'off'");
	out->value = 1;
	code = parse_keepalive_seconds(words[0], "keepalive idle", &out->keepalive_idle_s, err, size);
	if (!code)
		code = parse_keepalive_seconds(words[1], "keepalive interval", &out->keepalive_intvl_s,
					       err, size);
	if (code)
		return code;
	code = subflow_parse_uint(words[2], MAX_KEEPALIVE_COUNT, &count);
	if (code || !count)
		return parse_error(err, size, code == -EINVAL ? -EINVAL : -ERANGE,
				   "keepalive count '%s': expected a number 1..%u", words[2],
				   MAX_KEEPALIVE_COUNT);
	out->keepalive_count = count;
	return 0;
}

static int parse_number_value(const char *what, const char *word, uint64_t max, uint64_t *out,
			      char *err, size_t size)
{
	int code = subflow_parse_uint(word, max, out);

	if (code == -EINVAL)
		return parse_error(err, size, code, "invalid %s '%s', expected a number (decimal or 0x-hex)",
				   what, word);
	if (code)
		return parse_error(err, size, code, "%s '%s' out of range, expected 0..%#llx", what,
				   word, (unsigned long long)max);
	return 0;
}

int subflow_sockopt_parse_value(enum subflow_sockopt opt, char *const *words, size_t nr_words,
				struct subflow_sockopt_value *out, char *err, size_t err_size)
{
	const char *name = subflow_sockopt_name(opt);
	const char *word = nr_words ? words[0] : NULL;
	uint64_t ms;
	bool exact;
	int code;

	if (!name)
		return parse_error(err, err_size, -EINVAL, "unknown option %d", (int)opt);
	memset(out, 0, sizeof(*out));
	if (opt == SUBFLOW_SOCKOPT_KEEPALIVE)
		return parse_keepalive(words, nr_words, out, err, err_size);
	if (nr_words != 1)
		return parse_error(err, err_size, -EINVAL, "%s needs exactly one value", name);

	switch (opt) {
	case SUBFLOW_SOCKOPT_MARK:
	case SUBFLOW_SOCKOPT_PRIORITY:
		return parse_number_value(name, word, UINT32_MAX, &out->value, err, err_size);
	case SUBFLOW_SOCKOPT_TOS:
		return parse_number_value(name, word, 255, &out->value, err, err_size);
	case SUBFLOW_SOCKOPT_PACING:
		return parse_pacing(word, &out->value, err, err_size);
	case SUBFLOW_SOCKOPT_CC:
		/* The names the kernel registers congestion controls under. */
		if (strlen(word) >= sizeof(out->cc) ||
		    strspn(word, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(word))
			return parse_error(err, err_size, -EINVAL,
					   "invalid congestion control '%s', expected at most %zu characters of a-z, 0-9, '_' and '-'",
					   word, sizeof(out->cc) - 1);
		strcpy(out->cc, word);
		return 0;
	case SUBFLOW_SOCKOPT_USER_TIMEOUT:
		code = subflow_parse_with_unit(word, subflow_duration_units,
				       subflow_nr_duration_units, &ms, &exact);
		if (code)
			return unit_error(err, err_size, code, "user-timeout", word, "500ms",
					  DURATION_UNITS);
		if (!exact)
			return parse_error(err, err_size, -EINVAL,
					   "user-timeout '%s' is not a whole number of milliseconds", word);
		if (ms > MAX_USER_TIMEOUT_MS)
			return parse_error(err, err_size, -ERANGE,
					   "user-timeout '%s' out of range, expected at most %ums", word,
					   MAX_USER_TIMEOUT_MS);
		out->value = ms;
		return 0;
	case SUBFLOW_SOCKOPT_NODELAY:
		if (!strcmp(word, "on"))
			out->value = 1;
		else if (!strcmp(word, "off"))
			out->value = 0;
		else
			return parse_error(err, err_size, -EINVAL, "nodelay '%s': expected on or off", word);
		return 0;
	default:
		return parse_error(err, err_size, -EINVAL, "unknown option %d", (int)opt);
	}
}

/* bits per second in the largest tc unit that keeps it >= 1: "2mbit". */
static void format_rate(uint64_t bytes, char *buf, size_t size)
{
	static const struct subflow_unit units[] = {
		{ "gbit", 1000000000 }, { "mbit", 1000000 }, { "kbit", 1000 }, { "bit", 1 },
	};
	/* Past ~2^61 bytes/s, bits overflow: such a limit is no limit. */
	uint64_t bits = bytes > UINT64_MAX / 8 ? UINT64_MAX : bytes * 8;
	char frac[24];	/* room for any u64, as the compiler cannot tell < 1000 */
	size_t i, len;

	for (i = 0; i < ARRAY_LEN(units) - 1 && bits < units[i].factor; i++)
		;
	if (bits % units[i].factor == 0) {
		snprintf(buf, size, "%" PRIu64 "%s", bits / units[i].factor, units[i].name);
		return;
	}
	/* Three decimals at most, trailing zeros trimmed: "1.5mbit". */
	snprintf(frac, sizeof(frac), "%03" PRIu64, (bits % units[i].factor) * 1000 / units[i].factor);
	for (len = strlen(frac); len > 1 && frac[len - 1] == '0'; len--)
		frac[len - 1] = '\0';
	snprintf(buf, size, "%" PRIu64 ".%s%s", bits / units[i].factor, frac, units[i].name);
}

void subflow_sockopt_format_value(enum subflow_sockopt opt, const struct subflow_sockopt_value *v,
				  char *buf, size_t size)
{
	char rate[48];

	if (!size)
		return;
	switch (opt) {
	case SUBFLOW_SOCKOPT_MARK:
	case SUBFLOW_SOCKOPT_TOS:
		snprintf(buf, size, "%#" PRIx64, v->value);
		break;
	case SUBFLOW_SOCKOPT_PRIORITY:
		snprintf(buf, size, "%" PRIu64, v->value);
		break;
	case SUBFLOW_SOCKOPT_PACING:
		if (v->value == SUBFLOW_PACING_UNLIMITED) {
			snprintf(buf, size, "unlimited");
			break;
		}
		format_rate(v->value, rate, sizeof(rate));
		snprintf(buf, size, "%" PRIu64 " B/s (%s)", v->value, rate);
		break;
	case SUBFLOW_SOCKOPT_CC:
		snprintf(buf, size, "%s", v->cc);
		break;
	case SUBFLOW_SOCKOPT_USER_TIMEOUT:
		snprintf(buf, size, "%" PRIu64 "ms%s", v->value, v->value ? "" : " (default)");
		break;
	case SUBFLOW_SOCKOPT_NODELAY:
		snprintf(buf, size, "%s", v->value ? "on" : "off");
		break;
	case SUBFLOW_SOCKOPT_KEEPALIVE:
		snprintf(buf, size, "%s idle %us intvl %us count %u", v->value ? "on" : "off",
			 v->keepalive_idle_s, v->keepalive_intvl_s, v->keepalive_count);
		break;
	default:
		snprintf(buf, size, "?");
		break;
	}
}
