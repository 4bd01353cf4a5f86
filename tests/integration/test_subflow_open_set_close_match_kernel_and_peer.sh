#!/usr/bin/env bash
# `subflowctl subflow open | set | getsockopt info | close` on one connection
# agree with the kernel's own views: MPTCP_FULL_INFO on the application's
# socket and `ss -tiM` on the client (userspace PM), `ip mptcp monitor` on the
# peer (a stock host: in-kernel PM). Closing a subflow in the middle of a
# transfer loses no byte: the receiver checks every one.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
pm_userspace "$NS_C"
CG_C=$(cg_create client)
CG_S=$(cg_create server)
D=$LAB_TMP/stream
PORT=8101
MON=$LAB_TMP/peer.mon

monitor_start "$NS_S" "$MON"
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$PORT" upload 3 idle
T=$STREAM_TOKEN

# ---- open: a regular subflow on path 2 ----
OUT=$(ctl_in "$NS_C" subflow open token "$T" local "$C2_V4" remote "$S2_V4" port "$PORT") ||
	fail "subflow open: $OUT"
assert_json "$OUT" "subflow open -j"
ID=$(jq .id <<<"$OUT")
LPORT=$(jq .local.port <<<"$OUT")
LID=$(jq .local_addr_id <<<"$OUT")
assert_eq ESTABLISHED "$(jq -r .state <<<"$OUT")" "open: state of the new subflow"
assert_eq false "$(jq .backup_local <<<"$OUT")" "open: a regular subflow is not backup"
assert_ne 0 "$(jq .local_addr_id <<<"$OUT")" "open: local address id (0 would stick to this address)"

FI=$(full_info "$D" client)
jq -e --argjson id "$ID" --arg a "$C2_V4" --argjson p "$LPORT" --arg r "$S2_V4" --argjson rp "$PORT" \
	'.subflows[] | select(.id == $id and .local.addr == $a and .local.port == $p and
			      .remote.addr == $r and .remote.port == $rp and .tcp.state == 1)' \
	<<<"$FI" >/dev/null || fail "MPTCP_FULL_INFO has no established subflow $ID $C2_V4:$LPORT -> $S2_V4: $FI"
ss_subflows "$NS_C" "$PORT" | grep -q "^$C2_V4:$LPORT $S2_V4:$PORT ESTAB " ||
	fail "ss does not show the new subflow: $(ss_subflows "$NS_C" "$PORT")"
wait_for 3 grep -q "SF_ESTABLISHED.*daddr4=$C2_V4 .*dport=$LPORT backup=0" "$MON" ||
	fail "the peer saw no regular SF_ESTABLISHED from $C2_V4:$LPORT: $(cat "$MON")"

# ---- getsockopt info: the counters MPTCP_FULL_INFO's tcp_info gives (idle connection) ----
INFO=$(ctl_in "$NS_C" subflow getsockopt token "$T" id "$ID" info) ||
	fail "subflow getsockopt info: $INFO"
FI=$(full_info "$D" client)
KTCP=$(jq -c --argjson id "$ID" '.subflows[] | select(.id == $id) | .tcp |
	{rtt_us, rttvar_us, snd_cwnd, snd_ssthresh, snd_mss, total_retrans, bytes_sent, bytes_acked, bytes_received}' <<<"$FI")
OTCP=$(jq -c '.value | {rtt_us, rttvar_us, snd_cwnd, snd_ssthresh, snd_mss, total_retrans, bytes_sent, bytes_acked, bytes_received}' <<<"$INFO")
assert_json_eq "$KTCP" "$OTCP" "getsockopt info vs MPTCP_FULL_INFO tcp_info of subflow $ID"
assert_eq ESTABLISHED "$(jq -r .value.state <<<"$INFO")" "getsockopt info: state"

# ---- set backup on, then off: MP_PRIO reaches the peer ----
OUT=$(ctl_in "$NS_C" subflow set token "$T" id "$ID" backup on) || fail "subflow set backup on: $OUT"
ss_subflows "$NS_C" "$PORT" | grep -q "^$C2_V4:$LPORT $S2_V4:$PORT ESTAB [^ ]*b" ||
	fail "ss shows no local backup flag (b) on subflow $ID: $(ss_subflows "$NS_C" "$PORT")"
wait_for 3 grep -q "SF_PRIO.*daddr4=$C2_V4 .*dport=$LPORT backup=1" "$MON" ||
	fail "the peer saw no MP_PRIO backup=1: $(cat "$MON")"
OUT=$(ctl_in "$NS_C" subflow set token "$T" id "$ID" backup off) || fail "subflow set backup off: $OUT"
ss_subflows "$NS_C" "$PORT" | grep -q "^$C2_V4:$LPORT $S2_V4:$PORT ESTAB [^ b]*$" ||
	fail "ss still shows a local backup flag on subflow $ID: $(ss_subflows "$NS_C" "$PORT")"
wait_for 3 grep -q "SF_PRIO.*daddr4=$C2_V4 .*dport=$LPORT backup=0" "$MON" ||
	fail "the peer saw no MP_PRIO backup=0: $(cat "$MON")"

# ---- open a backup subflow: MP_JOIN with the backup bit ----
OUT=$(ctl_in "$NS_C" subflow open token "$T" local "$C2_V4" remote "$S1_V4" port "$PORT" backup) ||
	fail "subflow open backup: $OUT"
BID=$(jq .id <<<"$OUT")
BPORT=$(jq .local.port <<<"$OUT")
assert_eq true "$(jq .backup_local <<<"$OUT")" "open backup: local backup flag"
assert_eq "$LID" "$(jq .local_addr_id <<<"$OUT")" "the same local address keeps its address id"
wait_for 3 grep -q "SF_ESTABLISHED.*daddr4=$C2_V4 .*dport=$BPORT backup=1" "$MON" ||
	fail "the peer saw no backup SF_ESTABLISHED from $C2_V4:$BPORT: $(cat "$MON")"
[ "$BID" != "$ID" ] || fail "two subflows got the same id $ID"

# ---- close the first one in the middle of the transfer ----
N_BEFORE=$(ss_subflows "$NS_C" "$PORT" | grep -c ' ESTAB ')
stream_go "$D"
sleep 1
OUT=$(ctl_in "$NS_C" subflow close token "$T" id "$ID") || fail "subflow close: $OUT"
ss_subflows "$NS_C" "$PORT" | grep -q "^$C2_V4:$LPORT .* ESTAB " &&
	fail "subflow $ID is still established after close: $(ss_subflows "$NS_C" "$PORT")"
assert_eq "$((N_BEFORE - 1))" "$(ss_subflows "$NS_C" "$PORT" | grep -c ' ESTAB ')" \
	"established subflows after closing one"
wait_for 3 grep -q "SF_CLOSED.*daddr4=$C2_V4 .*dport=$LPORT " "$MON" ||
	fail "the peer saw no SF_CLOSED of $C2_V4:$LPORT: $(cat "$MON")"
FI=$(full_info "$D" client)
jq -e --argjson id "$ID" '[.subflows[] | select(.id == $id and .tcp.state == 1)] | length == 0' \
	<<<"$FI" >/dev/null || fail "MPTCP_FULL_INFO still lists subflow $ID as established: $FI"
stream_finish "$D"
log "every byte arrived ($STREAM_BYTES) after subflow $ID was closed mid-transfer"
echo PASS
