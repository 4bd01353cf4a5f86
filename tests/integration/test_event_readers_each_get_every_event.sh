#!/usr/bin/env bash
# Events serve several readers at once and cost nothing without one:
# - with no reader, no slot is claimed (event_active 0) and nothing is lost;
# - two `subflow monitor`s started together both print every event of the
#   same connection (up, established and down of both subflows), the same
#   ones, instead of sharing them out;
# - at most 8 readers: a ninth is refused with a clear error; a reader
#   killed with SIGKILL keeps its slot only until its lease runs out (5 s),
#   then a new reader gets it;
# - readers that exit release their slots.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq bpftool
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
active() { bpftool -j map lookup pinned "$SUBFLOW_PIN_DIR/event_active" key 0 0 0 0 | jq .formatted.value.slots; }

# No reader: nothing claimed, nothing written (a connection comes and goes).
pair_start "$LAB_TMP/quiet" "$CG" "$CG" "$S1_V4" 6600
pair_stop "$LAB_TMP/quiet"
none_listed() { [ "$(ctl_in "$NS_C" subflow list | jq length)" = 0 ]; }
wait_for 2 none_listed || fail "the first connection is still listed"
assert_eq 0 "$(active)" "claimed slots with no reader"
assert_eq 0 "$(jq .counters.events_lost <<<"$(ctl status)")" "events lost with no reader"

monitor() {	# monitor NAME [COUNT]: a JSON monitor of the client's namespace in the background
	local count=()
	[ -n "${2:-}" ] && count=(count "$2")
	# nsenter execs subflowctl: $! is the monitor itself.
	nsenter --net="/run/netns/$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -j subflow monitor \
		"${count[@]}" > "$LAB_TMP/$1.json" 2> "$LAB_TMP/$1.err" &
	MON_PID=$!
	proc_register "$MON_PID"
}
claimed() { [ "$(active)" = "$1" ]; }

monitor a 6; a=$MON_PID
monitor b 6; b=$MON_PID
wait_for 5 claimed 3 || fail "two monitors did not claim two slots: $(active)"
pair_start "$LAB_TMP/p" "$CG" "$CG" "$S1_V4" 6601
pair_stop "$LAB_TMP/p"
for pid in $a $b; do
	_wait_pid_gone "$pid" 10 || fail "monitor $pid did not stop after 6 events"
done
token=$(jq .token "$LAB_TMP/p/client.json")
for m in a b; do
	assert_eq '["down","down","established","established","up","up"]' \
		"$(jq -s -c "[.[] | select(.subflow.token == $token) | .event] | sort" "$LAB_TMP/$m.json")" \
		"monitor $m: the connection's events (all it printed: $(jq -s -c "map({event, t: .subflow.token, id: .subflow.id})" "$LAB_TMP/$m.json"))"
done
assert_json_eq "$(jq -s -c 'map({event, id: .subflow.id, local: .subflow.local})' "$LAB_TMP/a.json")" \
	"$(jq -s -c 'map({event, id: .subflow.id, local: .subflow.local})' "$LAB_TMP/b.json")" \
	"both monitors got the same events"
wait_for 2 claimed 0 || fail "monitors that exited left slots claimed: $(active)"

# Eight readers at most; a killed one's slot comes back when its lease ends.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	monitor m$i
	pids+=("$MON_PID")
done
wait_for 5 claimed 255 || fail "eight monitors did not claim all slots: $(active)"
assert_status 1 "a ninth reader" in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -j subflow monitor count 1
[[ $(jq -r .error <<<"$OUT") == *"held by a live reader"* ]] || fail "ninth reader's error: $OUT"
kill -KILL "${pids[0]}"
started=$(date +%s%N)
# A new reader claims the dead reader's slot once that lease has run out
# (5 s); until then it is refused.
late_claims() {
	rm -f "$LAB_TMP/late.json"
	monitor late 2
	late=$MON_PID
	sleep 0.3
	! grep -q "held by a live reader" "$LAB_TMP/late.json" 2>/dev/null && kill -0 "$late" 2>/dev/null
}
wait_for 8 late_claims || fail "no reader got the slot of the killed one: $(cat "$LAB_TMP/late.json")"
waited=$(( ($(date +%s%N) - started) / 1000000 ))
assert_ge 3500 "$waited" "ms before the killed reader's slot was free again (its lease: 5 s)"
pair_start "$LAB_TMP/after" "$CG" "$CG" "$S1_V4" 6602
pair_stop "$LAB_TMP/after"
_wait_pid_gone "$late" 10 || fail "the late monitor got no events"
log "the late reader got a slot $waited ms after the kill"
for (( i = 1; i < 8; i++ )); do
	kill "${pids[i]}" 2>/dev/null || fail "monitor m$(( i + 1 )) had exited: $(cat "$LAB_TMP/m$(( i + 1 )).err" "$LAB_TMP/m$(( i + 1 )).json")"
done
for pid in "${pids[@]:1}"; do
	_wait_pid_gone "$pid" 5 || fail "monitor $pid did not exit"
done
wait_for 2 claimed 0 || fail "slots still claimed after every reader exited: $(active): $(bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/event_readers" | jq -c '[.[].value]')"
echo "PASS: readers each get every event, 8 at most, a killed reader's slot is reused, none claimed without readers"
