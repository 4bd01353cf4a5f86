#!/usr/bin/env bash
# GET_SUB_IDS / GET_SUB_TUPLE: for a live two-path MPTCP connection, on the
# client side AND the server side, over IPv4 AND IPv6, the subflow ids and
# 4-tuples the engine reports equal the kernel's own answer (MPTCP_FULL_INFO
# on the application's socket):
#   - libsubflow by fd (subflow_get_ids + subflow_get_tuple, in the app),
#   - libsubflow by token (subflow_get_*_by_token, in the app),
#   - the CLI: `subflow list` and `subflow show token T id I` (decimal and hex),
# and the connection's token, netns cookie, side, cgroup, subflow state,
# initial flag and output interface are right. Cross-check: the number of
# subflows equals what `ss` counts in each namespace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
CG_ID=$(cg_id "$CG")

# path_dev NETNS SIDE SUBFLOW_JSON: the interface of the path a subflow uses
# (path 2 when either end is a path-2 address).
path_dev() {
	local ns_side=$1 sf=$2 second
	second=$(jq -r --arg a "$C2_V4" --arg b "$S2_V4" --arg c "$C2_V6" --arg d "$S2_V6" \
		'[.local.addr, .remote.addr] | any(. == $a or . == $b or . == $c or . == $d)' <<<"$sf")
	case $ns_side:$second in
	client:false) echo "$C1" ;; client:true) echo "$C2" ;;
	server:false) echo "$S1" ;; server:true) echo "$S2" ;;
	esac
}

# check_side NAME NETNS SIDE VIEW_FILE PORT
check_side() {
	local what=$1 ns=$2 side=$3 view=$4 port=$5
	local kernel token cookie conn sf id dev hex

	kernel=$(view_subflows "$view" kernel)
	token=$(jq .token "$view")
	cookie=$(jq .netns_cookie "$view")
	assert_eq 2 "$(jq '.kernel | length' "$view")" "$what: subflows in MPTCP_FULL_INFO"
	assert_eq 2 "$(jq .subflows_total "$view")" "$what: subflows in MPTCP_INFO"
	assert_eq "" "$(jq -r '.lib_fd_error // ""' "$view")" "$what: library by fd error"
	assert_eq "" "$(jq -r '.lib_token_error // ""' "$view")" "$what: library by token error"
	assert_json_eq "$kernel" "$(view_subflows "$view" lib_fd)" \
		"$what: subflow_get_ids/subflow_get_tuple(fd) vs MPTCP_FULL_INFO"
	assert_json_eq "$kernel" "$(view_subflows "$view" lib_token)" \
		"$what: subflow_get_*_by_token vs MPTCP_FULL_INFO"

	conn=$(ctl_conn "$ns" "$token")
	[ "$conn" != null ] || fail "$what: token $token missing from 'subflow list': $(ctl_in "$ns" subflow list)"
	assert_json_eq "$kernel" "$(conn_subflows "$conn")" "$what: 'subflow list' vs MPTCP_FULL_INFO"
	assert_eq "$side" "$(jq -r .side <<<"$conn")" "$what: side"
	assert_eq "$cookie" "$(jq .netns_cookie <<<"$conn")" "$what: netns_cookie (SO_NETNS_COOKIE)"
	assert_eq "$(in_ns "$ns" stat -L -c %i /proc/self/ns/net)" "$(jq .netns <<<"$conn")" \
		"$what: netns inode"
	assert_eq "$CG_ID" "$(jq .cgroup_id <<<"$conn")" "$what: cgroup_id"
	assert_eq "$(ss_subflow_count "$ns" "$port")" "$(jq '.subflows | length' <<<"$conn")" \
		"$what: subflow count, engine vs ss -tn in $ns"

	for id in $(jq '.[].id' <<<"$kernel"); do
		sf=$(jq -c --argjson i "$id" '.subflows[] | select(.id == $i)' <<<"$conn")
		assert_eq ESTABLISHED "$(jq -r .state <<<"$sf")" "$what: subflow $id state"
		assert_eq false "$(jq .backup <<<"$sf")" "$what: subflow $id backup (no backup endpoint)"
		# The kernel numbers the initial (MP_CAPABLE) subflow 1.
		assert_eq "$([ "$id" = 1 ] && echo true || echo false)" "$(jq .initial <<<"$sf")" \
			"$what: subflow $id initial"
		dev=$(path_dev "$side" "$sf")
		assert_eq "$(ifindex "$ns" "$dev")" "$(jq .ifindex <<<"$sf")" \
			"$what: subflow $id ifindex (expected $dev)"

		assert_json_eq "$(jq -c --argjson i "$id" '.[] | select(.id == $i)' <<<"$kernel")" \
			"$(ctl_in "$ns" subflow show token "$token" id "$id" | jq -c '{id, local, remote}')" \
			"$what: 'subflow show token $token id $id' vs MPTCP_FULL_INFO"
		hex=$(printf '0x%x' "$token")
		assert_json_eq "$(jq -c --argjson i "$id" '.[] | select(.id == $i)' <<<"$kernel")" \
			"$(ctl_in "$ns" subflow show token "$hex" id "$id" | jq -c '{id, local, remote}')" \
			"$what: 'subflow show token $hex id $id' vs MPTCP_FULL_INFO"
	done

	# And the library by token from another process (the CLI's path too).
	assert_json_eq "$kernel" \
		"$(in_ns "$ns" "$MPTCP_PEER" token "$token" | jq -c '[.lib_token[] | {id, local, remote}] | sort_by(.id)')" \
		"$what: subflow_get_*_by_token from another process vs MPTCP_FULL_INFO"
}

port=5100
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG" "$CG" "$server" "$port" -b 200000
	check_side "$family client" "$NS_C" client "$dir/client.json" "$port"
	check_side "$family server" "$NS_S" server "$dir/server.json" "$port"
	# Both sides agree on the 4-tuples (mirrored).
	assert_json_eq "$(view_subflows "$dir/client.json" kernel | jq -c '[.[] | {local, remote}] | sort_by(.local.port)')" \
		"$(view_subflows "$dir/server.json" kernel | jq -c '[.[] | {local: .remote, remote: .local}] | sort_by(.local.port)')" \
		"$family: client and server tuples"
	pair_stop "$dir"
	port=$(( port + 1 ))
done
echo "PASS: ids and tuples match MPTCP_FULL_INFO on both sides, IPv4 and IPv6"
