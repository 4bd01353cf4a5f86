#!/usr/bin/env bash
# `subflowctl run` is transparent for the program's end and its signals:
# - its exit code is the program's; a program killed by a signal kills the
#   launcher with the same signal (the raw wait status says so, no core of
#   the launcher's own);
# - SIGINT, SIGTERM and SIGHUP sent to the launcher reach the program (it
#   exits 100 + the number it caught), also when the invoker left the signal
#   ignored (a background job's SIGINT);
# - after the program has exited, a signal goes to the descendants it left
#   (reparented to the launcher, which waits for them);
# - the launcher's own failures: 127 not found, 126 not executable, 64 bad
#   usage ({"error"} with -j), and nothing runs.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_run_tools
require_cmd perl
lab_init

# wait_status CMD...: "EXIT SIGNAL CORE" from the raw wait status of CMD.
wait_status() {
	perl -e 'system { $ARGV[0] } @ARGV; my $s = $?;
		 printf "%d %d %d\n", $s >> 8, $s & 127, ($s & 128) ? 1 : 0' "$@"
}

assert_eq "7 0 0" "$(wait_status "$SUBFLOWCTL" run -- sh -c 'exit 7')" "exit code 7"
assert_eq "0 0 0" "$(wait_status "$SUBFLOWCTL" run -- true)" "exit code 0"
assert_eq "0 15 0" "$(wait_status "$SUBFLOWCTL" run -- sh -c 'kill -TERM $$')" "killed by SIGTERM"
assert_eq "0 9 0" "$(wait_status "$SUBFLOWCTL" run -- sh -c 'kill -KILL $$')" "killed by SIGKILL"
assert_eq "0 11 0" "$(wait_status "$SUBFLOWCTL" run -- sh -c 'ulimit -c 0; kill -SEGV $$')" \
	"killed by SIGSEGV (no core dumped by the launcher)"
out=$("$SUBFLOWCTL" -j run -- sh -c 'kill -HUP $$' || true)
assert_eq SIGHUP "$(jq -r .signal <<<"$out")" "-j summary: signal"
assert_eq null "$(jq -r .exit_code <<<"$out")" "-j summary: no exit code when killed"

# Forwarding: the launcher runs in the background (SIGINT ignored there by
# bash), the program catches the signal it is sent.
for sig in INT TERM HUP; do
	rm -f "$LAB_TMP/got" "$LAB_TMP/ready"
	"$SUBFLOWCTL" run -- "$TCP_APP" wait-signal --out "$LAB_TMP/got" --ready-file "$LAB_TMP/ready" &
	pid=$!
	proc_register "$pid"
	wait_for 5 test -e "$LAB_TMP/ready" || fail "SIG$sig: the program did not start"
	kill -s "$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_eq "SIG$sig" "$(cat "$LAB_TMP/got" 2>/dev/null)" "SIG$sig forwarded to the program"
	assert_eq "$(( 100 + $(kill -l "$sig") ))" "$rc" "SIG$sig: exit status of the program that caught it"
done

# After the program: its orphan gets the signal, the launcher waits for it
# and exits with the program's own status.
rm -f "$LAB_TMP/got" "$LAB_TMP/ready"
"$SUBFLOWCTL" run -- sh -c '"$0" wait-signal --out "$1" --ready-file "$2" & exit 5' \
	"$TCP_APP" "$LAB_TMP/got" "$LAB_TMP/ready" &
pid=$!
proc_register "$pid"
wait_for 5 test -e "$LAB_TMP/ready" || fail "orphan: the program did not start"
orphan_ppid() { ps -o ppid= -C tcp_app | tr -d ' ' | grep -qx "$pid"; }
wait_for 5 orphan_ppid || fail "the orphan was not reparented to the launcher $pid"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq SIGTERM "$(cat "$LAB_TMP/got" 2>/dev/null)" "SIGTERM forwarded to the orphan"
assert_eq 5 "$rc" "exit status: the program's, after its orphan ended"

# The launcher's own failures.
assert_status 127 "program not found" "$SUBFLOWCTL" run -- "$LAB_TMP/no-such-program"
grep -q "no-such-program.*No such file" <<<"$ERR" || fail "not found: no reason on stderr: $ERR"
printf '#!/bin/sh\nexit 0\n' > "$LAB_TMP/not-executable"
chmod 0644 "$LAB_TMP/not-executable"
assert_status 126 "program not executable" "$SUBFLOWCTL" run -- "$LAB_TMP/not-executable"
for args in "" "--bogus -- true" "--cgroup" "--cgroup $LAB_TMP -- true" "--"; do
	# shellcheck disable=SC2086
	assert_status 64 "run $args" "$SUBFLOWCTL" run $args
	# shellcheck disable=SC2086
	assert_status 64 "-j run $args" "$SUBFLOWCTL" -j run $args
	jq -e '.error | strings | length > 0' >/dev/null <<<"$OUT" ||
		fail "-j run $args: stdout is not {\"error\": ...}: '$OUT'"
done
assert_status 0 "run help" "$SUBFLOWCTL" run help
grep -q "Usage: .*run \[--cgroup CGROUP\]" <<<"$ERR" || fail "run help: no usage: $ERR"
echo "PASS: exit status and signals pass through subflowctl run"
