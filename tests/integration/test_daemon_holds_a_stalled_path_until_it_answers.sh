#!/usr/bin/env bash
# A path closed for no ACK progress is not opened again at once: its link,
# address and route are all fine in a silent blackhole, and a subflow opened
# into it would wait out its SYN retransmissions after the heal. Here the
# wifi peer never answers the daemon's probes (ICMP echo dropped), so the
# probes can neither find the blackhole nor see it heal: the daemon fails
# over on the stall, holds wifi for 10 ack-timeouts (3 s), then opens it
# again; the transfer loses no byte. Without the hold it reopened wifi in
# the same reconcile as the close (seen in CI in the blackhole test).
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

# The wifi peer drops ICMP echo requests for good (gone with the namespace).
in_ns "$NS_S" nft -f - <<EOF || fail "nft: drop echo requests on $NS_S/$S1"
table netdev subflow_noping {
	chain in { type filter hook ingress device "$S1" priority -400; icmp type echo-request drop; }
}
EOF

port=8131
D=$LAB_TMP/upload
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 8
wait_for 5 lte_backup "$port" || fail "no lte backup subflow: $(ss_subflows "$NS_C" "$port")"
sleep 0.5
closes=$(decision_count "$NS_C" close wifi)
opens=$(decision_count "$NS_C" open wifi)
nft_blackhole "$NS_C" "$C1" "$NS_S" "$S1"
wait_decision 3 "$NS_C" close wifi $((closes + 1))
decisions "$NS_C" 'select(.action == "close" and .path == "wifi")' | tail -1 |
	jq -e '.reason | test("no ACK progress")' >/dev/null ||
	fail "the close does not say no ACK progress: $(decisions "$NS_C" | tail -3)"
closed_at=$(date +%s%N)
sleep 1
assert_eq "$opens" "$(decision_count "$NS_C" open wifi)" \
	"wifi subflows opened within 1 s of the stall ($(decisions "$NS_C" | tail -3))"
nft_heal "$NS_C" "$NS_S"
# The hold ends 3 s after the stall; its probes never answer, so not before.
wait_decision 4 "$NS_C" open wifi $((opens + 1))
held_ms=$(( ($(date +%s%N) - closed_at) / 1000000 ))
log "wifi opened again ${held_ms} ms after its close"
[ "$held_ms" -ge 2000 ] || fail "wifi opened again ${held_ms} ms after the stall, before its hold ended"
wait_for 3 count_is 1 established_on "$NS_C" "$port" "$C1_V4" ||
	fail "wifi did not come back: $(ss_subflows "$NS_C" "$port")"
wait_for 3 lte_backup "$port" || fail "lte is not backup again: $(ss_subflows "$NS_C" "$port")"
stream_finish "$D"
log "$STREAM_BYTES bytes intact across the stall and the hold"
echo PASS
