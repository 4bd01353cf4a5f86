#!/usr/bin/env bash
# A test run killed by SIGKILL (no trap runs) leaves its lab behind: network
# namespaces, cgroups with live processes, an attached engine in its pin
# directory, its lock file and scratch directory. The next run sweeps it
# (lab_init calls lab_sweep_stale): everything that run registered is gone,
# its processes killed by PID, and what belongs to live runs (this one) is
# left alone.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd bpftool jq
lab_init

# The victim: a run of its own that sets up a lab with traffic, then waits.
VICTIM=$LAB_TMP/victim.sh
cat > "$VICTIM" <<VICTIM_EOF
set -euo pipefail
source "$LAB_REPO/tests/lib.sh"
lab_init
lab_setup
CG=\$(cg_create app)
CG_S=\$(cg_create srv)
ctl cgroup attach "\$CG" >/dev/null
pair_start "\$LAB_TMP/p" "\$CG_S" "\$CG" "\$S1_V4" 6990
printf '%s %s %s %s %s\n' "\$LAB_SUFFIX" "\$SUBFLOW_PIN_DIR" "\$LAB_TMP" "\$CG" \$(cat "\$LAB_TMP/p/client.pid") > "$LAB_TMP/victim.ready"
exec sleep 300
VICTIM_EOF
bash "$VICTIM" > "$LAB_TMP/victim.log" 2>&1 &
victim=$!
proc_register "$victim"
wait_file 30 "$LAB_TMP/victim.ready" || fail "victim did not set up: $(tail -5 "$LAB_TMP/victim.log")"
read -r vsuffix vpin vtmp vcg vclient < "$LAB_TMP/victim.ready"
lab_on_cleanup "rm -rf '$vpin' '$vtmp' '$LAB_STATE_ROOT/$vsuffix'; ip netns del sfc-$vsuffix 2>/dev/null; ip netns del sfs-$vsuffix 2>/dev/null"
kill -KILL "$victim"
wait "$victim" 2>/dev/null || true

# What it left.
[ -d "$vpin" ] || fail "the victim's pin directory is not there"
[ -e "/run/netns/sfc-$vsuffix" ] && [ -e "/run/netns/sfs-$vsuffix" ] || fail "the victim's namespaces are not there"
[ -d "$vcg" ] || fail "the victim's cgroup is not there"
kill -0 "$vclient" 2>/dev/null || fail "the victim's client process is not alive"
[ -n "$(bpftool -j cgroup show "$vcg" | jq -r '.[].id')" ] || fail "no program attached to the victim's cgroup"
vlock=/run/subflow/$(tr / - <<<"${vpin#/}").lock
[ -e "$vlock" ] || fail "the victim's lock file $vlock is not there"
[ -d "$LAB_STATE_ROOT/$vsuffix" ] || fail "the victim's state directory is not there"

# The next run's sweep (what lab_init does first).
lab_sweep_stale 2>"$LAB_TMP/sweep.err"
grep -q "swept what killed test run $vsuffix left$" "$LAB_TMP/sweep.err" ||
	fail "no sweep report for $vsuffix: $(cat "$LAB_TMP/sweep.err")"
[ ! -e "$vpin" ] || fail "the victim's pin directory survived the sweep"
[ ! -e "/run/netns/sfc-$vsuffix" ] && [ ! -e "/run/netns/sfs-$vsuffix" ] || fail "the victim's namespaces survived"
[ ! -d "$vcg" ] || fail "the victim's cgroup survived"
wait_for 5 sh -c "! kill -0 $vclient 2>/dev/null" || fail "the victim's client process survived"
[ ! -e "$vlock" ] || fail "the victim's lock file survived"
[ ! -d "$vtmp" ] || fail "the victim's scratch directory survived"
[ ! -d "$LAB_STATE_ROOT/$vsuffix" ] || fail "the victim's state directory survived"
# This run, alive, was not swept.
[ -d "$LAB_STATE" ] && [ -d "$LAB_TMP" ] || fail "the sweep took this live run's state"

echo "PASS: a SIGKILLed run's namespaces, cgroups, processes, engine, lock and scratch were swept by the next run"
