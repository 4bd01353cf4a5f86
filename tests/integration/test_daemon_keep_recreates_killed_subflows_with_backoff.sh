#!/usr/bin/env bash
# `keep 2 subflows`: the daemon opens the second subflow (on the path with the
# fewest), and re-creates it each time it breaks: here it is killed over and
# over in the kernel (subflowctl subflow close). The re-creations back off:
# 100 ms, then 200, 400, 800 ms (doubling up to 30 s), never sooner; the
# connection goes on over wifi meanwhile and no byte is lost.
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
keep 2 subflows"

port=8130
D=$LAB_TMP/s
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" "$port" upload 8
wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" ||
	fail "keep 2: no second subflow on lte: $(ss_subflows "$NS_C" "$port")"
decisions "$NS_C" 'select(.action == "open")' | head -1 | jq -e '.path == "lte"' >/dev/null ||
	fail "the second subflow was not opened on the path with the fewest (lte)"

# Kill lte's subflow four times, each once it is back.
for round in 1 2 3 4; do
	opens=$(decision_count "$NS_C" open lte)
	wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" || fail "round $round: lte not back"
	id=$(full_info "$D" client | jq --arg a "$C2_V4" \
		'[.subflows[] | select(.local.addr == $a and .tcp.state == 1)][0].id')
	[ "$id" != null ] || fail "round $round: MPTCP_FULL_INFO lists no lte subflow"
	OUT=$(ctl_in "$NS_C" subflow close token "$STREAM_TOKEN" id "$id") || fail "round $round: close: $OUT"
	wait_decision 5 "$NS_C" open lte $((opens + 1))
done
wait_for 5 count_is 1 established_on "$NS_C" "$port" "$C2_V4" || fail "lte not back at the end"

# The backoffs the daemon announced, and the times it kept.
mapfile -t waits < <(decisions "$NS_C" 'select(.action == "lost" and .path == "lte") | .reason' |
	sed -n 's/.*again in \([0-9]*\) ms.*/\1/p')
assert_eq "100 200 400 800" "${waits[*]}" "backoffs after each kill"
mapfile -t lost_at < <(decisions "$NS_C" 'select(.action == "lost" and .path == "lte") | .time_ns')
mapfile -t open_at < <(decisions "$NS_C" 'select(.action == "open" and .path == "lte") | .time_ns')
for i in 0 1 2 3; do
	gap=$(( (open_at[i + 1] - lost_at[i]) / 1000000 ))
	[ "$gap" -ge "${waits[i]}" ] || fail "re-created after $gap ms, before its ${waits[i]} ms backoff"
	[ "$gap" -lt $(( waits[i] + 500 )) ] || fail "re-created after $gap ms, long after its ${waits[i]} ms backoff"
done
stream_finish "$D"
log "4 kills, re-created after ${waits[*]} ms; $STREAM_BYTES bytes intact"
echo PASS
