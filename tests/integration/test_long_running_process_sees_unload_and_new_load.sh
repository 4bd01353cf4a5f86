#!/usr/bin/env bash
# A long-running library user notices an unload and a new load: its cached
# map fds are rechecked (at most every 250 ms), so after `unload` its
# queries say "not loaded" (-ENOENT) instead of reading the dead engine's
# maps, and after a new load they read the new engine's maps (the stats map
# it uses has the new map's id).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool jq
lab_init

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

mkfifo "$LAB_TMP/probe.in" "$LAB_TMP/probe.out"
"$ENGINE_PROBE" < "$LAB_TMP/probe.in" > "$LAB_TMP/probe.out" &
proc_register $!
exec {PROBE_IN}>"$LAB_TMP/probe.in" {PROBE_OUT}<"$LAB_TMP/probe.out"
lab_on_cleanup 'exec {PROBE_IN}>&- {PROBE_OUT}<&-'
# probe CMD: send one command, its answer in $ANSWER.
probe() {
	echo "$1" >&"$PROBE_IN"
	read -r -t 5 ANSWER <&"$PROBE_OUT" || fail "engine_probe did not answer '$1'"
}
stats_map_id() {
	bpftool -j map show pinned "$SUBFLOW_PIN_DIR/stats" | jq .id
}
probe_says() {
	probe "$1"
	[ "$ANSWER" = "$2" ]
}

first_id=$(stats_map_id)
probe stats-id
assert_eq "0 $first_id" "$ANSWER" "stats map of the running process"
probe stats
[[ $ANSWER == "0 "* ]] || fail "stats while loaded: $ANSWER"

ctl unload >/dev/null || fail "unload"
wait_for 2 probe_says stats "-2 0" || fail "after unload, stats answered '$ANSWER', not -ENOENT"
probe stats-id
assert_eq "-2 0" "$ANSWER" "stats map after unload"

ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG again"
second_id=$(stats_map_id)
assert_ne "$first_id" "$second_id" "the new engine's stats map id"
wait_for 2 probe_says stats-id "0 $second_id" ||
	fail "after a new load, the process uses stats map '$ANSWER', not $second_id"
probe stats
[[ $ANSWER == "0 "* ]] || fail "stats after the new load: $ANSWER"

echo "PASS: a running process saw the unload (-ENOENT) and then the new engine's maps (stats map $first_id -> $second_id)"
