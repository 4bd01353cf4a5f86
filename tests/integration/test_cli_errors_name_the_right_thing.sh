#!/usr/bin/env bash
# subflowctl's errors name what is wrong, where:
#  - an option missing its argument names that option (not "unknown -P");
#  - an ambiguous abbreviation says so and lists the candidates;
#  - an over-long --pin-dir says it is too long (not "not absolute");
#  - a non-root user is told permission is denied, not "not loaded";
#  - numbers are decimal or 0x-hex everywhere: `rule set 010` edits rule
#    10 (not 8, as octal would), " 5" and "+5" are not numbers;
#  - `subflow monitor count -1` is bad usage, not "forever".
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd jq setpriv
lab_init

says() {	# says WANT ARGS...: exit 64 and stderr has WANT (and -j's .error)
	local want=$1; shift
	assert_status 64 "subflowctl $*" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" "$@"
	[[ $ERR == *"$want"* ]] || fail "subflowctl $*: stderr lacks '$want': $ERR"
	assert_status 64 "subflowctl -j $*" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@"
	[[ $(jq -r .error <<<"$OUT") == *"$want"* ]] || fail "subflowctl -j $*: $OUT"
}

assert_status 64 "--pin-dir without argument" "$SUBFLOWCTL" --pin-dir
[[ $ERR == *"option '--pin-dir' needs an argument"* ]] || fail "--pin-dir: $ERR"
assert_status 64 "-n without argument" "$SUBFLOWCTL" -n
[[ $ERR == *"option '-n' needs an argument (NETNS)"* ]] || fail "-n: $ERR"
assert_status 64 "--netns without argument" "$SUBFLOWCTL" --netns
[[ $ERR == *"option '--netns' needs an argument (NETNS)"* ]] || fail "--netns: $ERR"
assert_status 64 "ambiguous --p" "$SUBFLOWCTL" --p status
[[ $ERR == *"ambiguous option '--p': --pretty or --pin-dir?"* ]] || fail "--p: $ERR"
assert_status 64 "unknown --bogus" "$SUBFLOWCTL" --bogus status
[[ $ERR == *"unknown option '--bogus'"* ]] || fail "--bogus: $ERR"
long=/sys/fs/bpf/$(printf 'a%.0s' $(seq 1 4000))
assert_status 64 "over-long --pin-dir" "$SUBFLOWCTL" --pin-dir "$long" status
[[ $ERR == *"--pin-dir: '/sys/fs/bpf/aaa"*"is 4012 bytes long, more than 3968"* ]] || fail "long: $ERR"

says "count: '-1' is not a positive number" subflow monitor count -1
says "count: '0' is not a positive number" subflow monitor count 0
says "needs N" subflow monitor count
says "token: ' 5' is not a 32-bit number" subflow show token " 5" id 1
says "token: '+5' is not a 32-bit number" subflow show token +5 id 1

# A loaded engine: root-only. uid 65534 is told so.
CG=$(cg_create app)
for i in $(seq 0 10); do printf 'rule dport %d mark %d\n' $(( 1000 + i )) "$i"; done > "$LAB_TMP/p.policy"
ctl cgroup attach "$CG" policy "$LAB_TMP/p.policy" >/dev/null || fail "cgroup attach $CG"
chmod 0755 "$LAB_TMP"
assert_status 1 "subflow list as uid 65534" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" subflow list
[[ $ERR == *"permission denied: the pin directory $SUBFLOW_PIN_DIR is root's"* ]] || fail "uid 65534: $ERR"
[[ $ERR != *"not loaded"* ]] || fail "uid 65534 told the engine is not loaded: $ERR"

# 010 is ten.
ctl policy rule "$CG" set 010 dport 2010 mark 0x77 >/dev/null || fail "policy rule set 010"
rules=$(ctl policy show "$CG" | jq -c '[.[0].rules[].text]')
assert_eq "rule dport 1008 mark 0x8" "$(jq -r '.[8]' <<<"$rules")" "rule 8 after 'set 010'"
assert_eq "rule dport 2010 mark 0x77" "$(jq -r '.[10]' <<<"$rules")" "rule 10 after 'set 010'"
says "is not a rule index" policy rule "$CG" set " 1" dport 1 mark 1

echo "PASS: option, number, length and permission errors name the right thing"
