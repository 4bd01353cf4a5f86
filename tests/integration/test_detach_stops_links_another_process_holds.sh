#!/usr/bin/env bash
# Detach means bpf_link_detach, not only removing the pins: while another
# process holds fds of the engine's cgroup links (and of its programs),
# `cgroup detach` and `unload` still leave no program attached to the
# cgroup (bpftool cgroup show), and the held links report no cgroup.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool jq
lab_init

CG=$(cg_create app)
CG_ID=$(cg_id "$CG")

lines_at_least() {
	[ "$(grep -c . "$1")" -ge "$2" ]
}
# hold_pins: an engine_probe holding every link and program pin, until the
# end of the test. Prints the ids of the cgroup's links.
hold_pins() {
	local f cmds=""
	for f in "$SUBFLOW_PIN_DIR"/link_cgroup_* "$SUBFLOW_PIN_DIR"/prog_*; do
		cmds+="hold $f"$'\n'
	done
	mkfifo "$LAB_TMP/hold.$1"
	"$ENGINE_PROBE" < "$LAB_TMP/hold.$1" > "$LAB_TMP/hold.$1.out" &
	proc_register $!
	exec {HOLD_FD}>"$LAB_TMP/hold.$1"
	printf '%s' "$cmds" >&"$HOLD_FD"
	wait_for 5 lines_at_least "$LAB_TMP/hold.$1.out" "$(grep -c . <<<"$cmds")" ||
		fail "engine_probe did not take every pin: $(grep -c . <<<"$cmds") asked, answers: $(paste -sd, "$LAB_TMP/hold.$1.out")"
	grep -qv "^0$" "$LAB_TMP/hold.$1.out" && fail "engine_probe could not open a pin: $(cat "$LAB_TMP/hold.$1.out")"
	return 0
}
cg_links() {
	bpftool -j link show | jq -r --argjson cg "$CG_ID" '.[] | select(.cgroup_id == $cg) | .id' | sort -n
}

ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
hooks=$(bpftool -j cgroup show "$CG" | jq length)
assert_ge 1 "$hooks" "hooks attached"
links=$(cg_links)
hold_pins detach
ctl cgroup detach "$CG" >/dev/null || fail "cgroup detach $CG"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after detach, links held"
for l in $links; do
	bpftool link show id "$l" >/dev/null 2>&1 || fail "held link $l is gone (the test holds it)"
done
assert_eq "" "$(cg_links)" "links still on cgroup $CG after detach"

ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG again"
hold_pins unload
ctl unload >/dev/null || fail "unload"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after unload, links held"
assert_eq "" "$(cg_links)" "links still on cgroup $CG after unload"

echo "PASS: detach and unload detached $hooks hooks whose links another process held"
