#!/usr/bin/env bash
# `rule path lte deny` on the client (policies/app-path-restriction.policy):
# the path manager's MP_JOIN subflows on c2 are refused before their SYN, and
# every connection keeps working over path 1 with one subflow (IPv4 and IPv6,
# data exchanged). Three views agree exactly: the kernel's MIB
# (MPTcpExtMPJoinSynTxBindErr + MPTcpExtMPJoinSynTxConnectErr delta), the
# engine's denial counter for path lte, and the hits of the deny rule.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/app-path-restriction.policy"
errors_before=$(join_errors "$NS_C")

port=6300
conns=0
for family in v4 v6 v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c1=$C1_V4
	else server=$S1_V6 c1=$C1_V6; fi
	dir=$LAB_TMP/$port
	pair_start "$dir" "$CG_S" "$CG_C" "$server" "$port" --subflows 1 -b 100000
	conns=$(( conns + 1 ))
	# The kernel tries the join right after the handshake: wait (bounded)
	# until it has been refused, then the connection must still be whole.
	wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + conns )) ||
		fail "$family: the join on c2 was never attempted/refused (MIB $(join_errors "$NS_C"))"
	view=$dir/client.json
	assert_eq 1 "$(jq '.kernel | length' "$view")" "$family: client subflows (MPTCP_FULL_INFO)"
	assert_eq "$c1" "$(jq -r '.kernel[0].local.addr' "$view")" "$family: the one subflow is on c1"
	assert_eq 1 "$(ss_subflow_count "$NS_C" "$port")" "$family: client subflows in ss"
	assert_eq 1 "$(ss_subflow_count "$NS_S" "$port")" "$family: server subflows in ss"
	assert_eq 1 "$(ctl_conn "$NS_C" "$(jq .token "$view")" | jq .nr_subflows)" "$family: engine's subflow list"
	pair_stop "$dir"	# the data went through and both ends closed cleanly
	port=$(( port + 1 ))
done

kernel=$(( $(join_errors "$NS_C") - errors_before ))
assert_eq "$conns" "$kernel" "joins refused, kernel MIB (BindErr + ConnectErr)"
assert_eq "$kernel" "$(pol_denials "$NS_C" "$CG_C" lte)" "engine denials on path lte = kernel MIB"
assert_eq "$kernel" "$(pol_show "$NS_C" "$CG_C" | jq '.rules[0].hits')" "deny rule hits = kernel MIB"
assert_eq 0 "$(pol_denials "$NS_C" "$CG_C" wifi)" "no denial on path wifi"
log "$conns connections, $kernel joins refused: MIB = denials(lte) = hits(rule 0)"
echo "PASS: a denied join path leaves each connection on path 1 with one subflow; MIB, denials and hits agree ($kernel)"
