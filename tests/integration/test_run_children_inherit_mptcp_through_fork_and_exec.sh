#!/usr/bin/env bash
# What a program under `subflowctl run` starts is covered too (the seccomp
# filter is inherited across fork and execve):
# - a shell that forks and execs the client (sh -c 'CLIENT; true');
# - a program whose forked child connects only after its parent, the
#   launcher's direct child, has exited: the launcher keeps serving until the
#   last descendant is gone, returns only then, with the parent's status.
# Both children get MPTCP sockets and MPTCP connections (MPTCP_INFO at both
# ends), every byte checked.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
lab_init
lab_setup

# fork + exec, by a shell.
app_server sh 7300 --mptcp
run_ctl -- sh -c '"$0" client -a "$1" -p 7300 --out "$2" --settle 2; true' "$TCP_APP_STATIC" "$S1_V4" \
	"$LAB_TMP/c-sh.json"
assert_run_ok "sh -c"
app_server_done sh
assert_mptcp_conn "child of sh" "$LAB_TMP/c-sh.json" "$LAB_TMP/sh.json" 65536
assert_ne "$(jq .pid <<<"$RUN_OUT")" "$(jfield "$LAB_TMP/c-sh.json" pid)" "the client is not the launcher's direct child"

# fork, the parent exits first; then the child connects.
for prog in "$TCP_APP" "$TCP_APP_STATIC"; do
	name=$(basename "$prog")
	app_server "fork-$name" 7301 --mptcp
	rm -f "$LAB_TMP/c-fork.json"
	run_ctl -- "$prog" client --fork -a "$S1_V4" -p 7301 -b 100000 --out "$LAB_TMP/c-fork.json" \
		"${JOINS[@]}"
	assert_run_ok "$name --fork"
	# run returned: the orphan must be done by now, its report written.
	[ -s "$LAB_TMP/c-fork.json" ] || fail "$name --fork: subflowctl run returned before the orphaned child finished"
	assert_ne "$(jq .pid <<<"$RUN_OUT")" "$(jfield "$LAB_TMP/c-fork.json" pid)" "$name --fork: the client is the child"
	app_server_done "fork-$name"
	assert_mptcp_conn "$name --fork" "$LAB_TMP/c-fork.json" "$LAB_TMP/fork-$name.json" 100000
	assert_eq 0 "$(jq .exit_code <<<"$RUN_OUT")" "$name --fork: the parent's exit code"
	assert_eq 1 "$(jq .sockets.mptcp <<<"$RUN_OUT")" "$name --fork: sockets created as MPTCP"
done
echo "PASS: children inherit subflowctl run's MPTCP sockets through fork and exec"
