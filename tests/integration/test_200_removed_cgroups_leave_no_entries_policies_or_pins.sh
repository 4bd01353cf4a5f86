#!/usr/bin/env bash
# Containers come and go: 200 cgroups, in waves of 25, are each attached
# with a policy, filled with MPTCP traffic (a connection with two subflows,
# tracked), and removed while their connections are still open (the client
# processes moved out first, as a runtime does). The next command reaps
# what they left; at the end there are 0 attachments, 0 policies, 0 link
# pins, 0 attached_cgroups, conns and subflow_overflow entries. 200 is more than
# `policies` holds (SUBFLOW_MAX_POLICIES), so this also proves the policies of
# removed cgroups are given back. One wave is reaped by `cgroup prune`
# explicitly, while a held lock stops the implicit reaping.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq flock
lab_init
lab_setup

TOTAL=${TOTAL:-200}
WAVE=${WAVE:-25}
PORT=6950
ROOT=$(cg_root)
CG_S=$(cg_create srv)
printf 'rule cc reno\n' > "$LAB_TMP/p.policy"

SPAWN_OUT=$LAB_TMP/server.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" \
	-p "$PORT" -n 0 --ready-file "$LAB_TMP/server.ready"
wait_for 5 test -e "$LAB_TMP/server.ready" || fail "server did not start: $(cat "$LAB_TMP/server.log")"

tracked_in() {	# tracked_in IDS_JSON: client-side subflows of those cgroups
	ctl_in "$NS_C" subflow list | jq --argjson ids "$1" \
		'[.[] | select(.cgroup_id as $c | $ids | index($c)) | .subflows[]] | length'
}
pruned_all() {	# pruned_all IDS_JSON: no attachment of those cgroups is listed
	[ "$(ctl cgroup list | jq --argjson ids "$1" '[.[] | select(.cgroup_id as $c | $ids | index($c))] | length')" = 0 ]
}

waves=$(( (TOTAL + WAVE - 1) / WAVE ))
for (( w = 0; w < waves; w++ )); do
	dir=$LAB_TMP/w$w
	mkdir -p "$dir"
	cgs=() pids=() ids=()
	for (( j = 0; j < WAVE && w * WAVE + j < TOTAL; j++ )); do
		cg=$(cg_create "c$w-$j")
		cgs+=("$cg")
		ids+=("$(cg_id "$cg")")
		ctl cgroup attach "$cg" policy "$LAB_TMP/p.policy" > "$dir/attach.out" 2>&1 ||
			fail "wave $w: attach $cg: $(cat "$dir/attach.out")"
	done
	for (( j = 0; j < ${#cgs[@]}; j++ )); do
		SPAWN_OUT=$dir/c$j.log spawn_in "${cgs[j]}" "$NS_C" "$MPTCP_PEER" client -a "$S1_V4" \
			-p "$PORT" -b 50000 --info-json "$dir/c$j.json" --hold-until "$dir/go"
		pids+=("$SPAWNED_PID")
	done
	for (( j = 0; j < ${#cgs[@]}; j++ )); do
		wait_file 20 "$dir/c$j.json" || fail "wave $w: client $j: $(cat "$dir/c$j.log")"
	done
	idj=$(printf '%s\n' "${ids[@]}" | jq -cs .)
	assert_eq $(( 2 * ${#cgs[@]} )) "$(tracked_in "$idj")" "wave $w: subflows tracked before removal"
	# The runtime's way: processes out, then rmdir; the sockets live on.
	for pid in "${pids[@]}"; do
		echo "$pid" > "$ROOT/cgroup.procs"
	done
	for cg in "${cgs[@]}"; do
		rmdir "$cg" || fail "wave $w: rmdir $cg"
	done
	if (( w == 1 )); then
		# The lock held: commands do not reap; `cgroup prune` waits and does.
		flock -o "$(pin_lock_file)" sleep 2 &
		proc_register $!
		wait_for 5 grep -q FLOCK /proc/locks || fail "lock not taken"
		[ "$(ctl cgroup list | jq --argjson ids "$idj" '[.[] | select(.cgroup_id as $c | $ids | index($c)) | select(.cgroup == "")] | length')" = "${#cgs[@]}" ] ||
			fail "wave $w: removed cgroups not listed as removed while the lock is held"
		pruned=$(ctl cgroup prune | jq -c '.pruned | sort')
		assert_eq "$(jq -c sort <<<"$idj")" "$pruned" "wave $w: cgroup prune names the removed cgroups"
	fi
	wait_for 5 pruned_all "$idj" || fail "wave $w: attachments of removed cgroups still listed"
	assert_eq 0 "$(tracked_in "$idj")" "wave $w: subflows of removed cgroups still tracked"
	touch "$dir/go"
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
done

status=$(ctl status)
entries() { jq --arg m "$1" '.maps[] | select(.name == $m) | .entries' <<<"$status"; }
assert_eq "[]" "$(ctl cgroup list | jq -c .)" "attachments at the end"
assert_eq "[]" "$(ctl policy show | jq -c .)" "policies at the end"
assert_eq "" "$(ls "$SUBFLOW_PIN_DIR" | grep '^link_cgroup_' || true)" "link pins at the end"
for map in attached_cgroups conns subflow_overflow; do
	assert_eq 0 "$(entries "$map")" "entries in $map at the end"
done
assert_eq '{"pruned":[]}' "$(ctl cgroup prune | jq -c .)" "cgroup prune at the end"

echo "PASS: $TOTAL removed cgroups left 0 attachments, 0 policies, 0 link pins and 0 entries"
