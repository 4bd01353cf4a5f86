#!/usr/bin/env bash
# The daemon's control socket: root's, mode 0660, in the group given by
# `daemon control-group GROUP` (an unknown group is bad usage, exit 64), in
# /run/subflow (mode 0711: reachable, not listable); `subflowctl status`
# shows it with its clients. A member of the group controls its connection
# through it; a user outside the group gets EACCES naming the mode and
# group; with no daemon the library says that the daemon is not running
# (EHOSTDOWN), before it starts (with /run/subflow 0700 or 0711), after it
# stops (which removes the socket) and after it was killed (the stale socket
# refuses connections); a new daemon replaces the stale socket and serves
# the same connection again.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"
source "$(dirname "$0")/../control_lib.sh"

require_mptcp
require_built
require_cmd jq setpriv nsenter
lab_init
lab_setup
ip -n "$NS_C" mptcp endpoint flush
pm_userspace "$NS_C"	# the connection below is under the userspace PM already
CG_C=$(cg_create client)
CG_S=$(cg_create server)
ctl_in "$NS_C" cgroup attach "$CG_C" >/dev/null || fail "cannot attach $CG_C"
ECHO_PORT=9100
echo_server "$ECHO_PORT"
CTL_GID=$(free_id group)
MEMBER=$(free_id passwd)
OUTSIDER=$(free_id passwd)
[ "$MEMBER" != "$OUTSIDER" ] || OUTSIDER=$(( MEMBER + 1 ))

# ---- no daemon yet ----
# The attach above made /run/subflow for its lock; until a daemon runs it is
# 0700, which others cannot even search (EACCES there means no daemon). A
# daemon that ran before leaves it 0711; test both, restoring the mode.
RUN_MODE=$(stat -c %a /run/subflow)
lab_on_cleanup "[ -d /run/subflow ] && chmod $RUN_MODE /run/subflow"
app_start member "$MEMBER"
app_ok member connect "$S1_V4" "$ECHO_PORT" >/dev/null
app_ok member echo 1000 >/dev/null
for mode in 700 711; do
	chmod "$mode" /run/subflow
	app_refused member EHOSTDOWN "daemon of this network namespace is not running" getsockopt 1 tos >/dev/null
done
assert_eq null "$(ctl_in "$NS_C" status | jq .daemon)" "status without a daemon"

# ---- bad usage ----
assert_status 64 "daemon control-group with an unknown group" \
	ctl_in "$NS_C" daemon control-group "no-such-group-$LAB_SUFFIX"
[[ $OUT == *"no-such-group-$LAB_SUFFIX"* ]] || fail "the error does not name the group: $OUT"
assert_status 64 "daemon control-group without a group" ctl_in "$NS_C" daemon control-group
"$SUBFLOWCTL" daemon help 2>&1 | grep -q "control-group GROUP" || fail "daemon help does not show control-group"

# ---- the daemon's socket ----
control_daemon_start control-group "$CTL_GID"
assert_eq "660 root $CTL_GID" "$(stat -c '%a %U %g' "$CTL_SOCK")" "control socket mode, owner and group"
assert_eq "711 root" "$(stat -c '%a %U' /run/subflow)" "/run/subflow mode and owner"
cookie=$(jq -r .netns_cookie <<<"$(app_cmd member connect "$S1_V4" "$ECHO_PORT")")
assert_eq "/run/subflow/control-$cookie.sock" "$CTL_SOCK" "the socket is named by the namespace's cookie"
app_ok member echo 1000 >/dev/null
app_ok member getsockopt 1 tos >/dev/null
ST=$(ctl_in "$NS_C" status)
assert_json "$ST" "status -j"
assert_eq "$DAEMON_PID" "$(jq .daemon.pid <<<"$ST")" "status: the daemon's pid"
assert_json_eq "{\"path\":\"$CTL_SOCK\",\"mode\":\"0660\",\"gid\":$CTL_GID}" \
	"$(jq -c '.daemon.control_socket | {path, mode, gid}' <<<"$ST")" "status: the control socket"
assert_ge 1 "$(jq .daemon.control_socket.requests <<<"$ST")" "status: requests served"
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" status |
	grep -q "control socket .*$CTL_SOCK (mode 0660, group $CTL_GID)" || fail "status text shows no control socket"

# ---- outside the group ----
app_start outsider "$OUTSIDER" "$NS_C" --no-group
app_ok outsider connect "$S1_V4" "$ECHO_PORT" >/dev/null
app_refused outsider EACCES "(mode 0660, group $CTL_GID)" getsockopt 1 tos >/dev/null

# ---- stopped: the socket goes ----
daemon_stop "$DAEMON_PID"
[ -e "$CTL_SOCK" ] && fail "the control socket outlived the daemon"
app_refused member EHOSTDOWN "is not running" getsockopt 1 tos >/dev/null

# ---- killed: a stale socket, replaced by the next daemon ----
control_daemon_start control-group "$CTL_GID"
kill -KILL "$DAEMON_PID"
_wait_pid_gone "$DAEMON_PID" 5 || fail "the daemon did not die"
[ -S "$CTL_SOCK" ] || fail "no stale socket after SIGKILL (the test needs one)"
app_refused member EHOSTDOWN "is not running" getsockopt 1 tos >/dev/null
control_daemon_start control-group "$CTL_GID"
app_ok member echo 1000 >/dev/null
app_ok member setsockopt 1 tos 0x08 >/dev/null
assert_eq 8 "$(app_ok member getsockopt 1 tos | jq .raw)" "tos through the new daemon"
echo "PASS: control socket 0660 root:group in a 0711 directory, in status, refused outside the group, gone with the daemon"
