#!/usr/bin/env bash
# A `dev` selector is resolved in the namespace the policy was loaded in;
# in the cgroup's other namespaces, where the same ifindex is another
# device, only the device's addresses put a subflow on the path.
#
# The lab's veth pairs have the same ifindex on both sides: c2 in the
# client namespace and s2 in the server namespace are both 3. The policy
# `path lte dev c2` + `rule path lte mark 0x20` is loaded from the client
# namespace for cgroup APP. A process of APP in the client namespace gets
# the mark on its join bound to c2. A process of the same cgroup in the
# server namespace, whose join is bound to s2 (ifindex 3 too, but not c2),
# must not: its local address is none of c2's. Comparing ifindexes across
# namespaces (what the engine did before) marks it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

c2_index=$(ip -n "$NS_C" -j link show "$C2" | jq '.[0].ifindex')
s2_index=$(ip -n "$NS_S" -j link show "$S2" | jq '.[0].ifindex')
[ "$c2_index" = "$s2_index" ] ||
	skip "c2 ($c2_index) and s2 ($s2_index) have different ifindexes here: nothing to confuse"

CG_A=$(cg_create app)
CG_P=$(cg_create peer)
printf 'path lte dev %s\nrule path lte mark 0x20\n' "$C2" > "$LAB_TMP/p.policy"
pol_attach "$NS_C" "$CG_A" "$LAB_TMP/p.policy"
# The peer side needs no policy, but its accepted subflows must not be
# shaped by anything: it stays unattached.

# Positive control, the lab's usual direction: APP in the client namespace,
# its join bound to c2 gets the mark.
pair_start "$LAB_TMP/c" "$CG_P" "$CG_A" "$S1_V4" 7700
view=$LAB_TMP/c/client.json
line=$(ss_sock "$NS_C" "$C2_V4" "$(view_sub "$view" "$(view_id_on "$view" "$C2_V4")" port)")
assert_eq "fwmark:0x20" "$(ss_field "$line" 'fwmark:0x[0-9a-f]+')" "APP's c2 join in the namespace the policy was loaded in"
pair_stop "$LAB_TMP/c"

# The other direction: APP's process in the server namespace connects to a
# server in the client namespace; its join is bound to s2 (ifindex
# $s2_index, like c2).
ip -n "$NS_S" route add "${C1_V4%.*}.0/24" via "$C2_V4" dev "$S2" metric 1024 ||
	fail "ip route add via $S2"
ip -n "$NS_S" mptcp endpoint add "$S2_V4" dev "$S2" subflow || fail "ip mptcp endpoint add $S2_V4"
dir=$LAB_TMP/s
mkdir -p "$dir"
SPAWN_OUT=$dir/server.log spawn_in "$CG_P" "$NS_C" "$MPTCP_PEER" server -a "$C1_V4" -p 7701 \
	--hold --subflows 2 --info-json "$dir/server.json" --ready-file "$dir/server.ready"
echo "$SPAWNED_PID" > "$dir/server.pid"
wait_for 5 test -e "$dir/server.ready" || fail "server did not start: $(cat "$dir/server.log")"
SPAWN_OUT=$dir/client.log spawn_in "$CG_A" "$NS_S" "$MPTCP_PEER" client -a "$C1_V4" -p 7701 \
	--info-json "$dir/client.json" --hold-until "$dir/go"
echo "$SPAWNED_PID" > "$dir/client.pid"
wait_file 10 "$dir/client.json" || fail "client wrote no view: $(cat "$dir/client.log")"
view=$dir/client.json
id=$(view_id_on "$view" "$S2_V4")
[ -n "$id" ] || fail "APP's connection from the server namespace has no join on s2: $(cat "$view")"
line=$(ss_sock "$NS_S" "$S2_V4" "$(view_sub "$view" "$id" port)")
[ -n "$line" ] || fail "ss shows no socket for the s2 join"
assert_eq "" "$(ss_field "$line" 'fwmark:0x[0-9a-f]+')" \
	"APP's s2 join in another namespace (same ifindex as c2, not c2)"
# The engine's record agrees: no rule shaped it.
rule=$(ctl_in "$NS_S" subflow list | jq --argjson id "$id" --argjson t "$(jq .token "$view")" \
	'[.[].subflows[] | select(.token == $t and .id == $id) | .policy_rule] | .[0]')
assert_eq 0 "$rule" "policy rule recorded for the s2 join"
pair_stop "$dir"
echo "PASS: a dev path matches by ifindex only in the namespace it was resolved in, by address elsewhere"
