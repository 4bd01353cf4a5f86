#!/usr/bin/env bash
# One path manager per network namespace: a second `subflowctl daemon` refuses
# and names the first; so does a daemon started where mptcpd (Debian's, a
# userspace path manager) already listens to the mptcp_pm events; and neither
# refusal changes the namespace's path manager setting. `ip mptcp monitor`
# listening there is no path manager: the daemon starts beside it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

MPTCPD=${MPTCPD:-/usr/libexec/mptcpd}
require_mptcp
require_built
require_cmd jq nsenter genl "$MPTCPD"
lab_init
lab_setup
prefer_lab "path wifi dev $C1
path lte dev $C2
prefer wifi over lte"
FIRST=$DAEMON_PID

# A second daemon: exit 1 at once, the first named, one JSON error.
assert_status 1 "second daemon" in_ns "$NS_C" timeout 10 "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" daemon
jq -e --arg p "$FIRST" '.error | contains("another subflowctl daemon (pid " + $p + ")")' <<<"$OUT" >/dev/null ||
	fail "the second daemon does not name the first: $OUT"
kill -0 "$FIRST" || fail "the first daemon died"
daemon_stop "$FIRST"
assert_eq kernel "$(in_ns "$NS_C" sysctl -n net.mptcp.path_manager)" "path manager after the first daemon"

# mptcpd in the namespace.
SPAWN_OUT=$LAB_TMP/mptcpd.log spawn_in_ns "$NS_C" "$MPTCPD" --log=stderr --path-manager=sspi
MPTCPD_PID=$SPAWNED_PID
wait_for 5 _netlink_subscribed "$MPTCPD_PID" ||
	fail "mptcpd did not subscribe to mptcp_pm events: $(cat "$LAB_TMP/mptcpd.log")"
in_ns "$NS_C" sysctl -qw net.mptcp.path_manager=kernel
assert_status 1 "daemon beside mptcpd" in_ns "$NS_C" timeout 10 "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" daemon
[[ $ERR == *"another userspace path manager runs in this network namespace: mptcpd (pid $MPTCPD_PID)"* ]] ||
	fail "the refusal does not name mptcpd: $ERR"
assert_eq kernel "$(in_ns "$NS_C" sysctl -n net.mptcp.path_manager)" "path manager after the refusal"
kill "$MPTCPD_PID"
_wait_pid_gone "$MPTCPD_PID" 5 || fail "mptcpd did not exit"

# A monitor is no path manager.
monitor_start "$NS_C" "$LAB_TMP/monitor.log"
daemon_start "$NS_C"
daemon_stop "$DAEMON_PID"
echo PASS
