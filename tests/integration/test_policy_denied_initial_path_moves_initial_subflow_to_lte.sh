#!/usr/bin/env bash
# A policy that denies path wifi (c1) for a destination
# (policies/avoid-wifi-for-destination.policy, paths given by address): an
# unbound connection to 10.31.1.2 (fd31:1::2) gets its initial subflow on
# path lte instead: local address 10.31.2.1 (fd31:2::1) in MPTCP_FULL_INFO
# and in `subflow list`, and with the client routing by source, its packets
# really leave by c2 (c2's tx byte counter grows by the data, c1's does not).
# Nothing is denied: the engine moved the subflow before its SYN.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup
pol_route_by_source

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/avoid-wifi-for-destination.policy"

BYTES=300000
port=6400
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c2=$C2_V4
	else server=$S1_V6 c2=$C2_V6; fi
	dir=$LAB_TMP/$family
	c1_before=$(dev_tx_bytes "$NS_C" "$C1")
	c2_before=$(dev_tx_bytes "$NS_C" "$C2")
	pair_start "$dir" "$CG_S" "$CG_C" "$server" "$port" --subflows 1 -b "$BYTES"
	view=$dir/client.json
	assert_eq 1 "$(jq '.kernel | length' "$view")" "$family: one subflow"
	assert_eq "$c2" "$(jq -r '.kernel[0].local.addr' "$view")" "$family: initial subflow's local address (MPTCP_FULL_INFO)"
	assert_eq "$server" "$(jq -r '.kernel[0].remote.addr' "$view")" "$family: remote address"
	conn=$(ctl_conn "$NS_C" "$(jq .token "$view")")
	assert_eq "$c2" "$(jq -r '.subflows[0].local.addr' <<<"$conn")" "$family: subflow list local address"
	assert_eq true "$(jq -r '.subflows[0].initial' <<<"$conn")" "$family: it is the initial subflow"
	assert_eq "$C2" "$(jq -r '.subflows[0].ifname' <<<"$conn")" "$family: subflow list device"
	log "$family: $(in_ns "$NS_C" ss -Htni state established "( dport = :$port )" | tr '\n\t' '  ')"
	pair_stop "$dir"
	sent1=$(( $(dev_tx_bytes "$NS_C" "$C1") - c1_before ))
	sent2=$(( $(dev_tx_bytes "$NS_C" "$C2") - c2_before ))
	log "$family: $BYTES bytes of data: $sent1 bytes out of $C1, $sent2 out of $C2"
	assert_ge "$BYTES" "$sent2" "$family: bytes out of $C2"
	# c1 may only carry stray neighbour discovery / ARP.
	[ "$sent1" -lt 2000 ] || fail "$family: $sent1 bytes left by $C1, the denied path"
	port=$(( port + 1 ))
done
show=$(pol_show "$NS_C" "$CG_C")
assert_eq "[0,0]" "$(jq -c '[.paths[].denials]' <<<"$show")" "no subflow had to be refused"
assert_eq "[0,0]" "$(jq -c '[.rules[].hits]' <<<"$show")" "the deny rules decided no subflow"
assert_eq 2 "$(jq .no_match <<<"$show")" "both initial subflows, moved to lte, matched no rule"
echo "PASS: with path wifi denied for the destination, the initial subflow starts on lte and leaves by $C2 (IPv4, IPv6)"
