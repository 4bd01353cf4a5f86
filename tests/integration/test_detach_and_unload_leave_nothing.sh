#!/usr/bin/env bash
# Detach and unload leave nothing behind. After `cgroup detach` the cgroup has
# no program and no link, `cgroup list` is empty and the connections that
# attachment tracked are forgotten; after `unload` no program, link or map
# the engine created exists any more (bpftool prog/link/map show, by id) and
# its pin directory is gone.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd bpftool
lab_init
lab_setup

CG=$(cg_create app)
CG_ID=$(cg_id "$CG")

ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
pair_start "$LAB_TMP/pair" "$CG" "$CG" "$S1_V4" 5500
ctok=$(jq .token "$LAB_TMP/pair/client.json")
[ "$(ctl_conn "$NS_C" "$ctok")" != null ] || fail "connection not tracked after attach"

# What the engine created, by id: its programs (and every map they use), its
# maps, its links.
status=$(ctl status)
prog_ids=$(jq -r '.programs[].id' <<<"$status" | sort -n)
[ -n "$prog_ids" ] || fail "status lists no program: $status"
map_ids=$( { jq -r '.maps[].id | select(. != null)' <<<"$status"
	     for p in $prog_ids; do bpftool -j prog show id "$p" | jq -r '.map_ids[]?'; done
	   } | sort -nu)
list=$(ctl cgroup list)
assert_eq 1 "$(jq length <<<"$list")" "attachments listed: $list"
assert_eq "$CG_ID" "$(jq '.[0].cgroup_id' <<<"$list")" "cgroup_id of the attachment"
link_id=$(jq '.[0].link_id' <<<"$list")
link_prog=$(jq '.[0].prog_id' <<<"$list")
bpf_ids link | grep -qx "$link_id" || fail "link $link_id from 'cgroup list' not in bpftool link show"
assert_eq "$link_prog" "$(bpftool -j link show id "$link_id" | jq .prog_id)" "link's program"
assert_eq "$CG_ID" "$(bpftool -j link show id "$link_id" | jq .cgroup_id)" "link's cgroup"
# One attachment is five hooks: the sockops program (tracking and options in
# one), admission at connect4/6 and bind4/6. bpftool must see exactly the engine's
# cgroup programs on the cgroup, each through its own link.
cgroup_progs=$(jq -r '.programs[] | select(.type == "sock_ops" or .type == "cgroup_sock_addr") | .id' \
	<<<"$status" | sort -n | paste -sd,)
assert_eq 5 "$(tr ',' '\n' <<<"$cgroup_progs" | grep -c .)" "cgroup programs in status: $cgroup_progs"
assert_eq "$cgroup_progs" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id' | sort -n | paste -sd,)" \
	"programs attached to $CG (bpftool cgroup show)"
jq -r '.[0].prog_id' <<<"$list" | grep -qx "$(jq -r '.programs[] | select(.name == "subflow_track") | .id' <<<"$status")" ||
	fail "cgroup list's prog_id is not the tracker's"
cgroup_links=$(bpftool -j link show | jq -r --argjson cg "$CG_ID" '.[] | select(.cgroup_id == $cg) | .id' |
	sort -n | paste -sd' ')
assert_eq 5 "$(wc -w <<<"$cgroup_links")" "links on $CG: $cgroup_links"

# Detach: nothing attached to the cgroup, the link is gone, its connections
# are forgotten; the engine itself stays loaded.
ctl cgroup detach "$CG" >/dev/null || fail "cgroup detach $CG"
assert_eq "[]" "$(ctl cgroup list | jq -c .)" "cgroup list after detach"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after detach"
links_gone() {
	local l
	for l in $cgroup_links; do bpf_ids link | grep -qx "$l" && return 1; done
	return 0
}
wait_for 2 links_gone || fail "links $cgroup_links still exist after detach"
assert_eq "[]" "$(ctl_in "$NS_C" subflow list | jq -c .)" "client connections after detach"
assert_eq "[]" "$(ctl_in "$NS_S" subflow list | jq -c .)" "server connections after detach"
if ctl cgroup detach "$CG" >/dev/null 2>&1; then
	fail "detaching a cgroup that is not attached succeeded"
fi
pair_stop "$LAB_TMP/pair"

# Unload: every program, map and link is gone, and the pins with them.
ctl unload >/dev/null || fail "unload"
[ ! -e "$SUBFLOW_PIN_DIR" ] || fail "pin dir $SUBFLOW_PIN_DIR still exists: $(ls -la "$SUBFLOW_PIN_DIR")"
leftovers() {
	local kind=$1 ids=$2 id
	for id in $ids; do
		bpf_ids "$kind" | grep -qx "$id" && echo "$kind $id"
	done
	return 0
}
nothing_left() {
	[ -z "$(leftovers prog "$prog_ids")$(leftovers map "$map_ids")$(leftovers link "$cgroup_links")" ]
}
# The kernel frees programs and maps after an RCU grace period.
wait_for 10 nothing_left ||
	fail "left behind after unload: $(leftovers prog "$prog_ids"; leftovers map "$map_ids"; leftovers link "$cgroup_links")"
assert_eq "" "$(bpftool -j cgroup show "$CG" | jq -r '.[].id')" "programs on $CG after unload"
status=$(ctl status 2>/dev/null || true)
assert_eq false "$(jq .loaded <<<"$status")" "status after unload says loaded ($status)"
echo "PASS: detach and unload left no program, link, map or pin (progs $(echo $prog_ids), maps $(echo $map_ids), links $cgroup_links)"
