#!/usr/bin/env bash
# Attachments do not nest, and a cgroup below an attached one is covered:
#  - attaching to a descendant or an ancestor of an attached cgroup is
#    refused with a message naming the attached one, and attaches nothing;
#  - `policy load` accepts a cgroup below the attached one; its subflows
#    follow the nearest ancestor with a policy (the inner one: cc reno,
#    not the outer cubic, on every subflow), tracked and counted once;
#  - detaching the outer cgroup removes the inner cgroup's policy too;
#  - a cgroup that is neither attached nor below an attached one has no
#    policy to load.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
require_cmd bpftool jq ss
lab_init
lab_setup

CG_OUT=$(cg_create outer)
CG_IN=$(cg_create outer/inner)
CG_DEEP=$(cg_create outer/inner/deep)
CG_S=$(cg_create srv)
CG_OTHER=$(cg_create other)
printf 'rule cc cubic\n' > "$LAB_TMP/outer.policy"
printf 'rule cc reno\n' > "$LAB_TMP/inner.policy"

ctl cgroup attach "$CG_IN" >/dev/null || fail "cgroup attach $CG_IN"
assert_status 1 "attach below an attached cgroup" ctl cgroup attach "$CG_DEEP"
[[ $(jq -r .error <<<"$OUT") == *"its ancestor $CG_IN is attached"* ]] || fail "deep: $OUT"
assert_status 1 "attach above an attached cgroup" ctl cgroup attach "$CG_OUT"
[[ $(jq -r .error <<<"$OUT") == *"its descendant $CG_IN is attached"* ]] || fail "outer: $OUT"
assert_eq "$(cg_id "$CG_IN")" "$(ctl cgroup list | jq -c '[.[].cgroup_id] | join(",")' -r)" \
	"attachments after the refusals"
assert_eq "" "$(bpftool -j cgroup show "$CG_OUT" | jq -r '.[].id')" "programs on $CG_OUT"
assert_eq "" "$(bpftool -j cgroup show "$CG_DEEP" | jq -r '.[].id')" "programs on $CG_DEEP"

# The outer one attached instead, with cubic; the inner one gets reno.
ctl cgroup detach "$CG_IN" >/dev/null || fail "cgroup detach $CG_IN"
pol_attach "$NS_C" "$CG_OUT" "$LAB_TMP/outer.policy"
pol_load "$NS_C" "$CG_IN" "$LAB_TMP/inner.policy"
assert_eq "rule cc reno" "$(pol_show "$NS_C" "$CG_IN" | jq -r '.rules[0].text')" "inner policy"

# A connection in the deep cgroup: its nearest cgroup with a policy is the
# inner one.
pair_start "$LAB_TMP/pair" "$CG_S" "$CG_DEEP" "$S1_V4" 6900
view=$LAB_TMP/pair/client.json
token=$(jq .token "$view")
assert_eq 2 "$(jq '.kernel | length' "$view")" "subflows of the connection"
for c in "$C1_V4" "$C2_V4"; do
	id=$(view_id_on "$view" "$c")
	[ -n "$id" ] || fail "no subflow on $c: $(jq -c .kernel "$view")"
	sock=$(ss_sock "$NS_C" "$c" "$(view_sub "$view" "$id" port)")
	assert_eq reno "$(ss_cc "$sock")" "congestion control of the subflow on $c (ss)"
done
assert_eq "[2,0]" "$(pol_hits "$NS_C" "$CG_IN")" "inner policy hits [rule 0, no match]"
assert_eq "[0,0]" "$(pol_hits "$NS_C" "$CG_OUT")" "outer policy hits [rule 0, no match]"
assert_eq 2 "$(ctl_conn "$NS_C" "$token" | jq '.subflows | length')" "subflows tracked (once each)"
added=$(ctl status | jq .counters.subflows_added)
assert_eq 2 "$added" "subflow entries the client side added"
pair_stop "$LAB_TMP/pair"

# Detaching the outer cgroup takes the inner policy with it.
ctl cgroup detach "$CG_OUT" >/dev/null || fail "cgroup detach $CG_OUT"
assert_eq "[]" "$(ctl policy show | jq -c .)" "policies after detaching the outer cgroup"
# Not attached, nor below an attached cgroup.
ctl cgroup attach "$CG_S" >/dev/null || fail "cgroup attach $CG_S"
assert_status 1 "policy load outside any attachment" ctl policy load "$CG_OTHER" "$LAB_TMP/inner.policy"
[[ $(jq -r .error <<<"$OUT") == *"is not attached, nor below an attached cgroup"* ]] ||
	fail "policy load $CG_OTHER: $OUT"

echo "PASS: nested attachments refused; the inner policy decided (reno on both subflows, counted once)"
