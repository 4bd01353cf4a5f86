// SPDX-License-Identifier: GPL-2.0
/*
 * The path manager daemon's decisions on the engine's event ring. Hook: a
 * syscall program, pinned, that the daemon runs (BPF_PROG_RUN) with one
 * struct subflow_pm_decision as its context: the record goes to every
 * reader's event ring, beside the subflow events, where `subflowctl subflow
 * monitor` reads them. User space cannot write into those rings itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "events.bpf.h"
#include "subflow_pm_abi.h"

char LICENSE[] SEC("license") = "GPL";

SEC("syscall")
int subflow_pmlog(struct subflow_pm_decision *ctx)
{
	struct subflow_pm_decision rec;

	__builtin_memcpy(&rec, ctx, sizeof(rec));
	if (rec.ev.type != SUBFLOW_EVENT_PM_DECISION || rec.ev.size != sizeof(rec))
		return -22;	/* -EINVAL: only decisions go this way */
	if (events_wanted())
		emit_record(&rec, sizeof(rec));
	return 0;
}
