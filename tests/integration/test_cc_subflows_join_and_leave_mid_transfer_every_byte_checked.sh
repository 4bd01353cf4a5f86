#!/usr/bin/env bash
# A connection whose application chose mptcp_olia (setsockopt TCP_CONGESTION
# on its MPTCP socket: every subflow gets it) keeps moving data while its
# subflows come and go: from 1 subflow up to 8 (address endpoints added on
# both paths), down to 1 again and back up, so that subflow ids are not
# contiguous. The coupled state (cc_conns) has exactly one slot per live
# subflow id at every step (compared with the engine's tracker and ss), no
# subflow ever lacked a slot, the server checks every byte of the stream,
# and the state is gone once the connection closes. IPv4 and IPv6.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../cc_lib.sh"

require_mptcp
require_built
lab_init
lab_setup
for ns in "$NS_C" "$NS_S"; do
	ip -n "$ns" mptcp limits set subflows 8 add_addr_accepted 8
done
CG=$(cg_create app)
CG_S=$(cg_create srv)
cc_engine_load "$CG"
full0=$(ctl status | jq .cc_counters.slots_full)

# live_ids TOKEN: the connection's live subflow ids, from the tracker.
live_ids() {
	ctl_in "$NS_C" subflow list token "$1" |
		jq -r '.[0].subflows[] | select(.state == "ESTABLISHED") | .id' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# in_step TOKEN COOKIE N: the connection has N established subflows (ss) and
# cc_conns holds a slot for exactly the tracker's live ids.
in_step() {
	local ids
	ids=$(live_ids "$1")
	[ "$(wc -w <<<"$ids")" = "$3" ] && [ "$(cc_conn_ids "$2" "$1")" = "$ids" ]
}

# step TOKEN COOKIE N WHAT: wait for in_step, fail with both views if not.
step() {
	wait_for 15 in_step "$1" "$2" "$3" ||
		fail "$family, $4: expected $3 subflows; tracker '$(live_ids "$1")', cc_conns '$(cc_conn_ids "$2" "$1")'"
	log "$family, $4: subflows $(live_ids "$1")"
}

port=6400
for family in v4 v6; do
	if [ "$family" = v4 ]; then
		server=$S1_V4; extra=(10.31.1.11 10.31.2.12 10.31.1.13 10.31.2.14 10.31.1.15 10.31.2.16)
		plen=24 base_id=$C2_V4
	else
		server=$S1_V6; extra=(fd31:1::11 fd31:2::12 fd31:1::13 fd31:2::14 fd31:1::15 fd31:2::16)
		plen=64 base_id=$C2_V6
	fi
	# The lab's own c2 endpoint: removed now, re-added as a step below.
	eid=$(ip -n "$NS_C" -j mptcp endpoint show | jq -r --arg a "$base_id" '.[] | select(.address == $a) | .id')
	ip -n "$NS_C" mptcp endpoint delete id "$eid"
	dir=$LAB_TMP/$family
	mkdir -p "$dir"
	SPAWN_OUT=$dir/server.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$server" -p "$port" \
		--pattern --ready-file "$dir/ready"
	srv=$SPAWNED_PID
	wait_for 5 test -e "$dir/ready" || fail "server did not start: $(cat "$dir/server.log")"
	SPAWN_OUT=$dir/client.log spawn_in "$CG" "$NS_C" "$MPTCP_PEER" client -a "$server" -p "$port" \
		--subflows 1 --cc mptcp_olia --pattern --duration 30 --info-json "$dir/client.json"
	cli=$SPAWNED_PID
	wait_file 10 "$dir/client.json" || fail "client wrote no view: $(cat "$dir/client.log")"
	token=$(jq .token "$dir/client.json")
	cookie=$(jq .netns_cookie "$dir/client.json")

	step "$token" "$cookie" 1 "start"
	# The extra addresses only now, so that the initial subflow keeps c1's
	# first address (IPv6 source selection could pick another one).
	for a in "${extra[@]}"; do
		dev=c1; [[ $a == *.2.* || $a == *:2::* ]] && dev=c2
		if [ "$family" = v6 ]; then
			ip -n "$NS_C" addr add "$a/$plen" dev "$dev" nodad
		else
			ip -n "$NS_C" addr add "$a/$plen" dev "$dev"
		fi
	done
	# Up to 8: c2's own address and the six extra ones, one at a time.
	ids=()
	for a in "$base_id" "${extra[@]}"; do
		dev=c1; [[ $a == *.2.* || $a == *:2::* ]] && dev=c2
		ip -n "$NS_C" mptcp endpoint add "$a" dev "$dev" subflow
		ids+=("$(ip -n "$NS_C" -j mptcp endpoint show | jq -r --arg a "$a" '.[] | select(.address == $a) | .id')")
		step "$token" "$cookie" $(( ${#ids[@]} + 1 )) "joined $a"
	done
	# Every subflow runs the application's choice.
	n_olia=$(in_ns "$NS_C" ss -Htin state established "( dport = :$port )" | grep -c ' mptcp_olia ' || true)
	assert_eq 8 "$n_olia" "$family: subflows running mptcp_olia (ss)"
	# Down to 1, every second one first (ids become sparse), then back up by 2.
	for k in 1 3 5 0 2 4 6; do
		ip -n "$NS_C" mptcp endpoint delete id "${ids[k]}"
		left=0
		for j in 0 1 2 3 4 5 6; do
			ip -n "$NS_C" -j mptcp endpoint show | jq -e --argjson id "${ids[j]}" 'any(.[]; .id == $id)' \
				>/dev/null && left=$(( left + 1 ))
		done
		step "$token" "$cookie" $(( left + 1 )) "endpoint ${ids[k]} removed"
	done
	for a in "${extra[1]}" "${extra[4]}"; do
		dev=c1; [[ $a == *.2.* || $a == *:2::* ]] && dev=c2
		ip -n "$NS_C" mptcp endpoint add "$a" dev "$dev" subflow
	done
	step "$token" "$cookie" 3 "two joined again"
	log "$family: final ids $(live_ids "$token") (not contiguous)"

	_wait_pid_gone "$cli" 60 || fail "$family: client still running"
	wait "$cli" || fail "$family: client failed: $(cat "$dir/client.log" "$dir/server.log")"
	result=$(grep '"checked"' "$dir/client.log") || fail "$family: no result: $(cat "$dir/client.log")"
	log "$family: $result"
	[ "$(jq .sent <<<"$result")" -gt 1000000 ] || fail "$family: too little data moved: $result"
	kill "$srv" 2>/dev/null || true
	wait_for 5 test -z "$(cc_conn_ids "$cookie" "$token")" ||
		fail "$family: cc_conns keeps token $token after close: $(cc_conns_dump | jq -c '[.[].formatted]')"
	for a in "${extra[@]}"; do
		eid=$(ip -n "$NS_C" -j mptcp endpoint show | jq -r --arg a "$a" '.[] | select(.address == $a) | .id')
		[ -n "$eid" ] && ip -n "$NS_C" mptcp endpoint delete id "$eid"
	done
	ip -n "$NS_C" mptcp endpoint add "$base_id" dev c2 subflow 2>/dev/null || true
	port=$(( port + 1 ))
done
assert_eq "$full0" "$(ctl status | jq .cc_counters.slots_full)" "slots_full counter (at most 8 subflows)"
echo "PASS: 1 -> 8 -> 1 -> 3 subflows mid-transfer under mptcp_olia (set by the application): one cc_conns slot per live subflow id at every step, every byte checked by the server, state removed at close; IPv4 and IPv6"
