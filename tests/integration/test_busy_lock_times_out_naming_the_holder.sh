#!/usr/bin/env bash
# A change waits for the pin directory's lock at most SUBFLOW_LOCK_TIMEOUT_MS,
# then fails with a message naming the pin directory, the lock file and the
# process holding it, and changes nothing. Once the holder is gone the same
# change goes through.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd flock jq
lab_init

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
LOCK=$(pin_lock_file)
[ -f "$LOCK" ] || fail "no lock file at $LOCK"

# flock(1) takes the lock itself and, with -o, keeps it from its child.
flock -o "$LOCK" sleep 60 &
holder=$!
proc_register "$holder"
lock_held() {
	local ino
	ino=$(stat -c %i "$LOCK")
	grep -v -- '->' /proc/locks | awk -v p="$holder" -v i=":$ino\$" '$5 == p && $6 ~ i' | grep -q .
}
wait_for 5 lock_held || fail "flock on $LOCK not taken"
for child in $(cat "/proc/$holder/task/$holder/children" 2>/dev/null); do
	proc_register "$child"
done

start=$(date +%s%N)
SUBFLOW_LOCK_TIMEOUT_MS=300 assert_status 1 "detach while the lock is held" ctl cgroup detach "$CG"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "detach waited ${ms} ms for a 300 ms timeout"
msg=$(jq -r .error <<<"$OUT")
for want in "$SUBFLOW_PIN_DIR" "$LOCK" "process $holder" "300 ms"; do
	[[ $msg == *"$want"* ]] || fail "the timeout message does not name '$want': $msg"
done
assert_eq "$(cg_id "$CG")" "$(ctl cgroup list | jq '.[0].cgroup_id')" "still attached after the timeout"

kill "$holder"
wait "$holder" 2>/dev/null || true
proc_cleanup
SUBFLOW_LOCK_TIMEOUT_MS=300 ctl cgroup detach "$CG" >/dev/null || fail "detach once the lock is free"
assert_eq "[]" "$(ctl cgroup list | jq -c .)" "cgroup list after detach"

echo "PASS: a held lock times out after 300 ms naming $LOCK and process $holder; nothing changed"
