#!/usr/bin/env bash
# tests/run.sh [FILTER]: run the unit tests (build/tests/unit/*) and the
# integration tests (tests/integration/test_*.sh), one process each, in
# sequence; only those whose name contains FILTER if given.
#
# Each test prints PASS, FAIL (with the end of its log) or SKIP (with its
# reason: exit status 77, only for a kernel feature that is really absent).
# The last line is "N passed, N failed, N skipped"; the exit status is 1 if
# any test failed. Full logs go to build/tests/logs/NAME.log.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${LAB_BUILD:-$REPO/build}
LOGDIR=$BUILD/tests/logs
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
SKIP_STATUS=77
FILTER=${1:-}

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the tests need root" >&2
	exit 1
fi
mkdir -p "$LOGDIR"

tests=()
for t in "$BUILD"/tests/unit/*; do
	[ -f "$t" ] && [ -x "$t" ] && tests+=("$t")
done
for t in "$REPO"/tests/integration/test_*.sh; do
	[ -f "$t" ] && tests+=("$t")
done

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	case $t in */unit/*) name=unit/$name ;; esac
	[ -n "$FILTER" ] && [[ $name != *"$FILTER"* ]] && continue
	log=$LOGDIR/${name//\//_}.log
	start=$(date +%s)
	rc=0
	case $t in
	*.sh) timeout -k 30 "$TEST_TIMEOUT" bash "$t" > "$log" 2>&1 < /dev/null || rc=$? ;;
	*)    timeout -k 30 "$TEST_TIMEOUT" "$t" > "$log" 2>&1 < /dev/null || rc=$? ;;
	esac
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)
		printf 'PASS %s (%ss)\n' "$name" "$secs"
		passed=$(( passed + 1 )) ;;
	"$SKIP_STATUS")
		reason=$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP:\{0,1\} *//')
		printf 'SKIP %s: %s\n' "$name" "${reason:-no reason given (see $log)}"
		skipped=$(( skipped + 1 )) ;;
	*)
		why=$(grep -m1 '^FAIL' "$log" | sed 's/^FAIL:\{0,1\} *//')
		[ "$rc" = 124 ] && why="timed out after ${TEST_TIMEOUT}s${why:+; $why}"
		printf 'FAIL %s (exit %s, %ss): %s\n' "$name" "$rc" "$secs" "${why:-see log}"
		tail -n 15 "$log" | sed 's/^/    | /'
		printf '    full log: %s\n' "$log"
		failed=$(( failed + 1 )) ;;
	esac
done

if [ "$skipped" -gt 0 ]; then
	printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
else
	printf '%d passed, %d failed\n' "$passed" "$failed"
fi
[ "$failed" -eq 0 ]
