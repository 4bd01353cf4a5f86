#!/usr/bin/env bash
# A socket is created in the network namespace of the process that creates
# it; the launcher creates it in the namespace the calling program is in at
# that moment. Root launcher started in the host namespace, program entering
# the lab's client namespace (nsenter) before it connects: its socket is
# MPTCP, made in the client namespace (the connection works, MPTCP at both
# ends; the summary counts one socket made in another namespace). An
# unprivileged launcher cannot enter a namespace the program made for itself
# (unshare -rn): the kernel then makes the program's plain TCP sockets there,
# and the program works as without the launcher.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
require_cmd nsenter unshare setpriv ip
lab_init
lab_setup

app_server srv 7600 --mptcp
"$SUBFLOWCTL" -j run -- nsenter --net="/run/netns/$NS_C" "$TCP_APP_STATIC" client -a "$S1_V4" \
	-p 7600 --out "$LAB_TMP/c.json" "${JOINS[@]}" > "$LAB_TMP/run.out" 2> "$LAB_TMP/run.err" ||
	fail "run -- nsenter: $(cat "$LAB_TMP/run.err")"
app_server_done srv
assert_mptcp_conn "program in another netns" "$LAB_TMP/c.json" "$LAB_TMP/srv.json" 65536
assert_eq 1 "$(jq .sockets.other_netns "$LAB_TMP/run.out")" "summary: sockets made in another namespace"
assert_eq 1 "$(jq .sockets.mptcp "$LAB_TMP/run.out")" "summary: sockets made MPTCP"

# Unprivileged, in the program's own user + network namespace (loopback only).
chmod 0711 "$LAB_TMP"
mkdir "$LAB_TMP/nobody"
chown nobody:nogroup "$LAB_TMP/nobody"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$SUBFLOWCTL" -j run -- unshare -rn sh -c '
	ip link set lo up || exit 1
	"$0" server -a 127.0.0.1 -p 7601 --out "$1/s.json" --ready-file "$1/ready" &
	for i in $(seq 50); do [ -e "$1/ready" ] && break; sleep 0.1; done
	"$0" client -a 127.0.0.1 -p 7601 --out "$1/c.json" && wait' "$TCP_APP_STATIC" "$LAB_TMP/nobody" \
	> "$LAB_TMP/run2.out" 2> "$LAB_TMP/run2.err" || fail "run -- unshare -rn: $(cat "$LAB_TMP/run2.err")"
assert_eq "$IPPROTO_TCP" "$(jfield "$LAB_TMP/nobody/c.json" protocol)" "own userns+netns: the program's socket"
assert_eq 65536 "$(jfield "$LAB_TMP/nobody/c.json" bytes)" "own userns+netns: bytes echoed"
assert_eq 65536 "$(jfield "$LAB_TMP/nobody/s.json" bytes)" "own userns+netns: bytes received"
assert_eq 2 "$(jq .sockets.tcp "$LAB_TMP/run2.out")" "own userns+netns: sockets left to the kernel (listener and client)"
grep -q "stays plain TCP.*Operation not permitted" "$LAB_TMP/run2.err" ||
	fail "own userns+netns: no warning with the reason: $(cat "$LAB_TMP/run2.err")"
echo "PASS: a program entering another network namespace gets MPTCP there when the launcher may follow"
