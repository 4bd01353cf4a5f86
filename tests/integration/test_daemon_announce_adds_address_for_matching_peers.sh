#!/usr/bin/env bash
# Server side: `announce ADDR to PREFIX` makes the server's daemon send
# ADD_ADDR of ADDR to every client in PREFIX: the client (a stock host, its
# in-kernel PM accepting announced addresses) sees the announcement (`ip
# mptcp monitor`) and opens a subflow to it. A client outside PREFIX gets no
# announcement. Every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
ip -n "$NS_C" mptcp endpoint flush	# the client only answers announcements
CG_C=$(cg_create client)
CG_S=$(cg_create server)
printf 'announce %s to 10.31.0.0/16\n' "$S2_V4" > "$LAB_TMP/server.policy"
OUT=$(ctl_in "$NS_S" cgroup attach "$CG_S" policy "$LAB_TMP/server.policy") || fail "attach: $OUT"
daemon_start "$NS_S"
monitor_start "$NS_C" "$LAB_TMP/client.mon"

D=$LAB_TMP/in
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" 8191 download 3
wait_decision 3 "$NS_S" announce ""
wait_for 3 grep -q "ANNOUNCED.*daddr4=$S2_V4" "$LAB_TMP/client.mon" ||
	fail "the client saw no ADD_ADDR of $S2_V4: $(cat "$LAB_TMP/client.mon")"
to_announced() {
	in_ns "$NS_C" ss -Htn state established '( dport = :8191 )' | grep -c "$S2_V4:8191" || true
}
wait_for 5 count_is 1 to_announced ||
	fail "the client opened no subflow to $S2_V4: $(ss_subflows "$NS_C" 8191)"
stream_finish "$D"

# Outside the prefix: nothing announced.
printf 'announce %s to 192.168.0.0/16\n' "$S2_V4" > "$LAB_TMP/other.policy"
OUT=$(ctl_in "$NS_S" policy load "$CG_S" "$LAB_TMP/other.policy") || fail "policy load: $OUT"
sleep 0.5
n=$(decision_count "$NS_S" announce "")
D=$LAB_TMP/out
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" 8192 download 2
sleep 1
assert_eq "$n" "$(decision_count "$NS_S" announce "")" "announcements to a client outside the prefix"
stream_finish "$D"
echo PASS
