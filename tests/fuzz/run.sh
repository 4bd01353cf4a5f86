#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR SECONDS: run every libFuzzer harness built in
# BUILD_DIR for SECONDS each, from the seed corpus tests/fuzz/corpus/NAME
# (read only: new inputs go to BUILD_DIR/corpus/NAME). A crash, a broken
# property or a sanitizer report fails the run; the input that did it is in
# BUILD_DIR/crashes/NAME/. The last line is "N fuzzers, N failed".
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:?usage: run.sh BUILD_DIR SECONDS}
SECS=${2:?usage: run.sh BUILD_DIR SECONDS}
failed=0 total=0

for fuzzer in "$BUILD"/fuzz_*; do
	[ -x "$fuzzer" ] && [ -f "$fuzzer" ] || continue
	name=$(basename "$fuzzer")
	seeds=$REPO/tests/fuzz/corpus/$name
	work=$BUILD/corpus/$name
	crashes=$BUILD/crashes/$name
	log=$BUILD/logs/$name.log
	mkdir -p "$work" "$crashes" "$(dirname "$log")"
	[ -d "$seeds" ] || { echo "FAIL $name: no seed corpus at $seeds"; failed=$((failed + 1)); continue; }
	total=$((total + 1))
	rc=0
	"$fuzzer" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeds" >"$log" 2>&1 || rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	if [ "$rc" = 0 ]; then
		printf 'PASS %s: %s inputs in %ss\n' "$name" "${runs:-?}" "$SECS"
	else
		printf 'FAIL %s (exit %s): see %s; inputs in %s\n' "$name" "$rc" "$log" "$crashes"
		grep -m3 -E 'ERROR|property failed|runtime error' "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
done
printf '%d fuzzers, %d failed\n' "$total" "$failed"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
