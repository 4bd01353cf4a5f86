#!/usr/bin/env bash
# One namespace executor (loader/lib/netns.c) serves everything that must
# run in another network namespace, and the caller's thread never moves:
#  - an operation by (netns cookie, token) from the host's namespace runs in
#    the connection's (the client namespace): subflow_get_tcp_info_by_token
#    answers ESTABLISHED for both subflows, as ss in that namespace says,
#    and the calling thread is still in the host's namespace afterwards;
#  - `subflowctl -n NETNS` runs the command there with the pins visible
#    (the connection is listed; only there), and names a bad NETNS.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd jq ss
lab_init
lab_setup

CG=$(cg_create app)
CG_S=$(cg_create srv)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
pair_start "$LAB_TMP/p" "$CG_S" "$CG" "$S1_V4" 6980
view=$LAB_TMP/p/client.json
token=$(jq .token "$view")
cookie=$(jq .netns_cookie "$view")
ids=$(jq -r '.kernel[].id' "$view" | sort -n | paste -sd' ')
assert_eq "1 2" "$ids" "subflow ids (MPTCP_FULL_INFO)"
assert_eq 2 "$(in_ns "$NS_C" ss -Htn state established dport = :6980 | wc -l)" \
	"established subflows (ss in the client namespace)"

host_ns=$(readlink /proc/self/ns/net)
cmds="netns"$'\n'
for id in $ids; do
	cmds+="tcpinfo $cookie $token $id"$'\n'
done
cmds+="netns"$'\n'
answers=$(printf '%s' "$cmds" | "$ENGINE_PROBE")
assert_eq "0 $host_ns" "$(sed -n 1p <<<"$answers")" "probe's namespace before"
assert_eq "0 1" "$(sed -n 2p <<<"$answers")" "tcp state of subflow 1, asked from the host namespace"
assert_eq "0 1" "$(sed -n 3p <<<"$answers")" "tcp state of subflow 2, asked from the host namespace"
assert_eq "0 $host_ns" "$(sed -n 4p <<<"$answers")" "probe's namespace after (the caller's thread stayed)"

# -n: the command runs in the namespace, and sees the engine's pins.
out=$("$SUBFLOWCTL" -n "$NS_C" -j --pin-dir "$SUBFLOW_PIN_DIR" subflow list)
assert_eq 1 "$(jq --argjson t "$token" '[.[] | select(.token == $t)] | length' <<<"$out")" \
	"-n $NS_C: the connection is listed"
out=$("$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" subflow list)
assert_eq 0 "$(jq --argjson t "$token" '[.[] | select(.token == $t)] | length' <<<"$out")" \
	"host namespace: the connection is not listed"
assert_status 64 "-n with no such namespace" "$SUBFLOWCTL" -n "nosuch-$LAB_SUFFIX" subflow list
[[ $ERR == *"-n nosuch-$LAB_SUFFIX: cannot open /run/netns/nosuch-$LAB_SUFFIX"* ]] || fail "-n nosuch: $ERR"
assert_status 64 "-n with a file that is no namespace" "$SUBFLOWCTL" -n /etc/hostname subflow list
[[ $ERR == *"/etc/hostname is not a network namespace"* ]] || fail "-n /etc/hostname: $ERR"
pair_stop "$LAB_TMP/p"

echo "PASS: operations by token ran in the connection's namespace; the caller's thread stayed in its own"
