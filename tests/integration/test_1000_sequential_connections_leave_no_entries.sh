#!/usr/bin/env bash
# 1000 short MPTCP connections in a row (connect, 1 byte each way, close),
# all tracked by the engine, leave no entry behind: both namespaces list
# nothing, the conns and subflow_overflow maps are empty, and every subflow
# the engine added was removed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CONNS=${CONNS:-1000}
CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

SPAWN_OUT=$LAB_TMP/server.log spawn_in "$CG" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" -p 5400 \
	-n "$CONNS" --ready-file "$LAB_TMP/ready"
server=$SPAWNED_PID
wait_for 5 test -e "$LAB_TMP/ready" || fail "server did not start: $(cat "$LAB_TMP/server.log")"

run_in "$CG" "$NS_C" "$MPTCP_PEER" client -a "$S1_V4" -p 5400 --repeat "$CONNS" ||
	fail "client --repeat $CONNS failed"
_wait_pid_gone "$server" 10 || fail "server did not finish its $CONNS connections"
wait "$server" || fail "server failed: $(cat "$LAB_TMP/server.log")"

assert_engine_forgot_all 2 "after $CONNS connections"
added=$(jq .counters.subflows_added <<<"$STATUS")
assert_ge $(( 2 * CONNS )) "$added" "subflows added (at least the initial one per side and connection)"
echo "PASS: $CONNS connections, $added subflow entries added and removed"
