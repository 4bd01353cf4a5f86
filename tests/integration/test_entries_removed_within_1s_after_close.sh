#!/usr/bin/env bash
# When an MPTCP connection closes, the engine forgets it: within 1 s of both
# applications having closed their sockets, neither the client's nor the
# server's namespace lists the connection (CLI and libsubflow by token), for
# IPv4 and IPv6, and the engine's added/removed counters balance.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"

# gone NETNS TOKEN: neither the CLI nor the library knows TOKEN any more.
gone() {
	[ "$(ctl_conn "$1" "$2")" = null ] &&
	! in_ns "$1" "$MPTCP_PEER" token "$2" >/dev/null 2>&1
}

port=5300
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	dir=$LAB_TMP/$family
	pair_start "$dir" "$CG" "$CG" "$server" "$port" -b 100000
	ctok=$(jq .token "$dir/client.json")
	stok=$(jq .token "$dir/server.json")
	assert_eq 2 "$(ctl_conn "$NS_C" "$ctok" | jq '.subflows | length')" "$family client subflows while open"
	assert_eq 2 "$(ctl_conn "$NS_S" "$stok" | jq '.subflows | length')" "$family server subflows while open"

	pair_stop "$dir"	# both processes have closed and exited
	wait_for 1 gone "$NS_C" "$ctok" ||
		fail "$family: client connection $ctok still listed 1 s after close: $(ctl_conn "$NS_C" "$ctok")"
	wait_for 1 gone "$NS_S" "$stok" ||
		fail "$family: server connection $stok still listed 1 s after close: $(ctl_conn "$NS_S" "$stok")"
	assert_eq 0 "$(ss_subflow_count "$NS_C" "$port")" "$family: established subflows left (ss)"
	port=$(( port + 1 ))
done

assert_eq "[]" "$(ctl_in "$NS_C" subflow list | jq -c .)" "client netns list after close"
assert_eq "[]" "$(ctl_in "$NS_S" subflow list | jq -c .)" "server netns list after close"
counters=$(ctl status | jq -c .counters)
assert_eq "$(jq .subflows_added <<<"$counters")" "$(jq .subflows_removed <<<"$counters")" \
	"subflows removed vs added (counters: $counters)"
assert_ge 8 "$(jq .subflows_added <<<"$counters")" "subflows added (2 connections x 2 sides x 2)"
echo "PASS: entries are gone within 1 s after close, both sides"
