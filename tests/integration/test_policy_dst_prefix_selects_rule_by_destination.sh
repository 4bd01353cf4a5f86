#!/usr/bin/env bash
# dst matching: `rule dst 10.31.1.2/32 mark 0x31`, `rule dst 10.31.2.0/24
# mark 0x32`, `rule dst fd31::/16 mark 0x36`, `rule mark 0x30`. Every subflow
# of a connection gets the mark of the first rule whose prefix holds the
# destination: 10.31.1.2 -> 0x31 (both subflows), 10.31.2.2 -> 0x32,
# fd31:1::2 -> 0x36, and 10.31.1.2 is not matched by an IPv6 prefix nor
# 10.31.2.2 by the /32 of another host.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
POLICY=$LAB_TMP/dst.policy
cat > "$POLICY" <<'P'
rule dst 10.31.1.2/32 mark 0x31
rule dst 10.31.2.0/24 mark 0x32
rule dst fd31::/16 mark 0x36
rule mark 0x30
P
pol_attach "$NS_C" "$CG_C" "$POLICY"

# marks_of DIR: the fwmark of each of the client's subflows, by id.
marks_of() {
	local view=$1/client.json id line marks=()
	for id in $(jq '.kernel[].id' "$view"); do
		line=$(ss_sock "$NS_C" "$(view_sub "$view" "$id" addr)" "$(view_sub "$view" "$id" port)")
		marks+=("$(ss_field "$line" 'fwmark:0x[0-9a-f]+' | cut -d: -f2)")
	done
	echo "${marks[*]}"
}

pair_start "$LAB_TMP/a" "$CG_S" "$CG_C" "$S1_V4" 7000
assert_eq "0x31 0x31" "$(marks_of "$LAB_TMP/a")" "to $S1_V4: marks of both subflows"
pair_stop "$LAB_TMP/a"
# To path 2's server address the client has one subflow (its only
# endpoint, c2, is already the initial subflow's address).
pair_start "$LAB_TMP/b" "$CG_S" "$CG_C" "$S2_V4" 7001 --subflows 1
assert_eq "0x32" "$(marks_of "$LAB_TMP/b")" "to $S2_V4: mark"
pair_stop "$LAB_TMP/b"
pair_start "$LAB_TMP/c" "$CG_S" "$CG_C" "$S1_V6" 7002
assert_eq "0x36 0x36" "$(marks_of "$LAB_TMP/c")" "to $S1_V6: marks of both subflows"
pair_stop "$LAB_TMP/c"
# A destination no dst rule covers falls through to the catch-all.
in_ns "$NS_S" ip addr add 10.31.1.3/24 dev "$S1"
pair_start "$LAB_TMP/d" "$CG_S" "$CG_C" 10.31.1.3 7003
assert_eq "0x30 0x30" "$(marks_of "$LAB_TMP/d")" "to 10.31.1.3: marks of both subflows (catch-all)"
pair_stop "$LAB_TMP/d"
assert_eq "[2,1,2,2,0]" "$(pol_hits "$NS_C" "$CG_C")" "hits [/32, /24, fd31::/16, catch-all, no match]"
echo "PASS: dst prefixes pick the rule by destination address (/32, /24, IPv6 /16, catch-all)"
