#!/usr/bin/env bash
# A policy on the server's cgroup shapes the subflows it accepts
# (policies/server-tag-joins.policy): each connection's initial subflow gets
# fwmark 0x100, each MP_JOIN subflow fwmark 0x200 and cc reno, as ss shows
# them on the server; the client's subflows (no policy there) are untouched;
# and the server counts exactly one rule hit per accepted subflow.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_S" "$CG_S" "$POLICY_DIR/server-tag-joins.policy"
assert_eq "[0,0,0]" "$(pol_hits "$NS_S" "$CG_S")" "server hits before any connection"

port=6200
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4 c1=$C1_V4 c2=$C2_V4
	else server=$S1_V6 c1=$C1_V6 c2=$C2_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG_S" "$CG_C" "$server" "$port"
	view=$dir/client.json
	# The server sees its own address on both subflows; tell them apart by
	# the client's address (the peer).
	for peer in "$c1" "$c2"; do
		id=$(view_id_on "$view" "$peer")
		cport=$(view_sub "$view" "$id" port)
		case $server in *:*) dst="[$peer]:$cport" ;; *) dst="$peer:$cport" ;; esac
		srv=$(in_ns "$NS_S" ss -Htie state established dst "$dst" | tr '\n\t' '  ')
		cli=$(ss_sock "$NS_C" "$peer" "$cport")
		[ -n "$srv" ] || fail "$family: the server has no subflow from $dst"
		log "$family server side of $dst: $srv"
		if [ "$peer" = "$c1" ]; then
			assert_eq "fwmark:0x100" "$(ss_field "$srv" 'fwmark:0x[0-9a-f]+')" "$family initial subflow: server fwmark"
			assert_eq "bbr" "$(ss_cc "$srv")" "$family initial subflow: server cc"
		else
			assert_eq "fwmark:0x200" "$(ss_field "$srv" 'fwmark:0x[0-9a-f]+')" "$family join subflow: server fwmark"
			assert_eq "reno" "$(ss_cc "$srv")" "$family join subflow: server cc"
		fi
		assert_eq "" "$(ss_field "$cli" 'fwmark:0x[0-9a-f]+')" "$family: client subflow on $peer has no mark"
		assert_eq "bbr" "$(ss_cc "$cli")" "$family: client subflow on $peer keeps the default cc"
	done
	# The server's tracker names the rule that shaped each accepted subflow.
	token=$(jq .token "$dir/server.json")
	assert_json_eq "[1,2]" \
		"$(ctl_conn "$NS_S" "$token" | jq -c '[.subflows[] | select(.initial) | .policy_rule] + [.subflows[] | select(.initial | not) | .policy_rule]')" \
		"$family: server subflow list policy_rule (initial, join)"
	pair_stop "$dir"
	port=$(( port + 1 ))
done
# Two connections: two initial subflows on rule 0, two joins on rule 1.
assert_eq "[2,2,0]" "$(pol_hits "$NS_S" "$CG_S")" "server hits [initial, join, no match]"
echo "PASS: the server policy marks accepted initial (0x100) and join (0x200, reno) subflows, one hit each"
