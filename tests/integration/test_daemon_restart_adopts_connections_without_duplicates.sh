#!/usr/bin/env bash
# SIGTERM stops the daemon and leaves every connection as it is, flowing,
# with the namespace's previous path manager back; a daemon started again
# adopts the existing connections from the kernel's list (no duplicate
# subflow: it opens nothing that is already there) and manages them as
# before: a link down later still fails over. Every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
assert_eq kernel "$(in_ns "$NS_C" sysctl -n net.mptcp.path_manager)" "path manager before the daemon"
prefer_lab "path wifi dev $C1
path lte dev $C2
prefer wifi over lte"
assert_eq userspace "$(in_ns "$NS_C" sysctl -n net.mptcp.path_manager)" "path manager with the daemon"

port=8140
D=$LAB_TMP/s
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" download 8
lte_backup() {
	ss_subflows "$NS_C" "$port" | grep -q "^$C2_V4[:%].* ESTAB [^ ]*b"
}
wait_for 5 lte_backup || fail "no lte backup subflow: $(ss_subflows "$NS_C" "$port")"
before=$(ss_subflows "$NS_C" "$port" | grep ' ESTAB ' | sort)

daemon_stop "$DAEMON_PID"
grep -q "leaving every connection as it is" "$LAB_TMP/daemon-$NS_C.log" ||
	fail "the daemon did not say it leaves the connections: $(tail -3 "$LAB_TMP/daemon-$NS_C.log")"
assert_eq kernel "$(in_ns "$NS_C" sysctl -n net.mptcp.path_manager)" "path manager after SIGTERM"
sleep 0.5
assert_eq "$before" "$(ss_subflows "$NS_C" "$port" | grep ' ESTAB ' | sort)" "subflows after SIGTERM"

cp "$LAB_TMP/daemon-$NS_C.log" "$LAB_TMP/first-daemon.log"
daemon_start "$NS_C"
grep -q "adopted 1 existing connection" "$LAB_TMP/daemon-$NS_C.log" ||
	fail "the restarted daemon did not adopt the connection: $(cat "$LAB_TMP/daemon-$NS_C.log")"
sleep 0.5
assert_eq 0 "$(decisions "$NS_C" 'select(.action | startswith("open"))' | wc -l)" \
	"opens by the restarted daemon (the lte subflow exists)"
assert_eq "$before" "$(ss_subflows "$NS_C" "$port" | grep ' ESTAB ' | sort)" "subflows after the restart"

# Still managed: a failover, by the new daemon.
ip -n "$NS_C" link set "$C1" down
wait_decision 3 "$NS_C" regular lte
wait_decision 3 "$NS_C" close wifi
sleep 0.5
ip -n "$NS_C" link set "$C1" up
wait_decision 3 "$NS_C" open wifi
wait_for 3 lte_backup || fail "lte not backup again: $(ss_subflows "$NS_C" "$port")"
stream_finish "$D"
log "$STREAM_BYTES bytes intact across a daemon restart and a failover"
echo PASS
