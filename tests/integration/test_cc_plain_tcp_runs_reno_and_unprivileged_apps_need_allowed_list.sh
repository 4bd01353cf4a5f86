#!/usr/bin/env bash
# A socket that is not an MPTCP subflow may select mptcp_lia too: it runs as
# Reno (the kernel's Reno functions), its window grows, it adds nothing to
# the coupled state (cc_conns stays empty) and counts in reno_sockets.
# Selecting the controls on a TCP socket needs CAP_NET_ADMIN (root), or the
# name in the host-wide net.ipv4.tcp_allowed_congestion_control (read-only
# inside a namespace): an unprivileged process gets EPERM for mptcp_lia,
# while reno (in the allowed list here) works; status says
# unprivileged_allowed false. On an MPTCP socket the kernel does not check:
# the name set before connect is stored and applied to every subflow with
# the kernel's own rights, so an unprivileged application gets mptcp_lia
# (this test pins that behaviour down). Nothing here changes the host's
# settings.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../cc_lib.sh"

require_mptcp
require_built
require_cmd setpriv
BULK=$LAB_BUILD/tests/bench/bulk
[ -x "$BULK" ] || fail "$BULK not built (run make)"
lab_init
lab_setup
CG=$(cg_create app)
CG_S=$(cg_create srv)
cc_engine_load "$CG"
SPAWN_OUT=$LAB_TMP/recv.log spawn_in "$CG_S" "$NS_S" "$BULK" recv -a "$S1_V4" -p 6500 \
	--ready-file "$LAB_TMP/recv.ready"
wait_for 5 test -e "$LAB_TMP/recv.ready" || fail "receiver did not start: $(cat "$LAB_TMP/recv.log")"

reno0=$(ctl status | jq .cc_counters.reno_sockets)
in_ns "$NS_C" "$BULK" send -a "$S1_V4" -p 6500 -d 3 --tcp --cc mptcp_lia > "$LAB_TMP/tcp.out" 2>&1 &
pid=$!
# The kernel's view of the running flow: a plain TCP socket (no MPTCP ULP)
# with mptcp_lia, its window grown past the initial 10.
sample() {
	in_ns "$NS_C" ss -Htin state established "( dport = :6500 )" | tr '\n\t' '  '
}
wait_for 3 sh -c "nsenter --net=/run/netns/$NS_C ss -Htin state established '( dport = :6500 )' | grep -q mptcp_lia" ||
	fail "no established TCP flow with mptcp_lia: $(sample)"
sleep 1.5
line=$(sample)
log "ss: $line"
grep -q ' mptcp_lia ' <<<"$line" || fail "ss does not show mptcp_lia: $line"
grep -q 'tcp-ulp-mptcp' <<<"$line" && fail "the plain TCP flow is an MPTCP subflow: $line"
cwnd=$(grep -oE 'cwnd:[0-9]+' <<<"$line" | head -n1 | cut -d: -f2)
assert_ge 11 "$cwnd" "cwnd of the TCP flow under mptcp_lia (grows as Reno)"
wait "$pid" || fail "TCP sender failed: $(cat "$LAB_TMP/tcp.out")"
log "TCP under mptcp_lia: $(cat "$LAB_TMP/tcp.out")"
assert_ge $(( reno0 + 1 )) "$(ctl status | jq .cc_counters.reno_sockets)" "reno_sockets counter"
assert_eq 0 "$(cc_conns_dump | jq length)" "cc_conns entries after a plain TCP flow"

# Unprivileged (uid 65534, no capabilities).
unpriv() {
	in_ns "$NS_C" setpriv --reuid 65534 --regid 65534 --clear-groups "$BULK" send -a "$S1_V4" \
		-p 6500 -d 0.3 "$@"
}
rc=0
unpriv --tcp --cc mptcp_lia > "$LAB_TMP/unpriv.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "unprivileged TCP socket selecting mptcp_lia: exit status"
grep -q "TCP_CONGESTION, mptcp_lia): Operation not permitted" "$LAB_TMP/unpriv.out" ||
	fail "unprivileged TCP mptcp_lia: $(cat "$LAB_TMP/unpriv.out")"
# MPTCP: accepted, and the subflows really run it.
in_ns "$NS_C" setpriv --reuid 65534 --regid 65534 --clear-groups "$BULK" send -a "$S1_V4" \
	-p 6500 -d 2 --cc mptcp_lia > "$LAB_TMP/unpriv.out" 2>&1 &
pid=$!
wait_for 3 sh -c "nsenter --net=/run/netns/$NS_C ss -Htin state established '( dport = :6500 )' | grep -q 'mptcp_lia.*tcp-ulp-mptcp'" ||
	fail "no unprivileged MPTCP subflow with mptcp_lia: $(sample)"
wait "$pid" || fail "unprivileged MPTCP sender with mptcp_lia failed: $(cat "$LAB_TMP/unpriv.out")"
grep -qw reno /proc/sys/net/ipv4/tcp_allowed_congestion_control ||
	fail "this host's tcp_allowed_congestion_control lacks reno: $(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)"
unpriv --tcp --cc reno > "$LAB_TMP/unpriv.out" 2>&1 ||
	fail "unprivileged TCP with reno (an allowed control) failed: $(cat "$LAB_TMP/unpriv.out")"
assert_eq '[false,false,false]' "$(cc_status | jq -c '[.[].unprivileged_allowed]')" \
	"status: unprivileged_allowed"
echo "PASS: plain TCP under mptcp_lia runs as Reno (cwnd $cwnd, no coupled state, counted); unprivileged processes get EPERM for mptcp_lia on TCP, may use reno, and get mptcp_lia on MPTCP sockets (the kernel applies it)"
