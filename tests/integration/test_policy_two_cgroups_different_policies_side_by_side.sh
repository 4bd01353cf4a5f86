#!/usr/bin/env bash
# Two applications in two cgroups, each with its own policy, connected at the
# same time over the same paths: app A (policies/dscp-per-path.policy) uses
# both paths (2 subflows, tos 0x88 on c1, 0x20 on c2); app B
# (policies/app-path-restriction.policy) is denied lte (1 subflow, on c1,
# tos untouched). Each policy's counters see only its own cgroup's subflows.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_A=$(cg_create a)
CG_B=$(cg_create b)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_A" "$POLICY_DIR/dscp-per-path.policy"
pol_attach "$NS_C" "$CG_B" "$POLICY_DIR/app-path-restriction.policy"
errors_before=$(join_errors "$NS_C")

# Both connections open, and stay open, together.
pair_start "$LAB_TMP/b" "$CG_S" "$CG_B" "$S1_V4" 6601 --subflows 1
pair_start "$LAB_TMP/a" "$CG_S" "$CG_A" "$S1_V4" 6600
wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + 1 )) ||
	fail "B's join on c2 was never refused"

view_a=$LAB_TMP/a/client.json view_b=$LAB_TMP/b/client.json
assert_json_eq "[\"$C1_V4\",\"$C2_V4\"]" "$(jq -c '[.kernel[].local.addr]' "$view_a")" "app A: subflows on both paths"
assert_json_eq "[\"$C1_V4\"]" "$(jq -c '[.kernel[].local.addr]' "$view_b")" "app B: one subflow, on c1"
assert_eq 2 "$(ss_subflow_count "$NS_C" 6600)" "app A: subflows in ss"
assert_eq 1 "$(ss_subflow_count "$NS_C" 6601)" "app B: subflows in ss"
for pair in "a $C1_V4 0x88" "a $C2_V4 0x20" "b $C1_V4 0"; do
	set -- $pair
	view=$LAB_TMP/$1/client.json
	line=$(ss_sock "$NS_C" "$2" "$(view_sub "$view" "$(view_id_on "$view" "$2")" port)")
	assert_eq "$3" "$(ss_field "$line" 'tos:(0x)?[0-9a-f]+' | cut -d: -f2)" "app $1, subflow on $2: tos"
done
assert_eq 1 "$(( $(join_errors "$NS_C") - errors_before ))" "joins refused by the kernel (B's only)"
# (Which counter A's initial subflow lands on is
# test_policy_initial_subflow_counts_hit_on_its_path_rule.sh's business.)
assert_eq 1 "$(pol_show "$NS_C" "$CG_A" | jq '.rules[1].hits')" "app A: lte rule hits"
assert_eq 2 "$(pol_show "$NS_C" "$CG_A" | jq '([.rules[].hits] | add) + .no_match')" "app A: subflows decided"
assert_eq "[0,0]" "$(pol_show "$NS_C" "$CG_A" | jq -c '[.paths[].denials]')" "app A denials"
assert_eq "[1,1]" "$(pol_hits "$NS_C" "$CG_B")" "app B hits [lte deny, no match]"
assert_eq 1 "$(pol_denials "$NS_C" "$CG_B" lte)" "app B denials on lte"
pair_stop "$LAB_TMP/a"
pair_stop "$LAB_TMP/b"
echo "PASS: two cgroups, two policies, at the same time: A has 2 subflows with per-path tos, B 1 subflow (lte denied)"
