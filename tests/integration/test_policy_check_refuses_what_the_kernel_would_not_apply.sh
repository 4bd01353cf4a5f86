#!/usr/bin/env bash
# `policy check` (and so load and attach) refuses at check time what the
# kernel would not apply, naming file:line:col, and changes nothing:
#  - a pacing rate above what bpf_setsockopt takes (a u32 of bytes/s: more
#    would silently mean unlimited), with the real limit;
#  - a congestion control the kernel does not offer, listing the offered
#    ones (the kernel's and the engine's own mptcp_lia/olia/balia);
#  - a FIFO (or a directory) as the policy file: refused at once, no hang;
#  - a path with no selector does not hide the file's other errors.
# An empty policy is valid but warned about, at check and at load.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd jq timeout
lab_init

CG=$(cg_create app)
P=$LAB_TMP
check() {	# check FILE: `policy check FILE` in text mode; rc, stdout, stderr
	assert_status "$1" "policy check $2" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy check "$2"
}

printf 'rule mark 0x1\nrule pacing 100gbit\n' > "$P/pacing.policy"
check 1 "$P/pacing.policy"
[[ $ERR == *"$P/pacing.policy:2:13: error: pacing rate '100gbit' is 12500000000 bytes per second, above the most a subflow can be paced to, 4294967294 bytes per second"* ]] ||
	fail "pacing refusal: $ERR"
printf 'rule pacing 34359mbit\n' > "$P/pacing-max.policy"
check 0 "$P/pacing-max.policy"

printf '# a control nobody registered\nrule dport 443 cc nosuchcc\n' > "$P/cc.policy"
check 1 "$P/cc.policy"
[[ $ERR == *"$P/cc.policy:2:19: error: congestion control 'nosuchcc' is not offered by this kernel; offered: "* ]] ||
	fail "cc refusal: $ERR"
offered=${ERR##*offered: }
for cc in $(cat /proc/sys/net/ipv4/tcp_available_congestion_control) mptcp_lia mptcp_olia mptcp_balia; do
	[[ " $offered " == *" $cc "* ]] || fail "offered list lacks $cc: $offered"
done
printf 'rule cc reno\nrule cc mptcp_olia\n' > "$P/cc-ok.policy"
check 0 "$P/cc-ok.policy"

mkfifo "$P/fifo.policy"
rc=0
timeout 5 "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy check "$P/fifo.policy" 2>"$P/fifo.err" || rc=$?
[ "$rc" != 124 ] || fail "policy check of a FIFO hung"
assert_eq 1 "$rc" "policy check of a FIFO: exit status"
grep -q "$P/fifo.policy: error: not a regular file" "$P/fifo.err" || fail "FIFO: $(cat "$P/fifo.err")"
rc=0
timeout 5 "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" cgroup attach "$CG" policy "$P/fifo.policy" \
	>"$P/fifo.out" 2>/dev/null || rc=$?
assert_eq 1 "$rc" "cgroup attach with a FIFO policy: exit status"
[ ! -e "$SUBFLOW_PIN_DIR" ] || fail "attach with a FIFO policy loaded the engine"
check 1 "$P"
[[ $ERR == *"$P: error: is a directory"* ]] || fail "directory: $ERR"

printf 'path lte\nrule path lte deny\nrule tos 999\n' > "$P/nosel.policy"
check 1 "$P/nosel.policy"
[[ $ERR == *"$P/nosel.policy:1:9: error: path 'lte' has no selector"* ]] || fail "no selector: $ERR"
[[ $ERR == *"$P/nosel.policy:3:10: error: tos 999 out of range"* ]] || fail "error after it hidden: $ERR"
[[ $ERR != *"canonical form"* ]] || fail "an internal error hides the real ones: $ERR"

printf '# nothing yet\n' > "$P/empty.policy"
check 0 "$P/empty.policy"
[[ $ERR == *"$P/empty.policy:1:1: warning: the policy is empty"* ]] || fail "empty check: $ERR"
assert_status 0 "-j policy check empty" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" policy check "$P/empty.policy"
[[ $(jq -r '.warnings[0]' <<<"$OUT") == *"the policy is empty"* ]] || fail "empty -j check: $OUT"
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" policy load "$CG" "$P/empty.policy" 2>"$P/load.err" ||
	fail "load of an empty policy: $(cat "$P/load.err")"
grep -q "warning: the policy is empty" "$P/load.err" || fail "empty load: $(cat "$P/load.err")"

# Nothing the refused files named reached the engine.
for f in pacing cc nosel; do
	assert_status 1 "policy load $f" ctl policy load "$CG" "$P/$f.policy"
done
assert_eq "" "$(ctl policy show "$CG" | jq -r '.[0].rules[].text')" "rules in force after the refusals"

echo "PASS: unpaceable rates, unoffered controls, FIFOs and hidden errors refused at check time; empty policy warned"
