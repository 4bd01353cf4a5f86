#!/usr/bin/env bash
# A program under `subflowctl run` still connects when MPTCP is not to be
# had, with every byte checked:
# - the peer does not speak MPTCP (a plain TCP server): the program's socket
#   is MPTCP but its connection falls back to TCP (MPTCP_INFO does not
#   answer; the peer's socket is plain TCP);
# - MPTCP is disabled in the program's own namespace (net.mptcp.enabled=0):
#   the launcher cannot create an MPTCP socket, lets the kernel make the plain
#   TCP socket the program asked for, counts it as "tcp" and says why once.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
lab_init
lab_setup

# Peer without MPTCP.
app_server plain 7200
run_ctl -- "$TCP_APP_STATIC" client -a "$S1_V4" -p 7200 -b 300000 --out "$LAB_TMP/c1.json"
assert_run_ok "plain TCP peer"
app_server_done plain
assert_eq "$IPPROTO_MPTCP" "$(jfield "$LAB_TMP/c1.json" protocol)" "plain peer: the program's socket is MPTCP"
assert_eq false "$(jfield "$LAB_TMP/c1.json" mptcp_info)" "plain peer: the connection fell back (no MPTCP_INFO)"
assert_eq "$IPPROTO_TCP" "$(jfield "$LAB_TMP/plain.json" protocol)" "plain peer: the peer's socket"
assert_eq 300000 "$(jfield "$LAB_TMP/c1.json" bytes)" "plain peer: bytes echoed"
assert_eq 300000 "$(jfield "$LAB_TMP/plain.json" bytes)" "plain peer: bytes received"
assert_eq 1 "$(jq .sockets.mptcp <<<"$RUN_OUT")" "plain peer: sockets created as MPTCP"

# MPTCP disabled where the program runs; the peer would speak it.
in_ns "$NS_C" sysctl -qw net.mptcp.enabled=0 || fail "sysctl net.mptcp.enabled=0 in $NS_C"
app_server mptcp 7201 --mptcp
run_ctl -- "$TCP_APP" client -a "$S1_V4" -p 7201 -b 300000 --out "$LAB_TMP/c2.json"
assert_run_ok "MPTCP disabled"
app_server_done mptcp
assert_eq "$IPPROTO_TCP" "$(jfield "$LAB_TMP/c2.json" protocol)" "MPTCP disabled: the program's socket"
assert_eq false "$(jfield "$LAB_TMP/mptcp.json" mptcp_info)" "MPTCP disabled: the peer sees plain TCP"
assert_eq 300000 "$(jfield "$LAB_TMP/c2.json" bytes)" "MPTCP disabled: bytes echoed"
assert_eq 0 "$(jq .sockets.mptcp <<<"$RUN_OUT")" "MPTCP disabled: sockets created as MPTCP"
assert_eq 1 "$(jq .sockets.tcp <<<"$RUN_OUT")" "MPTCP disabled: sockets left to the kernel"
grep -q "stays plain TCP.*Protocol not available" <<<"$RUN_ERR" ||
	fail "MPTCP disabled: no warning naming the reason on stderr: '$RUN_ERR'"
echo "PASS: the launcher falls back to TCP when the peer or the namespace has no MPTCP"
