/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy language of subflow: parsed form and parser API.
 *
 * A policy file is line-oriented, in the manner of iproute2 and nft; `#`
 * starts a comment that runs to the end of the line:
 *
 *   path NAME SELECTOR...     SELECTOR := dev IFNAME | addr PREFIX
 *   rule [MATCH...] ACTION...
 *     MATCH  := path NAME | dst PREFIX | dport PORT[-PORT]
 *             | family inet|inet6 | initial | join
 *     ACTION := allow | deny | mark VALUE | cc NAME | tos VALUE
 *             | priority VALUE | pacing RATE | user-timeout DURATION
 *             | keepalive IDLE INTVL COUNT | nodelay
 *   mptcpify on|off
 *
 * Path-management statements, carried out by `subflowctl daemon` (the
 * userspace path manager) for the cgroup's connections:
 *   prefer PATH over PATH [if PATH down]
 *   open PATH after SIZE|DURATION      (SIZE: bytes the connection has sent)
 *   keep N subflows
 *   mode handover|interactive|aggregate
 *   announce ADDR [to PREFIX]
 *   ack-timeout DURATION               (how long a path may go without ACK
 *                                       progress while data is outstanding)
 *
 * A subflow is on a path when its local side matches one of the path's
 * selectors. Rules are evaluated in file order for each new subflow and the
 * first matching rule decides. The parsed form below is plain data of fixed
 * size, so that the loader can compile it into maps and compare two of them.
 *
 * Error convention (libbpf 1.x): int functions return 0 or a negative errno.
 */
#ifndef SUBFLOW_POLICY_H
#define SUBFLOW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SUBFLOW_API
/* libsubflow.so is built with -fvisibility=hidden: only what is marked
 * SUBFLOW_API (and listed in loader/lib/libsubflow.map) is exported. */
#define SUBFLOW_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SUBFLOW_POLICY_NAME_MAX		32	/* path name: 31 characters + NUL */
#define SUBFLOW_POLICY_IFNAME_MAX	16	/* IFNAMSIZ */
#define SUBFLOW_POLICY_CC_NAME_MAX	16	/* TCP_CA_NAME_MAX */
#define SUBFLOW_POLICY_MAX_PATHS	32
#define SUBFLOW_POLICY_MAX_SELECTORS	8	/* per path */
#define SUBFLOW_POLICY_MAX_RULES	64
#define SUBFLOW_POLICY_MAX_ERRORS	100	/* then one "too many errors" entry */
#define SUBFLOW_POLICY_MAX_STATEMENTS	32	/* path-management statements */
#define SUBFLOW_POLICY_MAX_KEEP		8	/* keep N subflows: N at most */
/* A path is unusable when data outstanding on it saw no ACK progress for
 * this long (ack-timeout); the default when the policy does not say. */
#define SUBFLOW_POLICY_DEFAULT_ACK_TIMEOUT_MS	300
/* A buffer of this size always holds subflow_policy_format()'s output. */
#define SUBFLOW_POLICY_TEXT_MAX		65536

/* An address prefix. family is AF_INET or AF_INET6 (0: no prefix); addr
 * holds 4 or 16 bytes in network order, with no bit set past len. */
struct subflow_policy_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

enum subflow_policy_selector_kind {
	SUBFLOW_POLICY_SEL_DEV = 1,	/* local interface name */
	SUBFLOW_POLICY_SEL_ADDR,	/* local address within a prefix */
};

struct subflow_policy_selector {
	enum subflow_policy_selector_kind kind;
	char dev[SUBFLOW_POLICY_IFNAME_MAX];	/* SEL_DEV */
	struct subflow_policy_prefix addr;	/* SEL_ADDR */
	unsigned int col;			/* of its value, for messages */
};

struct subflow_policy_path {
	char name[SUBFLOW_POLICY_NAME_MAX];
	unsigned int nr_selectors;
	struct subflow_policy_selector selectors[SUBFLOW_POLICY_MAX_SELECTORS];
	unsigned int line;	/* where it was defined, for messages */
};

enum subflow_policy_subflow_kind {
	SUBFLOW_POLICY_SUBFLOW_ANY = 0,
	SUBFLOW_POLICY_SUBFLOW_INITIAL,	/* the connection's first subflow (MP_CAPABLE) */
	SUBFLOW_POLICY_SUBFLOW_JOIN,	/* an additional subflow (MP_JOIN) */
};

enum subflow_policy_verdict {
	SUBFLOW_POLICY_VERDICT_NONE = 0,	/* options only; the subflow is admitted */
	SUBFLOW_POLICY_VERDICT_ALLOW,
	SUBFLOW_POLICY_VERDICT_DENY,
};

/* Which actions a rule sets (struct subflow_policy_rule.actions). */
#define SUBFLOW_POLICY_ACT_VERDICT	(1U << 0)
#define SUBFLOW_POLICY_ACT_MARK		(1U << 1)
#define SUBFLOW_POLICY_ACT_CC		(1U << 2)
#define SUBFLOW_POLICY_ACT_TOS		(1U << 3)
#define SUBFLOW_POLICY_ACT_PRIORITY	(1U << 4)
#define SUBFLOW_POLICY_ACT_PACING	(1U << 5)
#define SUBFLOW_POLICY_ACT_USER_TIMEOUT	(1U << 6)
#define SUBFLOW_POLICY_ACT_KEEPALIVE	(1U << 7)
#define SUBFLOW_POLICY_ACT_NODELAY	(1U << 8)

struct subflow_policy_rule {
	/* Matches; a rule without any matches every subflow. */
	int path;				/* index in paths[], or -1: any path */
	struct subflow_policy_prefix dst;	/* family 0: any destination */
	uint16_t dport_lo, dport_hi;		/* 0-65535 when not matched */
	uint8_t family;				/* AF_INET, AF_INET6, or 0: any */
	enum subflow_policy_subflow_kind subflow;

	/* Actions; only those whose SUBFLOW_POLICY_ACT_* bit is set apply. */
	uint32_t actions;
	enum subflow_policy_verdict verdict;
	uint32_t mark;				/* SO_MARK */
	char cc[SUBFLOW_POLICY_CC_NAME_MAX];	/* TCP_CONGESTION */
	uint8_t tos;				/* IP_TOS / IPV6_TCLASS */
	uint32_t priority;			/* SO_PRIORITY */
	uint64_t pacing_rate;			/* SO_MAX_PACING_RATE, bytes per second */
	uint32_t user_timeout_ms;		/* TCP_USER_TIMEOUT */
	uint32_t keepalive_idle_s;		/* TCP_KEEPIDLE, with SO_KEEPALIVE */
	uint32_t keepalive_intvl_s;		/* TCP_KEEPINTVL */
	uint32_t keepalive_count;		/* TCP_KEEPCNT */
						/* nodelay: the ACT_NODELAY bit alone */
	unsigned int line;			/* where it was written, for messages */
	unsigned int cc_col;			/* column of the cc name, for messages */
};

/* Path-management statements (the daemon carries them out). */
enum subflow_policy_statement_kind {
	SUBFLOW_POLICY_STMT_PREFER = 1,	/* prefer path over other [if unless_up down] */
	SUBFLOW_POLICY_STMT_OPEN,	/* open path after after_bytes | after_ms */
	SUBFLOW_POLICY_STMT_KEEP,	/* keep count subflows */
	SUBFLOW_POLICY_STMT_ANNOUNCE,	/* announce addr [to to] */
};

struct subflow_policy_statement {
	enum subflow_policy_statement_kind kind;
	int path;		/* PREFER: the preferred path; OPEN: the one to open; else -1 */
	int other;		/* PREFER: the backup path; else -1 */
	int unless_up;		/* PREFER: in force only while this path is unusable; -1: always */
	uint64_t after_bytes;	/* OPEN: once the connection has sent this many bytes (0: no) */
	uint32_t after_ms;	/* OPEN: once the connection has lived this long (0: no) */
	uint32_t count;		/* KEEP */
	struct subflow_policy_prefix addr;	/* ANNOUNCE: one host address (full length) */
	struct subflow_policy_prefix to;	/* ANNOUNCE: peers in this prefix; family 0: any */
	unsigned int line;	/* where it was written, for messages */
	unsigned int col;	/* of its first value (path, count, address), for messages */
};

enum subflow_policy_mode {
	SUBFLOW_POLICY_MODE_UNSET = 0,
	SUBFLOW_POLICY_MODE_HANDOVER,		/* the first path, the others as backups in order */
	SUBFLOW_POLICY_MODE_INTERACTIVE,	/* every path in use, dead ones set aside fast */
	SUBFLOW_POLICY_MODE_AGGREGATE,		/* every path in use, broken subflows re-created */
};

enum subflow_policy_mptcpify {
	SUBFLOW_POLICY_MPTCPIFY_UNSET = 0,
	SUBFLOW_POLICY_MPTCPIFY_ON,
	SUBFLOW_POLICY_MPTCPIFY_OFF,
};

struct subflow_policy {
	unsigned int nr_paths;
	struct subflow_policy_path paths[SUBFLOW_POLICY_MAX_PATHS];
	unsigned int nr_rules;
	struct subflow_policy_rule rules[SUBFLOW_POLICY_MAX_RULES];
	enum subflow_policy_mptcpify mptcpify;
	/* Path management (see the top of this file). */
	unsigned int nr_statements;
	struct subflow_policy_statement statements[SUBFLOW_POLICY_MAX_STATEMENTS];
	enum subflow_policy_mode mode;
	uint32_t ack_timeout_ms;	/* 0: SUBFLOW_POLICY_DEFAULT_ACK_TIMEOUT_MS */
};

/* "handover", "interactive", "aggregate"; NULL for UNSET or an unknown value. */
SUBFLOW_API const char *subflow_policy_mode_name(enum subflow_policy_mode mode);

/* One error, `text` reads "FILE:LINE:COL: error: what was found, what was
 * expected". line and col are 1-based (col counts bytes, a tab is one); both
 * are 0 for an error about the whole file (it cannot be read). */
struct subflow_policy_error {
	unsigned int line;
	unsigned int col;
	char *text;
};

/* Every error found, in file order. Zero it before its first use
 * (`struct subflow_policy_errors errs = {};`); the parser releases what it
 * held before filling it again, subflow_policy_errors_free() at the end. */
struct subflow_policy_errors {
	unsigned int count;
	struct subflow_policy_error *items;
	bool too_many;	/* stopped after SUBFLOW_POLICY_MAX_ERRORS; the last item says so */
};

/* Parse the policy in text[0..len) (need not be NUL-terminated); filename
 * names it in messages (NULL: "<input>"). On success fills *out and returns
 * 0. On any error leaves *out unchanged, returns -EINVAL and, when errs is
 * not NULL, lists every error found in it; -ENOMEM when memory ran out. */
SUBFLOW_API int subflow_policy_parse(const char *text, size_t len, const char *filename,
			 struct subflow_policy *out, struct subflow_policy_errors *errs);

/* The same for the file at `path`. Also returns the -errno of a file that
 * cannot be read, or -EFBIG past 1 MiB, with one error saying so in errs. */
SUBFLOW_API int subflow_policy_parse_file(const char *path, struct subflow_policy *out,
			      struct subflow_policy_errors *errs);

/* The same, but on -EINVAL *out still receives the lines that parsed, so
 * that a caller can go on checking them (e.g. that the paths' devices
 * exist) and report every error of the file at once. Never load it. */
SUBFLOW_API int subflow_policy_parse_partial(const char *text, size_t len, const char *filename,
				 struct subflow_policy *out, struct subflow_policy_errors *errs);
SUBFLOW_API int subflow_policy_parse_file_partial(const char *path, struct subflow_policy *out,
				      struct subflow_policy_errors *errs);

/* Release a parsed policy and leave it as the empty policy. It holds no heap
 * memory today; call it anyway, so that a later version may. */
SUBFLOW_API void subflow_policy_free(struct subflow_policy *policy);

SUBFLOW_API void subflow_policy_errors_free(struct subflow_policy_errors *errs);

/* Print `policy` in canonical form (one line per mptcpify, path, rule, then
 * mode, ack-timeout and the path-management statements, in that order) into buf, always NUL-terminated. Parsing the text gives a
 * policy equal to `policy` (see subflow_policy_equal). Returns 0, -ENOSPC
 * when buf is too small (SUBFLOW_POLICY_TEXT_MAX always suffices), or -EINVAL
 * when the policy is not one the parser could have produced. */
SUBFLOW_API int subflow_policy_format(const struct subflow_policy *policy, char *buf, size_t size);

/* True when a and b mean the same policy: every field is equal except the
 * source lines, which are only there for messages. */
SUBFLOW_API bool subflow_policy_equal(const struct subflow_policy *a, const struct subflow_policy *b);

#ifdef __cplusplus
}
#endif

#endif /* SUBFLOW_POLICY_H */
