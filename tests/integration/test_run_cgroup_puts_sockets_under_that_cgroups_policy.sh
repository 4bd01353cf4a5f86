#!/usr/bin/env bash
# `subflowctl run --cgroup CG` creates the program's sockets in CG: the
# launcher moves itself there before it forks, because a socket belongs to
# the cgroup of the process that creates it, and the launcher creates them.
# So the engine attached to CG tracks the program's MPTCP connection
# (`subflow list`: its cgroup id is CG's) and CG's policy shapes its subflows
# (the LTE-path join carries the policy's mark in `ss -tie`). A program that
# moves itself into CG without --cgroup is not covered: its sockets are
# created in the launcher's cgroup (the README says so).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
lab_init
lab_setup

CG=$(cg_create app)
printf 'path lte dev %s\nrule path lte mark 0x20\n' "$C2" > "$LAB_TMP/app.policy"
ctl_in "$NS_C" cgroup attach "$CG" policy "$LAB_TMP/app.policy" > "$LAB_TMP/attach.out" 2>&1 ||
	fail "cgroup attach: $(cat "$LAB_TMP/attach.out")"

# held_client NAME CMD...: run CMD (ending in a tcp_app client) in $NS_C from
# the root cgroup, holding its connection until $LAB_TMP/NAME.go exists.
held_client() {
	local name=$1
	shift
	SPAWN_OUT=$LAB_TMP/$name.log spawn_in "$(cg_root)" "$NS_C" "$@" \
		--out "$LAB_TMP/$name.json" --hold-until "$LAB_TMP/$name.go" "${JOINS[@]}"
	wait_file 10 "$LAB_TMP/$name.json" || fail "$name did not connect: $(cat "$LAB_TMP/$name.log")"
}

app_server in 7400 --mptcp
held_client in "$SUBFLOWCTL" run --cgroup "$CG" -- "$TCP_APP_STATIC" client -a "$S1_V4" -p 7400
pid=$(jfield "$LAB_TMP/in.json" pid)
assert_eq "$IPPROTO_MPTCP" "$(jfield "$LAB_TMP/in.json" protocol)" "--cgroup: the program's socket"
assert_eq "0::${CG#"$(cg_root)"}" "$(grep "^0::" "/proc/$pid/cgroup")" "--cgroup: the program's cgroup"
conn() { ctl_in "$NS_C" subflow list | jq -c --argjson p 7400 \
	'[.[] | select(.subflows[0].remote.port == $p)] | .[0]'; }
two_tracked() { [ "$(conn | jq '.nr_subflows // 0')" -ge 2 ]; }
wait_for 10 two_tracked || fail "--cgroup: the engine does not track 2 subflows: $(conn)"
assert_eq "$(cg_id "$CG")" "$(conn | jq '.cgroup_id')" "--cgroup: cgroup id of the tracked connection"
marked() { in_ns "$NS_C" ss -Htie state established "( dport = :7400 )" | grep -c 'fwmark:0x20' || true; }
wait_for 5 test "$(marked)" -ge 1 || fail "--cgroup: no subflow carries the policy's mark: $(in_ns "$NS_C" ss -Htie)"
assert_eq 1 "$(marked)" "--cgroup: subflows with the LTE rule's mark (the join on $C2)"
touch "$LAB_TMP/in.go"
app_server_done in

# Without --cgroup, the program moving itself into CG is not enough.
app_server out 7401 --mptcp
held_client out "$SUBFLOWCTL" run -- sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" \
	"$TCP_APP_STATIC" client -a "$S1_V4" -p 7401
assert_eq "$IPPROTO_MPTCP" "$(jfield "$LAB_TMP/out.json" protocol)" "moved itself: the program's socket"
subflows_7401() { in_ns "$NS_C" ss -Htn state established "( dport = :7401 )" | wc -l; }
wait_for 10 test "$(subflows_7401)" -ge 2 || fail "moved itself: the connection has no 2 subflows"
assert_eq 0 "$(ctl_in "$NS_C" subflow list | jq '[.[] | select(.subflows[0].remote.port == 7401)] | length')" \
	"moved itself: connections the engine attached to $CG tracks"
touch "$LAB_TMP/out.go"
app_server_done out
echo "PASS: subflowctl run --cgroup puts the program's sockets under that cgroup's engine and policy"
