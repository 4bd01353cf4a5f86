#!/usr/bin/env bash
# Asking for a connection or subflow the engine does not track is a clear
# error with a non-zero exit (not a usage error, not an empty success): an
# unknown token, an unknown subflow id of a live connection, a token of
# another namespace, and any query while the engine is not loaded. JSON mode
# prints {"error": "..."} on stdout; libsubflow answers -ESRCH / -ENOENT.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

# query_error WHAT PATTERN NETNS ARGS...: non-zero, not 64, {"error"} on stdout
# in JSON mode matching PATTERN (case-insensitive), message on stderr in text.
query_error() {
	local what=$1 pattern=$2 ns=$3 rc=0
	shift 3
	OUT=$(in_ns "$ns" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@" 2>/dev/null) || rc=$?
	[ "$rc" != 0 ] || fail "$what: 'subflowctl -j $*' succeeded: $OUT"
	[ "$rc" != 64 ] || fail "$what: 'subflowctl -j $*' exited 64 (usage) for a valid command line"
	jq -e '.error | strings' >/dev/null 2>&1 <<<"$OUT" ||
		fail "$what: 'subflowctl -j $*': stdout is not {\"error\": \"...\"}: '$OUT'"
	grep -qiE "$pattern" <<<"$(jq -r .error <<<"$OUT")" ||
		fail "$what: error '$(jq -r .error <<<"$OUT")' does not match /$pattern/"
	rc=0
	ERR=$(in_ns "$ns" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" != 0 ] && [ -n "$ERR" ] || fail "$what: text mode: exit $rc, stderr '$ERR'"
}

# Engine not loaded (private, empty pin dir).
query_error "not loaded" "not loaded" "$NS_C" subflow show token 1 id 1
query_error "not loaded" "not loaded" "$NS_C" subflow list token 1
out=$(in_ns "$NS_C" "$MPTCP_PEER" token 1 || true)
grep -q "No such file or directory" <<<"$(jq -r .lib_token_error <<<"$out")" ||
	fail "library by token, engine not loaded: expected ENOENT, got: $out"

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
pair_start "$LAB_TMP/pair" "$CG" "$CG" "$S1_V4" 5700
ctok=$(jq .token "$LAB_TMP/pair/client.json")
stok=$(jq .token "$LAB_TMP/pair/server.json")
unknown=$(( (ctok ^ 0x5a5a5a5a) == stok ? ctok ^ 0x1 : ctok ^ 0x5a5a5a5a ))

query_error "unknown token" "token|connection" "$NS_C" subflow show token "$unknown" id 1
query_error "unknown token (hex)" "token|connection" "$NS_C" subflow show token "$(printf '0x%x' "$unknown")" id 1
query_error "unknown token" "token|connection" "$NS_C" subflow list token "$unknown"
query_error "unknown subflow id" "subflow|id" "$NS_C" subflow show token "$ctok" id 99
query_error "subflow id 0" "subflow|id" "$NS_C" subflow show token "$ctok" id 0
# Tokens are per namespace: the server's token is unknown in the client's.
query_error "token of another netns" "token|connection" "$NS_C" subflow show token "$stok" id 1

out=$(in_ns "$NS_C" "$MPTCP_PEER" token "$unknown" || true)
grep -q "No such process" <<<"$(jq -r .lib_token_error <<<"$out")" ||
	fail "library by unknown token: expected ESRCH, got: $out"

# The real ones still work.
assert_status 0 "show a tracked subflow" ctl_in "$NS_C" subflow show token "$ctok" id 1
assert_eq 1 "$(jq .id <<<"$OUT")" "id of the subflow shown"
assert_status 0 "list a tracked token" ctl_in "$NS_C" subflow list token "$ctok"
assert_eq "$ctok" "$(jq -c '.[0].token' <<<"$OUT")" "token listed"
pair_stop "$LAB_TMP/pair"
echo "PASS: unknown tokens and ids give clear errors and a non-zero exit"
