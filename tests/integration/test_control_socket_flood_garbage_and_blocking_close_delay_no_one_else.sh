#!/usr/bin/env bash
# Hostile clients of the daemon's control socket slow down no one else's
# calls and never crash it. One throwaway user sends every kind of malformed
# request (each answered with its own error, the connection still served);
# another floods it for 6 s from 40 connections (more than the per-user
# limit: some are turned away), half of them never reading their answers,
# plus a connect/close churn; a third passes a TCP socket whose last close
# blocks (SO_LINGER 30 s, unacknowledged data on a blackholed path), which
# holds one of the daemon's request threads. Meanwhile a legitimate user's
# calls (subflow_getsockopt_fd through the daemon) all succeed, each within
# a second; the daemon stays up and still carries out requests afterwards.
# The latencies are logged; `make bench` measures the ratio to an idle
# daemon (row u).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"
source "$(dirname "$0")/../control_lib.sh"

require_mptcp
require_built
require_cmd jq nft setpriv nsenter
lab_init
control_lab
LEGIT=$(free_id passwd)
GARBLER=$(free_id passwd)
FLOODER=$(free_id passwd)
LINGERER=$(free_id passwd)

# percentile FILE P: the P-th percentile of the numbers in FILE, one a line.
percentile() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print v[i] }'
}

app_start legit "$LEGIT"
app_ok legit connect "$S1_V4" "$ECHO_PORT" >/dev/null
app_ok legit echo 1000 >/dev/null
app_ok legit latency 50 1 tos | jq '.us[]' > "$LAB_TMP/idle.us"
log "idle daemon: getsockopt through it p50 $(percentile "$LAB_TMP/idle.us" 50) us, max $(percentile "$LAB_TMP/idle.us" 100) us"

# ---- garbage: every case answered with its error, the connection served on ----
as_user "$GARBLER" "$NS_C" "$CONTROL_RAW" "$CTL_SOCK" garbage > "$LAB_TMP/garbage.json"
assert_ge 20 "$(wc -l < "$LAB_TMP/garbage.json")" "garbage cases"
jq -e -s 'all(.[]; .answered) and all(.[] | select(.case != "alive"); .error < 0 and (.message | length) > 0)
	  and (.[-1] | .case == "alive" and .error == 0)' "$LAB_TMP/garbage.json" >/dev/null ||
	fail "a malformed request was not refused with a message, or the connection was not served after: $(cat "$LAB_TMP/garbage.json")"

# ---- a close that blocks, on one of the daemon's request threads ----
# Where the user sees the go file ($LAB_TMP is root's alone).
PUB=$(mktemp -d "/tmp/subflow-ctl-$LAB_SUFFIX.XXXXXX")
lab_on_cleanup "rm -rf '$PUB'"
chmod 0755 "$PUB"
GO=$PUB/linger.go
lab_on_cleanup "nft_heal '$NS_S' '$NS_C' 2>/dev/null"
# The lingering connection has an echo server of its own: a client killed
# mid-linger below must not end the legitimate user's connection with it.
LINGER_PORT=$((ECHO_PORT + 1))
echo_server "$LINGER_PORT"
# linger_try: the client passes its connection and closes its own copy at
# once, so that the daemon's copy is the last. If the daemon was faster
# (received, closed the subflow and its copy, all before the client's
# close), the client's close is the last and lingers instead: returns 1
# after undoing the attempt, for one more.
linger_try() {
	rm -f "$GO"
	SPAWN_OUT=$LAB_TMP/linger.json spawn_in "$CG_C" "$NS_C" setpriv --reuid "$LINGERER" \
		--regid "$LINGERER" --groups "$CTL_GID" -- "$CONTROL_RAW" "$CTL_SOCK" linger "$S2_V4" \
		"$LINGER_PORT" "$GO"
	local pid=$SPAWNED_PID
	wait_for 5 grep -q connected "$LAB_TMP/linger.json" || fail "linger client: $(cat "$LAB_TMP/linger.json")"
	nft_blackhole "$NS_S" "$S2" "$NS_C" "$C2"
	touch "$GO"
	wait_for 5 grep -q passed "$LAB_TMP/linger.json" && return 0
	log "the daemon closed its copy before the client did (the client's close lingers): again"
	kill -9 "$pid" 2>/dev/null
	_wait_pid_gone "$pid" 5
	nft_heal "$NS_S" "$NS_C"
	return 1
}
linger_try || linger_try || fail "linger client: $(cat "$LAB_TMP/linger.json")"
in_progress() { ctl_in "$NS_C" status | jq .daemon.control_socket.requests_in_progress; }
wait_for 5 count_is 1 in_progress || fail "the blocking close is not in progress: $(ctl_in "$NS_C" status | jq .daemon)"
grep -q answered "$LAB_TMP/linger.json" && fail "the lingering close did not block: $(cat "$LAB_TMP/linger.json")"

# ---- the flood, and the legitimate user's calls during it ----
SPAWN_OUT=$LAB_TMP/flood.json spawn_in "$CG_C" "$NS_C" setpriv --reuid "$FLOODER" --regid "$FLOODER" \
	--groups "$CTL_GID" -- "$CONTROL_RAW" "$CTL_SOCK" flood 6 40
FLOOD_PID=$SPAWNED_PID
clients() { ctl_in "$NS_C" status | jq .daemon.control_socket.clients; }
wait_for 3 sh -c '[ "$("$@")" -ge 20 ]' sh clients 2>/dev/null || true
start=$(date +%s%N)
app_ok legit latency 100 1 tos > "$LAB_TMP/flood.latency"
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -0 "$FLOOD_PID" 2>/dev/null || fail "the flood ended before the legitimate calls did (they took $took_ms ms)"
jq '.us[]' "$LAB_TMP/flood.latency" > "$LAB_TMP/flood.us"
assert_eq 0 "$(jq .errors "$LAB_TMP/flood.latency")" "legitimate calls failed during the flood"
max=$(percentile "$LAB_TMP/flood.us" 100)
[ "$max" -lt 1000000 ] || fail "a legitimate call took $max us during the flood"
log "during the flood and the blocked close: p50 $(percentile "$LAB_TMP/flood.us" 50) us, p99 $(percentile "$LAB_TMP/flood.us" 99) us, max $max us ($took_ms ms for 100 calls)"
_wait_pid_gone "$FLOOD_PID" 15 || fail "the flood did not end"
wait "$FLOOD_PID" || fail "a flooder failed: $(cat "$LAB_TMP/flood.json")"
assert_ge 1000 "$(jq -s 'map(.sent) | add' "$LAB_TMP/flood.json")" "requests the flood sent"
log "flood: $(jq -s -c 'map(.sent) | add' "$LAB_TMP/flood.json") requests, $(jq -s -c 'map(.answers) | add' "$LAB_TMP/flood.json") answers read, $(jq -s -c 'map(.connects) | add' "$LAB_TMP/flood.json") churned connections"

# ---- the daemon: up, counting, serving ----
kill -0 "$DAEMON_PID" || fail "the daemon died: $(tail -5 "$DAEMON_LOG")"
ST=$(ctl_in "$NS_C" status | jq .daemon.control_socket)
assert_ge 1000 "$(jq .refused <<<"$ST")" "requests refused"
assert_ge 1 "$(jq .turned_away <<<"$ST")" "connections turned away by the per-user limit"
assert_eq 1 "$(jq .requests_in_progress <<<"$ST")" "requests in progress (the blocked close)"
app_ok legit open "$C1_V4" "$S1_V4" >/dev/null
app_ok legit echo 100000 >/dev/null
log "status after: $(jq -c . <<<"$ST")"
echo "PASS: garbage, a 6 s flood from 40 connections and a blocking close delayed no legitimate call beyond 1 s; the daemon serves on"
