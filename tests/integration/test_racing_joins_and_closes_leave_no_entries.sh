#!/usr/bin/env bash
# Connections that end while their joins are being set up, thousands of
# times: 1-byte connections (a join's handshake often completes as, or after,
# its connection's first subflow closes) and 64 KiB ones (the join carries
# data, and both close together), back to back for a few seconds each, both
# sides tracked. A subflow recorded while its last sibling closes goes into
# a new entry, never into the one being removed: at the end every subflow
# the engine added was removed (none lost in a dying entry, none left), no
# entry is left in either map, and none was refused.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq nstat
CONNRATE=$LAB_BUILD/tests/bench/connrate
[ -x "$CONNRATE" ] || fail "$CONNRATE not built (run make)"
lab_init
lab_setup
for ns in "$NS_C" "$NS_S"; do
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535" ||
		fail "sysctl in $ns"
done
CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

port=6700
for bytes in 1 65536; do
	SPAWN_OUT=$LAB_TMP/server-$bytes.log spawn_in "$CG" "$NS_S" "$CONNRATE" server -a "$S1_V4" \
		-p "$port" -b "$bytes" --ready-file "$LAB_TMP/ready-$bytes"
	wait_file 5 "$LAB_TMP/ready-$bytes" || fail "connrate server did not start"
	j0=$(in_ns "$NS_S" nstat -asz MPTcpExtMPJoinAckRx | awk '$1 == "MPTcpExtMPJoinAckRx" { print $2 }')
	out=$(run_in "$CG" "$NS_C" "$CONNRATE" client -a "$S1_V4" -p "$port" -b "$bytes" -d 2) ||
		fail "connrate client ($bytes B) failed"
	j1=$(in_ns "$NS_S" nstat -asz MPTcpExtMPJoinAckRx | awk '$1 == "MPTcpExtMPJoinAckRx" { print $2 }')
	log "$bytes B: $out; joins completed at the server: $(( j1 - j0 ))"
	assert_ge 1 $(( j1 - j0 )) "$bytes B: joins completed (the race needs some)"
	port=$(( port + 1 ))
done

assert_engine_forgot_all 30 "after the last connection"
added=$(jq .counters.subflows_added <<<"$STATUS")
echo "PASS: $added subflows added and removed; deferred records: $(jq .counters.record_deferred <<<"$STATUS")"
