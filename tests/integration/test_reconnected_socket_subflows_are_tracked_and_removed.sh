#!/usr/bin/env bash
# One MPTCP socket connected three times (connect, connect(AF_UNSPEC),
# connect again, as the kernel's selftests do with `mptcp_connect -I`): each
# connection is listed on both sides with the kernel's own ids and tuples
# (MPTCP_FULL_INFO), including the client's first subflow after a
# reconnection, which the kernel numbers 0, and the joins, which keep
# counting (3, 4, ...). The connection before is forgotten within a second
# of the disconnection; at the end nothing is left and every subflow added
# was removed. By fd, the library gives the same lists.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq
lab_init
lab_setup

ROUNDS=3
CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
D=$LAB_TMP/peer
mkdir -p "$D"
SPAWN_OUT=$D/server.log spawn_in "$CG" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" -p 5900 \
	-n "$ROUNDS" --hold --subflows 2 --info-json "$D/server.json" --ready-file "$D/ready"
server=$SPAWNED_PID
wait_for 5 test -e "$D/ready" || fail "server did not start: $(cat "$D/server.log")"
SPAWN_OUT=$D/client.log spawn_in "$CG" "$NS_C" "$MPTCP_PEER" client -a "$S1_V4" -p 5900 \
	--reconnect "$ROUNDS" --info-json "$D/client.json" --hold-until "$D/go"
client=$SPAWNED_PID

prev=
for (( r = 0; r < ROUNDS; r++ )); do
	cview=$D/client.json.$r
	sview=$D/server.json; [ "$r" -gt 0 ] && sview=$D/server.json.$r
	wait_file 10 "$cview" || fail "round $r: the client wrote no view: $(cat "$D/client.log")"
	wait_file 10 "$sview" || fail "round $r: the server wrote no view: $(cat "$D/server.log")"
	for side in client server; do
		if [ "$side" = client ]; then ns=$NS_C; view=$cview; else ns=$NS_S; view=$sview; fi
		token=$(jq .token "$view")
		kernel=$(view_subflows "$view" kernel)
		listed() { [ "$(ctl_conn "$ns" "$token" | jq '.nr_subflows // 0')" = 2 ]; }
		wait_for 2 listed || fail "round $r $side: token $token not listed with 2 subflows: $(ctl_in "$ns" subflow list)"
		assert_json_eq "$kernel" "$(conn_subflows "$(ctl_conn "$ns" "$token")")" \
			"round $r $side: 'subflow list' vs MPTCP_FULL_INFO"
		assert_json_eq "$kernel" "$(view_subflows "$view" lib_fd)" \
			"round $r $side: by fd vs MPTCP_FULL_INFO"
	done
	ids=$(jq -c '[.kernel[].id] | sort' "$cview")
	if [ "$r" = 0 ]; then
		assert_eq "[1,2]" "$ids" "round 0: client subflow ids"
	else
		assert_eq "[0,$(( r + 2 ))]" "$ids" "round $r: client subflow ids (first one 0, the join counts on)"
	fi
	if [ -n "$prev" ]; then
		forgotten() { [ "$(ctl_conn "$NS_C" "$prev")" = null ]; }
		wait_for 1 forgotten || fail "round $r: the previous connection $prev is still listed: $(ctl_conn "$NS_C" "$prev")"
	fi
	prev=$(jq .token "$cview")
	touch "$D/go.$r"
done
_wait_pid_gone "$client" 10 || fail "client did not finish"
wait "$client" || fail "client failed: $(cat "$D/client.log")"
_wait_pid_gone "$server" 10 || fail "server did not finish"

assert_engine_forgot_all 2 "after the last connection"
status=$STATUS
assert_eq $(( 4 * ROUNDS )) "$(jq .counters.subflows_added <<<"$status")" \
	"subflows added (2 per side and connection)"
echo "PASS: $ROUNDS connections on one socket tracked with the kernel's ids (0 after a reconnection) and removed"
