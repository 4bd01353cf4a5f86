#!/usr/bin/env bash
# `prefer wifi over lte` on the client only (the server is a stock host: the
# in-kernel PM, no engine): the daemon opens lte as an established backup
# subflow; when wifi's link goes down mid-transfer it makes lte regular,
# closes the wifi subflow and sends RM_ADDR so that the server drops it too;
# when the link comes back it opens wifi again and puts lte back to backup.
# Upload and download, every byte checked by the receiver.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
# The example policy, as shipped (the lab's c1/c2 are its wifi/lte).
prefer_lab "$(cat "$LAB_REPO/policies/wifi-preferred-lte-standby.policy")"

# lte_backup PORT: the client's lte subflow asks for backup (ss: b).
established_on_server() {
	ss_subflows "$NS_S" "$1" | grep -c "$C1_V4:[0-9]* ESTAB" || true
}

port=8110
for dir in upload download; do
	port=$((port + 1))
	D=$LAB_TMP/$dir
	stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" "$dir" 5
	# lte: established, backup on both ends.
	wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
		fail "$dir: no lte subflow: $(ss_subflows "$NS_C" "$port")"
	lte_backup "$port" || fail "$dir: lte is not backup on the client: $(ss_subflows "$NS_C" "$port")"
	ss_subflows "$NS_S" "$port" | grep -q "$C2_V4:[0-9]* ESTAB [^ ]*B" ||
		fail "$dir: the server does not see lte as backup: $(ss_subflows "$NS_S" "$port")"
	sleep 1

	ip -n "$NS_C" link set "$C1" down
	wait_decision 3 "$NS_C" regular lte
	wait_decision 3 "$NS_C" close wifi
	wait_decision 3 "$NS_C" remove wifi
	decisions "$NS_C" 'select(.action == "close" and .path == "wifi")' | tail -1 |
		jq -e '.reason | contains("link down")' >/dev/null || fail "$dir: close without 'link down'"
	# The server drops the wifi subflow at once (RM_ADDR), without a timeout.
	wait_for 3 count_is 0 established_on_server "$port" ||
		fail "$dir: the server still has the wifi subflow: $(ss_subflows "$NS_S" "$port")"
	ss_subflows "$NS_C" "$port" | grep -q "^$C2_V4[:%].* ESTAB [^b ]*$" ||
		fail "$dir: lte is not regular after the failover: $(ss_subflows "$NS_C" "$port")"
	sleep 1

	opens=$(decision_count "$NS_C" open wifi)
	ip -n "$NS_C" link set "$C1" up
	wait_decision 3 "$NS_C" open wifi $((opens + 1))
	wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C1_V4" ||
		fail "$dir: wifi did not come back: $(ss_subflows "$NS_C" "$port")"
	wait_for 3 lte_backup "$port" ||
		fail "$dir: lte is not backup again: $(ss_subflows "$NS_C" "$port")"
	stream_finish "$D"
	log "$dir: $STREAM_BYTES bytes intact across the failover and the failback"
done
echo PASS
