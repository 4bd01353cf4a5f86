#!/usr/bin/env bash
# The presets, over wifi then lte (the policy's paths in file order):
#   handover     wifi carries the traffic, lte is an established backup;
#   interactive  both regular (the scheduler sends on the faster); a path
#                that stops answering (nftables blackhole, link up) is set
#                aside (its subflow closed) and re-opened when it answers;
#   aggregate    both regular; a path that stops answering keeps its
#                subflow (nothing closed through the stall); one whose link
#                goes down is closed and re-created when the link is back.
# Each on a new connection; every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter nft
lab_init
lab_setup
prefer_lab "path wifi dev $C1
path lte dev $C2
mode handover"

flags_of() {	# PORT ADDR: the ss flags of the subflow from ADDR
	ss_subflows "$NS_C" "$1" | awk -v a="$2" 'index($1, a) == 1 && $3 == "ESTAB" { print $4 }'
}
is_backup() {
	[[ $(flags_of "$1" "$2") == *b* ]]
}
is_regular() {
	local f
	f=$(flags_of "$1" "$2")
	[ -n "$f" ] && [[ $f != *b* ]]
}

port=8180
for mode in handover interactive aggregate; do
	port=$((port + 1))
	if [ "$mode" != handover ]; then
		printf 'path wifi dev %s\npath lte dev %s\nmode %s\n' "$C1" "$C2" "$mode" > "$LAB_TMP/$mode.policy"
		OUT=$(ctl_in "$NS_C" policy load "$CG_C" "$LAB_TMP/$mode.policy") || fail "policy load: $OUT"
		sleep 0.5
	fi
	D=$LAB_TMP/$mode
	stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 5
	wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
		fail "$mode: no lte subflow: $(ss_subflows "$NS_C" "$port")"
	is_regular "$port" "$C1_V4" || fail "$mode: wifi is not regular: $(ss_subflows "$NS_C" "$port")"
	if [ "$mode" = handover ]; then
		wait_for 3 is_backup "$port" "$C2_V4" || fail "handover: lte is not backup"
	else
		is_regular "$port" "$C2_V4" || fail "$mode: lte is not regular: $(ss_subflows "$NS_C" "$port")"
	fi
	if [ "$mode" = interactive ]; then
		closes=$(decision_count "$NS_C" close lte)
		opens=$(decision_count "$NS_C" open lte)
		nft_blackhole "$NS_C" "$C2" "$NS_S" "$S2"
		wait_decision 3 "$NS_C" close lte $((closes + 1))
		decisions "$NS_C" 'select(.action == "close" and .path == "lte")' | tail -1 |
			jq -e '.reason | test("probes unanswered|no ACK progress")' > /dev/null ||
			fail "interactive: the close does not say lte stopped answering: $(decisions "$NS_C" | tail -2)"
		nft_heal "$NS_C" "$NS_S"
		wait_decision 3 "$NS_C" open lte $((opens + 1))
		wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
			fail "interactive: lte not re-opened: $(ss_subflows "$NS_C" "$port")"
	fi
	if [ "$mode" = aggregate ]; then
		closes=$(decision_count "$NS_C" close lte)
		lte_before=$(ss_subflows "$NS_C" "$port" | grep "^$C2_V4[:%]" | cut -d' ' -f1)
		nft_blackhole "$NS_C" "$C2" "$NS_S" "$S2"
		sleep 1.5	# five times the ack-timeout: the other modes would have closed it
		nft_heal "$NS_C" "$NS_S"
		assert_eq "$closes" "$(decision_count "$NS_C" close lte)" "aggregate: closes of lte through a stall"
		wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
			fail "aggregate: lte subflow gone after the stall: $(ss_subflows "$NS_C" "$port")"
		assert_eq "$lte_before" "$(ss_subflows "$NS_C" "$port" | grep "^$C2_V4[:%]" | cut -d' ' -f1)" \
			"aggregate: the lte subflow after the stall (the same one)"
		opens=$(decision_count "$NS_C" open lte)
		ip -n "$NS_C" link set "$C2" down
		wait_decision 3 "$NS_C" close lte $((closes + 1))
		ip -n "$NS_C" link set "$C2" up
		wait_decision 3 "$NS_C" open lte $((opens + 1))
		wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C2_V4" || fail "aggregate: lte not re-created"
		wait_for 3 is_regular "$port" "$C2_V4" || fail "aggregate: lte not regular again"
	fi
	stream_finish "$D"
done
echo PASS
