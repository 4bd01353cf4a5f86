#!/usr/bin/env bash
# `policy load` on an attached cgroup swaps the policy live: no program is
# reloaded (`status -j` .programs[].id unchanged), the generation grows, a
# connection opened before the load keeps what it got (its c2 subflow stays
# fwmark 0x20, bbr), and a connection opened after it gets the new rule
# (fwmark 0x40, cc reno) on its c2 subflow.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
printf 'path lte dev c2\nrule path lte mark 0x20\n' > "$LAB_TMP/old.policy"
printf 'path lte dev c2\nrule path lte mark 0x40 cc reno\n' > "$LAB_TMP/new.policy"
pol_attach "$NS_C" "$CG_C" "$LAB_TMP/old.policy"
progs=$(prog_ids)
gen_old=$(pol_show "$NS_C" "$CG_C" | jq .generation)
assert_ge 5 "$(jq length <<<"$progs")" "engine programs loaded"

# lte_line DIR: ss's line for the c2 subflow of that pair's connection.
lte_line() {
	local view=$1/client.json
	ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C2_V4")" port)"
}

pair_start "$LAB_TMP/before" "$CG_S" "$CG_C" "$S1_V4" 7200
assert_eq "fwmark:0x20" "$(ss_field "$(lte_line "$LAB_TMP/before")" 'fwmark:0x[0-9a-f]+')" "before the load: c2 mark"

pol_load "$NS_C" "$CG_C" "$LAB_TMP/new.policy"
assert_eq "$progs" "$(prog_ids)" "program ids after policy load (nothing reloaded)"
show=$(pol_show "$NS_C" "$CG_C")
gen_new=$(jq .generation <<<"$show")
[ "$gen_new" -gt "$gen_old" ] || fail "generation did not grow: $gen_old -> $gen_new"
assert_eq "rule path lte mark 0x40 cc reno" "$(jq -r '.rules[0].text' <<<"$show")" "rule in force"

pair_start "$LAB_TMP/after" "$CG_S" "$CG_C" "$S1_V4" 7201
after=$(lte_line "$LAB_TMP/after")
assert_eq "fwmark:0x40" "$(ss_field "$after" 'fwmark:0x[0-9a-f]+')" "connection after the load: c2 mark"
assert_eq "reno" "$(ss_cc "$after")" "connection after the load: c2 cc"
before=$(lte_line "$LAB_TMP/before")
assert_eq "fwmark:0x20" "$(ss_field "$before" 'fwmark:0x[0-9a-f]+')" "connection before the load keeps its c2 mark"
assert_eq "bbr" "$(ss_cc "$before")" "connection before the load keeps its c2 cc"
assert_eq "[1,1]" "$(pol_hits "$NS_C" "$CG_C")" "new policy's counters: the new connection only"
pair_stop "$LAB_TMP/before"
pair_stop "$LAB_TMP/after"
assert_eq "$progs" "$(prog_ids)" "program ids at the end"
echo "PASS: policy load changes new subflows only (0x20 -> 0x40 + reno), same programs, generation $gen_old -> $gen_new"
