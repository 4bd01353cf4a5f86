#!/usr/bin/env bash
# `mptcpify on` in a cgroup's policy turns plain TCP sockets
# (socket(AF_INET, SOCK_STREAM, 0): bash's /dev/tcp) of that cgroup's
# processes into MPTCP, and nobody else's: a client inside the cgroup shows
# up as an mptcp socket in `ss -M` with two subflows, one in another cgroup
# opens a plain TCP connection. Needs fmod_ret on update_socket_protocol:
# when the kernel refuses it (`status -j` .kernel.mptcpify_active false, e.g.
# under kernel lockdown) this is a skip with the loader's reason.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_IN=$(cg_create inside)
CG_OUT=$(cg_create outside)
CG_S=$(cg_create srv)
printf 'mptcpify on\n' > "$LAB_TMP/mptcpify.policy"
pol_attach "$NS_C" "$CG_IN" "$LAB_TMP/mptcpify.policy"
assert_eq on "$(pol_show "$NS_C" "$CG_IN" | jq -r .mptcpify)" "policy show: mptcpify"
active=$(ctl status | jq .kernel.mptcpify_active)
if [ "$active" != true ]; then
	why=$(grep -i mptcpify "$LAB_TMP/attach.out" | head -n1 | sed 's/^[Ww]arning: *//')
	lockdown=$(dmesg 2>/dev/null | grep -o 'Kernel is locked down[^;]*' | tail -n1 || true)
	skip "mptcpify inactive (status -j .kernel.mptcpify_active=$active): ${why:-the loader gave no reason}${lockdown:+; $lockdown}"
fi

SPAWN_OUT=$LAB_TMP/server.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" -p 7500 \
	-n 2 --hold --ready-file "$LAB_TMP/ready"
wait_for 5 test -e "$LAB_TMP/ready" || fail "server did not start: $(cat "$LAB_TMP/server.log")"

# plain_client CGROUP: a TCP client from bash (socket(AF_INET, SOCK_STREAM,
# 0)) that holds its connection until $LAB_TMP/go exists.
plain_client() {
	SPAWN_OUT=$LAB_TMP/plain-$(basename "$1").log spawn_in "$1" "$NS_C" bash -c \
		'exec 3<>"/dev/tcp/$0/7500" && printf x >&3 &&
		 for i in $(seq 300); do [ -e "$1" ] && break; sleep 0.1; done; exec 3>&-' \
		"$S1_V4" "$LAB_TMP/go"
}
mptcp_conns() { in_ns "$NS_C" ss -HM state established "( dport = :7500 )" | wc -l; }
tcp_subflows() { in_ns "$NS_C" ss -Htn state established "( dport = :7500 )" | wc -l; }

plain_client "$CG_IN"
wait_for 10 test "$(tcp_subflows)" -ge 2 ||
	fail "the client inside the cgroup has $(tcp_subflows) TCP subflows, expected 2 (MPTCP over both paths)"
assert_eq 1 "$(mptcp_conns)" "inside the cgroup: MPTCP sockets in ss -M"
plain_client "$CG_OUT"
wait_for 10 test "$(tcp_subflows)" -ge 3 || fail "the client outside the cgroup did not connect"
assert_eq 1 "$(mptcp_conns)" "after the outside client too: still one MPTCP socket in ss -M"
assert_eq 3 "$(tcp_subflows)" "TCP sockets: 2 subflows + 1 plain connection"
touch "$LAB_TMP/go"
echo "PASS: mptcpify turns plain TCP sockets into MPTCP inside the attached cgroup only"
