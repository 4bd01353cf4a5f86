#!/usr/bin/env bash
# Subflows found by the attach-time snapshot (their connections opened
# before `cgroup attach`) are forgotten when they close, like the others:
# the snapshot turned their state callback on. Within a second of the close
# neither side lists them, and every subflow the snapshot found was removed
# (added == removed, snapshot_found counts them, none lacked a callback).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq
lab_init
lab_setup

CG=$(cg_create app)
port=6400
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	pair_start "$LAB_TMP/$family" "$CG" "$CG" "$server" "$port"
	port=$(( port + 1 ))
done
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

for family in v4 v6; do
	for side in client server; do
		if [ "$side" = client ]; then ns=$NS_C; else ns=$NS_S; fi
		conn=$(ctl_conn "$ns" "$(jq .token "$LAB_TMP/$family/$side.json")")
		assert_eq "true true" "$(jq -r '[.subflows[].snapshot] | map(tostring) | join(" ")' <<<"$conn")" \
			"$family $side: both subflows found by the snapshot"
	done
done
status=$(ctl status)
assert_eq 8 "$(jq .counters.snapshot_found <<<"$status")" "snapshot_found (2 connections x 2 sides x 2 subflows)"
assert_eq 0 "$(jq .counters.snapshot_no_close_cb <<<"$status")" "snapshot subflows without a close callback"

for family in v4 v6; do
	pair_stop "$LAB_TMP/$family"
	for side in client server; do
		if [ "$side" = client ]; then ns=$NS_C; else ns=$NS_S; fi
		token=$(jq .token "$LAB_TMP/$family/$side.json")
		forgotten() { [ "$(ctl_conn "$ns" "$token")" = null ]; }
		wait_for 1 forgotten || fail "$family $side: still listed 1 s after the close: $(ctl_conn "$ns" "$token")"
	done
done
status=$(ctl status)
assert_eq "$(jq .counters.subflows_added <<<"$status")" "$(jq .counters.subflows_removed <<<"$status")" \
	"subflows removed vs added"
assert_eq 0 "$(jq '.maps[] | select(.name == "conns") | .entries' <<<"$status")" "conns entries"
echo "PASS: snapshot-found subflows removed at close, both sides, v4 and v6"
