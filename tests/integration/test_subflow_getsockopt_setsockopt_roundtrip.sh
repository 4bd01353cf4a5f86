#!/usr/bin/env bash
# SUB_SETSOCKOPT / SUB_GETSOCKOPT round-trip every option on one subflow.
# `subflowctl subflow setsockopt` sets mark, tos, priority, pacing, cc,
# user-timeout, nodelay and keepalive on subflow 1 of a live two-subflow
# connection; `getsockopt` reads each back (JSON and text); the kernel's own
# view (`ss -tien`, `ss --tos`) shows the values on that subflow and not on
# subflow 2. Defaults read back as the namespace's sysctls. Bad options and
# values exit 64, an unknown subflow exits 1, and no BPF program or map of the
# short-lived iterator is left behind. The engine is never loaded: these
# commands do not need it.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd bpftool jq ss
lab_init
lab_setup

PORT=5800
CG=$(cg_create app)
pair_start "$LAB_TMP/pair" "$CG" "$CG" "$S1_V4" "$PORT"
tok=$(jq .token "$LAB_TMP/pair/client.json")
stok=$(jq .token "$LAB_TMP/pair/server.json")
view=$LAB_TMP/pair/client.json
assert_eq "[1,2]" "$(jq -c '[.kernel[].id] | sort' "$view")" "client subflow ids"
port1=$(jq '.kernel[] | select(.id == 1) | .local.port' "$view")
port2=$(jq '.kernel[] | select(.id == 2) | .local.port' "$view")

# get ID OPTION: the JSON value subflowctl reads for subflow ID in the client.
get() {
	local out
	out=$(ctl_in "$NS_C" subflow getsockopt token "$tok" id "$1" "$2") ||
		fail "getsockopt id $1 $2 failed: $out"
	assert_json_eq "{\"token\":$tok,\"id\":$1,\"option\":\"$2\"}" \
		"$(jq -c '{id, option, token}' <<<"$out")" "getsockopt $2: JSON object"
	jq -c .value <<<"$out"
}

# roundtrip OPTION JSON_VALUE TEXT VALUE...: set OPTION VALUE... on subflow 1;
# what set prints, a JSON get and a text get (-n NETNS) all agree.
roundtrip() {
	local opt=$1 want=$2 text=$3 out
	shift 3
	out=$(ctl_in "$NS_C" subflow setsockopt token "$tok" id 1 "$opt" "$@") ||
		fail "setsockopt $opt $*: $out"
	assert_json_eq "{\"token\":$tok,\"id\":1,\"option\":\"$opt\",\"value\":$want}" "$out" \
		"setsockopt $opt $*: answer"
	assert_json_eq "$want" "$(get 1 "$opt")" "getsockopt $opt after setting $*"
	out=$("$SUBFLOWCTL" -n "$NS_C" subflow getsockopt token "$tok" id 1 "$opt") ||
		fail "text getsockopt $opt: $out"
	assert_eq "$opt $text" "$out" "text getsockopt $opt"
}

# ss_sub NETNS SPORT [SS ARGS]: ss's line(s) for the client subflow from SPORT, joined.
ss_sub() {
	local ns=$1 sport=$2
	shift 2
	in_ns "$ns" ss -Htn "$@" "( sport = :$sport )" 2>/dev/null | tr -s '\n\t' '  '
}

# ---- Defaults: what the stack uses when nothing was set -------------------------
sysctl_c() { in_ns "$NS_C" sysctl -n "$1"; }
for id in 1 2; do
	assert_eq 0 "$(get $id mark)" "default mark of subflow $id"
	assert_eq 0 "$(get $id tos)" "default tos of subflow $id"
	assert_eq null "$(get $id pacing)" "default pacing of subflow $id (unlimited)"
	assert_eq "\"$(sysctl_c net.ipv4.tcp_congestion_control)\"" "$(get $id cc)" \
		"default cc of subflow $id"
	assert_eq 0 "$(get $id user-timeout)" "default user-timeout of subflow $id"
	assert_json_eq "{\"on\":false,\"idle_s\":$(sysctl_c net.ipv4.tcp_keepalive_time),
		\"intvl_s\":$(sysctl_c net.ipv4.tcp_keepalive_intvl),
		\"count\":$(sysctl_c net.ipv4.tcp_keepalive_probes)}" \
		"$(get $id keepalive)" "default keepalive of subflow $id (the namespace's sysctls)"
done

# ---- Set each option on subflow 1 and read it back ---------------------------------
before_cc2=$(get 2 cc)
roundtrip mark 32 0x20 0x20
# IP_TOS also resets the priority (rt_tos2priority): tos before priority.
roundtrip tos 16 0x10 0x10
roundtrip priority 3 3 3
roundtrip pacing 250000 "250000 B/s (2mbit)" 2mbit
# cubic is not in tcp_allowed_congestion_control: BPF may set it all the same.
roundtrip cc '"cubic"' cubic cubic
roundtrip cc '"reno"' reno reno
roundtrip user-timeout 500 500ms 500ms
roundtrip nodelay true on on
roundtrip keepalive '{"on":true,"idle_s":10,"intvl_s":2,"count":3}' \
	"on idle 10s intvl 2s count 3" 10s 2s 3

# ---- The kernel's own view: subflow 1 has them, subflow 2 does not -----------------
sf1=$(ss_sub "$NS_C" "$port1" -ie)
sf2=$(ss_sub "$NS_C" "$port2" -ie)
[ -n "$sf1" ] && [ -n "$sf2" ] || fail "ss shows no subflow from port $port1 / $port2"
grep -q 'fwmark:0x20' <<<"$sf1" || fail "ss: no fwmark:0x20 on subflow 1: $sf1"
grep -q ' reno ' <<<"$sf1" || fail "ss: subflow 1 does not use reno: $sf1"
grep -qE 'pacing_rate [0-9]+bps/2000000bps' <<<"$sf1" ||
	fail "ss: subflow 1 max pacing rate is not 2000000bps: $sf1"
grep -q 'timer:(keepalive' <<<"$sf1" || fail "ss: no keepalive timer on subflow 1: $sf1"
tos1=$(ss_sub "$NS_C" "$port1" --tos)
grep -q 'tos:0x10 ' <<<"$tos1" || fail "ss --tos: subflow 1 tos is not 0x10: $tos1"
# With no net_cls class id, ss reports the socket priority as class_id.
grep -q 'class_id:0x3' <<<"$tos1" || fail "ss --tos: subflow 1 priority is not 3: $tos1"

! grep -q 'fwmark' <<<"$sf2" || fail "ss: subflow 2 got a fwmark: $sf2"
! grep -q 'timer:(keepalive' <<<"$sf2" || fail "ss: subflow 2 got a keepalive timer: $sf2"
! grep -qE 'pacing_rate [0-9]+bps/' <<<"$sf2" || fail "ss: subflow 2 got a max pacing rate: $sf2"
grep -q 'tos:0 ' <<<"$(ss_sub "$NS_C" "$port2" --tos)" || fail "ss --tos: subflow 2 tos changed"
assert_eq 0 "$(get 2 mark)" "subflow 2 mark"
assert_eq "$before_cc2" "$(get 2 cc)" "subflow 2 cc"
assert_eq false "$(get 2 nodelay)" "subflow 2 nodelay"
assert_eq 0 "$(get 2 user-timeout)" "subflow 2 user-timeout"

# ---- Turning things off again --------------------------------------------------------
roundtrip keepalive "{\"on\":false,\"idle_s\":10,\"intvl_s\":2,\"count\":3}" \
	"off idle 10s intvl 2s count 3" off
! grep -q 'timer:(keepalive' <<<"$(ss_sub "$NS_C" "$port1" -ie)" ||
	fail "ss: keepalive timer still armed after keepalive off"
roundtrip pacing null unlimited unlimited
! grep -qE 'pacing_rate [0-9]+bps/' <<<"$(ss_sub "$NS_C" "$port1" -ie)" ||
	fail "ss: max pacing rate still set after pacing unlimited"
roundtrip nodelay false off off
roundtrip user-timeout 0 "0ms (default)" 0ms

# ---- The server side's subflows are reachable the same way, in its namespace ------------
out=$(ctl_in "$NS_S" subflow setsockopt token "$stok" id 1 mark 0x30) || fail "server setsockopt: $out"
assert_eq 48 "$(jq .value <<<"$out")" "server subflow mark"
in_ns "$NS_S" ss -Htien "( sport = :$PORT )" 2>/dev/null | grep -q 'fwmark:0x30' ||
	fail "ss in server namespace: no fwmark:0x30"

# ---- Errors ---------------------------------------------------------------------------
for bad in "bogus 1" "mark" "mark -1" "mark 0x100000000" "tos 256" "pacing 2" "pacing 2furlongs" \
	   "pacing 50gbit" "cc Reno!" "user-timeout 500" "user-timeout 0.5ms" "nodelay maybe" \
	   "keepalive 10s 2s" "keepalive 0s 2s 3" "keepalive 10s 2s 128" "p 1"; do
	# shellcheck disable=SC2086 # word splitting intended
	assert_status 64 "setsockopt $bad" ctl_in "$NS_C" subflow setsockopt token "$tok" id 1 $bad
	jq -e '.error | strings' >/dev/null <<<"$OUT" || fail "setsockopt $bad: no JSON error: $OUT"
done
assert_status 64 "getsockopt without option" ctl_in "$NS_C" subflow getsockopt token "$tok" id 1
assert_status 64 "getsockopt without id" ctl_in "$NS_C" subflow getsockopt token "$tok" mark
assert_status 64 "getsockopt with a value" ctl_in "$NS_C" subflow getsockopt token "$tok" id 1 mark 1

assert_status 1 "unknown subflow id" ctl_in "$NS_C" subflow getsockopt token "$tok" id 99 mark
grep -q "no MPTCP subflow with id 99" <<<"$(jq -r .error <<<"$OUT")" || fail "unknown id: $OUT"
assert_status 1 "token of the other namespace" ctl_in "$NS_C" subflow setsockopt token "$stok" id 1 mark 1
grep -q "no MPTCP subflow" <<<"$(jq -r .error <<<"$OUT")" || fail "foreign token: $OUT"
rc=0
ERR=$("$SUBFLOWCTL" -n "$NS_C" subflow getsockopt token "$tok" id 99 cc 2>&1 >/dev/null) || rc=$?
assert_eq 1 "$rc" "text mode: unknown subflow exit status"
grep -q "no MPTCP subflow with id 99" <<<"$ERR" || fail "text mode: unknown subflow message: $ERR"
assert_status 1 "unknown congestion control" ctl_in "$NS_C" subflow setsockopt token "$tok" id 1 cc nosuchcc
grep -q "no congestion control 'nosuchcc'" <<<"$(jq -r .error <<<"$OUT")" || fail "unknown cc: $OUT"
assert_eq '"reno"' "$(get 1 cc)" "cc after a refused change"

# ---- Nothing left behind -----------------------------------------------------------------
leftovers() {
	[ "$(bpftool -j prog show | jq '[.[] | select(.name == "sockopt_iter")] | length')" = 0 ] &&
	[ "$(bpftool -j map show | jq '[.[] | select((.name // "") | startswith("sockopt"))] | length')" = 0 ]
}
wait_for 3 leftovers || fail "a sockopt iterator program or map is still loaded"
[ ! -e "$SUBFLOW_PIN_DIR" ] || [ -z "$(ls -A "$SUBFLOW_PIN_DIR")" ] ||
	fail "getsockopt/setsockopt pinned something in $SUBFLOW_PIN_DIR"

pair_stop "$LAB_TMP/pair"
echo "PASS: every option round-trips on one subflow and matches ss; bad input exits 64"
