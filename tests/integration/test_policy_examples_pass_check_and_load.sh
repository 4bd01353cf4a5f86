#!/usr/bin/env bash
# Every example in policies/ is a documented, working policy: it passes
# `policy check` in the lab's client namespace (where c1/c2 exist), loads
# for a cgroup with the same number of paths and rules, its header names
# the test that exercises it (and that test exists), and policies/README.md
# lists it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_built
lab_init
lab_setup

CG=$(cg_create app)
ctl_in "$NS_C" cgroup attach "$CG" > "$LAB_TMP/out" 2>&1 || fail "cgroup attach: $(cat "$LAB_TMP/out")"
n=0
for file in "$POLICY_DIR"/*.policy; do
	name=$(basename "$file")
	pol_check_file "$NS_C" "$file"
	out=$(ctl_in "$NS_C" policy check "$file")
	assert_eq true "$(jq .valid <<<"$out")" "$name: valid"
	pol_load "$NS_C" "$CG" "$file"
	show=$(pol_show "$NS_C" "$CG")
	assert_eq "$(jq .paths <<<"$out") $(jq .rules <<<"$out")" \
		"$(jq '.paths | length' <<<"$show") $(jq '.rules | length' <<<"$show")" "$name: paths and rules loaded"
	head -n 3 "$file" | grep -q "^# $name: " || fail "$name: no header comment naming it"
	test=$(grep -o 'test_[a-z0-9_]*\.sh' "$file" | head -n1)
	[ -n "$test" ] || fail "$name: its header names no test"
	for t in $(grep -o 'test_[a-z0-9_]*\.sh' "$file"); do
		[ -f "$LAB_REPO/tests/integration/$t" ] || fail "$name: names $t, which does not exist"
		grep -q "$name" "$LAB_REPO/tests/integration/$t" || fail "$name: $t does not use it"
	done
	grep -q "$name" "$POLICY_DIR/README.md" || fail "$name: not in policies/README.md"
	n=$(( n + 1 ))
done
assert_ge 5 "$n" "example policies"
echo "PASS: all $n example policies pass check, load, are documented and exercised"
