#!/usr/bin/env bash
# A full connection table is counted and reported, and costs nothing more:
# with room for 4 connections ($SUBFLOW_MAX_CONNS=4 at load), 3 held
# connections (6 entries wanted, client and server side) fill it; `status`
# shows conns 4/4 and counts the subflows refused (map_full); the engine
# lists what it holds and nothing else. The subflows it could not record do
# not ask for any more callbacks: while the table is full, a short 64 KiB
# connection runs the sockops program as often as when it is not (kernel BPF
# statistics; a per-packet retry would run it once per packet, ~100 times).
# Once the held connections close, new ones are tracked again.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq
CONNRATE=$LAB_BUILD/tests/bench/connrate
[ -x "$CONNRATE" ] || fail "$CONNRATE not built (run make)"
lab_init
lab_setup

CG=$(cg_create app)
SUBFLOW_MAX_CONNS=4 ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
status=$(ctl status)
assert_eq 4 "$(jq '.maps[] | select(.name == "conns") | .max_entries' <<<"$status")" "conns capacity"

SPAWN_OUT=$LAB_TMP/rate.log spawn_in "$CG" "$NS_S" "$CONNRATE" server -a "$S1_V4" -p 6500 -b 65536 \
	--ready-file "$LAB_TMP/rate.ready"
wait_file 5 "$LAB_TMP/rate.ready" || fail "connrate server did not start: $(cat "$LAB_TMP/rate.log")"
# runs_per_conn: sockops runs per 64 KiB connection over half a second.
runs_per_conn() {
	local out
	out=$(run_in "$CG" "$NS_C" "$CONNRATE" client -a "$S1_V4" -p 6500 -b 65536 -d 0.5 \
		--bpf-prog "$SUBFLOW_PIN_DIR/prog_track") || fail "connrate client failed"
	awk -v c="$(awk '{ for (i = 1; i < NF; i++) if ($i == "conns") print $(i + 1) }' <<<"$out")" \
	    -v r="$(awk '{ for (i = 1; i < NF; i++) if ($i == "bpf_runs") print $(i + 1) }' <<<"$out")" \
	    'BEGIN { printf "%.1f", r / c }'
}
with_room=$(runs_per_conn)

for i in 1 2 3; do
	pair_start "$LAB_TMP/p$i" "$CG" "$CG" "$S1_V4" $(( 6500 + i ))
done
status=$(ctl status)
assert_eq 4 "$(jq '.maps[] | select(.name == "conns") | .entries' <<<"$status")" "conns entries (full)"
full=$(jq .counters.map_full <<<"$status")
assert_ge 2 "$full" "map_full: the subflows of the connections that found no room"
listed=$(( $(ctl_in "$NS_C" subflow list | jq length) + $(ctl_in "$NS_S" subflow list | jq length) ))
assert_eq 4 "$listed" "connections listed (client + server), as many as the table holds"

when_full=$(runs_per_conn)
log "sockops runs per 64 KiB connection: $with_room with room, $when_full with the table full"
awk -v a="$with_room" -v b="$when_full" 'BEGIN { exit !(b <= 1.3 * a + 1) }' ||
	fail "a full table costs more callbacks: $when_full runs per connection, $with_room with room"
assert_ge $(( full + 2 )) "$(jq .counters.map_full <<<"$(ctl status)")" \
	"map_full grew with the connections that found no room"

for i in 1 2 3; do
	pair_stop "$LAB_TMP/p$i"
done
empty() { [ "$(jq '.maps[] | select(.name == "conns") | .entries' <<<"$(ctl status)")" = 0 ]; }
wait_for 2 empty || fail "conns not empty after the held connections closed"
pair_start "$LAB_TMP/after" "$CG" "$CG" "$S1_V4" 6510
token=$(jq .token "$LAB_TMP/after/client.json")
assert_eq 2 "$(ctl_conn "$NS_C" "$token" | jq .nr_subflows)" "a new connection is tracked again"
pair_stop "$LAB_TMP/after"
echo "PASS: full table counted ($full refused), reported, no retry cost ($when_full vs $with_room runs/conn)"
