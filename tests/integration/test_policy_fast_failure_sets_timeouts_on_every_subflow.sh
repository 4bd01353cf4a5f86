#!/usr/bin/env bash
# policies/fast-failure.policy (one rule, no match: every subflow): both
# subflows of an IPv4 and of an IPv6 connection get TCP_USER_TIMEOUT 500 ms,
# keepalive 5 s / 1 s / 3 probes and TCP_NODELAY (`subflow getsockopt`),
# and the kernel arms their keepalive timer (ss -o: timer:(keepalive,...)).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/fast-failure.policy"

port=7700
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG_S" "$CG_C" "$server" "$port"
	view=$dir/client.json
	token=$(jq .token "$view")
	assert_eq 2 "$(jq '.kernel | length' "$view")" "$family: subflows"
	for id in $(jq '.kernel[].id' "$view"); do
		what="$family subflow $id ($(view_sub "$view" "$id" addr))"
		assert_eq 500 "$(sockopt "$NS_C" "$token" "$id" user-timeout)" "$what: user-timeout"
		assert_json_eq '{"on":true,"idle_s":5,"intvl_s":1,"count":3}' \
			"$(sockopt "$NS_C" "$token" "$id" keepalive)" "$what: keepalive"
		assert_eq true "$(sockopt "$NS_C" "$token" "$id" nodelay)" "$what: nodelay"
		line=$(ss_sock "$NS_C" "$(view_sub "$view" "$id" addr)" "$(view_sub "$view" "$id" port)")
		ss_field "$line" 'timer:\(keepalive,' | grep -q . || fail "$what: no keepalive timer in ss: $line"
	done
	pair_stop "$dir"
	port=$(( port + 1 ))
done
assert_eq "[4,0]" "$(pol_hits "$NS_C" "$CG_C")" "hits [the rule, no match]: all 4 subflows"
echo "PASS: fast failure: user-timeout 500ms, keepalive 5s/1s/3 and nodelay on every subflow, IPv4 and IPv6"
