#!/usr/bin/env bash
# A subflow whose path goes silent (nftables drops everything on it, both
# ends, the link stays up) while it has data outstanding: `subflow monitor`
# reports each retransmission timeout of that subflow as an "rto" event,
# numbered like the kernel's own count of timeouts in a row (its RTO
# backoff, TCP_INFO tcpi_backoff, `ss -ti` backoff:N, doubling rto:), and
# none of the subflow on the path that works. The upload goes on over that path, every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter nft bpftool
lab_init
lab_setup

CG_C=$(cg_create client)
CG_S=$(cg_create server)
ctl_in "$NS_C" cgroup attach "$CG_C" > /dev/null || fail "cgroup attach $CG_C"
mon=$LAB_TMP/monitor.json
sfmon_start "$NS_C" "$mon"

port=8171
stream_start "$LAB_TMP/s" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 6
token=$STREAM_TOKEN
wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
	fail "no subflow on the second path: $(ss_subflows "$NS_C" "$port")"
sleep 0.5	# data in flight on both subflows
nft_blackhole "$NS_C" "$C1" "$NS_S" "$S1"

# rto_numbers ADDR: the "timeouts" of the monitor's rto events of this
# connection's subflow from ADDR, in order.
rto_numbers() {
	jq -r --arg a "$1" --argjson t "$token" 'select(.event == "rto" and
		.subflow.token == $t and .subflow.local.addr == $a) | .timeouts' "$mon" | tr '\n' ' '
}
# The kernel's timeouts in a row of the subflow from C1 (backoff:N).
kernel_timeouts() {
	ip netns exec "$NS_C" ss -tinH state established "dport = :$port and src $C1_V4" |
		grep -o ' backoff:[0-9]*' | cut -d: -f2
}
_rtos_match_kernel() {
	local got k
	got=$(rto_numbers "$C1_V4")
	k=$(kernel_timeouts)
	[ -n "$k" ] && [ "$k" -ge 2 ] && [ "${got% }" = "$(seq -s ' ' 1 "$k")" ]
}
wait_for 5 _rtos_match_kernel || "rto events $(rto_numbers "$C1_V4")against the kernel's $(kernel_timeouts) timeouts in a row"
log "rto events of the silent subflow: $(rto_numbers "$C1_V4")(kernel: backoff:$(kernel_timeouts))"
assert_eq "" "$(rto_numbers "$C2_V4")" "rto events of the subflow on the working path"

nft_heal "$NS_C" "$NS_S"
stream_finish "$LAB_TMP/s"
log "$STREAM_BYTES bytes intact"
echo PASS
