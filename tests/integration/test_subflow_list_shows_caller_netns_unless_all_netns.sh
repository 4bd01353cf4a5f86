#!/usr/bin/env bash
# `subflow list` shows the connections of the caller's network namespace,
# like ss: the client namespace lists only the client side, the server
# namespace only the server side, the host namespace neither; with
# --all-netns (documented as `subflow list [token TOKEN] [--all-netns]`, and
# as a global option) it lists both, each with its own namespace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
pair_start "$LAB_TMP/pair" "$CG" "$CG" "$S1_V4" 6000
ctok=$(jq .token "$LAB_TMP/pair/client.json")
stok=$(jq .token "$LAB_TMP/pair/server.json")
ccookie=$(jq .netns_cookie "$LAB_TMP/pair/client.json")
scookie=$(jq .netns_cookie "$LAB_TMP/pair/server.json")

assert_eq "[$ctok]" "$(ctl_in "$NS_C" subflow list | jq -c 'map(.token)')" "tokens listed in the client netns"
assert_eq "[$stok]" "$(ctl_in "$NS_S" subflow list | jq -c 'map(.token)')" "tokens listed in the server netns"
assert_eq "[]" "$(ctl subflow list | jq -c --argjson c "$ctok" --argjson s "$stok" \
	'map(select(.token == $c or .token == $s))')" "lab connections listed in the host netns"

# expect_all_netns JSON WHAT: both sides, each with its namespace's cookie.
expect_all_netns() {
	assert_json_eq "[{\"token\":$ctok,\"netns_cookie\":$ccookie,\"side\":\"client\"},{\"token\":$stok,\"netns_cookie\":$scookie,\"side\":\"server\"}]" \
		"$(jq -c --argjson c "$ctok" --argjson s "$stok" \
			'map(select(.token == $c or .token == $s) | {token, netns_cookie, side}) | sort_by(.side)' <<<"$1")" \
		"$2"
}
assert_status 0 "--all-netns subflow list" ctl --all-netns subflow list
expect_all_netns "$OUT" "--all-netns subflow list (global option)"
assert_status 0 "subflow list --all-netns" ctl subflow list --all-netns
expect_all_netns "$OUT" "subflow list --all-netns"
assert_status 0 "subflow list token T --all-netns" ctl subflow list token "$stok" --all-netns
assert_eq "[$stok]" "$(jq -c 'map(.token)' <<<"$OUT")" "subflow list token $stok --all-netns"

pair_stop "$LAB_TMP/pair"
echo "PASS: subflow list is scoped to the caller's netns; --all-netns shows all"
