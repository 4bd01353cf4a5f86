#!/usr/bin/env bash
# `prefer eth over wifi` and `prefer wifi over lte if eth down`: while eth is
# up, eth carries the traffic, wifi is its backup and lte is not used at all
# (the second statement is not in force); when eth goes down, wifi takes
# over and lte becomes wifi's backup; every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
lab_third_path
prefer_lab "path wifi dev $C1
path lte dev $C2
path eth dev $C3
prefer eth over wifi
prefer wifi over lte if eth down"

port=8160
D=$LAB_TMP/s
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 6
backup_on() {
	ss_subflows "$NS_C" "$port" | grep -q "^$1[:%].* ESTAB [^ ]*b"
}
regular_on() {
	ss_subflows "$NS_C" "$port" | grep -q "^$1[:%].* ESTAB [^b ]*$"
}
wait_for 5 regular_on "$C3_V4" || fail "eth does not carry the traffic: $(ss_subflows "$NS_C" "$port")"
wait_for 5 backup_on "$C1_V4" || fail "wifi is not eth's backup: $(ss_subflows "$NS_C" "$port")"
sleep 0.5
assert_eq 0 "$(established_on "$NS_C" "$port" "$C2_V4")" "lte subflows while eth is up"
assert_eq 0 "$(decision_count "$NS_C" "open backup" lte)" "lte opened while eth is up"

ip -n "$NS_C" link set "$C3" down
wait_decision 3 "$NS_C" "open backup" lte
wait_for 3 backup_on "$C2_V4" || fail "lte is not wifi's backup with eth down: $(ss_subflows "$NS_C" "$port")"
wait_for 3 regular_on "$C1_V4" || fail "wifi does not carry the traffic with eth down: $(ss_subflows "$NS_C" "$port")"
decisions "$NS_C" 'select(.action == "open backup" and .path == "lte") | .reason' | grep -q "prefer wifi over lte" ||
	fail "lte was not opened for 'prefer wifi over lte': $(decisions "$NS_C" | tail -3)"
stream_finish "$D"
echo PASS
