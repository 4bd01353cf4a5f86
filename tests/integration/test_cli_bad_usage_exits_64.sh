#!/usr/bin/env bash
# Bad command lines exit 64 (EX_USAGE) and change nothing: text mode prints a
# message on stderr (the usage itself when the object or command is missing),
# JSON mode prints {"error": "..."} on stdout.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
lab_init	# private pin dir: nothing is loaded there

# usage_error ARGS...: exit 64, a message on stderr, valid JSON error with -j.
usage_error() {
	assert_status 64 "subflowctl $*" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" "$@"
	[ -n "$ERR" ] || fail "subflowctl $*: exit 64 but nothing on stderr"
	assert_status 64 "subflowctl -j $*" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@"
	jq -e '.error | strings | length > 0' >/dev/null 2>&1 <<<"$OUT" ||
		fail "subflowctl -j $*: stdout is not {\"error\": \"...\"}: '$OUT'"
}

# Missing object or command: the usage itself on stderr.
for args in "" "subflow" "cgroup"; do
	# shellcheck disable=SC2086
	usage_error $args
	grep -qi "usage" <<<"$ERR" || fail "subflowctl -j $args: no usage message on stderr: '$ERR'"
done

usage_error bogus
usage_error --bogus-option status
usage_error subflow bogus
usage_error subflow show
usage_error subflow show token
usage_error subflow show token 1
usage_error subflow show token 1 id
usage_error subflow show id 1
usage_error subflow show token xyz id 1
usage_error subflow show token 1 id abc
usage_error subflow show token -1 id 1
usage_error subflow show token 0x100000000 id 1
usage_error subflow show token 1 id 1 extra
usage_error subflow list token
usage_error subflow list token nope
usage_error subflow list extra
usage_error cgroup attach
usage_error cgroup detach
usage_error cgroup attach /a /b
usage_error cgroup list extra
usage_error cgroup bogus
usage_error status extra
usage_error unload extra

# Nothing was loaded or pinned by any of that.
[ ! -e "$SUBFLOW_PIN_DIR" ] || fail "a bad command line created $SUBFLOW_PIN_DIR"

# -p (pretty) output is JSON too.
assert_status 0 "-p status" "$SUBFLOWCTL" -p --pin-dir "$SUBFLOW_PIN_DIR" status
assert_json "$OUT" "subflowctl -p status"
echo "PASS: bad usage exits 64 with a message and changes nothing"
