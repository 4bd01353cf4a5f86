#!/usr/bin/env bash
# family matching (policies/ipv6-only-second-path.policy: path lte by
# address prefixes, `rule path lte family inet6 allow`, then `rule path lte
# deny`): IPv6 connections get their second subflow on lte, IPv4 ones are
# refused it and keep one subflow; twice each, interleaved.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/ipv6-only-second-path.policy"
errors_before=$(join_errors "$NS_C")

port=6900 refused=0
for family in v6 v4 v6 v4; do
	dir=$LAB_TMP/$port
	if [ "$family" = v6 ]; then
		pair_start "$dir" "$CG_S" "$CG_C" "$S1_V6" "$port"
		assert_json_eq "[\"$C1_V6\",\"$C2_V6\"]" "$(jq -c '[.kernel[].local.addr]' "$dir/client.json")" \
			"IPv6 connection $port: subflows on both paths"
	else
		pair_start "$dir" "$CG_S" "$CG_C" "$S1_V4" "$port" --subflows 1
		refused=$(( refused + 1 ))
		wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + refused )) ||
			fail "IPv4 connection $port: the join on lte was not refused"
		assert_json_eq "[\"$C1_V4\"]" "$(jq -c '[.kernel[].local.addr]' "$dir/client.json")" \
			"IPv4 connection $port: one subflow, on c1"
	fi
	pair_stop "$dir"
	port=$(( port + 1 ))
done
assert_eq "[2,2,4]" "$(pol_hits "$NS_C" "$CG_C")" "hits [lte inet6 allow, lte deny, no match]"
assert_eq 2 "$(pol_denials "$NS_C" "$CG_C" lte)" "denials on lte"
assert_eq 2 "$(( $(join_errors "$NS_C") - errors_before ))" "kernel: joins refused"
echo "PASS: family inet6 matches IPv6 connections only: IPv6 gets lte, IPv4 does not"
