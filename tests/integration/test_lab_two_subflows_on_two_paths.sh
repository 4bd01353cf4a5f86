#!/usr/bin/env bash
# The lab itself, without the engine: every MPTCP connection between the two
# namespaces gets two subflows, one per veth path, on IPv4 and IPv6, as the
# kernel reports them to the application (MPTCP_INFO, MPTCP_FULL_INFO) and to
# `ss -tniM`; and with the tbf shaping, both paths carry the data.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

assert_eq 2 "$(ip -n "$NS_C" mptcp endpoint show | grep -c "subflow dev $C2")" \
	"client subflow endpoints on $C2"
CG=$(cg_create app)

# tx_bytes NETNS DEV: bytes the device's qdisc has sent.
tx_bytes() {
	tc -n "$1" -s -j qdisc show dev "$2" | jq '.[0].bytes'
}

BYTES=3000000
port=5800
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; c1=$C1_V4; c2=$C2_V4
	else server=$S1_V6; c1=$C1_V6; c2=$C2_V6; fi
	dir=$LAB_TMP/$family
	c1_before=$(tx_bytes "$NS_C" "$C1")
	c2_before=$(tx_bytes "$NS_C" "$C2")
	pair_start "$dir" "$CG" "$CG" "$server" "$port" -b "$BYTES"
	view=$dir/client.json
	assert_eq 2 "$(jq .subflows_total "$view")" "$family: subflows (MPTCP_INFO)"
	assert_json_eq "[1,2]" "$(jq -c '[.kernel[].id]' "$view")" "$family: subflow ids (MPTCP_FULL_INFO)"
	assert_json_eq "[1,1]" "$(jq -c '[.kernel[].tcp_state]' "$view")" "$family: subflow states (1 = ESTABLISHED)"
	assert_json_eq "[\"$c1\",\"$c2\"]" "$(jq -c '[.kernel[].local.addr]' "$view")" \
		"$family: client local addresses, one per path"
	assert_json_eq "[\"$server\",\"$server\"]" "$(jq -c '[.kernel[].remote.addr]' "$view")" \
		"$family: remote addresses"
	assert_eq 2 "$(ss_subflow_count "$NS_C" "$port")" "$family: client subflows in ss"
	assert_eq 2 "$(ss_subflow_count "$NS_S" "$port")" "$family: server subflows in ss"
	assert_eq 2 "$(jq '.kernel | length' "$dir/server.json")" "$family: server subflows (MPTCP_FULL_INFO)"
	pair_stop "$dir"
	sent1=$(( $(tx_bytes "$NS_C" "$C1") - c1_before ))
	sent2=$(( $(tx_bytes "$NS_C" "$C2") - c2_before ))
	log "$family: $BYTES bytes: $sent1 bytes on $C1, $sent2 on $C2"
	assert_ge $(( BYTES / 10 )) "$sent1" "$family: bytes sent over path 1 ($C1)"
	assert_ge $(( BYTES / 10 )) "$sent2" "$family: bytes sent over path 2 ($C2)"
	port=$(( port + 1 ))
done
echo "PASS: two subflows on two paths, both carrying data, IPv4 and IPv6"
