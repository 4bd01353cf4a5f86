#!/usr/bin/env bash
# A throwaway unprivileged user, member of the control socket's group, tries
# every way to reach another user's MPTCP connection through the daemon, and
# fails each time with a clear error: by token (the library's calls and raw
# requests, for close, backup, getsockopt and subscribe); by a descriptor
# number (written into a request: the protocol takes the socket itself, and
# the kernel refuses pidfd_getfd on another user's process); by the same
# descriptor number in its own process (it acts on its own connection, not
# the victim's); with descriptors that are not an MPTCP connection (pipe,
# file, Unix, UDP, TCP, an unconnected or listening MPTCP socket, an MPTCP
# socket fallen back to TCP); with a socket of another network namespace.
# The victim's connection is untouched throughout: the same subflows,
# established, in ss and in its own MPTCP_FULL_INFO, no SF_CLOSED nor
# SF_PRIO at the peer, its bytes all echoed, and its subscription got only
# its own connection's events.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"
source "$(dirname "$0")/../control_lib.sh"

require_mptcp
require_built
require_cmd jq ss setpriv nsenter
lab_init
control_lab
MON=$LAB_TMP/peer.mon
monitor_start "$NS_S" "$MON"
VICTIM=$(free_id passwd)
ATTACKER=$(free_id passwd)
[ "$VICTIM" != "$ATTACKER" ] || ATTACKER=$(( VICTIM + 1 ))

# The victim: two subflows, subscribed to its events.
app_start victim "$VICTIM"
OUT=$(app_ok victim connect "$S1_V4" "$ECHO_PORT")
VT=$(jq .token <<<"$OUT")
VFD=$(jq .fd <<<"$OUT")
VHEX=$(printf '%08x' "$VT")
app_ok victim echo 1000 >/dev/null
app_ok victim subscribe >/dev/null
app_ok victim open "$C2_V4" "$S2_V4" >/dev/null
BEFORE=$(app_ok victim tuples | jq -c .subflows)
assert_eq 2 "$(jq length <<<"$BEFORE")" "victim's subflows"
# Its events so far; from here on it must get none (nothing happens to it).
app_ok victim events 300 >/dev/null
ss_before=$(ss_subflows "$NS_C" "$ECHO_PORT" | sort)
mon_lines=$(wc -l < "$MON")

raw() {	# raw NETNS ARGS...: control_raw as the attacker
	local ns=$1
	shift
	as_user "$ATTACKER" "$ns" "$CONTROL_RAW" "$@"
}

# ---- 1. by token ----
app_start attacker "$ATTACKER"
for cmd in "token-close $VT 1" "token-backup $VT 2" "token-get $VT 1 tos"; do
	# shellcheck disable=SC2086
	app_refused attacker EPERM "only root may act on a connection by its token" $cmd >/dev/null
done
while read -r line; do
	assert_eq -1 "$(jq .error <<<"$line")" "raw $(jq -r .case <<<"$line") by token: -EPERM"
done < <(raw "$NS_C" "$CTL_SOCK" token "$VT")
log "by token: refused (library calls and raw requests)"

# ---- 2. descriptor numbers ----
OUT=$(raw "$NS_C" "$CTL_SOCK" pass fdnum)
assert_eq -22 "$(jq .error <<<"$OUT")" "a descriptor number in the request's fields"
OUT=$(raw "$NS_C" pidfd "$APP_PID_victim" "$VFD")
assert_eq -1 "$(jq .fd <<<"$OUT")" "pidfd_getfd of the victim's socket"
assert_eq 1 "$(jq .errno <<<"$OUT")" "pidfd_getfd errno (EPERM)"
# The attacker's own connection on the same descriptor number: its close
# acts on the attacker's connection only.
OUT=$(app_ok attacker connect "$S1_V4" "$ECHO_PORT")
assert_eq "$VFD" "$(jq .fd <<<"$OUT")" "the attacker's socket has the victim's descriptor number"
AT=$(jq .token <<<"$OUT")
app_ok attacker echo 1000 >/dev/null
app_ok attacker open "$C2_V4" "$S2_V4" >/dev/null
app_ok attacker close 1 >/dev/null
assert_eq 1 "$(app_ok attacker tuples | jq '.subflows | length')" "attacker's subflows after its own close"
log "descriptor numbers: refused, pidfd_getfd EPERM, the same number acts on the attacker's own connection"

# ---- 3. descriptors that are not an MPTCP connection ----
check_pass() {	# check_pass KIND ERROR TEXT [ADDR PORT]
	local kind=$1 want=$2 text=$3 out
	shift 3
	out=$(raw "$NS_C" "$CTL_SOCK" pass "$kind" "$@")
	assert_eq "$want" "$(jq .error <<<"$out")" "passing $kind"
	[[ $(jq -r .message <<<"$out") == *"$text"* ]] || fail "passing $kind: the message does not say '$text': $out"
}
check_pass pipe -88 "not a socket"
check_pass file -88 "not a socket"
check_pass unix -95 "not an MPTCP socket"
check_pass udp -95 "not an MPTCP socket"
check_pass tcp -95 "not an MPTCP socket" "$S1_V4" "$ECHO_PORT"
check_pass mptcp-unconnected -107 "no connection yet"
check_pass mptcp-listener -107 "no connection yet"
check_pass mptcp-fallback -95 "fell back to plain TCP"
check_pass none -9 "carries its socket"
check_pass two -9 "carries its socket"
app_ok attacker tcp "$S1_V4" "$ECHO_PORT" >/dev/null
app_refused attacker EOPNOTSUPP "not an MPTCP socket" close 1 >/dev/null
log "descriptors that are not MPTCP connections: refused, each with its reason"

# ---- 4. a socket of another network namespace ----
OUT=$(raw "$NS_S" "$CTL_SOCK" pass mptcp "$S1_V4" "$ECHO_PORT")
assert_eq -18 "$(jq .error <<<"$OUT")" "a socket of $NS_S passed to $NS_C's daemon (EXDEV)"
[[ $(jq -r .message <<<"$OUT") == *"which this daemon does not manage"* ]] || fail "other namespace: $OUT"
app_start other "$ATTACKER" "$NS_S"
app_ok other connect "$S1_V4" "$ECHO_PORT" >/dev/null
app_refused other EHOSTDOWN "daemon of this network namespace is not running" close 1 >/dev/null
log "a socket of another namespace: refused by $NS_C's daemon; no daemon in $NS_S"

# ---- the victim is untouched ----
AFTER=$(app_ok victim tuples | jq -c .subflows)
assert_json_eq "$BEFORE" "$AFTER" "victim's subflows (MPTCP_FULL_INFO) before and after"
ss_after=$(ss_subflows "$NS_C" "$ECHO_PORT" | sort)
for line in $(jq -r '.[] | "\(.local.addr):\(.local.port)"' <<<"$BEFORE"); do
	grep -q "^$line .* ESTAB " <<<"$ss_after" || fail "victim's subflow $line is no longer established: $ss_after"
done
if tail -n +"$(( mon_lines + 1 ))" "$MON" | grep -E "SF_CLOSED|SF_PRIO|CLOSED" | grep -q "token=$VHEX"; then
	fail "the peer saw the victim's connection change: $(grep "token=$VHEX" "$MON")"
fi
OUT=$(app_ok victim echo 100000)
assert_eq 101000 "$(jq .bytes <<<"$OUT")" "victim's bytes echoed"
OUT=$(app_ok victim events 300)
assert_eq 0 "$(jq '.events | length' <<<"$OUT")" "events the victim got while the attacker tried (the attacker's connection's are not its)"
# ... while its subscription was live: its own close shows at once.
app_ok victim close 2 >/dev/null
OUT=$(app_ok victim events 500)
assert_eq "3 $VT" "$(jq -r '[.events[] | select(.id == 2)][0] | "\(.type) \(.token)"' <<<"$OUT")" \
	"the victim's own close of subflow 2 (event down, its token)"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "PASS: another user's connection could not be reached by token, descriptor number, other descriptors or another namespace"
