#!/usr/bin/env bash
# A new policy reaches the running daemon atomically: `policy load` (which
# signals the namespace's daemons) swaps `prefer wifi over lte` for `prefer
# lte over wifi`, and the existing connection is decided again under it (lte
# regular first, then wifi backup); SIGHUP re-reads the policies and changes
# nothing when they did not change; a bad file changes nothing at all.
# Every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
prefer_lab "path wifi dev $C1
path lte dev $C2
prefer wifi over lte"

port=8150
D=$LAB_TMP/s
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 8
backup_on() {
	ss_subflows "$NS_C" "$port" | grep -q "^$1[:%].* ESTAB [^ ]*b"
}
wait_for 5 backup_on "$C2_V4" || fail "no lte backup subflow: $(ss_subflows "$NS_C" "$port")"

printf 'path wifi dev %s\npath lte dev %s\nprefer lte over wifi\n' "$C1" "$C2" > "$LAB_TMP/swapped.policy"
OUT=$(ctl_in "$NS_C" policy load "$CG_C" "$LAB_TMP/swapped.policy") || fail "policy load: $OUT"
wait_decision 2 "$NS_C" regular lte
wait_decision 2 "$NS_C" backup wifi
first=$(decisions "$NS_C" 'select(.action == "regular" or .action == "backup") | .action + " " + .path' | tail -2 | head -1)
assert_eq "regular lte" "$first" "first decision under the new policy (make before break)"
wait_for 2 backup_on "$C1_V4" || fail "wifi is not backup: $(ss_subflows "$NS_C" "$port")"
backup_on "$C2_V4" && fail "lte is still backup: $(ss_subflows "$NS_C" "$port")"

# A reload that changes nothing decides nothing. Only a path event in the
# window may (a subflow without ACK progress or unanswered probes on this
# shared machine): then what it decided names that path state, and is all
# under the policy in force.
n=$(decisions "$NS_C" | wc -l)
decided_since_n() {
	decisions "$NS_C" '.action + " " + (.path // "-") + ": " + .reason' | tail -n +$((n + 1))
}
nothing_but_path_events() {
	local what=$1 extra
	extra=$(decided_since_n)
	[ -z "$extra" ] && return 0
	echo "decisions $what (a path event?):"$'\n'"$extra"
	grep -qE ": prefer lte over wifi: .*(link down|no address|no route|probes unanswered|no ACK progress|unusable)" <<< "$extra" ||
		fail "decisions $what, with no path event: $extra"
	grep -vq ": prefer lte over wifi: " <<< "$extra" &&
		fail "decisions $what not under 'prefer lte over wifi': $extra"
	n=$(decisions "$NS_C" | wc -l)
}
kill -HUP "$DAEMON_PID"
wait_for 2 grep -q "policies reloaded (SIGHUP)" "$LAB_TMP/daemon-$NS_C.log" || fail "no reload on SIGHUP"
sleep 0.3
nothing_but_path_events "after a SIGHUP with the same policies"

# `policy load` signals the daemons (SIGHUP) once the maps hold the new
# policy; a poll finds a changed set too: neither may happen now.
reloads() { grep -cE "policies (reloaded|changed)" "$LAB_TMP/daemon-$NS_C.log" || true; }
before=$(reloads)
printf 'path wifi dev %s\nprefer wifi over nowhere\n' "$C1" > "$LAB_TMP/bad.policy"
assert_status 1 "bad policy load" ctl_in "$NS_C" policy load "$CG_C" "$LAB_TMP/bad.policy"
sleep 1.2	# a poll of the policies included
assert_eq "$before" "$(reloads)" "the daemon's policy reloads after a refused policy"
nothing_but_path_events "after a refused policy"
wait_for 3 backup_on "$C1_V4" || fail "wifi is not backup any more after a refused policy: $(ss_subflows "$NS_C" "$port")"
stream_finish "$D"
echo PASS
