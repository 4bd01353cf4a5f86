#!/usr/bin/env bash
# Of two cgroups, only the attached one is tracked: connections whose client
# and server run in cgroup A (attached) are listed on both sides; those of
# cgroup B (not attached), open at the same time over the same paths, are
# listed nowhere, and libsubflow answers "no such connection" for them by
# token. By fd, the application's own socket, every connection gets the
# kernel's answer, tracked or not (it does not come from the engine).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_A=$(cg_create a)
CG_B=$(cg_create b)
ctl cgroup attach "$CG_A" >/dev/null || fail "cgroup attach $CG_A"
assert_eq "$(cg_id "$CG_A")" "$(ctl cgroup list | jq -c '[.[].cgroup_id] | join(",")' -r)" \
	"attached cgroups"

pair_start "$LAB_TMP/a4" "$CG_A" "$CG_A" "$S1_V4" 5600
pair_start "$LAB_TMP/b4" "$CG_B" "$CG_B" "$S1_V4" 5601
pair_start "$LAB_TMP/a6" "$CG_A" "$CG_A" "$S1_V6" 5602
pair_start "$LAB_TMP/b6" "$CG_B" "$CG_B" "$S1_V6" 5603

for side in client server; do
	if [ "$side" = client ]; then ns=$NS_C; else ns=$NS_S; fi
	want=$(jq -s -c 'map(.token) | sort' "$LAB_TMP/a4/$side.json" "$LAB_TMP/a6/$side.json")
	got=$(ctl_in "$ns" subflow list | jq -c 'map(.token) | sort')
	assert_json_eq "$want" "$got" "$side tokens listed (only cgroup A's connections)"
	assert_eq "[$(cg_id "$CG_A")]" "$(ctl_in "$ns" subflow list | jq -c '[.[].cgroup_id] | unique')" \
		"$side cgroup ids listed"
	for pair in a4 a6; do
		assert_json_eq "$(view_subflows "$LAB_TMP/$pair/$side.json" kernel)" \
			"$(view_subflows "$LAB_TMP/$pair/$side.json" lib_fd)" "$pair $side: library by fd"
	done
	for pair in b4 b6; do
		view=$LAB_TMP/$pair/$side.json
		assert_eq 2 "$(jq '.kernel | length' "$view")" "$pair $side: the kernel has 2 subflows"
		assert_json_eq "$(view_subflows "$view" kernel)" "$(view_subflows "$view" lib_fd)" \
			"$pair $side: library by fd (the kernel's answer, untracked or not)"
		assert_eq "[]" "$(jq -c .lib_token "$view")" "$pair $side: library by token finds nothing"
		jq -r .lib_token_error "$view" | grep -q "No such process" ||
			fail "$pair $side: library by token: expected ESRCH, got $(jq -c .lib_token_error "$view")"
		if in_ns "$ns" "$MPTCP_PEER" token "$(jq .token "$view")" > "$LAB_TMP/out" 2>&1; then
			fail "$pair $side: library by token found an untracked connection: $(cat "$LAB_TMP/out")"
		fi
		if ctl_in "$ns" subflow show token "$(jq .token "$view")" id 1 >/dev/null 2>&1; then
			fail "$pair $side: 'subflow show' found an untracked connection"
		fi
	done
done

for pair in a4 b4 a6 b6; do
	pair_stop "$LAB_TMP/$pair"
done
echo "PASS: only the attached cgroup's connections are tracked"
