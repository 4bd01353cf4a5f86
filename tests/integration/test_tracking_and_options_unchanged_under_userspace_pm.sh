#!/usr/bin/env bash
# Under the userspace path manager, with the daemon creating the subflows,
# the engine works as under the in-kernel one: the tracker lists every
# subflow with the ids and tuples MPTCP_FULL_INFO gives, and the policy's
# per-subflow options reach the subflows the daemon opens (lte's mark and
# congestion control, set before its SYN; wifi keeps its own).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
prefer_lab "path wifi dev $C1
path lte dev $C2
rule path lte mark 0x77 cc reno
rule path wifi mark 0x11
prefer wifi over lte"

port=8196
D=$LAB_TMP/s
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 3
wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" || fail "no lte subflow"
sleep 0.3
KERNEL=$(full_info "$D" client | jq -c '[.subflows[] | select(.tcp.state == 1) | {id, local, remote}] | sort_by(.id)')
ENGINE=$(ctl_conn "$NS_C" "$STREAM_TOKEN")
[ "$ENGINE" != null ] || fail "the engine does not track the connection"
assert_json_eq "$KERNEL" "$(jq -c '[.subflows[] | select(.state == "ESTABLISHED") | {id, local, remote}] | sort_by(.id)' <<<"$ENGINE")" \
	"tracked subflows vs MPTCP_FULL_INFO"
for path in lte wifi; do
	addr=$C2_V4 mark=0x77
	[ "$path" = wifi ] && addr=$C1_V4 mark=0x11
	id=$(jq --arg a "$addr" '[.[] | select(.local.addr == $a)][0].id' <<<"$KERNEL")
	OUT=$(ctl_in "$NS_C" subflow getsockopt token "$STREAM_TOKEN" id "$id" mark) || fail "getsockopt: $OUT"
	assert_eq "$mark" "$(printf '%#x' "$(jq .value <<<"$OUT")")" "$path subflow's mark"
done
id=$(jq --arg a "$C2_V4" '[.[] | select(.local.addr == $a)][0].id' <<<"$KERNEL")
OUT=$(ctl_in "$NS_C" subflow getsockopt token "$STREAM_TOKEN" id "$id" cc) || fail "getsockopt cc: $OUT"
assert_eq reno "$(jq -r .value <<<"$OUT")" "lte subflow's congestion control"
in_ns "$NS_C" ss -Htie "( sport = :$port or dport = :$port )" | grep "$C2_V4" | grep -q "fwmark:0x77" ||
	fail "ss does not show lte's mark: $(in_ns "$NS_C" ss -Htie "( dport = :$port )")"
stream_finish "$D"
echo PASS
