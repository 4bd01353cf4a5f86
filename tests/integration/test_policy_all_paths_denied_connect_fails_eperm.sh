#!/usr/bin/env bash
# When a policy denies every path for a destination, the application's
# connect() fails with EPERM (mptcp_peer exits 1 with "Operation not
# permitted") and no SYN leaves (the kernel's TcpActiveOpens does not move);
# the engine counts one hit on the deny rule and one denial per refused
# connection. Other destinations in the same cgroup still connect, and
# IPv6 behaves the same.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/blocked.policy
cat > "$POLICY" <<'P'
path wifi dev c1
path lte  dev c2
rule dst 10.31.1.0/24 deny
rule dst fd31:1::/64 deny
P
pol_attach "$NS_C" "$CG_C" "$POLICY"

SPAWN_OUT=$LAB_TMP/server.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$S2_V4" -p 6500 \
	-n 1 --ready-file "$LAB_TMP/ready"
wait_for 5 test -e "$LAB_TMP/ready" || fail "server did not start: $(cat "$LAB_TMP/server.log")"

opens_before=$(mib "$NS_C" TcpActiveOpens)
n=0
for server in "$S1_V4" "$S1_V6" "$S1_V4"; do
	rc=0
	client_once "$CG_C" "$server" 6501 --subflows 1 || rc=$?
	n=$(( n + 1 ))
	assert_eq 1 "$rc" "client to $server: exit status"
	grep -q "connect $server port 6501: Operation not permitted" "$LAB_TMP/client_once.err" ||
		fail "client to $server: expected EPERM from connect, got: $(cat "$LAB_TMP/client_once.err")"
done
assert_eq "$opens_before" "$(mib "$NS_C" TcpActiveOpens)" "TcpActiveOpens: no SYN was sent"
show=$(pol_show "$NS_C" "$CG_C")
assert_eq "[2,1]" "$(jq -c '[.rules[].hits]' <<<"$show")" "deny rule hits (IPv4 rule, IPv6 rule)"
assert_eq "$n" "$(jq '[.paths[].denials] | add' <<<"$show")" "denials, all paths"
assert_eq 0 "$(jq .no_match <<<"$show")" "no_match"

# Another destination from the same cgroup is not affected.
client_once "$CG_C" "$S2_V4" 6500 --subflows 1 ||
	fail "client to $S2_V4 (not denied) failed: $(cat "$LAB_TMP/client_once.err")"
assert_eq $(( opens_before + 1 )) "$(mib "$NS_C" TcpActiveOpens)" "TcpActiveOpens after an allowed connection"
assert_eq 1 "$(pol_show "$NS_C" "$CG_C" | jq .no_match)" "the allowed connection matched no rule"
echo "PASS: every path denied for a destination: connect() gets EPERM, no SYN, hits and denials count each refusal"
