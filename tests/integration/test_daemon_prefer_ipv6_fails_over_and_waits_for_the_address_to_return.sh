#!/usr/bin/env bash
# `prefer wifi over lte` for an IPv6 connection (download, every byte
# checked): lte is an established backup from the start (its route to the
# peer is found as the bound subflow's lookup finds it, by device, though
# the peer's prefix is on wifi); wifi's link goes down: lte is made regular,
# wifi closed and removed at the server. Linux drops a link's IPv6
# addresses when it goes down, so the link alone coming back is not enough:
# wifi stays unused ("no address") until the address is back and its
# duplicate address detection is done; then wifi is opened without error
# and lte goes back to backup.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
prefer_lab "$(cat "$LAB_REPO/policies/wifi-preferred-lte-standby.policy")"

lte_backup() {
	ss_subflows "$NS_C" "$1" | grep -q "^\[$C2_V6\][:%].* ESTAB [^ ]*b"
}
established6_on() {	# PORT ADDR
	ss_subflows "$NS_C" "$1" | grep -c "^\[$2\][:%].* ESTAB " || true
}

port=8131
D=$LAB_TMP/v6
stream_start "$D" "$CG_S" "$CG_C" "$S1_V6" "$port" download 6
wait_for 5 lte_backup "$port" || fail "no lte backup subflow: $(ss_subflows "$NS_C" "$port")"
sleep 1

ip -n "$NS_C" link set "$C1" down
wait_decision 3 "$NS_C" regular lte
wait_decision 3 "$NS_C" close wifi
wait_decision 3 "$NS_C" remove wifi
wait_for 3 count_is 0 established6_on "$port" "$C1_V6" ||
	fail "the wifi subflow is still established: $(ss_subflows "$NS_C" "$port")"
[ -z "$(ip -n "$NS_C" -6 addr show dev "$C1" scope global)" ] ||
	fail "the kernel kept wifi's IPv6 address on link down (keep_addr_on_down?): this test needs it gone"

opens=$(decision_count "$NS_C" open wifi)
ip -n "$NS_C" link set "$C1" up
sleep 0.5	# an address-less wifi must stay unused (the daemon re-decides on the link change)
assert_eq "$opens" "$(decision_count "$NS_C" open wifi)" "opens of wifi while it has no IPv6 address"

ip -n "$NS_C" -6 addr add "$C1_V6/64" dev "$C1"	# with duplicate address detection
wait_decision 5 "$NS_C" open wifi $((opens + 1))
assert_eq "" "$(decisions "$NS_C" 'select(.path == "wifi" and .error != null) | .error')" \
	"errors of the wifi decisions (an open from a tentative address would fail)"
wait_for 3 count_is 1 established6_on "$port" "$C1_V6" ||
	fail "wifi did not come back: $(ss_subflows "$NS_C" "$port")"
wait_for 3 lte_backup "$port" || fail "lte is not backup again: $(ss_subflows "$NS_C" "$port")"
stream_finish "$D"
log "IPv6: $STREAM_BYTES bytes intact across the failover and the failback"
echo PASS
