#!/usr/bin/env bash
# dport matching (policies/web-only-on-lte.policy: `rule path lte dport 443
# allow`, then `rule path lte deny`): a connection to port 443 gets its
# join on lte (2 subflows, the allow rule hit), one to port 8443 does not (1
# subflow, the deny rule hit, the kernel counts the refused join), on IPv4
# and IPv6. Port 8443 shares its last digits with 443: a wrong match on
# part of the port would show here.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/web-only-on-lte.policy"
errors_before=$(join_errors "$NS_C")

refused=0
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c2=$C2_V4
	else server=$S1_V6 c2=$C2_V6; fi
	pair_start "$LAB_TMP/$family-443" "$CG_S" "$CG_C" "$server" 443
	view=$LAB_TMP/$family-443/client.json
	assert_eq 2 "$(jq '.kernel | length' "$view")" "$family port 443: subflows"
	[ -n "$(view_id_on "$view" "$c2")" ] || fail "$family port 443: no subflow on lte"
	pair_stop "$LAB_TMP/$family-443"

	pair_start "$LAB_TMP/$family-8443" "$CG_S" "$CG_C" "$server" 8443 --subflows 1
	refused=$(( refused + 1 ))
	wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + refused )) ||
		fail "$family port 8443: the join on lte was not refused"
	assert_eq 1 "$(jq '.kernel | length' "$LAB_TMP/$family-8443/client.json")" "$family port 8443: subflows"
	assert_eq 1 "$(ss_subflow_count "$NS_S" 8443)" "$family port 8443: server subflows in ss"
	pair_stop "$LAB_TMP/$family-8443"
done
assert_eq "[2,2,4]" "$(pol_hits "$NS_C" "$CG_C")" "hits [lte dport 443 allow, lte deny, no match (initial subflows)]"
assert_eq 2 "$(pol_denials "$NS_C" "$CG_C" lte)" "denials on lte"
echo "PASS: dport 443 matches connections to 443 (2 subflows), not to 8443 (lte denied), IPv4 and IPv6"
