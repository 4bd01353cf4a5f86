#!/usr/bin/env bash
# An unprivileged user (uid 65534) cannot steer the engine through its pin
# directory, although /sys/fs/bpf is mode 1777 on these hosts:
#  - a pin directory they created before the engine is refused, with a
#    message naming its owner and mode, and nothing is attached;
#  - a symbolic link they planted as the pin directory is refused, even one
#    pointing at a root-owned mode 0700 bpffs directory;
#  - in the engine's own directory they cannot remove the link pins (the
#    kernel keeps every hook attached: bpftool cgroup show) nor list them;
#  - their flock() on /sys/fs/bpf does not stall `policy load`, and they can
#    neither open the pin directory nor the lock file to flock those.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool setpriv flock jq
lab_init

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
CG=$(cg_create app)
POLICY=$LAB_TMP/p.policy
printf 'rule cc reno\n' > "$POLICY"
chmod 0755 "$LAB_TMP"	# uid 65534 runs commands from here; nothing secret in it

# 1. The user makes the pin directory first: refused, naming owner and mode.
"${NOBODY[@]}" mkdir "$SUBFLOW_PIN_DIR" || fail "uid 65534 cannot mkdir in /sys/fs/bpf (expected mode 1777)"
lab_on_cleanup 'rmdir "$SUBFLOW_PIN_DIR" 2>/dev/null'
assert_status 1 "attach into a directory uid 65534 made" ctl cgroup attach "$CG"
msg=$(jq -r .error <<<"$OUT")
[[ $msg == *"owned by uid 65534 with mode 0755"* ]] ||
	fail "the refusal does not name owner and mode: $msg"
[[ $msg == *"$SUBFLOW_PIN_DIR"* ]] || fail "the refusal does not name the directory: $msg"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after the refusal"
assert_eq "" "$(ls -A "$SUBFLOW_PIN_DIR")" "pins made in the user's directory"
# Other commands refuse it too, rather than read what the user put there.
assert_status 1 "status with the user's directory" ctl cgroup list
[[ $(jq -r .error <<<"$OUT") == *"owned by uid 65534"* ]] || fail "cgroup list: $OUT"
rmdir "$SUBFLOW_PIN_DIR"

# 2. A symbolic link as the pin directory, to a directory root made (mode
# 0700, on bpffs: it would pass every other check).
TARGET=/sys/fs/bpf/subflow-test-$LAB_SUFFIX-target
mkdir -m 0700 "$TARGET"
lab_on_cleanup '[ -L "$SUBFLOW_PIN_DIR" ] && rm -f "$SUBFLOW_PIN_DIR"; rmdir "$TARGET" 2>/dev/null'
"${NOBODY[@]}" ln -s "$TARGET" "$SUBFLOW_PIN_DIR" || fail "uid 65534 cannot make a symlink in /sys/fs/bpf"
assert_status 1 "attach through a symbolic link" ctl cgroup attach "$CG"
[[ $(jq -r .error <<<"$OUT") == *"symbolic link"* ]] || fail "symlink refusal: $OUT"
assert_eq "" "$(ls -A "$TARGET")" "pins made through the symbolic link"
rm -f "$SUBFLOW_PIN_DIR"

# 3. The engine's own directory: root, 0700. The user cannot list it nor
# remove a link pin; every hook stays attached.
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
assert_eq "700 root" "$(stat -c '%a %U' "$SUBFLOW_PIN_DIR")" "pin directory mode and owner"
hooks=$(bpftool -j cgroup show "$CG" | jq length)
assert_ge 1 "$hooks" "hooks attached to $CG"
if "${NOBODY[@]}" ls "$SUBFLOW_PIN_DIR" >/dev/null 2>&1; then
	fail "uid 65534 can list the pin directory"
fi
"${NOBODY[@]}" sh -c 'rm -f "$1"/link_cgroup_*' sh "$SUBFLOW_PIN_DIR" 2>/dev/null || true
"${NOBODY[@]}" rm -rf "$SUBFLOW_PIN_DIR" 2>/dev/null || true
ls "$SUBFLOW_PIN_DIR" | grep -q "^link_cgroup_$(cg_id "$CG")\$" || fail "a link pin was removed"
assert_eq "$hooks" "$(bpftool -j cgroup show "$CG" | jq length)" "hooks attached after the attempt"
assert_eq "$(cg_id "$CG")" "$(ctl cgroup list | jq '.[0].cgroup_id')" "cgroup list after the attempt"

# 4. Locks. The user holds flock() on /sys/fs/bpf (which the old engine's
# lock would have been next to) and tries the pin directory and lock file.
"${NOBODY[@]}" flock /sys/fs/bpf sleep 60 &
proc_register $!
wait_for 5 grep -q FLOCK /proc/locks || fail "uid 65534's flock on /sys/fs/bpf not taken"
if "${NOBODY[@]}" flock -n "$SUBFLOW_PIN_DIR" true 2>/dev/null; then
	fail "uid 65534 could open the pin directory to flock it"
fi
if "${NOBODY[@]}" flock -n "$(pin_lock_file)" true 2>/dev/null; then
	fail "uid 65534 could open the lock file $(pin_lock_file)"
fi
assert_eq "600 root" "$(stat -c '%a %U' "$(pin_lock_file)")" "lock file mode and owner"
# 0700, or 0711 once a daemon served its control socket there: never
# listable nor writable by others.
case $(stat -c '%a %U' /run/subflow) in
"700 root" | "711 root") ;;
*) fail "lock directory mode and owner: $(stat -c '%a %U' /run/subflow), not 700 or 711 root" ;;
esac
if "${NOBODY[@]}" ls /run/subflow >/dev/null 2>&1; then
	fail "uid 65534 can list /run/subflow"
fi
if "${NOBODY[@]}" touch /run/subflow/planted 2>/dev/null; then
	fail "uid 65534 can create files in /run/subflow"
fi
SUBFLOW_LOCK_TIMEOUT_MS=3000 ctl policy load "$CG" "$POLICY" >/dev/null ||
	fail "policy load while uid 65534 holds flock on /sys/fs/bpf"
assert_eq "rule cc reno" "$(ctl policy show "$CG" | jq -r '.[0].rules[0].text')" "the loaded policy"

echo "PASS: uid 65534 could not pre-create, redirect, edit or stall the pin directory"
