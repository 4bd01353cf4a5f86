#!/usr/bin/env bash
# policies/metered-lte-backup.policy on a client: connections to the bulk
# ports (873 over IPv4, 9873 over IPv6) get no subflow on lte (1 subflow,
# the join refused and counted); any other connection gets its c2 subflow
# marked 0x4c and paced to at most 2 Mbit/s (ss: pacing_rate .../2Mbps)
# while its c1 subflow is unmarked and uncapped; and the cap holds on the
# wire: of 3 MB sent, c2 carries at most its 2 Mbit/s share.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
pol_attach "$NS_C" "$CG_C" "$POLICY_DIR/metered-lte-backup.policy"
errors_before=$(join_errors "$NS_C")

refused=0
for target in "$S1_V4 873" "$S1_V6 9873"; do
	set -- $target
	pair_start "$LAB_TMP/bulk$2" "$CG_S" "$CG_C" "$1" "$2" --subflows 1
	refused=$(( refused + 1 ))
	wait_for 10 join_errors_at_least "$NS_C" $(( errors_before + refused )) ||
		fail "port $2: the join on lte was not refused"
	assert_eq 1 "$(jq '.kernel | length' "$LAB_TMP/bulk$2/client.json")" "port $2 ($1): subflows"
	pair_stop "$LAB_TMP/bulk$2"
done

BYTES=3000000
c1_before=$(dev_tx_bytes "$NS_C" "$C1")
c2_before=$(dev_tx_bytes "$NS_C" "$C2")
start=$(date +%s%N)
pair_start "$LAB_TMP/web" "$CG_S" "$CG_C" "$S1_V4" 8080 -b "$BYTES"
view=$LAB_TMP/web/client.json
lte=$(ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C2_V4")" port)")
wifi=$(ss_sock "$NS_C" "$C1_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C1_V4")" port)")
assert_eq "fwmark:0x4c" "$(ss_field "$lte" 'fwmark:0x[0-9a-f]+')" "c2 subflow: mark"
ss_field "$lte" 'pacing_rate [^ ]+/2Mbps' | grep -q . ||
	fail "c2 subflow: no 2Mbps pacing cap in ss: $(ss_field "$lte" 'pacing_rate [^ ]+')"
assert_eq "" "$(ss_field "$wifi" 'fwmark:0x[0-9a-f]+')" "c1 subflow: no mark"
assert_eq "" "$(ss_field "$wifi" 'pacing_rate [^ ]+/[^ ]+')" "c1 subflow: no pacing cap"
pair_stop "$LAB_TMP/web"
secs_x100=$(( ( $(date +%s%N) - start ) / 10000000 ))
sent1=$(( $(dev_tx_bytes "$NS_C" "$C1") - c1_before ))
sent2=$(( $(dev_tx_bytes "$NS_C" "$C2") - c2_before ))
# 2 Mbit/s = 250000 B/s over the whole exchange (an upper bound on the time
# the data was in flight), plus headers and the initial window.
cap=$(( 250000 * secs_x100 / 100 * 11 / 10 + 100000 ))
log "$BYTES bytes in $((secs_x100 / 100)).$((secs_x100 % 100)) s: $sent1 bytes out of $C1, $sent2 out of $C2 (cap $cap)"
[ "$sent2" -le "$cap" ] || fail "c2 carried $sent2 bytes, more than 2 Mbit/s allows ($cap)"
assert_ge $(( BYTES * 3 / 4 )) "$sent1" "bytes out of $C1 (most of the data)"
hits=$(pol_hits "$NS_C" "$CG_C")
assert_eq "[1,1,1,3]" "$hits" "hits [873 deny, 9873 deny, lte cap, no match (initial subflows)]"
assert_eq 2 "$(pol_denials "$NS_C" "$CG_C" lte)" "denials on lte"
echo "PASS: metered LTE: bulk ports kept off lte, other lte subflows marked 0x4c and capped at 2 Mbit/s"
