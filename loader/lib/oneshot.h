/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* oneshot.c: running the one-shot subflow operations iterator (bpf/oneshot.bpf.c,
 * record layout in include/subflow_oneshot.h). Not installed. */
#ifndef SUBFLOW_ONESHOT_INTERNAL_H
#define SUBFLOW_ONESHOT_INTERNAL_H

#include <stdint.h>
#include "subflow_oneshot.h"

struct subflow_oneshot_params {
	enum subflow_oneshot_op op;
	uint32_t token;		/* LIST: 0 for every connection of the namespace */
	uint32_t id;		/* LIST, CB_FLAGS: 0 for every subflow */
	uint32_t option;	/* SOCKOPT: enum subflow_sockopt */
	uint32_t do_set;
	uint64_t set_value;
	char cc[16];
	uint32_t cb_flags;	/* CB_FLAGS: BPF_SOCK_OPS_*_CB_FLAG to add */
};

/* Called for each record, in the kernel's walk order. 0: go on; > 0: stop
 * calling it; < 0: stop, and the run returns that error. The walk itself
 * always finishes. */
typedef int (*subflow_oneshot_cb)(const struct subflow_oneshot_record *rec, void *ctx);

/* Run the iterator once in the calling thread's network namespace. Returns
 * the number of records (subflows acted on), or a negative errno. */
int subflow_oneshot_run(const struct subflow_oneshot_params *p, subflow_oneshot_cb cb, void *ctx);

/* A callback that copies the first record into ctx (a struct
 * subflow_oneshot_record) and stops: for operations on one subflow. */
int subflow_oneshot_keep_first(const struct subflow_oneshot_record *rec, void *ctx);

#endif
