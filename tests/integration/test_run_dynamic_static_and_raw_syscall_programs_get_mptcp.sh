#!/usr/bin/env bash
# `subflowctl run -- PROGRAM` gives an unmodified program MPTCP sockets,
# whether it calls libc's socket() or the raw syscall, linked dynamically or
# statically, over IPv4 and IPv6: the program's own socket says
# IPPROTO_MPTCP, MPTCP_INFO answers at both ends (the peer is an MPTCP
# server), every byte comes back, and `ss -M` in the client's namespace lists
# the program's MPTCP socket with its subflows over both paths. The LD_PRELOAD
# shim, for contrast, converts the dynamic program and misses the static one.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
require_cmd ss jq
lab_init
lab_setup

port=7100
for prog in "$TCP_APP" "$TCP_APP_STATIC"; do
	for raw in "" --raw; do
		what="$(basename "$prog")${raw:+ $raw}"
		port=$(( port + 1 ))
		app_server "srv$port" "$port" --mptcp
		rm -f "$LAB_TMP/c$port.json"
		run_ctl -- "$prog" client -a "$S1_V4" -p "$port" -b 200000 --out "$LAB_TMP/c$port.json" $raw \
			"${JOINS[@]}"
		assert_run_ok "$what"
		app_server_done "srv$port"
		assert_mptcp_conn "$what" "$LAB_TMP/c$port.json" "$LAB_TMP/srv$port.json" 200000
		assert_eq 1 "$(jq .sockets.mptcp <<<"$RUN_OUT")" "$what: sockets the launcher made MPTCP"
		assert_eq 0 "$(jq .sockets.tcp <<<"$RUN_OUT")" "$what: sockets left TCP"
		assert_eq 0 "$(jq .exit_code <<<"$RUN_OUT")" "$what: exit code in the summary"
	done
done

# IPv6, static: the family is kept.
SPAWN_OUT=$LAB_TMP/srv6.log spawn_in "$(cg_root)" "$NS_S" "$TCP_APP" server -a "$S1_V6" -p 7150 \
	--mptcp --out "$LAB_TMP/srv6.json" --ready-file "$LAB_TMP/srv6.ready"
APP_SERVER_PID=$SPAWNED_PID
wait_for 5 test -e "$LAB_TMP/srv6.ready" || fail "IPv6 server did not start"
run_ctl -- "$TCP_APP_STATIC" client -a "$S1_V6" -p 7150 --out "$LAB_TMP/c6.json" "${JOINS[@]}"
assert_run_ok "static, IPv6"
app_server_done srv6
assert_mptcp_conn "static, IPv6" "$LAB_TMP/c6.json" "$LAB_TMP/srv6.json" 65536

# ss -M: the kernel's own list of MPTCP sockets shows the static program's
# socket, owned by its pid, and two TCP subflows (the lab's second path).
app_server held 7160 --mptcp
SPAWN_OUT=$LAB_TMP/held.log spawn_in "$(cg_root)" "$NS_C" "$SUBFLOWCTL" run -- "$TCP_APP_STATIC" \
	client -a "$S1_V4" -p 7160 --out "$LAB_TMP/held-c.json" --hold-until "$LAB_TMP/go" "${JOINS[@]}"
held=$SPAWNED_PID
wait_file 10 "$LAB_TMP/held-c.json" || fail "held client did not connect: $(cat "$LAB_TMP/held.log")"
pid=$(jfield "$LAB_TMP/held-c.json" pid)
mptcp_of_pid() { in_ns "$NS_C" ss -HMp | grep -c "pid=$pid," || true; }
subflows() { in_ns "$NS_C" ss -Htn state established "( dport = :7160 )" | wc -l; }
wait_for 5 test "$(mptcp_of_pid)" -ge 1 || fail "ss -M lists no MPTCP socket of pid $pid: $(in_ns "$NS_C" ss -HMp)"
assert_eq 1 "$(mptcp_of_pid)" "MPTCP sockets of the static program in ss -M"
wait_for 10 test "$(subflows)" -ge 2 || fail "the static program's connection has $(subflows) subflows, expected 2"
touch "$LAB_TMP/go"
wait_for 10 eval '! kill -0 "$held" 2>/dev/null' || fail "held client did not finish"
app_server_done held

# The LD_PRELOAD shim: the dynamic program gets MPTCP, the static one (and
# the raw syscall) does not: that is what the launcher is for.
for case in "$TCP_APP:$IPPROTO_MPTCP:" "$TCP_APP:$IPPROTO_TCP:--raw" "$TCP_APP_STATIC:$IPPROTO_TCP:"; do
	IFS=: read -r prog want raw <<<"$case"
	app_server shim 7170 --mptcp
	rm -f "$LAB_TMP/shim-c.json"
	in_ns "$NS_C" env LD_PRELOAD="$PRELOAD_SHIM" "$prog" client -a "$S1_V4" -p 7170 \
		--out "$LAB_TMP/shim-c.json" $raw "${JOINS[@]}" || fail "$(basename "$prog") $raw under the shim failed"
	app_server_done shim
	assert_eq "$want" "$(jfield "$LAB_TMP/shim-c.json" protocol)" \
		"LD_PRELOAD shim, $(basename "$prog") $raw: SO_PROTOCOL"
done
echo "PASS: dynamic, static and raw-syscall programs get MPTCP sockets under subflowctl run"
