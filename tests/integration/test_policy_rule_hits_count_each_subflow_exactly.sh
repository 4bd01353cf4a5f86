#!/usr/bin/env bash
# Rule counters are exact. 7 connections with known outcomes, against a
# client policy with dport / join / path / initial rules and a server
# policy (policies/server-tag-joins.policy):
#   3 to port 6701: initial (no rule), join -> rule 1
#   2 to port 6702: initial -> rule 3, join -> rule 2 (path lte)
#   2 to port 6703: initial (no rule), join -> rule 0, denied
# The client counts one hit per subflow it decides at connect: rules
# [2,3,2,2], no_match 5, 2 denials on lte (= the kernel's join errors).
# The server counts one hit per accepted subflow: [7 initial, 5 joins], 0.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/count.policy
cat > "$POLICY" <<'P'
path lte dev c2
rule dport 6703 join deny
rule dport 6701 join mark 0x1
rule path lte mark 0x2
rule initial dport 6702 mark 0x3
P
pol_attach "$NS_C" "$CG_C" "$POLICY"
pol_attach "$NS_S" "$CG_S" "$POLICY_DIR/server-tag-joins.policy"
errors_before=$(join_errors "$NS_C")
refused=0

i=0
for port in 6701 6701 6701 6702 6702 6703 6703; do
	dir=$LAB_TMP/c$i
	if [ "$port" = 6703 ]; then
		pair_start "$dir" "$CG_S" "$CG_C" "$S1_V4" "$port" --subflows 1
		refused=$(( refused + 1 ))
		wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + refused )) ||
			fail "connection $i: the join was never refused"
		assert_eq 1 "$(jq '.kernel | length' "$dir/client.json")" "connection $i (port $port): subflows"
	else
		pair_start "$dir" "$CG_S" "$CG_C" "$S1_V4" "$port"
		assert_eq 2 "$(jq '.kernel | length' "$dir/client.json")" "connection $i (port $port): subflows"
	fi
	pair_stop "$dir"
	i=$(( i + 1 ))
	# Each port is reused by the next connection; the server listens anew.
done

assert_eq "[2,3,2,2,5]" "$(pol_hits "$NS_C" "$CG_C")" "client hits [rule 0..3, no match]"
assert_eq 2 "$(pol_denials "$NS_C" "$CG_C" lte)" "client denials on lte"
assert_eq 2 "$(( $(join_errors "$NS_C") - errors_before ))" "kernel: joins refused"
assert_eq "[7,5,0]" "$(pol_hits "$NS_S" "$CG_S")" "server hits [initial, join, no match]"
echo "PASS: rule hits and no_match count each subflow exactly once (client [2,3,2,2]+5, server [7,5]+0)"
