#!/usr/bin/env bash
# Two throwaway unprivileged users (no capability, members of the control
# socket's group), one on IPv4 and one on IPv6, each control their own MPTCP
# connection through libsubflow, which goes through the daemon's control
# socket by itself (they cannot reach the pins): they open a subflow on a
# chosen address pair, flip it to backup and back, set and read its TOS and
# congestion control, receive their connection's events, close the first
# subflow, and every byte they send comes back. Each step is checked against
# the kernel: `ss` on the client (subflow tuples, the backup flag, tos, cc),
# the peer's `ip mptcp monitor` (SF_ESTABLISHED, SF_PRIO, SF_CLOSED), the
# application's own MPTCP_FULL_INFO (subflow_get_tuples). What an
# unprivileged process may not do to a socket it may not do to a subflow
# either (SO_MARK, priority above 6, a congestion control outside
# tcp_allowed_congestion_control), and by token it may do nothing, not even
# to its own connection. Each user's events are its connection's only.
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
UID4=$(free_id passwd)
UID6=$(free_id passwd)
[ "$UID4" != "$UID6" ] || UID6=$(( UID4 + 1 ))
allowed=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)
other_cc=
for cc in cubic bbr reno; do
	[[ " $allowed " == *" $cc "* ]] || { other_cc=$cc; break; }
done
allowed_cc=${allowed%% *}

# fam_vars v4|v6: the addresses of that family, and how ss and the monitor
# print them (the echo server listens on ::, so IPv4 is v4-mapped there).
fam_vars() {
	if [ "$1" = v4 ]; then
		SRV=$S1_V4 L2=$C2_V4 R2=$S2_V4 L1=$C1_V4 SS_L1=$C1_V4 SS_L2=$C2_V4 MON_L2="daddr(4=|6=::ffff:)$C2_V4" MON_L1="daddr(4=|6=::ffff:)$C1_V4"
	else
		SRV=$S1_V6 L2=$C2_V6 R2=$S2_V6 L1=$C1_V6 SS_L1="[$C1_V6]" SS_L2="[$C2_V6]" MON_L2="daddr6=$C2_V6" MON_L1="daddr6=$C1_V6"
	fi
}

declare -A TOKEN
for fam in v4 v6; do
	fam_vars "$fam"
	if [ "$fam" = v4 ]; then uid=$UID4; else uid=$UID6; fi
	app_start "$fam" "$uid"
	pidvar=APP_PID_$fam
	assert_unprivileged "${!pidvar}" "$uid"
	OUT=$(app_ok "$fam" connect "$SRV" "$ECHO_PORT")
	TOKEN[$fam]=$(jq .token <<<"$OUT")
	app_ok "$fam" echo 1000 >/dev/null
	app_ok "$fam" subscribe >/dev/null
	OUT=$(app_ok "$fam" tuples)
	assert_eq 1 "$(jq '.subflows | length' <<<"$OUT")" "$fam: subflows before open"
	ID1=$(jq '.subflows[0].id' <<<"$OUT")
	LP1=$(jq '.subflows[0].local.port' <<<"$OUT")

	# ---- open on the chosen pair ----
	OUT=$(app_ok "$fam" open "$L2" "$R2")
	ID2=$(jq .id <<<"$OUT")
	OUT=$(app_ok "$fam" tuples)
	LP2=$(jq --argjson id "$ID2" '.subflows[] | select(.id == $id) | .local.port' <<<"$OUT")
	jq -e --argjson id "$ID2" --arg l "$L2" --arg r "$R2" --argjson p "$ECHO_PORT" \
		'.subflows[] | select(.id == $id and .local.addr == $l and .remote.addr == $r and .remote.port == $p)' \
		<<<"$OUT" >/dev/null || fail "$fam: MPTCP_FULL_INFO has no subflow $ID2 $L2 -> $R2: $OUT"
	sub_line "$NS_C" "$SS_L2" "$LP2" | grep -q " ESTAB " ||
		fail "$fam: ss shows no established subflow from $L2:$LP2: $(ss_subflows "$NS_C" "$ECHO_PORT")"
	wait_for 3 grep -Eq "SF_ESTABLISHED.*$MON_L2 .*dport=$LP2 backup=0" "$MON" ||
		fail "$fam: the peer saw no SF_ESTABLISHED from $L2:$LP2: $(cat "$MON")"
	log "$fam: uid $uid opened subflow $ID2 $L2:$LP2 -> $R2:$ECHO_PORT"

	# ---- backup on and off: MP_PRIO ----
	app_ok "$fam" backup "$ID2" on >/dev/null
	sub_line "$NS_C" "$SS_L2" "$LP2" | grep -q " ESTAB [^ ]*b" ||
		fail "$fam: ss shows no backup flag on $L2:$LP2: $(sub_line "$NS_C" "$SS_L2" "$LP2")"
	wait_for 3 grep -Eq "SF_PRIO.*$MON_L2 .*dport=$LP2 backup=1" "$MON" ||
		fail "$fam: the peer saw no MP_PRIO backup=1: $(cat "$MON")"
	app_ok "$fam" backup "$ID2" off >/dev/null
	wait_for 3 grep -Eq "SF_PRIO.*$MON_L2 .*dport=$LP2 backup=0" "$MON" ||
		fail "$fam: the peer saw no MP_PRIO backup=0: $(cat "$MON")"

	# ---- options: on this subflow only ----
	app_ok "$fam" setsockopt "$ID2" tos 0x10 >/dev/null
	assert_eq 16 "$(app_ok "$fam" getsockopt "$ID2" tos | jq .raw)" "$fam: tos read back"
	# IPv4 subflows show it as tos, IPv6 ones as tclass (IPV6_TCLASS).
	in_ns "$NS_C" ss -Htn --tos state established "( sport = :$LP2 )" | grep -Eq "(tos|tclass):0x10" ||
		fail "$fam: ss shows no tos 0x10 on $L2:$LP2: $(in_ns "$NS_C" ss -Htn --tos "( sport = :$LP2 )")"
	in_ns "$NS_C" ss -Htn --tos state established "( sport = :$LP1 )" | grep -Eq "(tos|tclass):0x10" &&
		fail "$fam: the first subflow got tos 0x10 too"
	app_ok "$fam" setsockopt "$ID2" cc "$allowed_cc" >/dev/null
	in_ns "$NS_C" ss -Htni state established "( sport = :$LP2 )" | grep -qw "$allowed_cc" ||
		fail "$fam: ss does not show cc $allowed_cc on $L2:$LP2"
	app_refused "$fam" EPERM "SO_MARK needs CAP_NET_ADMIN" setsockopt "$ID2" mark 0x20 >/dev/null
	app_refused "$fam" EPERM "above 6 needs CAP_NET_ADMIN" setsockopt "$ID2" priority 7 >/dev/null
	app_ok "$fam" setsockopt "$ID2" priority 5 >/dev/null
	assert_eq 5 "$(app_ok "$fam" getsockopt "$ID2" priority | jq .raw)" "$fam: priority read back"
	if [ -n "$other_cc" ]; then
		app_refused "$fam" EPERM "tcp_allowed_congestion_control" setsockopt "$ID2" cc "$other_cc" >/dev/null
	fi
	in_ns "$NS_C" ss -Htnie state established "( sport = :$LP2 )" | grep -q "fwmark" &&
		fail "$fam: a mark reached the subflow"

	# ---- by token: root's, even on one's own connection ----
	app_refused "$fam" EPERM "only root may act on a connection by its token" \
		token-close "${TOKEN[$fam]}" "$ID2" >/dev/null
	app_refused "$fam" EPERM "only root may act" token-get "${TOKEN[$fam]}" "$ID2" tos >/dev/null

	# ---- close the first subflow mid-connection; every byte comes back ----
	app_ok "$fam" echo 200000 >/dev/null
	app_ok "$fam" close "$ID1" >/dev/null
	sub_line "$NS_C" "$SS_L1" "$LP1" | grep -q " ESTAB " &&
		fail "$fam: subflow $ID1 is still established after close"
	wait_for 3 grep -Eq "SF_CLOSED.*$MON_L1 .*dport=$LP1 " "$MON" ||
		fail "$fam: the peer saw no SF_CLOSED of $L1:$LP1: $(cat "$MON")"
	OUT=$(app_ok "$fam" echo 200000)
	assert_eq 401000 "$(jq .bytes <<<"$OUT")" "$fam: bytes echoed intact"
	OUT=$(app_ok "$fam" tuples)
	assert_eq "$ID2" "$(jq -c '[.subflows[].id] | join(",")' -r <<<"$OUT")" "$fam: subflows after close"

	# ---- its events: its own connection's subflows, as the kernel saw them ----
	OUT=$(app_ok "$fam" events 300)
	assert_eq "${TOKEN[$fam]}" "$(jq -r '[.events[].token] | unique | join(",")' <<<"$OUT")" \
		"$fam: tokens of the events received"
	jq -e --argjson id "$ID2" --argjson p "$LP2" --arg l "$L2" \
		'any(.events[]; .type == 2 and .id == $id and .local.port == $p and .local.addr == $l)' \
		<<<"$OUT" >/dev/null || fail "$fam: no established event of subflow $ID2 ($L2:$LP2): $OUT"
	jq -e --argjson id "$ID1" --argjson p "$LP1" \
		'any(.events[]; .type == 3 and .id == $id and .local.port == $p)' \
		<<<"$OUT" >/dev/null || fail "$fam: no down event of subflow $ID1: $OUT"
	assert_eq 0 "$(jq .lost <<<"$OUT")" "$fam: events lost"
done

# Both subscriptions, two users' connections: the daemon says so.
OUT=$(ctl_in "$NS_C" status)
assert_eq 2 "$(jq .daemon.control_socket.subscriptions <<<"$OUT")" "subscriptions in status"
for fam in v4 v6; do app_stop "$fam"; done
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "PASS: two unprivileged users controlled their own connections (v4, v6) through the daemon, as the kernel shows"
