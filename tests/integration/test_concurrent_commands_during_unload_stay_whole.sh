#!/usr/bin/env bash
# subflowctl runs side by side with `unload`: readers (status, subflow list,
# cgroup list), changers (policy load, attach/detach of another cgroup) and
# unload + re-attach, all at once, for a bounded number of rounds. Every run
# ends on its own (none waits past the lock timeout), exits 0 or 1 (never
# crashes), and prints exactly one JSON value; a change either happens whole
# or is refused. At the end, after a last unload, nothing is left: no pin
# directory, no program on any of the cgroups, no link of theirs.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool jq timeout
lab_init

ROUNDS=${ROUNDS:-4}
CG1=$(cg_create one)
CG2=$(cg_create two)
printf 'rule cc reno\n' > "$LAB_TMP/p.policy"
printf 'rule cc cubic\n' > "$LAB_TMP/q.policy"
ctl cgroup attach "$CG1" policy "$LAB_TMP/p.policy" >/dev/null || fail "cgroup attach $CG1"

# run_logged NAME ARGS...: one subflowctl -j run, bounded in time; its exit
# status, whether stdout is one JSON value, and anything alarming on stderr.
run_logged() {
	local name=$1 rc=0 out err
	shift
	out=$(timeout 30 "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@" 2>"$LAB_TMP/$name.err") || rc=$?
	err=$(cat "$LAB_TMP/$name.err")
	printf '%s rc=%s json=%s cmd=%s err=%s\n' "$name" "$rc" \
		"$(jq -s length <<<"$out" 2>/dev/null || echo invalid)" "$*" "$(jq -r .error? <<<"$out" 2>/dev/null | head -c 200)" >> "$LAB_TMP/results"
	if grep -qE 'Sanitizer|runtime error|Segmentation|Assertion|double free' <<<"$err"; then
		printf '%s ALARM %s: %s\n' "$name" "$*" "$(head -n1 <<<"$err")" >> "$LAB_TMP/results"
		# The whole report, for the log (results keeps one line per run).
		printf '==== %s: subflowctl %s\n%s\n' "$name" "$*" "$err" >> "$LAB_TMP/alarms"
	fi
}
# worker NAME ARGS...: run the command again and again until the unloader
# is done (at most 3000 times), so that runs fall in every phase of it.
worker() {
	local name=$1 i
	shift
	for (( i = 0; i < 3000; i++ )); do
		[ -e "$LAB_TMP/done" ] && break
		run_logged "$name" "$@"
	done
	return 0
}
changer() {
	local i
	for (( i = 0; i < 3000; i++ )); do
		[ -e "$LAB_TMP/done" ] && break
		run_logged attach2 cgroup attach "$CG2" policy "$LAB_TMP/q.policy"
		run_logged detach2 cgroup detach "$CG2"
	done
	return 0
}
unloader() {
	local i
	for (( i = 0; i < ROUNDS; i++ )); do
		run_logged unload unload
		run_logged reattach cgroup attach "$CG1" policy "$LAB_TMP/p.policy"
	done
	touch "$LAB_TMP/done"
}

pids=()
worker status status & pids+=($!)
worker list subflow list --all-netns & pids+=($!)
worker cglist cgroup list & pids+=($!)
worker load policy load "$CG1" "$LAB_TMP/p.policy" & pids+=($!)
changer & pids+=($!)
unloader & pids+=($!)
for pid in "${pids[@]}"; do
	proc_register "$pid"
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "a worker failed"
done

total=$(wc -l < "$LAB_TMP/results")
log "outcomes: $(awk '{ print $1, $2 }' "$LAB_TMP/results" | sort | uniq -c | paste -sd, )"
assert_ge $(( 10 * ROUNDS )) "$total" "commands run"
if grep -q ALARM "$LAB_TMP/results"; then
	cat "$LAB_TMP/alarms" >&2
	fail "a run crashed or reported memory errors: $(grep -m3 ALARM "$LAB_TMP/results")"
fi
bad=$(grep -vE ' rc=[01] json=1 ' "$LAB_TMP/results" || true)
[ -z "$bad" ] || fail "runs that hung, crashed or printed other than one JSON value:
$(head -5 <<<"$bad")"
# Every kind of change went through at least once, in between the others.
for name in unload reattach load attach2 detach2 status list; do
	grep -q "^$name rc=0 " "$LAB_TMP/results" || fail "no '$name' run succeeded"
done

# The last state is a whole engine or none; after a last unload, none.
ctl unload >/dev/null 2>&1 || true
[ ! -e "$SUBFLOW_PIN_DIR" ] || fail "pin directory left after the last unload: $(ls "$SUBFLOW_PIN_DIR")"
for cg in "$CG1" "$CG2"; do
	assert_eq "" "$(bpftool -j cgroup show "$cg" | jq -r '.[].id')" "programs on $cg at the end"
	assert_eq "" "$(bpftool -j link show | jq -r --argjson id "$(cg_id "$cg")" \
		'.[] | select(.cgroup_id == $id) | .id')" "links on $cg at the end"
done

echo "PASS: $total concurrent runs around $ROUNDS unloads: none hung or crashed, each printed one JSON value, nothing left"
