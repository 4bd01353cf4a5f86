# shellcheck shell=bash
# tests/pm_lib.sh: helpers of the path-management tests, benchmarks and demo,
# on top of tests/lib.sh (source that first). Streams of checked bytes
# (tests/tools/mptcp_stream.c) between the lab's namespaces, the kernel's
# own views (MPTCP_FULL_INFO from the application, `ss -tiM`, `ip mptcp
# monitor` on the peer), and path faults (link down, nftables blackholes).

MPTCP_STREAM=${MPTCP_STREAM:-$LAB_BUILD/tests/mptcp_stream}

# pm_userspace NETNS: new connections of NETNS get the userspace PM.
pm_userspace() {
	in_ns "$1" sysctl -qw net.mptcp.path_manager=userspace ||
		fail "cannot select the userspace path manager in $1"
}

# stream_start DIR SERVER_CG CLIENT_CG ADDR PORT upload|download SECONDS [idle]:
# a server in $NS_S (listening on every address of ADDR's family, so that it
# accepts joins on both paths) and a client in $NS_C that connects to ADDR;
# one of them sends the pattern for SECONDS. With `idle`, the client connects and waits for DIR/go before the
# transfer. Returns once the client wrote its token ($STREAM_TOKEN).
# PIDs: $STREAM_SERVER_PID, $STREAM_CLIENT_PID.
stream_start() {
	local dir=$1 cg_s=$2 cg_c=$3 addr=$4 port=$5 dir_=$6 secs=$7 idle=${8:-}
	local s_args=() c_args=()
	mkdir -p "$dir"
	rm -f "$dir"/*.json "$dir/token" "$dir/go" "$dir/ready"
	if [ "$dir_" = upload ]; then
		c_args=(--send-for "$secs")
	else
		s_args=(--send-for "$secs")
	fi
	[ -n "$idle" ] && c_args+=(--start-after "$dir/go")
	local any=0.0.0.0
	[[ $addr == *:* ]] && any=::
	SPAWN_OUT=$dir/server.log spawn_in "$cg_s" "$NS_S" "$MPTCP_STREAM" server -a "$any" \
		-p "$port" --ready-file "$dir/ready" --json "$dir/server.json" \
		--timeline "$dir/server.timeline" --info-json "$dir/server.info" "${s_args[@]}"
	STREAM_SERVER_PID=$SPAWNED_PID
	wait_for 5 test -e "$dir/ready" || fail "mptcp_stream server did not start: $(cat "$dir/server.log")"
	SPAWN_OUT=$dir/client.log spawn_in "$cg_c" "$NS_C" "$MPTCP_STREAM" client -a "$addr" \
		-p "$port" --json "$dir/client.json" --timeline "$dir/client.timeline" \
		--token-file "$dir/token" --info-json "$dir/client.info" "${c_args[@]}"
	STREAM_CLIENT_PID=$SPAWNED_PID
	wait_file 10 "$dir/token" || fail "mptcp_stream client did not connect: $(cat "$dir/client.log")"
	STREAM_TOKEN=$(cat "$dir/token")
}

# stream_go DIR: start the transfer of an idle stream.
stream_go() {
	touch "$1/go"
}

# stream_finish DIR: wait (bounded) for both ends to exit and check that
# every byte arrived intact: both ends say ok, and the sender's count is the
# receiver's.
stream_finish() {
	local dir=$1 pid rc sent got
	for pid in "$STREAM_CLIENT_PID" "$STREAM_SERVER_PID"; do
		_wait_pid_gone "$pid" 60 || fail "mptcp_stream $pid did not finish"
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || [ "$rc" = 127 ] ||
			fail "mptcp_stream exited $rc: $(cat "$dir/client.log" "$dir/server.log")"
	done
	for f in client server; do
		[ "$(jq -r .ok "$dir/$f.json" 2>/dev/null)" = true ] ||
			fail "$f: transfer not intact: $(cat "$dir/$f.json" 2>/dev/null) $(cat "$dir/$f.log")"
	done
	sent=$(jq -s 'map(select(.role == "sender")) | .[0].bytes' "$dir/client.json" "$dir/server.json")
	got=$(jq -s 'map(select(.role == "receiver")) | .[0].bytes' "$dir/client.json" "$dir/server.json")
	[ "$sent" = "$got" ] && [ "$sent" -gt 0 ] || fail "sent $sent bytes, received $got"
	STREAM_BYTES=$sent
}

# full_info DIR client|server: the application's MPTCP_FULL_INFO, as JSON.
full_info() {
	local dir=$1 side=$2 pid
	[ "$side" = client ] && pid=$STREAM_CLIENT_PID || pid=$STREAM_SERVER_PID
	rm -f "$dir/$side.info"
	kill -USR1 "$pid" || fail "mptcp_stream $side is gone"
	wait_file 5 "$dir/$side.info" || fail "mptcp_stream $side wrote no MPTCP_FULL_INFO"
	cat "$dir/$side.info"
}

# monitor_start NETNS FILE: `ip mptcp monitor` in NETNS into FILE (killed at
# cleanup). Returns once it is listening.
monitor_start() {
	local ns=$1 file=$2
	SPAWN_OUT=$file spawn_in_ns "$ns" ip mptcp monitor
	MONITOR_PID=$SPAWNED_PID
	# It subscribes at once; give it the time of a few syscalls.
	wait_for 2 _netlink_subscribed "$MONITOR_PID" || fail "ip mptcp monitor did not start"
}

# spawn_in_ns NETNS CMD...: as spawn_in, without a cgroup.
spawn_in_ns() {
	local out=${SPAWN_OUT:-/dev/stdout} ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" > "$out" 2>&1 &
	SPAWNED_PID=$!
	proc_register "$SPAWNED_PID"
}

# _netlink_subscribed PID: PID holds a netlink socket subscribed to a group.
_netlink_subscribed() {
	local pid=$1 inode
	for inode in $(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p'); do
		nsenter --net="/proc/$pid/ns/net" awk -v i="$inode" \
			'$10 == i && $4 != "00000000" { found = 1 } END { exit !found }' /proc/net/netlink &&
			return 0
	done
	return 1
}

# ss_subflows NETNS PORT: the MPTCP subflows (TCP sockets with the mptcp ULP)
# to or from PORT, one line each: "LOCAL REMOTE STATE ULPFLAGS", from `ss -tni`.
ss_subflows() {
	in_ns "$1" ss -Htni state all "( sport = :$2 or dport = :$2 )" |
		awk '/^[A-Z]/ && NF >= 5 { st = $1; l = $4; r = $5; next }
		     /tcp-ulp-mptcp/ { f = "-"; for (i = 1; i <= NF; i++) if ($i ~ /^flags:/) f = substr($i, 7)
				       print l, r, st, f }'
}

# nft_blackhole NETNS DEV: drop everything in and out of DEV in NETNS (the
# link stays up); nft_heal NETNS undoes it. The table is removed with the
# namespace.
nft_blackhole() {
	in_ns "$1" nft -f - <<EOF || fail "nft blackhole on $1/$2"
table netdev subflow_blackhole {
	chain in { type filter hook ingress device "$2" priority -500; policy drop; }
	chain out { type filter hook egress device "$2" priority -500; policy drop; }
}
EOF
}

nft_heal() {
	in_ns "$1" nft delete table netdev subflow_blackhole 2>/dev/null || true
}
