#!/usr/bin/env bash
# Connections opened BEFORE `cgroup attach` are reported (the attach-time
# snapshot): after attaching, the engine lists the already established
# connection on both sides, IPv4 and IPv6, with the kernel's own subflow ids
# and tuples (MPTCP_FULL_INFO), through the CLI and libsubflow by token, and
# marks those subflows as found by the snapshot.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
CG_ID=$(cg_id "$CG")

port=5200
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG" "$CG" "$server" "$port"
	# Before the attach (no engine loaded) the app's own calls by fd
	# already answer: they ask the kernel, not the engine.
	assert_json_eq "$(view_subflows "$dir/client.json" kernel)" \
		"$(view_subflows "$dir/client.json" lib_fd)" "$family: library by fd before attach (engine not loaded)"
	port=$(( port + 1 ))
done

ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

for family in v4 v6; do
	dir=$LAB_TMP/$family
	for side in client server; do
		if [ "$side" = client ]; then ns=$NS_C; else ns=$NS_S; fi
		view=$dir/$side.json
		what="$family $side (opened before attach)"
		token=$(jq .token "$view")
		kernel=$(view_subflows "$view" kernel)
		conn=$(ctl_conn "$ns" "$token")
		[ "$conn" != null ] ||
			fail "$what: token $token missing from 'subflow list': $(ctl_in "$ns" subflow list)"
		assert_json_eq "$kernel" "$(conn_subflows "$conn")" "$what: 'subflow list' vs MPTCP_FULL_INFO"
		assert_eq "$side" "$(jq -r .side <<<"$conn")" "$what: side"
		assert_eq "$CG_ID" "$(jq .cgroup_id <<<"$conn")" "$what: cgroup_id"
		assert_eq "$(jq .netns_cookie "$view")" "$(jq .netns_cookie <<<"$conn")" "$what: netns_cookie"
		assert_eq "true" "$(jq '[.subflows[].snapshot] | all' <<<"$conn")" "$what: snapshot flag"
		assert_eq "ESTABLISHED ESTABLISHED" "$(jq -r '[.subflows[].state] | join(" ")' <<<"$conn")" \
			"$what: states"
		for id in $(jq '.[].id' <<<"$kernel"); do
			assert_json_eq "$(jq -c --argjson i "$id" '.[] | select(.id == $i)' <<<"$kernel")" \
				"$(ctl_in "$ns" subflow show token "$token" id "$id" | jq -c '{id, local, remote}')" \
				"$what: 'subflow show token $token id $id'"
		done
		assert_json_eq "$kernel" \
			"$(in_ns "$ns" "$MPTCP_PEER" token "$token" | jq -c '[.lib_token[] | {id, local, remote}] | sort_by(.id)')" \
			"$what: subflow_get_*_by_token vs MPTCP_FULL_INFO"
	done
done

for family in v4 v6; do
	pair_stop "$LAB_TMP/$family"
done
echo "PASS: connections opened before attach are reported on both sides"
