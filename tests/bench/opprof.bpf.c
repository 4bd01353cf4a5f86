// SPDX-License-Identifier: GPL-2.0
/*
 * opprof: where the engine's sockops time goes, callback by callback. Two
 * sockops programs bracket the engine's own in a cgroup's program list
 * (attached before and after it, cgroup programs run in attach order):
 * opprof_pre notes the time, opprof_post adds the time since then to the
 * callback's counter, keyed by op and, for BPF_SOCK_OPS_STATE_CB, by the new
 * state. What lies between is exactly what the engine costs on that
 * callback (plus the bracket's own clock reads; the bench measures those
 * with the engine detached and subtracts them). Bench only, never part of
 * the engine.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NR_OPS		16	/* BPF_SOCK_OPS_* below 16 */
#define NR_STATES	16	/* TCP states */
#define MAX_DEPTH	4	/* a softirq may nest in a process-context run */

struct op_stat {
	__u64 runs;
	__u64 ns;
};

struct cpu_clock {
	__u32 depth;
	__u32 pad;
	__u64 t0[MAX_DEPTH];
};

/* Index: op * NR_STATES + (op == STATE_CB ? new state : 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_OPS * NR_STATES);
	__type(key, __u32);
	__type(value, struct op_stat);
} op_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_clock);
} clocks SEC(".maps");

SEC("sockops")
int opprof_pre(struct bpf_sock_ops *skops)
{
	__u32 zero = 0;
	struct cpu_clock *c = bpf_map_lookup_elem(&clocks, &zero);

	if (c && c->depth < MAX_DEPTH) {
		c->t0[c->depth & (MAX_DEPTH - 1)] = bpf_ktime_get_ns();
		c->depth++;
	}
	return 1;
}

SEC("sockops")
int opprof_post(struct bpf_sock_ops *skops)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0, op = skops->op, key;
	struct cpu_clock *c = bpf_map_lookup_elem(&clocks, &zero);
	struct op_stat *s;

	if (!c || !c->depth)
		return 1;
	c->depth--;
	if (op >= NR_OPS)
		return 1;
	key = op * NR_STATES;
	if (op == BPF_SOCK_OPS_STATE_CB)
		key += skops->args[1] & (NR_STATES - 1);
	s = bpf_map_lookup_elem(&op_stats, &key);
	if (s) {
		s->runs++;
		s->ns += now - c->t0[c->depth & (MAX_DEPTH - 1)];
	}
	return 1;
}
