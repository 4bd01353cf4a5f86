#!/usr/bin/env bash
# A rule that sets both tos and priority gives the subflow that priority.
# (Linux's IP_TOS / IPV6_TCLASS setsockopt also rewrites sk_priority from the
# TOS bits, so the order in which the engine applies them matters.)
# `rule path lte tos 0x10 priority 5`: the c2 subflow must have tos 0x10 and
# priority 5 (ss: class_id:0x5), not the priority IP_TOS derived (6).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/tos-priority.policy
cat > "$POLICY" <<'P'
path lte dev c2
rule path lte tos 0x10 priority 5
P
pol_attach "$NS_C" "$CG_C" "$POLICY"
pair_start "$LAB_TMP/p" "$CG_S" "$CG_C" "$S1_V4" 6850
view=$LAB_TMP/p/client.json
id=$(view_id_on "$view" "$C2_V4")
line=$(ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$id" port)")
log "c2 subflow: $line"
assert_eq "tos:0x10" "$(ss_field "$line" 'tos:0x[0-9a-f]+')" "ss tos"
assert_eq 16 "$(sockopt "$NS_C" "$(jq .token "$view")" "$id" tos)" "getsockopt tos"
assert_eq 5 "$(sockopt "$NS_C" "$(jq .token "$view")" "$id" priority)" "getsockopt priority"
assert_eq "class_id:0x5" "$(ss_field "$line" 'class_id:0x[0-9a-f]+')" "ss class_id (priority)"
pair_stop "$LAB_TMP/p"
echo "PASS: tos and priority in one rule: the subflow has both (tos 0x10, priority 5)"
