#!/usr/bin/env bash
# `policy rule CGROUP set INDEX RULE-WORDS` replaces one rule as a new
# policy generation: the other rules and paths stay as they were, a
# connection opened before keeps its two subflows and marks, a connection
# opened after gets the new rule (set 0 `path lte deny`: one subflow; set 0
# `path lte mark 0x21`: c2 marked 0x21). A bad rule (FILE:LINE:COL error
# with the place marked, exit non-zero) changes nothing.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
cat > "$LAB_TMP/p.policy" <<'P'
path wifi dev c1
path lte  dev c2
rule path lte mark 0x20
rule path wifi mark 0x10
P
pol_attach "$NS_C" "$CG_C" "$LAB_TMP/p.policy"
progs=$(prog_ids)
gen0=$(pol_show "$NS_C" "$CG_C" | jq .generation)
errors_before=$(join_errors "$NS_C")

c2_mark() {	# c2_mark DIR: the fwmark of that connection's c2 subflow
	local view=$1/client.json
	ss_field "$(ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C2_V4")" port)")" \
		'fwmark:0x[0-9a-f]+'
}

pair_start "$LAB_TMP/c0" "$CG_S" "$CG_C" "$S1_V4" 7400
assert_eq "fwmark:0x20" "$(c2_mark "$LAB_TMP/c0")" "c2 mark before any edit"

ctl_in "$NS_C" policy rule "$CG_C" set 0 path lte deny > "$LAB_TMP/out" ||
	fail "policy rule set 0: $(cat "$LAB_TMP/out")"
show=$(pol_show "$NS_C" "$CG_C")
assert_json_eq '["rule path lte deny","rule path wifi mark 0x10"]' "$(jq -c '[.rules[].text]' <<<"$show")" \
	"rules after set 0"
assert_json_eq '["path wifi dev c1","path lte dev c2"]' "$(jq -c '[.paths[].text]' <<<"$show")" "paths after set 0"
gen1=$(jq .generation <<<"$show")
[ "$gen1" -gt "$gen0" ] || fail "generation did not grow: $gen0 -> $gen1"
assert_eq "$progs" "$(prog_ids)" "program ids after the edit"

pair_start "$LAB_TMP/c1" "$CG_S" "$CG_C" "$S1_V4" 7401 --subflows 1
wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + 1 )) || fail "the join on c2 was not refused after set 0"
assert_eq 1 "$(jq '.kernel | length' "$LAB_TMP/c1/client.json")" "connection after 'set 0 path lte deny': subflows"
assert_eq 2 "$(ss_subflow_count "$NS_C" 7400)" "connection from before the edit keeps 2 subflows"
assert_eq "fwmark:0x20" "$(c2_mark "$LAB_TMP/c0")" "connection from before the edit keeps its c2 mark"
pair_stop "$LAB_TMP/c1"

# A bad rule: FILE:LINE:COL error, a caret under the place, nothing changes.
rc=0
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy rule "$CG_C" set 0 path lte mark 0x21 bogus \
	> "$LAB_TMP/out" 2> "$LAB_TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "a bad rule was accepted"
grep -qE '^[^:]+:1:[0-9]+: error: .*bogus' "$LAB_TMP/err" || fail "bad rule: $(cat "$LAB_TMP/err")"
grep -q '\^' "$LAB_TMP/err" || fail "bad rule: no caret marking the place: $(cat "$LAB_TMP/err")"
assert_json_eq "$(jq -c '{text, generation}' <<<"$show")" \
	"$(pol_show "$NS_C" "$CG_C" | jq -c '{text, generation}')" "policy after a bad rule"

ctl_in "$NS_C" policy rule "$CG_C" set 0 path lte mark 0x21 > "$LAB_TMP/out" ||
	fail "policy rule set 0 (mark): $(cat "$LAB_TMP/out")"
pair_start "$LAB_TMP/c2" "$CG_S" "$CG_C" "$S1_V4" 7402
assert_eq "fwmark:0x21" "$(c2_mark "$LAB_TMP/c2")" "connection after 'set 0 path lte mark 0x21': c2 mark"
pair_stop "$LAB_TMP/c2"
pair_stop "$LAB_TMP/c0"
echo "PASS: policy rule set replaces one rule for new subflows (0x20 -> deny -> 0x21), atomically, old connections untouched"
