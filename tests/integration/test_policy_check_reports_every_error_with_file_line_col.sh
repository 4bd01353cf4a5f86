#!/usr/bin/env bash
# `policy check FILE` reports every error of a bad file, one per line as
# FILE:LINE:COL: error: ..., and exits non-zero (JSON: valid false and one
# {line, col, message} per error); device names are resolved in the
# namespace it runs in (-n NETNS). A file with syntax errors AND an unknown
# device gets all of them in one run. A good file passes with exit 0.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_built
lab_init
lab_setup

check() {	# check FILE: run policy check in the client netns; $rc, $LAB_TMP/err
	rc=0
	"$SUBFLOWCTL" -n "$NS_C" policy check "$1" > "$LAB_TMP/out" 2> "$LAB_TMP/err" || rc=$?
}

# expect_errors FILE LINE:COL...: exactly these errors, in this order.
expect_errors() {
	local file=$1 want got
	shift
	check "$file"
	[ "$rc" != 0 ] || fail "$file: policy check exited 0"
	[ "$rc" != 64 ] || fail "$file: policy check exited 64 (usage), expected an error status"
	grep -v "^$file:[0-9]*:[0-9]*: error: " "$LAB_TMP/err" | grep -v '^warning' | grep -q . &&
		fail "$file: output lines not in FILE:LINE:COL: error: form: $(cat "$LAB_TMP/err")"
	want="$*"
	got=$(sed -n "s|^$file:\([0-9]*\):\([0-9]*\): error: .*|\1:\2|p" "$LAB_TMP/err" | tr '\n' ' ' | sed 's/ $//')
	assert_eq "$want" "$got" "$file: error places (LINE:COL)"
	log "$file: exit $rc: $(cat "$LAB_TMP/err")"
}

SYNTAX=$LAB_TMP/syntax.policy
cat > "$SYNTAX" <<'P'
path wifi dev c1
rule path wifi mark 0x20 bogus
rule path wifi deny mark 1
rule path nope deny
rule pacing 2mbbit
mptcpify maybe
P
expect_errors "$SYNTAX" 2:26 3:21 4:11 5:13 6:10

# JSON: the same errors as objects.
out=$("$SUBFLOWCTL" -j -n "$NS_C" policy check "$SYNTAX") && fail "policy check -j exited 0"
assert_eq false "$(jq .valid <<<"$out")" "JSON valid"
assert_json_eq '[[2,26],[3,21],[4,11],[5,13],[6,10]]' "$(jq -c '[.errors[] | [.line, .col]]' <<<"$out")" "JSON errors"

# Devices are resolved where check runs: c1 exists in the client namespace,
# wwan0 does not.
NODEV=$LAB_TMP/nodev.policy
printf 'path wifi dev c1\npath lte dev wwan0\nrule path lte deny\n' > "$NODEV"
check "$NODEV"
[ "$rc" != 0 ] || fail "an unknown device passed the check"
grep -q "^$NODEV:2:[0-9]*: error: .*'wwan0'" "$LAB_TMP/err" || fail "unknown device: $(cat "$LAB_TMP/err")"
assert_eq 1 "$(wc -l < "$LAB_TMP/err")" "unknown device: one error"

# Every error at once: syntax errors and an unknown device in one file.
MIXED=$LAB_TMP/mixed.policy
printf 'path wifi dev c1\npath lte dev wwan0\nrule path lte deny bogus\n' > "$MIXED"
check "$MIXED"
[ "$rc" != 0 ] || fail "mixed: policy check exited 0"
log "mixed: $(cat "$LAB_TMP/err")"
grep -q "^$MIXED:3:[0-9]*: error: .*'bogus'" "$LAB_TMP/err" || fail "mixed: no error for 'bogus': $(cat "$LAB_TMP/err")"
grep -q "^$MIXED:2:[0-9]*: error: .*'wwan0'" "$LAB_TMP/err" ||
	fail "mixed: the unknown device on line 2 is not reported along with the syntax error: $(cat "$LAB_TMP/err")"

# A good file passes, in the namespace that has its devices.
check "$POLICY_DIR/metered-lte-backup.policy"
assert_eq 0 "$rc" "a good policy: exit status ($(cat "$LAB_TMP/err"))"
echo "PASS: policy check reports every error as FILE:LINE:COL and exits non-zero"
