#!/usr/bin/env bash
# Every per-subflow action of a client policy lands on the live subflow it
# matched, and only there: a rule on path lte (c2) sets mark, cc, tos,
# pacing, user-timeout, keepalive and nodelay on the c2 subflow; a rule on
# path wifi (c1) sets another mark and a priority on the c1 subflow, which
# keeps the kernel's defaults for everything else. Checked with the kernel's
# own views (ss -tieo --tos: fwmark, cc, tos/tclass, class_id, pacing_rate
# X/MAX, keepalive timer) and with `subflow getsockopt` on each subflow, for
# an IPv4 and an IPv6 connection. Options are set at connect, before the SYN.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/options.policy
cat > "$POLICY" <<'P'
path wifi dev c1
path lte  dev c2
rule path lte mark 0x20 cc reno tos 0x10 pacing 2mbit user-timeout 500ms keepalive 5s 1s 3 nodelay
rule path wifi mark 0x10 priority 3
P
pol_attach "$NS_C" "$CG" "$POLICY"

port=6100
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c1=$C1_V4 c2=$C2_V4
	else server=$S1_V6 c1=$C1_V6 c2=$C2_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG_S" "$CG" "$server" "$port"
	view=$dir/client.json
	token=$(jq .token "$view")
	id_wifi=$(view_id_on "$view" "$c1")
	id_lte=$(view_id_on "$view" "$c2")
	[ -n "$id_wifi" ] && [ -n "$id_lte" ] || fail "$family: no subflow on each path: $(jq -c .kernel "$view")"
	wifi=$(ss_sock "$NS_C" "$c1" "$(view_sub "$view" "$id_wifi" port)")
	lte=$(ss_sock "$NS_C" "$c2" "$(view_sub "$view" "$id_lte" port)")
	[ -n "$wifi" ] && [ -n "$lte" ] || fail "$family: ss does not show both subflows"
	log "$family c1: $wifi"
	log "$family c2: $lte"

	# The lte subflow: every action of rule 0.
	assert_eq "fwmark:0x20" "$(ss_field "$lte" 'fwmark:0x[0-9a-f]+')" "$family lte: ss fwmark"
	assert_eq "reno" "$(ss_cc "$lte")" "$family lte: ss congestion control"
	assert_eq "0x10" "$(ss_field "$lte" '(tos|tclass):0x[0-9a-f]+' | cut -d: -f2)" "$family lte: ss tos"
	assert_eq "pacing_rate 2Mbps/2Mbps" "$(ss_field "$lte" 'pacing_rate [^ ]+')" "$family lte: ss pacing (rate/max)"
	assert_eq "timer:(keepalive" "$(ss_field "$lte" 'timer:\(keepalive')" "$family lte: ss keepalive timer"
	assert_eq 32 "$(sockopt "$NS_C" "$token" "$id_lte" mark)" "$family lte: getsockopt mark"
	assert_eq '"reno"' "$(sockopt "$NS_C" "$token" "$id_lte" cc)" "$family lte: getsockopt cc"
	assert_eq 16 "$(sockopt "$NS_C" "$token" "$id_lte" tos)" "$family lte: getsockopt tos"
	assert_eq 250000 "$(sockopt "$NS_C" "$token" "$id_lte" pacing)" "$family lte: getsockopt pacing (bytes/s)"
	assert_eq 500 "$(sockopt "$NS_C" "$token" "$id_lte" user-timeout)" "$family lte: getsockopt user-timeout (ms)"
	assert_eq true "$(sockopt "$NS_C" "$token" "$id_lte" nodelay)" "$family lte: getsockopt nodelay"
	assert_json_eq '{"on":true,"idle_s":5,"intvl_s":1,"count":3}' \
		"$(sockopt "$NS_C" "$token" "$id_lte" keepalive)" "$family lte: getsockopt keepalive"

	# The wifi subflow: rule 1 only, the kernel's defaults otherwise.
	assert_eq "fwmark:0x10" "$(ss_field "$wifi" 'fwmark:0x[0-9a-f]+')" "$family wifi: ss fwmark"
	assert_eq "class_id:0x3" "$(ss_field "$wifi" 'class_id:0x[0-9a-f]+')" "$family wifi: ss class_id (priority)"
	assert_eq 3 "$(sockopt "$NS_C" "$token" "$id_wifi" priority)" "$family wifi: getsockopt priority"
	assert_eq 16 "$(sockopt "$NS_C" "$token" "$id_wifi" mark)" "$family wifi: getsockopt mark"
	assert_eq "bbr" "$(ss_cc "$wifi")" "$family wifi: ss congestion control (namespace default)"
	assert_eq '"bbr"' "$(sockopt "$NS_C" "$token" "$id_wifi" cc)" "$family wifi: getsockopt cc"
	assert_eq "0" "$(ss_field "$wifi" '(tos|tclass):(0x)?[0-9a-f]+' | cut -d: -f2)" "$family wifi: ss tos"
	assert_eq 0 "$(sockopt "$NS_C" "$token" "$id_wifi" tos)" "$family wifi: getsockopt tos"
	assert_eq "" "$(ss_field "$wifi" 'pacing_rate [^ ]+/[^ ]+')" "$family wifi: no pacing cap in ss"
	assert_eq null "$(sockopt "$NS_C" "$token" "$id_wifi" pacing)" "$family wifi: getsockopt pacing (unlimited)"
	assert_eq 0 "$(sockopt "$NS_C" "$token" "$id_wifi" user-timeout)" "$family wifi: getsockopt user-timeout"
	assert_eq false "$(sockopt "$NS_C" "$token" "$id_wifi" nodelay)" "$family wifi: getsockopt nodelay"
	assert_eq false "$(sockopt "$NS_C" "$token" "$id_wifi" keepalive | jq .on)" "$family wifi: keepalive off"
	assert_eq "" "$(ss_field "$wifi" 'timer:\(keepalive')" "$family wifi: no keepalive timer"

	# The engine says which rule shaped each subflow (1 + index).
	conn=$(ctl_conn "$NS_C" "$token")
	assert_eq 1 "$(jq --argjson id "$id_lte" '.subflows[] | select(.id == $id) | .policy_rule' <<<"$conn")" \
		"$family lte: subflow list policy_rule"
	assert_eq 2 "$(jq --argjson id "$id_wifi" '.subflows[] | select(.id == $id) | .policy_rule' <<<"$conn")" \
		"$family wifi: subflow list policy_rule"
	pair_stop "$dir"
	port=$(( port + 1 ))
done
echo "PASS: every client action is set on the subflow its rule matched (c2: mark cc tos pacing user-timeout keepalive nodelay; c1: mark priority), IPv4 and IPv6"
