#!/usr/bin/env bash
# A policy that names only the path it restricts (`path lte dev c2`, `rule
# path lte deny`) says nothing about c1: a subflow on c1 is on no path, no
# rule matches it, and it is admitted. So a connection to 10.31.1.2, which
# routing sends out of c1, must work (1 subflow, on c1, counted as
# no_match), with only the join on c2 refused.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/lte-only.policy
printf 'path lte dev c2\nrule path lte deny\n' > "$POLICY"
pol_attach "$NS_C" "$CG_C" "$POLICY"
errors_before=$(join_errors "$NS_C")

pair_start "$LAB_TMP/p" "$CG_S" "$CG_C" "$S1_V4" 7100 --subflows 1
assert_json_eq "[\"$C1_V4\"]" "$(jq -c '[.kernel[].local.addr]' "$LAB_TMP/p/client.json")" "subflows: one, on c1"
wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + 1 )) || fail "the join on c2 was not refused"
pair_stop "$LAB_TMP/p"
assert_eq "[1,1]" "$(pol_hits "$NS_C" "$CG_C")" "hits [lte deny, no match]"
echo "PASS: denying the only named path leaves interfaces on no path usable"
