#!/usr/bin/env bash
# Refused subflow operations say why, exit 1 (64 for bad usage), print one
# JSON error with -j, and change nothing (the kernel's subflows, per `ss`, are
# the same after): unknown token, unknown id, a local address not on the
# host, a peer that refuses, a peer that does not answer (timeout: the SYN
# is undone), closing a connection's only subflow, open and set on a
# connection under the in-kernel path manager. Closing a subflow works under
# the in-kernel path manager too (with bpf_sock_destroy), and loses no byte.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"

require_mptcp
require_built
require_cmd jq ss nsenter
lab_init
lab_setup
CG_C=$(cg_create client)
CG_S=$(cg_create server)
PORT=8102

# A: userspace PM, one subflow, idle. B: in-kernel PM (two subflows, the
# lab's endpoint on c2), idle.
pm_userspace "$NS_C"
stream_start "$LAB_TMP/a" "$CG_S" "$CG_C" "$S1_V4" "$PORT" upload 2 idle
A=$STREAM_TOKEN A_CLIENT=$STREAM_CLIENT_PID A_SERVER=$STREAM_SERVER_PID
in_ns "$NS_C" sysctl -qw net.mptcp.path_manager=kernel
stream_start "$LAB_TMP/b" "$CG_S" "$CG_C" "$S1_V4" $((PORT + 1)) upload 3 idle
B=$STREAM_TOKEN
established() {
	ss_subflows "$NS_C" "$1" | grep -c ' ESTAB ' || true
}
wait_for 5 count_is 2 established $((PORT + 1)) ||
	fail "connection B has no second subflow: $(ss_subflows "$NS_C" $((PORT + 1)))"

view() {
	ss_subflows "$NS_C" "$PORT"
	ss_subflows "$NS_C" $((PORT + 1))
}

# refused WHAT EXPECTED_TEXT ARGS...: exit 1, one JSON error naming the
# trouble, and the kernel's subflows unchanged.
refused() {
	local what=$1 text=$2 before after
	shift 2
	before=$(view)
	assert_status 1 "$what" ctl_in "$NS_C" "$@"
	assert_json "$OUT" "$what: -j output"
	jq -e --arg t "$text" '.error | contains($t)' <<<"$OUT" >/dev/null ||
		fail "$what: expected an error containing '$text', got $OUT"
	# Text mode says the same on stderr.
	assert_status 1 "$what (text)" in_ns "$NS_C" "$SUBFLOWCTL" "$@"
	[[ $ERR == *"$text"* ]] || fail "$what: stderr does not say '$text': $ERR"
	after=$(view)
	assert_eq "$before" "$after" "$what: the kernel's subflows after the refusal"
}

refused "open on an unknown token" "no MPTCP connection with token 0x00000001" \
	subflow open token 1 local "$C2_V4" remote "$S1_V4" port "$PORT"
refused "open from an address not on this host" "not an address of this host" \
	subflow open token "$A" local 10.31.2.77 remote "$S1_V4" port "$PORT"
refused "open to a port nobody listens on" "refused the subflow" \
	subflow open token "$A" local "$C2_V4" remote "$S2_V4" port $((PORT + 50))
refused "open to a peer that does not answer" "no answer from 10.31.2.99 port $PORT within 300 ms" \
	subflow open token "$A" local "$C2_V4" remote 10.31.2.99 port "$PORT" timeout 300ms
refused "open on a connection of the in-kernel PM" "not under the userspace path manager" \
	subflow open token "$B" local "$C2_V4" remote "$S2_V4" port $((PORT + 1))
refused "backup on a connection of the in-kernel PM" "not under the userspace path manager" \
	subflow set token "$B" id 1 backup on
refused "close of an unknown id" "has no live subflow with id 99" \
	subflow close token "$A" id 99
refused "backup of an unknown id" "has no live subflow with id 99" \
	subflow set token "$A" id 99 backup on
refused "info of an unknown id" "no MPTCP subflow with id 99" \
	subflow getsockopt token "$A" id 99 info
refused "close of the only subflow" "only established subflow" \
	subflow close token "$A" id 1

# Bad usage: 64, and still one JSON value.
for args in "subflow open token $A" "subflow open token $A local $C2_V4 remote $S1_V4" \
	    "subflow set token $A id 1 backup maybe" "subflow close token $A" \
	    "subflow open token $A local 10.31.2.1 remote fd31:1::2 port 1" \
	    "subflow open token $A local $C2_V4 remote $S1_V4 port 8102 timeout forever"; do
	# shellcheck disable=SC2086
	assert_status 64 "bad usage: $args" ctl_in "$NS_C" $args
	assert_json "$OUT" "bad usage: $args: -j output"
done

# Close works under the in-kernel PM too: B's joined subflow goes, B goes on.
# This one goes through the one-shot iterator's bpf_sock_destroy(), the
# fallback of kernels without sock_diag's SOCK_DESTROY.
stream_go "$LAB_TMP/b"
sleep 0.5
JOIN_ID=$(jq '.subflows | map(select(.local.addr == "'"$C2_V4"'")) | .[0].id' \
	<<<"$(full_info "$LAB_TMP/b" client)")
[ "$JOIN_ID" != null ] || fail "connection B has no subflow from $C2_V4"
OUT=$(SUBFLOW_CLOSE_WITH_ITER=1 ctl_in "$NS_C" subflow close token "$B" id "$JOIN_ID") ||
	fail "close under the in-kernel PM: $OUT"
ss_subflows "$NS_C" $((PORT + 1)) | grep -q "^$C2_V4:.* ESTAB " &&
	fail "B's subflow from $C2_V4 is still established: $(ss_subflows "$NS_C" $((PORT + 1)))"
stream_finish "$LAB_TMP/b"
# A goes on unharmed.
STREAM_CLIENT_PID=$A_CLIENT STREAM_SERVER_PID=$A_SERVER
stream_go "$LAB_TMP/a"
stream_finish "$LAB_TMP/a"
echo PASS
