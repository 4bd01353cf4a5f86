#!/usr/bin/env bash
# GET_SUB_IDS / GET_SUB_TUPLE on the application's own socket need neither
# privilege nor the engine's pins: an application run as uid 65534 under
# `ip netns exec` (which remounts /sys, hiding the bpffs pins) gets, from
# subflow_get_ids/_get_tuple(fd), exactly what the kernel says
# (MPTCP_FULL_INFO on the same socket), on both sides, IPv4 and IPv6. The
# engine is loaded and attached meanwhile; the same application's calls by
# token, which read the engine's maps, fail with a reason.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_mptcp
require_built
require_cmd setpriv jq
lab_init
lab_setup

CG=$(cg_create app)
ctl cgroup attach "$CG" >/dev/null || fail "cgroup attach $CG"
# Where uid 65534 may write its view ($LAB_TMP is root's alone).
UDIR=$(mktemp -d "/tmp/subflow-unpriv-$LAB_SUFFIX.XXXXXX")
lab_on_cleanup "rm -rf '$UDIR'"
chmod 0777 "$UDIR"

# unpriv_peer NETNS VIEW PIDFILE ARGS...: mptcp_peer in CG, in NETNS through
# `ip netns exec`, as uid/gid 65534, in the background.
unpriv_peer() {
	local ns=$1 view=$2 pidfile=$3
	shift 3
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 &&
	       exec ip netns exec "$ns" setpriv --reuid 65534 --regid 65534 --clear-groups -- "$@"' \
		sh "$CG" "$ns" "$MPTCP_PEER" "$@" --info-json "$view" > "$view.log" 2>&1 &
	echo $! > "$pidfile"
	proc_register "$!"
}

port=5800
for family in v4 v6; do
	if [ "$family" = v4 ]; then server=$S1_V4; else server=$S1_V6; fi
	unpriv_peer "$NS_S" "$UDIR/server-$family.json" "$UDIR/server.pid" server -a "$server" \
		-p "$port" --hold --subflows 2 --ready-file "$UDIR/ready-$family"
	wait_for 5 test -e "$UDIR/ready-$family" || fail "$family server did not start: $(cat "$UDIR/server-$family.json.log")"
	unpriv_peer "$NS_C" "$UDIR/client-$family.json" "$UDIR/client.pid" client -a "$server" \
		-p "$port" --hold-until "$UDIR/go-$family"
	for side in client server; do
		view=$UDIR/$side-$family.json
		wait_file 10 "$view" || fail "$family $side wrote no view: $(cat "$view.log")"
		pid=$(cat "$UDIR/$side.pid")
		# The application really is uid 65534, with no capability (sh,
		# ip netns exec and setpriv exec it: $pid is its own).
		assert_eq "65534 65534 0000000000000000" \
			"$(awk '/^Uid:/ { u = $2 " " $3 } /^CapEff:/ { c = $2 } END { print u, c }' "/proc/$pid/status")" \
			"$family $side: uid, euid and effective capabilities of the application"
		assert_eq 2 "$(jq '.kernel | length' "$view")" "$family $side: subflows in MPTCP_FULL_INFO"
		assert_eq "" "$(jq -r '.lib_fd_error // ""' "$view")" "$family $side: no error by fd"
		assert_json_eq "$(view_subflows "$view" kernel)" "$(view_subflows "$view" lib_fd)" \
			"$family $side: subflow_get_ids/_get_tuple(fd) vs MPTCP_FULL_INFO"
		[ -n "$(jq -r '.lib_token_error // ""' "$view")" ] ||
			fail "$family $side: by token (the engine's maps) answered an unprivileged process under ip netns exec"
		log "$family $side: by fd $(view_subflows "$view" lib_fd); by token: $(jq -r .lib_token_error "$view")"
	done
	touch "$UDIR/go-$family"
	for side in client server; do
		_wait_pid_gone "$(cat "$UDIR/$side.pid")" 10 || fail "$family $side did not exit"
	done
	port=$(( port + 1 ))
done
echo "PASS: by fd, uid 65534 under ip netns exec gets the kernel's ids and tuples, v4 and v6, both sides"
