#!/usr/bin/env bash
# policies/dscp-per-path.policy: the c1 subflow carries TOS 0x88 (AF41) and
# the c2 subflow 0x20 (CS1), over IPv4 (IP_TOS, ss tos:) and IPv6
# (IPV6_TCLASS, ss tclass:), read back from ss and `subflow getsockopt tos`.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/dscp-per-path.policy"

port=7600
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c1=$C1_V4 c2=$C2_V4 key=tos
	else server=$S1_V6 c1=$C1_V6 c2=$C2_V6 key=tclass; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG_S" "$CG_C" "$server" "$port"
	view=$dir/client.json
	token=$(jq .token "$view")
	for pair in "$c1 0x88 136" "$c2 0x20 32"; do
		set -- $pair
		id=$(view_id_on "$view" "$1")
		line=$(ss_sock "$NS_C" "$1" "$(view_sub "$view" "$id" port)")
		assert_eq "$key:$2" "$(ss_field "$line" "$key:0x[0-9a-f]+")" "$family subflow on $1: ss $key"
		assert_eq "$3" "$(sockopt "$NS_C" "$token" "$id" tos)" "$family subflow on $1: getsockopt tos"
	done
	pair_stop "$dir"
	port=$(( port + 1 ))
done
# 2 joins on the lte rule; the 2 initial subflows on the wifi rule (or, see
# test_policy_initial_subflow_counts_hit_on_its_path_rule.sh, no match).
assert_eq "[2,2]" "$(pol_hits "$NS_C" "$CG_C" | jq -c '[.[0] + .[2], .[1]]')" \
	"subflows decided [wifi rule + no match, lte rule]"
echo "PASS: DSCP per path: c1 subflows tos 0x88, c2 subflows tos 0x20, IPv4 and IPv6"
