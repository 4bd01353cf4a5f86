#!/usr/bin/env bash
# `open lte after 1mb`: an idle connection stays on wifi; once it has sent a
# megabyte, lte is opened (regular). `open lte after 2s`: lte comes when the
# connection is two seconds old, not before. Every byte checked.
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
open lte after 1mb"

# after SIZE
D=$LAB_TMP/size
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" 8171 upload 3 idle
sleep 1
assert_eq 0 "$(established_on "$NS_C" 8171 "$C2_V4")" "lte subflows before any data"
stream_go "$D"
wait_decision 4 "$NS_C" open lte
decisions "$NS_C" 'select(.action == "open" and .path == "lte") | .reason' | grep -q "has sent enough" ||
	fail "lte was not opened for the bytes sent: $(decisions "$NS_C" | tail -2)"
wait_for 3 count_is 1 established_on "$NS_C" 8171 "$C2_V4" || fail "no lte subflow after 1 MB"
stream_finish "$D"
[ "$STREAM_BYTES" -ge 1000000 ] || fail "the connection sent only $STREAM_BYTES bytes"

# after DURATION
printf 'path wifi dev %s\npath lte dev %s\nopen lte after 2s\n' "$C1" "$C2" > "$LAB_TMP/time.policy"
OUT=$(ctl_in "$NS_C" policy load "$CG_C" "$LAB_TMP/time.policy") || fail "policy load: $OUT"
sleep 0.5	# the daemon has read it (policy load signals it)
D=$LAB_TMP/time
opens=$(decision_count "$NS_C" open lte)
start=$(now_ns)
stream_start "$D" "$CG_S" "$CG_C" "$S1_V4" 8172 upload 4 idle
sleep 1.2
assert_eq 0 "$(established_on "$NS_C" 8172 "$C2_V4")" "lte subflows at 1.2 s"
wait_decision 3 "$NS_C" open lte $((opens + 1))
at=$(decisions "$NS_C" 'select(.action == "open" and .path == "lte") | .time_ns' | tail -1)
age=$(( (at - start) / 1000000 ))
[ "$age" -ge 2000 ] && [ "$age" -lt 2600 ] || fail "lte opened at $age ms, expected at 2 s"
stream_go "$D"
stream_finish "$D"
echo PASS
