/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The path manager daemon's record on the engine's event rings (subflowctl
 * daemon, bpf/pmlog.bpf.c): each decision it makes goes, through the pinned
 * syscall program prog_pmlog, to every reader of the events, so that
 * `subflowctl subflow monitor` shows the decisions beside the subflow
 * events. Only a process that can open the pin (root: the pin directory is
 * root's alone) can run it. A struct subflow_event of type
 * SUBFLOW_EVENT_PM_DECISION with the text after it; `size` says the whole
 * length. Fixed layout, size asserted.
 */
#ifndef SUBFLOW_PM_ABI_H
#define SUBFLOW_PM_ABI_H

#include "subflow_abi.h"

struct subflow_pm_decision {
	/* type SUBFLOW_EVENT_PM_DECISION, size sizeof(struct subflow_pm_decision);
	 * netns_cookie, token, cgroup_id of the connection; info: the subflow's
	 * id and endpoints (id 0 when not known yet); value[0]: 0, or the
	 * -errno of the action; reason 0. */
	struct subflow_event ev;
	char action[16];	/* "open", "close", "backup", "regular", "remove", ... */
	char path[32];		/* the policy's path name, "" when none */
	char reason[96];	/* why, as the daemon prints it */
};

_Static_assert(sizeof(struct subflow_pm_decision) == 272, "subflow_pm_decision ABI");

#endif /* SUBFLOW_PM_ABI_H */
