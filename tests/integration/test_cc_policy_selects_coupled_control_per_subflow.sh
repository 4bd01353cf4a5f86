#!/usr/bin/env bash
# The engine registers mptcp_lia, mptcp_olia and mptcp_balia, and a policy
# picks one per subflow: `cc mptcp_lia` on the wifi path (c1), `cc
# mptcp_olia` on the lte path (c2). The kernel's own view (ss -ti) shows
# each subflow running the control its rule named, `subflow getsockopt cc`
# agrees, and the coupled state of the connection (cc_conns, keyed by the
# client's netns cookie and token) holds one slot per subflow id; it is
# gone once the connection closes. IPv4 and IPv6.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"
source "$(dirname "$0")/../cc_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/cc.policy
cat > "$POLICY" <<'P'
path wifi dev c1
path lte  dev c2
rule path wifi cc mptcp_lia
rule path lte cc mptcp_olia
P
cc_engine_load "$CG" policy "$POLICY"

status=$(ctl status)
for n in "${CC_NAMES[@]}"; do
	cc_available "$n" || fail "$n not in tcp_available_congestion_control"
	map_id=$(jq --arg n "$n" '.congestion_controls[] | select(.name == $n) | .map_id' <<<"$status")
	bpftool -j struct_ops show id "$map_id" | jq -e --arg n "$n" '.name == $n' >/dev/null ||
		fail "bpftool struct_ops show id $map_id is not $n"
done
coupled0=$(jq .cc_counters.coupled_subflows <<<"$status")

port=6300
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c1=$C1_V4 c2=$C2_V4
	else server=$S1_V6 c1=$C1_V6 c2=$C2_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG_S" "$CG" "$server" "$port" -b 3000000
	view=$dir/client.json
	token=$(jq .token "$view")
	cookie=$(jq .netns_cookie "$view")
	id_wifi=$(view_id_on "$view" "$c1")
	id_lte=$(view_id_on "$view" "$c2")
	[ -n "$id_wifi" ] && [ -n "$id_lte" ] || fail "$family: no subflow on each path: $(jq -c .kernel "$view")"
	wifi=$(ss_sock "$NS_C" "$c1" "$(view_sub "$view" "$id_wifi" port)")
	lte=$(ss_sock "$NS_C" "$c2" "$(view_sub "$view" "$id_lte" port)")
	log "$family c1: $wifi"
	log "$family c2: $lte"
	assert_eq mptcp_lia "$(ss_cc "$wifi")" "$family wifi: ss congestion control"
	assert_eq mptcp_olia "$(ss_cc "$lte")" "$family lte: ss congestion control"
	assert_eq '"mptcp_lia"' "$(sockopt "$NS_C" "$token" "$id_wifi" cc)" "$family wifi: getsockopt cc"
	assert_eq '"mptcp_olia"' "$(sockopt "$NS_C" "$token" "$id_lte" cc)" "$family lte: getsockopt cc"

	want=$(printf '%s\n' "$id_wifi" "$id_lte" | sort -n | tr '\n' ' ' | sed 's/ $//')
	wait_for 5 test "$(cc_conn_ids "$cookie" "$token")" = "$want" ||
		fail "$family: cc_conns slots for token $token: '$(cc_conn_ids "$cookie" "$token")', expected '$want': $(cc_conns_dump | jq -c .)"
	pair_stop "$dir"
	wait_for 5 test -z "$(cc_conn_ids "$cookie" "$token")" ||
		fail "$family: cc_conns still has token $token after close: $(cc_conns_dump | jq -c .)"
	port=$(( port + 1 ))
done

coupled1=$(ctl status | jq .cc_counters.coupled_subflows)
assert_ge $(( coupled0 + 4 )) "$coupled1" "coupled_subflows counter (2 subflows x 2 connections)"
echo "PASS: mptcp_lia on c1 and mptcp_olia on c2 as the policy says (ss, getsockopt), one cc_conns slot per subflow id, removed at close; IPv4 and IPv6"
