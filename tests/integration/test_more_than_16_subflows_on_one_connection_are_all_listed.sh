#!/usr/bin/env bash
# A connection with 21 subflows (the userspace path manager on both sides:
# the in-kernel one allows 8) is tracked whole on both sides: `subflow list`
# gives the kernel's own ids and tuples (MPTCP_FULL_INFO of each end's
# socket), the two inline in the connection's entry and the 19 others in
# subflow_overflow. Data then flows over all of them, every byte checked, and
# after the close nothing is left: no entry in either map, every subflow
# added removed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq
lab_init
lab_setup
pm_userspace "$NS_C"
pm_userspace "$NS_S"
CG_C=$(cg_create client)
CG_S=$(cg_create server)
ctl cgroup attach "$CG_C" >/dev/null || fail "cgroup attach $CG_C"
ctl cgroup attach "$CG_S" >/dev/null || fail "cgroup attach $CG_S"
# The server's userspace PM accepts joins only while someone listens to
# its events.
monitor_start "$NS_S" "$LAB_TMP/server.mon"

EXTRA=20
for (( i = 0; i < EXTRA; i++ )); do
	ip -n "$NS_C" addr add "10.31.1.$(( 101 + i ))/24" dev "$C1" || fail "ip addr add"
done
D=$LAB_TMP/stream
PORT=8300
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$PORT" upload 2 idle
T=$STREAM_TOKEN
for (( i = 0; i < EXTRA; i++ )); do
	ctl_in "$NS_C" subflow open token "$T" local "10.31.1.$(( 101 + i ))" remote "$S1_V4" \
		port "$PORT" >/dev/null || fail "subflow open from 10.31.1.$(( 101 + i ))"
done

kernel_view() {	# kernel_view SIDE: [{id, local, remote}] of MPTCP_FULL_INFO, sorted
	full_info "$D" "$1" | jq -c '[.subflows[] | select(.tcp.state == 1) |
		{id, local: {addr: .local.addr, port: .local.port},
		 remote: {addr: .remote.addr, port: .remote.port}}] | sort_by(.id)'
}
for side in client server; do
	if [ "$side" = client ]; then ns=$NS_C; else ns=$NS_S; fi
	token=$(full_info "$D" "$side" | jq .token)
	kernel=$(kernel_view "$side")
	assert_eq $(( EXTRA + 1 )) "$(jq length <<<"$kernel")" "$side: subflows in MPTCP_FULL_INFO"
	listed() { [ "$(ctl_conn "$ns" "$token" | jq '.nr_subflows // 0')" = $(( EXTRA + 1 )) ]; }
	wait_for 2 listed || fail "$side: the engine lists $(ctl_conn "$ns" "$token" | jq .nr_subflows) subflows"
	assert_json_eq "$kernel" "$(conn_subflows "$(ctl_conn "$ns" "$token")")" \
		"$side: 'subflow list' vs MPTCP_FULL_INFO"
	for id in 1 2 3 $(( EXTRA + 1 )); do
		assert_json_eq "$(jq -c --argjson i "$id" '.[] | select(.id == $i)' <<<"$kernel")" \
			"$(ctl_in "$ns" subflow show token "$token" id "$id" | jq -c '{id, local, remote}')" \
			"$side: 'subflow show token $token id $id'"
	done
done
status=$(ctl status)
assert_eq $(( 2 * (EXTRA + 1 - 2) )) \
	"$(jq '.maps[] | select(.name == "subflow_overflow") | .entries' <<<"$status")" \
	"subflow_overflow entries (all but two subflows per side)"

stream_go "$D"
stream_finish "$D"
assert_engine_forgot_all 5 "after the close"
echo "PASS: $(( EXTRA + 1 )) subflows per side listed with the kernel's ids and tuples, $STREAM_BYTES bytes intact, nothing left"
