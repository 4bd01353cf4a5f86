#!/usr/bin/env bash
# The engine uses and removes only its own pins.
#  - `unload` of a directory that holds no engine (no engine record, no
#    tracker), even one with a map pinned as `stats`, removes nothing.
#  - A pin directory whose engine record names another map ABI is refused.
#  - A pin of an engine map's name that is not that map (another map type
#    or sizes, a program) is refused with a message naming it.
#  - `unload` of the engine's directory removes what its load created and
#    leaves, with a warning, what it did not create (and so the directory).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool jq
lab_init

CG=$(cg_create app)

# 1. Someone else's directory (root, 0700) with a `stats` map.
FOREIGN=/sys/fs/bpf/subflow-test-$LAB_SUFFIX-foreign
mkdir -m 0700 "$FOREIGN"
lab_on_cleanup 'rm -rf "$FOREIGN"'
bpftool map create "$FOREIGN/stats" type percpu_array key 4 value 8 entries 6 name stats
bpftool map create "$FOREIGN/keepme" type array key 4 value 4 entries 1 name keepme
assert_status 1 "unload of a directory with no engine" "$SUBFLOWCTL" -j --pin-dir "$FOREIGN" unload
[[ $(jq -r .error <<<"$OUT") == *"holds no subflow engine"* ]] || fail "unload of $FOREIGN: $OUT"
assert_eq "keepme stats" "$(ls "$FOREIGN" | sort | paste -sd' ')" "pins left in $FOREIGN"

# 2. The engine's directory, with its record's ABI version changed to 999.
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
RECORD=$SUBFLOW_PIN_DIR/engine
value=$(bpftool -j map lookup pinned "$RECORD" key 0 0 0 0 | jq -r '.value[]' | paste -sd' ')
ABI=$(awk '$1 == "#define" && $2 == "SUBFLOW_ABI_VERSION" { print $3 }' "$LAB_REPO/include/subflow_abi.h")
assert_eq "$ABI" "$(bpftool -j map lookup pinned "$RECORD" key 0 0 0 0 | jq .formatted.value.abi_version)" \
	"ABI version in the engine record"
# shellcheck disable=SC2086
bpftool map update pinned "$RECORD" key 0 0 0 0 value 0xe7 0x03 0x00 0x00 $(cut -d' ' -f5- <<<"$value")
assert_status 1 "subflow list with map ABI 999" ctl subflow list
# `subflow list -j` had begun its array: stdout is still one JSON value.
assert_eq 1 "$(jq -s length <<<"$OUT")" "JSON values on stdout after a failed list"
[[ $(jq -r .error <<<"$OUT") == *"uses map ABI 999, this program map ABI $ABI"* ]] ||
	fail "ABI refusal: $OUT"
# shellcheck disable=SC2086
bpftool map update pinned "$RECORD" key 0 0 0 0 value $value
ctl subflow list >/dev/null || fail "subflow list once the record is restored"

# 3. policy_index replaced by a map of another type and sizes; stats by a
# program; plus a map the engine never made.
rm "$SUBFLOW_PIN_DIR/policy_index"
bpftool map create "$SUBFLOW_PIN_DIR/policy_index" type array key 4 value 4 entries 4 name fake_index
assert_status 1 "policy show with a foreign policy_index" ctl policy show "$CG"
msg=$(jq -r .error <<<"$OUT")
[[ $msg == *"refusing map $SUBFLOW_PIN_DIR/policy_index: it is a array with 4-byte keys and 4-byte values"* &&
   $msg == *"defines a hash with 8-byte keys and 24-byte values"* ]] || fail "policy_index refusal: $msg"
track_id=$(ctl status | jq '.programs[] | select(.name == "subflow_track") | .id')
rm "$SUBFLOW_PIN_DIR/stats"
bpftool prog pin id "$track_id" "$SUBFLOW_PIN_DIR/stats"
answer=$(echo stats | SUBFLOW_PIN_DIR=$SUBFLOW_PIN_DIR "$ENGINE_PROBE" 2>"$LAB_TMP/probe.err")
assert_eq "-71 0" "$answer" "library stats with a program pinned as stats (-EPROTO)"
grep -q "refusing pin $SUBFLOW_PIN_DIR/stats: it is a program, not a map" "$LAB_TMP/probe.err" ||
	fail "no refusal naming the stats pin: $(cat "$LAB_TMP/probe.err")"
bpftool map create "$SUBFLOW_PIN_DIR/extra" type array key 4 value 4 entries 1 name extra

# 4. unload: the engine's own pins go, the program pinned as stats and the
# extra map stay (named in a warning), so the directory stays too.
"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" unload 2>"$LAB_TMP/unload.err" ||
	fail "unload: $(cat "$LAB_TMP/unload.err")"
grep -q "left pin $SUBFLOW_PIN_DIR/stats in place: it is a program" "$LAB_TMP/unload.err" ||
	fail "unload did not name the stray stats pin: $(cat "$LAB_TMP/unload.err")"
grep -q "extra" "$LAB_TMP/unload.err" || fail "unload did not name what it left: $(cat "$LAB_TMP/unload.err")"
assert_eq "extra stats" "$(ls "$SUBFLOW_PIN_DIR" | sort | paste -sd' ')" "pins left after unload"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after unload"
assert_eq "keepme stats" "$(ls "$FOREIGN" | sort | paste -sd' ')" "pins left in $FOREIGN at the end"

echo "PASS: foreign directories, other ABIs and stray pins were refused; unload removed only the engine's own pins"
