# shellcheck shell=bash
# tests/run_lib.sh: helpers for the launcher's tests (tests/integration/
# test_run_*.sh), on top of tests/lib.sh (source that first).
#
# The "unmodified program" is tests/tools/tcp_app (dynamic: $TCP_APP, static:
# $TCP_APP_STATIC): it creates plain TCP sockets and writes, per connection,
# one JSON line with what it got: SO_PROTOCOL (262 = MPTCP) and whether
# MPTCP_INFO answers (an MPTCP connection that did not fall back).

TCP_APP=${TCP_APP:-$LAB_BUILD/tests/tcp_app}
TCP_APP_STATIC=${TCP_APP_STATIC:-$LAB_BUILD/tests/tcp_app-static}
PRELOAD_SHIM=${PRELOAD_SHIM:-$LAB_BUILD/tests/libsubflow_preload.so}
IPPROTO_MPTCP=262
IPPROTO_TCP=6
# JOINS: tcp_app client options for a connection across the lab's two paths:
# exchange byte 0 first and let the second subflow be set up before the rest.
# Linux 6.18 can deliver an MP_JOIN subflow's data at the wrong stream offset
# when the join and its first data race at the peer (README, "Limits";
# tests/kernel/mptcp_join_race.sh). The rest is still sent with
# send(MSG_DONTWAIT) on both subflows at once and checked byte by byte.
JOINS=(--settle 2)

require_run_tools() {
	require_built
	local t
	for t in "$TCP_APP" "$TCP_APP_STATIC" "$PRELOAD_SHIM"; do
		[ -e "$t" ] || fail "$t not built (run make)"
	done
}

# app_server NAME PORT [ARGS...]: a tcp_app echo server in $NS_S (root
# cgroup: it is no subject of these tests) writing $LAB_TMP/NAME.json; waits
# until it listens. $APP_SERVER_PID.
app_server() {
	local name=$1 port=$2
	shift 2
	rm -f "$LAB_TMP/$name.json" "$LAB_TMP/$name.ready"
	SPAWN_OUT=$LAB_TMP/$name.log spawn_in "$(cg_root)" "$NS_S" "$TCP_APP" server -a "$S1_V4" \
		-p "$port" --out "$LAB_TMP/$name.json" --ready-file "$LAB_TMP/$name.ready" "$@"
	APP_SERVER_PID=$SPAWNED_PID
	wait_for 5 test -e "$LAB_TMP/$name.ready" ||
		fail "tcp_app server $name did not start: $(cat "$LAB_TMP/$name.log")"
}

# app_server_done NAME [LINES]: wait (bounded) for the server's report of
# LINES connections (default 1) and for its exit.
app_server_done() {
	local name=$1 lines=${2:-1}
	wait_for 10 test "$(wc -l < "$LAB_TMP/$name.json" 2>/dev/null || echo 0)" -ge "$lines" ||
		fail "server $name reported $(wc -l < "$LAB_TMP/$name.json" 2>/dev/null || echo 0) of $lines connections: $(cat "$LAB_TMP/$name.log")"
	wait_for 10 eval '! kill -0 "$APP_SERVER_PID" 2>/dev/null' ||
		fail "server $name did not exit"
}

# jfield FILE KEY [LINE]: a value from line LINE (default 1) of a tcp_app report.
jfield() {
	sed -n "${3:-1}p" "$1" | jq -r ".$2"
}

# run_ctl ARGS...: `subflowctl -j run ARGS...` in $NS_C; its JSON summary in
# $RUN_OUT, stderr in $RUN_ERR, exit status in $RUN_RC.
run_ctl() {
	RUN_RC=0
	in_ns "$NS_C" "$SUBFLOWCTL" -j run "$@" > "$LAB_TMP/run.out" 2> "$LAB_TMP/run.err" || RUN_RC=$?
	RUN_OUT=$(cat "$LAB_TMP/run.out")
	RUN_ERR=$(cat "$LAB_TMP/run.err")
}

# assert_run_ok WHAT: the last run_ctl exited 0 and printed a JSON summary.
assert_run_ok() {
	[ "$RUN_RC" = 0 ] || fail "$1: subflowctl run exited $RUN_RC: $RUN_ERR"
	assert_json "$RUN_OUT" "$1: summary"
}

# assert_mptcp_conn WHAT CLIENT_JSON SERVER_JSON BYTES: the client's socket
# is MPTCP and its connection is MPTCP at both ends (MPTCP_INFO answers on
# the peer too), with every byte echoed.
assert_mptcp_conn() {
	local what=$1 c=$2 s=$3 bytes=$4
	assert_eq "$IPPROTO_MPTCP" "$(jfield "$c" protocol)" "$what: SO_PROTOCOL of the program's socket"
	assert_eq true "$(jfield "$c" mptcp_info)" "$what: MPTCP_INFO on the program's socket"
	assert_eq true "$(jfield "$s" mptcp_info)" "$what: MPTCP_INFO on the peer's socket"
	assert_eq "$bytes" "$(jfield "$c" bytes)" "$what: bytes echoed and checked by the program"
	assert_eq "$bytes" "$(jfield "$s" bytes)" "$what: bytes checked by the peer"
}
