#!/usr/bin/env bash
# A `policy load` of a bad file (a syntax error, or an unknown device) exits
# non-zero, reports FILE:LINE:COL errors, and changes nothing: `policy
# show` text and generation are the same, and a connection opened
# afterwards still gets the old policy's mark on its c2 subflow.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
printf 'path lte dev c2\nrule path lte mark 0x20\n' > "$LAB_TMP/good.policy"
pol_attach "$NS_C" "$CG_C" "$LAB_TMP/good.policy"
state() { pol_show "$NS_C" "$CG_C" | jq -c '{text, generation, rules: [.rules[].text]}'; }
before=$(state)
progs=$(prog_ids)

SYNTAX=$LAB_TMP/syntax.policy
printf 'path lte dev c2\nrule path lte mark 0x40 cc\n' > "$SYNTAX"
NODEV=$LAB_TMP/nodev.policy
printf '# the LTE modem is wwan0 on the real host\npath lte dev wwan0\nrule path lte mark 0x40\n' > "$NODEV"

rc=0
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy load "$CG_C" "$SYNTAX" \
	> "$LAB_TMP/out" 2> "$LAB_TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "policy load of a file with a syntax error succeeded"
log "syntax error: exit $rc: $(cat "$LAB_TMP/err")"
grep -q "^$SYNTAX:2:[0-9][0-9]*: error: " "$LAB_TMP/err" || fail "no FILE:2:COL error: $(cat "$LAB_TMP/err")"
assert_json_eq "$before" "$(state)" "policy after the bad load (syntax error)"

rc=0
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy load "$CG_C" "$NODEV" \
	> "$LAB_TMP/out" 2> "$LAB_TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "policy load of a file naming an unknown device succeeded"
log "unknown device: exit $rc: $(cat "$LAB_TMP/err")"
grep -q "^$NODEV:2:[0-9][0-9]*: error: .*wwan0" "$LAB_TMP/err" ||
	fail "no FILE:2:COL error naming wwan0: $(cat "$LAB_TMP/err")"
assert_json_eq "$before" "$(state)" "policy after the bad load (unknown device)"

# JSON mode: one error object, non-zero exit, same contract.
rc=0
out=$(ctl_in "$NS_C" policy load "$CG_C" "$SYNTAX") || rc=$?
[ "$rc" != 0 ] || fail "policy load -j of a bad file succeeded"
assert_eq 2 "$(jq '.errors[0].line' <<<"$out")" "JSON error line"
assert_json_eq "$before" "$(state)" "policy after the bad load (JSON mode)"
assert_eq "$progs" "$(prog_ids)" "program ids"

# Behaviour unchanged: a new connection still gets the old mark.
pair_start "$LAB_TMP/p" "$CG_S" "$CG_C" "$S1_V4" 7300
view=$LAB_TMP/p/client.json
line=$(ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C2_V4")" port)")
assert_eq "fwmark:0x20" "$(ss_field "$line" 'fwmark:0x[0-9a-f]+')" "c2 subflow of a new connection"
pair_stop "$LAB_TMP/p"
echo "PASS: a bad policy load exits non-zero with FILE:LINE:COL errors and leaves the old policy whole"
