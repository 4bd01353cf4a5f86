#!/usr/bin/env bash
# A silent blackhole on wifi (nftables drops everything on the path, both
# ends; the link stays up, no error reaches TCP): the daemon finds the path
# dead within its ack-timeout (probes unanswered, or no ACK progress after
# an RTO), fails over to lte and removes the wifi address at the server;
# it opens nothing into the blackhole, and once the path answers again it
# opens wifi and lte goes back to backup.
# Upload and download, every byte checked. `subflow monitor` shows the
# daemon's decisions beside the subflow events.
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
prefer wifi over lte"

established_on_server() {
	ss_subflows "$NS_S" "$1" | grep -c "$C1_V4:[0-9]* ESTAB" || true
}

sfmon_start "$NS_C" "$LAB_TMP/monitor.json"
port=8120
for dir in upload download; do
	port=$((port + 1))
	D=$LAB_TMP/$dir
	stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" "$dir" 6
	wait_for 5 lte_backup "$port" || fail "$dir: no lte backup subflow: $(ss_subflows "$NS_C" "$port")"
	sleep 1
	closes=$(decision_count "$NS_C" close wifi)
	nft_blackhole "$NS_C" "$C1" "$NS_S" "$S1"
	wait_decision 3 "$NS_C" close wifi $((closes + 1))
	opens=$(decision_count "$NS_C" open wifi)
	decisions "$NS_C" 'select(.action == "close" and .path == "wifi")' | tail -1 |
		jq -e '.reason | test("probes unanswered|no ACK progress")' >/dev/null ||
		fail "$dir: the close does not say the path stopped answering: $(decisions "$NS_C" | tail -3)"
	ip -n "$NS_C" -j link show "$C1" | jq -e '.[0].flags | index("UP")' >/dev/null ||
		fail "the blackhole took the link down"
	ss_subflows "$NS_C" "$port" | grep -q "^$C2_V4[:%].* ESTAB [^b ]*$" ||
		fail "$dir: lte is not regular after the failover: $(ss_subflows "$NS_C" "$port")"
	sleep 1
	# Nothing opened into the blackhole: its link, address and route are
	# all fine, but it is held until its probe answers (a subflow opened
	# meanwhile would wait out its SYN retransmissions after the heal).
	assert_eq "$opens" "$(decision_count "$NS_C" open wifi)" \
		"$dir: wifi subflows opened into the blackhole ($(decisions "$NS_C" | tail -3))"
	nft_heal "$NS_C" "$NS_S"
	wait_decision 3 "$NS_C" open wifi $((opens + 1))
	wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C1_V4" ||
		fail "$dir: wifi did not come back: $(ss_subflows "$NS_C" "$port")"
	wait_for 3 lte_backup "$port" || fail "$dir: lte is not backup again: $(ss_subflows "$NS_C" "$port")"
	stream_finish "$D"
	log "$dir: $STREAM_BYTES bytes intact across the blackhole"
done

mon=$LAB_TMP/monitor.json
want=$(decisions "$NS_C" '[.action, .path, .token, .id, .local.addr, .remote.addr, .reason]' | sort)
got=$(jq -c 'select(.event == "decision") | [.action, .path, .token, .id, .local.addr,
	.remote.addr, .reason]' "$mon" | sort)
[ -n "$want" ] || fail "no decisions"
assert_eq "$want" "$got" "the monitor's decisions are the daemon's"
echo PASS
