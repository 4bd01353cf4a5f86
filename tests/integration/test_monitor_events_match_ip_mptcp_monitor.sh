#!/usr/bin/env bash
# `subflowctl subflow monitor` reports what the kernel's own path-manager
# events (`ip mptcp monitor`) report, for the caller's namespace only: the
# initial subflow's up/established with the CREATED/ESTABLISHED endpoints,
# the join's up/established with the SF_ESTABLISHED endpoints, under the
# same token, with the join's address ids (locid, remid); then one down
# per subflow when the connection CLOSED. It stops
# after `count` events, and prints nothing recorded before it started.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd stdbuf
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

# Old events in the ring buffer (no reader yet) must not reach the monitor.
pair_start "$LAB_TMP/old" "$CG" "$CG" "$S1_V4" 5700
touch "$LAB_TMP/old/go"
wait_for 5 sh -c "! kill -0 $(cat "$LAB_TMP/old/client.pid") 2>/dev/null" || fail "old client still running"

stdbuf -oL ip -n "$NS_C" mptcp monitor > "$LAB_TMP/kernel.txt" 2>&1 &
proc_register $!
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -j subflow monitor count 6 \
	> "$LAB_TMP/engine.json" 2> "$LAB_TMP/engine.err" &
monitor=$!
proc_register "$monitor"
sleep 0.3	# both listeners subscribed

pair_start "$LAB_TMP/p" "$CG" "$CG" "$S1_V4" 5701
token=$(jq .token "$LAB_TMP/p/client.json")
touch "$LAB_TMP/p/go"
monitor_done() { ! kill -0 "$monitor" 2>/dev/null; }
wait_for 10 monitor_done || fail "monitor did not stop after 6 events: $(cat "$LAB_TMP/engine.json")"
wait "$monitor" || fail "monitor failed: $(cat "$LAB_TMP/engine.err")"
kernel_closed() { grep -q "CLOSED\] token=$(printf %08x "$token")" "$LAB_TMP/kernel.txt"; }
wait_for 5 kernel_closed || fail "ip mptcp monitor saw no CLOSED for $token: $(cat "$LAB_TMP/kernel.txt")"

events=$LAB_TMP/engine.json
assert_eq 6 "$(wc -l < "$events")" "events printed (count 6)"
assert_eq "[$token]" "$(jq -s -c '[.[].subflow.token] | unique' "$events")" \
	"tokens: only the client connection of this namespace (the server's are elsewhere; the old one is past)"
assert_eq '["down","down","established","established","up","up"]' \
	"$(jq -s -c '[.[].event] | sort' "$events")" "event kinds"

# kernel_tuple EVENT: "saddr:sport daddr:dport" of the kernel's EVENT line.
kernel_tuple() {
	grep "$1\] token=$(printf %08x "$token")" "$LAB_TMP/kernel.txt" | head -1 |
		sed -E 's/.*saddr4=([^ ]+) daddr4=([^ ]+) sport=([0-9]+) dport=([0-9]+).*/\1:\3 \2:\4/'
}
engine_tuple() {	# EVENT INITIAL(true|false)
	jq -r --arg e "$1" --argjson i "$2" \
		'select(.event == $e and .subflow.initial == $i) |
		 "\(.subflow.local.addr):\(.subflow.local.port) \(.subflow.remote.addr):\(.subflow.remote.port)"' \
		"$events"
}
assert_eq "$(kernel_tuple ' CREATED')" "$(engine_tuple up true)" "initial subflow: up vs CREATED"
assert_eq "$(kernel_tuple ' ESTABLISHED')" "$(engine_tuple established true)" \
	"initial subflow: established vs ESTABLISHED"
assert_eq "$(kernel_tuple SF_ESTABLISHED)" "$(engine_tuple established false)" \
	"join: established vs SF_ESTABLISHED"
assert_eq "$(kernel_tuple SF_ESTABLISHED)" "$(engine_tuple up false)" "join: up vs SF_ESTABLISHED"
# The address ids (s16 in the kernel: -1 would be "not set", never 255).
kernel_ids=$(grep "SF_ESTABLISHED\] token=$(printf %08x "$token")" "$LAB_TMP/kernel.txt" | head -1 |
	sed -E 's/.*remid=([0-9]+) locid=([0-9]+).*/\2 \1/')
assert_eq "$kernel_ids" "$(jq -r 'select(.event == "established" and (.subflow.initial | not)) |
	"\(.subflow.local_addr_id) \(.subflow.remote_addr_id)"' "$events")" "join: address ids vs SF_ESTABLISHED"
assert_eq "0 0" "$(jq -r 'select(.event == "established" and .subflow.initial) |
	"\(.subflow.local_addr_id) \(.subflow.remote_addr_id)"' "$events")" "initial subflow: address ids"
assert_eq "[1,2]" "$(jq -s -c '[.[] | select(.event == "down") | .subflow.id] | sort' "$events")" \
	"one down per subflow after the kernel's CLOSED"
echo "PASS: monitor events match ip mptcp monitor (token $token)"
