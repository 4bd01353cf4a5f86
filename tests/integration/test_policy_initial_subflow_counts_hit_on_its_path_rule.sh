#!/usr/bin/env bash
# The rule that shapes a connection's initial subflow is the rule that
# counts it. With `rule path wifi mark 0x10` and `rule path lte mark 0x20`,
# each of 3 connections has its initial subflow on c1 (fwmark 0x10: rule 0
# decided it) and its join on c2 (0x20: rule 1). Expected counters: hits
# [3,3], no_match 0. (`subflow list`'s policy_rule is checked by
# test_policy_client_options_set_only_on_matching_subflow.sh.)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/paths.policy
cat > "$POLICY" <<'P'
path wifi dev c1
path lte  dev c2
rule path wifi mark 0x10
rule path lte  mark 0x20
P
pol_attach "$NS_C" "$CG_C" "$POLICY"

for i in 1 2 3; do
	dir=$LAB_TMP/c$i
	pair_start "$dir" "$CG_S" "$CG_C" "$S1_V4" 6800
	view=$dir/client.json
	id=$(view_id_on "$view" "$C1_V4")
	line=$(ss_sock "$NS_C" "$C1_V4" "$(view_sub "$view" "$id" port)")
	assert_eq "fwmark:0x10" "$(ss_field "$line" 'fwmark:0x[0-9a-f]+')" "connection $i: initial subflow shaped by rule 0"
	pair_stop "$dir"
done
assert_eq "[3,3,0]" "$(pol_hits "$NS_C" "$CG_C")" "hits [path wifi, path lte, no match]"
echo "PASS: the initial subflow counts one hit on the path rule that shaped it"
